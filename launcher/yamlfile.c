/* yamlfile.c - see yamlfile.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int yamlfile_load (const char *what, const char *path, int max_depth,
                   yaml_document_t *doc, struct krun_error *errp)
{
    struct text text = {0};
    yaml_parser_t parser;
    int rc = 0;

    if (!(text.f = fopen (path, "r")))
        return errprintf_errno (errp, "cannot read %s %s", what, path);
    if (check_depth (&text, what, path, max_depth, errp) < 0)
        rc = -1;
    else if (!yaml_parser_initialize (&parser)) {
        errno = ENOMEM;
        rc = errprintf (errp, "cannot read %s %s: out of memory", what, path);
    } else {
        yaml_parser_set_input_string (
            &parser, (const unsigned char *)(text.buf ? text.buf : ""), text.len);
        if (!yaml_parser_load (&parser, doc)) {
            errno = EINVAL;
            rc = errprintf (errp, "%s:%zu: %s", path, parser.problem_mark.line + 1,
                            parser.problem ? parser.problem : "YAML syntax error");
        }
        yaml_parser_delete (&parser);
    }
    free (text.buf);
    fclose (text.f);
    return rc;
}
