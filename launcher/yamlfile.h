/* yamlfile.h - loading a YAML file into a libyaml document, the one way
 * krun's configuration and kubeconfig files are read: the nesting depth is
 * bounded before libyaml builds the document (its scanner spends time in
 * the depth for every token: 100,000 nested brackets took 24 s), and errors
 * name the file and line.  The file may be a pipe.
 */
#ifndef KRUN_YAMLFILE_H
#define KRUN_YAMLFILE_H

#include <yaml.h>

#include "error.h"

/* Load the first document of path (what it is, for messages: "config")
 * into doc, refusing one nested more than max_depth mappings and sequences
 * deep.  Returns 0 (the caller must
 * yaml_document_delete() doc), or -1 with errno (EINVAL for a syntax error or
 * too deep a document) and errp naming the file and line. */
int yamlfile_load (const char *what, const char *path, int max_depth,
                   yaml_document_t *doc, struct krun_error *errp);

#endif
