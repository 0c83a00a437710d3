/* Unit tests of fileio_read() and fileio_write(). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "tests/tap.h"
#include "tests/testdir.h"

static void test_read (void)
{
    struct krun_error error = {{0}};
    const char *path;
    size_t len = 99;
    char *text, big[10000];

    path = testdir_write ("abc", "abc");
    text = fileio_read (path, 100, &len, &error);
    ok (text && len == 3 && strcmp (text, "abc") == 0, "a small file reads whole");
    free (text);

    path = testdir_write ("empty", "");
    text = fileio_read (path, 100, &len, &error);
    ok (text && len == 0 && text[0] == '\0', "an empty file reads as \"\"");
    free (text);

    memset (big, 'x', sizeof (big));
    path = testdir_write_bytes ("big", big, sizeof (big));
    text = fileio_read (path, sizeof (big), &len, NULL);
    ok (text && len == sizeof (big) && text[len] == '\0' && text[0] == 'x',
        "a file of exactly max bytes reads, NUL-terminated");
    free (text);
    errno = 0;
    text = fileio_read (path, sizeof (big) - 1, &len, &error);
    ok (!text && errno == EFBIG && strstr (error.text, path),
        "one byte over max: NULL, EFBIG, a message naming the file");

    path = testdir_write_bytes ("nul", "a\0b", 3);
    text = fileio_read (path, 100, &len, NULL);
    ok (text && len == 3 && memcmp (text, "a\0b", 4) == 0, "NUL bytes are kept");
    free (text);

    text = fileio_read ("/proc/self/stat", 1 << 20, &len, NULL);
    ok (text && len > 0 && strlen (text) == len,
        "a /proc file (fstat says 0 bytes) reads whole");
    free (text);

    errno = 0;
    path = testdir_path ("missing");
    text = fileio_read (path, 100, &len, &error);
    ok (!text && errno == ENOENT && strstr (error.text, path) &&
            strstr (error.text, "No such file"),
        "a missing file: NULL, ENOENT, the path and the reason");
    text = fileio_read (path, 100, NULL, NULL);
    ok (!text && errno == ENOENT, "lenp and errp may be NULL");
}

static void test_read_fd (void)
{
    int fd = open (testdir_write ("fd", "hello"), O_RDONLY);
    size_t len;
    char *text;

    if (fd < 0 || lseek (fd, 1, SEEK_SET) != 1)
        bail_out ("open");
    text = fileio_read_fd (fd, 100, &len);
    ok (text && len == 4 && strcmp (text, "ello") == 0,
        "fileio_read_fd reads from the fd's offset");
    ok (fcntl (fd, F_GETFD) >= 0, "and leaves the fd open");
    free (text);
    close (fd);
}

static void test_write (void)
{
    struct krun_error error = {{0}};
    const char *path = testdir_path ("out");
    struct stat st;
    size_t len;
    char *text;

    ok (fileio_write (path, "first text", 10, 0640, &error) == 0, "write a new file");
    ok (stat (path, &st) == 0 && (st.st_mode & 0777) == (0640 & ~umask (022)),
        "made with the mode asked (less the umask)");
    ok (fileio_write (path, "two", 3, 0600, &error) == 0, "write it again");
    text = fileio_read (path, 100, &len, NULL);
    ok (text && len == 3 && strcmp (text, "two") == 0, "the old content is gone");
    free (text);

    if (symlink (path, testdir_path ("link")) < 0)
        bail_out ("symlink");
    errno = 0;
    ok (fileio_write (testdir_path ("link"), "x", 1, 0600, &error) < 0 &&
            errno == ELOOP && strstr (error.text, "link"),
        "a symbolic link is not followed: -1, ELOOP, the path");
    errno = 0;
    ok (fileio_write (testdir_path ("no/such/dir"), "x", 1, 0600, &error) < 0 &&
            errno == ENOENT && strstr (error.text, "no/such/dir"),
        "a missing directory: -1, ENOENT, the path");
    ok (fileio_write ("/dev/full", "x", 1, 0600, &error) < 0 && errno == ENOSPC &&
            strstr (error.text, "/dev/full"),
        "a full device: -1, ENOSPC, the path");
}

int main (void)
{
    plan (NO_PLAN);
    umask (022);
    testdir_create ("fileio");
    test_read ();
    test_read_fd ();
    test_write ();
    testdir_remove ();
    done_testing ();
    return exit_status ();
}
