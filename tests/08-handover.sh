#!/usr/bin/env bash
# Goal of this test: every wrong hand-over gets a message naming what is
# wrong, exit status 3, within a second, and no hang: nothing passed, more
# than one socket, not a socket, a Unix socket, a listening socket on stdin
# (inetd "wait"). A listening socket passed by systemd (Accept=no) is not
# wrong: it is served (tests/6N-served-*.sh); nor is a UDP socket: it is
# relayed (tests/7N-udp-*.sh, where the wrong datagram hand-overs are).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

# expect NAME REGEX COMMAND...: status 3 within 1 s and the message.
expect() {
	local name=$1 re=$2 rc
	shift 2
	timeout 1 "$@" >"$T/out" 2>&1 </dev/null
	rc=$?
	if [ "$rc" -ne 3 ]; then
		fail "$name" "exit status $rc, wanted 3: $(tr '\n' ' ' <"$T/out")"
	elif ! grep -Eq -- "$re" "$T/out"; then
		fail "$name" "message: $(tr '\n' ' ' <"$T/out")"
	else
		pass "$name"
	fi
}

expect "started by hand" "no connection was passed: LISTEN_FDS is not set" "$V6FWD"
expect "LISTEN_FDS=0" "no connection was passed" env LISTEN_FDS=0 "$V6FWD"
expect "LISTEN_PID of another process" "no connection was passed" \
	env LISTEN_FDS=1 LISTEN_PID=1 "$V6FWD"
# shellcheck disable=SC2016 # $$ is for the inner shell
expect "fd 3 is a file" "fd 3 is a regular file, not a socket" \
	bash -c 'exec 3</etc/hostname; LISTEN_FDS=1 LISTEN_PID=$$ exec "$0"' "$V6FWD"
# shellcheck disable=SC2016 # $$ is for the inner shell
expect "fd 3 not open" "fd 3 is not open" \
	bash -c 'exec 3<&-; LISTEN_FDS=1 LISTEN_PID=$$ exec "$0"' "$V6FWD"

# The activator without --accept passes its listening socket(s) at the
# first connection, as systemd does with Accept=no.
activate_and_poke() {
	local port
	port=$(free_port) || return 1
	timeout 2 systemd-socket-activate "$@" -l "[::1]:$port" "$V6FWD" \
		>"$T/out" 2>&1 &
	local apid=$!
	wait_until 20 grep -q "^Listening on" "$T/out" || return 1
	if [ "$1" = --datagram ]; then
		python3 -c "import socket; socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).sendto(b'x', ('::1', $port))"
	else
		python3 -c "import socket; socket.create_connection(('::1', $port), timeout=2).recv(1)" 2>/dev/null
	fi
	wait "$apid"
}
port2=$(free_port)
activate_and_poke -l "[::1]:$port2"
check "two sockets passed: refused with the count" \
	grep -q "systemd passed 2 sockets, v6fwd takes exactly one: the socket unit must have one Listen line" "$T/out"

activate_and_poke --datagram
check "a UDP socket is relayed, not refused" grep -q "v6fwd: Relaying \[::1\]:[0-9]*/udp" "$T/out"

sock="$T/unix.sock"
timeout 2 systemd-socket-activate --accept -l "$sock" "$V6FWD" >"$T/out" 2>&1 &
apid=$!
wait_until 20 test -S "$sock"
python3 -c "import socket; s=socket.socket(socket.AF_UNIX); s.connect('$sock'); s.settimeout(2); s.recv(1)" 2>/dev/null
wait "$apid"
check "Unix socket refused" grep -q "is not an IP socket" "$T/out"

# inetd's "wait" hands over the listening socket itself, on stdin.
port=$(free_port) || exit 1
expect "listening socket on stdin (inetd wait)" \
	"standard input is a listening socket: inetd must hand over the connection" \
	python3 -c 'import os, socket, sys
s = socket.socket(socket.AF_INET6); s.bind(("::1", int(sys.argv[2]))); s.listen()
os.dup2(s.fileno(), 0); os.execv(sys.argv[1], [sys.argv[1]])' "$V6FWD" "$port"
finish
