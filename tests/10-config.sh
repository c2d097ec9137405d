#!/usr/bin/env bash
# Goal of this test: the per-port configuration file is obeyed, and a bad
# one is refused safely. A rule sends the relay's port to a backend on a
# different port; a rule with an idle timeout applies it; a file with one
# bad line refuses the connection with a RST and names file:line;
# --check-config validates offline with the right exit status.
# Modes: accept served
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

backend echo || exit 1
port=$(free_port) || exit 1
conf="$T/v6fwd.conf"
cat >"$conf" <<CONF
# relay port -> the backend's port
$port 127.0.0.1:$BACKEND_PORT idle-timeout=1s
CONF
check "--check-config accepts a valid file" "$V6FWD" --check-config -f "$conf"
relay "$port" -f "$conf" || exit 1
check "rule's target used" client echo --arg 100
check "record names the rule's target" log_has "-> 127\.0\.0\.1:$BACKEND_PORT: client closed first"
check "rule's idle timeout applied" client expect-end --expect rst
check "idle timeout logged" log_has "idle timeout"

printf '%s 127.0.0.1:%s\n%s 127.0.0.1:%s idle-timeout=soon\n' \
	"$port" "$BACKEND_PORT" 9999 "$BACKEND_PORT" >"$conf"
check "--check-config rejects it, exit 4" sh -c "'$V6FWD' --check-config -f '$conf'; test \$? -eq 4"
check "--check-config names file and line" sh -c "'$V6FWD' --check-config -f '$conf' | grep -q '$conf:2: expected 0'"
: >"$T/relay.log"
check "bad file: connection refused with a RST" client expect-end --expect rst
check "bad file: file:line in the log" log_has "Refusing the connection, the configuration is invalid: $conf:2: expected 0"
[ "$MODE" = accept ] && check "bad file: exit status 4" log_has "died with code 4"
kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null

port=$(free_port) || exit 1
relay "$port" -f "$T/missing.conf" || exit 1
check "a named file that is missing refuses" client expect-end --expect rst
check "and says so" log_has "missing\.conf: No such file or directory"
finish
