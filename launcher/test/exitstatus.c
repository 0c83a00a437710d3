#include "exitstatus.h"
#include "tests/tap.h"

static const struct {
    enum protocol_status status;
    int code;
    int want;
    const char *what;
} ranks[] = {
    {PROTOCOL_EXITED, 0, 0, "exit 0"},
    {PROTOCOL_EXITED, 3, 3, "exit 3"},
    {PROTOCOL_EXITED, 255, 255, "exit 255"},
    {PROTOCOL_SIGNALED, 9, 137, "SIGKILL is 128+9"},
    {PROTOCOL_SIGNALED, 15, 143, "SIGTERM is 128+15"},
    {PROTOCOL_FAILED, 127, 127, "not found is 127"},
    {PROTOCOL_FAILED, 126, 126, "not executable is 126"},
    {PROTOCOL_FAILED, 0, 127, "failed without a code is 127"},
    {PROTOCOL_SIGNALED, 200, 255, "out of range is capped at 255"},
};

static const struct {
    int statuses[4];
    int n;
    int want;
    const char *what;
} folds[] = {
    {{0, 0, 0}, 3, 0, "all zero gives 0"},
    {{0, 2, 0}, 3, 2, "one failure gives its status"},
    {{3, 137, 1}, 3, 137, "the highest wins"},
    {{137, 3, 1}, 3, 137, "order does not matter"},
    {{0}, 0, 0, "no ranks gives 0"},
};

int main (void)
{
    plan (NO_PLAN);
    for (size_t i = 0; i < sizeof (ranks) / sizeof (ranks[0]); i++)
        is_int (exitstatus_of_rank (ranks[i].status, ranks[i].code), ranks[i].want,
                "rank status: %s", ranks[i].what);
    for (size_t i = 0; i < sizeof (folds) / sizeof (folds[0]); i++) {
        int total = 0;
        for (int k = 0; k < folds[i].n; k++)
            total = exitstatus_fold (total, folds[i].statuses[k]);
        is_int (total, folds[i].want, "fold: %s", folds[i].what);
    }
    done_testing ();
    return exit_status ();
}
