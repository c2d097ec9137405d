#!/usr/bin/env bash
# Goal of this test: clients that hold a connection without using it are
# ended by the configured limits, and the backend never sees a stray byte.
# (1) A client that connects and sends nothing: --idle-timeout=2s resets
# both sides after 2 s; the backend saw 0 bytes, then a RST. (2) A client
# that sends one byte a second: bytes are traffic, so --idle-timeout=2s
# leaves it alone for 5 s, and ends it 2 s after it stops; the backend got
# exactly the bytes sent. (3) Against a client trickling forever, an idle
# timeout cannot help: the limit a sysadmin wants is a lifetime,
# RuntimeMaxSec= on the service, which systemd enforces with SIGTERM; the
# instance then resets both sides, with nothing stray delivered.
# Modes: accept served
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

port=$(free_port) || exit 1
relay "$port" --idle-timeout=2s || exit 1
hostile "silent client: reset by the idle timeout, backend saw nothing" \
	silent --idle 2
check "no instance left running" no_instances
kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null

port=$(free_port) || exit 1
relay "$port" --idle-timeout=2s || exit 1
hostile "1 byte/s client: kept while it sends, ended when it stops" \
	trickle --idle 2 --seconds 5
hostile "1 byte/s client: a lifetime limit (SIGTERM) ends it cleanly" \
	trickle --idle 2 --seconds 3 --term
check "logged: idle timeout, then terminated" \
	sh -c "grep -q 'idle timeout, both sides reset' '$T/relay.log' &&
		grep -q 'terminated by signal, both sides reset' '$T/relay.log'"
check "no instance left running" no_instances
finish
