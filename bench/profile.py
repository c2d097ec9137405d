#!/usr/bin/env python3
"""bench/profile: where v6fwd's time and memory go, and what changed them.

Runs the builds bench/profile made outside the tree against the same
backend as make bench, in one run:
- issue 11, the cost of linking libsystemd: v6fwd at the last commit before
  it (--old) against HEAD, per start (--version, and no-op programs with
  and without libsystemd) and per connection in the per-connection mode
  (conn/s, first byte, relay CPU, memory);
- the served mode (HEAD) with one layer of confinement left out each
  (seccomp in the child, Landlock in the child, all of it), beside
  fork+exit+wait alone and socket-proxyd, which forks nothing;
- system calls per connection (strace) and the resident memory of one
  instance by mapping (smaps).
Medians of --reps repetitions, builds alternated as in make bench.
"""

import argparse
import collections
import glob
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

log = bench.log


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def alternate(reps, items, fn):
    """fn(item) -> dict, run reps times over items in rotated order."""
    res = collections.defaultdict(lambda: collections.defaultdict(list))
    for rep in range(reps):
        order = items[rep % len(items):] + items[:rep % len(items)]
        for it in order:
            for k, v in fn(it).items():
                res[it if isinstance(it, str) else it.name][k].append(v)
    return res


def md_table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


# ---- start-up cost ----

def run_us(load, argv):
    """µs per run: posix_spawn+wait of argv (v6load spawn), or argv's own
    figure (forkloop)."""
    cmd = argv if argv[0].endswith(("fork-libc", "fork-libsystemd")) else \
        [load, "spawn", "1000"] + argv
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    kv = dict(x.split("=") for x in out.stdout.split())
    return float(kv["us_per_run"])


def startup(load, build, old, reps):
    progs = {
        "no-op, libc": [f"{build}/noop-libc"],
        "no-op, libc + libsystemd": [f"{build}/noop-libsystemd"],
        f"v6fwd --version, {old} (no libsystemd)":
            [f"{build}/old/v6fwd", "--version"],
        "v6fwd --version, HEAD (libsystemd)":
            [f"{build}/new/v6fwd", "--version"],
    }
    forks = {
        "fork+exit+wait, libc": [f"{build}/fork-libc", "2000"],
        "fork+exit+wait, libc + libsystemd":
            [f"{build}/fork-libsystemd", "2000"],
    }
    allp = dict(progs, **forks)
    res = alternate(reps, list(allp), lambda n: {"us": run_us(load,
                                                               allp[n])})
    base = med(res["no-op, libc"]["us"])
    rows = [(n, f"{med(res[n]['us']):.0f}",
             f"{med(res[n]['us']) - base:+.0f}") for n in progs]
    fbase = med(res["fork+exit+wait, libc"]["us"])
    frows = [(n, f"{med(res[n]['us']):.0f}",
              f"{med(res[n]['us']) - fbase:+.0f}") for n in forks]
    figures = {n: med(res[n]["us"]) for n in allp}
    return (md_table(["program (posix_spawn + wait, 1000 runs)",
                      "µs per start", "vs libc no-op"], rows) + "\n\n" +
            md_table(["fork, child _exit(0), waitpid (2000 runs)",
                      "µs per fork", "vs libc"], frows)), figures


# ---- short connections and memory per build ----

RETRIED = []


def short(c, load, conc, secs, backend_port):
    """test_short, run once more if over 1% of its connections failed (on a
    machine this busy, now and then a burst does), and said in the
    report."""
    try:
        return bench.test_short(c, load, conc, secs, backend_port)
    except RuntimeError as e:
        log(f"profile: {c.name} c{conc}: {e}; once more")
        RETRIED.append(f"{c.name} c{conc} ({str(e).split(': ', 1)[1]})")
        time.sleep(1)
        return bench.test_short(c, load, conc, secs, backend_port)


def measure(load, c, backend_port, secs):
    r = short(c, load, 1, secs, backend_port)
    r.update(short(c, load, 16, secs, backend_port))
    r.update(bench.test_memory(c, load, backend_port))
    return r


# metric key, title, format
CONN_METRICS = [
    ("c1_rate", "conn/s c1", "{:.0f}"),
    ("c16_rate", "conn/s c16", "{:.0f}"),
    ("c1_p50", "p50 µs c1 (first byte)", "{:.0f}"),
    ("c1_p99", "p99 µs c1", "{:.0f}"),
    ("c16_p50", "p50 µs c16", "{:.0f}"),
    ("c1_cpu", "relay CPU ms/conn c1", "{:.3f}"),
    ("c16_cpu", "relay CPU ms/conn c16", "{:.3f}"),
    ("rss_peak", "peak RSS KiB", "{:.0f}"),
    ("pss_conn", f"PSS/conn KiB ({bench.HOLD_N} held)", "{:.1f}"),
]


def before_after(res, old, new):
    rows = []
    for key, title, f in CONN_METRICS:
        a, b = med(res[old][key]), med(res[new][key])
        rows.append((title, f.format(a), f.format(b),
                     f"{b / a:.2f}" if a else "–"))
    return md_table(["per-connection mode", f"{old} (old)", "HEAD (new)",
                     "new/old"], rows)


def served_table(res, names, head):
    rows = []
    base = res[head]
    for n in names:
        r = res[n]
        us = 1e6 / med(r["c1_rate"])
        rows.append((n, f"{med(r['c1_rate']):.0f}",
                     f"{med(r['c1_rate']) / med(base['c1_rate']):.2f}",
                     f"{us:.0f}",
                     f"{us - 1e6 / med(base['c1_rate']):+.0f}",
                     f"{med(r['c16_rate']):.0f}",
                     f"{med(r['c1_p50']):.0f}", f"{med(r['c1_p99']):.0f}",
                     f"{med(r.get('c1_cpu', [])):.3f}",
                     f"{med(r['pss_conn']):.1f}"))
    return md_table(["served mode", "conn/s c1", "vs HEAD", "µs/conn c1",
                     "vs HEAD", "conn/s c16", "p50 µs c1", "p99 µs c1",
                     "relay CPU ms/conn c1", "PSS/conn KiB"], rows)


# ---- system calls per short connection ----

def syscalls_short(load, c, n, served):
    """strace attached to the activator (or the server) follows each
    process it forks: per connection, the calls from the exec of v6fwd
    (per-connection mode) or from the fork (served mode) to the exit."""
    tdir = tempfile.mkdtemp(prefix="v6strace.")
    st = subprocess.Popen(["strace", "-f", "-ff", "-qq", "-o", f"{tdir}/t",
                           "-p", str(c.pid())], stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        for _ in range(n):
            bench.run_client(load, ["short", "::1", str(c.port), "1", "1"],
                             30)
        c.quiesce(30)
    finally:
        st.send_signal(2)
        st.wait(timeout=30)
    per = []
    for path in glob.glob(f"{tdir}/t.*"):
        if path.endswith(f".{c.pid()}"):
            continue
        with open(path) as f:
            lines = f.read().splitlines()
        start = 0 if served else next(
            (i for i, ln in enumerate(lines)
             if ln.startswith("execve(") and "v6fwd" in ln), None)
        if start is None:
            continue
        calls = [re.match(r"(\w+)\(", ln) for ln in lines[start:]]
        per.append(collections.Counter(m.group(1) for m in calls if m))
    shutil.rmtree(tdir, ignore_errors=True)
    return per


def syscalls_table(traces):
    """traces: {build: [Counter per connection]}"""
    names = [n for n in traces if traces[n]]
    if not names:
        return "(no v6fwd trace found)"
    totals = {n: sorted(sum(p.values()) for p in traces[n]) for n in names}
    lines = [f"- {n}: {len(traces[n])} connections traced; median "
             f"{med(totals[n]):.0f} system calls per connection "
             f"(min {totals[n][0]}, max {totals[n][-1]})" for n in names]
    allc = collections.Counter()
    for n in names:
        for p in traces[n]:
            allc.update(p)
    rows = []
    for call, _ in allc.most_common():
        rows.append([call] + [
            f"{sum(p[call] for p in traces[n]) / len(traces[n]):.1f}"
            for n in names])
    return "\n".join(lines) + "\n\n" + md_table(
        ["system call, per connection"] + names, rows)


# ---- memory of one instance ----

def memory_map(load, c):
    """Rss and Pss by mapping of one v6fwd holding one connection."""
    top = c.pid()
    c.quiesce()
    rows = []

    def grab():
        kids = bench.children(top)
        if not kids:
            return
        pid = kids[0]
        cur = None
        acc = collections.OrderedDict()
        with open(f"/proc/{pid}/smaps") as f:
            for line in f:
                m = re.match(r"^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \S+\s*(.*)$",
                             line)
                if m:
                    name = os.path.basename(m.group(2)) or "[anon]"
                    cur = acc.setdefault(name, [0, 0])
                elif line.startswith("Rss:"):
                    cur[0] += int(line.split()[1])
                elif line.startswith("Pss:"):
                    cur[1] += int(line.split()[1])
        for name, (rss, pss) in acc.items():
            if rss:
                rows.append((name, rss, pss))
        rows.append(("VmHWM", bench.status_kib(pid, "VmHWM"), ""))
    bench.hold(c, load, 1, grab)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--load", required=True)
    ap.add_argument("--build", required=True,
                    help="directory with the builds (see bench/profile)")
    ap.add_argument("--old", required=True,
                    help="the commit the old build was made from")
    ap.add_argument("--reps", type=int,
                    default=int(os.environ.get("BENCH_REPS", "5")))
    ap.add_argument("--seconds", type=float,
                    default=float(os.environ.get("BENCH_SECONDS", "2")))
    ap.add_argument("--output", default=os.path.join(bench.ROOT, "bench",
                                                     "PROFILE.md"))
    args = ap.parse_args()
    b, old = args.build, args.old
    t0 = time.monotonic()
    mach = bench.machine()
    load0 = open("/proc/loadavg").read().split()[:3]
    backend = subprocess.Popen([args.load, "server", "127.0.0.1"],
                               stdout=subprocess.PIPE, text=True,
                               start_new_session=True)
    bench.BACKEND_PID = backend.pid
    started = []
    out = []
    try:
        port = int(backend.stdout.readline().split("=")[1])
        tgt = f"127.0.0.1:{port}"

        def start(c):
            c.start(b)
            started.append(c)
            return c

        def per_conn(name, exe):
            return start(bench.Config(name, "accept", [
                bench.ACTIVATE, "--accept", exe, tgt]))

        def served(name, exe):
            return start(bench.Config(name, "daemon", [
                bench.ACTIVATE, exe, "--max-connections-per-source=65536",
                tgt], conn_comm="v6fwd-conn"))

        log("profile: start-up cost")
        text, fig = startup(args.load, b, old, args.reps)
        out += ["## Cost of one start and of one fork", "", text]

        log("profile: per-connection mode, old and new")
        pc = [per_conn(old, f"{b}/old/v6fwd"),
              per_conn("HEAD", f"{b}/new/v6fwd")]
        res = alternate(args.reps, pc, lambda c: measure(
            args.load, c, port, args.seconds))
        ls = fig["no-op, libc + libsystemd"] - fig["no-op, libc"]
        vs = (fig["v6fwd --version, HEAD (libsystemd)"] -
              fig[f"v6fwd --version, {old} (no libsystemd)"])
        out += ["", "## Issue 11: libsystemd, before and after (same run)",
                "", f"{old} is the last commit before v6fwd linked "
                "libsystemd (it had its own sd_listen_fds and journal "
                "code); HEAD is the committed tree. Per start, libsystemd "
                f"adds {ls:.0f} µs to a no-op program and HEAD's "
                f"--version costs {vs:+.0f} µs against {old}'s (table "
                "above).", "", before_after(res, old, "HEAD")]
        for c in pc:
            c.stop()
        started.clear()

        log("profile: served mode variants")
        variants = [("served HEAD", "new"),
                    ("served, no seccomp in the child", "no-seccomp-child"),
                    ("served, no Landlock in the child",
                     "no-landlock-child"),
                    ("served, no confinement at all", "no-confinement")]
        sv = [served(n, f"{b}/{d}/v6fwd") for n, d in variants]
        proxyd = None
        if os.access(bench.PROXYD, os.X_OK):
            proxyd = start(bench.Config("socket-proxyd", "daemon", [
                bench.ACTIVATE, bench.PROXYD, tgt]))
        res = alternate(args.reps, sv + ([proxyd] if proxyd else []),
                        lambda c: measure(args.load, c, port, args.seconds))
        fl, fs = (fig["fork+exit+wait, libc"],
                  fig["fork+exit+wait, libc + libsystemd"])
        out += ["", "## Served mode: where a connection's time goes", "",
                "HEAD's served mode, and copies with one layer of "
                "confinement left out (sed'd src/sandbox.c; the server's "
                "own confinement stays, and the child inherits it, unless "
                "none at all). µs/conn c1 is 1 / conn/s at one client: "
                "its difference from HEAD is what that layer costs a "
                "connection, end to end. For scale: fork+exit+wait alone "
                f"takes {fl:.0f} µs (libc), {fs:.0f} µs with libsystemd "
                "mapped (table above); socket-proxyd forks nothing.", "",
                served_table(res, [c.name for c in sv] +
                             (["socket-proxyd"] if proxyd else []),
                             "served HEAD")]

        log("profile: memory of one instance")
        for c in started:
            c.stop()
        started.clear()
        insts = [per_conn(old, f"{b}/old/v6fwd"),
                 per_conn("HEAD", f"{b}/new/v6fwd"),
                 served("served HEAD", f"{b}/new/v6fwd")]
        rows = []
        for c in insts:
            for name, rss, pss in memory_map(args.load, c):
                rows.append((c.name, name, rss, pss))
        out += ["", "## Memory of one instance holding one connection (KiB)",
                "", "The per-connection process, or the served mode's "
                "v6fwd-conn child.", "",
                md_table(["build", "mapping", "Rss", "Pss"], rows)]

        if shutil.which("strace"):
            log("profile: system calls per short connection")
            traces = {c.name: syscalls_short(args.load, c, 30,
                                             c.conn_comm is not None)
                      for c in insts}
            out += ["", "## System calls per short connection (strace)", "",
                    syscalls_table(traces)]
    finally:
        for c in started:
            c.stop()
        backend.terminate()
        backend.wait(timeout=5)

    load1 = open("/proc/loadavg").read().split()[:3]
    if RETRIED:
        out += ["", "Run again, once each, after over 1% of their "
                "connections failed: " + "; ".join(RETRIED) + "."]
    text = "\n".join([
        "# v6fwd profile",
        "",
        "Written by bench/profile; builds made outside the tree (see "
        "bench/README.md).",
        "",
        f"- date: {mach['date']}; machine: {mach['cpu']}, kernel "
        f"{mach['kernel']}; v6fwd {mach['v6fwd']}",
        f"- load average at start {' '.join(load0)}, at end "
        f"{' '.join(load1)} (other jobs share this machine); "
        f"{args.reps} repetitions of {args.seconds:g} s, medians; run took "
        f"{time.monotonic() - t0:.0f} s",
        "",
    ] + out + [""])
    print(text)
    if args.output != "-":
        with open(args.output, "w") as f:
            f.write(text)
        log(f"profile: written to {os.path.relpath(args.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
