/*
 * Outcomes: what each is called in the record (V6FWD_END), how bad it is,
 * what the record says of it, and the exit status of a process that ended
 * with it. The names and statuses are an interface: v6fwd(8) lists them.
 */
#include <stddef.h>
#include <stdio.h>
#include <syslog.h>

#include "macro.h"
#include "outcome.h"

/* V6FWD_END of each outcome, in the order of enum outcome. */
static const char *const names[] = {
	"fin", "rst", "idle-timeout", "terminated", "error", "usage", "config",
	"unresolved", "refused", "unreachable", "timeout", "no-source",
	"proxy-failed",
};
_Static_assert(ELEMENTSOF(names) == OUTCOME_PROXY_FAILED + 1,
    "a name for every outcome");

/* What the record says of the outcomes before the relay, from usage on. */
static const char *const texts[] = {
	"invalid command line", "invalid configuration",
	"target name not resolved", "target refused the connection",
	"target unreachable", "target did not answer in time",
	"no source address or port for the target",
	"PROXY header not sent, both sides reset",
};
_Static_assert(ELEMENTSOF(texts) == OUTCOME_PROXY_FAILED - OUTCOME_USAGE + 1,
    "a text for every outcome from usage on");

const char *
outcome_name(enum outcome o)
{
	return (unsigned)o < ELEMENTSOF(names) ? names[o] : "error";
}

/* The relay's outcomes are facts of life; the others are failures. */
int
outcome_priority(enum outcome o)
{
	return o <= OUTCOME_TERMINATED ? LOG_INFO : LOG_ERR;
}

/*
 * In words, for an outcome before the relay ("target unreachable, client
 * reset"); NULL for the relay's own, which relay_describe() tells.
 */
const char *
outcome_text(enum outcome o, char *buf, size_t size)
{
	if (o == OUTCOME_TERMINATED)
		return "terminated by signal before relaying, client reset";
	if (o < OUTCOME_USAGE || (unsigned)(o - OUTCOME_USAGE) >=
	    ELEMENTSOF(texts))
		return NULL;
	if (o == OUTCOME_PROXY_FAILED)
		return texts[o - OUTCOME_USAGE];
	snprintf(buf, size, "%s, client reset", texts[o - OUTCOME_USAGE]);
	return buf;
}

/* systemd marks an instance failed on any status but 0. */
int
outcome_exit_status(enum outcome o)
{
	switch (o) {
	case OUTCOME_FIN:
	case OUTCOME_RST:
	case OUTCOME_IDLE:
	case OUTCOME_TERMINATED:
		return EXIT_OK;
	case OUTCOME_USAGE:
		return EXIT_USAGE;
	case OUTCOME_CONFIG:
		return EXIT_CONFIG;
	case OUTCOME_RELAY_ERROR:
		return EXIT_RELAY;
	default:
		return EXIT_TARGET;	/* the target, or its PROXY header */
	}
}
