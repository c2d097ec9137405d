#!/usr/bin/env python3
"""UDP peers for v6fwd's UDP tests (tests/7N-udp-*.sh), a mode of
tests/peer.py (peer.py udp CMD ...):

    udp serve MODE PORT [--host A]    an IPv4 backend on A:PORT
        (127.0.0.1), until killed. MODE: echo (every datagram back to its
        sender), silent (answers nothing), wg (a WireGuard-shaped
        responder: a 148-byte initiation gets a 92-byte response,
        keepalives get nothing). Every mode answers the query b"?sources"
        from 127.0.0.1 itself (not through the relay) with a JSON object:
        each source "addr:port" it has heard, and how many datagrams
        (b"?sources N": only those it heard N times or more).
    udp sizes PORT --sizes N,N,...     one client: each size once,
        a random payload, and the same bytes back
    udp many PORT --clients N --count M --size S [--fixed]
        [--window W]   N clients at once, each with its own socket and W
        datagrams in flight (4), M datagrams each of S bytes or fewer
        (exactly S with --fixed),
        each stamped with its client and sequence number and checked on
        its way back (content, length, client)
    udp keepalive PORT --interval S --count N   a WireGuard-shaped
        client: an initiation, its response, then N keepalives S apart
    udp burst PORT --sources N --prefix P [--rate R]   one datagram
        from each of N addresses in the /48 P (bound with IPV6_FREEBIND:
        the test's network namespace routes P to lo), one /64 each, R a
        second
    udp pair PORT --dst A,B            one connected client per
        destination address: each must be answered from the address it
        sent to
    udp poke PORT [--size N] [--count N] [--gap S]   N datagrams (1) of
        N bytes (1) to [--dst]:PORT, S seconds apart, from one socket of
        its own (one flow); no answer awaited
    udp sources PORT [--least N]              what the backend on
        127.0.0.1:PORT has heard (the query above), printed as it came

--dst (default ::1) is where clients send; --src binds them. Each prints
one JSON line and exits 0 when what it checks held. Every wait is
bounded.
"""
import argparse
import json
import os
import random
import select
import socket
import struct
import time

from peer import family, json_report as out

TIMEOUT = 5.0
IPV6_FREEBIND = 78


def serve(mode, port, host):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((host, port))
    print(s.getsockname()[1], flush=True)
    seen = {}
    while True:
        data, addr = s.recvfrom(70000)
        if data.startswith(b"?sources") and addr[0] == host:
            least = int(data[8:] or 0)
            answer = {k: n for k, n in seen.items() if n >= least}
            try:
                s.sendto(json.dumps(answer).encode(), addr)
            except OSError as e:
                s.sendto(json.dumps({"error": str(e)}).encode(), addr)
            continue
        key = f"{addr[0]}:{addr[1]}"
        seen[key] = seen.get(key, 0) + 1
        try:
            if mode == "echo":
                s.sendto(data, addr)
            elif mode == "wg" and len(data) == 148 and data[0] == 1:
                s.sendto(b"\x02" + b"\0" * 91, addr)
        except OSError:
            pass


def client(args, src=None):
    s = socket.socket(family(args.dst), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    if src or args.src:
        s.bind((src or args.src, 0))
    s.connect((args.dst, args.port))
    s.settimeout(TIMEOUT)
    return s


def sizes(args):
    s = client(args)
    res = {"sent": [], "back": []}
    ok = True
    for n in [int(x) for x in args.sizes.split(",")]:
        data = os.urandom(n)
        s.send(data)
        res["sent"].append(n)
        # A datagram expected lost is waited for briefly.
        s.settimeout(1.0 if n in args.expect_lost else TIMEOUT)
        try:
            got = s.recv(70000)
        except socket.timeout:
            res["back"].append(None)
            ok = ok and n in args.expect_lost
            continue
        res["back"].append(len(got))
        ok = ok and got == data and n not in args.expect_lost
    res["client_port"] = s.getsockname()[1]
    return out(res, ok)


def stamp(cid, seq, n):
    """A datagram that says whose it is: client, sequence, length, then a
    pattern of both, so that a byte out of place shows."""
    head = struct.pack("!III", cid, seq, n)
    rng = random.Random(cid * 1000003 + seq)
    body = rng.randbytes(max(0, n - len(head)))
    return (head + body)[:n] if n >= len(head) else head[:n]


def many(args):
    socks, state = [], {}
    for cid in range(args.clients):
        s = client(args)
        s.setblocking(False)
        socks.append(s)
        state[s.fileno()] = {"cid": cid, "sock": s, "next": 0, "wait": {},
                             "done": 0}
    poll = select.poll()
    for s in socks:
        poll.register(s, select.POLLIN)
    rng = random.Random(1)
    bad = lost = retries = 0
    deadline = time.monotonic() + args.timeout
    window = args.window

    def send(st, seq):
        n = args.size if args.fixed else max(12, rng.randint(12, args.size))
        d = stamp(st["cid"], seq, n)
        st["wait"][seq] = (d, time.monotonic(), 0)
        st["sock"].send(d)

    for st in state.values():
        while st["next"] < min(window, args.count):
            send(st, st["next"])
            st["next"] += 1
    while time.monotonic() < deadline:
        if all(st["done"] == args.count for st in state.values()):
            break
        for fd, _ in poll.poll(200):
            st = state[fd]
            while True:
                try:
                    d = st["sock"].recv(70000)
                except BlockingIOError:
                    break
                if len(d) < 12:
                    bad += 1
                    continue
                cid, seq, n = struct.unpack("!III", d[:12])
                want = st["wait"].pop(seq, None)
                if cid != st["cid"] or want is None or want[0] != d:
                    bad += 1
                    continue
                st["done"] += 1
                if st["next"] < args.count:
                    send(st, st["next"])
                    st["next"] += 1
        now = time.monotonic()
        for st in state.values():
            for seq, (d, at, tries) in list(st["wait"].items()):
                if now - at > 1.0:
                    if tries >= 3:
                        lost += 1
                        del st["wait"][seq]
                        st["done"] += 1
                        continue
                    retries += 1
                    st["wait"][seq] = (d, now, tries + 1)
                    st["sock"].send(d)
    done = sum(st["done"] for st in state.values())
    ports = sorted(s.getsockname()[1] for s in socks)
    return out({"clients": args.clients, "datagrams": done, "bad": bad,
                "lost": lost, "retries": retries,
                "client_ports": ports[:3] + ["..."]},
               bad == 0 and lost == 0 and done == args.clients * args.count)


def keepalive(args):
    s = client(args)
    s.send(b"\x01" + b"\0" * 147)
    try:
        got = s.recv(200)
    except socket.timeout:
        return out({"why": "no handshake response"}, False)
    if len(got) != 92 or got[0] != 2:
        return out({"why": f"wrong response of {len(got)} bytes"}, False)
    for _ in range(args.count):
        time.sleep(args.interval)
        s.send(b"\x04" + b"\0" * 31)
    return out({"client_port": s.getsockname()[1], "keepalives": args.count},
               True)


def burst(args):
    """One datagram from each of N sources, each in a /64 of its own."""
    net = socket.inet_pton(socket.AF_INET6, args.prefix.split("/")[0])
    sent = failed = 0
    t0 = time.monotonic()
    for i in range(args.sources):
        # Paced, so that the burst is the relay's to handle, not its
        # socket's receive queue's (which the unit makes 4 MiB).
        if args.rate and i % 100 == 0:
            ahead = t0 + i / args.rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        a = bytearray(net)
        a[6:8] = struct.pack("!H", i & 0xffff)
        a[8:10] = struct.pack("!H", (i >> 16) & 0xffff)
        a[15] = 1
        src = socket.inet_ntop(socket.AF_INET6, bytes(a))
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        try:
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_FREEBIND, 1)
            s.bind((src, 0))
            s.sendto(b"flood", (args.dst, args.port))
            sent += 1
        except OSError:
            failed += 1
        finally:
            s.close()
    return out({"sent": sent, "failed": failed,
                "seconds": round(time.monotonic() - t0, 2)}, failed == 0)


def pair(args):
    res, ok = {}, True
    for dst in args.dst.split(","):
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.connect((dst, args.port))
        s.settimeout(2.0)
        s.send(dst.encode())
        try:
            got = s.recv(100)
            res[dst] = "answered" if got == dst.encode() else "wrong"
        except socket.timeout:
            res[dst] = "no answer from that address"
        except OSError as e:
            res[dst] = str(e)
        ok = ok and res[dst] == "answered"
    return out(res, ok)


def poke(args):
    """--count datagrams of --size bytes, --gap seconds apart, from one
    socket; by default one byte, to start a relay that waits for its
    first datagram."""
    s = socket.socket(family(args.dst), socket.SOCK_DGRAM)
    for i in range(args.count):
        if i:
            time.sleep(args.gap)
        s.sendto(b"!" * args.size, (args.dst, args.port))
    return 0


def sources(args):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    q = b"?sources" + (b" %d" % args.least if args.least else b"")
    s.sendto(q, ("127.0.0.1", args.port))
    print(s.recv(1 << 20).decode())
    return 0


def main(argv):
    ap = argparse.ArgumentParser(prog="peer.py udp")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("serve")
    p.add_argument("mode", choices=("echo", "silent", "wg"))
    p.add_argument("port", type=int)
    p.add_argument("--host", default="127.0.0.1")
    p = sub.add_parser("sources")
    p.add_argument("port", type=int)
    p.add_argument("--least", type=int, default=0)
    for name in ("sizes", "many", "keepalive", "burst", "pair", "poke"):
        p = sub.add_parser(name)
        p.add_argument("port", type=int)
        p.add_argument("--dst", default="::1")
        p.add_argument("--src")
        if name == "sizes":
            p.add_argument("--sizes", required=True)
            p.add_argument("--expect-lost", type=lambda v: [
                int(x) for x in v.split(",")], default=[])
        if name == "many":
            p.add_argument("--clients", type=int, default=16)
            p.add_argument("--count", type=int, default=100)
            p.add_argument("--size", type=int, default=1000)
            p.add_argument("--timeout", type=float, default=60.0)
            p.add_argument("--window", type=int, default=4)
            p.add_argument("--fixed", action="store_true",
                           help="every datagram --size bytes")
        if name == "keepalive":
            p.add_argument("--interval", type=float, default=1.0)
            p.add_argument("--count", type=int, default=5)
        if name == "poke":
            p.add_argument("--size", type=int, default=1)
            p.add_argument("--count", type=int, default=1)
            p.add_argument("--gap", type=float, default=0.01)
        if name == "burst":
            p.add_argument("--sources", type=int, default=1000)
            p.add_argument("--prefix", default="2001:db8:100::/48")
            p.add_argument("--rate", type=float, default=0,
                           help="sources a second, 0: as fast as it can")
    a = ap.parse_args(argv)
    if a.cmd == "serve":
        serve(a.mode, a.port, a.host)
        return 0
    return {"sizes": sizes, "many": many, "keepalive": keepalive,
            "burst": burst, "pair": pair, "poke": poke,
            "sources": sources}[a.cmd](a)

