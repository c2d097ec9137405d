#!/usr/bin/env bash
# Goal of this test: flows end when idle, never before, and keepalives
# keep them. A WireGuard-shaped client (an initiation, its response, then
# one-way keepalives) sending every second through idle-timeout=2s stays
# one flow: one source port at the target for all its datagrams, one
# record, after it falls silent and not sooner (idle timeout (2s)). With
# keepalives 3 s apart the flow ends between them and the next datagram
# is a new flow, from a new source port. And the two timeouts of a flow,
# as conntrack has them: under idle-timeout=40s, a flow the target never
# answered ends after 30 s; one that was answered and still active 2 s
# after it began is a stream, and outlives those 30 s.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/udplib.sh
. "$(dirname "$0")/udplib.sh"

udp_backend wg || exit 1
backend=$BACKEND_PORT

# The slow one first, so that it runs while the rest does.
pb=$(udp_free_port) || exit 1
RELAY_LOG=$T/long.log udp_relay "$pb" "127.0.0.1:$backend" -i 40s || exit 1
long_pid=$RELAY_PID
python3 - "$pb" "$T" <<'PY' &
import socket, sys, time
port, t = int(sys.argv[1]), sys.argv[2]
x = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
x.connect(("::1", port))
y = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
y.connect(("::1", port))
y.settimeout(5)
x.send(b"\x04" + b"\0" * 31)             # a keepalive nobody answers
y.send(b"\x01" + b"\0" * 147)            # an initiation: answered
y.recv(200)
time.sleep(2.5)
y.send(b"\x04" + b"\0" * 31)             # still there after 2 s: a stream
open(t + "/long.ports", "w").write(f"{x.getsockname()[1]} {y.getsockname()[1]}\n")
open(t + "/long.at", "w").write(f"{time.monotonic()}\n")
PY
PIDS+=("$!")

pa=$(udp_free_port) || exit 1
udp_relay "$pa" "127.0.0.1:$backend" -i 2s || exit 1
$UDPPEER keepalive "$pa" --interval 1 --count 5 >"$T/ka" 2>&1
check "handshake and 5 keepalives a second apart" grep -q '"ok": true' "$T/ka"
cport=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["client_port"])' "$T/ka")
backend_sources "$backend" >"$T/sources"
check "the target saw them all from one source port: one flow" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(sorted(d.values()).count(6) != 1)' "$T/sources"
check "the flow still open right after its last keepalive" \
	test "$(nrecords "^v6fwd: \[::1\]:$cport ")" -eq 0
wait_until 100 log_has "^v6fwd: \[::1\]:$cport -> "
rec=$(records "^v6fwd: \[::1\]:$cport ")
check "then one record: idle timeout (2s), 6 datagrams from client, 1 from target" \
	grep -qE "idle timeout \(2s\); 6 datagrams \(308 bytes\) from client, 1 \(92 bytes\) from target" <<<"$rec"
check "ended no sooner than 2 s after the last keepalive (over 7 s in all)" \
	python3 -c 'import re, sys
m = re.search(r"target, ([0-9.]+) (m?s),", sys.argv[1])
sys.exit(not (m and m.group(2) == "s" and float(m.group(1)) >= 7.0))' "$rec"

python3 - "$pa" >"$T/gap" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.connect(("::1", int(sys.argv[1])))
s.send(b"\x04" + b"\0" * 31)
time.sleep(3.5)
s.send(b"\x04" + b"\0" * 31)
print(s.getsockname()[1])
PY
gport=$(cat "$T/gap")
wait_until 50 log_has "^v6fwd: \[::1\]:$gport -> "
check "3.5 s of silence ended the flow: the target never answered, said so" \
	log_has "^v6fwd: \[::1\]:$gport -> .*: idle timeout \(2s\), the target never answered; 1 datagrams"
wait_until 50 sh -c "test \$(grep -c '^v6fwd: \[::1\]:$gport -> ' '$T/relay.log') -ge 2"
check "and the next datagram was a new flow: two records for one client port" \
	test "$(nrecords "^v6fwd: \[::1\]:$gport ")" -eq 2
backend_sources "$backend" >"$T/sources"
check "which the target saw from two source ports" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(sorted(d.values()).count(1) < 2)' "$T/sources"
kill "$RELAY_PID"

# The long relay: 30 s for the unanswered flow, longer for the stream.
wait_until 400 test -s "$T/long.at" || fail "long relay" "its client did not finish"
read -r xport yport <"$T/long.ports"
wait_until 400 grep -q "^v6fwd: \[::1\]:$xport -> " "$T/long.log"
check "unanswered, under idle-timeout=40s: ended after 30 s" \
	grep -qE "^v6fwd: \[::1\]:$xport -> .*: idle timeout \(30s\), the target never answered; 1 datagrams \(32 bytes\) from client, 0 \(0 bytes\) from target, 3[0-9]\.[0-9]+ s," \
	"$T/long.log"
# 32 s after the stream's last datagram: past 30 s, within its 40 s.
python3 -c 'import sys, time
at = float(open(sys.argv[1]).read())
time.sleep(max(0.0, at + 32 - time.monotonic()))' "$T/long.at"
check "the stream outlived 30 s of silence" \
	sh -c "! grep -q '^v6fwd: \[::1\]:$yport -> ' '$T/long.log'"
kill -TERM "$long_pid"
wait "$long_pid"
check "and ended at the stop: 2 datagrams from client, 1 from target" \
	grep -qE "^v6fwd: \[::1\]:$yport -> .*: terminated by signal; 2 datagrams \(180 bytes\) from client, 1 \(92 bytes\) from target" \
	"$T/long.log"
finish
