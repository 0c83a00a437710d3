#!/bin/bash
# Kubernetes provider: staging.  A program that only the launcher has is
# sent once through the broker, cached by content hash in each pod's work
# dir, and not sent again on a warm rerun; --no-stage runs a path as is.
# Files named with --stage travel the same way, and the tasks run in the
# directory where they are, under the names they were given.
. "$(dirname "$0")/lib/test-lib.sh"
. "$KRUN_TOP_SRCDIR/tests/lib/kube.sh"

test_start_broker
kube_start
kube_config </dev/null

mkdir -p "$TEST_DIR/launcher-only"
printf '#!/bin/sh\necho "rank $KRUN_RANK ran $0 v1"\n' >"$TEST_DIR/launcher-only/task.sh"
chmod +x "$TEST_DIR/launcher-only/task.sh"
hash=$(sha256sum "$TEST_DIR/launcher-only/task.sh" | cut -d" " -f1)

test_expect_success 'cold run: the program is staged and runs from the pod cache' '
    { (cd launcher-only && "$KRUN" -n 6 ./task.sh >../out 2>../err); rc=$?; } ;
    cat err out && [ $rc -eq 0 ] &&
    grep -q "staged $TEST_DIR/launcher-only/task.sh (sha256 ${hash:0:12}) through the broker" err &&
    [ "$(grep -c "^rank .* ran $KUBE_DIR/pod-krun-tester-node-[ab]-[0-9a-f]*\.[^/]*/work/.krun-stage/$hash v1$" out)" -eq 6 ]
'

test_expect_success 'the broker holds it once, in krun.stage.<hash>' '
    broker_ctl list_queues -q name messages | grep -E "^krun.stage.$hash\s+1$"
'

test_expect_success 'the cache file is the program, mode 0500 (tasks cannot write it)' '
    f=$(ls "$KUBE_DIR"/pod-*/work/.krun-stage/$hash | head -n 1) &&
    cmp "$f" launcher-only/task.sh &&
    [ "$(stat -c %a "$f")" = 500 ]
'

test_expect_success 'warm rerun: nothing is sent again' '
    (cd launcher-only && "$KRUN" -n 4 ./task.sh >../out 2>../err) &&
    cat err &&
    ! grep -q staged err &&
    [ "$(grep -c "v1$" out)" -eq 4 ]
'

test_expect_success 'a changed program has a new hash and is staged again' '
    sed -i "s/v1/v2/" launcher-only/task.sh &&
    (cd launcher-only && "$KRUN" -n 3 ./task.sh >../out 2>../err) &&
    grep -q staged err &&
    [ "$(grep -c "v2$" out)" -eq 3 ] && ! grep -q "v1$" out
'

test_expect_success '--no-stage runs the path as is' '
    (cd launcher-only && "$KRUN" --no-stage -n 2 ./task.sh >../out 2>../err) &&
    ! grep -q staged err &&
    [ "$(grep -c "ran $TEST_DIR/launcher-only/task.sh v2$" out)" -eq 2 ]
'

test_expect_success 'stage: no in the configuration does the same' '
    kube_config <<-\EOF &&
	  stage: no
	EOF
    (cd launcher-only && "$KRUN" -n 1 ./task.sh >../out 2>../err) &&
    grep -q "ran $TEST_DIR/launcher-only/task.sh v2$" out
'

mkdir -p launcher-only/data
printf 'input one\n' >launcher-only/data/in.txt
printf '#!/bin/sh\necho "rank $KRUN_RANK in $PWD read $(cat data/in.txt)"\n' \
    >launcher-only/reader.sh
chmod +x launcher-only/reader.sh

test_expect_success '--stage: the tasks run where the files are, under their names' '
    kube_config </dev/null &&
    { (cd launcher-only && "$KRUN" -n 5 --stage data/in.txt ./reader.sh \
        >../out 2>../err); rc=$?; } ;
    cat err out && [ $rc -eq 0 ] &&
    grep -q "staged 1 of 1 --stage file through the broker" err &&
    [ "$(grep -c "^rank [0-4] in $KUBE_DIR/pod-[^/]*/work/.krun-stage/files\.[0-9a-f]\{64\} read input one$" out)" -eq 5 ]
'

test_expect_success '--stage: a warm rerun sends neither program nor files' '
    (cd launcher-only && "$KRUN" -n 3 --stage data/in.txt ./reader.sh \
        >../out 2>../err) &&
    cat err && ! grep -q staged err && [ "$(grep -c "read input one$" out)" -eq 3 ]
'

test_expect_success '--stage with --no-stage: the program runs as is, the files are staged' '
    printf "input two\n" >launcher-only/data/in.txt &&
    (cd launcher-only && "$KRUN" --no-stage -n 2 --stage data/in.txt \
        "$TEST_DIR/launcher-only/reader.sh" >../out 2>../err) &&
    cat err out && grep -q "staged 1 of 1 --stage file" err &&
    [ "$(grep -c "/work/.krun-stage/files\.[0-9a-f]* read input two$" out)" -eq 2 ]
'

test_done
