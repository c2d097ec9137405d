/*
 * A source, as a per-source limit counts them: an IPv6 client by its /64
 * (one host or one site: a client holds a whole /64 and can use any address
 * in it, so counting addresses would limit nothing), an IPv4 client (also
 * v4-mapped) by its address. The key is never all zero, as table.c needs.
 */
#include <string.h>

#include "log.h"
#include "ratelimit.h"
#include "source.h"

void
source_key(const union sockaddr_any *peer, uint8_t key[SOURCE_KEY_SIZE])
{
	memset(key, 0, SOURCE_KEY_SIZE);
	if (peer->sa.sa_family == AF_INET6 &&
	    !IN6_IS_ADDR_V4MAPPED(&peer->in6.sin6_addr)) {
		key[0] = 6;
		memcpy(key + 1, peer->in6.sin6_addr.s6_addr, 8);
	} else if (peer->sa.sa_family == AF_INET6) {
		key[0] = 4;
		memcpy(key + 1, peer->in6.sin6_addr.s6_addr + 12, 4);
	} else {
		key[0] = 4;
		memcpy(key + 1, &peer->in.sin_addr, 4);
	}
}

/* "2001:db8::/64" or "192.0.2.1": a source as the limit counts it. */
const char *
source_format(const union sockaddr_any *peer, char *buf, size_t size)
{
	union sockaddr_any a = *peer;

	if (a.sa.sa_family == AF_INET6 &&
	    !IN6_IS_ADDR_V4MAPPED(&a.in6.sin6_addr)) {
		memset(a.in6.sin6_addr.s6_addr + 8, 0, 8);
		addr_host(&a, buf, size);
		strncat(buf, "/64", size - strlen(buf) - 1);
	} else
		addr_host(&a, buf, size);
	return buf;
}

/*
 * "Too many incoming connections (256) from source 2001:db8::/64, dropping
 * connection", at most once a second (a client can make it happen).
 */
void
source_too_many(struct ratelimit *rl, uint64_t now, const char *what,
    unsigned max, const union sockaddr_any *peer, const char *action)
{
	char from[SOURCE_STRLEN], more[64];

	if (ratelimit_pass(rl, now))
		log_warning("Too many %s (%u) from source %s, %s%s", what, max,
		    source_format(peer, from, sizeof(from)), action,
		    ratelimit_more(rl, more, sizeof(more)));
}
