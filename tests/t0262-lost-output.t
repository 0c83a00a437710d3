#!/bin/bash
# No result or output lost without a non-zero exit: --results and
# --output-dir on a read-only or full file system, stdout that cannot be
# written.  Needs root (mount -t tmpfs); the mounts go in the trap.
. "$(dirname "$0")/lib/test-lib.sh"
if [ "$(id -u)" -ne 0 ]; then
    echo "1..0 # SKIP mounting tmpfs needs root"
    exit 0
fi
MOUNTS=()
lost_cleanup () {
    for m in "${MOUNTS[@]}"; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
    test_cleanup
}
trap lost_cleanup EXIT
# A tmpfs of $2 (mount options $3) at $1.
tmpfs_at () {
    mkdir -p "$1" && mount -t tmpfs -o "$3,size=$2" tmpfs "$1" && MOUNTS+=("$TEST_DIR/$1")
}
test_start_broker
test_config <<CFG
idle_timeout: 120
local:
  slots: 4
CFG
EX="$KRUN_TOP_BUILDDIR/examples"
tmpfs_at ro 64k ro || bail_out "cannot mount a read-only tmpfs"
tmpfs_at small 64k rw || bail_out "cannot mount a tmpfs"
tmpfs_at small2 64k rw || bail_out "cannot mount a tmpfs"

# No task queue was declared, no daemon started: nothing ran.
nothing_ran () { no_job_queues && ! ls "$KRUN_STATE_DIR"/krund-*.log 2>/dev/null; }

test_expect_success '--results on a read-only file system: refused before anything runs, naming it' '
    seq 1 4 >params &&
    test_expect_code 2 "$KRUN" --inputs params --results ro "$EX/sweep" 2>err &&
    cat err &&
    grep -q "^krun: --results: cannot write files in ro: Read-only file system$" err &&
    nothing_ran
'
test_expect_success '--output-dir on a read-only file system: refused too, also for a missing subdirectory' '
    test_expect_code 2 "$KRUN" -n 2 --output-dir ro /bin/true 2>err &&
    grep -q "^krun: --output-dir: cannot write files in ro: Read-only file system$" err &&
    test_expect_code 2 "$KRUN" -n 2 --output-dir ro/sub /bin/true 2>err2 &&
    grep -q "cannot make the directory ro/sub: Read-only file system" err2 &&
    nothing_ran
'
test_expect_success '--results filling up mid-run: non-zero exit, the ranks named' '
    seq 1 60 >params60 &&
    test_expect_code 74 "$KRUN" --inputs params60 --results small "$EX/sweep" 2>err &&
    cat err &&
    written=$(ls small | wc -l) &&
    [ "$written" -lt 60 ] &&
    grep -q "No space left on device" err &&
    grep -q "^krun: the result to --results failed for $((60 - written)) ranks: [0-9]" err &&
    # every rank without its file is named, and only those
    lost=$(sed -n "s/^krun: the result to --results failed for [0-9]* ranks: //p" err) &&
    for r in $(seq 0 59); do
        in_list=false
        for part in ${lost//,/ }; do
            lo=${part%-*} hi=${part#*-}
            [ "$r" -ge "$lo" ] && [ "$r" -le "$hi" ] && in_list=true
        done
        if [ -e "small/$r" ] && [ "$(cat small/$r)" = "$(( (r + 1) * (r + 1) ))" ]; then
            [ $in_list = false ] || { echo "rank $r written but named"; exit 1; }
        else
            [ $in_list = true ] || { echo "rank $r lost but not named"; exit 1; }
        fi
    done
'
test_expect_success '--output-dir filling up mid-run: non-zero exit, the ranks named' '
    test_expect_code 74 "$KRUN" -n 8 --output-dir small2 sh -c "head -c 20000 /dev/zero" 2>err &&
    cat err &&
    grep -q "^krun: the output to --output-dir failed for [0-9]* ranks\?: [0-9]" err
'
test_expect_success 'lost output folds like a rank status: 74 over exit 9, a signal (137) over 74' '
    rm -f small2/* &&
    test_expect_code 74 "$KRUN" -n 8 --output-dir small2 sh -c "head -c 20000 /dev/zero; exit 9" 2>/dev/null &&
    rm -f small2/* &&
    test_expect_code 137 "$KRUN" -n 8 --output-dir small2 sh -c "head -c 20000 /dev/zero; kill -9 \$\$" 2>err &&
    grep -q "^krun: the output to --output-dir failed" err
'
test_expect_success 'stdout that cannot be written (/dev/full): non-zero exit, the ranks named' '
    test_expect_code 74 "$KRUN" -n 3 echo hello >/dev/full 2>err &&
    cat err &&
    grep -q "cannot write its output to stdout: No space left on device" err &&
    grep -q "^krun: the output to stdout failed for 3 ranks: 0-2$" err
'
test_expect_success 'a job whose output is written exits 0' '
    "$KRUN" -n 3 echo hello >out && [ "$(grep -c hello out)" -eq 3 ]
'
test_done
