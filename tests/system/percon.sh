#!/bin/bash
# tests/system/percon.sh: what each connection costs under systemd as PID 1.
#
# Usage: tests/system/percon.sh [-n COUNT] [-u] [-b NAME=BINARY]... [DROPIN.conf...]
# PERCON_SETUP, if set, is a shell command run in the guest first.
#
# Boots the guest of tests/system/boot.sh (root, namespaces) and measures,
# with COUNT (default 200) sequential clients per configuration, the time
# from connect() to the first reply byte (the client sends one byte, the
# instance or the IPv4 echo service behind it sends it back) through an
# Accept=yes socket, for:
#   bare      a unit whose instance is only /bin/cat (StandardInput=socket)
#   shipped   v6fwd@.socket and v6fwd@.service as "make install" put them
#   NAME      for each DROPIN given: the installed units plus that drop-in
#             for the service (units/v6fwd-strict.conf, say). So that the
#             shipped row stays drop-in free, the installed units are copied
#             to v6fwd-NAME@.socket/.service and the drop-in goes to
#             /etc/systemd/system/v6fwd-NAME@.service.d/.
#   NAME      for each -b NAME=BINARY: the installed units again, copied
#             to v6fwd-NAME@.socket/.service, with ExecStart= running
#             BINARY (copied into the guest as /usr/local/sbin/v6fwd-NAME)
#             instead: another build of v6fwd measured beside the
#             installed one, such as one from before a change (issue 11:
#             what linking libsystemd costs per connection).
# The configurations alternate in the same run, one client each per round,
# each round in a shuffled order, so that a busy machine weighs on all of
# them alike. Before the next client, the previous instance must be gone
# (its cgroup removed, and no helper of PID 1 left in init.scope, such as
# the one removing a PrivateTmp= directory): otherwise PID 1 is still
# stopping it while it starts the next one, and the cost of one
# configuration lands on whichever comes next. -u measures without that
# wait. One line per
# configuration: p50, p90, ratio of p50 to bare's, and the service's
# "systemd-analyze security" exposure.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=boot.sh disable=SC1091
. "$HERE/boot.sh"

count=200
settle=(--settle '/sys/fs/cgroup/system.slice/system-*.slice/*.service')
binaries=()
usage="usage: $0 [-n COUNT] [-u] [-b NAME=BINARY]... [DROPIN.conf...]"
while getopts b:n:u o; do
	case $o in
	b) binaries+=("$OPTARG") ;;
	n) count=$OPTARG ;;
	u) settle=() ;;
	*) echo "$usage" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
for f in "$@"; do
	[ -r "$f" ] || { echo "percon.sh: cannot read $f" >&2; exit 2; }
done
for b in "${binaries[@]}"; do
	case ${b%%=*} in
	"$b" | "" | *[!A-Za-z0-9_-]*)
		echo "percon.sh: -b takes NAME=BINARY, NAME of letters, digits, - and _: '$b'" >&2
		exit 2
		;;
	esac
	[ -x "${b#*=}" ] || { echo "percon.sh: cannot run ${b#*=}" >&2; exit 2; }
done

if ! guest_boot; then
	echo "percon.sh: ${GUEST_SKIP:-$GUEST_ERROR}" >&2
	exit 1
fi

die() { echo "percon.sh: $*" >&2; exit 1; }

# An experiment's change to the guest, such as another nsswitch.conf.
if [ -n "${PERCON_SETUP:-}" ]; then
	in_guest sh -c "$PERCON_SETUP" || die "PERCON_SETUP failed"
fi

unitdir=/etc/systemd/system
cat >"$GUEST_DIR/percon-bare.socket" <<EOF
[Socket]
ListenStream=[::1]:3001
Accept=yes
# Sequential clients go faster than 200 per 2 s.
TriggerLimitIntervalSec=0
EOF
cat >"$GUEST_DIR/percon-bare@.service" <<EOF
[Service]
ExecStart=/bin/cat
StandardInput=socket
EOF
guest_copy_in "$GUEST_DIR/percon-bare.socket" $unitdir/percon-bare.socket
guest_copy_in "$GUEST_DIR/percon-bare@.service" $unitdir/percon-bare@.service

targets=("bare=[::1]:3001" "shipped=[::1]:3002")
sockets=(percon-bare.socket v6fwd@3002.socket)
services=(percon-bare@probe.service v6fwd@probe.service)
ports=(3002)
port=3010
for f in "$@"; do
	name=$(basename "$f" .conf)
	name=${name#v6fwd-}
	port=$((port + 1))
	# Same unit files, another name, the drop-in beside.
	in_guest sh -c "sed 's/v6fwd@/v6fwd-$name@/g' /lib/systemd/system/v6fwd@.socket >$unitdir/v6fwd-$name@.socket &&
	    cp /lib/systemd/system/v6fwd@.service $unitdir/v6fwd-$name@.service" ||
	    die "cannot copy the installed units"
	guest_copy_in "$f" "$unitdir/v6fwd-$name@.service.d/$(basename "$f")"
	targets+=("$name=[::1]:$port")
	sockets+=("v6fwd-$name@$port.socket")
	services+=("v6fwd-$name@probe.service")
	ports+=("$port")
done
for b in "${binaries[@]}"; do
	name=${b%%=*}
	port=$((port + 1))
	# Same unit files, another name, ExecStart= running the other binary.
	if ! guest_copy_in "${b#*=}" "/usr/local/sbin/v6fwd-$name" ||
	    ! in_guest chmod 0755 "/usr/local/sbin/v6fwd-$name"; then
		die "cannot copy ${b#*=} into the guest"
	fi
	in_guest sh -c "sed 's/v6fwd@/v6fwd-$name@/g' /lib/systemd/system/v6fwd@.socket >$unitdir/v6fwd-$name@.socket &&
	    sed 's|^ExecStart=[^ ]*|ExecStart=/usr/local/sbin/v6fwd-$name|' /lib/systemd/system/v6fwd@.service >$unitdir/v6fwd-$name@.service" ||
	    die "cannot copy the installed units"
	targets+=("$name=[::1]:$port")
	sockets+=("v6fwd-$name@$port.socket")
	services+=("v6fwd-$name@probe.service")
	ports+=("$port")
done
in_guest systemctl daemon-reload || die "daemon-reload failed"
in_guest systemd-run --quiet --unit=percon-backend -p LimitNOFILE=65536 \
    python3 "$GUEST_LIBEXEC/peer.py" traffic backend "${ports[@]}" ||
    die "cannot start the echo service"
in_guest python3 "$GUEST_LIBEXEC/peer.py" traffic wait-listen 127.0.0.1 3002 >/dev/null ||
    die "the echo service does not listen"
in_guest systemctl start "${sockets[@]}" || die "cannot start ${sockets[*]}"

# A few connections each first: caches, the first fork of each unit.
out=$(in_guest python3 "$GUEST_LIBEXEC/peer.py" traffic latency --count 5 \
    "${targets[@]}") ||
    die "warm-up connections failed: $out
$(in_guest journalctl --no-pager -n 15 -o short-monotonic)"
echo "# per-connection cost: $count sequential clients per configuration," \
    "alternating${settle[*]:+, each after the last instance is gone};" \
    "connect() to first reply byte; systemd" \
    "$(in_guest systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p')" \
    "as PID 1, kernel $(uname -r), $(nproc) CPUs"
for b in "${binaries[@]}"; do
	echo "# ${b%%=*}: ${b#*=}, $(in_guest ldd "/usr/local/sbin/v6fwd-${b%%=*}" |
	    grep -q libsystemd || echo "not ")linked with libsystemd"
done
out=$(in_guest python3 "$GUEST_LIBEXEC/peer.py" traffic latency --count "$count" \
    "${settle[@]}" "${targets[@]}")
rc=$?
i=0
while IFS= read -r line; do
	if [ "${line#\#}" != "$line" ]; then
		echo "$line"
		continue
	fi
	exposure=$(in_guest systemd-analyze security --no-pager "${services[i]}" 2>/dev/null |
	    sed -n 's/.*Overall exposure level for [^:]*: *\([0-9.]*\) *\([A-Z]*\).*/\1 \2/p')
	echo "$line  exposure ${exposure:-?}"
	i=$((i + 1))
done <<<"$out"
left=$(in_guest systemctl --failed --no-legend --plain)
[ -z "$left" ] || echo "# failed units: $left"
exit "$rc"
