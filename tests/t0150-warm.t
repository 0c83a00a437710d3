#!/bin/bash
# Workers stay warm: a second run reuses the daemon; idle daemons leave.
. "$(dirname "$0")/lib/test-lib.sh"
test_start_broker
test_config <<CFG
idle_timeout: 120
local:
  slots: 2
CFG

daemon_pid () { "$KRUN" status | awk -v n="$(hostname)" '$1 == n { print $4 }'; }

test_expect_success 'the first run starts a daemon and says so' '
    "$KRUN" -n 2 /bin/true 2>err1 &&
    grep -q "started 1 local worker daemon" err1
'
test_expect_success 'the second run reuses it: no new daemon, same pid' '
    pid1=$(daemon_pid) &&
    "$KRUN" -n 2 /bin/true 2>err2 &&
    ! grep -q "started" err2 &&
    [ "$(daemon_pid)" = "$pid1" ]
'
test_expect_success '--quiet hides the note' '
    "$KRUN" down >/dev/null && "$KRUN" -q -n 1 /bin/true 2>err3 && ! grep -q . err3
'
test_expect_success 'a daemon exits after its idle timeout' '
    "$KRUN" down >/dev/null &&
    "$KRUN" -n 1 --idle-timeout 2 /bin/true &&
    pid=$(daemon_pid) && [ -n "$pid" ] &&
    wait_for 15 eval "! process_alive $pid"
'
# status_busy N: the daemon of this machine answers with 2 slots, N busy.
status_busy () { "$KRUN" status | tee status.out | grep -qE "^$(hostname) +2 +$1 "; }
test_expect_success 'busy slots count in status, and keep the daemon past its idle timeout' '
    "$KRUN" down >/dev/null &&
    log="$KRUN_STATE_DIR/krund-$(hostname).log" && seen=$(wc -l <"$log") &&
    { "$KRUN" -n 2 --idle-timeout 3 sh -c "sleep 6; echo done" >busy.out 2>busy.err &
      pid=$!; } &&
    wait_for 15 status_busy 2 &&
    wait $pid && [ "$(grep -c "^done$" busy.out)" -eq 2 ] &&
    ! tail -n +$((seen + 1)) "$log" | grep -q "idle timeout" &&
    status_busy 0 || { cat status.out busy.err; false; }
'
cat >slow.sh <<'SH'
#!/bin/sh
sleep 2
echo "finished rank $KRUN_RANK"
SH
chmod +x slow.sh
test_expect_success 'SIGTERM to krund: running tasks finish and report, then it exits' '
    "$KRUN" -n 2 ./slow.sh >slow.out 2>slow.err &
    pid=$!
    sleep 1 && dpid=$(daemon_pid) && [ -n "$dpid" ] && kill -TERM "$dpid" &&
    wait $pid &&
    [ "$(grep -c "^finished rank [01]$" slow.out)" -eq 2 ] &&
    wait_for 10 eval "! process_alive $dpid"
'
test_expect_success 'a rebuilt krund replaces the warm daemon on the next run' '
    cp "$KRUND" krund-copy &&
    KRUN_KRUND="$TEST_DIR/krund-copy" "$KRUN" -n 1 /bin/true 2>e1 && cat e1 &&
    pid1=$(daemon_pid) && [ -n "$pid1" ] &&
    KRUN_KRUND="$TEST_DIR/krund-copy" "$KRUN" -n 1 /bin/true 2>e2 && cat e2 &&
    ! grep -q restarting e2 && [ "$(daemon_pid)" = "$pid1" ] &&
    cp krund-copy krund-new && mv krund-new krund-copy &&
    KRUN_KRUND="$TEST_DIR/krund-copy" "$KRUN" -n 1 /bin/true 2>e3 && cat e3 &&
    grep -q "^krun: restarting the daemon of node $(hostname): its krund was rebuilt or replaced since it started$" e3 &&
    pid3=$(daemon_pid) && [ -n "$pid3" ] && [ "$pid3" != "$pid1" ] &&
    ! process_alive "$pid1"
'
# no_job_queue_within S: within S seconds (by the clock: a rabbitmqctl call
# takes a second or two) the broker answers that it holds no job queue
# (queues.all: what it held last).
no_job_queue_within () {
    local end=$(($(date +%s) + $1))
    while [ "$(date +%s)" -lt "$end" ]; do
        broker_queue_names >queues.all &&
            ! grep -q "^krun\.job\." queues.all && return 0
        sleep 0.2
    done
    return 1
}
test_expect_success '20 warm runs leave no job queue behind' '
    for i in $(seq 20); do "$KRUN" -q -n 1 /bin/true || exit 1; done &&
    # Well within the 30 s of x-expires: the queues were deleted, not expired.
    no_job_queue_within 10 || { cat queues.all; false; }
'
test_expect_success 'a job that does not run (no node may run it) leaves no job queue' '
    ! "$KRUN" -q -n 1 --nodes nosuch /bin/true 2>err && cat err &&
    grep -q "none of the 1 nodes that answered may run the job" err &&
    no_job_queue_within 10 || { cat queues.all; false; }
'
test_expect_success 'krun down stops the daemons' '
    "$KRUN" -n 1 /bin/true && pid=$(daemon_pid) && [ -n "$pid" ] &&
    "$KRUN" down | grep -q "stopped 1 local worker daemon" &&
    wait_for 5 eval "! process_alive $pid"
'
test_done
