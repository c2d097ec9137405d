/*
 * libFuzzer target for target_parse(), the TARGET of the command line and
 * of every configuration rule. Beyond not crashing, an accepted target must
 * be well-formed, and printing it with target_format() and parsing that
 * again must give the same target back.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "target.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct target t, again;
	const char *why = NULL;
	char in[1024], buf[320];
	unsigned char a[16];

	/* The parser takes C strings: an embedded NUL ends the input. */
	if (size >= sizeof(in))
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';

	if (target_parse(in, &t, &why) < 0) {
		if (!why || !*why)
			abort();	/* every refusal says why */
		return 0;
	}
	if (t.host[0] == '\0' || strlen(t.host) > TARGET_HOST_MAX ||
	    t.port > 65535)
		abort();
	if (t.family == AF_INET6) {
		if (inet_pton(AF_INET6, t.host, a) != 1)
			abort();
	} else if (t.family != AF_INET || strpbrk(t.host, ":[]/ \t"))
		abort();

	/* Round trip, with the port filled in as at connect time. */
	target_format(&t, t.port ? t.port : 2000, buf, sizeof(buf));
	if (target_parse(buf, &again, &why) < 0 ||
	    strcmp(again.host, t.host) != 0 || again.family != t.family ||
	    again.port != (t.port ? t.port : 2000))
		abort();
	return 0;
}
