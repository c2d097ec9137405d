#!/usr/bin/env python3
"""Stand-ins for what surrounds v6fwd on a host: journald, a logger on a
pipe, a DNS server. Each is started by tests/lib.sh, only ever inside the
test's own namespaces, never on the host's /run or /etc.

    standin.py journald FILE [--stall]
        binds /run/systemd/journal/socket (only ever inside a private mount
        namespace with its own /run: see tests/lib.sh, journald) and writes
        each record it receives to FILE as one JSON object per line, with
        the sender's PID (_PID, from SCM_CREDENTIALS, as journald has it)
        and how the record came (_VIA: "datagram", or "memfd" for a record
        too large for one datagram, passed as a sealed memfd by
        SCM_RIGHTS; _SEALS: the seals that memfd carried). Empty datagrams
        (v6fwd's barrier) are read and not recorded. Prints "ready" once
        it is bound.
        --stall plays a journald that stopped reading: it fills its own
        queue (net.unix.max_dgram_qlen datagrams) and never reads again;
        it prints "ready N" with N the datagrams queued.

    standin.py query FILE [KEY=VALUE ...] [--field NAME | --count]
        the journald stand-in's records matching every KEY=VALUE: their
        NAME field, one a line, or how many there are, or the records.

    standin.py sync FILE
        waits (bounded) until the journald stand-in has recorded everything
        sent to it so far: sends a record of its own and waits for it in
        FILE (the socket's queue is read in order).

    standin.py fifo PATH
        a logger that stopped reading: makes PATH a FIFO, holds it open for
        reading, fills it until a write would block and never reads; prints
        "ready N" with N the bytes it holds.

    standin.py dns ADDR FILE
        a DNS server that never answers: reads every query on UDP and TCP
        port 53 of ADDR, counts them in FILE ("queries N"), answers none.
        Prints "ready".

    standin.py silent
        a target that never answers a SYN: a listener with a backlog of 0,
        filled by connections of its own, so that the kernel drops further
        SYNs. Prints "ready PORT" (on 127.0.0.1).

Every wait is bounded: each exits after TIMEOUT.
"""
import argparse
import array
import fcntl
import json
import os
import select
import socket
import struct
import sys
import time

SOCKET = "/run/systemd/journal/socket"
TIMEOUT = 120.0
SEALS = {
    getattr(fcntl, "F_SEAL_SEAL", 1): "seal",
    getattr(fcntl, "F_SEAL_SHRINK", 2): "shrink",
    getattr(fcntl, "F_SEAL_GROW", 4): "grow",
    getattr(fcntl, "F_SEAL_WRITE", 8): "write",
}


def parse(data):
    """The native protocol: KEY=value lines, or KEY, a newline, a 64-bit
    little-endian length, that many bytes and a newline."""
    rec, i = {}, 0
    while i < len(data):
        nl = data.find(b"\n", i)
        if nl < 0:
            nl = len(data)
        line = data[i:nl]
        eq = line.find(b"=")
        if eq >= 0:
            key, value, i = line[:eq], line[eq + 1:], nl + 1
        else:
            key = line
            (n,) = struct.unpack_from("<Q", data, nl + 1)
            value = data[nl + 9:nl + 9 + n]
            i = nl + 9 + n + 1
        rec[key.decode()] = value.decode(errors="replace")
    return rec


def read_memfd(fd):
    seals = fcntl.fcntl(fd, fcntl.F_GET_SEALS)
    size = os.fstat(fd).st_size
    data = os.pread(fd, size, 0)
    names = [name for bit, name in sorted(SEALS.items()) if seals & bit]
    return data, ",".join(names)


def stall(s):
    """Fills s's queue from a socket of our own until the kernel refuses."""
    filler = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    filler.setblocking(False)
    n = 0
    while n < 100000:
        try:
            filler.sendto(b"FILLER=1\n", SOCKET)
        except BlockingIOError:
            break
        n += 1
    return filler, n


def journald(args):
    try:
        os.unlink(SOCKET)
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(SOCKET), exist_ok=True)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(SOCKET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    out = open(args.file, "a", buffering=1)
    if args.stall:
        filler, n = stall(s)
        print(f"ready {n}", flush=True)
        time.sleep(TIMEOUT)
        return 0
    print("ready", flush=True)
    s.settimeout(TIMEOUT)
    ucred = struct.calcsize("3i")
    while True:
        try:
            data, anc, _, _ = s.recvmsg(
                1 << 17, socket.CMSG_SPACE(ucred) +
                socket.CMSG_SPACE(array.array("i").itemsize * 4))
        except socket.timeout:
            return 0
        pid, fds = None, []
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("3i", payload[:ucred])[0]
            elif level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                a = array.array("i")
                a.frombytes(payload[:len(payload) - len(payload) % a.itemsize])
                fds.extend(a)
        via, seals = "datagram", None
        if fds:
            data, seals = read_memfd(fds[0])
            via = "memfd"
            for fd in fds:
                os.close(fd)
        if not data:
            continue
        rec = parse(data)
        rec["_PID"] = pid
        rec["_VIA"] = via
        rec["_SIZE"] = len(data)
        if seals is not None:
            rec["_SEALS"] = seals
        out.write(json.dumps(rec) + "\n")


def query(args):
    want = [m.split("=", 1) for m in args.match]
    recs = []
    with open(args.file) as f:
        for line in f:
            rec = json.loads(line)
            if all(str(rec.get(k)) == v for k, v in want):
                recs.append(rec)
    if args.count:
        print(len(recs))
    elif args.field:
        for rec in recs:
            if args.field in rec:
                print(rec[args.field])
    else:
        for rec in recs:
            print(json.dumps(rec))
    return 0


def sync(args):
    """A marker through the same queue: once it is in FILE, all before it is."""
    mark = f"{os.getpid()}.{time.monotonic_ns()}"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(f"V6FWD_TEST_SYNC={mark}\n".encode(), SOCKET)
    end = time.monotonic() + 10
    while time.monotonic() < end:
        with open(args.file) as f:
            if any(json.loads(line).get("V6FWD_TEST_SYNC") == mark
                   for line in f):
                return 0
        time.sleep(0.02)
    return 1


def fifo(args):
    """A FIFO whose reader holds it open, full, and never reads."""
    os.mkfifo(args.path)
    reader = os.open(args.path, os.O_RDONLY | os.O_NONBLOCK)
    writer = os.open(args.path, os.O_WRONLY | os.O_NONBLOCK)
    n = 0
    chunk = b"x" * 4096
    while n < 1 << 24:
        try:
            n += os.write(writer, chunk)
        except BlockingIOError:
            if len(chunk) == 1:
                break
            chunk = chunk[:len(chunk) // 2]
    os.close(writer)
    print(f"ready {n}", flush=True)
    time.sleep(TIMEOUT)
    os.close(reader)
    return 0


def dns(args):
    """Reads queries and never answers, on UDP and TCP port 53."""
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((args.addr, 53))
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((args.addr, 53))
    t.listen(16)
    print("ready", flush=True)
    held, n, end = [], 0, time.monotonic() + TIMEOUT
    while time.monotonic() < end:
        r, _, _ = select.select([u, t] + held, [], [], 1.0)
        for s in r:
            if s is t:
                held.append(t.accept()[0])
            elif s is u:
                u.recv(4096)
                n += 1
            elif not s.recv(4096):
                held.remove(s)
                s.close()
            else:
                n += 1
        with open(args.file, "w") as f:
            f.write(f"queries {n}\n")
    return 0


def silent(args):
    """A listener whose accept queue is full: SYNs to it go unanswered."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(0)
    held = []
    for _ in range(4):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(ls.getsockname())
        except BlockingIOError:
            pass
        held.append(c)
    time.sleep(0.5)
    print(f"ready {ls.getsockname()[1]}", flush=True)
    time.sleep(TIMEOUT)
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    j = sub.add_parser("journald")
    j.add_argument("file")
    j.add_argument("--stall", action="store_true")
    q = sub.add_parser("query")
    q.add_argument("file")
    q.add_argument("match", nargs="*")
    g = q.add_mutually_exclusive_group()
    g.add_argument("--field")
    g.add_argument("--count", action="store_true")
    sub.add_parser("sync").add_argument("file")
    f = sub.add_parser("fifo")
    f.add_argument("path")
    d = sub.add_parser("dns")
    d.add_argument("addr")
    d.add_argument("file")
    sub.add_parser("silent")
    args = p.parse_args()
    return {"journald": journald, "query": query, "sync": sync,
            "fifo": fifo, "dns": dns, "silent": silent}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
