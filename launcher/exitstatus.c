#include "exitstatus.h"

int exitstatus_of_rank (enum protocol_status status, int code)
{
    int s;

    switch (status) {
        case PROTOCOL_EXITED:
            s = code;
            break;
        case PROTOCOL_SIGNALED:
            s = 128 + code;
            break;
        default:
            s = code > 0 ? code : 127;
    }
    if (s < 0 || s > 255)
        s = 255;
    return s;
}

int exitstatus_fold (int total, int rank_status)
{
    return rank_status > total ? rank_status : total;
}
