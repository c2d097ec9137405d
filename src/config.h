/* Settings: built-in defaults, the per-port configuration file, options. */
#ifndef V6FWD_CONFIG_H
#define V6FWD_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "addr.h"
#include "target.h"

#ifndef V6FWD_CONFIG
#define V6FWD_CONFIG	"/etc/v6fwd.conf"
#endif

#define CONNECT_TIMEOUT_DEFAULT	(5 * UINT64_C(1000000))
#define IDLE_TIMEOUT_DEFAULT	0

/* Which fields of a struct settings were given, for layering. */
enum {
	SET_TARGET		= 1 << 0,
	SET_CONNECT_TIMEOUT	= 1 << 1,
	SET_IDLE_TIMEOUT	= 1 << 2,
};

struct settings {
	unsigned	set;
	struct target	target;
	uint64_t	connect_timeout;
	uint64_t	idle_timeout;
};

void	settings_init(struct settings *);
int	settings_set(struct settings *, const char *, const char *,
	    const char **);
void	settings_merge(struct settings *, const struct settings *);
int	config_lookup(const char *, int, const union sockaddr_any *,
	    struct settings *, char *, size_t);
int	config_check(const char *, FILE *);

#endif
