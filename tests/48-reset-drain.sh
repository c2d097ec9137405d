#!/usr/bin/env bash
# Goal of this test: a reset is passed on only after what the resetting
# side sent has been delivered, as the man page promises, and the record
# counts what the other side acknowledged, not what v6fwd wrote. An
# abortive close (SO_LINGER 0) discards the socket's send queue, so a
# relay that passes the RST on as soon as it has written the last byte
# throws away what its own kernel still holds. The backend sends 2 MiB,
# waits until v6fwd's host has acknowledged them (its SIOCOUTQ), and
# resets; the client reads only after 1.5 s (instance CPU under 5%
# meanwhile): it must get every acknowledged byte, intact, then the RST,
# and the record count them delivered. The drain is bounded: a client that
# stops reading is reset after the idle timeout, and SIGTERM ends the
# drain at once; either way the record counts as undelivered exactly the
# bytes the client never received.
# Modes: accept served
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

port=$(free_port) || exit 1
relay "$port" || exit 1
hostile "target reset after 2 MiB: a paused client still gets them all, then RST" \
	reset-drain --data 2097152 --log "$T/relay.log"
check "no instance left running" no_instances
kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null

port=$(free_port) || exit 1
relay "$port" --idle-timeout=2s || exit 1
hostile "client stops reading during the drain: reset after the idle timeout" \
	reset-drain --data 2097152 --stop --idle 2 --log "$T/relay.log"
hostile "SIGTERM during the drain: both reset at once, the loss counted" \
	reset-drain --data 2097152 --stop --term --log "$T/relay.log"
check "no instance left running" no_instances
finish
