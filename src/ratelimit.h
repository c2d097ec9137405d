/* Messages a remote party can trigger: at most one a second, with a count. */
#ifndef V6FWD_RATELIMIT_H
#define V6FWD_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_INTERVAL	UINT64_C(1000000)	/* microseconds */

struct ratelimit {
	uint64_t	last;		/* when one was last let through */
	unsigned	suppressed;	/* since then */
};

bool		ratelimit_pass(struct ratelimit *, uint64_t);
const char	*ratelimit_more(struct ratelimit *, char *, size_t);

#endif
