/* Where the connection goes: parsing a TARGET, and reaching it. */
#ifndef V6FWD_TARGET_H
#define V6FWD_TARGET_H

#include <signal.h>
#include <stddef.h>

#include "addr.h"
#include "outcome.h"

#define TARGET_HOST_MAX	253
/* "[" host "]:" port, NUL: any target's text fits. */
#define TARGET_STRLEN	(TARGET_HOST_MAX + 10)

struct target {
	char		host[TARGET_HOST_MAX + 1];
	unsigned	port;		/* 0: the port the client connected to */
	int		family;		/* AF_INET6 only for a bracketed literal */
};

struct connection;
struct settings;

int	target_parse(const char *, struct target *, const char **);
const char *target_format(const struct target *, unsigned, char *, size_t);
int	target_reach(const struct settings *, struct connection *,
	    const sigset_t *, enum outcome *);

#endif
