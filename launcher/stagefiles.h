/* stagefiles.h - the files of `krun --stage FILE`: checked, named and hashed
 * before anything is published, then sent through the broker (stage.h) for
 * the workers to cache.  Every task of the job finds them in one directory,
 * $KRUN_STAGED, under the name stage_name_for() gives (a relative path is
 * kept: --stage data/x.dat is $KRUN_STAGED/data/x.dat); on Kubernetes that
 * directory is also the task's working directory.
 */
#ifndef KRUN_STAGEFILES_H
#define KRUN_STAGEFILES_H

#include "error.h"
#include "transport.h"

/* More than this many --stage files is refused. */
#define STAGEFILES_MAX 256

struct stagefiles;

/* Check, name and hash the n files paths[i]: each must be a readable
 * regular file of at most 64 MiB, and no two may get the same name (or one
 * a name inside the other's, "a" and "a/b").  Returns the set (caller must
 * destroy) or NULL with errno and errp naming the file. */
struct stagefiles *stagefiles_create (char *const paths[], int n,
                                      struct krun_error *errp);

/* Accepts NULL; keeps errno. */
void stagefiles_destroy (struct stagefiles *sf);

int stagefiles_count (const struct stagefiles *sf);
/* The names and hashes, stagefiles_count() entries each (borrowed). */
char **stagefiles_names (const struct stagefiles *sf);
char **stagefiles_hashes (const struct stagefiles *sf);

/* Make sure the broker holds every file (stage_publish()).  Returns how
 * many were sent now (0: the broker had them all, a warm rerun), or -1 with
 * errno and errp naming the file. */
int stagefiles_publish (const struct stagefiles *sf, struct transport *t,
                        struct krun_error *errp);

#endif
