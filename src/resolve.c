/*
 * Name resolution. getaddrinfo() can take as long as resolv.conf's timeout
 * times its attempts times its servers, has no timeout of its own, and is
 * not interrupted by signals (the resolver retries its poll() on EINTR).
 * So it runs in a child process, which writes what it found to a pipe, and
 * we wait for that pipe like for anything else: in ppoll(), bounded by the
 * connect timeout, and open to SIGTERM. A child that has not answered in
 * time is killed. This also keeps the NSS modules, their files and their
 * memory out of the relay process, and no thread of the resolver's is left
 * running when the process confines itself (Landlock and seccomp filters
 * hold only for the thread that installs them).
 *
 * Only host names get here: literals never touch the resolver (target.c).
 * The fork costs about 0.2 ms, paid only by connections to a host name.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "clock.h"
#include "resolve.h"
#include "signals.h"

/* What the child writes, in one write of at most PIPE_BUF bytes. */
struct answer {
	int		gai;
	int		err;
	unsigned	count;
	struct in_addr	addr[RESOLVE_ADDRS_MAX];
};

static void
child(int fd, const char *host, pid_t parent)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct answer a;
	ssize_t n;

	/* Should we be killed, no resolver is left running for nobody. */
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	memset(&a, 0, sizeof(a));
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	a.gai = getaddrinfo(host, NULL, &hints, &res);
	a.err = a.gai == EAI_SYSTEM ? errno : 0;
	for (ai = a.gai == 0 ? res : NULL; ai && a.count < RESOLVE_ADDRS_MAX;
	    ai = ai->ai_next)
		if (ai->ai_family == AF_INET &&
		    ai->ai_addrlen == sizeof(struct sockaddr_in))
			a.addr[a.count++] =
			    ((const struct sockaddr_in *)ai->ai_addr)->sin_addr;
	n = write(fd, &a, sizeof(a));
	_exit(n == (ssize_t)sizeof(a) ? 0 : 1);
}

/*
 * Reads the child's answer within timeout. Returns 0, -ETIMEDOUT, -EINTR
 * (a termination signal), or -EIO if the child died without answering.
 */
static int
await(int fd, struct answer *a, uint64_t timeout, const sigset_t *waitmask)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint64_t deadline = clock_usec() + timeout;
	ssize_t n;

	for (;;) {
		uint64_t now = clock_usec();
		struct timespec ts;
		int r;

		if (now >= deadline)
			return -ETIMEDOUT;
		ts = clock_timespec(deadline - now);
		r = signals_ppoll(&pfd, 1, &ts, waitmask);
		if (r > 0)
			break;
		if (r < 0 && errno == EINTR && signals_terminated())
			return -EINTR;
	}
	n = read(fd, a, sizeof(*a));
	if (n != (ssize_t)sizeof(*a) || a->count > RESOLVE_ADDRS_MAX)
		return -EIO;
	return 0;
}

/*
 * Fills up to max IPv4 addresses of host, with port, in the resolver's
 * order. Returns how many (at least one), or -errno: -EHOSTUNREACH when
 * the name has no IPv4 address (err->gai says why), -ETIMEDOUT when no
 * answer came within timeout, -EINTR when a termination signal arrived,
 * another -errno when the resolver failed (EAI_SYSTEM) or could not run.
 */
int
resolve_host(const char *host, unsigned port, union sockaddr_any *out,
    size_t max, uint64_t timeout, const sigset_t *waitmask,
    struct resolve_error *err)
{
	struct answer a;
	int fds[2], r, status;
	unsigned i;
	pid_t pid, parent = getpid();

	memset(err, 0, sizeof(*err));
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		(void)close(fds[0]);
		(void)close(fds[1]);
		return r;
	}
	if (pid == 0) {
		(void)close(fds[0]);
		child(fds[1], host, parent);
	}
	(void)close(fds[1]);
	r = await(fds[0], &a, timeout, waitmask);
	(void)close(fds[0]);
	if (r < 0)
		(void)kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r < 0)
		return r;
	if (a.gai != 0) {
		err->gai = a.gai;
		err->err = a.err;
		return a.gai == EAI_SYSTEM && a.err ? -a.err : -EHOSTUNREACH;
	}
	for (i = 0; i < a.count && i < max; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].in.sin_family = AF_INET;
		out[i].in.sin_addr = a.addr[i];
		out[i].in.sin_port = htons(port);
	}
	if (i == 0) {
		err->gai = EAI_NONAME;
		return -EHOSTUNREACH;
	}
	return (int)i;
}
