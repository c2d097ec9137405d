/*
 * Socket options. A relay must not add Nagle's delay on top of the end
 * hosts' own, and must find a vanished peer on both legs on the same
 * schedule; and where the connection did not end cleanly, each side must
 * get a reset, never a FIN it would take for a complete transfer.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "macro.h"
#include "sock.h"

/* An optimisation, not correctness: a failure is harmless. */
void
sock_nodelay(int fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/*
 * Urgent data inline, from before any byte can arrive: the byte at the
 * mark is then read as part of the stream (relay.c), and a second mark
 * arriving before the first was read does not make the kernel drop the
 * first byte. The relay cannot do without it; setsockopt() on a TCP
 * socket of ours does not fail.
 */
void
sock_urgent_inline(int fd)
{
	int one = 1;

	(void)setsockopt(fd, SOL_SOCKET, SO_OOBINLINE, &one, sizeof(one));
}

/*
 * Copies keepalive from the socket 'from' (the client leg, set up by the
 * socket unit's KeepAlive= settings) to 'to', so that both legs detect a
 * vanished peer alike. Values the kernel accepted on one socket it accepts
 * on the other, so failures are not expected and are ignored.
 */
void
sock_copy_keepalive(int from, int to)
{
	static const int opts[] = { TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT,
	    TCP_USER_TIMEOUT };
	int one = 1, v;
	socklen_t len = sizeof(v);
	size_t i;

	if (getsockopt(from, SOL_SOCKET, SO_KEEPALIVE, &v, &len) < 0 || !v)
		return;
	(void)setsockopt(to, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	for (i = 0; i < ELEMENTSOF(opts); i++) {
		len = sizeof(v);
		if (getsockopt(from, IPPROTO_TCP, opts[i], &v, &len) == 0)
			(void)setsockopt(to, IPPROTO_TCP, opts[i], &v,
			    sizeof(v));
	}
}

/*
 * Keepalive with the first probe after 'idle' of silence and three more a
 * third of that apart, so a vanished peer is found within twice 'idle';
 * TCP_USER_TIMEOUT bounds unacknowledged data by the same budget, which
 * keepalive alone does not. 'idle' is from 1 s to SOCK_KEEPALIVE_MAX_SEC
 * (config.c refuses more). Returns 0 or -errno: the caller says which leg.
 */
int
sock_set_keepalive(int fd, uint64_t idle)
{
	int one = 1, secs, intvl, cnt = 3;
	unsigned ms;

	secs = (int)(idle / USEC_PER_SEC);
	intvl = secs / 3 > 0 ? secs / 3 : 1;
	ms = (unsigned)(2 * idle / USEC_PER_MSEC);
	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &secs, sizeof(secs)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl,
	    sizeof(intvl)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof(ms)) < 0)
		return -errno;
	return 0;
}

/* Closes with a RST instead of a FIN: the peer must not mistake it for EOF. */
void
sock_reset(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	if (fd < 0)
		return;
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	(void)close(fd);
}
