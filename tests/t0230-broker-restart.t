#!/bin/bash
# The broker restarts in the middle of a run: with durable_queues the tasks
# and results survive on disk, the workers and the launcher connect again,
# and the job completes with one result per rank.
. "$(dirname "$0")/lib/test-lib.sh"
test_start_broker
test_config <<CFG
idle_timeout: 300
durable_queues: true
local:
  slots: 4
CFG

cat >work.sh <<'SH'
#!/bin/sh
sleep 1
echo "done rank=$KRUN_RANK attempt=$KRUN_ATTEMPT"
SH
chmod +x work.sh

test_expect_success 'warm up the daemon' '
    "$KRUN" -n 4 /bin/true
'
test_expect_success 'broker restart during a 40-rank run: every rank completes once' '
    "$KRUN" -n 40 --timeline out1.csv ./work.sh >out1 2>err1 &
    pid=$!
    sleep 3 &&
    broker_restart >restart.log 2>&1 &&
    wait $pid &&
    one_result_per_rank out1 40 &&
    grep -q "reconnecting" err1 && grep -q "reconnected" err1
'
test_expect_success 'no job queue is left behind' '
    no_job_queues
'
test_expect_success 'the workers serve the next job' '
    "$KRUN" -n 4 /bin/echo again >out3 && [ "$(grep -c "^again$" out3)" -eq 4 ]
'
test_done
