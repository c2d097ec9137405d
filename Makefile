# v6fwd: see README.md. User CFLAGS, CPPFLAGS and LDFLAGS come last.
VERSION		= 0.1
PREFIX		?= /usr/local
# An administrator's command (it has --check-config), as Debian puts it.
SBINDIR		?= $(PREFIX)/sbin
MANDIR		?= $(PREFIX)/share/man
# Opt-in extras, such as the strict sandbox drop-in (v6fwd(8), SECURITY).
DATADIR		?= $(PREFIX)/share/v6fwd
PKG_SYSTEMD	= $(shell pkg-config --variable=$(1) systemd 2>/dev/null)
UNITDIR		?= $(or $(call PKG_SYSTEMD,systemdsystemunitdir),/lib/systemd/system)
SYSUSERSDIR	?= $(or $(call PKG_SYSTEMD,sysusersdir),/usr/lib/sysusers.d)
# Fixed: v6fwd reads /etc/v6fwd.conf whatever PREFIX (src/config.h).
SYSCONFDIR	= /etc
# Every template pair is installed without naming it here: units/*.socket
# as they are, units/*.in with @SBINDIR@ filled in.
UNITS_AS_IS	= $(wildcard units/*.socket)
UNITS_IN	= $(wildcard units/*.in)
UNITS		= $(notdir $(UNITS_AS_IS) $(UNITS_IN:.in=))

CC		?= cc
WARN		= -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
		  -Wformat=2 -Wno-format-nonliteral
BASE_CFLAGS	= -std=c11 -D_GNU_SOURCE -O2 -g $(WARN)
BASE_CPPFLAGS	= -DV6FWD_VERSION='"$(VERSION)"' $(SYSTEMD_CFLAGS)
# libsystemd: the hand-over, the journal and the machine ID (v6fwd(8), COST).
SYSTEMD_CFLAGS	= $(shell pkg-config --cflags libsystemd)
SYSTEMD_LIBS	= $(shell pkg-config --libs libsystemd)

SRCS		= src/main.c src/activation.c src/addr.c src/clock.c \
		  src/config.c src/connection.c src/log.c src/mapsrc.c \
		  src/proxy.c src/relay.c src/resolve.c src/sandbox.c \
		  src/outcome.c src/signals.c src/siphash.c src/sock.c \
		  src/server.c src/table.c src/target.c src/udp.c \
		  src/ratelimit.c src/source.c
OBJS		= $(SRCS:.c=.o)
LIBOBJS		= $(filter-out src/main.o,$(OBJS))

# Debian packages: to build and run (make deps), to build the Debian
# package (make deb-deps: debian/control's Build-Depends), and to test
# (make check-deps: all of these; the suite builds the package too): the
# tools, then the real receivers the PROXY recipes of v6fwd(8) are run
# against, OpenSSH, and the UDP tests' DNS server and client and WireGuard.
# tests/install-deps.sh installs them without starting or enabling any
# server, and adds Exim's heavy daemon beside Postfix.
DEPS		= make gcc libc6-dev pkg-config libsystemd-dev systemd
CHECK_DEPS	= $(DEPS) clang libclang-rt-14-dev python3 python3-pyflakes \
		  iproute2 procps \
		  util-linux mandoc man-db cppcheck shellcheck valgrind lintian \
		  openssl nginx libnginx-mod-stream haproxy postfix dovecot-imapd \
		  apache2 python3-twisted openssh-server openssh-client \
		  dnsmasq-base bind9-dnsutils wireguard-go wireguard-tools \
		  iputils-ping

all: v6fwd

v6fwd: $(OBJS)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -o $@ $(OBJS) $(LDFLAGS) $(SYSTEMD_LIBS)

src/%.o: src/%.c src/*.h
	$(CC) $(BASE_CPPFLAGS) $(CPPFLAGS) $(BASE_CFLAGS) $(CFLAGS) -c -o $@ $<

tests/unit: tests/unit.c $(LIBOBJS)
	$(CC) $(BASE_CPPFLAGS) $(CPPFLAGS) -Isrc $(BASE_CFLAGS) $(CFLAGS) -o $@ \
		tests/unit.c $(LIBOBJS) $(LDFLAGS) $(SYSTEMD_LIBS)

# Drives relay_run() directly, for stalls only exact buffer sizes reach.
tests/relay-stall: tests/relay-stall.c $(LIBOBJS)
	$(CC) $(BASE_CPPFLAGS) $(CPPFLAGS) -Isrc $(BASE_CFLAGS) $(CFLAGS) -o $@ \
		tests/relay-stall.c $(LIBOBJS) $(LDFLAGS) $(SYSTEMD_LIBS)

# An LD_PRELOAD shim for tests/34 (see the file), without sanitizers: their
# runtime must not be linked into a preloaded library.
tests/journal-shim.so: tests/journal-shim.c
	$(CC) $(BASE_CFLAGS) $(filter-out -fsanitize=%,$(CFLAGS)) -shared -fPIC \
		-o $@ tests/journal-shim.c -ldl

# make bench's load generator, for the tests that need a steady flood.
tests/v6load: bench/v6load.c
	$(CC) $(BASE_CFLAGS) $(filter-out -fsanitize=%,$(CFLAGS)) -pthread \
		-o $@ bench/v6load.c

check: v6fwd tests/unit tests/relay-stall tests/journal-shim.so tests/v6load
	tests/run

deps:
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(DEPS)

deb-deps:
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get build-dep -y --no-install-recommends ./

check-deps: deb-deps
	tests/install-deps.sh $(CHECK_DEPS)

install: v6fwd
	install -Dm755 v6fwd $(DESTDIR)$(SBINDIR)/v6fwd
	@# Versions up to 0.1 installed it in bin/, which comes later in PATH.
	rm -f $(DESTDIR)$(PREFIX)/bin/v6fwd
	install -Dm644 man/v6fwd.8 $(DESTDIR)$(MANDIR)/man8/v6fwd.8
	install -Dm644 man/v6fwd.conf.5 $(DESTDIR)$(MANDIR)/man5/v6fwd.conf.5
	install -d $(DESTDIR)$(UNITDIR)
	install -m644 $(UNITS_AS_IS) $(DESTDIR)$(UNITDIR)/
	@# Straight to its place, no temporary file in the tree; a @WORD@
	@# left over is a template this Makefile does not know how to fill.
	@set -e; for f in $(UNITS_IN); do \
		u=$(DESTDIR)$(UNITDIR)/$$(basename $$f .in); \
		echo "sed 's|@SBINDIR@|$(SBINDIR)|g' $$f > $$u"; \
		sed 's|@SBINDIR@|$(SBINDIR)|g' $$f >$$u; \
		if grep -n '@[A-Z_]*@' $$u >&2; then \
			echo "$$f: unknown @WORD@ left in $$u" >&2; rm -f $$u; exit 1; \
		fi; \
		chmod 644 $$u; \
	done
	install -Dm644 units/v6fwd.sysusers $(DESTDIR)$(SYSUSERSDIR)/v6fwd.conf
	install -Dm644 units/v6fwd-strict.conf $(DESTDIR)$(DATADIR)/v6fwd-strict.conf
	@# Commented examples only; an existing file is the administrator's.
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/v6fwd.conf ]; then \
		echo "$(DESTDIR)$(SYSCONFDIR)/v6fwd.conf exists: left as it is"; \
	else \
		echo "install -Dm644 etc/v6fwd.conf $(DESTDIR)$(SYSCONFDIR)/v6fwd.conf"; \
		install -Dm644 etc/v6fwd.conf $(DESTDIR)$(SYSCONFDIR)/v6fwd.conf; \
	fi

# After install on a live system: create the user, load the units and
# listen on PORT (2000 by default). Without systemd as PID 1 (a
# container), "make run" is the same relay in the foreground.
PORT		= 2000
ADDR		= ::
enable:
	@[ -d /run/systemd/system ] || { echo "make enable: systemd is not PID 1 here; run the same relay in the foreground with: make run PORT=$(PORT)" >&2; exit 1; }
	systemd-sysusers $(DESTDIR)$(SYSUSERSDIR)/v6fwd.conf
	systemctl daemon-reload
	systemctl enable --now v6fwd@$(PORT).socket

# v6fwd@PORT.socket's relay without systemd as PID 1: [ADDR]:PORT,
# IPv6 only, under systemd-socket-activate (tools/run).
run: v6fwd
	tools/run $(PORT) $(ADDR) ./v6fwd

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/v6fwd $(DESTDIR)$(MANDIR)/man8/v6fwd.8 \
		$(DESTDIR)$(MANDIR)/man5/v6fwd.conf.5 \
		$(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS)) \
		$(DESTDIR)$(SYSUSERSDIR)/v6fwd.conf \
		$(DESTDIR)$(DATADIR)/v6fwd-strict.conf
	@echo "$(DESTDIR)$(SYSCONFDIR)/v6fwd.conf and the user v6fwd are left in place"

# The Debian package (debian/), built in a copy of the tree under dist/,
# so that neither this tree nor its parent gets build output: the binary
# package is dist/v6fwd_$(VERSION)_ARCH.deb, beside the source package.
DISTDIR		= dist
deb:
	@v=$$(dpkg-parsechangelog -S Version) && [ "$$v" = "$(VERSION)" ] || \
		{ echo "make deb: debian/changelog is at $$v, VERSION at $(VERSION)" >&2; exit 1; }
	rm -rf $(DISTDIR)
	mkdir -p $(DISTDIR)/v6fwd-$(VERSION)
	@# What git tracks or would (a dirty tree builds as it is), else all.
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files -z -co --exclude-standard | \
		    tar --null -T - --ignore-failed-read -cf - ; \
	else \
		tar --exclude=./.git --exclude=./$(DISTDIR) -cf - . ; \
	fi | tar -xf - -C $(DISTDIR)/v6fwd-$(VERSION)
	cd $(DISTDIR)/v6fwd-$(VERSION) && dpkg-buildpackage -us -uc -I
	rm -rf $(DISTDIR)/v6fwd-$(VERSION)
	@ls $(DISTDIR)/*.deb

clean:
	rm -f v6fwd $(OBJS) tests/unit tests/relay-stall tests/journal-shim.so tests/v6load \
		$(FUZZERS)
	rm -rf $(DISTDIR)

# libFuzzer targets, each run FUZZ_SECONDS (0: replay the seeds only).
FUZZ_SECONDS	?= 60
FUZZ_CC		?= clang
FUZZERS		= tests/fuzz/fuzz-target tests/fuzz/fuzz-config tests/fuzz/fuzz-time \
		  tests/fuzz/fuzz-proxy

tests/fuzz/fuzz-%: tests/fuzz/fuzz-%.c $(SRCS) src/*.h
	$(FUZZ_CC) $(BASE_CPPFLAGS) -Isrc $(BASE_CFLAGS) -O1 \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-o $@ $< $(filter-out src/main.c,$(SRCS)) $(SYSTEMD_LIBS)

fuzz: $(FUZZERS)
	tests/fuzz/run $(FUZZ_SECONDS) $(FUZZERS)

# Never part of check: figures against the peers, see bench/README.md.
bench: v6fwd
	bench/run

.PHONY: all bench check check-deps clean deb deb-deps deps enable install run \
	uninstall
