/* Unit tests of the rank sets. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/ranklist.h"
#include "tests/tap.h"

static const struct {
    int size;
    const char *ranks; /* added in this order, space separated */
    size_t bufsize;
    const char *want;
} cases[] = {
    {1, "", 64, ""},
    {1, "0", 64, "0"},
    {10, "3", 64, "3"},
    {10, "9 0", 64, "0, 9"},
    {20, "3 4 5 6 9 11 12 13", 64, "3-6, 9, 11-13"},
    {20, "1 2 1 2", 64, "1-2"},
    {100, "99 98 0", 64, "0, 98-99"},
    /* Too long for the buffer: the rest counted. */
    {1000, "0 2 4 6 8 10 12 14 16 18 20 22 24", 48,
     "0, 2, 4, 6, 8, 10, 12, ... (6 more)"},
    {1000, "100 200 300", 36, "100, 200, 300"},
    {1000, "100 200 300 400 500 600", 36, "100, 200, ... (4 more)"},
    {200000, "0 1 2 3 199999", 64, "0-3, 199999"},
};

int main (void)
{
    plan (NO_PLAN);
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        struct ranklist *l = ranklist_create (cases[i].size);
        char *ranks = strdup (cases[i].ranks), *save = NULL;
        char buf[128];
        int added = 0;
        for (char *tok = strtok_r (ranks, " ", &save); tok;
             tok = strtok_r (NULL, " ", &save))
            added += ranklist_add (l, atoi (tok)) == 1;
        ok (ranklist_count (l) == added, "case %zu: count %d", i, added);
        is_str (ranklist_format (l, buf, cases[i].bufsize), cases[i].want,
                "case %zu: formatted in %zu bytes", i, cases[i].bufsize);
        ok (strlen (buf) < cases[i].bufsize, "case %zu: fits", i);
        free (ranks);
        ranklist_destroy (l);
    }
    struct ranklist *l = ranklist_create (4);
    errno = 0;
    ok (ranklist_add (l, 4) < 0 && errno == EINVAL, "rank 4 of 4: EINVAL");
    errno = 0;
    ok (ranklist_add (l, -1) < 0 && errno == EINVAL, "rank -1: EINVAL");
    ok (ranklist_count (l) == 0, "nothing added");
    ranklist_destroy (l);
    errno = 0;
    ok (ranklist_create (0) == NULL && errno == EINVAL, "size 0: EINVAL");
    errno = ENOENT;
    ranklist_destroy (NULL);
    ok (errno == ENOENT, "destroy (NULL) keeps errno");
    done_testing ();
    return exit_status ();
}
