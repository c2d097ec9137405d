/* Helpers with no better home; each is small and has no state of its own. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

static volatile sig_atomic_t got_signal;

uint64_t
now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

struct timespec
usec_to_timespec(uint64_t u)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(u / USEC_PER_SEC);
	ts.tv_nsec = (long)(u % USEC_PER_SEC) * 1000;
	return ts;
}

/*
 * "500ms", "30s", "5m", "1h", or a bare number of seconds. Returns 0 or
 * -EINVAL/-ERANGE; limited to a day so that nothing overflows later.
 */
int
parse_time(const char *s, uint64_t *ret)
{
	static const struct {
		const char	*suffix;
		uint64_t	 mult;
	} units[] = {
		{ "",	USEC_PER_SEC },
		{ "s",	USEC_PER_SEC },
		{ "ms",	USEC_PER_MSEC },
		{ "m",	60 * USEC_PER_SEC },
		{ "min", 60 * USEC_PER_SEC },
		{ "h",	3600 * USEC_PER_SEC },
	};
	uint64_t v = 0;
	size_t i;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > 86400 * 1000)
			return -ERANGE;
	}
	for (i = 0; i < ELEMENTSOF(units); i++)
		if (strcmp(s, units[i].suffix) == 0) {
			if (v * units[i].mult > 86400 * USEC_PER_SEC)
				return -ERANGE;
			*ret = v * units[i].mult;
			return 0;
		}
	return -EINVAL;
}

static void
on_signal(int sig)
{
	got_signal = sig;
}

/*
 * SIGTERM (systemctl stop), SIGINT and SIGHUP are blocked except inside
 * ppoll(), which atomically unblocks them with the mask returned here: so a
 * signal can only arrive while we wait, and can never be missed between a
 * check and the wait. SIGPIPE is ignored: a write to a reset peer must be an
 * EPIPE we can log, not a silent death.
 */
void
signals_setup(sigset_t *unblocked)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, unblocked);
	sigdelset(unblocked, SIGTERM);
	sigdelset(unblocked, SIGINT);
	sigdelset(unblocked, SIGHUP);
}

int
signal_received(void)
{
	return got_signal;
}

/*
 * A relay must not add Nagle's delay on top of the end hosts' own, so
 * TCP_NODELAY is always set. Keepalive is copied from the socket 'from' (the
 * client leg, configured by the socket unit's KeepAlive= settings), so that
 * both legs detect a vanished peer on the same schedule. Failures are
 * harmless and ignored: these are optimisations, not correctness.
 */
void
sock_tune(int fd, int from)
{
	static const int keep_opts[] = { TCP_KEEPIDLE, TCP_KEEPINTVL,
	    TCP_KEEPCNT, TCP_USER_TIMEOUT };
	int one = 1, v;
	socklen_t len = sizeof(v);
	size_t i;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (from < 0 || getsockopt(from, SOL_SOCKET, SO_KEEPALIVE, &v,
	    &len) < 0 || v == 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	for (i = 0; i < ELEMENTSOF(keep_opts); i++) {
		len = sizeof(v);
		if (getsockopt(from, IPPROTO_TCP, keep_opts[i], &v, &len) == 0)
			setsockopt(fd, IPPROTO_TCP, keep_opts[i], &v, sizeof(v));
	}
}

/*
 * Keepalive with the first probe after 'idle' of silence and three more a
 * third of that apart, so a vanished peer is found within twice 'idle';
 * TCP_USER_TIMEOUT bounds unacknowledged data by the same budget, which
 * keepalive alone does not. 0 leaves the socket as it is.
 */
void
sock_keepalive(int fd, uint64_t idle)
{
	int one = 1, secs, intvl, cnt = 3;
	unsigned ms;

	if (idle == 0)
		return;
	secs = (int)(idle / USEC_PER_SEC);
	intvl = secs / 3 > 0 ? secs / 3 : 1;
	ms = (unsigned)(2 * idle / USEC_PER_MSEC);
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &secs, sizeof(secs));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof(ms));
}

/* Closes with a RST instead of a FIN: the peer must not mistake it for EOF. */
void
sock_abort(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}
