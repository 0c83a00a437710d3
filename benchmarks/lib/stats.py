#!/usr/bin/env python3
"""Statistics for benchmarks/run: nothing here is timed.

  stats.py timeline FILE LAUNCHER_START_US
      Per-rank figures of one krun --timeline CSV, as key=value lines.
  stats.py value EXPR A B
      Arithmetic on two numbers for the shell (EXPR: div, sub, ...).
  stats.py hyperfine JSON
      One "command<TAB>seconds" line per run of a hyperfine --export-json file.
  stats.py procs [--comm=NAME] PID...
      The processes PID... and all their descendants (only those whose
      command name is NAME with --comm), from /proc: count,
      cpu_s (user + system seconds so far, with the children they waited
      for), rss_kb and pss_kb (summed), as
      key=value lines.  Nothing is sampled repeatedly: one read of /proc.
  stats.py rusage CMD...
      Run CMD (output to this process's stdout and stderr) and print its
      exit status, peak RSS and CPU seconds (wait4's rusage) as key=value
      lines on file descriptor 3.  Not used for timed runs.
  stats.py broker-memory
      connections_bytes= and total_bytes= from `rabbitmqctl status
      --formatter json` on stdin.
  stats.py scale-data DIR
      The medians of the scale benchmark per layout, for gnuplot.
  stats.py machine-costs
      What processes and fresh memory cost on this machine, measured now,
      as key=value lines: spawn_true_ms (posix_spawn of /bin/true and its
      wait, mean of 200) and page_fault_us (the first write to a page of
      fresh anonymous memory, mean over 64 MiB, less a second pass over the
      same pages).  Figures of runs on different machines compare only
      with these beside them.
  stats.py summary DIR
      DIR/summary.md from DIR/results.csv, meta.tsv, commands.tsv, params.txt,
      machine.txt and notes.txt.

The summary is the text of benchmarks/RESULTS.md: a full run on a quiet
machine is copied there as it is.
"""
import csv
import json
import os
import statistics
import sys

TIMELINE_COLUMNS = ["rank", "node", "slot", "core", "attempt", "status",
                    "published_us", "started_us", "finished_us"]

# The reference executor's published figures (Kubernetes + RabbitMQ, 225
# functions of a 5 s sleep on 2 nodes of 128 CPUs).  Not measured here.
PUBLISHED = [
    ("plain Kubernetes jobs", 16.9),
    ("warm master", 8.1),
    ("RabbitMQ, cold workers", 8.0),
    ("RabbitMQ, warm workers", 5.9),
]


def percentile(values, p):
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(p / 100.0 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def read_timeline(path):
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in TIMELINE_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise SystemExit("%s: missing timeline columns: %s" % (path, ", ".join(missing)))
        rows = []
        for row in reader:
            if not row["started_us"] or not row["finished_us"]:
                continue  # a rank that never started (failed before running)
            rows.append({k: int(row[k]) for k in ("rank", "attempt", "status", "slot",
                                                  "published_us", "started_us",
                                                  "finished_us")} | {"node": row["node"]})
    return rows


def cmd_timeline(path, start_us):
    rows = read_timeline(path)
    if not rows:
        raise SystemExit("%s: no rank started" % path)
    latency_ms = [(r["started_us"] - start_us) / 1000.0 for r in rows]
    duration_s = [(r["finished_us"] - r["started_us"]) / 1e6 for r in rows]
    out = {
        "ranks": len(rows),
        "nodes": len({r["node"] for r in rows}),
        "reruns": sum(1 for r in rows if r["attempt"] > 1),
        "failed": sum(1 for r in rows if r["status"] != 0),
        "latency_median_ms": statistics.median(latency_ms),
        "latency_p95_ms": percentile(latency_ms, 95),
        "latency_min_ms": min(latency_ms),
        "latency_max_ms": max(latency_ms),
        "published_last_ms": (max(r["published_us"] for r in rows) - start_us) / 1000.0,
        "duration_median_s": statistics.median(duration_s),
        "duration_max_s": max(duration_s),
        "work_s": sum(duration_s),
        "last_finish_ms": (max(r["finished_us"] for r in rows) - start_us) / 1000.0,
    }
    for k, v in out.items():
        print("%s=%s" % (k, ("%.3f" % v) if isinstance(v, float) else v))


def cmd_value(expr, a, b):
    a, b = float(a), float(b)
    result = {"div": lambda: a / b, "sub": lambda: a - b, "mul": lambda: a * b,
              "add": lambda: a + b}[expr]()
    print("%.6g" % result if abs(result) < 1e15 else "%.0f" % result)


def cmd_hyperfine(path):
    with open(path) as f:
        data = json.load(f)
    for result in data["results"]:
        for t in result["times"]:
            print("%s\t%.6f" % (result["command"], t))


def run_time_s(pid):
    """The CPU seconds pid's live threads ran, to the nanosecond (the first
    field of /proc/PID/task/TID/schedstat: the scheduler's sum_exec_runtime),
    or None when schedstat cannot be read."""
    total = 0
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return total / 1e9


def proc_table():
    """{pid: (ppid, own_s, children_s, comm)} of every process we can read,
    from /proc/PID/stat: its own utime + stime, and that of the children it
    waited for (cutime + cstime: a slot's tasks, xargs's commands), in
    seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: split after the
        # last ')'.
        fields = stat[stat.rindex(")") + 2:].split()
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        table[int(name)] = (int(fields[1]),
                            (int(fields[11]) + int(fields[12])) / ticks,
                            (int(fields[13]) + int(fields[14])) / ticks, comm)
    return table


def proc_cpu_s(pid, own_s, children_s):
    """A process's CPU with the children it waited for.  Its own: the larger
    of utime + stime and the run time of its live threads (run_time_s()).
    /proc/PID/stat rounds each process's figure down to whole clock ticks
    (10 ms): hundreds of slot processes that each used 0.7 ms read as 0,
    which made a cold start's krund CPU look 3 times smaller than it was;
    schedstat does not round, but forgets threads that have exited, which
    stat keeps.  The children's (cutime + cstime) are summed by the kernel
    before they are rounded, so they stay from stat."""
    ran = run_time_s(pid)
    return max(own_s, ran if ran is not None else 0) + children_s


def proc_memory(pid):
    """(rss_kb, pss_kb) of a process, 0s when it is gone."""
    rss = pss = 0
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def cmd_procs(roots, comm=None):
    table = proc_table()
    children = {}
    for pid, (ppid, _, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    seen, todo = set(), [p for p in roots if p in table]
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        todo += children.get(pid, [])
    if comm:
        seen = {p for p in seen if table[p][3] == comm}
    rss = pss = 0
    for pid in seen:
        r, p = proc_memory(pid)
        rss += r
        pss += p
    print("count=%d" % len(seen))
    print("cpu_s=%.4f" % sum(proc_cpu_s(p, table[p][1], table[p][2]) for p in seen))
    print("rss_kb=%d" % rss)
    print("pss_kb=%d" % pss)


def cmd_broker_memory():
    """The broker's own memory accounting (rabbitmqctl status --formatter
    json on stdin): bytes held for connections (readers, writers, channels,
    other) and in all."""
    memory = json.load(sys.stdin)["memory"]
    print("connections_bytes=%d" % sum(v for k, v in memory.items()
                                       if k.startswith("connection_")))
    total = memory.get("total", {})
    print("total_bytes=%d" % (total.get("rss", 0) if isinstance(total, dict) else total))


def cmd_rusage(argv):
    import subprocess
    import time
    t0 = time.monotonic()
    child = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.monotonic() - t0
    with os.fdopen(3, "w") as out:
        out.write("status=%d\n" % os.waitstatus_to_exitcode(status))
        out.write("elapsed_s=%.6f\n" % elapsed)
        out.write("maxrss_kb=%d\n" % usage.ru_maxrss)
        out.write("user_s=%.6f\n" % usage.ru_utime)
        out.write("sys_s=%.6f\n" % usage.ru_stime)


def scale_layout(tool):
    """The layout NODESxSLOTS named in a tool of the scale benchmark ("krun
    16x128", "krun cold 16x128 shared"), or None."""
    for word in tool.split():
        nodes, _, slots = word.partition("x")
        if nodes.isdigit() and slots.isdigit():
            return word
    return None


def cmd_scale_data(d):
    """Per layout of the scale benchmark: layout, medians of xargs, krun
    warm, krun cold, and the cold start (until all connected) with shared
    connections and with one per slot, for gnuplot ("NaN" where a layout
    has no such figure: the layouts whose cold start only is measured)."""
    results, _ = read_results(d)
    layouts = []
    for bench in ("scale-connected", "scale"):
        for tool in results.get(bench, {}):
            layout = scale_layout(tool)
            if layout and layout not in layouts:
                layouts.append(layout)
    for layout in layouts:
        cells = [median_of(results, b, "krun " + layout)
                 for b in ("scale-xargs", "scale", "scale-cold")]
        cells += [median_of(results, "scale-connected", "krun cold %s %s" % (layout, mode))
                  for mode in ("shared", "per-slot")]
        print("%s %s" % (layout, " ".join("NaN" if c is None else "%.3f" % c for c in cells)))


# ---------------------------------------------------------------- summary

def read_results(d):
    """{benchmark: {tool: [values]}} in file order, and failures per tool."""
    results, failures = {}, {}
    with open(os.path.join(d, "results.csv"), newline="") as f:
        for row in csv.DictReader(f):
            tools = results.setdefault(row["benchmark"], {})
            values = tools.setdefault(row["tool"], [])
            if row["value"] in ("", "NA"):
                failures[(row["benchmark"], row["tool"])] = \
                    failures.get((row["benchmark"], row["tool"]), 0) + 1
            else:
                values.append((float(row["value"]), row["unit"]))
    return results, failures


def read_meta(d):
    """Benchmarks in the order declared: name -> dict(reference, title,
    description, group).  Benchmarks of one group share one table."""
    meta = {}
    path = os.path.join(d, "meta.tsv")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                fields = line.rstrip("\n").split("\t")
                fields += [""] * (5 - len(fields))
                meta[fields[0]] = dict(zip(("benchmark", "reference", "title",
                                            "description", "group"), fields))
    return meta


def fmt(v):
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1000:
        return "%.0f" % v
    if a >= 100:
        return "%.1f" % v
    if a >= 10:
        return "%.2f" % v
    return "%.3f" % v


def median_of(results, bench, tool):
    values = results.get(bench, {}).get(tool, [])
    return statistics.median([v for v, _ in values]) if values else None


def table(results, failures, bench, info):
    lines = []
    ref = info.get("reference", "")
    ref_median = median_of(results, bench, ref) if ref else None
    lines.append("| tool | median | min | max | unit | reps | vs %s |" % (ref or "-"))
    lines.append("|---|---:|---:|---:|---|---:|---:|")
    for tool, values in results[bench].items():
        fails = failures.get((bench, tool), 0)
        if not values:
            lines.append("| %s | failed | | | | 0 (%d failed) | |" % (tool, fails))
            continue
        nums = [v for v, _ in values]
        med = statistics.median(nums)
        ratio = "%.2f" % (med / ref_median) if ref_median else ""
        reps = "%d" % len(nums) + (" (%d failed)" % fails if fails else "")
        lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            tool, fmt(med), fmt(min(nums)), fmt(max(nums)), values[0][1], reps, ratio))
    return lines


def pivot_table(results, failures, members, meta):
    """One row per tool, one column per member benchmark: median (min-max)."""
    tools = []
    for b in members:
        for tool in results[b]:
            if tool not in tools:
                tools.append(tool)
    lines = ["| tool | " + " | ".join(meta[b]["title"] for b in members) + " |",
             "|---|" + "---:|" * len(members)]
    for tool in tools:
        cells = []
        for b in members:
            values = [v for v, _ in results[b].get(tool, [])]
            fails = failures.get((b, tool), 0)
            if not values:
                cells.append("failed" if fails else "")
                continue
            # Counts (connections) read as integers.
            show = fmt
            if all(v == int(v) for v in values) and statistics.median(values) >= 1:
                show = lambda v: "%d" % v  # noqa: E731
            cell = show(statistics.median(values))
            if len(values) > 1:
                cell += " (%s-%s)" % (show(min(values)), show(max(values)))
            if fails:
                cell += " +%d failed" % fails
            cells.append(cell)
        lines.append("| %s | %s |" % (tool, " | ".join(cells)))
    return lines


def published_rows(results, bench, ref):
    ref_median = median_of(results, bench, ref)
    lines = ["", "Published reference figures, **not measured here** (Kubernetes + RabbitMQ "
             "executor, 225 functions of a 5 s sleep on 2 nodes × 128 CPUs):", "",
             "| reference (published, not measured here) | elapsed | unit |",
             "|---|---:|---|"]
    for what, seconds in PUBLISHED:
        lines.append("| *%s* | %.1f | s |" % (what, seconds))
    if ref_median:
        lines.append("")
        lines.append("Physical limit: the sleep itself plus dispatch; `%s` measured %s s "
                     "in this run." % (ref, fmt(ref_median)))
    return lines


def target_rows(results, params, meta):
    """The targets of issue 15, judged on medians of this run: rows of
    (target, measured, met, what this run measured that explains a miss)."""
    rows = []

    def add(what, value, ok, why=""):
        rows.append("| %s | %s | %s | %s |" % (what, value, "yes" if ok else "**no**",
                                               why if (why and not ok) else ""))

    def m(bench, tool):
        return median_of(results, bench, tool)

    s = params.get("sleep_seconds", "5")
    cores = params.get("cores", "2")
    xargs = m("sleep225", meta.get("sleep225", {}).get("reference", ""))
    for tool, limit in (("krun warm 2x128", 1.01), ("krun warm 1x256", 1.01),
                        ("krun cold 2x128", 1.05), ("krun cold 1x256", 1.05)):
        k = m("sleep225", tool)
        if k and xargs:
            last = m("sleep225-latency-max", tool)
            pub = m("sleep225-published-last", tool)
            why = ""
            if last is not None:
                why = "the last rank started %s ms after the command" % fmt(last)
                if pub is not None:
                    why += " (all published at %s ms)" % fmt(pub)
                if "cold" in tool:
                    why += "; the cold start at scale: see scale"
            add("sleep225 (%s s) %s ≤ %.2f × xargs" % (s, tool, limit),
                "%.3f × xargs (%s s vs %s s)" % (k / xargs, fmt(k), fmt(xargs)),
                k <= limit * xargs, why)
    k = m("latency", "krun warm -n 1")
    h = m("latency", "mpiexec.hydra -n 1")
    if k and h:
        parts = [(name, m("latency-cpu-" + key, "krun warm -n 1"))
                 for name, key in (("broker", "broker"), ("krun", "launcher"),
                                   ("krund", "krund"))]
        why = ", ".join("%s %s ms" % (n, fmt(v)) for n, v in parts if v is not None)
        if why:
            why = "CPU per run: " + why + " (the broker's: two queues declared " \
                  "and deleted, channels opened and closed, presence, tasks and " \
                  "results; krun's with its connection agent's, which logged in " \
                  "ahead of time: PROFILE.md)"
        add("`krun -n 1 true` warm ≤ 1.5 × mpiexec.hydra",
            "%.2f × (%s ms vs %s ms)" % (k / h, fmt(k), fmt(h)), k <= 1.5 * h, why)
    label = "krun %s slots" % cores
    k = m("throughput", label)
    x = m("throughput", "xargs -P %s" % cores)
    p = m("throughput", "parallel -j %s" % cores)
    c = m("throughput", "celery -c %s" % cores)
    n = params.get("throughput_tasks", "")
    if k and x:
        kt = m("throughput-cpu-total", label)
        xt = m("throughput-cpu-total", "xargs -P %s" % cores)
        kb = m("throughput-cpu-broker", label)
        why = ""
        if kt and xt:
            why = ("CPU per task: krun %s µs (the broker's %s µs of it) against xargs %s µs, "
                   "on %s cores busy all along: CPU ratio %.2f" % (
                       fmt(kt), fmt(kb) if kb is not None else "?", fmt(xt), cores, xt / kt))
        add("%s × `true`: krun ≥ 0.95 × `xargs -P %s`" % (n, cores),
            "%.2f × (%s vs %s tasks/s)" % (k / x, fmt(k), fmt(x)), k >= 0.95 * x, why)
    if k and p:
        add("%s × `true`: krun ≥ 5 × GNU parallel" % n,
            "%.2f × (%s vs %s tasks/s)" % (k / p, fmt(k), fmt(p)), k >= 5 * p)
    if k and c:
        add("%s × `true`: krun ahead of Celery" % n,
            "%.2f × (%s vs %s tasks/s)" % (k / c, fmt(k), fmt(c)), k > c)
    per_n = {}
    for tool in results.get("scaling-tasks", {}):
        n = int(tool.split("=")[1]) if "=" in tool else None
        if n is not None and n >= 100:
            per_n[n] = m("scaling-tasks", tool)
    per_n = {n: v for n, v in per_n.items() if v is not None}
    if len(per_n) >= 2:
        lo, hi = min(per_n.values()), max(per_n.values())
        span = "N = %d .. %d" % (min(per_n), max(per_n))
        one = m("scaling-tasks-elapsed", "krun N=1")
        why = ""
        if one:
            why = ("a run's fixed cost (N = 1: %s ms) adds %s µs per task at N = %d" % (
                fmt(one * 1000), fmt(one * 1e6 / min(per_n)), min(per_n)))
        a, b = min(per_n), max(per_n)
        if b > a:
            # The whole overhead at both ends, and what each task between
            # them added: the cost per task that does not depend on N.
            marginal = (per_n[b] * b - per_n[a] * a) / (b - a)
            why += ("%sthe overhead grows by %s µs per task from N = %d to %d, on a "
                    "base of %s ms per run" % (
                        "; " if why else "", fmt(marginal), a, b,
                        fmt((per_n[a] * a - marginal * a) / 1000)))
        add("dispatch overhead per task flat within 1.5 × (%s)" % span,
            "max/min %.2f (%s .. %s µs)" % (hi / lo if lo > 0 else float("inf"),
                                            fmt(lo), fmt(hi)),
            lo > 0 and hi <= 1.5 * lo, why)
    tool = "krun 16x128"
    w = m("scale", tool)
    x = m("scale-xargs", tool)
    if w and x:
        cpu = m("scale-broker-cpu-warm", tool)
        why = "the broker's CPU per warm run: %s s" % fmt(cpu) if cpu is not None else ""
        add("2,048 ranks on 16 × 128: warm ≤ 1.02 × `xargs -P 2048`",
            "%.3f × (%s s vs %s s)" % (w / x, fmt(w), fmt(x)), w <= 1.02 * x, why)
    shared, per_slot = "krun cold 16x128 shared", "krun cold 16x128 per-slot"
    up = m("scale-up", shared)
    conn = m("scale-connected", shared)
    if up and conn:
        bcpu = m("scale-broker-cpu-up", shared)
        kcpu = m("scale-krund-cpu-up", shared)
        conns = m("scale-connections", shared)
        why = ""
        if bcpu is not None and conns:
            why = "the broker's CPU over it: %s s for %d connections" % (fmt(bcpu), conns)
            if kcpu is not None:
                why += ", krund's %s s, on %s cores" % (fmt(kcpu), cores)
        old = m("scale-connected", per_slot)
        also = ""
        if old:
            also = "; one connection per slot in the same run: %s s, %.2f × longer" % (
                fmt(old), old / conn)
        # The cold start is over when every slot is connected, which may be
        # after `krun up` returned (it waits for the daemons' answers only).
        add("cold start of 16 × 128 ≥ 3 × faster than 6.5 s (≤ 2.17 s), "
            "until every slot is connected",
            "%s s (`krun up` returned after %s s%s)" % (fmt(conn), fmt(up), also),
            conn <= 6.5 / 3, why)
    mem = m("scale-broker-per-slot", shared)
    rss = m("scale-broker-rss", shared)
    if rss is not None:
        text = "%s KiB of connection memory per slot, beam.smp RSS %s MiB with 2,048 slots " \
            "connected" % (fmt(mem) if mem is not None else "?", fmt(rss))
        mem_old, rss_old = m("scale-broker-per-slot", per_slot), m("scale-broker-rss", per_slot)
        if mem_old is not None and rss_old is not None:
            text += " (one connection per slot: %s KiB, %s MiB)" % (fmt(mem_old), fmt(rss_old))
        add("broker memory per slot reported (16 × 128)", text, True)
    return rows


def read_params(d):
    params = {}
    path = os.path.join(d, "params.txt")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if "=" in line:
                    k, v = line.rstrip("\n").split("=", 1)
                    params[k] = v
    return params


def cmd_summary(d):
    results, failures = read_results(d)
    meta = read_meta(d)
    params = read_params(d)
    out = ["# krun benchmark results", ""]
    machine = os.path.join(d, "machine.txt")
    if os.path.exists(machine):
        with open(machine) as f:
            out += [line.rstrip("\n") for line in f]
        out.append("")
    order = list(meta) + [b for b in results if b not in meta]
    done_groups = set()
    for bench in order:
        if bench not in results:
            continue
        info = meta.get(bench, {})
        group = info.get("group", "")
        if group:
            if group in done_groups:
                continue
            done_groups.add(group)
            members = [b for b in order if meta.get(b, {}).get("group") == group
                       and b in results]
            out += ["## %s" % group, ""]
            if info.get("description"):
                out += [info["description"], ""]
            out += pivot_table(results, failures, members, meta)
            if "scale" in members and os.path.exists(os.path.join(d, "scale.png")):
                out += ["", "![scale: median elapsed per layout](scale.png)"]
            out.append("")
            continue
        out += ["## %s" % (info.get("title") or bench), ""]
        if info.get("description"):
            out += [info["description"], ""]
        out += table(results, failures, bench, info)
        if bench == "sleep225":
            out += published_rows(results, bench, info.get("reference", ""))
            for plot in ("sleep225-warm-2x128", "sleep225-cold-2x128"):
                if os.path.exists(os.path.join(d, plot + "-ranks.png")):
                    out += ["", "![%s: one bar per rank](%s-ranks.png)" % (plot, plot),
                            "![%s: invocation latency](%s-latency.png)" % (plot, plot)]
        out.append("")
    rows = target_rows(results, params, meta)
    if rows:
        out += ["## Targets of issue 15 (medians of this run)", "",
                "| target | measured | met | why, if missed (measured in this run) |",
                "|---|---|---|---|"] + rows + [""]
    out += ["Where the time goes (profiles of `krun -n 1 true` and of the "
            "throughput path, taken apart from this run): "
            "[benchmarks/PROFILE.md](PROFILE.md).", ""]
    commands = os.path.join(d, "commands.tsv")
    if os.path.exists(commands):
        out += ["## Exact commands", "",
                "Paths are relative to the harness's work directory: `sleep-args` holds one "
                "line per rank with the sleep's seconds (xargs and parallel pass it to "
                "`sleep`), `true-args` the numbers 1 to N (`xargs -n 1` passes one to "
                "`/bin/true`, which ignores it; `parallel -N0` passes none); "
                "`cAxB.yaml` describes A simulated nodes of B slots (`local.nodes`).", "",
                "| benchmark | tool | command |", "|---|---|---|"]
        with open(commands) as f:
            for line in f:
                bench, tool, command = line.rstrip("\n").split("\t", 2)
                out.append("| %s | %s | `%s` |" % (bench, tool, command.replace("|", "\\|")))
        out.append("")
    notes = os.path.join(d, "notes.txt")
    if os.path.exists(notes):
        with open(notes) as f:
            text = [line.rstrip("\n") for line in f if line.strip()]
        if text:
            out += ["## Notes from this run", ""] + ["- " + t for t in text] + [""]
    with open(os.path.join(d, "summary.md"), "w") as f:
        f.write("\n".join(out))


def cmd_machine_costs():
    import mmap
    import time
    runs = 200
    start = time.monotonic()
    for _ in range(runs):
        pid = os.posix_spawn("/bin/true", ["/bin/true"], os.environ)
        os.waitpid(pid, 0)
    spawn_ms = (time.monotonic() - start) * 1e3 / runs
    size = 64 << 20
    page = mmap.PAGESIZE
    region = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    passes = []
    for _ in range(2):  # the first pass faults, the second only loops
        start = time.monotonic()
        for off in range(0, size, page):
            region[off] = 1
        passes.append(time.monotonic() - start)
    region.close()
    print("spawn_true_ms=%.3f" % spawn_ms)
    print("page_fault_us=%.3f" % ((passes[0] - passes[1]) * 1e6 / (size // page)))


def main(argv):
    if len(argv) >= 2 and argv[1] == "timeline" and len(argv) == 4:
        cmd_timeline(argv[2], int(argv[3]))
    elif len(argv) >= 2 and argv[1] == "value" and len(argv) == 5:
        cmd_value(argv[2], argv[3], argv[4])
    elif len(argv) >= 2 and argv[1] == "hyperfine" and len(argv) == 3:
        cmd_hyperfine(argv[2])
    elif len(argv) == 2 and argv[1] == "machine-costs":
        cmd_machine_costs()
    elif len(argv) == 2 and argv[1] == "broker-memory":
        cmd_broker_memory()
    elif len(argv) == 3 and argv[1] == "scale-data":
        cmd_scale_data(argv[2])
    elif len(argv) >= 3 and argv[1] == "procs":
        if argv[2].startswith("--comm="):
            cmd_procs([int(p) for p in argv[3:]], argv[2][len("--comm="):])
        else:
            cmd_procs([int(p) for p in argv[2:]])
    elif len(argv) >= 3 and argv[1] == "rusage":
        cmd_rusage(argv[2:])
    elif len(argv) >= 2 and argv[1] == "summary" and len(argv) == 3:
        cmd_summary(argv[2])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
