#!/bin/bash
# Tasks that misbehave: endless output (capped per rank with a marker), a
# closed stdout, grandchildren left behind, SIGTERM ignored on cancel.
. "$(dirname "$0")/lib/test-lib.sh"
test_start_broker
test_config <<CFG
idle_timeout: 300
local:
  slots: 2
CFG

test_expect_success 'warm up the daemon' '
    "$KRUN" -n 1 /bin/true
'
test_expect_success '100 MB of output is cut at --output-limit with a visible marker, said, exit 74' '
    test_expect_code 74 "$KRUN" -n 1 --output-limit 1M sh -c "yes 0123456789abcdef | head -c 100000000; echo tail-end" >out1 2>err1 &&
    grep -q "^krun: rank 0: output cut at 1048576 bytes (--output-limit)" err1 &&
    size=$(wc -c <out1) &&
    [ "$size" -le $((1048576 + 200)) ] && [ "$size" -ge 1048576 ] &&
    grep -q "^\[krun: output of rank 0 cut at 1048576 bytes (--output-limit); the rest is dropped\]$" out1 &&
    ! grep -q tail-end out1 &&
    grep -q "rank 0: output limit of 1048576 bytes reached" "$KRUN_STATE_DIR"/krund-*.log
'
# The task pauses between its stdout and its stderr: the slot reads the two
# pipes as data comes, and would otherwise count part of stderr before the
# rest of stdout (the counts below assume stdout first).
test_expect_success 'the limit is per rank and covers stdout and stderr together' '
    test_expect_code 74 "$KRUN" -n 2 --output-limit 100K sh -c "head -c 80000 /dev/zero | tr \"\\0\" o; echo; sleep 1; head -c 80000 /dev/zero | tr \"\\0\" e >&2" >out2 2>err2 &&
    [ "$(grep -c "^\[krun: output of rank [01] cut at 102400 bytes" err2)" -eq 2 ] &&
    grep -qx "krun: the output was cut at --output-limit (the rest dropped) for 2 ranks: 0-1" err2 &&
    [ "$(tr -cd o <out2 | wc -c)" -eq 160000 ] &&
    [ "$(grep -v "krun: " err2 | tr -cd e | wc -c)" -eq $((2 * (102400 - 80001))) ]
'
test_expect_success 'small output is untouched by the default limit' '
    "$KRUN" -n 2 /bin/echo hello >out3 && [ "$(grep -cx hello out3)" -eq 2 ] &&
    ! grep -q "krun: output" out3
'
test_expect_success '--output-limit 0 means no limit; bad values are refused' '
    "$KRUN" -n 1 --output-limit 0 sh -c "head -c 300000 /dev/zero; echo" >out4 &&
    [ "$(wc -c <out4)" -eq 300001 ] &&
    ! "$KRUN" -n 1 --output-limit 2G /bin/true 2>e && grep -q "byte count" e &&
    ! "$KRUN" -n 1 --output-limit 1X /bin/true 2>e
'
test_expect_success 'a task that closes stdout early still reports its output and status' '
    "$KRUN" -n 2 sh -c "exec 1>&-; sleep 0.3; echo late-\$KRUN_RANK >&2; exit 3" >out5 2>err5
    [ $? -eq 3 ] && grep -qx late-0 err5 && grep -qx late-1 err5
'
test_expect_success 'grandchildren left behind by a task that exited are killed' '
    "$KRUN" -n 2 sh -c "sleep 300 & echo \$! >gc.\$KRUN_RANK; echo started" >out6 &&
    [ "$(grep -c started out6)" -eq 2 ] &&
    wait_for 10 sh -c "! kill -0 $(cat gc.0) 2>/dev/null && ! kill -0 $(cat gc.1) 2>/dev/null"
'
cat >stubborn.sh <<'SH'
#!/bin/sh
trap "" TERM
echo $$ >"stubborn.$KRUN_RANK"
while :; do sleep 1; done
SH
chmod +x stubborn.sh
test_expect_success 'on cancel, a task ignoring SIGTERM is killed (SIGKILL after the grace)' '
    rm -f stubborn.*[0-9]
    "$KRUN" -n 2 ./stubborn.sh >out7 2>err7 &
    pid=$!
    wait_for 20 sh -c "[ -s stubborn.0 ] && [ -s stubborn.1 ]" &&
    kill -INT $pid
    wait $pid
    [ $? -eq 130 ] &&
    wait_for 10 sh -c "! kill -0 $(cat stubborn.0) 2>/dev/null && ! kill -0 $(cat stubborn.1) 2>/dev/null"
'
test_expect_success 'each task has a private scratch directory (KRUN_TMPDIR = TMPDIR), emptied after it' '
    "$KRUN" -n 6 sh -c "echo \$KRUN_TMPDIR \$TMPDIR \$(stat -c %a \$KRUN_TMPDIR) \$(pwd) \$(ls -A \$TMPDIR | wc -l); mkdir -p \$TMPDIR/x/y && touch \$TMPDIR/x/y/f \$TMPDIR/.hidden && chmod 500 \$TMPDIR/x && chmod 755 \$TMPDIR" >out9 &&
    cat out9 && [ "$(wc -l <out9)" -eq 6 ] &&
    [ "$(awk "\$1 == \$2 && \$3 == 700 && \$4 == \"$TEST_DIR\" && \$5 == 0" out9 | wc -l)" -eq 6 ] &&
    cut -d" " -f1 out9 | sort -u >scratch-dirs &&
    for d in $(cat scratch-dirs); do
        case $d in "$KRUN_STATE_DIR"/krund/*/slot[01]/tmp) ;; *) exit 1 ;; esac
        wait_for 5 sh -c "[ -d $d ] && [ -z \"\$(ls -A $d)\" ]" || exit 1
    done
'
test_expect_success 'a task that removes its scratch directory: the next task gets a new one' '
    "$KRUN" -n 6 sh -c "[ -d \"\$TMPDIR\" ] && echo ok \$TMPDIR; rm -rf \"\$TMPDIR\"" >out10 &&
    cat out10 && [ "$(grep -c "^ok " out10)" -eq 6 ]
'
test_expect_success 'a task that puts a link in place of its scratch directory: the next task gets a real one, the link target is kept' '
    mkdir -p keep && touch keep/precious &&
    "$KRUN" -n 6 sh -c "[ -d \"\$TMPDIR\" ] && [ ! -L \"\$TMPDIR\" ] && [ -z \"\$(ls -A \"\$TMPDIR\")\" ] && echo ok; touch \"\$TMPDIR/f\"; mv \"\$TMPDIR\" \"\$TMPDIR.old.\$KRUN_RANK\" && ln -s \"$TEST_DIR/keep\" \"\$TMPDIR\"" >out11 &&
    cat out11 && [ "$(grep -cx ok out11)" -eq 6 ] && [ -e keep/precious ]
'
test_expect_success 'the workers serve the next job' '
    "$KRUN" -n 2 /bin/echo next >out8 && [ "$(grep -cx next out8)" -eq 2 ]
'
test_expect_success 'a stopping worker leaves its scratch directories empty (for the next one)' '
    # (A slot whose last task swapped its directory for a link has none
    # until its next task: made here, the stop must empty it all the same.)
    for d in $(cat scratch-dirs); do mkdir -p "$d" && touch "$d/left" || exit 1; done &&
    "$KRUN" down >/dev/null &&
    for d in $(cat scratch-dirs); do
        wait_for 10 sh -c "[ ! -e $d/left ]" || exit 1
        [ -z "$(ls -A "$d")" ] || exit 1
    done
'
test_done
