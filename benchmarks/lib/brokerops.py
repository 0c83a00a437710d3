#!/usr/bin/python3
"""The broker's CPU per AMQP operation, the ones krun's launcher and slots
ask for (issue 15: where the broker's milliseconds go).

  brokerops.py BEAM_PID PORT [N]

Against the broker on 127.0.0.1:PORT (guest:guest), repeats each operation
N times (default 200) with py-amqp (python3-amqp, which python3-celery
brings) and prints a Markdown table: the broker's CPU per operation (user +
system seconds of BEAM_PID, from /proc, before and after) and the client's
wall time per operation.  A measuring tool, not a test.
"""
import os
import sys
import time

import amqp


def beam_cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    pid, port = int(argv[1]), int(argv[2])
    n = int(argv[3]) if len(argv) > 3 else 200
    host = "127.0.0.1:%d" % port

    def connect():
        c = amqp.Connection(host, userid="guest", password="guest")
        c.connect()
        return c

    conn = connect()
    ch = conn.channel()
    ch.exchange_declare("krun.bench.x", "direct", auto_delete=False)
    ch.queue_declare("krun.bench.q", auto_delete=False)
    ch.queue_purge("krun.bench.q")
    confirm = conn.channel()  # put in confirm mode by its first publish
    body = amqp.Message(b"x" * 200)

    def op_connect(i):
        connect().close()

    def op_channel(i):
        conn.channel().close()

    def op_declare_delete(i):
        q = "krun.bench.q%d" % i
        ch.queue_declare(q, auto_delete=False, arguments={"x-expires": 30000})
        ch.queue_delete(q)

    def op_declare_autodelete(i):
        # The launcher's results queue: auto-delete, consumed, gone with
        # the consumer.
        q = "krun.bench.r%d" % i
        ch.queue_declare(q, auto_delete=True, arguments={"x-expires": 30000})
        tag = ch.basic_consume(q, no_ack=True)
        ch.basic_cancel(tag)

    def op_passive(i):
        ch.queue_declare("krun.bench.q", passive=True)

    def op_bind(i):
        ch.queue_bind("krun.bench.q", "krun.bench.x", "k%d" % i)
        ch.queue_unbind("krun.bench.q", "krun.bench.x", "k%d" % i)

    def op_consume(i):
        ch.basic_cancel(ch.basic_consume("krun.bench.q", no_ack=True))

    def op_publish(i):
        confirm.basic_publish_confirm(body, "", "krun.bench.q", confirm_timeout=10)

    def op_get_ack(i):
        m = ch.basic_get("krun.bench.q", no_ack=False)
        ch.basic_ack(m.delivery_tag)

    ops = [
        ("connection open + close (a slot's or a launcher's login)", op_connect),
        ("channel open + close", op_channel),
        ("queue declare + delete (x-expires; a job's task queue)", op_declare_delete),
        ("auto-delete queue declare + consume + cancel (a results queue)",
         op_declare_autodelete),
        ("passive declare (a slot's check of the results queue)", op_passive),
        ("queue bind + unbind", op_bind),
        ("basic.consume + cancel", op_consume),
        ("publish 200 bytes, confirmed (a task, a result)", op_publish),
        ("basic.get + ack of one message (a delivery and its ack)", op_get_ack),
    ]
    print("| operation | broker CPU per op (ms) | client wall per op (ms) |")
    print("|---|---:|---:|")
    for name, fn in ops:
        c0, t0 = beam_cpu(pid), time.monotonic()
        for i in range(n):
            fn(i)
        t1, c1 = time.monotonic(), beam_cpu(pid)
        print("| %s | %.3f | %.3f |" % (name, (c1 - c0) * 1000 / n, (t1 - t0) * 1000 / n))
    ch.queue_delete("krun.bench.q")
    ch.exchange_delete("krun.bench.x")
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
