/* nodefilter.c - see nodefilter.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nodefilter.h"

struct name_list {
    int count;
    char **names;
};

struct nodefilter {
    struct name_list provider, only, exclude;
};

static void list_clear (struct name_list *l)
{
    for (int i = 0; i < l->count; i++)
        free (l->names[i]);
    free (l->names);
}

static int list_add (struct name_list *l, const char *name, size_t len)
{
    char **names = realloc (l->names, (l->count + 1) * sizeof (*names));

    if (!names)
        return -1;
    l->names = names;
    if (!(names[l->count] = strndup (name, len)))
        return -1;
    l->count++;
    return 0;
}

static bool list_has (const struct name_list *l, const char *name)
{
    for (int i = 0; i < l->count; i++)
        if (strcmp (l->names[i], name) == 0)
            return true;
    return false;
}

/* Split text at commas into l. */
static int list_parse (struct name_list *l, const char *option, const char *text,
                       struct krun_error *errp)
{
    while (text) {
        const char *comma = strchr (text, ',');
        size_t len = comma ? (size_t)(comma - text) : strlen (text);
        if (len == 0) {
            errno = EINVAL;
            return errprintf (errp, "%s: expected node names separated by commas",
                              option);
        }
        if (list_add (l, text, len) < 0)
            return errprintf_errno (errp, "%s", option);
        text = comma ? comma + 1 : NULL;
    }
    return 0;
}

struct nodefilter *nodefilter_create (const char *only, const char *exclude,
                                      struct krun_error *errp)
{
    struct nodefilter *f = calloc (1, sizeof (*f));

    if (!f) {
        errprintf_errno (errp, "node filter");
        return NULL;
    }
    if (list_parse (&f->only, "--nodes", only, errp) < 0 ||
        list_parse (&f->exclude, "--exclude", exclude, errp) < 0) {
        nodefilter_destroy (f);
        return NULL;
    }
    return f;
}

void nodefilter_destroy (struct nodefilter *f)
{
    int saved_errno = errno;

    if (f) {
        list_clear (&f->provider);
        list_clear (&f->only);
        list_clear (&f->exclude);
        free (f);
    }
    errno = saved_errno;
}

int nodefilter_add_provider_node (struct nodefilter *f, const char *name)
{
    return list_add (&f->provider, name, strlen (name));
}

bool nodefilter_keep (const char *name, void *filter)
{
    const struct nodefilter *f = filter;

    return (f->provider.count == 0 || list_has (&f->provider, name)) &&
           (f->only.count == 0 || list_has (&f->only, name)) &&
           !list_has (&f->exclude, name);
}
