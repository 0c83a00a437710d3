#!/bin/bash
# Broker crashes spend no attempts of tasks that never ran.  A broker that
# recovers from a crash (not a clean stop) marks every message it recovers
# from disk "redelivered"; only the tasks that were running when it went
# down ran, so only they run again with KRUN_ATTEMPT=2 (case 4 checks that
# every attempt after the first follows a start of the one before).  Two
# crashes fail no rank with delivery_limit 3, and the rerun summary counts
# the real reruns.  Not 2: a rank running at the first crash goes back to
# the queue's end, and where process starts are slow it may be running
# again at the second: two started attempts, which the limit rightly
# counts (rank 36 of a CI run failed so).
. "$(dirname "$0")/lib/test-lib.sh"
test_start_broker
test_config <<CFG
idle_timeout: 600
durable_queues: true
delivery_limit: 3
local:
  slots: 4
CFG

cat >work.sh <<'SH'
#!/bin/sh
echo "$KRUN_RANK $KRUN_ATTEMPT" >>started
sleep 0.5
echo "done rank=$KRUN_RANK attempt=$KRUN_ATTEMPT"
SH
chmod +x work.sh

# kill -9 of the broker's whole process group, then a start on the same
# port and directory.
broker_crash () {
    kill -KILL -- "-$(cat "$BROKER_DIR/session.pid")" &&
    broker_stop &&
    broker_start "$BROKER_DIR"
}

test_expect_success 'warm up the daemon' '
    "$KRUN" -n 4 /bin/true
'
reconnects () { [ "$(grep -c "reconnected" err1)" -ge "$1" ]; }
test_expect_success 'two broker crashes during a 120-rank run with delivery_limit 3' '
    "$KRUN" -n 120 --timeline out1.csv ./work.sh >out1 2>err1 &
    pid=$!
    sleep 3 &&
    broker_crash >restart1.log 2>&1 &&
    wait_for 120 reconnects 1 &&
    sleep 3 &&
    broker_crash >restart2.log 2>&1 &&
    wait_for 120 reconnects 2 &&
    { wait $pid; rc=$?; } &&
    cat err1 &&
    echo "exit status $rc" &&
    [ $rc -eq 0 ]
'
# A rank ran again only if its earlier attempt started (the task's own
# record), and at most the 4 running ones per crash did.
reruns () { awk '$2 > 1' started | wc -l; }
test_expect_success 'no rank failed, every rank has one result' '
    ! grep -q "delivered .* times" err1 &&
    one_result_per_rank out1 120
'
test_expect_success 'only ranks that had started run again, each attempt after a start of the one before' '
    echo "reruns: $(reruns)" &&
    [ "$(reruns)" -le 8 ] &&
    awk '"'"'$2 > 1 { print $1, $2 - 1 }'"'"' started | sort >rerun-needed &&
    sort -u started >started-sorted &&
    comm -23 rerun-needed started-sorted >rerun-without-start &&
    [ ! -s rerun-without-start ]
'
test_expect_success 'the rerun summary counts the real reruns' '
    n=$(tail -n +2 out1.csv | awk -F, '"'"'$5 > 1'"'"' | wc -l) &&
    echo "timeline: $n ranks with attempt > 1" &&
    [ "$n" -le 8 ] &&
    if [ "$n" -gt 0 ]; then
        grep -q "^krun: $n ranks were rerun after a failure of their slot" err1
    else
        ! grep -q "ranks were rerun" err1
    fi
'
# The figures, for docs/reliability.md.
echo "# $(grep -c . started 2>/dev/null) task starts for 120 ranks, $(reruns) of them reruns;" \
    "$(grep -h "ranks were rerun" err1 2>/dev/null)"
test_expect_success 'no job queue is left behind; the next job runs' '
    no_job_queues &&
    "$KRUN" -n 4 /bin/echo again >out2 && [ "$(grep -c "^again$" out2)" -eq 4 ]
'
test_done
