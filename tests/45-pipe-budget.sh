#!/usr/bin/env bash
# Goal of this test: when the per-user pipe budget runs out, v6fwd still
# relays every byte. All instances run as one user, and pipe memory is
# counted per user (fs.pipe-user-pages-soft, 16384 pages: 512 connections
# of two 64 KiB pipes); past it the kernel hands out 2-page pipes. Root is
# exempt, so the relay runs as nobody (setpriv) while 600 connections are
# held: /proc shows the late ones with 8 KiB pipes; 4 MiB each way through
# ten of those arrive intact; every instance has exactly its 9 fds and
# exits on release. The sysctl itself is left alone: it is global.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ] || ! id nobody >/dev/null 2>&1; then
	cannot_run "pipe budget" "needs root to run v6fwd as nobody"
fi
budget=$(cat /proc/sys/fs/pipe-user-pages-soft)
if ((budget == 0 || budget > 600 * 2 * 16 - 1000)); then
	skip "pipe budget" "fs.pipe-user-pages-soft=$budget is not exceeded by 600 connections"
	finish
fi
ulimit -n 8192 2>/dev/null || true
group=$(id -gn nobody)
# A copy nobody can reach whatever the permissions of the work tree.
cp "$V6FWD" "$T/v6fwd"
printf '#!/bin/sh\nexec setpriv --reuid=nobody --regid=%s --clear-groups %s "$@"\n' \
	"$group" "$T/v6fwd" >"$T/v6fwd-nobody"
chmod 755 "$T/v6fwd-nobody" "$T/v6fwd" "$T"
V6FWD=$T/v6fwd-nobody
port=$(free_port) || exit 1
relay "$port" || exit 1
hostile "600 connections as nobody: 2-page pipes past the budget, data intact" \
	many --count 600 --data 1000 --pipes 10
check "no instance left running" no_instances 100
finish
