#!/bin/bash
# krun against an amqps:// broker (issue 15, item 2): krun itself links no
# OpenSSL and hands the command to krun-tls, which runs it over TLS with the
# daemon it starts (launcher/tlsexec.h); a plain amqp:// run stays krun.
. "$(dirname "$0")/lib/test-lib.sh"

mkdir -p "$TEST_DIR/broker"
broker_tls_listener "$TEST_DIR/broker" ||
    bail_out "cannot make the test certificates: $(tail -n 3 "$TEST_DIR/broker/openssl.log")"
test_start_broker
PLAIN_URL=$KRUN_AMQP_URL
# guest may log in from loopback only: the TLS connections come from there.
TLS_URL="amqps://guest:guest@localhost:$BROKER_TLS_PORT/"
test_config <<CFG
idle_timeout: 120
amqp_cacert: $BROKER_TLS_CA
local:
  slots: 2
CFG

# The program the process PID runs, once it runs: its /proc exe link.
exe_of () {
    local pid=$1 i
    for i in $(seq 50); do
        readlink "/proc/$pid/exe" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
# Whether configure linked krun with librabbitmq's static archive.
static_rabbitmq () {
    grep -q '^RABBITMQ_KRUN_LIBS = .*librabbitmq\.a' "$KRUN_TOP_BUILDDIR/Makefile"
}

if static_rabbitmq; then
    test_expect_success 'krun loads no OpenSSL library; krun-tls and krund do' '
        ldd "$KRUN" >krun.ldd && ! grep -E "libssl|libcrypto" krun.ldd &&
        ldd "$KRUN_TOP_BUILDDIR/launcher/krun-tls" | grep -q libssl &&
        ldd "$KRUND" | grep -q libssl
    '
else
    test_count=$((test_count + 1))
    echo "ok $test_count # SKIP configure found no librabbitmq.a: krun links the shared librabbitmq, and OpenSSL with it"
fi

test_expect_success 'an amqps:// run: ranks run over TLS, through krun-tls' '
    KRUN_AMQP_URL=$TLS_URL "$KRUN" -n 2 "$HELLO" >hello.out 2>hello.err &&
    [ "$(grep -c "^hello from rank" hello.out)" -eq 2 ] &&
    grep -q "^hello from rank 0 " hello.out && grep -q "^hello from rank 1 " hello.out ||
        { cat hello.out hello.err; false; }
'
test_expect_success 'its connections and the daemon'"'"'s are TLS ones' '
    broker_ctl list_connections ssl name >conns &&
    grep -qE "^true[[:space:]]" conns && ! grep -qE "^false[[:space:]]" conns ||
        { cat conns; false; }
'
test_expect_success 'the process of an amqps:// run is krun-tls, of an amqp:// run krun' '
    { KRUN_AMQP_URL=$TLS_URL "$KRUN" -n 1 sleep 3 >/dev/null 2>&1 & } &&
    tls=$! && sleep 1 && exe_of $tls >tls.exe && wait $tls &&
    grep -q "/launcher/krun-tls$" tls.exe &&
    "$KRUN" down >/dev/null &&
    { KRUN_AMQP_URL=$PLAIN_URL "$KRUN" -n 1 sleep 3 >/dev/null 2>&1 & } &&
    plain=$! && sleep 1 && exe_of $plain >plain.exe && wait $plain &&
    grep -q "/launcher/krun$" plain.exe || { cat tls.exe plain.exe; false; }
'
test_expect_success 'krun status over amqps:// sees the daemon' '
    KRUN_AMQP_URL=$TLS_URL "$KRUN" down >/dev/null &&
    KRUN_AMQP_URL=$TLS_URL "$KRUN" -n 1 /bin/true &&
    KRUN_AMQP_URL=$TLS_URL "$KRUN" status >status.out &&
    grep -qE "^$(hostname) +2 " status.out || { cat status.out; false; }
'
test_expect_success 'a CA that did not sign the broker: refused, said (exit 2: the setup), no hang' '
    sed "s|$BROKER_TLS_CA|$BROKER_TLS_OTHER_CA|" "$XDG_CONFIG_HOME/krun/krun.yaml" >other.yaml &&
    test_expect_code 2 env KRUN_AMQP_URL=$TLS_URL timeout 60 "$KRUN" --config other.yaml \
        -n 1 /bin/true 2>bad.err &&
    grep -q "cannot connect to broker amqps://guest:\*\*\*@localhost:$BROKER_TLS_PORT/: .*verification failed" bad.err ||
        { cat bad.err; false; }
'
installed_tls=$(sed -n 's/^libexecdir = //p' "$KRUN_TOP_BUILDDIR/Makefile")
installed_tls=${installed_tls/\$\{exec_prefix\}/$(sed -n 's/^exec_prefix = //p' "$KRUN_TOP_BUILDDIR/Makefile")}
installed_tls=${installed_tls/\$\{prefix\}/$(sed -n 's/^prefix = //p' "$KRUN_TOP_BUILDDIR/Makefile")}/krun/krun-tls
if [ -e "$installed_tls" ]; then
    test_count=$((test_count + 1))
    echo "ok $test_count # SKIP $installed_tls is installed here: a krun without krun-tls beside it would use it"
else
    test_expect_success 'a krun with no krun-tls to hand over to says so, exit 2, nothing started' '
        mkdir -p lone && cp "$KRUN" lone/krun &&
        "$KRUN" down >/dev/null &&
        test_expect_code 2 env KRUN_AMQP_URL=$TLS_URL lone/krun -n 1 /bin/true 2>lone.err &&
        grep -q "the broker is amqps://, which krun hands to krun-tls, and there is none" lone.err &&
        ! ls "$KRUN_STATE_DIR"/krund-*.pid 2>/dev/null || { cat lone.err; false; }
    '
fi
test_done
