#!/usr/bin/env bash
# Goal of this test: with --map-source, each IPv6 client prefix reaches the
# IPv4 service from its own stable address. Inside private network and mount
# namespaces, with several IPv6 addresses on loopback: clients from different
# /64s arrive from different 127/8 addresses, two addresses of one /64 from
# the same one, the same ones again through a second relay (and equal to the
# pinned values of tests/unit.c, as on any machine), never from 127.0.0.1;
# /48 grouping from the configuration file; IPv4 clients are not mapped; a
# target off loopback is refused without a pool and works with one; a pool
# not routed to the host is reported with the fix; and the connection record
# carries the mapping, on stderr and as journal fields (V6FWD_SOURCE).

# Run again inside new network and mount namespaces (both vanish with the
# last process of this script); as root, or unprivileged through a user
# namespace where the kernel allows it.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
if [ -z "${V6FWD_IN_NETNS:-}" ]; then
	ns=(unshare --net --mount --propagation private)
	[ "$(id -u)" -eq 0 ] || ns=(unshare --map-root-user --net --mount)
	"${ns[@]}" true 2>/dev/null ||
		cannot_run "map-source" "needs root for a network namespace"
	rm -rf "$T"
	trap - EXIT
	V6FWD_IN_NETNS=1 exec "${ns[@]}" bash "$0" "$@"
fi

ip link set lo up || exit 1
for a in 2001:db8:1::1 2001:db8:1::2 2001:db8:2::1 2001:db8:3::1 \
	2001:db8:4:1::1 2001:db8:4:2::1; do
	ip -6 addr add "$a/128" dev lo nodad || exit 1
done
# Makes all of 192.0.2.0/24 local, as an administrator would for a pool.
ip route add local 192.0.2.0/24 dev lo || exit 1

# src CLIENT [peer options]: the source the backend saw for one connection
# from CLIENT; each connection is a new v6fwd process.
src() {
	local from=$1
	shift
	client hello --source "$from" "$@" >/dev/null || { echo none; return; }
	tail -n 1 "$T/report" | awk '$1 == "peer" { print $2 }'
}
# differ A B...: all distinct.
# shellcheck disable=SC2317 # called through check
differ() { [ "$(printf '%s\n' "$@" | sort -u | wc -l)" -eq $# ]; }
re() { printf '%s' "$1" | sed 's/[.[\]]/\\&/g'; }
# activate PORT ADDR [activator options] -- [v6fwd arguments]: like relay,
# on any address, with options for the activator (-E to set a variable).
activate() {
	local port=$1 addr=$2 opts=()
	shift 2
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	RELAY_PORT=$port
	systemd-socket-activate --accept -l "$addr:$port" "${opts[@]}" \
		"$V6FWD" "$@" >>"$T/relay.log" 2>&1 &
	RELAY_PID=$!
	PIDS+=("$RELAY_PID")
	if [ "$addr" = 127.0.0.1 ]; then
		wait_until 50 listening4 "$port"
	else
		wait_until 50 listening6 "$port"
	fi
}
stop_relay() { kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null; }

backend record || exit 1
relay "$BACKEND_PORT" --map-source || exit 1
a1=$(src 2001:db8:1::1)
a2=$(src 2001:db8:1::2)
a1again=$(src 2001:db8:1::1)
b=$(src 2001:db8:2::1)
c=$(src 2001:db8:3::1)
d1=$(src 2001:db8:4:1::1)
d2=$(src 2001:db8:4:2::1)
lo=$(src ::1)
echo "sources seen: 2001:db8:1::1 $a1, 2001:db8:1::2 $a2, 2001:db8:2::1 $b," \
	"2001:db8:3::1 $c, 2001:db8:4:1::1 $d1, 2001:db8:4:2::1 $d2, ::1 $lo"
check "one /64, one source ($a1, $a2, $a1again)" \
	test "$a1" = "$a2" -a "$a1" = "$a1again"
check "different /64s, different sources" differ "$a1" "$b" "$c" "$d1" "$d2" "$lo"
check "all in 127/8, none is 127.0.0.1" sh -c "printf '%s\n' $a1 $b $c $d1 $d2 $lo |
	grep -Evq '^127\.' && exit 1; printf '%s\n' $a1 $b $c $d1 $d2 $lo |
	grep -qx '127\.0\.0\.1' && exit 1; exit 0"
# ref [--pool NET] CLIENT...: what the model maps them to on this host.
ref() { python3 "$TOP/tests/mapsrc-ref.py" "$(cat /etc/machine-id)" 64 "$@" | tr '\n' ' '; }
check "the mapping is this host's: keyed by its machine ID" \
	test "$a1 $b " = "$(ref 2001:db8:1::1 2001:db8:2::1)"
check "the record names the mapped source" log_has "^v6fwd: \[2001:db8:1::1\]:[0-9]+ -> \[::1\]:$BACKEND_PORT -> 127\.0\.0\.1:$BACKEND_PORT from $(re "$a1"):[0-9]+: client closed first \(FIN\)"
check "no instance left running" no_instances
stop_relay

relay 0 --map-source "127.0.0.1:$BACKEND_PORT" || exit 1
check "second relay: the same sources" \
	test "$(src 2001:db8:1::1) $(src 2001:db8:2::1)" = "$a1 $b"
# Another host: another machine ID (in this mount namespace only).
printf '%s\n' 0123456789abcdef0123456789abcdef >"$T/machine-id"
mount --bind "$T/machine-id" /etc/machine-id || exit 1
o1=$(src 2001:db8:1::1)
o2=$(src 2001:db8:2::1)
check "another machine ID: other sources ($o1 $o2)" \
	test "$o1 $o2 " = "$(ref 2001:db8:1::1 2001:db8:2::1)" -a "$o1" != "$a1" -a "$o2" != "$b"
umount /etc/machine-id || exit 1
stop_relay

port=$(free_port) || exit 1
echo "$port 127.0.0.1:$BACKEND_PORT map-source=48" >"$T/v6fwd.conf"
relay "$port" -f "$T/v6fwd.conf" || exit 1
e1=$(src 2001:db8:4:1::1)
e2=$(src 2001:db8:4:2::1)
check "map-source=48 from the file: one /48, one source ($e1, $e2)" \
	test "$e1" = "$e2" -a "$e1" != none
check "map-source=48: another /48, another source" \
	differ "$e1" "$(src 2001:db8:1::1)"
stop_relay

# An IPv4 client reaches the service unmapped, and the log says so.
port=$(free_port) || exit 1
: >"$T/relay.log"
activate "$port" 127.0.0.1 -- --map-source "127.0.0.1:$BACKEND_PORT" || exit 1
check "IPv4 client: not mapped" test "$(src 127.0.0.1 --host 127.0.0.1)" = 127.0.0.1
check "IPv4 client: logged" log_has "^v6fwd: 127\.0\.0\.1:[0-9]+: IPv4 client, source not mapped"
stop_relay

# A target off loopback: refused without a pool, mapped into one with it.
kill "$BACKEND_PID"; wait "$BACKEND_PID" 2>/dev/null
backend record --host 192.0.2.1 || exit 1
relay 0 --map-source "192.0.2.1:$BACKEND_PORT" || exit 1
check "off loopback without a pool: client gets a RST" client expect-end --expect rst
check "off loopback without a pool: refused, the fix named" log_has "Refusing the connection: map-source maps into 127\.0\.0\.0/8, from which 192\.0\.2\.1:$BACKEND_PORT cannot be reached; set map-source-pool="
check "off loopback without a pool: exit status 4" log_has "died with code 4"
stop_relay

relay 0 --map-source --map-source-pool=192.0.2.0/24 \
	"192.0.2.1:$BACKEND_PORT" || exit 1
p1=$(src 2001:db8:1::1)
p2=$(src 2001:db8:2::1)
echo "pool sources seen: 2001:db8:1::1 $p1, 2001:db8:2::1 $p2"
check "pool: this host's addresses of 192.0.2.0/24" \
	test "$p1 $p2 " = "$(ref --pool 192.0.2.0/24 2001:db8:1::1 2001:db8:2::1)"
check "pool: the record names the mapped source" log_has "^v6fwd: \[2001:db8:2::1\]:[0-9]+ -> .* -> 192\.0\.2\.1:$BACKEND_PORT from $(re "$p2"):[0-9]+: "
stop_relay

relay 0 --map-source --map-source-pool=198.51.100.0/24 \
	"192.0.2.1:$BACKEND_PORT" || exit 1
check "pool not on this host: client gets a RST" client expect-end --expect rst
check "pool not on this host: one message with the address and the fix" \
	log_has "Failed to connect to 192\.0\.2\.1:$BACKEND_PORT from 198\.51\.100\.[0-9]+: not an address of this host; route the pool to it: ip route add local 198\.51\.100\.0/24 dev lo$"
stop_relay

# The journal: a stand-in journald on the native socket, in this mount
# namespace only. With JOURNAL_STREAM naming its stderr, v6fwd sends its
# records there as fields.
journald || exit 1
kill "$BACKEND_PID"; wait "$BACKEND_PID" 2>/dev/null
backend record || exit 1
port=$(free_port) || exit 1
: >"$T/relay.log"
activate "$port" "[::1]" -E "JOURNAL_STREAM=$(stat -c %d:%i "$T/relay.log")" \
	-- --map-source "127.0.0.1:$BACKEND_PORT" || exit 1
j=$(src 2001:db8:1::1)
# What "journalctl -o json V6FWD_SOURCE=ADDR" finds in the connection
# records: field $2 of each.
who() {
	journal V6FWD_SOURCE="$1" MESSAGE_ID=3f1c5e0a9b8d4c27a6e1d2b7c4f08e93 \
		--field "$2"
}
# shellcheck disable=SC2317 # called by wait_until
has_record() { [ -n "$(who "$1" V6FWD_CLIENT)" ]; }
check "journal: the record carries V6FWD_SOURCE=$j" wait_until 50 has_record "$j"
check "journal: V6FWD_SOURCE=$j finds 2001:db8:1::1" \
	test "$(who "$j" V6FWD_CLIENT)" = 2001:db8:1::1
check "journal: and the mapped source's port" \
	grep -Eqx '[0-9]+' <<<"$(who "$j" V6FWD_SOURCE_PORT)"
finish
