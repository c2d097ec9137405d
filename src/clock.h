/* Time: the monotonic clock, and the durations of the settings. */
#ifndef V6FWD_CLOCK_H
#define V6FWD_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define USEC_PER_SEC	UINT64_C(1000000)
#define USEC_PER_MSEC	UINT64_C(1000)

uint64_t	clock_usec(void);
struct timespec	clock_timespec(uint64_t);
int		clock_parse_duration(const char *, uint64_t *);
const char	*clock_format_duration(uint64_t, char *, size_t);

#endif
