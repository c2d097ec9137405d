/* Source mapping: a stable IPv4 source address per IPv6 client prefix. */
#ifndef V6FWD_MAPSRC_H
#define V6FWD_MAPSRC_H

#include <stdint.h>

#include "addr.h"
#include "config.h"

/* Where mapped sources go without a pool: 127.0.0.0/8, less 127.0.0.1. */
#define MAPSRC_LOOPBACK_NET	UINT32_C(0x7f000000)
#define MAPSRC_LOOPBACK_PREFIX	8

uint32_t mapsrc_hash(const struct in6_addr *, unsigned);
uint32_t mapsrc_spread(uint32_t, const struct pool *);
int	mapsrc_client(const union sockaddr_any *, unsigned, uint32_t *);
int	mapsrc_source(uint32_t, const struct pool *,
	    const union sockaddr_any *, union sockaddr_any *);
const char *mapsrc_pool_format(const struct pool *, char *, size_t);

#endif
