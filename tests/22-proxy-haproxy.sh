#!/usr/bin/env bash
# Goal of this test: a real receiver, haproxy (Debian's), understands
# v6fwd's v1 and v2 headers: behind "bind ... accept-proxy" it answers an
# HTTP request with %[src] and %[src_port], which must be the IPv6 client's
# address and port, intact; for v2 also with %[fc_pp_unique_id], which must
# be the id v6fwd logged for the connection. haproxy runs in the foreground
# from a configuration in the test's directory and is stopped by its PID.
# Without haproxy the test is skipped, except under CI=true, where it fails.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
if [ ! -x "$HAPROXY" ]; then
	if [ "${CI:-}" = true ]; then
		fail "haproxy" "not installed (CI=true: install haproxy)"
	else
		skip "haproxy" "not installed"
	fi
	finish
fi

port=$(free_port) || exit 1
cat >"$T/haproxy.cfg" <<EOF
global
	pidfile $T/haproxy.pid
defaults
	mode http
	timeout client 5s
	timeout connect 5s
	timeout server 5s
frontend who
	bind 127.0.0.1:$port accept-proxy
	http-request return status 200 content-type text/plain lf-string "%[src] %[src_port] %[fc_pp_unique_id]\n"
EOF
"$HAPROXY" -db -f "$T/haproxy.cfg" >"$T/haproxy.log" 2>&1 &
PIDS+=("$!")
wait_until 50 listening4 "$port" || { fail "haproxy starts" "$(tail -n 3 "$T/haproxy.log")"; finish; }

for v in v1 v2; do
	relay "$port" --proxy-protocol=$v || exit 1
	out=$(client source --arg 1)
	echo "haproxy, $v: $out"
	check "haproxy, $v: src and src_port are the IPv6 client's" \
		grep -Eq '^local ::1 ([0-9]+) reply ::1 \1( |$)' <<<"$out"
	if [ $v = v2 ]; then
		log_has ', id [0-9a-f]{32}$'
		id=$(grep -Eo ', id [0-9a-f]{32}$' "$T/relay.log" | tail -n 1)
		check "haproxy, v2: fc_pp_unique_id is the id v6fwd logged (${id#, id })" \
			grep -Eq " ${id#, id }$" <<<"$out"
	fi
	check "haproxy, $v: no instance left running" no_instances
	kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
done
finish
