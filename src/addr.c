/*
 * Socket addresses. Everything that prints an address goes through here, so
 * that IPv6 peers are never shown as 0.0.0.0 and ports always follow the
 * "[addr]:port" convention for IPv6.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

socklen_t
addr_len(const union sockaddr_any *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof(a->in6) : sizeof(a->in);
}

unsigned
addr_port(const union sockaddr_any *a)
{
	if (a->sa.sa_family == AF_INET6)
		return ntohs(a->in6.sin6_port);
	if (a->sa.sa_family == AF_INET)
		return ntohs(a->in.sin_port);
	return 0;
}

void
addr_set_port(union sockaddr_any *a, unsigned port)
{
	if (a->sa.sa_family == AF_INET6)
		a->in6.sin6_port = htons(port);
	else
		a->in.sin_port = htons(port);
}

/* The bare address, without port or brackets: what a field or ACL wants. */
const char *
addr_host(const union sockaddr_any *a, char *buf, size_t size)
{
	const void *p;

	if (a->sa.sa_family == AF_INET6)
		p = &a->in6.sin6_addr;
	else if (a->sa.sa_family == AF_INET)
		p = &a->in.sin_addr;
	else {
		snprintf(buf, size, "(family %d)", a->sa.sa_family);
		return buf;
	}
	if (!inet_ntop(a->sa.sa_family, p, buf, size))
		snprintf(buf, size, "(unprintable)");
	return buf;
}

/* "[2001:db8::1]:2000" or "127.0.0.1:2000". */
const char *
addr_format(const union sockaddr_any *a, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN];

	addr_host(a, host, sizeof(host));
	if (a->sa.sa_family == AF_INET6)
		snprintf(buf, size, "[%s]:%u", host, addr_port(a));
	else
		snprintf(buf, size, "%s:%u", host, addr_port(a));
	return buf;
}

/* A decimal port from 1 to 65535, nothing else: no sign, no service name. */
int
addr_parse_port(const char *s, unsigned *ret)
{
	unsigned long v = 0;

	if (*s == '\0' || strlen(s) > 5)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v == 0 || v > 65535)
		return -ERANGE;
	*ret = (unsigned)v;
	return 0;
}
