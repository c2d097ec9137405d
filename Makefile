# v6fwd: see README.md. User CFLAGS, CPPFLAGS and LDFLAGS come last.
VERSION		= 0.1
PREFIX		?= /usr/local
BINDIR		?= $(PREFIX)/bin
MANDIR		?= $(PREFIX)/share/man
# Opt-in extras, such as the strict sandbox drop-in (v6fwd(8), SECURITY).
DATADIR		?= $(PREFIX)/share/v6fwd
PKG_SYSTEMD	= $(shell pkg-config --variable=$(1) systemd 2>/dev/null)
UNITDIR		?= $(or $(call PKG_SYSTEMD,systemdsystemunitdir),/lib/systemd/system)
SYSUSERSDIR	?= $(or $(call PKG_SYSTEMD,sysusersdir),/usr/lib/sysusers.d)

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
		  src/signals.c src/sock.c src/target.c
OBJS		= $(SRCS:.c=.o)
LIBOBJS		= $(filter-out src/main.o,$(OBJS))

# Debian packages: to build and run (make deps), and to test (make check-deps).
DEPS		= make gcc libc6-dev pkg-config libsystemd-dev systemd
CHECK_DEPS	= $(DEPS) clang python3 iproute2 procps \
		  util-linux mandoc cppcheck shellcheck valgrind

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

check: v6fwd tests/unit tests/relay-stall
	tests/run

deps:
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(DEPS)

check-deps:
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(CHECK_DEPS)

install: v6fwd
	install -Dm755 v6fwd $(DESTDIR)$(BINDIR)/v6fwd
	install -Dm644 man/v6fwd.8 $(DESTDIR)$(MANDIR)/man8/v6fwd.8
	install -Dm644 man/v6fwd.conf.5 $(DESTDIR)$(MANDIR)/man5/v6fwd.conf.5
	install -Dm644 units/v6fwd@.socket $(DESTDIR)$(UNITDIR)/v6fwd@.socket
	sed 's|@BINDIR@|$(BINDIR)|g' units/v6fwd@.service.in \
		> $(DESTDIR)$(UNITDIR)/v6fwd@.service
	chmod 644 $(DESTDIR)$(UNITDIR)/v6fwd@.service
	install -Dm644 units/v6fwd.sysusers $(DESTDIR)$(SYSUSERSDIR)/v6fwd.conf
	install -Dm644 units/v6fwd-strict.conf $(DESTDIR)$(DATADIR)/v6fwd-strict.conf

# After install on a live system: create the user, load the units and
# listen on PORT (2000 by default).
PORT		= 2000
enable:
	systemd-sysusers $(DESTDIR)$(SYSUSERSDIR)/v6fwd.conf
	systemctl daemon-reload
	systemctl enable --now v6fwd@$(PORT).socket

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/v6fwd $(DESTDIR)$(MANDIR)/man8/v6fwd.8 \
		$(DESTDIR)$(MANDIR)/man5/v6fwd.conf.5 \
		$(DESTDIR)$(UNITDIR)/v6fwd@.socket $(DESTDIR)$(UNITDIR)/v6fwd@.service \
		$(DESTDIR)$(SYSUSERSDIR)/v6fwd.conf \
		$(DESTDIR)$(DATADIR)/v6fwd-strict.conf

clean:
	rm -f v6fwd $(OBJS) tests/unit tests/relay-stall $(FUZZERS)

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

.PHONY: all bench check check-deps deps enable install uninstall clean
