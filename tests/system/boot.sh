#!/bin/bash
# shellcheck disable=SC2317
#
# tests/system/boot.sh: boots systemd as PID 1 in throwaway namespaces, so
# that the system tests go through the real user path (PID 1, templated
# units, a cgroup per connection, journald) without touching the host.
#
# Interface. Source this file from bash, then:
#   guest_boot           Boots the guest and installs v6fwd into it (unless
#                        GUEST_INSTALL=none); returns
#                        0 when it is up, 2 when it cannot run here (the
#                        reason is in GUEST_SKIP), 1 when booting failed
#                        (the reason is in GUEST_ERROR, the console in
#                        $GUEST_DIR/console.log). Sets an EXIT trap that
#                        calls guest_teardown.
#   in_guest CMD...      Runs CMD inside the guest (all its namespaces, its
#                        root, a clean environment) and returns its status.
#                        Processes it starts die with the guest.
#   guest_copy_in SRC DST
#                        Copies a host file into the guest at DST.
#   guest_teardown       Kills the guest and removes everything it made;
#                        safe to call twice.
# Variables: GUEST_PID (host PID of the guest's PID 1), GUEST_DIR (host
# directory holding the console log), GUEST_LIBEXEC (where the helpers of
# tests/system/ and the test peers, tests/peer*.py, are inside the guest).
# Environment: V6FWD_SRC, the source tree to "make install" from (default:
# the tree this file is in); GUEST_INSTALL=none boots a guest with no
# v6fwd at all, for a scenario that installs it itself (the Debian
# package): nothing from "make install", and whatever of v6fwd the host
# has (its files, its user, a package in dpkg's database) removed from
# the guest's view; GUEST_BOOT_TIMEOUT, seconds (default 60);
# GUEST_MAX_LIFETIME, seconds after which a watchdog kills the guest
# (default 3600; it also does when the script dies without its EXIT
# trap); GUEST_KEEP=1 keeps the console log after teardown.
# A signal is handled once the command in flight returns (bash defers
# traps), at most the few minutes the longest test command is bounded by.
#
# Run directly, "tests/system/boot.sh [CMD...]" boots, runs CMD inside (by
# default an interactive shell), tears down and exits with CMD's status.
#
# How. PID 1 of new PID, mount, network, UTS, IPC and cgroup namespaces
# mounts an overlay of / whose upper layer is a tmpfs, installs v6fwd into
# it with "make install DESTDIR=", pivots into it and execs systemd. Its
# cgroup namespace is rooted at a fresh cgroup2 directory, so systemd owns
# a writable hierarchy of its own. All of the guest's writes land in the
# tmpfs; /sys and /proc/sys are read-only; the capabilities that reach the
# whole machine (modules, clock, raw I/O, syslog) are dropped from its
# bounding set; the network namespace has only its own loopback.
#
# No unrelated unit can start: in the overlay, every *.wants directory and
# every generator is removed (whiteouts in the tmpfs, nothing on the host),
# and the default target, v6fwd-guest.target, has DefaultDependencies=no
# and wants only journald. So sysinit.target and basic.target, pulled in
# by the default dependencies of the units under test, are empty.

GUEST_SELF=$(readlink -f "${BASH_SOURCE[0]}")
GUEST_SYSTEST=$(dirname "$GUEST_SELF")
GUEST_LIBEXEC=/usr/local/libexec/v6fwd-systest
GUEST_PID=
GUEST_UNSHARE_PID=
GUEST_WATCHDOG_PID=
GUEST_DIR=
GUEST_CGROUP=
GUEST_SKIP=
GUEST_ERROR=
GUEST_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# Capabilities whose effect is not confined by the namespaces.
GUEST_DROP_CAPS=-sys_module,-sys_time,-sys_rawio,-wake_alarm,-block_suspend,-syslog,-sys_pacct,-mac_admin,-mac_override

# Waits until "$@" succeeds: at most $1 tries, $2 seconds apart.
guest_wait() {
	local tries=$1 pause=$2 i
	shift 2
	for ((i = 0; i < tries; i++)); do
		"$@" && return 0
		sleep "$pause"
	done
	return 1
}

# The cgroup2 hierarchy to root the guest's cgroup namespace in.
guest_cgroup2_root() {
	local d
	for d in /sys/fs/cgroup /sys/fs/cgroup/unified; do
		if [ "$(stat -f -c %T "$d" 2>/dev/null)" = cgroup2fs ] &&
		    [ -w "$d/cgroup.procs" ]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

# Sets GUEST_SKIP and returns 1 when this machine cannot boot a guest.
guest_check() {
	if [ "$(id -u)" != 0 ]; then
		GUEST_SKIP="needs root"
		return 1
	fi
	if ! [ -x /lib/systemd/systemd ]; then
		GUEST_SKIP="no /lib/systemd/systemd"
		return 1
	fi
	if ! grep -qw overlay /proc/filesystems 2>/dev/null &&
	    ! modprobe overlay 2>/dev/null; then
		GUEST_SKIP="no overlayfs"
		return 1
	fi
	# The overlay's lower layer is the root file system alone.
	if mountpoint -q /usr; then
		GUEST_SKIP="/usr is a separate file system"
		return 1
	fi
	if ! guest_cgroup2_root >/dev/null; then
		GUEST_SKIP="no writable cgroup2 hierarchy"
		return 1
	fi
	if ! unshare --pid --mount --net --uts --ipc --cgroup --fork true \
	    2>/dev/null; then
		GUEST_SKIP="cannot create namespaces (unshare failed)"
		return 1
	fi
	local t
	for t in nsenter setpriv flock make python3 ip; do
		if ! command -v "$t" >/dev/null; then
			GUEST_SKIP="$t not installed"
			return 1
		fi
	done
	return 0
}

# Should the script die without its EXIT trap (SIGKILL), or outlive
# $4 seconds, kill unshare: its --kill-child takes the guest along.
guest_watchdog() {
	local script=$1 unshare=$2 dir=$3 i
	for ((i = 0; i < $4; i++)); do
		kill -0 "$script" 2>/dev/null || break
		kill -0 "$unshare" 2>/dev/null || return 0
		sleep 1
	done
	# Only if that PID is still our unshare, not a reused one.
	if tr '\0' ' ' <"/proc/$unshare/cmdline" 2>/dev/null |
	    grep -qF -- "--pid1 $dir "; then
		kill -KILL "$unshare"
		GUEST_PID='' GUEST_WATCHDOG_PID=''
		guest_teardown
	fi
}

guest_alive() {
	[ -n "$GUEST_PID" ] && kill -0 "$GUEST_PID" 2>/dev/null
}

in_guest() {
	nsenter --target "$GUEST_PID" --mount --uts --ipc --net --pid \
	    --cgroup --root --wd -- \
	    env -i PATH="$GUEST_PATH" LANG=C.UTF-8 TERM=dumb SYSTEMD_PAGER= \
	    SYSTEMD_COLORS=0 SYSTEMD_LESS= "$@"
}

guest_copy_in() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	in_guest sh -c 'mkdir -p "$(dirname "$1")" && cat > "$1"' sh "$2" <"$1"
}

guest_boot() {
	local src=${V6FWD_SRC:-$(dirname "$(dirname "$GUEST_SYSTEST")")}
	local timeout=${GUEST_BOOT_TIMEOUT:-60} cgroot state
	local install=${GUEST_INSTALL:-make}

	case $install in
	make | none) ;;
	*)
		GUEST_ERROR="GUEST_INSTALL must be make or none, not '$install'"
		return 1
		;;
	esac

	guest_check || return 2
	GUEST_DIR=$(mktemp -d /tmp/v6fwd-guest.XXXXXX) || return 1
	# Signals end the script through exit, so that the EXIT trap runs.
	trap guest_teardown EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
	cgroot=$(guest_cgroup2_root)
	GUEST_CGROUP=$cgroot/${GUEST_DIR##*/}
	if ! mkdir "$GUEST_CGROUP"; then
		GUEST_ERROR="cannot create cgroup $GUEST_CGROUP"
		GUEST_CGROUP=
		return 1
	fi
	# The subshell moves itself into the new cgroup before unshare, so
	# the guest's cgroup namespace is rooted there.
	(
		echo "$BASHPID" >"$GUEST_CGROUP/cgroup.procs" || exit 1
		exec unshare --pid --mount --net --uts --ipc --cgroup \
		    --kill-child -- "$GUEST_SELF" --pid1 "$GUEST_DIR" "$src" "$install"
	) </dev/null >"$GUEST_DIR/console.log" 2>&1 &
	GUEST_UNSHARE_PID=$!
	guest_watchdog $$ "$GUEST_UNSHARE_PID" "$GUEST_DIR" \
	    "${GUEST_MAX_LIFETIME:-3600}" </dev/null >/dev/null 2>&1 &
	GUEST_WATCHDOG_PID=$!

	guest_find_pid() {
		local c
		kill -0 "$GUEST_UNSHARE_PID" 2>/dev/null || return 0
		c=$(cat "/proc/$GUEST_UNSHARE_PID/task/$GUEST_UNSHARE_PID/children" 2>/dev/null) || return 1
		GUEST_PID=${c%% *}
		[ -n "$GUEST_PID" ]
	}
	guest_is_systemd() {
		kill -0 "$GUEST_UNSHARE_PID" 2>/dev/null || return 0
		[ "$(cat "/proc/$GUEST_PID/comm" 2>/dev/null)" = systemd ]
	}
	guest_running() {
		guest_alive || return 0
		state=$(in_guest systemctl is-system-running 2>/dev/null)
		case $state in
		running | degraded) return 0 ;;
		esac
		return 1
	}
	if ! guest_wait $((timeout * 10)) 0.1 guest_find_pid ||
	    ! guest_alive ||
	    ! guest_wait $((timeout * 10)) 0.1 guest_is_systemd ||
	    ! guest_alive ||
	    ! guest_wait $((timeout * 5)) 0.2 guest_running ||
	    ! guest_alive; then
		GUEST_ERROR="the guest did not boot (state '${state:-none}'): $(tail -n 3 "$GUEST_DIR/console.log" | tr '\n' ' ')"
		return 1
	fi
	# Without an install, creating the user is the installer's job.
	if [ "$install" = make ] &&
	    ! in_guest systemd-sysusers >>"$GUEST_DIR/console.log" 2>&1; then
		GUEST_ERROR="systemd-sysusers failed in the guest"
		return 1
	fi
	if [ "$state" != running ]; then
		GUEST_ERROR="the guest is $state: $(in_guest systemctl --failed --no-legend --plain 2>&1 | tr '\n' ' ')"
		return 1
	fi
	return 0
}

guest_unshare_gone() {
	! kill -0 "$GUEST_UNSHARE_PID" 2>/dev/null
}

guest_teardown() {
	local i
	if [ -n "$GUEST_WATCHDOG_PID" ]; then
		kill "$GUEST_WATCHDOG_PID" 2>/dev/null
		wait "$GUEST_WATCHDOG_PID" 2>/dev/null
		GUEST_WATCHDOG_PID=
	fi
	if [ -n "$GUEST_UNSHARE_PID" ]; then
		# The whole PID namespace dies with its PID 1.
		if guest_alive; then
			kill -KILL "$GUEST_PID" 2>/dev/null
		fi
		if kill -0 "$GUEST_UNSHARE_PID" 2>/dev/null; then
			guest_wait 100 0.1 guest_unshare_gone ||
			    kill -KILL "$GUEST_UNSHARE_PID" 2>/dev/null
		fi
		wait "$GUEST_UNSHARE_PID" 2>/dev/null
		GUEST_UNSHARE_PID=
	fi
	GUEST_PID=
	if [ -n "$GUEST_CGROUP" ] && [ -d "$GUEST_CGROUP" ]; then
		# Empty once the PID namespace is gone; rmdir removes only
		# empty cgroups, deepest first.
		for ((i = 0; i < 50; i++)); do
			find "$GUEST_CGROUP" -depth -type d -exec rmdir {} + 2>/dev/null
			[ -d "$GUEST_CGROUP" ] || break
			sleep 0.1
		done
		GUEST_CGROUP=
	fi
	# The guest's mounts lived only in its mount namespace; what is left
	# here is plain directories and the console log.
	if [ -n "$GUEST_DIR" ] && [ -d "$GUEST_DIR" ]; then
		if [ -n "${GUEST_KEEP:-}" ]; then
			echo "guest files kept in $GUEST_DIR" >&2
		else
			rm -rf --one-file-system "$GUEST_DIR"
		fi
		GUEST_DIR=
	fi
}

# Removes from the guest root $1 whatever of v6fwd it sees of the host:
# what "make install" (any PREFIX of ours) or the package put there, the
# user, and the package's entry in dpkg's database. Only the overlay's
# upper layer changes (whiteouts), never the host.
guest_scrub_v6fwd() {
	local root=$1 f
	rm -rf "$root"/usr/local/sbin/v6fwd "$root"/usr/local/bin/v6fwd \
	    "$root"/usr/sbin/v6fwd "$root"/usr/bin/v6fwd \
	    "$root"/lib/systemd/system/v6fwd* "$root"/usr/lib/systemd/system/v6fwd* \
	    "$root"/usr/local/lib/systemd/system/v6fwd* \
	    "$root"/etc/systemd/system/v6fwd* \
	    "$root"/usr/lib/sysusers.d/v6fwd.conf \
	    "$root"/usr/local/lib/sysusers.d/v6fwd.conf \
	    "$root"/usr/share/man/man8/v6fwd.8* "$root"/usr/share/man/man5/v6fwd.conf.5* \
	    "$root"/usr/local/share/man/man8/v6fwd.8* \
	    "$root"/usr/local/share/man/man5/v6fwd.conf.5* \
	    "$root"/usr/share/v6fwd "$root"/usr/local/share/v6fwd \
	    "$root"/usr/share/doc/v6fwd "$root"/var/lib/dpkg/info/v6fwd.* \
	    "$root"/etc/v6fwd.conf "$root"/etc/v6fwd.conf.dpkg-*
	for f in passwd group shadow gshadow; do
		if grep -q '^v6fwd:' "$root/etc/$f" 2>/dev/null; then
			sed -i '/^v6fwd:/d' "$root/etc/$f"
		fi
	done
	if grep -qx 'Package: v6fwd' "$root/var/lib/dpkg/status"; then
		awk 'BEGIN { RS = ""; ORS = "\n\n" } $0 !~ /^Package: v6fwd\n/' \
		    "$root/var/lib/dpkg/status" >"$root/var/lib/dpkg/status.v6fwd-guest"
		mv "$root/var/lib/dpkg/status.v6fwd-guest" "$root/var/lib/dpkg/status"
	fi
}

# The guest's PID 1 until it execs systemd. $1: the host directory for
# the mount points, $2: the source tree, $3: make (install v6fwd from
# it) or none.
guest_pid1() {
	local src=$2 install=${3:-make} root=$1/root rw=$1/rw d
	set -e
	[ "$$" = 1 ]
	mount --make-rprivate /
	mkdir -p "$rw" "$root"
	mount -t tmpfs -o mode=0755 v6fwd-guest "$rw"
	mkdir "$rw/upper" "$rw/work"
	mount -t overlay -o "lowerdir=/,upperdir=$rw/upper,workdir=$rw/work" \
	    v6fwd-guest "$root"

	if [ "$install" = make ]; then
		# The user's path: install as a package would. The lock keeps
		# guests booting at the same time from building in the same
		# tree at once.
		flock -w 300 "$src" make -s -C "$src" install DESTDIR="$root" \
		    PREFIX=/usr/local
		# A sanitized build's leak check stops the world with
		# ptrace(), which the units' system call filters refuse: in
		# the guest only, it is let through.
		if ldd "$root/usr/local/sbin/v6fwd" 2>/dev/null |
		    grep -q libasan; then
			for d in "$root"/lib/systemd/system/v6fwd*@.service; do
				grep -q '^SystemCallFilter=' "$d" || continue
				d=$root/etc/systemd/system/$(basename "$d").d
				mkdir -p "$d"
				printf '[Service]\nSystemCallFilter=@debug\n' \
				    >"$d/sanitizer.conf"
			done
		fi
	else
		guest_scrub_v6fwd "$root"
	fi
	mkdir -p "$root$GUEST_LIBEXEC"
	# The test peers (tests/peer.py and its modules).
	cp "$GUEST_SYSTEST"/../peer*.py "$root$GUEST_LIBEXEC/"

	# Only what the tests start may start.
	for d in /usr/lib/systemd/system /etc/systemd/system \
	    /usr/local/lib/systemd/system; do
		rm -rf "$root$d"/*.wants "$root$d"/*.requires
	done
	rm -rf "$root"/usr/lib/systemd/system-generators \
	    "$root"/etc/systemd/system-generators \
	    "$root"/usr/local/lib/systemd/system-generators \
	    "$root"/usr/lib/systemd/system-environment-generators \
	    "$root"/var/log/journal "$root"/etc/v6fwd.conf
	: >"$root/etc/fstab"
	tr -d '-' </proc/sys/kernel/random/uuid >"$root/etc/machine-id"
	echo v6fwd-guest >"$root/etc/hostname"
	cat >"$root/etc/systemd/system/v6fwd-guest.target" <<-EOF
	[Unit]
	Description=v6fwd system-test guest
	DefaultDependencies=no
	Wants=systemd-journald.socket systemd-journald-dev-log.socket systemd-journald.service
	After=systemd-journald.socket systemd-journald-dev-log.socket systemd-journald.service
	AllowIsolate=yes
	EOF
	ln -sf v6fwd-guest.target "$root/etc/systemd/system/default.target"
	mkdir -p "$root/etc/systemd/journald.conf.d" \
	    "$root/etc/systemd/system.conf.d"
	# Every record counts here, floods included.
	cat >"$root/etc/systemd/journald.conf.d/v6fwd-guest.conf" <<-EOF
	[Journal]
	Storage=volatile
	RateLimitIntervalSec=0
	RuntimeMaxUse=256M
	EOF
	cat >"$root/etc/systemd/system.conf.d/v6fwd-guest.conf" <<-EOF
	[Manager]
	ShowStatus=no
	DefaultTimeoutStopSec=10s
	EOF

	# Kernel file systems, as a container manager sets them up.
	mount -t proc proc "$root/proc"
	mount --bind "$root/proc/sys" "$root/proc/sys"
	mount -o remount,bind,ro "$root/proc/sys"
	mount --bind "$root/proc/sys/net" "$root/proc/sys/net"
	mount -o remount,bind,rw "$root/proc/sys/net"
	if [ -e "$root/proc/sysrq-trigger" ]; then
		mount --bind "$root/proc/sysrq-trigger" "$root/proc/sysrq-trigger"
		mount -o remount,bind,ro "$root/proc/sysrq-trigger"
	fi
	mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$root/sys"
	mount -t cgroup2 -o rw,nosuid,nodev,noexec cgroup2 "$root/sys/fs/cgroup"
	mount -t tmpfs -o mode=0755,nosuid,size=64m dev "$root/dev"
	for d in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
		IFS=: read -r n ma mi <<<"$d"
		mknod -m 0666 "$root/dev/$n" c "$ma" "$mi"
	done
	mkdir "$root/dev/pts" "$root/dev/shm"
	mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$root/dev/pts"
	ln -s pts/ptmx "$root/dev/ptmx"
	mount -t tmpfs -o mode=1777,nosuid,nodev shm "$root/dev/shm"
	ln -s /proc/self/fd "$root/dev/fd"
	ln -s /proc/self/fd/0 "$root/dev/stdin"
	ln -s /proc/self/fd/1 "$root/dev/stdout"
	ln -s /proc/self/fd/2 "$root/dev/stderr"
	# The console is the log file that PID 1's stdout already is.
	: >"$root/dev/console"
	mount --bind /proc/self/fd/1 "$root/dev/console"
	mount -t tmpfs -o mode=0755,nosuid,nodev run "$root/run"
	mount -t tmpfs -o mode=1777,nosuid,nodev tmp "$root/tmp"
	hostname v6fwd-guest
	ip link set lo up

	cd "$root"
	mkdir -p .oldroot
	pivot_root . .oldroot
	umount -l /.oldroot
	rmdir /.oldroot
	# Never systemd on the real root: only on the throwaway overlay.
	[ "$(stat -f -c %T /)" = overlayfs ]
	set +e
	exec env -i container=v6fwd-guest PATH="$GUEST_PATH" \
	    setpriv --bounding-set "$GUEST_DROP_CAPS" -- \
	    /lib/systemd/systemd --system --unit=v6fwd-guest.target
}

if [ "${1:-}" = --pid1 ]; then
	guest_pid1 "$2" "$3" "${4:-make}"
	exit 1
fi

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	if ! guest_boot; then
		echo "boot.sh: ${GUEST_SKIP:-$GUEST_ERROR}" >&2
		[ -n "$GUEST_DIR" ] && cat "$GUEST_DIR/console.log" >&2
		exit 1
	fi
	if [ $# -eq 0 ]; then
		set -- bash -l
	fi
	in_guest "$@"
	exit $?
fi
