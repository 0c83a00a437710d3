/* Unit tests of the disposition of a delivered task: the route chosen from
 * what is known of it (in its order of precedence) and how a task that ran
 * is settled. */
#include <string.h>

#include "disposition.h"
#include "tests/tap.h"

static const char *route_name (enum disposition_route r)
{
    static const char *names[] = {"requeue", "drop", "bounce", "launcher", "run"};
    return names[r];
}

int main (void)
{
    /* job_known, authentic, well_formed, stopping, busy, redelivered */
    static const struct {
        struct delivery_facts f;
        enum disposition_route want;
        const char *why;
    } cases[] = {
        {{false, false, false, false, false, false},
         ROUTE_REQUEUE,
         "a task of an unknown job goes back"},
        {{false, true, true, true, true, true},
         ROUTE_REQUEUE,
         "an unknown job comes first, whatever else"},
        {{true, false, false, false, false, false}, ROUTE_DROP, "a bad seal: dropped"},
        {{true, false, false, true, true, true},
         ROUTE_DROP,
         "a bad seal is dropped also by a stopping or busy slot"},
        {{true, true, false, false, false, false},
         ROUTE_DROP,
         "a malformed task: dropped"},
        {{true, true, true, true, false, false},
         ROUTE_REQUEUE,
         "a stopping slot gives the task back"},
        {{true, true, true, true, true, true},
         ROUTE_REQUEUE,
         "stopping comes before busy and redelivered"},
        {{true, true, true, false, true, false},
         ROUTE_BOUNCE,
         "a busy slot bounces it"},
        {{true, true, true, false, true, true},
         ROUTE_BOUNCE,
         "busy comes before redelivered"},
        {{true, true, true, false, false, true},
         ROUTE_LAUNCHER,
         "a redelivered task goes to the launcher"},
        {{true, true, true, false, false, false}, ROUTE_RUN, "else it runs"},
    };

    plan (NO_PLAN);
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        enum disposition_route got = disposition_route (&cases[i].f);
        ok (got == cases[i].want, "%s (%s)", cases[i].why, route_name (got));
    }

    /* job_known, drop, give_back */
    ok (disposition_finished (true, false, false) == DISPOSITION_ACK,
        "a task that ran for a known job: acked (after its result)");
    ok (disposition_finished (true, true, false) == DISPOSITION_DROP,
        "cancelled: dropped, no result");
    ok (disposition_finished (true, false, true) == DISPOSITION_REQUEUE,
        "given back by a stopping slot: requeued");
    ok (disposition_finished (true, true, true) == DISPOSITION_REQUEUE,
        "given back and dropped: requeued while the job is known");
    ok (disposition_finished (false, false, true) == DISPOSITION_DROP,
        "given back after its job was forgotten: dropped");
    ok (disposition_finished (false, false, false) == DISPOSITION_DROP,
        "its job forgotten: dropped");

    is_str (disposition_name (DISPOSITION_KEEP), "keep", "names: keep");
    is_str (disposition_name (DISPOSITION_REQUEUE), "requeue", "names: requeue");
    is_str (disposition_name ((enum disposition)42), "?", "names: unknown");
    ok (disposition_apply (NULL, 1, DISPOSITION_KEEP, NULL) == 0,
        "keep settles nothing (no broker touched)");
    done_testing ();
    return exit_status ();
}
