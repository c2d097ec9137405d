#!/usr/bin/env python3
"""The test peers of v6fwd, one entry point with modes: IPv4 backends and
IPv6 clients with known behaviour, and the helpers they share.

    peer.py serve MODE [PORT] [--arg N] [--report FILE]   listens on
        127.0.0.1:PORT (0: a port of the kernel's choice), prints the port
        on stdout, serves connections until killed
    peer.py client MODE PORT [--arg N] ...      connects to [::1]:PORT,
        prints one line of findings, exits 0 on the expected outcome
    --host ADDR moves either from its loopback address; --source ADDR
        makes a client connect from that address
    peer.py listen FILE COMMAND...   binds [::1]:0 (--host, --udp),
        writes the port the kernel chose to FILE, and execs COMMAND with
        the socket as fd 3, LISTEN_FDS=1 and LISTEN_PID its own (same)
        PID: the sd_listen_fds(3) hand-over, which systemd-socket-activate
        takes instead of -l (it refuses -l :0)
    peer.py hostile SCENARIO ...   misbehaving peers, both ends in one
        process, watching the instance (tests/peer_hostile.py)
    peer.py udp CMD ...            UDP backends and clients
        (tests/peer_udp.py)
    peer.py traffic CMD ...        the system tests' traffic, inside the
        guest (tests/peer_traffic.py)

Every socket wait is bounded (TIMEOUT) so no test can hang.
"""
import argparse
import hashlib
import importlib
import json
import os
import random
import socket
import struct
import sys
import threading
import time

TIMEOUT = 30.0


def stream(seed, n):
    """Deterministic pseudo-random bytes: both ends can hash what they expect."""
    rng = random.Random(seed)
    out = 0
    while out < n:
        k = min(65536, n - out)
        yield rng.randbytes(k)
        out += k


def stream_bytes(seed, n):
    """The first n bytes of stream(seed), at once."""
    return random.Random(seed).randbytes(n)


class Stream:
    """stream(seed), checked piece by piece as it arrives."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.buf = b""
        self.n = 0
        self.ok = True

    def take(self, n):
        while len(self.buf) < n:
            self.buf += self.rng.randbytes(65536)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def check(self, b):
        if b != self.take(len(b)):
            self.ok = False
        self.n += len(b)


def stream_hash(seed, n):
    h = hashlib.sha256()
    for b in stream(seed, n):
        h.update(b)
    return h.hexdigest()


def read_all(s, limit=None):
    """Reads to EOF; returns (data hash, count, how it ended)."""
    h = hashlib.sha256()
    n = 0
    try:
        while True:
            b = s.recv(1 << 16)
            if not b:
                return h.hexdigest(), n, "eof"
            h.update(b)
            n += len(b)
            if limit is not None and n >= limit:
                return h.hexdigest(), n, "limit"
    except ConnectionResetError:
        return h.hexdigest(), n, "rst"
    except socket.timeout:
        return h.hexdigest(), n, "timeout"


def rst_close(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def report(args, line):
    if args.report:
        with open(args.report, "a") as f:
            f.write(line + "\n")


def json_report(d, ok):
    """Prints d, with "ok", as one JSON line; the exit status for ok."""
    d["ok"] = ok
    print(json.dumps(d, sort_keys=True), flush=True)
    return 0 if ok else 1


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def echo_to_eof(c):
    """Echoes until EOF, then passes the EOF on."""
    while True:
        b = c.recv(1 << 16)
        if not b:
            break
        c.sendall(b)
    c.shutdown(socket.SHUT_WR)


# --- processes, seen from outside (/proc) --------------------------------------

def alive(pid):
    """The process exists and has not exited (a zombie has)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


def pipe_sizes(pid, each_pipe_once=True):
    """F_GETPIPE_SZ of the pipes the process holds, through /proc: each
    pipe once (though a relay holds both its ends), or each fd."""
    import fcntl
    sizes, seen = [], set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return sizes
    for fd in fds:
        path = f"/proc/{pid}/fd/{fd}"
        try:
            inode = os.readlink(path)
            if not inode.startswith("pipe:") or \
                    each_pipe_once and inode in seen:
                continue
            seen.add(inode)
            f = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            sizes.append(fcntl.fcntl(f, 1032))     # F_GETPIPE_SZ
        except OSError:
            pass
        finally:
            os.close(f)
    return sizes


# --- backends: each handles one accepted connection ---------------------------

def srv_echo(c, args):
    """Echoes until EOF, then passes EOF on."""
    echo_to_eof(c)
    read_all(c)


def duplex(s, seed, n, timeout):
    """Sends n bytes of stream(seed) and an EOF while reading to EOF;
    returns what read_all found (or a timeout after the send)."""
    got = {}

    def reader():
        got["r"] = read_all(s)
    t = threading.Thread(target=reader)
    t.start()
    for b in stream(seed, n):
        s.sendall(b)
    s.shutdown(socket.SHUT_WR)
    t.join(timeout)
    return got.get("r", ("", 0, "timeout"))


def srv_duplex(c, args):
    """Sends --arg bytes of stream 2 while reading stream 1; reports the hash."""
    h, n, how = duplex(c, 2, args.arg, TIMEOUT)
    report(args, f"received {n} {h} {how}")


def srv_late_reply(c, args):
    """The half-close case: reads to EOF, waits, then replies."""
    h, n, how = read_all(c)
    time.sleep(args.arg / 1000.0 if args.arg else 1.0)
    c.sendall(f"late reply after {n} bytes\n".encode())
    c.close()
    report(args, f"received {n} {how}")


def srv_close_first(c, args):
    """Sends a goodbye and EOF first, then keeps reading what the client sends."""
    c.sendall(b"bye\n")
    c.shutdown(socket.SHUT_WR)
    h, n, how = read_all(c)
    report(args, f"received {n} {h} {how}")


def srv_rst(c, args):
    """Sends --arg bytes, then resets."""
    for b in stream(3, args.arg):
        c.sendall(b)
    time.sleep(0.2)
    rst_close(c)


def srv_rst_reading(c, args):
    """Reads until told to, reports what it saw, and stays open."""
    h, n, how = read_all(c)
    report(args, f"received {n} {how}")


def srv_accept_close(c, args):
    c.close()


def srv_never_read(c, args):
    time.sleep(TIMEOUT)
    c.close()


def srv_greet(c, args):
    """Speaks first, like SMTP; then echoes."""
    c.sendall(b"220 hello\r\n")
    srv_echo(c, args)


def srv_record(c, args):
    """Reports the first bytes it receives, and its peer address."""
    c.settimeout(5)
    try:
        b = c.recv(4096)
    except socket.timeout:
        b = b""
    report(args, f"peer {c.getpeername()[0]} first {b.hex()}")
    c.sendall(b"ok\n")
    read_all(c)


SERVERS = {
    "echo": srv_echo, "duplex": srv_duplex, "late-reply": srv_late_reply,
    "close-first": srv_close_first, "rst": srv_rst, "sink": srv_rst_reading,
    "accept-close": srv_accept_close, "never-read": srv_never_read,
    "greet": srv_greet, "record": srv_record,
}


def serve(args):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind((args.host or "127.0.0.1", args.port))
    ls.listen(1024)
    print(ls.getsockname()[1], flush=True)
    fn = SERVERS[args.mode]

    def run(c):
        c.settimeout(TIMEOUT)
        try:
            fn(c, args)
        except OSError as e:
            report(args, f"error {e.__class__.__name__}")
        finally:
            c.close()
    while True:
        c, _ = ls.accept()
        threading.Thread(target=run, args=(c,), daemon=True).start()


# --- clients: each prints one line and exits 0 when the outcome is right -------

def connect(args):
    """To [::1]:PORT (or --host), from --source if given."""
    s = socket.create_connection(
        (args.host or "::1", args.port), timeout=TIMEOUT,
        source_address=(args.source, args.source_port) if args.source
        else None)
    s.settimeout(TIMEOUT)
    return s


def cli_echo(args):
    s = connect(args)
    msg = os.urandom(args.arg or 1000)
    s.sendall(msg)
    s.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        b = s.recv(1 << 16)
        if not b:
            break
        got += b
    print(f"echoed {len(got)} of {len(msg)}")
    return got == msg


def cli_duplex(args):
    """Sends --arg bytes of stream 1 while reading stream 2; checks both hashes."""
    h, n, how = duplex(connect(args), 1, args.arg, TIMEOUT * 4)
    ok = h == stream_hash(2, args.arg) and n == args.arg and how == "eof"
    print(f"received {n} {'intact' if ok else 'CORRUPT'} {how}; "
          f"sent {args.arg} {stream_hash(1, args.arg)}")
    return ok


def cli_late_reply(args):
    s = connect(args)
    s.sendall(b"request\n")
    s.shutdown(socket.SHUT_WR)
    h, n, how = read_all(s)
    print(f"reply {n} bytes {how}")
    return n > 0 and how == "eof"


def cli_keep_sending(args):
    """Reads the target's goodbye and EOF, then goes on sending --arg bytes."""
    s = connect(args)
    first = s.recv(100)
    eof = s.recv(100)
    for b in stream(1, args.arg):
        s.sendall(b)
    s.shutdown(socket.SHUT_WR)
    print(f"goodbye {first!r} eof {eof == b''} then sent {args.arg} "
          f"{stream_hash(1, args.arg)}")
    rest = s.recv(100)
    return first == b"bye\n" and eof == b"" and rest == b""


def cli_expect_rst(args):
    """Expects --arg bytes of stream 3 and then a reset, not an EOF."""
    s = connect(args)
    s.sendall(b"hello\n")
    h, n, how = read_all(s)
    ok = how == "rst" and n == args.arg and h == stream_hash(3, args.arg)
    print(f"received {n} then {how}")
    return ok


def cli_send_rst(args):
    """Sends --arg bytes, then resets the connection."""
    s = connect(args)
    for b in stream(1, args.arg):
        s.sendall(b)
    time.sleep(0.3)
    rst_close(s)
    print(f"sent {args.arg} then RST")
    return True


def cli_expect_end(args):
    """Sends nothing and waits: prints how and when the connection ended."""
    t = time.monotonic()
    try:
        s = connect(args)
    except ConnectionResetError:
        # The reset can beat a loaded client's own connect() bookkeeping.
        print(f"ended by rst during connect after {time.monotonic() - t:.2f} s")
        return args.expect in (None, "rst")
    h, n, how = read_all(s)
    print(f"ended by {how} after {time.monotonic() - t:.2f} s, {n} bytes")
    return how == (args.expect or "rst")


def cli_hold(args):
    """Opens --arg connections, checks each echoes, then closes them all."""
    socks = []
    for i in range(args.arg):
        socks.append(connect(args))
    ok = 0
    for i, s in enumerate(socks):
        m = f"conn {i}\n".encode()
        s.sendall(m)
    for i, s in enumerate(socks):
        m = f"conn {i}\n".encode()
        got = b""
        while len(got) < len(m):
            b = s.recv(100)
            if not b:
                break
            got += b
        ok += got == m
    for s in socks:
        s.close()
    print(f"{ok} of {args.arg} connections echoed")
    return ok == args.arg


def cli_first_bytes(args):
    """Prints what arrives first, without sending anything."""
    s = connect(args)
    b = s.recv(100)
    print(f"first {b!r}")
    return True


def cli_hello(args):
    """Says hello, closes its side, and expects the record backend's ok."""
    s = connect(args)
    s.sendall(b"hello\n")
    s.shutdown(socket.SHUT_WR)
    got = s.recv(100)
    print(f"from {s.getsockname()[0]} got {got!r}")
    return got == b"ok\n"


def cli_source(args):
    """Asks the service who we are (--arg 1: as an HTTP/1.0 request); the
    reply's last line must begin with our own address and port."""
    s = connect(args)
    host, port = s.getsockname()[:2]
    if args.arg:
        s.sendall(b"GET / HTTP/1.0\r\nHost: v6fwd\r\n\r\n")
    got = b""
    while len(got) < 65536:
        b = s.recv(4096)
        if not b:
            break
        got += b
    lines = got.decode(errors="replace").strip().splitlines()
    last = lines[-1] if lines else ""
    print(f"local {host} {port} reply {last}")
    return last.split()[:2] == [host, str(port)]


def cli_held(args):
    """Echoes a ping, says so in the file --held ("echoed" or "wrong"),
    then holds the connection, sending nothing, until the file --release
    appears (bounded: --arg seconds, 10 by default); then half-closes and
    expects the EOF back."""
    s = connect(args)
    s.sendall(b"ping\n")
    ok = s.recv(100) == b"ping\n"
    with open(args.held, "w") as f:
        f.write("echoed\n" if ok else "wrong\n")
    for _ in range(10 * (args.arg or 10)):
        if args.release and os.path.exists(args.release):
            break
        time.sleep(0.1)
    s.shutdown(socket.SHUT_WR)
    ok = ok and s.recv(100) == b""
    print("echoed" if ok else "broken")
    return ok


CLIENTS = {
    "echo": cli_echo, "duplex": cli_duplex, "late-reply": cli_late_reply,
    "keep-sending": cli_keep_sending, "expect-rst": cli_expect_rst,
    "send-rst": cli_send_rst, "expect-end": cli_expect_end, "hold": cli_hold,
    "first-bytes": cli_first_bytes, "hello": cli_hello,
    "source": cli_source, "held": cli_held,
}


def listen(argv):
    """The port-0 hand-over: see the module's docstring."""
    p = argparse.ArgumentParser(prog="peer.py listen")
    p.add_argument("--host", default="::1")
    p.add_argument("--udp", action="store_true")
    p.add_argument("file")
    p.add_argument("command", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    s = socket.socket(family(args.host), socket.SOCK_DGRAM if args.udp
                      else socket.SOCK_STREAM)
    s.bind((args.host, 0))
    if not args.udp:
        s.listen(socket.SOMAXCONN)
    with open(args.file + ".tmp", "w") as f:
        f.write(f"{s.getsockname()[1]}\n")
    os.rename(args.file + ".tmp", args.file)
    # Python's sockets are not inherited; s may be fd 3 already.
    if s.fileno() != 3:
        os.dup2(s.fileno(), 3)
    os.set_inheritable(3, True)
    os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
    os.environ.pop("LISTEN_FDNAMES", None)
    os.execvp(args.command[0], args.command)


# The other peers, each in a module of its own beside this one.
MODULES = {"hostile": "peer_hostile", "udp": "peer_udp",
           "traffic": "peer_traffic"}


def main(argv):
    if argv and argv[0] == "listen":
        return listen(argv[1:])
    if argv and argv[0] in MODULES:
        # They import this file as "peer": the same module, not a copy.
        sys.modules.setdefault("peer", sys.modules[__name__])
        return importlib.import_module(MODULES[argv[0]]).main(argv[1:])
    p = argparse.ArgumentParser(
        epilog="or: peer.py {listen,%s} ..." % ",".join(MODULES))
    p.add_argument("role", choices=["serve", "client"])
    p.add_argument("mode")
    p.add_argument("port", type=int, nargs="?", default=0)
    p.add_argument("--arg", type=int, default=0)
    p.add_argument("--report")
    p.add_argument("--expect")
    p.add_argument("--host", help="serve: listen address; client: connect "
                   "address")
    p.add_argument("--source", help="client: bind this source address")
    p.add_argument("--source-port", type=int, default=0,
                   help="client: and this port (default: any)")
    p.add_argument("--held", help="held: the file to create once echoed")
    p.add_argument("--release", help="held: the file to wait for")
    args = p.parse_args(argv)
    if args.role == "serve":
        serve(args)
        return 0
    try:
        return 0 if CLIENTS[args.mode](args) else 1
    except OSError as e:
        print(f"client error: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
