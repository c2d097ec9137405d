/* A client's source, as the per-source limits count them. */
#ifndef V6FWD_SOURCE_H
#define V6FWD_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define SOURCE_KEY_SIZE		9	/* family (4 or 6), then the bytes */
/* "ffff:ffff:ffff:ffff::/64" or an IPv4 address, with its NUL. */
#define SOURCE_STRLEN		(INET6_ADDRSTRLEN + 4)

void		source_key(const union sockaddr_any *, uint8_t [SOURCE_KEY_SIZE]);
const char	*source_format(const union sockaddr_any *, char *, size_t);

struct ratelimit;
void		source_too_many(struct ratelimit *, uint64_t, const char *,
		    unsigned, const union sockaddr_any *, const char *);

#endif
