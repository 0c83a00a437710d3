#!/bin/bash
# Kubernetes provider: the pool follows the cluster and the configuration:
# `krun up`, drift replacement, failed pods, a node added, stuck pods
# reported with their reason, tolerations and the node selector.
. "$(dirname "$0")/lib/test-lib.sh"
. "$KRUN_TOP_SRCDIR/tests/lib/kube.sh"

test_start_broker
kube_start
kube_config </dev/null

pod_names () { kube_pods | awk '$4 == "" { print $1 }' | sort; }
running_pods () { kube_pods | awk '$3 == "Running" && $4 == ""' | wc -l; }
two_running () { [ "$(running_pods)" -eq 2 ]; }
pod_failed () { kube_pods | grep -q "^$1 node-b Failed"; }

test_expect_success 'krun up pre-warms: both pods run and their daemons answer' '
    "$KRUN" up 2>err && cat err &&
    grep -q "pool tester: 2 worker pods (2 created), 5 slots" err &&
    "$KRUN" status >status && cat status &&
    grep -qE "node-a +Running +3 +0" status && grep -qE "node-b +Running +2 +0" status
'

test_expect_success 'a second up changes nothing' '
    pod_names >before &&
    "$KRUN" up 2>err && grep -q "(0 created)" err &&
    pod_names >after && cmp before after
'

test_expect_success 'drift: a new image replaces every pod' '
    pod_names >before &&
    kube_config <<-\EOF &&
	  image: krun-worker:v2
	EOF
    { "$KRUN" -n 6 "$HELLO" >out 2>err; rc=$?; } ;
    cat err out && [ $rc -eq 0 ] &&
    [ "$(grep -c "hello from rank" out)" -eq 6 ] &&
    grep -q "created 2 worker pods" err &&
    wait_for 30 two_running &&
    pod_names >after && cat after &&
    ! grep -qxF -f before after &&
    kube_get /api/v1/namespaces/krun-test/pods >pods.json &&
    python3 -c "import json; ps=json.load(open(\"pods.json\"))[\"items\"]; \
live=[p for p in ps if not p[\"metadata\"].get(\"deletionTimestamp\")]; \
assert live and all(p[\"spec\"][\"containers\"][0][\"image\"] == \"krun-worker:v2\" for p in live)"
'

test_expect_success 'drift: memory is part of the pod too' '
    pod_names >before &&
    kube_config <<-\EOF &&
	  image: krun-worker:v2
	  memory: 3Gi
	EOF
    "$KRUN" up 2>err && cat err && grep -q "(2 created)" err &&
    pod_names >after && ! grep -qxF -f before after
'

test_expect_success 'a pod whose daemon died (Failed) is replaced, the other kept' '
    kube_get /api/v1/namespaces/krun-test/pods >pods.json &&
    victim=$(python3 -c "import json; print([p for p in json.load(open(\"pods.json\"))[\"items\"] if p[\"spec\"][\"nodeName\"] == \"node-b\" and not p[\"metadata\"].get(\"deletionTimestamp\")][0][\"metadata\"][\"name\"])") &&
    pid=$(grep -h "pid" "$KUBE_DIR/krund-$victim.log" | sed -n "s/.*(pid \([0-9]*\)).*/\1/p" | head -n 1) &&
    [ -n "$pid" ] && kill -9 "$pid" &&
    wait_for 20 pod_failed "$victim" &&
    kube_get "/api/v1/namespaces/krun-test/pods/$victim" >victim.json &&
    python3 -c "import json, sys
t = json.load(open(\"victim.json\"))[\"status\"][\"containerStatuses\"][0][\"state\"][\"terminated\"]
assert t[\"exitCode\"] == 137, t
assert \"serving\" in t.get(\"message\", \"\"), t  # FallbackToLogsOnError: the log ends it
" &&
    pod_names >before &&
    "$KRUN" -n 5 "$HELLO" >out 2>err && cat err &&
    grep -q "created 1 worker pod in" err &&
    [ "$(grep -c "hello from rank" out)" -eq 5 ] &&
    pod_names >after &&
    [ "$(comm -12 before after | wc -l)" -eq 1 ]
'

test_expect_success 'a node added to the cluster joins the pool' '
    python3 - "$KUBE_DIR/nodes.json" <<-\EOF &&
	import json, sys
	d = json.load(open(sys.argv[1]))
	d["items"].append({"apiVersion": "v1", "kind": "Node",
	    "metadata": {"name": "node-c", "labels": {"kubernetes.io/hostname": "node-c"}},
	    "spec": {}, "status": {"allocatable": {"cpu": "1", "memory": "4Gi"}}})
	json.dump(d, open(sys.argv[1], "w"))
	EOF
    "$KRUN" up 2>err && cat err &&
    grep -q "3 worker pods (1 created), 6 slots" err &&
    kube_pods | grep -q " node-c Running"
'

test_expect_success 'the node selector limits the pool (node-c has no krun=yes label)' '
    kube_config <<-\EOF &&
	  image: krun-worker:v2
	  memory: 3Gi
	  node_selector: krun=yes
	EOF
    "$KRUN" status >status && cat status &&
    ! grep -q "^node-c" status && grep -q "^node-a" status
'

test_expect_success 'a tolerated taint makes node-tainted usable (status)' '
    kube_config <<-\EOF &&
	  tolerations:
	    - {key: dedicated, operator: Equal, value: gpu, effect: NoSchedule}
	EOF
    "$KRUN" status >status && cat status &&
    grep -E "^node-tainted +8 " status
'

test_expect_success 'a pod that cannot start is reported with its reason' '
    "$KRUN" down >/dev/null &&
    kube_config <<-\EOF &&
	  image: missing/krun-worker:none
	  pod_timeout: 3
	EOF
    test_expect_code=0 &&
    { "$KRUN" -n 2 "$HELLO" >out 2>err; test_expect_code=$?; } ;
    cat err &&
    [ $test_expect_code -eq 1 ] &&
    grep -q "0 worker pods running after 3 s; stuck: krun-tester-node-" err &&
    grep -q "ErrImagePull: Failed to pull image \"missing/krun-worker:none\"" err
'

test_expect_success 'a pod whose krund fails is reported with krund'"'"'s own message (terminated.message)' '
    "$KRUN" down >/dev/null &&
    port=$(broker_free_port) &&
    kube_config <<-EOF &&
	  worker_amqp_url: amqp://guest:guest@127.0.0.1:$port/
	  pod_timeout: 5
	EOF
    start=$SECONDS &&
    { "$KRUN" up >out 2>err; rc=$?; } ;
    cat err && echo "krun up failed after $((SECONDS - start)) s" &&
    [ $rc -ne 0 ] &&
    # Seen failed while krun waits for the pods to run or for their daemons
    # to answer (a race): the same message either way, for the first pod
    # alone or followed by the other pods that failed.
    grep -q "^krun: worker pod failed: krun-tester-node-.* (terminated, exit code 1: cannot connect to broker amqp://guest:\*\*\*@127.0.0.1:$port/: Connection refused); the pods cannot reach the broker: check kubernetes.worker_amqp_url\(; krun-tester-node-.*\)\{0,1\}$" err &&
    [ $((SECONDS - start)) -lt 50 ] &&
    ! grep -q "guest:guest" err &&
    log=$(ls "$KUBE_DIR"/pod-*/termination-log | head -n 1) && [ -n "$log" ] &&
    grep -q "127.0.0.1:$port" "$KUBE_DIR"/pod-*/termination-log
'

test_done
