/* Unit tests of runtime/inherit.c: the launcher's umask, nice value and
 * resource limits, as text and applied in a child. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inherit.h"
#include "tests/tap.h"

static void test_text (void)
{
    struct inherit in;
    char buf[64];
    char *good[] = {"core=0", "nofile=1024", "stack=unlimited"};
    char *bad[] = {"core", "nproc=5", "core=-1", "core=x", "core=", "=5", "core=5x"};

    inherit_none (&in);
    ok (in.umask == -1 && in.nice == INHERIT_NICE_KEEP && in.nlimits == 0,
        "none: nothing to change");
    ok (inherit_limits_parse (good, 3, &in, NULL) == 0 && in.nlimits == 3,
        "three limits parse");
    is_str (inherit_limit_format (&in.limits[0], buf, sizeof (buf)), "core=0", "core");
    is_str (inherit_limit_format (&in.limits[1], buf, sizeof (buf)), "nofile=1024",
            "nofile");
    is_str (inherit_limit_format (&in.limits[2], buf, sizeof (buf)), "stack=unlimited",
            "unlimited");
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
        struct krun_error error;
        errno = 0;
        ok (inherit_limits_parse (&bad[i], 1, &in, &error) < 0 && errno == EINVAL &&
                strstr (error.text, bad[i]) && in.nlimits == 3,
            "'%s' refused, nothing changed: %s", bad[i], error.text);
    }
    inherit_capture (&in);
    ok (in.umask >= 0 && in.umask <= 0777 && in.nice != INHERIT_NICE_KEEP &&
            in.nlimits == INHERIT_MAX_LIMITS,
        "capture: umask, nice and the %d limits", INHERIT_MAX_LIMITS);
    struct inherit back = in;
    char texts[INHERIT_MAX_LIMITS][64], *v[INHERIT_MAX_LIMITS];
    for (int i = 0; i < in.nlimits; i++) {
        inherit_limit_format (&in.limits[i], texts[i], sizeof (texts[i]));
        v[i] = texts[i];
    }
    bool same = inherit_limits_parse (v, in.nlimits, &back, NULL) == 0 &&
                back.nlimits == in.nlimits;
    for (int i = 0; same && i < in.nlimits; i++)
        same = back.limits[i].resource == in.limits[i].resource &&
               back.limits[i].soft == in.limits[i].soft;
    ok (same, "captured limits survive the text");
}

/* Apply in a child; it exits 0 if everything took effect. */
static void test_apply (void)
{
    struct inherit in;
    char *limits[] = {"nofile=64", "core=0"};
    int status;

    inherit_none (&in);
    in.umask = 077;
    errno = 0;
    int nice = getpriority (PRIO_PROCESS, 0);
    in.nice = nice + 3 <= 19 ? nice + 3 : 19;
    inherit_limits_parse (limits, 2, &in, NULL);
    pid_t pid = fork ();
    if (pid == 0) {
        struct rlimit nofile, core;
        inherit_apply (&in);
        mode_t mask = umask (0);
        getrlimit (RLIMIT_NOFILE, &nofile);
        getrlimit (RLIMIT_CORE, &core);
        errno = 0;
        int now = getpriority (PRIO_PROCESS, 0);
        _exit (mask == 077 && nofile.rlim_cur == 64 && core.rlim_cur == 0 &&
                       now == in.nice
                   ? 0
                   : 1);
    }
    waitpid (pid, &status, 0);
    ok (WIFEXITED (status) && WEXITSTATUS (status) == 0,
        "applied: umask 077, nofile 64, core 0, nice %d", in.nice);

    /* Above the hard limit: lowered to it, not refused. */
    struct rlimit hard;
    getrlimit (RLIMIT_NOFILE, &hard);
    inherit_none (&in);
    char *over[] = {"nofile=unlimited"};
    inherit_limits_parse (over, 1, &in, NULL);
    pid = fork ();
    if (pid == 0) {
        struct rlimit now;
        inherit_apply (&in);
        getrlimit (RLIMIT_NOFILE, &now);
        _exit (now.rlim_cur == hard.rlim_max ? 0 : 1);
    }
    waitpid (pid, &status, 0);
    ok (WIFEXITED (status) && WEXITSTATUS (status) == 0,
        "a soft limit above the hard one becomes the hard one");
}

/* What the caller has already is left out; what differs stays, and is
 * applied as before. */
static void test_drop_unchanged (void)
{
    struct inherit in;
    struct rlimit nofile, core;
    char text[3][64];
    int status;

    getrlimit (RLIMIT_NOFILE, &nofile);
    getrlimit (RLIMIT_CORE, &core);
    errno = 0;
    int nice = getpriority (PRIO_PROCESS, 0);
    mode_t mask = umask (022);
    umask (mask);
    inherit_capture (&in);
    inherit_drop_unchanged (&in);
    ok (in.umask == -1 && in.nice == INHERIT_NICE_KEEP && in.nlimits == 0,
        "the caller's own values: nothing left to apply (umask %d, nice %d, %d "
        "limits)",
        in.umask, in.nice, in.nlimits);

    /* Different umask, higher nice, one limit lower, one as it is, and one
     * above the hard limit when there is one (it would be set to the hard
     * limit, which is what the caller has only if its soft one is there). */
    struct inherit_limit same = {RLIMIT_NOFILE, nofile.rlim_cur};
    inherit_limit_format (&same, text[0], sizeof (text[0]));
    snprintf (text[1], sizeof (text[1]), "core=%s",
              core.rlim_cur == 0 ? "unlimited" : "0");
    char *limits[] = {text[0], text[1]};
    inherit_none (&in);
    in.umask = mask == 077 ? 027 : 077;
    in.nice = nice < 19 ? nice + 1 : 19;
    inherit_limits_parse (limits, 2, &in, NULL);
    struct inherit want = in;
    inherit_drop_unchanged (&in);
    ok (in.umask == want.umask, "another umask stays");
    ok (nice == 19 ? in.nice == INHERIT_NICE_KEEP : in.nice == want.nice,
        "a higher nice value stays");
    ok (in.nlimits == 1 && in.limits[0].resource == RLIMIT_CORE,
        "the limit that differs stays, the same one goes (%d left)", in.nlimits);
    in.nice = nice > 0 ? nice - 1 : nice;
    struct inherit lower = in;
    inherit_drop_unchanged (&lower);
    ok (lower.nice == INHERIT_NICE_KEEP,
        "a nice value not above the caller's goes (apply would not set it)");
    pid_t pid = fork ();
    if (pid == 0) {
        struct rlimit c, n;
        inherit_apply (&in);
        mode_t m = umask (0);
        getrlimit (RLIMIT_CORE, &c);
        getrlimit (RLIMIT_NOFILE, &n);
        bool core_ok =
            core.rlim_cur == 0 ? c.rlim_cur == core.rlim_max : c.rlim_cur == 0;
        _exit (m == (mode_t)want.umask && core_ok && n.rlim_cur == nofile.rlim_cur ? 0
                                                                                   : 1);
    }
    waitpid (pid, &status, 0);
    ok (WIFEXITED (status) && WEXITSTATUS (status) == 0,
        "what is left applies as the whole would have");
}

static int nproc_now (void)
{
    cpu_set_t set;

    return sched_getaffinity (0, sizeof (set), &set) == 0 ? CPU_COUNT (&set) : -1;
}

/* The CPUs of a task: the union of lists, applied in a child. */
static void test_cpus (void)
{
    struct inherit in;
    struct krun_error error;
    const char *bad[] = {"0", "1-x"};
    const char *lists[] = {"0"};
    int status;

    inherit_none (&in);
    errno = 0;
    ok (inherit_set_cpus (&in, bad, 2, &error) < 0 && errno == EINVAL && !in.has_cpus &&
            strstr (error.text, "1-x"),
        "a bad list refused, nothing set: %s", error.text);
    ok (inherit_set_cpus (&in, lists, 1, &error) == 0 && in.has_cpus, "cpu 0");
    pid_t pid = fork ();
    if (pid == 0) {
        inherit_apply (&in);
        _exit (nproc_now () == 1 ? 0 : 1);
    }
    waitpid (pid, &status, 0);
    ok (WIFEXITED (status) && WEXITSTATUS (status) == 0,
        "applied: the child runs on 1 CPU");
}

int main (void)
{
    plan (NO_PLAN);
    test_text ();
    test_apply ();
    test_drop_unchanged ();
    test_cpus ();
    done_testing ();
    return exit_status ();
}
