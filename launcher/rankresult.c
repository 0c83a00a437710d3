/* rankresult.c - see rankresult.h. */
#include <string.h>

#include "exitstatus.h"
#include "rankresult.h"

const char *rankresult_status_name (const struct protocol_result *res)
{
    switch (res->status) {
        case PROTOCOL_EXITED:
            return "exited";
        case PROTOCOL_SIGNALED:
            return "signaled";
        default:
            /* Only a slot's --timeout kill reports 124 as a failure. */
            return res->code == 124 ? "timeout" : "failed";
    }
}

bool rankresult_counts (bool done, int min_attempt, int attempt)
{
    return !done && attempt >= min_attempt;
}

bool rankresult_retry (const struct protocol_result *res, int retries_used,
                       int retries_allowed)
{
    if (retries_used >= retries_allowed ||
        exitstatus_of_rank (res->status, res->code) == 0)
        return false;
    return res->status != PROTOCOL_FAILED ||
           strcmp (rankresult_status_name (res), "timeout") == 0;
}

bool rankresult_rerun (const struct protocol_result *res, int retries_used)
{
    return res->attempt > 1 + retries_used;
}
