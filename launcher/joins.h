/* joins.h - which nodes of a job's map have taken part in it.  A daemon
 * confirms each job that lists its node, or refuses it with a reason
 * (protocol "confirm" / "refuse"); a slot that starts later says "joined".
 * A node that does neither within its bound is dropped, so that a node
 * that is stopped, stuck or unable to take part cannot hold a job up
 * silently: the launcher announces the job again on the remaining nodes.
 */
#ifndef KRUN_JOINS_H
#define KRUN_JOINS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum joins_state {
    JOINS_UNKNOWN = 0, /* not (yet) asked */
    JOINS_PENDING,     /* announced, no answer yet */
    JOINS_CONFIRMED,
    JOINS_REFUSED,
    JOINS_DROPPED, /* no answer within the bound */
};

struct joins;

/* An empty record (caller must destroy), or NULL with errno ENOMEM. */
struct joins *joins_create (void);

/* Accepts NULL; keeps errno. */
void joins_destroy (struct joins *j);

/* node was just sent an announcement listing it: it has until
 * now_ms + bound_ms to answer, unless it answered already.  Returns 0, or -1
 * with errno ENOMEM. */
int joins_expect (struct joins *j, const char *node, int64_t now_ms, int bound_ms);

/* node confirmed (or one of its slots joined).  Returns true if this was
 * news (it was pending or unknown). */
bool joins_confirm (struct joins *j, const char *node);

/* node refused, with reason.  Returns true if this was news (not refused or
 * dropped before); the node is then no longer usable. */
bool joins_refuse (struct joins *j, const char *node, const char *reason);

/* Drop the nodes still pending at now_ms past their bound.  Returns the
 * number dropped now; *dropped_names (may be NULL) receives their names, a
 * NULL-terminated array borrowed until the next call or destroy. */
int joins_expire (struct joins *j, int64_t now_ms, const char **dropped_names[]);

enum joins_state joins_state (const struct joins *j, const char *node);

/* Whether node may be in the map: not refused, not dropped. */
bool joins_usable (const struct joins *j, const char *node);

/* Write "a: reason; b: no answer within 5 s" for every node that is not
 * usable into buf (size bytes, cut if needed).  Returns buf. */
char *joins_reasons (const struct joins *j, char *buf, size_t size);

#endif
