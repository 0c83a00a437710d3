#!/bin/bash
# Kubernetes provider: staging.  A program that only the launcher has is
# sent once through the broker, cached by content hash in each pod's work
# dir, and not sent again on a warm rerun; --no-stage runs a path as is.
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

test_expect_success 'the cache file is the program, mode 0700' '
    f=$(ls "$KUBE_DIR"/pod-*/work/.krun-stage/$hash | head -n 1) &&
    cmp "$f" launcher-only/task.sh &&
    [ "$(stat -c %a "$f")" = 700 ]
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

test_done
