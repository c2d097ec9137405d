# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables set here are for the tests that source it
# The UDP tests' harness, beside tests/lib.sh (sourced first): UDP
# backends and clients ("peer.py udp", tests/peer_udp.py), the relay under
# systemd-socket-activate --datagram, and network namespaces of the
# test's own for what needs addresses or routes that loopback has not.

UDPPEER="$PEER udp"
NETNS=()
# Options for systemd-socket-activate itself (-E NAME=VALUE), for udp_relay.
ACTIVATE_ARGS=()

udp_cleanup() {
	local n
	for n in "${NETNS[@]}"; do
		ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null
		ip netns del "$n" 2>/dev/null
	done
	cleanup
}
trap udp_cleanup EXIT

# A UDP port nothing is bound to, below the ephemeral range (and no TCP
# listener either, so that a TCP test cannot take it meanwhile).
udp_free_port() { free_port udp; }

# udp_backend MODE [PORT]: "peer.py udp serve" on 127.0.0.1, on PORT
# or a free port; sets BACKEND_PORT and BACKEND_PID.
udp_backend() {
	local mode=$1 port=${2:-}
	[ -n "$port" ] || port=$(udp_free_port) || return 1
	rm -f "$T/backend.port"
	$UDPPEER serve "$mode" "$port" >"$T/backend.port" 2>"$T/backend.err" &
	BACKEND_PID=$!
	PIDS+=("$BACKEND_PID")
	wait_until 50 test -s "$T/backend.port" ||
		{ echo "backend did not start: $(cat "$T/backend.err")"; return 1; }
	BACKEND_PORT=$port
}

# backend_sources PORT: what the backend on 127.0.0.1:PORT has heard, as
# JSON ({"addr:port": n}).
backend_sources() { $UDPPEER sources "$1"; }

# udp_relay PORT [v6fwd arguments]: v6fwd under systemd-socket-activate
# --datagram on [::1]:PORT (LISTEN_ADDR overrides ::1), started (exec'd
# by the activator, same PID) at the first datagram, which udp_relay
# sends itself (a one-byte datagram from a socket of its own, so one
# flow) and waits for v6fwd's first line (with NOPOKE set, neither: the
# test's first datagram starts it). Its stderr goes to $RELAY_LOG
# ($T/relay.log). With NS set, all of it inside network namespace NS.
udp_relay() {
	local port=$1 addr=${LISTEN_ADDR:-::1} dst
	shift
	dst=$addr
	[ "$addr" = "::" ] && dst=::1
	local log=${RELAY_LOG:-$T/relay.log}
	RELAY_PORT=$port
	: >"$log"
	${NS:+ip netns exec "$NS"} systemd-socket-activate --datagram \
		"${ACTIVATE_ARGS[@]}" -l "[$addr]:$port" "$V6FWD" "$@" \
		>>"$log" 2>&1 &
	RELAY_PID=$!
	PIDS+=("$RELAY_PID")
	wait_until 50 grep -q "^Listening on" "$log" ||
		{ echo "relay did not listen: $(cat "$log")"; return 1; }
	[ -n "${NOPOKE:-}" ] && return 0
	${NS:+ip netns exec "$NS"} $UDPPEER poke "$port" --dst "$dst"
	wait_until 50 grep -Eq "v6fwd: (Relaying|Refusing|Failed)" "$log" ||
		{ echo "relay did not start: $(cat "$log")"; return 1; }
}

# The relay's fds, resident memory (KiB), and whether it runs.
relay_fds() { find "/proc/$RELAY_PID/fd" -mindepth 1 2>/dev/null | wc -l; }
relay_rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$RELAY_PID/status"; }
relay_alive() { kill -0 "$RELAY_PID" 2>/dev/null; }

# Records in the relay's log (one line each), matching the regex $1;
# how many there are. RELAY_LOG names another relay's log.
records() {
	grep -E -- '^v6fwd: \[.*\]:[0-9]+ -> \[.*\]:[0-9]+/udp -> ' \
		"${RELAY_LOG:-$T/relay.log}" | grep -E -- "${1:-}"
}
nrecords() { records "${1:-}" | wc -l; }

# netns NAME: a network namespace of this test's, its loopback up; sets NS.
netns() {
	NS=v6fwd-$1-$$
	ip netns add "$NS" || return 1
	NETNS+=("$NS")
	ip netns exec "$NS" ip link set lo up
}

# root_or_skip NAME: namespaces need root; without, cannot_run.
root_or_skip() {
	[ "$(id -u)" = 0 ] && ip netns add "v6fwd-probe-$$" 2>/dev/null &&
		ip netns del "v6fwd-probe-$$" && return 0
	cannot_run "$1" "needs root and network namespaces"
}
