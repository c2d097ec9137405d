#!/usr/bin/env bash
# Goal of this test: a host name's addresses are tried in the resolver's
# order, up to 64 of them (issue 10, item 9; documented in v6fwd(8)). In
# private network and mount namespaces, /etc/hosts gives the name 17
# addresses, only the last of which listens: v6fwd connects after 16
# refusals, each logged. With 65 addresses, only the 65th listening, the
# first 64 are tried and refused, the 65th never, and the client gets a RST.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
in_private_net "$@"

name=many.v6fwd.test

# hosts N: N addresses for the name (127.0.1.1 and on); prints them in the
# order the resolver gives them, as v6fwd asks (IPv4, stream).
hosts() {
	local i lines=""
	for ((i = 1; i <= $1; i++)); do
		lines+="127.0.1.$i $name"$'\n'
	done
	mountpoint -q /etc/hosts && umount /etc/hosts
	over /etc/hosts "127.0.0.1 localhost"$'\n'"$lines" || return 1
	python3 -c '
import socket, sys
for a in socket.getaddrinfo(sys.argv[1], None, socket.AF_INET, socket.SOCK_STREAM):
    print(a[4][0])' "$name"
}
# refusals: the addresses the log says refused, in order.
refusals() {
	sed -n "s/.*Failed to connect to \(127\.[0-9.]*\):$BACKEND_PORT: Connection refused$/\1/p" \
		"$T/relay.log"
}

mapfile -t addrs < <(hosts 17)
check "17 addresses resolved (${#addrs[@]})" test "${#addrs[@]}" -eq 17
backend echo --host "${addrs[16]}" || exit 1
relay 0 "$name:$BACKEND_PORT" || exit 1
check "17 addresses: connects to the 17th (${addrs[16]})" client echo --arg 1000
check "17 addresses: after 16 refusals, in the resolver's order ($(refusals | wc -l))" \
	test "$(refusals | tr '\n' ' ')" = "$(printf '%s ' "${addrs[@]:0:16}")"
check "17 addresses: relayed" log_has "-> $name:$BACKEND_PORT: client closed first \(FIN\); 1000 bytes from client"
stop_relay
kill "$BACKEND_PID"
wait "$BACKEND_PID" 2>/dev/null

mapfile -t addrs < <(hosts 65)
check "65 addresses resolved (${#addrs[@]})" test "${#addrs[@]}" -eq 65
backend echo --host "${addrs[64]}" || exit 1
relay 0 "$name:$BACKEND_PORT" || exit 1
check "65 addresses: the client gets a RST" client expect-end --expect rst
log_has "target refused the connection, client reset"
check "65 addresses: the first 64 tried and refused, in order ($(refusals | wc -l))" \
	test "$(refusals | tr '\n' ' ')" = "$(printf '%s ' "${addrs[@]:0:64}")"
check "65 addresses: the 65th (${addrs[64]}) never tried" \
	sh -c "! grep -q 'to ${addrs[64]//./\\.}:' '$T/relay.log'"
finish
