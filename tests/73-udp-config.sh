#!/usr/bin/env bash
# Goal of this test: UDP rules in the configuration file are UDP's own.
# "PORT/udp" sends the datagrams of that port where it says, with its
# settings, while a TCP rule for the same port number does not apply;
# --check-config prints UDP rules as understood and refuses a TCP setting
# on one (proxy-protocol=), with the line. A relay handed a file with an
# error does not start (exit 4, file:line); a TCP option on the command
# line is refused (exit 2, with what to use instead). A wrong datagram
# hand-over is refused with exit 3: an IPv4 socket, a Unix one.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/udplib.sh
. "$(dirname "$0")/udplib.sh"

udp_backend echo || exit 1
port=$(udp_free_port) || exit 1
conf=$T/v6fwd.conf
cat >"$conf" <<CONF
# TCP on this port goes elsewhere; UDP to the backend.
$port 127.0.0.1:9
$port/udp 127.0.0.1:$BACKEND_PORT idle-timeout=1s max-flows=7 max-flows-per-source=3
CONF
"$V6FWD" --check-config -f "$conf" >"$T/check" 2>&1
check "--check-config: valid" test $? -eq 0
check "--check-config prints the UDP rule with its settings" grep -qx \
	"$conf:3: $port/udp -> 127.0.0.1:$BACKEND_PORT idle-timeout=1s max-flows=7 max-flows-per-source=3" \
	"$T/check"
check "and the TCP rule for the same port apart" grep -qx \
	"$conf:2: $port -> 127.0.0.1:9" "$T/check"

udp_relay "$port" -f "$conf" || exit 1
check "the UDP rule applies: its target, limits and timeout" log_has \
	"Relaying \[::1\]:$port/udp to 127.0.0.1:$BACKEND_PORT: at most 7 flows, 3 per source; idle timeout 1s"
$UDPPEER sizes "$port" --sizes 10,20 >"$T/out" 2>&1
check "datagrams go to the rule's target" grep -q '"ok": true' "$T/out"
wait_until 50 log_has "idle timeout \(1s\); 2 datagrams"
check "and end after the rule's idle timeout" log_has \
	"idle timeout \(1s\); 2 datagrams \(30 bytes\) from client"
kill "$RELAY_PID"

printf '%s/udp - proxy-protocol=v2\n' "$port" >"$conf"
"$V6FWD" --check-config -f "$conf" >"$T/check" 2>&1
check "--check-config refuses proxy-protocol= on a UDP rule, exit 4" test $? -eq 4
check "and says why, with the line" grep -q \
	"$conf:1: proxy-protocol= is for TCP: v6fwd sends no PROXY header over UDP" "$T/check"
udp_relay "$port" -f "$conf" || exit 1
wait "$RELAY_PID"
rc=$?
check "a relay handed that file does not start: exit 4" test "$rc" -eq 4
check "and names the file and line" log_has \
	"Refusing to relay the datagram socket, the configuration is invalid: $conf:1: proxy-protocol= is for TCP"

udp_relay "$port" --keepalive=60s 127.0.0.1 || exit 1
wait "$RELAY_PID"
rc=$?
check "a TCP option on the command line: exit 2" test "$rc" -eq 2
check "with what to use instead" log_has \
	"Refusing to relay the datagram socket, the command line is invalid: keepalive= is for TCP: a UDP flow ends after its idle-timeout="
udp_relay "$port" --idle-timeout=0 127.0.0.1 || exit 1
wait "$RELAY_PID"
check "idle-timeout=0 (never) refused for UDP: exit 2" test $? -eq 2

# Wrong hand-overs: exit 3, each with what it found.
handover() {
	python3 - "$V6FWD" "$1" >"$T/out" 2>&1 <<'PY'
import os, socket, sys
kind = sys.argv[2]
if kind == "ipv4":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
elif kind == "unix":
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
else:
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.connect(("::1", 9))
os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
os.execv(sys.argv[1], [sys.argv[1]])
PY
}
handover ipv4
check "an IPv4 UDP socket: exit 3, said" sh -c "test $? -eq 3 && grep -q 'fd 3 is an IPv4 UDP socket: v6fwd relays IPv6 clients' '$T/out'"
handover unix
check "a Unix datagram socket: exit 3, said" sh -c "test $? -eq 3 && grep -q 'fd 3 is a datagram socket but not an IP one' '$T/out'"
handover connected
check "a connected UDP socket: exit 3, said" sh -c "test $? -eq 3 && grep -q 'fd 3 is a connected UDP socket' '$T/out'"
finish
