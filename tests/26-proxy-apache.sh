#!/usr/bin/env bash
# Goal of this test: the Apache recipe of v6fwd(8) makes Debian's Apache
# httpd (mod_remoteip) see the IPv6 client, with v1 and v2 headers. A
# private Apache in the foreground (apache2 -f FILE -DFOREGROUND, with the
# APACHE_* variables Debian's apache2ctl would export pointing into the
# test's directory), in a network namespace of the test's own: the page's
# Listen and virtual host, its "..." filled with TLS and a page that echoes
# REMOTE_ADDR and REMOTE_PORT (mod_include), and the few lines a bare
# server needs. For each version, an HTTPS request from an IPv6 client
# through v6fwd on [::1]:443 must be logged, in the recipe's own log
# format, with ::1 and the client's own port, never as 127.0.0.1, and
# answered with REMOTE_ADDR ::1; REMOTE_PORT, as the page warns, is not the
# client's but the port v6fwd connected from.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
in_private_net "$@"

command -v apache2 >/dev/null || cannot_run "Apache" "not installed (apt-get install apache2)"
ap=$T/apache2
mkdir -p "$ap/www"
chmod 711 "$T"
chmod 755 "$ap" "$ap/www"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-subj /CN=localhost -days 2 -keyout "$ap/key.pem" -out "$ap/cert.pem" 2>/dev/null || exit 1
echo '<!--#echo var="REMOTE_ADDR" --> <!--#echo var="REMOTE_PORT" -->' >"$ap/www/index.shtml"
chmod 644 "$ap/www/index.shtml"
export APACHE_RUN_USER=www-data APACHE_RUN_GROUP=www-data APACHE_PID_FILE=$ap/apache2.pid \
	APACHE_RUN_DIR=$ap APACHE_LOCK_DIR=$ap APACHE_LOG_DIR=$ap
mods=/usr/lib/apache2/modules
{
	cat <<-EOF
		ServerName localhost
		TypesConfig /dev/null
		PidFile \${APACHE_PID_FILE}
		DefaultRuntimeDir \${APACHE_RUN_DIR}
		Mutex file:\${APACHE_LOCK_DIR} default
		ErrorLog \${APACHE_LOG_DIR}/error.log
		User \${APACHE_RUN_USER}
		Group \${APACHE_RUN_GROUP}
		LoadModule mpm_event_module $mods/mod_mpm_event.so
		LoadModule authz_core_module $mods/mod_authz_core.so
		LoadModule mime_module $mods/mod_mime.so
		LoadModule dir_module $mods/mod_dir.so
		LoadModule include_module $mods/mod_include.so
		LoadModule socache_shmcb_module $mods/mod_socache_shmcb.so
		LoadModule ssl_module $mods/mod_ssl.so
		LoadModule remoteip_module $mods/mod_remoteip.so
	EOF
	recipe apache '    ...' "$(cat <<-EOF
		    SSLEngine on
		    SSLCertificateFile $ap/cert.pem
		    SSLCertificateKeyFile $ap/key.pem
		    DocumentRoot $ap/www
		    DirectoryIndex index.shtml
		    <Directory $ap/www>
		        Options +Includes
		        AddOutputFilter INCLUDES .shtml
		        Require all granted
		    </Directory>
	EOF
	)"
} >"$ap/apache2.conf" || exit 1
apache2 -f "$ap/apache2.conf" -DFOREGROUND >"$T/apache2.out" 2>&1 &
PIDS+=("$!")
server_up 8443 "$!" ||
	{ fail "Apache starts" "$(tail -n 3 "$T/apache2.out" "$ap/error.log" 2>/dev/null)"; finish; }

for v in v1 v2; do
	relay 443 --proxy-protocol=$v 127.0.0.1:8443 || exit 1
	out=$(python3 "$TOP/tests/speak.py" https 443 2>&1)
	echo "apache, $v: $(tr '\n' ' ' <<<"$out")"
	cport=$(sed -n 's/^port //p' <<<"$out")
	answer=$(tail -n 1 <<<"$out")
	check "apache, $v: REMOTE_ADDR is ::1" test "${answer% *}" = ::1
	check "apache, $v: REMOTE_PORT is not the client's, as the page warns" \
		test -n "$answer" -a "${answer#* }" != "$cport"
	check "apache, $v: the recipe's log line names ::1 $cport" \
		wait_until 50 grep -Eq "^::1 $cport \[.*\] \"GET / HTTP/1\.0\" 200\$" "$ap/v6fwd.log"
	grep -E "^::1 $cport " "$ap/v6fwd.log"
	kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
done
check "no client seen as 127.0.0.1" sh -c "! grep -E '^127\.0\.0\.1 ' '$ap/v6fwd.log'"
check "no errors logged" sh -c "! grep -E ':(error|crit|alert|emerg)\]' '$ap/error.log'"
finish
