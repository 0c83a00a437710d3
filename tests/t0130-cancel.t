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

test_expect_success 'warm up the daemon' '
    "$KRUN" -n 1 /bin/true
'
# The design goal is a second from Ctrl-C to the tasks' death (about 0.1 s
# on an idle machine; the time is printed).  The bounds here are generous on
# purpose: with tests running in parallel, sanitizers and other brokers
# starting, a loaded 2-core machine took over 1.5 s, and a pass/fail test
# must not fail on speed.
test_expect_success 'SIGINT: krun exits 130 and the tasks are killed' '
    "$KRUN" -n 8 ./sleeper.sh >out 2>err &
    pid=$!
    wait_for 20 all_started &&
    start=$(date +%s%N) &&
    kill -INT $pid &&
    { wait $pid; rc=$?; } &&
    { [ $rc -eq 130 ] || { echo "exit status $rc"; false; }; } &&
    wait_for 10 none_alive &&
    end=$(date +%s%N) &&
    echo "cancel took $(( (end - start) / 1000000 )) ms" &&
    grep -q "cancelled, 0 of 8 ranks done" err
'
test_expect_success 'no job queue is left on the broker' '
    wait_for 10 no_job_queues
'
test_expect_success 'SIGTERM cancels too, with 143' '
    rm -f pids/*
    "$KRUN" -n 4 ./sleeper.sh >out 2>err &
    pid=$!
    wait_for 20 all_started && kill -TERM $pid && { wait $pid; rc=$?; } &&
    { [ $rc -eq 143 ] || { echo "exit status $rc"; false; }; } &&
    wait_for 10 none_alive && wait_for 10 no_job_queues
'
test_expect_success 'the workers serve the next job right away' '
    "$KRUN" -n 4 /bin/true
'
test_done
