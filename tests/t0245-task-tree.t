#!/bin/bash
# No process outlives its task (issue 10, items 6 and 10): what a task
# detaches with setsid dies when the task ends, when its slot is killed and
# when its daemon is killed; a stopped slot is killed and restarted within
# seconds, so its rank runs elsewhere long before the broker's heartbeat.
. "$(dirname "$0")/lib/test-lib.sh"
test_start_broker
test_config <<CFG
idle_timeout: 300
delivery_limit: 3
local:
  nodes:
    - name: a
      slots: 4
    - name: b
      slots: 4
CFG

daemon_pid () { "$KRUN" status | awk -v n="$1" '$1 == n { print $4 }'; }
slot_count () { ps -o pid= --ppid "$(daemon_pid "$1")" | wc -l; }
# Every pid listed in the files $@ is gone.
none_alive () {
    for f in "$@"; do
        for p in $(cat "$f"); do process_alive "$p" && return 1; done
    done
    return 0
}
# Seconds since the epoch with fractions, for measured times.
now () { date +%s.%N; }
since () { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f\n", b - a }'; }

# A task that detaches three ways and records every pid of its tree:
# setsid, a double fork through a setsid shell, and a plain background
# child.  Its own pid and its slot's go to separate files.
cat >tree.sh <<'SH'
#!/bin/sh
d="pids/$KRUN_NODE.$KRUN_RANK.$KRUN_ATTEMPT"
setsid sleep 300 &
echo $! >"$d.tree"
setsid sh -c 'sleep 300 & echo $! >"$1"; sleep 300' sh "$d.double" &
echo $! >>"$d.tree"
sleep 300 &
echo $! >>"$d.tree"
echo $$ >>"$d.tree"
echo $PPID >"$d.slot"
while [ ! -s "$d.double" ]; do sleep 0.05; done
cat "$d.double" >>"$d.tree"
touch "$d.ready"
sleep "${TASK_SECONDS:-0}"
echo "done rank=$KRUN_RANK attempt=$KRUN_ATTEMPT"
SH
chmod +x tree.sh
mkdir pids

test_expect_success 'start two nodes' '
    "$KRUN" up && [ -n "$(daemon_pid a)" ] && [ -n "$(daemon_pid b)" ]
'
test_expect_success 'what a task detached (setsid, double fork, background) dies when it ends' '
    TASK_SECONDS=0 "$KRUN" -n 4 --timeline t1.csv ./tree.sh >out1 2>err1 &&
    [ "$(grep -c "^done" out1)" -eq 4 ] && [ "$(ls pids/*.tree | wc -l)" -eq 4 ] &&
    [ "$(cat pids/*.tree | wc -l)" -eq 20 ] &&
    start=$(now) && wait_for 10 none_alive pids/*.tree &&
    since $start >t1.time
'
echo "# task end: detached processes gone $(cat t1.time 2>/dev/null) s after krun returned"

slots_are () { [ "$(slot_count "$2")" -eq "$1" ]; }
# The first pids/*.RANK.ATTEMPT.ready file, without .ready.
ready () { local f; f=$(ls pids/*."$1"."$2".ready 2>/dev/null | head -n 1); echo "${f%.ready}"; }
is_ready () { [ -n "$(ready "$1" "$2")" ]; }

test_expect_success 'kill -9 of a slot: its task tree dies, the daemon restarts it, the rank reruns once' '
    rm -f pids/* &&
    { TASK_SECONDS=3 "$KRUN" -n 2 --timeline t2.csv ./tree.sh >out2 2>err2 & } &&
    pid=$! &&
    wait_for 30 is_ready 0 1 &&
    f=$(ready 0 1) && slot=$(cat "$f.slot") && node=${f#pids/} && node=${node%%.*} &&
    kill -9 "$slot" && start=$(now) &&
    wait_for 10 none_alive "$f.tree" && since $start >t2.time &&
    wait $pid && timeline_one_result_per_rank t2.csv 2 && grep -q "^done rank=0 attempt=2" out2 &&
    grep -q "slot [0-9]* (pid $slot) killed by signal 9, restarting" "$KRUN_STATE_DIR/krund-$node.log" &&
    wait_for 10 slots_are 4 "$node"
'
echo "# slot kill -9: its task tree gone $(cat t2.time 2>/dev/null) s after the kill"

test_expect_success 'kill -9 of a daemon: its slots kill their task trees, the ranks rerun on the other node' '
    rm -f pids/* &&
    { TASK_SECONDS=4 "$KRUN" -n 8 --timeline t3.csv ./tree.sh >out3 2>err3 & } &&
    pid=$! &&
    wait_for 30 sh -c "[ \$(ls pids/*.ready | wc -l) -eq 8 ]" &&
    [ "$(ls pids/a.*.1.tree | wc -l)" -eq 4 ] &&
    kill -9 "$(daemon_pid a)" && start=$(now) &&
    wait_for 10 none_alive pids/a.*.1.tree pids/a.*.1.slot && since $start >t3.time &&
    wait $pid && timeline_one_result_per_rank t3.csv 8 &&
    [ "$(grep -c "^done rank=.* attempt=2" out3)" -eq 4 ] &&
    [ "$(ls pids/b.*.2.ready | wc -l)" -eq 4 ] &&
    wait_for 10 none_alive pids/*.tree
'
echo "# daemon kill -9: its 4 task trees (20 processes) and slots gone $(cat t3.time 2>/dev/null) s after the kill"
test_expect_success 'krun up brings the lost node back' '
    "$KRUN" up && [ -n "$(daemon_pid a)" ] && wait_for 10 slots_are 4 a
'

# The daemon and its slots killed at once (its process group): no subreaper
# is left, so the detached processes of their tasks live on until the next
# krund of the host starts (here: krun up; in a parallel make check, maybe
# another test's) and kills what is left in the dead daemon's cgroups
# (cgroup.h).  Where no cgroup v2 can be made there is nobody to kill them:
# skipped, and said so in docs/reliability.md.
if grep -q "slots' cgroups in" "$KRUN_STATE_DIR/krund-a.log"; then
    test_expect_success 'kill -9 of a daemon and its slots at once: the next krund kills what their tasks left' '
        rm -f pids/* &&
        { TASK_SECONDS=4 "$KRUN" -n 8 --timeline t6.csv ./tree.sh >out6 2>err6 & } &&
        pid=$! &&
        wait_for 30 sh -c "[ \$(ls pids/*.ready | wc -l) -eq 8 ]" &&
        pgid=$(ps -o pgid= -p "$(daemon_pid a)" | tr -d " ") && [ -n "$pgid" ] &&
        kill -9 -- "-$pgid" &&
        wait $pid && timeline_one_result_per_rank t6.csv 8 &&
        "$KRUN" up && start=$(now) &&
        wait_for 10 none_alive pids/a.*.1.tree && since $start >t6.time &&
        wait_for 10 slots_are 4 a
    '
    echo "# daemon and slots kill -9: the task trees gone $(cat t6.time 2>/dev/null) s after the next krund started"
else
    test_count=$((test_count + 1))
    echo "ok $test_count # SKIP no cgroup for the slots here: $(grep -m 1 "subreapers only" "$KRUN_STATE_DIR/krund-a.log")"
fi

test_expect_success 'a stopped slot is killed and restarted; its rank reruns within seconds' '
    rm -f pids/* &&
    { TASK_SECONDS=3 "$KRUN" -n 2 --timeline t4.csv ./tree.sh >out4 2>err4 & } &&
    pid=$! &&
    wait_for 30 is_ready 0 1 &&
    f=$(ready 0 1) && slot=$(cat "$f.slot") && node=${f#pids/} && node=${node%%.*} &&
    kill -STOP "$slot" && start=$(now) &&
    wait_for 20 is_ready 0 2 && since $start >t4.time &&
    wait $pid && timeline_one_result_per_rank t4.csv 2 && grep -q "^done rank=0 attempt=2" out4 &&
    grep -q "slot [0-9]* (pid $slot) stopped for [0-9.]* s, killing it" "$KRUN_STATE_DIR/krund-$node.log" &&
    wait_for 10 none_alive "$f.tree" &&
    wait_for 10 slots_are 4 "$node"
'
echo "# SIGSTOP of a slot: its rank started again $(cat t4.time 2>/dev/null) s after the stop"

test_expect_success 'a task that stops itself for 5 s does not get its slot killed' '
    before=$(cat "$KRUN_STATE_DIR"/krund-*.log | grep -c "stopped for"; true) &&
    "$KRUN" -n 1 sh -c "(sleep 5; kill -CONT \$\$) & kill -STOP \$\$; echo resumed attempt=\$KRUN_ATTEMPT" >out5 &&
    grep -qx "resumed attempt=1" out5 &&
    [ "$(cat "$KRUN_STATE_DIR"/krund-*.log | grep -c "stopped for"; true)" -eq "$before" ]
'
test_done
