/* batchsize.c - see batchsize.h. */
#include "batchsize.h"
#include "protocol.h"

int batchsize_choose (const struct batchsize_facts *f)
{
    int k;

    if (f->per_rank_data || f->limited || !f->daemons_batch || f->requested == 1 ||
        f->size <= 1)
        return 1;
    if (f->requested > 0)
        k = f->requested;
    else {
        int slots = f->slots > 0 ? f->slots : 1;
        k = f->size / (4 * slots);
        if (k > BATCHSIZE_AUTO_MAX)
            k = BATCHSIZE_AUTO_MAX;
    }
    if (k > PROTOCOL_MAX_BATCH)
        k = PROTOCOL_MAX_BATCH;
    return k < 1 ? 1 : k;
}
