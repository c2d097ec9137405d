#!/usr/bin/env bash
# Goal of this test: the served mode collects every exited connection
# process while it stays busy, so that the limits count connections, not
# processes already gone. ppoll() that returns with the listener ready
# leaves a pending SIGCHLD undelivered; a server that reaped only when
# its handler ran let exited children pile up under a steady flood (240 at
# once under PID 1), and they went on counting against the per-source
# limit: 16 clients from one address were refused at 256. Here 16 clients
# from ::1 keep the listener busy for 3 s with short connections, under a
# per-source limit of 64 (four times the clients, for the processes that
# are still writing their record): every connection must be served.
# Modes: served
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

LOAD=$TOP/tests/v6load
[ -x "$LOAD" ] || { fail "tests/v6load built" "missing (make check builds it)"; finish; }
"$LOAD" server 127.0.0.1 >"$T/backend.out" 2>&1 &
PIDS+=("$!")
wait_until 50 grep -q '^port=' "$T/backend.out" || { fail "backend" "$(cat "$T/backend.out")"; finish; }
bport=$(sed -n 's/^port=//p' "$T/backend.out")
relay 0 --max-connections-per-source=64 "127.0.0.1:$bport" || exit 1

out=$(timeout 30 "$LOAD" short ::1 "$RELAY_PORT" 16 3000)
echo "    $out"
conns=$(sed -n 's/.*conns=\([0-9]*\).*/\1/p' <<<"$out")
errors=$(sed -n 's/.*errors=\([0-9]*\).*/\1/p' <<<"$out")
check "16 clients for 3 s: connections served (${conns:-none})" test "${conns:-0}" -ge 100
check "16 clients under a per-source limit of 64: none refused (${errors:-?} errors)" \
	test "${errors:-1}" -eq 0
check "no refusal logged" sh -c "! grep -q 'Too many incoming connections' '$T/relay.log'"
finish
