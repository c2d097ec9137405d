/* Settings: built-in defaults, the per-port configuration file, options. */
#ifndef V6FWD_CONFIG_H
#define V6FWD_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "addr.h"
#include "mapsrc.h"
#include "target.h"

#ifndef V6FWD_CONFIG
#define V6FWD_CONFIG	"/etc/v6fwd.conf"
#endif

#define CONNECT_TIMEOUT_DEFAULT	(5 * UINT64_C(1000000))
#define IDLE_TIMEOUT_DEFAULT	0
/*
 * A UDP flow's idle timeout once it is a stream (see udp.c), as conntrack's
 * nf_conntrack_udp_timeout_stream: longer than any keepalive interval
 * (WireGuard's 25 s, games' few seconds), and a flow must end some time.
 */
#define UDP_IDLE_TIMEOUT_DEFAULT	(120 * UINT64_C(1000000))

/* Which fields of a struct settings were given, for layering. */
enum {
	SET_TARGET		= 1 << 0,
	SET_CONNECT_TIMEOUT	= 1 << 1,
	SET_IDLE_TIMEOUT	= 1 << 2,
	SET_KEEPALIVE		= 1 << 3,
	SET_PROXY_PROTOCOL	= 1 << 4,
	SET_MAP_SOURCE		= 1 << 5,
	SET_MAP_POOL		= 1 << 6,
	SET_MAX_CONNECTIONS	= 1 << 7,
	SET_MAX_PER_SOURCE	= 1 << 8,
	SET_MAX_FLOWS		= 1 << 9,
	SET_MAX_FLOWS_PER_SOURCE = 1 << 10,
};

struct settings {
	unsigned	set;
	struct target	target;
	uint64_t	connect_timeout;
	uint64_t	idle_timeout;
	uint64_t	keepalive;	/* 0: as the socket unit set it */
	int		proxy_protocol;	/* 0: off, 1 or 2: that version */
	unsigned	map_source;	/* IPv6 prefix length hashed, 0: off */
	struct mapsrc_pool map_pool;	/* where mapped sources go, 0: 127/8 */
	unsigned	max_connections;	/* served mode: at once */
	unsigned	max_per_source;		/* served mode: from one source */
	unsigned	max_flows;		/* UDP: flows at once */
	unsigned	max_flows_per_source;	/* UDP: from one source */
};

#define MAP_SOURCE_DEFAULT	64
/* As v6fwd@.socket's MaxConnections= and MaxConnectionsPerSource=. */
#define MAX_CONNECTIONS_DEFAULT	1024
#define MAX_PER_SOURCE_DEFAULT	256
#define MAX_CONNECTIONS_LIMIT	65536
/*
 * Each UDP flow holds a socket, and so a file descriptor and a local port:
 * without map-source every flow takes a port of the ephemeral range
 * (28232 by default), so the default stays well under it.
 */
#define MAX_FLOWS_DEFAULT	16384
#define MAX_FLOWS_PER_SOURCE_DEFAULT	1024

void	settings_init(struct settings *);
int	settings_set(struct settings *, const char *, const char *,
	    const char **);
void	settings_merge(struct settings *, const struct settings *);
int	settings_check(const struct settings *, int, const char **);
int	config_lookup(const char *, int, const union sockaddr_any *,
	    struct settings *, char *, size_t);
int	config_lookup_proto(const char *, int, int,
	    const union sockaddr_any *, struct settings *, char *, size_t);
int	config_check(const char *, FILE *);
void	settings_print(const struct settings *, FILE *);

#endif
