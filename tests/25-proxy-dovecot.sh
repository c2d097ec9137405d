#!/usr/bin/env bash
# Goal of this test: the Dovecot recipe of v6fwd(8) makes Debian's Dovecot
# see the IPv6 client, with v1 and v2 headers. A private Dovecot in the
# foreground (dovecot -F, its own base and state directories and log file,
# a certificate made here), in a network namespace of the test's own: the
# page's lines, then what a private instance needs (IMAP only, its own
# listeners on 127.0.0.1, TLS, a static passdb). For each version, an IPv6
# client through v6fwd on [::1]:143 does STARTTLS and logs out; Dovecot's
# login line must name rip=::1 and the client's own port (rport), over TLS,
# never 127.0.0.1.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
in_private_net "$@"

command -v dovecot >/dev/null || cannot_run "Dovecot" "not installed (apt-get install dovecot-imapd)"
dv=$T/dovecot
mkdir -p "$dv"
chmod 711 "$T"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-subj /CN=localhost -days 2 -keyout "$dv/key.pem" -out "$dv/cert.pem" 2>/dev/null || exit 1
{
	recipe dovecot
	cat <<-EOF
		protocols = imap
		listen = 127.0.0.1
		base_dir = $dv/run
		state_dir = $dv/state
		log_path = $T/dovecot.log
		ssl = required
		ssl_cert = <$dv/cert.pem
		ssl_key = <$dv/key.pem
		passdb {
		  driver = static
		  args = nopassword=y
		}
		userdb {
		  driver = static
		  args = uid=nobody gid=nogroup home=/nonexistent
		}
	EOF
} >"$dv/dovecot.conf" || exit 1
dovecot -c "$dv/dovecot.conf" -F >"$T/dovecot.out" 2>&1 &
PIDS+=("$!")
server_up 10143 "$!" ||
	{ fail "Dovecot starts" "$(tail -n 3 "$T/dovecot.out" "$T/dovecot.log" 2>/dev/null)"; finish; }

for v in v1 v2; do
	relay 143 --proxy-protocol=$v 127.0.0.1:10143 || exit 1
	out=$(python3 "$TOP/tests/speak.py" imap 143 2>&1)
	echo "dovecot, $v: $(tr '\n' ' ' <<<"$out")"
	cport=$(sed -n 's/^port //p' <<<"$out")
	check "dovecot, $v: STARTTLS, then LOGOUT over TLS" grep -q '^b OK Logout completed' <<<"$out"
	check "dovecot, $v: logs rip=::1, rport=$cport, over TLS" \
		wait_until 50 grep -Eq "imap-login: .*: user=<>, rip=::1, rport=$cport, lip=[^,]*, TLS, " "$T/dovecot.log"
	grep -E "rport=$cport," "$T/dovecot.log"
	kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
done
check "no client seen as 127.0.0.1" sh -c "! grep -E 'rip=127\.0\.0\.1' '$T/dovecot.log'"
check "no errors logged" sh -c "! grep -Ei 'error|fatal|haproxy' '$T/dovecot.log'"
finish
