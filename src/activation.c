/*
 * Taking the socket that was handed over.
 *
 * With Accept=yes systemd passes one connected socket as fd 3, described by
 * LISTEN_PID and LISTEN_FDS; sd_listen_fds(3) reads them, unsets them so
 * that nothing we might start inherits them, and makes the fd close-on-exec.
 * With Accept=no it passes the listening socket the same way, and v6fwd
 * serves it (server.c); a datagram socket (ListenDatagram=, where Accept=
 * does not apply) it relays (udp.c). inetd, xinetd and s6 hand the
 * connection over as stdin instead, with no variables (and a datagram
 * socket, for inetd's "dgram wait").
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
#include <systemd/sd-daemon.h>

#include "activation.h"

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
 * Is fd an IP socket of this type (SOCK_STREAM: TCP, SOCK_DGRAM: UDP)? Its
 * local address goes into c. Returns 0, or -errno having said why not.
 */
static int
check_ip(int fd, int type, struct connection *c, char *why, size_t size)
{
	const char *kind = type == SOCK_DGRAM ? "a datagram socket but " : "";
	int proto = type == SOCK_DGRAM ? IPPROTO_UDP : IPPROTO_TCP, v;
	socklen_t len = sizeof(v);

	if (sd_is_socket_inet(fd, AF_UNSPEC, type, -1, 0) <= 0) {
		snprintf(why, size, "fd %d is %snot an IP %s (AF_UNIX? v6fwd "
		    "relays TCP and UDP)", fd, kind, type == SOCK_DGRAM ?
		    "one" : "socket");
		return -EAFNOSUPPORT;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &len) < 0 ||
	    v != proto) {
		snprintf(why, size, "fd %d is %snot a %s socket", fd, kind,
		    proto == IPPROTO_UDP ? "UDP" : "TCP");
		return -EPROTONOSUPPORT;
	}
	len = sizeof(c->local);
	if (getsockname(fd, &c->local.sa, &len) < 0) {
		snprintf(why, size, "fd %d has no local address: %s", fd,
		    strerror(errno));
		return -ENOTCONN;
	}
	return 0;
}

/* A UDP socket, IPv6, bound and not connected: the UDP relay's. */
static int
check_datagram(int fd, struct connection *c, char *why, size_t size)
{
	union sockaddr_any peer;
	socklen_t len;
	int r;

	if ((r = check_ip(fd, SOCK_DGRAM, c, why, size)) < 0)
		return r;
	if (c->local.sa.sa_family != AF_INET6) {
		snprintf(why, size, "fd %d is an IPv4 UDP socket: v6fwd relays "
		    "IPv6 clients; ListenDatagram= takes a port or an [IPv6] "
		    "address", fd);
		return -EAFNOSUPPORT;
	}
	len = sizeof(peer);
	if (getpeername(fd, &peer.sa, &len) == 0) {
		snprintf(why, size, "fd %d is a connected UDP socket: v6fwd "
		    "takes the listening socket itself, bound to a port", fd);
		return -EISCONN;
	}
	return ACTIVATION_DATAGRAM;
}

/*
 * Is fd one connected TCP stream, a listening TCP socket, or a UDP socket?
 * Returns which (ACTIVATION_*), or -errno having said in why what it is
 * instead.
 */
static int
check_socket(int fd, struct connection *c, char *why, size_t size)
{
	struct stat st;
	socklen_t len;
	int r;

	if (fstat(fd, &st) < 0) {
		snprintf(why, size, "fd %d is not open", fd);
		return -EBADF;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(why, size, "fd %d is %s, not a socket", fd,
		    file_kind(st.st_mode));
		return -ENOTSOCK;
	}
	if (sd_is_socket(fd, AF_UNSPEC, SOCK_DGRAM, -1) > 0)
		return check_datagram(fd, c, why, size);
	if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, -1) <= 0) {
		snprintf(why, size, "fd %d is neither a stream nor a datagram "
		    "socket (v6fwd relays TCP and UDP)", fd);
		return -EPROTOTYPE;
	}
	if ((r = check_ip(fd, SOCK_STREAM, c, why, size)) < 0)
		return r;
	if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) > 0) {
		if (c->inetd) {
			snprintf(why, size, "standard input is a listening "
			    "socket: inetd must hand over the connection "
			    "(nowait), not the socket (wait)");
			return -EINVAL;
		}
		return ACTIVATION_LISTENER;
	}
	len = sizeof(c->peer);
	if (getpeername(fd, &c->peer.sa, &len) < 0) {
		snprintf(why, size, "fd %d is not connected (%s): the client "
		    "left before v6fwd started, or the socket was never "
		    "connected", fd, strerror(errno));
		return -ENOTCONN;
	}
	return ACTIVATION_CONNECTION;
}

/*
 * Takes the connection (or the listening or datagram socket) into c,
 * non-blocking and close-on-exec. Returns ACTIVATION_CONNECTION,
 * ACTIVATION_LISTENER or ACTIVATION_DATAGRAM; on failure -errno, and a
 * message for the administrator in why.
 */
int
activation_take(struct connection *c, char *why, size_t size)
{
	const char *e_pid = getenv("LISTEN_PID"), *e_fds = getenv("LISTEN_FDS");
	char pid[32], fds[32];
	struct stat st;
	int n, r, fl, kind;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	/* For the message: sd_listen_fds() unsets them. */
	snprintf(pid, sizeof(pid), "%s", e_pid ? e_pid : "(unset)");
	snprintf(fds, sizeof(fds), "%s", e_fds ? e_fds : "(unset)");
	n = sd_listen_fds(1);
	if (n == -EBADF) {
		snprintf(why, size, "LISTEN_FDS=%s, but fd %d is not open",
		    fds, SD_LISTEN_FDS_START);
		return n;
	}
	if (n < 0) {
		snprintf(why, size, "LISTEN_PID=%s LISTEN_FDS=%s: not a PID and "
		    "a count of fds (%s)", pid, fds, strerror(-n));
		return n;
	}
	if (n == 1)
		c->fd = SD_LISTEN_FDS_START;
	else if (n > 1) {
		snprintf(why, size, "systemd passed %d sockets, v6fwd takes "
		    "exactly one: the socket unit must have one Listen line", n);
		return -E2BIG;
	} else if (fstat(STDIN_FILENO, &st) == 0 && S_ISSOCK(st.st_mode)) {
		c->fd = STDIN_FILENO;
		c->inetd = true;
	} else {
		snprintf(why, size, "no connection was passed: LISTEN_FDS is "
		    "not set and standard input is not a socket. v6fwd is "
		    "started per connection by a socket unit with Accept=yes "
		    "(systemctl enable --now v6fwd@PORT.socket), or by inetd");
		return -ENOTSOCK;
	}
	if ((kind = check_socket(c->fd, c, why, size)) < 0)
		return kind;

	/* Both systemd and systemd-socket-activate hand it over blocking. */
	fl = fcntl(c->fd, F_GETFL);
	if (fl < 0 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(c->fd, F_SETFD, FD_CLOEXEC) < 0) {
		r = -errno;
		snprintf(why, size, "cannot make fd %d non-blocking: %s",
		    c->fd, strerror(errno));
		return r;
	}
	return kind;
}
