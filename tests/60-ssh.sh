#!/usr/bin/env bash
# Goal of this test: a real client without PROXY, as users run it: OpenSSH
# through v6fwd to an IPv4-only sshd. In a network and mount namespace of
# the test's own, a private sshd (its own configuration, host key and
# authorized key, in the foreground, logging to stderr) listens on
# 127.0.0.1:22 only, and v6fwd on [::1]:22 with its default target, as
# v6fwd@22.socket would. (1) "ssh -6" runs a command there, and sshd sees
# the relay, 127.0.0.1; (2) scp copies 20 MiB up and another 20 MiB down,
# and the checksums match; (3) with --map-source, a client from
# 2001:db8:1::1 logs in, and sshd's "Accepted publickey ... from ADDR port
# PORT" names the very mapped source that v6fwd's connection record names
# ("from ADDR:PORT"), in 127/8 and not 127.0.0.1, as fail2ban would read
# it (see v6fwd(8), SOURCE MAPPING).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
in_private_net "$@"

SSHD=/usr/sbin/sshd
[ -x "$SSHD" ] || cannot_run "sshd" "not installed (apt-get install openssh-server)"
if ! command -v ssh >/dev/null || ! command -v scp >/dev/null; then
	cannot_run "ssh" "not installed (apt-get install openssh-client)"
fi
# sshd wants its privilege separation directory; this mount namespace's
# own /run holds it, the host's is untouched.
mount -t tmpfs -o mode=755 tmpfs /run || exit 1
mkdir -m 755 /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey" || exit 1
ssh-keygen -q -t ed25519 -N '' -f "$T/id" || exit 1
cp "$T/id.pub" "$T/authorized_keys"
echo "v6fwd-test $(cat "$T/hostkey.pub")" >"$T/known_hosts"
cat >"$T/sshd_config" <<EOF
ListenAddress 127.0.0.1:22
AddressFamily inet
HostKey $T/hostkey
PidFile $T/sshd.pid
AuthorizedKeysFile $T/authorized_keys
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
Subsystem sftp internal-sftp
EOF
"$SSHD" -f "$T/sshd_config" -D -e 2>"$T/sshd.log" &
PIDS+=("$!")
server_up 22 "$!" || { fail "sshd starts" "$(tail -n 3 "$T/sshd.log")"; finish; }
user=$(id -un)
opts=(-F /dev/null -i "$T/id" -o IdentitiesOnly=yes -o BatchMode=yes
	-o UserKnownHostsFile="$T/known_hosts" -o StrictHostKeyChecking=yes
	-o HostKeyAlias=v6fwd-test -o ConnectTimeout=20)

relay 22 || exit 1
# shellcheck disable=SC2016 # expanded by the remote shell
out=$(timeout 60 ssh -6 "${opts[@]}" "$user@::1" 'echo "$SSH_CONNECTION"' 2>&1)
echo "ssh -6: SSH_CONNECTION=$out"
check "ssh -6 through v6fwd runs a command; sshd sees the relay, 127.0.0.1" \
	grep -Eqx '127\.0\.0\.1 [0-9]+ 127\.0\.0\.1 22' <<<"$out"
check "sshd logs the login from 127.0.0.1" \
	grep -Eq "Accepted publickey for $user from 127\.0\.0\.1 port [0-9]+ ssh2" "$T/sshd.log"

head -c $((20 << 20)) /dev/urandom >"$T/up"
head -c $((20 << 20)) /dev/urandom >"$T/down"
check "scp up, 20 MiB" timeout 120 scp -6 -q "${opts[@]}" "$T/up" "$user@[::1]:$T/up.copy"
check "scp down, 20 MiB" timeout 120 scp -6 -q "${opts[@]}" "$user@[::1]:$T/down" "$T/down.copy"
sum() { sha256sum <"$1" | cut -d ' ' -f 1; }
check "scp up: the same bytes arrived" test "$(sum "$T/up")" = "$(sum "$T/up.copy" 2>/dev/null)"
check "scp down: the same bytes arrived" test "$(sum "$T/down")" = "$(sum "$T/down.copy" 2>/dev/null)"
check "the copies' records: closed cleanly, 20 MiB each way at least" \
	sh -c "grep -E ': (client|target) closed first \(FIN\); [0-9]+ bytes from client, [0-9]+ bytes from target' '$T/relay.log' |
		awk '{ for (i = 1; i < NF; i++) if (\$(i + 1) == \"bytes\") n[\$(i + 3)] = \$i
			if (n[\"client,\"] >= 20971520) up++; if (n[\"target,\"] >= 20971520) down++ }
			END { exit !(up >= 1 && down >= 1) }'"
check "no instance left running" no_instances
kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null

# The mapped source: sshd logs it, the relay's record names it.
ip -6 address add 2001:db8:1::1/128 dev lo nodad || exit 1
relay 22 --map-source || exit 1
# shellcheck disable=SC2016 # expanded by the remote shell
out=$(timeout 60 ssh -6 -b 2001:db8:1::1 "${opts[@]}" "$user@::1" 'echo "$SSH_CONNECTION"' 2>&1)
echo "ssh -6 -b 2001:db8:1::1, --map-source: SSH_CONNECTION=$out"
log_has '^v6fwd: \[2001:db8:1::1\]:[0-9]+ -> .* from 127\.[0-9.]+:[0-9]+: ' ||
	{ fail "map-source" "no connection record: $(tail -n 3 "$T/relay.log")"; finish; }
rec=$(grep -E '^v6fwd: \[2001:db8:1::1\]:' "$T/relay.log" | tail -n 1)
echo "record: $rec"
src=$(sed -E 's/.* from (127\.[0-9.]+):([0-9]+): .*/\1 \2/' <<<"$rec")
echo "sshd: $(grep -E "Accepted publickey .* from ${src% *} " "$T/sshd.log")"
check "map-source: the mapped source ${src% *} is in 127/8 and not 127.0.0.1" \
	test "${src% *}" != 127.0.0.1
check "map-source: SSH_CONNECTION names the mapped source and port (${src/ /:})" \
	grep -Eqx "${src//./\\.} 127\.0\.0\.1 22" <<<"$out"
check "map-source: sshd logs the login from ${src% *} port ${src#* }, as the record names it" \
	grep -Eq "Accepted publickey for $user from ${src% *} port ${src#* } ssh2" "$T/sshd.log"
check "map-source: no instance left running" no_instances
finish
