#!/bin/bash
# Job content is confidential on the broker (issue 10): every message of a
# job is captured as it passes through the broker, and none holds, in
# clear, the job's environment (set with -x or forwarded from krun's own),
# a rank's input, a result's payload or what a task printed, while the job
# itself gets all of them.  The capture is RabbitMQ's firehose (every
# publish and delivery of the vhost, copied to amq.rabbitmq.trace): more
# than an eavesdropping broker user sees, who can bind a queue to
# krun.control or consume a job's queues.
. "$(dirname "$0")/lib/test-lib.sh"
. "$KRUN_TOP_SRCDIR/tests/lib/sign.sh"
capture=
stop_capture () {
    if [ -n "$capture" ]; then
        kill "$capture" 2>/dev/null
        wait "$capture" 2>/dev/null
        capture=
    fi
    return 0
}
trap 'stop_capture; test_cleanup' EXIT
forge_setup

# Distinct secrets, each made here and never written into a command line:
# the task finds them in its environment, its input and a local file.
secret () { printf '%s-%s' "$1" "$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"; }
X_SECRET=$(secret xsecret)
ENV_SECRET=$(secret envsecret)
INPUT_SECRET=$(secret inputsecret)
RESULT_SECRET=$(secret resultsecret)
OUTPUT_SECRET=$(secret outputsecret)
printf '%s\n' "$RESULT_SECRET" >result-secret
printf '%s\n' "$OUTPUT_SECRET" >output-secret
for r in 0 1 2; do printf 'line-%s-%s\n' "$r" "$INPUT_SECRET"; done >inputs

# The task: prints a digest of what it got through the broker (so that the
# secrets do not travel back in clear through its output either), the
# output secret, and returns the result secret with its rank as its
# result (a record on KRUN_CONTROL_FD, docs/protocol.md).
cat >task.sh <<'TASK'
digest () { printf '%s' "$1" | sha256sum | cut -c1-16; }
echo "rank $KRUN_RANK x $(digest "$MY_SECRET_TOKEN") env $(digest "$MY_ENV_SECRET") input $(digest "$(cat "$KRUN_INPUT_FILE")")"
echo "rank $KRUN_RANK says $(cat "$SECRETS/output-secret")"
payload="$(cat "$SECRETS/result-secret")-$KRUN_RANK"
printf "R\\000\\000\\000\\000\\000\\000\\$(printf %03o ${#payload})%s" "$payload" >&"$KRUN_CONTROL_FD"
TASK
digest () { printf '%s' "$1" | sha256sum | cut -c1-16; }

broker_ctl trace_on -p / >/dev/null || bail_out "cannot turn the firehose on"
mkdir cap
"$KRUN_TOP_BUILDDIR/tests/amqp-capture" "$URL" amq.rabbitmq.trace 0 cap/m 300 "#" \
    2>cap.ready &
capture=$!
wait_for 20 grep -q ready cap.ready || bail_out "capture: $(cat cap.ready)"

test_expect_success 'a job with secrets in its environment, inputs and results runs' '
    MY_ENV_SECRET=$ENV_SECRET SECRETS=$TEST_DIR \
        "$KRUN" -x MY_SECRET_TOKEN="$X_SECRET" --inputs inputs --results res \
        --tag-output sh "$TEST_DIR/task.sh" >out 2>err &&
    cat out err
'
# Every message of the job went through the broker before krun exited; the
# firehose's copies follow within moments.
sleep 2
stop_capture
echo "# $(ls cap | wc -l) messages captured, $(grep -l "^krun-sig-v2 " cap/* | wc -l) of them sealed"
test_expect_success 'the firehose captured the job' '
    ls cap | wc -l >count && cat count &&
    [ "$(cat count)" -ge 10 ]
'
test_expect_success 'the job got every secret and returned its results' '
    for r in 0 1 2; do
        grep -qx "\[$r\] rank $r x $(digest "$X_SECRET") env $(digest "$ENV_SECRET") input $(digest "line-$r-$INPUT_SECRET")" out &&
        grep -qx "\[$r\] rank $r says $OUTPUT_SECRET" out &&
        [ "$(cat res/$r)" = "$RESULT_SECRET-$r" ] || { echo "rank $r"; exit 1; }
    done
'
# Presence is sealed too (issue 11): no message of the pool is in clear;
# test 6 finds the presence answers among the opened ones.
test_expect_success 'the capture holds sealed messages only, presence included' '
    ! grep -l -a "\"type\":\"here\"" cap/* &&
    grep -l "^krun-sig-v2 " cap/* >sealed && [ "$(wc -l <sealed)" -ge 10 ]
'
test_expect_success 'no captured byte holds a secret in clear' '
    for s in "$X_SECRET" "$ENV_SECRET" "$INPUT_SECRET" "$RESULT_SECRET" "$OUTPUT_SECRET" \
             MY_SECRET_TOKEN MY_ENV_SECRET task.sh; do
        if grep -l -a -F -e "$s" cap/*; then echo "found in clear: $s"; exit 1; fi
    done
'
test_expect_success 'with the key, the sealed messages hold the secrets (the job was captured)' '
    for f in $(cat sealed); do unseal "$KEY" <"$f" || exit 1; done >opened &&
    grep -a -q -F "MY_SECRET_TOKEN=$X_SECRET" opened &&
    grep -a -q -F "MY_ENV_SECRET=$ENV_SECRET" opened &&
    grep -a -q -F "line-2-$INPUT_SECRET" opened &&
    grep -a -q -F "$RESULT_SECRET-1" opened &&
    grep -a -q -F "says $OUTPUT_SECRET" opened &&
    grep -a -q -F "\"type\":\"here\"" opened
'
test_done
