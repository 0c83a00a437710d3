#!/bin/bash
# Issue 10, item 8: the scratch and input directories of slots killed with
# kill -9 stayed behind (370 directories, 197 MB in /tmp, some holding rank
# inputs).  Now each slot's files are in its own directory of its daemon's
# (runtime/userdir.h): the slot that replaces a dead one empties it, a
# daemon that starts takes over the directory a dead or stopped daemon of
# its node left (emptied but for its slots' directories, which each slot
# empties), and a daemon that stops empties its own.  Issue 15: the
# directories stay, so that a cold start makes no directory per slot.
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
    wait_for 10 test -d "$KD/a.$pid/slot0" && wait_for 10 test -d "$KD/a.$pid/slot1" &&
    [ "$(stat -c %a "$KD/a.$pid/slot0")" = 700 ] &&
    [ "$(stat -c %a "$KD/a.$pid/slot1")" = 700 ]
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
    wait_for 10 sh -c "[ ! -e $tmp/left ] && [ ! -e $job ]" &&
    grep -q "removed what a dead slot left in $(dirname "$tmp")" "$KRUN_STATE_DIR/krund-a.log" &&
    # Two slot directories, each with at most its (emptied) scratch
    # directory, once the slots have heard that the job ended.
    wait_for 10 sh -c "[ \$(find $KD -mindepth 2 -type d | wc -l) -le 4 ] &&
        [ -z \"\$(find $KD -name job.\*)\" ]" ;
    rc=$? ; after=$(count_dirs) && echo "directories after: $after" && [ $rc -eq 0 ]
'

test_expect_success 'kill -9 of the daemon: the next daemon of the node takes its directory over, emptied' '
    pid=$(daemon_pid a) && old="$KD/a.$pid" && [ -d "$old" ] &&
    slots=$(ps -o pid= --ppid "$pid") && [ -n "$slots" ] &&
    kill -9 "$pid" &&
    # Its slots follow it (PR_SET_PDEATHSIG), and with them its lock.
    wait_for 10 slots_gone $slots &&
    [ -d "$old" ] && echo "left: $(find "$old" | wc -l) entries" &&
    # What a dead daemon may leave: files in a slot directory, the
    # directory of a slot the next daemon does not have, a stray file.
    mkdir -p "$old/slot0/job.x.1" "$old/slot7/job.y.2" &&
    echo data >"$old/slot0/job.x.1/input" && echo data >"$old/stray" &&
    "$KRUN" up && new=$(daemon_pid a) && echo "new daemon: $new" &&
    [ -n "$new" ] && [ "$new" != "$pid" ] &&
    wait_for 10 test -d "$KD/a.$new/slot1" &&
    ls -laR "$KD" && [ ! -e "$old" ] &&
    grep -q "took over the directory a stopped daemon of this node left: $KD/a.$new" \
        "$KRUN_STATE_DIR/krund-a.log" &&
    [ "$(find "$KD" -mindepth 1 -maxdepth 1 -name "a.*" | wc -l)" -eq 1 ] &&
    [ ! -e "$KD/a.$new/slot7" ] && [ ! -e "$KD/a.$new/stray" ] &&
    wait_for 10 sh -c "[ ! -e $KD/a.$new/slot0/job.x.1 ]" &&
    [ "$(stat -c %a "$KD/a.$new/slot0")" = 700 ]
'

test_expect_success 'a daemon that stops empties its directory; the next one takes it over' '
    pid=$(daemon_pid a) && [ -d "$KD/a.$pid" ] &&
    "$KRUN" -n 2 sh -c "echo x >\$TMPDIR/f" &&
    "$KRUN" down >/dev/null &&
    wait_for 20 sh -c "! kill -0 $pid 2>/dev/null" &&
    find "$KD" && [ -d "$KD/a.$pid/slot0" ] &&
    [ -z "$(find "$KD/a.$pid" ! -type d ! -name .lock)" ] &&
    "$KRUN" up && new=$(daemon_pid a) && [ -d "$KD/a.$new/slot0/tmp" ] &&
    [ ! -e "$KD/a.$pid" ] &&
    [ "$(find "$KD" -mindepth 1 -maxdepth 1 -name "a.*" | wc -l)" -eq 1 ]
'

test_done
