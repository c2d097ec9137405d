#!/usr/bin/env bash
# Goal of this test: half-close is forwarded faithfully. (1) The client
# sends a request and shuts down its sending side; the service answers only
# after that EOF, one second later (socat's 0.5 s timer would cut it, and
# 6tunnel, rinetd, redir and systemd-socket-proxyd lose it). (2) The service
# says goodbye and shuts down first while the client keeps sending 4 MiB:
# all of it must still arrive.
# Modes: accept served
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

backend late-reply --arg 1000 || exit 1
relay "$BACKEND_PORT" || exit 1
check "reply sent 1 s after the client's EOF arrives" client late-reply
check "client recorded as closing first" log_has "client closed first \(FIN\); 8 bytes from client, [0-9]+ bytes from target"
check "no instance left running" no_instances
kill "$RELAY_PID" "$BACKEND_PID"; wait "$RELAY_PID" "$BACKEND_PID" 2>/dev/null

size=$((4 * 1024 * 1024))
backend close-first || exit 1
relay "$BACKEND_PORT" || exit 1
check "target's EOF reaches the client, client still sends" client keep-sending --arg "$size"
expected=$(python3 -c "import sys; sys.path.insert(0, '$TOP/tests'); import peer; print(peer.stream_hash(1, $size))")
check "all 4 MiB sent after the target's EOF arrive" wait_until 100 grep -q "received $size $expected eof" "$T/report"
check "target recorded as closing first" log_has "target closed first \(FIN\)"
check "no instance left running" no_instances
finish
