/* slotstate.h - what the slots of a node tell their daemon without a
 * system call: whether each is running a task, when that last changed, and
 * that its event loop still turns (a heartbeat).
 *
 * The daemon maps one shared anonymous block before it forks its slots;
 * each slot writes its own entry when a task starts and ends, and the daemon
 * reads them all when it answers presence ("busy") and when it checks its
 * idle timeout.  A pipe write per change woke the daemon twice per task.
 */
#ifndef KRUN_SLOTSTATE_H
#define KRUN_SLOTSTATE_H

#include <stdbool.h>
#include <stdint.h>

struct slotstate;

/* A block of nslots entries, all idle, shared with the processes forked
 * after this call.  Returns it (destroy it in the creating process) or NULL
 * with errno. */
struct slotstate *slotstate_create (int nslots);

/* Accepts NULL; keeps errno. */
void slotstate_destroy (struct slotstate *s);

/* Slot i starts (busy) or ends (not busy) a task, at clock_mono_ms(). */
void slotstate_set_busy (struct slotstate *s, int i, bool busy);

/* Slot i's event loop turned (at least once a second while it runs): the
 * daemon tells a stopped slot by a heartbeat that no longer advances. */
void slotstate_beat (struct slotstate *s, int i);

/* The clock_mono_ms() of slot i's latest heartbeat, 0 if none yet. */
int64_t slotstate_beat_ms (const struct slotstate *s, int i);

bool slotstate_busy (const struct slotstate *s, int i);

/* How many slots are busy. */
int slotstate_busy_count (const struct slotstate *s);

/* The clock_mono_ms() of the latest change of any slot, 0 if none yet. */
int64_t slotstate_last_change_ms (const struct slotstate *s);

#endif
