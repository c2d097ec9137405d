#!/usr/bin/env bash
# Goal of this test: with --map-source, running out of source ports of one
# mapped address is named as such, with what to do, and not as an address
# that is not local (issue 10, item 10). In private network and mount
# namespaces, net.ipv4.ip_local_port_range is narrowed to two ports and two
# connections from one /64 (one mapped source) are held open: a third from
# that /64 is reset, the message says "no free source port" and how to fix
# it, and its record (to a stand-in journald) says V6FWD_END=no-source.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
in_private_net "$@"

ID=3f1c5e0a9b8d4c27a6e1d2b7c4f08e93
for a in 2001:db8:1::1 2001:db8:1::2 2001:db8:1::3; do
	ip -6 addr add "$a/128" dev lo nodad || exit 1
done
journald || exit 1
backend never-read || exit 1
port=$(free_port) || exit 1
sysctl -q -w net.ipv4.ip_local_port_range="40000 40001" || exit 1
: >"$T/relay.log"
activate "[::1]:$port" -E "JOURNAL_STREAM=$(journal_stream "$T/relay.log")" \
	-- "$V6FWD" --map-source "127.0.0.1:$BACKEND_PORT" || exit 1

# Two connections from one /64, held open: both ports of its source in use.
# The clients bind ports of their own, outside the range: a port bound
# explicitly is never one that connect() picks.
for i in 1 2; do
	timeout 20 "${PEER_ARGV[@]}" client expect-end "$RELAY_PORT" --source "2001:db8:1::$i" \
		--source-port $((port + i)) >/dev/null 2>&1 &
	PIDS+=("$!")
done
# shellcheck disable=SC2317 # called through wait_until
held() {
	test "$(ss -Htn state established "( dport = :$BACKEND_PORT )" | wc -l)" -eq 2
}
check "two connections from 2001:db8:1::/64 hold both source ports" wait_until 100 held
src=$(ss -Htn state established "( dport = :$BACKEND_PORT )" | awk '{ print $3 }' |
	sed 's/:[0-9]*$//' | sort -u)
echo "mapped source of 2001:db8:1::/64: $src; ports in use:" \
	"$(ss -Htn state established "( dport = :$BACKEND_PORT )" | awk '{ print $3 }' | tr '\n' ' ')"

out=$(timeout 10 "${PEER_ARGV[@]}" client expect-end "$RELAY_PORT" --source 2001:db8:1::3 \
	--source-port $((port + 3)) --expect rst 2>&1)
check "a third from that /64: the client gets a RST ($out)" test $? -eq 0
pid=$(instance 3) || exit 1
check "a third: exit status 5" test "$(exit_code "$pid")" = 5
journal_sync
journal "_PID=$pid" --field MESSAGE >"$T/messages"
cat "$T/messages"
check "a third: the message names the cause and the fix" grep -Eq \
	"^\[2001:db8:1::3\]:[0-9]+: Failed to connect to 127\.0\.0\.1:$BACKEND_PORT from ${src//./\\.}: no free source port \(Cannot assign requested address\): every port of net\.ipv4\.ip_local_port_range is in use towards it; map a longer prefix, or into a larger pool$" \
	"$T/messages"
check "a third: not called a foreign address" \
	sh -c "! grep -q 'not an address of this host' '$T/messages'"
check "a third: its record says V6FWD_END=no-source" \
	test "$(journal MESSAGE_ID=$ID "_PID=$pid" --field V6FWD_END)" = no-source
check "a third: the record names the mapped source" \
	test "$(journal MESSAGE_ID=$ID "_PID=$pid" --field V6FWD_SOURCE)" = "$src"
finish
