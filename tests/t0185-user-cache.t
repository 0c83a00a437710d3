#!/bin/bash
# Issue 10, item 1: another local user must not be able to make a user's
# krund run their code.  The staged-file cache was /tmp/krun-stage-<uid>,
# accepted whoever had made it, and cached files were run without a hash
# check: an attacker pre-created the victim's directory (mode 0777), put
# their program under the hash of the victim's file, and the victim's next
# run ran it.  Now krund's directory (runtime/userdir.h) is the user's own,
# checked at every use, and a cached file is hashed again once per job.
# Two real users: a victim and an attacker (made here, removed on exit).
. "$(dirname "$0")/lib/test-lib.sh"

if [ "$(id -u)" -ne 0 ] || ! command -v useradd >/dev/null ||
    ! command -v setpriv >/dev/null; then
    echo "1..0 # SKIP needs root, useradd and setpriv to make two real users"
    exit 0
fi

V=krt1v$$
A=krt1a$$
# The shared place, as /tmp: sticky, open to all.  The users' homes are in
# it (TEST_DIR is root's, mode 0700).
SHARED=$(mktemp -d /tmp/krun-t0185.XXXXXX)
chmod 1777 "$SHARED"
# The victim's hand-started krund (tests run in subshells: its PID is kept
# in a file).
VKRUND_PIDFILE=$TEST_DIR/vkrund.pid

user_cleanup () {
    [ -s "$VKRUND_PIDFILE" ] && kill -KILL "$(cat "$VKRUND_PIDFILE")" 2>/dev/null
    if id "$V" >/dev/null 2>&1; then
        as_victim timeout 30 "$KRUN" down >/dev/null 2>&1
        # What the test users still run was started by this test.
        for p in $(ps -o pid= -u "$V,$A" 2>/dev/null); do
            kill -KILL "$p" 2>/dev/null
        done
        wait_for 10 sh -c "! ps -o pid= -u $V,$A >/dev/null"
    fi
    userdel -r "$V" >/dev/null 2>&1
    userdel -r "$A" >/dev/null 2>&1
    rm -rf "$SHARED"
    test_cleanup
}
trap user_cleanup EXIT

useradd -m -d "$SHARED/home-v" -s /bin/sh "$V" &&
    useradd -m -d "$SHARED/home-a" -s /bin/sh "$A" ||
    bail_out "cannot add the test users $V and $A"
VUID=$(id -u "$V")
AUID=$(id -u "$A")
VHOME=$SHARED/home-v
VSTATE=$VHOME/.local/state/krun
BASE=$SHARED/krun-$VUID

test_start_broker

# Run "$@" as the victim (or attacker), in their home, with an environment
# of their own: no KRUN_STATE_DIR, TMPDIR the shared place.
as_user () {
    local user=$1 home=$2
    shift 2
    setpriv --reuid="$user" --regid="$user" --init-groups \
        env -i PATH="$PATH" HOME="$home" TMPDIR="$SHARED" LANG=C \
        KRUN_AMQP_URL="$KRUN_AMQP_URL" KRUN_KRUND="$KRUND" \
        ${ASAN_OPTIONS+ASAN_OPTIONS="$ASAN_OPTIONS"} \
        ${UBSAN_OPTIONS+UBSAN_OPTIONS="$UBSAN_OPTIONS"} \
        sh -c 'cd "$HOME" && exec "$@"' sh "$@"
}
as_victim () { as_user "$V" "$VHOME" "$@"; }
as_attacker () { as_user "$A" "$SHARED/home-a" "$@"; }

# A build tree the test users cannot enter (a 0700 home, CI's mktemp -d):
# they run copies of the two programs from the shared place instead.
if ! as_victim test -x "$KRUN" || ! as_victim test -x "$KRUND"; then
    mkdir -m 755 "$SHARED/bin" && cp "$KRUN" "$KRUND" "$SHARED/bin/" &&
        chmod 755 "$SHARED/bin/krun" "$SHARED/bin/krund" ||
        bail_out "cannot copy krun and krund where the test users can run them"
    KRUN=$SHARED/bin/krun
    KRUND=$SHARED/bin/krund
fi

# The victim's staged script and the job that runs it.
printf 'echo "trusted $(id -un)"\n' >"$VHOME/run.sh"
chown "$V:$V" "$VHOME/run.sh"
HASH=$(sha256sum "$VHOME/run.sh" | cut -d" " -f1)
run_staged () {
    as_victim "$KRUN" -n 2 --stage run.sh sh -c 'sh "$KRUN_STAGED/run.sh"'
}
# The attacker's program, under the hash of the victim's script.
plant () {
    as_attacker sh -c "mkdir -p '$1/stage' && chmod 777 '$1/stage' &&
        { [ ! -O '$1' ] || chmod 777 '$1'; } &&
        printf 'echo \"ATTACKER CODE running as \$(id -un)\"; touch $SHARED/pwned\n' \
            >'$1/stage/$HASH' && chmod 777 '$1/stage/$HASH'"
}
no_attacker_code () {
    ! grep -q ATTACKER out && ! grep -q ATTACKER err && [ ! -e "$SHARED/pwned" ]
}

# The victim's krund started by hand, without KRUN_STATE_DIR: it keeps its
# files in the shared place, $TMPDIR/krun-<uid>.
start_victim_krund () {
    stop_victim_krund
    as_victim "$KRUN" down >/dev/null 2>&1 # any the victim's krun started
    : >"$TEST_DIR/krund-v.log"
    setpriv --reuid="$V" --regid="$V" --init-groups \
        env -i PATH="$PATH" HOME="$VHOME" TMPDIR="$SHARED" \
        KRUN_AMQP_URL="$KRUN_AMQP_URL" KRUN_KEY_FILE="$VSTATE/key" \
        "$KRUND" --idle-timeout 120 >>"$TEST_DIR/krund-v.log" 2>&1 &
    echo $! >"$VKRUND_PIDFILE"
    wait_for 30 grep -q "serving" "$TEST_DIR/krund-v.log"
}
stop_victim_krund () {
    local pid
    if [ -s "$VKRUND_PIDFILE" ]; then
        pid=$(cat "$VKRUND_PIDFILE")
        kill -TERM "$pid" 2>/dev/null
        wait_for 30 eval "! process_alive $pid" || return 1
        rm -f "$VKRUND_PIDFILE"
    fi
}

test_expect_success 'the victim runs a staged job; its krund directory is its own, 0700' '
    { run_staged >out 2>err; rc=$?; } ;
    cat err out && [ $rc -eq 0 ] && [ "$(grep -cx "trusted $V" out)" -eq 2 ] &&
    [ "$(stat -c "%U %a" "$VSTATE/krund")" = "$V 700" ] &&
    [ "$(stat -c "%U %a" "$VSTATE/krund/stage")" = "$V 700" ] &&
    ! as_attacker ls "$VSTATE/krund/stage" &&
    as_victim "$KRUN" down >/dev/null
'

# The victim's daemon refuses each of these jobs, naming the directory and
# what is wrong with it, before any slot fetches or runs anything (issue 11).
test_expect_success 'the attack: another user made $TMPDIR/krun-<uid> (0777) with their program under the hash: refused, not run' '
    plant "$BASE" && [ "$(stat -c %U "$BASE")" = "$A" ] &&
    start_victim_krund &&
    { run_staged >out 2>err; rc=$?; } ;
    cat err out && [ $rc -ne 0 ] && no_attacker_code &&
    want="refusing $BASE: owned by uid $AUID, not by uid $VUID (this user)" &&
    [ "$(grep -c "^krun: job [0-9a-f]*: node .* refused the job: cannot stage: $want$" err)" -eq 1 ] &&
    grep -q "$want" "$TEST_DIR/krund-v.log"
'

test_expect_success 'the victim'\''s own directory left open (0777) and the cached file swapped: refused' '
    rm -rf "$BASE" &&
    as_victim sh -c "mkdir -m 777 $BASE" && plant "$BASE" &&
    start_victim_krund &&
    { run_staged >out 2>err; rc=$?; } ;
    cat err out && [ $rc -ne 0 ] && no_attacker_code &&
    [ "$(grep -c "refused the job: cannot stage: refusing $BASE: mode 0777 lets group or others in (must be 0700)$" err)" -eq 1 ]
'

test_expect_success 'a symbolic link in place of the directory: refused' '
    rm -rf "$BASE" && plant "$SHARED/evil" &&
    as_attacker ln -s "$SHARED/evil" "$BASE" &&
    start_victim_krund &&
    { run_staged >out 2>err; rc=$?; } ;
    cat err out && [ $rc -ne 0 ] && no_attacker_code &&
    [ "$(grep -c "refused the job: cannot stage: refusing $BASE: it is a symbolic link$" err)" -eq 1 ]
'

test_expect_success 'a cache directory of the victim'\''s that is a link ($KRUN_STAGE_DIR): refused' '
    rm -rf "$BASE" "$SHARED/evil" && plant "$SHARED/evil" &&
    stop_victim_krund &&
    as_victim sh -c "mkdir -m 700 $VHOME/cache && ln -s $SHARED/evil/stage $VHOME/cache/stage" &&
    { as_victim env KRUN_STAGE_DIR="$VHOME/cache/stage" "$KRUN" -n 2 --stage run.sh \
        sh -c "sh \"\$KRUN_STAGED/run.sh\"" >out 2>err; rc=$?; } ;
    cat err out && [ $rc -ne 0 ] && no_attacker_code &&
    [ "$(grep -c "refused the job: cannot stage: refusing $VHOME/cache/stage: it is a symbolic link$" err)" -eq 1 ] &&
    as_victim "$KRUN" down >/dev/null
'

test_expect_success 'with the shared place clean, the victim'\''s krund makes its own private directory there' '
    rm -rf "$BASE" "$SHARED/evil" &&
    start_victim_krund &&
    { run_staged >out 2>err; rc=$?; } ;
    cat err out && [ $rc -eq 0 ] && [ "$(grep -cx "trusted $V" out)" -eq 2 ] &&
    [ "$(stat -c "%U %a" "$BASE")" = "$V 700" ] &&
    ! as_attacker ls "$BASE" && no_attacker_code
'

test_expect_success 'a cached file changed in place by its own user is found by its hash and fetched again' '
    f="$BASE/stage/$HASH" &&
    as_victim sh -c "chmod 700 $f && echo \"echo changed\" >$f && chmod 500 $f" &&
    { run_staged >out 2>err; rc=$?; } ;
    cat err out && [ $rc -eq 0 ] && [ "$(grep -cx "trusted $V" out)" -eq 2 ] &&
    ! grep -q changed out &&
    grep "job [0-9a-f]*: $f did not match its hash (changed on this node): fetched again" \
        "$TEST_DIR/krund-v.log" &&
    [ "$(sha256sum "$f" | cut -d" " -f1)" = "$HASH" ]
'

test_expect_success 'a warm rerun hashes nothing again within the job, and runs' '
    { run_staged >out 2>err; rc=$?; } ;
    [ $rc -eq 0 ] && [ "$(grep -cx "trusted $V" out)" -eq 2 ] &&
    [ "$(grep -c "did not match its hash" "$TEST_DIR/krund-v.log")" -eq 1 ]
'

stop_victim_krund
test_done
