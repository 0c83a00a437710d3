# sign.sh - seal message bodies as krun does (docs/protocol.md, Seals),
# independently of krun's code (tests/lib/seal.py, Python's cryptography),
# for tests that forge, replay or read messages (sourced after test-lib.sh).
#
#   seal KEYFILE EXPIRY_US < BODY > SEALED
#   unseal KEYFILE < SEALED > BODY   (fails if the key does not open it)
#   now_us                     current CLOCK_REALTIME in microseconds
#   forge_setup                start the broker, configure one node "a" of
#                              2 slots; sets URL, KEY (the key file), LOG
#                              (the node's daemon log)
#   announce JOB MARKER, task JOB, inject JOB TASKFILE ANNOUNCEFILE
#                              forge a job for node "a" on $URL

now_us () { date +%s%6N; }

seal () { python3 "$KRUN_TOP_SRCDIR/tests/lib/seal.py" seal "$1" "$2"; }
unseal () { python3 "$KRUN_TOP_SRCDIR/tests/lib/seal.py" open "$1"; }

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
    amqp-publish --url="$URL" -e "krun.$(pool_of).control" -r "" <"$3"
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
