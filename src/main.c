/*
 * v6fwd: relays IPv6 connections, accepted by systemd, to an IPv4 service.
 * main() owns the command line, taking the socket that was handed over, and
 * the exit status. Handed a connection, it serves that one (connection.c);
 * handed a listening socket, it serves every connection made to it, each in
 * a process of its own (server.c); handed a datagram socket, it relays every
 * UDP flow on it, in this one process (udp.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "activation.h"
#include "clock.h"
#include "config.h"
#include "connection.h"
#include "log.h"
#include "server.h"
#include "signals.h"
#include "udp.h"

#ifndef V6FWD_VERSION
#define V6FWD_VERSION	"unknown"
#endif

struct args {
	struct connection_opts	 conn;
	bool			 check_config;
	bool			 help, version;
	char			 error[512];	/* a usage error, or "" */
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: v6fwd [-c time] [-f file] [-i time] [--keepalive=time]\n"
	    "             [--map-source[=len]] [--map-source-pool=net]\n"
	    "             [--max-connections=n] [--max-connections-per-source=n]\n"
	    "             [--proxy-protocol=v1|v2] [target]\n"
	    "       v6fwd --check-config [-f file]\n"
	    "\n"
	    "Relays one connection handed over by systemd (Accept=yes) or inetd,\n"
	    "or every connection to a listening socket (Accept=no), or every UDP\n"
	    "flow on a datagram socket (ListenDatagram=), to target:\n"
	    "ADDR[:PORT], HOST[:PORT] or [IPV6][:PORT]; by default 127.0.0.1 on\n"
	    "the port the client connected to.\n"
	    "\n"
	    "  -c, --connect-timeout=TIME  give up resolving or connecting after\n"
	    "                              TIME (5s)\n"
	    "  -i, --idle-timeout=TIME     reset after TIME without traffic (0: never)\n"
	    "      --keepalive=TIME        probe both legs after TIME idle (0: as the\n"
	    "                              socket unit set it)\n"
	    "      --proxy-protocol=V      send a PROXY protocol v1 or v2 header\n"
	    "      --map-source[=LEN]      connect from a 127/8 address derived from\n"
	    "                              the client's /LEN prefix (64)\n"
	    "      --map-source-pool=NET   map into this IPv4 network instead\n"
	    "      --max-connections=N     served mode: connections at once (1024)\n"
	    "      --max-connections-per-source=N\n"
	    "                              served mode: from one /64 or IPv4\n"
	    "                              address (256)\n"
	    "      --max-flows=N           UDP: flows at once (16384)\n"
	    "      --max-flows-per-source=N  UDP: flows from one /64 (1024)\n"
	    "  -f, --config=FILE           per-port rules (" V6FWD_CONFIG "); not\n"
	    "                              with a target, which says everything\n"
	    "      --check-config          check the rules, print them, exit\n"
	    "  -h, --help                  show this help\n"
	    "  -V, --version               show the version\n");
}

/*
 * Fills a from the command line. A mistake is kept in a->error rather than
 * printed: under inetd stderr is the client, and under systemd the client
 * must still get its RST and its record.
 */
static void
parse_argv(int argc, char *argv[], struct args *a)
{
	enum {
		OPT_CHECK_CONFIG = 0x100,
		OPT_KEEPALIVE,
		OPT_PROXY_PROTOCOL,
		OPT_MAP_SOURCE,
		OPT_MAP_SOURCE_POOL,
		OPT_MAX_CONNECTIONS,
		OPT_MAX_PER_SOURCE,
		OPT_MAX_FLOWS,
		OPT_MAX_FLOWS_PER_SOURCE,
	};
	static const struct option options[] = {
		{ "connect-timeout",	required_argument, NULL, 'c' },
		{ "idle-timeout",	required_argument, NULL, 'i' },
		{ "keepalive",		required_argument, NULL, OPT_KEEPALIVE },
		{ "proxy-protocol",	required_argument, NULL,
		    OPT_PROXY_PROTOCOL },
		{ "map-source",		optional_argument, NULL, OPT_MAP_SOURCE },
		{ "map-source-pool",	required_argument, NULL,
		    OPT_MAP_SOURCE_POOL },
		{ "max-connections",	required_argument, NULL,
		    OPT_MAX_CONNECTIONS },
		{ "max-connections-per-source", required_argument, NULL,
		    OPT_MAX_PER_SOURCE },
		{ "max-flows",		required_argument, NULL, OPT_MAX_FLOWS },
		{ "max-flows-per-source", required_argument, NULL,
		    OPT_MAX_FLOWS_PER_SOURCE },
		{ "config",		required_argument, NULL, 'f' },
		{ "check-config",	no_argument, NULL, OPT_CHECK_CONFIG },
		{ "help",		no_argument, NULL, 'h' },
		{ "version",		no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *why = NULL;
	int c, idx;

	a->conn.config = V6FWD_CONFIG;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:i:f:hV", options, &idx)) != -1) {
		const char *name = NULL, *value = optarg;

		switch (c) {
		case 'c':
			name = "connect-timeout";
			break;
		case 'i':
			name = "idle-timeout";
			break;
		case OPT_KEEPALIVE:
		case OPT_PROXY_PROTOCOL:
		case OPT_MAP_SOURCE_POOL:
		case OPT_MAX_CONNECTIONS:
		case OPT_MAX_PER_SOURCE:
		case OPT_MAX_FLOWS:
		case OPT_MAX_FLOWS_PER_SOURCE:
			name = options[idx].name;
			break;
		case OPT_MAP_SOURCE:
			name = options[idx].name;
			if (!value)
				value = "yes";
			break;
		case 'f':
			a->conn.config = optarg;
			a->conn.config_given = true;
			continue;
		case OPT_CHECK_CONFIG:
			a->check_config = true;
			continue;
		case 'h':
			a->help = true;
			return;
		case 'V':
			a->version = true;
			return;
		case ':':
			snprintf(a->error, sizeof(a->error), "option %s needs "
			    "a value", argv[optind - 1]);
			return;
		default:
			snprintf(a->error, sizeof(a->error), "unknown option "
			    "%s", argv[optind - 1]);
			return;
		}
		if (settings_set(&a->conn.cli, name, value, &why) < 0) {
			snprintf(a->error, sizeof(a->error), "--%s=%s: %s",
			    name, value, why);
			return;
		}
	}
	if (argc - optind > 1) {
		snprintf(a->error, sizeof(a->error), "one target at most, got "
		    "'%s' and '%s'", argv[optind], argv[optind + 1]);
		return;
	}
	if (optind < argc &&
	    settings_set(&a->conn.cli, "target", argv[optind], &why) < 0) {
		snprintf(a->error, sizeof(a->error), "target '%s': %s",
		    argv[optind], why);
		return;
	}
	/* A target says everything: a file given too would be ignored. */
	if (a->conn.config_given && (a->conn.cli.set & SET_TARGET))
		snprintf(a->error, sizeof(a->error), "-f %s and a target "
		    "exclude each other: with a target on the command line "
		    "the file is not read", a->conn.config);
}

/*
 * A TCP relay refuses the UDP relay's options, as a UDP rule refuses TCP's
 * (udp.c checks its own).
 */
static void
check_tcp(struct args *a)
{
	const char *why = NULL;

	if (settings_check(&a->conn.cli, IPPROTO_TCP, &why) < 0)
		snprintf(a->error, sizeof(a->error), "%s", why);
}

static bool
same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 &&
	    sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/*
 * inetd-style, the client socket is also stdout and stderr. Those go to
 * /dev/null, so that no message can reach the client and so that closing
 * fd 0 with a RST closes the connection: with copies open, the RST would
 * wait for the process to exit. Returns whether stderr was the client.
 */
static bool
detach_stdio(const struct connection *c)
{
	bool was = false;
	int fd, null;

	if (!c->inetd)
		return false;
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	for (fd = STDOUT_FILENO; fd <= STDERR_FILENO; fd++)
		if (same_file(fd, c->fd)) {
			was |= fd == STDERR_FILENO;
			if (null < 0 || dup2(null, fd) < 0)
				(void)close(fd);
		}
	if (null >= 0)
		(void)close(null);
	return was;
}

/*
 * Takes the connection, or the listening socket, into c. Returns which
 * (ACTIVATION_*), or -errno having said why (unless quiet: a usage error,
 * which says it all, comes first).
 */
static int
take_socket(struct connection *c, const sigset_t *waitmask, bool quiet)
{
	char why[512];
	int r;

	r = activation_take(c, why, sizeof(why));
	if (c->fd >= 0 && detach_stdio(c))
		log_open(true, waitmask);
	if (r < 0)
		return quiet ? r : log_error_errno(r, "Failed to take the "
		    "connection: %s", why);
	if (r == ACTIVATION_CONNECTION)
		log_set_client(&c->peer, &c->local);
	return r;
}

int
main(int argc, char *argv[])
{
	struct args a;
	struct connection c;
	sigset_t waitmask;
	uint64_t start = clock_usec();
	bool bad = false;
	int kind;

	/* First: until then a SIGTERM would end us with a FIN, not a RST. */
	signals_setup(&waitmask);
	memset(&a, 0, sizeof(a));
	parse_argv(argc, argv, &a);
	bad = a.error[0] != '\0';
	if (!bad && (a.help || a.version)) {
		if (a.help)
			usage(stdout);
		else
			printf("v6fwd " V6FWD_VERSION "\n");
		return EXIT_OK;
	}
	if (!bad && a.check_config)
		return config_check(a.conn.config, stdout) == 0 ? EXIT_OK :
		    EXIT_CONFIG;

	log_open(false, &waitmask);
	kind = take_socket(&c, &waitmask, bad);
	if (!bad && kind >= 0 && kind != ACTIVATION_DATAGRAM)
		check_tcp(&a);
	bad = a.error[0] != '\0';
	if (kind < 0 || (bad && kind != ACTIVATION_CONNECTION)) {
		if (!bad)
			return EXIT_HANDOVER;
		/* No connection to refuse: say it where a person reads it. */
		if (kind == ACTIVATION_LISTENER)
			log_error("Refusing to serve the listening socket, the "
			    "command line is invalid: %s", a.error);
		else if (kind == ACTIVATION_DATAGRAM)
			log_error("Refusing to relay the datagram socket, the "
			    "command line is invalid: %s", a.error);
		else {
			fprintf(stderr, "v6fwd: %s\n", a.error);
			usage(stderr);
		}
		return EXIT_USAGE;
	}
	if (kind == ACTIVATION_LISTENER)
		return server_run(&a.conn, c.fd, &c.local, &waitmask);
	if (kind == ACTIVATION_DATAGRAM)
		return udp_run(&a.conn, c.fd, &c.local, &waitmask);
	if (bad) {
		connection_reset(&c);	/* first: the log may be slow */
		log_error("Refusing the connection, the command line is "
		    "invalid: %s", a.error);
		return outcome_exit_status(connection_refuse(&c, OUTCOME_USAGE,
		    start));
	}
	return outcome_exit_status(connection_run(&a.conn, &c, &waitmask,
	    start));
}
