/*
 * Source mapping. Backends that cannot read a PROXY header see every relayed
 * client as 127.0.0.1, so one ban or one rate limit hits everybody. With
 * map-source, the connection to the target is bound to an IPv4 address
 * derived from the client's IPv6 /N prefix: the same prefix always gets the
 * same address, different prefixes almost always different ones.
 *
 * The address is a hash of the prefix spread over 127.0.0.0/8 (the whole of
 * it is local on Linux, so any of it can be bound) or over the host
 * addresses of an administrator's pool. Never produced: the network and
 * broadcast addresses, and 127.0.0.1, which stays the relay's own unmapped
 * address (and what a fail2ban "ignoreself" ignores).
 *
 * The hash is unkeyed, on purpose. It must give the same address after a
 * restart and on every machine with the same configuration, and each
 * connection is a new process that must not read a key file. A per-host
 * secret would make the mapping irreversible offline, but that protects
 * nothing: the journal records the mapping of every connection anyway, and
 * the backend's logs are the administrator's own. What a key would stop is a
 * chosen collision: someone holding many prefixes searching offline for one
 * that maps onto a victim's address, to get the victim banned with them.
 * With 2^24 addresses that needs about 2^24 prefixes (a /40 at /64), and the
 * same attacker can rotate prefixes to dodge a ban whatever the hash (see
 * SOURCE MAPPING in v6fwd(8)). The function is an interface: tests/unit.c
 * pins its values, so that an upgrade never moves a client to another
 * address.
 *
 * Everything here is arithmetic: no allocation, no system call.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include "mapsrc.h"

#define LOCALHOST	UINT32_C(0x7f000001)

/*
 * MurmurHash3's 64-bit finaliser: a bijection in which every input bit
 * flips each output bit with probability close to one half.
 */
static uint64_t
mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return x;
}

static uint64_t
load_be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* The top n bits set, for n from 0 to 64. */
static uint64_t
mask64(unsigned n)
{
	if (n == 0)
		return 0;
	return n >= 64 ? UINT64_MAX : UINT64_MAX << (64 - n);
}

/*
 * 32 bits of hash of the first len bits of a (len from 1 to 128). The
 * length is hashed too, so that a /48 and a /64 rule do not put 2001:db8::/48
 * and 2001:db8::/64 on the same address. Since mix64() is a bijection,
 * distinct /64 prefixes differ in all 64 bits before the truncation.
 */
uint32_t
mapsrc_hash(const struct in6_addr *a, unsigned len)
{
	uint64_t hi = load_be64(a->s6_addr), lo = load_be64(a->s6_addr + 8);

	if (len > 128)
		len = 128;
	hi &= mask64(len);
	lo &= len > 64 ? mask64(len - 64) : 0;
	return (uint32_t)(mix64(hi ^ mix64(lo ^ len)) >> 32);
}

/*
 * The hash spread evenly over the pool's host addresses (prefix 1 to 30;
 * prefix 0 means 127.0.0.0/8), skipping 127.0.0.1 when the pool holds it.
 * Returns the address in host order.
 */
uint32_t
mapsrc_spread(uint32_t hash, const struct pool *pool)
{
	uint32_t net = MAPSRC_LOOPBACK_NET, count, addr;
	unsigned prefix = MAPSRC_LOOPBACK_PREFIX;
	int skip;

	if (pool->prefix > 0) {
		net = pool->addr;
		prefix = pool->prefix;
	}
	count = (UINT32_C(1) << (32 - prefix)) - 2;
	skip = net < LOCALHOST && LOCALHOST - net <= count;
	if (skip)
		count--;
	/* Multiply and shift: an even spread without a division. */
	addr = net + 1 + (uint32_t)(((uint64_t)hash * count) >> 32);
	if (skip && addr >= LOCALHOST)
		addr++;
	return addr;
}

/*
 * Hashes the client's /len prefix. Returns 0, or -EAFNOSUPPORT for an IPv4
 * client (also when it arrives v4-mapped on a dual-stack socket): its own
 * address cannot be bound, and it needs no mapping to be told apart.
 */
int
mapsrc_client(const union sockaddr_any *client, unsigned len, uint32_t *hash)
{
	if (client->sa.sa_family != AF_INET6 ||
	    IN6_IS_ADDR_V4MAPPED(&client->in6.sin6_addr))
		return -EAFNOSUPPORT;
	*hash = mapsrc_hash(&client->in6.sin6_addr, len);
	return 0;
}

/*
 * The source address for a connection to target. Without a pool the target
 * must be in 127.0.0.0/8: an address there cannot leave the host, so a
 * remote target would never see the connection come back. Returns 0, or
 * -EDESTADDRREQ when no source can be mapped for this target (an IPv6
 * target, or one off loopback without a pool): a configuration error.
 */
int
mapsrc_source(uint32_t hash, const struct pool *pool,
    const union sockaddr_any *target, union sockaddr_any *source)
{
	if (target->sa.sa_family != AF_INET || pool->prefix > 30)
		return -EDESTADDRREQ;
	if (pool->prefix == 0 && (ntohl(target->in.sin_addr.s_addr) >>
	    (32 - MAPSRC_LOOPBACK_PREFIX)) != MAPSRC_LOOPBACK_NET >>
	    (32 - MAPSRC_LOOPBACK_PREFIX))
		return -EDESTADDRREQ;
	memset(source, 0, sizeof(*source));
	source->in.sin_family = AF_INET;
	source->in.sin_addr.s_addr = htonl(mapsrc_spread(hash, pool));
	return 0;
}

/* "192.0.2.0/24", or "127.0.0.0/8" without a pool. */
const char *
mapsrc_pool_format(const struct pool *pool, char *buf, size_t size)
{
	struct in_addr a;
	char net[INET_ADDRSTRLEN];

	a.s_addr = htonl(pool->prefix ? pool->addr : MAPSRC_LOOPBACK_NET);
	inet_ntop(AF_INET, &a, net, sizeof(net));
	snprintf(buf, size, "%s/%u", net, pool->prefix ? pool->prefix :
	    MAPSRC_LOOPBACK_PREFIX);
	return buf;
}
