#!/usr/bin/env bash
# Goal of this test: a logger that stopped reading never holds a connection
# hostage (issue 10, item 4). Two such loggers: v6fwd's stderr a FIFO that
# is full and never read, and a journald whose socket queue is full
# (net.unix.max_dgram_qlen datagrams, never read). With each: (1) a client
# whose target refuses gets its RST at once, well before the instance gives
# up its log write, and the instance then exits within its 1 s log budget,
# its record dropped at once after that; (2) after a clean relay, the
# record the only message, the instance waits for it 10 s (what the record
# may wait, so that a journald slow under a flood still gets it), then
# exits; (3) SIGTERM during a blocked log write ends the instance at once;
# (4) so does one during a message before the relay (an IPv4 client with
# --map-source is told about, then connected): the signal the write caught
# must not be forgotten by the waits after it (the connect, the relay).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
in_private_net "$@"

FIFO=$T/stderr.fifo
full_fifo "$FIFO" || exit 1
journald --stall || exit 1
echo "journald stand-in holds $JOURNAL_QUEUED datagrams" \
	"(net.unix.max_dgram_qlen $(cat /proc/sys/net/unix/max_dgram_qlen)); the FIFO" \
	"$(awk '{ print $2 }' "$T/fifo.out") bytes"

# listen_on PORT|ADDR:PORT: where the relay listens, [::1] by default.
# shellcheck disable=SC2317 # called by start_$logger
listen_on() { if [[ $1 == *:* ]]; then echo "$1"; else echo "[::1]:$1"; fi; }

# start_fifo PORT|ADDR:PORT [v6fwd arguments]: v6fwd with its own stderr,
# the FIFO (exec keeps LISTEN_PID right).
# shellcheck disable=SC2317,SC2016 # called as start_$logger; $1 is bash's
start_fifo() {
	activate "$(listen_on "$1")" -- bash -c 'exec 2>"$1"; shift; exec "$@"' bash \
		"$FIFO" "$V6FWD" "${@:2}"
}
# start_journal PORT|ADDR:PORT [v6fwd arguments]: v6fwd logging to the journal.
# shellcheck disable=SC2317 # called as start_$logger
start_journal() {
	: >"$T/relay.log"
	activate "$(listen_on "$1")" -E "JOURNAL_STREAM=$(journal_stream "$T/relay.log")" \
		-- "$V6FWD" "${@:2}"
}

# blocked PID: waits (5 s at most) until PID is blocked writing a log
# message: write(2) to the FIFO, sendmsg(2) to the journal.
blocked() {
	local i
	for ((i = 0; i < 500; i++)); do
		in_syscall "$1" write writev sendmsg sendto && return 0
		alive "$1" || return 1
		sleep 0.01
	done
	return 1
}

# client_bg NAME MODE [options]: a client in the background; $T/NAME.end
# gets its exit status and when it ended (ms), $T/NAME.out its findings.
client_bg() {
	local name=$1
	shift
	rm -f "$T/$name.end"
	(
		timeout 4 "${PEER_ARGV[@]}" client "$1" "$RELAY_PORT" "${@:2}" >"$T/$name.out" 2>&1
		echo "$? $(now_ms)" >"$T/$name.end"
	) &
	PIDS+=("$!")
}

backend echo || exit 1
for logger in fifo journal; do
	# (1) The target refuses.
	port=$(free_port) || exit 1
	"start_$logger" "$port" || exit 1
	t0=$(now_ms)
	client_bg refused expect-end --expect rst
	pid=$(instance) || { fail "$logger: instance started" "none"; continue; }
	check "$logger: the instance blocks in its log write" blocked "$pid"
	wait_gone "$pid" 3000
	st=$?
	gone=$(($(now_ms) - t0))
	wait_until 50 test -s "$T/refused.end"
	read -r rc end <"$T/refused.end"
	rst=$((end - t0))
	echo "$logger, refused target: client reset after $rst ms, instance gone after $gone ms"
	check "$logger: refused target: client gets a RST ($(cat "$T/refused.out"))" test "$rc" -eq 0
	check "$logger: refused target: the RST comes first, at once (${rst} ms; instance gone after ${gone} ms)" \
		test "$rc" -eq 0 -a $((gone - rst)) -ge 500
	check "$logger: refused target: the instance gives up logging within its budget (gone $((gone - rst)) ms after the RST)" \
		test "$st" -eq 0 -a $((gone - rst)) -le 2500
	check "$logger: refused target: exit status 5" test "$(exit_code "$pid")" = 5
	stop_relay

	# (2) A clean relay: the record is the only message, and it blocks.
	"start_$logger" "$BACKEND_PORT" || exit 1
	client_bg clean echo --arg 1000
	pid=$(instance) || { fail "$logger: instance started" "none"; continue; }
	wait_until 50 test -s "$T/clean.end"
	read -r rc end <"$T/clean.end"
	check "$logger: clean relay: bytes flow ($(cat "$T/clean.out"))" test "$rc" -eq 0
	wait_gone "$pid" 14000
	st=$?
	after=$(($(now_ms) - end))
	echo "$logger, clean relay: instance gone ${after} ms after the client's end"
	check "$logger: clean relay: the instance gives its record up after about 10 s (${after} ms)" \
		test "$st" -eq 0 -a "$after" -ge 9000 -a "$after" -le 12500
	check "$logger: clean relay: exit status 0" test "$(exit_code "$pid")" = 0

	# (3) SIGTERM while the record's write is blocked.
	client_bg term echo --arg 1000
	pid=$(instance 2) || { fail "$logger: instance started" "none"; continue; }
	if ! blocked "$pid"; then
		fail "$logger: SIGTERM: instance blocked in its log write" "it was not"
		stop_relay
		continue
	fi
	kill -TERM "$pid"
	wait_gone "$pid" 3000
	st=$?
	echo "$logger, blocked log write: gone ${GONE_MS} ms after SIGTERM"
	check "$logger: SIGTERM during a blocked log write ends it at once (${GONE_MS} ms)" \
		test "$st" -eq 0 -a "$GONE_MS" -le 500
	stop_relay

	# (4) SIGTERM in a message before the relay, from an IPv4 client.
	port=$(free_port) || exit 1
	"start_$logger" "127.0.0.1:$port" --map-source "127.0.0.1:$BACKEND_PORT" || exit 1
	client_bg early expect-end --host 127.0.0.1 --expect rst
	pid=$(instance) || { fail "$logger: instance started" "none"; continue; }
	if ! blocked "$pid"; then
		fail "$logger: early SIGTERM: instance blocked in its log write" "it was not"
		stop_relay
		continue
	fi
	kill -TERM "$pid"
	wait_gone "$pid" 3000
	st=$?
	wait_until 50 test -s "$T/early.end"
	read -r rc _ <"$T/early.end"
	echo "$logger, blocked message before the relay: gone ${GONE_MS} ms after SIGTERM"
	check "$logger: SIGTERM during a message before the relay ends it at once (${GONE_MS} ms)" \
		test "$st" -eq 0 -a "$GONE_MS" -le 500
	check "$logger: early SIGTERM: the client gets a RST ($(cat "$T/early.out"))" test "$rc" -eq 0
	stop_relay
done
finish
