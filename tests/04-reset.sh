#!/usr/bin/env bash
# Goal of this test: a reset is passed on as a reset, never as a clean EOF.
# (1) The service sends 100 KB and resets: the client gets all 100 KB and
# then a RST, so it can tell the transfer was cut. (2) The client sends and
# resets: the service sees a reset too.
# Modes: accept served
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

backend rst --arg 100000 || exit 1
relay "$BACKEND_PORT" || exit 1
check "target RST: client gets the data, then RST" client expect-rst --arg 100000
check "logged as a reset by the target" log_has "target reset the connection \(Connection reset by peer\), RST passed on"
check "no instance left running" no_instances
kill "$RELAY_PID" "$BACKEND_PID"; wait "$RELAY_PID" "$BACKEND_PID" 2>/dev/null

backend sink || exit 1
relay "$BACKEND_PORT" || exit 1
check "client sends 200 KB and resets" client send-rst --arg 200000
check "target sees the data and then a reset" wait_until 50 grep -Eq "received 200000 rst" "$T/report"
check "logged as a reset by the client" log_has "client reset the connection"
check "no instance left running" no_instances
finish
