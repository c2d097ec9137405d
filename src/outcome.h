/* How one connection ended: its record's V6FWD_END and the exit status. */
#ifndef V6FWD_OUTCOME_H
#define V6FWD_OUTCOME_H

#include <stddef.h>

enum outcome {
	OUTCOME_FIN,		/* relayed; both directions ended with a FIN */
	OUTCOME_RST,		/* relayed; a side reset, the other got a RST */
	OUTCOME_IDLE,		/* relayed; reset after the idle timeout */
	OUTCOME_TERMINATED,	/* a termination signal ended it */
	OUTCOME_RELAY_ERROR,	/* the relay itself failed */
	OUTCOME_USAGE,		/* the command line is wrong */
	OUTCOME_CONFIG,		/* the configuration is invalid, or cannot apply */
	OUTCOME_UNRESOLVED,	/* the target's name gave no address */
	OUTCOME_REFUSED,	/* the target refused the connection */
	OUTCOME_UNREACHABLE,	/* no route, host down, or another failure */
	OUTCOME_TIMEOUT,	/* the target did not answer in time */
	OUTCOME_NO_SOURCE,	/* map-source: no usable source address or port */
	OUTCOME_PROXY_FAILED,	/* the PROXY header could not be sent */
};

/* Exit statuses, documented in v6fwd(8). */
enum {
	EXIT_OK		= 0,	/* relayed (however the peers ended it) */
	EXIT_RELAY	= 1,	/* the relay itself failed */
	EXIT_USAGE	= 2,	/* bad command line */
	EXIT_HANDOVER	= 3,	/* no usable connection was passed */
	EXIT_CONFIG	= 4,	/* the configuration is invalid */
	EXIT_TARGET	= 5,	/* the target could not be reached */
};

const char	*outcome_name(enum outcome);
int		 outcome_priority(enum outcome);
const char	*outcome_text(enum outcome, char *, size_t);
int		 outcome_exit_status(enum outcome);

#endif
