/* Logging: to the journal with structured fields, or to stderr. */
#ifndef V6FWD_LOG_H
#define V6FWD_LOG_H

#include <syslog.h>

#include "addr.h"
#include "relay.h"

void	log_open(int);
void	log_set_client(const union sockaddr_any *, const union sockaddr_any *);
void	log_set_target(const char *);
void	log_set_sandbox(const char *);
void	log_set_source(const union sockaddr_any *);
void	log_set_id(const char *);
int	log_errno(int, int, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	log_connection(const struct relay_result *, uint64_t);

#endif
