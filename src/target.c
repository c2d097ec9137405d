/*
 * The target: the IPv4 service the connection is relayed to.
 *
 * Accepted forms: ADDR:PORT, ADDR, HOST:PORT, HOST, [IPV6]:PORT and [IPV6].
 * Without a port the local port the client connected to is used, since with
 * Accept=yes the unit instance name is not the port. Literals never touch the
 * resolver: getaddrinfo() loads NSS modules, which every connection would pay.
 *
 * target_reach() is the policy: resolve, map the source, try each address
 * in turn, and say once, with the cause, what failed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "activation.h"
#include "clock.h"
#include "config.h"
#include "connection.h"
#include "log.h"
#include "mapsrc.h"
#include "resolve.h"
#include "signals.h"
#include "sock.h"
#include "target.h"

static bool
valid_hostname(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++) {
		char c = s[n];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_'))
			return false;
	}
	return n > 0 && n <= TARGET_HOST_MAX;
}

int
target_parse(const char *s, struct target *t, const char **why)
{
	const char *host = s, *colon, *port = NULL;
	size_t hostlen;
	unsigned p = 0;
	struct in6_addr a6;

	memset(t, 0, sizeof(*t));
	t->family = AF_INET;
	if (*s == '[') {
		const char *end = strchr(s, ']');

		if (!end) {
			*why = "missing ']' after IPv6 address";
			return -EINVAL;
		}
		host = s + 1;
		hostlen = (size_t)(end - host);
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0') {
			*why = "expected ':PORT' after ']'";
			return -EINVAL;
		}
		t->family = AF_INET6;
	} else {
		colon = strchr(s, ':');
		if (colon && strchr(colon + 1, ':')) {
			*why = "an IPv6 address must be written in brackets: "
			    "[ADDR] or [ADDR]:PORT";
			return -EINVAL;
		}
		hostlen = colon ? (size_t)(colon - s) : strlen(s);
		if (colon)
			port = colon + 1;
	}
	if (hostlen == 0 || hostlen > TARGET_HOST_MAX) {
		*why = "empty or overlong host";
		return -EINVAL;
	}
	memcpy(t->host, host, hostlen);
	t->host[hostlen] = '\0';
	if (port && addr_parse_port(port, &p) < 0) {
		*why = "port must be a number from 1 to 65535";
		return -EINVAL;
	}
	t->port = p;
	if (t->family == AF_INET6) {
		if (inet_pton(AF_INET6, t->host, &a6) != 1) {
			*why = "not an IPv6 address inside '[...]'";
			return -EINVAL;
		}
	} else if (!valid_hostname(t->host)) {
		*why = "not an IPv4 address or host name";
		return -EINVAL;
	}
	return 0;
}

/* "127.0.0.1:2000", with the effective port filled in. */
const char *
target_format(const struct target *t, unsigned local_port, char *buf,
    size_t size)
{
	unsigned port = t->port ? t->port : local_port;

	if (t->family == AF_INET6)
		snprintf(buf, size, "[%s]:%u", t->host, port);
	else
		snprintf(buf, size, "%s:%u", t->host, port);
	return buf;
}

/* A literal address, which needs no resolver: 1, or 0 for a host name. */
static int
target_literal(const struct target *t, unsigned port, union sockaddr_any *out)
{
	memset(out, 0, sizeof(*out));
	if (t->family == AF_INET6) {
		out->in6.sin6_family = AF_INET6;
		(void)inet_pton(AF_INET6, t->host, &out->in6.sin6_addr);
		out->in6.sin6_port = htons(port);
		return 1;
	}
	if (inet_pton(AF_INET, t->host, &out->in.sin_addr) == 1) {
		out->in.sin_family = AF_INET;
		out->in.sin_port = htons(port);
		return 1;
	}
	return 0;
}

/*
 * Connects a new non-blocking socket to addr within timeout, from the
 * address source if it is not NULL, with the options of the client leg.
 * The options are set before connect() so that they hold from the first
 * segment. Returns the fd, or -errno (-ETIMEDOUT for our own timeout,
 * -EINTR when a termination signal arrived meanwhile); *at_bind tells a
 * failure to bind the source from one to connect.
 */
static int
target_connect(const union sockaddr_any *addr,
    const union sockaddr_any *source, int client_fd, uint64_t timeout,
    const sigset_t *waitmask, bool *at_bind)
{
	struct pollfd pfd;
	uint64_t deadline = clock_usec() + timeout;
	int fd, r, err;
	socklen_t len = sizeof(err);

	*at_bind = false;
	fd = socket(addr->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		return -errno;
	sock_nodelay(fd);
	sock_urgent_inline(fd);
	sock_copy_keepalive(client_fd, fd);
	if (source) {
		int one = 1;

		/*
		 * Without this, bind() picks the port at once and reserves
		 * it for every destination, and mapped sources would run out
		 * of ephemeral ports; with it, connect() picks the port.
		 */
		(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof(one));
		if (bind(fd, &source->sa, addr_len(source)) < 0) {
			*at_bind = true;
			r = -errno;
			goto err;
		}
	}
	if (connect(fd, &addr->sa, addr_len(addr)) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		r = -errno;
		goto err;
	}

	pfd.fd = fd;
	pfd.events = POLLOUT;
	for (;;) {
		uint64_t now = clock_usec();
		struct timespec ts;

		if (now >= deadline) {
			r = -ETIMEDOUT;
			goto err;
		}
		ts = clock_timespec(deadline - now);
		r = signals_ppoll(&pfd, 1, &ts, waitmask);
		if (r > 0)
			break;
		if (r < 0 && errno == EINTR && signals_terminated()) {
			r = -EINTR;
			goto err;
		}
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
		r = -errno;
		goto err;
	}
	if (err != 0) {
		r = -err;
		goto err;
	}
	return fd;
err:
	(void)close(fd);
	return r;
}

/*
 * The target's addresses: returns how many, or -1 with *outcome set and the
 * client reset.
 */
static int
target_addresses(const struct settings *s, struct connection *c,
    unsigned port, const char *name, union sockaddr_any *addrs,
    const sigset_t *waitmask, enum outcome *outcome)
{
	struct resolve_error rerr;
	char took[32];
	int n;

	if (target_literal(&s->target, port, addrs))
		return 1;
	n = resolve_host(s->target.host, port, addrs, RESOLVE_ADDRS_MAX,
	    s->connect_timeout, waitmask, &rerr);
	if (n > 0)
		return n;
	connection_reset(c);
	*outcome = OUTCOME_UNRESOLVED;
	if (n == -EINTR) {
		*outcome = OUTCOME_TERMINATED;
		log_info("Terminated while resolving %s", name);
	} else if (n == -ETIMEDOUT)
		log_error("Failed to resolve %s: no answer within %s (the "
		    "connect timeout)", name, clock_format_duration(
		    s->connect_timeout, took, sizeof(took)));
	else if (rerr.gai == EAI_SYSTEM)
		(void)log_error_errno(rerr.err, "Failed to resolve %s: %m", name);
	else if (rerr.gai)
		log_error("Failed to resolve %s: %s", name,
		    gai_strerror(rerr.gai));
	else
		(void)log_error_errno(n, "Failed to resolve %s: %m", name);
	return -1;
}

static enum outcome
connect_outcome(int r)
{
	switch (r) {
	case -ECONNREFUSED:
		return OUTCOME_REFUSED;
	case -ETIMEDOUT:
		return OUTCOME_TIMEOUT;
	case -EINTR:
		return OUTCOME_TERMINATED;
	case -EADDRNOTAVAIL:
		return OUTCOME_NO_SOURCE;
	default:
		return OUTCOME_UNREACHABLE;
	}
}

/*
 * Connects to the target of connection c as settings s say: resolves it,
 * maps the source, tries each address in turn. Every failure is logged
 * once, with the client, the address and the cause; when it is the last,
 * after the client has been reset (connection_reset()). Returns the
 * connected fd, or -1 with *outcome saying why there is none.
 */
int
target_reach(const struct settings *s, struct connection *c,
    const sigset_t *waitmask, enum outcome *outcome)
{
	union sockaddr_any addrs[RESOLVE_ADDRS_MAX], src;
	uint8_t key[MAPSRC_KEY_SIZE];
	unsigned port = addr_port(&c->local);
	char name[TARGET_STRLEN], addr[ADDR_STRLEN], pool[MAPSRC_POOL_STRLEN];
	char from[INET_ADDRSTRLEN] = "";
	socklen_t len = sizeof(src);
	uint32_t hash = 0;
	bool map = s->map_source > 0, at_bind;
	int n, i, fd = -1, r;

	target_format(&s->target, port, name, sizeof(name));
	log_set_target(name);
	if (s->target.port)
		port = s->target.port;
	if ((n = target_addresses(s, c, port, name, addrs, waitmask,
	    outcome)) < 0)
		return -1;
	if (map && (r = mapsrc_key(key)) < 0) {
		connection_reset(c);
		*outcome = OUTCOME_CONFIG;
		(void)log_error_errno(r, "Failed to read the machine ID, the "
		    "key of map-source: %m; create /etc/machine-id "
		    "(systemd-machine-id-setup)");
		return -1;
	}
	if (map && mapsrc_client(key, &c->peer, s->map_source, &hash) < 0) {
		log_info("IPv4 client, source not mapped: the target sees the "
		    "relay's own address");
		map = false;
	}
	mapsrc_pool_format(&s->map_pool, pool, sizeof(pool));
	for (i = 0; i < n; i++) {
		addr_format(&addrs[i], addr, sizeof(addr));
		if (map) {
			if (mapsrc_source(hash, &s->map_pool, &addrs[i],
			    &src) < 0) {
				connection_reset(c);
				*outcome = OUTCOME_CONFIG;
				log_error("Refusing the connection: map-source "
				    "maps into %s, from which %s cannot be "
				    "reached; set map-source-pool= to an IPv4 "
				    "network routed to this host", pool, addr);
				return -1;
			}
			log_set_source(&src);
			addr_host(&src, from, sizeof(from));
		}
		fd = target_connect(&addrs[i], map ? &src : NULL, c->fd,
		    s->connect_timeout, waitmask, &at_bind);
		if (fd >= 0)
			break;
		*outcome = connect_outcome(fd);
		if (fd == -EINTR || (fd == -EADDRNOTAVAIL && at_bind) ||
		    i == n - 1)
			connection_reset(c);
		if (fd == -EINTR) {
			log_info("Terminated while connecting to %s", addr);
			return -1;
		}
		if (fd == -EADDRNOTAVAIL && at_bind) {
			/* Every address would fail alike: say it once. */
			log_error("Failed to connect to %s from %s: not an "
			    "address of this host; route the pool to it: ip "
			    "route add local %s dev lo", addr, from, pool);
			return -1;
		}
		if (fd == -EADDRNOTAVAIL)
			(void)log_error_errno(fd, "Failed to connect to %s%s%s: "
			    "no free source port (%m): every port of "
			    "net.ipv4.ip_local_port_range is in use towards "
			    "it%s", addr, map ? " from " : "", from, map ?
			    "; map a longer prefix, or into a larger pool" :
			    "; widen the range");
		else
			(void)log_error_errno(fd, "Failed to connect to %s%s%s: "
			    "%m", addr, map ? " from " : "", from);
	}
	if (fd < 0)
		return -1;
	/* The port too: it tells apart two prefixes sharing an address. */
	if (map && getsockname(fd, &src.sa, &len) == 0)
		log_set_source(&src);
	return fd;
}
