/* userdir.h - the directories krund keeps its user's files in on a node: the
 * cache of staged programs and files (stage.h) and the slots' scratch space
 * (the tasks' TMPDIR, the ranks' input files).  krund runs what the cache
 * holds and the scratch space holds the ranks' data, so no other local user
 * may create, replace or read them: each is made mode 0700 and checked with
 * lstat(2) every time it is used (a directory, not a symbolic link, owned by
 * krund's user, no permission for group or others).  A check that fails is
 * refused with a message naming the path and what is wrong.
 *
 * The base directory, the first that applies:
 *   $KRUN_STATE_DIR/krund   krun passes its state directory to the daemons
 *                           it starts; Kubernetes pods set it in their
 *                           writable work directory
 *   $XDG_RUNTIME_DIR/krun   the per-user runtime directory of a login session
 *   ${TMPDIR:-/tmp}/krun-<uid>
 * whose parent must not let others replace it (owned by the user or root,
 * and not writable by others unless sticky, as /tmp).  Below it:
 *   stage/                  the node's cache of staged files (unless
 *                           $KRUN_STAGE_DIR names another, checked alike)
 *   <node>.<pid>/           one per running daemon, locked while it runs:
 *                           a daemon that starts takes over (renames) the
 *                           one a stopped or dead daemon of its node left,
 *                           and removes any other such
 *     slot<N>/              slot N's job input directories and its tasks'
 *                           scratch directory, tmp/ (scratch.h)
 *
 * The directories outlive their daemon, emptied: a daemon that stops
 * empties its slots' (so does a slot that stops), and a slot that starts
 * empties its own, which removes what a dead one of the same number left.
 * Making and removing two directories per slot at every start and stop was
 * most of a cold start's system time on a file system slow at it (ext4
 * without a journal, just after the last stop removed as many; network
 * file systems).
 */
#ifndef KRUN_USERDIR_H
#define KRUN_USERDIR_H

#include <stdbool.h>

#include "error.h"

/* Check that path is a directory only this process's user can use: not a
 * symbolic link, owned by the effective uid, no permission for group or
 * others.  Returns 0, or -1 with errno (ELOOP: a symbolic link; ENOTDIR: not
 * a directory; EPERM: another owner; EACCES: group or others have access; or
 * lstat's) and errp ("refusing PATH: owned by uid 1001, not 1000"). */
int userdir_check (const char *path, struct krun_error *errp);

/* Make path (mode 0700) if it is missing, then userdir_check() it.  Returns
 * 0, or -1 with errno and errp naming path. */
int userdir_make (const char *path, struct krun_error *errp);

/* Check that path is a regular file that only this user can change: not a
 * symbolic link, owned by the effective uid, not writable by group or
 * others.  Returns 0, or -1 with errno (as userdir_check(), EINVAL: not a
 * regular file) and errp. */
int userdir_check_file (const char *path, struct krun_error *errp);

/* Check that path, a directory the user chose (krun's state directory,
 * which holds the key), is theirs alone to change: it, or what a symbolic
 * link to it leads to, belongs to the effective uid, and group and others
 * cannot write it.  Less strict than userdir_check(): readable by others and
 * reached through a link are fine.  Returns 0, or -1 with errno (ENOTDIR,
 * EPERM, EACCES, or stat's) and errp naming path. */
int userdir_check_owned (const char *path, struct krun_error *errp);

/* The base directory (see above), made if missing and checked.  Returns a
 * malloc'd path (caller must free), or NULL with errno and errp. */
char *userdir_base (struct krun_error *errp);

/* The name of a slot's scratch directory in its slot directory. */
#define USERDIR_SCRATCH "tmp"

/* Daemon side: make and lock this daemon's directory, base/<node>.<pid>,
 * taking over the directory of a stopped or dead daemon of node if there is
 * one (one no process holds locked): renamed, and emptied but for the
 * directories of slots 0 to nslots - 1 (each slot empties its own when it
 * starts).  The other directories of dead daemons of node are removed.  The
 * lock is held through *lock_fd (close-on-exec; the slots inherit it):
 * close it at the end, after userdir_slot_clear() of every slot.
 * *removed gets the number of leftovers removed, *reused whether one was
 * taken over.  Returns the malloc'd path (caller must free), or NULL with
 * errno and errp. */
char *userdir_daemon_create (const char *base, const char *node, int nslots,
                             int *lock_fd, int *removed, bool *reused,
                             struct krun_error *errp);

/* Slot side: slot local's directory under daemon_dir (checked first), made,
 * or kept and emptied with userdir_slot_clear(): what a dead slot of the
 * same number left there is removed.  One that fails userdir_check() (a
 * task changed its mode, or put a link in its place) is removed and made
 * again.  *found says whether anything was left there.  Returns the
 * malloc'd path (caller must free), or NULL with errno and errp. */
char *userdir_slot_create (const char *daemon_dir, int local, int *found,
                           struct krun_error *errp);

/* Empty slot directory path but keep it, and keep its scratch directory
 * (USERDIR_SCRATCH), emptied: the next slot of the number uses both.
 * *found says whether there was anything to remove.  Returns 0, or -1 with
 * errno and errp naming the first entry that could not be removed (the rest
 * is still removed). */
int userdir_slot_clear (const char *path, int *found, struct krun_error *errp);

#endif
