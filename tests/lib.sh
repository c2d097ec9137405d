# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables set here are for the tests that source it
# Shared harness for tests/NN-*.sh: backends, relays under real socket
# activation, bounded waits, PASS/FAIL lines, and cleanup of everything a
# test started. Sourced, never run. With V6FWD_LIB_REPORT_ONLY=1 it defines
# only the PASS/FAIL/SKIP lines and cannot_run (for tests/system/, which
# has a harness of its own) and starts nothing.

set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The mode the scenario runs in, set by tests/run from its "# Modes:" line:
# accept, one v6fwd per connection (systemd-socket-activate --accept, as
# v6fwd@.socket), or served, one v6fwd handed the listening socket (as
# v6fwd-server@.socket), forking a process per connection.
MODE=${V6FWD_MODE:-accept}
FAILED=0

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

# not_here NAME WHY: NAME cannot run here (a program not installed, no
# root, no namespaces): a SKIP, except under CI=true, where the suite runs
# as root after make check-deps, so that a skip would hide a failure.
not_here() {
	if [ "${CI:-}" = true ]; then
		fail "$1" "$2 (CI=true: a test that cannot run fails; make check-deps installs what the suite needs, as root)"
	else
		skip "$1" "$2"
	fi
}
# cannot_run NAME WHY: not_here, and the test ends.
cannot_run() {
	not_here "$1" "$2"
	finish
}

# shellcheck disable=SC2317 # the rest when sourced in full
[ -n "${V6FWD_LIB_REPORT_ONLY:-}" ] && return 0

V6FWD=${V6FWD:-$TOP/v6fwd}
# The test peers, one entry point with modes (tests/peer.py).
PEER="python3 $TOP/tests/peer.py"
PEER_ARGV=(python3 "$TOP/tests/peer.py")	# for timeout(1) and the like
T=$(mktemp -d /tmp/v6fwd-test.XXXXXX)
PIDS=()
INSTANCES=()

cleanup() {
	local i
	# Instances that may be stuck with the termination signals blocked.
	for i in "${INSTANCES[@]}"; do
		kill -KILL "$i" 2>/dev/null
	done
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		kill "${PIDS[i]}" 2>/dev/null
	done
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		wait "${PIDS[i]}" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT

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

# Is any UDP socket bound to port $1 (either family, any address)?
bound_udp() {
	local hex
	hex=$(printf '%04X' "$1")
	awk -v p=":$hex" 'FNR > 1 && substr($2, length($2) - 4) == p {
		f = 1 } END { exit !f }' /proc/net/udp /proc/net/udp6
}

# free_port [udp]: a port that nothing listens on now, on both families,
# where a test needs to name the port before anything binds it: a backend
# and a relay to it by v6fwd's default target (the relay's port), a
# configuration file keyed by the port, a refused target. Below the
# ephemeral range, so that no client connection (or its TIME_WAIT), and
# nothing bound to port 0, can hold it; with udp, no UDP socket is bound
# to it either. Everything else binds port 0 (see relay).
# shellcheck disable=SC2120 # udp is optional
free_port() {
	local p i low
	read -r low _ </proc/sys/net/ipv4/ip_local_port_range
	((low > 12000)) || low=32768
	for ((i = 0; i < 200; i++)); do
		p=$((10000 + RANDOM % (low - 10000)))
		listening6 "$p" || listening4 "$p" ||
			{ [ "${1:-}" = udp ] && bound_udp "$p"; } ||
			{ echo "$p"; return 0; }
	done
	return 1
}

# relay PORT [v6fwd arguments]: v6fwd under systemd-socket-activate on
# [::1]:PORT, in the scenario's MODE; sets RELAY_PORT. Its stderr (the
# connections' log) goes to $T/relay.log. With PORT 0 the kernel picks the
# port: the activator refuses -l with port 0, so "peer.py listen" binds
# [::1]:0 and hands the socket over as systemd does (LISTEN_FDS), which
# the activator takes instead. A nonzero PORT is for v6fwd's default
# target (the same port on 127.0.0.1: a backend's) and for configuration
# files, keyed by the port. In the served mode RELAY_PID is the server
# itself (the activator execs it), and since every test client comes from
# ::1, one source, the per-source limit is lifted.
relay() {
	local port=$1 accept=(--accept) listen=()
	shift
	: >"$T/relay.log"
	if [ "$MODE" = served ]; then
		accept=()
		set -- --max-connections-per-source=65536 "$@"
	fi
	rm -f "$T/relay.port"
	if [ "$port" = 0 ]; then
		listen=("${PEER_ARGV[@]}" listen "$T/relay.port")
	else
		accept+=(-l "[::1]:$port")
	fi
	"${listen[@]}" systemd-socket-activate "${accept[@]}" "$V6FWD" "$@" \
		>>"$T/relay.log" 2>&1 &
	RELAY_PID=$!
	PIDS+=("$RELAY_PID")
	if [ "$port" = 0 ]; then
		wait_until 50 test -s "$T/relay.port" ||
			{ echo "relay did not bind: $(cat "$T/relay.log")"; return 1; }
		port=$(cat "$T/relay.port")
	fi
	RELAY_PORT=$port
	wait_until 50 listening6 "$port" || { echo "relay did not listen: $(cat "$T/relay.log")"; return 1; }
}

# Waits until the relay log matches the extended regex $1 (bounded).
log_has() { wait_until "${2:-50}" grep -Eq -- "$1" "$T/relay.log"; }

# instances: the PIDs of the processes relaying a connection now (a
# server's connection processes are named v6fwd-conn).
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

# hostile NAME SCENARIO [options]: one of "peer.py hostile"'s misbehaving
# peers, both ends in one process, against the relay started last (on
# RELAY_PORT, default target). Its findings are shown; any BAD one fails.
hostile() {
	local name=$1 out rc line
	shift
	local served=()
	[ "$MODE" = served ] && served=(--served)
	out=$(timeout 100 "${PEER_ARGV[@]}" hostile "$@" \
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
	[ "$(id -u)" -eq 0 ] || cannot_run "private network namespace" "needs root"
	unshare --net --mount --propagation private true 2>/dev/null ||
		cannot_run "private network namespace" "unshare --net --mount failed"
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

# --- Namespaces, stand-ins for journald and a logger, instances, timing ---

# Is this process in a mount namespace of its own? Files of the host (/etc,
# /run) are only ever covered by mounts there.
private_mounts() {
	[ "$(readlink /proc/self/ns/mnt)" != "$(readlink /proc/1/ns/mnt)" ]
}

# over FILE CONTENT: covers FILE with CONTENT, in this mount namespace only.
over() {
	private_mounts || { echo "over $1: not in a private mount namespace"; return 1; }
	local copy
	copy="$T/over.$(basename "$1").$RANDOM"
	printf '%s\n' "$2" >"$copy"
	mount --bind "$copy" "$1"
}

# journald [--stall]: a stand-in journald (tests/standin.py) on the native
# socket, /run/systemd/journal/socket, on a tmpfs over /run in this mount
# namespace only. Its records go to $T/journal, one JSON object a line (see
# journal). With --stall it stops reading once its queue is full, as a
# journald that cannot keep up; JOURNAL_QUEUED is how many datagrams it holds.
# shellcheck disable=SC2120 # the option is optional
journald() {
	private_mounts || { echo "journald: not in a private mount namespace"; return 1; }
	if [ -z "${JOURNALD_RUN:-}" ]; then
		mount -t tmpfs tmpfs /run || return 1
		JOURNALD_RUN=1
	fi
	: >"$T/journal"
	python3 "$TOP/tests/standin.py" journald "$T/journal" "$@" \
		>"$T/journald.out" 2>&1 &
	JOURNALD_PID=$!
	PIDS+=("$JOURNALD_PID")
	wait_until 50 grep -q '^ready' "$T/journald.out" ||
		{ echo "journald did not start: $(cat "$T/journald.out")"; return 1; }
	JOURNAL_QUEUED=$(awk '{ print $2 }' "$T/journald.out")
}
stop_journald() { kill "$JOURNALD_PID"; wait "$JOURNALD_PID" 2>/dev/null; }

# journal [KEY=VALUE...] [--field NAME | --count]: the stand-in journald's
# records that match, as tests/standin.py query prints them.
journal() { python3 "$TOP/tests/standin.py" query "$T/journal" "$@"; }

# journal_sync: waits (bounded) until the stand-in journald has recorded
# every datagram sent to it so far.
journal_sync() { python3 "$TOP/tests/standin.py" sync "$T/journal"; }

# JOURNAL_STREAM for a process whose stderr is FILE: v6fwd then logs to the
# journal, as under systemd.
journal_stream() { stat -c %d:%i "$1"; }

# full_fifo PATH: a FIFO whose reader holds it open, filled, and never reads.
full_fifo() {
	python3 "$TOP/tests/standin.py" fifo "$1" >"$T/fifo.out" 2>&1 &
	PIDS+=("$!")
	wait_until 50 grep -q '^ready' "$T/fifo.out" ||
		{ echo "fifo did not fill: $(cat "$T/fifo.out")"; return 1; }
}

# silent_target: a target on 127.0.0.1 that never answers a SYN (its
# listener's accept queue is full); sets SILENT_PORT.
silent_target() {
	python3 "$TOP/tests/standin.py" silent >"$T/silent.out" 2>&1 &
	PIDS+=("$!")
	wait_until 50 grep -q '^ready' "$T/silent.out" ||
		{ echo "silent target did not start: $(cat "$T/silent.out")"; return 1; }
	SILENT_PORT=$(awk '{ print $2 }' "$T/silent.out")
}

# mute_dns: a DNS server on 127.0.0.1 that reads every query and answers
# none, and /etc/resolv.conf naming it (this mount namespace only);
# $T/dns.count says "queries N".
mute_dns() {
	over /etc/resolv.conf "nameserver 127.0.0.1" || return 1
	python3 "$TOP/tests/standin.py" dns 127.0.0.1 "$T/dns.count" \
		>"$T/dns.out" 2>&1 &
	PIDS+=("$!")
	wait_until 50 grep -q '^ready' "$T/dns.out" ||
		{ echo "dns did not start: $(cat "$T/dns.out")"; return 1; }
}

# activate LISTEN [activator options] -- COMMAND...: like relay, for any
# command (v6fwd behind a wrapper that keeps its PID, such as prlimit or
# "bash -c 'exec ...'") and with options for systemd-socket-activate (-E to
# set a variable). LISTEN is [::1]:PORT or 127.0.0.1:PORT.
activate() {
	local listen=$1 opts=()
	shift
	while [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	shift
	RELAY_PORT=${listen##*:}
	: >"$T/relay.log"
	systemd-socket-activate --accept -l "$listen" "${opts[@]}" "$@" \
		>>"$T/relay.log" 2>&1 &
	RELAY_PID=$!
	PIDS+=("$RELAY_PID")
	if [[ $listen == \[* ]]; then
		wait_until 50 listening6 "$RELAY_PORT"
	else
		wait_until 50 listening4 "$RELAY_PORT"
	fi || { echo "relay did not listen: $(cat "$T/relay.log")"; return 1; }
}
stop_relay() { kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null; }

# instance [N]: waits (bounded) for the Nth instance (1 by default) the
# relay started last has spawned, and prints its PID; it is SIGKILLed at
# cleanup if it is still there.
# shellcheck disable=SC2120 # N is optional
instance() {
	local n=${1:-1} pid
	wait_until 100 sh -c "test \"\$(grep -c '^Spawned .* as PID ' '$T/relay.log')\" -ge $n" ||
		return 1
	pid=$(sed -n 's/^Spawned .* as PID \([0-9]*\)\.$/\1/p' "$T/relay.log" | sed -n "${n}p")
	INSTANCES+=("$pid")
	echo "$pid"
}

# exit_code PID: the instance's exit status, as the activator saw it (bounded).
exit_code() {
	wait_until 20 grep -q "^Child $1 died with code " "$T/relay.log" || { echo none; return 1; }
	sed -n "s/^Child $1 died with code \([0-9]*\).*/\1/p" "$T/relay.log" | head -n 1
}

# alive PID: the process exists and has not exited (a zombie has).
alive() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "${st%% *}" != Z ]
}

# now_ms: the wall clock in milliseconds, for figures (never for waits).
now_ms() {
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

# wait_gone PID MS: waits up to MS milliseconds, polling every 10 ms, until
# PID has exited; GONE_MS is how long it took. Fails if it is still there.
wait_gone() {
	local pid=$1 max=$2 start i
	start=$(now_ms)
	for ((i = 0; i < max / 10 + 1; i++)); do
		alive "$pid" || { GONE_MS=$(($(now_ms) - start)); return 0; }
		(($(now_ms) - start > max)) && break
		sleep 0.01
	done
	GONE_MS=$(($(now_ms) - start))
	alive "$pid" || return 0
	return 1
}

# in_syscall PID NAME...: PID is blocked in one of the system calls NAME
# (write, writev, sendmsg, sendto), per /proc/PID/syscall.
in_syscall() {
	local pid=$1 nr name
	nr=$(cut -d ' ' -f 1 "/proc/$pid/syscall" 2>/dev/null) || return 1
	shift
	for name in "$@"; do
		case $(uname -m):$name in
		x86_64:write) [ "$nr" = 1 ] && return 0 ;;
		x86_64:writev) [ "$nr" = 20 ] && return 0 ;;
		x86_64:sendto) [ "$nr" = 44 ] && return 0 ;;
		x86_64:sendmsg) [ "$nr" = 46 ] && return 0 ;;
		aarch64:write) [ "$nr" = 64 ] && return 0 ;;
		aarch64:writev) [ "$nr" = 66 ] && return 0 ;;
		aarch64:sendto) [ "$nr" = 206 ] && return 0 ;;
		aarch64:sendmsg) [ "$nr" = 211 ] && return 0 ;;
		esac
	done
	return 1
}
