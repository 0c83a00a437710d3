#!/usr/bin/env python3
"""Where the wall-clock time of a short krun command goes, AMQP round trip
by round trip (issue 15: "say where each millisecond goes").

  amqptrace.py [--runs N] CMD...

Runs CMD N times (default 20) under `strace --seccomp-bpf -f -ttt` (execve,
connect, sendto, recvfrom, exit_group; buffers in hex; with the seccomp
filter the other system calls run at full speed), decodes the AMQP frames of
every send and receive, and cuts each run's timeline at those events:

  * "start-up": from the execve to the first connect (exec, dynamic
    linking, configuration; krun loads its key and initialises OpenSSL
    while it logs in);
  * "wait: M": from a send to the receive that brought method M (the
    broker's work plus the round trip; a task's run is inside the wait for
    its result);
  * "work: M": from a receive (or the connect) to the send of method M, the
    command's own CPU between two round trips;
  * "exit": from the last event to exit_group.

Prints, per label, the median over the runs of the milliseconds spent
there (labels of one run that repeat are summed first), and the median
total.  strace slows the traced system calls down, so the command's own parts
are inflated; the waits are the broker's.  A measuring tool, not a test:
nothing is asserted.
"""
import os
import re
import statistics
import subprocess
import sys
import tempfile

METHODS = {
    (10, 10): "connection.start", (10, 11): "connection.start-ok",
    (10, 30): "connection.tune", (10, 31): "connection.tune-ok",
    (10, 40): "connection.open", (10, 41): "connection.open-ok",
    (10, 50): "connection.close", (10, 51): "connection.close-ok",
    (20, 10): "channel.open", (20, 11): "channel.open-ok",
    (20, 40): "channel.close", (20, 41): "channel.close-ok",
    (40, 10): "exchange.declare", (40, 11): "exchange.declare-ok",
    (50, 10): "queue.declare", (50, 11): "queue.declare-ok",
    (50, 20): "queue.bind", (50, 21): "queue.bind-ok",
    (50, 40): "queue.delete", (50, 41): "queue.delete-ok",
    (50, 50): "queue.unbind", (50, 51): "queue.unbind-ok",
    (60, 10): "basic.qos", (60, 11): "basic.qos-ok",
    (60, 20): "basic.consume", (60, 21): "basic.consume-ok",
    (60, 30): "basic.cancel", (60, 31): "basic.cancel-ok",
    (60, 40): "basic.publish", (60, 50): "basic.return",
    (60, 60): "basic.deliver", (60, 80): "basic.ack",
    (60, 90): "basic.reject", (60, 120): "basic.nack",
    (85, 10): "confirm.select", (85, 11): "confirm.select-ok",
}

LINE = re.compile(r'^(?:\d+\s+)?(\d+\.\d+)\s+(\w+)\((.*)$')
HEX = re.compile(r'"((?:\\x[0-9a-f]{2})*)"')


def frames(data):
    """AMQP method names in a buffer (protocol header: "amqp.header")."""
    names, i = [], 0
    if data.startswith(b"AMQP"):
        return ["amqp.header"]
    while i + 7 <= len(data):
        kind = data[i]
        size = int.from_bytes(data[i + 3:i + 7], "big")
        payload = data[i + 7:i + 7 + size]
        if kind == 1 and len(payload) >= 4:
            key = (int.from_bytes(payload[0:2], "big"), int.from_bytes(payload[2:4], "big"))
            name = METHODS.get(key, "%d.%d" % key)
            # A delivery of a task and of a result look alike: name the
            # queue's kind (or the exchange's) from the frame.
            if key[0] == 50 or key in ((60, 60), (60, 40), (60, 20)):
                tail = payload[4:]
                for word in (b".results", b".tasks", b".roster", b"presence", b"control"):
                    if word in tail:
                        name += " " + word.decode().lstrip(".")
                        break
            names.append(name)
        i += 7 + size + 1
    return names


def parse(path):
    """[(t, 'send'|'recv'|'start'|'connect'|'exit', [methods])]"""
    events = []
    with open(path) as f:
        for line in f:
            m = LINE.match(line)
            if not m:
                continue
            t, call, rest = float(m.group(1)), m.group(2), m.group(3)
            if call == "execve" and not events:
                events.append((t, "start", []))
            elif call == "connect":
                events.append((t, "connect", []))
            elif call == "exit_group":
                events.append((t, "exit", []))
            elif call in ("sendto", "recvfrom"):
                if re.search(r"= -1", rest):
                    continue
                h = HEX.search(rest)
                if not h:
                    continue
                data = bytes(int(x, 16) for x in h.group(1).split("\\x")[1:])
                names = frames(data)
                if names:
                    events.append((t, "send" if call == "sendto" else "recv", names))
    return events


def attribute(events):
    """{label: seconds} of one run."""
    spent = {}
    connected = False
    for (t0, k0, n0), (t1, k1, n1) in zip(events, events[1:]):
        if not connected:
            label = "start-up (exec, libraries, config: until the connect)"
            if k1 == "connect":
                connected = True
        elif k1 == "exit":
            label = "exit (after the last frame)"
        elif k1 == "recv":
            label = "wait: " + n1[0]
        elif k1 == "send":
            label = "work: before " + n1[0]
        else:
            label = k1
        spent[label] = spent.get(label, 0.0) + (t1 - t0)
    return spent


def main(argv):
    runs = 20
    if len(argv) > 2 and argv[1] == "--runs":
        runs = int(argv[2])
        argv = argv[2:]
    cmd = argv[1:]
    if not cmd:
        sys.stderr.write(__doc__)
        return 2
    per_label, totals, order = {}, [], []
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "trace")
        for _ in range(runs):
            subprocess.run(["strace", "--seccomp-bpf", "-f", "-ttt", "-xx", "-s", "4096",
                            "-o", out,
                            "-e", "trace=execve,connect,sendto,recvfrom,exit_group"] + cmd,
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True)
            events = parse(out)
            spent = attribute(events)
            for label, s in spent.items():
                if label not in per_label:
                    per_label[label] = []
                    order.append(label)
                per_label[label].append(s)
            totals.append(events[-1][0] - events[0][0])
    print("| part | median ms | runs with it |")
    print("|---|---:|---:|")
    for label in order:
        values = per_label[label] + [0.0] * (runs - len(per_label[label]))
        print("| %s | %.2f | %d |" % (label, statistics.median(values) * 1000,
                                      len(per_label[label])))
    print("| **total (execve to exit_group)** | %.2f | %d |" % (
        statistics.median(totals) * 1000, runs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
