/* Name resolution, bounded in time and ended by a termination signal. */
#ifndef V6FWD_RESOLVE_H
#define V6FWD_RESOLVE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/* The addresses of a name that are tried, in the resolver's order. */
#define RESOLVE_ADDRS_MAX	64

/* Why a resolution failed: getaddrinfo()'s code, with errno for EAI_SYSTEM. */
struct resolve_error {
	int	gai;
	int	err;
};

int	resolve_host(const char *, unsigned, union sockaddr_any *, size_t,
	    uint64_t, const sigset_t *, struct resolve_error *);

#endif
