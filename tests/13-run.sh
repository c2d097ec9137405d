#!/usr/bin/env bash
# Goal of this test: "make run" (tools/run), the foreground relay for a
# host without systemd as PID 1, is v6fwd@PORT.socket's relay: it listens
# on [::]:PORT for IPv6 only, as BindIPv6Only=ipv6-only does, so that the
# IPv4 service keeps PORT, and hands each connection to its own v6fwd.
# systemd-socket-activate's own -l [::]:PORT is dual-stack and cannot even
# start there, which is why tools/run opens the socket itself.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

# shellcheck disable=SC2317 # called through check
bad_port() {
	local out
	out=$("$TOP/tools/run" 70000 :: "$V6FWD" 2>&1) && return 1
	grep -q 'port must be a number from 1 to 65535' <<<"$out"
}

backend echo || exit 1
RELAY_PORT=$BACKEND_PORT
if [ "$(cat /proc/sys/net/ipv6/bindv6only)" = 0 ]; then
	check "systemd-socket-activate -l [::]:PORT is dual-stack: refused while 127.0.0.1:PORT is taken" \
		sh -c "! timeout 5 systemd-socket-activate --accept -l '[::]:$RELAY_PORT' true"
else
	skip "systemd-socket-activate -l [::]:PORT is dual-stack" "net.ipv6.bindv6only=1 here"
fi
"$TOP/tools/run" "$RELAY_PORT" :: "$V6FWD" >"$T/relay.log" 2>&1 &
RELAY_PID=$!
PIDS+=("$RELAY_PID")
if ! wait_until 50 listening6 "$RELAY_PORT"; then
	fail "tools/run listens on [::]:$RELAY_PORT" "$(tail -n 3 "$T/relay.log" | tr '\n' ' ')"
	finish
fi
pass "tools/run listens on [::]:$RELAY_PORT beside the IPv4 service on 127.0.0.1:$RELAY_PORT"
check "echo through tools/run, to 127.0.0.1 on the same port" client echo --arg 3000
check "one v6fwd per connection, gone after it" no_instances
check "its record names the default target" log_has "-> 127\\.0\\.0\\.1:$RELAY_PORT: .*3000 bytes from client"
check "a port out of range is refused, and said so" bad_port
finish
