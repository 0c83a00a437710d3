#!/bin/bash
# Per-task --timeout (SIGTERM, then SIGKILL; the task's whole process group),
# --retries of ranks that end non-zero, --joblog and --resume.
. "$(dirname "$0")/lib/test-lib.sh"
test_start_broker
test_config <<CFG
idle_timeout: 300
local:
  slots: 4
CFG

test_expect_success 'warm up the daemon' '
    "$KRUN" -n 1 /bin/true
'
test_expect_success '--timeout kills a task that runs too long; it counts as 124' '
    start=$(date +%s)
    "$KRUN" -n 3 --timeout 1 sh -c "[ \$KRUN_RANK = 0 ] && exec sleep 60; echo done \$KRUN_RANK" >out1 2>err1
    rc=$?
    [ $rc -eq 124 ] && [ $(( $(date +%s) - start )) -lt 20 ] &&
    grep -q "rank 0 failed on node .*: timed out after 1 s" err1 &&
    grep -qx "done 1" out1 && grep -qx "done 2" out1
'
test_expect_success '--timeout 0.2 kills after 0.2 s, not at the next whole second' '
    "$KRUN" -n 2 --timeout 0.2 --joblog logt sleep 60 2>errt
    [ $? -eq 124 ] && grep -q "timed out after 0.2 s" errt &&
    awk -F "\t" "NR > 1 && \$4 + 0 >= 0.2 && \$4 + 0 < 0.8 { n++ } END { exit n < 1 }" logt
'
cat >stubborn.sh <<'SH'
#!/bin/sh
# Ignores SIGTERM (and so does the grandchild it leaves behind).
trap "" TERM
sleep 300 &
echo $! >"grandchild.$KRUN_RANK"
while :; do sleep 1; done
SH
chmod +x stubborn.sh
test_expect_success '--timeout: a task ignoring SIGTERM and its grandchild are killed' '
    start=$(date +%s)
    "$KRUN" -n 1 --timeout 1 ./stubborn.sh 2>err2
    rc=$?
    [ $rc -eq 124 ] && [ $(( $(date +%s) - start )) -lt 20 ] &&
    gc=$(cat grandchild.0) && [ -n "$gc" ] &&
    wait_for 5 sh -c "! kill -0 $gc 2>/dev/null"
'
cat >flaky.sh <<'SH'
#!/bin/sh
# Ranks 1 and 2 fail on their first two attempts.
case $KRUN_RANK in 1|2) [ "$KRUN_ATTEMPT" -lt 3 ] && exit 3 ;; esac
echo "ok rank=$KRUN_RANK attempt=$KRUN_ATTEMPT"
SH
chmod +x flaky.sh
test_expect_success '--retries 2: failing ranks run again and succeed' '
    "$KRUN" -n 4 --retries 2 ./flaky.sh >out3 2>err3 &&
    grep -qx "ok rank=1 attempt=3" out3 && grep -qx "ok rank=2 attempt=3" out3 &&
    grep -qx "ok rank=0 attempt=1" out3 &&
    [ "$(grep -c "retrying" err3)" -eq 4 ] &&
    grep -q "4 retries (--retries)" err3 &&
    ! grep -q "rerun after a failure of their slot" err3
'
test_expect_success '--retries 1 is not enough: the exit status is the failure' '
    "$KRUN" -n 4 --retries 1 ./flaky.sh >out4 2>err4
    [ $? -eq 3 ] && [ "$(grep -c "^ok rank=" out4)" -eq 2 ]
'
test_expect_success 'without --retries nothing is retried' '
    "$KRUN" -n 4 ./flaky.sh >out5 2>err5
    [ $? -eq 3 ] && ! grep -q retrying err5
'
test_expect_success '--retries also covers a timeout' '
    "$KRUN" -n 2 --timeout 1 --retries 1 sh -c "[ \$KRUN_ATTEMPT = 1 ] && [ \$KRUN_RANK = 1 ] && exec sleep 60; echo ok \$KRUN_RANK \$KRUN_ATTEMPT" >out6 2>err6 &&
    grep -qx "ok 1 2" out6 && grep -q "rank 1 failed with 124 .*retrying" err6
'
test_expect_success '--joblog: GNU parallel'"'"'s columns, one line per rank' '
    "$KRUN" -n 5 --joblog log7 sh -c "exit \$((KRUN_RANK % 2))"
    [ $? -eq 1 ] &&
    head -n 1 log7 | grep -qx "Seq.Host.Starttime.JobRuntime.Send.Receive.Exitval.Signal.Command" &&
    [ "$(tail -n +2 log7 | wc -l)" -eq 5 ] &&
    [ "$(tail -n +2 log7 | cut -f1 | sort -n | tr "\n" " ")" = "1 2 3 4 5 " ] &&
    [ "$(tail -n +2 log7 | awk -F "\t" "NF != 9" | wc -l)" -eq 0 ] &&
    [ "$(awk -F "\t" "\$1 == 4 { print \$7, \$8, \$9 }" log7)" = "1 0 sh -c '"'"'exit \$((KRUN_RANK % 2))'"'"'" ] &&
    [ "$(awk -F "\t" "\$1 == 3 { print \$7, \$8 }" log7)" = "0 0" ] &&
    awk -F "\t" "NR > 1 && !(\$3 > 1000000000 && \$4 >= 0) { exit 1 }" log7
'
test_expect_success '--joblog: a timeout is Exitval 124, a killed rank its Signal; {} and {#} replaced' '
    "$KRUN" -n 1 --timeout 1 --joblog log8b sleep 60 2>/dev/null
    [ "$(awk -F "\t" "\$1 == 1 { print \$7, \$8 }" log8b)" = "124 0" ] &&
    "$KRUN" -n 2 --joblog log8c sh -c "kill -TERM \$\$" 2>/dev/null
    [ "$(awk -F "\t" "NR > 1 { print \$7, \$8 }" log8c | sort -u)" = "0 15" ] &&
    printf "a b\nc\n" >words &&
    "$KRUN" --inputs words --joblog log8d echo "{}" "{#}" >out8d &&
    [ "$(sort out8d | tr "\n" /)" = "a b 1/c 2/" ] &&
    [ "$(awk -F "\t" "NR > 1 { print \$1, \$5, \$6, \$9 }" log8d | sort | tr "\n" /)" = "1 3 6 echo '"'"'a b'"'"' 1/2 1 4 echo c 2/" ]
'
cat >once.sh <<'SH'
#!/bin/sh
# Records every run; ranks 1 and 3 fail until the file "fixed" exists.
echo "$KRUN_RANK" >>ran
case $KRUN_RANK in 1|3) [ -e fixed ] || exit 5 ;; esac
exit 0
SH
chmod +x once.sh
test_expect_success '--resume runs only the ranks that did not succeed' '
    rm -f ran fixed
    "$KRUN" -n 5 --joblog log9 ./once.sh
    [ $? -eq 5 ] && [ "$(sort -n ran | tr "\n" " ")" = "0 1 2 3 4 " ] &&
    : >ran && touch fixed &&
    "$KRUN" -n 5 --resume log9 --joblog log9 ./once.sh 2>err9 &&
    grep -q "resuming from log9: 3 of 5 ranks succeeded before" err9 &&
    [ "$(sort -n ran | tr "\n" " ")" = "1 3 " ] &&
    [ "$(grep -c "^Seq" log9)" -eq 1 ] && [ "$(tail -n +2 log9 | wc -l)" -eq 7 ]
'
test_expect_success '--resume of a complete joblog runs nothing and exits 0' '
    : >ran &&
    "$KRUN" -n 5 --resume log9 ./once.sh 2>err10 &&
    grep -q "5 of 5 ranks succeeded before" err10 && [ ! -s ran ]
'
test_expect_success '--resume of a malformed file is an error naming it' '
    printf "Seq\tHost\n1\ta\tbad\n" >bad.log &&
    ! "$KRUN" -n 2 --resume bad.log /bin/true 2>err11 &&
    grep -q "joblog bad.log:2: not a joblog line" err11
'
test_expect_success '--resume of a joblog that does not exist yet runs every rank (parallel)' '
    : >ran &&
    "$KRUN" -n 3 --resume nosuch.log --joblog nosuch.log ./once.sh 2>err12 &&
    grep -q "no joblog nosuch.log yet: every rank runs" err12 &&
    [ "$(sort -n ran | tr "\n" " ")" = "0 1 2 " ] && [ "$(tail -n +2 nosuch.log | wc -l)" -eq 3 ]
'
test_expect_success '--resume warns when the command file shifted under the joblog' '
    printf "echo one\nexit 4\necho three\n" >cmds &&
    "$KRUN" -f cmds --joblog logf >/dev/null 2>&1
    printf "echo zero\necho one\nexit 4\necho three\n" >cmds &&
    "$KRUN" -f cmds --resume logf >outf 2>errf
    grep -q "warning: the command of 3 ranks differs from the one in logf (was the command file changed?): 0-2" errf
'
test_expect_success 'bad option values are refused' '
    ! "$KRUN" -n 1 --timeout 0 /bin/true 2>e && grep -q "expected a number of seconds" e &&
    ! "$KRUN" -n 1 --timeout abc /bin/true 2>e &&
    ! "$KRUN" -n 1 --retries -1 /bin/true 2>e && grep -q "retries" e
'
test_done
