#!/bin/bash
# t0010-transport: the AMQP wrapper (runtime/transport.c) against a private
# RabbitMQ, over plain AMQP and over TLS; the checks themselves are in
# runtime/lib/test/transport-check.c, whose TAP output is this test's output.
set -u

: "${KRUN_TOP_SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${KRUN_TOP_BUILDDIR:=$KRUN_TOP_SRCDIR}"

. "$KRUN_TOP_SRCDIR/tests/lib/broker.sh"

CHECK="$KRUN_TOP_BUILDDIR/runtime/lib/test/transport-check"
if [ ! -x "$CHECK" ]; then
    echo "Bail out! $CHECK is not built (make check builds it)"
    exit 1
fi

TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/krun-t0010.XXXXXX")
cleanup () {
    broker_stop
    rm -rf "$TEST_DIR"
}
trap cleanup EXIT

# A TLS listener too, with a CA that signs the broker's certificate (for
# "localhost") and another CA that does not.
TLS_ARGS=()
mkdir -p "$TEST_DIR/broker"
if broker_tls_listener "$TEST_DIR/broker"; then
    TLS_ARGS=("amqps://guest:guest@localhost:$BROKER_TLS_PORT/" "$BROKER_TLS_CA"
        "$BROKER_TLS_OTHER_CA")
fi

if ! broker_start "$TEST_DIR/broker" >"$TEST_DIR/broker-start.log" 2>&1; then
    echo "Bail out! cannot start a private RabbitMQ: $(tail -n 5 "$TEST_DIR/broker-start.log" | tr '\n' ' ')"
    exit 1
fi

# TRANSPORT_CHECK_WRAPPER, e.g. "valgrind --leak-check=full --error-exitcode=9".
${TRANSPORT_CHECK_WRAPPER:-} "$CHECK" "$BROKER_URL" "${TLS_ARGS[@]}"
