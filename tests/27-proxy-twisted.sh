#!/usr/bin/env bash
# Goal of this test: the Twisted recipe of v6fwd(8), the article's own
# kind of server, sees the IPv6 client with v1 and v2 headers. The page's
# Python program runs as written, under Debian's python3 with
# python3-twisted, in a network namespace of the test's own; for each
# version, an IPv6 client through v6fwd on [::1]:2000 must be greeted with
# ::1 and its own port, and the program must print the same, never
# 127.0.0.1 (and ::1, not the uncompressed form a v2 header yields). And
# the page's trap: a service that greets in connectionMade, before the
# header is read, sees 127.0.0.1 there, and the client only from the first
# dataReceived on.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
in_private_net "$@"

# Debian's interpreter, which python3-twisted is for, whatever is first in PATH.
PY=/usr/bin/python3
"$PY" -c 'import twisted.protocols.haproxy' 2>/dev/null ||
	cannot_run "Twisted" "not installed (apt-get install python3-twisted)"
recipe twisted >"$T/hello.py" || exit 1
"$PY" "$T/hello.py" >"$T/twisted.out" 2>&1 &
PIDS+=("$!")
server_up 12000 "$!" || { fail "the Twisted service starts" "$(tail -n 3 "$T/twisted.out")"; finish; }

for v in v1 v2; do
	relay 2000 --proxy-protocol=$v 127.0.0.1:12000 || exit 1
	out=$(python3 "$TOP/tests/speak.py" line 2000 2>&1)
	echo "twisted, $v: $(tr '\n' ' ' <<<"$out")"
	cport=$(sed -n 's/^port //p' <<<"$out")
	check "twisted, $v: greets the client as ::1 port $cport" \
		test "$(tail -n 1 <<<"$out")" = "hello ::1 port $cport"
	check "twisted, $v: prints the client, ::1 port $cport" \
		wait_until 50 grep -qx "connection from ::1 port $cport" "$T/twisted.out"
	kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
done
check "no client seen as 127.0.0.1, nothing else printed" \
	sh -c "! grep -v '^connection from ::1 port [0-9]*\$' '$T/twisted.out'"

cat >"$T/greeter.py" <<'EOF'
from twisted.internet import endpoints, protocol, reactor


class Greeter(protocol.Protocol):
    def connectionMade(self):
        self.transport.write(f"made {self.transport.getPeer().host}\n".encode())

    def dataReceived(self, data):
        self.transport.write(f"data {self.transport.getPeer().host}\n".encode())
        self.transport.loseConnection()


endpoints.serverFromString(reactor, "haproxy:tcp:12001:interface=127.0.0.1").listen(
    protocol.Factory.forProtocol(Greeter))
reactor.run()
EOF
"$PY" "$T/greeter.py" >"$T/greeter.out" 2>&1 &
PIDS+=("$!")
server_up 12001 "$!" || { fail "the greeting service starts" "$(tail -n 3 "$T/greeter.out")"; finish; }
relay 2001 --proxy-protocol=v1 127.0.0.1:12001 || exit 1
out=$(python3 "$TOP/tests/speak.py" line 2001 2>&1)
echo "twisted, greeting first: $(tr '\n' ' ' <<<"$out")"
check "twisted, the page's trap: connectionMade sees 127.0.0.1, dataReceived ::1" \
	test "$(grep -v '^port ' <<<"$out" | tr '\n' ' ')" = "made 127.0.0.1 data ::1 "
finish
