/* taskenv.c - see taskenv.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "envlist.h"
#include "rankdata.h"
#include "task.h"
#include "taskenv.h"

/* Most KRUN_* (and HOME, TMPDIR) entries a job's environment gets. */
#define KRUN_ENTRIES 13

struct taskenv {
    char **env;  /* malloc'd strings, NULL-terminated */
    int rank;    /* index of KRUN_RANK */
    int attempt; /* index of KRUN_ATTEMPT */
    int scratch; /* index of KRUN_TMPDIR */
    int tmpdir;  /* index of TMPDIR */
    int home;    /* index of HOME when it follows the scratch directory, else -1 */
};

static void free_environment (char **env)
{
    if (env) {
        for (char **e = env; *e; e++)
            free (*e);
        free (env);
    }
}

/* HOME: the job's if the launcher sent one (-x HOME), else the slot's own if
 * its user may write there, else the scratch directory (an empty HOME here,
 * set with TMPDIR): a pod's user often has no home it can write. */
static bool job_sends_home (const struct taskenv_job *job)
{
    for (int i = 0; i < job->envc; i++)
        if (strncmp (job->env[i], "HOME=", 5) == 0)
            return true;
    return false;
}

static bool home_follows_scratch (const struct taskenv_job *job)
{
    const char *home = getenv ("HOME");

    if (job_sends_home (job))
        return false;
    return !home || home[0] != '/' || access (home, W_OK | X_OK) < 0;
}

/* The KRUN_* entries into krun[], for rank 0, attempt 1 and no scratch
 * directory yet.  Returns how many. */
static int krun_entries (const struct taskenv_job *job, char krun[][PATH_MAX + 32])
{
    const size_t size = PATH_MAX + 32;
    int n = 10;

    snprintf (krun[0], size, "KRUN_RANK=%d", 0);
    snprintf (krun[1], size, "KRUN_SIZE=%d", job->size);
    snprintf (krun[2], size, "KRUN_LOCAL_RANK=%d", job->local);
    snprintf (krun[3], size, "KRUN_NODE=%s", job->node);
    snprintf (krun[4], size, "KRUN_SLOT=%d", job->global_slot);
    snprintf (krun[5], size, "KRUN_JOB_ID=%s", job->job_id);
    snprintf (krun[6], size, "KRUN_ATTEMPT=%d", 1);
    snprintf (krun[7], size, "KRUN_CONTROL_FD=%d", TASK_CONTROL_FD);
    /* Set per task by taskenv_set_scratch(). */
    snprintf (krun[8], size, "KRUN_TMPDIR=");
    snprintf (krun[9], size, "TMPDIR=");
    if (job->input_dir)
        snprintf (krun[n++], size, "KRUN_INPUT_FILE=%s/%s", job->input_dir,
                  RANKDATA_INPUT_NAME);
    if (job->staged_dir)
        snprintf (krun[n++], size, "KRUN_STAGED=%s", job->staged_dir);
    if (home_follows_scratch (job))
        snprintf (krun[n++], size, "HOME=");
    else if (job->exact && !job_sends_home (job))
        snprintf (krun[n++], size, "HOME=%s", getenv ("HOME"));
    return n;
}

/* Put a copy of entry into env (see envlist_put()). */
static int put_copy (char **env, size_t *n, const char *entry)
{
    char *copy = strdup (entry);

    if (!copy)
        return -1;
    free (envlist_put (env, n, copy));
    return 0;
}

static char **build (const struct taskenv_job *job)
{
    extern char **environ;
    char krun[KRUN_ENTRIES][PATH_MAX + 32];
    int nkrun = krun_entries (job, krun);
    size_t n = 0, count = 0;
    char **env;

    /* An exact environment: the slot's own variables reach the task only
     * if the launcher has them too (a variable unset in the user's shell
     * stays unset). */
    while (!job->exact && environ[count])
        count++;
    if (!(env = calloc (count + job->envc + nkrun + 1, sizeof (*env))))
        return NULL;
    for (size_t i = 0; i < count; i++)
        if (put_copy (env, &n, environ[i]) < 0)
            goto nomem;
    for (int i = 0; i < job->envc; i++)
        if (put_copy (env, &n, job->env[i]) < 0)
            goto nomem;
    for (int i = 0; i < nkrun; i++)
        if (put_copy (env, &n, krun[i]) < 0)
            goto nomem;
    return env;
nomem:
    free_environment (env);
    errno = ENOMEM;
    return NULL;
}

static int find (char **env, const char *entry)
{
    size_t n = 0;

    while (env[n])
        n++;
    return envlist_find (env, n, entry);
}

struct taskenv *taskenv_create (const struct taskenv_job *job)
{
    struct taskenv *e = calloc (1, sizeof (*e));

    if (!e || !(e->env = build (job))) {
        free (e);
        return NULL;
    }
    e->rank = find (e->env, "KRUN_RANK=");
    e->attempt = find (e->env, "KRUN_ATTEMPT=");
    e->scratch = find (e->env, "KRUN_TMPDIR=");
    e->tmpdir = find (e->env, "TMPDIR=");
    /* An empty HOME is krun_entries()' mark: it follows TMPDIR. */
    e->home = find (e->env, "HOME=");
    if (e->home >= 0 && e->env[e->home][5] != '\0')
        e->home = -1;
    return e;
}

void taskenv_destroy (struct taskenv *e)
{
    int saved_errno = errno;

    if (e) {
        free_environment (e->env);
        free (e);
    }
    errno = saved_errno;
}

/* Replace the entry at index i by s (malloc'd). */
static void replace (struct taskenv *e, int i, char *s)
{
    free (e->env[i]);
    e->env[i] = s;
}

int taskenv_set_task (struct taskenv *e, int rank, int attempt)
{
    char *r, *a;

    if (asprintf (&r, "KRUN_RANK=%d", rank) < 0)
        return -1;
    if (asprintf (&a, "KRUN_ATTEMPT=%d", attempt) < 0) {
        free (r);
        return -1;
    }
    replace (e, e->rank, r);
    replace (e, e->attempt, a);
    return 0;
}

/* The directory stays the same from task to task: the strings are made
 * again only when it changed. */
int taskenv_set_scratch (struct taskenv *e, const char *scratch)
{
    const char *fallback = getenv ("TMPDIR");
    char *k, *t, *h = NULL;

    if (scratch && strcmp (e->env[e->scratch] + strlen ("KRUN_TMPDIR="), scratch) == 0)
        return 0; /* TMPDIR was set with it */
    if (asprintf (&k, "KRUN_TMPDIR=%s", scratch ? scratch : "") < 0)
        return -1;
    if (asprintf (&t, "TMPDIR=%s",
                  scratch                 ? scratch
                  : fallback && *fallback ? fallback
                                          : "/tmp") < 0) {
        free (k);
        return -1;
    }
    if (e->home >= 0 && asprintf (&h, "HOME=%s", t + strlen ("TMPDIR=")) < 0) {
        free (k);
        free (t);
        return -1;
    }
    if (h)
        replace (e, e->home, h);
    replace (e, e->scratch, k);
    replace (e, e->tmpdir, t);
    return 0;
}

char **taskenv_get (const struct taskenv *e)
{
    return e->env;
}
