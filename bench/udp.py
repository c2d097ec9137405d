#!/usr/bin/env python3
"""make bench, UDP: v6fwd's UDP relay against socat and nginx stream udp.

Every relay listens on [::1] and forwards to the same echo backend on
127.0.0.1 (bench/udpload.c); the client keeps FLOWS flows (a socket each)
with WINDOW datagrams in flight each, for small and large datagrams. All
relays run for the whole benchmark; each test walks the configurations in
an order rotated every repetition, figures are medians, and v6fwd is
compared with each peer as a ratio from the same run. See bench/README.md.
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
CLK_TCK = os.sysconf("SC_CLK_TCK")
FLOWS, WINDOW = 16, 8
SIZES = [("small", 64), ("large", 1400)]
NGINX_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"

NGINX_CFG = """\
load_module {module};
worker_processes auto;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/nginx.err error;
events {{ worker_connections 4096; }}
stream {{
    server {{
        listen [::1]:{port} udp;
        proxy_pass 127.0.0.1:{backend};
        proxy_timeout 60s;
    }}
}}
"""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def descendants(pid):
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
            out.extend(descendants(k))
    return out


def stat_cpu(pid, reaped):
    """utime + stime of pid, and of the children it reaped if asked."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15 if reaped else 13]) / CLK_TCK


def tree_cpu(pid):
    """The CPU of a relay: the process, the children it reaped, and the
    live ones (socat forks a child per flow, nginx has workers)."""
    return stat_cpu(pid, True) + sum(stat_cpu(k, False)
                                     for k in descendants(pid))


def free_udp_port():
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind(("::1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Config:
    def __init__(self, name, argv=None, needs=None, fd=False):
        self.name, self.argv, self.fd = name, argv, fd
        self.needs = needs or []
        self.proc, self.port = None, None

    def missing(self):
        return [n for n in self.needs if not shutil.which(n)
                and not os.access(n, os.R_OK)]

    def start(self, port):
        self.port = port
        if self.argv is None:
            return
        env = dict(os.environ, SYSTEMD_LOG_LEVEL="err")
        argv = [a.replace("@PORT@", str(port)) for a in self.argv]
        if self.fd:
            lsock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            lsock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            # As the unit's ReceiveBuffer= and SendBuffer= (4 MiB).
            for opt in (socket.SO_RCVBUF, socket.SO_SNDBUF):
                lsock.setsockopt(socket.SOL_SOCKET, opt, 4 << 20)
            lsock.bind(("::1", port))
            lfd = lsock.fileno()
            argv = ["sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"',
                    "sh"] + argv
            self.proc = subprocess.Popen(
                argv, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                pass_fds=(3,) if lfd != 3 else (),
                preexec_fn=lambda: os.dup2(lfd, 3), start_new_session=True)
            lsock.close()
        else:
            self.proc = subprocess.Popen(
                argv, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True)
        time.sleep(0.3)
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited at start "
                               f"({self.proc.returncode})")

    def cpu(self):
        return tree_cpu(self.proc.pid) if self.proc else 0.0

    def stop(self):
        if not self.proc:
            return
        pids = descendants(self.proc.pid) + [self.proc.pid]
        for p in pids:
            try:
                os.kill(p, signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            for p in pids:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.proc.wait(timeout=5)
        self.proc = None


def configs(v6fwd, backend, workdir):
    tgt = f"127.0.0.1:{backend}"
    ncfg = os.path.join(workdir, "nginx.conf")
    return [
        Config("direct"),
        Config("v6fwd", [v6fwd, tgt], fd=True),
        # -b: socat's buffer is 8192 bytes by default, less than a datagram
        # may be; -T: a child per flow, ended after that much idle time.
        Config("socat", ["socat", "-b", "65536", "-T", "60",
                         "UDP6-LISTEN:@PORT@,bind=[::1],fork,reuseaddr",
                         "UDP4:" + tgt], needs=["socat"]),
        Config("nginx", ["nginx", "-c", ncfg, "-p", workdir],
               needs=["nginx", NGINX_MODULE]),
    ], ncfg


def run_flood(load, cfg, backend, size, secs):
    host, port = ("127.0.0.1", backend) if cfg.name == "direct" else \
        ("::1", cfg.port)
    c0 = cfg.cpu()
    out = subprocess.run([load, "flood", host, str(port), str(FLOWS),
                          str(size), str(WINDOW), str(int(secs * 1000))],
                         capture_output=True, text=True, timeout=secs + 30)
    kv = dict(x.split("=", 1) for x in out.stdout.split() if "=" in x)
    if out.returncode != 0 or "rate" not in kv:
        raise RuntimeError(f"{cfg.name}: udpload flood: {out.stdout} "
                           f"{out.stderr}")
    # Let the last datagrams drain before the relay's CPU is read.
    time.sleep(0.2)
    d = int(kv["datagrams"])
    res = {"rate": float(kv["rate"]), "gbps": float(kv["gbps"]),
           "loss": 100.0 * int(kv["lost"]) / max(1, d + int(kv["lost"]))}
    # Echoes that came back to another flow's socket, or cut.
    res["bad"] = float(kv["bad"])
    if cfg.name != "direct" and d:
        # Each echoed datagram crossed the relay twice.
        res["us"] = (cfg.cpu() - c0) * 1e6 / (2 * d)
    return res


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


METRICS = []
for label, _ in SIZES:
    METRICS += [(f"{label}_rate", f"{label} datagrams/s", True),
                (f"{label}_gbps", f"{label} Gbit/s", True),
                (f"{label}_us", f"{label} relay CPU µs/datagram", False),
                (f"{label}_loss", f"{label} lost %", False),
                (f"{label}_bad", f"{label} misdelivered", False)]


def table(cfgs, results):
    rows = ["| relay | " + " | ".join(t for _, t, _ in METRICS) + " |",
            "|" + "---|" * (len(METRICS) + 1)]
    for c in cfgs:
        cells = []
        for key, _, _ in METRICS:
            m, v = median(results, c.name, key), median(results, "v6fwd",
                                                         key)
            cell = fmt(m)
            if m and v and c.name != "v6fwd" and not key.endswith(
                    ("_loss", "_bad")):
                cell += f" ({v / m:.2f})"
            cells.append(cell)
        rows.append(f"| {c.name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def targets(results):
    lines = []
    for label, size in SIZES:
        for peer, want in (("socat", 2.0), ("nginx", 1.0)):
            v = median(results, "v6fwd", f"{label}_rate")
            p = median(results, peer, f"{label}_rate")
            if v is None or not p:
                lines.append(f"- {label} ({size} B) datagrams/s "
                             f"v6fwd/{peer}: not measured")
                continue
            r = v / p
            lines.append(f"- {label} ({size} B) datagrams/s v6fwd/{peer}: "
                         f"{r:.2f} (want ≥ {want:g}) "
                         f"{'met' if r >= want else 'MISSED'}")
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


def version(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True,
                             timeout=10)
        lines = (out.stdout + out.stderr).strip().splitlines()
        return lines[0].strip() if lines else "?"
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--load", required=True, help="built bench/udpload")
    ap.add_argument("--v6fwd", default=os.path.join(ROOT, "v6fwd"))
    ap.add_argument("--reps", type=int,
                    default=int(os.environ.get("BENCH_REPS", "5")))
    ap.add_argument("--seconds", type=float,
                    default=float(os.environ.get("BENCH_SECONDS", "2")))
    ap.add_argument("--output", default=os.path.join(ROOT, "bench",
                                                     "RESULTS-udp.md"))
    args = ap.parse_args()

    started = time.monotonic()
    load0 = open("/proc/loadavg").read().split()[:3]
    workdir = tempfile.mkdtemp(prefix="v6bench-udp.")
    backend = subprocess.Popen([args.load, "echo", "127.0.0.1"],
                               stdout=subprocess.PIPE, text=True,
                               start_new_session=True)
    cfgs, missing, results = [], [], {}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        bport = int(backend.stdout.readline().split("=")[1])
        all_cfgs, ncfg = configs(args.v6fwd, bport, workdir)
        for c in all_cfgs:
            miss = c.missing()
            if miss:
                log(f"bench udp: skipping {c.name}: missing {', '.join(miss)}")
                missing.append(f"{c.name} ({', '.join(miss)})")
                continue
            port = free_udp_port()
            if c.name == "nginx":
                with open(ncfg, "w") as f:
                    f.write(NGINX_CFG.format(module=NGINX_MODULE,
                                             dir=workdir, port=port,
                                             backend=bport))
            c.start(port)
            cfgs.append(c)
            log(f"bench udp: {c.name} on "
                f"{'127.0.0.1:%d' % bport if c.name == 'direct' else '[::1]:%d' % port}")
        for label, size in SIZES:
            for rep in range(args.reps):
                log(f"bench udp: {label} ({size} B), repetition "
                    f"{rep + 1}/{args.reps}")
                order = cfgs[rep % len(cfgs):] + cfgs[:rep % len(cfgs)]
                for c in order:
                    for k, v in run_flood(args.load, c, bport, size,
                                          args.seconds).items():
                        results.setdefault(c.name, {}).setdefault(
                            f"{label}_{k}", []).append(v)
    finally:
        for c in cfgs:
            c.stop()
        backend.terminate()
        backend.wait(timeout=5)
        shutil.rmtree(workdir, ignore_errors=True)

    load1 = open("/proc/loadavg").read().split()[:3]
    try:
        commit = subprocess.run(["git", "-C", ROOT, "describe", "--always",
                                 "--dirty"], capture_output=True,
                                text=True).stdout.strip()
    except OSError:
        commit = "?"
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    report = [
        "# v6fwd UDP benchmark results",
        "",
        "Written by `make bench` (bench/run, bench/udp.py); see "
        "bench/README.md for the method.",
        "",
        "- date: " + datetime.datetime.now(datetime.timezone.utc)
        .strftime("%Y-%m-%d %H:%M UTC"),
        f"- machine: {cpu}, {os.cpu_count()} CPUs, kernel "
        f"{platform.release()}",
        f"- load average at start {' '.join(load0)}, at end "
        f"{' '.join(load1)} (other jobs share this machine)",
        f"- v6fwd {commit}; {version(['socat', '-V']).strip()} "
        f"({version(['sh', '-c', 'socat -V | sed -n 2p'])}); "
        f"{version(['sh', '-c', 'nginx -v 2>&1'])}",
        f"- {FLOWS} flows, {WINDOW} datagrams in flight each; "
        f"{args.reps} repetitions of {args.seconds:g} s per size, "
        f"configurations alternated; run took "
        f"{time.monotonic() - started:.0f} s",
        "",
        "Medians. datagrams/s and Gbit/s: echoed datagrams per second, "
        "each way, and their payload; relay CPU: of all the relay's "
        "processes, per datagram relayed one way; lost: sent and never "
        "echoed; misdelivered: echoes that reached another flow's socket. "
        "In brackets: v6fwd / that relay (above 1 is better for v6fwd in "
        "datagrams/s and Gbit/s, below 1 in CPU).",
        "",
        table(cfgs, results),
        "",
        "## Targets (issue 15)",
        "",
        targets(results),
    ]
    if missing:
        report += ["", "Not measured (not installed): " + ", ".join(missing)]
    report += ["", "## All samples", "", spread(cfgs, results), ""]
    text = "\n".join(report)
    print(text)
    if args.output != "-":
        with open(args.output, "w") as f:
            f.write(text)
        log(f"bench udp: results written to {os.path.relpath(args.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
