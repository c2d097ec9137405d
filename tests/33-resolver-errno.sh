#!/usr/bin/env bash
# Goal of this test: a resolution that fails with a system error says which
# (issue 10, item 12): getaddrinfo()'s EAI_SYSTEM ("System error") keeps
# its errno in the message. In private network and mount namespaces,
# /etc/resolv.conf is covered by a Unix socket, which the resolver cannot
# open (ENXIO): glibc then returns EAI_SYSTEM with errno ENXIO, and v6fwd
# must say "No such device or address". Also, with RLIMIT_NOFILE so low
# that v6fwd cannot make the pipe to its resolver child, the message is
# "Too many open files". Each time the client gets a RST, the record says
# unresolved, and the exit status is 5.
#
# RLIMIT_NOFILE cannot make the resolver itself fail with EAI_SYSTEM: the
# child closes the pipe's read end, so it always has one descriptor free,
# and it opens its files and its socket one at a time; a socket it cannot
# open would be EAI_AGAIN ("Temporary failure in name resolution") anyway.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
in_private_net "$@"

over /etc/nsswitch.conf "hosts: files dns" || exit 1
name=v6fwd-target.example

# unresolved NAME "MESSAGE (extended regex)" [activator command prefix...]
unresolved() {
	local what=$1 msg=$2 port out rc pid
	shift 2
	port=$(free_port) || return 1
	activate "[::1]:$port" -- "$@" "$V6FWD" "$name:80" || return 1
	out=$(timeout 10 "${PEER_ARGV[@]}" client expect-end "$RELAY_PORT" --expect rst 2>&1)
	rc=$?
	pid=$(instance) || { fail "$what: instance started" "none"; stop_relay; return; }
	check "$what: the client gets a RST ($out)" test "$rc" -eq 0
	check "$what: the message keeps the errno" \
		log_has "^v6fwd: \[::1\]:[0-9]+: Failed to resolve $name:80: $msg$"
	check "$what: the record says unresolved" \
		log_has "-> $name:80: target name not resolved, client reset;"
	check "$what: exit status 5" test "$(exit_code "$pid")" = 5
	grep '^v6fwd: .*Failed to resolve' "$T/relay.log" | sed 's/^/    /'
	stop_relay
}

# /etc/resolv.conf a socket: open() fails with ENXIO.
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' \
	"$T/resolv.sock" || exit 1
mount --bind "$T/resolv.sock" /etc/resolv.conf || exit 1
check "the resolver says EAI_SYSTEM, errno ENXIO (as Python sees it)" python3 -c '
import errno, socket, sys
try:
    socket.getaddrinfo(sys.argv[1], None, socket.AF_INET, socket.SOCK_STREAM)
except socket.gaierror as e:
    sys.exit("gaierror %s" % e)
except OSError as e:
    sys.exit(e.errno != errno.ENXIO)
sys.exit("resolved")' "$name"
unresolved "EAI_SYSTEM" "No such device or address"
umount /etc/resolv.conf || exit 1

over /etc/resolv.conf "nameserver 127.0.0.1" || exit 1
unresolved "RLIMIT_NOFILE 5" "Too many open files" prlimit --nofile=5
finish
