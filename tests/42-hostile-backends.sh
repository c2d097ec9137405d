#!/usr/bin/env bash
# Goal of this test: a backend that misbehaves is passed on faithfully and
# promptly. (1) It accepts and never reads: the client gets back-pressure
# (its sends block after a bounded amount), the instance idles without CPU,
# and --idle-timeout=2s then resets both sides: the client's bytes were
# lost, so it must see a RST. (2) It resets mid-stream while the client
# reads slowly: no spin meanwhile; the client gets an intact prefix of the
# stream and then a RST, never a clean EOF. (3) It closes right after
# accepting: with nothing lost the client gets a FIN at once; when the
# client had sent bytes that were never read, it gets a RST.
# Modes: accept served
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

port=$(free_port) || exit 1
relay "$port" --idle-timeout=2s || exit 1
hostile "never-reading backend: back-pressure, then idle reset" \
	never-read --idle 2
check "no instance left running" no_instances
kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null

port=$(free_port) || exit 1
relay "$port" || exit 1
hostile "backend reset mid-stream: slow client gets a prefix, then RST" \
	reset-mid
hostile "backend closes at once, nothing lost: client gets a FIN" \
	accept-close
hostile "backend closes at once, 1000 bytes lost: client gets a RST" \
	accept-close --data 1000
check "no instance left running" no_instances
finish
