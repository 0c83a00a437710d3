#!/bin/bash
# The private broker krun starts belongs to its user (issue 10 item 2,
# issue 11 items 6 and 7, issue 14 item 11): random credentials instead of
# guest, in a 0600 file and never on a command line; AMQP, Erlang
# distribution and epmd on loopback only; one broker per state directory;
# `krun down` stops what this machine's krun started and nothing else; the
# subcommands take options before and after them.
. "$(dirname "$0")/lib/test-lib.sh"

port=$(broker_free_port)
port2=$(broker_free_port)
while [ "$port2" = "$port" ]; do port2=$(broker_free_port); done
test_config <<CFG
idle_timeout: 120
local:
  broker_port: $port
  slots: 1
CFG
cp "$XDG_CONFIG_HOME/krun/krun.yaml" same.yaml
sed "s/broker_port: $port/broker_port: $port2/" same.yaml >other.yaml
other=krt2t$$
sleeper= squatter= has_other=
private_cleanup () {
    [ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null
    [ -n "$squatter" ] && kill "$squatter" 2>/dev/null && wait "$squatter" 2>/dev/null
    timeout 60 "$KRUN" down >/dev/null 2>&1 || true
    if [ "$(id -u)" = 0 ] && id "$other" >/dev/null 2>&1; then
        userdel -r "$other" >/dev/null 2>&1 || true
    fi
    test_cleanup
}
trap private_cleanup EXIT

# The ports derived from an AMQP port (privatebroker.c).
derived () { local p=$(($1 + $2)); [ $p -le 65535 ] || p=$((p - 64512)); echo $p; }
dist=$(derived "$port" 20000)
epmd=$(derived "$port" 24000)
bdir=$KRUN_STATE_DIR/broker

# The PIDs of this broker: its supervisor, the supervisor's children (epmd
# and the rabbitmq-server script) and beam.
broker_pids () {
    local sup
    sup=$(awk '{ print $1 }' "$bdir/supervisor.pid" 2>/dev/null) || return 0
    echo "$sup"
    ps -o pid= --ppid "$sup" 2>/dev/null
    cat "$bdir/pid" 2>/dev/null
}
# The daemon krun started (its record, see launcher/local/pidfile.h).
our_daemon () { cat "$KRUN_STATE_DIR"/krund-*.pid 2>/dev/null | awk "{ print \$1 }"; }
# Processes that run with this user's broker lock open: its supervisors.
supervisors () {
    local p n=0
    for p in $(pgrep -x krun-broker); do
        ls -l "/proc/$p/fd" 2>/dev/null | grep -q -- "-> $bdir/lock$" && n=$((n + 1))
    done
    echo $n
}
# (Without a trailing slash: amqp-tools would take it as the vhost "".)
private_url () {
    read -r user pass <"$bdir/credentials" && echo "amqp://$user:$pass@127.0.0.1:$port"
}

test_expect_success 'krun status with nothing running says so and exits 0' '
    "$KRUN" status >st 2>&1 && cat st && grep -q "^krun: nothing is running" st
'
test_expect_success 'the first run starts the broker and a daemon, the second reuses them' '
    "$KRUN" -n 1 "$HELLO" >out 2>err && cat err &&
    grep -q "started a private RabbitMQ on 127.0.0.1:$port" err &&
    grep -q "started 1 local worker daemon" err && grep -q "^hello from rank 0" out &&
    "$KRUN" -n 1 "$HELLO" >out2 2>err2 && ! grep -q started err2 &&
    grep -q "^hello from rank 0" out2
'
test_expect_success 'the credentials are a 0600 file of this user in a 0700 directory' '
    [ "$(stat -c %a:%u "$bdir/credentials")" = "600:$(id -u)" ] &&
    [ "$(stat -c %a "$bdir")" = 700 ] && [ "$(stat -c %a "$KRUN_STATE_DIR")" = 700 ] &&
    read -r user pass <"$bdir/credentials" && [ "$user" != guest ] && [ ${#pass} -ge 32 ]
'
# Each case restores the file before it checks, so that a failure leaves
# the broker usable for the next tests.
test_expect_success 'a credentials file others may read, or a symbolic link, is refused' '
    chmod 644 "$bdir/credentials" && r1=0 && { "$KRUN" status >m1 2>&1 || r1=$?; } &&
    chmod 600 "$bdir/credentials" && cat m1 && [ "$r1" = 1 ] &&
    grep -q "broker credentials $bdir/credentials: not a file of this user.s with mode 0600" m1 &&
    mv "$bdir/credentials" "$bdir/credentials.real" &&
    ln -s credentials.real "$bdir/credentials" && r2=0 &&
    { "$KRUN" status >m2 2>&1 || r2=$?; } &&
    rm -f "$bdir/credentials" && mv "$bdir/credentials.real" "$bdir/credentials" &&
    cat m2 && [ "$r2" = 1 ] &&
    grep -q "cannot read the broker credentials $bdir/credentials" m2 &&
    "$KRUN" status >m3 && grep -q "^$(hostname) " m3
'
test_expect_success 'they work, and appear on no command line (krund, broker, epmd)' '
    amqp-declare-queue -u "$(private_url)" -q krun-t0177-probe >/dev/null &&
    amqp-delete-queue -u "$(private_url)" -q krun-t0177-probe >/dev/null &&
    read -r user pass <"$bdir/credentials" &&
    pids=$(broker_pids) && [ -n "$pids" ] &&
    dpid=$(our_daemon) && [ -n "$dpid" ] && process_alive "$dpid" &&
    for p in /proc/[0-9]*; do
        if tr "\0" " " <"$p/cmdline" 2>/dev/null | grep -qF "$pass"; then
            echo "password on the command line of ${p#/proc/}"; exit 1
        fi
    done
'
if [ "$(id -u)" = 0 ] && useradd -M -s /bin/sh "$other" 2>useradd.err; then
    has_other=1
    as_other () { runuser -u "$other" -- "$@"; }
    test_expect_success 'another user: guest/guest and no credentials are refused' '
        ! as_other amqp-declare-queue -u "amqp://guest:guest@127.0.0.1:$port/" -q stolen \
            >g.out 2>&1 && cat g.out && grep -q ACCESS_REFUSED g.out &&
        ! as_other amqp-declare-queue -u "amqp://127.0.0.1:$port/" -q stolen \
            >n.out 2>&1 && cat n.out && grep -q ACCESS_REFUSED n.out &&
        ! as_other cat "$bdir/credentials" >c.out 2>&1 && cat c.out
    '
    # The other user's own krun, with the same port in its configuration:
    # it finds a broker that is not its own and sends it nothing.
    ohome=$(mktemp -d) && chown "$other" "$ohome" && cp same.yaml "$ohome/krun.yaml" &&
        chmod 644 "$ohome/krun.yaml"
    # A build tree the other user cannot enter (CI's mktemp -d): a copy.
    okrun=$KRUN
    if ! as_other test -x "$KRUN"; then
        cp "$KRUN" "$ohome/krun" && chmod 755 "$ohome/krun" && okrun=$ohome/krun
    fi
    test_expect_success "another user's krun status and run: refused, no job listed" '
        ! as_other env HOME="$ohome" KRUN_STATE_DIR="$ohome/state" \
            "$okrun" --config "$ohome/krun.yaml" status >o1 2>&1 && cat o1 &&
        grep -q "answers (listener of user $(id -u)), but this user.s private broker" o1 &&
        ! grep -q "^NODE" o1 &&
        ! as_other env HOME="$ohome" KRUN_STATE_DIR="$ohome/state" \
            "$okrun" --config "$ohome/krun.yaml" -n 1 /bin/true >o2 2>&1 && cat o2 &&
        grep -q "not sending it the broker credentials" o2
    '
    rm -rf "$ohome"
else
    test_count=$((test_count + 2))
    echo "ok $((test_count - 1)) # skip another user: needs root for useradd ($(cat useradd.err 2>/dev/null))"
    echo "ok $test_count # skip another user's krun: needs root for useradd"
fi
test_expect_success 'guest is refused for this user too: the database has no guest' '
    ! amqp-declare-queue -u "amqp://guest:guest@127.0.0.1:$port/" -q stolen >g2.out 2>&1 &&
    grep -q ACCESS_REFUSED g2.out
'
test_expect_success 'AMQP, distribution and epmd listen on loopback only' '
    pids=$(broker_pids) && ss -Hltnp >ss.out &&
    for p in $pids; do grep "pid=$p," ss.out; done | awk "{ print \$4 }" | sort -u >mine &&
    cat mine && grep -qx "127.0.0.1:$port" mine && grep -qx "127.0.0.1:$dist" mine &&
    grep -qx "127.0.0.1:$epmd" mine && ! grep -vE "^(127\.0\.0\.1|\[::1\]):" mine
'
test_expect_success 'a second broker start on the state directory refuses and names the broker' '
    sup=$(awk "{ print \$1 }" "$bdir/supervisor.pid") &&
    test_expect_code 1 "$KRUN" broker start 2>s1 && cat s1 &&
    grep -q "already runs on 127.0.0.1:$port (supervisor pid $sup)" s1 &&
    test_expect_code 1 "$KRUN" broker start --config other.yaml 2>s2 && cat s2 &&
    grep -q "already runs on 127.0.0.1:$port (supervisor pid $sup)" s2 &&
    test_expect_code 1 "$KRUN" --config other.yaml -n 1 /bin/true 2>s3 && cat s3 &&
    grep -q "runs on 127.0.0.1:$port, not on port $port2" s3 &&
    ! ss -Hltn "( sport = :$port2 )" | grep -q . && [ "$(supervisors)" = 1 ]
'
test_expect_success 'options before and after the subcommand: --config X status' '
    "$KRUN" --config same.yaml status >c1 && grep -q "^$(hostname) " c1 &&
    "$KRUN" status --config same.yaml >c2 && grep -q "^$(hostname) " c2 &&
    test_expect_code 2 "$KRUN" status --no-such-option 2>c3 &&
    grep -q "unknown option .--no-such-option." c3 &&
    test_expect_code 2 "$KRUN" status extra 2>c4 && grep -q "unexpected argument .extra." c4
'
# An unrelated local process named krund, whose PID a daemon elsewhere (a
# container, another machine) reports over the broker.
cp /bin/sleep krund && { ./krund 300 & sleeper=$!; }
test_expect_success 'krun down spares a process named krund whose PID came over the broker' '
    wait_for 5 eval "[ \"\$(cat /proc/$sleeper/comm 2>/dev/null)\" = krund ]" &&
    dpid=$(our_daemon) && [ -n "$dpid" ] && process_alive "$dpid" &&
    { "$KRUN_TOP_BUILDDIR/tests/fake-daemon" "$(private_url)" "$(pool_of)" \
        "$KRUN_STATE_DIR/key" elsewhere ghost 1 30 "$sleeper" 2>fake.err & } &&
    wait_for 10 grep -q ready fake.err &&
    "$KRUN" status >st2 && cat st2 && grep -qE "^elsewhere +1 +0 +$sleeper " st2 &&
    "$KRUN" down >down.out && cat down.out &&
    grep -q "stopped 1 local worker daemon" down.out &&
    grep -q "stopped the private broker" down.out &&
    process_alive "$sleeper" && wait_for 15 eval "! process_alive $dpid"
'
test_expect_success 'after krun down no process of the broker remains, epmd included' '
    ! ss -Hltn "( sport = :$port or sport = :$dist or sport = :$epmd )" | grep -q . &&
    [ "$(supervisors)" = 0 ] &&
    ! pgrep -f "epmd -port $epmd" && ! pgrep -f "$bdir" &&
    "$KRUN" status | grep -q "^krun: nothing is running"
'
if [ -n "$has_other" ]; then
    # Another user takes the port before the broker: it gets nothing.
    sq=$(mktemp -d) && chown "$other" "$sq"
    setpriv --reuid="$other" --regid="$(id -g "$other")" --clear-groups \
        socat "TCP-LISTEN:$port2,bind=127.0.0.1,reuseaddr,fork" "OPEN:$sq/got,creat,append" &
    squatter=$!
    test_expect_success 'a port another user listens on gets no credentials' '
        wait_for 10 eval "ss -Hltn \"( sport = :$port2 )\" | grep -q ." &&
        ! "$KRUN" --config other.yaml -n 1 /bin/true 2>q1 && cat q1 &&
        grep -q "127.0.0.1:$port2 answers (listener of user $(id -u "$other"))" q1 &&
        grep -q "not sending it the broker credentials" q1 &&
        ! grep -q "$(cut -d" " -f2 "$bdir/credentials")" "$sq/got" 2>/dev/null &&
        ! [ -s "$sq/got" ]
    '
    kill "$squatter" 2>/dev/null; wait "$squatter" 2>/dev/null; squatter=
    # Another program holds the port of the broker's own epmd (the AMQP port
    # + 24000): epmd exits at once, and the start fails saying so.
    epmd2=$(derived "$port2" 24000)
    setpriv --reuid="$other" --regid="$(id -g "$other")" --clear-groups \
        socat "TCP-LISTEN:$epmd2,bind=127.0.0.1,reuseaddr,fork" /dev/null &
    squatter=$!
    test_expect_success 'the epmd port taken: the start fails at once, naming epmd and its port' '
        wait_for 10 eval "ss -Hltn \"( sport = :$epmd2 )\" | grep -q ." &&
        start=$SECONDS &&
        ! "$KRUN" --config other.yaml -n 1 /bin/true 2>q2 && cat q2 "$bdir/broker.log" &&
        [ $((SECONDS - start)) -lt 30 ] &&
        grep -q "the private broker stopped while starting; see $bdir/broker.log and $bdir/log" q2 &&
        grep -q "epmd exited (wait status 0x[0-9a-f]*) before it listened on 127.0.0.1:$epmd2: is the port taken?" "$bdir/broker.log"
    '
    kill "$squatter" 2>/dev/null; wait "$squatter" 2>/dev/null; squatter=
    rm -rf "$sq"
else
    test_count=$((test_count + 1))
    echo "ok $test_count # skip a port another user listens on: needs root for useradd"
    test_count=$((test_count + 1))
    echo "ok $test_count # skip the epmd port taken by another user: needs root for useradd"
fi
test_expect_success 'krun broker start --config X uses X' '
    "$KRUN" broker start --config other.yaml 2>b1 && cat b1 &&
    grep -q "started a private RabbitMQ on 127.0.0.1:$port2" b1 &&
    "$KRUN" --config other.yaml status >b2 && cat b2 && grep -q "^NODE" b2 &&
    "$KRUN" broker stop --config other.yaml >b3 && grep -q "stopped the private broker" b3
'
test_expect_success 'restarts leave one supervisor (watchdog), not one per start' '
    for i in 1 2 3; do
        "$KRUN" -q broker start 2>/dev/null && [ "$(supervisors)" = 1 ] &&
        "$KRUN" broker stop >/dev/null && [ "$(supervisors)" = 0 ] || exit 1
    done &&
    "$KRUN" -q broker start && "$KRUN" -q broker start 2>/dev/null;
    [ "$(supervisors)" = 1 ] && "$KRUN" broker stop >/dev/null && [ "$(supervisors)" = 0 ]
'
# No broker without its supervisor (and so without the lock), and no
# supervisor without its broker: kill -9 of either takes the rest along.
gone_all () {
    ! process_alive "$1" && ! process_alive "$2" &&
        ! ss -Hltn "( sport = :$port or sport = :$dist or sport = :$epmd )" | grep -q .
}
test_expect_success 'kill -9 of the supervisor: the broker and epmd stop' '
    "$KRUN" -q broker start && sup=$(awk "{ print \$1 }" "$bdir/supervisor.pid") &&
    beam=$(cat "$bdir/pid") && process_alive "$beam" && kill -9 "$sup" &&
    wait_for 30 gone_all "$sup" "$beam" &&
    "$KRUN" status | grep -q "^krun: nothing is running"
'
test_expect_success 'kill -9 of the broker: the supervisor and epmd go, the next run starts anew' '
    "$KRUN" -q broker start && sup=$(awk "{ print \$1 }" "$bdir/supervisor.pid") &&
    beam=$(cat "$bdir/pid") && kill -9 "$beam" && wait_for 30 gone_all "$sup" "$beam" &&
    "$KRUN" -n 1 "$HELLO" >again.out 2>again.err && cat again.err &&
    grep -q "started a private RabbitMQ" again.err && grep -q "^hello from rank 0" again.out
'
test_expect_success 'three krun at once with nothing running: one broker, every daemon stopped by down' '
    "$KRUN" down >/dev/null &&
    for i in 1 2 3; do "$KRUN" -q -n 1 "$HELLO" >par$i.out 2>&1 & done; wait &&
    for i in 1 2 3; do grep -q "^hello from rank 0" par$i.out || { cat par$i.out; exit 1; }; done &&
    [ "$(supervisors)" = 1 ] && started=$(our_daemon) && [ -n "$started" ] &&
    "$KRUN" down >down3.out && cat down3.out &&
    grep -q "stopped $(echo "$started" | wc -l) local worker daemon" down3.out &&
    for p in $started; do wait_for 15 eval "! process_alive $p" || exit 1; done &&
    [ "$(supervisors)" = 0 ]
'
test_done
