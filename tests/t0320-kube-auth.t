#!/bin/bash
# Kubernetes provider: credentials and API failures, each one clear line:
# exec plugin, client certificate, expired token (401), RBAC refusal (403),
# CA mismatch, API unreachable; tokens never in messages or argv; the test
# server's own strictness.
. "$(dirname "$0")/lib/test-lib.sh"
. "$KRUN_TOP_SRCDIR/tests/lib/kube.sh"

test_start_broker
kube_start
kube_config </dev/null

test_expect_success 'bearer token: a run works' '
    "$KRUN" -n 3 "$HELLO" >out 2>err &&
    [ "$(grep -c "hello from rank" out)" -eq 3 ]
'

test_expect_success 'exec credential plugin: its token is used, cached within the run' '
    cat >plugin <<-EOF &&
	#!/bin/sh
	echo run >>"$TEST_DIR/plugin-runs"
	[ "\$1" = get-token ] || exit 3
	echo "{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"$KUBE_TOKEN\",\"expirationTimestamp\":\"2099-01-01T00:00:00Z\"}}"
	EOF
    chmod +x plugin &&
    kube_kubeconfig exec.kubeconfig "    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./plugin
      args: [get-token]" &&
    rm -f plugin-runs &&
    "$KRUN" status --kubeconfig exec.kubeconfig >status 2>err && cat status err &&
    grep -q "node-a" status &&
    [ "$(wc -l <plugin-runs)" -eq 1 ] &&
    "$KRUN" --kubeconfig exec.kubeconfig -n 2 "$HELLO" >out &&
    [ "$(grep -c "hello from rank" out)" -eq 2 ]
'

test_expect_success 'a plugin token refused with 401 is asked for again, once' '
    cat >plugin2 <<-EOF &&
	#!/bin/sh
	echo run >>"$TEST_DIR/plugin2-runs"
	token=$KUBE_TOKEN
	[ \$(wc -l <"$TEST_DIR/plugin2-runs") -eq 1 ] && token=revoked-early
	echo "{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"\$token\"}}"
	EOF
    chmod +x plugin2 &&
    kube_kubeconfig exec2.kubeconfig "    exec:
      command: ./plugin2" &&
    rm -f plugin2-runs &&
    "$KRUN" status --kubeconfig exec2.kubeconfig >status 2>err && cat err &&
    grep -q "^node-a" status &&
    [ "$(wc -l <plugin2-runs)" -eq 2 ]
'

test_expect_success 'a failing plugin: one line naming it' '
    kube_kubeconfig bad-exec.kubeconfig "    exec:
      command: /bin/false" &&
    ! "$KRUN" status --kubeconfig bad-exec.kubeconfig >out 2>err &&
    cat err &&
    grep -q "krun: exec credential plugin /bin/false failed (exit status 1)" err
'

test_expect_success 'client certificate instead of a token' '
    kube_kubeconfig cert.kubeconfig "    client-certificate: $KUBE_DIR/client.crt
    client-key: $KUBE_DIR/client.key" &&
    "$KRUN" status --kubeconfig cert.kubeconfig >status 2>err && cat err &&
    grep -q "^node-a" status
'

test_expect_success 'client certificate data inline' '
    kube_kubeconfig certdata.kubeconfig "    client-certificate-data: $(base64 -w0 "$KUBE_DIR/client.crt")
    client-key-data: $(base64 -w0 "$KUBE_DIR/client.key")" &&
    "$KRUN" status --kubeconfig certdata.kubeconfig >status 2>err && cat err &&
    grep -q "^node-a" status
'

test_expect_success 'expired token: 401 in one line, the token not shown' '
    kube_kubeconfig expired.kubeconfig "    token: expired-secret-token" &&
    ! "$KRUN" --kubeconfig expired.kubeconfig -n 2 "$HELLO" >out 2>err &&
    cat err &&
    grep -qx "krun: kubernetes API: GET /api/v1/nodes: HTTP 401 Unauthorized: Unauthorized" err &&
    ! grep -q expired-secret-token err out &&
    [ "$(wc -l <err)" -eq 1 ]
'

test_expect_success 'RBAC refusal: 403 with the server message, no pod made' '
    "$KRUN" down >/dev/null &&
    echo "403 POST /api/v1/namespaces/krun-test/pods" >"$KUBE_DIR/deny" &&
    ! "$KRUN" -n 2 "$HELLO" >out 2>err; rc=$?;
    rm -f "$KUBE_DIR/deny" &&
    cat err &&
    grep -q "krun: kubernetes API: POST /api/v1/namespaces/krun-test/pods: HTTP 403 Forbidden: pods is forbidden: User \"system:serviceaccount:krun:krun\" cannot create resource \"pods\"" err &&
    [ -z "$(kube_pods)" ]
'

test_expect_success 'RBAC refusal on nodes: the exit status is 1' '
    echo "403 GET /api/v1/nodes" >"$KUBE_DIR/deny" &&
    { "$KRUN" status >out 2>err; rc=$?; } ;
    rm -f "$KUBE_DIR/deny" &&
    cat err && [ $rc -eq 1 ] &&
    grep -q "GET /api/v1/nodes: HTTP 403 Forbidden: nodes is forbidden" err
'

test_expect_success 'CA mismatch: TLS error naming the server' '
    kube_kubeconfig wrongca.kubeconfig "    token: $KUBE_TOKEN" "$KUBE_DIR/other-ca.crt" &&
    ! "$KRUN" status --kubeconfig wrongca.kubeconfig >out 2>err &&
    cat err &&
    grep -q "krun: kubernetes API https://127.0.0.1:$KUBE_PORT: TLS failed (is the cluster CA right?)" err &&
    ! grep -q "$KUBE_TOKEN" err
'

test_expect_success 'API unreachable: one line naming the server' '
    port=$(broker_free_port) &&
    sed "s|127.0.0.1:$KUBE_PORT|127.0.0.1:$port|" "$KUBECONFIG" >down.kubeconfig &&
    ! "$KRUN" --kubeconfig down.kubeconfig -n 2 "$HELLO" >out 2>err &&
    cat err &&
    grep -q "krun: kubernetes API https://127.0.0.1:$port unreachable" err
'

test_expect_success 'the token never shows on a command line (ps) during a run' '
    "$KRUN" -n 2 sleep 2 >/dev/null 2>&1 &
    pid=$! &&
    sleep 0.5 &&
    ! ps -eo args | grep -v grep | grep -q "$KUBE_TOKEN";
    rc=$?; wait $pid; [ $rc -eq 0 ]
'

test_expect_success 'the test server rejects unknown fields and bad types (strict)' '
    python3 - "$KUBE_DIR" "$KUBE_PORT" "$KUBE_TOKEN" <<-\EOF
	import json, ssl, sys, urllib.request, urllib.error
	d, port, token = sys.argv[1:]
	ctx = ssl.create_default_context(cafile=d + "/ca.crt")
	def post(body):
	    req = urllib.request.Request(f"https://127.0.0.1:{port}/api/v1/namespaces/krun-test/pods",
	        data=json.dumps(body).encode(), method="POST",
	        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
	    try:
	        urllib.request.urlopen(req, context=ctx)
	        return 201, {}
	    except urllib.error.HTTPError as e:
	        return e.code, json.load(e)
	pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"},
	       "spec": {"containers": [{"name": "c", "image": "i", "resourcez": {}}]}}
	code, st = post(pod)
	assert code == 400 and st["kind"] == "Status" and "unknown field \"spec.containers[0].resourcez\"" in st["message"], st
	pod["spec"]["containers"][0] = {"name": "c", "image": "i", "resources": {"limits": {"cpu": 1.5}}}
	code, st = post(pod)
	assert code == 400 and "quantities" in st["message"], st
	code, st = post({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "y"}, "spec": {}})
	assert code == 422 and "spec.containers: Required value" in st["message"], st
	EOF
'

test_expect_success 'libcurl that cannot be loaded: one clear line, nothing published' '
    mkdir -p badlib && echo "not a library" >badlib/libcurl.so.4 &&
    { LD_LIBRARY_PATH="$TEST_DIR/badlib" "$KRUN" -n 2 "$HELLO" >out 2>err; rc=$?; } ;
    cat err && [ $rc -eq 1 ] && [ "$(wc -l <err)" -eq 1 ] &&
    grep -q "^krun: kubernetes API client: cannot load libcurl.so.4 (Debian package libcurl4): .*badlib/libcurl.so.4" err &&
    no_job_queues
'

test_expect_success 'a libcurl.so.4 without the functions krun needs is named as such' '
    mkdir -p oddlib &&
    echo "int krun_not_curl;" | ${CC:-cc} -shared -fPIC -x c - -o oddlib/libcurl.so.4 &&
    { LD_LIBRARY_PATH="$TEST_DIR/oddlib" "$KRUN" status >out 2>err; rc=$?; } ;
    cat err && [ $rc -ne 0 ] &&
    grep -q "the libcurl.so.4 found lacks curl_global_init" err
'

test_done
