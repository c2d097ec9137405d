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
# Modes: accept served
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

# tests/proxy-decode.py: a decoder written independently from the
# specification.
decode() { python3 "$TOP/tests/proxy-decode.py" "$1" 2>&1; }

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
