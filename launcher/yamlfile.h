/* yamlfile.h - loading a YAML file, the one way krun's configuration and
 * kubeconfig files are read, and the only module that includes libyaml's
 * <yaml.h>: the nesting depth is bounded before libyaml builds the
 * document (its scanner spends time in the depth for every token: 100,000
 * nested brackets took 24 s), errors name the file and line, and the
 * document is walked through the opaque nodes below, each knowing its line
 * for messages.  The file may be a pipe.
 */
#ifndef KRUN_YAMLFILE_H
#define KRUN_YAMLFILE_H

#include <stdbool.h>

#include "error.h"

struct yamlfile;
/* A node of a loaded file, borrowed until yamlfile_destroy(). */
struct yamlnode;

enum yamlnode_kind {
    YAMLNODE_NONE, /* no node (NULL) */
    YAMLNODE_SCALAR,
    YAMLNODE_SEQUENCE,
    YAMLNODE_MAPPING,
};

/* Load the first document of path (what it is, for messages: "config"),
 * refusing one nested more than max_depth mappings and sequences deep.
 * Returns the file (caller must destroy), or NULL with errno (EINVAL for a
 * syntax error or too deep a document, ENOMEM) and errp naming the file and
 * line. */
struct yamlfile *yamlfile_load (const char *what, const char *path, int max_depth,
                                struct krun_error *errp);
/* Accepts NULL; keeps errno. */
void yamlfile_destroy (struct yamlfile *f);

/* The document's root, or NULL for a file without one.  An empty file (or
 * only comments) is an empty scalar or NULL: see yamlfile_empty(). */
const struct yamlnode *yamlfile_root (const struct yamlfile *f);
/* Whether the file holds nothing: no root, or an empty scalar. */
bool yamlfile_empty (const struct yamlfile *f);

/* What n is (YAMLNODE_NONE for NULL), and "a scalar", "a sequence", "a
 * mapping" or "nothing" for messages. */
enum yamlnode_kind yamlnode_kind (const struct yamlnode *n);
const char *yamlnode_kind_name (const struct yamlnode *n);
/* A scalar's text (borrowed), or NULL if n is not a scalar. */
const char *yamlnode_scalar (const struct yamlnode *n);
/* The line n starts on, from 1 (1 for NULL). */
int yamlnode_line (const struct yamlnode *n);
/* The items of a sequence or the pairs of a mapping; 0 for anything else. */
int yamlnode_count (const struct yamlnode *n);
/* Item i of sequence n, key or value of pair i of mapping n, or NULL. */
const struct yamlnode *yamlfile_item (const struct yamlfile *f,
                                      const struct yamlnode *n, int i);
const struct yamlnode *yamlfile_key (const struct yamlfile *f, const struct yamlnode *n,
                                     int i);
const struct yamlnode *yamlfile_value (const struct yamlfile *f,
                                       const struct yamlnode *n, int i);

#endif
