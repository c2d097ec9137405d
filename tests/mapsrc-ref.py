#!/usr/bin/env python3
"""An independent model of v6fwd's source mapping, for tests/30-map-source.sh.

    mapsrc-ref.py MACHINE_ID LEN [--pool NET/PREFIX] CLIENT...

Prints, one per line, the IPv4 source address v6fwd maps each IPv6 CLIENT's
/LEN prefix to on a host whose /etc/machine-id is MACHINE_ID: the key is
sd_id128_get_machine_app_specific() with v6fwd's application ID (HMAC-SHA256
of the machine ID, made a v4 UUID), the hash SipHash-2-4 of the masked
prefix and its length, spread over 127.0.0.0/8 or the pool. Written from
the descriptions in src/mapsrc.c and systemd's sd-id128(3), not from the C.
"""
import argparse
import hashlib
import hmac
import ipaddress
import struct
import sys

APP_ID = bytes.fromhex("5e0c8a612f944d7bb31ec6d807a2f549")
M = (1 << 64) - 1


def rotl(x, b):
    return ((x << b) | (x >> (64 - b))) & M


def siphash24(key, msg):
    k0, k1 = struct.unpack("<QQ", key)
    v = [k0 ^ 0x736f6d6570736575, k1 ^ 0x646f72616e646f6d,
         k0 ^ 0x6c7967656e657261, k1 ^ 0x7465646279746573]

    def rnd():
        v[0] = (v[0] + v[1]) & M; v[1] = rotl(v[1], 13) ^ v[0]
        v[0] = rotl(v[0], 32)
        v[2] = (v[2] + v[3]) & M; v[3] = rotl(v[3], 16) ^ v[2]
        v[0] = (v[0] + v[3]) & M; v[3] = rotl(v[3], 21) ^ v[0]
        v[2] = (v[2] + v[1]) & M; v[1] = rotl(v[1], 17) ^ v[2]
        v[2] = rotl(v[2], 32)
    n = len(msg)
    end = n - n % 8
    for i in range(0, end, 8):
        m, = struct.unpack("<Q", msg[i:i + 8])
        v[3] ^= m; rnd(); rnd(); v[0] ^= m
    b = (n & 0xff) << 56
    for i, c in enumerate(msg[end:]):
        b |= c << (8 * i)
    v[3] ^= b; rnd(); rnd(); v[0] ^= b
    v[2] ^= 0xff
    for _ in range(4):
        rnd()
    return v[0] ^ v[1] ^ v[2] ^ v[3]


# The SipHash paper's test vector.
assert siphash24(bytes(range(16)), bytes(range(15))) == 0xa129ca6149be45e5


def key_of(machine_id):
    d = bytearray(hmac.new(bytes.fromhex(machine_id), APP_ID,
                           hashlib.sha256).digest()[:16])
    d[6] = (d[6] & 0x0f) | 0x40
    d[8] = (d[8] & 0x3f) | 0x80
    return bytes(d)


def mapped(key, client, plen, net=0x7f000000, prefix=8):
    a = bytearray(ipaddress.IPv6Address(client).packed)
    for i in range(16):
        keep = max(plen - 8 * i, 0)
        if keep < 8:
            a[i] &= (0xff00 >> keep) & 0xff
    h = siphash24(key, bytes(a) + bytes([plen])) >> 32
    count = (1 << (32 - prefix)) - 2
    skip = net < 0x7f000001 and 0x7f000001 - net <= count
    count -= skip
    addr = net + 1 + ((h * count) >> 32)
    if skip and addr >= 0x7f000001:
        addr += 1
    return str(ipaddress.IPv4Address(addr))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("machine_id")
    p.add_argument("len", type=int)
    p.add_argument("--pool")
    p.add_argument("client", nargs="+")
    a = p.parse_args()
    net, prefix = 0x7f000000, 8
    if a.pool:
        n = ipaddress.IPv4Network(a.pool)
        net, prefix = int(n.network_address), n.prefixlen
    key = key_of(a.machine_id)
    for c in a.client:
        print(mapped(key, c, a.len, net, prefix))
    return 0


if __name__ == "__main__":
    sys.exit(main())
