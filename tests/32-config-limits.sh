#!/usr/bin/env bash
# Goal of this test: the configuration file's limits are the documented
# ones, v6fwd.conf(5), and a comment of any length within them is just a
# comment (issue 10, item 11). Under activation: a file with a comment line
# of 5000 characters, and a rule ending in a comment of 3000, is valid and
# obeyed (the rule sends the port to a backend the default would miss). Its
# target may be a host name of 253 characters (in /etc/hosts, in a private
# mount namespace). Offline, with --check-config, each limit and one past
# it: 64 KiB of file, 64 rules, 16 words on a line, 253 characters of host
# name.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
in_private_net "$@"

backend echo || exit 1
port=$(free_port) || exit 1
long=$(printf 'x%.0s' $(seq 5000))
{
	echo "# $long"
	echo "$port 127.0.0.1:$BACKEND_PORT # ${long:0:3000}"
} >"$T/v6fwd.conf"
relay "$port" -f "$T/v6fwd.conf" || exit 1
check "a 5000-character comment line: the file is obeyed" client echo --arg 1000
check "a 5000-character comment line: relayed to the rule's target" \
	log_has "-> 127\.0\.0\.1:$BACKEND_PORT: client closed first \(FIN\); 1000 bytes from client"
check "a 5000-character comment line: --check-config agrees" \
	"$V6FWD" --check-config -f "$T/v6fwd.conf"
stop_relay

# A 253-character name (four labels) as the target.
name=$(printf 'a%.0s' $(seq 63)).$(printf 'b%.0s' $(seq 63)).$(printf 'c%.0s' $(seq 63)).$(printf 'd%.0s' $(seq 61))
over /etc/nsswitch.conf "hosts: files" || exit 1
over /etc/hosts "127.0.0.1 localhost $name" || exit 1
echo "$port $name:$BACKEND_PORT" >"$T/v6fwd.conf"
relay "$port" -f "$T/v6fwd.conf" || exit 1
check "a host name of ${#name} characters: resolved and relayed" client echo --arg 1000
check "a host name of ${#name} characters: the record names it" \
	log_has "-> $name:$BACKEND_PORT: client closed first \(FIN\)"
stop_relay

# valid NAME: --check-config accepts $T/c.conf; invalid NAME MESSAGE: it
# refuses it, saying MESSAGE.
valid() { check "$1: valid" "$V6FWD" --check-config -f "$T/c.conf"; }
invalid() {
	local out rc
	out=$("$V6FWD" --check-config -f "$T/c.conf" 2>&1)
	rc=$?
	check "$1: invalid, status 4 ($rc)" test "$rc" -eq 4
	check "$1: says \"$2\"" grep -qF -- "$2" <<<"$out"
}
# size N: a valid file of exactly N bytes, a rule and comments.
size() {
	python3 -c '
import sys
n = int(sys.argv[1])
rule = b"2000 127.0.0.1:2001\n"
body = rule + b"#" * (n - len(rule) - 1) + b"\n"
sys.stdout.buffer.write(body)' "$1" >"$T/c.conf"
}
size 65536
valid "a file of 64 KiB ($(stat -c %s "$T/c.conf") bytes)"
size 65537
invalid "a file of 64 KiB and one byte" "file is larger than 64 KiB"
for ((i = 1; i <= 64; i++)); do echo "$((10000 + i)) -"; done >"$T/c.conf"
valid "64 rules"
echo "20000 -" >>"$T/c.conf"
invalid "65 rules" "more than 64 rules"
echo "2000 - $(printf 'idle-timeout=1s %.0s' $(seq 14))" >"$T/c.conf"
valid "16 words on a line"
echo "2000 - $(printf 'idle-timeout=1s %.0s' $(seq 15))" >"$T/c.conf"
invalid "17 words on a line" "more than 16 words"
echo "2000 $name:80" >"$T/c.conf"
valid "a host name of ${#name} characters"
echo "2000 ${name}x:80" >"$T/c.conf"
invalid "a host name of $((${#name} + 1)) characters" "empty or overlong host"
finish
