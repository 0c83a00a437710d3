#!/bin/bash
# Kubernetes provider with real containers: the test API server's kubelet
# runs each pod's container with podman and runc (tests/kube/podman_kubelet.py)
# from the worker image built unchanged from deploy/Dockerfile
# (tests/kube/build-image), with the pod spec's user, groups, read-only root,
# dropped capabilities, volumes, memory limit and exclusive CPUs; the pods
# reach the test's loopback broker over the host's network.  Cold start, warm
# rerun, messages of several ranks, the container as the spec says,
# --inputs/--results, a staged program, --stage, status, down.
. "$(dirname "$0")/lib/test-lib.sh"
. "$KRUN_TOP_SRCDIR/tests/lib/kube.sh"

kube_containers_or_skip
test_start_broker
kube_start --containers
# Two 1-CPU nodes on this machine's two CPUs (node-b's hostname label is
# not its name, as with cloud providers).
cat >"$KUBE_DIR/nodes.json" <<EOF
{"items": [
 {"apiVersion": "v1", "kind": "Node",
  "metadata": {"name": "node-a", "labels": {"kubernetes.io/hostname": "node-a"},
               "annotations": {"test.krun/cpus": "0"}},
  "spec": {}, "status": {"allocatable": {"cpu": "1", "memory": "4Gi"}}},
 {"apiVersion": "v1", "kind": "Node",
  "metadata": {"name": "node-b", "labels": {"kubernetes.io/hostname": "ip-10-0-0-12.ec2.internal"},
               "annotations": {"test.krun/cpus": "1"}},
  "spec": {}, "status": {"allocatable": {"cpu": "1", "memory": "4Gi"}}}
]}
EOF
kube_config <<EOF
  memory: 256Mi
EOF
echo "# worker image: $KUBE_IMAGE"

containers () {
    podman ps -a --filter "label=krun.test.state=$KUBE_DIR" --format '{{.Names}} {{.Status}}'
}
# Run a command in node $1's container.
in_pod () {
    local node=$1
    shift
    podman exec "$(containers | awk -v n="node-$node" '$1 ~ n { print $1; exit }')" "$@"
}

test_expect_success 'cold start: two pods as containers, every rank runs' '
    start=$(date +%s%N) &&
    "$KRUN" -n 6 --tag-output "$HELLO" >out 2>err &&
    echo "# cold start, 6 ranks: $((($(date +%s%N) - start) / 1000000)) ms" >&3 &&
    cat err out &&
    grep -q "created 2 worker pods in namespace krun-test" err &&
    [ "$(grep -c "hello from rank" out)" -eq 6 ] &&
    for r in 0 1 2 3 4 5; do grep -q "^\[$r\] hello from rank $r " out || exit 1; done &&
    containers >ctrs && cat ctrs &&
    [ "$(grep -c " Up " ctrs)" -eq 2 ]
' 3>&1

# Both pods Running, with their containers' start times.  Waited for (at
# most 60 s): the job of the first test may have run on the first pod's
# slots while the second was still being created (seen in a slow sanitizer
# build).
pods_running () {
    kube_get /api/v1/namespaces/krun-test/pods >pods.json &&
    python3 - pods.json <<-\EOF
	import json, sys
	items = json.load(open(sys.argv[1]))["items"]
	assert len(items) == 2, len(items)
	for p in items:
	    s = p["status"]
	    assert s["phase"] == "Running", s
	    cs = s["containerStatuses"][0]
	    assert cs["ready"] and "startedAt" in cs["state"]["running"], cs
	EOF
}
test_expect_success 'pod phase and container state come from the container' '
    wait_for 60 pods_running 2>/dev/null || pods_running
'

test_expect_success 'the container runs as the spec says: uid 1000, fsGroup, read-only root, no capabilities, no-new-privileges, exclusive CPU, memory limit, host cgroup namespace' '
    in_pod a sh -c "id -u; id -G; grep -E \"^(CapEff|NoNewPrivs|Cpus_allowed_list)\" /proc/self/status; \
        touch /x 2>&1; touch /tmp/x && echo tmp writable; touch /work/x && echo work writable; \
        sed -n \"s/^[0-9]*:memory:/memory /p\" /proc/self/cgroup" >inside 2>&1 ;
    cat inside &&
    # The host cgroup namespace: the container sees its path on the host.
    memory=$(sed -n "s/^memory //p" inside) &&
    cat "/sys/fs/cgroup/memory$memory/memory.limit_in_bytes" >>inside &&
    [ "$(sed -n 1p inside)" = 1000 ] &&
    sed -n 2p inside | grep -qw 1000 &&
    grep -q "^CapEff:[[:space:]]*0000000000000000$" inside &&
    grep -q "^NoNewPrivs:[[:space:]]*1$" inside &&
    grep -q "^Cpus_allowed_list:[[:space:]]*0$" inside &&
    grep -q "Read-only file system" inside &&
    grep -q "^tmp writable$" inside && grep -q "^work writable$" inside &&
    grep -q "^268435456$" inside &&
    grep -q "^memory /libpod_parent/libpod-" inside
'

test_expect_success 'the key file is laid out as a kubelet does: ..data symlink to a timestamped dir, 0440, group fsGroup' '
    in_pod b sh -c "cd /etc/krun/secret && ls -a && readlink ..data && readlink signing-key && \
        stat -L -c \"%a %u %g\" signing-key" >secret 2>&1 ;
    cat secret &&
    grep -q "^\.\.[0-9_]*\.[0-9]*$" secret &&
    grep -q "^\.\.data/signing-key$" secret &&
    grep -q "^440 0 1000$" secret
'

test_expect_success 'tasks: HOME and TMPDIR writable, the broker password not in krund'"'"'s environ' '
    "$KRUN" -n 2 /bin/sh -c "touch \"\$HOME/h\" \"\$TMPDIR/t\" && echo writable; \
        tr \"\\0\" \"\\n\" </proc/1/environ | grep -c amqp:// || true" >tasks 2>&1 ;
    cat tasks &&
    [ "$(grep -c "^writable$" tasks)" -eq 2 ] &&
    [ "$(grep -c "^0$" tasks)" -eq 2 ]
'

test_expect_success 'a task over the pod'"'"'s memory limit (256Mi) is killed by its container'"'"'s OOM killer: the rank fails (exit 137), the pods run on' '
    { "$KRUN" -n 1 /bin/sh -c "head -c 400000000 /dev/zero | tail -n 1 >/dev/null" >out 2>err; rc=$?; } ;
    cat out err && echo "exit $rc" &&
    [ $rc -eq 137 ] &&
    # The kernel says so: the OOM killer of one of the pods'"'"' memory cgroups.
    kills=0 &&
    for c in $(containers | cut -d" " -f1); do
        cg=$(podman exec "$c" sed -n "s/^[0-9]*:memory://p" /proc/self/cgroup) &&
        n=$(sed -n "s/^oom_kill //p" "/sys/fs/cgroup/memory$cg/memory.oom_control") &&
        echo "$c: oom_kill ${n:-?}" && kills=$((kills + ${n:-0})) || exit 1
    done &&
    [ "$kills" -ge 1 ] &&
    kube_pods >pods && cat pods && [ "$(grep -c " Running" pods)" -eq 2 ] &&
    "$KRUN" -n 2 "$HELLO" >out && [ "$(grep -c "hello from rank" out)" -eq 2 ]
'

test_expect_success 'warm rerun: no pod created' '
    before=$(kube_requests POST "/api/v1/namespaces/krun-test/pods") &&
    start=$(date +%s%N) &&
    "$KRUN" -n 6 "$HELLO" >out 2>err &&
    echo "# warm rerun, 6 ranks: $((($(date +%s%N) - start) / 1000000)) ms" >&3 &&
    [ "$(grep -c "hello from rank" out)" -eq 6 ] &&
    ! grep -q created err &&
    [ "$(kube_requests POST "/api/v1/namespaces/krun-test/pods")" -eq "$before" ]
' 3>&1

# Messages of several ranks in the pods (the pods said they take them when
# the warm launcher asked who is there): 64 ranks in messages of 16, each
# message run by one slot in order until it had run 100 ms (then its rest
# goes back to the queue: where a container's process starts are slow, as
# on a CI machine here, 3 of 4 were split), every rank once.
test_expect_success 'warm, in messages of 16 ranks: each message runs on one slot in order, every rank once' '
    "$KRUN" -n 64 --batch 16 --timeline batched.csv "$HELLO" >out 2>err &&
    cat err &&
    [ "$(grep -c "hello from rank" out)" -eq 64 ] &&
    timeline_one_result_per_rank batched.csv 64 &&
    blocks=$(whole_blocks batched.csv 16) && echo "# whole messages: $blocks of 4" >&3 &&
    blocks_split_late batched.csv 16 80
' 3>&1

test_expect_success '--inputs and --results (a staged program writing the pod'"'"'s /tmp)' '
    seq 1 10 >params &&
    "$KRUN" --inputs params --results res "$KUBE_SWEEP" >out 2>err ;
    cat err &&
    for i in $(seq 0 9); do [ "$(cat res/$i)" = "$(( (i + 1) * (i + 1) ))" ] || exit 1; done
'

mkdir -p "$TEST_DIR/launcher-only/data"
printf 'input one\n' >"$TEST_DIR/launcher-only/data/in.txt"
printf '#!/bin/sh\necho "rank $KRUN_RANK uid $(id -u) in $PWD read $(cat data/in.txt)"\n' \
    >"$TEST_DIR/launcher-only/reader.sh"
chmod +x "$TEST_DIR/launcher-only/reader.sh"

test_expect_success '--stage and a staged program: run in the staged directory of the pod' '
    { (cd launcher-only && "$KRUN" -n 4 --stage data/in.txt ./reader.sh \
        >../out 2>../err); rc=$?; } ;
    cat err out && [ $rc -eq 0 ] &&
    grep -q "staged 1 of 1 --stage file through the broker" err &&
    grep -q "staged $TEST_DIR/launcher-only/reader.sh" err &&
    [ "$(grep -c "^rank [0-3] uid 1000 in /work/.krun-stage/files\.[0-9a-f]\{64\} read input one$" out)" -eq 4 ]
'

test_expect_success '--stage: a warm rerun sends nothing' '
    (cd launcher-only && "$KRUN" -n 2 --stage data/in.txt ./reader.sh >../out 2>../err) &&
    cat err && ! grep -q staged err && [ "$(grep -c "read input one$" out)" -eq 2 ]
'

test_expect_success 'status lists the pods with their slots' '
    "$KRUN" status >status && cat status &&
    grep -E "^krun-tester-node-a-.* node-a +Running +1 +0 " status &&
    grep -E "^krun-tester-node-b-.* node-b +Running +1 +0 " status
'

test_expect_success 'down deletes the pods; their containers are stopped and removed' '
    "$KRUN" down >down && cat down &&
    grep -q "deleted 2 worker pods" down &&
    [ -z "$(kube_pods)" ] &&
    wait_for 60 test -z "$(containers)"
'

test_done
