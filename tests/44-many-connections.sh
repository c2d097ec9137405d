#!/usr/bin/env bash
# Goal of this test: v6fwd scales to many connections at once without
# losing a byte or leaking an fd. 1000 clients connect through
# systemd-socket-activate --accept and stay connected; each echoes 1000
# bytes of its own stream through the backend, intact; 1000 instances run,
# each with exactly fds 0-8 (stdin, stdout, stderr, the two sockets, the
# four ends of its two pipes) by /proc/PID/fd; then every client sends its
# FIN, gets the backend's, and every instance exits.
# Modes: accept served
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

# The test holds 1000 sockets and the activator passes 1000 on.
ulimit -n 8192 2>/dev/null || ulimit -n 4096 || true
if (($(ulimit -n) < 2100)); then
	skip "1000 connections" "ulimit -n is $(ulimit -n)"
	finish
fi
port=$(free_port) || exit 1
relay "$port" || exit 1
hostile "1000 connections held, data intact, fds exact, all exit" \
	many --count 1000 --data 1000
check "no instance left running" no_instances 100
finish
