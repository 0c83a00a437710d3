#!/bin/bash
# Kubernetes provider with real containers (see t0500): the pool follows the
# cluster and the configuration: `krun up`, drift replacement, a node added,
# down; and the two ways a pod's krund cannot start that a user meets first:
# a broker URL the pods cannot reach (krun up names the pod, krund's reason
# and kubernetes.worker_amqp_url), and a key file krund refuses (its message
# names the fix).
. "$(dirname "$0")/lib/test-lib.sh"
. "$KRUN_TOP_SRCDIR/tests/lib/kube.sh"

kube_containers_or_skip
test_start_broker
kube_start --containers
write_nodes () {
    python3 - "$KUBE_DIR/nodes.json" "$@" <<-\EOF
	import json, sys
	cpus = {"node-a": "0", "node-b": "1", "node-c": "0-1"}
	nodes = [{"apiVersion": "v1", "kind": "Node",
	          "metadata": {"name": n, "labels": {"kubernetes.io/hostname": n},
	                       "annotations": {"test.krun/cpus": cpus[n]}},
	          "spec": {}, "status": {"allocatable": {"cpu": "1", "memory": "4Gi"}}}
	         for n in sys.argv[2:]]
	json.dump({"items": nodes}, open(sys.argv[1] + ".new", "w"))
	EOF
    mv "$KUBE_DIR/nodes.json.new" "$KUBE_DIR/nodes.json"
}
write_nodes node-a node-b
# A second name of the image, for this test only.
DRIFT=localhost/krun-worker:drift-$$
kube_config <<EOF
  memory: 256Mi
EOF

containers () {
    podman ps --filter "label=krun.test.state=$KUBE_DIR" --format '{{.Names}} {{.Image}}'
}
pod_names () { kube_pods | awk '$4 == "" { print $1 }' | sort; }
pod_failed () { kube_pods | grep -q "^$1 node-b Failed"; }
two_failed () { [ "$(kube_pods | grep -c " Failed ")" -eq 2 ]; }

test_expect_success 'krun up pre-warms: both pods run as containers and their daemons answer' '
    start=$(date +%s%N) &&
    "$KRUN" up 2>err && cat err &&
    echo "# krun up, 2 pods from nothing: $((($(date +%s%N) - start) / 1000000)) ms" >&3 &&
    grep -q "pool tester: 2 worker pods (2 created), 2 slots" err &&
    [ "$(containers | wc -l)" -eq 2 ]
' 3>&1

test_expect_success 'drift: a new image replaces every pod, and the containers run it' '
    podman tag "$KUBE_IMAGE" "$DRIFT" &&
    pod_names >before &&
    kube_config <<-EOF &&
	  memory: 256Mi
	  image: $DRIFT
	EOF
    { "$KRUN" -n 4 "$HELLO" >out 2>err; rc=$?; } ;
    cat err out && [ $rc -eq 0 ] &&
    [ "$(grep -c "hello from rank" out)" -eq 4 ] &&
    grep -q "created 2 worker pods" err &&
    pod_names >after && ! grep -qxF -f before after &&
    wait_for 60 sh -c "[ \"\$(podman ps --filter label=krun.test.state=$KUBE_DIR --format {{.Image}} | sort -u)\" = $DRIFT ]"
'

test_expect_success 'drift: memory is part of the pod, and the container gets the new limit' '
    pod_names >before &&
    kube_config <<-EOF &&
	  memory: 300Mi
	  image: $DRIFT
	EOF
    "$KRUN" up 2>err && cat err && grep -q "(2 created)" err &&
    pod_names >after && ! grep -qxF -f before after &&
    wait_for 60 sh -c "[ \"\$(podman ps --filter label=krun.test.state=$KUBE_DIR -q | wc -l)\" -eq 2 ]" &&
    for c in $(podman ps --filter "label=krun.test.state=$KUBE_DIR" -q); do
        [ "$(podman inspect --format "{{.HostConfig.Memory}}" "$c")" = $((300 << 20)) ] || exit 1
    done
'

test_expect_success 'a node added to the cluster joins the pool with a container of its own' '
    write_nodes node-a node-b node-c &&
    { "$KRUN" -n 6 "$HELLO" >out 2>err; rc=$?; } ;
    cat err out && containers && [ $rc -eq 0 ] &&
    grep -q "created 1 worker pod in" err &&
    [ "$(grep -c "hello from rank" out)" -eq 6 ] &&
    containers | grep -q -- "-node-c-"
'

test_expect_success 'down deletes every pod and removes its container' '
    "$KRUN" down >down && cat down &&
    grep -q "deleted 3 worker pods" down &&
    wait_for 60 test -z "$(podman ps -a --filter "label=krun.test.state=$KUBE_DIR" -q)" &&
    podman untag "$KUBE_IMAGE" "$DRIFT"
'

write_nodes node-a node-b
port=$(broker_free_port)

test_expect_success 'a broker URL the pods cannot reach: krun up fails at once, naming the pod, krund'"'"'s reason and kubernetes.worker_amqp_url' '
    kube_config <<-EOF &&
	  memory: 256Mi
	  worker_amqp_url: amqp://guest:guest@127.0.0.1:$port/
	EOF
    start=$(date +%s%N) &&
    { timeout 120 "$KRUN" up >out 2>err; rc=$?; } ;
    cat err && echo "# krun up failed after $((($(date +%s%N) - start) / 1000000)) ms" >&3 &&
    [ $rc -eq 1 ] &&
    grep -q "^krun: worker pod failed: krun-tester-node-.* (terminated, exit code 1: cannot connect to broker amqp://guest:\*\*\*@127.0.0.1:$port/: Connection refused)" err &&
    grep -q "kubernetes.worker_amqp_url" err &&
    ! grep -q "guest:guest" err
' 3>&1

test_expect_success 'a key file krund refuses (a webhook set the Secret volume'"'"'s defaultMode to 0644): the message names the fix' '
    kube_config <<-\EOF &&
	  memory: 256Mi
	EOF
    echo "spec.volumes.2.secret.defaultMode 420" >"$KUBE_DIR/mutate-pods" &&
    { timeout 120 "$KRUN" up >out 2>err; rc=$?; } ;
    cat err && [ $rc -eq 1 ] &&
    grep -q "^krun: worker pod failed: krun-tester-node-.* (terminated, exit code 1: .*signing-key.*" err &&
    grep -q "defaultMode to 0440" err && grep -q "fsGroup" err &&
    ! grep -q "chmod" err
'

test_expect_success 'without the webhook, krun up replaces the failed pods and the pool works' '
    rm "$KUBE_DIR/mutate-pods" &&
    # krun up failed at the first failed pod; the other fails too, later.
    wait_for 60 two_failed &&
    { "$KRUN" up 2>err; rc=$?; } ;
    cat err && kube_pods && [ $rc -eq 0 ] &&
    grep -q "2 worker pods (2 created)" err &&
    "$KRUN" -n 2 "$HELLO" >out && [ "$(grep -c "hello from rank" out)" -eq 2 ]
'

test_expect_success 'a container killed from outside: the pod is Failed with exit code 137 and the end of its log as its message; the next run replaces it' '
    victim=$(kube_pods | awk '"'"'$2 == "node-b" && $3 == "Running" { print $1 }'"'"') &&
    [ -n "$victim" ] &&
    podman kill -s KILL "$(podman ps --filter "label=krun.test.state=$KUBE_DIR" --format {{.Names}} | grep -- "-$victim$")" &&
    wait_for 30 pod_failed "$victim" &&
    kube_get "/api/v1/namespaces/krun-test/pods/$victim" >victim.json &&
    python3 -c "import json
t = json.load(open(\"victim.json\"))[\"status\"][\"containerStatuses\"][0][\"state\"][\"terminated\"]
assert t[\"exitCode\"] == 137, t
assert \"serving\" in t.get(\"message\", \"\"), t  # FallbackToLogsOnError: the log ends it
" &&
    "$KRUN" -n 3 "$HELLO" >out 2>err && cat err &&
    grep -q "created 1 worker pod in" err &&
    [ "$(grep -c "hello from rank" out)" -eq 3 ]
'

test_expect_success 'runAsNonRoot is enforced by the kubelet: an image whose user is root, without runAsUser, does not start' '
    kube_config <<-\EOF &&
	  memory: 256Mi
	  image: docker.io/library/debian:12
	  pod_timeout: 5
	EOF
    echo "spec.securityContext.runAsUser null" >"$KUBE_DIR/mutate-pods" &&
    { timeout 120 "$KRUN" up >out 2>err; rc=$?; } ;
    rm -f "$KUBE_DIR/mutate-pods" ;
    cat err && [ $rc -eq 1 ] &&
    grep -q "CreateContainerConfigError: container has runAsNonRoot and image will run as root" err &&
    [ -z "$(podman ps -a --filter "label=krun.test.state=$KUBE_DIR" --filter ancestor=docker.io/library/debian:12 -q)" ]
'

test_expect_success 'an image that is not there (no registry to pull from): ErrImagePull, named by krun up' '
    kube_config <<-\EOF &&
	  memory: 256Mi
	  image: krun-worker:not-built
	  pod_timeout: 5
	EOF
    { timeout 120 "$KRUN" up >out 2>err; rc=$?; } ;
    cat err && [ $rc -eq 1 ] &&
    grep -q "ErrImagePull: Failed to pull image \"krun-worker:not-built\"" err
'

test_done
