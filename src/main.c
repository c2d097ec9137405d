/*
 * v6fwd: relays one IPv6 connection, accepted by systemd, to an IPv4
 * service. main() owns the command line, taking the connection, choosing
 * the target and the exit status; the relay, the target and the log each
 * live in their own file.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "activation.h"
#include "config.h"
#include "log.h"
#include "relay.h"
#include "target.h"
#include "util.h"

#ifndef V6FWD_VERSION
#define V6FWD_VERSION	"unknown"
#endif

/* Exit statuses, documented in v6fwd(8). */
enum {
	EXIT_OK		= 0,	/* relayed (however the peers ended it) */
	EXIT_RELAY	= 1,	/* the relay itself failed */
	EXIT_USAGE	= 2,	/* bad command line */
	EXIT_HANDOVER	= 3,	/* no usable connection was passed */
	EXIT_CONFIG	= 4,	/* the configuration is invalid */
	EXIT_TARGET	= 5,	/* the target could not be reached */
};

struct args {
	struct settings	 cli;
	const char	*config;
	int		 config_given;
	int		 check_config;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: v6fwd [-c time] [-f file] [-i time] [--keepalive=time]\n"
	    "             [--map-source[=len]] [--map-source-pool=net]\n"
	    "             [--proxy-protocol=v1|v2] [target]\n"
	    "       v6fwd --check-config [-f file]\n"
	    "\n"
	    "Relays one connection handed over by systemd (Accept=yes) or inetd\n"
	    "to target: ADDR[:PORT], HOST[:PORT] or [IPV6][:PORT]; by default\n"
	    "127.0.0.1 on the port the client connected to.\n"
	    "\n"
	    "  -c, --connect-timeout=TIME  give up connecting after TIME (5s)\n"
	    "  -i, --idle-timeout=TIME     reset after TIME without traffic (0: never)\n"
	    "      --keepalive=TIME        probe both legs after TIME idle (0: as the\n"
	    "                              socket unit set it)\n"
	    "      --proxy-protocol=V      send a PROXY protocol v1 or v2 header\n"
	    "      --map-source[=LEN]      connect from a 127/8 address derived from\n"
	    "                              the client's /LEN prefix (64)\n"
	    "      --map-source-pool=NET   map into this IPv4 network instead\n"
	    "  -f, --config=FILE           per-port rules (" V6FWD_CONFIG ")\n"
	    "      --check-config          check the rules, print them, exit\n"
	    "  -h, --help                  show this help\n"
	    "  -V, --version               show the version\n");
}

/* Returns 1 to go on, 0 to exit successfully, -EINVAL on a usage error. */
static int
parse_argv(int argc, char *argv[], struct args *a)
{
	enum {
		OPT_CHECK_CONFIG = 0x100,
		OPT_KEEPALIVE,
		OPT_PROXY_PROTOCOL,
		OPT_MAP_SOURCE,
		OPT_MAP_SOURCE_POOL,
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
		{ "config",		required_argument, NULL, 'f' },
		{ "check-config",	no_argument, NULL, OPT_CHECK_CONFIG },
		{ "help",		no_argument, NULL, 'h' },
		{ "version",		no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *why = NULL;
	int c, idx;

	a->config = V6FWD_CONFIG;
	while ((c = getopt_long(argc, argv, "c:i:f:hV", options, &idx)) != -1) {
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
			name = options[idx].name;
			break;
		case OPT_MAP_SOURCE:
			name = options[idx].name;
			if (!value)
				value = "yes";
			break;
		case 'f':
			a->config = optarg;
			a->config_given = 1;
			continue;
		case OPT_CHECK_CONFIG:
			a->check_config = 1;
			continue;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("v6fwd " V6FWD_VERSION "\n");
			return 0;
		default:
			usage(stderr);
			return -EINVAL;
		}
		if (settings_set(&a->cli, name, value, &why) < 0) {
			fprintf(stderr, "v6fwd: --%s=%s: %s\n", name, value,
			    why);
			return -EINVAL;
		}
	}
	if (argc - optind > 1) {
		fprintf(stderr, "v6fwd: one target at most, got '%s' and '%s'\n",
		    argv[optind], argv[optind + 1]);
		return -EINVAL;
	}
	if (optind < argc &&
	    settings_set(&a->cli, "target", argv[optind], &why) < 0) {
		fprintf(stderr, "v6fwd: target '%s': %s\n", argv[optind], why);
		return -EINVAL;
	}
	return 1;
}

/* inetd-style: the client socket is also stdout and stderr. */
static int
stderr_is_client(const struct connection *c)
{
	struct stat a, b;

	return c->inetd && fstat(STDERR_FILENO, &a) == 0 &&
	    fstat(c->fd, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino;
}

static int
take_connection(struct connection *c)
{
	char why[256];
	int r;

	if ((r = activation_take(c, why, sizeof(why))) < 0) {
		log_errno(LOG_ERR, 0, "Cannot take the connection: %s", why);
		return r;
	}
	if (stderr_is_client(c))
		log_open(1);
	log_set_client(&c->peer, &c->local);
	return 0;
}

/*
 * Built-in defaults, then the configuration file's rule for this local
 * address (unless a target was given on the command line: the unit then
 * says everything), then the command-line options.
 */
static int
load_settings(const struct args *a, const struct connection *c,
    struct settings *s)
{
	struct settings rule;
	char why[512];
	int r;

	settings_init(s);
	if (!(a->cli.set & SET_TARGET)) {
		r = config_lookup(a->config, a->config_given, &c->local, &rule,
		    why, sizeof(why));
		if (r < 0) {
			log_errno(LOG_ERR, 0, "Refusing the connection, the "
			    "configuration is invalid: %s", why);
			return r;
		}
		if (r > 0)
			settings_merge(s, &rule);
	}
	settings_merge(s, &a->cli);
	return 0;
}

/* Tries each address of the target in turn; returns the connected fd. */
static int
connect_target(const struct settings *s, const struct connection *c,
    const sigset_t *sigmask)
{
	union sockaddr_any addrs[TARGET_ADDRS_MAX];
	struct resolve_error rerr;
	unsigned port = addr_port(&c->local);
	char name[320], addr[ADDR_STRLEN];
	int n, i, fd = -EHOSTUNREACH;

	target_format(&s->target, port, name, sizeof(name));
	log_set_target(name);
	n = target_resolve(&s->target, port, addrs, ELEMENTSOF(addrs), &rerr);
	if (n < 0) {
		log_errno(LOG_ERR, rerr.gai ? 0 : -n, "Failed to resolve %s%s%s",
		    name, rerr.gai ? ": " : "",
		    rerr.gai ? gai_strerror(rerr.gai) : "");
		return n;
	}
	for (i = 0; i < n; i++) {
		addr_format(&addrs[i], addr, sizeof(addr));
		fd = target_connect(&addrs[i], NULL, c->fd,
		    s->connect_timeout, sigmask);
		if (fd >= 0)
			break;
		if (fd == -EINTR) {
			log_errno(LOG_INFO, 0, "Terminated while connecting "
			    "to %s", addr);
			return fd;
		}
		log_errno(LOG_ERR, -fd, "Failed to connect to %s", addr);
	}
	return fd;
}

int
main(int argc, char *argv[])
{
	struct args a;
	struct connection c;
	struct settings s;
	struct relay_result res;
	sigset_t sigmask;
	uint64_t start = now_usec();
	int r, target_fd;

	memset(&a, 0, sizeof(a));
	if ((r = parse_argv(argc, argv, &a)) <= 0)
		return r < 0 ? EXIT_USAGE : EXIT_OK;
	if (a.check_config)
		return config_check(a.config, stdout) == 0 ? EXIT_OK :
		    EXIT_CONFIG;

	log_open(0);
	signals_setup(&sigmask);
	if (take_connection(&c) < 0)
		return EXIT_HANDOVER;
	if (load_settings(&a, &c, &s) < 0) {
		sock_abort(c.fd);
		return EXIT_CONFIG;
	}
	sock_keepalive(c.fd, s.keepalive);
	sock_tune(c.fd, -1);
	if ((target_fd = connect_target(&s, &c, &sigmask)) < 0) {
		sock_abort(c.fd);
		return target_fd == -EINTR ? EXIT_OK : EXIT_TARGET;
	}
	r = relay_run(c.fd, target_fd, s.idle_timeout, 0, &sigmask, &res);
	log_connection(&res, now_usec() - start);
	return r < 0 ? EXIT_RELAY : EXIT_OK;
}
