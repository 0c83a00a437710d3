#!/bin/bash
# Kubernetes provider end to end against the test API server and its fake
# kubelet (real krund processes), with the real broker: cold start, warm
# rerun, status, down.
. "$(dirname "$0")/lib/test-lib.sh"
. "$KRUN_TOP_SRCDIR/tests/lib/kube.sh"

test_start_broker
kube_start
kube_config </dev/null

test_expect_success 'cold start: pods created, every rank runs' '
    "$KRUN" -n 12 --tag-output "$HELLO" >out 2>err &&
    cat err &&
    grep -q "created 2 worker pods in namespace krun-test" err &&
    [ "$(grep -c "hello from rank" out)" -eq 12 ] &&
    for r in 0 1 2 3 4 5 6 7 8 9 10 11; do grep -q "^\[$r\] hello from rank $r " out || exit 1; done
'

test_expect_success 'one pod per usable node: node-a (3 CPUs), node-b (2 CPUs)' '
    kube_pods >pods && cat pods &&
    [ "$(grep -c Running pods)" -eq 2 ] &&
    grep -q " node-a Running" pods && grep -q " node-b Running" pods &&
    ! grep -q -E "node-(tainted|cordoned|full)" pods
'

test_expect_success 'the pod spec: Guaranteed whole CPUs, affinity by node name, secrets by reference, /tmp writable' '
    kube_get /api/v1/namespaces/krun-test/pods >pods.json &&
    python3 - pods.json <<-\EOF
	import json, sys
	pods = {p["spec"]["nodeName"]: p for p in json.load(open(sys.argv[1]))["items"]}
	a = pods["node-a"]
	c = a["spec"]["containers"][0]
	assert c["resources"]["requests"] == c["resources"]["limits"], c["resources"]
	assert c["resources"]["limits"]["cpu"] == "3", c["resources"]
	assert pods["node-b"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] == "2"
	assert a["spec"]["restartPolicy"] == "Never"
	term = a["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
	assert term == {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-a"]}]}, term
	assert c["command"][c["command"].index("--bind-to") + 1] == "pu", c["command"]
	assert c["terminationMessagePolicy"] == "FallbackToLogsOnError"
	assert a["metadata"]["labels"]["app.kubernetes.io/name"] == "krun-worker"
	assert a["metadata"]["labels"]["krun.io/pool"] == "tester"
	env = {e["name"]: e for e in c["env"]}
	assert env["KRUN_AMQP_URL"]["valueFrom"]["secretKeyRef"] == {"name": "krun-tester", "key": "amqp-url"}
	assert env["KRUN_KEY_FILE"]["value"] == "/etc/krun/secret/signing-key"
	vols = {v["name"]: v for v in a["spec"]["volumes"]}
	assert vols["secret"]["secret"]["defaultMode"] == 0o440
	assert a["spec"]["securityContext"]["fsGroup"] == a["spec"]["securityContext"]["runAsGroup"]
	assert "emptyDir" in vols["work"]
	assert vols["tmp"] == {"name": "tmp", "emptyDir": {}}, vols
	mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
	assert mounts["/tmp"] == "tmp" and mounts[c["workingDir"]] == "work", mounts
	assert env["KRUN_STATE_DIR"]["value"].startswith(c["workingDir"] + "/"), env["KRUN_STATE_DIR"]
	assert c["securityContext"]["readOnlyRootFilesystem"] is True
	assert c["securityContext"]["allowPrivilegeEscalation"] is False
	assert a["spec"]["securityContext"]["runAsNonRoot"] is True
	text = json.dumps(a)
	assert "amqp://" not in text, "broker URL in clear in the pod spec"
	EOF
'

test_expect_success 'the secret holds the URL and the launcher'"'"'s signing key; the key file is 0440 (fsGroup) in the pod' '
    kube_get /api/v1/namespaces/krun-test/secrets/krun-tester >secret.json &&
    python3 -c "import json,base64,sys; d=json.load(open(\"secret.json\"))[\"data\"]; \
assert base64.b64decode(d[\"amqp-url\"]).decode().startswith(\"amqp://\"); \
import os; assert base64.b64decode(d[\"signing-key\"]) == open(os.environ[\"KRUN_STATE_DIR\"] + \"/key\", \"rb\").read()" &&
    key=$(ls "$KUBE_DIR"/pod-*/secret/signing-key | head -n 1) &&
    [ "$(stat -c %a "$key")" = 440 ]
'

test_expect_success 'tasks get a writable HOME (the scratch directory), not the launcher'"'"'s' '
    "$KRUN" -n 2 /bin/sh -c "echo \"home=\$HOME tmp=\$KRUN_TMPDIR\"; touch \"\$HOME/x\" && echo writable" >homes &&
    cat homes &&
    [ "$(grep -c "^writable$" homes)" -eq 2 ] &&
    ! grep -q "home=$HOME " homes &&
    [ "$(grep -c "^home=\(/[^ ]*\) tmp=\1$" homes)" -eq 2 ]
'

test_expect_success 'warm rerun: no pod created, no pod deleted' '
    before=$(kube_requests POST "/api/v1/namespaces/krun-test/pods") &&
    "$KRUN" -n 5 "$HELLO" >out 2>err &&
    [ "$(grep -c "hello from rank" out)" -eq 5 ] &&
    ! grep -q created err &&
    [ "$(kube_requests POST "/api/v1/namespaces/krun-test/pods")" -eq "$before" ] &&
    [ "$(kube_requests DELETE "/api/v1/namespaces/krun-test/pods")" -eq 0 ]
'

test_expect_success 'status lists the pods with their slots and the cluster map' '
    "$KRUN" status >status && cat status &&
    grep -E "^krun-tester-node-a-.* node-a +Running +3 +0 " status &&
    grep -E "^krun-tester-node-b-.* node-b +Running +2 +0 " status &&
    grep -E "^node-tainted +0 .*tainted" status &&
    grep -E "^node-cordoned +0 .*unschedulable" status &&
    grep -E "^node-full +0 .*full" status
'

test_expect_success 'an absolute path is run as is in the pod, even if krun lacks it' '
    { "$KRUN" -n 1 /opt/in-image/task >out 2>err; rc=$?; } ;
    cat out err &&
    [ $rc -eq 127 ] &&
    ! grep -q staged err
'

test_expect_success '--provider and --context on the command line' '
    echo "provider: local" >"$XDG_CONFIG_HOME/krun/krun.yaml.local" &&
    "$KRUN" status --config "$XDG_CONFIG_HOME/krun/krun.yaml.local" \
        --provider kubernetes --context test >status 2>&1 &&
    grep -q "^pool .* in namespace krun-test" status &&
    ! "$KRUN" status --provider kubernetes --context nope >status 2>&1 &&
    grep -q "no context .nope." status
'

test_expect_success 'down deletes the pods and their daemons stop' '
    "$KRUN" down >down && cat down &&
    grep -q "deleted 2 worker pods" down &&
    [ -z "$(kube_pods)" ] &&
    for pid in $(cat "$KUBE_DIR/pids"); do ! process_alive $pid || exit 1; done
'

test_done
