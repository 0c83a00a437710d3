#!/bin/bash
# The embedded broker leaves by itself: idle_timeout + 60 s after the last
# krun run that used it (its watchdog looks every 30 s).
. "$(dirname "$0")/lib/test-lib.sh"

port=$(broker_free_port)
test_config <<CFG
idle_timeout: 1
local:
  broker_port: $port
  slots: 1
CFG
idle_cleanup () {
    timeout 60 "$KRUN" down >/dev/null 2>&1 || true
    test_cleanup
}
trap idle_cleanup EXIT

broker_gone () { ! process_alive "$bpid"; }
# The epmd started for it (privatebroker.c: AMQP port + 24000) and its
# supervisor leave with it.
epmd=$((port + 24000)); [ $epmd -le 65535 ] || epmd=$((epmd - 64512))
epmd_gone () { ! ss -Hltn "( sport = :$epmd )" | grep -q .; }

test_expect_success 'a run starts the private broker' '
    { "$KRUN" -n 1 /bin/true 2>err && grep -q "started a private RabbitMQ" err &&
        [ -s "$KRUN_STATE_DIR/broker/pid" ]; } ||
    { cat err; tail -n 20 "$KRUN_STATE_DIR/broker/broker.log"; false; }
'
bpid=$(cat "$KRUN_STATE_DIR/broker/pid" 2>/dev/null)
test_expect_success 'the daemon leaves after its idle timeout, the broker (with its epmd and supervisor) after 61 s more' '
    [ -n "$bpid" ] && process_alive "$bpid" &&
    sleep 45 && process_alive "$bpid" &&
    ss -Hltn "( sport = :$epmd )" | grep -q . &&
    wait_for 60 broker_gone && wait_for 10 epmd_gone &&
    wait_for 10 eval "[ ! -e \"$KRUN_STATE_DIR/broker/supervisor.pid\" ]"
'
test_done
