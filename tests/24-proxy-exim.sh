#!/usr/bin/env bash
# Goal of this test: the Exim recipe of v6fwd(8) makes Debian's
# exim4-daemon-heavy see the IPv6 client, with v1 and v2 headers. Exim
# conflicts with Postfix as a package, so make check-deps unpacks the heavy
# daemon into $EXIM_DIR (tests/install-deps.sh); it runs here as a private
# daemon, in the foreground, in a network namespace of the test's own, on
# 127.0.0.1:25 as the page has it, with the page's two lines and what a
# private instance needs (spool, logs, an ACL that takes the message). For
# each version, a message from an IPv6 client through v6fwd on [::1]:25
# must be logged with [::1] and the client's own port, and the proxy
# (PRX=127.0.0.1), never from 127.0.0.1; Exim's EHLO reply names [::1]
# too.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
in_private_net "$@"

EXIM_DIR=${EXIM_DIR:-/opt/v6fwd-check/exim4-daemon-heavy}
EXIM=$EXIM_DIR/usr/sbin/exim4
[ -x "$EXIM" ] || cannot_run "Exim (heavy)" "$EXIM missing (make check-deps unpacks it)"
ex=$T/exim
mkdir -p "$ex/spool" "$ex/log"
chown Debian-exim: "$ex/spool" "$ex/log" || exit 1
chmod 711 "$T"
{
	recipe exim
	cat <<-EOF
		exim_path = $EXIM
		primary_hostname = mail.example.org
		spool_directory = $ex/spool
		log_file_path = $ex/log/%slog
		local_interfaces = 127.0.0.1
		daemon_smtp_ports = 25
		keep_environment =
		tls_advertise_hosts =
		queue_only = true
		acl_smtp_rcpt = take
		begin acl
		take:
		  accept
	EOF
} >"$T/exim.conf" || exit 1
"$EXIM" -C "$T/exim.conf" -bdf -oP "$T/exim.pid" >"$T/exim.out" 2>&1 &
PIDS+=("$!")
server_up 25 "$!" ||
	{ fail "Exim starts" "$(tail -n 3 "$T/exim.out" "$ex/log/paniclog" 2>/dev/null)"; finish; }

for v in v1 v2; do
	relay 25 --proxy-protocol=$v || exit 1
	out=$(python3 "$TOP/tests/speak.py" smtp 25 2>&1)
	echo "exim, $v: $(tr '\n' ' ' <<<"$out")"
	cport=$(sed -n 's/^port //p' <<<"$out")
	check "exim, $v: EHLO reply names [::1]" grep -q '^ehlo 250 .* Hello client.example \[::1\]$' <<<"$out"
	check "exim, $v: the message is logged from [::1]:$cport, through 127.0.0.1" \
		wait_until 50 grep -Eq "<= alice@client\.example H=\(client\.example\) \[::1\]:$cport P=esmtp PRX=127\.0\.0\.1 " "$ex/log/mainlog"
	grep -E "\[::1\]:$cport " "$ex/log/mainlog"
	kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
done
check "no client seen as 127.0.0.1" sh -c "! grep -E 'H=[^ ]* \[127\.0\.0\.1\]' '$ex/log/mainlog'"
check "nothing in Exim's panic log" sh -c "! test -s '$ex/log/paniclog'"

finish
