#!/usr/bin/env bash
# Goal of this test: the limits hold under a burst of sources, and cost
# what they say. In a namespace of the test's own, where a whole /48 is
# this host's (so that any address in it can send, as spoofed sources
# would), one datagram from each of max-flows + 4000 sources, each in a
# /64 of its own, while an established flow (a stream) keeps sending:
# - the relay never holds more than max-flows flows: its fds stay under
#   max-flows plus its own few, and its memory grows by what the flow
#   table holds, not more (the figures are printed);
# - the flows that are not streams make room for new ones (said at most
#   once a second), the stream is never touched: every one of its
#   datagrams is answered, on one flow;
# - the records are rate-limited and what is left out is summed up;
# - afterwards a new client is served at once, and once the burst's flows
#   have expired the fds are back to where they were (no leak).
# Then the other limits: max-flows-per-source drops a source's extra
# flows, and with every flow a stream, a new client's datagram is dropped.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/udplib.sh
. "$(dirname "$0")/udplib.sh"

root_or_skip "UDP limits under a burst of sources"
netns limits || exit 1
ip netns exec "$NS" ip -6 route add local 2001:db8:100::/48 dev lo
port=$(udp_free_port) || exit 1
in_ns() { ip netns exec "$NS" "$@"; }
# shellcheck disable=SC2086 # UDPPEER is a command and its script
in_ns $UDPPEER serve echo "$port" >"$T/backend.port" 2>&1 &
PIDS+=("$!")
wait_until 50 test -s "$T/backend.port" || { fail "backend" "did not start"; finish; }
udp_relay "$port" -i 5s || exit 1
max=$(sed -n 's/.*: at most \([0-9]*\) flows.*/\1/p' "$T/relay.log")
check "the relay says its limit ($max flows)" test -n "$max"
fds0=$(relay_fds)
rss0=$(relay_rss)

# The established flow: answered, and still going 2 s on, then every
# 0.2 s until told to stop; each datagram must come back.
rm -f "$T/stop"
in_ns python3 - "$port" "$T" >"$T/stream" 2>&1 <<'PY' &
import os, socket, sys, time
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.connect(("::1", int(sys.argv[1])))
s.settimeout(2)
sent = answered = resent = 0
deadline = time.monotonic() + 120
def one():
    # A datagram the flood crowds out of a socket queue is sent again,
    # as a client would: what counts is that the flow is never ended.
    global sent, answered, resent
    sent += 1
    for attempt in range(3):
        if attempt:
            resent += 1
        s.send(b"stream %d" % sent)
        try:
            if s.recv(100) == b"stream %d" % sent:
                answered += 1
                return
        except OSError:
            pass
one()
time.sleep(2.2)
one()
open(sys.argv[2] + "/stream.ready", "w").close()
while not os.path.exists(sys.argv[2] + "/stop") and time.monotonic() < deadline:
    time.sleep(0.2)
    one()
print(sent, answered, s.getsockname()[1], resent, flush=True)
PY
spid=$!
PIDS+=("$spid")
wait_until 100 test -e "$T/stream.ready" || { fail "stream" "not established"; finish; }

# The burst, watched: the relay's fds and memory at their peak.
n=$((max + 4000))
# shellcheck disable=SC2086
in_ns $UDPPEER burst "$port" --sources "$n" --rate 8000 >"$T/burst" 2>&1 &
bpid=$!
PIDS+=("$bpid")
peak_fds=0 peak_rss=0
for ((i = 0; i < 1200; i++)); do
	f=$(relay_fds) r=$(relay_rss)
	((f > peak_fds)) && peak_fds=$f
	((r > peak_rss)) && peak_rss=$r
	kill -0 "$bpid" 2>/dev/null || break
	sleep 0.05
done
wait "$bpid"
check "the burst: $n sources, each a /64 of its own" grep -q '"ok": true' "$T/burst"
sleep 1
f=$(relay_fds) r=$(relay_rss)
((f > peak_fds)) && peak_fds=$f
((r > peak_rss)) && peak_rss=$r
echo "# burst of $n sources in $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["seconds"])' "$T/burst") s: relay fds $fds0 -> peak $peak_fds (max-flows $max), RSS $rss0 -> peak $peak_rss KiB ($(( (peak_rss - rss0) * 1024 / max )) bytes per flow); kernel: $(in_ns grep -E '^UDP6?:' /proc/net/sockstat | tr '\n' ' ')"
check "fds never past max-flows and the relay's own" \
	test "$peak_fds" -le $((max + 32))
check "and it did fill up: the burst was past the limit" \
	test "$peak_fds" -ge $((max - 100))
check "memory: at most 2 KiB a flow (the table is allocated at start)" \
	test $((peak_rss - rss0)) -le $((max * 2))
check "the flows that are not streams made room, said" log_has \
	"Too many flows \($max\): ending the least recently active that is not a stream, to make room for a new client"
check "said at most about once a second" \
	test "$(grep -c 'Too many flows' "$T/relay.log")" -le 20
# shellcheck disable=SC2086
in_ns $UDPPEER sizes "$port" --sizes 100 >"$T/new" 2>&1
check "right after the burst, a new client is served" grep -q '"ok": true' "$T/new"
touch "$T/stop"
wait "$spid"
read -r sent answered sport resent <"$T/stream"
check "the stream was never touched: $answered of $sent answered ($resent sent again)" \
	test "$sent" -ge 10 -a "$answered" -eq "$sent"
check "and stayed one flow: no record of it before its end" \
	test "$(nrecords "^v6fwd: \[::1\]:$sport ")" -eq 0
in_ns python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
s.sendto(b"?sources 10", ("127.0.0.1", int(sys.argv[1])))
print(s.recv(1 << 16).decode())' "$port" >"$T/sources"
check "one source at the target for all of its datagrams" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
big = [n for n in d.values() if n >= 10]
sys.exit(not (len(big) == 1 and big[0] >= int(sys.argv[2])))' "$T/sources" "$sent"
wait_until 200 log_has "Left out the records of [0-9]+ flows"
check "records rate-limited, and what was left out summed up" log_has \
	"Left out the records of [0-9]+ flows that ended, more than 200 a second"
check "at most 1000 at once and 200 a second on (a few thousand, not $n)" \
	test "$(nrecords)" -le 6000
# The burst's flows expire 5 s after their last datagram.
wait_until 150 sh -c "test \$(find /proc/$RELAY_PID/fd -mindepth 1 | wc -l) -le $((fds0 + 2))"
check "once they expired, the fds are back ($(relay_fds), $fds0 before)" \
	test "$(relay_fds)" -le $((fds0 + 2))
check "the relay went on through it all" relay_alive
kill "$RELAY_PID"

# One source past max-flows-per-source: 5 sockets from ::1, 3 flows.
udp_relay "$port" --max-flows-per-source=3 || exit 1
in_ns python3 - "$port" >"$T/persource" <<'PY'
import socket, sys
socks = []
for i in range(5):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.connect(("::1", int(sys.argv[1])))
    s.settimeout(1)
    socks.append(s)
answered = 0
for s in socks:
    s.send(b"x")
    try:
        answered += s.recv(10) == b"x"
    except OSError:
        pass
print(answered)
PY
# The first of the three is udp_relay's own start-up datagram.
check "max-flows-per-source=3: 2 of 5 new flows from ::/64 answered" \
	test "$(cat "$T/persource")" -eq 2
check "the rest dropped, said" log_has \
	"Too many flows \(3\) from source ::/64, dropping a datagram from a new client"
kill "$RELAY_PID"

# With every flow a stream, there is no room to make: drop, and say so.
# Three sources of their own (the per-source limit is not what is hit).
NOPOKE=1 udp_relay "$port" --max-flows=2 || exit 1
in_ns python3 - "$port" >"$T/full" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
def sock(n):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, 78, 1)    # IPV6_FREEBIND
    s.bind(("2001:db8:100:%d::1" % n, 0))
    s.connect(("::1", port))
    s.settimeout(1)
    return s
def ask(s):
    s.send(b"y")
    try:
        return s.recv(10) == b"y"
    except OSError:
        return False
a, b = sock(1), sock(2)
first = ask(a) and ask(b)
time.sleep(2.2)
streams = ask(a) and ask(b)          # answered, and on after 2 s
print(first and streams, ask(sock(3)), ask(a) and ask(b))
PY
check "two streams answered; a third source not; the two still are" \
	test "$(cat "$T/full")" = "True False True"
check "and it was said why" log_has \
	"Too many flows \(2\), every one of them a stream: dropping a datagram from a new client"
finish
