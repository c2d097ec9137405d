/* Taking the socket that systemd (or inetd) hands over, and checking it. */
#ifndef V6FWD_ACTIVATION_H
#define V6FWD_ACTIVATION_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

/*
 * One accepted TCP connection: the client on the IPv6 side. For a listening
 * or a datagram socket, fd and local only.
 */
struct connection {
	int			fd;
	bool			inetd;	/* handed over as stdin */
	union sockaddr_any	peer;	/* the client */
	union sockaddr_any	local;	/* the address it connected to */
};

/* What was handed over: one connection, or a socket to accept them on. */
enum activation {
	ACTIVATION_CONNECTION,	/* Accept=yes, inetd */
	ACTIVATION_LISTENER,	/* Accept=no: the served mode */
	ACTIVATION_DATAGRAM,	/* ListenDatagram=: the UDP relay */
};

int	activation_take(struct connection *, char *, size_t);

#endif
