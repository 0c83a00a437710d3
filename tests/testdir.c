/* testdir.c - see testdir.h. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/tap.h"
#include "tests/testdir.h"

static char dir[256];

const char *testdir_create (const char *name)
{
    snprintf (dir, sizeof (dir), "/tmp/krun-%s.XXXXXX", name);
    if (!mkdtemp (dir))
        bail_out ("cannot make a temporary directory %s", dir);
    return dir;
}

const char *testdir_path (const char *name)
{
    static char paths[8][4096];
    static unsigned next;
    char *path = paths[next++ % 8];

    if (!dir[0])
        bail_out ("testdir_path (%s) before testdir_create ()", name);
    snprintf (path, sizeof (paths[0]), "%s/%s", dir, name);
    return path;
}

const char *testdir_write_bytes (const char *name, const void *data, size_t len)
{
    const char *path = testdir_path (name);
    FILE *f = fopen (path, "w");

    if (!f || fwrite (data, 1, len, f) != len || fclose (f) != 0)
        bail_out ("cannot write %s", path);
    return path;
}

const char *testdir_write (const char *name, const char *text)
{
    return testdir_write_bytes (name, text, strlen (text));
}

void testdir_remove (void)
{
    char cmd[300];

    if (!dir[0])
        return;
    snprintf (cmd, sizeof (cmd), "rm -rf '%s'", dir);
    if (system (cmd) != 0)
        diag ("cannot remove %s", dir);
    dir[0] = '\0';
}
