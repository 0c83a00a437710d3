#!/bin/bash
# Kubernetes provider with real containers (see t0500): a Kubernetes CPU is
# a hardware thread (issue 13, items 2 and 11).  Two nodes whose hardware is
# one core of two hardware threads: this machine has no such core, so the
# nodes' hwloc sees the synthetic layout "core:1 pu:2" on this machine's
# CPUs 0 and 1 (HWLOC_SYNTHETIC with HWLOC_THISSYSTEM=1 in the containers:
# the binding is real).  The static CPU manager's exclusive CPUs are the
# containers' cpusets: a 1-CPU pod gets CPU 1 (one PU of the core), a 2-CPU
# pod gets 0-1 (the whole core).  Each slot's binding is read inside the
# task, from /proc/self/status.
. "$(dirname "$0")/lib/test-lib.sh"
. "$KRUN_TOP_SRCDIR/tests/lib/kube.sh"

kube_containers_or_skip
test_start_broker
kube_start --containers
cat >"$KUBE_DIR/nodes.json" <<EOF
{"items": [
 {"apiVersion": "v1", "kind": "Node",
  "metadata": {"name": "node-one", "labels": {"kubernetes.io/hostname": "node-one"},
               "annotations": {"test.krun/cpus": "1", "test.krun/hwloc-synthetic": "core:1 pu:2"}},
  "spec": {}, "status": {"allocatable": {"cpu": "1", "memory": "4Gi"}}},
 {"apiVersion": "v1", "kind": "Node",
  "metadata": {"name": "node-two", "labels": {"kubernetes.io/hostname": "node-two"},
               "annotations": {"test.krun/cpus": "0-1", "test.krun/hwloc-synthetic": "core:1 pu:2"}},
  "spec": {}, "status": {"allocatable": {"cpu": "2", "memory": "4Gi"}}}
]}
EOF
kube_config <<EOF
  memory: 256Mi
EOF

test_expect_success 'the pods get 1 and 2 CPUs, Guaranteed, and krund one slot per CPU' '
    "$KRUN" up 2>err && cat err &&
    grep -q "pool tester: 2 worker pods (2 created), 3 slots" err &&
    "$KRUN" status >status && cat status &&
    grep -E "^krun-tester-node-one-.* node-one +Running +1 +0 " status &&
    grep -E "^krun-tester-node-two-.* node-two +Running +2 +0 " status
'

test_expect_success 'each task runs on its slot'"'"'s own PU: node-one cpu 1, node-two cpus 0 and 1' '
    "$KRUN" -n 3 --report-bindings /bin/sh -c \
        "echo \"bound \$KRUN_NODE \$KRUN_LOCAL_RANK \$(sed -n \"s/^Cpus_allowed_list:[[:space:]]*//p\" /proc/self/status)\"; sleep 2" \
        >out 2>err ;
    cat err out && sed "s/^/# /" err out >&3 &&
    grep -qx "bound node-one 0 1" out &&
    grep -qx "bound node-two 0 0" out &&
    grep -qx "bound node-two 1 1" out &&
    [ "$(grep -c "^bound " out)" -eq 3 ]
' 3>&1

test_expect_success 'every slot bound where it was meant to: krund logged no failed binding' '
    cat "$KUBE_DIR"/krund-*.log &&
    ! grep -i -E "cannot bind|running unbound" "$KUBE_DIR"/krund-*.log
'

test_expect_success '--report-bindings reports the CPUs each slot really got' '
    grep -E "rank [0-9]+ .*node-one.*cpus 1\b" err &&
    grep -E "rank [0-9]+ .*node-two.*cpus 0\b" err &&
    grep -E "rank [0-9]+ .*node-two.*cpus 1\b" err
'

test_done
