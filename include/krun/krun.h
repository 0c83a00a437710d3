/* krun.h - the task side of krun: what a program started by `krun -n N` asks
 * its slot.  Link with libkrun (`pkg-config --cflags --libs krun`).
 *
 * A task learns its rank, the number of ranks, where it runs and which
 * attempt this is; it reads the input the launcher sent for its rank
 * (`krun --inputs`, `--input-dir`), returns bytes to the launcher
 * (`krun --results DIR` writes them to DIR/<rank>) and reports how far it
 * got (shown by `krun --progress`).  libkrun talks only to the slot process
 * that started the task, never to the broker: it has no dependency and needs
 * no network.
 *
 * Started without krun, the same program runs as rank 0 of 1, on this host,
 * attempt 1, with no input; its result and progress are discarded.
 *
 * Error rules, for every function below:
 *   - Functions returning int return 0 (or the value asked for, >= 0) on
 *     success and -1 on failure with errno set; functions returning a pointer
 *     return NULL on failure with errno set.  A failed call has no effect.
 *   - krun_init() must succeed before any other function; before it (or
 *     after krun_finalize()) they fail with errno EINVAL.
 *   - The library is not thread-safe: call it from one thread at a time.
 *
 * Ownership: memory returned by the library belongs to the library and stays
 * valid until krun_finalize(); the caller never frees it.  Memory passed in
 * is only read during the call.
 */
#ifndef KRUN_KRUN_H
#define KRUN_KRUN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest input a rank receives and largest result it may return (1 MiB
 * each): both travel through the message broker.  Put bulk data on a shared
 * file system or in object storage and pass its path instead. */
#define KRUN_INPUT_MAX (1024 * 1024)
#define KRUN_RESULT_MAX (1024 * 1024)

/* Read the task's environment (KRUN_RANK, KRUN_SIZE, ...), load this rank's
 * input and connect to the slot's control channel.  Calling it again after
 * success does nothing and returns 0.  Fails with EINVAL when a KRUN_
 * variable is malformed, EBADF when the control channel is not open, EFBIG
 * when the input file holds more than KRUN_INPUT_MAX bytes, or the errno of
 * reading it. */
int krun_init (void);

/* Release what the library holds (the input) and close the control
 * channel.  Pointers returned earlier become invalid.  Returns 0; -1 with
 * EINVAL if krun_init() had not succeeded. */
int krun_finalize (void);

/* This task's rank, 0 .. krun_size() - 1. */
int krun_rank (void);

/* The number of ranks of the job (N of `krun -n N`). */
int krun_size (void);

/* The index of the task's slot on its node (0 .. slots of the node - 1). */
int krun_local_rank (void);

/* The node's name.  Owned by the library, valid until krun_finalize(). */
const char *krun_node (void);

/* 1 for the first run of this rank, more when the rank is run again after
 * its slot died. */
int krun_attempt (void);

/* This rank's input: *data points to *len bytes (owned by the library, valid
 * until krun_finalize(); followed by a NUL byte that is not counted, so text
 * input can be used as a string).  A rank without input gets *len == 0 and
 * *data pointing to an empty string.  Fails with EINVAL if data or len is
 * NULL. */
int krun_input (const void **data, size_t *len);

/* Return len bytes to the launcher as this rank's result.  A later call
 * replaces the earlier one: the last result counts.  Fails with E2BIG when
 * len > KRUN_RESULT_MAX, EINVAL when data is NULL and len > 0, EPIPE when the
 * slot is gone.  Without krun the bytes are discarded. */
int krun_result (const void *data, size_t len);

/* Report that the task has done fraction (0.0 to 1.0) of its work.  Cheap
 * enough for a loop: the library sends at most one update per 10 ms (0 and 1
 * always), the slot forwards at most five per second, the latest value
 * winning.  Fails with EINVAL when
 * fraction is outside [0, 1] or not a number. */
int krun_progress (double fraction);

#ifdef __cplusplus
}
#endif

#endif
