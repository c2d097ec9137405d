#!/usr/bin/env bash
# Goal of this test: the Postfix recipes of v6fwd(8), copied from the page
# into Debian's Postfix, make smtpd and postscreen see the IPv6 client, with
# v1 and v2 headers. One private Postfix instance (its own configuration,
# queue and data directories, logging to its standard output) in a network
# namespace of the test's own, where 192.0.2.25 is the host's "public"
# address: Debian's stock master.cf with the page's smtpd and postscreen
# listeners added (postscreen moved to 10026, since both run at once), and
# the page's main.cf lines. For each version, an IPv6 client through v6fwd
# on [::1]:25 must appear in Postfix's log as [::1] and its own port, never
# as 127.0.0.1. Also the page's warnings: Postfix's own listener on port 25
# stays off IPv6 (else v6fwd could not listen there), an address the host
# lacks in inet_interfaces stops Postfix with the quoted message, and
# without IPv6 in inet_protocols the header is refused as the page says.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
in_private_net "$@"

command -v postfix >/dev/null || cannot_run "Postfix" "not installed (apt-get install postfix)"
pf=$T/postfix
# Postfix's daemons reach its directories as the postfix user.
chmod 711 "$T"
mkdir -p "$pf/conf" "$pf/spool" "$pf/data"
chown postfix "$pf/data"
master=/usr/share/postfix/master.cf.dist
[ -f "$master" ] || master=/etc/postfix/master.cf
{
	cat "$master"
	recipe postfix-smtpd
	recipe postfix-postscreen 127.0.0.1:10025 127.0.0.1:10026
} >"$pf/conf/master.cf" || exit 1
# The page's lines, then what a private instance needs. A client that
# passes postscreen's greeting test waits postscreen_greet_wait first: 6 s
# by default, 1 s here.
main_cf() {
	cat
	cat <<-EOF
		compatibility_level = 3.6
		myhostname = mail.example.org
		queue_directory = $pf/spool
		data_directory = $pf/data
		maillog_file = /dev/stdout
		alias_maps =
		alias_database =
		postscreen_greet_wait = 1s
	EOF
}
recipe postfix-main | main_cf >"$pf/conf/main.cf" || exit 1

check "inet_interfaces: an address the host lacks stops Postfix, as quoted" \
	sh -c "postconf -c '$pf/conf' inet_interfaces 2>&1 | grep -F 'no local interface found for 192.0.2.25'"
ip address add 192.0.2.25/24 dev lo || exit 1

# start: Postfix in the foreground; its master's PID is kept for the stop.
start() {
	: >"$T/maillog"
	postfix -c "$pf/conf" start-fg >>"$T/maillog" 2>&1 &
	PF_PID=$!
	PIDS+=("$PF_PID")
	wait_until 100 sh -c "test -s '$pf/spool/pid/master.pid' || ! kill -0 $PF_PID"
	if ! wait_until 50 listening4 10025; then
		fail "Postfix starts" "$(tail -n 3 "$T/maillog")"
		finish
	fi
	MASTER_PID=$(tr -d ' ' <"$pf/spool/pid/master.pid")
	PIDS+=("$MASTER_PID")
}
stop() {
	kill "$MASTER_PID"
	wait "$PF_PID" 2>/dev/null
	wait_until 100 sh -c "! kill -0 $MASTER_PID 2>/dev/null"
}
start
check "Postfix's own smtpd listens on 127.0.0.1:25 and 192.0.2.25:25 only" \
	sh -c "! ss -Hltn '( sport = :25 )' | awk '{ print \$4 }' | grep -vx -e 127.0.0.1:25 -e 192.0.2.25:25"

# session NAME PORT: one SMTP session through v6fwd on [::1]:25 to
# 127.0.0.1:PORT; sets CPORT, the client's port.
session() {
	local out
	out=$(python3 "$TOP/tests/speak.py" smtp 25 2>&1)
	echo "$1: $(tr '\n' ' ' <<<"$out")"
	CPORT=$(sed -n 's/^port //p' <<<"$out")
}
for v in v1 v2; do
	relay 25 --proxy-protocol=$v 127.0.0.1:10025 || exit 1
	session "smtpd, $v"
	check "smtpd, $v: logs the IPv6 client and port, [::1]:$CPORT" \
		wait_until 50 grep -Eq "postfix/smtpd\[[0-9]+\]: connect from [^ ]*\[::1\]:$CPORT\$" "$T/maillog"
	grep -E "smtpd.*connect from .*:$CPORT\$" "$T/maillog"
	kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null

	relay 25 --proxy-protocol=$v 127.0.0.1:10026 || exit 1
	session "postscreen, $v"
	check "postscreen, $v: logs the IPv6 client and port, [::1]:$CPORT" \
		wait_until 50 grep -Eq "postfix/postscreen\[[0-9]+\]: CONNECT from \[::1\]:$CPORT to " "$T/maillog"
	check "postscreen, $v: hands it to smtpd pass, which logs [::1]:$CPORT" \
		wait_until 50 grep -Eq "postfix/smtpd\[[0-9]+\]: connect from [^ ]*\[::1\]:$CPORT\$" "$T/maillog"
	grep -E "(postscreen|smtpd).*(CONNECT|PASS|connect) .*:$CPORT( |\$)" "$T/maillog"
	kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
done
check "no client seen as 127.0.0.1" sh -c "! grep -Ei 'connect from [^ ]*\[127\.0\.0\.1\]' '$T/maillog'"
check "no PROXY errors logged" sh -c "! grep -Ei 'haproxy|proxy protocol|warning: .*proxy' '$T/maillog'"
stop

# The trap the page warns of: the same, with IPv4 only.
recipe postfix-main 'inet_protocols = ipv4, ipv6' 'inet_protocols = ipv4' | main_cf >"$pf/conf/main.cf"
start
for v in v1 v2; do
	relay 25 --proxy-protocol=$v 127.0.0.1:10025 || exit 1
	python3 "$TOP/tests/speak.py" smtp 25 >/dev/null 2>&1
	kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
done
check "IPv4-only Postfix, v1: 'haproxy read: bad or missing protocol type'" \
	wait_until 50 grep -q 'haproxy read: bad or missing protocol type' "$T/maillog"
check "IPv4-only Postfix, v2: 'Postfix IPv6 support is disabled'" \
	wait_until 50 grep -q 'Postfix IPv6 support is disabled' "$T/maillog"
grep -E 'haproxy read|IPv6 support' "$T/maillog"
stop
finish
