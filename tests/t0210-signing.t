#!/bin/bash
# Signed job messages: a worker runs only what the launcher's key signed.
# Messages are forged here with amqp-publish, and sealed independently of
# krun's code (tests/lib/seal.py) as docs/protocol.md describes, so that the
# positive control shows the forged ones fail only for the reason tested.
. "$(dirname "$0")/lib/test-lib.sh"
. "$KRUN_TOP_SRCDIR/tests/lib/sign.sh"
. "$KRUN_TOP_SRCDIR/tests/lib/jobs.sh"
trap 'stop_jobs; test_cleanup' EXIT
forge_setup

# Capture the next message of krun.control into file $1.1 in the
# background ($consumer is its PID); return once its queue is bound.
capture_control () {
    rm -f "$1.1" "$1.ready"
    "$KRUN_TOP_BUILDDIR/tests/amqp-capture" "$URL" "krun.$(pool_of).control" 1 "$1" 60 2>"$1.ready" &
    consumer=$!
    wait_for 20 grep -q ready "$1.ready"
}

# How many messages the slots refused so far (the count each log line ends with).
refused () { grep -c "rejected message: .*refused so far" "$LOG"; }

test_expect_success 'the first run creates the key, mode 0600' '
    "$KRUN" -n 2 /bin/true &&
    [ "$(stat -c %a "$KEY")" = 600 ] &&
    [ "$(tr -d "\n" <"$KEY" | wc -c)" -eq 64 ] &&
    grep -qx "[0-9a-f]\{64\}" "$KEY"
'
test_expect_success 'messages on the wire carry the documented seal' '
    capture_control cap1 &&
    "$KRUN" -n 1 /bin/echo first >out1 &&
    wait $consumer &&
    head -n 1 cap1.1 | grep -q "^krun-sig-v2 [0-9]* [0-9a-f]\{48\}$" &&
    ! grep -q "announce" cap1.1 &&
    unseal "$KEY" <cap1.1 >body1 &&
    grep -q "^{\"v\":1,\"type\":\"announce\"" body1 &&
    grep -qx first out1
'
test_expect_success 'an unsigned (forged) job published with amqp-publish runs nothing' '
    before=$(refused)
    announce f0000000000000a1 "$TEST_DIR/pwned-unsigned" >a1 &&
    task f0000000000000a1 >t1 &&
    inject f0000000000000a1 t1 a1 &&
    sleep 3 &&
    [ ! -e "$TEST_DIR/pwned-unsigned" ] &&
    grep -q "control queue: rejected message: not signed" "$LOG" &&
    [ "$(refused)" -ge $((before + 1)) ]
'
test_expect_success 'the same job sealed with the right key does run (control)' '
    exp=$(( $(now_us) + 60000000 ))
    announce f0000000000000a2 "$TEST_DIR/ran-signed" | seal "$KEY" $exp >a2 &&
    task f0000000000000a2 | seal "$KEY" $exp >t2 &&
    inject f0000000000000a2 t2 a2 &&
    wait_for 10 test -e "$TEST_DIR/ran-signed"
'
test_expect_success 'a job sealed with another key runs nothing' '
    head -c 32 /dev/urandom | od -An -tx1 | tr -d " \n" >otherkey &&
    exp=$(( $(now_us) + 60000000 ))
    announce f0000000000000a3 "$TEST_DIR/pwned-wrongkey" | seal otherkey $exp >a3 &&
    task f0000000000000a3 | seal otherkey $exp >t3 &&
    inject f0000000000000a3 t3 a3 &&
    sleep 3 &&
    [ ! -e "$TEST_DIR/pwned-wrongkey" ] &&
    grep -q "control queue: rejected message: bad signature" "$LOG"
'
test_expect_success 'an expired announcement runs nothing' '
    exp=$(( $(now_us) - 1000000 ))
    announce f0000000000000a4 "$TEST_DIR/pwned-expired" | seal "$KEY" $exp >a4 &&
    task f0000000000000a4 | seal "$KEY" $(( $(now_us) + 60000000 )) >t4 &&
    inject f0000000000000a4 t4 a4 &&
    sleep 3 &&
    [ ! -e "$TEST_DIR/pwned-expired" ] &&
    grep -q "control queue: rejected message: signature expired" "$LOG"
'
# seal_v1 KEYFILE EXPIRY_US < BODY: the first version's seal (HMAC-SHA256,
# body in clear), as a krun or krund built before krun-sig-v2 makes it.
seal_v1 () {
    local body mac
    body=$(mktemp "$TEST_DIR/body.XXXXXX")
    cat >"$body"
    mac=$({ printf 'krun-sig-v1 %s\n' "$2"; cat "$body"; } |
        openssl dgst -sha256 -mac HMAC -macopt "key:$(tr -d '\n' <"$1")" -r | cut -d' ' -f1)
    printf 'krun-sig-v1 %s %s\n' "$2" "$mac"
    cat "$body"
    rm -f "$body"
}
test_expect_success 'a job sealed the first way (krun-sig-v1, in clear) runs nothing, and says why' '
    exp=$(( $(now_us) + 60000000 ))
    announce f0000000000000a6 "$TEST_DIR/pwned-v1" | seal_v1 "$KEY" $exp >a6 &&
    task f0000000000000a6 | seal_v1 "$KEY" $exp >t6 &&
    inject f0000000000000a6 t6 a6 &&
    sleep 3 &&
    [ ! -e "$TEST_DIR/pwned-v1" ] &&
    grep -q "control queue: rejected message: sealed with version krun-sig-v1, which this build refuses: it reads krun-sig-v2 only" "$LOG"
'
test_expect_success 'a replayed announcement of a finished job runs nothing' '
    capture_control cap5 &&
    "$KRUN" -n 1 sh -c "echo run >>\"$TEST_DIR/runs\"" &&
    wait $consumer &&
    job=$(unseal "$KEY" <cap5.1 | sed -n "s/.*\"job\":\"\([0-9a-f]*\)\".*/\1/p") &&
    [ -n "$job" ] && [ "$(wc -l <"$TEST_DIR/runs")" -eq 1 ] &&
    task "$job" | seal "$KEY" $(( $(now_us) + 60000000 )) >t5 &&
    inject "$job" t5 cap5.1 &&
    sleep 3 &&
    [ "$(wc -l <"$TEST_DIR/runs")" -eq 1 ] &&
    grep -q "control queue: rejected message: announcement of job $job, which this slot already let go of" "$LOG"
'
test_expect_success 'the workers still serve after the refusals' '
    "$KRUN" -n 4 /bin/echo ok >out6 && [ "$(grep -c "^ok$" out6)" -eq 4 ]
'
# result JOB CODE: a result of rank 0 of JOB that exited with CODE.
result () {
    printf '{"v":1,"type":"result","job":"%s","rank":0,"attempt":1,"node":"a","slot":0,"local":0,"core":-1,"status":"exited","code":%s,"start_us":1795371475334785,"end_us":1795371480336012}' "$1" "$2"
}
test_expect_success 'a forged, unsigned result of a running rank is ignored; the real one counts' '
    start_job fr1 -n 1 sh -c "sleep 3; exit 0" &&
    id=$(job_id fr1) && [ -n "$id" ] &&
    result "$id" 7 | amqp-publish --url="$URL" -r "krun.job.$id.results" &&
    wait_for 20 ended fr1 && cat fr1.err &&
    [ "$(cat fr1.rc)" -eq 0 ] &&
    grep -q "^krun: job $id: ignoring a message on krun.job.$id.results: an unsigned result (forged, or from a krund older than this krun)$" fr1.err
'
test_expect_success 'a result sealed with another key is ignored too' '
    start_job fr2 -n 1 sh -c "sleep 3; exit 0" &&
    id=$(job_id fr2) && [ -n "$id" ] &&
    result "$id" 7 | seal otherkey $(( $(now_us) + 60000000 )) |
        amqp-publish --url="$URL" -r "krun.job.$id.results" &&
    wait_for 20 ended fr2 && cat fr2.err &&
    [ "$(cat fr2.rc)" -eq 0 ] && grep -q "ignoring a message on krun.job.$id.results: .*" fr2.err
'
test_expect_success 'a result of an old krund (krun-sig-v1) is ignored, naming the version' '
    start_job fr4 -n 1 sh -c "sleep 3; exit 0" &&
    id=$(job_id fr4) && [ -n "$id" ] &&
    result "$id" 7 | seal_v1 "$KEY" $(( $(now_us) + 60000000 )) |
        amqp-publish --url="$URL" -r "krun.job.$id.results" &&
    wait_for 20 ended fr4 && cat fr4.err &&
    [ "$(cat fr4.rc)" -eq 0 ] &&
    grep -q "ignoring a message on krun.job.$id.results: sealed with version krun-sig-v1, which this build refuses" fr4.err
'
test_expect_success 'the same result sealed with the right key is taken (control)' '
    start_job fr3 -n 1 sh -c "sleep 3; exit 0" &&
    id=$(job_id fr3) && [ -n "$id" ] &&
    result "$id" 7 | seal "$KEY" $(( $(now_us) + 60000000 )) |
        amqp-publish --url="$URL" -r "krun.job.$id.results" &&
    wait_for 20 ended fr3 && cat fr3.err &&
    [ "$(cat fr3.rc)" -eq 7 ] && ! grep -q "ignoring" fr3.err
'
test_expect_success 'a key file readable by others is refused, naming the file' '
    chmod 644 "$KEY" &&
    ! "$KRUN" -n 1 /bin/true 2>err7 &&
    grep -q "signing key $KEY is accessible by group or others (mode 0644)" err7 &&
    chmod 600 "$KEY"
'
test_expect_success 'krund refuses a 0644 key and a missing KRUN_KEY_FILE' '
    cp "$KEY" k644 && chmod 644 k644 &&
    ! KRUN_KEY_FILE=$PWD/k644 timeout 10 "$KRUND" --node z 2>err8 &&
    grep -q "signing key $PWD/k644 is accessible by group or others" err8 &&
    ! (unset KRUN_KEY_FILE; timeout 10 "$KRUND" --node z) 2>err9 &&
    grep -q "set KRUN_KEY_FILE" err9
'
test_expect_success 'a read-only key (0400, as a mounted Secret) is accepted by krun and krund' '
    "$KRUN" down >/dev/null &&
    cp "$KEY" k400 && chmod 400 k400 &&
    KRUN_KEY_FILE=$PWD/k400 "$KRUN" -n 2 /bin/echo ro >out10 2>err10 &&
    [ "$(grep -c "^ro$" out10)" -eq 2 ] &&
    grep -q "started 1 local worker daemon" err10
'
test_expect_success 'KRUN_KEY_FILE naming a missing file is an error, not a new key' '
    ! KRUN_KEY_FILE=$PWD/nokey "$KRUN" -n 1 /bin/true 2>err11 &&
    grep -q "cannot open signing key $PWD/nokey" err11 && [ ! -e nokey ]
'
test_done
