#!/usr/bin/env python3
"""make bench: v6fwd against the relays users would pick instead.

Every relay listens on [::1] and forwards to the same backend on 127.0.0.1
(bench/v6load.c). All relays run for the whole benchmark; each test walks
the configurations in an order rotated every repetition, so that drift on a
shared machine spreads over all of them. Figures are medians of the
repetitions, and v6fwd is compared with each peer as a ratio from the same
run. See bench/README.md for what each figure means.
"""

import argparse
import datetime
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ACTIVATE = shutil.which("systemd-socket-activate") or \
    "/usr/bin/systemd-socket-activate"
PROXYD = "/lib/systemd/systemd-socket-proxyd"
CLK_TCK = os.sysconf("SC_CLK_TCK")
HOLD_N = 200
SERVED = "v6fwd-served"

HAPROXY_CFG = """\
global
    maxconn 4096
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    option splice-request
    option splice-response
frontend v6
    bind fd@3
    default_backend v4
backend v4
    server backend 127.0.0.1:{port}
"""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---- /proc ----

def children(pid):
    """Live (or not yet reaped) descendants of pid, depth first."""
    out = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids = [int(x) for x in f.read().split()]
        except OSError:
            continue
        for k in kids:
            out.append(k)
            out.extend(children(k))
    return out


def cpu_seconds(pid):
    """utime + stime of pid and of the children it has reaped."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15]) / CLK_TCK


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def listening_port(pid):
    """The TCP port pid listens on (for relays that must bind port 0)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    for table in ("/proc/net/tcp6", "/proc/net/tcp"):
        with open(table) as f:
            next(f)
            for line in f:
                cols = line.split()
                if cols[3] == "0A" and cols[9] in inodes:
                    return int(cols[1].rsplit(":", 1)[1], 16)
    return None


def wait_for(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.02)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what}")


# ---- configurations ----

class Config:
    """One way of reaching the backend; kind is direct, accept or daemon."""

    def __init__(self, name, kind, argv=None, needs=None, fd=True,
                 env=None, bulk=True, memory=True, conn_comm=None):
        self.name, self.kind, self.argv = name, kind, argv
        # A daemon whose connections each have a process of this name.
        self.conn_comm = conn_comm
        self.needs = needs or []
        self.fd = fd        # gets its listening socket as fd 3
        self.env = env or {}
        self.bulk, self.memory = bulk, memory
        self.proc = None
        self.host, self.port = "::1", None

    def missing(self):
        return [n for n in self.needs if not shutil.which(n)
                and not os.access(n, os.X_OK)]

    def start(self, workdir):
        if self.kind == "direct":
            return
        env = dict(os.environ, SYSTEMD_LOG_LEVEL="err", **self.env)
        if self.fd:
            lsock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            lsock.bind(("::1", 0))
            lsock.listen(4096)
            self.port = lsock.getsockname()[1]
            lfd = lsock.fileno()

            def give_fd():
                os.dup2(lfd, 3)
            argv = ["sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"',
                    "sh"] + self.argv
            self.proc = subprocess.Popen(
                argv, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                pass_fds=(3,) if lfd != 3 else (), preexec_fn=give_fd,
                start_new_session=True)
            lsock.close()
        else:
            self.proc = subprocess.Popen(
                self.argv, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True)
            self.port = wait_for(lambda: listening_port(self.proc.pid), 10,
                                 f"{self.name} to listen")
        time.sleep(0.1)
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited at start "
                               f"({self.proc.returncode})")

    def pid(self):
        return self.proc.pid if self.proc else None

    def quiesce(self, timeout=15):
        """Waits until no per-connection process of an earlier test lives."""
        if self.proc:
            wait_for(lambda: not children(self.proc.pid), timeout,
                     f"{self.name}'s connections to end")

    def cpu(self):
        return cpu_seconds(self.proc.pid) if self.proc else 0.0

    def stop(self):
        if not self.proc:
            return
        pids = children(self.proc.pid) + [self.proc.pid]
        for p in pids:
            try:
                os.kill(p, signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            for p in pids:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.proc.wait(timeout=5)
        self.proc = None


def configs(v6fwd, backend_port, workdir):
    tgt = f"127.0.0.1:{backend_port}"
    hcfg = os.path.join(workdir, "haproxy.cfg")
    with open(hcfg, "w") as f:
        f.write(HAPROXY_CFG.format(port=backend_port))
    return [
        Config("direct", "direct", bulk=True, memory=False),
        Config("v6fwd", "accept", [ACTIVATE, "--accept", v6fwd, tgt],
               needs=[ACTIVATE]),
        # The served mode: handed the listening socket, v6fwd accepts and
        # forks a confined child per connection (no exec). Every client
        # here comes from ::1, one source: its limit is lifted.
        Config(SERVED, "daemon",
               [ACTIVATE, v6fwd, "--max-connections-per-source=65536", tgt],
               needs=[ACTIVATE], conn_comm="v6fwd-conn"),
        Config("floor-cat", "accept", [ACTIVATE, "--accept", "--inetd",
                                       "cat"],
               needs=[ACTIVATE, "cat"], bulk=False),
        Config("socat-accept", "accept",
               [ACTIVATE, "--accept", "socat", "FD:3", "TCP4:" + tgt],
               needs=[ACTIVATE, "socat"]),
        Config("socat-fork", "daemon",
               ["socat", "TCP6-LISTEN:0,bind=[::1],fork,reuseaddr",
                "TCP4:" + tgt], needs=["socat"], fd=False),
        Config("redir-inetd", "accept",
               [ACTIVATE, "--accept", "--inetd", "redir", "--inetd", tgt],
               needs=[ACTIVATE, "redir"]),
        Config("socket-proxyd", "daemon", [ACTIVATE, PROXYD, tgt],
               needs=[ACTIVATE, PROXYD]),
        Config("haproxy", "daemon", ["haproxy", "-db", "-f", hcfg],
               needs=["haproxy"]),
    ]


# ---- tests ----

def run_client(load, args, timeout):
    out = subprocess.run([load] + args, capture_output=True, text=True,
                         timeout=timeout)
    kv = dict(x.split("=", 1) for x in out.stdout.split() if "=" in x)
    if out.returncode != 0 or not kv:
        raise RuntimeError(f"v6load {' '.join(args)}: rc={out.returncode} "
                           f"{out.stdout.strip()} {out.stderr.strip()}")
    return kv


def endpoint(cfg, backend_port):
    if cfg.kind == "direct":
        return "127.0.0.1", backend_port
    return cfg.host, cfg.port


BACKEND_PID = None


def test_bulk(cfg, load, direction, secs, backend_port):
    """Gbit/s; CPU s/GiB of the relay, and of relay, client and backend."""
    host, port = endpoint(cfg, backend_port)
    cfg.quiesce()
    c0, b0 = cfg.cpu(), cpu_seconds(BACKEND_PID)
    kv = run_client(load, [direction, host, str(port),
                           str(int(secs * 1000))], secs + 30)
    cfg.quiesce()
    gib = int(kv["bytes"]) / 2**30
    relay = cfg.cpu() - c0
    res = {f"{direction}_gbps": float(kv["gbps"]),
           f"{direction}_all": (relay + float(kv["cpu"]) +
                                cpu_seconds(BACKEND_PID) - b0) / gib}
    if cfg.kind != "direct":
        res[f"{direction}_cpu"] = relay / gib
    return res


def test_short(cfg, load, conc, secs, backend_port):
    host, port = endpoint(cfg, backend_port)
    cfg.quiesce()
    c0 = cfg.cpu()
    kv = run_client(load, ["short", host, str(port), str(conc),
                           str(int(secs * 1000))], secs + 60)
    if int(kv["errors"]):
        log(f"  {cfg.name} c{conc}: {kv['errors']} failed connections")
    res = {f"c{conc}_rate": float(kv["rate"]),
           f"c{conc}_p50": float(kv["p50_us"]),
           f"c{conc}_p99": float(kv["p99_us"])}
    if cfg.kind != "direct" and int(kv["conns"]):
        cfg.quiesce()
        res[f"c{conc}_cpu"] = (cfg.cpu() - c0) * 1e3 / int(kv["conns"])
    return res


def hold(cfg, load, n, measure):
    """Holds n connections through cfg, returns measure() taken meanwhile."""
    p = subprocess.Popen([load, "hold", cfg.host, str(cfg.port), str(n),
                          "120"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline().strip()
        if line != f"held={n}":
            raise RuntimeError(f"{cfg.name}: holding {n}: {line!r}")
        # The last relay may still be between its reply and its next
        # syscall; its memory is settled once the reply reached us.
        return measure()
    finally:
        p.stdin.close()
        p.wait(timeout=30)


def test_memory(cfg, load, _backend_port):
    top = cfg.pid()
    cfg.quiesce()

    def instance():
        """The process(es) serving one connection: the per-connection
        child, or the daemon itself."""
        kids = children(top)
        return kids if kids else [top]

    def pss_all():
        procs = [top] + children(top)
        if cfg.conn_comm:
            # The served mode: the held connections' own processes must
            # all be there, or the figure would be the server's alone.
            conns = [p for p in procs if comm(p) == cfg.conn_comm]
            if len(conns) != HOLD_N:
                raise RuntimeError(f"{cfg.name}: {len(conns)} "
                                   f"{cfg.conn_comm} processes for "
                                   f"{HOLD_N} connections")
        return sum(pss_kib(p) for p in procs)

    peak = hold(cfg, load, 1,
                lambda: sum(status_kib(p, "VmHWM") for p in instance()))
    cfg.quiesce()
    base = sum(pss_kib(p) for p in [top] + children(top))
    held = hold(cfg, load, HOLD_N, pss_all)
    return {"rss_peak": peak, "pss_conn": (held - base) / HOLD_N}


# ---- report ----

# key, column title, unit, True when higher is better
METRICS = [
    ("up_gbps", "bulk up Gbit/s", True),
    ("down_gbps", "bulk down Gbit/s", True),
    ("up_cpu", "up CPU s/GiB", False),
    ("down_cpu", "down CPU s/GiB", False),
    ("c1_rate", "conn/s c1", True),
    ("c16_rate", "conn/s c16", True),
    ("c1_p50", "p50 µs c1", False),
    ("c1_p99", "p99 µs c1", False),
    ("c16_p50", "p50 µs c16", False),
    ("c16_p99", "p99 µs c16", False),
    ("rss_peak", "peak RSS KiB", False),
    ("pss_conn", "PSS/conn KiB", False),
]


def fmt(v):
    if v is None:
        return "–"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def median(results, name, key):
    vals = results.get(name, {}).get(key, [])
    return statistics.median(vals) if vals else None


def table(cfgs, results):
    head = "| relay | " + " | ".join(t for _, t, _ in METRICS) + " |"
    rows = [head, "|" + "---|" * (len(METRICS) + 1)]
    for c in cfgs:
        cells = []
        for key, _, _ in METRICS:
            m = median(results, c.name, key)
            v = median(results, "v6fwd", key)
            cell = fmt(m)
            # A marginal figure near zero (a daemon's PSS per connection)
            # gives no meaningful ratio.
            if m and v and c.name != "v6fwd" and (key != "pss_conn" or
                                                  m >= 1):
                cell += f" ({v / m:.2f})"
            cells.append(cell)
        rows.append(f"| {c.name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def cpu_table(cfgs, results):
    """Where the CPU goes: in bulk, for all processes together (why a relay
    cannot reach the direct figure on a machine whose CPUs the client and
    backend already keep busy); per short connection, for the relay."""
    rows = ["| relay | bulk up: all CPU s/GiB | bulk down: all CPU s/GiB "
            "| relay CPU ms/conn c1 | relay CPU ms/conn c16 |",
            "|---|---|---|---|---|"]
    for c in cfgs:
        cells = [fmt(median(results, c.name, k)) for k in
                 ("up_all", "down_all", "c1_cpu", "c16_cpu")]
        rows.append(f"| {c.name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def ratio(results, key, peer, name="v6fwd"):
    v, p = median(results, name, key), median(results, peer, key)
    return v / p if v is not None and p else None


def verdict(ok):
    return "met" if ok else "MISSED"


def check(lines, text, r, want, higher=True):
    if r is None:
        lines.append(f"- {text}: not measured")
        return
    ok = r >= want if higher else r <= want
    lines.append(f"- {text}: {r:.3f} (want {'≥' if higher else '≤'} "
                 f"{want}) {verdict(ok)}")


def targets(cfgs, results):
    lines = []
    for d in ("up", "down"):
        check(lines, f"bulk {d} v6fwd/direct",
              ratio(results, f"{d}_gbps", "direct"), 0.80)
        v = median(results, "v6fwd", f"{d}_cpu")
        peers = {c.name: median(results, c.name, f"{d}_cpu") for c in cfgs
                 if c.name not in ("v6fwd", "direct", SERVED)}
        peers = {k: x for k, x in peers.items() if x is not None}
        if v is not None and peers:
            best = min(peers, key=peers.get)
            lines.append(f"- bulk {d} CPU/GiB lowest of all: v6fwd "
                         f"{v:.3f} s/GiB, best peer {best} "
                         f"{peers[best]:.3f} "
                         f"{verdict(v <= peers[best])}")
    for conc in (1, 16):
        key = f"c{conc}_rate"
        check(lines, f"conn/s c{conc} v6fwd/floor-cat",
              ratio(results, key, "floor-cat"), 0.9)
        check(lines, f"conn/s c{conc} v6fwd/redir-inetd",
              ratio(results, key, "redir-inetd"), 1.5)
        check(lines, f"conn/s c{conc} v6fwd/socat-accept",
              ratio(results, key, "socat-accept"), 3)
    rss = median(results, "v6fwd", "rss_peak")
    pss = median(results, "v6fwd", "pss_conn")
    if rss is not None:
        lines.append(f"- peak RSS {rss:.0f} KiB (want ≤ 1229 KiB = 1.2 MiB) "
                     f"{verdict(rss <= 1.2 * 1024)}")
    if pss is not None:
        lines.append(f"- PSS per held connection {pss:.1f} KiB (want ≤ 100) "
                     f"{verdict(pss <= 100)}")
    return "\n".join(lines)


def targets_served(results):
    """Issue 12: the served mode against socket-proxyd (one process, no
    fork) and against v6fwd per connection, ratios from the same run."""
    lines = []
    s = SERVED
    for conc, want in ((1, 0.9), (16, 0.6)):
        check(lines, f"conn/s c{conc} {s}/socket-proxyd",
              ratio(results, f"c{conc}_rate", "socket-proxyd", s), want)
    for conc in (1, 16):
        check(lines, f"conn/s c{conc} {s}/v6fwd (per connection)",
              ratio(results, f"c{conc}_rate", "v6fwd", s), 2.5)
    check(lines, f"p50 first byte c1 {s}/socket-proxyd",
          ratio(results, "c1_p50", "socket-proxyd", s), 1.3, higher=False)
    pss = median(results, s, "pss_conn")
    if pss is None:
        lines.append("- PSS per held connection: not measured")
    else:
        lines.append(f"- PSS per held connection {pss:.1f} KiB (want ≤ 64) "
                     f"{verdict(pss <= 64)}")
    for d in ("up", "down"):
        r = ratio(results, f"{d}_gbps", "v6fwd", s)
        if r is None:
            lines.append(f"- bulk {d} {s}/v6fwd: not measured")
            continue
        lines.append(f"- bulk {d} {s}/v6fwd (per connection): {r:.3f} "
                     f"(want ≈ 1: 0.9 to 1.1) "
                     f"{verdict(0.9 <= r <= 1.1)}")
    return "\n".join(lines)


def spread(cfgs, results):
    rows = ["| relay | metric | samples |", "|---|---|---|"]
    for c in cfgs:
        for key, title, _ in METRICS:
            vals = results.get(c.name, {}).get(key)
            if vals:
                rows.append(f"| {c.name} | {title} | "
                            + " ".join(fmt(x) for x in vals) + " |")
    return "\n".join(rows)


def version(argv, line=0):
    try:
        out = subprocess.run(argv, capture_output=True, text=True,
                             timeout=10)
        text = (out.stdout + out.stderr).strip().splitlines()
        return text[line].strip() if len(text) > line else "?"
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        commit = subprocess.run(["git", "-C", ROOT, "describe", "--always",
                                 "--dirty"], capture_output=True,
                                text=True).stdout.strip()
    except OSError:
        commit = "?"
    return {
        "date": datetime.datetime.now(datetime.timezone.utc)
        .strftime("%Y-%m-%d %H:%M UTC"),
        "kernel": platform.release(),
        "cpu": f"{cpu}, {os.cpu_count()} CPUs",
        "v6fwd": commit,
        "socat": version(["socat", "-V"], 1),
        "redir": version(["redir", "--version"]),
        "haproxy": version(["haproxy", "-v"]),
        "systemd": version(["systemctl", "--version"]),
    }


# ---- main ----

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--load", required=True, help="built bench/v6load")
    ap.add_argument("--v6fwd", default=os.path.join(ROOT, "v6fwd"))
    ap.add_argument("--reps", type=int,
                    default=int(os.environ.get("BENCH_REPS", "5")))
    ap.add_argument("--seconds", type=float,
                    default=float(os.environ.get("BENCH_SECONDS", "2")))
    ap.add_argument("--only", default=os.environ.get("BENCH_ONLY", ""),
                    help="comma-separated configurations to run")
    ap.add_argument("--output", default=os.path.join(ROOT, "bench",
                                                     "RESULTS.md"))
    args = ap.parse_args()

    started = time.monotonic()
    mach = machine()
    load0 = open("/proc/loadavg").read().split()[:3]
    workdir = tempfile.mkdtemp(prefix="v6bench.")
    backend = subprocess.Popen([args.load, "server", "127.0.0.1"],
                               stdout=subprocess.PIPE, text=True,
                               start_new_session=True)
    global BACKEND_PID
    BACKEND_PID = backend.pid
    cfgs, missing = [], []
    results = {}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        backend_port = int(backend.stdout.readline().split("=")[1])
        for c in configs(args.v6fwd, backend_port, workdir):
            if args.only and c.name not in args.only.split(",") + \
                    ["v6fwd", "direct", SERVED]:
                continue
            miss = c.missing()
            if miss:
                log(f"bench: skipping {c.name}: missing {', '.join(miss)}")
                missing.append(f"{c.name} ({', '.join(miss)})")
                continue
            c.start(workdir)
            cfgs.append(c)
            log(f"bench: {c.name} on [::1]:{c.port}" if c.port else
                f"bench: direct to 127.0.0.1:{backend_port}")

        tests = [
            ("bulk up", lambda c: c.bulk, lambda c: test_bulk(
                c, args.load, "up", args.seconds, backend_port)),
            ("bulk down", lambda c: c.bulk, lambda c: test_bulk(
                c, args.load, "down", args.seconds, backend_port)),
            ("short c1", lambda c: True, lambda c: test_short(
                c, args.load, 1, args.seconds, backend_port)),
            ("short c16", lambda c: True, lambda c: test_short(
                c, args.load, 16, args.seconds, backend_port)),
            ("memory", lambda c: c.memory and c.kind != "direct",
             lambda c: test_memory(c, args.load, backend_port)),
        ]
        for title, applies, run in tests:
            for rep in range(args.reps):
                log(f"bench: {title}, repetition {rep + 1}/{args.reps}")
                order = cfgs[rep % len(cfgs):] + cfgs[:rep % len(cfgs)]
                for c in order:
                    if not applies(c):
                        continue
                    for k, v in run(c).items():
                        results.setdefault(c.name, {}).setdefault(
                            k, []).append(v)
    finally:
        for c in cfgs:
            c.stop()
        backend.terminate()
        backend.wait(timeout=5)
        shutil.rmtree(workdir, ignore_errors=True)

    load1 = open("/proc/loadavg").read().split()[:3]
    elapsed = time.monotonic() - started
    report = [
        "# v6fwd benchmark results",
        "",
        "Written by `make bench` (bench/run); see bench/README.md for the "
        "method.",
        "",
        f"- date: {mach['date']}",
        f"- machine: {mach['cpu']}, kernel {mach['kernel']}",
        f"- load average at start {' '.join(load0)}, at end "
        f"{' '.join(load1)} (other jobs share this machine)",
        f"- v6fwd {mach['v6fwd']}; {mach['socat'].strip()}; "
        f"{mach['redir']}; {mach['haproxy']}; {mach['systemd']}",
        f"- {args.reps} repetitions of {args.seconds:g} s per test, "
        f"configurations alternated; run took {elapsed:.0f} s",
        "",
        "Medians. In brackets: v6fwd / that relay (above 1 is better for "
        "v6fwd in Gbit/s and conn/s, below 1 is better in CPU, latency "
        "and memory).",
        "",
        table(cfgs, results),
        "",
        "CPU: in bulk, of client, backend and relay together per GiB (the "
        "client and backend are the same programs in every row); per short "
        "connection, of the relay's processes (per-connection relays: "
        "including the activator's accept and fork):",
        "",
        cpu_table(cfgs, results),
        "",
        "## Targets (issue 4)",
        "",
        targets(cfgs, results),
        "",
        "## Targets (issue 12)",
        "",
        "The served mode (`v6fwd-served`): v6fwd handed the listening "
        "socket, accepting and forking a confined child per connection.",
        "",
        targets_served(results),
    ]
    if missing:
        report += ["", "Not measured (not installed): " + ", ".join(missing)]
    report += ["", "## All samples", "", spread(cfgs, results), ""]
    text = "\n".join(report)
    print(text)
    if args.output != "-":
        with open(args.output, "w") as f:
            f.write(text)
        log(f"bench: results written to {os.path.relpath(args.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
