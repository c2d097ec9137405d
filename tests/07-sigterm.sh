#!/usr/bin/env bash
# Goal of this test: SIGTERM (what systemctl stop sends) ends an instance
# promptly, resets both sides and leaves a record.
# Modes: accept served
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

backend never-read || exit 1
relay "$BACKEND_PORT" || exit 1
$PEER client expect-end "$RELAY_PORT" --expect rst >"$T/client.out" 2>&1 &
cpid=$!
PIDS+=("$cpid")
wait_until 50 instances || { fail "instance started" "none"; finish; }
# Relaying: the backend holds the relay's connection (slow under valgrind).
wait_until 100 sh -c "ss -Htn state established dst 127.0.0.1:$BACKEND_PORT | grep -q ." ||
	{ fail "instance connected to the backend" "no connection"; finish; }
kill -TERM "$(instances)"
check "instance gone within 1 s" no_instances 10
wait "$cpid"
rc=$?
check "client got a reset ($(cat "$T/client.out"))" test "$rc" -eq 0
check "logged as terminated" log_has "terminated by signal, both sides reset"
finish
