#!/bin/bash
# Running jobs, local provider: `krun status` shows the queue depths of the
# jobs the daemons serve, skipping jobs whose queues are gone; `krun down`
# deletes their queues and their launchers fail at once with a clear
# message; a launcher whose task queue disappears fails too.
. "$(dirname "$0")/lib/test-lib.sh"
. "$KRUN_TOP_SRCDIR/tests/lib/jobs.sh"
trap 'stop_jobs; test_cleanup' EXIT
test_start_broker
test_config <<CFG
idle_timeout: 120
local:
  slots: 2
CFG

# No slot runs a task.  A slot lets go of the job of a killed launcher (and
# kills its task) when it sees its results queue gone, within 3 s.
idle () {
    "$KRUN" status >status &&
        awk -v n="$(hostname)" '$1 == n && $3 == 0 { found = 1 } END { exit !found }' status
}

test_expect_success 'no job: status says "no running jobs"' '
    "$KRUN" up &&
    "$KRUN" status >status && cat status &&
    grep -qx "no running jobs" status && ! grep -q "^JOB " status
'

test_expect_success 'a job whose launcher was killed and whose queue is gone is skipped' '
    start_job gone -n 1 sleep 60 &&
    gone=$(job_id gone) && [ -n "$gone" ] &&
    wait_for 20 status_has "$gone" 0 1 && cat status &&
    kill -KILL "$(cat gone.pid)" && wait_for 10 ended gone &&
    wait_for 20 idle && cat status &&
    status_has "$gone" 0 0 &&
    broker_ctl delete_queue "krun.job.$gone.tasks" &&
    "$KRUN" status >status && cat status &&
    ! grep -q "$gone" status && grep -qx "no running jobs" status
'

# 4 ranks on 2 slots: 2 tasks run (taken, unacknowledged), 2 wait.  The
# daemon still lists the job above, before this one: the passive declare of
# its missing queue must not disturb the next one.
test_expect_success 'a running job: status shows 2 tasks queued, 2 consumers' '
    start_job a -n 4 sleep 30 &&
    a=$(job_id a) && [ -n "$a" ] && echo "$a" >a.id &&
    { wait_for 20 status_has "$a" 2 2 || { cat status a.err "$KRUN_STATE_DIR"/krund-*.log; false; }; } && cat status &&
    grep -qE "^JOB +QUEUED +CONSUMERS$" status &&
    ! grep -q "no running jobs" status
'

test_expect_success 'krun down deletes the job queues, the launcher fails at once' '
    a=$(cat a.id) &&
    job_queues | grep -qx "krun.job.$a.tasks" &&
    start=$(date +%s) &&
    "$KRUN" down >down.out && cat down.out &&
    grep -qx "krun: deleted 2 job queues (1 job)" down.out &&
    grep -q "stopped 1 local worker daemon" down.out &&
    wait_for 10 ended a &&
    echo "launcher ended $(( $(date +%s) - start )) s after krun down started" &&
    cat a.err && [ "$(cat a.rc)" -ne 0 ] &&
    grep -q "^krun: job $a: its results queue krun.job.$a.results is gone (.krun down. deletes the queues of running jobs); 0 of 4 ranks done$" a.err &&
    wait_for 10 no_job_queues
'

test_expect_success 'krun down with no job: nothing to delete' '
    "$KRUN" up && "$KRUN" down >down.out && cat down.out &&
    grep -qx "krun: no job queues to delete" down.out
'

# Slots kill the tasks of a job whose task queue is deleted.  The launcher
# renews its task queue every 10 s: a queue gone by then is not made again
# (an empty queue would leave the job waiting forever).
test_expect_success 'a launcher whose task queue is deleted fails within its renewal' '
    "$KRUN" up &&
    start_job c -n 4 sleep 30 &&
    c=$(job_id c) && [ -n "$c" ] &&
    wait_for 20 status_has "$c" 2 2 &&
    broker_ctl delete_queue "krun.job.$c.tasks" &&
    wait_for 10 idle && cat status &&
    wait_for 15 ended c && cat c.err && [ "$(cat c.rc)" -ne 0 ] &&
    grep -q "^krun: job $c: its task queue krun.job.$c.tasks is gone" c.err &&
    wait_for 10 no_job_queues &&
    "$KRUN" status >status && cat status && grep -qx "no running jobs" status
'

test_expect_success 'a daemon lists only the jobs its node takes part in (JOBS column)' '
    "$KRUN" down >/dev/null &&
    test_config <<-CFG &&
	idle_timeout: 120
	local:
	  nodes:
	    - name: n1
	      slots: 1
	    - name: n2
	      slots: 1
	CFG
    "$KRUN" up &&
    start_job one -n 1 sleep 30 &&
    one=$(job_id one) && [ -n "$one" ] &&
    wait_for 20 status_has "$one" 0 1 && cat status &&
    grep -qE "^NODE +SLOTS +BUSY +PID +AGE +JOBS +VERSION$" status &&
    [ "$(awk "\$1 == \"n1\" { print \$6 }" status)" = 1 ] &&
    [ "$(awk "\$1 == \"n2\" { print \$6 }" status)" = 0 ] &&
    "$KRUN" down >/dev/null && wait_for 10 ended one
'

test_done
