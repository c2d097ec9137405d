/*
 * Time. Every timeout is measured on the monotonic clock, in microseconds,
 * so that a change of the wall clock can neither end a connection early nor
 * keep it forever.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "macro.h"

/* The longest duration any setting takes: a day, so nothing overflows. */
#define DURATION_MAX	(86400 * USEC_PER_SEC)

uint64_t
clock_usec(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

struct timespec
clock_timespec(uint64_t usec)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(usec / USEC_PER_SEC);
	ts.tv_nsec = (long)(usec % USEC_PER_SEC) * 1000;
	return ts;
}

/*
 * "500ms", "30s", "5m", "5min", "1h", or a bare number of seconds. Returns
 * 0, or -EINVAL (not a duration) or -ERANGE (longer than a day).
 */
int
clock_parse_duration(const char *s, uint64_t *ret)
{
	static const struct {
		const char	*suffix;
		uint64_t	 mult;
	} units[] = {
		{ "",	 USEC_PER_SEC },
		{ "s",	 USEC_PER_SEC },
		{ "ms",	 USEC_PER_MSEC },
		{ "m",	 60 * USEC_PER_SEC },
		{ "min", 60 * USEC_PER_SEC },
		{ "h",	 3600 * USEC_PER_SEC },
	};
	uint64_t v = 0;
	size_t i;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > DURATION_MAX / USEC_PER_MSEC)
			return -ERANGE;
	}
	for (i = 0; i < ELEMENTSOF(units); i++)
		if (strcmp(s, units[i].suffix) == 0) {
			if (v * units[i].mult > DURATION_MAX)
				return -ERANGE;
			*ret = v * units[i].mult;
			return 0;
		}
	return -EINVAL;
}

/* "30s" or "500ms": what clock_parse_duration() reads back. */
const char *
clock_format_duration(uint64_t usec, char *buf, size_t size)
{
	if (usec % USEC_PER_SEC == 0)
		snprintf(buf, size, "%" PRIu64 "s", usec / USEC_PER_SEC);
	else
		snprintf(buf, size, "%" PRIu64 "ms", usec / USEC_PER_MSEC);
	return buf;
}
