#!/bin/bash
# Simulated heterogeneous nodes on one machine: the global CPU map numbers
# slots node by node in name order; --map-by decides which slots take part.
. "$(dirname "$0")/lib/test-lib.sh"
test_start_broker
test_config <<CFG
idle_timeout: 120
local:
  nodes:
    - name: node10
      slots: 2
    - name: node2
      slots: 3
      topology: "pack:1 core:3 pu:1"
CFG

cat >where.sh <<'SH'
#!/bin/sh
echo "rank=$KRUN_RANK node=$KRUN_NODE slot=$KRUN_SLOT local=$KRUN_LOCAL_RANK"
sleep 1
SH
chmod +x where.sh

test_expect_success 'two nodes start and answer' '
    "$KRUN" up &&
    "$KRUN" status >status &&
    grep -q "^node2 *3 " status && grep -q "^node10 *2 " status
'
test_expect_success 'the map numbers node2 (slots 0-2) before node10 (3-4)' '
    "$KRUN" -n 5 --report-bindings ./where.sh >out 2>map &&
    grep -q "^krun: slot 0: node node2 local 0 core 0$" map &&
    grep -q "^krun: slot 2: node node2 local 2 core 2$" map &&
    grep -q "^krun: slot 3: node node10 local 0 core" map &&
    grep -q "^krun: slot 4: node node10 local 1 core" map
'
test_expect_success 'each rank ran on a slot of the node it reports' '
    [ "$(wc -l <out)" -eq 5 ] &&
    awk "{ split(\$2,n,\"=\"); split(\$3,s,\"=\"); split(\$4,l,\"=\");
           if (n[2] == \"node2\" && s[2] != l[2]) exit 1;
           if (n[2] == \"node10\" && s[2] != l[2] + 3) exit 1 }" out
'
test_expect_success '--map-by slot with 2 ranks uses node2 only' '
    "$KRUN" -n 2 --report-bindings /bin/true 2>map2 &&
    [ "$(grep -c "^krun: slot [0-9]*: node node2 " map2)" -eq 2 ]
'
test_expect_success '--map-by node with 2 ranks uses one slot of each node' '
    "$KRUN" -n 2 --map-by node --report-bindings /bin/true 2>map3 &&
    grep -q "^krun: slot 0: node node2 local 0" map3 &&
    grep -q "^krun: slot 3: node node10 local 0" map3
'
test_done
