#!/usr/bin/env bash
# Goal of this test: a real DNS client and server through v6fwd. dig -6
# asks, over IPv6, a dnsmasq that listens on 127.0.0.1 only: A, AAAA, a
# refused name, a TXT answer of about 1.9 KB over EDNS (one datagram, not
# truncated), and 20 queries in a row, each from its own port and so its
# own flow. Every answer is the server's; every query leaves one record of
# one datagram each way, with the byte counts dig reports.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/udplib.sh
. "$(dirname "$0")/udplib.sh"

for tool in dnsmasq dig; do
	command -v "$tool" >/dev/null ||
		cannot_run "dns" "$tool not installed (apt-get install dnsmasq-base bind9-dnsutils)"
done

port=$(udp_free_port) || exit 1
# One string of 255 bytes, eight times: an answer larger than 512 bytes.
txt=$(python3 -c 'print(",".join(["big.v6fwd.test"] + ["x" * 255] * 7))')
dnsmasq --keep-in-foreground --no-resolv --no-hosts --conf-file=/dev/null \
	--listen-address=127.0.0.1 --bind-interfaces --port="$port" \
	--address=/v6fwd.test/192.0.2.53 --address=/v6fwd.test/2001:db8::53 \
	--txt-record="$txt" --edns-packet-max=4096 --user="$(id -un)" --pid-file= \
	--log-facility="$T/dnsmasq.log" &
PIDS+=("$!")
wait_until 50 bound_udp "$port" || { fail "dnsmasq" "did not start"; finish; }
udp_relay "$port" || exit 1

ask() { dig -6 @::1 -p "$port" +tries=1 +time=5 "$@"; }
check "A over IPv6, answered by the IPv4-only server" \
	test "$(ask +short www.v6fwd.test A)" = 192.0.2.53
check "AAAA" test "$(ask +short www.v6fwd.test AAAA)" = 2001:db8::53
check "a name it does not serve: its REFUSED, relayed" \
	sh -c "dig -6 @::1 -p $port +tries=1 +time=5 other.example A | grep -q 'status: REFUSED'"
ask +bufsize=4096 +ignore big.v6fwd.test TXT >"$T/txt"
check "a 1.9 KB TXT answer in one datagram, not truncated" python3 -c '
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r"MSG SIZE +rcvd: (\d+)", t)
sys.exit(not (m and int(m.group(1)) > 1800 and "(UDP)" in t
              and " tc" not in t.split("flags:")[1].split(";")[0]
              and t.count("x" * 255) == 7))' "$T/txt"
ok=0
for ((i = 0; i < 20; i++)); do
	[ "$(ask +short "q$i.v6fwd.test" A)" = 192.0.2.53 ] && ok=$((ok + 1))
done
check "20 queries in a row, 20 answers" test "$ok" -eq 20

kill -TERM "$RELAY_PID"
wait "$RELAY_PID"
# The first flow is udp_relay's start-up datagram, which dnsmasq ignores.
check "one record per query: 24, each one datagram each way" \
	test "$(nrecords '; 1 datagrams \([0-9]+ bytes\) from client, 1 \([0-9]+ bytes\) from target, ')" -eq 24
rcvd=$(sed -n 's/.*MSG SIZE  rcvd: \([0-9]*\).*/\1/p' "$T/txt")
check "the TXT query's record has the size dig received ($rcvd bytes)" \
	log_has "1 datagrams \([0-9]+ bytes\) from client, 1 \($rcvd bytes\) from target"
finish
