#!/bin/bash
# Lines without a newline: krun holds at most 1 MiB of one (per rank and
# stream), then writes it out as it is, so its memory does not grow with
# ranks x line length; the bytes stay exact and two ranks never share a line.
. "$(dirname "$0")/lib/test-lib.sh"
test_start_broker
test_config <<CFG
idle_timeout: 120
local:
  slots: 24
CFG

# Peak resident size of krun, in KiB, from GNU time (/proc VmHWM ends with the
# process).
peak_kib () { sed -n 's/^peak //p' "$1"; }
# The bound: 100 MB.  A sanitizer build (CI runs the suite with one) keeps
# shadow memory and freed blocks: without its quarantine it measured 137 MB
# where the plain build measured 25 to 56 MB; 300 MB there still fails the
# 1.1 to 1.3 GB krun took before lines were bounded.
BOUND_MB=100 MEASURED_ASAN_OPTIONS=${ASAN_OPTIONS:-}
if [ -n "$TASK_CFLAGS" ]; then
    BOUND_MB=300
    MEASURED_ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0"
fi

test_expect_success 'warm up: the daemon runs' '
    "$KRUN" -q -n 24 /bin/true
'
test_expect_success "24 ranks each writing a 60 MB line without newline: krun stays under $BOUND_MB MB" '
    set -o pipefail &&
    ASAN_OPTIONS=$MEASURED_ASAN_OPTIONS /usr/bin/time -f "peak %M" -o time.out \
        "$KRUN" -q -n 24 sh -c "head -c 60000000 /dev/zero | tr \"\\0\" x" |
        # every byte arrives: 24 x 60,000,000 x, and newlines
        tr -d "\\n" | cmp - <(head -c 1440000000 /dev/zero | tr "\\0" x) &&
    peak=$(peak_kib time.out) &&
    echo "krun peak RSS: $peak KiB" &&
    [ "$peak" -lt $((BOUND_MB * 1024)) ]
'
test_expect_success 'one rank: the long line is written exactly, no newline added at its end' '
    "$KRUN" -q -n 1 sh -c "head -c 5000000 /dev/zero | tr \"\\0\" y" >one.out &&
    [ "$(wc -c <one.out)" -eq 5000000 ] && [ "$(wc -l <one.out)" -eq 0 ] &&
    [ "$(head -c 5000000 one.out | tr -d y | wc -c)" -eq 0 ]
'
test_expect_success '--tag-output: a long line is tagged once' '
    "$KRUN" -q -n 1 --tag-output sh -c "head -c 3000000 /dev/zero | tr \"\\0\" z; echo; echo next" >tag.out &&
    [ "$(wc -l <tag.out)" -eq 2 ] && [ "$(wc -c <tag.out)" -eq $((4 + 3000000 + 1 + 9)) ] &&
    [ "$(head -c 4 tag.out)" = "[0] " ] && tail -n 1 tag.out | grep -qx "\[0\] next"
'
test_expect_success '--output-dir: the file gets the bytes as they were, no newline added' '
    "$KRUN" -q -n 2 --output-dir od sh -c "head -c 3000000 /dev/zero | tr \"\\0\" w" &&
    [ "$(wc -c <od/0.out)" -eq 3000000 ] && [ "$(wc -c <od/1.out)" -eq 3000000 ] &&
    [ "$(tr -d w <od/1.out | wc -c)" -eq 0 ]
'
cat >interleave.sh <<'SH'
#!/bin/sh
# Rank 0: a 4 MB line in pieces; rank 1: short lines meanwhile.
if [ "$KRUN_RANK" = 0 ]; then
    for i in 1 2 3 4 5 6 7 8; do head -c 500000 /dev/zero | tr "\0" a; sleep 0.2; done
else
    for i in 1 2 3 4 5 6 7 8 9 10; do echo "short $i"; sleep 0.2; done
fi
SH
chmod +x interleave.sh
test_expect_success 'another rank writing meanwhile: lines are never shared, every byte arrives' '
    "$KRUN" -q -n 2 --tag-output ./interleave.sh >mix.out &&
    ! grep -v "^\[[01]\] " mix.out &&
    [ "$(grep -c "^\[1\] short [0-9]*$" mix.out)" -eq 10 ] &&
    [ "$(grep "^\[0\] " mix.out | cut -c5- | tr -d "\\n" | wc -c)" -eq 4000000 ]
'
test_done
