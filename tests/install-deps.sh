#!/usr/bin/env bash
# make check-deps: installs the Debian packages the suite uses (given as
# arguments) without starting or enabling any of the servers among them,
# and unpacks Exim's heavy daemon, which the PROXY recipe needs, where the
# tests find it. As root, on Debian 12.
#
# The servers (Postfix, Dovecot, Apache, nginx, haproxy, sshd) run in the
# tests only as private instances, on loopback high ports. Installing them
# must not start the system's own copies on ports 25, 80, 143 or 22 of every
# address, so while apt runs, /usr/sbin/policy-rc.d refuses every start
# (exit status 101, which invoke-rc.d and deb-systemd-invoke honour; one
# already there is set aside and put back), Postfix is preseeded with "No
# configuration", and the units and init scripts of the packages this run
# newly installs are disabled again afterwards (a package's first install
# enables them). Packages that were already installed are left as they were.
#
# Exim: Debian's exim4-daemon-light has no PROXY support, only
# exim4-daemon-heavy does, and either conflicts with Postfix (both provide
# mail-transport-agent). Rather than swap MTAs around the tests, the heavy
# package is downloaded and unpacked into $EXIM_DIR, outside dpkg's
# database, and only its shared libraries, which conflict with nothing, are
# installed. tests/24-proxy-exim.sh runs that binary with a private
# configuration; nothing else on the host sees it. rm -rf $EXIM_DIR undoes it.
set -eu
EXIM_DIR=${EXIM_DIR:-/opt/v6fwd-check/exim4-daemon-heavy}
export DEBIAN_FRONTEND=noninteractive

policy=/usr/sbin/policy-rc.d
saved=$policy.v6fwd-saved
restore() {
	rm -f "$policy"
	if [ -e "$saved" ]; then
		mv "$saved" "$policy"
	fi
}
if [ -e "$saved" ]; then
	echo "install-deps: $saved exists: a previous run was interrupted; put it back as $policy first" >&2
	exit 1
fi
if [ -e "$policy" ]; then
	mv "$policy" "$saved"
fi
trap restore EXIT
trap 'exit 1' HUP INT TERM
printf '#!/bin/sh\n# make check-deps: no service starts while it installs.\nexit 101\n' >"$policy"
chmod 755 "$policy"

installed() { dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' 2>/dev/null | awk '$1 == "ii" { print $2 }' | sort; }

apt-get update
echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
before=$(installed)
apt-get install -y --no-install-recommends "$@"
# A first install enables the package's units and init scripts: undo that
# for the packages this run brought in (systemctl --root works with or
# without systemd running, and passes it on to the init script's links).
for pkg in $(comm -13 <(echo "$before") <(installed)); do
	for f in $(dpkg -L "$pkg"); do
		case $f in
		/lib/systemd/system/*@.* | /usr/lib/systemd/system/*@.*) ;;
		/lib/systemd/system/*.service | /lib/systemd/system/*.socket | \
		/lib/systemd/system/*.timer | /usr/lib/systemd/system/*.service | \
		/usr/lib/systemd/system/*.socket | /usr/lib/systemd/system/*.timer)
			if [ "$(systemctl --root=/ is-enabled "${f##*/}" 2>/dev/null)" = enabled ]; then
				echo "install-deps: disabling ${f##*/} ($pkg)"
				systemctl --root=/ --quiet disable "${f##*/}"
			fi ;;
		/etc/init.d/*)
			if ls /etc/rc[2-5].d/S[0-9][0-9]"${f##*/}" >/dev/null 2>&1; then
				echo "install-deps: disabling init script ${f##*/} ($pkg)"
				update-rc.d "${f##*/}" disable >/dev/null
			fi ;;
		esac
	done
done

# The exim4-daemon-heavy of this release, unpacked, and its libraries.
want=$(apt-cache policy exim4-daemon-heavy | awk '$1 == "Candidate:" { print $2 }')
have=$(cat "$EXIM_DIR/VERSION" 2>/dev/null || true)
if [ -z "$want" ] || [ "$want" = "(none)" ]; then
	echo "install-deps: no exim4-daemon-heavy package to be had" >&2
	exit 1
fi
dl=$(mktemp -d)
trap 'rm -rf "$dl"; restore' EXIT
if [ "$want" != "$have" ] || [ ! -x "$EXIM_DIR/usr/sbin/exim4" ]; then
	# apt fetches as the _apt user, which needs to write there.
	chown _apt "$dl" 2>/dev/null || true
	(cd "$dl" && apt-get download "exim4-daemon-heavy=$want")
	deb=$(echo "$dl"/exim4-daemon-heavy_*.deb)
	rm -rf "$EXIM_DIR.new"
	mkdir -p "$EXIM_DIR.new"
	dpkg-deb -x "$deb" "$EXIM_DIR.new"
	# Outside dpkg's care, it gets no set-user-ID bit: the tests run it as root.
	chmod -R u-s,g-s "$EXIM_DIR.new"
	dpkg-deb -f "$deb" Depends >"$EXIM_DIR.new/DEPENDS"
	echo "$want" >"$EXIM_DIR.new/VERSION"
	rm -rf "$EXIM_DIR"
	mv "$EXIM_DIR.new" "$EXIM_DIR"
fi
# Its dependencies less exim4-base and debconf, which only the packaged
# MTA needs: the first alternative of each, without version constraints,
# and none upgraded if already there (an upgrade of a library can drag in
# upgrades of unrelated packages built from the same source).
libs=$(tr ',' '\n' <"$EXIM_DIR/DEPENDS" | sed -E 's/\|.*//; s/\(.*\)//; s/[[:space:]]//g' |
	grep -Ev '^(exim4-base|debconf)$' | grep .)
# shellcheck disable=SC2086 # one package name a word
apt-get install -y --no-install-recommends --no-upgrade $libs
# The binary looks its user up by name before reading any configuration;
# exim4-base's postinst would create it the same way.
if ! getent passwd Debian-exim >/dev/null; then
	adduser --system --group --quiet --allow-bad-names --home /var/spool/exim4 \
		--no-create-home --disabled-login Debian-exim
fi
if ! "$EXIM_DIR/usr/sbin/exim4" -C /dev/null -bV >/dev/null 2>&1; then
	echo "install-deps: $EXIM_DIR/usr/sbin/exim4 does not run" >&2
	exit 1
fi
