#!/usr/bin/env bash
# Goal of this test: the common case works end to end. An IPv6 client on
# [::1]:P reaches the IPv4 service on 127.0.0.1:P with no configuration at
# all, bytes come back intact, the connection leaves one record naming the
# client, the target, the byte counts and how it ended, and the instance exits.
# Modes: accept served
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

backend echo || exit 1
relay "$BACKEND_PORT" || exit 1
check "echo through the default target" client echo --arg 5000
check "one record with client, target, counts and end" \
	log_has "^v6fwd: \[::1\]:[0-9]+ -> \[::1\]:$BACKEND_PORT -> 127\.0\.0\.1:$BACKEND_PORT: client closed first \(FIN\); 5000 bytes from client, 5000 bytes from target, [0-9]+\.[0-9]{3} m?s, id [0-9a-f]{32}$"
check "no instance left running" no_instances
# A server says once what it serves, and nothing else.
check "nothing else logged" sh -c "! grep -v -e '^v6fwd: \[::1\]' -e '^v6fwd: Serving \[::1\]:$BACKEND_PORT: ' -e '^Listening' -e '^Communication' -e '^Connection from' -e '^Spawned' -e '^Execing' -e '^Child' '$T/relay.log'"
finish
