/* Unit tests of sshexec.h, with a shell script standing in for ssh (the
 * real one is used by tests/t0600-ssh.t).  The script sees the arguments
 * ssh would: -o ConnectTimeout=C -o BatchMode=yes HOST COMMAND. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "launcher/ssh/sshexec.h"
#include "tests/tap.h"

static const char fake_ssh[] =
    "[ \"$1 $2 $3 $4\" = \"-o ConnectTimeout=7 -o BatchMode=yes\" ] || exit 99\n"
    "host=$5; cmd=$6\n"
    "case $host in\n"
    "ok*) input=$(cat); printf '%s got %s\\n' \"$host\" \"$input\";\n"
    "     eval \"set -- $cmd\"; for w in \"$@\"; do printf '[%s]' \"$w\"; done ;;\n"
    "refusing) echo \"ssh: connect to host refusing port 22: Connection refused\" >&2;"
    " exit 255 ;;\n"
    "nokrund) echo 'bash: line 1: krund: command not found' >&2; exit 127 ;;\n"
    "slow) echo 'half' >&2; exec sleep 30 ;;\n"
    "esac\n";

int main (void)
{
    char *ssh[] = {"sh", "-c", (char *)fake_ssh, "fake-ssh", NULL};
    const char *words[] = {"krund", "--node", "n1",  "it's", "a b",
                           "$HOME", "",       "x;y", NULL};
    const char *simple[] = {"krund", "--stop", "12:34", NULL};
    struct sshexec runs[] = {
        {.host = "ok1", .command = words},   {.host = "refusing", .command = simple},
        {.host = "ok2", .command = simple},  {.host = "nokrund", .command = simple},
        {.host = "slow", .command = simple},
    };
    int n = sizeof (runs) / sizeof (runs[0]);
    struct krun_error error;
    char line[256], *q;

    plan (NO_PLAN);
    is_str ((q = sshexec_quote (simple)), "krund --stop 12:34",
            "plain words stay plain");
    free (q);
    is_str ((q = sshexec_quote (words)),
            "krund --node n1 'it'\\''s' 'a b' '$HOME' '' 'x;y'",
            "other words are quoted for a POSIX shell");
    free (q);

    int64_t start = clock_mono_ms ();
    ok (sshexec_run (ssh, runs, n, "SECRET", 6, 7, 2000, &error) == 0, "ran");
    int64_t took = clock_mono_ms () - start;
    is_int (runs[0].status, 0, "ok1: exit 0");
    is_str (runs[0].out, "ok1 got SECRET\n[krund][--node][n1][it's][a b][$HOME][][x;y]",
            "ok1: its input, and the words as they were");
    is_int (runs[2].status, 0, "ok2: exit 0");
    is_str (runs[2].out, "ok2 got SECRET\n[krund][--stop][12:34]", "ok2: its input");
    is_int (runs[1].status, 255, "refusing: ssh's 255");
    is_str (sshexec_last_line (runs[1].err, line, sizeof (line)),
            "ssh: connect to host refusing port 22: Connection refused",
            "and its error");
    is_int (runs[3].status, 127, "no krund: the shell's 127");
    is_str (sshexec_last_line (runs[3].err, line, sizeof (line)),
            "bash: line 1: krund: command not found", "and its error");
    is_int (runs[4].status, -1, "slow: killed at the time limit");
    is_str (runs[4].err, "half\n\nno answer within 2 s (killed ssh)\n",
            "its output so far, and why it was killed");
    ok (took >= 1900 && took < 20000, "the limit held (%lld ms)", (long long)took);
    sshexec_clear (runs, n);
    ok (runs[0].out == NULL && runs[4].err == NULL, "cleared");

    char *missing[] = {"/nonexistent/ssh", NULL};
    ok (sshexec_run (missing, runs, 1, NULL, 0, 7, 2000, &error) == 0,
        "a missing client");
    is_int (runs[0].status, 255, "exits 255");
    is_str (sshexec_last_line (runs[0].err, line, sizeof (line)),
            "cannot run /nonexistent/ssh: No such file or directory", "and says why");
    sshexec_clear (runs, 1);

    is_str (sshexec_last_line ("a\nb\n\n  \n", line, sizeof (line)), "b",
            "last line: trailing blank lines skipped");
    is_str (sshexec_last_line ("", line, sizeof (line)), "", "last line of nothing");
    is_str (sshexec_last_line ("one", line, 3), "on", "last line: cut to the buffer");
    done_testing ();
    return exit_status ();
}
