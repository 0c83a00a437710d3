/* hostfile.h - the ssh provider's host list, read as mpirun reads it.
 *
 * On the command line (`-H`, as Open MPI and MPICH's hydra take it):
 *     host1,host2:4,user@host3
 * In a file (`--hostfile FILE`), one host per line, in either launcher's
 * syntax:
 *     host1 slots=4          Open MPI (max_slots=N is accepted and ignored)
 *     host2:4                MPICH
 *     host3                  no count: one slot per core, found by the
 *                            daemon with hwloc
 * '#' starts a comment to the end of the line; blank lines are skipped.
 *
 * A host named more than once is one host (in the order of its first
 * listing) whose slots add up, a listing without a count counting one slot
 * (`-H a,a` is two slots, as in Open MPI).  A name is what ssh is given
 * (ssh_config aliases and user@host included) and names the node; its host
 * part, without "user@", is the node's name.  Names may hold letters,
 * digits and . _ - @, and must not start with '-' (ssh would read an
 * option).
 *
 * Errors follow error.h: -1 with errno EINVAL and a message naming the file
 * and line (or the -H argument) and what is wrong; a failed add leaves the
 * list as it was.
 */
#ifndef KRUN_HOSTFILE_H
#define KRUN_HOSTFILE_H

#include "error.h"

/* Most slots one host may declare. */
#define HOSTFILE_MAX_SLOTS 65536
/* Longest host name, user@ included. */
#define HOSTFILE_NAME_MAX 255

struct hostfile;

/* An empty list (NULL + ENOMEM).  Caller must hostfile_destroy(). */
struct hostfile *hostfile_create (void);

/* Accepts NULL; keeps errno. */
void hostfile_destroy (struct hostfile *h);

/* Add the hosts of a -H argument ("a,b:2").  Returns 0 or -1 (EINVAL,
 * ENOMEM). */
int hostfile_add_list (struct hostfile *h, const char *arg, struct krun_error *errp);

/* Add the hosts of text, the contents of a host file named name (for the
 * messages).  Returns 0 or -1 (EINVAL, ENOMEM). */
int hostfile_add_text (struct hostfile *h, const char *text, const char *name,
                       struct krun_error *errp);

/* Add the hosts of the file at path.  Returns 0 or -1 (EINVAL, ENOMEM, or
 * the errno of reading it, with a message naming it). */
int hostfile_add_file (struct hostfile *h, const char *path, struct krun_error *errp);

/* How many hosts the list holds. */
int hostfile_count (const struct hostfile *h);

/* Host i's name as ssh is to be given it (borrowed until destroy). */
const char *hostfile_host (const struct hostfile *h, int i);

/* Host i's node name: its name without "user@" (borrowed until destroy). */
const char *hostfile_node (const struct hostfile *h, int i);

/* Host i's slots, or 0 when not given (one per core). */
int hostfile_slots (const struct hostfile *h, int i);

#endif
