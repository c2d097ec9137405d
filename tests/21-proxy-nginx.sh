#!/usr/bin/env bash
# Goal of this test: a real receiver, nginx's stream module (Debian's nginx
# and libnginx-mod-stream), understands v6fwd's v1 and v2 headers: behind
# "listen ... proxy_protocol" it answers with $proxy_protocol_addr and
# $proxy_protocol_port, which must be the IPv6 client's address and port,
# intact. nginx runs from a configuration in the test's directory and is
# stopped by its PID. Without nginx the test is skipped, except under
# CI=true, where it fails.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

missing() {
	if [ "${CI:-}" = true ]; then
		fail "nginx with the stream module" "$1 (CI=true: install nginx libnginx-mod-stream)"
	else
		skip "nginx with the stream module" "$1"
	fi
	finish
}

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || missing "nginx is not installed"
module=
for m in /usr/lib/nginx/modules/ngx_stream_module.so \
    /usr/share/nginx/modules/ngx_stream_module.so; do
	[ -f "$m" ] && module="load_module $m;" && break
done
if [ -z "$module" ] && ! "$NGINX" -V 2>&1 | grep -Eq -- '--with-stream( |$)'; then
	missing "the stream module is not installed (libnginx-mod-stream)"
fi

port=$(free_port) || exit 1
cat >"$T/nginx.conf" <<EOF
$module
daemon off;
worker_processes 1;
pid $T/nginx.pid;
error_log $T/nginx-error.log info;
events { worker_connections 64; }
stream {
	server {
		listen 127.0.0.1:$port proxy_protocol;
		return "\$proxy_protocol_addr \$proxy_protocol_port\n";
	}
}
EOF
"$NGINX" -p "$T" -e "$T/nginx-error.log" -c "$T/nginx.conf" >"$T/nginx.out" 2>&1 &
PIDS+=("$!")
wait_until 50 listening4 "$port" ||
	{ fail "nginx starts" "$(tail -n 3 "$T/nginx.out" "$T/nginx-error.log")"; finish; }

for v in v1 v2; do
	relay "$port" --proxy-protocol=$v || exit 1
	out=$(client source)
	echo "nginx, $v: $out"
	check "nginx, $v: \$proxy_protocol_addr/port are the IPv6 client's" \
		grep -Eq '^local ::1 ([0-9]+) reply ::1 \1$' <<<"$out"
	check "nginx, $v: no instance left running" no_instances
	kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
done
check "nginx logged no PROXY protocol error" \
	sh -c "! grep -i 'broken header\|proxy protocol' '$T/nginx-error.log'"
finish
