# kube.sh - sourced by the tests/t03NN-kube-*.t scenarios, after test-lib.sh.
#
# kube_start starts tests/kube/apiserver.py (a Kubernetes API server with a
# fake kubelet that runs real krund processes) on a free 127.0.0.1 port,
# over HTTPS with a CA and certificates made here with openssl, and writes
# a kubeconfig ($KUBECONFIG) with a bearer token.  Its cleanup stops the
# server by PID (which stops the krund processes it started), then any of
# those processes still alive (by the PIDs it recorded), then does the
# test-lib.sh cleanup.
#
# kube_start --containers: the server's kubelet runs each pod's container
# with podman instead (tests/kube/podman_kubelet.py), from the worker image
# that tests/kube/build-image builds from deploy/Dockerfile ($KUBE_IMAGE,
# named by the hash of the sources; cached, so only the first test of a run
# pays for it).
# A test that cannot have containers here is skipped, saying why.  The
# cleanup also removes the containers the server started, by their label.
KUBE_DIR="$TEST_DIR/kube"
KUBE_TOKEN=test-token-$$
KUBE_CONTAINERS=

kube_cleanup () {
    if [ -n "${KUBE_PID:-}" ]; then
        kill "$KUBE_PID" 2>/dev/null
        local i=0
        while process_alive "$KUBE_PID" && [ $i -lt 100 ]; do
            sleep 0.1
            i=$((i + 1))
        done
        # With containers, the server stops them (in parallel) before it exits.
        [ -n "$KUBE_CONTAINERS" ] && while process_alive "$KUBE_PID" && [ $i -lt 600 ]; do
            sleep 0.1
            i=$((i + 1))
        done
        kill -9 "$KUBE_PID" 2>/dev/null
    fi
    if [ -n "$KUBE_CONTAINERS" ]; then
        podman ps -aq --filter "label=krun.test.state=$KUBE_DIR" 2>/dev/null |
            xargs -r timeout 120 podman rm -f -t 0 >/dev/null 2>&1
    fi
    if [ -f "$KUBE_DIR/pids" ]; then
        while read -r pid; do
            process_alive "$pid" && kill -9 "$pid" 2>/dev/null
        done <"$KUBE_DIR/pids"
    fi
    test_cleanup
}
trap kube_cleanup EXIT

# Make a CA and a certificate it signs: kube_cert NAME SUBJECT [SAN].
kube_ca () {
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$2" \
        -keyout "$KUBE_DIR/$1.key" -out "$KUBE_DIR/$1.crt" 2>/dev/null
}
kube_cert () {
    local name=$1 subject=$2 ca=$3 ext=$KUBE_DIR/$1.ext
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$subject" \
        -keyout "$KUBE_DIR/$name.key" -out "$KUBE_DIR/$name.csr" 2>/dev/null &&
    printf '%s\n' "${4:-extendedKeyUsage=clientAuth}" >"$ext" &&
    openssl x509 -req -in "$KUBE_DIR/$name.csr" -CA "$KUBE_DIR/$ca.crt" \
        -CAkey "$KUBE_DIR/$ca.key" -CAcreateserial -days 2 -extfile "$ext" \
        -out "$KUBE_DIR/$name.crt" 2>/dev/null
}

# Write a kubeconfig: kube_kubeconfig FILE USER-YAML (the `user:` mapping,
# indented by 4) [CA-FILE].
kube_kubeconfig () {
    local ca=${3:-$KUBE_DIR/ca.crt}
    cat >"$1" <<EOC
apiVersion: v1
kind: Config
current-context: test
clusters:
- name: test
  cluster:
    server: https://127.0.0.1:$KUBE_PORT
    certificate-authority-data: $(base64 -w0 "$ca")
contexts:
- name: test
  context:
    cluster: test
    user: tester
    namespace: krun-test
users:
- name: tester
  user:
$2
EOC
}

# Skip the whole test, saying why, when it cannot have containers here
# (call it first: before the broker starts).
kube_containers_or_skip () {
    . "$KRUN_TOP_SRCDIR/tests/kube/podman-env"
    local why
    why=$(podman_env_missing)
    if [ -n "$why" ]; then
        echo "1..0 # SKIP container tests: $why"
        trap - EXIT
        test_cleanup
        exit 0
    fi
}

kube_start () {
    if [ "${1:-}" = "--containers" ]; then
        kube_containers_or_skip
        KUBE_CONTAINERS=1
        KUBE_IMAGE_LOG="$TEST_DIR/build-image.log"
        "$KRUN_TOP_SRCDIR/tests/kube/build-image" >"$KUBE_IMAGE_LOG" 2>&1 ||
            bail_out "cannot build the worker image: $(tail -n 20 "$KUBE_IMAGE_LOG")"
        KUBE_IMAGE=$(tail -n 1 "$KUBE_IMAGE_LOG")
        # The programs these tests stage into the containers, built here
        # without the build's flags: a sanitizer build's programs need
        # libasan, which the runtime image does not have.
        mkdir -p "$TEST_DIR/bin"
        ${CC:-cc} -O2 -o "$TEST_DIR/bin/hello" "$KRUN_TOP_SRCDIR/examples/hello.c" &&
            ${CC:-cc} -O2 -I"$KRUN_TOP_SRCDIR/include" -I"$KRUN_TOP_SRCDIR" \
                -I"$KRUN_TOP_SRCDIR/runtime/util" \
                -o "$TEST_DIR/bin/sweep" "$KRUN_TOP_SRCDIR/examples/sweep.c" \
                "$KRUN_TOP_SRCDIR/libkrun/krun.c" "$KRUN_TOP_SRCDIR/runtime/util/clock.c" -lm ||
            bail_out "cannot build the examples for the containers with ${CC:-cc}"
        HELLO="$TEST_DIR/bin/hello" KUBE_SWEEP="$TEST_DIR/bin/sweep"
        export KRUN_TEST_KUBELET=podman
    fi
    mkdir -p "$KUBE_DIR"
    kube_ca ca "krun test CA" &&
    kube_cert server 127.0.0.1 ca "subjectAltName=IP:127.0.0.1" &&
    kube_ca other-ca "some other CA" &&
    kube_ca client-ca "krun test client CA" &&
    kube_cert client "krun-user" client-ca ||
        bail_out "cannot make test certificates with openssl"
    cp "$KRUN_TOP_SRCDIR/tests/kube/nodes.json" "$KUBE_DIR/nodes.json"
    echo "$KUBE_TOKEN" >"$KUBE_DIR/tokens"
    python3 "$KRUN_TOP_SRCDIR/tests/kube/apiserver.py" "$KUBE_DIR" \
        >"$KUBE_DIR/server.log" 2>&1 &
    KUBE_PID=$!
    wait_for 30 test -s "$KUBE_DIR/port" ||
        bail_out "test API server did not start: $(tail -n 5 "$KUBE_DIR/server.log")"
    KUBE_PORT=$(cat "$KUBE_DIR/port")
    kube_kubeconfig "$TEST_DIR/kubeconfig" "    token: $KUBE_TOKEN"
    export KUBECONFIG="$TEST_DIR/kubeconfig"
    # Tasks run in the pods' work dir; on this one machine it must exist.
    mkdir -p "$TEST_DIR/work"
}

# The provider configuration of these tests; lines on stdin (indented by
# two, under kubernetes:) add keys or replace the defaults.
kube_config () {
    local extra line key
    extra=$(cat)
    {
        echo "provider: kubernetes"
        echo "presence_timeout_ms: 500"
        echo "kubernetes:"
        local workdir="workdir: $TEST_DIR/work" image="image: krun-worker:test"
        # A container has its own file system: the image's work dir.
        [ -n "$KUBE_CONTAINERS" ] && workdir="workdir: /work" image="image: $KUBE_IMAGE"
        for line in "$image" "pool: tester" "$workdir" \
            "pod_timeout: 60"; do
            key=${line%%:*}
            printf '%s\n' "$extra" | grep -q "^  $key:" || echo "  $line"
        done
        [ -n "$extra" ] && printf '%s\n' "$extra"
    } | test_config
}

# Requests the server answered: kube_requests VERB PATH-REGEX -> count.
kube_requests () {
    grep -c -E "^$1 $2" "$KUBE_DIR/requests.log" 2>/dev/null || true
}

# Pods the server holds, as "name node phase" lines (via its own API).
kube_pods () {
    kube_get "/api/v1/namespaces/krun-test/pods" | python3 -c 'import json,sys
for p in json.load(sys.stdin)["items"]:
    print(p["metadata"]["name"], p["spec"].get("nodeName", "-"), p["status"]["phase"],
          "deleting" if p["metadata"].get("deletionTimestamp") else "")'
}

# GET a path of the test API server, print the JSON answer.
kube_get () {
    python3 -c 'import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[1])
req = urllib.request.Request(sys.argv[2], headers={"Authorization": "Bearer " + sys.argv[3]})
sys.stdout.write(urllib.request.urlopen(req, context=ctx).read().decode())' \
        "$KUBE_DIR/ca.crt" "https://127.0.0.1:$KUBE_PORT$1" "$KUBE_TOKEN"
}
