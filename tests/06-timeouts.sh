#!/usr/bin/env bash
# Goal of this test: the idle timeout ends a connection on which nothing
# moves, with a RST both ways (the stream was cut, not completed), and is
# recorded as such; traffic keeps a connection alive past it.
# Modes: accept served
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

backend echo || exit 1
relay "$BACKEND_PORT" --idle-timeout=1s || exit 1
start=$(date +%s%N)
check "silent client reset after the idle timeout" client expect-end --expect rst
elapsed=$((($(date +%s%N) - start) / 1000000))
check "not before 1 s (${elapsed} ms)" test "$elapsed" -ge 950
check "logged as idle timeout" log_has "idle timeout, both sides reset"
check "no instance left running" no_instances
finish
