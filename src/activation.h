/* Taking the connection from systemd (or inetd) and checking it. */
#ifndef V6FWD_ACTIVATION_H
#define V6FWD_ACTIVATION_H

#include "addr.h"

struct connection {
	int			fd;
	int			inetd;	/* handed over as stdin */
	union sockaddr_any	peer;	/* the client */
	union sockaddr_any	local;	/* the address it connected to */
};

int	activation_take(struct connection *, char *, size_t);
int	activation_listen_fds(char *, size_t);

#endif
