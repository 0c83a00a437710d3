/* yamlfile.c - see yamlfile.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "yamlfile.h"

/* The text of a file as libyaml reads it: kept, so that the document is
 * loaded from memory after check_depth() read it once. */
struct text {
    FILE *f;
    char *buf;
    size_t len, size;
};

static int text_read (void *data, unsigned char *out, size_t size, size_t *got)
{
    struct text *t = data;
    size_t n = fread (out, 1, size, t->f);

    *got = 0;
    if (n == 0)
        return !ferror (t->f);
    if (t->len + n > t->size) {
        size_t want = t->size ? t->size * 2 : 4096;
        while (want < t->len + n)
            want *= 2;
        char *p = realloc (t->buf, want);
        if (!p)
            return 0;
        t->buf = p;
        t->size = want;
    }
    memcpy (t->buf + t->len, out, n);
    t->len += n;
    *got = n;
    return 1;
}

/* Read all of t->f into t through libyaml's event parser, stopping at the
 * first event deeper than max_depth.  Returns 0, or -1 with errp. */
static int check_depth (struct text *t, const char *what, const char *path,
                        int max_depth, struct krun_error *errp)
{
    unsigned char rest[4096];
    yaml_parser_t parser;
    yaml_event_t event;
    int depth = 0, rc = 0;
    bool end = false;
    size_t n;

    if (!yaml_parser_initialize (&parser)) {
        errno = ENOMEM;
        return errprintf (errp, "cannot read %s %s: out of memory", what, path);
    }
    yaml_parser_set_input (&parser, text_read, t);
    while (!end && rc == 0) {
        if (!yaml_parser_parse (&parser, &event))
            break; /* the loader reports syntax errors, with their line */
        if (event.type == YAML_SEQUENCE_START_EVENT ||
            event.type == YAML_MAPPING_START_EVENT) {
            if (++depth > max_depth) {
                errno = EINVAL;
                rc = errprintf (errp, "%s:%zu: nested more than %d levels deep", path,
                                event.start_mark.line + 1, max_depth);
            }
        } else if (event.type == YAML_SEQUENCE_END_EVENT ||
                   event.type == YAML_MAPPING_END_EVENT)
            depth--;
        end = event.type == YAML_STREAM_END_EVENT;
        yaml_event_delete (&event);
    }
    yaml_parser_delete (&parser);
    /* After a syntax error the loader needs the whole text to say so. */
    while (rc == 0 && text_read (t, rest, sizeof (rest), &n) && n > 0)
        ;
    if (rc == 0 && ferror (t->f))
        return errprintf_errno (errp, "cannot read %s %s", what, path);
    return rc;
}

struct yamlfile {
    yaml_document_t storage;
    /* libyaml's accessors take a non-const document but only read it:
     * through this pointer a const yamlfile still reads its document. */
    yaml_document_t *doc;
};

/* libyaml's node, seen from outside as the opaque struct yamlnode. */
static const yaml_node_t *node_of (const struct yamlnode *n)
{
    return (const yaml_node_t *)n;
}

struct yamlfile *yamlfile_load (const char *what, const char *path, int max_depth,
                                struct krun_error *errp)
{
    struct text text = {0};
    struct yamlfile *f = calloc (1, sizeof (*f));
    yaml_parser_t parser;
    int rc = 0;

    if (!f) {
        errprintf_errno (errp, "cannot read %s %s", what, path);
        return NULL;
    }
    if (!(text.f = fopen (path, "r"))) {
        errprintf_errno (errp, "cannot read %s %s", what, path);
        free (f);
        return NULL;
    }
    if (check_depth (&text, what, path, max_depth, errp) < 0)
        rc = -1;
    else if (!yaml_parser_initialize (&parser)) {
        errno = ENOMEM;
        rc = errprintf (errp, "cannot read %s %s: out of memory", what, path);
    } else {
        yaml_parser_set_input_string (
            &parser, (const unsigned char *)(text.buf ? text.buf : ""), text.len);
        if (!yaml_parser_load (&parser, &f->storage)) {
            errno = EINVAL;
            rc = errprintf (errp, "%s:%zu: %s", path, parser.problem_mark.line + 1,
                            parser.problem ? parser.problem : "YAML syntax error");
        }
        yaml_parser_delete (&parser);
    }
    free (text.buf);
    fclose (text.f);
    if (rc < 0) {
        int saved_errno = errno;
        free (f);
        errno = saved_errno;
        return NULL;
    }
    f->doc = &f->storage;
    return f;
}

void yamlfile_destroy (struct yamlfile *f)
{
    if (f) {
        int saved_errno = errno;
        yaml_document_delete (f->doc);
        free (f);
        errno = saved_errno;
    }
}

const struct yamlnode *yamlfile_root (const struct yamlfile *f)
{
    return (const struct yamlnode *)yaml_document_get_root_node (f->doc);
}

bool yamlfile_empty (const struct yamlfile *f)
{
    const struct yamlnode *root = yamlfile_root (f);
    const char *s = yamlnode_scalar (root);

    return !root || (s && !*s);
}

enum yamlnode_kind yamlnode_kind (const struct yamlnode *n)
{
    switch (n ? node_of (n)->type : YAML_NO_NODE) {
        case YAML_SCALAR_NODE:
            return YAMLNODE_SCALAR;
        case YAML_SEQUENCE_NODE:
            return YAMLNODE_SEQUENCE;
        case YAML_MAPPING_NODE:
            return YAMLNODE_MAPPING;
        default:
            return YAMLNODE_NONE;
    }
}

const char *yamlnode_kind_name (const struct yamlnode *n)
{
    static const char *const names[] = {
        [YAMLNODE_NONE] = "nothing",
        [YAMLNODE_SCALAR] = "a scalar",
        [YAMLNODE_SEQUENCE] = "a sequence",
        [YAMLNODE_MAPPING] = "a mapping",
    };
    return names[yamlnode_kind (n)];
}

const char *yamlnode_scalar (const struct yamlnode *n)
{
    return yamlnode_kind (n) == YAMLNODE_SCALAR
               ? (const char *)node_of (n)->data.scalar.value
               : NULL;
}

int yamlnode_line (const struct yamlnode *n)
{
    return n ? (int)node_of (n)->start_mark.line + 1 : 1;
}

int yamlnode_count (const struct yamlnode *n)
{
    const yaml_node_t *y = n ? node_of (n) : NULL;

    if (yamlnode_kind (n) == YAMLNODE_SEQUENCE)
        return (int)(y->data.sequence.items.top - y->data.sequence.items.start);
    if (yamlnode_kind (n) == YAMLNODE_MAPPING)
        return (int)(y->data.mapping.pairs.top - y->data.mapping.pairs.start);
    return 0;
}

static const struct yamlnode *get (const struct yamlfile *f, int index)
{
    return (const struct yamlnode *)yaml_document_get_node (f->doc, index);
}

const struct yamlnode *yamlfile_item (const struct yamlfile *f,
                                      const struct yamlnode *n, int i)
{
    if (yamlnode_kind (n) != YAMLNODE_SEQUENCE || i < 0 || i >= yamlnode_count (n))
        return NULL;
    return get (f, node_of (n)->data.sequence.items.start[i]);
}

const struct yamlnode *yamlfile_key (const struct yamlfile *f, const struct yamlnode *n,
                                     int i)
{
    if (yamlnode_kind (n) != YAMLNODE_MAPPING || i < 0 || i >= yamlnode_count (n))
        return NULL;
    return get (f, node_of (n)->data.mapping.pairs.start[i].key);
}

const struct yamlnode *yamlfile_value (const struct yamlfile *f,
                                       const struct yamlnode *n, int i)
{
    if (yamlnode_kind (n) != YAMLNODE_MAPPING || i < 0 || i >= yamlnode_count (n))
        return NULL;
    return get (f, node_of (n)->data.mapping.pairs.start[i].value);
}
