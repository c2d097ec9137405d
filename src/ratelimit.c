/*
 * Rate-limited messages. Anything a client can make happen again and again
 * (a datagram past a limit, an error it provokes) is said at most once per
 * RATELIMIT_INTERVAL; the next message that goes through says how many
 * were held back meanwhile, so that nothing is hidden, only summed up.
 */
#include <stdio.h>

#include "ratelimit.h"

/* Whether a message may be logged now (now in microseconds); else counted. */
bool
ratelimit_pass(struct ratelimit *rl, uint64_t now)
{
	if (rl->last && now - rl->last < RATELIMIT_INTERVAL) {
		rl->suppressed++;
		return false;
	}
	rl->last = now;
	return true;
}

/* " (and 12 more since the last message)" when some were held back. */
const char *
ratelimit_more(struct ratelimit *rl, char *buf, size_t size)
{
	buf[0] = '\0';
	if (rl->suppressed)
		snprintf(buf, size, " (and %u more since the last message)",
		    rl->suppressed);
	rl->suppressed = 0;
	return buf;
}
