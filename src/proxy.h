/* The PROXY protocol header that tells the IPv4 service who the client is. */
#ifndef V6FWD_PROXY_H
#define V6FWD_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/* A v2 header with the longest UNIQUE_ID (16 + 36 + 3 + 128) fits. */
#define PROXY_HEADER_MAX	192
#define PROXY_UNIQUE_ID_MAX	128

int	proxy_header(int, const union sockaddr_any *,
	    const union sockaddr_any *, const char *, uint8_t *, size_t);
int	proxy_send(int, int, const union sockaddr_any *,
	    const union sockaddr_any *, const char *);

#endif
