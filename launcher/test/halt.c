/* Unit tests of --halt's parsing and decision (launcher/halt.c), against
 * GNU parallel's documented meanings. */
#include <errno.h>
#include <string.h>

#include "launcher/halt.h"
#include "tests/tap.h"

static void test_parse (void)
{
    static const struct {
        const char *text, *want; /* want NULL: refused */
    } cases[] = {
        {"never", "never"},
        {"now,fail=1", "now,fail=1"},
        {"soon,fail=3", "soon,fail=3"},
        {"soon,fail=3%", "soon,fail=3%"},
        {"now,success=1", "now,success=1"},
        {"now,done=100%", "now,done=100%"},
        {"0", "never"},
        {"1", "soon,fail=1"},
        {"2", "now,fail=1"},
        {"-1", "soon,success=1"},
        {"-2", "now,success=1"},
        {"5%", "soon,fail=5%"},
        {"", NULL},
        {"now", NULL},
        {"now,fail", NULL},
        {"now,fail=", NULL},
        {"now,fail=0", NULL},
        {"now,fail=-1", NULL},
        {"now,fail=101%", NULL},
        {"now,fail=1x", NULL},
        {"never,fail=1", NULL},
        {"later,fail=1", NULL},
        {"now,failed=1", NULL},
        {"3", NULL},
        {"nowx,fail=1", NULL},
    };
    struct krun_error error;
    char buf[64];

    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        struct halt_policy p = {HALT_NOW, HALT_DONE, 42, false};
        errno = 0;
        int rc = halt_parse (cases[i].text, &p, &error);
        if (cases[i].want)
            is_str (rc == 0 ? halt_format (&p, buf, sizeof (buf)) : error.text,
                    cases[i].want, "'%s' parses", cases[i].text);
        else
            ok (rc < 0 && errno == EINVAL && strstr (error.text, "--halt") &&
                    p.when == HALT_NOW && p.count == 42,
                "'%s' refused, policy unchanged: %s", cases[i].text, error.text);
    }
}

static void test_check (void)
{
    static const struct {
        const char *policy;
        int size, done, failed;
        enum halt_when want;
    } cases[] = {
        {"never", 10, 10, 10, HALT_NEVER},
        {"now,fail=1", 10, 0, 0, HALT_NEVER},
        {"now,fail=1", 10, 5, 0, HALT_NEVER},
        {"now,fail=1", 10, 5, 1, HALT_NOW},
        {"soon,fail=3", 10, 5, 2, HALT_NEVER},
        {"soon,fail=3", 10, 5, 3, HALT_SOON},
        {"soon,fail=3", 10, 6, 4, HALT_SOON},
        /* 20% of 10 is 2. */
        {"now,fail=20%", 10, 4, 1, HALT_NEVER},
        {"now,fail=20%", 10, 4, 2, HALT_NOW},
        /* 1% of 10 is 0.1: the first failure reaches it, no failure does not. */
        {"now,fail=1%", 10, 3, 0, HALT_NEVER},
        {"now,fail=1%", 10, 3, 1, HALT_NOW},
        {"now,success=1", 10, 1, 1, HALT_NEVER},
        {"now,success=1", 10, 2, 1, HALT_NOW},
        {"soon,success=50%", 10, 6, 2, HALT_NEVER},
        {"soon,success=50%", 10, 7, 2, HALT_SOON},
        {"now,done=2", 10, 1, 1, HALT_NEVER},
        {"now,done=2", 10, 2, 0, HALT_NOW},
    };

    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        struct halt_policy p;
        if (halt_parse (cases[i].policy, &p, NULL) < 0)
            bail_out ("cannot parse %s", cases[i].policy);
        is_int (halt_check (&p, cases[i].size, cases[i].done, cases[i].failed),
                cases[i].want, "%s: %d of %d done, %d failed", cases[i].policy,
                cases[i].done, cases[i].size, cases[i].failed);
    }
    struct halt_policy zero = {0};
    is_int (halt_check (&zero, 5, 5, 5), HALT_NEVER, "a zeroed policy never halts");
}

int main (void)
{
    plan (NO_PLAN);
    test_parse ();
    test_check ();
    done_testing ();
    return exit_status ();
}
