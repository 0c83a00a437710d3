#!/bin/bash
# Bad input: one clear line, a non-zero exit, nothing left behind.
. "$(dirname "$0")/lib/test-lib.sh"
test_start_broker
test_config <<CFG
idle_timeout: 120
local:
  slots: 2
CFG


test_expect_success 'a missing program is refused before anything runs' '
    ! "$KRUN" -n 2 ./no-such-task 2>err &&
    grep -qx "krun: ./no-such-task: No such file or directory" err &&
    no_job_queues
'
test_expect_success 'a program that is not executable is refused' '
    echo "echo hi" >plain.sh &&
    ! "$KRUN" -n 2 ./plain.sh 2>err &&
    grep -qx "krun: ./plain.sh: Permission denied" err
'
test_expect_success 'a command not in PATH is refused' '
    ! "$KRUN" -n 1 no-such-command-krun 2>err &&
    grep -q "no-such-command-krun: command not found in PATH" err
'
test_expect_success '-n 0 and -n abc are refused' '
    ! "$KRUN" -n 0 /bin/true 2>err0 && grep -q "expected an integer >= 1, got .0." err0 &&
    ! "$KRUN" -n abc /bin/true 2>errx && grep -q "got .abc." errx &&
    ! "$KRUN" /bin/true 2>errn && grep -q "\-n N is required" errn
'
test_expect_success 'an unreachable broker is named, its password hidden' '
    ! KRUN_AMQP_URL=amqp://user:s3cret@127.0.0.1:1/ "$KRUN" -n 1 /bin/true 2>err &&
    grep -q "127.0.0.1:1" err && ! grep -q s3cret err && [ "$(wc -l <err)" -eq 1 ]
'
test_expect_success 'a refused login is reported' '
    ! KRUN_AMQP_URL="amqp://guest:wrong@127.0.0.1:$BROKER_PORT/" "$KRUN" -n 1 /bin/true 2>err &&
    grep -q "127.0.0.1:$BROKER_PORT" err && ! grep -q wrong err
'
test_expect_success 'a malformed config file names file, line and key' '
    printf "idle_timeout: 10\nlocal:\n  slots: many\n" >bad.yaml &&
    ! "$KRUN" --config bad.yaml -n 1 /bin/true 2>err &&
    grep -q "bad.yaml:3" err && grep -q "local.slots" err
'
test_expect_success 'an unknown config key is refused' '
    printf "idle_timout: 10\n" >typo.yaml &&
    ! "$KRUN" --config typo.yaml -n 1 /bin/true 2>err &&
    grep -q "typo.yaml:1" err && grep -q "idle_timout" err
'
test_expect_success 'malformed control messages are rejected and the worker keeps serving' '
    "$KRUN" -n 2 /bin/true &&
    pool=$(pool_of) &&
    amqp-publish --url="${BROKER_URL%/}" -e "krun.$pool.control" -r "" -b "this is not json" &&
    amqp-publish --url="${BROKER_URL%/}" -e "krun.$pool.control" -r "" -b "{\"v\":99,\"type\":\"announce\"}" &&
    amqp-publish --url="${BROKER_URL%/}" -e "krun.$pool.presence" -r who -b "{\"v\":1}" &&
    "$KRUN" -n 2 /bin/true &&
    grep -q "control queue: rejected message" "$KRUN_STATE_DIR"/krund-*.log &&
    grep -q "presence queue: rejected message" "$KRUN_STATE_DIR"/krund-*.log
'
# Another program made the pool's presence exchange with another type: the
# launcher declares it (no-wait) before its question, and the broker's
# refusal ends the run, naming the exchange.
test_expect_success 'a presence exchange of another type is named, the run fails' '
    printf "idle_timeout: 120\nlocal:\n  pool: clash\n  slots: 2\n" >clash.yaml &&
    broker_ctl eval "rabbit_exchange:declare(rabbit_misc:r(<<\"/\">>, exchange, <<\"krun.clash.presence\">>), fanout, true, false, false, [], <<\"test\">>)." >/dev/null &&
    broker_ctl list_exchanges name type | grep -q "^krun\.clash\.presence[[:space:]]*fanout" &&
    ! "$KRUN" --config clash.yaml -n 1 /bin/true 2>err && cat err &&
    grep -q "krun.clash.presence" err && grep -q "PRECONDITION_FAILED" err &&
    [ "$(wc -l <err)" -eq 1 ]
'
cat >inject.sh <<'SH'
#!/bin/sh
# Rank 0 puts a bad message on its own job's task queue and stays a while,
# so that another slot takes the bad message before the job ends.
if [ "$KRUN_RANK" = 0 ]; then
    amqp-publish --url="$URL" -r "krun.job.$KRUN_JOB_ID.tasks" -b "garbage"
    sleep 1
fi
exit 0
SH
chmod +x inject.sh
test_expect_success 'a malformed task message is rejected, the job goes on' '
    URL=${BROKER_URL%/} "$KRUN" -n 4 ./inject.sh &&
    grep -q "queue krun.job.*tasks: rejected message" "$KRUN_STATE_DIR"/krund-*.log &&
    "$KRUN" -n 2 /bin/true
'
test_done
