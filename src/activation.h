/* Taking the socket that systemd (or inetd) hands over, and checking it. */
#ifndef V6FWD_ACTIVATION_H
#define V6FWD_ACTIVATION_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

/* One accepted TCP connection: the client on the IPv6 side. */
struct connection {
	int			fd;
	bool			inetd;	/* handed over as stdin */
	union sockaddr_any	peer;	/* the client */
	union sockaddr_any	local;	/* the address it connected to */
};

int	activation_take(struct connection *, char *, size_t);

#endif
