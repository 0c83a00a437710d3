#!/usr/bin/python3
"""Celery as a baseline for benchmarks/run (issue 15): what a Python user
would pick instead of krun.  Debian's python3-celery, against the harness's
private RabbitMQ (CELERY_BROKER_URL), results through the same broker
(`rpc://`: one reply queue per client), acks_late, prefetch 1, the prefork
pool.  A task runs the same program the other launchers run, through
subprocess, so that every tool pays the program's fork and exec.

  celerybench.py worker CONCURRENCY LOGFILE
      Run a worker (prefork pool of CONCURRENCY processes) in the
      foreground: the harness starts it in the background and waits for
      "ready" in LOGFILE.
  celerybench.py call N PROGRAM [ARG...]
      Send N tasks that each run PROGRAM ARG... and wait for the N results;
      exit 1 if one failed.  Writes "calls_s=S" (from the first send to the
      last result, without Python's start and Celery's import) on fd 3 when
      it is open.

The queue is named after CELERY_QUEUE (default krun-bench-celery), so that
two runs on one broker do not share it.
"""
import os
import subprocess
import sys
import time

from celery import Celery, group

QUEUE = os.environ.get("CELERY_QUEUE", "krun-bench-celery")

app = Celery("celerybench", broker=os.environ.get("CELERY_BROKER_URL"),
             backend="rpc://")
app.conf.update(
    task_acks_late=True,             # ack after the task ran, as krun's slots
    worker_prefetch_multiplier=1,    # one task per pool process at a time
    task_default_queue=QUEUE,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)


@app.task(name="celerybench.run")
def run(argv):
    """Run a program, as the other launchers do; its exit status."""
    return subprocess.run(argv, stdin=subprocess.DEVNULL).returncode


def worker(concurrency, logfile):
    app.worker_main(["worker", "--pool=prefork", "--concurrency=%d" % concurrency,
                     "--prefetch-multiplier=1", "--without-gossip",
                     "--without-mingle", "--without-heartbeat", "-Q", QUEUE,
                     "--loglevel=INFO", "--logfile=%s" % logfile])


def call(n, argv):
    t0 = time.monotonic()
    results = group(run.s(argv) for _ in range(n)).apply_async()
    # A generous bound: the harness's watchdog stops a hung run anyway.
    codes = results.get(timeout=3600, propagate=True)
    calls_s = time.monotonic() - t0
    try:
        with os.fdopen(3, "w") as out:
            out.write("calls_s=%.6f\n" % calls_s)
    except OSError:
        pass
    failed = sum(1 for c in codes if c != 0)
    if failed:
        sys.stderr.write("celerybench: %d of %d tasks failed\n" % (failed, n))
        return 1
    return 0


def main(argv):
    if len(argv) == 4 and argv[1] == "worker":
        worker(int(argv[2]), argv[3])
        return 0
    if len(argv) >= 4 and argv[1] == "call":
        return call(int(argv[2]), argv[3:])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
