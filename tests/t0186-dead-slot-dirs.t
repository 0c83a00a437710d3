#!/bin/bash
# Issue 10, item 8: the scratch and input directories of slots killed with
# kill -9 stayed behind (370 directories, 197 MB in /tmp, some holding rank
# inputs).  Now each slot's files are in its own directory of its daemon's
# (runtime/userdir.h): the slot that replaces a dead one removes it, a
# daemon that starts removes what dead daemons of its node left, and a
# daemon that stops removes its own.
. "$(dirname "$0")/lib/test-lib.sh"
test_start_broker
test_config <<CFG
idle_timeout: 300
local:
  nodes:
    - name: a
      slots: 2
CFG

KD=$KRUN_STATE_DIR/krund
daemon_pid () { "$KRUN" status | awk -v n="$1" '$1 == n { print $4 }'; }
# Directories below the daemons' (slot directories and what is in them).
count_dirs () { find "$KD" -mindepth 2 -type d | wc -l; }

slots_gone () {
    local p
    for p in "$@"; do process_alive "$p" && return 1; done
    return 0
}

# Each rank notes its slot, scratch directory and input file, leaves files
# in both, and the first attempt waits to be killed.
cat >work.sh <<'SH'
#!/bin/sh
mkdir -p "$TMPDIR/left/behind" && head -c 1000000 /dev/zero >"$TMPDIR/left/behind/big"
cp "$KRUN_INPUT_FILE" "$(dirname "$KRUN_INPUT_FILE")/copy"
echo "$PPID $TMPDIR $KRUN_INPUT_FILE" >"where.$KRUN_RANK.$KRUN_ATTEMPT.tmp"
mv "where.$KRUN_RANK.$KRUN_ATTEMPT.tmp" "where.$KRUN_RANK.$KRUN_ATTEMPT"
[ "$KRUN_ATTEMPT" -gt 1 ] || sleep 10
echo "rank $KRUN_RANK attempt $KRUN_ATTEMPT input $(cat "$KRUN_INPUT_FILE")"
SH
chmod +x work.sh
printf 'zero\none\n' >in.txt

test_expect_success 'a daemon keeps its slots'\'' files in its own private directory' '
    "$KRUN" up && pid=$(daemon_pid a) && [ -n "$pid" ] &&
    [ "$(stat -c %a "$KD/a.$pid")" = 700 ] &&
    wait_for 10 test -d "$KD/a.$pid/slot1" &&
    [ "$(stat -c %a "$KD/a.$pid/slot0")" = 700 ]
'

test_expect_success 'kill -9 of a slot running a rank: the slot that replaces it removes its directories' '
    "$KRUN" --inputs in.txt ./work.sh >out1 2>err1 &
    krun_pid=$! &&
    wait_for 30 sh -c "[ -s where.0.1 ] && [ -s where.1.1 ]" &&
    read -r slot tmp input <where.0.1 &&
    job=$(dirname "$input") &&
    [ -d "$tmp/left/behind" ] && [ -e "$job/copy" ] &&
    before=$(count_dirs) && echo "directories before: $before" &&
    kill -9 "$slot" &&
    wait $krun_pid && cat err1 out1 &&
    grep -qx "rank 0 attempt 2 input zero" out1 &&
    wait_for 10 sh -c "[ ! -e $tmp ] && [ ! -e $job ]" &&
    grep -q "removed $(dirname "$tmp"), left by a dead slot" "$KRUN_STATE_DIR/krund-a.log" &&
    # Two slot directories, each with at most its (emptied) scratch
    # directory, once the slots have heard that the job ended.
    wait_for 10 sh -c "[ \$(find $KD -mindepth 2 -type d | wc -l) -le 4 ] &&
        [ -z \"\$(find $KD -name job.\*)\" ]" ;
    rc=$? ; after=$(count_dirs) && echo "directories after: $after" && [ $rc -eq 0 ]
'

test_expect_success 'kill -9 of the daemon: the next daemon of the node removes its directory' '
    pid=$(daemon_pid a) && old="$KD/a.$pid" && [ -d "$old" ] &&
    slots=$(ps -o pid= --ppid "$pid") && [ -n "$slots" ] &&
    kill -9 "$pid" &&
    # Its slots follow it (PR_SET_PDEATHSIG), and with them its lock.
    wait_for 10 slots_gone $slots &&
    [ -d "$old" ] && echo "left: $(find "$old" | wc -l) entries" &&
    "$KRUN" up && new=$(daemon_pid a) && echo "new daemon: $new" &&
    [ -n "$new" ] && [ "$new" != "$pid" ] &&
    ls -la "$KD" && [ ! -e "$old" ] && [ -d "$KD/a.$new" ] &&
    grep -q "removed 1 directory left by dead daemons of this node" \
        "$KRUN_STATE_DIR/krund-a.log" &&
    [ "$(find "$KD" -mindepth 1 -maxdepth 1 -name "a.*" | wc -l)" -eq 1 ]
'

test_expect_success 'a daemon that stops removes its directory' '
    pid=$(daemon_pid a) && [ -d "$KD/a.$pid" ] &&
    "$KRUN" down >/dev/null &&
    wait_for 20 sh -c "[ ! -e $KD/a.$pid ]" &&
    [ -z "$(find "$KD" -mindepth 1 -maxdepth 1 -name "a.*")" ]
'

test_done
