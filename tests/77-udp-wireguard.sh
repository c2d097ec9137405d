#!/usr/bin/env bash
# Goal of this test: a real WireGuard tunnel through v6fwd. Two namespaces
# of the test's own joined by a veth pair over IPv6 only; on one side a
# WireGuard peer (wireguard-go) listening on IPv4 127.0.0.1 only as far
# as the other side can tell (its IPv6 port is not the one the client is
# given), and v6fwd on the IPv6 address relaying to it; on the other side
# a peer whose endpoint is v6fwd's IPv6 address. The handshake is made,
# pings go through the tunnel both ways, the server peer sees the flow's
# IPv4 source as the client's endpoint, and persistent keepalives (1 s)
# keep that one flow through 5 s of silence under idle-timeout=3s: the
# endpoint is the same afterwards, and the flow's record, at the end,
# counts datagrams both ways.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/udplib.sh
. "$(dirname "$0")/udplib.sh"

root_or_skip "WireGuard through v6fwd"
for tool in wireguard-go wg ping; do
	command -v "$tool" >/dev/null ||
		cannot_run "wireguard" "$tool not installed (apt-get install wireguard-go wireguard-tools iputils-ping)"
done
[ -c /dev/net/tun ] || { skip "wireguard" "no /dev/net/tun"; finish; }

netns wgc || exit 1
client=$NS
netns wgs || exit 1
server=$NS
ip link add "v6c$$" netns "$client" type veth peer name "v6s$$" netns "$server" ||
	{ fail "wireguard" "cannot make a veth pair"; finish; }
ip -n "$client" link set "v6c$$" up
ip -n "$server" link set "v6s$$" up
ip -n "$client" addr add fd00:6f::2/64 dev "v6c$$" nodad
ip -n "$server" addr add fd00:6f::1/64 dev "v6s$$" nodad

export WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1
umask 077
wg genkey >"$T/ks"
wg genkey >"$T/kc"
wg pubkey <"$T/ks" >"$T/ps"
wg pubkey <"$T/kc" >"$T/pc"
wgport=$(udp_free_port) || exit 1
rport=$(udp_free_port) || exit 1
# wg interface names: 15 characters at most, unique on the host (their
# control sockets live in /var/run/wireguard, outside the namespaces).
ws=v6wgs$$ wc=v6wgc$$
ip netns exec "$server" wireguard-go -f "$ws" >"$T/wgs.log" 2>&1 &
PIDS+=("$!")
ip netns exec "$client" wireguard-go -f "$wc" >"$T/wgc.log" 2>&1 &
PIDS+=("$!")
if ! wait_until 50 ip -n "$server" link show "$ws" ||
    ! wait_until 50 ip -n "$client" link show "$wc"; then
	fail "wireguard" "wireguard-go did not start: $(cat "$T/wgs.log")"
	finish
fi
ip netns exec "$server" wg set "$ws" private-key "$T/ks" listen-port "$wgport" \
	peer "$(cat "$T/pc")" allowed-ips 10.77.0.2/32
ip -n "$server" addr add 10.77.0.1/24 dev "$ws"
ip -n "$server" link set "$ws" up

NS=$server LISTEN_ADDR=fd00:6f::1 udp_relay "$rport" "127.0.0.1:$wgport" -i 3s ||
	exit 1
ip netns exec "$client" wg set "$wc" private-key "$T/kc" \
	peer "$(cat "$T/ps")" endpoint "[fd00:6f::1]:$rport" \
	allowed-ips 10.77.0.1/32 persistent-keepalive 1
ip -n "$client" addr add 10.77.0.2/24 dev "$wc"
ip -n "$client" link set "$wc" up

check "pings through the tunnel, over v6fwd" \
	ip netns exec "$client" ping -c 3 -i 0.3 -W 3 10.77.0.1
check "and back the other way" \
	ip netns exec "$server" ping -c 3 -i 0.3 -W 3 10.77.0.2
ep=$(ip netns exec "$server" wg show "$ws" endpoints | awk '{ print $2 }')
check "the server peer sees v6fwd's flow as the client ($ep)" \
	grep -Eq '^127\.0\.0\.1:[0-9]+$' <<<"$ep"
sleep 5
check "after 5 s of silence (keepalives only), pings still go" \
	ip netns exec "$client" ping -c 2 -i 0.3 -W 3 10.77.0.1
check "on the same flow: the same endpoint" test \
	"$(ip netns exec "$server" wg show "$ws" endpoints | awk '{ print $2 }')" = "$ep"
kill -TERM "$RELAY_PID"
wait "$RELAY_PID"
rec=$(records "^v6fwd: \[fd00:6f::2\]:[0-9]+ -> \[fd00:6f::1\]:$rport/udp -> 127\.0\.0\.1:$wgport from $ep: terminated by signal")
check "one record for the tunnel's flow, with datagrams both ways" python3 -c '
import re, sys
lines = sys.argv[1].splitlines()
m = len(lines) == 1 and re.search(r"; (\d+) datagrams .* from client, (\d+) ", lines[0])
sys.exit(not (m and int(m.group(1)) >= 10 and int(m.group(2)) >= 8))' "$rec"
finish
