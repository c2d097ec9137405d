#!/usr/bin/env bash
# Goal of this test: a client that vanishes without a FIN or a RST (its
# link goes down, its host dies) does not hold an instance forever. Two
# network namespaces made by the test, joined by a veth pair: the relay and
# the backend in one, the client in the other. The client connects,
# exchanges a line and goes quiet; its link is taken down. With
# --keepalive=2s the instance must notice within the keepalive budget,
# documented as about twice the time (sock_keepalive(): first probe after
# 2 s, TCP_USER_TIMEOUT 4 s), so here within 3 times it plus a margin; it
# then resets the backend's side and logs the timeout. Needs root for the
# namespaces: SKIP otherwise, FAIL under CI.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

ns=v6fwd-$$
R=$ns-r
C=$ns-c
# shellcheck disable=SC2317  # called by the trap
teardown() {
	cleanup
	ip netns del "$R" 2>/dev/null
	ip netns del "$C" 2>/dev/null
}
trap teardown EXIT

need() { cannot_run "vanished client" "$1"; }
[ "$(id -u)" -eq 0 ] || need "needs root for network namespaces"
if ! { ip netns add "$R" && ip netns add "$C"; } 2>/dev/null; then
	need "cannot create network namespaces"
fi
if ! { ip -n "$R" link set lo up &&
	ip link add veth-r netns "$R" type veth peer name veth-c netns "$C" &&
	ip -n "$R" addr add fd00:6f::1/64 dev veth-r nodad &&
	ip -n "$C" addr add fd00:6f::2/64 dev veth-c nodad &&
	ip -n "$R" link set veth-r up && ip -n "$C" link set veth-c up; }; then
	need "cannot set up a veth pair"
fi

port=4300
: >"$T/report"
ip netns exec "$R" python3 "$TOP/tests/peer.py" serve echo "$port" \
	--report "$T/report" >"$T/backend.port" &
PIDS+=("$!")
wait_until 50 test -s "$T/backend.port" || need "backend did not start"
ip netns exec "$R" systemd-socket-activate --accept -l "[fd00:6f::1]:$port" \
	"$V6FWD" --keepalive=2s >"$T/relay.log" 2>&1 &
RELAY_PID=$!
PIDS+=("$RELAY_PID")
wait_until 50 grep -q '^Listening' "$T/relay.log" || need "relay did not start"

# The client: one echoed line, then silence, holding its socket open.
# shellcheck disable=SC2086 # PEER is a command and its script
ip netns exec "$C" $PEER client held "$port" --host fd00:6f::1 --arg 60 \
	--held "$T/client.state" >/dev/null 2>&1 &
PIDS+=("$!")
check "client connected and echoed through the relay" \
	wait_until 100 grep -q echoed "$T/client.state"
instance=$(pgrep -P "$RELAY_PID" | head -n 1)
check "instance running" test -n "$instance"

ip -n "$C" link set veth-c down
start=$(date +%s%N)
gone=0
for ((i = 0; i < 200; i++)); do
	kill -0 "$instance" 2>/dev/null || { gone=1; break; }
	sleep 0.1
done
elapsed=$((($(date +%s%N) - start) / 1000000))
check "instance ended ${elapsed} ms after the link went down (budget 8000 ms)" \
	test "$gone" -eq 1 -a "$elapsed" -le 8000
check "logged as the client timing out" \
	log_has "client reset the connection \(Connection timed out\)"
check "backend's side reset" wait_until 50 grep -q "error ConnectionResetError" "$T/report"
finish
