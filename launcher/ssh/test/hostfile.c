/* Unit tests of the ssh provider's host list (hostfile.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "launcher/ssh/hostfile.h"
#include "tests/tap.h"
#include "tests/testdir.h"

/* The list as "name=slots name=slots ...", node names in brackets when
 * they differ. */
static const char *show (const struct hostfile *h)
{
    static char buf[1024];
    size_t len = 0;

    buf[0] = '\0';
    for (int i = 0; i < hostfile_count (h); i++) {
        len += snprintf (buf + len, sizeof (buf) - len, "%s%s=%d", i ? " " : "",
                         hostfile_host (h, i), hostfile_slots (h, i));
        if (strcmp (hostfile_host (h, i), hostfile_node (h, i)) != 0)
            len +=
                snprintf (buf + len, sizeof (buf) - len, "[%s]", hostfile_node (h, i));
    }
    return buf;
}

static const struct {
    const char *arg, *want;
} lists[] = {
    {"a", "a=0"},
    {"a,b:2", "a=0 b=2"},
    {"n1:4,n2:4,n3", "n1=4 n2=4 n3=0"},
    {"a,a", "a=2"},
    {"a:2,a:3,b", "a=5 b=0"},
    {"a:2,a", "a=3"},
    {"me@node-1.example.org:8", "me@node-1.example.org=8[node-1.example.org]"},
    {"h_1", "h_1=0"},
};

static const struct {
    const char *arg, *message;
} bad_lists[] = {
    {"", "host list '': '' is not a host name"},
    {"a,,b", "host list 'a,,b': '' is not a host name"},
    {"a,", "host list 'a,': '' is not a host name"},
    {"a:0", "host list 'a:0': bad slot count '0' for host a (1 to 65536)"},
    {"a:x", "host list 'a:x': bad slot count 'x' for host a (1 to 65536)"},
    {"a:", "host list 'a:': bad slot count '' for host a (1 to 65536)"},
    {"a:65537", "host list 'a:65537': bad slot count '65537' for host a (1 to 65536)"},
    {"-oProxyCommand=x",
     "host list '-oProxyCommand=x': '-oProxyCommand=x' is not a host name"},
    {"a b", "host list 'a b': 'a b' is not a host name"},
    {"a;reboot", "host list 'a;reboot': 'a;reboot' is not a host name"},
    {"u@-x", "host list 'u@-x': 'u@-x' is not a host name"},
    {"@h", "host list '@h': '@h' is not a host name"},
    {"u@", "host list 'u@': 'u@' is not a host name"},
    {"a@b@c", "host list 'a@b@c': 'a@b@c' is not a host name"},
};

static const struct {
    const char *text, *want;
} files[] = {
    {"", ""},
    {"\n\n# only comments\n   \t\n", ""},
    {"a\nb\n", "a=0 b=0"},
    {"a slots=4\nb slots=2 max_slots=8\n", "a=4 b=2"},
    {"a:4\nb:2\n", "a=4 b=2"},
    {"# Open MPI and MPICH lines mixed\na slots=2 # two\n\tb:3\r\nc\n", "a=2 b=3 c=0"},
    {"a slots=2\na slots=2", "a=4"},
    {"x max_slots=4", "x=0"},
    {"last-line-without-newline:7", "last-line-without-newline=7"},
};

static const struct {
    const char *text, *message;
} bad_files[] = {
    {"a\nb slots=0\n",
     "hosts:2: cannot read 'slots=0' after host b (expected slots=N, N from 1 to "
     "65536)"},
    {"a slots=2 slots=3\n",
     "hosts:1: cannot read 'slots=3' after host a (expected slots=N, N from 1 to "
     "65536)"},
    {"a cpus=4\n",
     "hosts:1: cannot read 'cpus=4' after host a (expected slots=N, N from 1 to "
     "65536)"},
    {"\n\n\na:4 b\n", "hosts:4: unexpected 'b' after a:4"},
    {"ok\nb;x\n", "hosts:2: 'b;x' is not a host name"},
    {"a:-1\n", "hosts:1: bad slot count '-1' for host a (1 to 65536)"},
    {"-F/etc/passwd\n", "hosts:1: '-F/etc/passwd' is not a host name"},
};

int main (void)
{
    struct krun_error error;
    struct hostfile *h;

    plan (NO_PLAN);
    for (size_t i = 0; i < sizeof (lists) / sizeof (lists[0]); i++) {
        h = hostfile_create ();
        ok (hostfile_add_list (h, lists[i].arg, &error) == 0, "-H %s", lists[i].arg);
        is_str (show (h), lists[i].want, "-H %s", lists[i].arg);
        hostfile_destroy (h);
    }
    for (size_t i = 0; i < sizeof (bad_lists) / sizeof (bad_lists[0]); i++) {
        h = hostfile_create ();
        hostfile_add_list (h, "kept:2", NULL);
        errno = 0;
        error.text[0] = '\0';
        ok (hostfile_add_list (h, bad_lists[i].arg, &error) < 0 && errno == EINVAL,
            "-H '%s' fails with EINVAL", bad_lists[i].arg);
        is_str (error.text, bad_lists[i].message, "-H '%s': message", bad_lists[i].arg);
        is_str (show (h), "kept=2", "-H '%s': the list is unchanged", bad_lists[i].arg);
        hostfile_destroy (h);
    }
    for (size_t i = 0; i < sizeof (files) / sizeof (files[0]); i++) {
        h = hostfile_create ();
        ok (hostfile_add_text (h, files[i].text, "hosts", &error) == 0, "file %zu", i);
        is_str (show (h), files[i].want, "file %zu", i);
        hostfile_destroy (h);
    }
    for (size_t i = 0; i < sizeof (bad_files) / sizeof (bad_files[0]); i++) {
        h = hostfile_create ();
        hostfile_add_text (h, "kept slots=2\n", "first", NULL);
        errno = 0;
        error.text[0] = '\0';
        ok (hostfile_add_text (h, bad_files[i].text, "hosts", &error) < 0 &&
                errno == EINVAL,
            "bad file %zu fails with EINVAL", i);
        is_str (error.text, bad_files[i].message, "bad file %zu: message", i);
        is_str (show (h), "kept=2", "bad file %zu: the list is unchanged", i);
        hostfile_destroy (h);
    }

    /* -H and a file add up. */
    h = hostfile_create ();
    ok (hostfile_add_list (h, "a:1,b", NULL) == 0 &&
            hostfile_add_text (h, "a slots=2\nc:3\n", "f", NULL) == 0,
        "-H then a file");
    is_str (show (h), "a=3 b=0 c=3", "-H and a file add up");
    hostfile_destroy (h);

    /* A real file, and one that is missing. */
    const char *path;
    testdir_create ("hostfile");
    path = testdir_write ("hosts", "# cluster\nnode1 slots=2\nnode2:2\n");
    h = hostfile_create ();
    ok (hostfile_add_file (h, path, &error) == 0, "read %s", path);
    is_str (show (h), "node1=2 node2=2", "its hosts");
    path = testdir_write ("hosts", "node3\nnode4 slots=two\n");
    errno = 0;
    ok (hostfile_add_file (h, path, &error) < 0 && errno == EINVAL, "a bad file fails");
    ok (strncmp (error.text, path, strlen (path)) == 0 &&
            strstr (error.text, ":2: cannot read 'slots=two'"),
        "the message names the file and line: %s", error.text);
    is_str (show (h), "node1=2 node2=2", "nothing of the bad file was added");
    path = testdir_path ("missing");
    errno = 0;
    ok (hostfile_add_file (h, path, &error) < 0 && errno == ENOENT,
        "a missing file: ENOENT");
    ok (strstr (error.text, "cannot read host file ") && strstr (error.text, "missing"),
        "the message names it: %s", error.text);
    hostfile_destroy (h);
    testdir_remove ();

    errno = ENOENT;
    hostfile_destroy (NULL);
    ok (errno == ENOENT, "destroy (NULL) keeps errno");
    done_testing ();
    return exit_status ();
}
