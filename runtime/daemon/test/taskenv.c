/* Unit tests of taskenv: the tasks' environment built from the slot's own,
 * the job's variables and KRUN_*, per-task rank and attempt, the scratch
 * directory as KRUN_TMPDIR, TMPDIR and (when it follows) HOME. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rankdata.h"
#include "taskenv.h"
#include "tests/tap.h"
#include "tests/testdir.h"

/* The value of name in env, or NULL; and how many entries have that name. */
static const char *value (char **env, const char *name, int *count)
{
    size_t len = strlen (name);
    const char *v = NULL;

    *count = 0;
    for (char **e = env; *e; e++)
        if (strncmp (*e, name, len) == 0 && (*e)[len] == '=') {
            v = *e + len + 1;
            (*count)++;
        }
    return v;
}

static void is_var (struct taskenv *e, const char *name, const char *want)
{
    int count;
    const char *got = value (taskenv_get (e), name, &count);

    if (!want)
        ok (!got, "%s is not set", name);
    else
        ok (got && strcmp (got, want) == 0 && count == 1, "%s=%s (got %s, %d entries)",
            name, want, got ? got : "(unset)", count);
}

static void test_job (void)
{
    char *job_env[] = {"FROM_JOB=1", "SLOT_VAR=job", "KRUN_RANK=99"};
    const struct taskenv_job job = {.job_id = "j1",
                                    .size = 4,
                                    .node = "n1",
                                    .local = 2,
                                    .global_slot = 6,
                                    .env = job_env,
                                    .envc = 3,
                                    .input_dir = "/scratch/in",
                                    .staged_dir = "/cache/files.x"};
    struct taskenv *e;

    setenv ("SLOT_VAR", "slot", 1);
    setenv ("SLOT_ONLY", "yes", 1);
    setenv ("TMPDIR", "/slot/tmp", 1);
    setenv ("HOME", testdir_path ("home"), 1);
    if (mkdir (testdir_path ("home"), 0700) < 0)
        bail_out ("mkdir");
    if (!(e = taskenv_create (&job)))
        bail_out ("taskenv_create");
    is_var (e, "SLOT_ONLY", "yes");
    is_var (e, "SLOT_VAR", "job");
    is_var (e, "FROM_JOB", "1");
    is_var (e, "KRUN_RANK", "0");
    is_var (e, "KRUN_SIZE", "4");
    is_var (e, "KRUN_LOCAL_RANK", "2");
    is_var (e, "KRUN_NODE", "n1");
    is_var (e, "KRUN_SLOT", "6");
    is_var (e, "KRUN_JOB_ID", "j1");
    is_var (e, "KRUN_ATTEMPT", "1");
    is_var (e, "KRUN_CONTROL_FD", "3");
    is_var (e, "KRUN_INPUT_FILE", "/scratch/in/" RANKDATA_INPUT_NAME);
    is_var (e, "KRUN_STAGED", "/cache/files.x");
    is_var (e, "HOME", testdir_path ("home"));

    ok (taskenv_set_task (e, 3, 2) == 0, "set rank 3, attempt 2");
    is_var (e, "KRUN_RANK", "3");
    is_var (e, "KRUN_ATTEMPT", "2");

    ok (taskenv_set_scratch (e, NULL) == 0, "no scratch directory");
    is_var (e, "KRUN_TMPDIR", "");
    is_var (e, "TMPDIR", "/slot/tmp");
    ok (taskenv_set_scratch (e, "/s/tmp") == 0, "a scratch directory");
    is_var (e, "KRUN_TMPDIR", "/s/tmp");
    is_var (e, "TMPDIR", "/s/tmp");
    is_var (e, "HOME", testdir_path ("home"));
    char **before = taskenv_get (e);
    char *entry = NULL;
    for (char **p = before; *p; p++)
        if (strncmp (*p, "TMPDIR=", 7) == 0)
            entry = *p;
    ok (taskenv_set_scratch (e, "/s/tmp") == 0 &&
            value (taskenv_get (e), "TMPDIR", &(int){0}) == entry + 7,
        "the same directory again: the strings are kept");
    taskenv_destroy (e);
}

static void test_home (void)
{
    char *job_env[] = {"HOME=/job/home"};
    struct taskenv_job job = {.job_id = "j2", .node = "n", .size = 1};
    struct taskenv *e;

    setenv ("HOME", "/nonexistent/home", 1);
    unsetenv ("TMPDIR");
    if (!(e = taskenv_create (&job)))
        bail_out ("taskenv_create");
    is_var (e, "KRUN_INPUT_FILE", NULL);
    is_var (e, "KRUN_STAGED", NULL);
    is_var (e, "HOME", "");
    ok (taskenv_set_scratch (e, "/s/tmp") == 0, "a scratch directory");
    is_var (e, "HOME", "/s/tmp");
    ok (taskenv_set_scratch (e, NULL) == 0, "none");
    is_var (e, "HOME", "/tmp");
    is_var (e, "TMPDIR", "/tmp");
    taskenv_destroy (e);

    job.env = job_env;
    job.envc = 1;
    if (!(e = taskenv_create (&job)))
        bail_out ("taskenv_create");
    ok (taskenv_set_scratch (e, "/s/tmp") == 0, "a job that sends HOME");
    is_var (e, "HOME", "/job/home");
    taskenv_destroy (e);
    taskenv_destroy (NULL);
}

int main (void)
{
    plan (NO_PLAN);
    testdir_create ("taskenv");
    test_job ();
    test_home ();
    testdir_remove ();
    done_testing ();
    return exit_status ();
}
