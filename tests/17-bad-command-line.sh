#!/usr/bin/env bash
# Goal of this test: a bad command line under activation resets the client,
# never a clean FIN, exits with status 2 and leaves a record that says so
# (issue 10, item 7); and -f FILE with a target on the command line, where
# the file would never be read, is such a bad command line (item 12). Each
# case once under systemd-socket-activate (the client, the exit status, the
# message and the record on stderr) and once typed at a shell, where there
# is no client: the message and the usage on stderr, status 2.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

echo "1 127.0.0.1:1" >"$T/v6fwd.conf"

# bad NAME "MESSAGE (extended regex)" V6FWD-ARGUMENTS...
bad() {
	local name=$1 msg=$2 port out rc pid
	shift 2
	port=$(free_port) || return 1
	relay "$port" "$@" || return 1
	out=$(timeout 10 "${PEER_ARGV[@]}" client expect-end "$RELAY_PORT" --expect rst 2>&1)
	rc=$?
	pid=$(instance) || { fail "$name: instance started" "none"; stop_relay; return; }
	check "$name: the client gets a RST, not a FIN ($out)" test "$rc" -eq 0
	check "$name: exit status 2" test "$(exit_code "$pid")" = 2
	check "$name: the message says what is wrong" log_has \
		"^v6fwd: \[::1\]:[0-9]+: Refusing the connection, the command line is invalid: $msg$"
	check "$name: the record says so" log_has \
		"^v6fwd: \[::1\]:[0-9]+ -> \[::1\]:$port: invalid command line, client reset; "
	stop_relay
	out=$("$V6FWD" "$@" 2>&1 </dev/null)
	rc=$?
	check "$name: typed at a shell: status 2 ($rc)" test "$rc" -eq 2
	check "$name: typed at a shell: the message, then the usage" \
		grep -Eqz "^v6fwd: $msg"$'\n'"usage: v6fwd " <<<"$out"
}

bad "-c 0" "--connect-timeout=0: expected a time from 1ms to 24h, such as 500ms, 5s or 1m" -c 0
bad "-f FILE with a target" "-f $T/v6fwd.conf and a target exclude each other: with a target on the command line the file is not read" \
	-f "$T/v6fwd.conf" 127.0.0.1:1
bad "two targets" "one target at most, got '127.0.0.1:1' and '127.0.0.1:2'" 127.0.0.1:1 127.0.0.1:2
bad "unknown option" "unknown option --no-such-option" --no-such-option
bad "a missing value" "option -i needs a value" -i
finish
