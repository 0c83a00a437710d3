#!/bin/bash
# The embedded default: no broker, no daemon, no configuration but a port.
# krun starts a private RabbitMQ of the user's own and a local krund, leaves
# both warm, and `krun down` stops them.
. "$(dirname "$0")/lib/test-lib.sh"

port=$(broker_free_port)
test_config <<CFG
idle_timeout: 120
local:
  broker_port: $port
  slots: 2
CFG
embedded_cleanup () {
    timeout 60 "$KRUN" down >/dev/null 2>&1 || true
    test_cleanup
}
trap embedded_cleanup EXIT

test_expect_success 'the first run starts a private broker and a daemon' '
    "$KRUN" -n 2 "$HELLO" >out 2>err; rc=$?; cat err;
    [ $rc = 0 ] || tail -n 20 "$KRUN_STATE_DIR/broker/broker.log"; [ $rc = 0 ] &&
    grep -q "started a private RabbitMQ on 127.0.0.1:$port" err &&
    grep -q "started 1 local worker daemon" err &&
    [ "$(grep -c "^hello from rank" out)" -eq 2 ]
'
test_expect_success 'its state is under the user state directory' '
    [ -f "$KRUN_STATE_DIR/broker/pid" ] && [ -d "$KRUN_STATE_DIR/broker/mnesia" ] &&
    [ "$(stat -c %a "$KRUN_STATE_DIR")" = 700 ] && [ "$(stat -c %a "$KRUN_STATE_DIR/broker")" = 700 ]
'
test_expect_success 'the second run is warm: nothing started' '
    "$KRUN" -n 2 "$HELLO" >out2 2>err2 &&
    ! grep -q started err2 && [ "$(grep -c "^hello from rank" out2)" -eq 2 ]
'
test_expect_success 'krun down stops the daemon and the broker' '
    bpid=$(cat "$KRUN_STATE_DIR/broker/pid") &&
    "$KRUN" down >down &&
    grep -q "stopped 1 local worker daemon" down &&
    grep -q "stopped the private broker" down &&
    wait_for 5 eval "! process_alive $bpid"
'
test_done
