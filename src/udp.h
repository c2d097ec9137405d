/* The UDP relay: one process for every flow of a datagram socket. */
#ifndef V6FWD_UDP_H
#define V6FWD_UDP_H

#include <signal.h>

#include "addr.h"
#include "connection.h"

int	udp_run(const struct connection_opts *, int, const union sockaddr_any *,
	    const sigset_t *);

#endif
