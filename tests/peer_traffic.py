#!/usr/bin/env python3
"""Traffic for the system tests, run inside the guest (tests/system/boot.sh
puts tests/peer*.py there), a mode of tests/peer.py (peer.py traffic CMD):

    traffic backend PORT...        IPv4 echo service on 127.0.0.1:PORT:
        echoes every byte, and after the client's EOF sends "END <n>\\n"
        (n: bytes received) and closes; runs until killed
    traffic wait-listen HOST PORT  waits (bounded) until HOST:PORT accepts
    traffic once PORT [--dst A] [--src A] [--bytes N]
        one connection: sends N bytes, half-closes, expects them back and
        the END line; prints a JSON line; exit 0 when all came back
    traffic many PORT --count N [--dst A] [--src A,B,...] [--bytes N]
        [--at-hold CMD] [--timeout S]
        opens N connections as fast as it can, round-robin over the source
        addresses; each sends its own payload and waits for its echo. A
        connection closed before its echo came back was dropped. With every
        connection still open, runs CMD (its output goes in the report)
        and looks at the pipes of the running v6fwd processes; then each
        served connection sends a second payload, half-closes and must get
        that and the END line. Prints one JSON report.
    traffic idle PORT [--dst A] [--timeout S]
        sends one byte, gets it back, then sends nothing: prints how long
        until the relay ended the connection, and how (eof, rst, timeout)
    traffic latency --count N [--settle GLOB] NAME=[ADDR]:PORT...
        sequential clients, the targets alternating (each round in a
        shuffled order): time from connect()
        to the first reply byte (the client sends one byte first); prints
        one line per target, and the ratio to the first one. With
        --settle, after each client it waits (bounded) until no path
        matches GLOB: the instance's cgroup is gone
    traffic jfields KEY...         journalctl -o json on stdin: prints
        one line per record, the KEYs' values separated by spaces

Every wait is bounded, so nothing can hang a test.
"""
import errno
import glob
import json
import os
import random
import resource
import selectors
import socket
import subprocess
import sys
import time

from peer import comm, family, json_report, pipe_sizes as pid_pipe_sizes
from peer import stream_bytes as payload


def raise_nofile():
    """Floods need more than a login's 1024 descriptors; root may raise
    the hard limit too."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(hard, 65536) if hard != resource.RLIM_INFINITY else hard
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
    except (OSError, ValueError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def end_line(n):
    return b"END %d\n" % n


# ---------------------------------------------------------------- backend

def backend(ports):
    raise_nofile()
    sel = selectors.DefaultSelector()
    for port in ports:
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", port))
        ls.listen(4096)
        ls.setblocking(False)
        sel.register(ls, selectors.EVENT_READ, None)
    print("listening", flush=True)
    while True:
        for key, ev in sel.select():
            if key.data is None:
                try:
                    c, _ = key.fileobj.accept()
                except OSError:
                    continue
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ,
                             {"out": bytearray(), "got": 0, "eof": False})
                continue
            c, st = key.fileobj, key.data
            try:
                if ev & selectors.EVENT_READ and not st["eof"]:
                    b = c.recv(1 << 16)
                    if b:
                        st["got"] += len(b)
                        st["out"] += b
                    else:
                        st["eof"] = True
                        st["out"] += end_line(st["got"])
                if st["out"]:
                    n = c.send(st["out"])
                    del st["out"][:n]
            except BlockingIOError:
                pass
            except OSError:
                sel.unregister(c)
                c.close()
                continue
            if st["eof"] and not st["out"]:
                sel.unregister(c)
                c.close()
                continue
            want = 0 if st["eof"] else selectors.EVENT_READ
            if st["out"]:
                want |= selectors.EVENT_WRITE
            sel.modify(c, want, st)


def wait_listen(host, port, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return 0
        except OSError:
            time.sleep(0.05)
    print("nothing listens on %s:%d after %.0f s" % (host, port, timeout))
    return 1


# ---------------------------------------------------------------- once

def once(port, dst, src, nbytes, timeout=20.0):
    data = payload(port * 7919 + nbytes, nbytes)
    s = socket.socket(family(dst), socket.SOCK_STREAM)
    s.settimeout(timeout)
    rep = {"ok": False}
    try:
        if src:
            s.bind((src, 0))
        s.connect((dst, port))
        rep["client_port"] = s.getsockname()[1]
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        got = bytearray()
        while True:
            b = s.recv(1 << 16)
            if not b:
                break
            got += b
        want = data + end_line(nbytes)
        rep["received"] = len(got)
        rep["ok"] = bytes(got) == want
        if not rep["ok"]:
            rep["why"] = "got %d bytes, not the %d expected" % (
                len(got), len(want))
    except OSError as e:
        rep["why"] = str(e)
    finally:
        s.close()
    return json_report(rep, rep["ok"])


# ---------------------------------------------------------------- many

class Conn:
    __slots__ = ("i", "src", "sock", "want", "out", "got", "state", "phase",
                 "how")

    def __init__(self, i, src, sock, data):
        self.i, self.src, self.sock = i, src, sock
        self.want = data
        self.out = bytearray(data)
        self.got = bytearray()
        self.state = "connecting"
        self.phase = 1
        self.how = None


def pipe_sizes():
    """F_GETPIPE_SZ of every pipe fd the running v6fwd processes hold."""
    sizes = {}
    procs = 0
    for pid in os.listdir("/proc"):
        # A per-connection instance, or a server's connection.
        if not pid.isdigit() or comm(pid) not in ("v6fwd", "v6fwd-conn"):
            continue
        procs += 1
        for sz in pid_pipe_sizes(pid, each_pipe_once=False):
            sizes[sz] = sizes.get(sz, 0) + 1
    return procs, {str(k): v for k, v in sorted(sizes.items())}


def pump(sel, conns, timeout):
    """Runs the state machines until none is active or time is up."""
    deadline = time.monotonic() + timeout
    active = sum(1 for c in conns if c.state in ("connecting", "busy"))
    while active and time.monotonic() < deadline:
        for key, ev in sel.select(timeout=0.2):
            c = key.data
            before = c.state
            step(sel, c, ev)
            if c.state != before and c.state not in ("connecting", "busy"):
                active -= 1


def step(sel, c, ev):
    s = c.sock
    try:
        if c.state == "connecting":
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                raise OSError(err, os.strerror(err))
            c.state = "busy"
        if ev & selectors.EVENT_WRITE and c.out:
            n = s.send(c.out)
            del c.out[:n]
            if not c.out and c.phase == 2:
                s.shutdown(socket.SHUT_WR)
        if ev & selectors.EVENT_READ:
            b = s.recv(1 << 16)
            if not b:
                if c.phase == 2 and bytes(c.got) == c.want:
                    c.state = "finished"
                elif not c.got and c.phase == 1:
                    c.state, c.how = "dropped", "eof"
                else:
                    c.state = "bad"
                sel.unregister(s)
                return
            c.got += b
            if len(c.got) > len(c.want) or \
                    c.got != c.want[:len(c.got)]:
                c.state = "bad"
                sel.unregister(s)
                return
            if c.phase == 1 and len(c.got) == len(c.want):
                c.state = "served"
                sel.unregister(s)
                return
    except BlockingIOError:
        pass
    except OSError as e:
        if c.phase == 1 and not c.got and e.errno in (
                errno.ECONNRESET, errno.EPIPE, errno.ECONNREFUSED):
            c.state, c.how = "dropped", errno.errorcode[e.errno].lower()
        else:
            c.state = "bad"
        sel.unregister(s)
        return
    want = selectors.EVENT_READ
    if c.out or c.state == "connecting":
        want |= selectors.EVENT_WRITE
    sel.modify(s, want, c)


def many(port, count, dst, srcs, nbytes, at_hold, timeout):
    raise_nofile()
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and count + 64 > soft:
        print(json.dumps({"error": "%d connections need more than the %d "
                          "file descriptors allowed (ulimit -n)" %
                          (count, soft)}))
        return 1
    sel = selectors.DefaultSelector()
    conns = []
    t0 = time.monotonic()
    for i in range(count):
        src = srcs[i % len(srcs)] if srcs else None
        s = socket.socket(family(dst), socket.SOCK_STREAM)
        s.setblocking(False)
        if src:
            s.bind((src, 0))
        c = Conn(i, src, s, payload(i, nbytes))
        try:
            s.connect((dst, port))
        except BlockingIOError:
            pass
        except OSError as e:
            c.state, c.how = "dropped", "connect: %s" % e.strerror
            s.close()
            conns.append(c)
            continue
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
        conns.append(c)
    opened = time.monotonic() - t0
    pump(sel, conns, timeout)
    phase1 = time.monotonic() - t0

    rep = {"count": count, "opened_s": round(opened, 3),
           "phase1_s": round(phase1, 3)}
    by_src = {}
    for c in conns:
        d = by_src.setdefault(c.src or dst, {})
        d[c.state] = d.get(c.state, 0) + 1
    rep["by_source"] = by_src
    for st in ("served", "dropped", "bad", "busy", "connecting"):
        rep[st] = sum(1 for c in conns if c.state == st)
    how = {}
    for c in conns:
        if c.how:
            how[c.how] = how.get(c.how, 0) + 1
    rep["dropped_how"] = how
    # Every served connection is open now: its instance is running.
    if at_hold:
        r = subprocess.run(at_hold, shell=True, capture_output=True,
                           text=True, timeout=60)
        rep["at_hold"] = r.stdout.strip()
    rep["v6fwd_processes"], rep["pipe_sizes"] = pipe_sizes()

    served = [c for c in conns if c.state == "served"]
    for c in served:
        more = payload(c.i + 1000003, nbytes)
        c.phase, c.state = 2, "busy"
        c.out = bytearray(more)
        c.want = c.want + more + end_line(2 * nbytes)
        sel.register(c.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
    pump(sel, served, timeout)
    rep["finished"] = sum(1 for c in served if c.state == "finished")
    rep["finish_failed"] = len(served) - rep["finished"]
    rep["total_s"] = round(time.monotonic() - t0, 3)
    for c in conns:
        c.sock.close()
    print(json.dumps(rep, sort_keys=True))
    return 0


def idle(port, dst, timeout):
    s = socket.socket(family(dst), socket.SOCK_STREAM)
    s.settimeout(5)
    rep = {"how": "error"}
    try:
        s.connect((dst, port))
        s.sendall(b"x")
        if s.recv(1) != b"x":
            raise OSError("no echo")
        t0 = time.monotonic()
        s.settimeout(timeout)
        try:
            rep["how"] = "eof" if not s.recv(1) else "data"
        except ConnectionResetError:
            rep["how"] = "rst"
        except socket.timeout:
            rep["how"] = "timeout"
        rep["after_s"] = round(time.monotonic() - t0, 3)
    except OSError as e:
        rep["why"] = str(e)
    finally:
        s.close()
    print(json.dumps(rep))
    return 0


# ---------------------------------------------------------------- latency

def one_sample(addr, port, timeout=10.0):
    s = socket.socket(family(addr), socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        t0 = time.monotonic()
        s.connect((addr, port))
        s.sendall(b"x")
        if s.recv(1) != b"x":
            return None
        dt = time.monotonic() - t0
        s.shutdown(socket.SHUT_WR)
        while s.recv(4096):
            pass
        return dt
    except OSError:
        return None
    finally:
        s.close()


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def init_scope_busy():
    """PID 1 forks helpers into init.scope to finish a stop (removing a
    PrivateTmp= directory, say): they count as part of the last instance."""
    try:
        with open("/sys/fs/cgroup/init.scope/cgroup.procs") as f:
            return len(f.read().split()) > 1
    except OSError:
        return False


def settle(pattern, timeout=5.0):
    """Waits until no cgroup matches: the last instance is gone."""
    deadline = time.monotonic() + timeout
    while glob.glob(pattern) or init_scope_busy():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


def latency(count, targets, settle_glob=None, gap=0.0):
    parsed = []
    for t in targets:
        name, ap = t.split("=", 1)
        addr, port = ap.rsplit(":", 1)
        parsed.append((name, addr.strip("[]"), int(port)))
    samples = {name: [] for name, _, _ in parsed}
    failed = {name: 0 for name, _, _ in parsed}
    unsettled = 0
    # Each round in its own order, so that no configuration always comes
    # right after the same other one.
    rng = random.Random(1)
    order = list(parsed)
    for _ in range(count):
        rng.shuffle(order)
        for name, addr, port in order:
            dt = one_sample(addr, port)
            if settle_glob and not settle(settle_glob):
                unsettled += 1
            if gap:
                time.sleep(gap)
            if dt is None:
                failed[name] += 1
            else:
                samples[name].append(dt * 1000)
    base = None
    for name, _, _ in parsed:
        v = samples[name]
        if not v:
            print("%-28s no successful connection (%d failed)" %
                  (name, failed[name]))
            continue
        p50, p90 = pct(v, 50), pct(v, 90)
        if base is None:
            base = p50
        print("%-28s p50 %7.2f ms  p90 %7.2f ms  n %4d  failed %d  "
              "x%.2f" % (name, p50, p90, len(v), failed[name], p50 / base))
    if unsettled:
        print("# %d times an instance was still there 5 s after its "
              "connection" % unsettled)
    return 0 if not any(failed.values()) else 1


# ---------------------------------------------------------------- jfields

def jfields(keys):
    for line in sys.stdin:
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        print(" ".join(str(rec.get(k, "-")) for k in keys))
    return 0


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="peer.py traffic")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("backend")
    p.add_argument("ports", type=int, nargs="+")
    p = sub.add_parser("wait-listen")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--timeout", type=float, default=20.0)
    p = sub.add_parser("once")
    p.add_argument("port", type=int)
    p.add_argument("--dst", default="::1")
    p.add_argument("--src")
    p.add_argument("--bytes", type=int, default=100000)
    p = sub.add_parser("many")
    p.add_argument("port", type=int)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--dst", default="::1")
    p.add_argument("--src", default="")
    p.add_argument("--bytes", type=int, default=1000)
    p.add_argument("--at-hold")
    p.add_argument("--timeout", type=float, default=120.0)
    p = sub.add_parser("idle")
    p.add_argument("port", type=int)
    p.add_argument("--dst", default="::1")
    p.add_argument("--timeout", type=float, default=15.0)
    p = sub.add_parser("latency")
    p.add_argument("--count", type=int, default=200)
    p.add_argument("--settle")
    p.add_argument("--gap", type=float, default=0.0)
    p.add_argument("targets", nargs="+")
    p = sub.add_parser("jfields")
    p.add_argument("keys", nargs="+")
    a = ap.parse_args(argv)
    if a.cmd == "backend":
        return backend(a.ports)
    if a.cmd == "wait-listen":
        return wait_listen(a.host, a.port, a.timeout)
    if a.cmd == "once":
        return once(a.port, a.dst, a.src, a.bytes)
    if a.cmd == "many":
        srcs = [x for x in a.src.split(",") if x]
        return many(a.port, a.count, a.dst, srcs, a.bytes, a.at_hold,
                    a.timeout)
    if a.cmd == "idle":
        return idle(a.port, a.dst, a.timeout)
    if a.cmd == "latency":
        return latency(a.count, a.targets, a.settle, a.gap)
    return jfields(a.keys)

