#!/bin/bash
# The status line: forced with --progress (stderr is not a terminal here),
# absent otherwise; krun_progress() fractions reach the launcher.
. "$(dirname "$0")/lib/test-lib.sh"
test_start_broker
test_config <<CFG
idle_timeout: 120
local:
  slots: 2
CFG
EX="$KRUN_TOP_BUILDDIR/examples"

test_expect_success 'no status line when stderr is not a terminal' '
    "$KRUN" -n 4 "$EX/progress" 2 10 >out 2>err &&
    [ "$(grep -c "steps done" out)" -eq 4 ] &&
    ! grep -q " done, .* running" err
'
test_expect_success '--progress forces it: final line with the counts and busy slots' '
    "$KRUN" -n 6 --progress "$EX/progress" 10 250 >out 2>err &&
    [ "$(grep -c "steps done" out)" -eq 6 ] &&
    tail -n 1 err | grep -q "^krun: 6/6 done, 0 running, 0 failed, 0 queued | 100% | [0-9.]* tasks/s | ETA 0:00 | $(hostname) 0/2$"
'
test_expect_success 'while it runs, the line shows running ranks and their node busy' '
    grep -q "^krun: [0-5]/6 done, [12] running, 0 failed, [0-5] queued .* | $(hostname) [12]/2$" err
'
test_expect_success 'krun_progress() fractions reach the status line' '
    "$KRUN" -n 1 --progress "$EX/progress" 2 1500 >/dev/null 2>errh &&
    grep -q "^krun: 0/1 done, 1 running, 0 failed, 0 queued | 50% | " errh &&
    tail -n 1 errh | grep -q "^krun: 1/1 done, .* | 100% | "
'
test_expect_success 'failed ranks are counted' '
    test_expect_code 1 "$KRUN" -n 3 --progress /bin/sh -c "exit \$((KRUN_RANK % 2))" 2>errf &&
    grep -q "^krun: 3/3 done, 0 running, 1 failed, 0 queued" errf &&
    tail -n 1 errf | grep -qx "krun: 1 of 3 ranks failed: 1"
'
test_expect_success '--progress wins over --quiet; --quiet alone has none' '
    "$KRUN" -n 1 -q --progress true 2>errq1 && grep -q "1/1 done" errq1 &&
    "$KRUN" -n 1 -q true 2>errq2 && ! grep -q "done," errq2
'
test_expect_success 'on a terminal: one line redrawn in place (\r, erase to end of line)' '
    command -v script >/dev/null || { echo "script(1) missing"; exit 1; }
    script -qec "\"$KRUN\" -n 4 \"$EX/progress\" 3 100 >/dev/null" typescript >/dev/null &&
    grep -q "$(printf "\\r")krun: 4/4 done" typescript &&
    grep -q "$(printf "\\033")\[K" typescript
'
test_expect_success 'into a log: a line when the counts change, at most every 2 s' '
    "$KRUN" -n 1 --progress sleep 6 2>errl &&
    grep -c " done, " errl >count &&
    [ "$(cat count)" -le 4 ] && tail -n 1 errl | grep -q "^krun: 1/1 done"
'
test_expect_success 'on an 80-column terminal every frame keeps the counts and the ETA' '
    script -qec "stty cols 80; \"$KRUN\" -n 300 sh -c \"echo \\\$KRUN_RANK; sleep 0.02\"" wide >/dev/null &&
    tr "\\r" "\\n" <wide | grep "^krun: [0-9]*/300 done" >frames &&
    [ "$(grep -c "$(printf "\\033")\\[K$" frames)" -ge 3 ] &&
    sed -e "\$d" -e "s/$(printf "\\033")\\[K\$//" frames >redrawn &&
    awk "length > 79 || !/ done, .* failed.* \\| ETA [0-9?]/ { bad = 1; print } END { exit bad }" redrawn &&
    [ "$(tr "\\r" "\\n" <wide | sed "s/^$(printf "\\033")\\[K//" | grep -c "^[0-9][0-9]*$")" -eq 300 ]
'
test_expect_success 'on a narrow terminal redrawn lines are cut to its width, the last is whole' '
    script -qec "stty cols 30; \"$KRUN\" -n 4 \"$EX/progress\" 3 200 >/dev/null" narrow >/dev/null &&
    tr "\\r" "\\n" <narrow | grep "^krun: .*$(printf "\\033")\[K$" >redrawn &&
    [ "$(wc -l <redrawn)" -ge 2 ] &&
    sed -e "\$d" -e "s/$(printf "\\033")\[K\$//" redrawn |
        awk "length > 29 { bad = 1 } END { exit bad }" &&
    tr "\\r" "\\n" <narrow |
        grep -q "^krun: 4/4 done, 0 running, 0 failed, 0 queued | 100% | .* | $(hostname) 0/2"
'
test_done
