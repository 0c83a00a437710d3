/* statusjson.h - `krun status --json`: the pool's live daemons and the jobs
 * they serve as one JSON object on stdout, for scripts:
 *
 *   {"running": true,
 *    "nodes": [{"name": "n1", "slots": 4, "busy": 1, "pid": 123,
 *               "age_s": 60, "jobs": ["8661c1249bf31a99"], "version": "0.1"}],
 *    "jobs": [{"id": "8661c1249bf31a99", "queued": 3, "consumers": 4}]}
 *
 * "running" is false, with empty lists, when nothing runs (no broker, or
 * no daemon): that is not an error.
 */
#ifndef KRUN_STATUSJSON_H
#define KRUN_STATUSJSON_H

#include <stdbool.h>
#include <stdint.h>

#include "jobqueues.h"
#include "presence.h"

struct statusjson;

/* An empty status.  Returns NULL with errno ENOMEM.  Caller must
 * statusjson_destroy() it. */
struct statusjson *statusjson_create (void);

/* Accepts NULL; keeps errno. */
void statusjson_destroy (struct statusjson *s);

/* Add a daemon, its age counted at now_us.  Returns 0 or -1 with errno
 * ENOMEM. */
int statusjson_add_node (struct statusjson *s, const struct presence_node *n,
                         int64_t now_us);

/* Add a job.  Returns 0 or -1 with errno ENOMEM. */
int statusjson_add_job (struct statusjson *s, const struct jobqueue *job);

/* The JSON text, one line ending in a newline; "running" is true when a
 * node was added.  Returns a malloc'd string (caller must free) or NULL
 * with errno ENOMEM. */
char *statusjson_text (const struct statusjson *s);

#endif
