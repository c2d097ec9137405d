/*
 * Outcomes: what each is called in the record (V6FWD_END), how bad it is,
 * what the record says of it, and the exit status of a process that ended
 * with it. The names and statuses are an interface: v6fwd(8) lists them.
 */
#include <stddef.h>
#include <syslog.h>

#include "macro.h"
#include "outcome.h"

/* What each outcome is called, how bad it is, and what it says. */
static const struct {
	const char	*end;
	int		 priority;
	const char	*how;
} outcomes[] = {
	[OUTCOME_FIN]		= { "fin", LOG_INFO, NULL },
	[OUTCOME_RST]		= { "rst", LOG_INFO, NULL },
	[OUTCOME_IDLE]		= { "idle-timeout", LOG_INFO, NULL },
	[OUTCOME_TERMINATED]	= { "terminated", LOG_INFO,
	    "terminated by signal before relaying, client reset" },
	[OUTCOME_RELAY_ERROR]	= { "error", LOG_ERR, NULL },
	[OUTCOME_USAGE]		= { "usage", LOG_ERR,
	    "invalid command line, client reset" },
	[OUTCOME_CONFIG]	= { "config", LOG_ERR,
	    "invalid configuration, client reset" },
	[OUTCOME_UNRESOLVED]	= { "unresolved", LOG_ERR,
	    "target name not resolved, client reset" },
	[OUTCOME_REFUSED]	= { "refused", LOG_ERR,
	    "target refused the connection, client reset" },
	[OUTCOME_UNREACHABLE]	= { "unreachable", LOG_ERR,
	    "target unreachable, client reset" },
	[OUTCOME_TIMEOUT]	= { "timeout", LOG_ERR,
	    "target did not answer in time, client reset" },
	[OUTCOME_NO_SOURCE]	= { "no-source", LOG_ERR,
	    "no source address or port for the target, client reset" },
	[OUTCOME_PROXY_FAILED]	= { "proxy-failed", LOG_ERR,
	    "PROXY header not sent, both sides reset" },
};

/* The exit status of each: systemd marks an instance failed on any but 0. */
static const int exit_status[] = {
	[OUTCOME_FIN]		= EXIT_OK,
	[OUTCOME_RST]		= EXIT_OK,
	[OUTCOME_IDLE]		= EXIT_OK,
	[OUTCOME_TERMINATED]	= EXIT_OK,
	[OUTCOME_RELAY_ERROR]	= EXIT_RELAY,
	[OUTCOME_USAGE]		= EXIT_USAGE,
	[OUTCOME_CONFIG]	= EXIT_CONFIG,
	[OUTCOME_UNRESOLVED]	= EXIT_TARGET,
	[OUTCOME_REFUSED]	= EXIT_TARGET,
	[OUTCOME_UNREACHABLE]	= EXIT_TARGET,
	[OUTCOME_TIMEOUT]	= EXIT_TARGET,
	[OUTCOME_NO_SOURCE]	= EXIT_TARGET,
	[OUTCOME_PROXY_FAILED]	= EXIT_TARGET,
};

const char *
outcome_name(enum outcome o)
{
	return (unsigned)o < ELEMENTSOF(outcomes) ? outcomes[o].end : "error";
}

int
outcome_priority(enum outcome o)
{
	return (unsigned)o < ELEMENTSOF(outcomes) ? outcomes[o].priority :
	    LOG_ERR;
}

/* In words, for an outcome before the relay; NULL for the relay's own. */
const char *
outcome_text(enum outcome o)
{
	return (unsigned)o < ELEMENTSOF(outcomes) ? outcomes[o].how : NULL;
}

int
outcome_exit_status(enum outcome o)
{
	return (unsigned)o < ELEMENTSOF(exit_status) ? exit_status[o] :
	    EXIT_RELAY;
}
