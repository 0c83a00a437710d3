#!/bin/bash
# Faults: killed slots, a killed daemon, a poison task, a killed launcher.
# Every rank still ends with exactly one result; nothing is left running.
. "$(dirname "$0")/lib/test-lib.sh"
test_start_broker
test_config <<CFG
idle_timeout: 300
delivery_limit: 3
local:
  nodes:
    - name: a
      slots: 16
    - name: b
      slots: 16
CFG

cat >work.sh <<'SH'
#!/bin/sh
sleep 1
echo "done rank=$KRUN_RANK attempt=$KRUN_ATTEMPT"
SH
chmod +x work.sh

daemon_pid () { "$KRUN" status | awk -v n="$1" '$1 == n { print $4 }'; }
slot_pids () { ps -o pid= --ppid "$(daemon_pid "$1")"; }
test_expect_success 'start two nodes' '
    "$KRUN" up && [ -n "$(daemon_pid a)" ] && [ -n "$(daemon_pid b)" ]
'
test_expect_success 'kill -9 of 6 random slots during a 225-rank run: every rank completes' '
    "$KRUN" -n 225 --timeline out1.csv ./work.sh >out1 2>err1 &
    pid=$!
    sleep 2
    victims=$( { slot_pids a; slot_pids b; } | shuf -n 6) &&
    kill -9 $victims &&
    wait $pid &&
    one_result_per_rank out1 225 &&
    grep -q "ranks were rerun after a failure of their slot" err1 &&
    grep -q "attempt=2" out1 &&
    cut -d, -f5 out1.csv | grep -qx 2
'
test_expect_success 'the daemons restarted the killed slots' '
    wait_for 10 sh -c "[ \$(ps -o pid= --ppid $(daemon_pid a) | wc -l) -eq 16 ]" &&
    wait_for 10 sh -c "[ \$(ps -o pid= --ppid $(daemon_pid b) | wc -l) -eq 16 ]"
'
test_expect_success 'kill -9 of a whole daemon during a run: the other node finishes the job' '
    "$KRUN" -n 100 --timeline out2.csv ./work.sh >out2 2>err2 &
    pid=$!
    sleep 1.5
    kill -9 "$(daemon_pid a)" &&
    wait $pid &&
    one_result_per_rank out2 100 &&
    grep -q "ranks were rerun" err2
'
test_expect_success 'krun up brings the lost node back' '
    "$KRUN" up && [ -n "$(daemon_pid a)" ]
'
cat >poison.sh <<'SH'
#!/bin/sh
# Rank 3 kills its slot process every time it runs.
[ "$KRUN_RANK" = 3 ] && kill -9 "$PPID"
echo "done rank=$KRUN_RANK attempt=$KRUN_ATTEMPT"
SH
chmod +x poison.sh
test_expect_success 'a poison task fails after the delivery limit, the rest completes' '
    "$KRUN" -n 8 ./poison.sh >out3 2>err3; rc=$?
    [ $rc -eq 127 ] &&
    grep -q "rank 3 failed on node .*: delivered 3 times without finishing" err3 &&
    [ "$(grep -c "^done rank=" out3)" -eq 7 ] && ! grep -q "^done rank=3 " out3
'
cat >long.sh <<'SH'
#!/bin/sh
echo $$ >"pids/$KRUN_RANK"
sleep 300 &
echo $! >"pids/$KRUN_RANK.grandchild"
wait
SH
chmod +x long.sh
mkdir pids
all_started () { [ "$(ls pids | grep -vc grandchild)" -eq 4 ]; }
none_alive () {
    for f in pids/*; do process_alive "$(cat "$f")" && return 1; done
    return 0
}
test_expect_success 'launcher killed with SIGKILL: its tasks and their children die within seconds' '
    "$KRUN" -n 4 ./long.sh >out4 2>err4 &
    pid=$!
    wait_for 20 all_started && kill -9 $pid &&
    wait_for 10 none_alive
'
test_expect_success '... and its queues vanish (x-expires)' '
    wait_for 60 no_job_queues
'
test_expect_success 'the pool serves the next job' '
    "$KRUN" -n 32 --timeline out5.csv ./work.sh >out5 && one_result_per_rank out5 32
'
# The broker refuses tasks (a policy: at most one message in a task queue,
# more are refused with a nack).  The run fails on the refusal, bounded
# (docs/reliability.md), and its queue goes at once, not by x-expires.
test_expect_success 'tasks the broker refuses (nack): the run fails naming the refusal, its queue goes at once' '
    broker_ctl set_policy --apply-to queues krun-test-refuse "^krun\.job\..*\.tasks\$" \
        "{\"max-length\":1,\"overflow\":\"reject-publish\"}" >/dev/null &&
    { timeout 60 "$KRUN" -n 3 ./work.sh >out6 2>err6; rc=$?; } &&
    broker_ctl clear_policy krun-test-refuse >/dev/null &&
    cat err6 && [ $rc = 1 ] &&
    grep -q "krun: .*broker amqp://.* refused 2 message(s) (nack)" err6 &&
    wait_for 5 no_job_queues
'
test_expect_success '... and the pool serves the next job' '
    "$KRUN" -n 32 --timeline out7.csv ./work.sh >out7 && one_result_per_rank out7 32
'
test_done
