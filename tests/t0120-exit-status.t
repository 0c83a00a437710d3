#!/bin/bash
# krun's exit status: 0 if all ranks exited 0, else the highest status,
# 128+signal for a rank killed by a signal.
. "$(dirname "$0")/lib/test-lib.sh"
test_start_broker
test_config <<CFG
idle_timeout: 120
local:
  slots: 4
CFG

test_expect_success 'all ranks exit 0: krun exits 0' '
    "$KRUN" -n 4 /bin/true
'
test_expect_success 'one rank exits 3: krun exits 3' '
    "$KRUN" -n 4 /bin/sh -c "[ \$KRUN_RANK = 2 ] && exit 3; exit 0"; [ $? -eq 3 ]
'
test_expect_success 'the highest status wins' '
    "$KRUN" -n 4 /bin/sh -c "exit \$((KRUN_RANK * 10 + 1))"; [ $? -eq 31 ]
'
test_expect_success 'a rank killed by SIGKILL gives 137 and is reported' '
    "$KRUN" -n 3 /bin/sh -c "[ \$KRUN_RANK = 1 ] && kill -9 \$\$; exit 0" 2>err; rc=$?
    [ $rc -eq 137 ] && grep -q "rank 1 killed by signal 9" err
'
test_expect_success 'signal beats a lower exit status' '
    "$KRUN" -n 2 /bin/sh -c "[ \$KRUN_RANK = 0 ] && exit 5; kill -TERM \$\$" 2>/dev/null; [ $? -eq 143 ]
'
test_expect_success '--report-bindings shows the map and where each rank ran' '
    "$KRUN" -n 2 --report-bindings /bin/true 2>rb &&
    grep -q "^krun: slot 0: node $(hostname) local 0 core" rb &&
    grep -q "^krun: slot 1: node $(hostname) local 1 core" rb &&
    [ "$(grep -c "^krun: rank [01] ran on node $(hostname) slot [0-3] local [0-3] cpus [0-9][0-9,-]* (attempt 1)$" rb)" -eq 2 ]
'
test_done
