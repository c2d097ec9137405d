#!/usr/bin/env bash
# Goal of this test: the haproxy recipe of v6fwd(8) makes Debian's haproxy
# see the IPv6 client, with v1 and v2 headers. haproxy runs in the
# foreground (-db), in a network namespace of the test's own, from the
# page's frontend and backend as written, after a global section with a
# pid file and the defaults' timeouts. For each version, through v6fwd on
# [::1]:25: haproxy's log line (on its standard output, as the recipe
# logs) must name the IPv6 client and port, and for v2 the id v6fwd logged
# (fc_pp_unique_id); and the service behind (127.0.0.1:10026) must get
# haproxy's own v2 header naming the same client, as send-proxy-v2
# promises. haproxy is stopped by its PID.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
in_private_net "$@"

HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
[ -x "$HAPROXY" ] || cannot_run "haproxy" "not installed (apt-get install haproxy)"
{
	cat <<-EOF
		global
		    pidfile $T/haproxy.pid
		defaults
		    timeout client 5s
		    timeout connect 5s
		    timeout server 5s
	EOF
	recipe haproxy
} >"$T/haproxy.cfg" || exit 1
# The service behind, which records what it is sent.
$PEER serve record 10026 --report "$T/report" >/dev/null 2>"$T/backend.err" &
PIDS+=("$!")
"$HAPROXY" -db -f "$T/haproxy.cfg" >"$T/haproxy.log" 2>&1 &
PIDS+=("$!")
if ! server_up 10025 "$!" || ! wait_until 50 listening4 10026; then
	fail "haproxy starts" "$(tail -n 3 "$T/haproxy.log")"
	finish
fi

for v in v1 v2; do
	: >"$T/report"
	relay 25 --proxy-protocol=$v 127.0.0.1:10025 || exit 1
	client first-bytes >/dev/null
	log_has ', id [0-9a-f]{32}$' || { fail "haproxy, $v" "no connection record"; continue; }
	rec=$(grep -E '^v6fwd: \[::1\]:[0-9]+ -> .*, id [0-9a-f]{32}$' "$T/relay.log" | tail -n 1)
	cport=$(sed -E 's/^v6fwd: \[::1\]:([0-9]+) .*/\1/' <<<"$rec")
	id=${rec##*, id }
	[ $v = v1 ] && id=-
	check "haproxy, $v: logs the IPv6 client and port, ::1:$cport" \
		wait_until 50 grep -Eq "^::1:$cport id [^ ]+ from_v6fwd mail/mail1 [0-9]+\$" "$T/haproxy.log"
	grep -E "^::1:$cport " "$T/haproxy.log"
	if [ $v = v2 ]; then
		check "haproxy, v2: its fc_pp_unique_id is the id v6fwd logged ($id)" \
			grep -Eq "^::1:$cport id $id " "$T/haproxy.log"
	fi
	wait_until 50 test -s "$T/report"
	got=$(python3 "$TOP/tests/proxy-decode.py" "$(sed -n 's/^peer 127\.0\.0\.1 first //p' "$T/report")" 2>&1)
	echo "haproxy, $v: the service behind got: $got"
	check "haproxy, $v: send-proxy-v2 passes the IPv6 client and port on" \
		grep -Eq "^v2 TCP6 ::1 $cport ::1 25 " <<<"$got"
	check "haproxy, $v: no instance left running" no_instances
	kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
done
check "no client seen as 127.0.0.1" sh -c "! grep '^127\.0\.0\.1:' '$T/haproxy.log'"
check "haproxy logged no PROXY protocol error" sh -c "! grep -i 'proxy protocol' '$T/haproxy.log'"
finish
