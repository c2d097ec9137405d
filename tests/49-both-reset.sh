#!/usr/bin/env bash
# Goal of this test: when both sides reset, the record tells the first
# cause from what followed. The backend fills v6fwd's buffers towards a
# client that does not read, and resets; half a second later the client
# reads a little and resets too. The target's reset, although v6fwd still
# held its bytes (pipe full), must be named as the cause, the client's as
# what followed: "target reset the connection (...), then the client too
# (...)".
# Modes: accept served
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

port=$(free_port) || exit 1
relay "$port" || exit 1
hostile "target resets, then the client: named in that order" \
	both-reset --log "$T/relay.log"
check "no instance left running" no_instances
finish
