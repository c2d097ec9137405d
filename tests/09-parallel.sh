#!/usr/bin/env bash
# Goal of this test: many connections at once are independent. 200 clients
# each hold a connection open and check their own echo; afterwards every
# instance has exited.
# Modes: accept served
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

backend echo || exit 1
relay "$BACKEND_PORT" || exit 1
check "200 simultaneous connections each echo their own bytes" client hold --arg 200
check "every instance exits" no_instances 100
check "200 records, all clean" test "$(grep -c 'client closed first (FIN)' "$T/relay.log")" -eq 200
finish
