/* The served mode: one v6fwd accepts on the listening socket (Accept=no). */
#ifndef V6FWD_SERVER_H
#define V6FWD_SERVER_H

#include <signal.h>

#include "addr.h"
#include "connection.h"

int	server_run(const struct connection_opts *, int,
	    const union sockaddr_any *, const sigset_t *);

#endif
