#!/usr/bin/env bash
# Goal of this test: --keepalive accepts what the kernel can do, and both
# legs really carry it (issue 10, item 8). The kernel takes TCP_KEEPIDLE up
# to 32767 s: --keepalive=10h is refused under activation (the client gets a
# RST, exit status 2, the message names the 32767 s limit), and so is
# keepalive=10h in the file (--check-config); 32767s is accepted, 32768s
# not. --keepalive=9h relays, and in a private network namespace (so that
# only this test's sockets are seen) ss shows the keepalive timer near 9 h
# on both the client leg and the target leg of the instance.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
in_private_net "$@"

backend never-read || exit 1

# Refused on the command line.
relay 0 --keepalive=10h "127.0.0.1:$BACKEND_PORT" || exit 1
out=$(timeout 5 "${PEER_ARGV[@]}" client expect-end "$RELAY_PORT" --expect rst 2>&1)
rc=$?
pid=$(instance) || exit 1
check "--keepalive=10h: the client gets a RST ($out)" test "$rc" -eq 0
check "--keepalive=10h: exit status 2" test "$(exit_code "$pid")" = 2
check "--keepalive=10h: the message names the kernel's limit" log_has \
	"Refusing the connection, the command line is invalid: --keepalive=10h: .*32767s.*the kernel's limit"
stop_relay

# Refused in the file; the limit itself accepted.
# conf VALUE: --check-config's status for a rule with keepalive=VALUE.
conf() {
	echo "$BACKEND_PORT - keepalive=$1" >"$T/v6fwd.conf"
	"$V6FWD" --check-config -f "$T/v6fwd.conf" >"$T/check.out" 2>&1
	echo $?
}
check "keepalive=10h in the file: invalid (status 4)" test "$(conf 10h)" = 4
check "keepalive=10h in the file: the message names the limit" \
	grep -q "32767s" "$T/check.out"
check "keepalive=32767s in the file: valid" test "$(conf 32767s)" = 0
check "keepalive=32768s in the file: invalid" test "$(conf 32768s)" = 4

# 9 h on both legs.
relay 0 --keepalive=9h "127.0.0.1:$BACKEND_PORT" || exit 1
timeout 10 "${PEER_ARGV[@]}" client expect-end "$RELAY_PORT" >"$T/client.out" 2>&1 &
PIDS+=("$!")
pid=$(instance) || exit 1
# timer LEG FILTER: the keepalive timer, in minutes, of the instance's
# socket on that leg (ss prints "timer:(keepalive,539min,0)").
timer() {
	ss -Htnoe state established "$2" |
		sed -n 's/.*timer:(keepalive,\([0-9]*\)min.*/\1/p' | head -n 1
}
# shellcheck disable=SC2317 # called through check and wait_until
near_9h() { local m; m=$(timer "$@"); [ -n "$m" ] && ((m >= 530 && m <= 540)); }
check "--keepalive=9h: relaying" wait_until 50 sh -c \
	"ss -Htn state established '( dport = :$BACKEND_PORT )' | grep -q ."
wait_until 50 near_9h client "( sport = :$RELAY_PORT )"
check "--keepalive=9h: client leg's timer near 9 h ($(timer client "( sport = :$RELAY_PORT )") min)" \
	near_9h client "( sport = :$RELAY_PORT )"
wait_until 50 near_9h target "( dport = :$BACKEND_PORT )"
check "--keepalive=9h: target leg's timer near 9 h ($(timer target "( dport = :$BACKEND_PORT )") min)" \
	near_9h target "( dport = :$BACKEND_PORT )"
check "--keepalive=9h: the instance warned of nothing" \
	sh -c "! grep -q 'Failed to set keepalive' '$T/relay.log'"
finish
