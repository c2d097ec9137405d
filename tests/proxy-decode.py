#!/usr/bin/env python3
"""Decodes a PROXY header, given in hex, into one line: "v2 TCP6 SRC SPORT
DST DPORT ID" ("-" for no id), then "then N more bytes" if more follows.
Refuses anything the specification forbids. Written from the
specification, independently of src/proxy.c."""
import ipaddress, re, socket, struct, sys

SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def canonical(proto, text):
    af = socket.AF_INET6 if proto == "TCP6" else socket.AF_INET
    if socket.inet_ntop(af, socket.inet_pton(af, text)) != text:
        raise ValueError(f"address {text!r} not in canonical form")
    return text


def v1(b):
    end = b.index(b"\r\n")
    if end + 2 > 107:
        raise ValueError("v1 line longer than 107 bytes")
    f = b[:end].decode("ascii").split(" ")
    if len(f) != 6 or f[0] != "PROXY" or f[1] not in ("TCP4", "TCP6"):
        raise ValueError(f"bad v1 line {f!r}")
    for p in f[4:]:
        if not re.fullmatch(r"0|[1-9][0-9]{0,4}", p) or int(p) > 65535:
            raise ValueError(f"bad port {p!r}")
    src, dst = canonical(f[1], f[2]), canonical(f[1], f[3])
    return f"v1 {f[1]} {src} {f[4]} {dst} {f[5]} -", b[end + 2:]


def v2(b):
    if b[12] != 0x21:
        raise ValueError(f"version/command {b[12]:#x}, not v2 PROXY")
    n = struct.unpack("!H", b[14:16])[0]
    body = b[16:16 + n]
    if len(body) != n:
        raise ValueError("truncated")
    alen, proto = {0x11: (4, "TCP4"), 0x21: (16, "TCP6")}[b[13]]
    src = str(ipaddress.ip_address(body[:alen]))
    dst = str(ipaddress.ip_address(body[alen:2 * alen]))
    sport, dport = struct.unpack("!HH", body[2 * alen:2 * alen + 4])
    p, uid = 2 * alen + 4, "-"
    while p < n:
        t, tl = body[p], struct.unpack("!H", body[p + 1:p + 3])[0]
        v = body[p + 3:p + 3 + tl]
        if len(v) != tl:
            raise ValueError("truncated TLV")
        if t == 0x05:
            if tl > 128:
                raise ValueError("UNIQUE_ID longer than 128 bytes")
            uid = v.decode("ascii")
        p += 3 + tl
    return f"v2 {proto} {src} {sport} {dst} {dport} {uid}", b[16 + n:]


b = bytes.fromhex(sys.argv[1])
line, rest = v2(b) if b.startswith(SIG) else v1(b)
print(line if not rest else f"{line} then {len(rest)} more bytes")
