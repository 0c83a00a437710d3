/* Unit tests of batchsize: when a task message carries several ranks, and
 * how many. */
#include "batchsize.h"
#include "protocol.h"
#include "tests/tap.h"

/* A job that may batch: no per-rank data, no limit, daemons that can. */
static struct batchsize_facts job (int size, int slots)
{
    return (struct batchsize_facts){
        .size = size, .slots = slots, .daemons_batch = true};
}

int main (void)
{
    struct batchsize_facts f;

    plan (NO_PLAN);
    f = job (10000, 2);
    is_int (batchsize_choose (&f), BATCHSIZE_AUTO_MAX,
            "10,000 ranks on 2 slots: the default's largest");
    f = job (225, 256);
    is_int (batchsize_choose (&f), 1, "fewer ranks than slots: one per message");
    f = job (1024, 256);
    is_int (batchsize_choose (&f), 1, "4 ranks per slot: one per message");
    f = job (2048, 256);
    is_int (batchsize_choose (&f), 2, "8 ranks per slot: 2 per message");
    f = job (100, 2);
    is_int (batchsize_choose (&f), 12, "100 ranks on 2 slots: 100 / 8");
    f = job (1, 0);
    is_int (batchsize_choose (&f), 1, "one rank: one per message");
    f = job (100, 0);
    is_int (batchsize_choose (&f), BATCHSIZE_AUTO_MAX, "no slot known: counted as one");

    f = job (10000, 2);
    f.requested = 100;
    is_int (batchsize_choose (&f), 100, "--batch 100 is taken as it is");
    f.requested = 1;
    is_int (batchsize_choose (&f), 1, "--batch 1: one per message");
    f.requested = PROTOCOL_MAX_BATCH + 5;
    is_int (batchsize_choose (&f), PROTOCOL_MAX_BATCH,
            "--batch above the protocol's limit: the limit");
    f = job (225, 256);
    f.requested = 8;
    is_int (batchsize_choose (&f), 8, "--batch applies to a small job too");

    f = job (10000, 2);
    f.requested = 8;
    f.per_rank_data = true;
    is_int (batchsize_choose (&f), 1, "per-rank input or -f: one per message");
    f = job (10000, 2);
    f.limited = true;
    is_int (batchsize_choose (&f), 1, "-j or --halt: one per message");
    f = job (10000, 2);
    f.daemons_batch = false;
    f.requested = 8;
    is_int (batchsize_choose (&f), 1, "a daemon that cannot: one per message");
    done_testing ();
    return exit_status ();
}
