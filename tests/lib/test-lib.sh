# test-lib.sh - sourced by the tests/tNNNN-*.t scenarios.
#
# Gives each test a private HOME / state directory, a private RabbitMQ
# (tests/lib/broker.sh) and a TAP producer:
#   test_expect_success 'what' 'shell code'   # passes if the code exits 0
#   test_done                                 # prints the plan, exits
# Everything the test started (broker, daemons) is stopped on EXIT, also
# when the test fails or is interrupted.
set -u

: "${KRUN_TOP_SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${KRUN_TOP_BUILDDIR:=$KRUN_TOP_SRCDIR}"
export KRUN_TOP_SRCDIR KRUN_TOP_BUILDDIR

. "$KRUN_TOP_SRCDIR/tests/lib/broker.sh"

KRUN="$KRUN_TOP_BUILDDIR/launcher/krun"
KRUND="$KRUN_TOP_BUILDDIR/runtime/krund"
HELLO="$KRUN_TOP_BUILDDIR/examples/hello"
export KRUN_KRUND="$KRUND"

TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/krun-test.XXXXXX")
export HOME="$TEST_DIR/home"
export XDG_CONFIG_HOME="$HOME/.config" XDG_STATE_HOME="$HOME/.local/state"
export KRUN_STATE_DIR="$TEST_DIR/state"
mkdir -p "$HOME" "$XDG_CONFIG_HOME/krun"
unset KRUN_CONFIG KRUN_AMQP_URL KRUN_AMQP_CACERT
cd "$TEST_DIR"

test_count=0
test_failures=0

say_color () { printf '%s\n' "$*"; }

test_expect_success () {
    local what=$1 code=$2 out
    test_count=$((test_count + 1))
    out="$TEST_DIR/test-$test_count.out"
    if (eval "$code") >"$out" 2>&1; then
        echo "ok $test_count - $what"
    else
        test_failures=$((test_failures + 1))
        echo "not ok $test_count - $what"
        sed 's/^/#   /' "$out" | tail -n 40
    fi
}

bail_out () {
    echo "Bail out! $*"
    exit 1
}

test_done () {
    echo "1..$test_count"
    [ "$test_failures" -eq 0 ]
    exit $?
}

# Stop what this test started: the local daemons (krun down finds them by
# their presence answers and signals their PIDs), then the broker.
test_cleanup () {
    if [ -n "${BROKER_PID:-}" ]; then
        timeout 30 "$KRUN" down >/dev/null 2>&1 || true
        broker_stop
    fi
    cd /
    rm -rf "$TEST_DIR"
}
trap test_cleanup EXIT

# Start the private broker and point krun at it.
test_start_broker () {
    broker_start "$TEST_DIR/broker" >"$TEST_DIR/broker-start.log" 2>&1 ||
        bail_out "cannot start a private RabbitMQ: $(tail -n 5 "$TEST_DIR/broker-start.log")"
    export KRUN_AMQP_URL="$BROKER_URL"
    # Only krun gets the URL: a task must not find the password elsewhere.
    export -n BROKER_URL
}

# Point krun at a broker user of its own, with a random password
# (TEST_PASSWORD) that no other process of the machine knows: a test can
# then look for it in every process's arguments.  The broker must run.
test_broker_user () {
    local try
    TEST_PASSWORD=pw$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
    # rabbitmqctl can fail while a loaded broker finishes booting: 3 tries.
    for try in 1 2 3; do
        broker_ctl add_user "$1" "$TEST_PASSWORD" >"$TEST_DIR/add-user.err" 2>&1 &&
            break
        [ "$try" = 3 ] || sleep 2
    done
    broker_ctl set_permissions -p / "$1" ".*" ".*" ".*" >>"$TEST_DIR/add-user.err" 2>&1 ||
        bail_out "cannot add the broker user $1: $(tail -n 3 "$TEST_DIR/add-user.err")"
    export KRUN_AMQP_URL="amqp://$1:$TEST_PASSWORD@127.0.0.1:$BROKER_PORT/"
}

# Write the krun configuration file of this test.
test_config () {
    cat >"$XDG_CONFIG_HOME/krun/krun.yaml"
}

# The job ids whose queues the connection agents keep made for the next
# runs (launcher/nextjob.h), one per line; with "ready", only those the
# broker answered for (the next run takes one of them).
made_ahead_ids () {
    awk -v want="${1:-}" 'want == "" || $2 == want { print $1 }' \
        "$KRUN_STATE_DIR"/agent-*.next 2>/dev/null || true
}
# Names of the queues the broker holds (via rabbitmqctl on the private
# node), but for those an agent keeps made for the next run: no run's own.
# Fails (printing nothing) if rabbitmqctl does.
broker_queue_names () {
    local ahead names
    names=$(broker_queue_names_all) || return 1
    ahead=$(made_ahead_ids | tr '\n' '|')
    printf '%s\n' "$names" |
        grep -vE "^(|krun\.job\.(${ahead%|})\.(tasks|results))$" || true
}
# All of them, those made ahead too.
broker_queue_names_all () {
    local names
    names=$(broker_ctl list_queues -q name 2>/dev/null) || return 1
    printf '%s\n' "$names" | grep -v '^name$' || true
}

# Wait until a command succeeds, at most $1 seconds.
wait_for () {
    local limit=$1
    shift
    local i=0
    while ! "$@"; do
        i=$((i + 1))
        [ $i -ge $((limit * 10)) ] && return 1
        sleep 0.1
    done
}

# The pool of key file $1 (default: the state directory's key), computed
# independently of krun (docs/protocol.md, Pools): "k" and the first 16 hex
# digits of HMAC-SHA256(E, "krun-pool"), E = HKDF-SHA256(key, no salt,
# info "krun-sig-v2 AES-256-GCM") as the seals derive it.
pool_of () {
    local key=${1:-$KRUN_STATE_DIR/key} e
    e=$(openssl kdf -keylen 32 -kdfopt digest:SHA256 \
        -kdfopt "key:$(tr -d '\n' <"$key")" -kdfopt "info:krun-sig-v2 AES-256-GCM" HKDF |
        tr -d ':' | tr 'A-F' 'a-f')
    printf 'k%s\n' "$(printf 'krun-pool' |
        openssl dgst -sha256 -mac HMAC -macopt "hexkey:$e" -r | cut -c1-16)"
}

# A free loopback port for the private broker krun starts (local.broker_port).
# krun puts its Erlang distribution on the port + 20000 and its epmd on the
# port + 24000 (launcher/local/privatebroker.c): those must be free too, and
# below the kernel's ephemeral range, or an outgoing connection of another
# test could take one before the broker listens.
broker_free_port () {
    _broker_free_port 1100 8700 20000 24000
}

# True while process $1 runs.  A zombie counts as gone: detached daemons are
# adopted by PID 1, which may reap them late.
process_alive () {
    local state
    state=$(awk '{ sub(/.*\) /, ""); print substr($0, 1, 1) }' "/proc/$1/stat" 2>/dev/null) ||
        return 1
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# Stop process $1, which this test started: SIGTERM, at most 5 s for it to
# go, then SIGKILL; reaped if it is our child.
stop_pid () {
    kill -TERM "$1" 2>/dev/null || return 0
    for _ in $(seq 1 50); do
        process_alive "$1" || break
        sleep 0.1
    done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# True when none of the processes whose PIDs the files DIR/* hold runs.
pids_none_alive () {
    local f
    for f in "$1"/*; do process_alive "$(cat "$f")" && return 1; done
    return 0
}

# True when the broker holds no queue of a job.
# broker_queue_names, trying rabbitmqctl up to 3 times a second apart (it
# can fail for a moment, while a broker restarts or is loaded); fails,
# saying so, if it never answers.
broker_queue_names_sure () {
    local i
    for i in 1 2 3; do
        broker_queue_names && return 0
        sleep 1
    done
    echo "rabbitmqctl could not list the queues (3 tries)" >&2
    return 1
}
# True if the broker holds no job queue (those an agent made ahead for the
# next run left out).  False if rabbitmqctl cannot tell: a check that
# nothing is left must not pass because nothing could be listed.
no_job_queues () {
    local names
    names=$(broker_queue_names_sure) || return 1
    ! printf '%s\n' "$names" | grep -q "^krun\.job\."
}
# True if the broker holds no queue named $1 (false if rabbitmqctl cannot tell).
no_queue_named () {
    local names
    names=$(broker_queue_names_sure) || return 1
    ! printf '%s\n' "$names" | grep -qxF "$1"
}

# Wait at most $1 seconds for our child process $2 to end, then kill it;
# its exit status, or 124 if it had to be killed.
wait_bounded () {
    local i=0
    while process_alive "$2"; do
        i=$((i + 1))
        if [ $i -gt $(($1 * 10)) ]; then
            echo "process $2 still runs after $1 s: killing it"
            kill -9 "$2"
            wait "$2"
            return 124
        fi
        sleep 0.1
    done
    wait "$2"
}

# The timeline $1's blocks of $2 consecutive ranks (rank 0 up), one line
# each: the block, 1 if it ran whole (on one slot, node and slot, each rank
# starting after the one before it ended: a message of several ranks,
# --batch, that was not split) else 0, and the microseconds from its first
# rank's start to the end of its in-order part on that rank's slot.  The
# first rank out of place of each block not whole goes to stderr.
_timeline_blocks () {
    tail -n +2 "$1" | sort -t, -k1,1n | awk -F, -v k="$2" '
        function done_block() { print cur, ok, part_end - first }
        { b = int($1 / k); where = $2 "/" $3 }
        NR == 1 || b != cur {
            if (NR > 1) done_block()
            cur = b; ok = 1; slot = where; first = $8; end = part_end = $9; next
        }
        where != slot || $8 < end { if (ok) print "block " b ": " $0 >"/dev/stderr"; ok = 0 }
        ok { part_end = $9 }
        { end = $9 }
        END { if (NR > 0) done_block() }'
}

# How many blocks of $2 ranks of the timeline $1 ran whole (see
# _timeline_blocks); the first rank out of place of each other to stderr.
whole_blocks () {
    _timeline_blocks "$1" "$2" | awk '$2 == 1 { n++ } END { print n + 0 }'
}

# The blocks of $2 ranks of the timeline $1 that did not run whole were
# split by the rule (docs/protocol.md, "task"): only after their slot had
# run them for $3 ms (krund splits at 100 ms; the message's clock starts a
# little before its first rank's start time), so their in-order part spans
# $3 ms or more.  Fails naming the blocks split too early.
blocks_split_late () {
    _timeline_blocks "$1" "$2" 2>/dev/null | awk -v ms="$3" '
        $2 == 0 && $3 < ms * 1000 { bad++; print "block " $1 ": split after " $3 / 1000 " ms" }
        END { exit bad > 0 }'
}

# The timeline $1 (krun --timeline) has exactly one final result per rank
# for $2 ranks, all with status 0.
timeline_one_result_per_rank () {
    [ "$(tail -n +2 "$1" | wc -l)" -eq "$2" ] &&
    [ "$(tail -n +2 "$1" | cut -d, -f1 | sort -un | wc -l)" -eq "$2" ] &&
    [ "$(tail -n +2 "$1" | cut -d, -f6 | sort -u)" = 0 ]
}

# The output $1 of a job whose tasks print "done rank=R attempt=A" (with
# its timeline in $1.csv) holds every rank of $2 (an attempt killed after
# printing may have printed it twice: output is at-least-once), and the
# timeline has exactly one final result per rank, all with status 0.
one_result_per_rank () {
    [ "$(sed -n 's/^done rank=\([0-9]*\) .*/\1/p' "$1" | sort -un | wc -l)" -eq "$2" ] &&
    timeline_one_result_per_rank "$1.csv" "$2"
}

# Run a command; succeed only if it exits with status $1.
test_expect_code () {
    local want=$1 rc=0
    shift
    "$@" || rc=$?
    [ "$rc" -eq "$want" ] || { echo "exit status $rc, expected $want"; return 1; }
}

# Flags for task programs a test compiles against libkrun: the sanitizers of
# the build, whose runtime must come first in a program that loads a
# sanitized libkrun.
TASK_CFLAGS=$(sed -n 's/^SANITIZER_CFLAGS = //p' "$KRUN_TOP_BUILDDIR/Makefile" 2>/dev/null)
