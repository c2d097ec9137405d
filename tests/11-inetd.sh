#!/usr/bin/env bash
# Goal of this test: the inetd hand-over (the connection as stdin, stdout
# and stderr, no LISTEN_FDS) works, and no log line ever reaches the client
# through the socket it shares with stdout (and stderr, under inetd
# itself); a client v6fwd cannot serve gets its RST at once, not when the
# process exits: with a logger that stopped reading, the RST arrives
# while the instance is still waiting to log.
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
kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null

# stdout is the client too: a copy of the socket, which must not keep the
# connection open after v6fwd reset it. Seen with a logger that stopped
# reading (stderr a full FIFO), so that the instance outlives the reset.
FIFO=$T/stderr.fifo
full_fifo "$FIFO" || exit 1
# shellcheck disable=SC2016 # $1 is the inner bash's
systemd-socket-activate --accept --inetd -l "[::1]:$RELAY_PORT" \
	bash -c 'exec 2>"$1"; shift; exec "$@"' bash "$FIFO" "$V6FWD" >"$T/relay.log" 2>&1 &
RELAY_PID=$!
PIDS+=("$RELAY_PID")
wait_until 50 listening6 "$RELAY_PORT" || exit 1
start=$(now_ms)
client expect-end --expect rst >"$T/client.out" 2>&1
rc=$?
took=$(($(now_ms) - start))
check "stalled logger: RST at once ($(cat "$T/client.out"), ${took} ms)" \
	test "$rc" -eq 0 -a "$took" -lt 500
check "stalled logger: the instance was still waiting to log" \
	pgrep -P "$RELAY_PID"
check "stalled logger: the instance exits within its 1 s budget" no_instances 30
finish
