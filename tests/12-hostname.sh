#!/usr/bin/env bash
# Goal of this test: a host name target is resolved to IPv4 addresses and
# connected; the record names the target as given.
# Modes: accept served
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

getent ahostsv4 localhost | grep -q '^127\.0\.0\.1' || { skip "host name target" "localhost does not resolve to 127.0.0.1"; exit 0; }
backend echo || exit 1
relay "$BACKEND_PORT" localhost || exit 1
check "localhost resolved and connected" client echo --arg 100
check "record names localhost:port" log_has "-> localhost:$BACKEND_PORT: client closed first"
finish
