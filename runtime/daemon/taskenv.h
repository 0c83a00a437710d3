/* taskenv.h - the environment a slot gives its tasks (docs/environment.md):
 * the slot's own (unless the job's is exact: the launcher's whole
 * environment), then the job's variables (the launcher's -x and what it
 * sends), then KRUN_* (rank, size, node, slot, job, attempt, control fd,
 * scratch and input files, staged files), and HOME when the slot's own is
 * not writable.
 *
 * It is the same for every task of a job but for KRUN_RANK, KRUN_ATTEMPT
 * and the scratch directory: built once when the job is announced, so that
 * a task costs a few small strings instead of a merge of two environments.
 */
#ifndef KRUN_TASKENV_H
#define KRUN_TASKENV_H

#include <stdbool.h>

/* What a job's tasks learn about where they run. */
struct taskenv_job {
    const char *job_id;
    int size; /* ranks in the job */
    const char *node;
    int local;        /* the slot's number on its node */
    int global_slot;  /* the slot's number in the job */
    char *const *env; /* the job's variables, "NAME=value" */
    int envc;
    const char *input_dir;  /* where the rank's input file goes, or NULL */
    const char *staged_dir; /* the job's --stage files, or NULL */
    /* env is the whole environment (the launcher's, local provider): the
     * slot's own variables stay out, but for HOME when it is usable. */
    bool exact;
};

struct taskenv;

/* Build the job's environment from environ and job (copied: job may go
 * after).  Returns it (caller must taskenv_destroy()) or NULL with ENOMEM. */
struct taskenv *taskenv_create (const struct taskenv_job *job);
void taskenv_destroy (struct taskenv *e);

/* Set KRUN_RANK and KRUN_ATTEMPT for a task.  Returns 0, or -1 with ENOMEM
 * (the environment is unchanged then). */
int taskenv_set_task (struct taskenv *e, int rank, int attempt);

/* Set the task's scratch directory (scratch.h) as KRUN_TMPDIR and TMPDIR,
 * and as HOME when HOME follows it (no writable HOME of the slot's, none
 * sent by the job).  scratch NULL: KRUN_TMPDIR is empty and TMPDIR the
 * slot's own (else /tmp).  Returns 0, or -1 with ENOMEM (unchanged). */
int taskenv_set_scratch (struct taskenv *e, const char *scratch);

/* The NULL-terminated environment, borrowed until the next change or
 * taskenv_destroy(). */
char **taskenv_get (const struct taskenv *e);

#endif
