#!/usr/bin/env bash
# Goal of this test: a target that cannot be reached is reported with the
# client, the target and the cause, and the client learns at once with a
# RST. (1) Connection refused. (2) A target that never answers the SYN (a
# listener whose accept queue is full drops it): the connect timeout ends
# the attempt. (3) A host name that does not resolve.
# Modes: accept served
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

# A refused target: the default one, 127.0.0.1 on the relay's port, so a
# port nothing listens on, from free_port: below the ephemeral range, where
# no peer bound to port 0 can be.
port=$(free_port) || exit 1
relay "$port" || exit 1
check "refused target: client gets a RST" client expect-end --expect rst
check "refusal logged with client, target and cause" log_has "^v6fwd: \[::1\]:[0-9]+: Failed to connect to 127\.0\.0\.1:$port: Connection refused$"
# Only the activator logs each instance's exit status.
[ "$MODE" = accept ] && check "instance exits with status 5" log_has "died with code 5"
kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null

# A backlog-0 listener, filled, drops further SYNs: a silent target.
silent_target || exit 1
silent=$SILENT_PORT
relay 0 --connect-timeout=700ms "127.0.0.1:$silent" || exit 1
start=$(date +%s%N)
check "silent target: client gets a RST" client expect-end --expect rst
elapsed=$((($(date +%s%N) - start) / 1000000))
check "connect timeout logged" log_has "Failed to connect to 127\.0\.0\.1:$silent: Connection timed out"
check "gave up after the 700 ms timeout, not before (${elapsed} ms)" test "$elapsed" -ge 650
kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null

relay 0 no-such-host.invalid || exit 1
check "unresolvable target: client gets a RST" client expect-end --expect rst
check "resolution failure logged" log_has "Failed to resolve no-such-host\.invalid:$RELAY_PORT"
finish
