/*
 * udpload: the UDP benchmark's backend and client (bench/udp.py).
 *
 *   udpload echo HOST                  an echo service on HOST, port 0;
 *       prints "port=N", then echoes every datagram to its sender
 *       (recvmmsg/sendmmsg), until killed
 *   udpload flood HOST PORT FLOWS SIZE WINDOW MS
 *       FLOWS clients, each its own connected socket (so its own flow
 *       through a relay), each keeping WINDOW datagrams of SIZE bytes in
 *       flight for MS milliseconds: every echo that comes back is
 *       checked (its flow, its length) and answered by the next. A flow
 *       with nothing back for 200 ms counts its window lost and sends a
 *       new one. Prints "datagrams=N bytes=N lost=N bad=N rate=R
 *       gbps=G cpu=S": datagrams echoed (each crossed the relay twice),
 *       payload bytes one way, datagrams per second each way, Gbit/s of
 *       payload each way, the client's CPU seconds.
 *
 * Built by bench/run in a temporary directory; never installed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH		64
#define MAX_SIZE	65536
#define STALL_NS	200000000LL

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int
resolve(const char *host, const char *port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM,
	    .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV }, *ai;

	if (getaddrinfo(host, port, &hints, &ai) != 0)
		return -1;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static void
bigbuf(int fd)
{
	int v = 4 << 20;

	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v));
}

static int
echo(const char *host)
{
	static char bufs[BATCH][MAX_SIZE];
	struct sockaddr_storage ss, peers[BATCH];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	socklen_t len;
	int fd, n, i, k, r;

	if (resolve(host, "0", &ss, &len) < 0)
		return 2;
	fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	bigbuf(fd);
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0) {
		perror("udpload echo: bind");
		return 2;
	}
	len = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &len);
	printf("port=%u\n", ntohs(ss.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port));
	fflush(stdout);
	for (;;) {
		for (i = 0; i < BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = MAX_SIZE;
			memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
			msgs[i].msg_hdr.msg_name = &peers[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(peers[i]);
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
		if (n <= 0)
			continue;
		for (i = 0; i < n; i++)
			iov[i].iov_len = msgs[i].msg_len;
		for (k = 0; k < n; k += r > 0 ? r : 1)
			r = sendmmsg(fd, msgs + k, (unsigned)(n - k), 0);
	}
}

struct flow {
	int		fd;
	unsigned	id;
	int		inflight;
	long long	last;		/* when one last came back, or was sent */
};

static int
flood(int argc, char *argv[])
{
	static char out[MAX_SIZE], in[BATCH][MAX_SIZE];
	struct sockaddr_storage ss;
	struct epoll_event ev, evs[256];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct rusage ru;
	struct flow *flows;
	socklen_t len;
	unsigned nflows, size, window;
	long long end, t0, t, datagrams = 0, lost = 0, bad = 0;
	int ep, i, j, n, m;

	if (argc < 8)
		return 2;
	if (resolve(argv[2], argv[3], &ss, &len) < 0)
		return 2;
	nflows = (unsigned)atoi(argv[4]);
	size = (unsigned)atoi(argv[5]);
	window = (unsigned)atoi(argv[6]);
	if (size < 4 || size > MAX_SIZE || window > BATCH || nflows == 0)
		return 2;
	flows = calloc(nflows, sizeof(*flows));
	ep = epoll_create1(0);
	memset(out, 'u', size);
	t0 = now_ns();
	for (i = 0; i < (int)nflows; i++) {
		flows[i].fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		bigbuf(flows[i].fd);
		if (connect(flows[i].fd, (struct sockaddr *)&ss, len) < 0) {
			perror("udpload flood: connect");
			return 2;
		}
		flows[i].id = (unsigned)i;
		ev.events = EPOLLIN;
		ev.data.ptr = &flows[i];
		epoll_ctl(ep, EPOLL_CTL_ADD, flows[i].fd, &ev);
	}
	end = t0 + atoll(argv[7]) * 1000000LL;
	/* Each flow's first window, then one more for each that comes back. */
	for (i = 0; i < (int)nflows; i++) {
		memcpy(out, &flows[i].id, 4);
		for (j = 0; j < (int)window; j++)
			if (send(flows[i].fd, out, size, 0) == (ssize_t)size)
				flows[i].inflight++;
		flows[i].last = t0;
	}
	while ((t = now_ns()) < end) {
		n = epoll_wait(ep, evs, 256, 50);
		for (i = 0; i < n; i++) {
			struct flow *f = evs[i].data.ptr;

			for (j = 0; j < BATCH; j++) {
				iov[j].iov_base = in[j];
				iov[j].iov_len = MAX_SIZE;
				memset(&msgs[j].msg_hdr, 0, sizeof(msgs[j].msg_hdr));
				msgs[j].msg_hdr.msg_iov = &iov[j];
				msgs[j].msg_hdr.msg_iovlen = 1;
			}
			m = recvmmsg(f->fd, msgs, BATCH, MSG_DONTWAIT, NULL);
			if (m <= 0)
				continue;
			for (j = 0; j < m; j++) {
				if (msgs[j].msg_len != size ||
				    memcmp(in[j], &f->id, 4) != 0)
					bad++;
				else
					datagrams++;
				f->inflight--;
			}
			f->last = t;
			memcpy(out, &f->id, 4);
			for (j = 0; j < BATCH && f->inflight < (int)window; j++)
				if (send(f->fd, out, size, 0) == (ssize_t)size)
					f->inflight++;
				else
					break;
		}
		for (i = 0; i < (int)nflows; i++) {
			struct flow *f = &flows[i];

			if (t - f->last < STALL_NS)
				continue;
			lost += f->inflight;
			f->inflight = 0;
			memcpy(out, &f->id, 4);
			for (j = 0; j < (int)window; j++)
				if (send(f->fd, out, size, 0) == (ssize_t)size)
					f->inflight++;
			f->last = t;
		}
	}
	t = now_ns() - t0;
	getrusage(RUSAGE_SELF, &ru);
	printf("datagrams=%lld bytes=%lld lost=%lld bad=%lld rate=%.0f "
	    "gbps=%.3f cpu=%.3f\n", datagrams, datagrams * size, lost, bad,
	    datagrams * 1e9 / (double)t,
	    datagrams * (double)size * 8 / (double)t,
	    ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	return 0;
}

int
main(int argc, char *argv[])
{
	if (argc >= 3 && strcmp(argv[1], "echo") == 0)
		return echo(argv[2]);
	if (argc >= 2 && strcmp(argv[1], "flood") == 0)
		return flood(argc, argv);
	fprintf(stderr, "usage: udpload echo HOST | flood HOST PORT FLOWS "
	    "SIZE WINDOW MS\n");
	return 2;
}
