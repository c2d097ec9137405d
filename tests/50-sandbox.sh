#!/usr/bin/env bash
# Goal of this test: a running instance is confined. Once it holds its two
# sockets it cannot open or create a file, make a socket, bind, connect
# anywhere, signal another process, exec, or gain privileges (setuid,
# a user namespace), nor read more than the one byte at an urgent mark
# into its memory or make an ioctl other than the few it needs, and the
# kernel says so: Seccomp 2 and NoNewPrivs 1 in /proc/PID/status while it
# relays.
#
# How it is shown honestly. v6fwd has no code that tries any of this, and
# the shipped binary has no test mode. So the test loads a shim
# (tests/sandbox-probe.c, LD_PRELOAD, test code only) into the unchanged
# binary; at the relay's first splice(), after the sandbox is in force,
# the shim makes each attempt and writes what the kernel answered. Each
# layer is also shown holding alone, by having the shim play a kernel
# without the other (seccomp() failing with EINVAL, Landlock with ENOSYS):
# that also shows v6fwd degrading with one log line. With both missing the
# same probes succeed: the control, showing the probes can see a hole.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

CC=${CC:-cc}
if ! $CC -shared -fPIC -O1 -o "$T/probe.so" "$TOP/tests/sandbox-probe.c" \
    2>"$T/cc.out"; then
	skip "sandbox probes" "cannot build the shim: $(head -n 1 "$T/cc.out")"
	finish
fi

backend echo || exit 1
port=$BACKEND_PORT

# probe_run NAME MISSING [served]: one connection through v6fwd with the
# shim; served: through a v6fwd server, whose own probes run too.
probe_run() {
	local name=$1 missing=$2 apid accept=(--accept) server=()
	: >"$T/probe.$name"
	: >"$T/log.$name"
	rm -f "$T/created"
	if [ "${3:-}" = served ]; then
		accept=()
		server=(-E PROBE_SERVER=1)
	fi
	systemd-socket-activate "${accept[@]}" -l "[::1]:$port" "${server[@]}" \
		-E LD_PRELOAD="$T/probe.so" -E PROBE_OUT="$T/probe.$name" \
		-E PROBE_PORT="$port" -E PROBE_DIR="$T" \
		-E PROBE_MISSING="$missing" \
		-E ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		"$V6FWD" >"$T/log.$name" 2>&1 &
	apid=$!
	PIDS+=("$apid")
	wait_until 50 listening6 "$port" || { echo "relay did not listen"; return 1; }
	$PEER client echo "$port" --arg 100 >"$T/client.$name" 2>&1
	wait_until 50 grep -q '^done ' "$T/probe.$name"
	# The control's exec ends the instance; give its shell time to report.
	[ "$missing" = "seccomp,landlock" ] &&
		wait_until 50 grep -q '^exec ' "$T/probe.$name"
	if [ "${3:-}" = served ]; then
		wait_until 50 sh -c "! pgrep -x v6fwd-conn -P $apid >/dev/null"
	else
		wait_until 50 sh -c "! pgrep -P $apid >/dev/null"
	fi
	# Gone already where the control's server exec'd and exited.
	kill "$apid" 2>/dev/null
	wait "$apid" 2>/dev/null
	return 0
}

# expect NAME PROBE RESULT...: the probe's answer is one of RESULTs.
expect() {
	local name=$1 what=$2 got
	shift 2
	got=$(awk -v p="$what" '$1 == p { print $2 }' "$T/probe.$name")
	for want in "$@"; do
		[ "$got" = "$want" ] && { pass "$name: $what refused ($got)"; return; }
	done
	fail "$name: $what" "got '${got:-nothing}', wanted $*"
}

# The kernel's Landlock ABI decides what Landlock alone can refuse.
abi=$(python3 -c '
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
print(max(libc.syscall(444, None, 0, 1), 0))')

# 1. The instance as shipped: every attempt refused by seccomp (EPERM).
probe_run full ""
check "full: bytes still flow" grep -q "echoed 100 of 100" "$T/client.full"
for p in open create socket bind connect signal setuid unshare-user recv-2 \
	ioctl-fionbio exec; do
	expect full "$p" EPERM
done
check "full: no file created" test ! -e "$T/created"
check "full: confinement logged as complete (no message)" \
	sh -c "! grep -q 'Confinement degraded' '$T/log.full'"

# 2. Landlock alone (a kernel without seccomp filters): file access, exec
# and, from ABI 4, TCP bind and connect are refused (EACCES); from ABI 6
# signals outside the instance. One line says what is missing.
probe_run landlock seccomp
if [ "$abi" -ge 1 ]; then
	for p in open create exec; do
		expect landlock "$p" EACCES
	done
	check "landlock: no file created" test ! -e "$T/created"
	if [ "$abi" -ge 4 ]; then
		expect landlock bind EACCES
		expect landlock connect EACCES
	else
		skip "landlock: bind, connect" "Landlock ABI $abi < 4"
	fi
	if [ "$abi" -ge 6 ]; then
		expect landlock signal EPERM
	else
		skip "landlock: signal" "Landlock ABI $abi < 6"
	fi
else
	skip "landlock alone" "this kernel has no Landlock"
fi
check "landlock: bytes still flow" grep -q "echoed 100 of 100" "$T/client.landlock"
check "landlock: the missing filter logged once" test "$(grep -c \
	'Confinement degraded: no seccomp filter (Invalid argument), ignoring$' \
	"$T/log.landlock")" -eq 1

# 3. seccomp alone (a kernel without Landlock): the same refusals (EPERM).
probe_run seccomp landlock
for p in open create socket bind connect signal setuid unshare-user recv-2 \
	ioctl-fionbio exec; do
	expect seccomp "$p" EPERM
done
check "seccomp: bytes still flow" grep -q "echoed 100 of 100" "$T/client.seccomp"
check "seccomp: the missing Landlock logged once" test "$(grep -c \
	'Confinement degraded: no Landlock (kernel older than 5\.13), seccomp alone, ignoring$' \
	"$T/log.seccomp")" -eq 1

# 4. The control: with neither layer the probes get through.
probe_run control seccomp,landlock
check "control: open succeeds unconfined" grep -qx "open ok" "$T/probe.control"
check "control: connect succeeds unconfined" grep -qx "connect ok" "$T/probe.control"
check "control: exec succeeds unconfined" grep -qx "exec ok" "$T/probe.control"
check "control: both missing layers in one line" test "$(grep -c \
	'Confinement degraded: no seccomp filter (Invalid argument) and no Landlock' \
	"$T/log.control")" -eq 1

# 5. The served mode. The server is confined from the start: it may read,
# make TCP sockets and fork, and nothing else of the list; each
# connection's process is confined as an instance is.
probe_run served "" served
check "served: bytes still flow" grep -q "echoed 100 of 100" "$T/client.served"
for p in server-read server-socket-inet server-fork; do
	check "served: the server may still $p" grep -qx "$p ok" "$T/probe.served"
done
for p in server-create server-write; do
	expect served "$p" EPERM EACCES
done
for p in server-socket-packet server-socket-netlink server-setuid \
    server-unshare-user server-mount server-exec; do
	expect served "$p" EPERM
done
# A sanitized build leaves ptrace() to the server: its leak check needs it.
if ldd "$V6FWD" 2>/dev/null | grep -q libasan; then
	echo "served: ptrace not checked: $V6FWD is built with the sanitizers"
else
	expect served server-ptrace EPERM
fi
check "served: no file created" test ! -e "$T/created"
for p in open create socket bind connect signal setuid unshare-user exec; do
	expect served "$p" EPERM
done
# The control: without either layer the server's probes get through.
probe_run served-control seccomp,landlock served
check "served-control: the server creates a file unconfined" \
	grep -qx "server-create ok" "$T/probe.served-control"
check "served-control: the server execs unconfined" \
	wait_until 50 grep -qx "server-exec ok" "$T/probe.served-control"

# 6. Without the shim, what the kernel reports for a relaying instance, as
# root (by hand) and as an unprivileged user (as under the unit).
# status_while_relaying NAME [setpriv arguments]
status_while_relaying() {
	local name=$1 apid ipid
	shift
	rm -f "$T/release" "$T/held"
	${1:+setpriv "$@"} systemd-socket-activate --accept -l "[::1]:$port" \
		"$V6FWD" >"$T/log.$name" 2>&1 &
	apid=$!
	PIDS+=("$apid")
	wait_until 50 listening6 "$port" || { fail "$name" "relay did not listen"; return; }
	$PEER client held "$port" --held "$T/held" --release "$T/release" \
		>"$T/client.$name" 2>&1 &
	PIDS+=("$!")
	wait_until 50 test -e "$T/held"
	ipid=$(pgrep -P "$apid" | head -n 1)
	if [ -n "$ipid" ] && cp "/proc/$ipid/status" "$T/status.$name"; then
		check "$name: Seccomp: 2 (filter mode)" grep -Pq '^Seccomp:\t2$' "$T/status.$name"
		check "$name: NoNewPrivs: 1" grep -Pq '^NoNewPrivs:\t1$' "$T/status.$name"
	else
		fail "$name: instance status" "no running instance"
	fi
	touch "$T/release"
	wait_until 50 grep -q echoed "$T/client.$name"
	check "$name: relayed to the end" grep -qx echoed "$T/client.$name"
	kill "$apid"
	wait "$apid" 2>/dev/null
}
status_while_relaying root
if getent passwd nobody >/dev/null; then
	status_while_relaying nobody --reuid=nobody --regid="$(id -g nobody)" \
		--clear-groups
fi
finish
