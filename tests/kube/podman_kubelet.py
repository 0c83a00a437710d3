"""A kubelet for apiserver.py that runs each pod's container with podman.

apiserver.py uses it when KRUN_TEST_KUBELET=podman (tests/lib/kube.sh's
kube_start --containers); podman's configuration is tests/kube/podman-env's
(CONTAINERS_CONF etc. in the environment).  The pod spec is honoured as a
kubelet with a runc-based runtime and the static CPU manager honours it:

- image (never pulled: no registry here; a missing image is ErrImagePull),
  command (the image's ENTRYPOINT replaced) and args, workingDir;
- env: value, fieldRef (spec.nodeName, metadata.name, metadata.namespace,
  status.podIP, status.hostIP), secretKeyRef; KUBERNETES_SERVICE_HOST/PORT
  (this API server);
- securityContext of the pod and the container: runAsUser, runAsGroup,
  runAsNonRoot (checked against the image's user as the kubelet checks it:
  CreateContainerConfigError), fsGroup (a supplementary group, and the group
  of the volumes), readOnlyRootFilesystem (no tmpfs anywhere: what is not a
  volume is read-only), capabilities add/drop, allowPrivilegeEscalation:
  false (no-new-privileges);
- volumes: emptyDir (a directory of mode 0777, group fsGroup with setgid),
  secret laid out as the kubelet's atomic writer lays it out (a timestamped
  directory, the `..data` symlink to it, one symlink per file through
  `..data`; items with path and mode, defaultMode (default 0644); with
  fsGroup the files and directory get that group and at least mode 0440),
  mounted read-only; readOnly mounts;
- resources: limits.memory (--memory, no swap); integer CPU requests equal
  to limits in a pod whose every container has requests = limits
  (Guaranteed QoS) get exclusive CPUs (--cpuset-cpus) taken from the node's
  CPUs (the node annotation test.krun/cpus, default every CPU of this
  machine) that no other such pod of the node holds, as the static CPU
  manager gives them; other pods get the node's shared CPUs;
- the host's network (--network host: the pods reach the test's loopback
  broker and API server) and the host's cgroup namespace, as runc-based
  nodes on cgroup v1 run pods;
- terminationMessagePolicy: /dev/termination-log is a file of the pod
  (mode 0666); when the container ends its content is the message, else with
  FallbackToLogsOnError and a failure the end of the log (80 lines, 2048
  bytes);
- the container's state from podman: running, or terminated with its exit
  code, OOMKilled, or the runtime's error when it could not start;
- delete: `podman stop` with the pod's grace period, then `podman rm`.

A node annotation test.krun/hwloc-synthetic gives the node's hardware as an
hwloc synthetic description (HWLOC_SYNTHETIC and HWLOC_THISSYSTEM=1 in the
container's environment: hwloc in the container sees that layout, with the
PU numbers of this machine, and binds for real): how a 2-PU-per-core node
is tested on a machine that has none.

Every container is labelled krun.test.state=STATE, so that a test's cleanup
can remove what a killed server left.
"""
import base64
import hashlib
import json
import os
import re
import subprocess
import threading
import time

PODMAN = os.environ.get("KRUN_TEST_PODMAN", "podman")
# Every podman call has a bound: a wedged podman fails the pod, not the test.
PODMAN_TIMEOUT = 120


def podman(*args, timeout=PODMAN_TIMEOUT):
    """Run podman; return (exit status, stdout, stderr)."""
    try:
        p = subprocess.run([PODMAN, *args], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return 124, "", f"podman {args[0]}: no answer within {timeout} s"
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def quantity_bytes(q):
    units = {"": 1, "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12,
             "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "m": 1e-3}
    m = re.fullmatch(r"([0-9.]+)(|k|M|G|T|Ki|Mi|Gi|Ti|m)", str(q))
    return int(float(m.group(1)) * units[m.group(2)]) if m else None


def cpu_list(text):
    out = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-")
            out += range(int(a), int(b) + 1)
        elif part.strip():
            out.append(int(part))
    return out


def kubelet_timestamp():
    t = time.time()
    return time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime(t)) + f"{int(t % 1 * 1e9):09d}"


class Kubelet:
    def __init__(self, state, api_port):
        self.state = state
        self.api_port = api_port
        self.prefix = "krun-test-" + hashlib.sha256(state.encode()).hexdigest()[:8]
        self.images = {}  # image -> (exists, user)
        self.exclusive = {}  # node -> {cpu: pod key}
        self.mutex = threading.Lock()

    # ---- images
    def image_user(self, image):
        """(True, the image's user) or (False, why) for an image not here."""
        if image not in self.images:
            rc, out, err = podman("image", "inspect", "--format", "{{.Config.User}}", image)
            self.images[image] = (True, out.strip()) if rc == 0 else (False, err.strip())
        return self.images[image]

    # ---- CPUs
    def node_cpus(self, node):
        ann = node["metadata"].get("annotations", {})
        if "test.krun/cpus" in ann:
            return cpu_list(ann["test.krun/cpus"])
        return sorted(os.sched_getaffinity(0))

    def cpuset(self, key, pod, node):
        """The --cpuset-cpus of a pod's container, or (None, why) when the
        node has not the exclusive CPUs it needs (the kubelet's admission
        error)."""
        cs = pod["spec"]["containers"]
        guaranteed = all(
            c.get("resources", {}).get("requests", {}).get(r) is not None and
            c["resources"]["requests"][r] == c["resources"].get("limits", {}).get(r)
            for c in cs for r in ("cpu", "memory"))
        cpu = str(cs[0].get("resources", {}).get("limits", {}).get("cpu", ""))
        name = node["metadata"]["name"]
        with self.mutex:
            held = self.exclusive.setdefault(name, {})
            free = [c for c in self.node_cpus(node) if c not in held]
            if not (guaranteed and re.fullmatch(r"[0-9]+", cpu)):
                return ",".join(map(str, free)), None
            want = int(cpu)
            if want > len(free):
                return None, (f"not enough cpus available to satisfy request: requested={want}, "
                              f"available={len(free)}")
            for c in free[:want]:
                held[c] = key
            return ",".join(map(str, free[:want])), None

    def release(self, key):
        with self.mutex:
            for held in self.exclusive.values():
                for c in [c for c, k in held.items() if k == key]:
                    del held[c]

    # ---- volumes
    def secret_volume(self, vdir, volume, secret, fs_group):
        """Lay out a secret volume as the kubelet's atomic writer does.
        Returns None or the kubelet's error."""
        sv = volume["secret"]
        data = {k: base64.b64decode(v) for k, v in secret.get("data", {}).items()}
        mode = sv.get("defaultMode", 0o644)
        files = {}
        if "items" in sv:
            for item in sv["items"]:
                if item["key"] not in data:
                    if sv.get("optional"):
                        continue
                    return (f'MountVolume.SetUp failed for volume "{volume["name"]}" : '
                            f'references non-existent secret key: {item["key"]}')
                files[item["path"]] = (data[item["key"]], item.get("mode", mode))
        else:
            files = {k: (v, mode) for k, v in data.items()}
        stamp = os.path.join(vdir, kubelet_timestamp())
        os.mkdir(stamp, 0o755)
        for path, (content, fmode) in files.items():
            full = os.path.join(stamp, path)
            os.makedirs(os.path.dirname(full), 0o755, exist_ok=True)
            with open(full, "wb") as f:
                f.write(content)
            os.chmod(full, fmode)
        os.symlink(os.path.basename(stamp), os.path.join(vdir, "..data"))
        for top in {p.split("/")[0] for p in files}:
            os.symlink(os.path.join("..data", top), os.path.join(vdir, top))
        if fs_group is not None:
            # SetVolumeOwnership of a read-only volume: the group, r for the
            # group, and x + setgid on directories.
            for root, dirs, names in os.walk(stamp):
                for d in [root] + [os.path.join(root, d) for d in dirs]:
                    os.chown(d, -1, fs_group)
                    os.chmod(d, os.stat(d).st_mode & 0o7777 | 0o2550)
                for n in names:
                    p = os.path.join(root, n)
                    os.chown(p, -1, fs_group)
                    os.chmod(p, os.stat(p).st_mode & 0o7777 | 0o440)
        return None

    def empty_dir(self, vdir, fs_group):
        os.chmod(vdir, 0o777)
        if fs_group is not None:
            os.chown(vdir, -1, fs_group)
            os.chmod(vdir, 0o2777)

    # ---- start
    def start(self, key, pod, node, secrets, podip="127.0.0.1"):
        """Create and start the pod's (first) container.  Returns a
        Container, or (reason, message) for a container that cannot be
        created: the waiting state the pod keeps."""
        ns, name = key
        spec = pod["spec"]
        c = spec["containers"][0]
        psc, csc = spec.get("securityContext", {}), c.get("securityContext", {})
        image = c["image"]
        ok, user = self.image_user(image)
        if not ok:
            return ("ErrImagePull", f'Failed to pull image "{image}": no registry is reachable '
                    f'and the image is not here ({user})')
        uid = csc.get("runAsUser", psc.get("runAsUser"))
        gid = csc.get("runAsGroup", psc.get("runAsGroup"))
        fs_group = psc.get("fsGroup")
        where = f'(pod: "{name}_{ns}({pod["metadata"].get("uid", "")})", container: {c["name"]})'
        if csc.get("runAsNonRoot", psc.get("runAsNonRoot")):
            image_uid = user.split(":")[0]
            if uid is not None and uid == 0:
                return ("CreateContainerConfigError",
                        f"container's runAsUser breaks non-root policy {where}")
            if uid is None and image_uid in ("", "0", "root"):
                return ("CreateContainerConfigError",
                        f"container has runAsNonRoot and image will run as root {where}")
            if uid is None and not image_uid.isdigit():
                return ("CreateContainerConfigError",
                        f"container has runAsNonRoot and image has non-numeric user "
                        f"({image_uid}), cannot verify user is non-root {where}")
        poddir = os.path.join(self.state, "pods", f"{ns}_{name}")
        os.makedirs(poddir)
        args = ["run", "--name", f"{self.prefix}-{name}", "--label",
                f"krun.test.state={self.state}", "--pull", "never", "--runtime", "runc",
                "--network", "host", "--cgroupns", "host", "--hostname", name]
        # Volumes
        paths = {}
        for v in spec.get("volumes", []):
            vdir = os.path.join(poddir, "volumes", v["name"])
            os.makedirs(vdir)
            if "secret" in v:
                s = secrets.get((ns, v["secret"]["secretName"]))
                if not s:
                    return ("CreateContainerConfigError",
                            f'MountVolume.SetUp failed for volume "{v["name"]}" : '
                            f'secret "{v["secret"]["secretName"]}" not found')
                err = self.secret_volume(vdir, v, s, fs_group)
                if err:
                    return ("CreateContainerConfigError", err)
            else:
                self.empty_dir(vdir, fs_group)
            paths[v["name"]] = (vdir, "secret" in v)
        for m in c.get("volumeMounts", []):
            vdir, secret = paths[m["name"]]
            ro = secret or m.get("readOnly")
            src = os.path.join(vdir, m["subPath"]) if m.get("subPath") else vdir
            args += ["-v", f"{src}:{m['mountPath']}" + (":ro" if ro else "")]
        # The termination log, as the kubelet makes it.
        termlog = os.path.join(poddir, "termination-log")
        open(termlog, "w").close()
        os.chmod(termlog, 0o666)
        args += ["-v", f"{termlog}:{c.get('terminationMessagePath', '/dev/termination-log')}"]
        # Environment (a file: secret values stay off command lines).
        env = {"KUBERNETES_SERVICE_HOST": "127.0.0.1",
               "KUBERNETES_SERVICE_PORT": str(self.api_port)}
        ann = node["metadata"].get("annotations", {})
        if "test.krun/hwloc-synthetic" in ann:
            env["HWLOC_SYNTHETIC"] = ann["test.krun/hwloc-synthetic"]
            env["HWLOC_THISSYSTEM"] = "1"
        for e in c.get("env", []):
            if "value" in e:
                val = e["value"]
            elif "secretKeyRef" in e.get("valueFrom", {}):
                ref = e["valueFrom"]["secretKeyRef"]
                s = secrets.get((ns, ref["name"]))
                if not s or ref["key"] not in s.get("data", {}):
                    if ref.get("optional"):
                        continue
                    what = (f'secret "{ref["name"]}" not found' if not s else
                            f"couldn't find key {ref['key']} in Secret {ns}/{ref['name']}")
                    return ("CreateContainerConfigError", what)
                val = base64.b64decode(s["data"][ref["key"]]).decode()
            elif "fieldRef" in e.get("valueFrom", {}):
                fp = e["valueFrom"]["fieldRef"]["fieldPath"]
                val = {"spec.nodeName": spec["nodeName"], "metadata.name": name,
                       "metadata.namespace": ns, "status.podIP": podip,
                       "status.hostIP": podip}.get(fp, "")
            else:
                val = ""
            if "\n" in val:
                return ("CreateContainerConfigError",
                        f"test kubelet: env {e['name']}: a newline cannot go into an env file")
            env[e["name"]] = val
        envfile = os.path.join(poddir, "env")
        fd = os.open(envfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.writelines(f"{k}={v}\n" for k, v in env.items())
        args += ["--env-file", envfile]
        # Security context
        if uid is not None:
            args += ["--user", f"{uid}:{gid}" if gid is not None else str(uid)]
        if fs_group is not None:
            args += ["--group-add", str(fs_group)]
        for g in psc.get("supplementalGroups", []):
            args += ["--group-add", str(g)]
        if csc.get("readOnlyRootFilesystem"):
            args += ["--read-only", "--read-only-tmpfs=false"]
        for cap in csc.get("capabilities", {}).get("drop", []):
            args += ["--cap-drop", cap]
        for cap in csc.get("capabilities", {}).get("add", []):
            args += ["--cap-add", cap]
        if csc.get("allowPrivilegeEscalation") is False:
            args += ["--security-opt", "no-new-privileges"]
        if csc.get("privileged"):
            args += ["--privileged"]
        # Resources
        mem = c.get("resources", {}).get("limits", {}).get("memory")
        if mem is not None:
            b = quantity_bytes(mem)
            args += ["--memory", str(b), "--memory-swap", str(b)]
        cpus, why = self.cpuset(key, pod, node)
        if cpus is None:
            return ("UnexpectedAdmissionError", why)
        args += ["--cpuset-cpus", cpus]
        if c.get("workingDir"):
            args += ["-w", c["workingDir"]]
        if c.get("command"):
            args += ["--entrypoint", json.dumps(c["command"])]
        args += [image] + list(c.get("args", []))
        log = open(os.path.join(self.state, f"krund-{name}.log"), "ab")
        with open(os.path.join(self.state, "containers"), "a") as f:
            f.write(f"{self.prefix}-{name}\n")
        # `podman run` attached: it exits with the container's status.
        proc = subprocess.Popen([PODMAN, *args], stdin=subprocess.DEVNULL, stdout=log,
                                stderr=log, start_new_session=True)
        log.close()
        grace = spec.get("terminationGracePeriodSeconds", 30)
        return Container(self, key, f"{self.prefix}-{name}", proc, termlog,
                         c.get("terminationMessagePolicy", "File"), grace)


class Container:
    """One pod's container: the interface apiserver.py's reaper and delete
    use for a process (poll, terminate, wait, kill), and its state."""

    def __init__(self, kubelet, key, name, proc, termlog, policy, grace):
        self.kubelet, self.key, self.name, self.proc = kubelet, key, name, proc
        self.termlog, self.policy, self.grace = termlog, policy, grace
        self.started = None

    def inspect(self):
        rc, out, _ = podman("container", "inspect", "--format", "{{json .State}}", self.name)
        if rc != 0:
            return None
        try:
            return json.loads(out)
        except ValueError:
            return None

    def running_since(self):
        """The container's start time once it runs, else None."""
        if self.started is None:
            st = self.inspect()
            if st and st.get("Status") == "running":
                self.started = st.get("StartedAt", "")[:19] + "Z"
        return self.started

    def poll(self):
        return self.proc.poll()

    def terminated(self):
        """The pod's terminated state, from the container's own."""
        st = self.inspect() or {}
        code = st.get("ExitCode", self.proc.returncode)
        out = {"exitCode": code}
        if st.get("OOMKilled"):
            out["reason"] = "OOMKilled"
        elif st.get("Error"):
            # It never ran: the runtime's error, as containerd reports it.
            out.update(reason="StartError", exitCode=128)
        else:
            out["reason"] = "Completed" if code == 0 else "Error"
        for k, v in (("startedAt", "StartedAt"), ("finishedAt", "FinishedAt")):
            if st.get(v, "").startswith("2"):
                out[k] = st[v][:19] + "Z"
        message = self.message(code, st.get("Error", ""))
        if message:
            out["message"] = message
        return out

    def message(self, code, error):
        try:
            with open(self.termlog, "rb") as f:
                text = f.read(4096)
        except OSError:
            text = b""
        if not text and error:
            text = error.encode()
        if not text and code != 0 and self.policy == "FallbackToLogsOnError":
            _, out, err = podman("logs", "--tail", "80", self.name)
            text = (out + err).encode()[-2048:]
        return text.decode(errors="replace").strip()

    def terminate(self):
        podman("stop", "-t", str(self.grace), self.name, timeout=self.grace + 30)

    def wait(self, timeout=None):
        return self.proc.wait(timeout)

    def kill(self):
        podman("kill", self.name)

    def remove(self):
        podman("rm", "-f", "-t", "0", self.name)
        self.kubelet.release(self.key)
