/* replay.h - the job ids a slot has accepted an announcement of, so that a
 * signed announcement captured from the broker and published again is
 * refused once its job was ended, cancelled or dropped.
 *
 * An entry is kept until the expiry of the announcement that added it:
 * after that the signature check refuses the body anyway.  So the set stays
 * as small as the number of jobs announced within SIGN_CONTROL_TTL_US.
 */
#ifndef KRUN_REPLAY_H
#define KRUN_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

struct replay;

/* An empty set, or NULL on ENOMEM. */
struct replay *replay_create (void);

/* Accepts NULL; keeps errno. */
void replay_destroy (struct replay *r);

/* Note job, announced by a message valid until expires_us, at time now_us
 * (entries expired by then are dropped first).  Returns 1 if job was noted
 * before (a replay), 0 if it is new and now noted, -1 with errno ENOMEM. */
int replay_check (struct replay *r, const char *job, int64_t expires_us,
                  int64_t now_us);

/* Number of entries held (for tests). */
int replay_count (const struct replay *r);

#endif
