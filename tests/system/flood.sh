#!/bin/bash
# shellcheck disable=SC2317 # functions called through guest_wait
#
# tests/system/flood.sh: connections per second under systemd as PID 1,
# one v6fwd started by PID 1 per connection against the served mode.
# A measurement tool, not part of the suite (issue 12).
#
# Usage: tests/system/flood.sh [-s SECONDS] [-c CLIENTS] [-r ROUNDS] [-p N]
#
# Boots the guest of tests/system/boot.sh (root, namespaces) and floods,
# for SECONDS (default 10) each, with CLIENTS (default 16) concurrent
# client threads of bench/v6load.c's "short" client (each looping:
# connect, write 100 bytes, read their echo, close):
#   per-conn  v6fwd@4001.socket (Accept=yes: PID 1 starts a v6fwd@.service
#             per connection), as "make install" put it
#   served    v6fwd-server@4002.socket (Accept=no: one v6fwd accepts and
#             forks a confined child per connection)
# both relaying to one IPv4 echo backend in the guest (v6load server on
# 127.0.0.1, by /etc/v6fwd.conf). ROUNDS (default 3) rounds alternate the
# two, the order swapped every round; each flood starts once the last
# one's instances are gone. All clients come from ::1: the limits per
# source (MaxConnectionsPerSource=256 of v6fwd@.socket, the served mode's
# max-connections-per-source=256 per /64) are far above CLIENTS, so they
# are left as installed. But the served mode counts a connection until it
# has reaped its process, so a server short of CPU can count more than
# CLIENTS from one source; -p N sets the served port's
# max-connections-per-source=N in its /etc/v6fwd.conf rule. So that 16 clients can open tens of thousands of
# connections in seconds, the guest's network namespace (only it) gets
# net.ipv4.ip_local_port_range=1024 65535 and net.ipv4.tcp_tw_reuse=1.
#
# One line per flood, then one per configuration with the medians over
# the rounds: connections/s completed, failures (connect refused or reset,
# echo missing), p50 and p99 from connect() to the first echoed byte, and
# CPU as a share of one CPU during the flood: PID 1's (utime+stime of
# the guest's PID 1, /proc/PID/stat), journald's and the relay's (its
# slice's cgroup usage, exited instances included), and the guest's in
# all (the clients run outside it). "pid1/conn" is PID 1's CPU from the
# flood's start until its last instance is gone, per connection;
# "settle" how long that took after the flood, in ms; "procs" the most
# processes seen at once in the relay's services (sampled every 0.1 s),
# and under it what they were waiting in at that moment; "zombies" the
# most exited processes not yet collected by their parent (PID 1 for
# per-conn, the server for served) at once. The
# last line is the ratio served/per-conn of connections/s, with issue
# 12's targets: at least 10, and PID 1 under 5% of a CPU while served.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(dirname "$(dirname "$HERE")")
# shellcheck source=boot.sh disable=SC1091
. "$HERE/boot.sh"

seconds=10
clients=16
rounds=3
per_source=
usage="usage: $0 [-s SECONDS] [-c CLIENTS] [-r ROUNDS] [-p N]"
while getopts s:c:r:p: o; do
	case $o in
	c) clients=$OPTARG ;;
	p) per_source=$OPTARG ;;
	r) rounds=$OPTARG ;;
	s) seconds=$OPTARG ;;
	*) echo "$usage" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
for v in "$seconds" "$clients" "$rounds" ${per_source:+"$per_source"}; do
	case $v in
	"" | *[!0-9]* | 0) echo "$usage (positive integers)" >&2; exit 2 ;;
	esac
done
[ $# -eq 0 ] || { echo "$usage" >&2; exit 2; }
((seconds <= 600 && clients <= 128 && rounds <= 20)) ||
    { echo "flood.sh: at most 600 s, 128 clients, 20 rounds" >&2; exit 2; }
# Whatever happens, the guest goes after the floods and their settling.
export GUEST_MAX_LIFETIME=$((300 + rounds * 2 * (seconds + 90)))

die() { echo "flood.sh: $*" >&2; exit 1; }

if ! guest_boot; then
	echo "flood.sh: ${GUEST_SKIP:-$GUEST_ERROR}" >&2
	exit 1
fi

"${CC:-cc}" -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -pthread -o "$GUEST_DIR/v6load" "$SRC/bench/v6load.c" ||
    die "cannot build bench/v6load.c"
if ! guest_copy_in "$GUEST_DIR/v6load" "$GUEST_LIBEXEC/v6load" ||
    ! in_guest chmod 0755 "$GUEST_LIBEXEC/v6load"; then
	die "cannot copy v6load into the guest"
fi
in_guest sh -c 'echo 1024 65535 >/proc/sys/net/ipv4/ip_local_port_range &&
    echo 1 >/proc/sys/net/ipv4/tcp_tw_reuse' ||
    die "cannot widen the guest's port range"

# The backend binds a port of its own choosing and prints it.
in_guest systemd-run --quiet --unit=flood-backend -p LimitNOFILE=65536 \
    sh -c "exec $GUEST_LIBEXEC/v6load server 127.0.0.1 >/run/flood-backend.port" ||
    die "cannot start the echo backend"
backend_port() {
	bport=$(in_guest sed -n 's/^port=//p' /run/flood-backend.port 2>/dev/null)
	[ -n "$bport" ]
}
bport=
guest_wait 100 0.1 backend_port || die "the echo backend printed no port"

per_port=4001
served_port=4002
printf '%s\n' '# written by tests/system/flood.sh' \
    "$per_port	127.0.0.1:$bport" \
    "$served_port	127.0.0.1:$bport${per_source:+	max-connections-per-source=$per_source}" \
    >"$GUEST_DIR/v6fwd.conf"
guest_copy_in "$GUEST_DIR/v6fwd.conf" /etc/v6fwd.conf
out=$(in_guest v6fwd --check-config 2>&1) || die "v6fwd --check-config: $out"
in_guest systemctl start "v6fwd@$per_port.socket" \
    "v6fwd-server@$served_port.socket" || die "cannot start the sockets"

cg=$GUEST_CGROUP/system.slice
# usage CGROUP: its CPU time so far in microseconds, 0 before it exists.
usage() {
	local u
	u=$(sed -n 's/^usage_usec //p' "$1/cpu.stat" 2>/dev/null)
	echo "${u:-0}"
}
pid1_usec() {
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%d\n", ($14 + $15) * 1e6 / hz }' \
	    "/proc/$GUEST_PID/stat"
}
now_usec() { echo $(($(date +%s%N) / 1000)); }
# settled: no per-connection instance left, no helper of PID 1 in
# init.scope, as percon.sh waits.
settled() {
	local f
	for f in "$cg"/system-v6fwd.slice/*.service; do
		[ -e "$f" ] && return 1
	done
	[ "$(wc -l <"$GUEST_CGROUP/init.scope/cgroup.procs")" -le 1 ]
}
# v6load short's figure KEY from its line $1.
# sample SLICE PARENT N: every 0.1 s, at most N times, until killed: the
# most processes seen at once in SLICE's services, and what they were
# waiting in then (comm:wchan=count, the three most frequent); the most
# exited children of PARENT (a host PID) not yet collected by it.
sample() {
	local most=0 zmost=0 n z i p c w pids kids waits=
	local -A seen
	trap 'echo "$most $zmost $waits"; exit 0' TERM
	for ((i = 0; i < $3; i++)); do
		# shellcheck disable=SC2207 # PIDs: no spaces, no globs
		pids=($(cat "$1"/*.service/cgroup.procs 2>/dev/null))
		n=${#pids[@]}
		if ((n > most)); then
			most=$n
			seen=()
			for p in "${pids[@]}"; do
				c="?" w="?"
				read -r c 2>/dev/null <"/proc/$p/comm"
				read -r w 2>/dev/null <"/proc/$p/wchan"
				seen[$c:${w:-0}]=$((${seen[$c:${w:-0}]:-0} + 1))
			done
			waits=$(for k in "${!seen[@]}"; do echo "${seen[$k]} $k"; done |
			    sort -rn | head -n 3 | awk '{ printf "%s%s=%s", (NR > 1 ? "," : ""), $2, $1 }')
		fi
		z=0
		read -r -a kids 2>/dev/null <"/proc/$2/task/$2/children"
		for p in "${kids[@]}"; do
			read -r c 2>/dev/null <"/proc/$p/stat" || continue
			c=${c##*) }
			[ "${c%% *}" = Z ] && z=$((z + 1))
		done
		((z > zmost)) && zmost=$z
		sleep 0.1
	done
	echo "$most $zmost $waits"
}
# server_pid: the host PID of the served mode's server.
server_pid() {
	local p pp
	while read -r p; do
		pp=$(awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null)
		[ "$pp" = "$GUEST_PID" ] && { echo "$p"; return 0; }
	done <"$cg/system-v6fwd\x2dserver.slice/v6fwd-server@$served_port.service/cgroup.procs"
	return 1
}
fig() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"; }
share() { awk -v u="$1" -v t="$2" 'BEGIN { printf "%.1f", 100 * u / t }'; }

# flood NAME PORT SLICE PARENT: one flood; appends its figures to
# $results, and what the relay's processes waited in to $peaks.
flood() {
	local name=$1 port=$2 slice=$cg/$3 parent=$4 t0 t1 t2 p0 p1 p2 j0 j1 r0 r1 g0 g1
	local line conns wall sampler most zmost waits
	guest_wait 300 0.1 settled || echo "# $name: instances of the last flood still there after 30 s"
	t0=$(now_usec) p0=$(pid1_usec) j0=$(usage "$cg/systemd-journald.service")
	r0=$(usage "$slice") g0=$(usage "$GUEST_CGROUP")
	sample "$slice" "$parent" $(((seconds + 60) * 10)) >"$GUEST_DIR/most" &
	sampler=$!
	line=$(in_guest timeout $((seconds + 60)) "$GUEST_LIBEXEC/v6load" short ::1 \
	    "$port" "$clients" $((seconds * 1000)))
	t1=$(now_usec) p1=$(pid1_usec) j1=$(usage "$cg/systemd-journald.service")
	r1=$(usage "$slice") g1=$(usage "$GUEST_CGROUP")
	kill "$sampler"
	wait "$sampler"
	read -r most zmost waits <"$GUEST_DIR/most"
	guest_wait 600 0.1 settled || echo "# $name: instances still there 60 s after the flood"
	t2=$(now_usec) p2=$(pid1_usec)
	conns=$(fig "$line" conns)
	[ -n "$conns" ] || die "$name: no figures from v6load: '$line'"
	wall=$((t1 - t0))
	results+=("$name $(fig "$line" rate) $(fig "$line" errors) $(fig "$line" p50_us) $(fig "$line" p99_us) $(share $((p1 - p0)) $wall) $(share $((j1 - j0)) $wall) $(share $((r1 - r0)) $wall) $(share $((g1 - g0)) $wall) $(((p2 - p0) / (conns > 0 ? conns : 1))) $(((t2 - t1) / 1000)) ${most:-0} ${zmost:-0}")
	peaks+=("${waits:-none}")
}

# A first connection each, so that the served mode's server is up and
# neither flood pays a first fork.
for p in $per_port $served_port; do
	out=$(in_guest "$GUEST_LIBEXEC/v6load" short ::1 "$p" 1 300)
	[ "$(fig "$out" errors)" = 0 ] && [ "$(fig "$out" conns)" -gt 0 ] &&
	    continue
	die "warm-up on port $p: '$out'
$(in_guest journalctl --no-pager -n 15 -o short-monotonic)"
done

echo "# flood: $clients clients, $seconds s each, $rounds rounds alternating;" \
    "connect, 100 bytes each way, close; systemd" \
    "$(in_guest systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p')" \
    "as PID 1, kernel $(uname -r), $(nproc) CPUs; load average" \
    "$(cut -d' ' -f1-3 /proc/loadavg) before${per_source:+; served: max-connections-per-source=$per_source}"
echo "# CPU columns: % of one CPU during the flood; pid1/conn: PID 1's µs per connection until its instances are gone (settle, ms after the flood)"
spid=$(server_pid) || die "no v6fwd-server@$served_port.service process"
printf '%-9s %9s %7s %8s %8s %6s %8s %6s %6s %10s %7s %6s %7s\n' config conn/s failed \
    p50_ms p99_ms pid1% journald% relay% guest% pid1/conn settle procs zombies
results=()
peaks=()
for ((r = 1; r <= rounds; r++)); do
	if ((r % 2)); then
		order=(per-conn served)
	else
		order=(served per-conn)
	fi
	for name in "${order[@]}"; do
		case $name in
		per-conn) flood per-conn $per_port system-v6fwd.slice "$GUEST_PID" ;;
		served) flood served $served_port 'system-v6fwd\x2dserver.slice' "$spid" ;;
		esac
		awk '{ printf "%-9s %9.0f %7d %8.2f %8.2f %6s %8s %6s %6s %10s %7s %6s %7s\n",
		    $1, $2, $3, $4 / 1000, $5 / 1000, $6, $7, $8, $9, $10, $11, $12, $13 }' \
		    <<<"${results[${#results[@]} - 1]}"
		echo "#   at the peak, waiting in: ${peaks[${#peaks[@]} - 1]}"
	done
done

# Medians over the rounds, and the ratio.
printf '%s\n' "${results[@]}" | python3 -c '
import statistics, sys
rows = {}
for line in sys.stdin:
    f = line.split()
    rows.setdefault(f[0], []).append([float(x) for x in f[1:]])
med = {k: [statistics.median(c) for c in zip(*v)] for k, v in rows.items()}
for k in ("per-conn", "served"):
    m = med[k]
    print("median    %-9s %7.0f conn/s  failed %d  p50 %.2f ms  p99 %.2f ms"
          "  PID 1 %.1f%%  journald %.1f%%  relay %.1f%%  guest %.1f%%"
          "  PID 1 %.0f us/conn  procs %.0f  zombies %.0f" % (k, m[0],
          sum(r[1] for r in rows[k]), m[2] / 1000, m[3] / 1000, m[4], m[5],
          m[6], m[7], m[8], m[10], m[11]))
ratio = med["served"][0] / med["per-conn"][0] if med["per-conn"][0] else 0
print("served/per-conn %.1fx (target >= 10: %s); PID 1 during served %.1f%% "
      "of a CPU (target < 5: %s)" % (ratio, "met" if ratio >= 10 else "MISSED",
      med["served"][4], "met" if med["served"][4] < 5 else "MISSED"))
'
echo "# load average $(cut -d' ' -f1-3 /proc/loadavg) after;" \
    "v6fwd-server@$served_port.service $(in_guest systemctl show -P ActiveState "v6fwd-server@$served_port.service")," \
    "restarts $(in_guest systemctl show -P NRestarts "v6fwd-server@$served_port.service")"
# Where failures come from, as the relays and systemd said it.
for u in "v6fwd-server@$served_port.service" "v6fwd@$per_port.socket" 'v6fwd@*.service'; do
	in_guest journalctl --no-pager -o cat -p warning -u "$u" |
	    sed 's/[0-9][0-9]*/N/g' | sort | uniq -c | sort -rn | head -n 5 |
	    sed "s|^|# $u: |"
done
left=$(in_guest systemctl --failed --no-legend --plain)
[ -z "$left" ] || echo "# failed units: $left"
exit 0
