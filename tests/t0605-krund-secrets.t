#!/bin/bash
# krund --secrets-stdin, --detach and --stop: how the ssh and Slurm
# providers start a daemon on another machine without putting the broker
# URL or the key on a command line or in a file.
. "$(dirname "$0")/lib/test-lib.sh"
test_start_broker
test_broker_user krunsecrets
PASSWORD=$TEST_PASSWORD
umask 077
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >key
export KRUN_KEY_FILE=$TEST_DIR/key
secrets () { printf '%s\n' "$KRUN_AMQP_URL"; cat key; }
# The daemon krund --detach reported in out: "krund pid PID start TICKS log PATH".
detached_pid () { awk '$1 == "krund" && $2 == "pid" { print $3 }' "$1"; }
detached_id () { awk '$1 == "krund" && $2 == "pid" { print $3 ":" $5 }' "$1"; }
# Whatever a failed test left running: the detached daemon (by the pid and
# start time it reported) and the foreground one.
cleanup () {
    [ -f d1.out ] && "$KRUND" --stop "$(detached_id d1.out)" >/dev/null 2>&1
    [ -f foreground.pid ] && kill "$(cat foreground.pid)" 2>/dev/null
    test_cleanup
}
trap cleanup EXIT
node_up () { "$KRUN" status 2>/dev/null | grep -q "^$1 "; }

test_expect_success 'krund --secrets-stdin --detach: starts, leaves, says its pid' '
    secrets | env -u KRUN_AMQP_URL -u KRUN_KEY_FILE "$KRUND" --secrets-stdin --detach \
        --node remote1 --slots 1 >d1.out 2>d1.err &&
    cat d1.out && grep -qE "^krund pid [0-9]+ start [0-9]+ log /.*/krund-remote1\.log$" d1.out &&
    pid=$(detached_pid d1.out) && process_alive "$pid" &&
    [ "$(ps -o sid= -p "$pid" | tr -d " ")" = "$pid" ] &&
    wait_for 20 node_up remote1
'
test_expect_success 'neither the URL nor the key is in any process argument or environment' '
    pid=$(detached_pid d1.out) && key=$(cat key) &&
    for p in $pid $(pgrep -P "$pid"); do
        tr "\0" "\n" </proc/$p/cmdline >args && tr "\0" "\n" </proc/$p/environ >env &&
        ! grep -qF "$PASSWORD" args env && ! grep -qF "$key" args env ||
            { echo "process $p shows a secret"; return 1; }
    done &&
    ! ps -eo args | grep -F "$PASSWORD" | grep -v grep
'
test_expect_success 'krund --stop PID:TICKS of another start time signals nothing' '
    pid=$(detached_pid d1.out) &&
    "$KRUND" --stop "$pid:1" >stop1.out && grep -q "^krund: pid $pid: not running$" stop1.out &&
    process_alive "$pid"
'
test_expect_success 'krund --stop PID:TICKS stops it' '
    pid=$(detached_pid d1.out) &&
    "$KRUND" --stop "$(detached_id d1.out)" >stop2.out && cat stop2.out &&
    grep -q "^krund: stopped pid $pid$" stop2.out && ! process_alive "$pid"
'
test_expect_success 'krund --stop of a process that is not krund refuses' '
    sleep 60 & sleeper=$!
    ticks=$(awk "{ print \$22 }" /proc/$sleeper/stat) &&
    test_expect_code 1 "$KRUND" --stop "$sleeper:$ticks" 2>stop3.err &&
    grep -q "runs .*sleep, not krund: not stopped" stop3.err && process_alive "$sleeper"
    rc=$?; kill $sleeper; wait $sleeper 2>/dev/null; [ $rc -eq 0 ]
'
test_expect_success 'secrets without a key: exit 1 with the reason, no daemon' '
    printf "%s\n" "$KRUN_AMQP_URL" | test_expect_code 1 "$KRUND" --secrets-stdin --detach \
        --node remote2 >d2.out 2>d2.err &&
    grep -q "^krund: the key on standard input has 0 bytes, expected 32 to 4096$" d2.err &&
    ! grep -q "krund pid" d2.out && ! grep -qF "$PASSWORD" d2.err
'
test_expect_success 'no secrets at all: exit 1' '
    test_expect_code 1 "$KRUND" --secrets-stdin --node remote3 </dev/null 2>d3.err &&
    grep -q "^krund: no broker URL line in the 0 bytes of secrets on standard input$" d3.err
'
test_expect_success 'without --detach, the daemon stays in the foreground (as under srun)' '
    "$KRUND" --secrets-stdin --node remote4 --slots 1 < <(secrets) >d4.out 2>&1 &
    pid=$! && echo "$pid" >foreground.pid &&
    wait_for 20 node_up remote4 && process_alive "$pid" &&
    kill -TERM "$pid" && wait_for 20 eval "! process_alive $pid"
'
test_done
