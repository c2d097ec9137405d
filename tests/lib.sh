# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables set here are for the tests that source it
# Shared harness for tests/NN-*.sh: backends, relays under real socket
# activation, bounded waits, PASS/FAIL lines, and cleanup of everything a
# test started. Sourced, never run.

set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
V6FWD=${V6FWD:-$TOP/v6fwd}
PEER="python3 $TOP/tests/peer.py"
T=$(mktemp -d /tmp/v6fwd-test.XXXXXX)
# The mode the scenario runs in, set by tests/run from its "# Modes:" line:
# accept, one v6fwd per connection (systemd-socket-activate --accept, as
# v6fwd@.socket), or served, one v6fwd handed the listening socket (as
# v6fwd-server@.socket), forking a process per connection.
MODE=${V6FWD_MODE:-accept}
PIDS=()
FAILED=0

cleanup() {
	local i
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		kill "${PIDS[i]}" 2>/dev/null
	done
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		wait "${PIDS[i]}" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT

# Check names say the mode when it is not the default.
TAG=
[ "$MODE" = accept ] || TAG="[$MODE] "
pass() { echo "PASS: $TAG$1"; }
fail() { echo "FAIL: $TAG$1: $2"; FAILED=$((FAILED + 1)); }
skip() { echo "SKIP: $TAG$1: $2"; }
# check NAME COMMAND...: one PASS or FAIL line from the command's status.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass "$name"
	else
		fail "$name" "$(echo "$out" | tail -n 3 | tr '\n' ' ')"
	fi
}
finish() { exit $((FAILED > 0)); }

# wait_until TENTHS COMMAND...: polls every 0.1 s, at most TENTHS times.
wait_until() {
	local n=$1
	shift
	while ((n-- > 0)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# Is anything listening on TCP port $1 (IPv6 table, any address)?
listening6() {
	local hex
	hex=$(printf '%04X' "$1")
	awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p {
		f = 1 } END { exit !f }' /proc/net/tcp6
}
listening4() {
	local hex
	hex=$(printf '%04X' "$1")
	awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p {
		f = 1 } END { exit !f }' /proc/net/tcp
}

# backend MODE [peer.py options]: an IPv4 test service on 127.0.0.1, on a
# free port (retried if another test takes it first); sets BACKEND_PORT. Reports go to $T/report.
backend() {
	local mode=$1
	shift
	local try port
	for ((try = 0; try < 5; try++)); do
		: >"$T/report"
		rm -f "$T/backend.port"
		port=$(free_port) || return 1
		$PEER serve "$mode" "$port" --report "$T/report" "$@" \
			>"$T/backend.port" 2>"$T/backend.err" &
		BACKEND_PID=$!
		PIDS+=("$BACKEND_PID")
		wait_until 50 sh -c "test -s '$T/backend.port' || ! kill -0 $BACKEND_PID" &&
			test -s "$T/backend.port" && break
	done
	test -s "$T/backend.port" || { echo "backend did not start: $(cat "$T/backend.err")"; return 1; }
	BACKEND_PORT=$(head -n 1 "$T/backend.port")
}

# A port that nothing listens on now, for relays, backends and refused
# targets: below the ephemeral range, so that no client connection (or its
# TIME_WAIT) can hold it, and on both families.
free_port() {
	local p i low
	read -r low _ </proc/sys/net/ipv4/ip_local_port_range
	((low > 12000)) || low=32768
	for ((i = 0; i < 200; i++)); do
		p=$((10000 + RANDOM % (low - 10000)))
		listening6 "$p" || listening4 "$p" || { echo "$p"; return 0; }
	done
	return 1
}

# relay PORT [v6fwd arguments]: v6fwd under systemd-socket-activate on
# [::1]:PORT, in the scenario's MODE; its stderr (the connections' log)
# goes to $T/relay.log. The activator refuses port 0, so the caller picks
# the port: with v6fwd's default target that is the backend's own port, on
# the other address family. In the served mode RELAY_PID is the server
# itself (the activator execs it), and since every test client comes from
# ::1, one source, the per-source limit is lifted.
relay() {
	local port=$1 accept=(--accept)
	shift
	RELAY_PORT=$port
	: >"$T/relay.log"
	if [ "$MODE" = served ]; then
		accept=()
		set -- --max-connections-per-source=65536 "$@"
	fi
	systemd-socket-activate "${accept[@]}" -l "[::1]:$port" "$V6FWD" "$@" \
		>>"$T/relay.log" 2>&1 &
	RELAY_PID=$!
	PIDS+=("$RELAY_PID")
	wait_until 50 listening6 "$port" || { echo "relay did not listen: $(cat "$T/relay.log")"; return 1; }
}

# Waits until the relay log matches the extended regex $1 (bounded).
log_has() { wait_until "${2:-50}" grep -Eq -- "$1" "$T/relay.log"; }

# instances: the PIDs of the processes relaying a connection now (a
# server's idle processes, v6fwd-idle, are not).
instances() {
	if [ "$MODE" = served ]; then
		pgrep -P "$RELAY_PID" -x v6fwd-conn
	else
		pgrep -P "$RELAY_PID"
	fi
}
no_instance_now() { ! instances >/dev/null; }
# No v6fwd instance may outlive its connection.
no_instances() { wait_until "${1:-50}" no_instance_now; }

# Runs the client and checks its exit status, keeping its line for the log.
client() {
	$PEER client "$1" "$RELAY_PORT" "${@:2}"
}

# hostile NAME SCENARIO [options]: one of tests/hostile.py's misbehaving
# peers, both ends in one process, against the relay started last (on
# RELAY_PORT, default target). Its findings are shown; any BAD one fails.
hostile() {
	local name=$1 out rc line
	shift
	local served=()
	[ "$MODE" = served ] && served=(--served)
	out=$(timeout 100 python3 "$TOP/tests/hostile.py" "$@" \
		--port "$RELAY_PORT" --activator "$RELAY_PID" "${served[@]}" 2>&1)
	rc=$?
	while IFS= read -r line; do
		echo "    $line"
	done <<<"$out"
	if ((rc == 0)); then
		pass "$name"
	else
		fail "$name" "$(grep -m 1 -e '^BAD' -e Error <<<"$out" || echo "exit $rc")"
	fi
}

# unavailable NAME WHY: the test cannot run here (a server not installed,
# no root). Skipped, except under CI=true, where it is a failure; ends the
# test either way.
unavailable() {
	if [ "${CI:-}" = true ]; then
		fail "$1" "$2 (CI=true: make check-deps installs what the suite needs)"
	else
		skip "$1" "$2"
	fi
	finish
}

# in_private_net: runs the rest of the test, again from the start, in new
# network and mount namespaces of its own, with loopback up. Its servers
# can then take the very ports the recipes of v6fwd(8) name, and addresses
# such as 192.0.2.25, without meeting anything else on the host; all of it
# vanishes with the test's last process. Needs root.
in_private_net() {
	if [ -n "${V6FWD_IN_NETNS:-}" ]; then
		ip link set lo up
		return
	fi
	[ "$(id -u)" -eq 0 ] || unavailable "private network namespace" "needs root"
	unshare --net --mount --propagation private true 2>/dev/null ||
		unavailable "private network namespace" "unshare --net --mount failed"
	rm -rf "$T"
	trap - EXIT
	V6FWD_IN_NETNS=1 exec unshare --net --mount --propagation private bash "$0" "$@"
}

# recipe NAME [FROM TO]...: the recipe NAME of v6fwd(8), as the page shows
# it, with each FROM (which must occur) replaced by TO; see tests/recipe.py.
recipe() { python3 "$TOP/tests/recipe.py" "$TOP/man/v6fwd.8" "$@"; }


# server_up PORT PID: waits, 10 s at most, until something listens on the
# IPv4 PORT, and fails at once if PID (the server) has died meanwhile.
server_up() {
	local n=100
	while ((n-- > 0)); do
		listening4 "$1" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
