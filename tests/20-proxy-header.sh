#!/usr/bin/env bash
# Goal of this test: the PROXY header is right, byte for byte, and arrives
# first. (1) The golden v1 and v2 vectors that tests/unit.c holds the C code
# to are decoded here by a decoder written independently from the
# specification, and must say what they were meant to. (2) Live, through
# v6fwd, to a backend that speaks first and reads nothing from the client:
# the header alone arrives, at once, names the IPv6 client and port and the
# address it connected to, and v2's UNIQUE_ID is the id v6fwd logged; the
# backend then greets a client that never sent a byte. v1 is set on the
# command line, v2 in a configuration file.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

# Decodes a header given in hex into one line, "v2 TCP6 SRC SPORT DST
# DPORT ID" ("-" for no id), refusing anything the specification forbids.
cat >"$T/decode.py" <<'PY'
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
PY
decode() { python3 "$T/decode.py" "$1" 2>&1; }

# The same vectors as test_proxy() in tests/unit.c: client [2001:db8::1]
# port 54321, local [2001:db8::80] port 2000, id 0123...cdef; and the same
# pair v4-mapped, which goes out as TCP4.
ID=0123456789abcdef0123456789abcdef
golden=(
	"v1 TCP6 2001:db8::1 54321 2001:db8::80 2000 -"
	50524f5859205443503620323030313a6462383a3a3120323030313a6462383a3a383020353433323120323030300d0a
	"v2 TCP6 2001:db8::1 54321 2001:db8::80 2000 $ID"
	0d0a0d0a000d0a515549540a2121004720010db800000000000000000000000120010db8000000000000000000000080d43107d00500203031323334353637383961626364656630313233343536373839616263646566
	"v1 TCP4 192.0.2.1 54321 192.0.2.80 2000 -"
	50524f58592054435034203139322e302e322e31203139322e302e322e383020353433323120323030300d0a
	"v2 TCP4 192.0.2.1 54321 192.0.2.80 2000 $ID"
	0d0a0d0a000d0a515549540a2111002fc0000201c0000250d43107d00500203031323334353637383961626364656630313233343536373839616263646566
)
# tests/unit.c splits each vector over adjacent string literals.
unit_hex=$(tr -d '\n' <"$TOP/tests/unit.c" | sed -E 's/"[[:space:]]*"//g')
for ((i = 0; i < ${#golden[@]}; i += 2)); do
	want=${golden[i]} hex=${golden[i + 1]}
	check "golden ${want%% *} ${want#* }: decodes as meant" test "$(decode "$hex")" = "$want"
	check "golden ${want%% *} ${want#* }: the vector tests/unit.c checks" grep -q "\"$hex\"" <<<"$unit_hex"
done

# relay_live NAME EXPECTED_VERSION: one client that sends nothing; the
# backend records the first bytes it reads and then says "ok". It waits 5 s
# for them, so a greeting within 3 s means the header did not wait for the
# client.
relay_live() {
	local name=$1 v=$2 start ms out line cport id got
	start=$(date +%s%N)
	out=$(client first-bytes)
	ms=$((($(date +%s%N) - start) / 1000000))
	check "$name: a silent client is greeted (${ms} ms)" test "$out" = "first b'ok\\n'" -a "$ms" -lt 3000
	log_has ', id [0-9a-f]{32}$' || { fail "$name" "no connection record"; return; }
	line=$(grep -E ', id [0-9a-f]{32}$' "$T/relay.log" | tail -n 1)
	cport=$(sed -E 's/^v6fwd: \[::1\]:([0-9]+) .*/\1/' <<<"$line")
	id=$(sed -E 's/.*, id ([0-9a-f]{32})$/\1/' <<<"$line")
	[ "$v" = v1 ] && id=-
	wait_until 50 test -s "$T/report"
	got=$(decode "$(sed -n 's/^peer 127\.0\.0\.1 first //p' "$T/report")")
	echo "$name: backend got: $got"
	check "$name: the header alone arrived, naming [::1]:$cport -> [::1]:$RELAY_PORT" \
		test "$got" = "$v TCP6 ::1 $cport ::1 $RELAY_PORT $id"
}

backend record || exit 1
relay "$BACKEND_PORT" --proxy-protocol=v1 || exit 1
relay_live "v1 from the command line" v1
kill "$RELAY_PID" "$BACKEND_PID"; wait "$RELAY_PID" "$BACKEND_PID" 2>/dev/null

backend record || exit 1
echo "$BACKEND_PORT - proxy-protocol=v2" >"$T/v6fwd.conf"
relay "$BACKEND_PORT" -f "$T/v6fwd.conf" || exit 1
relay_live "v2 from the configuration file" v2
check "no instance left running" no_instances
finish
