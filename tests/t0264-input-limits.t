#!/bin/bash
# Input that used to be cut, slow or vague: a broker URL longer than the
# daemons could take, deeply nested or very long YAML, an -n beyond range.
. "$(dirname "$0")/lib/test-lib.sh"
test_start_broker
test_config <<CFG
idle_timeout: 120
start_timeout: 5
CFG

# A broker user whose password makes the URL about 5,000 characters long:
# krun itself could log in with it.
PW=$(head -c 2483 /dev/zero | tr "\0" p)q$(head -c 2483 /dev/zero | tr "\0" r)
LONG_URL="amqp://krunlong:$PW@127.0.0.1:$BROKER_PORT/"
broker_ctl add_user krunlong "$PW" >/dev/null 2>&1 &&
    broker_ctl set_permissions -p / krunlong ".*" ".*" ".*" >/dev/null 2>&1 ||
    bail_out "cannot add a broker user"

# No log, message or error output holds a piece of the password.
no_password_in () { ! grep -l "pppppppppppppppp\|rrrrrrrrrrrrrrrr" "$@" 2>/dev/null; }

test_expect_success 'a 5,000-character broker URL: a clear error from krun at once, nothing started' '
    [ ${#LONG_URL} -gt 4900 ] &&
    start=$(date +%s) &&
    test_expect_code 2 env KRUN_AMQP_URL="$LONG_URL" "$KRUN" -n 1 /bin/true 2>err &&
    [ $(( $(date +%s) - start )) -lt 4 ] &&
    cat err &&
    grep -q "^krun: broker URL amqp://krunlong:\*\*\*@127.0.0.1:.* is ${#LONG_URL} bytes long: at most 4096 are accepted (KRUN_AMQP_URL)$" err &&
    ! ls "$KRUN_STATE_DIR"/krund-*.log 2>/dev/null &&
    no_password_in err
'
test_expect_success 'the same in a configuration file names the key and the file' '
    printf "amqp_url: %s\n" "$LONG_URL" >long.yaml &&
    test_expect_code 2 "$KRUN" --config long.yaml status 2>err &&
    grep -q "at most 4096 are accepted (amqp_url in long.yaml)$" err &&
    no_password_in err
'
test_expect_success 'krund refuses it too, the password hidden, and so a URL cut in its password' '
    test_expect_code 1 env KRUN_AMQP_URL="$LONG_URL" KRUN_KEY_FILE=/nonexistent "$KRUND" 2>kerr &&
    grep -q "^krund: broker URL amqp://krunlong:\*\*\*@.* bytes long" kerr &&
    test_expect_code 1 env KRUN_AMQP_URL="${LONG_URL:0:4000}" KRUN_KEY_FILE=/nonexistent "$KRUND" 2>cerr &&
    cat cerr &&
    grep -q "^krund: invalid broker URL amqp://krunlong:\*\*\* " cerr &&
    no_password_in kerr cerr &&
    no_password_in "$KRUN_STATE_DIR"/*.log
'
test_expect_success '100,000 nested brackets in the configuration: refused at once, naming file and line' '
    { printf "idle_timeout: 5\nlocal: "; head -c 100000 /dev/zero | tr "\0" "["; head -c 100000 /dev/zero | tr "\0" "]"; echo; } >deep.yaml &&
    start=$(date +%s) &&
    test_expect_code 2 "$KRUN" --config deep.yaml -n 1 /bin/true 2>err &&
    [ $(( $(date +%s) - start )) -lt 4 ] &&
    grep -qx "krun: deep.yaml:2: nested more than 32 levels deep" err
'
# CPU seconds (user + system) rather than wall time: other builds and tests
# share the machine.  The quadratic loader took 21 s of CPU here, the linear
# one 0.3 s (1.4 s in a sanitizer build).
test_expect_success 'a list of 150,000 nodes loads in linear time (well under 10 s of CPU)' '
    { printf "local:\n  nodes:\n"; seq -f "    - {name: n%g, slots: 1}" 0 149999; } >nodes.yaml &&
    [ "$(grep -c name nodes.yaml)" -eq 150000 ] &&
    test_expect_code 2 /usr/bin/time -f "cpu %U %S" -o cpu.out \
        "$KRUN" --config nodes.yaml -n 1 ./no-such-program 2>err &&
    grep -q "no-such-program: No such file" err &&
    cpu=$(awk "/^cpu/ { printf \"%d\", \$2 + \$3 }" cpu.out) &&
    echo "loaded in $cpu s of CPU" &&
    [ "$cpu" -lt 10 ]
'
test_expect_success '-n 99999999999 is said to be out of range, with the limit' '
    test_expect_code 2 "$KRUN" -n 99999999999 /bin/true 2>err &&
    grep -qx "krun: -n: 99999999999 is out of range: at most 2147483647" err &&
    test_expect_code 2 "$KRUN" --retries 99999999999999999999999 -n 1 /bin/true 2>err &&
    grep -qx "krun: --retries: 99999999999999999999999 is out of range: at most 2147483647" err
'
test_done
