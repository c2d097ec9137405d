#!/usr/bin/env bash
# Goal of this test: the seccomp allow-list covers what libsystemd does with
# a record too large for one datagram (issue 11): memfd_create(2), sealing
# it (fcntl F_ADD_SEALS), PR_GET_NAME for its name, and sendmsg(2) with
# SCM_RIGHTS. v6fwd's records never reach that size, so a test-only shim
# (tests/journal-shim.c, LD_PRELOAD) makes the first sendmsg() of a record
# to the journal fail with EMSGSIZE once the instance is confined, which
# sends sd_journal_sendv() down that path; the kernel answers every call
# under v6fwd's own filter. In private network and mount namespaces, a
# stand-in journald receives the memfd: the record arrives sealed and
# whole, with the same fields as one sent as a datagram.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
in_private_net "$@"

SHIM=$TOP/tests/journal-shim.so
ID=3f1c5e0a9b8d4c27a6e1d2b7c4f08e93
if [ ! -e "$SHIM" ] && ! make -s -C "$TOP" tests/journal-shim.so >"$T/make.out" 2>&1; then
	cannot_run "large record" "cannot build the shim: $(tail -n 1 "$T/make.out")"
fi
journald || exit 1
backend echo || exit 1

# through [activator options]: one echoed connection, logging to the
# journal; prints the instance's PID.
through() {
	local port pid
	port=$(free_port) || return 1
	: >"$T/relay.log"
	activate "[::1]:$port" -E "JOURNAL_STREAM=$(journal_stream "$T/relay.log")" \
		"$@" -- "$V6FWD" "127.0.0.1:$BACKEND_PORT" || return 1
	client echo --arg 1000 >"$T/client.out" 2>&1 || echo "client: $(cat "$T/client.out")" >&2
	pid=$(instance) || return 1
	wait_gone "$pid" 5000
	journal_sync
	stop_relay
	echo "$pid"
}
# fields PID: the names of the fields of the instance's record.
fields() {
	journal MESSAGE_ID=$ID "_PID=$1" | python3 -c '
import json, sys
for line in sys.stdin:
    print(" ".join(sorted(k for k in json.loads(line) if not k.startswith("_"))))'
}

plain=$(through) || exit 1
check "control: the record came as a datagram" \
	test "$(journal MESSAGE_ID=$ID "_PID=$plain" --field _VIA)" = datagram

: >"$T/shim.out"
pid=$(through -E "LD_PRELOAD=$SHIM" -E "SHIM_OUT=$T/shim.out" \
	-E ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0") || exit 1
echo "shim: $(tr '\n' ' ' <"$T/shim.out")"
check "the relay worked ($(cat "$T/client.out"))" grep -q "echoed 1000 of 1000" "$T/client.out"
check "the record's first sendmsg failed with EMSGSIZE, after confinement" \
	test "$(head -n 2 "$T/shim.out" | tr '\n' ' ')" = "confined ok sendmsg-forced EMSGSIZE "
check "memfd_create() allowed" grep -qx "memfd_create ok" "$T/shim.out"
check "sendmsg() with SCM_RIGHTS allowed" grep -qx "sendmsg-fd ok" "$T/shim.out"
check "the record arrived once, as a memfd" \
	test "$(journal MESSAGE_ID=$ID "_PID=$pid" --field _VIA)" = memfd
check "the memfd was sealed ($(journal MESSAGE_ID=$ID "_PID=$pid" --field _SEALS))" \
	test "$(journal MESSAGE_ID=$ID "_PID=$pid" --field _SEALS)" = seal,shrink,grow,write
# field NAME: the record's field NAME.
field() { journal MESSAGE_ID=$ID "_PID=$pid" --field "$1"; }
check "confined: V6FWD_SANDBOX names seccomp ($(field V6FWD_SANDBOX))" \
	grep -qw seccomp <<<"$(field V6FWD_SANDBOX)"
check "whole: V6FWD_END=fin, 1000 bytes each way" test \
	"$(journal MESSAGE_ID=$ID "_PID=$pid" V6FWD_END=fin V6FWD_BYTES_FROM_CLIENT=1000 V6FWD_BYTES_FROM_TARGET=1000 --count)" = 1
check "whole: the message in full" grep -Eq \
	"^\[::1\]:[0-9]+ -> \[::1\]:[0-9]+ -> 127\.0\.0\.1:$BACKEND_PORT: client closed first \(FIN\); 1000 bytes from client, 1000 bytes from target, [0-9.]+ m?s, id [0-9a-f]{32}$" \
	<<<"$(field MESSAGE)"
check "whole: the same fields as the datagram's" test "$(fields "$pid")" = "$(fields "$plain")"
echo "    fields: $(fields "$pid")"
finish
