#!/usr/bin/env bash
# Goal of this test: addresses, both sides. In a namespace of the test's
# own, with two more addresses on lo and a relay on [::] (dual-stack, as
# systemd-socket-activate binds it, so an IPv4 client too): a client that
# sends to 2001:db8::2 gets its answer from 2001:db8::2, and one that
# sends to 2001:db8::3 from 2001:db8::3 (each client's socket is
# connected, so an answer from any other address would not reach it);
# their records name the address each sent to. With map-source, flows
# from two /64s reach the target from two 127/8 addresses, the ones the
# TCP relay maps those /64s to (tests/mapsrc-ref.py says which), and two
# flows from one /64 from one address, on two ports. And a path that
# cannot take datagrams in runs (UDP_SEGMENT, which v6fwd uses for
# datagrams of one size to one place): a client behind an MTU of 1280
# sending 1400-byte datagrams, 16 in flight, gets every one back whole.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/udplib.sh
. "$(dirname "$0")/udplib.sh"

root_or_skip "UDP addresses"
netns addrs || exit 1
in_ns() { ip netns exec "$NS" "$@"; }
in_ns ip -6 addr add 2001:db8::2/128 dev lo nodad
in_ns ip -6 addr add 2001:db8::3/128 dev lo nodad
in_ns ip -6 route add local 2001:db8:100::/48 dev lo
port=$(udp_free_port) || exit 1
# shellcheck disable=SC2086 # UDPPEER is a command and its script
in_ns $UDPPEER serve echo "$port" >"$T/backend.port" 2>&1 &
PIDS+=("$!")
wait_until 50 test -s "$T/backend.port" || { fail "backend" "did not start"; finish; }
in_ns_sources() {
	in_ns python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
s.sendto(b"?sources", ("127.0.0.1", int(sys.argv[1])))
print(s.recv(1 << 20).decode())' "$port"
}

# systemd-socket-activate binds [::] dual-stack (the unit says
# ipv6-only): so another port than the backend's, and IPv4 clients too.
rport=$(udp_free_port) || exit 1
LISTEN_ADDR=:: udp_relay "$rport" "127.0.0.1:$port" || exit 1
# shellcheck disable=SC2086
in_ns $UDPPEER pair "$rport" --dst 2001:db8::2,2001:db8::3,::1,::ffff:127.0.0.1 \
	>"$T/pair" 2>&1
check "on [::], each client answered from the address it sent to" \
	grep -q '"ok": true' "$T/pair"
kill -TERM "$RELAY_PID"
wait "$RELAY_PID"
check "their records name it" sh -c "grep -q -- '-> \[2001:db8::2\]:$rport/udp -> ' '$T/relay.log' &&
	grep -q -- '-> \[2001:db8::3\]:$rport/udp -> ' '$T/relay.log' &&
	grep -q -- '-> \[::ffff:127.0.0.1\]:$rport/udp -> ' '$T/relay.log'"

udp_relay "$port" --map-source || exit 1
in_ns python3 - "$port" >"$T/mapped" <<'PY'
import socket, sys
port = int(sys.argv[1])
for src in ("2001:db8:100:1::1", "2001:db8:100:1::2", "2001:db8:100:2::1"):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, 78, 1)    # IPV6_FREEBIND
    s.bind((src, 0))
    s.connect(("::1", port))
    s.settimeout(3)
    s.send(src.encode())
    print(src, s.recv(100) == src.encode())
PY
check "three mapped flows answered" test "$(grep -c ' True$' "$T/mapped")" -eq 3
in_ns_sources >"$T/sources"
kill -TERM "$RELAY_PID"
wait "$RELAY_PID"
src() { records "^v6fwd: \[$1\]:" | sed -n 's/.* from \([0-9.]*\):\([0-9]*\): .*/\1/p'; }
a=$(src 2001:db8:100:1::1) b=$(src 2001:db8:100:1::2) c=$(src 2001:db8:100:2::1)
echo "# mapped: 2001:db8:100:1::/64 -> $a, $b; 2001:db8:100:2::/64 -> $c"
check "one /64, one mapped address" test -n "$a" -a "$a" = "$b" -a "$a" != 127.0.0.1
check "another /64, another" test -n "$c" -a "$c" != "$a" -a "$c" != 127.0.0.1
check "the target saw those addresses, on three ports" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
seen = [k.rsplit(":", 1)[0] for k in d]
sys.exit(not (seen.count(sys.argv[2]) == 2 and seen.count(sys.argv[3]) == 1))' \
	"$T/sources" "$a" "$c"
ref=$(python3 "$TOP/tests/mapsrc-ref.py" "$(cat /etc/machine-id)" 64 \
	2001:db8:100:1::1 2001:db8:100:2::1 | tr '\n' ' ')
check "the addresses the TCP relay maps those /64s to ($ref)" \
	test "$ref" = "$a $c "

# A client on the far side of a veth with an MTU of 1280.
server=$NS
netns mtu || exit 1
client=$NS
ip link add "v6m$$" netns "$client" type veth peer name "v6n$$" netns "$server"
ip -n "$client" link set "v6m$$" mtu 1280 up
ip -n "$server" link set "v6n$$" mtu 1280 up
ip -n "$client" addr add fd00:6e::2/64 dev "v6m$$" nodad
ip -n "$server" addr add fd00:6e::1/64 dev "v6n$$" nodad
NS=$server LISTEN_ADDR=fd00:6e::1 udp_relay "$rport" "127.0.0.1:$port" || exit 1
# shellcheck disable=SC2086
ip netns exec "$client" $UDPPEER many "$rport" --dst fd00:6e::1 --clients 2 \
	--count 300 --size 1400 --fixed --window 16 >"$T/mtu" 2>&1
check "MTU 1280, 1400-byte datagrams 16 at a time: all back whole" \
	grep -q '"ok": true' "$T/mtu"
finish
