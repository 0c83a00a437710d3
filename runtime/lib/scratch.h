/* scratch.h - the private scratch directory of a slot's tasks: made when
 * the slot runs its first task (in the slot's directory, userdir.h, mode
 * 0700), given to every task as KRUN_TMPDIR and TMPDIR, and emptied
 * when each task has ended, so that nothing a rank leaves there outlives it
 * or is seen by the next task.  Emptying an empty directory is one read of
 * it; making and removing a directory per task cost a quarter of a slot's
 * CPU per short task on ext4.  It keeps its name from one slot to the next
 * (userdir.h keeps the slots' directories too): a cold start of hundreds of
 * slots that made a directory each spent much of its time in mkdir(2) on a
 * file system that had just removed as many.  The task's working directory
 * stays the launcher's (as a local run expects); only temporary files move
 * here.
 */
#ifndef KRUN_SCRATCH_H
#define KRUN_SCRATCH_H

#include "error.h"

struct scratch_dir;

/* The directory base/name, mode 0700: made, or the one already there,
 * emptied (scratch_empty()); one that cannot be emptied (a symbolic link,
 * another owner's, a file) is removed and made again.  base must pass
 * userdir_check() (private to this user).  Returns its path (caller must
 * free), or NULL with errno and errp naming the directory. */
char *scratch_create (const char *base, const char *name, struct krun_error *errp);

/* Remove everything below path, as scratch_remove() does, but keep path
 * itself, and give it back mode 0700 if a task changed it.  A path that is
 * a symbolic link or not owned by this user fails (ELOOP, EPERM).  Returns 0, or -1
 * with errno and errp naming the first entry that could not be removed (the
 * rest is still removed). */
int scratch_empty (const char *path, struct krun_error *errp);

/* The scratch directory path, held open to be emptied after each task
 * with fewer system calls: one check that path still names it, then only
 * the reads of the directory (4 calls for an empty one, against 9 for
 * scratch_empty()).  Returns it (caller must scratch_dir_destroy()) or NULL
 * with errno and errp as scratch_empty(). */
struct scratch_dir *scratch_dir_open (const char *path, struct krun_error *errp);

/* Accepts NULL; keeps errno. */
void scratch_dir_destroy (struct scratch_dir *d);

/* As scratch_empty() on the held directory.  A path that no longer names
 * it (removed: ENOENT; a link or another file: ENOTDIR; another directory:
 * EPERM) fails, and nothing is removed. */
int scratch_dir_empty (struct scratch_dir *d, struct krun_error *errp);

/* Remove path and everything below it, never following symbolic links
 * (a link is removed, not what it points to).  Entries a task made
 * unwritable are made writable first.  Returns 0, or -1 with errno and errp
 * naming the first entry that could not be removed (the rest is still
 * removed). */
int scratch_remove (const char *path, struct krun_error *errp);

#endif
