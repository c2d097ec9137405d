/*
 * Logging. Under systemd, stderr is a stream to journald (JOURNAL_STREAM
 * names it); then every message goes to the journal through libsystemd's
 * sd_journal_sendv(), with structured V6FWD_* fields beside MESSAGE, so
 * that "journalctl V6FWD_CLIENT=2001:db8::1" finds a client's connections.
 * Anywhere else (systemd-socket-activate, a terminal) the same messages go
 * to stderr as plain lines; when stderr is the client's own socket (inetd),
 * never there.
 *
 * A logger that stops reading (a full pipe on stderr, journald's queue
 * full) must not hold a connection hostage. Every write waits at most for
 * what is left of LOG_WAIT_MAX (RECORD_WAIT_MAX for the connection's
 * record, written when the connection is over), which a process spends
 * once in all, and with the termination signals unblocked: a write that
 * would wait longer is interrupted by SIGALRM, one that a SIGTERM
 * interrupts ends the waiting, and every message after that is dropped
 * at once. The record counts the dropped ones (V6FWD_LOG_DROPPED), if it
 * gets through itself.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>
/* Records carry our fields, not the C source line they were sent from. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "clock.h"
#include "log.h"

/* journalctl MESSAGE_ID=... lists every connection record. */
#define MESSAGE_ID_CONNECTION	"3f1c5e0a9b8d4c27a6e1d2b7c4f08e93"
/* ... and every UDP flow's. */
#define MESSAGE_ID_FLOW		"ea1327b306034076b8a034f794638a4e"

#define JOURNAL_SOCKET		"/run/systemd/journal/socket"

/* What a process waits for its logger in all, before it drops messages. */
#define LOG_WAIT_MAX		(1 * USEC_PER_SEC)
/*
 * What the connection's record and its barrier may wait, once the
 * connection is over and nothing but the process's exit waits on them:
 * journald, merely slow under a flood (a thousand instances ending at
 * once), still gets every record; one that stopped reading holds the
 * process this long. A logger that already cost a message is not waited
 * for again.
 */
#define RECORD_WAIT_MAX		(10 * USEC_PER_SEC)

/*
 * How often the barrier looks whether journald has read it: soon at first
 * (it usually has), then less and less often, so that a thousand processes
 * waiting for a journald that is behind do not keep it from catching up.
 */
#define BARRIER_TICK_FIRST	(100)	/* microseconds */
#define BARRIER_TICK_MAX	(10 * USEC_PER_MSEC)

/* A message, and a record with all its fields, fit well within these. */
#define MESSAGE_MAX		1024
#define FIELDS_MAX		32
#define FIELDS_SIZE		3072

static struct {
	pid_t		pid;		/* whose these are: see log_open() */
	bool		opened;
	bool		journal;	/* else stderr */
	bool		quiet;		/* stderr is the client: never there */
	int		barrier_fd;	/* see journal_barrier() */
	sigset_t	waitmask;	/* termination signals unblocked */
	uint64_t	wait_left;	/* of LOG_WAIT_MAX */
	unsigned	dropped;	/* messages that could not be written */
	char		client[INET6_ADDRSTRLEN];
	unsigned	client_port;
	char		local[INET6_ADDRSTRLEN];
	unsigned	local_port;
	char		peer[ADDR_STRLEN];	/* "[client]:port", the prefix */
	char		target[LOG_TARGET_MAX];
	char		id[33];		/* the connection's identifier */
	char		source[INET_ADDRSTRLEN];	/* mapped source, or "" */
	unsigned	source_port;
	char		sandbox[64];	/* the confinement in force */
} ctx = { .barrier_fd = -1, .wait_left = LOG_WAIT_MAX };

/* "KEY=value" strings, one iovec each, as sd_journal_sendv() takes them. */
struct fields {
	struct iovec	iov[FIELDS_MAX];
	int		n;
	size_t		len;
	char		buf[FIELDS_SIZE];
};

static void
fields_add(struct fields *f, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fields_add(struct fields *f, const char *key, const char *fmt, ...)
{
	size_t room = sizeof(f->buf) - f->len;
	char *p = f->buf + f->len;
	va_list ap;
	int n, m;

	if (f->n == FIELDS_MAX)
		return;
	n = snprintf(p, room, "%s=", key);
	if (n < 0 || (size_t)n >= room)
		return;
	va_start(ap, fmt);
	m = vsnprintf(p + n, room - (size_t)n, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)(n + m) >= room)
		return;
	f->iov[f->n].iov_base = p;
	f->iov[f->n].iov_len = (size_t)(n + m);
	f->n++;
	f->len += (size_t)(n + m) + 1;
}

/* V6FWD_<what>_FROM_CLIENT and _FROM_TARGET. */
static void
fields_both_ways(struct fields *f, const char *what, uint64_t from_client,
    uint64_t from_target)
{
	char key[48];

	snprintf(key, sizeof(key), "V6FWD_%s_FROM_CLIENT", what);
	fields_add(f, key, "%" PRIu64, from_client);
	snprintf(key, sizeof(key), "V6FWD_%s_FROM_TARGET", what);
	fields_add(f, key, "%" PRIu64, from_target);
}

static bool
stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

/*
 * Called once the signals are set up (waitmask is the mask to wait with),
 * and again with quiet set when stderr turns out to be the client's socket
 * (inetd hands the connection over as fds 0 to 2): then messages go to the
 * journal, or nowhere. Opens what the log needs before confinement.
 *
 * In a process forked by the server, it starts afresh: its own budget, its
 * own barrier socket (the barrier counts one process's datagrams), and no
 * context of the server's.
 */
void
log_open(bool quiet, const sigset_t *waitmask)
{
	pid_t pid = getpid();

	if (ctx.opened && ctx.pid != pid) {
		if (ctx.barrier_fd >= 0)
			(void)close(ctx.barrier_fd);
		memset(&ctx, 0, sizeof(ctx));
		ctx.barrier_fd = -1;
		ctx.wait_left = LOG_WAIT_MAX;
	}
	ctx.pid = pid;
	ctx.opened = true;
	ctx.waitmask = *waitmask;
	ctx.quiet = quiet;
	ctx.journal = quiet || stderr_is_journal();
	if (ctx.journal && ctx.barrier_fd < 0)
		ctx.barrier_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

void
log_set_client(const union sockaddr_any *peer, const union sockaddr_any *local)
{
	addr_host(peer, ctx.client, sizeof(ctx.client));
	ctx.client_port = addr_port(peer);
	addr_host(local, ctx.local, sizeof(ctx.local));
	ctx.local_port = addr_port(local);
	addr_format(peer, ctx.peer, sizeof(ctx.peer));
}

void
log_set_target(const char *target)
{
	snprintf(ctx.target, sizeof(ctx.target), "%s", target);
}

/* The identifier a PROXY v2 header also carries, to join the two logs. */
void
log_set_id(const char *id)
{
	snprintf(ctx.id, sizeof(ctx.id), "%s", id);
}

/* The mapped source (see mapsrc.c); port 0 until connect() picks one. */
void
log_set_source(const union sockaddr_any *source)
{
	addr_host(source, ctx.source, sizeof(ctx.source));
	ctx.source_port = addr_port(source);
}

/* Named in every message from here on: V6FWD_SANDBOX. */
void
log_set_sandbox(const char *what)
{
	snprintf(ctx.sandbox, sizeof(ctx.sandbox), "%s", what);
}

static void
fields_context(struct fields *f)
{
	fields_add(f, "SYSLOG_IDENTIFIER", "v6fwd");
	if (ctx.id[0])
		fields_add(f, "V6FWD_ID", "%s", ctx.id);
	if (ctx.client[0]) {
		fields_add(f, "V6FWD_CLIENT", "%s", ctx.client);
		fields_add(f, "V6FWD_CLIENT_PORT", "%u", ctx.client_port);
		fields_add(f, "V6FWD_LOCAL", "%s", ctx.local);
		fields_add(f, "V6FWD_LOCAL_PORT", "%u", ctx.local_port);
	}
	if (ctx.target[0])
		fields_add(f, "V6FWD_TARGET", "%s", ctx.target);
	if (ctx.source[0])
		fields_add(f, "V6FWD_SOURCE", "%s", ctx.source);
	if (ctx.source_port)
		fields_add(f, "V6FWD_SOURCE_PORT", "%u", ctx.source_port);
	if (ctx.sandbox[0])
		fields_add(f, "V6FWD_SANDBOX", "%s", ctx.sandbox);
}

/*
 * Begins a write that may block: SIGALRM armed for what is left of the
 * budget, the termination signals unblocked. Returns false when nothing is
 * left, and the message is to be dropped.
 */
static bool
wait_begin(sigset_t *saved, uint64_t *start)
{
	struct itimerval it = { { 0, 0 }, { 0, 0 } };

	if (ctx.wait_left == 0)
		return false;
	it.it_value.tv_sec = (time_t)(ctx.wait_left / USEC_PER_SEC);
	it.it_value.tv_usec = (suseconds_t)(ctx.wait_left % USEC_PER_SEC);
	/*
	 * Again every 10 ms after that: should the first alarm come before
	 * the write begins to wait, a later one still interrupts it.
	 */
	it.it_interval.tv_usec = 10 * 1000;
	(void)setitimer(ITIMER_REAL, &it, NULL);
	(void)sigprocmask(SIG_SETMASK, &ctx.waitmask, saved);
	*start = clock_usec();
	return true;
}

/* Ends it: an interrupted or refused write spends the whole budget. */
static void
wait_end(const sigset_t *saved, uint64_t start, int r)
{
	static const struct itimerval off = { { 0, 0 }, { 0, 0 } };
	uint64_t spent = clock_usec() - start;

	(void)sigprocmask(SIG_SETMASK, saved, NULL);
	(void)setitimer(ITIMER_REAL, &off, NULL);
	ctx.wait_left = spent < ctx.wait_left ? ctx.wait_left - spent : 0;
	if (r == -EINTR || r == -EAGAIN)
		ctx.wait_left = 0;
}

/*
 * journald learns which unit a record came from (_SYSTEMD_UNIT, the
 * invocation ID) by reading /proc for the sender's PID while it handles the
 * datagram. An instance that exits at once is often gone by then, and its
 * record escapes "journalctl -u" (1 in 50 in the system tests). So after
 * the record we send an empty datagram of our own, which journald reads
 * and ignores, and wait, within the log's budget, until it has taken it off
 * our socket
 * (SIOCOUTQ counts what it has not read). journald reads one datagram at a
 * time and handles it before the next, in the order they arrived, so by
 * then it has finished with the record that libsystemd's socket sent first.
 */
static void
journal_barrier(void)
{
	static const struct sockaddr_un sa = {
		.sun_family = AF_UNIX,
		.sun_path = JOURNAL_SOCKET,
	};
	uint64_t tick = BARRIER_TICK_FIRST, start;
	struct timespec ts;
	sigset_t saved;
	int queued, r = 0;

	if (ctx.barrier_fd < 0 || !wait_begin(&saved, &start))
		return;
	if (sendto(ctx.barrier_fd, "", 0, MSG_NOSIGNAL,
	    (const struct sockaddr *)&sa, sizeof(sa)) < 0)
		r = -errno;
	/* SIGALRM ends it with the budget, as any log write. */
	while (r == 0 && ioctl(ctx.barrier_fd, SIOCOUTQ, &queued) == 0 &&
	    queued > 0) {
		ts = clock_timespec(tick);
		if (ppoll(NULL, 0, &ts, NULL) < 0)
			r = -errno;
		if (tick < BARRIER_TICK_MAX)
			tick *= 2;
	}
	wait_end(&saved, start, r);
}

/* Sends a message to the journal or stderr, within the budget. */
static void
log_write(struct fields *f, const char *message)
{
	char line[MESSAGE_MAX + 16];
	sigset_t saved;
	uint64_t start;
	int r, n;

	if (!ctx.journal && ctx.quiet)
		return;
	if (!ctx.opened) {
		/* Before the signals are set up: a terminal, nothing waits. */
		fprintf(stderr, "v6fwd: %s\n", message);
		return;
	}
	if (!wait_begin(&saved, &start)) {
		ctx.dropped++;
		return;
	}
	if (ctx.journal) {
		fields_add(f, "MESSAGE", "%s", message);
		r = sd_journal_sendv(f->iov, f->n);
	} else {
		/* Under PIPE_BUF: a pipe takes it whole or not at all. */
		n = snprintf(line, sizeof(line), "v6fwd: %s\n", message);
		if (n >= (int)sizeof(line))
			n = (int)sizeof(line) - 1;
		r = write(STDERR_FILENO, line, (size_t)n) < 0 ? -errno : 0;
	}
	wait_end(&saved, start, r);
	if (r < 0)
		ctx.dropped++;
}

int
log_full_errno(int level, int error, const char *fmt, ...)
{
	struct fields f = { .n = 0, .len = 0 };
	char msg[MESSAGE_MAX];
	size_t n = 0;
	va_list ap;

	error = abs(error);
	if (ctx.peer[0])
		n = (size_t)snprintf(msg, sizeof(msg), "%s: ", ctx.peer);
	errno = error;	/* for %m */
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	va_end(ap);
	fields_add(&f, "PRIORITY", "%d", level);
	if (error)
		fields_add(&f, "ERRNO", "%d", error);
	fields_context(&f);
	log_write(&f, msg);
	return -error;
}

/* "0.737 ms" under a second, where most connections would read 0.000 s. */
static void
format_duration(uint64_t usec, char *buf, size_t size)
{
	if (usec < USEC_PER_SEC)
		snprintf(buf, size, "%" PRIu64 ".%03" PRIu64 " ms",
		    usec / USEC_PER_MSEC, usec % USEC_PER_MSEC);
	else
		snprintf(buf, size, "%" PRIu64 ".%03" PRIu64 " s",
		    usec / USEC_PER_SEC, usec % USEC_PER_SEC / USEC_PER_MSEC);
}

/*
 * What a long-running process (udp.c) may wait for its logger from now on:
 * it sets this again every second or so, so that a logger that falls
 * behind costs it at most that share of its time, in dropped messages
 * rather than in stalled traffic, and a logger that catches up gets every
 * message again.
 */
void
log_set_budget(uint64_t usec)
{
	ctx.wait_left = usec;
}

/*
 * Before a long-running process exits: its last records must reach the
 * journal while it still exists, to be attributed to its unit (see
 * journal_barrier()).
 */
void
log_flush(void)
{
	if (ctx.journal)
		journal_barrier();
}

/*
 * The record of one UDP flow. Unlike a connection's, no barrier follows
 * it: the process relaying the flow goes on running, and others' traffic
 * must not wait for journald; log_flush() ends the process's last ones.
 */
void
log_flow(const struct log_flow *rec)
{
	struct fields f = { .n = 0, .len = 0 };
	char msg[MESSAGE_MAX], client[ADDR_STRLEN], local[ADDR_STRLEN];
	char host[INET6_ADDRSTRLEN], from[ADDR_STRLEN + 8] = "", took[32];
	char dropped[96] = "", errors[48] = "";

	addr_format(rec->client, client, sizeof(client));
	addr_format(rec->local, local, sizeof(local));
	if (rec->source) {
		snprintf(from, sizeof(from), " from ");
		addr_format(rec->source, from + 6, sizeof(from) - 6);
	}
	if (rec->dropped_from_client || rec->dropped_from_target)
		snprintf(dropped, sizeof(dropped), ", dropped %" PRIu64
		    " from client and %" PRIu64 " from target",
		    rec->dropped_from_client, rec->dropped_from_target);
	if (rec->target_errors)
		snprintf(errors, sizeof(errors), ", %" PRIu64 " ICMP errors",
		    rec->target_errors);
	format_duration(rec->duration, took, sizeof(took));
	snprintf(msg, sizeof(msg), "%s -> %s/udp -> %s%s: %s; %" PRIu64
	    " datagrams (%" PRIu64 " bytes) from client, %" PRIu64
	    " (%" PRIu64 " bytes) from target%s%s, %s, id %s", client, local,
	    rec->target, from, rec->how, rec->datagrams_from_client,
	    rec->from_client, rec->datagrams_from_target, rec->from_target,
	    dropped, errors, took, rec->id);

	fields_add(&f, "MESSAGE_ID", "%s", MESSAGE_ID_FLOW);
	fields_add(&f, "PRIORITY", "%d", rec->priority);
	fields_add(&f, "SYSLOG_IDENTIFIER", "v6fwd");
	fields_add(&f, "V6FWD_ID", "%s", rec->id);
	fields_add(&f, "V6FWD_PROTOCOL", "udp");
	fields_add(&f, "V6FWD_CLIENT", "%s", addr_host(rec->client, host,
	    sizeof(host)));
	fields_add(&f, "V6FWD_CLIENT_PORT", "%u", addr_port(rec->client));
	fields_add(&f, "V6FWD_LOCAL", "%s", addr_host(rec->local, host,
	    sizeof(host)));
	fields_add(&f, "V6FWD_LOCAL_PORT", "%u", addr_port(rec->local));
	fields_add(&f, "V6FWD_TARGET", "%s", rec->target);
	if (rec->source) {
		fields_add(&f, "V6FWD_SOURCE", "%s", addr_host(rec->source, host,
		    sizeof(host)));
		fields_add(&f, "V6FWD_SOURCE_PORT", "%u",
		    addr_port(rec->source));
	}
	if (ctx.sandbox[0])
		fields_add(&f, "V6FWD_SANDBOX", "%s", ctx.sandbox);
	fields_both_ways(&f, "DATAGRAMS", rec->datagrams_from_client,
	    rec->datagrams_from_target);
	fields_both_ways(&f, "BYTES", rec->from_client, rec->from_target);
	fields_both_ways(&f, "DROPPED", rec->dropped_from_client,
	    rec->dropped_from_target);
	fields_add(&f, "V6FWD_TARGET_ERRORS", "%" PRIu64, rec->target_errors);
	fields_add(&f, "V6FWD_DURATION_USEC", "%" PRIu64, rec->duration);
	fields_add(&f, "V6FWD_END", "%s", rec->end);
	if (rec->error)
		fields_add(&f, "ERRNO", "%d", rec->error);
	if (ctx.dropped)
		fields_add(&f, "V6FWD_LOG_DROPPED", "%u", ctx.dropped);
	log_write(&f, msg);
}

/* The one record each connection leaves when it ends. */
void
log_connection(const struct log_record *rec)
{
	struct fields f = { .n = 0, .len = 0 };
	char msg[MESSAGE_MAX], lost[64] = "", from[48] = "", took[32];

	if (rec->undelivered > 0)
		snprintf(lost, sizeof(lost), ", %" PRIu64 " bytes undelivered",
		    rec->undelivered);
	/* The port is known once connect() has picked it. */
	if (ctx.source[0] && ctx.source_port)
		snprintf(from, sizeof(from), " from %s:%u", ctx.source,
		    ctx.source_port);
	else if (ctx.source[0])
		snprintf(from, sizeof(from), " from %s", ctx.source);
	format_duration(rec->duration, took, sizeof(took));
	snprintf(msg, sizeof(msg), "%s -> [%s]:%u%s%s%s: %s; %" PRIu64
	    " bytes from client, %" PRIu64 " bytes from target%s, %s%s%s",
	    ctx.peer, ctx.local, ctx.local_port, ctx.target[0] ? " -> " : "",
	    ctx.target, from, rec->how,
	    rec->from_client, rec->from_target, lost, took,
	    ctx.id[0] ? ", id " : "", ctx.id);

	fields_add(&f, "MESSAGE_ID", "%s", MESSAGE_ID_CONNECTION);
	fields_add(&f, "PRIORITY", "%d", rec->priority);
	fields_context(&f);
	fields_both_ways(&f, "BYTES", rec->from_client, rec->from_target);
	fields_add(&f, "V6FWD_BYTES_UNDELIVERED", "%" PRIu64, rec->undelivered);
	fields_add(&f, "V6FWD_DURATION_USEC", "%" PRIu64, rec->duration);
	fields_add(&f, "V6FWD_END", "%s", rec->end);
	if (rec->first)
		fields_add(&f, "V6FWD_FIRST", "%s", rec->first);
	if (rec->failed)
		fields_add(&f, "V6FWD_FAILED", "%s", rec->failed);
	if (rec->error)
		fields_add(&f, "ERRNO", "%d", rec->error);
	if (rec->then_failed) {
		fields_add(&f, "V6FWD_THEN_FAILED", "%s", rec->then_failed);
		fields_add(&f, "V6FWD_THEN_ERRNO", "%d", rec->then_error);
	}
	if (ctx.dropped)
		fields_add(&f, "V6FWD_LOG_DROPPED", "%u", ctx.dropped);
	if (ctx.wait_left > 0)
		ctx.wait_left = RECORD_WAIT_MAX;
	log_write(&f, msg);
	if (ctx.journal)
		journal_barrier();
}
