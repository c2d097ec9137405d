#!/usr/bin/env bash
# Goal of this test: a slow reader costs the instance nothing but its pipes.
# (1) The backend pushes up to 1 GiB to a client that reads 4 KiB every
# 0.5 s: while blocked, the instance's resident memory stays flat and its
# CPU time (utime+stime from /proc/PID/stat) under 5% of wall time; every
# byte that arrives is intact. (2) With --idle-timeout=2s and a client
# reading 16 KiB every 0.5 s, the timeout does not fire while bytes trickle,
# and ends the connection with a RST soon after the reader stops.
#
# The idle timeout counts time in which the relay moved nothing. A reader
# so slow that the relay's socket buffer (up to tcp_wmem's 4 MiB) takes
# longer than the timeout to drain by half looks idle: the client's MSS
# and buffer are set as an Internet client's would be, not loopback's
# 64 KiB segments, and idle timeouts belong in minutes, not seconds.
# Modes: accept served
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

port=$(free_port) || exit 1
relay "$port" || exit 1
hostile "1 GiB to a 8 KiB/s reader: flat RSS, no CPU, data intact" \
	backpressure --seconds 8
kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null

port=$(free_port) || exit 1
relay "$port" --idle-timeout=2s || exit 1
hostile "32 KiB/s reader kept past the idle timeout, reset when it stops" \
	backpressure --idle 2 --seconds 6 --chunk 16384
check "logged as idle timeout" log_has "idle timeout, both sides reset"
check "no instance left running" no_instances
finish
