#!/bin/bash
# Running jobs, Kubernetes provider: `krun status` shows the pool's pods and
# the queue depths of the jobs its daemons serve; `krun down` deletes the
# job queues before the pods, and the job's launcher fails at once with a
# clear message.
. "$(dirname "$0")/lib/test-lib.sh"
. "$KRUN_TOP_SRCDIR/tests/lib/kube.sh"
. "$KRUN_TOP_SRCDIR/tests/lib/jobs.sh"
trap 'stop_jobs; kube_cleanup' EXIT

test_start_broker
kube_start
kube_config </dev/null

test_expect_success 'krun up: the pool runs, no job' '
    "$KRUN" up 2>err && cat err &&
    grep -q "pool tester: 2 worker pods (2 created), 5 slots" err &&
    "$KRUN" status >status && cat status &&
    grep -qE "node-a +Running +3 +0" status &&
    grep -qx "no running jobs" status
'

# 8 ranks on the pool's 5 slots (node-a 3, node-b 2): 5 run, 3 wait.
# A slot reports itself busy once its task started, a moment after the
# queue counts show the delivery: wait for both in the same status.
busy_as_expected () {
    status_has "$1" 3 5 && grep -qE "node-a +Running +3 +3" status &&
        grep -qE "node-b +Running +2 +2" status
}
test_expect_success 'a running job: status shows its pods busy, 3 tasks queued, 5 consumers' '
    start_job a -n 8 --no-stage /bin/sleep 30 &&
    a=$(job_id a) && [ -n "$a" ] && echo "$a" >a.id &&
    { wait_for 30 busy_as_expected "$a" || { cat status a.err; false; }; } &&
    cat status && grep -qE "^JOB +QUEUED +CONSUMERS$" status
'

test_expect_success 'krun down deletes the job queues and the pods; the launcher fails at once' '
    a=$(cat a.id) &&
    job_queues | grep -qx "krun.job.$a.results" &&
    "$KRUN" down >down.out && cat down.out &&
    grep -qx "krun: deleted 2 job queues (1 job)" down.out &&
    grep -qx "krun: deleted 2 worker pods of pool tester" down.out &&
    wait_for 10 ended a && cat a.err &&
    [ "$(cat a.rc)" -ne 0 ] &&
    grep -q "^krun: job $a: its results queue krun.job.$a.results is gone (.krun down. deletes the queues of running jobs); 0 of 8 ranks done$" a.err &&
    wait_for 10 no_job_queues &&
    [ -z "$(kube_pods)" ]
'

test_expect_success 'krun down again: no job queues, no pods' '
    "$KRUN" down >down.out && cat down.out &&
    grep -qx "krun: no job queues to delete" down.out &&
    grep -qx "krun: deleted 0 worker pods of pool tester" down.out
'

test_done
