/* Source mapping: a stable IPv4 source address per IPv6 client prefix. */
#ifndef V6FWD_MAPSRC_H
#define V6FWD_MAPSRC_H

#include <stdint.h>

#include "addr.h"

/* Where mapped sources go without a pool: 127.0.0.0/8, less 127.0.0.1. */
#define MAPSRC_LOOPBACK_NET	UINT32_C(0x7f000000)
#define MAPSRC_LOOPBACK_PREFIX	8
#define MAPSRC_KEY_SIZE		16
/* "255.255.255.255/30" */
#define MAPSRC_POOL_STRLEN	(INET_ADDRSTRLEN + 3)

/* An IPv4 network the administrator assigned for mapped sources. */
struct mapsrc_pool {
	uint32_t	addr;		/* host order */
	unsigned	prefix;		/* 0: none, 127.0.0.0/8 */
};

int	mapsrc_key(uint8_t [MAPSRC_KEY_SIZE]);
uint32_t mapsrc_hash(const uint8_t [MAPSRC_KEY_SIZE], const struct in6_addr *,
	    unsigned);
uint32_t mapsrc_spread(uint32_t, const struct mapsrc_pool *);
int	mapsrc_client(const uint8_t [MAPSRC_KEY_SIZE],
	    const union sockaddr_any *, unsigned, uint32_t *);
int	mapsrc_source(uint32_t, const struct mapsrc_pool *,
	    const union sockaddr_any *, union sockaddr_any *);
const char *mapsrc_pool_format(const struct mapsrc_pool *, char *, size_t);

#endif
