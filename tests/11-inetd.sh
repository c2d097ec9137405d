#!/usr/bin/env bash
# Goal of this test: the inetd hand-over (the connection as stdin, stdout
# and stderr, no LISTEN_FDS) works, and no log line ever reaches the client
# through the socket it shares with stderr.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

backend echo || exit 1
RELAY_PORT=$BACKEND_PORT
systemd-socket-activate --accept --inetd -l "[::1]:$RELAY_PORT" "$V6FWD" >"$T/relay.log" 2>&1 &
RELAY_PID=$!
PIDS+=("$RELAY_PID")
wait_until 50 listening6 "$RELAY_PORT" || exit 1
check "echo through an inetd-style hand-over" client echo --arg 3000
check "instance exits" no_instances
# A refused target makes v6fwd log; the client must see a RST, not text.
kill "$BACKEND_PID"; wait "$BACKEND_PID" 2>/dev/null
check "refused target: RST and no log text sent to the client" client expect-end --expect rst
finish
