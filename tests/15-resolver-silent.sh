#!/usr/bin/env bash
# Goal of this test: name resolution is bounded, and SIGTERM (systemctl
# stop) ends an instance at once in every phase before the relay (issue 10,
# item 5). In private network and mount namespaces, /etc/resolv.conf names
# a DNS server that reads every query and answers none, and the target is a
# name that is not in /etc/hosts: (1) with --connect-timeout=1s the client
# gets a RST after about 1 s and the log says "no answer within 1s"; (2)
# SIGTERM 0.5 s into the resolution ends the instance within a few tenths
# of a second, logged as terminated, exit status 0. (3) SIGTERM while
# connecting to a target that never answers the SYN ends it at once too.
# (The relay phase is test 07's; a blocked log write, test 13's.)
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
in_private_net "$@"

mute_dns || exit 1
name=v6fwd-target.example
check "the name is not in /etc/hosts" sh -c "! grep -qw '$name' /etc/hosts"

# (1) Bounded by the connect timeout.
relay 0 --connect-timeout=1s "$name" || exit 1
start=$(now_ms)
out=$(timeout 5 "${PEER_ARGV[@]}" client expect-end "$RELAY_PORT" --expect rst 2>&1)
rc=$?
took=$(($(now_ms) - start))
echo "silent resolver, --connect-timeout=1s: client: $out (${took} ms in all)"
check "resolution bounded: the client gets a RST" test "$rc" -eq 0
# The client's own figure, from its connect to the RST.
secs=$(sed -n 's/.* after \([0-9.]*\) s.*/\1/p' <<<"$out")
check "resolution bounded: after about 1 s, not before (${secs:-no} s)" \
	python3 -c "import sys; sys.exit(not 0.95 <= float(sys.argv[1]) <= 3)" "${secs:-0}"
check "resolution bounded: the resolver was asked ($(cat "$T/dns.count" 2>/dev/null))" \
	grep -Eq '^queries [1-9]' "$T/dns.count"
check "resolution bounded: logged as no answer within 1s" \
	log_has "^v6fwd: \[::1\]:[0-9]+: Failed to resolve $name:$RELAY_PORT: no answer within 1s \(the connect timeout\)$"
check "resolution bounded: the record says unresolved" \
	log_has "-> $name:$RELAY_PORT: target name not resolved, client reset;"
check "resolution bounded: exit status 5" \
	test "$(exit_code "$(sed -n 's/^Spawned .* as PID \([0-9]*\)\.$/\1/p' "$T/relay.log")")" = 5
stop_relay

# term_after_half_a_second PHASE: SIGTERM to the instance started last,
# 0.5 s after it was spawned, while it is still in PHASE; how long until it
# is gone, and how it ended. KIDS are the processes it had forked then.
term_after_half_a_second() {
	local phase=$1 pid
	rm -f "$T/client.rc"
	(timeout 5 "${PEER_ARGV[@]}" client expect-end "$RELAY_PORT" --expect rst >"$T/client.out" 2>&1
		echo "$?" >"$T/client.rc") &
	PIDS+=("$!")
	pid=$(instance) || { fail "$phase: instance started" "none"; return; }
	sleep 0.5
	if ! alive "$pid"; then
		fail "$phase: still $phase after 0.5 s" "the instance had ended: $(cat "$T/relay.log")"
		return
	fi
	KIDS=$(pgrep -P "$pid")
	kill -TERM "$pid"
	wait_gone "$pid" 3000
	local st=$?
	echo "SIGTERM while $phase: instance gone ${GONE_MS} ms after it"
	check "$phase: SIGTERM ends the instance within a few tenths of a second (${GONE_MS} ms)" \
		test "$st" -eq 0 -a "$GONE_MS" -le 500
	wait_until 50 test -s "$T/client.rc"
	check "$phase: the client gets a RST ($(cat "$T/client.out"))" \
		test "$(cat "$T/client.rc")" = 0
	check "$phase: logged as terminated" log_has "^v6fwd: \[::1\]:[0-9]+: Terminated while $phase "
	check "$phase: the record says terminated" \
		log_has ": terminated by signal before relaying, client reset;"
	check "$phase: exit status 0" test "$(exit_code "$pid")" = 0
}

# (2) SIGTERM during the resolution, with the default 5 s connect timeout.
relay 0 "$name" || exit 1
term_after_half_a_second resolving
# resolver_gone: the resolver child the instance had forked is gone too.
# shellcheck disable=SC2317 # called through check
resolver_gone() { [ -n "$KIDS" ] && wait_gone "$KIDS" 1000; }
check "resolving: the resolver child is gone too" resolver_gone
stop_relay

# (3) SIGTERM while connecting to a target that drops the SYN.
silent_target || exit 1
relay 0 "127.0.0.1:$SILENT_PORT" || exit 1
term_after_half_a_second connecting
stop_relay
finish
