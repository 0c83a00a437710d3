#!/bin/bash
# The launcher's results queue: nobody else may consume it, and with
# durable_queues a killed launcher frees its slots while a stopped one
# (away from the broker for longer than its 30 s heartbeat) comes back and
# completes its job with every result.
. "$(dirname "$0")/lib/test-lib.sh"
test_start_broker
durable_config () {
    test_config <<CFG
idle_timeout: 600
durable_queues: $1
local:
  slots: 4
CFG
}
durable_config true

cat >work.sh <<'SH'
#!/bin/sh
sleep 0.5
echo "done rank=$KRUN_RANK attempt=$KRUN_ATTEMPT"
SH
chmod +x work.sh

# Every rank printed "done" exactly once, and the timeline ($1.csv) has
# exactly one result per rank, all with status 0.
every_result_once () {
    [ "$(grep -c "^done rank=" "$1")" -eq "$2" ] &&
    one_result_per_rank "$1" "$2"
}
results_queues () { broker_queue_names | grep '^krun\.job\..*\.results$' | sort; }
# The results queue that is not in file $1.
new_results_queue () { results_queues | comm -13 "$1" - | grep .; }

test_expect_success 'warm up the daemon' '
    "$KRUN" -n 4 /bin/true
'

# A thief consumes the results queue: the broker refuses it (the launcher
# consumes exclusively), and the launcher gets every result.
steal () {
    results_queues >"$1.before"
    "$KRUN" -n 60 --timeline "$1.csv" ./work.sh >"$1" 2>"$1.err" &
    pid=$!
    wait_for 30 new_results_queue "$1.before" &&
    q=$(new_results_queue "$1.before") &&
    { timeout 20 amqp-consume -u "${KRUN_AMQP_URL%/}" -q "$q" -A -c 60 cat \
          >"$1.stolen" 2>"$1.thief"; rc=$?; }
    echo "thief exit status $rc"
    cat "$1.thief"
    wait_bounded 60 $pid &&
    [ $rc -ne 0 ] && grep -q "ACCESS_REFUSED" "$1.thief" &&
    [ ! -s "$1.stolen" ] &&
    every_result_once "$1" 60
}
test_expect_success 'another consumer of a durable results queue is refused; every result arrives' '
    steal out1
'
test_expect_success 'the same for a transient results queue' '
    durable_config false &&
    steal out2
'
durable_config true

# A killed launcher: its slots let go of the job once its results queue has
# had no consumer for 90 s (PROTOCOL_LAUNCHER_GRACE_MS), and the next job
# runs on them.
cat >long.sh <<'SH'
#!/bin/sh
echo $$ >"pids/$KRUN_RANK"
exec sleep 600
SH
chmod +x long.sh
mkdir pids
all_started () { [ "$(ls pids | wc -l)" -eq 4 ]; }
test_expect_success 'durable launcher killed with SIGKILL: the next job runs on its slots within 90 s + checks' '
    "$KRUN" -n 8 ./long.sh >out3 2>err3 &
    pid=$!
    wait_for 30 all_started || { kill -9 $pid; exit 1; }
    kill -9 $pid
    wait $pid
    start=$(date +%s)
    # --wait: its slots stay busy with the killed job for the grace period,
    # longer than stall_timeout_ms, and that is what this test waits out.
    "$KRUN" --wait -n 4 /bin/echo again >out4 2>err4 &
    next=$!
    wait_bounded 150 $next &&
    elapsed=$(($(date +%s) - start)) &&
    echo "$elapsed" >sigkill.elapsed &&
    [ "$(grep -c "^again$" out4)" -eq 4 ] &&
    [ "$elapsed" -ge 80 ] &&
    pids_none_alive pids
'
echo "# the next job ended $(cat sigkill.elapsed 2>/dev/null) s after the launcher was killed"
test_expect_success '... and the killed job leaves no queue behind' '
    wait_for 60 no_job_queues
'

# A launcher stopped for 90 s: the broker drops its connection after its
# heartbeat (30 s) and pushes no result to it any more; what it had pushed
# was not acked and comes back.  After SIGCONT the launcher connects again
# and gets every result, once.
test_expect_success 'durable launcher stopped for 90 s, then continued: every result exactly once' '
    "$KRUN" -n 40 --timeline out5.csv ./work.sh >out5 2>err5 &
    pid=$!
    sleep 2 && kill -STOP $pid &&
    sleep 90 && kill -CONT $pid && start=$(date +%s) &&
    { wait_bounded 90 $pid; rc=$?; }
    echo "$(($(date +%s) - start)) s after SIGCONT, $(grep -c "^done rank=" out5) lines" \
        "for 40 ranks; $(grep reconnected err5)" >sigstop.figures
    cat err5
    echo "exit status $rc"
    [ $rc -eq 0 ] &&
    grep -q "reconnected" err5 &&
    every_result_once out5 40
'
echo "# the stopped launcher ended $(cat sigstop.figures 2>/dev/null)"
test_expect_success 'the pool serves the next job' '
    "$KRUN" -n 8 --timeline out6.csv ./work.sh >out6 && every_result_once out6 8
'
test_done
