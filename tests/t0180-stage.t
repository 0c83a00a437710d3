#!/bin/bash
# --stage FILE with the local provider: the files travel through the broker
# once, each node caches them by content hash, and every task finds them in
# $KRUN_STAGED under the name it was given (a relative path kept).  Mistakes
# are refused before anything is published.
. "$(dirname "$0")/lib/test-lib.sh"

test_start_broker
# The daemons krun starts inherit it: the node's cache for this test.
export KRUN_STAGE_DIR="$TEST_DIR/stage-cache"
mkdir -p data
printf 'alpha\n' >data/in.txt
printf 'beta\n' >top.txt
in_hash=$(sha256sum data/in.txt | cut -d" " -f1)

show='cat "$KRUN_STAGED/data/in.txt" "$KRUN_STAGED/top.txt"'

test_expect_success 'staged files are in $KRUN_STAGED under their names' '
    { "$KRUN" -n 3 --slots 2 --stage data/in.txt --stage "$TEST_DIR/top.txt" \
        sh -c "$show" >out 2>err; rc=$?; } ;
    cat err out && [ $rc -eq 0 ] &&
    grep -q "staged 2 of 2 --stage files through the broker" err &&
    [ "$(grep -c "^alpha$" out)" -eq 3 ] && [ "$(grep -c "^beta$" out)" -eq 3 ]
'

test_expect_success 'the broker holds each file once, in krun.stage.<hash>' '
    broker_ctl list_queues -q name messages >queues && cat queues &&
    grep -E "^krun.stage.$in_hash\s+1$" queues
'

test_expect_success 'the directory is in the node cache; the task runs where krun ran' '
    "$KRUN" -n 1 --stage data/in.txt --stage top.txt \
        sh -c "pwd; echo \"\$KRUN_STAGED\"" >out 2>err &&
    cat out && [ "$(sed -n 1p out)" = "$TEST_DIR" ] &&
    case "$(sed -n 2p out)" in "$KRUN_STAGE_DIR"/files.*) ;; *) false ;; esac &&
    [ -L "$(sed -n 2p out)/data/in.txt" ]
'

test_expect_success 'a warm rerun sends nothing' '
    "$KRUN" -n 2 --stage data/in.txt --stage top.txt sh -c "$show" >out 2>err &&
    cat err && ! grep -q staged err && [ "$(grep -c "^beta$" out)" -eq 2 ]
'

test_expect_success 'a changed file has a new hash: sent again, and the tasks see it' '
    printf "gamma\n" >top.txt &&
    "$KRUN" -n 2 --stage data/in.txt --stage top.txt sh -c "$show" >out 2>err &&
    cat err out && grep -q "staged 1 of 2 --stage files" err &&
    [ "$(grep -c "^gamma$" out)" -eq 2 ] && ! grep -q beta out
'

test_expect_success 'without --stage, KRUN_STAGED is not set' '
    "$KRUN" -n 1 sh -c "echo \"[\${KRUN_STAGED-unset}]\"" >out &&
    grep -qx "\[unset\]" out
'

refused () {
    # $1: expected message; the rest: krun arguments.
    local want=$1; shift
    { "$KRUN" -n 2 "$@" true >out 2>err; rc=$?; } ;
    cat err && [ $rc -ne 0 ] && grep -qF -- "$want" err &&
    no_job_queues
}

test_expect_success 'a missing file is refused before anything is published' '
    refused "--stage nope.txt: No such file or directory" --stage nope.txt
'

test_expect_success 'a directory is refused' '
    refused "--stage data: is a directory" --stage data
'

test_expect_success 'two files that would have the same name are refused' '
    mkdir -p other && echo x >other/top.txt &&
    refused "both would be '\''top.txt'\''" --stage top.txt --stage "$TEST_DIR/other/top.txt"
'

test_expect_success 'a poisoned stage queue (content not matching its hash) fails the ranks' '
    printf "trusted\n" >poison.txt &&
    h=$(sha256sum poison.txt | cut -d" " -f1) &&
    amqp-declare-queue --url="${BROKER_URL%/}" -q "krun.stage.$h" >/dev/null &&
    printf "evil\n" | amqp-publish --url="${BROKER_URL%/}" -r "krun.stage.$h" &&
    { "$KRUN" -n 2 --stage poison.txt sh -c "cat \"\$KRUN_STAGED/poison.txt\"" >out 2>err; rc=$?; } ;
    cat err out && [ $rc -ne 0 ] && ! grep -q evil out &&
    [ "$(grep -c "staged file poison.txt: staged file $h: content does not match its hash" err)" -eq 2 ]
'

# Its daemon refuses the job with the reason (issue 11): one line, and with
# no other node the job ends at once.
test_expect_success 'a node that cannot cache the files refuses the job, saying why' '
    "$KRUN" down >/dev/null &&
    { KRUN_STAGE_DIR="$TEST_DIR/top.txt/cache" "$KRUN" -n 2 --stage data/in.txt \
        true >out 2>err; rc=$?; } ;
    cat err && [ $rc -eq 1 ] &&
    [ "$(grep -c "node .* refused the job: cannot stage: cannot create $TEST_DIR/top.txt/cache: Not a directory$" err)" -eq 1 ] &&
    grep -q "no node left to run it" err
'

test_done
