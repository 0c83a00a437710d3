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

# A CA that signs the broker's certificate (for "localhost"), and another CA
# that does not.
make_certificates () {
    local dir=$1
    mkdir -p "$dir" &&
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout "$dir/ca.key" -out "$dir/ca.pem" -days 2 -subj "/CN=krun test CA" &&
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout "$dir/server.key" -out "$dir/server.csr" -subj "/CN=localhost" &&
        echo "subjectAltName=DNS:localhost" >"$dir/ext" &&
        openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
            -CAcreateserial -out "$dir/server.pem" -days 2 -extfile "$dir/ext" &&
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout "$dir/other.key" -out "$dir/other.pem" -days 2 -subj "/CN=other CA"
}

TLS_ARGS=()
mkdir -p "$TEST_DIR/broker"
if command -v openssl >/dev/null &&
    make_certificates "$TEST_DIR/tls" >"$TEST_DIR/openssl.log" 2>&1 &&
    TLS_PORT=$(_broker_free_port); then
    cat >"$TEST_DIR/broker/extra.conf" <<CONF
listeners.ssl.default = 127.0.0.1:$TLS_PORT
ssl_options.cacertfile = $TEST_DIR/tls/ca.pem
ssl_options.certfile = $TEST_DIR/tls/server.pem
ssl_options.keyfile = $TEST_DIR/tls/server.key
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false
CONF
    TLS_ARGS=("amqps://guest:guest@localhost:$TLS_PORT/" "$TEST_DIR/tls/ca.pem"
        "$TEST_DIR/tls/other.pem")
fi

if ! broker_start "$TEST_DIR/broker" >"$TEST_DIR/broker-start.log" 2>&1; then
    echo "Bail out! cannot start a private RabbitMQ: $(tail -n 5 "$TEST_DIR/broker-start.log" | tr '\n' ' ')"
    exit 1
fi

# TRANSPORT_CHECK_WRAPPER, e.g. "valgrind --leak-check=full --error-exitcode=9".
${TRANSPORT_CHECK_WRAPPER:-} "$CHECK" "$BROKER_URL" "${TLS_ARGS[@]}"
