#!/usr/bin/env bash
# Goal of this test: handed a datagram socket, v6fwd relays UDP, each
# datagram whole and exactly: sizes 0, 1, 1472, 8192 and 65507 (the
# largest an IPv4 datagram carries) come back byte for byte; 65508 and
# 65527 are dropped, counted and said at most once a second; 16 clients at once, 200
# datagrams each of up to 1400 bytes, each get their own datagrams back,
# none lost, none misdelivered, and the backend sees one source per
# client; each flow leaves one record with its datagrams and bytes each
# way; SIGTERM ends the relay with status 0 and a record for every flow
# still open (V6FWD_END terminated).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/udplib.sh
. "$(dirname "$0")/udplib.sh"

udp_backend echo || exit 1
udp_relay "$BACKEND_PORT" 127.0.0.1 || exit 1
check "relay started, confined" grep -q \
	"Relaying \[::1\]:$BACKEND_PORT/udp to 127.0.0.1:$BACKEND_PORT: at most 16384 flows, 1024 per source; idle timeout 120s (30s until a flow is a stream); confined: landlock-fs" \
	"$T/relay.log"

$UDPPEER sizes "$RELAY_PORT" --sizes 0,1,1472,8192,65507 >"$T/sizes" 2>&1
check "sizes 0 to 65507 back byte for byte" grep -q '"ok": true' "$T/sizes"
$UDPPEER sizes "$RELAY_PORT" --sizes 65508,65527,7 --expect-lost 65508,65527 \
	>"$T/large" 2>&1
check "65508 and 65527 bytes dropped, the next datagram relayed" \
	grep -q '"ok": true' "$T/large"
check "the drop said, with the limit" log_has \
	"Dropped a datagram of 65508 bytes from \[::1\]:[0-9]+: larger than the 65507 an IPv4 datagram can carry"
$UDPPEER poke "$RELAY_PORT" --size 65527 --count 20 --gap 0.01
check "20 more within a second or so: said at most twice more" \
	test "$(grep -c 'Dropped a datagram' "$T/relay.log")" -le 4

$UDPPEER many "$RELAY_PORT" --clients 16 --count 200 --size 1400 >"$T/many" 2>&1
check "16 clients x 200 datagrams: each its own back, none lost" \
	grep -q '"ok": true' "$T/many"
backend_sources "$BACKEND_PORT" >"$T/sources"
check "the backend saw one source per client, and the earlier ones" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(not (len(d) == 1 + 2 + 16 and sum(v == 200 for v in d.values()) == 16
              and all(k.startswith("127.0.0.1:") for k in d)))' "$T/sources"

sport=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["client_port"])' "$T/sizes")
kill -TERM "$RELAY_PID"
wait "$RELAY_PID"
rc=$?
check "SIGTERM: exit status 0" test "$rc" -eq 0
check "a record for each of the 20 flows" test "$(nrecords)" -eq 20
check "each flow ended as terminated" test "$(nrecords 'terminated by signal')" -eq 20
check "the sizes flow's record: 5 datagrams each way, 75172 bytes each way" \
	grep -qE "^v6fwd: \[::1\]:$sport -> \[::1\]:$RELAY_PORT/udp -> 127\.0\.0\.1:$BACKEND_PORT from 127\.0\.0\.1:[0-9]+: terminated by signal; 5 datagrams \(75172 bytes\) from client, 5 \(75172 bytes\) from target, [0-9.]+ m?s, id [0-9a-f]{32}$" \
	"$T/relay.log"
check "the drops in the record of the large flow" log_has \
	"1 datagrams \(7 bytes\) from client, 1 \(7 bytes\) from target, dropped 2 from client and 0 from target"
check "a last line with the totals" log_has \
	"Terminated: ending 20 flows; 20 flows in all, 3207 datagrams from clients and 3207 from the target, 22 dropped \(0 of them by the kernel"
finish
