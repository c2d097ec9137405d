#!/usr/bin/env bash
# Goal of this test: every connection after the hand-over leaves exactly one
# journal record, with MESSAGE_ID=3f1c5e0a9b8d4c27a6e1d2b7c4f08e93 and
# V6FWD_END naming how it ended (issue 10, item 6), and a client v6fwd
# cannot serve always gets a RST. In private network and mount namespaces,
# v6fwd logs to a stand-in journald (tests/standin.py), which records each
# datagram's fields and its sender's PID, so that each instance's records
# are counted. Outcomes: fin and rst (relayed), idle-timeout, refused,
# unreachable (no route in this namespace), timeout (a target that drops
# the SYN), unresolved, config (an invalid file), usage (a bad command
# line), terminated (SIGTERM while connecting). no-source is test 31's.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
in_private_net "$@"

ID=3f1c5e0a9b8d4c27a6e1d2b7c4f08e93
# Names are looked up in /etc/hosts only: no DNS to wait for.
over /etc/nsswitch.conf "hosts: files" || exit 1
journald || exit 1
silent_target || exit 1
backend never-read || exit 1
idle_port=$BACKEND_PORT
backend echo || exit 1
echo_port=$BACKEND_PORT
printf '%s\n' "$echo_port 127.0.0.1:$echo_port no-such-setting=1" >"$T/bad.conf"

# outcome END PRIORITY "CLIENT MODE AND OPTIONS" [v6fwd arguments]: one
# connection through a new relay that logs to the journal; the client's
# findings, then the instance's records, checked. With TERM_AFTER set, the
# instance gets a SIGTERM that many seconds after it was spawned.
outcome() {
	local end=$1 prio=$2 ca port pid out rc n
	read -ra ca <<<"$3"
	shift 3
	port=$(free_port) || return 1
	: >"$T/relay.log"
	activate "[::1]:$port" -E "JOURNAL_STREAM=$(journal_stream "$T/relay.log")" \
		-- "$V6FWD" "$@" || return 1
	if [ -n "${TERM_AFTER:-}" ]; then
		(pid=$(instance) && sleep "$TERM_AFTER" && kill -TERM "$pid") &
		PIDS+=("$!")
	fi
	out=$(timeout 10 "${PEER_ARGV[@]}" client "${ca[0]}" "$RELAY_PORT" "${ca[@]:1}" 2>&1)
	rc=$?
	pid=$(instance) || { fail "$end: instance started" "none"; stop_relay; return; }
	wait_gone "$pid" 5000
	journal_sync
	stop_relay
	check "$end: the client's view ($out)" test "$rc" -eq 0
	n=$(journal MESSAGE_ID=$ID "_PID=$pid" --count)
	check "$end: exactly one record for the connection ($n)" test "$n" = 1
	check "$end: V6FWD_END=$end" \
		test "$(journal MESSAGE_ID=$ID "_PID=$pid" --field V6FWD_END)" = "$end"
	check "$end: PRIORITY=$prio" \
		test "$(journal MESSAGE_ID=$ID "_PID=$pid" --field PRIORITY)" = "$prio"
	check "$end: the record names the client and carries the connection's id" \
		test "$(journal MESSAGE_ID=$ID "_PID=$pid" V6FWD_CLIENT=::1 --field V6FWD_ID |
			grep -Ec '^[0-9a-f]{32}$')" = 1
	echo "    $(journal MESSAGE_ID=$ID "_PID=$pid" --field MESSAGE)"
}

outcome fin 6 "echo --arg 1000" "127.0.0.1:$echo_port"
backend rst --arg 1000 || exit 1
outcome rst 6 "expect-rst --arg 1000" "127.0.0.1:$BACKEND_PORT"
outcome idle-timeout 6 "expect-end --expect rst" --idle-timeout=300ms "127.0.0.1:$idle_port"
outcome refused 3 "expect-end --expect rst" "127.0.0.1:$(free_port)"
outcome unreachable 3 "expect-end --expect rst" 192.0.2.1:80
outcome timeout 3 "expect-end --expect rst" --connect-timeout=300ms "127.0.0.1:$SILENT_PORT"
outcome unresolved 3 "expect-end --expect rst" no-such-host.invalid:80
outcome config 3 "expect-end --expect rst" -f "$T/bad.conf"
outcome usage 3 "expect-end --expect rst" -c 0
# SIGTERM 0.5 s into connecting to a target that drops the SYN.
TERM_AFTER=0.5 outcome terminated 6 "expect-end --expect rst" "127.0.0.1:$SILENT_PORT"
finish
