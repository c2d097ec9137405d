/*
 * Source mapping. Backends that cannot read a PROXY header see every relayed
 * client as 127.0.0.1, so one ban or one rate limit hits everybody. With
 * map-source, the connection to the target is bound to an IPv4 address
 * derived from the client's IPv6 /N prefix: the same prefix always gets the
 * same address, different prefixes almost always different ones.
 *
 * The address is a keyed hash of the prefix, spread over 127.0.0.0/8 (the
 * whole of it is local on Linux, so any of it can be bound) or over the host
 * addresses of an administrator's pool. Never produced: the network and
 * broadcast addresses, and 127.0.0.1, which stays the relay's own unmapped
 * address (and what a fail2ban "ignoreself" ignores).
 *
 * The key is this host's: derived from its machine ID with
 * sd_id128_get_machine_app_specific(), so it needs no key file, survives
 * restarts and upgrades, and is the same for every connection; but nobody
 * off the host can compute the mapping, and so nobody can search offline
 * for a prefix of their own that lands on a victim's address, to get the
 * victim banned with them. The hash is SipHash-2-4, made for exactly this:
 * short inputs, a secret key, collisions that cannot be chosen. A new
 * machine ID moves every client to a new address; the journal names the
 * mapped source of every connection either way (V6FWD_SOURCE).
 *
 * Apart from reading the machine ID, everything here is arithmetic: no
 * allocation, no system call.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <systemd/sd-id128.h>

#include "mapsrc.h"
#include "siphash.h"

#define LOCALHOST	UINT32_C(0x7f000001)

/* v6fwd's application ID: the key is the machine ID's HMAC with it. */
#define MAPSRC_APP_ID	SD_ID128_MAKE(5e,0c,8a,61,2f,94,4d,7b,b3,1e,c6,d8,07,a2,f5,49)

/* This host's mapping key. Returns 0, or -errno (no machine ID). */
int
mapsrc_key(uint8_t key[MAPSRC_KEY_SIZE])
{
	sd_id128_t id;
	int r;

	if ((r = sd_id128_get_machine_app_specific(MAPSRC_APP_ID, &id)) < 0)
		return r;
	memcpy(key, id.bytes, MAPSRC_KEY_SIZE);
	return 0;
}

/*
 * 32 bits of keyed hash of the first len bits of a (len from 1 to 128). The
 * length is hashed too, so that a /48 and a /64 rule do not put 2001:db8::/48
 * and 2001:db8::/64 on the same address.
 */
uint32_t
mapsrc_hash(const uint8_t key[MAPSRC_KEY_SIZE], const struct in6_addr *a,
    unsigned len)
{
	uint8_t in[17];
	unsigned i;

	if (len > 128)
		len = 128;
	memcpy(in, a->s6_addr, 16);
	for (i = 0; i < 16; i++) {
		unsigned keep = len > 8 * i ? len - 8 * i : 0;

		if (keep < 8)
			in[i] &= (uint8_t)(0xff00 >> keep);
	}
	in[16] = (uint8_t)len;
	return (uint32_t)(siphash24(key, in, sizeof(in)) >> 32);
}

/*
 * The hash spread evenly over the pool's host addresses (prefix 1 to 30;
 * prefix 0 means 127.0.0.0/8), skipping 127.0.0.1 when the pool holds it.
 * Returns the address in host order.
 */
uint32_t
mapsrc_spread(uint32_t hash, const struct mapsrc_pool *pool)
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
mapsrc_client(const uint8_t key[MAPSRC_KEY_SIZE],
    const union sockaddr_any *client, unsigned len, uint32_t *hash)
{
	if (client->sa.sa_family != AF_INET6 ||
	    IN6_IS_ADDR_V4MAPPED(&client->in6.sin6_addr))
		return -EAFNOSUPPORT;
	*hash = mapsrc_hash(key, &client->in6.sin6_addr, len);
	return 0;
}

/*
 * The source address for a connection to target. Without a pool the target
 * must be in 127.0.0.0/8: an address there cannot leave the host, so a
 * remote target would never see the connection come back. Returns 0, or
 * -EDESTADDRREQ when no source can be mapped for this target (an IPv6
 * target, or one off loopback without a pool).
 */
int
mapsrc_source(uint32_t hash, const struct mapsrc_pool *pool,
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
mapsrc_pool_format(const struct mapsrc_pool *pool, char *buf, size_t size)
{
	struct in_addr a;
	char net[INET_ADDRSTRLEN];

	a.s_addr = htonl(pool->prefix ? pool->addr : MAPSRC_LOOPBACK_NET);
	inet_ntop(AF_INET, &a, net, sizeof(net));
	snprintf(buf, size, "%s/%u", net, pool->prefix ? pool->prefix :
	    MAPSRC_LOOPBACK_PREFIX);
	return buf;
}
