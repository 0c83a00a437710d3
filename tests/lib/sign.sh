# sign.sh - seal message bodies as krun does (docs/protocol.md, Signatures),
# independently of krun's code (openssl dgst), for tests that forge or
# replay messages (sourced after test-lib.sh).
#
#   seal KEYFILE EXPIRY_US < BODY > SEALED
#   now_us                     current CLOCK_REALTIME in microseconds
#   forge_setup                start the broker, configure one node "a" of
#                              2 slots; sets URL, KEY (the key file), LOG
#                              (the node's daemon log)
#   announce JOB MARKER, task JOB, inject JOB TASKFILE ANNOUNCEFILE
#                              forge a job for node "a" on $URL

now_us () { date +%s%6N; }

seal () {
    local body mac
    body=$(mktemp "$TEST_DIR/body.XXXXXX")
    cat >"$body"
    mac=$({ printf 'krun-sig-v1 %s\n' "$2"; cat "$body"; } |
        openssl dgst -sha256 -mac HMAC -macopt "key:$(tr -d '\n' <"$1")" -r | cut -d' ' -f1)
    printf 'krun-sig-v1 %s %s\n' "$2" "$mac"
    cat "$body"
    rm -f "$body"
}

# announce JOB MARKER: an announcement of job JOB whose task touches MARKER,
# for both slots of node a.
announce () {
    printf '{"v":1,"type":"announce","job":"%s","path":"/bin/sh","argv":["sh","-c","touch %s"],"env":[],"cwd":"%s","size":1,"results_queue":"krun.job.%s.results","delivery_limit":2,"nodes":[{"name":"a","first_slot":0,"nslots":2,"used":[0,1]}]}' \
        "$1" "$2" "$TEST_DIR" "$1"
}
task () { printf '{"v":1,"type":"task","job":"%s","rank":0,"attempt":1}' "$1"; }

# Put the task (already sealed or not, file $2) on job $1's queue, then
# publish the announcement (file $3) to every slot.
inject () {
    amqp-declare-queue --url="$URL" -q "krun.job.$1.tasks" >/dev/null &&
    amqp-declare-queue --url="$URL" -q "krun.job.$1.results" >/dev/null &&
    amqp-publish --url="$URL" -r "krun.job.$1.tasks" <"$2" &&
    amqp-publish --url="$URL" -e krun.control -r "" <"$3"
}

forge_setup () {
    test_start_broker
    test_config <<CFG
idle_timeout: 300
local:
  nodes:
    - name: a
      slots: 2
CFG
    URL=${BROKER_URL%/}
    KEY="$KRUN_STATE_DIR/key"
    LOG="$KRUN_STATE_DIR/krund-a.log"
}
