/*
 * The served mode. Handed a listening socket (a socket unit with Accept=no,
 * v6fwd-server@.socket), v6fwd accepts on it itself and gives every
 * connection a process of its own, forked from this one, which runs exactly
 * what a per-connection instance runs (connection_run(): settings, target,
 * PROXY header, confinement, relay, record) and exits. So a connection costs
 * no exec, no dynamic loading and no work of PID 1's, and one connection's
 * process can no more reach another's bytes than two instances could.
 *
 * What systemd does for an Accept=yes socket is ours here: a limit on the
 * connections at once and on those from one source (as MaxConnections= and
 * MaxConnectionsPerSource=), the connection past them accepted and reset at
 * once with a rate-limited message, and surviving every failure of accept()
 * and fork() without exiting and without spinning.
 *
 * SIGTERM (systemctl stop) takes no new connection: every connection's
 * process gets SIGTERM and resets both its sides, as a per-connection
 * instance does, and the server exits once they are gone. The listening
 * socket is systemd's, so a restart loses no connection attempt: they wait
 * in its backlog.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "clock.h"
#include "config.h"
#include "log.h"
#include "ratelimit.h"
#include "sandbox.h"
#include "server.h"
#include "signals.h"
#include "sock.h"
#include "source.h"
#include "table.h"

/* Connections taken per wake-up, so that reaping and signals keep up. */
#define ACCEPT_BATCH		32
/* After accept() or fork() ran out of something: wait before trying again. */
#define BACKOFF			(100 * USEC_PER_MSEC)
/* How often STATUS= may change. */
#define STATUS_INTERVAL		(200 * USEC_PER_MSEC)
/* How long the connections' processes get to end after SIGTERM. */
#define STOP_WAIT		(5 * USEC_PER_SEC)
struct child {
	pid_t		pid;			/* the key */
	uint8_t		source[SOURCE_KEY_SIZE];
};

struct source {
	uint8_t		key[SOURCE_KEY_SIZE];
	unsigned	count;
};

struct server {
	int		 fd;
	char		 name[ADDR_STRLEN];	/* "[::]:2000" */
	const struct connection_opts *opts;
	sigset_t	 waitmask;		/* TERM and CHLD unblocked */
	unsigned	 max, max_per_source;
	struct table	 children, sources;
	unsigned	 active;		/* connections being served */
	uint64_t	 served, refused;
	uint64_t	 paused_until;		/* back-off, or 0 */
	uint64_t	 status_at;		/* when STATUS= last changed */
	bool		 status_dirty;
	struct ratelimit rl_full, rl_source, rl_accept, rl_fork;
};

static void
status_update(struct server *s, uint64_t now)
{
	if (!s->status_dirty || now - s->status_at < STATUS_INTERVAL)
		return;
	(void)sd_notifyf(0, "STATUS=Serving %s: %u connections now, %" PRIu64
	    " served, %" PRIu64 " refused", s->name, s->active, s->served,
	    s->refused);
	s->status_at = now;
	s->status_dirty = false;
}

/* Closes a connection the server will not serve, with a RST. */
static void
refuse(struct server *s, int fd)
{
	sock_reset(fd);
	s->refused++;
	s->status_dirty = true;
}

/*
 * The connection's own process: it never returns. The listening socket
 * and the server's tables are not its business; the rest of the process is
 * a per-connection instance's, from connection_run() on.
 */
static void __attribute__((noreturn))
serve_one(struct server *s, int fd, const union sockaddr_any *peer,
    uint64_t start)
{
	struct connection c = { .fd = fd, .peer = *peer };
	socklen_t len = sizeof(c.local);
	enum outcome o;

	/* What ps and pgrep show: a connection's process, not the server. */
	(void)prctl(PR_SET_NAME, "v6fwd-conn", 0, 0, 0);
	log_open(false, &s->waitmask);
	(void)getsockname(fd, &c.local.sa, &len);
	log_set_client(&c.peer, &c.local);
	o = connection_run(s->opts, &c, &s->waitmask, start);
	_exit(outcome_exit_status(o));
}

/*
 * What a connection's process does first: it keeps nothing of the
 * server's but what one connection needs (not the listening socket).
 */
static void
child_begin(struct server *s)
{
	(void)close(s->fd);
	signals_forget_children();
}

/* fork() failed: pause, and say so at most once a second. */
static void
fork_failed(struct server *s, uint64_t now, int err, const char *what)
{
	char more[64];

	s->paused_until = now + BACKOFF;
	if (ratelimit_pass(&s->rl_fork, now))
		(void)log_error_errno(err, "Failed to fork %s: %m; pausing for "
		    "100 ms%s", what, ratelimit_more(&s->rl_fork, more,
		    sizeof(more)));
}

/* Takes one connection; returns false when there is none to take now. */
static bool
take_one(struct server *s, uint64_t now)
{
	union sockaddr_any peer;
	socklen_t len = sizeof(peer);
	uint8_t key[SOURCE_KEY_SIZE];
	struct source *src;
	struct child *ch;
	char more[64];
	pid_t pid;
	int fd;

	fd = accept4(s->fd, &peer.sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		bool pause = errno == EMFILE || errno == ENFILE ||
		    errno == ENOBUFS || errno == ENOMEM;

		if (errno == EAGAIN || errno == EINTR)
			return false;
		if (errno == ECONNABORTED)
			return true;	/* it left before we took it */
		/* Out of something: connections wait in the backlog. */
		if (pause)
			s->paused_until = now + BACKOFF;
		if (ratelimit_pass(&s->rl_accept, now))
			(void)log_warning_errno(errno, "Failed to accept a "
			    "connection: %m%s%s", pause ? "; pausing for 100 ms" :
			    ", ignoring", ratelimit_more(&s->rl_accept, more,
			    sizeof(more)));
		return !pause;
	}
	if (s->active >= s->max) {
		refuse(s, fd);
		if (ratelimit_pass(&s->rl_full, now))
			log_warning("Too many incoming connections (%u), "
			    "dropping connection%s", s->max,
			    ratelimit_more(&s->rl_full, more, sizeof(more)));
		return true;
	}
	source_key(&peer, key);
	src = table_add(&s->sources, key);
	if (src->count >= s->max_per_source) {
		refuse(s, fd);
		source_too_many(&s->rl_source, now, "incoming connections",
		    s->max_per_source, &peer, "dropping connection");
		return true;
	}
	if ((pid = fork()) < 0) {
		int err = errno;

		if (src->count == 0)
			table_remove(&s->sources, src);
		refuse(s, fd);
		fork_failed(s, now, err, "for a connection, which was reset");
		return false;
	}
	if (pid == 0) {
		child_begin(s);
		serve_one(s, fd, &peer, now);
	}
	(void)close(fd);
	src->count++;
	ch = table_add(&s->children, &pid);
	memcpy(ch->source, key, SOURCE_KEY_SIZE);
	s->active++;
	s->status_dirty = true;
	return true;
}

/* Collects every connection process that has ended. */
static void
reap(struct server *s)
{
	struct source *src;
	struct child *ch;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (!(ch = table_find(&s->children, &pid)))
			continue;
		if ((src = table_find(&s->sources, ch->source)) &&
		    --src->count == 0)
			table_remove(&s->sources, src);
		table_remove(&s->children, ch);
		s->active--;
		s->served++;
		s->status_dirty = true;
		if (WIFSIGNALED(status))
			log_warning("Connection process %d killed by signal "
			    "%s", (int)pid, strsignal(WTERMSIG(status)));
	}
}

/* SIGTERM to every connection's process, then wait, boundedly. */
static void
stop(struct server *s)
{
	struct timespec tick = clock_timespec(20 * USEC_PER_MSEC);
	uint64_t deadline = clock_usec() + STOP_WAIT;
	struct child *ch;
	size_t pos = 0;

	(void)sd_notify(0, "STOPPING=1");
	while ((ch = table_next(&s->children, &pos)))
		(void)kill(ch->pid, SIGTERM);
	while (s->children.used > 0 && clock_usec() < deadline) {
		/* Not signals_ppoll(): terminated already, it would spin. */
		(void)ppoll(NULL, 0, &tick, &s->waitmask);
		reap(s);
	}
	if (s->children.used > 0) {
		log_warning("%zu connection processes still running %" PRIu64
		    " s after SIGTERM, killing them", s->children.used,
		    STOP_WAIT / USEC_PER_SEC);
		pos = 0;
		while ((ch = table_next(&s->children, &pos)))
			(void)kill(ch->pid, SIGKILL);
	}
}

static int
server_init(struct server *s, const struct connection_opts *o, int fd,
    const union sockaddr_any *local, const sigset_t *waitmask)
{
	struct settings st;
	int r;

	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->opts = o;
	s->waitmask = *waitmask;
	addr_format(local, s->name, sizeof(s->name));
	/* The limits are the listening address's rule's, read once here. */
	if (connection_settings(o, local, &st) < 0) {
		log_warning("Using the default limits: %u connections, %u per "
		    "source", MAX_CONNECTIONS_DEFAULT, MAX_PER_SOURCE_DEFAULT);
		settings_init(&st);
		settings_merge(&st, &o->cli);
	}
	s->max = st.max_connections;
	s->max_per_source = st.max_per_source;
	if ((r = table_init(&s->children, s->max, sizeof(struct child),
	    sizeof(pid_t))) < 0 ||
	    (r = table_init(&s->sources, s->max, sizeof(struct source),
	    SOURCE_KEY_SIZE)) < 0)
		return log_error_errno(r, "Failed to set up the server: %m");
	signals_watch_children(&s->waitmask);
	return 0;
}

/*
 * Serves the listening socket fd (bound to local) until SIGTERM. Returns
 * the exit status.
 */
int
server_run(const struct connection_opts *o, int fd,
    const union sockaddr_any *local, const sigset_t *waitmask)
{
	struct server s;
	struct sandbox sb;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char what[64];
	int i, n;

	if (server_init(&s, o, fd, local, waitmask) < 0)
		return EXIT_RELAY;
	sandbox_apply_server(&sb);
	log_info("Serving %s: at most %u connections, %u per source; "
	    "confined: %s", s.name, s.max, s.max_per_source,
	    sandbox_describe(&sb, what, sizeof(what)));
	(void)sd_notifyf(0, "READY=1\nSTATUS=Serving %s: 0 connections now",
	    s.name);
	while (!signals_terminated()) {
		uint64_t now = clock_usec(), wake = UINT64_MAX;
		struct timespec ts;

		/*
		 * Every turn, not only after a SIGCHLD: a ppoll() that
		 * returns with the listener ready leaves the signal pending,
		 * undelivered, and under a steady flood it would stay so.
		 */
		reap(&s);
		status_update(&s, now);
		/* Asleep when idle; awake for a STATUS= due, or a pause's end. */
		if (s.status_dirty)
			wake = s.status_at + STATUS_INTERVAL;
		if (s.paused_until > now && s.paused_until < wake)
			wake = s.paused_until;
		pfd.fd = s.paused_until > now ? -1 : fd;
		ts = clock_timespec(wake > now ? wake - now : 0);
		n = signals_ppoll(&pfd, 1, wake == UINT64_MAX ? NULL : &ts,
		    &s.waitmask);
		if (n > 0 && (pfd.revents & POLLIN)) {
			now = clock_usec();
			for (i = 0; i < ACCEPT_BATCH && take_one(&s, now); i++)
				;
		}
	}
	log_info("Terminated: stopping %u connections", s.active);
	stop(&s);
	table_free(&s.children);
	table_free(&s.sources);
	return EXIT_OK;
}
