/* testdir.h - the private temporary directory of a unit test, and files in
 * it.  Failures to set it up end the test (bail_out), so that a test never
 * goes on with a half-made fixture.
 */
#ifndef KRUN_TESTDIR_H
#define KRUN_TESTDIR_H

#include <stddef.h>

/* Make /tmp/krun-<name>.XXXXXX (mode 0700) and return its path, which stays
 * valid until testdir_remove(). */
const char *testdir_create (const char *name);

/* The path of name inside it.  The result lives in one of 8 rotating
 * buffers: good for a few paths at a time, copy it to keep it. */
const char *testdir_path (const char *name);

/* Write text (or len bytes of data) as name inside it, replacing the file.
 * Returns testdir_path (name). */
const char *testdir_write (const char *name, const char *text);
const char *testdir_write_bytes (const char *name, const void *data, size_t len);

/* Remove the directory and everything in it (a failure is only reported). */
void testdir_remove (void);

#endif
