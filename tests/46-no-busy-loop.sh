#!/usr/bin/env bash
# Goal of this test: no state of a connection makes the instance spin. A
# relay that keeps asking poll() for an event that is already there (an
# EOF behind a full pipe, a HUP, an error) burns a core per connection
# while looking idle. (1) tests/relay-stall drives relay_run() directly
# with fixed buffer sizes, to reach the exact states: the target's FIN
# arriving when its last bytes filled the pipe's last slot, with a
# one-page pipe (as past the per-user pipe budget) and the default one.
# (2) Idle half-closed connections both ways, through systemd-socket-
# activate: CPU time from /proc/PID/stat stays under 5% of wall time, and
# the open direction still works afterwards. Reset with a slow reader and
# a never-reading backend are covered, with the same CPU check, by 40-42.
# Modes: accept served
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

"$TOP/tests/relay-stall" || FAILED=$((FAILED + 1))

port=$(free_port) || exit 1
relay "$port" || exit 1
hostile "half-closed and idle, each way: no spin, still relays" half-idle
finish
