/* run.h - one run of `krun -n N PROGRAM` (or -f, --inputs, --input-dir):
 * the order of its steps, whatever the provider.  The per-rank data and the
 * program are checked before anything is published; then the broker, the
 * key and the pool (session.h), the workers (provider.h), the CPU map, and
 * the job (job.h), whose exit status is the run's.
 */
#ifndef KRUN_RUN_H
#define KRUN_RUN_H

#include <stdbool.h>

#include "config.h"
#include "job.h"

/* Arguments of an option that may be repeated (borrowed from argv). */
struct arglist {
    char **items;
    int count;
};

struct run_options {
    /* The job's options: option parsing fills those the command line sets
     * (size, tag_output, report_bindings, timeline, timeout_ms, retries,
     * output_limit, joblog, resume, results_dir, output_dir, wait);
     * run_main() fills the rest before job_create(), and nothing changes
     * them after. */
    struct job_options job;
    bool quiet;
    bool progress; /* --progress: the status line even off a terminal */
    const char *command_file;
    const char *inputs;
    const char *input_dir;
    struct arglist exports;     /* -x */
    struct arglist stage_files; /* --stage */
    const char *nodes;          /* --nodes */
    const char *exclude;        /* --exclude */
};

/* Run argv (argc >= 0 words: PROGRAM [ARGS...], none with -f) as cfg and o
 * say.  Dies on bad usage (status 2) or when the workers cannot be had
 * (status 1).  Returns the job's exit status (job_run()), or 1 if it could
 * not run. */
int run_main (int argc, char *argv[], const struct config *cfg, struct run_options *o);

#endif
