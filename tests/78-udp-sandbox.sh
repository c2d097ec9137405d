#!/usr/bin/env bash
# Goal of this test: the UDP relay is confined once it relays, tighter
# than the served mode, and the kernel says so. As in tests/50-sandbox.sh,
# a shim (tests/sandbox-probe.c, LD_PRELOAD, test code only) makes the
# attempts inside the unchanged binary, at its first recvmmsg(), after
# confinement: no file opened or created, no program run, no process
# forked or signalled, no privilege or namespace, and no socket but the
# one kind a flow needs (UDP, non-blocking, close-on-exec): no TCP, no
# raw, no netlink socket. The TCP bind and connect probes use a socket the
# shim made before confinement: Landlock refuses them (the relay has no
# TCP socket, and cannot make one). Each layer is shown alone, with one
# log line for what is missing; with both missing the probes get through
# (the control). And Seccomp: 2, NoNewPrivs: 1 in /proc while it relays.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/udplib.sh
. "$(dirname "$0")/udplib.sh"

CC=${CC:-cc}
if ! $CC -shared -fPIC -O1 -o "$T/probe.so" "$TOP/tests/sandbox-probe.c" \
    2>"$T/cc.out"; then
	skip "UDP sandbox probes" "cannot build the shim: $(head -n 1 "$T/cc.out")"
	finish
fi
udp_backend echo || exit 1
port=$BACKEND_PORT
abi=$(python3 -c '
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
print(max(libc.syscall(444, None, 0, 1), 0))')

# probe_run NAME MISSING: the relay with the shim, one datagram through.
probe_run() {
	local name=$1 missing=$2
	: >"$T/probe.$name"
	rm -f "$T/created"
	ACTIVATE_ARGS=(-E LD_PRELOAD="$T/probe.so" -E PROBE_OUT="$T/probe.$name"
		-E PROBE_PORT="$port" -E PROBE_DIR="$T" -E PROBE_UDP=1
		-E PROBE_MISSING="$missing"
		-E ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
	RELAY_LOG=$T/log.$name udp_relay "$port" || return 1
	ACTIVATE_ARGS=()
	wait_until 50 grep -q '^done ' "$T/probe.$name"
	[ "$missing" = "seccomp,landlock" ] &&
		wait_until 50 grep -q '^exec ' "$T/probe.$name"
	# The control's exec ended the relay: nothing answers then.
	$UDPPEER sizes "$port" --sizes 100 >"$T/client.$name" 2>&1
	kill "$RELAY_PID" 2>/dev/null
	wait "$RELAY_PID" 2>/dev/null
	return 0
}

expect() {
	local name=$1 what=$2 got want
	shift 2
	got=$(awk -v p="$what" '$1 == p { print $2 }' "$T/probe.$name")
	for want in "$@"; do
		[ "$got" = "$want" ] && { pass "$name: $what ($got)"; return; }
	done
	fail "$name: $what" "got '${got:-nothing}', wanted $*"
}

probe_run full ""
check "full: datagrams still relayed" grep -q '"ok": true' "$T/client.full"
for p in open create socket socket-udp-other socket-raw socket-netlink fork \
    signal setuid unshare-user recv-2 ioctl-fionbio exec; do
	expect full "$p" EPERM
done
expect full socket-udp-flow ok
if [ "$abi" -ge 4 ]; then
	expect full bind EACCES
	expect full connect EACCES
fi
check "full: no file created" test ! -e "$T/created"
check "full: confinement complete (no message)" \
	sh -c "! grep -q 'Confinement degraded' '$T/log.full'"

probe_run landlock seccomp
if [ "$abi" -ge 1 ]; then
	for p in open create exec; do
		expect landlock "$p" EACCES
	done
	if [ "$abi" -ge 4 ]; then
		expect landlock bind EACCES
		expect landlock connect EACCES
	fi
	[ "$abi" -ge 6 ] && expect landlock signal EPERM
fi
check "landlock: datagrams still relayed" grep -q '"ok": true' "$T/client.landlock"
check "landlock: the missing filter said once" test "$(grep -c \
	'Confinement degraded: no seccomp filter (Invalid argument), ignoring$' \
	"$T/log.landlock")" -eq 1

probe_run seccomp landlock
for p in open create socket socket-udp-other socket-raw socket-netlink fork \
    signal setuid unshare-user recv-2 ioctl-fionbio exec; do
	expect seccomp "$p" EPERM
done
check "seccomp: datagrams still relayed" grep -q '"ok": true' "$T/client.seccomp"
check "seccomp: the missing Landlock said once" test "$(grep -c \
	'Confinement degraded: no Landlock (kernel older than 5\.13), seccomp alone, ignoring$' \
	"$T/log.seccomp")" -eq 1

probe_run control seccomp,landlock
check "control: open succeeds unconfined" grep -qx "open ok" "$T/probe.control"
check "control: a netlink socket too" grep -qx "socket-netlink ok" "$T/probe.control"
check "control: exec too" grep -qx "exec ok" "$T/probe.control"

udp_relay "$port" || exit 1
check "relaying: Seccomp: 2 (filter mode)" grep -Pq '^Seccomp:\t2$' "/proc/$RELAY_PID/status"
check "relaying: NoNewPrivs: 1" grep -Pq '^NoNewPrivs:\t1$' "/proc/$RELAY_PID/status"
finish
