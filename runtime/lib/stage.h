/* stage.h - programs sent through the broker ("staged") and the workers'
 * cache of them.
 *
 * A worker pod does not have the user's ./task.  The launcher hashes the
 * program (SHA-256) and, unless the broker holds it already, puts its bytes
 * as the one message of the queue krun.stage.<hash> (x-expires: it goes
 * away when unused).  The job's announcement names the hash; a slot that
 * runs a task of the job looks in its node's cache directory for a file
 * named by the hash, and if it is missing reads the message without taking
 * it (so every node can), checks the hash, and writes it there (mode 0500:
 * a task cannot overwrite the node's copy by accident; under a lock, so the
 * slots of a node fetch it once).  The cache directory is private to the
 * user (userdir.h), checked at every use; a cached file must be a regular
 * file of the user that others cannot write, and its content is hashed
 * again once per job on each node (the first slot that uses it for the job).
 * A warm rerun sends nothing and fetches nothing.
 */
#ifndef KRUN_STAGE_H
#define KRUN_STAGE_H

#include <stdbool.h>

#include "error.h"
#include "stagename.h"
#include "transport.h"

#define STAGE_QUEUE_PREFIX "krun.stage."
/* A staged program is kept by the broker this long after its last use. */
#define STAGE_QUEUE_EXPIRES_MS (24 * 3600 * 1000)

/* The SHA-256 of the file at path as hex into hex[STAGE_HASH_LEN + 1].
 * Returns 0 or -1 with errno and errp naming the file. */
int stage_hash_file (const char *path, char *hex, struct krun_error *errp);

/* The SHA-256 of the len bytes at data as hex into hex[STAGE_HASH_LEN + 1]
 * (also what names the connection agent's files, agent.h). */
void stage_hash_bytes (const void *data, size_t len, char *hex);

/* Launcher side: make sure the broker holds the file at path (of hash
 * hex).  Returns 1 if it was sent now, 0 if the broker had it, -1 on error. */
int stage_publish (struct transport *t, const char *path, const char *hex,
                   struct krun_error *errp);

/* Worker side: the cache directory, $KRUN_STAGE_DIR or else base/stage,
 * base being krund's directory (userdir_base()).  Returns a malloc'd path
 * (caller must free), or NULL with errno (ENOENT: base is NULL and
 * $KRUN_STAGE_DIR unset; ENOMEM). */
char *stage_dir (const char *base);

/* Worker side: the path of the cached program of hash hex under dir for
 * job, fetched through t first if missing.  dir is checked (userdir_make()),
 * the cached file too, and once per job on the node its content is hashed
 * again (job NULL: every time); a copy that does not match is fetched again,
 * and notep (may be NULL) says so.  Returns a malloc'd path (caller must
 * free) or NULL with errno and errp. */
char *stage_fetch (struct transport *t, const char *dir, const char *hex,
                   const char *job, struct krun_error *notep, struct krun_error *errp);

/* Files staged with `krun --stage FILE`.  Each travels like a program (one
 * message of krun.stage.<hash>, cached on the node under its hash), and the
 * tasks of the job find them by name in one directory of the cache,
 * dir/files.<hash of the list of names and hashes>, where each name is a
 * symbolic link to the cached file.  The same files give the same directory,
 * so a warm rerun finds it made. */

/* Launcher side: the name the file given as path gets in the staged
 * directory: path itself when it is relative and valid once leading "./"
 * are dropped (so "data/x.dat" stays "data/x.dat"), else its last part
 * ("/srv/x.dat" and "../x.dat" become "x.dat").  Returns a malloc'd name
 * (caller must free), or NULL with errno (EINVAL: no usable name, as for
 * "/" or "dir/"). */
char *stage_name_for (const char *path);

/* The staged directory of the n files names[i] of hashes hashes[i] under the
 * cache directory dir.  Returns a malloc'd path (caller must free) or NULL
 * with errno. */
char *stage_files_dir (const char *dir, int n, char *const names[],
                       char *const hashes[]);

/* Worker side: make sure files_dir (from stage_files_dir()) holds every
 * name, a link to its cached file, fetching missing files through t first
 * and checking cached ones for job as stage_fetch() does (notep likewise).
 * A directory a task damaged (a link removed or changed) is made again.
 * Returns 0, or -1 with errno and errp naming the file. */
int stage_fetch_files (struct transport *t, const char *dir, const char *files_dir,
                       int n, char *const names[], char *const hashes[],
                       const char *job, struct krun_error *notep,
                       struct krun_error *errp);

#endif
