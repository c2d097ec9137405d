/*
 * v6load: the backend and the clients of make bench, in one program.
 *
 *   v6load server ADDR             backend; prints its port, then serves
 *   v6load short ADDR PORT CONC MS short connections for MS milliseconds
 *   v6load up ADDR PORT MS         one stream client -> backend
 *   v6load down ADDR PORT MS       one stream backend -> client
 *   v6load hold ADDR PORT N SECS   holds N connections until stdin closes
 *   v6load spawn N PROG [ARG...]   runs PROG N times, one after the other
 *
 * The backend echoes what it reads until EOF, like cat(1), so that the
 * per-connection floor (cat run by systemd-socket-activate --inetd) and the
 * relays in front of this backend answer the client alike. Two first bytes
 * are commands instead: 'U' makes it a sink (read and discard until EOF),
 * 'D' followed by a 4-byte big-endian duration in milliseconds makes it a
 * source (write for that long, then close).
 *
 * Each client prints one line of "key=value" figures on stdout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MSG_SIZE	100		/* bytes each way per short connection */
#define CHUNK		(128 * 1024)	/* bulk write size, as iperf3's */
#define IO_TIMEOUT_S	10		/* a client never waits longer */
#define LAT_MAX		(1 << 20)	/* latencies kept per client thread */
#define CONC_MAX	256
#define HOLD_MAX	4096

static char chunk[CHUNK];

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
die(const char *what)
{
	fprintf(stderr, "v6load: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int
parse_addr(const char *host, unsigned port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
		return 0;
	}
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		*len = sizeof(*in);
		return 0;
	}
	fprintf(stderr, "v6load: '%s' is not an IP address\n", host);
	return -1;
}

/* ---- the backend ---- */

enum mode { M_NEW, M_ECHO, M_SINK, M_SOURCE };

struct conn {
	int		fd;
	enum mode	mode;
	unsigned char	hdr[5];
	size_t		hdrlen;
	char		buf[4096];	/* echo data not yet written back */
	size_t		off, len;
	uint64_t	deadline;	/* source: stop writing at */
};

static void
conn_free(int ep, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
}

static void
conn_want(int ep, struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Returns -1 when the connection is finished and freed. */
static int
conn_write_echo(int ep, struct conn *c)
{
	while (c->off < c->len) {
		ssize_t n = write(c->fd, c->buf + c->off, c->len - c->off);

		if (n < 0 && errno == EAGAIN) {
			conn_want(ep, c, EPOLLOUT);
			return 0;
		}
		if (n <= 0) {
			conn_free(ep, c);
			return -1;
		}
		c->off += (size_t)n;
	}
	c->off = c->len = 0;
	conn_want(ep, c, EPOLLIN);
	return 0;
}

static void
conn_source(int ep, struct conn *c)
{
	int i;

	for (i = 0; i < 64; i++) {
		ssize_t n;

		if (now_ns() >= c->deadline) {
			conn_free(ep, c);
			return;
		}
		n = write(c->fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			conn_free(ep, c);
			return;
		}
	}
}

static void
conn_read(int ep, struct conn *c)
{
	static char sink[256 * 1024];
	ssize_t n;

	if (c->mode == M_SINK) {
		do
			n = read(c->fd, sink, sizeof(sink));
		while (n == (ssize_t)sizeof(sink));
		if (n == 0 || (n < 0 && errno != EAGAIN))
			conn_free(ep, c);
		return;
	}
	n = read(c->fd, c->buf, sizeof(c->buf));
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		conn_free(ep, c);
		return;
	}
	if (c->mode == M_NEW) {
		if (c->buf[0] == 'U') {
			c->mode = M_SINK;
			return;
		}
		c->mode = c->buf[0] == 'D' ? M_SOURCE : M_ECHO;
	}
	if (c->mode == M_SOURCE) {
		size_t take = (size_t)n;

		if (take > sizeof(c->hdr) - c->hdrlen)
			take = sizeof(c->hdr) - c->hdrlen;
		memcpy(c->hdr + c->hdrlen, c->buf, take);
		c->hdrlen += take;
		if (c->hdrlen == sizeof(c->hdr)) {
			uint32_t ms = (uint32_t)c->hdr[1] << 24 |
			    (uint32_t)c->hdr[2] << 16 |
			    (uint32_t)c->hdr[3] << 8 | c->hdr[4];

			c->deadline = now_ns() + (uint64_t)ms * 1000000u;
			conn_want(ep, c, EPOLLOUT);
		}
		return;
	}
	c->off = 0;
	c->len = (size_t)n;
	conn_write_echo(ep, c);
}

static int
cmd_server(const char *host)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct epoll_event ev, evs[64];
	int lfd, ep, one = 1, i, n;

	if (parse_addr(host, 0, &ss, &len) < 0)
		return 2;
	lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (lfd < 0)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&ss, len) < 0 || listen(lfd, 4096) < 0)
		die("bind/listen");
	len = sizeof(ss);
	getsockname(lfd, (struct sockaddr *)&ss, &len);
	printf("port=%u\n", ntohs(((struct sockaddr_in *)&ss)->sin_port));
	fflush(stdout);

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		n = epoll_wait(ep, evs, 64, -1);
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (c == NULL) {
				int fd;

				while ((fd = accept4(lfd, NULL, NULL,
				    SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					c = calloc(1, sizeof(*c));
					if (c == NULL) {
						close(fd);
						continue;
					}
					c->fd = fd;
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY,
					    &one, sizeof(one));
					ev.events = EPOLLIN;
					ev.data.ptr = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				}
				continue;
			}
			if (c->mode == M_SOURCE && c->deadline)
				conn_source(ep, c);
			else if (c->len > 0)
				conn_write_echo(ep, c);
			else
				conn_read(ep, c);
		}
	}
}

/* ---- the clients ---- */

static struct sockaddr_storage target;
static socklen_t target_len;

/* A blocking connected socket with bounded waits, or -1. */
static int
dial(void)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	int fd, one = 1;

	fd = socket(target.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&target, target_len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads exactly len bytes; stores when the first arrived. 0 or -1. */
static int
read_full(int fd, char *buf, size_t len, uint64_t *first)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n <= 0)
			return -1;
		if (got == 0 && first)
			*first = now_ns();
		got += (size_t)n;
	}
	return 0;
}

static int
write_full(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

struct worker {
	pthread_t	 tid;
	uint64_t	 deadline;
	uint64_t	 done, errors;
	uint32_t	*lat;		/* connect -> first reply byte, ns */
	size_t		 nlat;
};

static pthread_barrier_t start_line;

/* connect, 100 bytes each way, close; again until the deadline. */
static void *
short_worker(void *arg)
{
	struct worker *w = arg;
	char msg[MSG_SIZE], reply[MSG_SIZE];

	memset(msg, 'x', sizeof(msg));
	msg[0] = 'E';
	pthread_barrier_wait(&start_line);
	while (now_ns() < w->deadline) {
		uint64_t t0 = now_ns(), t1 = 0;
		int fd = dial();

		if (fd < 0 || write_full(fd, msg, sizeof(msg)) < 0 ||
		    read_full(fd, reply, sizeof(reply), &t1) < 0) {
			w->errors++;
			if (fd >= 0)
				close(fd);
			else
				usleep(1000);	/* do not spin on a refusal */
			continue;
		}
		close(fd);
		w->done++;
		if (w->nlat < LAT_MAX) {
			uint64_t d = t1 - t0;

			w->lat[w->nlat++] = d > UINT32_MAX ? UINT32_MAX :
			    (uint32_t)d;
		}
	}
	return NULL;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
cmd_short(int conc, unsigned ms)
{
	struct worker w[CONC_MAX];
	uint64_t t0, done = 0, errors = 0;
	uint32_t *all;
	size_t nall = 0;
	int k;

	if (conc < 1 || conc > CONC_MAX)
		return 2;
	pthread_barrier_init(&start_line, NULL, (unsigned)conc + 1);
	t0 = now_ns();
	for (k = 0; k < conc; k++) {
		memset(&w[k], 0, sizeof(w[k]));
		w[k].deadline = t0 + (uint64_t)ms * 1000000u;
		w[k].lat = malloc(LAT_MAX * sizeof(uint32_t));
		if (w[k].lat == NULL)
			die("malloc");
		if (pthread_create(&w[k].tid, NULL, short_worker, &w[k]) != 0)
			die("pthread_create");
	}
	pthread_barrier_wait(&start_line);
	t0 = now_ns();
	for (k = 0; k < conc; k++) {
		pthread_join(w[k].tid, NULL);
		done += w[k].done;
		errors += w[k].errors;
	}
	t0 = now_ns() - t0;
	all = malloc((size_t)conc * LAT_MAX * sizeof(uint32_t));
	if (all == NULL)
		die("malloc");
	for (k = 0; k < conc; k++) {
		memcpy(all + nall, w[k].lat, w[k].nlat * sizeof(uint32_t));
		nall += w[k].nlat;
		free(w[k].lat);
	}
	qsort(all, nall, sizeof(*all), cmp_u32);
	printf("conns=%llu errors=%llu secs=%.3f rate=%.1f p50_us=%.1f "
	    "p99_us=%.1f\n", (unsigned long long)done,
	    (unsigned long long)errors, (double)t0 / 1e9,
	    (double)done * 1e9 / (double)t0,
	    nall ? all[nall / 2] / 1e3 : -1.0,
	    nall ? all[(size_t)((double)nall * 0.99)] / 1e3 : -1.0);
	free(all);
	return errors > done / 100 ? 1 : 0;
}

/* Throughput, and the CPU this client spent on it (user + system). */
static void
print_bulk(uint64_t bytes, uint64_t ns)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	printf("bytes=%llu secs=%.3f gbps=%.3f cpu=%.3f\n",
	    (unsigned long long)bytes, (double)ns / 1e9,
	    (double)bytes * 8 / (double)ns,
	    (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
}

/*
 * Writes for ms milliseconds, then closes. The bytes still buffered on the
 * way at the end (a few MB against GBs) are counted as moved.
 */
static int
cmd_up(unsigned ms)
{
	uint64_t t0, end, bytes = 0;
	int fd = dial();

	if (fd < 0)
		die("connect");
	chunk[0] = 'U';
	t0 = now_ns();
	end = t0 + (uint64_t)ms * 1000000u;
	while (now_ns() < end) {
		ssize_t n = write(fd, chunk, sizeof(chunk));

		if (n <= 0)
			die("write");
		bytes += (uint64_t)n;
	}
	print_bulk(bytes, now_ns() - t0);
	close(fd);
	return 0;
}

/* Asks for ms milliseconds of data and reads it until EOF. */
static int
cmd_down(unsigned ms)
{
	static char buf[256 * 1024];
	unsigned char req[5] = { 'D', (unsigned char)(ms >> 24),
	    (unsigned char)(ms >> 16), (unsigned char)(ms >> 8),
	    (unsigned char)ms };
	uint64_t t0, bytes = 0;
	ssize_t n;
	int fd = dial();

	if (fd < 0)
		die("connect");
	t0 = now_ns();
	if (write_full(fd, (const char *)req, sizeof(req)) < 0)
		die("write");
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		bytes += (uint64_t)n;
	if (n < 0)
		die("read");
	print_bulk(bytes, now_ns() - t0);
	close(fd);
	return 0;
}

/*
 * Opens n connections, each having exchanged 100 bytes each way (so each
 * relay has reached the backend), says so, and keeps them until stdin
 * closes or secs pass.
 */
static int
cmd_hold(int n, int secs)
{
	static int fds[HOLD_MAX];
	char msg[MSG_SIZE], reply[MSG_SIZE], line[16];
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	int i, ok = 0;

	if (n < 1 || n > HOLD_MAX)
		return 2;
	memset(msg, 'x', sizeof(msg));
	msg[0] = 'E';
	for (i = 0; i < n; i++) {
		fds[i] = dial();
		if (fds[i] < 0 || write_full(fds[i], msg, sizeof(msg)) < 0 ||
		    read_full(fds[i], reply, sizeof(reply), NULL) < 0)
			break;
		ok++;
	}
	printf("held=%d\n", ok);
	fflush(stdout);
	if (poll(&pfd, 1, secs * 1000) > 0)
		(void)read(STDIN_FILENO, line, sizeof(line));
	for (i = 0; i < ok; i++)
		close(fds[i]);
	return ok == n ? 0 : 1;
}

/* What one start of a program costs: its exec, loading and exit. */
static int
cmd_spawn(int n, char *argv[])
{
	extern char **environ;
	posix_spawn_file_actions_t fa;
	uint64_t t0;
	int i, status;
	pid_t pid;

	if (n < 1)
		return 2;
	/* What the program prints is not ours to print. */
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null",
	    O_WRONLY, 0);
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0)
			die("posix_spawn");
		if (waitpid(pid, &status, 0) < 0)
			die("waitpid");
	}
	printf("runs=%d us_per_run=%.1f\n", n,
	    (double)(now_ns() - t0) / 1e3 / n);
	posix_spawn_file_actions_destroy(&fa);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: v6load server ADDR\n"
	    "       v6load short ADDR PORT CONC MS\n"
	    "       v6load up|down ADDR PORT MS\n"
	    "       v6load hold ADDR PORT N SECS\n"
	    "       v6load spawn N PROG [ARG...]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	signal(SIGPIPE, SIG_IGN);
	memset(chunk, 'b', sizeof(chunk));
	if (argc == 3 && strcmp(argv[1], "server") == 0)
		return cmd_server(argv[2]);
	if (argc >= 4 && strcmp(argv[1], "spawn") == 0)
		return cmd_spawn(atoi(argv[2]), argv + 3);
	if (argc < 5 || parse_addr(argv[2], (unsigned)atoi(argv[3]), &target,
	    &target_len) < 0)
		usage();
	if (argc == 6 && strcmp(argv[1], "short") == 0)
		return cmd_short(atoi(argv[4]), (unsigned)atoi(argv[5]));
	if (argc == 5 && strcmp(argv[1], "up") == 0)
		return cmd_up((unsigned)atoi(argv[4]));
	if (argc == 5 && strcmp(argv[1], "down") == 0)
		return cmd_down((unsigned)atoi(argv[4]));
	if (argc == 6 && strcmp(argv[1], "hold") == 0)
		return cmd_hold(atoi(argv[4]), atoi(argv[5]));
	usage();
	return 2;
}
