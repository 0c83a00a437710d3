#!/bin/bash
# Task messages of several ranks (launcher/batchsize.h; docs/protocol.md,
# "task" and "results"): a job of many short ranks goes out in messages of
# up to 16 ranks, each run by one slot in order, and their results come back
# in few messages, so the daemon sends the broker far fewer frames per rank.
# A message whose ranks turn out long puts the rest back in the queue for an
# idle slot.  A slot killed in the middle of a message loses no rank: the ranks without
# a result run again, and every rank ends once.  krun_result() bytes and
# failures travel inside "results" messages unchanged; --timeout, --retries
# and --resume act on single ranks inside them.  A rest the broker refuses
# to take back runs on the slot that had it.
. "$(dirname "$0")/lib/test-lib.sh"
test_start_broker
# Only the daemon's connections are counted here: no connection agent.
export KRUN_AGENT=0
test_config <<CFG
idle_timeout: 300
delivery_limit: 3
local:
  slots: 2
CFG

cat >work.sh <<'SH'
#!/bin/sh
echo "done rank=$KRUN_RANK attempt=$KRUN_ATTEMPT"
SH
chmod +x work.sh

daemon_pid () { "$KRUN" status | awk -v n="$(hostname)" '$1 == n { print $4 }'; }
# Packets the broker received on the daemons' connections (named krund[PID]),
# summed (recv_cnt: the daemon writes each slot's frames as they come, so
# one rank per message costs about a packet per rank).
daemon_packets () {
    broker_ctl list_connections -q recv_cnt client_properties 2>/dev/null |
        awk '/connection_name","krund\[/ { n += $1 } END { print n + 0 }'
}
# A message that has run for 100 ms puts its ranks not started back (the
# case of long ranks below): 16 runs of sh take longer than that on a machine whose process starts
# are slow (8 ms each seen here), so the cases about whole messages run on
# a daemon that splits none before a minute (KRUN_SPLIT_AFTER_MS, which
# krun up passes to the daemons it starts).
test_expect_success 'start a node of 2 slots that splits no message before 60 s' '
    KRUN_SPLIT_AFTER_MS=60000 "$KRUN" up && [ -n "$(daemon_pid)" ] &&
    tr "\0" "\n" </proc/"$(daemon_pid)"/environ | grep -qx KRUN_SPLIT_AFTER_MS=60000
'
test_expect_success 'a KRUN_SPLIT_AFTER_MS that is no number: krund says so and exits 2' '
    test_expect_code 2 env KRUN_SPLIT_AFTER_MS=soon "$KRUND" --node bad 2>split.err &&
    cat split.err &&
    grep -qx "krund: KRUN_SPLIT_AFTER_MS: expected an integer >= 0, got '"'"'soon'"'"'" split.err
'
# The messages of a run: the ranks of one message share its publish time
# (the timeline's published_us), and no two messages are published in the
# same microsecond (each is encoded, signed and sent).  Prints their count.
timeline_messages () { tail -n +2 "$1" | cut -d, -f7 | sort -u | wc -l; }
test_expect_success '400 ranks on 2 slots: messages of 16 ranks, each run by one slot in order' '
    "$KRUN" -n 400 --timeline out1.csv ./work.sh >out1 &&
    one_result_per_rank out1 400 &&
    messages=$(timeline_messages out1.csv) && echo "messages: $messages" &&
    [ "$messages" -eq 25 ] &&
    blocks=$(whole_blocks out1.csv 16) && echo "whole blocks: $blocks of 25" &&
    [ "$blocks" -eq 25 ]
'
# Which slot runs which rank is the broker's and the load's business: a
# slot slowed by the machine lets the other take 16 ranks in a row, so
# whole blocks say nothing here (12 of 25 in a CI run).
test_expect_success '--batch 1: one rank per message' '
    "$KRUN" -n 400 --batch 1 --timeline out2.csv ./work.sh >out2 &&
    one_result_per_rank out2 400 &&
    messages=$(timeline_messages out2.csv) && echo "messages: $messages" &&
    [ "$messages" -eq 400 ]
'
# A slot holds the results of a message for at most 20 ms
# (runtime/daemon/heldresults.h): where a run of /bin/true takes 5 to 8 ms
# (a machine whose process starts are slow) a message of 16 ranks sends its
# results in several publishes, and the daemon wrote 2.5 times less often
# there, against more than 4 times where it takes under 1 ms.  One rank per
# message would make it about equal.
test_expect_success 'batched, the daemon writes to the broker at least 2 times less often' '
    before=$(daemon_packets) &&
    "$KRUN" -n 800 /bin/true && batched=$(( $(daemon_packets) - before )) &&
    before=$(daemon_packets) &&
    "$KRUN" -n 800 --batch 1 /bin/true && single=$(( $(daemon_packets) - before )) &&
    echo "packets: $batched batched, $single one rank per message" &&
    [ $((2 * batched)) -lt "$single" ]
'
test_expect_success 'the daemon again, splitting after the default 100 ms' '
    "$KRUN" down >/dev/null && "$KRUN" up && [ -n "$(daemon_pid)" ] &&
    ! tr "\0" "\n" </proc/"$(daemon_pid)"/environ | grep -q KRUN_SPLIT_AFTER_MS
'
# Messages of 8 ranks.  Not checked here how they ran: a task built with the
# sanitizers (TASK_CFLAGS) may start slowly enough for a message to be split
# at 100 ms (case 2 checks the blocks, with tasks of sh).
test_expect_success 'krun_result bytes and failures of batched ranks come back whole' '
    cat >ret.c <<-C &&
	#include <stdio.h>
	#include <stdlib.h>
	#include <string.h>
	#include <krun/krun.h>
	int main (void) {
	    char b[64];
	    int rank = atoi (getenv ("KRUN_RANK"));
	    if (krun_init () != 0)
	        return 100;
	    snprintf (b, sizeof (b), "r=%d\n", rank);
	    if (rank % 3 == 0 && krun_result (b, strlen (b)) != 0)
	        return 101;
	    krun_finalize ();
	    return rank == 37 ? 3 : 0;
	}
	C
    ${CC:-cc} $TASK_CFLAGS -I"$KRUN_TOP_SRCDIR/include" ret.c -o ret \
        "$KRUN_TOP_BUILDDIR/libkrun/.libs/libkrun.so" -Wl,-rpath,"$KRUN_TOP_BUILDDIR/libkrun/.libs" &&
    { "$KRUN" -n 160 --batch 8 --results res --timeline out3.csv ./ret 2>err3; rc=$?; } &&
    cat err3 && [ $rc -eq 3 ] &&
    grep -q "rank 37 exited with status 3 on node" err3 &&
    [ "$(tail -n +2 out3.csv | wc -l)" -eq 160 ] &&
    for r in $(seq 0 159); do
        if [ $((r % 3)) -eq 0 ]; then
            [ "$(cat res/$r)" = "r=$r" ] || { echo "rank $r: $(cat res/$r)"; exit 1; }
        else
            [ ! -s res/$r ] || { echo "rank $r has a result"; exit 1; }
        fi
    done
'
cat >mixed.sh <<'SH'
#!/bin/sh
# Records every run.  Rank 10 hangs; rank 12 fails its first attempt;
# ranks 20..29 fail until the file "fixed" exists.
echo "$KRUN_RANK $KRUN_ATTEMPT" >>ran
[ "$KRUN_RANK" = 10 ] && exec sleep 60
[ "$KRUN_RANK" = 12 ] && [ "$KRUN_ATTEMPT" = 1 ] && exit 4
[ "$KRUN_RANK" -ge 20 ] && [ "$KRUN_RANK" -lt 30 ] && [ ! -e fixed ] && exit 5
exit 0
SH
chmod +x mixed.sh
test_expect_success '--timeout and --retries inside messages of several ranks: the rank times out or is retried alone, the others of its message run on' '
    rm -f ran fixed
    "$KRUN" -n 40 --batch 8 --timeout 0.5 --retries 1 --joblog log7 ./mixed.sh 2>err7
    rc=$? && cat err7 && [ $rc -eq 124 ] &&
    grep -q "rank 10 failed on node .*: timed out after 0.5 s" err7 &&
    grep -q "rank 12 exited 4 on node .* (attempt 1), retrying (1 of 1)" err7 &&
    grep -qx "12 2" ran &&
    [ "$(tail -n +2 log7 | wc -l)" -eq 40 ] &&
    [ "$(awk "\$1 != 12 || \$2 != 1" ran | wc -l)" -eq 51 ]
'
test_expect_success '--resume with messages of several ranks: only the ranks without a success run' '
    : >ran && touch fixed &&
    "$KRUN" -n 40 --batch 8 --timeout 0.5 --resume log7 ./mixed.sh 2>err8
    rc=$? && cat err8 && [ $rc -eq 124 ] &&
    [ "$(cut -d" " -f1 ran | sort -n | tr "\n" " ")" = "10 20 21 22 23 24 25 26 27 28 29 " ]
'
cat >slow.sh <<'SH'
#!/bin/sh
# Ranks 0..15 take 0.3 s each, the others nothing.
[ "$KRUN_RANK" -lt 16 ] && sleep 0.3
echo "done rank=$KRUN_RANK attempt=$KRUN_ATTEMPT"
SH
chmod +x slow.sh
test_expect_success 'long ranks of one message do not wait behind each other: the rest goes back to the queue, and the idle slot takes it' '
    "$KRUN" -n 32 --batch 16 --timeline out5.csv ./slow.sh >out5 &&
    one_result_per_rank out5 32 &&
    slots=$(tail -n +2 out5.csv | awk -F, "\$1 < 16 { print \$3 }" | sort -u | wc -l) &&
    echo "ranks 0..15 ran on $slots slots" && [ "$slots" -eq 2 ] &&
    [ "$(tail -n +2 out5.csv | cut -d, -f5 | sort -u)" = 1 ]
'
cat >stopper.sh <<'SH'
#!/bin/sh
# The first run of rank 5 asks its slot to stop (SIGTERM), then ends well.
[ "$KRUN_RANK" = 5 ] && [ "$KRUN_ATTEMPT" = 1 ] && kill -TERM "$PPID"
echo "done rank=$KRUN_RANK attempt=$KRUN_ATTEMPT"
SH
chmod +x stopper.sh
test_expect_success 'a slot told to stop between two ranks of a message: the results it has go out, the rest runs again elsewhere' '
    "$KRUN" -n 64 --batch 16 --timeline out6.csv ./stopper.sh >out6 2>err6 &&
    cat err6 &&
    one_result_per_rank out6 64 &&
    [ "$(tail -n +2 out6.csv | awk -F, "\$1 <= 5 || \$1 > 15 { print \$5 }" | sort -u)" = 1 ] &&
    [ "$(tail -n +2 out6.csv | awk -F, "\$1 > 5 && \$1 <= 15 { print \$5 }" | sort -u)" = 2 ]
'
test_expect_success 'the daemon started the stopped slot again' '
    pid=$(daemon_pid) && [ -n "$pid" ] &&
    wait_for 10 sh -c "[ \$(ps -o pid= --ppid $pid | wc -l) -eq 2 ]"
'
cat >killer.sh <<'SH'
#!/bin/sh
# The first run of rank 37 kills its slot: ranks 32..36 of its message are
# done (their results maybe held still), 38..47 not started.
[ "$KRUN_RANK" = 37 ] && [ "$KRUN_ATTEMPT" = 1 ] && kill -9 "$PPID"
echo "done rank=$KRUN_RANK attempt=$KRUN_ATTEMPT"
SH
chmod +x killer.sh
test_expect_success 'a slot killed in the middle of a message: its ranks without a result run again, every rank ends once' '
    "$KRUN" -n 400 --timeline out4.csv ./killer.sh >out4 2>err4 &&
    cat err4 &&
    one_result_per_rank out4 400 &&
    grep -q "ranks were rerun after a failure of their slot" err4 &&
    grep -q "^done rank=37 attempt=2$" out4 &&
    for r in $(seq 38 47); do
        awk -F, -v r=$r "\$1 == r && \$5 == 2 { f = 1 } END { exit !f }" out4.csv ||
            { echo "rank $r: not run again as attempt 2"; exit 1; }
    done &&
    [ "$(tail -n +2 out4.csv | awk -F, "\$1 < 32 || \$1 > 47 { print \$5 }" | sort -u)" = 1 ]
'
test_expect_success 'the daemon restarted the killed slot' '
    pid=$(daemon_pid) && [ -n "$pid" ] &&
    wait_for 10 sh -c "[ \$(ps -o pid= --ppid $pid | wc -l) -eq 2 ]"
'
# A message whose rest the broker refuses to take back (a policy on the task
# queue, set while rank 0 runs: no ready message allowed, more refused with a
# nack): the slot says so and runs the rest itself.  Rank 0 waits until the
# policy is in force, so the first split is refused for certain.
cat >refused.sh <<SH
#!/bin/sh
if [ "\$KRUN_RANK" = 0 ]; then
    touch "$PWD/rank0.started"
    i=0
    while [ ! -e "$PWD/policy.set" ] && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i + 1)); done
fi
sleep 0.2
echo "done rank=\$KRUN_RANK attempt=\$KRUN_ATTEMPT"
SH
chmod +x refused.sh
task_queue_policy () {
    broker_ctl list_queues -q name policy 2>/dev/null | grep -q "^krun\.job\..*\.tasks[[:space:]]*krun-test-split"
}
test_expect_success 'ranks the broker refuses to take back when their message is split: the slot runs them itself, every rank ends once' '
    { "$KRUN" -n 4 --batch 4 --timeline out7.csv ./refused.sh >out7 2>err7 & } &&
    krun_pid=$! &&
    wait_for 30 test -e rank0.started &&
    broker_ctl set_policy --apply-to queues krun-test-split "^krun\.job\..*\.tasks\$" \
        "{\"max-length\":0,\"overflow\":\"reject-publish\"}" >/dev/null &&
    wait_for 30 task_queue_policy &&
    touch policy.set &&
    { wait_bounded 60 $krun_pid; rc=$?; } &&
    broker_ctl clear_policy krun-test-split >/dev/null &&
    cat err7 && [ "$rc" = 0 ] &&
    one_result_per_rank out7 4 &&
    [ "$(tail -n +2 out7.csv | cut -d, -f3 | sort -u | wc -l)" = 1 ] &&
    [ "$(tail -n +2 out7.csv | cut -d, -f5 | sort -u)" = 1 ] &&
    grep "cannot put ranks 1 to 3 back" "$KRUN_STATE_DIR"/krund-*.log
'
test_done
