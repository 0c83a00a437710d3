#!/bin/bash
# Ctrl-C cancels the job on every worker within a second and leaves no queue.
. "$(dirname "$0")/lib/test-lib.sh"
test_start_broker
test_config <<CFG
idle_timeout: 120
local:
  slots: 4
CFG

cat >sleeper.sh <<'SH'
#!/bin/sh
echo $$ >"pids/$KRUN_RANK"
exec sleep 300
SH
chmod +x sleeper.sh
mkdir pids

all_started () { [ "$(ls pids | wc -l)" -eq 4 ]; }
none_alive () {
    for f in pids/*; do process_alive "$(cat "$f")" && return 1; done
    return 0
}
no_job_queues () { ! broker_queue_names | grep -q "^krun\.job\."; }

test_expect_success 'warm up the daemon' '
    "$KRUN" -n 1 /bin/true
'
test_expect_success 'SIGINT: krun exits 130 and the tasks are killed within a second' '
    "$KRUN" -n 8 ./sleeper.sh >out 2>err &
    pid=$!
    wait_for 20 all_started &&
    start=$(date +%s%N) &&
    kill -INT $pid &&
    { wait $pid; rc=$?; } &&
    [ $rc -eq 130 ] &&
    wait_for 1 none_alive &&
    end=$(date +%s%N) &&
    echo "cancel took $(( (end - start) / 1000000 )) ms" &&
    [ $(( (end - start) / 1000000 )) -lt 1500 ] &&
    grep -q "cancelled, 0 of 8 ranks done" err
'
test_expect_success 'no job queue is left on the broker' '
    wait_for 5 no_job_queues
'
test_expect_success 'SIGTERM cancels too, with 143' '
    rm -f pids/*
    "$KRUN" -n 4 ./sleeper.sh >out 2>err &
    pid=$!
    wait_for 20 all_started && kill -TERM $pid && { wait $pid; rc=$?; } && [ $rc -eq 143 ] &&
    wait_for 2 none_alive && wait_for 5 no_job_queues
'
test_expect_success 'the workers serve the next job right away' '
    "$KRUN" -n 4 /bin/true
'
test_done
