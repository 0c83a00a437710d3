/* The launcher's policy for one rank's result: which results count, which
 * are retried (--retries), their joblog names, and which show a failed
 * slot.  A table per question; the job applies these (job.c). */
#include "rankresult.h"
#include "tests/tap.h"

static const struct {
    enum protocol_status status;
    int code;
    const char *want;
} names[] = {
    {PROTOCOL_EXITED, 0, "exited"},
    {PROTOCOL_EXITED, 124, "exited"}, /* the program's own 124 is no timeout */
    {PROTOCOL_SIGNALED, 9, "signaled"},
    {PROTOCOL_FAILED, 124, "timeout"},
    {PROTOCOL_FAILED, 127, "failed"},
    {PROTOCOL_FAILED, 0, "failed"},
};

static const struct {
    bool done;
    int min_attempt, attempt;
    bool want;
    const char *what;
} counts[] = {
    {false, 0, 1, true, "the first result of a rank counts"},
    {true, 0, 1, false, "a duplicate after the final result does not"},
    {true, 0, 2, false, "nor a later attempt once done"},
    {false, 2, 1, false, "the attempt before a retry is a late duplicate"},
    {false, 2, 2, true, "the retried attempt counts"},
    {false, 2, 3, true, "a redelivery of the retried attempt counts"},
};

static const struct {
    enum protocol_status status;
    int code, used, allowed;
    bool want;
    const char *what;
} retries[] = {
    {PROTOCOL_EXITED, 1, 0, 2, true, "exit 1 with retries left is retried"},
    {PROTOCOL_EXITED, 1, 2, 2, false, "not once the retries are used"},
    {PROTOCOL_EXITED, 1, 0, 0, false, "not without --retries"},
    {PROTOCOL_EXITED, 0, 0, 2, false, "exit 0 is never retried"},
    {PROTOCOL_SIGNALED, 9, 1, 2, true, "a killed rank is retried"},
    {PROTOCOL_FAILED, 124, 0, 1, true, "a timeout is retried"},
    {PROTOCOL_FAILED, 127, 0, 3, false, "a program that cannot run is not"},
    {PROTOCOL_FAILED, 126, 0, 3, false, "nor one that is not executable"},
    {PROTOCOL_FAILED, 0, 0, 3, false, "nor the delivery limit"},
};

static const struct {
    int attempt, used;
    bool want;
    const char *what;
} reruns[] = {
    {1, 0, false, "a first attempt is no rerun"},
    {2, 0, true, "a second attempt without retries is a rerun (a slot failed)"},
    {2, 1, false, "a second attempt after one retry is not"},
    {4, 2, true, "attempts beyond the retries are reruns"},
};

int main (void)
{
    plan (NO_PLAN);
    for (size_t i = 0; i < sizeof (names) / sizeof (names[0]); i++) {
        struct protocol_result res = {.status = names[i].status, .code = names[i].code};
        is_str (rankresult_status_name (&res), names[i].want, "joblog name of %d/%d",
                (int)names[i].status, names[i].code);
    }
    for (size_t i = 0; i < sizeof (counts) / sizeof (counts[0]); i++)
        ok (rankresult_counts (counts[i].done, counts[i].min_attempt,
                               counts[i].attempt) == counts[i].want,
            "counts: %s", counts[i].what);
    for (size_t i = 0; i < sizeof (retries) / sizeof (retries[0]); i++) {
        struct protocol_result res = {
            .status = retries[i].status, .code = retries[i].code, .attempt = 1};
        ok (rankresult_retry (&res, retries[i].used, retries[i].allowed) ==
                retries[i].want,
            "retry: %s", retries[i].what);
    }
    for (size_t i = 0; i < sizeof (reruns) / sizeof (reruns[0]); i++) {
        struct protocol_result res = {.attempt = reruns[i].attempt};
        ok (rankresult_rerun (&res, reruns[i].used) == reruns[i].want, "rerun: %s",
            reruns[i].what);
    }
    done_testing ();
    return exit_status ();
}
