#!/usr/bin/env bash
# Goal of this test: a target that is not there is counted and said,
# never fatal. Datagrams to a port nothing listens on bring back ICMP port
# unreachable: each is counted on its flow, said at most about once a
# second (with how many more), and the relay goes on; once the service
# starts, the same client's next datagrams are answered, on the same flow,
# and its record counts the ICMP errors. A target with no route (in a
# namespace of the test's own, a route "unreachable") fails each new flow
# at connect(), said rate-limited, and the relay goes on serving.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/udplib.sh
. "$(dirname "$0")/udplib.sh"

port=$(udp_free_port) || exit 1
udp_relay "$port" || exit 1
python3 - "$port" >"$T/client" 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.connect(("::1", int(sys.argv[1])))
s.settimeout(0.1)
t0 = time.monotonic()
for _ in range(20):
    s.send(b"anyone?")
    try:
        s.recv(100)
    except (socket.timeout, ConnectionRefusedError):
        pass
    time.sleep(0.1)
print(s.getsockname()[1], int(time.monotonic() - t0 + 1), flush=True)
# Now the service is up (the test starts it): answered on the same flow.
time.sleep(1.5)
s.settimeout(3)
s.send(b"now?")
print("answered" if s.recv(100) == b"now?" else "wrong", flush=True)
PY
cpid=$!
PIDS+=("$cpid")
wait_until 100 test -s "$T/client"
check "port unreachable: said, with who and where" log_has \
	"ICMP error for the flow of \[::1\]:[0-9]+ to 127\.0\.0\.1:$port: port unreachable from 127\.0\.0\.1 \(Connection refused\), ignoring"
read -r cport secs <"$T/client"
check "said at most about once a second for 20 ($secs s of them)" \
	test "$(grep -c 'ICMP error for the flow' "$T/relay.log")" -le $((secs + 1))
check "the relay goes on" relay_alive
udp_backend echo "$port" || exit 1
wait "$cpid"
check "once the service is up, the same flow is answered" grep -qx answered "$T/client"
kill -TERM "$RELAY_PID"
wait "$RELAY_PID"
check "exit status 0 after all that" test $? -eq 0
check "the flow's record counts the ICMP errors" python3 -c '
import re, sys
for line in open(sys.argv[1]):
    if line.startswith("v6fwd: [::1]:%s -> " % sys.argv[2]):
        m = re.search(r"21 datagrams \(144 bytes\) from client, 1 \(4 bytes\) from target, (\d+) ICMP errors", line)
        sys.exit(not (m and 15 <= int(m.group(1)) <= 20))
sys.exit(1)' "$T/relay.log" "$cport"
check "the last line totals them" log_has "[0-9]+ ICMP errors$"

root_or_skip "no route to the target"
netns unreach || exit 1
ip netns exec "$NS" ip route add unreachable 192.0.2.0/24
udp_relay "$port" 192.0.2.1 || exit 1
ip netns exec "$NS" python3 - "$port" <<'PY'
import socket, sys
for _ in range(10):
    socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).sendto(b"x", ("::1", int(sys.argv[1])))
PY
wait_until 50 log_has "Failed to connect to the target for a new flow"
check "no route: each new flow fails at connect, said" log_has \
	"Failed to connect to the target for a new flow from \[::1\]:[0-9]+: (No route to host|Network is unreachable); dropping its datagram"
check "said once, not for each of the 11" \
	test "$(grep -c 'Failed to connect to the target' "$T/relay.log")" -eq 1
check "the relay goes on" relay_alive
finish
