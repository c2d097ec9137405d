/*
 * libFuzzer target for the configuration file. The input is written to a
 * memfd and read back through /proc/self/fd/N, so config_lookup() and
 * config_check() run exactly as in production, open() and read() included.
 * Beyond not crashing: both must agree on whether the file is valid, and a
 * rule found must hold values the rest of v6fwd can trust.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "clock.h"
#include "macro.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int memfd = -1;
static char path[64];
static FILE *devnull;

static void
local(union sockaddr_any *a, int family, const char *addr, unsigned port)
{
	memset(a, 0, sizeof(*a));
	a->sa.sa_family = (sa_family_t)family;
	if (family == AF_INET6) {
		inet_pton(AF_INET6, addr, &a->in6.sin6_addr);
		a->in6.sin6_port = htons(port);
	} else {
		inet_pton(AF_INET, addr, &a->in.sin_addr);
		a->in.sin_port = htons(port);
	}
}

static void
check_settings(const struct settings *s)
{
	if ((s->set & SET_TARGET) && (s->target.host[0] == '\0' ||
	    strlen(s->target.host) > TARGET_HOST_MAX || s->target.port > 65535))
		abort();
	if (s->connect_timeout > 86400 * USEC_PER_SEC ||
	    s->idle_timeout > 86400 * USEC_PER_SEC ||
	    s->keepalive > 86400 * USEC_PER_SEC)
		abort();
	if (s->proxy_protocol < 0 || s->proxy_protocol > 2 ||
	    s->map_source > 128)
		abort();
	if (s->map_pool.prefix != 0 && (s->map_pool.prefix < 8 ||
	    s->map_pool.prefix > 30))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct {
		int		 family;
		const char	*addr;
		unsigned	 port;
	} locals[] = {
		{ AF_INET6, "::1", 2000 },
		{ AF_INET6, "2001:db8::1", 8443 },
		{ AF_INET, "127.0.0.1", 80 },
	};
	union sockaddr_any l;
	struct settings s;
	char why[512];
	size_t i;
	int checked, r;

	if (memfd < 0) {
		if ((memfd = memfd_create("v6fwd-fuzz.conf", 0)) < 0 ||
		    !(devnull = fopen("/dev/null", "w")))
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	}
	if (ftruncate(memfd, 0) < 0 || pwrite(memfd, data, size, 0) !=
	    (ssize_t)size)
		abort();

	checked = config_check(path, devnull);
	if (checked < 0)
		abort();	/* the file exists and is readable */
	for (i = 0; i < sizeof(locals) / sizeof(locals[0]); i++) {
		local(&l, locals[i].family, locals[i].addr, locals[i].port);
		memset(&s, 0, sizeof(s));
		why[0] = '\0';
		r = config_lookup(path, 1, &l, &s, why, sizeof(why));
		if (checked > 0) {
			/* Any bad line invalidates the whole file. */
			if (r != -EINVAL || strncmp(why, path,
			    strlen(path)) != 0)
				abort();
		} else if (r < 0)
			abort();
		else if (r == 1)
			check_settings(&s);
	}
	return 0;
}
