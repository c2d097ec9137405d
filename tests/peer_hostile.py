#!/usr/bin/env python3
"""Misbehaving peers for the robustness tests (tests/4N-*.sh), a mode of
tests/peer.py:

    peer.py hostile SCENARIO --port P --activator PID [--served]
        [--idle SECONDS]

Plays both ends in one process: the IPv4 backend on 127.0.0.1:P and the
IPv6 client on [::1]:P, through a v6fwd already started by the test under
systemd-socket-activate (PID) on that port. Being both ends, it knows what
each sent and received, and it watches the v6fwd instance from outside:
CPU time (utime+stime in /proc/PID/stat), resident memory, open fds, and
when it exits. Prints one line per finding, "ok: ..." or "BAD: ...", and
exits 0 only when every finding is ok. Every wait is bounded.
"""
import argparse
import os
import random
import select
import signal
import socket
import threading
import time

import peer
from peer import Stream, alive, comm, rst_close, stream_bytes

TICK = os.sysconf("SC_CLK_TCK")
BAD = []


def say(ok, what):
    print(("ok: " if ok else "BAD: ") + what, flush=True)
    if not ok:
        BAD.append(what)


# --- the instance, seen from outside -----------------------------------------

SERVED = False  # --served: the activator is a v6fwd server, see instances()


def children(ppid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        if int(st.rsplit(")", 1)[1].split()[1]) == ppid:
            out.append(int(d))
    return out


def instances(activator):
    """The processes relaying a connection: the activator's children, or,
    when it is a v6fwd server, those of its children that are serving one
    (v6fwd-conn; the idle ones wait as v6fwd-idle)."""
    kids = children(activator)
    if SERVED:
        kids = [k for k in kids if comm(k) == "v6fwd-conn"]
    return kids


def find_instance(activator, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        kids = instances(activator)
        if kids:
            return kids[0]
        time.sleep(0.02)
    return None


def cpu_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            f = f.read().rsplit(")", 1)[1].split()
        return int(f[11]) + int(f[12])
    except OSError:
        return None


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def wait_exit(pid, timeout):
    """Seconds until pid exits, or None if it outlives timeout."""
    t = time.monotonic()
    while time.monotonic() - t < timeout:
        if not alive(pid):
            return time.monotonic() - t
        time.sleep(0.02)
    return None


class CpuMeter:
    """CPU time of the instance over a span of wall time, as a percentage."""

    def __init__(self, pid):
        self.pid = pid
        self.c0 = cpu_ticks(pid)
        self.t0 = time.monotonic()

    def percent(self):
        c = cpu_ticks(self.pid)
        if c is None or self.c0 is None:
            return None
        wall = time.monotonic() - self.t0
        return 100.0 * (c - self.c0) / TICK / wall, wall


def check_cpu(meter, what, limit=5.0):
    r = meter.percent()
    if r is None:
        say(False, f"{what}: the instance exited before CPU could be read")
        return
    pct, wall = r
    say(pct < limit, f"{what}: instance CPU {pct:.1f}% of {wall:.1f} s "
        f"(limit {limit:.0f}%)")


# --- the two ends -------------------------------------------------------------

SIOCINQ, SIOCOUTQ = 0x541B, 0x5411


def sock_queue(s, req):
    import array
    import fcntl
    b = array.array("i", [0])
    try:
        fcntl.ioctl(s.fileno(), req, b, True)
    except OSError:
        return None
    return b[0]


def acked_by_peer(s, timeout=5.0):
    """Waits (bounded) until s's send queue stops shrinking, and returns
    what is still unacknowledged in it."""
    end = time.monotonic() + timeout
    last, since = sock_queue(s, SIOCOUTQ), time.monotonic()
    while last and time.monotonic() < end and time.monotonic() - since < 0.5:
        time.sleep(0.02)
        q = sock_queue(s, SIOCOUTQ)
        if q != last:
            last, since = q, time.monotonic()
    return last or 0


RECORD = r": ([^:;]*); (\d+) bytes from client, (\d+) bytes from target" \
    r"(?:, (\d+) bytes undelivered)?"


def records(args):
    """The connection records in the relay's log (--log) so far, each as
    (how it ended, bytes from client, from target, undelivered)."""
    import re
    if not args.log:
        return []
    with open(args.log, errors="replace") as f:
        return [(m.group(1), int(m.group(2)), int(m.group(3)),
                 int(m.group(4) or 0)) for m in map(re.compile(RECORD).search, f) if m]


def new_record(args, before):
    """The record after the first 'before' ones, waited for (bounded)."""
    end = time.monotonic() + 5
    while time.monotonic() < end:
        recs = records(args)
        if len(recs) > before:
            return recs[before]
        time.sleep(0.05)
    return None


def ends(args, backend_rcvbuf=0, client_rcvbuf=0, client_mss=0):
    """Listens as the backend, connects as the client; returns both ends."""
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if backend_rcvbuf:
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, backend_rcvbuf)
    ls.bind(("127.0.0.1", args.port))
    ls.listen(8)
    c = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    if client_rcvbuf:
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, client_rcvbuf)
    if client_mss:
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, client_mss)
    c.settimeout(10)
    c.connect(("::1", args.port))
    ls.settimeout(10)
    b, _ = ls.accept()
    ls.close()
    b.settimeout(10)
    pid = find_instance(args.activator)
    if pid is None:
        raise SystemExit("BAD: no v6fwd instance appeared")
    return c, b, pid


def read_end(s, timeout=10.0, keep=None):
    """Reads to the end: returns (bytes, 'eof' | 'rst' | 'timeout')."""
    n = 0
    s.settimeout(timeout)
    try:
        while True:
            b = s.recv(1 << 16)
            if not b:
                return n, "eof"
            if keep:
                keep.check(b)
            n += len(b)
    except ConnectionResetError:
        return n, "rst"
    except socket.timeout:
        return n, "timeout"


def fill(s, limit=256 << 20, quiet=1.0, seed=1):
    """Sends without blocking until the peer stops taking bytes for 'quiet'
    seconds (back-pressure) or limit is reached; returns the count."""
    s.setblocking(False)
    src = Stream(seed)
    sent, last = 0, time.monotonic()
    chunk = src.take(65536)
    while sent < limit and time.monotonic() - last < quiet:
        try:
            n = s.send(chunk)
            sent += n
            chunk = chunk[n:] or src.take(65536)
            last = time.monotonic()
        except BlockingIOError:
            select.select([], [s], [], 0.05)
    s.setblocking(True)
    return sent


# --- scenarios ----------------------------------------------------------------

def sc_backpressure(args):
    """The backend pushes up to 1 GiB; the client reads 4 KiB every 0.5 s.
    Its MSS and buffer are an Internet client's, not loopback's (64 KiB
    segments, megabytes of buffer), so that bytes keep trickling on the
    wire while it reads: what the idle timeout must tell from silence."""
    c, b, pid = ends(args, client_rcvbuf=65536, client_mss=1400)
    stop = threading.Event()

    def push():
        src = Stream(2)
        try:
            for _ in range((1 << 30) // 65536):
                if stop.is_set():
                    break
                b.sendall(src.take(65536))
        except OSError:
            pass
    b.settimeout(None)
    t = threading.Thread(target=push, daemon=True)
    t.start()
    time.sleep(1.0)     # let every buffer on the way fill
    keep = Stream(2)
    meter = CpuMeter(pid)
    rss = []
    died = False
    end = time.monotonic() + args.seconds
    c.settimeout(5)
    while time.monotonic() < end:
        try:
            d = c.recv(args.chunk)
        except ConnectionResetError:
            died = True
            break
        if not d:
            died = True
            break
        keep.check(d)
        rss.append(rss_kib(pid))
        time.sleep(0.5)
    rate = keep.n / args.seconds
    say(not died and alive(pid), f"slow reader ({rate / 1024:.1f} KiB/s) "
        f"kept for {args.seconds:.0f} s" + (f" with --idle-timeout="
        f"{args.idle:g}s" if args.idle else ""))
    check_cpu(meter, "blocked on a slow reader")
    rss = [r for r in rss if r is not None]
    if rss:
        say(max(rss) - min(rss) <= 256, f"RSS flat: {min(rss)} to "
            f"{max(rss)} KiB over {len(rss)} samples")
    say(keep.ok, f"{keep.n} bytes received, intact")
    if args.idle:
        # The reader stops: nothing moves any more, so the timeout ends it.
        gone = wait_exit(pid, args.idle + 10)
        say(gone is not None and gone >= args.idle - 0.1,
            f"reader stopped: instance ended after "
            f"{gone if gone is None else round(gone, 2)} s "
            f"(idle timeout {args.idle:g} s)")
        n, how = read_end(c, keep=keep)
        say(how == "rst" and keep.ok, f"client then read {n} more bytes, "
            f"intact, and a {how} (the stream was cut)")
    stop.set()
    rst_close(c)
    b.close()


def sc_silent(args):
    """A client that connects and sends nothing."""
    t0 = time.monotonic()    # the relay's idle clock cannot start earlier
    c, b, pid = ends(args)
    meter = CpuMeter(pid)
    time.sleep(args.idle * 0.75)     # measured before the timeout ends it
    check_cpu(meter, "waiting on a silent client")
    n, how = read_end(c, timeout=args.idle + 10)
    took = time.monotonic() - t0
    say(how == "rst" and n == 0 and args.idle - 0.1 <= took,
        f"silent client: {how} after {took:.2f} s, {n} bytes "
        f"(idle timeout {args.idle:g} s)")
    n, how = read_end(b, timeout=5)
    say(n == 0 and how == "rst", f"backend saw {n} bytes, then {how}")


def sc_trickle(args):
    """A client that sends one byte every second, then stops."""
    c, b, pid = ends(args)
    meter = CpuMeter(pid)
    sent = b""
    for i in range(int(args.seconds)):
        ch = bytes([0x41 + i % 26])
        c.sendall(ch)
        sent += ch
        time.sleep(1.0)
    say(alive(pid), f"1 byte/s client alive after {len(sent)} s "
        f"(idle timeout {args.idle:g} s: bytes are traffic)")
    check_cpu(meter, "relaying a 1-byte/s client")
    got = b""
    b.settimeout(2)
    try:
        while len(got) < len(sent):
            d = b.recv(100)
            if not d:
                break
            got += d
    except OSError:
        pass
    if args.term:
        # RuntimeMaxSec= as systemd applies it: SIGTERM, then both reset.
        os.kill(pid, signal.SIGTERM)
        gone = wait_exit(pid, 5)
        say(gone is not None, f"SIGTERM (RuntimeMaxSec=) ended it in "
            f"{gone if gone is None else round(gone, 2)} s")
    else:
        gone = wait_exit(pid, args.idle + 10)
        say(gone is not None and gone >= args.idle - 1.1,
            f"client stopped: ended after "
            f"{gone if gone is None else round(gone, 2)} s")
    n, how = read_end(c, timeout=5)
    say(how == "rst" and n == 0, f"client got {n} bytes and a {how}")
    n, how = read_end(b, timeout=5)
    say(got == sent and n == 0 and how == "rst",
        f"backend got exactly the {len(got)} bytes sent "
        f"({got!r}), then {n} more and a {how}")


def sc_never_read(args):
    """A backend that accepts and never reads."""
    c, b, pid = ends(args, backend_rcvbuf=65536)
    sent = fill(c)
    say(sent < 256 << 20, f"back-pressure: client blocked after "
        f"{sent / 1048576:.1f} MiB")
    t0 = time.monotonic()
    meter = CpuMeter(pid)
    time.sleep(0.7)     # the fill waited 1 s for the stall already
    check_cpu(meter, "client blocked by a never-reading backend")
    gone = wait_exit(pid, args.idle + 10)
    took = time.monotonic() - t0
    say(gone is not None and took >= args.idle - 1.2,
        f"idle timeout ended it {took:.2f} s after the client blocked "
        f"(idle timeout {args.idle:g} s)")
    n, how = read_end(c, timeout=5)
    say(how == "rst", f"client (whose bytes were lost) got a {how}")


def sc_reset_mid(args):
    """The backend resets mid-stream while the client reads slowly."""
    c, b, pid = ends(args, client_rcvbuf=65536)
    sent = fill(b, limit=32 << 20, quiet=0.5, seed=2)
    rst_close(b)
    keep = Stream(2)
    time.sleep(0.5)
    meter = CpuMeter(pid)
    for _ in range(20):     # 2 s reading 8 KiB every 0.1 s
        d = c.recv(8192)
        keep.check(d)
        time.sleep(0.1)
    check_cpu(meter, "target reset, client reading slowly")
    n, how = read_end(c, keep=keep)
    say(how == "rst" and keep.ok and keep.n <= sent,
        f"client got {keep.n} of {sent} bytes, intact, then a {how}")
    gone = wait_exit(pid, 5)
    say(gone is not None, "instance exited")


def sc_accept_close(args):
    """The backend closes at once; with --data the client had sent bytes."""
    c, b, pid = ends(args)
    if args.data:
        c.sendall(b"x" * args.data)
        time.sleep(0.2)
    b.close()
    t0 = time.monotonic()
    n, how = read_end(c, timeout=5)
    took = time.monotonic() - t0
    if args.data:
        if how == "eof":
            # The FIN may come first; the lost bytes must still end in RST.
            try:
                c.sendall(b"y")
                time.sleep(0.3)
                n2, how = read_end(c, timeout=5)
            except OSError:
                how = "rst"
        say(how == "rst", f"{args.data} bytes lost: client got a {how} "
            f"in {took:.2f} s")
    else:
        say(how == "eof", f"nothing lost: client got a {how} in {took:.2f} s")
        c.close()
    gone = wait_exit(pid, 5)
    say(gone is not None, "instance exited")


def sc_half_idle(args):
    """Idle half-closed connections: each side's EOF, then nothing moves."""
    for first in ("client", "backend"):
        c, b, pid = ends(args)
        closer, other = (c, b) if first == "client" else (b, c)
        second = "backend" if first == "client" else "client"
        closer.shutdown(socket.SHUT_WR)
        n, how = read_end(other, timeout=2)
        say(how == "eof", f"{first}'s FIN reached the {second} ({how})")
        meter = CpuMeter(pid)
        time.sleep(2.0)
        check_cpu(meter, f"{first} half-closed, both idle")
        other.sendall(b"late bytes")
        other.shutdown(socket.SHUT_WR)
        n, how = read_end(closer)
        say(n == 10 and how == "eof",
            f"{second}'s bytes after 2 s: {n}, {how}")
        gone = wait_exit(pid, 5)
        say(gone is not None, "instance exited")


def read_for(s, seconds):
    """Whatever arrives within 'seconds', and how the wait ended."""
    got = b""
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            s.settimeout(max(end - time.monotonic(), 0.01))
            d = s.recv(1 << 16)
            if not d:
                return got, "eof"
            got += d
    except socket.timeout:
        pass
    except ConnectionResetError:
        return got, "rst"
    return got, "timeout"


def sc_urgent(args):
    """Urgent data (send(MSG_OOB), as telnet's Synch and FTP's ABOR send
    it), each way: 1000 bytes, one urgent byte, 1000 bytes; then a burst
    of three urgent bytes in a row. splice() stops at the urgent mark while
    poll() keeps saying readable: the relay must not spin there, and every
    byte must arrive, in order, the urgent ones inline; the record counts
    them all and ends with FIN."""
    for first in ("client", "backend"):
        before = len(records(args))
        c, b, pid = ends(args)
        snd, rcv = (c, b) if first == "client" else (b, c)
        second = "backend" if first == "client" else "client"
        want = b"a" * 1000 + b"!" + b"b" * 1000
        meter = CpuMeter(pid)
        snd.sendall(b"a" * 1000)
        snd.send(b"!", socket.MSG_OOB)
        snd.sendall(b"b" * 1000)
        got, _ = read_for(rcv, 1.5)
        check_cpu(meter, f"{first} sent urgent data")
        say(got == want, f"{first}'s 1000 + 1 urgent + 1000 bytes: the "
            f"{second} got {len(got)} bytes" + (", in order, the urgent "
            "one inline" if got == want else f" ({got[995:1006]!r}...)"))
        burst = b"x" + b"1" + b"2" + b"3" + b"y"
        snd.sendall(b"x")
        for ch in (b"1", b"2", b"3"):
            snd.send(ch, socket.MSG_OOB)
        snd.sendall(b"y")
        snd.shutdown(socket.SHUT_WR)
        rest, how = read_for(rcv, 5)
        say(rest == burst and how == "eof", f"then 3 urgent bytes in a "
            f"row and a FIN: {rest[:20]!r}{'...' if len(rest) > 20 else ''}"
            f" ({len(rest)} bytes), {how}")
        rcv.sendall(b"reply")
        rcv.shutdown(socket.SHUT_WR)
        back, how = read_for(snd, 5)
        say(back == b"reply" and how == "eof",
            f"the {second}'s reply after it: {back!r}, {how}")
        gone = wait_exit(pid, 5)
        say(gone is not None, "instance exited")
        rec = new_record(args, before)
        if args.log:
            total = len(want) + len(burst)
            fc, ft = (total, 5) if first == "client" else (5, total)
            say(rec is not None and rec[1:] == (fc, ft, 0) and
                "(FIN)" in rec[0], f"record: {rec}")
        c.close()
        b.close()
    # Both ways at once, 4 MiB each with an urgent byte every 32 KiB or so,
    # to readers that pause: the relay meets marks with full pipes.
    before = len(records(args))
    c, b, pid = ends(args)
    size = 4 << 20
    result = {}

    def sender(sock, seed):
        rng = random.Random(seed + 100)
        data = stream_bytes(seed, size)
        off = 0
        try:
            while off < size:
                k = min(rng.randint(1, 65536), size - off)
                if rng.random() < 0.5:
                    sock.send(data[off:off + 1], socket.MSG_OOB)
                    off += 1
                    k -= 1
                sock.sendall(data[off:off + k])
                off += k
            sock.shutdown(socket.SHUT_WR)
        except OSError as e:
            result[seed] = e

    def reader(sock, seed, name):
        keep = Stream(seed)
        n = 0
        sock.settimeout(20)
        try:
            while True:
                d = sock.recv(1 << 16)
                if not d:
                    break
                keep.check(d)
                n += len(d)
                if n % (1 << 18) < len(d):
                    time.sleep(0.02)
        except OSError as e:
            result[name] = e
        result[name] = (keep.n, keep.ok)
    threads = [threading.Thread(target=sender, args=(c, 21)),
               threading.Thread(target=sender, args=(b, 22)),
               threading.Thread(target=reader, args=(b, 21, "backend")),
               threading.Thread(target=reader, args=(c, 22, "client"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    ok = all(result.get(n) == (size, True) for n in ("backend", "client"))
    say(ok, f"4 MiB each way at once, urgent bytes throughout, paused "
        f"readers: {result}")
    gone = wait_exit(pid, 5)
    say(gone is not None, "instance exited")
    rec = new_record(args, before)
    if args.log:
        say(rec is not None and rec[1:] == (size, size, 0),
            f"record: {rec}")
    c.close()
    b.close()


def sc_reset_drain(args):
    """The backend sends --data bytes, waits until v6fwd's host has
    acknowledged them, and resets, while the client does not read. v6fwd
    must hold the bytes (without spinning) and pass the RST on only once
    the client has them all: it reads after a pause and must get every
    acknowledged byte, then the RST; the record counts them as delivered.
    With --stop the client reads 100 KB and then stops: the drain gives up
    after the idle timeout (--idle), or at once on SIGTERM (--term), and
    the record counts as undelivered exactly what the client never got."""
    before = len(records(args))
    c, b, pid = ends(args, client_rcvbuf=65536)
    data = stream_bytes(3, args.data)
    b.settimeout(10)
    b.sendall(data)
    unacked = acked_by_peer(b)
    acked = len(data) - unacked
    rst_close(b)
    t_rst = time.monotonic()
    meter = CpuMeter(pid)
    time.sleep(1.5)
    check_cpu(meter, f"target reset with {acked} bytes acknowledged by "
              f"v6fwd, client not reading")
    say(alive(pid), "the instance holds them for the client")
    keep = Stream(3)
    if args.stop:
        c.settimeout(5)
        try:
            while keep.n < 100000:
                keep.check(c.recv(min(8192, 100000 - keep.n)))
        except OSError:
            pass
        if args.term:
            time.sleep(0.5)
            os.kill(pid, signal.SIGTERM)
            gone = wait_exit(pid, 5)
            say(gone is not None and gone < 1.0, f"SIGTERM during the "
                f"drain ended it in "
                f"{gone if gone is None else round(gone, 3)} s")
        else:
            gone = wait_exit(pid, args.idle + 10)
            say(gone is not None and gone >= args.idle - 0.2,
                f"client stopped reading after {keep.n} bytes: the drain "
                f"gave up {gone if gone is None else round(gone, 2)} s "
                f"later (idle timeout {args.idle:g} s)")
        n, how = read_end(c, keep=keep)
        say(how == "rst" and keep.ok, f"client then read the {n} bytes "
            f"left in its buffer, intact, and a {how}: {keep.n} of {acked}")
        rec = new_record(args, before)
        say(rec is not None and rec[2] == keep.n and
            rec[2] + rec[3] == acked, f"record: {rec}: {keep.n} bytes "
            f"from the target delivered, {acked - keep.n} undelivered")
    else:
        n, how = read_end(c, keep=keep)
        say(how == "rst" and keep.ok and n == acked,
            f"client got {n} of the {acked} bytes v6fwd acknowledged "
            f"({len(data)} sent), intact, then a {how}, "
            f"{time.monotonic() - t_rst:.2f} s after the target's reset")
        gone = wait_exit(pid, 5)
        say(gone is not None, "instance exited")
        rec = new_record(args, before)
        say(rec is not None and rec[2] == acked and rec[3] == 0 and
            "target reset the connection" in rec[0],
            f"record: {rec}")
    c.close()


def sc_both_reset(args):
    """The backend resets while v6fwd still holds bytes of its for a client
    that does not read; half a second later the client reads a little and
    resets too. Twice: with v6fwd's buffers full (it has not read the
    backend's last bytes, nor so its reset, when the client's comes), and
    with 1 MiB that v6fwd took in full. The record must name the target's
    reset as the cause and the client's as what followed, in that order."""
    for what in ("buffers full", "1 MiB taken in full"):
        before = len(records(args))
        c, b, pid = ends(args, client_rcvbuf=65536)
        if what == "buffers full":
            sent = fill(b, limit=32 << 20, quiet=0.5, seed=2)
        else:
            b.sendall(stream_bytes(2, 1 << 20))
            sent = (1 << 20) - acked_by_peer(b)
        rst_close(b)
        time.sleep(0.5)
        got = c.recv(65536)
        time.sleep(0.3)
        rst_close(c)
        gone = wait_exit(pid, 5)
        say(gone is not None, f"{what}: instance exited (target sent "
            f"{sent}, client read {len(got)} and reset)")
        rec = new_record(args, before)
        say(rec is not None and rec[0].startswith(
            "target reset the connection (Connection reset by peer), then "
            "the client too ("), f"{what}: record: {rec}")


def fd_kinds(pid):
    """The instance's open fds, as {fd: 'socket' | 'pipe' | other target}."""
    out = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            t = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        out[int(fd)] = t.split(":")[0] if t[:5] in ("socke", "pipe:") else t
    return out


def sc_many(args):
    """Holds --count connections at once, each echoing --data bytes of its
    own stream; checks every instance's fds, then releases them all."""
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", args.port))
    ls.listen(4096)
    eofs = []

    def echo(conn):
        try:
            peer.echo_to_eof(conn)
            eofs.append(1)
        except OSError:
            pass
        finally:
            conn.close()

    def acceptor():
        while True:
            try:
                conn, _ = ls.accept()
            except OSError:
                return
            threading.Thread(target=echo, args=(conn,), daemon=True).start()
    threading.Thread(target=acceptor, daemon=True).start()

    clients = []
    t0 = time.monotonic()
    for i in range(args.count):
        c = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        c.settimeout(30)
        c.connect(("::1", args.port))
        clients.append(c)
    # Every connection echoes its own stream: all of it, nothing else.
    size = args.data
    for i, c in enumerate(clients):
        c.sendall(stream_bytes(1000 + i, size))
    intact = 0
    for i, c in enumerate(clients):
        want = stream_bytes(1000 + i, size)
        got = b""
        while len(got) < size:
            d = c.recv(1 << 16)
            if not d:
                break
            got += d
        intact += got == want
    say(intact == args.count, f"{args.count} connections held at once, "
        f"{intact} echoed {size} bytes intact "
        f"({time.monotonic() - t0:.1f} s)")

    pids = instances(args.activator)
    say(len(pids) == args.count, f"{len(pids)} instances running")
    # Exactly: stdin, stdout, stderr, the two sockets, two pipes (4 ends);
    # numbered 0-8 when exec'd per connection (a server's child keeps the
    # numbers its fds had in the server).
    wrong = []
    for pid in pids:
        k = fd_kinds(pid)
        socks = sum(1 for v in k.values() if v == "socket")
        pipes = sum(1 for v in k.values() if v == "pipe")
        if (len(k) != 9 or not SERVED and sorted(k) != list(range(9)) or
                socks != 2 or pipes != 4):
            wrong.append((pid, sorted(k.items())))
    say(not wrong, "every instance has exactly 9 fds: 0-2, 2 sockets, "
        "4 pipe ends" + (f"; first wrong: {wrong[0]}" if wrong else ""))
    if args.pipes:
        sizes = {}
        for pid in pids:
            for sz in peer.pipe_sizes(pid):
                sizes[sz] = sizes.get(sz, 0) + 1
        small = sum(n for sz, n in sizes.items() if sz < 65536)
        say(small > 0, "pipes past the per-user budget get 2 pages: "
            + ", ".join(f"{n} of {sz // 1024} KiB" for sz, n in
                        sorted(sizes.items())))
        # Pipes are handed out in order: the last connections got the
        # small ones. A bigger load through them, both ways at once.
        big = 4 << 20
        ok = 0
        for i, c in enumerate(clients[-args.pipes:]):
            data = stream_bytes(5000 + i, big)
            got = []

            def reader(sock=c, out=got):
                n = 0
                while n < big:
                    d = sock.recv(1 << 16)
                    if not d:
                        break
                    out.append(d)
                    n += len(d)
            t = threading.Thread(target=reader)
            t.start()
            c.sendall(data)
            t.join(60)
            ok += b"".join(got) == data
        say(ok == args.pipes, f"{ok} of {args.pipes} small-pipe connections "
            f"relayed 4 MiB each way intact")

    # Release: each client sends its FIN; every instance must exit.
    for c in clients:
        c.shutdown(socket.SHUT_WR)
    ends = {"eof": 0}
    for c in clients:
        n, how = read_end(c, timeout=30)
        ends[how] = ends.get(how, 0) + 1
        c.close()
    say(ends["eof"] == args.count, f"released: client ends {ends}")
    t1 = time.monotonic()
    left = pids
    while left and time.monotonic() - t1 < 60:
        left = [p for p in left if alive(p)]
        time.sleep(0.1)
    say(not left, f"every instance exited ({len(left)} left after "
        f"{time.monotonic() - t1:.1f} s)")
    say(len(eofs) == args.count, f"the backend saw {len(eofs)} clean EOFs")
    ls.close()


SCENARIOS = {
    "backpressure": sc_backpressure, "silent": sc_silent,
    "trickle": sc_trickle, "never-read": sc_never_read,
    "reset-mid": sc_reset_mid, "accept-close": sc_accept_close,
    "half-idle": sc_half_idle, "many": sc_many, "urgent": sc_urgent,
    "reset-drain": sc_reset_drain, "both-reset": sc_both_reset,
}


def main(argv):
    p = argparse.ArgumentParser(prog="peer.py hostile")
    p.add_argument("scenario", choices=sorted(SCENARIOS))
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--activator", type=int, required=True)
    p.add_argument("--served", action="store_true")
    p.add_argument("--idle", type=float, default=0)
    p.add_argument("--seconds", type=float, default=6)
    p.add_argument("--data", type=int, default=0)
    p.add_argument("--chunk", type=int, default=4096)
    p.add_argument("--term", action="store_true")
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--pipes", type=int, default=0)
    p.add_argument("--stop", action="store_true")
    p.add_argument("--log")
    args = p.parse_args(argv)
    global SERVED
    SERVED = args.served
    try:
        SCENARIOS[args.scenario](args)
    except OSError as e:
        say(False, f"{args.scenario}: {e.__class__.__name__}: {e}")
    return 1 if BAD else 0

