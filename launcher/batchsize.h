/* batchsize.h - how many ranks one task message carries (its "count",
 * docs/protocol.md).
 *
 * The broker's work per rank is mostly per message: a task published,
 * delivered and acked, a result published and delivered.  A message of k
 * ranks divides it by about k, which is what short tasks need (10,000 runs
 * of `true`).  The cost: a slot runs its message's ranks one after the
 * other, so at the end of a job the slots may finish up to k - 1 ranks
 * apart; and a slot that dies runs the finished ranks of its message again
 * elsewhere only if their results had not gone out yet.
 *
 * By default k is the job's ranks over four times its slots (as Python's
 * multiprocessing chunks a map), at most BATCHSIZE_AUTO_MAX: a job with no
 * more ranks than four times its slots (225 ranks of sleep 5 on 256 slots)
 * sends one rank per message, as before.  --batch K sets it.
 */
#ifndef KRUN_BATCHSIZE_H
#define KRUN_BATCHSIZE_H

#include <stdbool.h>

/* The largest count chosen by default (--batch may ask for up to
 * PROTOCOL_MAX_BATCH). */
#define BATCHSIZE_AUTO_MAX 16

/* What decides it. */
struct batchsize_facts {
    int requested;      /* --batch K, or 0: choose */
    int size;           /* the job's ranks */
    int slots;          /* the slots that take part (at most size) */
    bool per_rank_data; /* --inputs, --input-dir or -f: a message per rank */
    bool limited;       /* -j or --halt: they count ranks in flight, and purge */
    bool daemons_batch; /* every daemon of the job said it runs several ranks
                           per message ("batches" in its "here") */
};

/* The ranks per task message, >= 1. */
int batchsize_choose (const struct batchsize_facts *f);

#endif
