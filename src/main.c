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
#include "mapsrc.h"
#include "proxy.h"
#include "relay.h"
#include "sandbox.h"
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
	union sockaddr_any addrs[TARGET_ADDRS_MAX], src;
	struct resolve_error rerr;
	unsigned port = addr_port(&c->local);
	char name[320], addr[ADDR_STRLEN], from[INET_ADDRSTRLEN] = "";
	char pool[INET_ADDRSTRLEN + 3];
	socklen_t len = sizeof(src);
	uint32_t hash = 0;
	int n, i, map = s->map_source > 0, fd = -EHOSTUNREACH;

	target_format(&s->target, port, name, sizeof(name));
	log_set_target(name);
	n = target_resolve(&s->target, port, addrs, ELEMENTSOF(addrs), &rerr);
	if (n < 0) {
		log_errno(LOG_ERR, rerr.gai ? 0 : -n, "Failed to resolve %s%s%s",
		    name, rerr.gai ? ": " : "",
		    rerr.gai ? gai_strerror(rerr.gai) : "");
		return n;
	}
	if (map && mapsrc_client(&c->peer, s->map_source, &hash) < 0) {
		log_errno(LOG_INFO, 0, "IPv4 client, source not mapped: the "
		    "target sees the relay's own address");
		map = 0;
	}
	if (map)
		mapsrc_pool_format(&s->map_pool, pool, sizeof(pool));
	for (i = 0; i < n; i++) {
		addr_format(&addrs[i], addr, sizeof(addr));
		if (map && (fd = mapsrc_source(hash, &s->map_pool, &addrs[i],
		    &src)) < 0) {
			log_errno(LOG_ERR, 0, "Refusing the connection: "
			    "map-source maps into %s, from which %s cannot "
			    "be reached; set map-source-pool= to an IPv4 "
			    "network routed to this host", pool, addr);
			return fd;
		}
		if (map) {
			log_set_source(&src);
			addr_host(&src, from, sizeof(from));
		}
		fd = target_connect(&addrs[i], map ? &src : NULL, c->fd,
		    s->connect_timeout, sigmask);
		if (fd >= 0)
			break;
		if (fd == -EINTR) {
			log_errno(LOG_INFO, 0, "Terminated while connecting "
			    "to %s", addr);
			return fd;
		}
		if (fd == -EADDRNOTAVAIL && map) {
			/* Every address would fail alike: say it once. */
			log_errno(LOG_ERR, 0, "Failed to connect to %s from "
			    "%s: not an address of this host; route the pool "
			    "to it: ip route add local %s dev lo", addr, from,
			    pool);
			return fd;
		}
		log_errno(LOG_ERR, -fd, "Failed to connect to %s%s%s", addr,
		    map ? " from " : "", from);
	}
	/* The port too: it tells apart two prefixes sharing an address. */
	if (fd >= 0 && map && getsockname(fd, &src.sa, &len) == 0)
		log_set_source(&src);
	return fd;
}

/* The PROXY header, if configured, goes first: before any client byte. */
static int
send_proxy_header(const struct settings *s, const struct connection *c,
    int target_fd, const char *id)
{
	union sockaddr_any to;
	socklen_t len = sizeof(to);
	char addr[320];
	int r;

	if (!s->proxy_protocol)
		return 0;
	r = proxy_send(target_fd, s->proxy_protocol, &c->peer, &c->local, id);
	if (r == 0)
		return 0;
	if (getpeername(target_fd, &to.sa, &len) == 0)
		addr_format(&to, addr, sizeof(addr));
	else
		target_format(&s->target, addr_port(&c->local), addr,
		    sizeof(addr));
	return log_errno(LOG_ERR, -r, "Failed to send PROXY header to %s",
	    addr);
}

int
main(int argc, char *argv[])
{
	struct args a;
	struct connection c;
	struct settings s;
	struct relay_result res;
	sigset_t sigmask;
	char id[PROXY_ID_LEN + 1];
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
	proxy_id(id);
	log_set_id(id);
	if (load_settings(&a, &c, &s) < 0) {
		sock_abort(c.fd);
		return EXIT_CONFIG;
	}
	sock_keepalive(c.fd, s.keepalive);
	sock_tune(c.fd, -1);
	if ((target_fd = connect_target(&s, &c, &sigmask)) < 0) {
		sock_abort(c.fd);
		if (target_fd == -EDESTADDRREQ)
			return EXIT_CONFIG;
		return target_fd == -EINTR ? EXIT_OK : EXIT_TARGET;
	}
	if (send_proxy_header(&s, &c, target_fd, id) < 0) {
		sock_abort(target_fd);
		sock_abort(c.fd);
		return EXIT_TARGET;
	}
	sandbox_apply();
	r = relay_run(c.fd, target_fd, &(struct relay_opts){
	    .idle_timeout = s.idle_timeout, .pipe_grow = RELAY_PIPE_GROW },
	    &sigmask, &res);
	log_connection(&res, now_usec() - start);
	return r < 0 ? EXIT_RELAY : EXIT_OK;
}
