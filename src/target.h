/* Where the connection goes: parsing a TARGET, resolving it, connecting. */
#ifndef V6FWD_TARGET_H
#define V6FWD_TARGET_H

#include <signal.h>
#include <stdint.h>

#include "addr.h"

#define TARGET_HOST_MAX	253
#define TARGET_ADDRS_MAX	16

struct target {
	char		host[TARGET_HOST_MAX + 1];
	unsigned	port;		/* 0: the port the client connected to */
	int		family;		/* AF_INET6 only for a bracketed literal */
};

/* Why target_resolve() failed, for getaddrinfo()'s own message. */
struct resolve_error {
	int	gai;
};

int	target_parse(const char *, struct target *, const char **);
int	target_resolve(const struct target *, unsigned,
	    union sockaddr_any *, size_t, struct resolve_error *);
const char *target_format(const struct target *, unsigned, char *, size_t);
int	target_connect(const union sockaddr_any *,
	    const union sockaddr_any *, int, uint64_t, const sigset_t *);

#endif
