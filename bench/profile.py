#!/usr/bin/env python3
"""bench/profile: where v6fwd's time and memory go, and what would change it.

Runs experimental builds of v6fwd (made by bench/profile from the committed
sources, outside the tree) against the same backend as make bench:
- the cost of one start: no-op programs (static, libc, libc+libsystemd)
  and v6fwd --version in each build;
- short connections per build (default, static, linked with libsystemd);
- bulk per pipe size (F_SETPIPE_SZ 64 KiB, 256 KiB, 1 MiB, kernel default);
- system calls per short connection (strace) and per GiB (perf tracepoints);
- where the resident memory of one instance is (smaps).
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

def startup(load, build, reps):
    progs = {
        "no-op, static": [f"{build}/noop-static"],
        "no-op, libc": [f"{build}/noop-libc"],
        "no-op, libc + libsystemd": [f"{build}/noop-libsystemd"],
        "v6fwd --version": [f"{build}/v6fwd-default", "--version"],
        "v6fwd --version, static": [f"{build}/v6fwd-static", "--version"],
        "v6fwd --version, + libsystemd": [f"{build}/v6fwd-libsystemd",
                                          "--version"],
        "no-op, musl static": [f"{build}/noop-musl"],
        "v6fwd --version, musl static": [f"{build}/v6fwd-musl",
                                         "--version"],
    }
    names = [n for n in progs if os.access(progs[n][0], os.X_OK)]

    def one(name):
        out = subprocess.run([load, "spawn", "1000"] + progs[name],
                             capture_output=True, text=True, timeout=120)
        kv = dict(x.split("=") for x in out.stdout.split())
        return {"us": float(kv["us_per_run"])}
    res = alternate(reps, names, one)
    base = med(res["no-op, libc"]["us"])
    rows = [(n, f"{med(res[n]['us']):.0f}",
             f"{med(res[n]['us']) - base:+.0f}") for n in names]
    return md_table(["program (posix_spawn + wait, 1000 runs)",
                     "µs per start", "vs libc no-op"], rows)


# ---- short connections per build ----

def short_builds(load, build, cfgs, backend_port, reps, secs):
    def one(c):
        r = bench.test_short(c, load, 1, secs, backend_port)
        r.update(bench.test_short(c, load, 16, secs, backend_port))
        return r
    res = alternate(reps, cfgs, one)
    base = med(res["v6fwd-default"]["c1_rate"])
    rows = []
    for c in cfgs:
        r = res[c.name]
        rows.append((c.name, f"{med(r['c1_rate']):.0f}",
                     f"{med(r['c1_rate']) / base:.2f}",
                     f"{med(r['c16_rate']):.0f}",
                     f"{med(r['c1_p50']):.0f}", f"{med(r['c1_p99']):.0f}"))
    return md_table(["build", "conn/s c1", "vs default", "conn/s c16",
                     "p50 µs c1", "p99 µs c1"], rows)


# ---- bulk per pipe size ----

def perf_ok():
    try:
        out = subprocess.run(["perf", "stat", "-x,", "-e",
                              "syscalls:sys_enter_splice", "true"],
                             capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and "not supported" not in out.stderr


SYSCALL_EVENTS = ["splice", "ppoll", "ioctl", "shutdown"]


def bulk_counted(c, load, direction, secs, backend_port, use_perf):
    """test_bulk, with system calls of the relay counted by perf."""
    if not use_perf or c.kind == "direct":
        return bench.test_bulk(c, load, direction, secs, backend_port)
    events = ",".join(f"syscalls:sys_enter_{e}" for e in SYSCALL_EVENTS)
    out = os.path.join(tempfile.gettempdir(), f"v6perf.{os.getpid()}")
    # perf follows the activator and every process it forks.
    p = subprocess.Popen(["perf", "stat", "-x,", "-o", out, "-e", events,
                          "-p", str(c.pid())], stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    try:
        r = bench.test_bulk(c, load, direction, secs, backend_port)
    finally:
        p.send_signal(2)
        p.wait(timeout=20)
    counts = {}
    with open(out) as f:
        for line in f:
            cols = line.strip().split(",")
            if len(cols) > 2 and cols[2].startswith("syscalls:"):
                try:
                    counts[cols[2].split("_enter_")[1]] = int(cols[0])
                except ValueError:
                    pass
    os.unlink(out)
    gib = r[f"{direction}_gbps"] * 1e9 / 8 * secs / 2**30
    for e in SYSCALL_EVENTS:
        r[f"{direction}_{e}"] = counts.get(e, 0) / gib
    return r


def pipes(load, cfgs, backend_port, reps, secs):
    use_perf = perf_ok()

    def one(c):
        r = bulk_counted(c, load, "up", secs, backend_port, use_perf)
        r.update(bulk_counted(c, load, "down", secs, backend_port, use_perf))
        return r
    res = alternate(reps, cfgs, one)
    rows = []
    for c in cfgs:
        r = res[c.name]
        row = [c.name]
        for d in ("up", "down"):
            row += [f"{med(r[d + '_gbps']):.2f}",
                    f"{med(r.get(d + '_cpu', [])):.3f}",
                    f"{med(r[d + '_all']):.3f}"]
        if use_perf:
            for d in ("up", "down"):
                row += [f"{med(r.get(d + '_splice', [])):.0f}",
                        f"{med(r.get(d + '_ppoll', [])):.0f}"]
        rows.append(row)
    head = ["build", "up Gbit/s", "up relay CPU s/GiB", "up all CPU s/GiB",
            "down Gbit/s", "down relay CPU s/GiB", "down all CPU s/GiB"]
    if use_perf:
        head += ["up splice/GiB", "up ppoll/GiB", "down splice/GiB",
                 "down ppoll/GiB"]
    note = "" if use_perf else "\n\n(perf tracepoints unavailable: no " \
        "system call counts.)"
    return md_table(head, rows) + note


# ---- system calls per short connection ----

def syscalls_short(load, build, backend_port, n):
    tdir = tempfile.mkdtemp(prefix="v6strace.")
    c = bench.Config("strace", "accept",
                     [bench.ACTIVATE, "--accept", f"{build}/v6fwd-default",
                      f"127.0.0.1:{backend_port}"])
    c.start(tdir)
    # Attached to the activator, strace follows each child it forks.
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
        c.stop()
    per = []
    for path in glob.glob(f"{tdir}/t.*"):
        with open(path) as f:
            lines = f.read().splitlines()
        start = next((i for i, ln in enumerate(lines)
                      if ln.startswith("execve(") and "v6fwd" in ln), None)
        if start is None:
            continue
        calls = [re.match(r"(\w+)\(", ln) for ln in lines[start:]]
        per.append(collections.Counter(m.group(1) for m in calls if m))
    shutil.rmtree(tdir, ignore_errors=True)
    if not per:
        return "(no v6fwd trace found)"
    # The loader's part ends with the last mprotect before main's first call.
    totals = sorted(sum(p.values()) for p in per)
    names = collections.Counter()
    for p in per:
        names.update(p)
    rows = [(k, f"{v / len(per):.1f}") for k, v in names.most_common()]
    return (f"{len(per)} connections traced; system calls per connection "
            f"from execve to exit: median {med(totals):.0f} "
            f"(min {totals[0]}, max {totals[-1]}).\n\n"
            + md_table(["system call", "per connection"], rows))


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
                    help="directory with the experimental builds")
    ap.add_argument("--reps", type=int,
                    default=int(os.environ.get("BENCH_REPS", "5")))
    ap.add_argument("--seconds", type=float,
                    default=float(os.environ.get("BENCH_SECONDS", "2")))
    ap.add_argument("--output", default=os.path.join(bench.ROOT, "bench",
                                                     "PROFILE.md"))
    args = ap.parse_args()
    b = args.build
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

        def cfg(name):
            c = bench.Config(name, "accept",
                             [bench.ACTIVATE, "--accept", f"{b}/{name}", tgt])
            c.start(b)
            started.append(c)
            return c

        log("profile: start-up cost")
        out += ["## Cost of one start", "", startup(args.load, b, args.reps)]

        log("profile: short connections per build")
        builds = [cfg(n) for n in ("v6fwd-default", "v6fwd-static",
                                   "v6fwd-libsystemd", "v6fwd-musl")
                  if os.access(f"{b}/{n}", os.X_OK)]
        out += ["", "## Short connections per build", "",
                short_builds(args.load, b, builds, port, args.reps,
                             args.seconds)]

        log("profile: memory per build")
        res = alternate(args.reps, builds,
                        lambda c: bench.test_memory(c, args.load, port))
        rows = [(c.name, f"{med(res[c.name]['rss_peak']):.0f}",
                 f"{med(res[c.name]['pss_conn']):.1f}") for c in builds]
        out += ["", "## Memory per build", "",
                md_table(["build", "peak RSS KiB", "PSS/conn KiB "
                          f"({bench.HOLD_N} held)"], rows)]

        log("profile: memory of one instance")
        rows = []
        for c in builds:
            if c.name == "v6fwd-libsystemd":
                continue
            for name, rss, pss in memory_map(args.load, c):
                rows.append((c.name, name, rss, pss))
        out += ["", "## Memory of one instance holding one connection (KiB)",
                "", md_table(["build", "mapping", "Rss", "Pss"], rows)]

        log("profile: bulk per pipe size")
        pcfgs = [bench.Config("direct", "direct"), builds[0]] + \
            [cfg(n) for n in ("v6fwd-pipe64k",
                                                "v6fwd-pipe256k",
                                                "v6fwd-pipe1m")]
        out += ["", "## Bulk per pipe size", "",
                pipes(args.load, pcfgs, port, args.reps, args.seconds)]

        for c in started:
            c.stop()
        started.clear()

        if shutil.which("strace"):
            log("profile: system calls per short connection")
            out += ["", "## System calls per short connection (strace)", "",
                    syscalls_short(args.load, b, port, 30)]
    finally:
        for c in started:
            c.stop()
        backend.terminate()
        backend.wait(timeout=5)

    load1 = open("/proc/loadavg").read().split()[:3]
    text = "\n".join([
        "# v6fwd profile",
        "",
        "Written by bench/profile; builds of the committed sources made "
        "outside the tree (see bench/README.md).",
        "",
        f"- date: {mach['date']}; machine: {mach['cpu']}, kernel "
        f"{mach['kernel']}; v6fwd {mach['v6fwd']}",
        f"- load average at start {' '.join(load0)}, at end "
        f"{' '.join(load1)}; {args.reps} repetitions, medians",
        "",
    ] + out + [""])
    print(text)
    with open(args.output, "w") as f:
        f.write(text)
    log(f"profile: written to {os.path.relpath(args.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
