/*
 * libFuzzer target for clock_parse_duration(), every TIME option. The result is
 * checked against an independent reading of the same grammar: decimal
 * digits, then one of "", s, ms, m, min, h; at most 24 hours.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "macro.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Returns 0 and the value in microseconds, or -1: no overflow possible. */
static int
reference(const char *s, uint64_t *ret)
{
	static const struct {
		const char	*suffix;
		uint64_t	 mult;
	} units[] = {
		{ "", 1000000 }, { "s", 1000000 }, { "ms", 1000 },
		{ "m", 60000000 }, { "min", 60000000 }, { "h", 3600000000 },
	};
	const uint64_t day = UINT64_C(86400000000);
	unsigned __int128 v = 0;
	size_t i, digits = 0;

	for (; *s >= '0' && *s <= '9'; s++, digits++)
		if (v <= day)	/* past that it is out of range anyway */
			v = v * 10 + (unsigned)(*s - '0');
	if (digits == 0)
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(s, units[i].suffix) == 0) {
			v *= units[i].mult;
			if (v > day)
				return -1;
			*ret = (uint64_t)v;
			return 0;
		}
	return -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[64];
	uint64_t got = UINT64_MAX, want = 0;
	int r, ref;

	if (size >= sizeof(in))
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';

	r = clock_parse_duration(in, &got);
	ref = reference(in, &want);
	if ((r == 0) != (ref == 0))
		abort();
	if (r == 0 && got != want)
		abort();
	if (r < 0 && r != -EINVAL && r != -ERANGE)
		abort();
	return 0;
}
