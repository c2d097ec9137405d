#!/usr/bin/env bash
# Goal of this test: the nginx recipes of v6fwd(8), stream and http, make
# Debian's nginx (with libnginx-mod-stream) see the IPv6 client, with v1
# and v2 headers. One private nginx in the foreground (its own prefix, pid
# and error log), in a network namespace of the test's own, runs both of
# the page's blocks as written; the http server's "..." is filled with a
# certificate, an access log and an answer of $remote_addr $remote_port.
# For each version, through v6fwd: (1) on the stream server, the service
# behind it (127.0.0.1:10026) must get nginx's own header naming the IPv6
# client and port, as the recipe's "proxy_protocol on" promises, and, as
# the page warns, nginx's own IPv4 address as the destination of that TCP6
# line, which strict receivers refuse; (2) on
# the http server, an HTTPS request must be answered, and logged, with ::1
# and the client's port, never 127.0.0.1. nginx is stopped by its PID.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
in_private_net "$@"

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || cannot_run "nginx" "not installed (apt-get install nginx libnginx-mod-stream)"
module=
for m in /usr/lib/nginx/modules/ngx_stream_module.so \
    /usr/share/nginx/modules/ngx_stream_module.so; do
	[ -f "$m" ] && module="load_module $m;" && break
done
if [ -z "$module" ] && ! "$NGINX" -V 2>&1 | grep -Eq -- '--with-stream( |$)'; then
	cannot_run "nginx with the stream module" "not installed (apt-get install libnginx-mod-stream)"
fi
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-subj /CN=localhost -days 2 -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null || exit 1
{
	cat <<-EOF
		$module
		daemon off;
		worker_processes 1;
		pid $T/nginx.pid;
		error_log $T/nginx-error.log info;
		events { worker_connections 64; }
	EOF
	recipe nginx-stream
	recipe nginx-http '        ...' "$(cat <<-EOF
		        ssl_certificate $T/cert.pem;
		        ssl_certificate_key $T/key.pem;
		        access_log $T/access.log;
		        return 200 "\$remote_addr \$remote_port\n";
	EOF
	)"
} >"$T/nginx.conf" || exit 1
# The service behind the stream server, which records what it is sent.
$PEER serve record 10026 --report "$T/report" >/dev/null 2>"$T/backend.err" &
PIDS+=("$!")
"$NGINX" -p "$T" -e "$T/nginx-error.log" -c "$T/nginx.conf" >"$T/nginx.out" 2>&1 &
PIDS+=("$!")
if ! server_up 10025 "$!" || ! server_up 8443 "$!" || ! wait_until 50 listening4 10026; then
	fail "nginx starts" "$(tail -n 3 "$T/nginx.out" "$T/nginx-error.log")"
	finish
fi

# The IPv6 client's port of the relay's last connection record.
client_port() {
	log_has '^v6fwd: \[::1\]:[0-9]+ -> .*, id [0-9a-f]{32}$' &&
		grep -E '^v6fwd: \[::1\]:[0-9]+ -> ' "$T/relay.log" | tail -n 1 |
		sed -E 's/^v6fwd: \[::1\]:([0-9]+) .*/\1/'
}
for v in v1 v2; do
	: >"$T/report"
	relay 25 --proxy-protocol=$v 127.0.0.1:10025 || exit 1
	client first-bytes >/dev/null
	cport=$(client_port)
	wait_until 50 test -s "$T/report"
	got=$(python3 -c 'import sys; print(bytes.fromhex(sys.argv[1]).split(b"\r\n")[0].decode())' \
		"$(sed -n 's/^peer 127\.0\.0\.1 first //p' "$T/report")")
	echo "nginx stream, $v: the service behind got: $got"
	check "nginx stream, $v: passes the IPv6 client and port on, [::1]:$cport" \
		grep -Eq "^PROXY TCP6 ::1 [^ ]+ $cport [0-9]+\$" <<<"$got"
	check "nginx stream, $v: with its own IPv4 address as the destination, as the page warns" \
		grep -Eq "^PROXY TCP6 [^ ]+ 127\.0\.0\.1 [0-9]+ 10025\$" <<<"$got"
	kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null

	relay 443 --proxy-protocol=$v 127.0.0.1:8443 || exit 1
	out=$(python3 "$TOP/tests/speak.py" https 443 2>&1)
	echo "nginx http, $v: $(tr '\n' ' ' <<<"$out")"
	cport=$(sed -n 's/^port //p' <<<"$out")
	check "nginx http, $v: \$remote_addr \$remote_port are ::1 $cport" \
		test "$(tail -n 1 <<<"$out")" = "::1 $cport"
	check "nginx http, $v: logs ::1" \
		wait_until 50 grep -q '^::1 - - .*"GET / HTTP/1.0" 200 ' "$T/access.log"
	check "nginx, $v: no instance left running" no_instances
	kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
done
check "nginx http: no client seen as 127.0.0.1" sh -c "! grep '^127\.0\.0\.1 ' '$T/access.log'"
check "nginx logged no PROXY protocol error" \
	sh -c "! grep -i 'broken header\|proxy protocol' '$T/nginx-error.log'"
finish
