/* Unit tests of runtime/joblist.c: the bounded list of jobs a daemon
 * reports in its presence answer. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "joblist.h"
#include "tests/tap.h"

/* The ids of l joined by spaces, oldest first. */
static const char *ids (const struct joblist *l)
{
    static char buf[1024];
    char **v = joblist_ids (l);
    size_t n = 0;

    buf[0] = '\0';
    for (int i = 0; i < joblist_count (l) && n < sizeof (buf); i++)
        n += snprintf (buf + n, sizeof (buf) - n, "%s%s", i ? " " : "", v[i]);
    return buf;
}

static void test_create (void)
{
    errno = 0;
    ok (joblist_create (0) == NULL && errno == EINVAL, "a list of 0 jobs: EINVAL");
    struct joblist *l = joblist_create (3);
    ok (l && joblist_count (l) == 0, "a new list is empty");
    joblist_destroy (l);
    errno = 42;
    joblist_destroy (NULL);
    is_int (errno, 42, "destroy accepts NULL and keeps errno");
}

static void test_add_remove (void)
{
    struct joblist *l = joblist_create (3);

    if (!l)
        bail_out ("joblist_create: %s", strerror (errno));
    ok (joblist_add (l, "a1") == 0 && joblist_add (l, "b2") == 0, "add two jobs");
    is_str (ids (l), "a1 b2", "listed in order of announcement");
    ok (joblist_add (l, "a1") == 0, "announce a1 again");
    is_str (ids (l), "b2 a1", "a re-announced job is listed once, as the newest");
    ok (joblist_add (l, "c3") == 0 && joblist_add (l, "d4") == 0, "add two more");
    is_str (ids (l), "a1 c3 d4", "a full list forgets the oldest job");
    is_int (joblist_count (l), 3, "never more than the bound");
    is_int (joblist_remove (l, "c3"), 1, "remove a listed job");
    is_str (ids (l), "a1 d4", "the others keep their order");
    is_int (joblist_remove (l, "c3"), 0, "removing it again: not listed");
    is_int (joblist_remove (l, "zz"), 0, "removing an unknown job: not listed");
    is_int (joblist_remove (l, NULL), 0, "removing NULL: not listed");
    ok (joblist_remove (l, "a1") == 1 && joblist_remove (l, "d4") == 1 &&
            joblist_count (l) == 0,
        "remove the rest: empty");
    ok (joblist_add (l, "e5") == 0, "an emptied list takes jobs again");
    is_str (ids (l), "e5", "listed");
    joblist_destroy (l);
}

static void test_invalid (void)
{
    static const char *bad[] = {
        NULL,  "",
        "a.b", "a b",
        "x\n", "01234567890123456789012345678901234567890123456789012345678901234",
    };
    struct joblist *l = joblist_create (2);

    if (!l)
        bail_out ("joblist_create: %s", strerror (errno));
    joblist_add (l, "ok1");
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
        errno = 0;
        ok (joblist_add (l, bad[i]) < 0 && errno == EINVAL,
            "an invalid job id (case %zu) is refused with EINVAL", i);
    }
    is_str (ids (l), "ok1", "refused ids change nothing");
    joblist_destroy (l);
}

int main (void)
{
    plan (NO_PLAN);
    test_create ();
    test_add_remove ();
    test_invalid ();
    done_testing ();
    return exit_status ();
}
