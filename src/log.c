/*
 * Logging. Under systemd, stderr is a stream to journald (JOURNAL_STREAM
 * names it); then each message is sent as one datagram in the journal's
 * native protocol, with structured V6FWD_* fields beside MESSAGE, so that
 * "journalctl V6FWD_CLIENT=2001:db8::1" finds a client's connections.
 * Anywhere else (systemd-socket-activate, inetd, a terminal) the same
 * messages go to stderr as plain lines.
 *
 * The native protocol is spoken directly rather than through libsystemd's
 * sd_journal_send(): linking libsystemd loads eight shared objects at every
 * start, which doubled the start-up cost each connection pays (measured:
 * 0.54 ms to 1.05 ms per exec). The protocol is a documented stable
 * interface of systemd.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define JOURNAL_SOCKET	"/run/systemd/journal/socket"

/* journalctl MESSAGE_ID=... lists every connection record. */
#define MESSAGE_ID_CONNECTION	"3f1c5e0a9b8d4c27a6e1d2b7c4f08e93"

/* How long to wait for journald to read a record: at most 500 ticks of 0.2 ms. */
#define JOURNAL_WAIT_TICKS	500

/* A record with all fields is well under this. */
#define RECORD_MAX	2048

static struct {
	int	journal_fd;	/* -1: log to stderr */
	int	no_stderr;	/* stderr is the client: never write there */
	char	client[INET6_ADDRSTRLEN];
	unsigned client_port;
	char	local[INET6_ADDRSTRLEN];
	unsigned local_port;
	char	peer[ADDR_STRLEN];	/* "[client]:port", the message prefix */
	char	target[320];	/* a host name and port */
	char	id[33];		/* the connection's identifier, V6FWD_ID */
	char	source[INET_ADDRSTRLEN];	/* the mapped source, or "" */
	unsigned source_port;
	char	sandbox[64];	/* the confinement in force, see sandbox.c */
} ctx = { .journal_fd = -1 };

struct record {
	char	buf[RECORD_MAX];
	size_t	len;
};

/* Appends "KEY=value\n"; a newline inside a value would end the field. */
static void
record_add(struct record *r, const char *key, const char *fmt, ...)
{
	va_list ap;
	size_t start = r->len, i;
	int n;

	n = snprintf(r->buf + r->len, sizeof(r->buf) - r->len, "%s=", key);
	if (n < 0 || (size_t)n >= sizeof(r->buf) - r->len)
		return;
	r->len += (size_t)n;
	va_start(ap, fmt);
	n = vsnprintf(r->buf + r->len, sizeof(r->buf) - r->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(r->buf) - r->len - 1) {
		r->len = start;
		return;
	}
	for (i = r->len; i < r->len + (size_t)n; i++)
		if (r->buf[i] == '\n')
			r->buf[i] = ' ';
	r->len += (size_t)n;
	r->buf[r->len++] = '\n';
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
 * no_stderr: stderr is the client's socket (inetd hands the connection over
 * as fds 0 to 2), so nothing may be written there: use the journal, and
 * drop messages if there is none.
 */
void
log_open(int no_stderr)
{
	ctx.no_stderr = no_stderr;
	if (ctx.journal_fd < 0 && (no_stderr || stderr_is_journal()))
		ctx.journal_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
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

/* Named in every record from here on: V6FWD_SANDBOX. */
void
log_set_sandbox(const char *what)
{
	snprintf(ctx.sandbox, sizeof(ctx.sandbox), "%s", what);
}

static void
record_context(struct record *r)
{
	if (ctx.id[0])
		record_add(r, "V6FWD_ID", "%s", ctx.id);
	if (ctx.client[0]) {
		record_add(r, "V6FWD_CLIENT", "%s", ctx.client);
		record_add(r, "V6FWD_CLIENT_PORT", "%u", ctx.client_port);
		record_add(r, "V6FWD_LOCAL", "%s", ctx.local);
		record_add(r, "V6FWD_LOCAL_PORT", "%u", ctx.local_port);
	}
	if (ctx.target[0])
		record_add(r, "V6FWD_TARGET", "%s", ctx.target);
	if (ctx.source[0])
		record_add(r, "V6FWD_SOURCE", "%s", ctx.source);
	if (ctx.source_port)
		record_add(r, "V6FWD_SOURCE_PORT", "%u", ctx.source_port);
	if (ctx.sandbox[0])
		record_add(r, "V6FWD_SANDBOX", "%s", ctx.sandbox);
}

/*
 * journald learns which unit a record came from (_SYSTEMD_UNIT, the
 * invocation ID) by reading /proc for the sender's PID while it handles the
 * datagram. An instance that exits at once is often gone by then, and its
 * record escapes "journalctl -u" (6 of 80 in the system tests). So after
 * the record we send an empty datagram, which journald reads and ignores,
 * and wait, boundedly, until it has taken both off our socket (SIOCOUTQ
 * counts what it has not read): journald handles one datagram at a time,
 * so by then it has finished with the record. The connection is closed
 * already: nobody waits on this but the process table.
 */
static void
journal_wait(const struct sockaddr_un *sa)
{
	const struct timespec tick = { .tv_sec = 0, .tv_nsec = 200 * 1000 };
	int i, queued;

	if (sendto(ctx.journal_fd, "", 0, MSG_NOSIGNAL,
	    (const struct sockaddr *)sa, sizeof(*sa)) < 0)
		return;
	for (i = 0; i < JOURNAL_WAIT_TICKS; i++) {
		if (ioctl(ctx.journal_fd, SIOCOUTQ, &queued) < 0 || queued == 0)
			return;
		ppoll(NULL, 0, &tick, NULL);
	}
}

/* Sends to the journal, or prints the MESSAGE to stderr. */
static void
record_send(struct record *r, const char *message)
{
	static const struct sockaddr_un sa = {
		.sun_family = AF_UNIX,
		.sun_path = JOURNAL_SOCKET,
	};

	if (ctx.journal_fd >= 0) {
		record_add(r, "SYSLOG_IDENTIFIER", "v6fwd");
		record_add(r, "MESSAGE", "%s", message);
		if (sendto(ctx.journal_fd, r->buf, r->len, MSG_NOSIGNAL,
		    (const struct sockaddr *)&sa, sizeof(sa)) >= 0) {
			journal_wait(&sa);
			return;
		}
	}
	if (!ctx.no_stderr)
		fprintf(stderr, "v6fwd: %s\n", message);
}

/*
 * Logs "[client]:port: <message>: <strerror(err)>" (without the last part
 * when err is 0) and returns -err, so a failure can be logged and returned
 * in one statement.
 */
int
log_errno(int prio, int err, const char *fmt, ...)
{
	struct record r = { .len = 0 };
	char msg[512];
	size_t n = 0;
	va_list ap;

	if (ctx.peer[0])
		n = (size_t)snprintf(msg, sizeof(msg), "%s: ", ctx.peer);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	va_end(ap);
	if (err != 0) {
		n = strlen(msg);
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(err));
	}
	record_add(&r, "PRIORITY", "%d", prio);
	if (err != 0)
		record_add(&r, "ERRNO", "%d", err);
	record_context(&r);
	record_send(&r, msg);
	return -err;
}

static const char *
end_name(enum relay_end end)
{
	switch (end) {
	case RELAY_FIN:		return "fin";
	case RELAY_RESET:	return "rst";
	case RELAY_IDLE:	return "idle-timeout";
	case RELAY_SIGNAL:	return "terminated";
	case RELAY_ERROR:	return "error";
	}
	return "error";
}

/* How it ended, in words: "client closed first (FIN)". */
static void
end_text(const struct relay_result *res, char *buf, size_t size)
{
	const char *first = res->first >= 0 ? relay_side_name(res->first) :
	    "neither side";

	switch (res->end) {
	case RELAY_FIN:
		snprintf(buf, size, "%s closed first (FIN)", first);
		break;
	case RELAY_RESET:
		snprintf(buf, size, "%s reset the connection (%s), RST "
		    "passed on", relay_side_name(res->error_side),
		    strerror(res->error));
		break;
	case RELAY_IDLE:
		snprintf(buf, size, "idle timeout, both sides reset");
		break;
	case RELAY_SIGNAL:
		snprintf(buf, size, "terminated by signal, both sides reset");
		break;
	case RELAY_ERROR:
		snprintf(buf, size, "relay failed (%s), both sides reset",
		    strerror(res->error ? res->error : EIO));
		break;
	}
}

/* The one record each connection leaves when it ends. */
void
log_connection(const struct relay_result *res, uint64_t duration)
{
	struct record r = { .len = 0 };
	char how[160], msg[1024], lost[96] = "", from[32] = "";
	uint64_t dropped = res->dropped[0] + res->dropped[1];

	end_text(res, how, sizeof(how));
	if (dropped > 0)
		snprintf(lost, sizeof(lost), ", %" PRIu64 " bytes undelivered",
		    dropped);
	if (ctx.source[0])
		snprintf(from, sizeof(from), " from %s:%u", ctx.source,
		    ctx.source_port);
	/* Milliseconds under a second: most connections would read 0.000 s. */
	snprintf(msg, sizeof(msg), "%s -> [%s]:%u -> %s%s: %s; %" PRIu64
	    " bytes from client, %" PRIu64 " bytes from target%s, %" PRIu64
	    ".%03" PRIu64 " %s%s%s", ctx.peer, ctx.local, ctx.local_port,
	    ctx.target, from, how, res->bytes[SIDE_CLIENT],
	    res->bytes[SIDE_TARGET], lost,
	    duration < USEC_PER_SEC ? duration / 1000 : duration / USEC_PER_SEC,
	    duration < USEC_PER_SEC ? duration % 1000 :
	    duration % USEC_PER_SEC / 1000,
	    duration < USEC_PER_SEC ? "ms" : "s", ctx.id[0] ? ", id " : "",
	    ctx.id);

	record_add(&r, "MESSAGE_ID", "%s", MESSAGE_ID_CONNECTION);
	record_add(&r, "PRIORITY", "%d", res->end == RELAY_ERROR ? LOG_ERR :
	    LOG_INFO);
	record_context(&r);
	record_add(&r, "V6FWD_BYTES_FROM_CLIENT", "%" PRIu64,
	    res->bytes[SIDE_CLIENT]);
	record_add(&r, "V6FWD_BYTES_FROM_TARGET", "%" PRIu64,
	    res->bytes[SIDE_TARGET]);
	record_add(&r, "V6FWD_BYTES_UNDELIVERED", "%" PRIu64, dropped);
	record_add(&r, "V6FWD_DURATION_USEC", "%" PRIu64, duration);
	record_add(&r, "V6FWD_END", "%s", end_name(res->end));
	if (res->first >= 0)
		record_add(&r, "V6FWD_FIRST", "%s", relay_side_name(res->first));
	if (res->error)
		record_add(&r, "ERRNO", "%d", res->error);
	record_send(&r, msg);
}
