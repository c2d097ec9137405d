/* One connection, from the hand-over to its record: the steps of both modes. */
#ifndef V6FWD_CONNECTION_H
#define V6FWD_CONNECTION_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "activation.h"
#include "config.h"
#include "outcome.h"

/* What the command line says for every connection. */
struct connection_opts {
	struct settings	 cli;		/* settings given as options */
	const char	*config;	/* the file of per-port rules */
	bool		 config_given;	/* -f: then the file must exist */
};

int		connection_settings(const struct connection_opts *,
		    const union sockaddr_any *, struct settings *);
enum outcome	connection_run(const struct connection_opts *,
		    struct connection *, const sigset_t *, uint64_t);
enum outcome	connection_refuse(struct connection *, enum outcome,
		    uint64_t);
void		connection_reset(struct connection *);

#endif
