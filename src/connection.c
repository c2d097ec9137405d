/*
 * One connection: its settings, the target, the PROXY header, confinement,
 * the relay, and the record. This is the whole of what v6fwd does for a
 * client, the same whether systemd started this process for the connection
 * (Accept=yes) or a v6fwd server forked it.
 *
 * Every connection that was handed over leaves exactly one record, however
 * it ended, with V6FWD_END naming the outcome; a client that v6fwd cannot
 * serve gets a RST, before anything is logged, so that neither a slow
 * logger nor anything else delays it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <systemd/sd-id128.h>

#include "clock.h"
#include "connection.h"
#include "log.h"
#include "proxy.h"
#include "relay.h"
#include "sandbox.h"
#include "sock.h"
#include "target.h"

/*
 * The connection's identifier: V6FWD_ID in each of its messages, and the
 * UNIQUE_ID of a PROXY v2 header, so that a backend's log line can be
 * joined with v6fwd's record.
 *
 * Started by systemd for this connection, it is the instance's invocation
 * ID, which journald attaches to every record as _SYSTEMD_INVOCATION_ID. It
 * is taken only from our own service manager (our parent is PID 1, or the
 * user manager that $MANAGERPID names): under systemd-socket-activate, inetd
 * or a v6fwd server the variable is inherited from whatever started them,
 * and every connection would share it. Otherwise a new random one is drawn.
 */
static void
connection_id(char id[SD_ID128_STRING_MAX])
{
	const char *mgr = getenv("MANAGERPID");
	pid_t parent = getppid();
	sd_id128_t v;

	if ((parent == 1 || (mgr && strtol(mgr, NULL, 10) == (long)parent)) &&
	    sd_id128_get_invocation(&v) == 0) {
		(void)sd_id128_to_string(v, id);
		return;
	}
	if (sd_id128_randomize(&v) < 0)
		memset(&v, 0, sizeof(v));
	(void)sd_id128_to_string(v, id);
}

/*
 * Built-in defaults, then the configuration file's rule for this local
 * address (unless a target was given on the command line: the unit then
 * says everything), then the command-line options. If c is not NULL, it is
 * the connection these are for: its client is reset before the message
 * says why the file cannot be used (see connection_reset()).
 */
static int
settings_for(const struct connection_opts *o, const union sockaddr_any *local,
    struct settings *s, struct connection *c)
{
	struct settings rule;
	char why[512];
	int r;

	settings_init(s);
	if (!(o->cli.set & SET_TARGET)) {
		r = config_lookup(o->config, o->config_given, local, &rule,
		    why, sizeof(why));
		if (r < 0) {
			if (c)
				connection_reset(c);
			return log_error_errno(r, "Refusing the connection, the "
			    "configuration is invalid: %s", why);
		}
		if (r > 0)
			settings_merge(s, &rule);
	}
	settings_merge(s, &o->cli);
	return 0;
}

int
connection_settings(const struct connection_opts *o,
    const union sockaddr_any *local, struct settings *s)
{
	return settings_for(o, local, s, NULL);
}

/* The client leg's options, before the target leg copies them. */
static void
tune_client(const struct connection *c, const struct settings *s)
{
	int r;

	sock_nodelay(c->fd);
	sock_urgent_inline(c->fd);
	if (s->keepalive && (r = sock_set_keepalive(c->fd, s->keepalive)) < 0)
		(void)log_warning_errno(r, "Failed to set keepalive on the "
		    "client's connection: %m, ignoring");
}

/*
 * The PROXY header, if configured, goes first: before any client byte. If
 * it cannot be sent, both sides are reset, and then the cause is logged.
 */
static int
send_proxy_header(const struct settings *s, struct connection *c,
    int target_fd, const char *id)
{
	union sockaddr_any to;
	socklen_t len = sizeof(to);
	char addr[TARGET_STRLEN];
	int r;

	if (!s->proxy_protocol)
		return 0;
	r = proxy_send(target_fd, s->proxy_protocol, &c->peer, &c->local, id);
	if (r == 0)
		return 0;
	if (getpeername(target_fd, &to.sa, &len) == 0)
		addr_format(&to, addr, sizeof(addr));
	else
		target_format(&s->target, addr_port(&c->local), addr,
		    sizeof(addr));
	sock_reset(target_fd);
	connection_reset(c);
	return log_error_errno(r, "Failed to send PROXY header to %s: %m",
	    addr);
}

/* Confines the process, and says so where a layer is missing. */
static void
confine(void)
{
	struct sandbox sb;
	char what[64], line[160];
	int prio;

	sandbox_apply(&sb);
	log_set_sandbox(sandbox_describe(&sb, what, sizeof(what)));
	if (sandbox_degraded(&sb, &prio, line, sizeof(line)))
		(void)log_full_errno(prio, 0, "%s", line);
}

static void
record(enum outcome outcome, const char *how,
    const struct relay_result *res, uint64_t start)
{
	char text[128];
	struct log_record rec = {
		.end = outcome_name(outcome),
		.priority = outcome_priority(outcome),
		.how = how ? how : outcome_text(outcome, text, sizeof(text)),
		.duration = clock_usec() - start,
	};

	if (res) {
		rec.first = res->first >= 0 ? relay_side_name(res->first) :
		    NULL;
		rec.failed = res->error_side >= 0 ?
		    relay_side_name(res->error_side) : NULL;
		rec.error = res->error;
		if (res->then_error) {
			rec.then_failed = relay_side_name(!res->error_side);
			rec.then_error = res->then_error;
		}
		rec.from_client = res->bytes[SIDE_CLIENT];
		rec.from_target = res->bytes[SIDE_TARGET];
		rec.undelivered = res->dropped[SIDE_CLIENT] +
		    res->dropped[SIDE_TARGET];
	}
	log_connection(&rec);
}

/*
 * Resets the client of a connection that cannot be served, if that is not
 * done yet. Every step that gives up calls it before it logs why: a logger
 * that stopped reading may hold a message for up to a second (log.c), and
 * the client must not wait for that.
 */
void
connection_reset(struct connection *c)
{
	sock_reset(c->fd);
	c->fd = -1;
}

/*
 * Ends a connection that cannot be served: the client gets a RST at once
 * (if the step that failed did not already reset it), then the record says
 * why. Returns the outcome.
 */
enum outcome
connection_refuse(struct connection *c, enum outcome outcome, uint64_t start)
{
	char id[SD_ID128_STRING_MAX];

	connection_reset(c);
	if (outcome == OUTCOME_USAGE) {
		connection_id(id);
		log_set_id(id);
	}
	record(outcome, NULL, NULL, start);
	return outcome;
}

static enum outcome
relay_outcome(enum relay_end end)
{
	switch (end) {
	case RELAY_FIN:
		return OUTCOME_FIN;
	case RELAY_RESET:
		return OUTCOME_RST;
	case RELAY_IDLE:
		return OUTCOME_IDLE;
	case RELAY_SIGNAL:
		return OUTCOME_TERMINATED;
	case RELAY_ERROR:
		break;
	}
	return OUTCOME_RELAY_ERROR;
}

/*
 * Serves the connection c, handed over at start, with the options o: the
 * steps below, in this order. Returns how it ended.
 */
enum outcome
connection_run(const struct connection_opts *o, struct connection *c,
    const sigset_t *waitmask, uint64_t start)
{
	struct settings s;
	struct relay_result res;
	enum outcome outcome;
	char id[SD_ID128_STRING_MAX], how[320];
	int target_fd;

	connection_id(id);
	log_set_id(id);
	if (settings_for(o, &c->local, &s, c) < 0)
		return connection_refuse(c, OUTCOME_CONFIG, start);
	tune_client(c, &s);
	if ((target_fd = target_reach(&s, c, waitmask, &outcome)) < 0)
		return connection_refuse(c, outcome, start);
	if (send_proxy_header(&s, c, target_fd, id) < 0)
		return connection_refuse(c, OUTCOME_PROXY_FAILED, start);
	confine();
	(void)relay_run(c->fd, target_fd, &(struct relay_opts){
	    .idle_timeout = s.idle_timeout, .pipe_grow = RELAY_PIPE_GROW },
	    waitmask, &res);
	c->fd = -1;
	outcome = relay_outcome(res.end);
	record(outcome, relay_describe(&res, how, sizeof(how)), &res, start);
	return outcome;
}
