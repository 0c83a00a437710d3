#!/bin/bash
# Bad input: arguments and environment with quotes, newlines and bytes that
# are not UTF-8, thousands of arguments; and correctly signed but malformed,
# truncated, oversized or wrong-version messages on the control and task
# queues, which a worker rejects (without requeue), counts, and survives.
. "$(dirname "$0")/lib/test-lib.sh"
. "$KRUN_TOP_SRCDIR/tests/lib/sign.sh"
forge_setup
# Each argument as hex, one per line: any byte difference shows.
DUMP='for a; do printf "%s" "$a" | od -An -tx1 | tr -d " \n"; echo "."; done'

test_expect_success 'warm up (creates the key)' '
    "$KRUN" -n 2 /bin/true
'
test_expect_success 'arguments with quotes, newlines, tabs, backslashes and non-UTF-8 bytes arrive unchanged' '
    set -- "a b" "" "q\"uo'"'"'te" "$(printf "line1\nline2")" "$(printf "\ttab\\\\back")" \
        "$(printf "\377\376 latin1 \351")" "-n" "--" "$(printf "\001\177")" "ünïcödé" &&
    /bin/sh -c "$DUMP" sh "$@" >expected &&
    "$KRUN" -n 1 /bin/sh -c "$DUMP" sh "$@" >got &&
    cmp expected got && [ "$(wc -l <got)" -eq 10 ]
'
test_expect_success 'environment values with newlines and non-UTF-8 bytes arrive unchanged' '
    X1=$(printf "a\nb\377c\"d") && X3="=x=y" && export X1 X3 &&
    /bin/sh -c "$DUMP" sh "$X1" "$X3" >expected &&
    "$KRUN" -n 1 /bin/sh -c "set -- \"\$X1\" \"\$X3\"; $DUMP" sh >got &&
    cmp expected got && [ "$(wc -l <got)" -eq 2 ]
'
test_expect_success '5000 arguments and a 100 kB environment variable' '
    BIG=$(head -c 100000 /dev/zero | tr "\0" b) \
        "$KRUN" -n 2 /bin/sh -c "echo \$# \${#BIG} \$1 \$5000" sh $(seq 1 5000) >out4 &&
    [ "$(grep -cx "5000 100000 1 5000" out4)" -eq 2 ]
'

# job_with_tasks JOB TASKFILES...: a signed announcement of JOB (its valid
# task touches run-JOB) after the given task bodies on its queue.
job_with_tasks () {
    local job=$1 exp
    shift
    exp=$(( $(now_us) + 60000000 ))
    amqp-declare-queue --url="$URL" -q "krun.job.$job.tasks" >/dev/null &&
    amqp-declare-queue --url="$URL" -q "krun.job.$job.results" >/dev/null &&
    for f in "$@"; do amqp-publish --url="$URL" -r "krun.job.$job.tasks" <"$f" || return 1; done &&
    announce "$job" "$TEST_DIR/run-$job" | seal "$KEY" $exp >"ann-$job" &&
    amqp-publish --url="$URL" -e "krun.$(pool_of).control" -r "" <"ann-$job"
}
queue_depth () { broker_ctl list_queues -q name messages 2>/dev/null | awk -v q="$1" '$1 == q { print $2 }'; }
queue_empty () { [ "$(queue_depth "$1")" = 0 ]; }

test_expect_success 'signed but malformed task messages are rejected without requeue; the good one runs' '
    exp=$(( $(now_us) + 60000000 ))
    job=b000000000000001
    printf "{\"v\":1,\"type\":\"task\",\"job\":\"%s\",\"ra" $job | seal "$KEY" $exp >t-trunc &&
    printf "{\"v\":2,\"type\":\"task\",\"job\":\"%s\",\"rank\":0,\"attempt\":1}" $job | seal "$KEY" $exp >t-v2 &&
    printf "{\"v\":1,\"type\":\"task\",\"job\":\"%s\",\"rank\":7,\"attempt\":1}" $job | seal "$KEY" $exp >t-rank &&
    printf "{\"v\":1,\"type\":\"task\",\"job\":\"%s\",\"rank\":0,\"attempt\":1}" $job >t-unsigned &&
    task $job | seal "$KEY" $exp >t-good &&
    job_with_tasks $job t-trunc t-v2 t-rank t-unsigned t-good &&
    wait_for 20 test -e "$TEST_DIR/run-$job" &&
    wait_for 10 queue_empty krun.job.$job.tasks &&
    grep -q "queue krun.job.$job.tasks: rejected message: message is not valid JSON" "$LOG" &&
    grep -q "queue krun.job.$job.tasks: rejected message: message has protocol version 2" "$LOG" &&
    grep -q "queue krun.job.$job.tasks: rejected message: wrong job or rank" "$LOG" &&
    grep -q "queue krun.job.$job.tasks: rejected message: not signed" "$LOG"
'
test_expect_success 'signed but malformed, wrong-version and oversized control messages are rejected' '
    exp=$(( $(now_us) + 60000000 ))
    printf "{\"v\":1,\"type\":\"announce\",\"job\":\"c1\",\"pa" | seal "$KEY" $exp >c-trunc &&
    printf "{\"v\":3,\"type\":\"end\",\"job\":\"c2\"}" | seal "$KEY" $exp >c-v3 &&
    printf "{\"v\":1,\"type\":\"announce\",\"job\":\"c3\"}" | seal "$KEY" $exp >c-missing &&
    printf "{\"v\":1,\"type\":\"who\",\"nonce\":\"n\"}" | seal "$KEY" $exp >c-type &&
    { printf "{\"v\":1,\"type\":\"end\",\"job\":\"c5\"}"; head -c 9000000 /dev/zero | tr "\0" " "; } |
        seal "$KEY" $exp >c-big &&
    for f in c-trunc c-v3 c-missing c-type c-big; do
        amqp-publish --url="$URL" -e "krun.$(pool_of).control" -r "" <$f || exit 1
    done &&
    wait_for 20 grep -q "control queue: rejected message: message of 9000[0-9]* bytes is over the 8388608 byte limit" "$LOG" &&
    grep -q "control queue: rejected message: message is not valid JSON" "$LOG" &&
    grep -q "control queue: rejected message: message has protocol version 3, expected 1" "$LOG" &&
    grep -q "control queue: rejected message: announce message: field .path. missing" "$LOG" &&
    grep -q "control queue: unexpected who message" "$LOG" ||
        { grep "rejected\|unexpected" "$LOG" | cut -c1-200; false; }
'
test_expect_success 'the workers keep serving after all of it' '
    "$KRUN" -n 4 /bin/echo still-here >out7 && [ "$(grep -cx still-here out7)" -eq 4 ] &&
    "$KRUN" status | grep -q "^a "
'
test_done
