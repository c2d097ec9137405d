/*
 * Taking the accepted connection.
 *
 * With Accept=yes systemd passes one connected socket as fd 3 and describes
 * it in LISTEN_PID and LISTEN_FDS, the protocol of sd_listen_fds(3). It is
 * read here without libsystemd (see log.c for the measured reason); the
 * semantics are the same: the variables count only if LISTEN_PID is ours,
 * they are unset so nothing we might start inherits them, and the fd is made
 * close-on-exec. inetd, xinetd and s6 hand the connection over as stdin
 * instead, with no variables.
 *
 * A wrong hand-over is a configuration mistake an administrator must be able
 * to fix from the message alone, so each case says what it found.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "activation.h"

#define LISTEN_FDS_START	3

static const char *
file_kind(mode_t mode)
{
	if (S_ISREG(mode))
		return "a regular file";
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISFIFO(mode))
		return "a pipe";
	return "not a socket";
}

/*
 * sd_listen_fds(3) with unset_environment=1: returns the number of fds
 * passed (0 when none), or -errno for malformed variables. The unit tests
 * hold it against libsystemd's own.
 */
int
activation_listen_fds(char *why, size_t size)
{
	const char *e_pid = getenv("LISTEN_PID"), *e_fds = getenv("LISTEN_FDS");
	char *end;
	long pid, n;
	int r = 0;

	if (!e_pid)
		goto out;
	errno = 0;
	pid = strtol(e_pid, &end, 10);
	if (errno || *end || end == e_pid || pid <= 0) {
		snprintf(why, size, "LISTEN_PID=%s is not a PID", e_pid);
		r = *end || end == e_pid ? -EINVAL : -ERANGE;
		goto out;
	}
	if ((pid_t)pid != getpid())
		goto out;	/* meant for another process */
	if (!e_fds)
		goto out;
	errno = 0;
	n = strtol(e_fds, &end, 10);
	if (errno || *end || end == e_fds || n <= 0 || n > 1024) {
		snprintf(why, size, "LISTEN_FDS=%s is not a count of fds", e_fds);
		r = -EINVAL;
		goto out;
	}
	r = (int)n;
out:
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return r;
}

/* Is fd one connected TCP stream? If not, says what it is. */
static int
check_socket(int fd, struct connection *c, char *why, size_t size)
{
	struct stat st;
	int v;
	socklen_t len;

	if (fstat(fd, &st) < 0) {
		snprintf(why, size, "fd %d is not open", fd);
		return -EBADF;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(why, size, "fd %d is %s, not a socket", fd,
		    file_kind(st.st_mode));
		return -ENOTSOCK;
	}
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 && v) {
		snprintf(why, size, "fd %d is a listening socket, not a "
		    "connection: the socket unit has Accept=no; set Accept=yes "
		    "in its [Socket] section", fd);
		return -EINVAL;
	}
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) < 0 ||
	    v != SOCK_STREAM) {
		snprintf(why, size, "fd %d is not a stream socket (a datagram "
		    "socket unit? v6fwd relays TCP only)", fd);
		return -EPROTOTYPE;
	}
	len = sizeof(c->local);
	if (getsockname(fd, &c->local.sa, &len) < 0 ||
	    (c->local.sa.sa_family != AF_INET6 &&
	    c->local.sa.sa_family != AF_INET)) {
		snprintf(why, size, "fd %d is not an IP socket (AF_UNIX? "
		    "v6fwd relays TCP only)", fd);
		return -EAFNOSUPPORT;
	}
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &len) < 0 ||
	    v != IPPROTO_TCP) {
		snprintf(why, size, "fd %d is not a TCP socket", fd);
		return -EPROTONOSUPPORT;
	}
	len = sizeof(c->peer);
	if (getpeername(fd, &c->peer.sa, &len) < 0) {
		snprintf(why, size, "fd %d is not connected (%s): the client "
		    "left before v6fwd started, or the socket was never "
		    "connected", fd, strerror(errno));
		return -ENOTCONN;
	}
	return 0;
}

/*
 * Takes the connection into c, non-blocking and close-on-exec. On failure
 * returns -errno and a message for the administrator in why.
 */
int
activation_take(struct connection *c, char *why, size_t size)
{
	struct stat st;
	int n, r, fl;

	memset(c, 0, sizeof(*c));
	n = activation_listen_fds(why, size);
	if (n < 0)
		return n;
	if (n == 1)
		c->fd = LISTEN_FDS_START;
	else if (n > 1) {
		snprintf(why, size, "systemd passed %d sockets, v6fwd takes "
		    "exactly one connection: the socket unit must have one "
		    "Listen line and Accept=yes", n);
		return -E2BIG;
	} else if (fstat(STDIN_FILENO, &st) == 0 && S_ISSOCK(st.st_mode)) {
		c->fd = STDIN_FILENO;
		c->inetd = 1;
	} else {
		snprintf(why, size, "no connection was passed: LISTEN_FDS is "
		    "not set and standard input is not a socket. v6fwd is "
		    "started per connection by a socket unit with Accept=yes "
		    "(systemctl enable --now v6fwd@PORT.socket), or by inetd");
		return -ENOTSOCK;
	}
	if ((r = check_socket(c->fd, c, why, size)) < 0)
		return r;

	/* Both systemd and systemd-socket-activate hand it over blocking. */
	fl = fcntl(c->fd, F_GETFL);
	if (fl < 0 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(c->fd, F_SETFD, FD_CLOEXEC) < 0) {
		r = -errno;
		snprintf(why, size, "cannot make fd %d non-blocking: %s",
		    c->fd, strerror(errno));
		return r;
	}
	return 0;
}
