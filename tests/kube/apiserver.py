#!/usr/bin/env python3
"""A small Kubernetes API server for krun's tests, with a fake kubelet.

It speaks the real wire format over HTTPS (certificates made by the test with
openssl), authenticates bearer tokens (listed one per line in STATE/tokens,
re-read per request, so a test can expire one) or client certificates signed
by the CA, and serves:

  GET    /api/v1/nodes                         from STATE/nodes.json (re-read)
  GET    /api/v1/pods, /api/v1/namespaces/NS/pods   list, labelSelector,
         fieldSelector, watch=1 (chunked ADDED/MODIFIED/DELETED lines)
  POST   /api/v1/namespaces/NS/pods            strict validation, then the
         "scheduler" and the "kubelet" below
  GET/DELETE /api/v1/namespaces/NS/pods/NAME, DELETE .../pods (collection)
  GET/POST/PUT/DELETE /api/v1/namespaces/NS/secrets[/NAME]
  GET    /api/v1/namespaces/NS/events          recorded scheduling failures

Request bodies are checked against the field names and types of the API
objects (unknown field: 400 "strict decoding error", as a server with
fieldValidation=Strict answers; missing required field: 422).  Errors are
Status objects.  STATE/deny holds lines "STATUS VERB PATH-REGEX" answered
with that status (403 for RBAC refusals, 401, 500...).  Every request is
logged to STATE/requests.log as "VERB PATH STATUS".

The kubelet: a pod whose node affinity names a node that exists, is
schedulable, tolerated and has room is bound to it; its container runs as a
real `krund` ($KRUN_KRUND for the command "krund") with the pod's env
(secretKeyRef and fieldRef resolved), its secret volumes written to a temp
dir with their mode (paths under the mount path in env values rewritten),
and --slots from the CPU limit.  The pod turns Running; when krund exits it
turns Succeeded/Failed; DELETE stops it by PID.  An image named
"missing/..." stays Pending with ErrImagePull.

With KRUN_TEST_KUBELET=podman the kubelet runs real containers instead:
each pod's container runs with podman as a kubelet would run it
(tests/kube/podman_kubelet.py says what of the spec it honours); the pod is
Pending (ContainerCreating) until the container runs, and its state comes
from the container's.

STATE/mutate-pods, lines "PATH JSON" (PATH dotted, list indexes as numbers:
spec.volumes.2.secret.defaultMode 420), is applied to every pod created, as
a cluster's mutating admission webhook would change it.

Usage: apiserver.py STATE_DIR   (STATE/server.crt, server.key, ca.crt must
exist; writes STATE/port when listening on 127.0.0.1; STATE/client-ca.crt
enables client certificates)
"""
import base64
import copy
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = sys.argv[1]
KRUND = os.environ.get("KRUN_KRUND", "krund")
CONTAINERS = os.environ.get("KRUN_TEST_KUBELET") == "podman"
if CONTAINERS:
    sys.dont_write_bytecode = True  # no __pycache__ in the source tree
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import podman_kubelet
kubelet = None  # the podman kubelet (main() makes it)
lock = threading.Condition()
objects = {"pods": {}, "secrets": {}}  # (namespace, name) -> object
events = []  # (rv, kind, type, object)
recorded = []  # Event objects
procs = {}  # (namespace, name) -> Popen
PORT = 0  # the port this server listens on (main() sets it)
rv_counter = [1000]
uid_counter = [0]

# ---- schemas: field -> type; "str", "int", "bool", "map" (str -> str),
# "quantity" (str or int), [schema] a list, {..} an object.
QUANTITIES = "quantities"
META = {"name": "str", "generateName": "str", "namespace": "str", "labels": "map",
        "annotations": "map", "uid": "str", "resourceVersion": "str",
        "creationTimestamp": "str", "deletionTimestamp": "str", "finalizers": ["str"],
        "ownerReferences": [{"apiVersion": "str", "kind": "str", "name": "str",
                             "uid": "str", "controller": "bool"}]}
SELECTOR_REQ = {"key": "str", "operator": "str", "values": ["str"]}
ENV_VAR = {"name": "str", "value": "str",
           "valueFrom": {"secretKeyRef": {"name": "str", "key": "str", "optional": "bool"},
                         "configMapKeyRef": {"name": "str", "key": "str",
                                             "optional": "bool"},
                         "fieldRef": {"fieldPath": "str", "apiVersion": "str"},
                         "resourceFieldRef": {"resource": "str", "containerName": "str",
                                              "divisor": "quantity"}}}
CONTAINER = {
    "name": "str", "image": "str", "imagePullPolicy": "str", "command": ["str"],
    "args": ["str"], "workingDir": "str", "env": [ENV_VAR],
    "resources": {"requests": QUANTITIES, "limits": QUANTITIES},
    "securityContext": {"runAsNonRoot": "bool", "runAsUser": "int", "runAsGroup": "int",
                        "allowPrivilegeEscalation": "bool", "privileged": "bool",
                        "readOnlyRootFilesystem": "bool",
                        "capabilities": {"add": ["str"], "drop": ["str"]},
                        "seccompProfile": {"type": "str"}},
    "volumeMounts": [{"name": "str", "mountPath": "str", "readOnly": "bool",
                      "subPath": "str"}],
    "terminationMessagePolicy": "str",
}
POD = {
    "apiVersion": "str", "kind": "str", "metadata": META,
    "spec": {
        "containers": [CONTAINER], "initContainers": [CONTAINER],
        "restartPolicy": "str", "nodeName": "str", "nodeSelector": "map",
        "serviceAccountName": "str", "automountServiceAccountToken": "bool",
        "terminationGracePeriodSeconds": "int", "activeDeadlineSeconds": "int",
        "enableServiceLinks": "bool", "priorityClassName": "str",
        "imagePullSecrets": [{"name": "str"}],
        "tolerations": [{"key": "str", "operator": "str", "value": "str",
                         "effect": "str", "tolerationSeconds": "int"}],
        "securityContext": {"runAsNonRoot": "bool", "runAsUser": "int",
                            "runAsGroup": "int", "fsGroup": "int",
                            "seccompProfile": {"type": "str"}},
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [SELECTOR_REQ],
                                   "matchFields": [SELECTOR_REQ]}]}}},
        "volumes": [{"name": "str",
                     "emptyDir": {"medium": "str", "sizeLimit": "quantity"},
                     "secret": {"secretName": "str", "defaultMode": "int",
                                "optional": "bool",
                                "items": [{"key": "str", "path": "str", "mode": "int"}]}}],
    },
    "status": {},
}
SECRET = {"apiVersion": "str", "kind": "str", "metadata": META, "type": "str",
          "data": "map", "stringData": "map", "immutable": "bool"}
DELETE_OPTIONS = {"apiVersion": "str", "kind": "str", "gracePeriodSeconds": "int",
                  "propagationPolicy": "str"}


class Invalid(Exception):
    def __init__(self, status, reason, message):
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


def check(value, schema, path):
    """Raise Invalid for an unknown field or a wrong type."""
    where = path or "<root>"
    if schema == "str":
        if not isinstance(value, str):
            raise Invalid(400, "BadRequest", f'json: cannot unmarshal {type(value).__name__} into Go struct field {where} of type string')
    elif schema == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            raise Invalid(400, "BadRequest", f'json: cannot unmarshal into Go struct field {where} of type int64')
    elif schema == "bool":
        if not isinstance(value, bool):
            raise Invalid(400, "BadRequest", f'json: cannot unmarshal into Go struct field {where} of type bool')
    elif schema == "quantity":
        if not (isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))):
            raise Invalid(400, "BadRequest", f"{where}: quantities must be strings or integers")
        if isinstance(value, str) and not re.fullmatch(r"[+]?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?", value):
            raise Invalid(400, "BadRequest", f"quantities must match the regular expression: {where}={value}")
    elif schema == "map":
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise Invalid(400, "BadRequest", f"{where}: expected a map of strings")
    elif schema == QUANTITIES:
        if not isinstance(value, dict):
            raise Invalid(400, "BadRequest", f"{where}: expected a map of quantities")
        for k, v in value.items():
            check(v, "quantity", f"{path}.{k}")
    elif isinstance(schema, list):
        if not isinstance(value, list):
            raise Invalid(400, "BadRequest", f"{where}: expected a list")
        for i, item in enumerate(value):
            check(item, schema[0], f"{path}[{i}]")
    elif isinstance(schema, dict):
        if not isinstance(value, dict):
            raise Invalid(400, "BadRequest", f"{where}: expected an object")
        for k, v in value.items():
            if k not in schema:
                raise Invalid(400, "BadRequest", f'strict decoding error: unknown field "{path + "." if path else ""}{k}"')
            if schema[k] == {} and isinstance(v, dict):
                continue
            check(v, schema[k], f"{path}.{k}" if path else k)


def mutate_pod(pod):
    """STATE/mutate-pods: what a mutating admission webhook would set."""
    try:
        with open(os.path.join(STATE, "mutate-pods")) as f:
            rules = [line.split(None, 1) for line in f if line.strip()]
    except FileNotFoundError:
        return
    for path, value in rules:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        obj = pod
        for p in parents:
            obj = obj[p]
        obj[last] = json.loads(value)


def validate_pod(pod):
    check(pod, POD, "")
    meta, spec = pod.get("metadata", {}), pod.get("spec", {})
    if not meta.get("name") and not meta.get("generateName"):
        raise Invalid(422, "Invalid", "Pod is invalid: metadata.name: Required value: name or generateName is required")
    if not spec.get("containers"):
        raise Invalid(422, "Invalid", "Pod is invalid: spec.containers: Required value")
    for i, c in enumerate(spec["containers"]):
        for f in ("name", "image"):
            if not c.get(f):
                raise Invalid(422, "Invalid", f"Pod is invalid: spec.containers[{i}].{f}: Required value")
    if spec.get("restartPolicy", "Always") not in ("Always", "OnFailure", "Never"):
        raise Invalid(422, "Invalid", "Pod is invalid: spec.restartPolicy: Unsupported value")
    names = {v["name"] for v in spec.get("volumes", [])}
    for c in spec["containers"]:
        for m in c.get("volumeMounts", []):
            if m["name"] not in names:
                raise Invalid(422, "Invalid", f'Pod is invalid: spec.containers[0].volumeMounts.name: Not found: "{m["name"]}"')


def status_body(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# ---- selectors
def parse_label_selector(s):
    reqs = []
    for part in re.split(r",(?![^()]*\))", s or ""):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"(\S+)\s+(in|notin)\s+\((.*)\)", part)
        if m:
            reqs.append((m.group(1), m.group(2), [v.strip() for v in m.group(3).split(",")]))
        elif "!=" in part:
            k, v = part.split("!=", 1)
            reqs.append((k.strip(), "!=", v.strip()))
        elif "==" in part or "=" in part:
            k, v = re.split("==?", part, 1)
            reqs.append((k.strip(), "=", v.strip()))
        elif part.startswith("!"):
            reqs.append((part[1:], "!exists", None))
        else:
            reqs.append((part, "exists", None))
    return reqs


def labels_match(labels, reqs):
    for k, op, v in reqs:
        have = labels.get(k)
        if op == "=" and have != v or op == "!=" and have == v:
            return False
        if op == "exists" and have is None or op == "!exists" and have is not None:
            return False
        if op == "in" and have not in v or op == "notin" and have in v:
            return False
    return True


def field_value(obj, path):
    for p in path.split("."):
        obj = obj.get(p, {}) if isinstance(obj, dict) else {}
    return obj if isinstance(obj, str) else ""


def fields_match(obj, s):
    for part in (s or "").split(","):
        if not part:
            continue
        if "!=" in part:
            k, v = part.split("!=", 1)
            if field_value(obj, k) == v:
                return False
        else:
            k, v = re.split("==?", part, 1)
            if field_value(obj, k) != v:
                return False
    return True


def load_nodes():
    with open(os.path.join(STATE, "nodes.json")) as f:
        return json.load(f)


# ---- store (call with lock held)
def bump(obj):
    rv_counter[0] += 1
    obj["metadata"]["resourceVersion"] = str(rv_counter[0])
    return rv_counter[0]


def emit(kind, etype, obj):
    rv = int(obj["metadata"]["resourceVersion"])
    events.append((rv, kind, etype, copy.deepcopy(obj)))
    lock.notify_all()


def record_event(pod, reason, message, etype="Warning"):
    recorded.append({"apiVersion": "v1", "kind": "Event",
                     "metadata": {"name": pod["metadata"]["name"] + "." + str(len(recorded)),
                                  "namespace": pod["metadata"]["namespace"]},
                     "involvedObject": {"kind": "Pod", "name": pod["metadata"]["name"],
                                        "namespace": pod["metadata"]["namespace"]},
                     "reason": reason, "message": message, "type": etype,
                     "lastTimestamp": now()})


def quantity_milli(q):
    q = str(q)
    units = {"m": 1e-3, "": 1, "k": 1e3, "Ki": 1024, "Mi": 1024 ** 2, "Gi": 1024 ** 3}
    m = re.fullmatch(r"([0-9.]+)(m|k|Ki|Mi|Gi|)", q)
    return int(round(float(m.group(1)) * units[m.group(2)] * 1000)) if m else 0


def pod_cpu(pod):
    return sum(quantity_milli(c.get("resources", {}).get("requests", {}).get("cpu", 0))
               for c in pod["spec"]["containers"])


def selector_req_match(req, value):
    op, values = req.get("operator"), req.get("values", [])
    if op == "In":
        return value is not None and value in values
    if op == "NotIn":
        return value is None or value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    return False  # Gt, Lt and unknown operators: krun uses none


def affinity_nodes(pod, nodes):
    """The names of the nodes the pod's required node affinity allows, as a
    scheduler matches it: matchExpressions against the node's labels,
    matchFields against its metadata.name (the only field Kubernetes
    supports there); terms are ORed, requirements of a term ANDed.  Without
    affinity: spec.nodeName, else every node."""
    terms = (pod["spec"].get("affinity", {}).get("nodeAffinity", {})
             .get("requiredDuringSchedulingIgnoredDuringExecution", {})
             .get("nodeSelectorTerms", []))
    if not terms:
        want = pod["spec"].get("nodeName")
        return [n for n in nodes if want is None or n == want]
    out = []
    for name, node in nodes.items():
        labels = node["metadata"].get("labels", {})
        for t in terms:
            exprs, fields = t.get("matchExpressions", []), t.get("matchFields", [])
            if not exprs and not fields:
                continue
            if any(f["key"] != "metadata.name" for f in fields):
                continue  # the API server would refuse it; never matches here
            if (all(selector_req_match(e, labels.get(e["key"])) for e in exprs) and
                    all(selector_req_match(f, name) for f in fields)):
                out.append(name)
                break
    return out


def tolerated(taint, tolerations):
    if taint.get("effect") not in ("NoSchedule", "NoExecute"):
        return True
    for t in tolerations:
        if t.get("effect") and t["effect"] != taint["effect"]:
            continue
        if t.get("operator") == "Exists" and (not t.get("key") or t["key"] == taint["key"]):
            return True
        if t.get("key") == taint["key"] and t.get("value", "") == taint.get("value", ""):
            return True
    return False


def schedule(pod):
    """The node name, or None and a reason."""
    nodes = {n["metadata"]["name"]: n for n in load_nodes()["items"]}
    matching = affinity_nodes(pod, nodes)
    if not matching:
        return None, f"0/{len(nodes)} nodes are available: {len(nodes)} node(s) didn't match Pod's node affinity/selector."
    # krun's pods name one node each; the first match is enough here.
    want = matching[0]
    node = nodes[want]
    if node["spec"].get("unschedulable"):
        return None, f"0/{len(nodes)} nodes are available: 1 node(s) were unschedulable."
    for taint in node["spec"].get("taints", []):
        if not tolerated(taint, pod["spec"].get("tolerations", [])):
            return None, f"0/{len(nodes)} nodes are available: 1 node(s) had untolerated taint {{{taint['key']}: {taint.get('value', '')}}}."
    used = sum(pod_cpu(p) for (ns, _), p in objects["pods"].items()
               if p["spec"].get("nodeName") == want and p is not pod
               and p["status"].get("phase") in ("Pending", "Running"))
    used += sum(pod_cpu(p) for p in load_nodes().get("otherPods", [])
                if p["spec"].get("nodeName") == want
                and p["status"].get("phase") in ("Pending", "Running"))
    if used + pod_cpu(pod) > quantity_milli(node["status"]["allocatable"]["cpu"]):
        return None, f"0/{len(nodes)} nodes are available: 1 Insufficient cpu."
    return want, None


def secret_value(ns, name, key):
    s = objects["secrets"].get((ns, name))
    if not s or key not in s.get("data", {}):
        return None
    return base64.b64decode(s["data"][key]).decode()


def start_krund(pod):
    """Run the pod's container as a krund; return None or an error reason."""
    ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    c = pod["spec"]["containers"][0]
    workdir = tempfile.mkdtemp(prefix=f"pod-{name}.", dir=STATE)
    mounts = {}
    for v in pod["spec"].get("volumes", []):
        vdir = os.path.join(workdir, v["name"])
        os.mkdir(vdir, 0o755)
        if "secret" in v:
            s = objects["secrets"].get((ns, v["secret"]["secretName"]))
            if not s:
                return f'MountVolume.SetUp failed for volume "{v["name"]}": secret "{v["secret"]["secretName"]}" not found'
            mode = v["secret"].get("defaultMode", 0o644)
            for k, data in s.get("data", {}).items():
                path = os.path.join(vdir, k)
                with open(path, "wb") as f:
                    f.write(base64.b64decode(data))
                os.chmod(path, mode)
        mounts[v["name"]] = vdir
    paths = {m["mountPath"]: mounts[m["name"]] for m in c.get("volumeMounts", [])}
    # The harness's sanitizer settings reach krund too, so CI sees its reports.
    env = {k: v for k, v in os.environ.items()
           if k in ("PATH", "LANG", "TMPDIR", "ASAN_OPTIONS", "UBSAN_OPTIONS")}
    # A container's HOME comes from the image's passwd entry (or is /); on a
    # read-only root file system its user cannot write there.
    env["HOME"] = "/nonexistent"
    for e in c.get("env", []):
        if "value" in e:
            val = e["value"]
        elif "secretKeyRef" in e.get("valueFrom", {}):
            ref = e["valueFrom"]["secretKeyRef"]
            val = secret_value(ns, ref["name"], ref["key"])
            if val is None:
                return f'CreateContainerConfigError: secret "{ref["name"]}" has no key "{ref["key"]}"'
        elif "fieldRef" in e.get("valueFrom", {}):
            fp = e["valueFrom"]["fieldRef"]["fieldPath"]
            val = {"spec.nodeName": pod["spec"]["nodeName"], "metadata.name": name,
                   "metadata.namespace": ns}.get(fp, "")
        else:
            val = ""
        # The deepest mount holding the path (/tmp holds the test's work dir).
        for mount in sorted(paths, key=len, reverse=True):
            if val.startswith(mount + "/"):
                val = paths[mount] + val[len(mount):]
                break
        env[e["name"]] = val
    # What a kubelet gives every container: the API server's address, and
    # /tmp and /dev/termination-log where a process cannot be given them as
    # mounts: $TMPDIR for a volume mounted at /tmp, $KRUN_TERMINATION_LOG
    # for the termination log (krund writes either).
    env["KUBERNETES_SERVICE_HOST"] = "127.0.0.1"
    env["KUBERNETES_SERVICE_PORT"] = str(PORT)
    if "/tmp" in paths:
        env["TMPDIR"] = paths["/tmp"]
    termination_log = os.path.join(workdir, "termination-log")
    open(termination_log, "w").close()
    env["KRUN_TERMINATION_LOG"] = termination_log
    argv = list(c.get("command", [])) + list(c.get("args", []))
    if argv and argv[0] == "krund":
        argv[0] = KRUND
    limit = c.get("resources", {}).get("limits", {}).get("cpu", "1")
    slots = max(1, quantity_milli(limit) // 1000)
    if "--slots" in argv:
        i = argv.index("--slots")
        del argv[i:i + 2]
    argv += ["--slots", str(slots)]
    with open(os.path.join(STATE, f"krund-{name}.log"), "ab") as log:
        procs[(ns, name)] = subprocess.Popen(argv, env=env, stdout=log, stderr=log,
                                             stdin=subprocess.DEVNULL, cwd=workdir,
                                             start_new_session=True)
    with open(os.path.join(STATE, "pids"), "a") as f:
        f.write(f"{procs[(ns, name)].pid}\n")
    pod["metadata"].setdefault("annotations", {})["test.krun/workdir"] = workdir
    return None


def termination_message(pod, rc):
    """As the kubelet fills terminated.message: the termination log, else
    (FallbackToLogsOnError, a failed container) the end of the log (the last
    80 lines, at most 2048 bytes)."""
    name = pod["metadata"]["name"]
    workdir = pod["metadata"].get("annotations", {}).get("test.krun/workdir")
    try:
        with open(os.path.join(workdir, "termination-log"), "rb") as f:
            text = f.read(4096)
    except (OSError, TypeError):
        text = b""
    c = pod["spec"]["containers"][0]
    if not text and rc != 0 and c.get("terminationMessagePolicy") == "FallbackToLogsOnError":
        try:
            with open(os.path.join(STATE, f"krund-{name}.log"), "rb") as f:
                text = b"\n".join(f.read().splitlines()[-80:])[-2048:]
        except OSError:
            text = b""
    return text.decode(errors="replace")


def kubelet_admit(pod):
    node, why = schedule(pod)
    if not node:
        pod["status"]["conditions"] = [{"type": "PodScheduled", "status": "False",
                                        "reason": "Unschedulable", "message": why}]
        record_event(pod, "FailedScheduling", why)
        return
    pod["spec"]["nodeName"] = node
    image = pod["spec"]["containers"][0]["image"]
    if image.startswith("missing/"):
        msg = f'Failed to pull image "{image}": not found'
        pod["status"]["containerStatuses"] = [{"name": pod["spec"]["containers"][0]["name"],
                                               "ready": False, "state": {"waiting": {
                                                   "reason": "ErrImagePull", "message": msg}}}]
        record_event(pod, "Failed", msg)
        return
    if CONTAINERS:
        return start_container(pod)
    err = start_krund(pod)
    if err:
        pod["status"]["containerStatuses"] = [{"name": "krund", "ready": False, "state": {
            "waiting": {"reason": "CreateContainerConfigError", "message": err}}}]
        record_event(pod, "Failed", err)
        return
    pod["status"]["phase"] = "Running"
    pod["status"]["startTime"] = now()
    pod["status"]["containerStatuses"] = [{"name": "krund", "ready": True,
                                           "image": image,
                                           "state": {"running": {"startedAt": now()}}}]


def start_container(pod):
    """The podman kubelet's part of kubelet_admit."""
    key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
    node = {n["metadata"]["name"]: n for n in load_nodes()["items"]}[pod["spec"]["nodeName"]]
    c = kubelet.start(key, pod, node, objects["secrets"])
    name = pod["spec"]["containers"][0]["name"]
    if isinstance(c, tuple):
        reason, message = c
        record_event(pod, "Failed", message)
        if reason == "UnexpectedAdmissionError":
            # Rejected by the node: the pod fails, as a kubelet fails it.
            pod["status"].update(phase="Failed", reason=reason, message=message)
            return
        pod["status"]["containerStatuses"] = [{"name": name, "ready": False, "state": {
            "waiting": {"reason": reason, "message": message}}}]
        return
    procs[key] = c
    pod["status"]["containerStatuses"] = [{"name": name, "ready": False,
                                           "image": pod["spec"]["containers"][0]["image"],
                                           "state": {"waiting": {"reason": "ContainerCreating"}}}]


def stop_pod(key):
    p = procs.pop(key, None)
    if p:
        try:
            p.terminate()
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        if CONTAINERS:
            p.remove()


def reaper():
    """A krund that exits ends its pod (restartPolicy Never); a pod that did
    not fit is scheduled again (the node may have room now)."""
    while True:
        time.sleep(0.2)
        started, ended = {}, {}
        if CONTAINERS:
            # podman takes a while to answer: ask it outside the lock.
            with lock:
                snapshot = list(procs.items())
            for key, p in snapshot:
                if p.poll() is not None:
                    ended[key] = (p, p.terminated())
                    p.remove()
                elif p.started is None and p.running_since():
                    started[key] = p
        with lock:
            for key, p in started.items():
                pod = objects["pods"].get(key)
                if pod and procs.get(key) is p and not pod["metadata"].get("deletionTimestamp"):
                    pod["status"]["phase"] = "Running"
                    pod["status"]["startTime"] = p.started
                    cs = pod["status"]["containerStatuses"][0]
                    cs.update(ready=True, state={"running": {"startedAt": p.started}})
                    bump(pod)
                    emit("pods", "MODIFIED", pod)
            for key, pod in list(objects["pods"].items()):
                if (pod["status"].get("phase") == "Pending" and not pod["spec"].get("nodeName")
                        and not pod["metadata"].get("deletionTimestamp")):
                    node, _ = schedule(pod)
                    if node:
                        kubelet_admit(pod)
                        bump(pod)
                        emit("pods", "MODIFIED", pod)
            for key, p in list(procs.items()):
                rc = p.poll()
                pod = objects["pods"].get(key)
                if CONTAINERS and (key not in ended or ended[key][0] is not p):
                    continue  # ended since the snapshot: the next turn has its state
                if rc is None or pod is None or pod["metadata"].get("deletionTimestamp"):
                    continue
                procs.pop(key)
                if CONTAINERS:
                    terminated = ended[key][1]
                    rc = terminated["exitCode"]
                else:
                    terminated = {"exitCode": rc if rc >= 0 else 128 - rc}
                    message = termination_message(pod, rc)
                    if message:
                        terminated["message"] = message
                pod["status"]["phase"] = "Succeeded" if rc == 0 else "Failed"
                cs = pod["status"]["containerStatuses"][0]
                cs.update(ready=False, state={"terminated": terminated})
                bump(pod)
                emit("pods", "MODIFIED", pod)


def delete_pod(key):
    """Called with the lock held; stops the krund outside of it."""
    pod = objects["pods"][key]
    pod["metadata"]["deletionTimestamp"] = now()
    bump(pod)
    emit("pods", "MODIFIED", pod)
    reply = copy.deepcopy(pod)

    def finish():
        stop_pod(key)
        with lock:
            if objects["pods"].get(key) is pod:
                del objects["pods"][key]
                bump(pod)
                emit("pods", "DELETED", pod)
            workdir = pod["metadata"].get("annotations", {}).get("test.krun/workdir")
            if workdir:
                shutil.rmtree(workdir, ignore_errors=True)
    threading.Thread(target=finish, daemon=True).start()
    return reply


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.log(code)

    def log(self, code):
        with open(os.path.join(STATE, "requests.log"), "a") as f:
            f.write(f"{self.command} {self.path} {code}\n")

    def fail(self, code, reason, message):
        self.reply(code, status_body(code, reason, message))

    def authenticated(self):
        cert = self.connection.getpeercert() if hasattr(self.connection, "getpeercert") else None
        if cert:
            return True
        auth = self.headers.get("Authorization", "")
        try:
            with open(os.path.join(STATE, "tokens")) as f:
                tokens = [t.strip() for t in f if t.strip()]
        except FileNotFoundError:
            tokens = []
        return auth.startswith("Bearer ") and auth[7:] in tokens

    def denied(self):
        try:
            with open(os.path.join(STATE, "deny")) as f:
                rules = [line.split(None, 2) for line in f if line.strip()]
        except FileNotFoundError:
            return None
        for code, verb, pattern in rules:
            if verb in (self.command, "*") and re.search(pattern.strip(), self.path):
                return int(code)
        return None

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if not n:
            return None
        try:
            return json.loads(self.rfile.read(n))
        except ValueError:
            raise Invalid(400, "BadRequest", "the body of the request was in an unknown format")

    def handle_any(self):
        if not self.authenticated():
            return self.fail(401, "Unauthorized", "Unauthorized")
        code = self.denied()
        if code:
            what = self.path.split("?")[0].rstrip("/").split("/")
            resource = what[-1] if what[-2] in ("v1", "namespaces") or len(what) % 2 == 0 else what[-2]
            named = resource != what[-1]
            verb = {"GET": "get" if named else "list", "POST": "create", "PUT": "update",
                    "PATCH": "patch", "DELETE": "delete" if named else "deletecollection"}[self.command]
            return self.fail(code, "Forbidden" if code == 403 else "InternalError",
                             f'{resource} is forbidden: User "system:serviceaccount:krun:krun" cannot {verb} resource "{resource}" in API group ""')
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        parts = url.path.strip("/").split("/")
        try:
            if parts[:2] != ["api", "v1"]:
                return self.fail(404, "NotFound", "the server could not find the requested resource")
            parts = parts[2:]
            ns = None
            if parts[:1] == ["namespaces"] and len(parts) >= 3:
                ns, parts = parts[1], parts[2:]
            if parts == ["nodes"] and self.command == "GET":
                return self.list_nodes(q)
            if parts and parts[0] in ("pods", "secrets"):
                return self.resource(parts[0], ns, parts[1] if len(parts) > 1 else None, q)
            if parts == ["events"] and self.command == "GET":
                with lock:
                    items = [e for e in recorded if fields_match(e, q.get("fieldSelector"))
                             and (ns is None or e["metadata"]["namespace"] == ns)]
                return self.reply(200, {"kind": "EventList", "apiVersion": "v1",
                                        "metadata": {}, "items": items})
            return self.fail(404, "NotFound", "the server could not find the requested resource")
        except Invalid as e:
            return self.fail(e.status, e.reason, e.message)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any

    def list_nodes(self, q):
        sel = parse_label_selector(q.get("labelSelector"))
        nodes = load_nodes()
        items = [n for n in nodes["items"] if labels_match(n["metadata"].get("labels", {}), sel)]
        return self.reply(200, {"kind": "NodeList", "apiVersion": "v1",
                                "metadata": {"resourceVersion": str(rv_counter[0])},
                                "items": items})

    def matching(self, kind, ns, q):
        sel = parse_label_selector(q.get("labelSelector"))
        out = []
        for (ons, _), o in sorted(objects[kind].items()):
            if ns is not None and ons != ns:
                continue
            if labels_match(o["metadata"].get("labels", {}), sel) and fields_match(o, q.get("fieldSelector")):
                out.append(o)
        if kind == "pods" and ns is None:
            out += [p for p in load_nodes().get("otherPods", [])
                    if fields_match(p, q.get("fieldSelector"))]
        return out

    def resource(self, kind, ns, name, q):
        listkind = "PodList" if kind == "pods" else "SecretList"
        single = "Pod" if kind == "pods" else "Secret"
        cmd = self.command
        if cmd == "GET" and name is None and q.get("watch") in ("1", "true"):
            return self.watch(kind, ns, q)
        body = self.body() if cmd in ("POST", "PUT", "DELETE") else None
        with lock:
            if cmd == "GET" and name is None:
                items = copy.deepcopy(self.matching(kind, ns, q))
                return self.reply(200, {"kind": listkind, "apiVersion": "v1",
                                        "metadata": {"resourceVersion": str(rv_counter[0])},
                                        "items": items})
            if ns is None:
                return self.fail(404, "NotFound", "namespace required")
            if cmd == "POST" and name is None:
                return self.create(kind, ns, body)
            if cmd == "DELETE" and name is None:
                if body is not None:
                    check(body, DELETE_OPTIONS, "")
                items = []
                for o in list(self.matching(kind, ns, q)):
                    key = (ns, o["metadata"]["name"])
                    items.append(delete_pod(key) if kind == "pods" else objects[kind].pop(key))
                return self.reply(200, {"kind": listkind, "apiVersion": "v1",
                                        "metadata": {}, "items": items})
            key = (ns, name)
            if key not in objects[kind]:
                return self.fail(404, "NotFound", f'{kind} "{name}" not found')
            if cmd == "GET":
                return self.reply(200, objects[kind][key])
            if cmd == "DELETE":
                if body is not None:
                    check(body, DELETE_OPTIONS, "")
                if kind == "pods":
                    return self.reply(200, delete_pod(key))
                obj = objects[kind].pop(key)
                return self.reply(200, status_body(200, "", "deleted") | {"status": "Success"})
            if cmd == "PUT" and kind == "secrets":
                check(body, SECRET, "")
                if body.get("metadata", {}).get("name") != name:
                    raise Invalid(400, "BadRequest", "the name of the object does not match the name on the URL")
                old = objects[kind][key]
                body["metadata"].update({k: old["metadata"][k] for k in ("uid", "creationTimestamp")})
                body["metadata"]["namespace"] = ns
                objects[kind][key] = body
                bump(body)
                return self.reply(200, body)
            return self.fail(405, "MethodNotAllowed", f"{cmd} is not supported here")

    def create(self, kind, ns, body):
        if body is None:
            raise Invalid(400, "BadRequest", "no body")
        if kind == "pods":
            validate_pod(body)
            mutate_pod(body)
        else:
            check(body, SECRET, "")
            for k, v in body.get("data", {}).items():
                try:
                    base64.b64decode(v, validate=True)
                except ValueError:
                    raise Invalid(400, "BadRequest", f"illegal base64 data in data.{k}")
        if body.get("metadata", {}).get("namespace", ns) != ns:
            raise Invalid(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request")
        meta = body.setdefault("metadata", {})
        if not meta.get("name"):
            uid_counter[0] += 1
            meta["name"] = meta["generateName"] + f"{uid_counter[0]:05x}"
        if (ns, meta["name"]) in objects[kind]:
            return self.fail(409, "AlreadyExists", f'{kind} "{meta["name"]}" already exists')
        uid_counter[0] += 1
        meta.update({"namespace": ns, "uid": f"uid-{uid_counter[0]}",
                     "creationTimestamp": now()})
        objects[kind][(ns, meta["name"])] = body
        if kind == "pods":
            body["status"] = {"phase": "Pending"}
            bump(body)
            emit(kind, "ADDED", body)
            kubelet_admit(body)
            bump(body)
            emit(kind, "MODIFIED", body)
        else:
            bump(body)
        return self.reply(201, body)

    def watch(self, kind, ns, q):
        deadline = time.time() + min(int(q.get("timeoutSeconds", 300)), 600)
        with lock:
            if q.get("resourceVersion") not in (None, "", "0"):
                since = int(q["resourceVersion"])
                initial = []
            else:
                since = rv_counter[0]
                initial = [("ADDED", copy.deepcopy(o)) for o in self.matching(kind, ns, q)]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.log(200)
        sel = parse_label_selector(q.get("labelSelector"))

        def send(etype, obj):
            line = json.dumps({"type": etype, "object": obj}).encode() + b"\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            self.wfile.flush()
        try:
            for etype, obj in initial:
                send(etype, obj)
            while time.time() < deadline:
                with lock:
                    lock.wait(min(0.5, max(0.01, deadline - time.time())))
                    new = [(rv, t, o) for rv, k, t, o in events if rv > since and k == kind]
                for rv, etype, obj in new:
                    since = rv
                    if ns is not None and obj["metadata"]["namespace"] != ns:
                        continue
                    if labels_match(obj["metadata"].get("labels", {}), sel) and \
                            fields_match(obj, q.get("fieldSelector")):
                        send(etype, obj)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass
        self.close_connection = True


def shutdown(signum, frame):
    # Containers stop in parallel: each may take its grace period.
    stoppers = [threading.Thread(target=stop_pod, args=(key,)) for key in list(procs)]
    for t in stoppers:
        t.start()
    for t in stoppers:
        t.join()
    os._exit(0)


def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(STATE, "server.crt"), os.path.join(STATE, "server.key"))
    client_ca = os.path.join(STATE, "client-ca.crt")
    if os.path.exists(client_ca):
        ctx.verify_mode = ssl.CERT_OPTIONAL
        ctx.load_verify_locations(client_ca)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    global PORT, kubelet
    PORT = server.server_address[1]
    if CONTAINERS:
        kubelet = podman_kubelet.Kubelet(os.path.abspath(STATE), PORT)
    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    threading.Thread(target=reaper, daemon=True).start()
    with open(os.path.join(STATE, "port.tmp"), "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(os.path.join(STATE, "port.tmp"), os.path.join(STATE, "port"))
    server.serve_forever()


if __name__ == "__main__":
    main()
