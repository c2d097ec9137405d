/* Logging: to the journal with structured fields, or to stderr. */
#ifndef V6FWD_LOG_H
#define V6FWD_LOG_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

#include "addr.h"

/* Strings of the record's context: a host name and port fits. */
#define LOG_TARGET_MAX	320

void	log_open(bool, const sigset_t *);
void	log_set_client(const union sockaddr_any *, const union sockaddr_any *);
void	log_set_target(const char *);
void	log_set_source(const union sockaddr_any *);
void	log_set_id(const char *);
void	log_set_sandbox(const char *);

/*
 * As systemd's: error is an errno value of either sign, or 0; the message
 * may use %m for its text. Returns -|error|, so that a failure can be
 * logged and returned in one statement.
 */
int	log_full_errno(int, int, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
#define log_error_errno(error, ...)	log_full_errno(LOG_ERR, (error), __VA_ARGS__)
#define log_warning_errno(error, ...)	log_full_errno(LOG_WARNING, (error), __VA_ARGS__)
#define log_error(...)		((void)log_full_errno(LOG_ERR, 0, __VA_ARGS__))
#define log_warning(...)	((void)log_full_errno(LOG_WARNING, 0, __VA_ARGS__))
#define log_notice(...)		((void)log_full_errno(LOG_NOTICE, 0, __VA_ARGS__))
#define log_info(...)		((void)log_full_errno(LOG_INFO, 0, __VA_ARGS__))

/* The one record each connection leaves, however it ended. */
struct log_record {
	const char	*end;		/* V6FWD_END: a word, see v6fwd(8) */
	int		 priority;
	const char	*how;		/* how it ended, in words */
	const char	*first;		/* V6FWD_FIRST: which side ended first */
	const char	*failed;	/* V6FWD_FAILED: which failed first */
	int		 error;		/* ERRNO, or 0 */
	const char	*then_failed;	/* V6FWD_THEN_FAILED: the other, after */
	int		 then_error;	/* V6FWD_THEN_ERRNO, or 0 */
	uint64_t	 from_client;	/* bytes delivered to the target */
	uint64_t	 from_target;	/* bytes delivered to the client */
	uint64_t	 undelivered;
	uint64_t	 duration;	/* microseconds */
};

void	log_connection(const struct log_record *);

/* The one record each UDP flow leaves when it ends (udp.c). */
struct log_flow {
	const char	*id;		/* V6FWD_ID */
	const union sockaddr_any *client, *local;
	const union sockaddr_any *source;	/* what the target sees, or NULL */
	const char	*target;
	const char	*end;		/* V6FWD_END: a word, see v6fwd(8) */
	const char	*how;		/* how it ended, in words */
	int		 priority;
	int		 error;		/* the last error of the flow, or 0 */
	uint64_t	 datagrams_from_client, datagrams_from_target;
	uint64_t	 from_client, from_target;	/* bytes delivered */
	uint64_t	 dropped_from_client, dropped_from_target;
	uint64_t	 target_errors;	/* ICMP errors from the target's side */
	uint64_t	 duration;	/* microseconds */
};

void	log_flow(const struct log_flow *);
void	log_set_budget(uint64_t);
void	log_flush(void);

#endif
