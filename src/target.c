/*
 * The target: the IPv4 service the connection is relayed to.
 *
 * Accepted forms: ADDR:PORT, ADDR, HOST:PORT, HOST, [IPV6]:PORT and [IPV6].
 * Without a port the local port the client connected to is used, since with
 * Accept=yes the unit instance name is not the port. Literals never touch the
 * resolver: getaddrinfo() loads NSS modules, which every connection would pay.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "target.h"
#include "util.h"

static int
valid_hostname(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++) {
		char c = s[n];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_'))
			return 0;
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

/*
 * Fills up to max addresses, in the resolver's order. Returns how many, or
 * -errno; for a name that does not resolve, err->gai says why.
 */
int
target_resolve(const struct target *t, unsigned local_port,
    union sockaddr_any *out, size_t max, struct resolve_error *err)
{
	struct addrinfo hints, *res, *ai;
	unsigned port = t->port ? t->port : local_port;
	size_t n = 0;
	int r;

	err->gai = 0;
	memset(out, 0, sizeof(*out));
	if (t->family == AF_INET6) {
		out->in6.sin6_family = AF_INET6;
		inet_pton(AF_INET6, t->host, &out->in6.sin6_addr);
		out->in6.sin6_port = htons(port);
		return 1;
	}
	if (inet_pton(AF_INET, t->host, &out->in.sin_addr) == 1) {
		out->in.sin_family = AF_INET;
		out->in.sin_port = htons(port);
		return 1;
	}

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	r = getaddrinfo(t->host, NULL, &hints, &res);
	if (r != 0) {
		err->gai = r;
		return r == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
	}
	for (ai = res; ai && n < max; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET ||
		    ai->ai_addrlen != sizeof(struct sockaddr_in))
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		memcpy(&out[n].in, ai->ai_addr, sizeof(out[n].in));
		out[n].in.sin_port = htons(port);
		n++;
	}
	freeaddrinfo(res);
	return n > 0 ? (int)n : -EHOSTUNREACH;
}

/*
 * Connects a new non-blocking socket to addr within timeout microseconds,
 * from the address source if it is not NULL. The socket options are applied
 * before connect() so that they hold from the first segment. Returns the
 * fd, or -errno (-ETIMEDOUT for our own timeout, -EINTR when a termination
 * signal arrived meanwhile).
 */
int
target_connect(const union sockaddr_any *addr,
    const union sockaddr_any *source, int tune_from, uint64_t timeout,
    const sigset_t *sigmask)
{
	struct pollfd pfd;
	uint64_t deadline = now_usec() + timeout;
	int fd, r, err;
	socklen_t len = sizeof(err);

	fd = socket(addr->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		return -errno;
	sock_tune(fd, tune_from);
	if (source) {
		int one = 1;

		/*
		 * Without this, bind() picks the port at once and reserves
		 * it for every destination, and mapped sources would run out
		 * of ephemeral ports; with it, connect() picks the port.
		 */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof(one));
		if (bind(fd, &source->sa, addr_len(source)) < 0) {
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
		uint64_t now = now_usec();
		struct timespec ts;

		if (now >= deadline) {
			r = -ETIMEDOUT;
			goto err;
		}
		ts = usec_to_timespec(deadline - now);
		r = ppoll(&pfd, 1, &ts, sigmask);
		if (r > 0)
			break;
		if (r < 0 && errno == EINTR && signal_received()) {
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
	close(fd);
	return r;
}
