/*
 * The relay: moves bytes between the client and the target with splice(2)
 * through one pipe per direction, so the data never enters user space.
 *
 * One direction is a 'struct half'; the relay holds two and treats them
 * alike. An EOF read from one side is passed on as shutdown(SHUT_WR) to the
 * other once that direction's pipe is empty, and the other direction keeps
 * flowing: nothing ends a half-closed connection but its own EOF. A reset
 * on one side is passed on as a reset (SO_LINGER 0), after what that side
 * sent before resetting has been delivered, so a truncated transfer never
 * looks complete. "Delivered" means acknowledged by the peer: an abortive
 * close discards what is still in the socket's send queue, so the relay
 * waits for it to drain first (relay_drain()), and the record counts what
 * the peers acknowledged, not what the relay wrote. Urgent data (MSG_OOB)
 * is relayed inline, as an ordinary byte in its place in the stream. The
 * relay speaks no protocol: it only moves bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "relay.h"
#include "signals.h"
#include "sock.h"

/* Large enough for any pipe; the kernel moves at most what the pipe holds. */
#define SPLICE_MAX	(1U << 30)

/* Bounds the work on one direction per wake-up, so the other is not starved. */
#define PUMP_ROUNDS	16

/*
 * Waiting for acknowledgements (relay_drain()) has no readiness event to
 * wait for, so the send queues are looked at after a wait that doubles
 * from the first to the last of these, and stays there: a handful of
 * wake-ups, then ten a second at most.
 */
#define DRAIN_TICK_FIRST	(1 * USEC_PER_MSEC)
#define DRAIN_TICK_LAST		(100 * USEC_PER_MSEC)

struct half {
	int		from;		/* side read from */
	int		to;		/* side written to */
	int		pipe[2];
	size_t		queued;		/* bytes in the pipe */
	uint64_t	moved;		/* bytes written to 'to' */
	bool		eof;		/* nothing more will be read */
	bool		full;		/* the pipe is full: read no more yet */
	bool		shut;		/* EOF passed on to 'to' */
	bool		fin;		/* ... and a FIN queued there */
	bool		stopped;	/* 'to' is gone: this half is abandoned */
	bool		grown;		/* the pipe was grown once */
	bool		urgent;		/* urgent data waits in 'from' */
};

struct relay {
	int		fd[2];		/* by side */
	struct half	half[2];	/* by the side each reads from */
	int		dead[2];	/* errno that killed a side, or 0 */
	bool		hup[2];		/* poll said HUP with no error */
	int		first;		/* side that ended first (EOF or death) */
	int		failed;		/* side that died first, or -1 */
	int		pipe_grow;	/* bytes a full pipe grows to, 0: never */
};

const char *
relay_side_name(int side)
{
	return side == SIDE_CLIENT ? "client" : "target";
}

/*
 * How it ended, in words: "client closed first (FIN)". When a side reset
 * or failed, that is the cause, told first, after the FIN of the other
 * side if that came before it; a failure of the other side after it is
 * what followed: "target reset the connection (Connection reset by peer),
 * then the client too (Broken pipe)".
 */
const char *
relay_describe(const struct relay_result *res, char *buf, size_t size)
{
	const char *first = res->first >= 0 ? relay_side_name(res->first) :
	    "neither side";
	char cause[224] = "";
	size_t n = 0;

	if (res->error_side >= 0) {
		if (res->first >= 0 && res->first != res->error_side)
			n = (size_t)snprintf(cause, sizeof(cause),
			    "%s closed first (FIN), then ", first);
		n += (size_t)snprintf(cause + n, sizeof(cause) - n,
		    res->end == RELAY_ERROR ? "relay failed at the %s (%s)" :
		    "%s reset the connection (%s)",
		    relay_side_name(res->error_side), strerror(res->error));
		if (res->then_error && n < sizeof(cause))
			snprintf(cause + n, sizeof(cause) - n,
			    ", then the %s too (%s)",
			    relay_side_name(!res->error_side),
			    strerror(res->then_error));
	}
	switch (res->end) {
	case RELAY_FIN:
		snprintf(buf, size, "%s closed first (FIN)", first);
		break;
	case RELAY_RESET:
		snprintf(buf, size, "%s%s", cause, res->then_error ? "" :
		    ", RST passed on");
		break;
	case RELAY_IDLE:
		snprintf(buf, size, "%s%sidle timeout, both sides reset", cause,
		    cause[0] ? ", then " : "");
		break;
	case RELAY_SIGNAL:
		snprintf(buf, size, "%s%sterminated by signal, both sides "
		    "reset", cause, cause[0] ? ", then " : "");
		break;
	case RELAY_ERROR:
		if (cause[0])
			snprintf(buf, size, "%s, both sides reset", cause);
		else
			snprintf(buf, size, "relay failed (%s), both sides reset",
			    strerror(res->error ? res->error : EIO));
		break;
	}
	return buf;
}

static bool
is_peer_error(int err)
{
	switch (err) {
	case ECONNRESET:
	case EPIPE:
	case ETIMEDOUT:
	case ECONNABORTED:
	case EHOSTUNREACH:
	case ENETUNREACH:
	case ENETDOWN:
	case EHOSTDOWN:
		return true;
	default:
		return false;
	}
}

/*
 * Has the socket anything for us: bytes, or the EOF (or reset) that ends
 * them (POLLIN), and is urgent data among them (POLLPRI)? FIONREAD would
 * not do: it counts bytes only, and a FIN alone behind a full pipe is just
 * as readable to poll(). ppoll(), not poll(): the seccomp allow-list
 * (sandbox.c) has only the one the relay waits in.
 */
static short
sock_poll(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLPRI };
	const struct timespec zero = { 0, 0 };

	return ppoll(&pfd, 1, &zero, NULL) > 0 ? pfd.revents : 0;
}

static bool
sock_readable(int fd)
{
	return sock_poll(fd) & POLLIN;
}

/* SIOCOUTQ (unacknowledged and unsent) or SIOCINQ (unread); 0 if unknown. */
static uint64_t
sock_queue(int fd, unsigned long req)
{
	int n = 0;

	if (ioctl(fd, req, &n) < 0 || n < 0)
		return 0;
	return (uint64_t)n;
}

static void
side_died(struct relay *r, int side, int err)
{
	if (r->dead[side])
		return;
	r->dead[side] = err;
	if (r->first < 0)
		r->first = side;
	if (r->failed < 0)
		r->failed = side;
	/* What the other side sends can no longer be delivered. */
	r->half[!side].stopped = true;
	/*
	 * What the dead side sent before it died may still be queued in its
	 * socket: the half reading it goes on until it reads the end.
	 */
	r->half[side].full = false;
}

/*
 * The pipe is full and the socket has more. The first time, the pipe is
 * grown to r->pipe_grow: a bulk transfer then needs a third to a fifth of
 * the splice calls (bench/PROFILE.md), while short connections, which never
 * fill a pipe, keep the default and leave the budget of pipe pages that all
 * instances share (fs.pipe-user-pages-soft) alone. Past that budget the
 * kernel refuses with EPERM, which is fine: the pipe stays as it was.
 * Returns true when the pipe has room again.
 */
static bool
half_full(struct relay *r, struct half *h)
{
	if (!h->grown && r->pipe_grow > 0) {
		h->grown = true;
		if (fcntl(h->pipe[1], F_SETPIPE_SZ, r->pipe_grow) > 0 &&
		    sock_readable(r->fd[h->from]))
			return true;
	}
	h->full = true;
	return false;
}

/*
 * Urgent data (send() with MSG_OOB: telnet's Synch, FTP's ABOR) leaves a
 * mark in the stream that splice() does not cross, with or without
 * SO_OOBINLINE: there it says EAGAIN (0, as at the end, if a FIN follows)
 * while poll() reports the socket readable, so a relay that only splices
 * spins at the mark and takes the FIN behind it for the end of a stream
 * it cut short. Only recv() goes past the mark, so the one byte there is
 * read in user space and written into the pipe in its place; splice()
 * then goes on. It is read inline: both sockets have SO_OOBINLINE (see
 * sock_urgent_inline(), set before any byte can arrive), which
 * recv() heeds at the time of reading (and the kernel when a second mark
 * arrives before the first byte was read: without it, that byte would be
 * dropped). The byte is peeked, and consumed only once the pipe took it,
 * so a full pipe loses nothing. It is passed on as an ordinary byte, not
 * as urgent data again.
 * Returns 1 when the byte moved, 0 when the socket is not at a mark (or
 * the byte has not arrived), -EAGAIN when the pipe is full, or -errno.
 */
static int
half_urgent(struct relay *r, struct half *h)
{
	int fd = r->fd[h->from], at = 0;
	unsigned char c;
	ssize_t n;

	if (ioctl(fd, SIOCATMARK, &at) < 0)
		return -errno;
	if (!at)
		return 0;
	n = recvfrom(fd, &c, 1, MSG_PEEK, NULL, NULL);
	if (n <= 0)
		return n == 0 || errno == EAGAIN ? 0 : -errno;
	if (write(h->pipe[1], &c, 1) != 1)
		return -errno;
	h->queued++;
	h->urgent = false;
	if (recvfrom(fd, &c, 1, 0, NULL, NULL) != 1)
		return errno == EAGAIN ? -EIO : -errno;
	return 1;
}

/*
 * splice() from the socket moved nothing: it said 0 ('zero') or EAGAIN.
 * That is the end of the stream, an empty socket, a full pipe, or the
 * urgent mark; a 0 is always checked for the mark, an EAGAIN only once
 * poll() has said urgent data is there. Returns true when it moved a byte
 * or made room in the pipe.
 */
static bool
half_stuck(struct relay *r, struct half *h, bool zero)
{
	int m = 0;
	short ev;

	if (zero || h->urgent)
		m = half_urgent(r, h);
	if (m > 0)
		return true;
	if (m == -EAGAIN)
		return half_full(r, h);
	if (m < 0) {
		side_died(r, h->from, -m);
		h->eof = true;
		return false;
	}
	if (zero) {
		h->eof = true;
		if (r->first < 0)
			r->first = h->from;
		return false;
	}
	/*
	 * Either the socket is empty or the pipe is full; only the latter
	 * may stop us polling for input, or poll would spin. The pipe is
	 * full when the socket is readable: it holds bytes, or only the EOF
	 * (the last bytes filled the pipe's last slot), which poll reports
	 * at once on every call. Unless it is readable because of a mark
	 * not yet seen.
	 */
	if (h->queued == 0)
		return false;
	ev = sock_poll(r->fd[h->from]);
	if ((ev & POLLPRI) && !h->urgent) {
		h->urgent = true;
		return half_stuck(r, h, false);
	}
	return (ev & POLLIN) && half_full(r, h);
}

/*
 * Moves what can be moved now in one direction without blocking. Returns
 * true when any byte moved. Errors are recorded against the side they
 * happened on; the caller decides what follows.
 */
static bool
half_pump(struct relay *r, struct half *h)
{
	bool moved = false;
	ssize_t n;
	int i;

	if (h->stopped)
		return false;
	for (i = 0; i < PUMP_ROUNDS; i++) {
		bool progress = false;

		if (!h->eof && !h->full) {
			n = splice(r->fd[h->from], NULL, h->pipe[1], NULL,
			    SPLICE_MAX, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				h->queued += (size_t)n;
				progress = true;
			} else if (n == 0 || errno == EAGAIN) {
				progress |= half_stuck(r, h, n == 0);
			} else if (errno != EINTR) {
				side_died(r, h->from, errno);
				h->eof = true;
			}
		}
		if (h->queued > 0) {
			n = splice(h->pipe[0], NULL, r->fd[h->to], NULL,
			    h->queued, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				h->queued -= (size_t)n;
				h->moved += (uint64_t)n;
				h->full = false;
				progress = true;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				side_died(r, h->to, errno);
				return moved;
			}
		}
		moved |= progress;
		if (!progress)
			break;
	}
	/* Pass EOF on, unless the side it came from died: that is a reset. */
	if (h->eof && h->queued == 0 && !h->shut && !r->dead[h->from]) {
		if (shutdown(r->fd[h->to], SHUT_WR) == 0)
			h->fin = true;
		else if (errno != ENOTCONN)
			side_died(r, h->to, errno);
		h->shut = true;
	}
	return moved;
}

/* What to wait for on each side; a side with nothing to wait for gets -1. */
static void
relay_poll_set(const struct relay *r, struct pollfd pfd[2])
{
	int s;

	for (s = 0; s < 2; s++) {
		const struct half *rd = &r->half[s], *wr = &r->half[!s];
		short ev = 0;
		bool watch;

		if (!rd->eof && !rd->full && !rd->stopped) {
			ev |= POLLIN;
			/*
			 * Urgent data, see half_urgent(). Asked for until
			 * seen: poll() reports it while it waits, and when
			 * a gap in the stream holds back the bytes before
			 * it, that would be on every call.
			 */
			if (!rd->urgent)
				ev |= POLLPRI;
		}
		if (wr->queued > 0 && !wr->stopped)
			ev |= POLLOUT;
		/*
		 * With nothing to do on a side we still watch it for a reset,
		 * even with its pipe full: a reset behind bytes the relay
		 * cannot take yet is still the first thing that happened, and
		 * the record must say so. Not once it is finished both ways,
		 * or poll has already said HUP: in those states the kernel
		 * reports HUP on every call and watching would spin.
		 */
		watch = ev != 0 || (!(rd->eof && wr->shut) && !r->hup[s]);
		/*
		 * A dead side is watched only while what it sent before it
		 * died is still to be read: a pump that stopped at
		 * PUMP_ROUNDS with more of it waiting must be woken to go
		 * on, and nothing else would wake it. The socket is readable
		 * at once, so the wait is none until that half reads its end.
		 */
		if (r->dead[s] && !(ev & POLLIN))
			watch = false;
		pfd[s].fd = watch ? r->fd[s] : -1;
		pfd[s].events = ev;
		pfd[s].revents = 0;
	}
}

static void
relay_poll_result(struct relay *r, const struct pollfd pfd[2])
{
	int s, err;
	socklen_t len;

	for (s = 0; s < 2; s++) {
		if (pfd[s].fd < 0)
			continue;
		if (pfd[s].revents & POLLPRI)
			r->half[s].urgent = true;
		if (!(pfd[s].revents & (POLLERR | POLLHUP)))
			continue;
		err = 0;
		len = sizeof(err);
		getsockopt(r->fd[s], SOL_SOCKET, SO_ERROR, &err, &len);
		if (err != 0)
			side_died(r, s, err);
		else
			r->hup[s] = true;
	}
}

static int
half_open(struct half *h, int from, int pipe_size)
{
	memset(h, 0, sizeof(*h));
	h->from = from;
	h->to = !from;
	if (pipe2(h->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		h->pipe[0] = h->pipe[1] = -1;
		return -errno;
	}
	/*
	 * All instances share one UID's pipe budget; past it the kernel
	 * refuses bigger pipes with EPERM and hands out small ones. Either
	 * way the relay is correct, only slower, so a failure is ignored.
	 */
	if (pipe_size > 0)
		(void)fcntl(h->pipe[1], F_SETPIPE_SZ, pipe_size);
	return 0;
}

static void
half_close(struct half *h)
{
	if (h->pipe[0] >= 0)
		close(h->pipe[0]);
	if (h->pipe[1] >= 0)
		close(h->pipe[1]);
}

/*
 * Both directions are done, or the side that died first has nothing left
 * to deliver, or both are dead.
 */
static bool
relay_done(const struct relay *r)
{
	int s = r->failed;

	if (s >= 0)
		return r->dead[!s] ||
		    (r->half[s].eof && r->half[s].queued == 0);
	return r->half[0].shut && r->half[1].shut;
}

/* How a connection whose sides are done ended. */
static enum relay_end
relay_end_of(const struct relay *r)
{
	if (r->failed < 0)
		return RELAY_FIN;
	return is_peer_error(r->dead[r->failed]) ? RELAY_RESET : RELAY_ERROR;
}

/*
 * Of the bytes h wrote to its socket, how many that side's peer has not
 * acknowledged. SIOCOUTQ counts the unacknowledged and the unsent, and a
 * FIN takes a sequence number of its own. What else the socket held
 * before the relay started (a PROXY header) comes first in the stream, so
 * while any of it is unacknowledged none of h's bytes are: the count is at
 * most what h wrote.
 */
static uint64_t
half_unacked(const struct relay *r, const struct half *h)
{
	uint64_t n = sock_queue(r->fd[h->to], SIOCOUTQ);

	if (h->fin && n > 0)
		n--;
	return n < h->moved ? n : h->moved;
}

/*
 * The connection has ended, with FIN both ways or with a reset to pass on,
 * and everything read has been written to the other side's socket. But an
 * abortive close throws away what its send queue still holds, and the
 * record must count what was delivered, so before closing the relay waits
 * until the peer of every live side has acknowledged what was written to
 * it. There is no readiness event for an acknowledgement: the queues are
 * looked at on a timer (DRAIN_TICK_*), and a side whose queue did not
 * shrink is asked for a pending error, so a peer that resets meanwhile
 * ends the wait for that side. The wait is bounded by 'stall' without any
 * progress since *last, the time anything last moved; a signal ends it at
 * once. Returns how the connection ended: as given, or reset if a peer
 * reset during the wait, or terminated by the signal.
 */
static enum relay_end
relay_drain(struct relay *r, enum relay_end end, uint64_t *last,
    uint64_t stall, const sigset_t *sigmask)
{
	uint64_t left[2] = { UINT64_MAX, UINT64_MAX }, tick = DRAIN_TICK_FIRST;
	int s, err;

	for (;;) {
		bool waiting = false;
		struct timespec ts;
		socklen_t len;
		uint64_t now;

		for (s = 0; s < 2; s++) {
			uint64_t n;

			if (r->dead[s] ||
			    (n = half_unacked(r, &r->half[!s])) == 0)
				continue;
			if (n < left[s]) {
				if (left[s] != UINT64_MAX)
					*last = clock_usec();
				left[s] = n;
			} else {
				err = 0;
				len = sizeof(err);
				if (getsockopt(r->fd[s], SOL_SOCKET, SO_ERROR,
				    &err, &len) == 0 && err != 0) {
					side_died(r, s, err);
					continue;
				}
			}
			waiting = true;
		}
		if (end == RELAY_FIN)
			end = relay_end_of(r);
		now = clock_usec();
		if (!waiting || now - *last >= stall)
			return end;
		if (*last + stall - now < tick)
			tick = *last + stall - now;
		ts = clock_timespec(tick);
		if (signals_ppoll(NULL, 0, &ts, sigmask) < 0 && errno == EINTR &&
		    signals_terminated())
			return RELAY_SIGNAL;
		tick = tick * 2 < DRAIN_TICK_LAST ? tick * 2 : DRAIN_TICK_LAST;
	}
}

/*
 * The record's counts, taken before the sockets are closed. From each
 * side: the bytes the other side's peer acknowledged, and those it did
 * not, which are lost if the connection is reset: what is still in the
 * pipe, unacknowledged in the other socket, and, unless the connection
 * ended with FIN (and so every byte was read), the bytes the relay's
 * kernel acknowledged to the sender but the relay never read.
 */
static void
relay_count(const struct relay *r, enum relay_end end,
    struct relay_result *res)
{
	int s;

	for (s = 0; s < 2; s++) {
		const struct half *h = &r->half[s];
		uint64_t unacked = half_unacked(r, h);

		res->bytes[s] = h->moved - unacked;
		res->dropped[s] = unacked + h->queued;
		if (end != RELAY_FIN)
			res->dropped[s] += sock_queue(r->fd[s], SIOCINQ);
	}
}

/*
 * Relays between client_fd and target_fd until both directions end, a side
 * resets, nothing moves for the idle timeout, or a signal arrives. Takes
 * ownership of both fds and closes them, with a RST where the connection
 * did not end cleanly: after a FIN or a reset passed on, only once the
 * peers have acknowledged what was written to them, or nothing moved for
 * the idle timeout (RELAY_DRAIN_STALL without one). Both sockets must be
 * non-blocking and have urgent data inline (sock_urgent_inline()).
 */
int
relay_run(int client_fd, int target_fd, const struct relay_opts *o,
    const sigset_t *sigmask, struct relay_result *res)
{
	uint64_t idle_timeout = o->idle_timeout;
	uint64_t stall = idle_timeout > 0 ? idle_timeout : RELAY_DRAIN_STALL;
	struct relay r;
	struct pollfd pfd[2];
	uint64_t last = clock_usec();
	int s, n;

	memset(&r, 0, sizeof(r));
	memset(res, 0, sizeof(*res));
	r.fd[SIDE_CLIENT] = client_fd;
	r.fd[SIDE_TARGET] = target_fd;
	r.first = r.failed = -1;
	r.pipe_grow = o->pipe_grow;
	res->error_side = -1;
	res->end = RELAY_ERROR;
	r.half[1].pipe[0] = r.half[1].pipe[1] = -1;

	if ((n = half_open(&r.half[SIDE_CLIENT], SIDE_CLIENT,
	    o->pipe_size)) < 0 ||
	    (n = half_open(&r.half[SIDE_TARGET], SIDE_TARGET,
	    o->pipe_size)) < 0) {
		res->error = -n;
		goto out;
	}

	for (;;) {
		struct timespec ts, *tsp = NULL;
		bool moved = false;
		uint64_t limit;

		for (s = 0; s < 2; s++)
			moved |= half_pump(&r, &r.half[s]);
		if (relay_done(&r)) {
			res->end = relay_end_of(&r);
			break;
		}
		if (moved)
			last = clock_usec();

		relay_poll_set(&r, pfd);
		/*
		 * Once a side has died, what it sent is delivered for as long
		 * as the other side takes it, but no longer than the bound
		 * of the drain that follows.
		 */
		limit = r.failed >= 0 ? stall : idle_timeout;
		if (limit > 0) {
			uint64_t now = clock_usec(), end = last + limit;

			if (now >= end) {
				res->end = r.failed >= 0 ? relay_end_of(&r) :
				    RELAY_IDLE;
				break;
			}
			ts = clock_timespec(end - now);
			tsp = &ts;
		}
		n = signals_ppoll(pfd, 2, tsp, sigmask);
		if (n < 0) {
			if (errno == EINTR && signals_terminated()) {
				res->end = RELAY_SIGNAL;
				break;
			}
			if (errno == EINTR)
				continue;
			res->error = errno;
			res->end = RELAY_ERROR;
			break;
		}
		relay_poll_result(&r, pfd);
	}
	if (res->end == RELAY_FIN || res->end == RELAY_RESET)
		res->end = relay_drain(&r, res->end, &last, stall, sigmask);

out:
	relay_count(&r, res->end, res);
	res->first = r.first;
	if (r.failed >= 0) {
		res->error = r.dead[r.failed];
		res->error_side = r.failed;
		res->then_error = r.dead[!r.failed];
	}
	if (res->end == RELAY_FIN) {
		close(client_fd);
		close(target_fd);
	} else {
		sock_reset(client_fd);
		sock_reset(target_fd);
	}
	half_close(&r.half[0]);
	half_close(&r.half[1]);
	return res->end == RELAY_ERROR ? -(res->error ? res->error : EIO) : 0;
}
