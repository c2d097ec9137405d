/* How one connection ended: its record's V6FWD_END and the exit status. */
#ifndef V6FWD_OUTCOME_H
#define V6FWD_OUTCOME_H

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

#endif
