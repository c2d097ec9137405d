/*
 * The UDP relay. Handed a datagram socket (ListenDatagram=, v6fwd-udp@
 * .socket; systemd's Accept= does not apply to datagrams), one v6fwd
 * process relays every flow on it, for as long as the service runs.
 *
 * A flow is one client address and port, and the local address it sent
 * to. Each has a socket of its own, connected to the target: so the target
 * sees one source per flow and answers each on its own, the kernel drops
 * datagrams from anyone but the target, and reports the target's ICMP
 * errors on that flow alone. Datagrams from clients arrive on the
 * listening socket and go out of the flow's socket; the target's go out
 * of the listening socket to the client, from the address the client sent
 * to (IPV6_PKTINFO), so that a listener on [::] of a host with several
 * addresses answers from the right one. A datagram is relayed whole or not
 * at all: boundaries are kept, and one too large for IPv4 is dropped and
 * counted.
 *
 * UDP has no end of a flow, so a flow ends when it has been idle, in both
 * directions, for its timeout. As conntrack does, a flow is a stream once
 * the target has answered and it is still active STREAM_AFTER after it
 * began: then the rule's idle-timeout applies (120 s by default, longer
 * than WireGuard's 25 s keepalives). Until then NEW_TIMEOUT (30 s) does, so
 * that a question and its answer (DNS), or a datagram nobody answers, does
 * not hold a socket for long. Flows in each class are kept in a list in
 * the order of their last datagram, so the next to expire is always first.
 *
 * Limits: at most max-flows flows (each costs a file descriptor and a
 * local port) and max-flows-per-source from one source (an IPv6 /64).
 * When max-flows is reached, the least recently active flow that is not a
 * stream makes room for the new one (as conntrack's early drop): a flood
 * of new sources, spoofed or not, churns through its own kind and leaves
 * the established flows alone. When every flow is a stream, or a source is
 * at its limit, the datagram is dropped and counted. Every message that a
 * client can cause is rate-limited, and so are the flows' records.
 *
 * Everything is allocated when the relay starts; the process then confines
 * itself (sandbox_apply_udp()): from then on it can make UDP sockets,
 * bind, connect and move datagrams, and log, and nothing else.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "clock.h"
#include "config.h"
#include "log.h"
#include "macro.h"
#include "mapsrc.h"
#include "outcome.h"
#include "ratelimit.h"
#include "resolve.h"
#include "sandbox.h"
#include "signals.h"
#include "siphash.h"
#include "source.h"
#include "table.h"
#include "udp.h"

/* Datagrams taken per recvmmsg() and sent per sendmmsg(). */
#define BATCH			32
/* Batches from the listening socket per wake-up, so that replies keep up. */
#define LISTENER_ROUNDS		4
#define EVENTS_MAX		64
/* A buffer holds any IPv6 datagram but a jumbogram (65527 bytes). */
#define DGRAM_BUF		65536
/*
 * A run of equal datagrams to one destination goes down the stack as one
 * (UDP_SEGMENT: the kernel, or the NIC, cuts it into the same datagrams):
 * at most this many, and this many bytes in all, as the kernel takes them.
 */
#define GSO_SEGMENTS_MAX	64
#define GSO_BYTES_MAX		65000
/* 65535 less the IPv4 header (20) and the UDP header (8). */
#define IPV4_PAYLOAD_MAX	65507
#define IPV6_PAYLOAD_MAX	65527

/* Until a flow is a stream, it ends after this much idle time. */
#define NEW_TIMEOUT		(30 * USEC_PER_SEC)
/* Answered and still active this long after it began: a stream. */
#define STREAM_AFTER		(2 * USEC_PER_SEC)

/* File descriptors besides the flows': ours, libsystemd's, stdio. */
#define FD_RESERVE		32
/*
 * Flow records: RECORD_RATE a second, in bursts of up to RECORD_BURST,
 * well within journald's own default limit for a service (10000 in 30 s).
 * A flow the target never answered is recorded only while more than half
 * the burst is left, so that a flood of those cannot crowd out the rest.
 * What is left out is summed up at most every SUMMARY_INTERVAL.
 */
#define RECORD_RATE		200
#define RECORD_BURST		1000
#define SUMMARY_INTERVAL	(10 * USEC_PER_SEC)
/* How often STATUS= may change. */
#define STATUS_INTERVAL		USEC_PER_SEC
/* What the process may wait for the journal each second; see log.c. */
#define LOG_BUDGET		(20 * USEC_PER_MSEC)

enum { FROM_CLIENT, FROM_TARGET };

enum flow_end {
	END_IDLE,		/* idle for its timeout */
	END_EVICTED,		/* ended early to make room for a new flow */
	END_TERMINATED,		/* the relay was stopped */
};

/* What identifies a flow; never all zero (tag), as table.c needs. */
struct flow_key {
	uint8_t		tag;
	uint8_t		pad;
	uint16_t	port;		/* the client's, network order */
	uint32_t	scope;		/* the client's scope ID (link-local) */
	uint8_t		client[16];
	uint8_t		local[16];	/* the address the client sent to */
};

/* The flows' index: key to slot. */
struct flow_entry {
	struct flow_key	key;
	uint32_t	slot;
};

/* A source and how many flows it has. */
struct source_entry {
	uint8_t		key[SOURCE_KEY_SIZE];
	unsigned	count;
};

/* The target side's address: IPv4, or IPv6 for a bracketed target. */
union inet_addr {
	struct sockaddr		sa;
	struct sockaddr_in	in;
	struct sockaddr_in6	in6;
};

struct flow_list {
	struct flow	*head, *tail;	/* least recently active first */
};

struct flow {
	struct flow	*prev, *next;	/* in its list, or the free list */
	int		 fd;		/* connected to the target; -1: free */
	bool		 stream;
	bool		 gso[2];	/* to the target, to the client */
	struct flow_key	 key;
	uint8_t		 source[SOURCE_KEY_SIZE];
	struct sockaddr_in6 client;
	struct in6_pktinfo local;	/* to answer from, see reply_control */
	union inet_addr	 from;		/* what the target sees */
	uint64_t	 serial;	/* for its identifier */
	uint64_t	 start, last;
	uint64_t	 datagrams[2], bytes[2], dropped[2];
	uint64_t	 errors;	/* ICMP errors from the target's side */
	int		 error;		/* the last one's errno */
};

/* Room for the ancillary data a datagram from a client comes with. */
union client_control {
	struct cmsghdr	align;
	char		buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
			    CMSG_SPACE(sizeof(struct in_pktinfo)) +
			    CMSG_SPACE(sizeof(uint32_t))];
};

/* What a datagram, or a run of them, is sent with. */
union send_control {
	struct cmsghdr	align;
	char		buf[CMSG_SPACE(sizeof(uint16_t)) +
			    CMSG_SPACE(sizeof(struct in6_pktinfo))];
};

/* What was left out of the journal, for the summary. */
struct suppressed {
	uint64_t	flows, unanswered;
	uint64_t	datagrams[2], bytes[2];
};

struct udp {
	int		 fd;		/* the listening socket */
	int		 epfd;
	struct sockaddr_in6 local;	/* its address */
	bool		 wildcard;	/* bound to [::]: pktinfo says which */
	char		 name[ADDR_STRLEN + 4];	/* "[::]:27015/udp" */
	char		 target_name[TARGET_STRLEN];
	union inet_addr	 target;
	size_t		 payload_max;	/* the largest datagram the target takes */
	sigset_t	 waitmask;

	unsigned	 map_len;	/* map-source prefix, 0: off */
	struct mapsrc_pool pool;
	uint8_t		 map_key[MAPSRC_KEY_SIZE];

	unsigned	 max, max_per_source;
	uint64_t	 idle, new_idle;	/* a stream's timeout, a new flow's */
	struct flow	*flows;			/* max slots */
	struct flow	*free;
	struct flow_list new, streams;
	unsigned	 nflows;
	struct table	 index, sources;
	uint64_t	 serial;
	uint8_t		 id_key[2][SIPHASH_KEY_SIZE];

	/* One batch of datagrams, either way. */
	uint8_t		*bufs;			/* BATCH × DGRAM_BUF */
	struct mmsghdr	 in[BATCH], out[BATCH];
	struct iovec	 iov[BATCH], out_iov[BATCH];
	struct sockaddr_in6 peers[BATCH];
	struct flow_key	 keys[BATCH];
	struct in6_pktinfo locals[BATCH];
	union client_control control[BATCH];
	union send_control send_control[BATCH];
	unsigned	 segs[BATCH];		/* datagrams in message k */
	bool		 gso;			/* the kernel has UDP_SEGMENT */

	/* Totals, for STATUS= and the last message. */
	uint64_t	 datagrams[2], bytes[2];
	uint64_t	 dropped;		/* datagrams, either way */
	uint64_t	 flows_total, evicted, target_errors;
	uint32_t	 kernel_drops;		/* SO_RXQ_OVFL: queue full */

	uint64_t	 tokens;		/* record budget, in thousandths */
	uint64_t	 tokens_at;
	struct suppressed left_out;
	uint64_t	 summary_at;
	uint64_t	 status_at, budget_at;
	bool		 status_dirty;
	struct ratelimit rl_full, rl_evict, rl_source, rl_socket, rl_large,
			 rl_error, rl_send, rl_recv;
};

/* ---- flows: the index, the lists, the slots ---- */

static void
list_unlink(struct flow_list *l, struct flow *f)
{
	if (f->prev)
		f->prev->next = f->next;
	else
		l->head = f->next;
	if (f->next)
		f->next->prev = f->prev;
	else
		l->tail = f->prev;
	f->prev = f->next = NULL;
}

static void
list_append(struct flow_list *l, struct flow *f)
{
	f->next = NULL;
	f->prev = l->tail;
	if (l->tail)
		l->tail->next = f;
	else
		l->head = f;
	l->tail = f;
}

static struct flow_list *
list_of(struct udp *u, const struct flow *f)
{
	return f->stream ? &u->streams : &u->new;
}

static uint64_t
timeout_of(const struct udp *u, const struct flow *f)
{
	return f->stream ? u->idle : u->new_idle;
}

/*
 * A datagram moved either way at now: the flow goes last in its list, or
 * into the streams' once it is one.
 */
static void
flow_touch(struct udp *u, struct flow *f, uint64_t now)
{
	struct flow_list *l = list_of(u, f);

	f->last = now;
	if (!f->stream && f->datagrams[FROM_TARGET] > 0 &&
	    now - f->start >= STREAM_AFTER) {
		list_unlink(l, f);
		f->stream = true;
		list_append(&u->streams, f);
	} else if (l->tail != f) {
		list_unlink(l, f);
		list_append(l, f);
	}
}

static struct flow *
flow_find(struct udp *u, const struct flow_key *key)
{
	struct flow_entry *e = table_find(&u->index, key);

	return e ? &u->flows[e->slot] : NULL;
}

/* ---- records ---- */

/* Whether the journal gets this flow's record, or only the summary. */
static bool
record_allowed(struct udp *u, const struct flow *f, uint64_t now)
{
	bool answered = f->datagrams[FROM_TARGET] > 0;

	u->tokens += (now - u->tokens_at) * RECORD_RATE / USEC_PER_MSEC;
	if (u->tokens > RECORD_BURST * 1000)
		u->tokens = RECORD_BURST * 1000;
	u->tokens_at = now;
	if (u->tokens < 1000 || (!answered && u->tokens <= RECORD_BURST * 500))
		return false;
	u->tokens -= 1000;
	return true;
}

static void
flow_record(struct udp *u, const struct flow *f, enum flow_end end,
    uint64_t now)
{
	union sockaddr_any client, local, from;
	char id[33], how[128], took[32];
	uint64_t a, b;
	struct log_flow rec = {
		.target = u->target_name,
		.priority = LOG_INFO,
		.error = f->error,
		.datagrams_from_client = f->datagrams[FROM_CLIENT],
		.datagrams_from_target = f->datagrams[FROM_TARGET],
		.from_client = f->bytes[FROM_CLIENT],
		.from_target = f->bytes[FROM_TARGET],
		.dropped_from_client = f->dropped[FROM_CLIENT],
		.dropped_from_target = f->dropped[FROM_TARGET],
		.target_errors = f->errors,
		.duration = now - f->start,
	};

	if (!record_allowed(u, f, now)) {
		u->left_out.flows++;
		if (f->datagrams[FROM_TARGET] == 0)
			u->left_out.unanswered++;
		u->left_out.datagrams[FROM_CLIENT] += f->datagrams[FROM_CLIENT];
		u->left_out.datagrams[FROM_TARGET] += f->datagrams[FROM_TARGET];
		u->left_out.bytes[FROM_CLIENT] += f->bytes[FROM_CLIENT];
		u->left_out.bytes[FROM_TARGET] += f->bytes[FROM_TARGET];
		return;
	}
	/* Unique within the process, and unguessable: a keyed hash. */
	a = siphash24(u->id_key[0], &f->serial, sizeof(f->serial));
	b = siphash24(u->id_key[1], &f->serial, sizeof(f->serial));
	snprintf(id, sizeof(id), "%016" PRIx64 "%016" PRIx64, a, b);
	memset(&client, 0, sizeof(client));
	client.in6 = f->client;
	memset(&local, 0, sizeof(local));
	local.in6.sin6_family = AF_INET6;
	local.in6.sin6_addr = f->local.ipi6_addr;
	local.in6.sin6_port = u->local.sin6_port;
	memset(&from, 0, sizeof(from));
	memcpy(&from, &f->from, sizeof(f->from));
	switch (end) {
	case END_IDLE:
		snprintf(how, sizeof(how), "idle timeout (%s)%s",
		    clock_format_duration(timeout_of(u, f), took, sizeof(took)),
		    f->datagrams[FROM_TARGET] ? "" :
		    ", the target never answered");
		rec.end = "idle-timeout";
		break;
	case END_EVICTED:
		snprintf(how, sizeof(how), "ended to make room for a new flow "
		    "(max-flows=%u reached)", u->max);
		rec.end = "evicted";
		break;
	case END_TERMINATED:
	default:
		snprintf(how, sizeof(how), "terminated by signal");
		rec.end = "terminated";
		break;
	}
	rec.id = id;
	rec.how = how;
	rec.client = &client;
	rec.local = &local;
	rec.source = from.sa.sa_family ? &from : NULL;
	log_flow(&rec);
}

/* Says what was left out of the journal, when it is time or at the end. */
static void
summary(struct udp *u, uint64_t now, bool force)
{
	struct suppressed *s = &u->left_out;

	if (s->flows == 0 || (!force && now - u->summary_at < SUMMARY_INTERVAL))
		return;
	log_notice("Left out the records of %" PRIu64 " flows that ended, "
	    "more than %u a second (%" PRIu64 " of them never answered by the "
	    "target); together they had %" PRIu64 " datagrams (%" PRIu64
	    " bytes) from clients and %" PRIu64 " (%" PRIu64 " bytes) from "
	    "the target", s->flows, RECORD_RATE, s->unanswered,
	    s->datagrams[FROM_CLIENT], s->bytes[FROM_CLIENT],
	    s->datagrams[FROM_TARGET], s->bytes[FROM_TARGET]);
	memset(s, 0, sizeof(*s));
	u->summary_at = now;
}

/* Ends f: its record, its socket, its place in every table. */
static void
flow_end(struct udp *u, struct flow *f, enum flow_end end, uint64_t now)
{
	struct flow_entry *e;
	struct source_entry *src;

	flow_record(u, f, end, now);
	(void)close(f->fd);
	f->fd = -1;
	list_unlink(list_of(u, f), f);
	if ((e = table_find(&u->index, &f->key)))
		table_remove(&u->index, e);
	if ((src = table_find(&u->sources, f->source)) && --src->count == 0)
		table_remove(&u->sources, src);
	f->next = u->free;
	u->free = f;
	u->nflows--;
	u->status_dirty = true;
}

/* Ends the flows whose time is up. */
static void
expire(struct udp *u, uint64_t now)
{
	struct flow *f;

	while ((f = u->new.head) && now - f->last >= u->new_idle)
		flow_end(u, f, END_IDLE, now);
	while ((f = u->streams.head) && now - f->last >= u->idle)
		flow_end(u, f, END_IDLE, now);
}

/* Milliseconds until the next flow expires, or STATUS= may change. */
static int
next_wake(const struct udp *u, uint64_t now)
{
	uint64_t wake = now + STATUS_INTERVAL, t;

	if (u->new.head && (t = u->new.head->last + u->new_idle) < wake)
		wake = t;
	if (u->streams.head && (t = u->streams.head->last + u->idle) < wake)
		wake = t;
	if (wake <= now)
		return 0;
	return (int)((wake - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC);
}

/* ---- a new flow ---- */

/* The flow's socket, bound to its mapped source and connected. */
static int
flow_socket(struct udp *u, const struct sockaddr_in6 *client,
    union inet_addr *from, const char **step)
{
	union sockaddr_any c, src, t;
	socklen_t len = sizeof(*from);
	uint32_t hash;
	int fd, one = 1, r;

	*step = "open a socket";
	fd = socket(u->target.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Every ICMP error, not only "port unreachable"; see target_errors(). */
	if (u->target.sa.sa_family == AF_INET)
		(void)setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
	else
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one,
		    sizeof(one));
	memset(&c, 0, sizeof(c));
	c.in6 = *client;
	/* An IPv4 client on a dual-stack socket keeps the relay's address. */
	if (u->map_len && mapsrc_client(u->map_key, &c, u->map_len,
	    &hash) == 0) {
		*step = "bind to its mapped source";
		memset(&t, 0, sizeof(t));
		memcpy(&t, &u->target, sizeof(u->target));
		if (mapsrc_source(hash, &u->pool, &t, &src) < 0 ||
		    bind(fd, &src.sa, sizeof(src.in)) < 0) {
			r = -errno;
			goto err;
		}
	}
	*step = "connect to the target";
	if (connect(fd, &u->target.sa, u->target.sa.sa_family == AF_INET ?
	    sizeof(u->target.in) : sizeof(u->target.in6)) < 0) {
		r = -errno;
		goto err;
	}
	if (getsockname(fd, &from->sa, &len) < 0)
		memset(from, 0, sizeof(*from));
	return fd;
err:
	(void)close(fd);
	return r;
}

/*
 * The flow for a datagram from client to local, made if there is none and
 * the limits allow it. Returns NULL when the datagram is to be dropped.
 */
static struct flow *
flow_get(struct udp *u, const struct flow_key *key,
    const struct sockaddr_in6 *client, const struct in6_pktinfo *local,
    uint64_t now)
{
	union sockaddr_any peer;
	struct flow_entry *e;
	struct source_entry *src;
	struct flow *f;
	struct epoll_event ev;
	uint8_t skey[SOURCE_KEY_SIZE];
	char more[64], who[ADDR_STRLEN];
	const char *step;
	int fd;

	if ((f = flow_find(u, key)))
		return f;
	memset(&peer, 0, sizeof(peer));
	peer.in6 = *client;
	source_key(&peer, skey);
	src = table_find(&u->sources, skey);
	if (src && src->count >= u->max_per_source) {
		source_too_many(&u->rl_source, now, "flows", u->max_per_source,
		    &peer, "dropping a datagram from a new client");
		return NULL;
	}
	if (u->nflows >= u->max) {
		if (!u->new.head) {
			if (ratelimit_pass(&u->rl_full, now))
				log_warning("Too many flows (%u), every one of "
				    "them a stream: dropping a datagram from a "
				    "new client%s", u->max, ratelimit_more(
				    &u->rl_full, more, sizeof(more)));
			return NULL;
		}
		if (ratelimit_pass(&u->rl_evict, now))
			log_warning("Too many flows (%u): ending the least "
			    "recently active that is not a stream, to make "
			    "room for a new client%s", u->max, ratelimit_more(
			    &u->rl_evict, more, sizeof(more)));
		u->evicted++;
		flow_end(u, u->new.head, END_EVICTED, now);
		/* It may have been the source's: look again. */
		src = table_find(&u->sources, skey);
	}
	f = u->free;
	if ((fd = flow_socket(u, client, &f->from, &step)) < 0) {
		if (ratelimit_pass(&u->rl_socket, now))
			(void)log_error_errno(fd, "Failed to %s for a new flow "
			    "from %s: %m; dropping its datagram%s", step,
			    addr_format(&peer, who, sizeof(who)),
			    ratelimit_more(&u->rl_socket, more, sizeof(more)));
		return NULL;
	}
	ev.events = EPOLLIN;
	ev.data.u64 = (uint64_t)(f - u->flows) + 1;
	if (epoll_ctl(u->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		if (ratelimit_pass(&u->rl_socket, now))
			(void)log_error_errno(errno, "Failed to watch a new "
			    "flow's socket: %m; dropping its datagram%s",
			    ratelimit_more(&u->rl_socket, more, sizeof(more)));
		(void)close(fd);
		return NULL;
	}
	/* Both tables have room for every flow: neither add can fail. */
	if (!src)
		src = table_add(&u->sources, skey);
	src->count++;
	e = table_add(&u->index, key);
	e->slot = (uint32_t)(f - u->flows);
	u->free = f->next;
	f->prev = f->next = NULL;
	f->fd = fd;
	f->stream = false;
	f->gso[FROM_CLIENT] = f->gso[FROM_TARGET] = u->gso;
	f->key = *key;
	memcpy(f->source, skey, sizeof(skey));
	f->client = *client;
	f->local = *local;
	f->serial = ++u->serial;
	f->start = f->last = now;
	memset(f->datagrams, 0, sizeof(f->datagrams));
	memset(f->bytes, 0, sizeof(f->bytes));
	memset(f->dropped, 0, sizeof(f->dropped));
	f->errors = 0;
	f->error = 0;
	list_append(&u->new, f);
	u->nflows++;
	u->flows_total++;
	u->status_dirty = true;
	return f;
}

/* ---- ICMP errors from the target's side ---- */

/* The errors ICMP brings back, reported on the flow's next call. */
static bool
icmp_errno(int err)
{
	switch (err) {
	case ECONNREFUSED:
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EHOSTDOWN:
	case ENETDOWN:
	case EPROTO:
	case ENOPROTOOPT:
	case EMSGSIZE:
		return true;
	}
	return false;
}

/* What an ICMP or ICMPv6 error is, in the words of RFC 792 and 4443. */
static const char *
icmp_name(const struct sock_extended_err *ee)
{
	/* Destination unreachable's codes (type 3; ICMPv6: type 1). */
	static const char *const unreach[] = {
		[0] = "network unreachable", [1] = "host unreachable",
		[3] = "port unreachable", [4] = "fragmentation needed",
		[9] = "administratively prohibited",
		[10] = "administratively prohibited",
		[13] = "administratively prohibited",
	};
	static const char *const unreach6[] = {
		[0] = "no route", [1] = "administratively prohibited",
		[3] = "address unreachable", [4] = "port unreachable",
	};
	bool v6 = ee->ee_origin == SO_EE_ORIGIN_ICMP6;
	const char *const *codes = v6 ? unreach6 : unreach;
	size_t n = v6 ? ELEMENTSOF(unreach6) : ELEMENTSOF(unreach);

	if (!v6 && ee->ee_origin != SO_EE_ORIGIN_ICMP)
		return "local error";
	/* Time exceeded is 11 in ICMP, 3 in ICMPv6; too big only in v6. */
	if (ee->ee_type == (v6 ? 3 : 11))
		return "time exceeded";
	if (v6 && ee->ee_type == 2)
		return "packet too big";
	if (ee->ee_type != (v6 ? 1 : 3))
		return v6 ? "ICMPv6 error" : "ICMP error";
	return ee->ee_code < n && codes[ee->ee_code] ? codes[ee->ee_code] :
	    "destination unreachable";
}

/*
 * Reads the ICMP errors queued on the flow's socket (IP_RECVERR): counts
 * each, and says the first of every second what came from where.
 */
static void
target_errors(struct udp *u, struct flow *f, uint64_t now)
{
	union {
		struct cmsghdr	align;
		char		buf[CMSG_SPACE(sizeof(struct sock_extended_err) +
				    sizeof(struct sockaddr_in6))];
	} control;
	char dummy[1], more[64], who[ADDR_STRLEN], by[INET6_ADDRSTRLEN];
	struct iovec iov = { .iov_base = dummy, .iov_len = sizeof(dummy) };
	struct msghdr mh;
	struct cmsghdr *cm;
	const struct sock_extended_err *ee;
	union sockaddr_any peer, offender;
	int i;

	for (i = 0; i < BATCH; i++) {
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = control.buf;
		mh.msg_controllen = sizeof(control.buf);
		if (recvmsg(f->fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			return;
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			if (!((cm->cmsg_level == IPPROTO_IP &&
			    cm->cmsg_type == IP_RECVERR) ||
			    (cm->cmsg_level == IPPROTO_IPV6 &&
			    cm->cmsg_type == IPV6_RECVERR)))
				continue;
			ee = (const struct sock_extended_err *)CMSG_DATA(cm);
			f->errors++;
			f->error = (int)ee->ee_errno;
			u->target_errors++;
			if (!ratelimit_pass(&u->rl_error, now))
				continue;
			memset(&peer, 0, sizeof(peer));
			peer.in6 = f->client;
			memset(&offender, 0, sizeof(offender));
			memcpy(&offender, SO_EE_OFFENDER(ee),
			    SO_EE_OFFENDER(ee)->sa_family == AF_INET6 ?
			    sizeof(struct sockaddr_in6) :
			    sizeof(struct sockaddr_in));
			if (offender.sa.sa_family != AF_INET &&
			    offender.sa.sa_family != AF_INET6)
				snprintf(by, sizeof(by), "?");
			else
				addr_host(&offender, by, sizeof(by));
			(void)log_warning_errno((int)ee->ee_errno, "ICMP error "
			    "for the flow of %s to %s: %s from %s (%m), "
			    "ignoring%s", addr_format(&peer, who, sizeof(who)),
			    u->target_name, icmp_name(ee), by,
			    ratelimit_more(&u->rl_error, more, sizeof(more)));
		}
	}
}

/* ---- the two directions ---- */

/* Sets up in[] for a recvmmsg() on the listening socket. */
static void
prepare_from_clients(struct udp *u)
{
	size_t i;

	for (i = 0; i < BATCH; i++) {
		struct msghdr *mh = &u->in[i].msg_hdr;

		u->iov[i].iov_base = u->bufs + i * DGRAM_BUF;
		u->iov[i].iov_len = DGRAM_BUF;
		mh->msg_name = &u->peers[i];
		mh->msg_namelen = sizeof(u->peers[i]);
		mh->msg_iov = &u->iov[i];
		mh->msg_iovlen = 1;
		mh->msg_control = u->control[i].buf;
		mh->msg_controllen = sizeof(u->control[i].buf);
		mh->msg_flags = 0;
	}
}

/*
 * The flow key of datagram i, and the local address it was sent to: from
 * IPV6_PKTINFO (or IP_PKTINFO for an IPv4 client on a dual-stack socket)
 * when the listener is bound to [::], else the listener's own.
 */
static void
parse_datagram(struct udp *u, size_t i)
{
	struct msghdr *mh = &u->in[i].msg_hdr;
	struct in6_pktinfo *local = &u->locals[i];
	struct flow_key *k = &u->keys[i];
	struct cmsghdr *cm;
	struct in_pktinfo pi4;
	uint32_t drops;

	local->ipi6_addr = u->local.sin6_addr;
	local->ipi6_ifindex = 0;
	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == IPPROTO_IPV6 &&
		    cm->cmsg_type == IPV6_PKTINFO) {
			memcpy(local, CMSG_DATA(cm), sizeof(*local));
			/* Only a link-local source needs its interface. */
			if (!IN6_IS_ADDR_LINKLOCAL(&local->ipi6_addr))
				local->ipi6_ifindex = 0;
		} else if (cm->cmsg_level == IPPROTO_IP &&
		    cm->cmsg_type == IP_PKTINFO) {
			memcpy(&pi4, CMSG_DATA(cm), sizeof(pi4));
			memset(&local->ipi6_addr, 0, sizeof(local->ipi6_addr));
			local->ipi6_addr.s6_addr[10] = 0xff;
			local->ipi6_addr.s6_addr[11] = 0xff;
			memcpy(local->ipi6_addr.s6_addr + 12, &pi4.ipi_addr, 4);
			local->ipi6_ifindex = 0;
		} else if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SO_RXQ_OVFL) {
			memcpy(&drops, CMSG_DATA(cm), sizeof(drops));
			if (drops != u->kernel_drops) {
				u->kernel_drops = drops;
				u->status_dirty = true;
			}
		}
	}
	memset(k, 0, sizeof(*k));
	k->tag = 1;
	k->port = u->peers[i].sin6_port;
	k->scope = u->peers[i].sin6_scope_id;
	memcpy(k->client, &u->peers[i].sin6_addr, 16);
	memcpy(k->local, &local->ipi6_addr, 16);
}

/* Whether datagram i of the batch can go to the target at all. */
static bool
fits(const struct udp *u, size_t i)
{
	return !(u->in[i].msg_hdr.msg_flags & MSG_TRUNC) &&
	    u->in[i].msg_len <= u->payload_max;
}

/* Drops datagram i, too large for the target's IP version. */
static void
drop_large(struct udp *u, struct flow *f, size_t i, uint64_t now)
{
	char more[64], who[ADDR_STRLEN];
	union sockaddr_any peer;
	size_t len = u->in[i].msg_len;

	f->dropped[FROM_CLIENT]++;
	u->dropped++;
	if (ratelimit_pass(&u->rl_large, now)) {
		memset(&peer, 0, sizeof(peer));
		peer.in6 = f->client;
		log_warning("Dropped a datagram of %zu bytes from %s: larger "
		    "than the %zu an %s datagram can carry%s", len,
		    addr_format(&peer, who, sizeof(who)), u->payload_max,
		    u->target.sa.sa_family == AF_INET ? "IPv4" : "IPv6",
		    ratelimit_more(&u->rl_large, more, sizeof(more)));
	}
}

/*
 * Fills out[] with the datagrams first to last (exclusive) of the batch,
 * their out_iov set, all to one destination (name, or the connected
 * peer; from pi, or the kernel's choice): each run of datagrams of one
 * length in one message with UDP_SEGMENT when gso, each in a message of
 * its own without. Returns the number of messages; segs[] says how many
 * datagrams each holds.
 */
static unsigned
pack(struct udp *u, size_t first, size_t last, bool gso,
    struct sockaddr_in6 *name, const struct in6_pktinfo *pi)
{
	struct msghdr *mh;
	struct cmsghdr *cm;
	size_t i = first, j, len, total, used;
	uint16_t seg;
	unsigned k;

	for (k = 0; i < last; k++, i = j) {
		len = u->out_iov[i].iov_len;
		total = len;
		for (j = i + 1; gso && len > 0 && j < last &&
		    u->out_iov[j].iov_len == len && j - i < GSO_SEGMENTS_MAX &&
		    total + len <= GSO_BYTES_MAX; j++)
			total += len;
		mh = &u->out[k].msg_hdr;
		memset(mh, 0, sizeof(*mh));
		mh->msg_name = name;
		mh->msg_namelen = name ? sizeof(*name) : 0;
		mh->msg_iov = &u->out_iov[i];
		mh->msg_iovlen = j - i;
		u->segs[k] = (unsigned)(j - i);
		if (j - i == 1 && !pi)
			continue;
		memset(&u->send_control[k], 0, sizeof(u->send_control[k]));
		mh->msg_control = u->send_control[k].buf;
		mh->msg_controllen = sizeof(u->send_control[k].buf);
		cm = CMSG_FIRSTHDR(mh);
		used = 0;
		if (j - i > 1) {
			seg = (uint16_t)len;
			cm->cmsg_level = IPPROTO_UDP;
			cm->cmsg_type = UDP_SEGMENT;
			cm->cmsg_len = CMSG_LEN(sizeof(seg));
			memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
			used += CMSG_SPACE(sizeof(seg));
			cm = (struct cmsghdr *)(u->send_control[k].buf + used);
		}
		if (pi) {
			cm->cmsg_level = IPPROTO_IPV6;
			cm->cmsg_type = IPV6_PKTINFO;
			cm->cmsg_len = CMSG_LEN(sizeof(*pi));
			memcpy(CMSG_DATA(cm), pi, sizeof(*pi));
			used += CMSG_SPACE(sizeof(*pi));
		}
		mh->msg_controllen = used;
	}
	return k;
}

/*
 * Sends datagrams first to last (exclusive) of the batch, their out_iov
 * set, out of fd to one destination, in as few system calls and passes
 * down the stack as it can. A path that cannot take a run whole (a
 * smaller MTU, a NIC without checksum offload) turns *gso off for good
 * and gets the rest one by one. Returns how many were sent; *err is the
 * errno of the first that was not (the caller's to count), or 0.
 */
static size_t
send_run(struct udp *u, int fd, size_t first, size_t last, bool *gso,
    struct sockaddr_in6 *name, const struct in6_pktinfo *pi, int *err)
{
	unsigned n, q = 0, i;
	size_t sent = 0;
	int r;

	*err = 0;
	n = pack(u, first, last, *gso, name, pi);
	while (q < n) {
		if (n - q == 1 && u->segs[q] == 1 && !name && !pi)
			r = send(fd, u->out_iov[first + sent].iov_base,
			    u->out_iov[first + sent].iov_len, 0) < 0 ? -1 : 1;
		else
			r = sendmmsg(fd, &u->out[q], n - q, 0);
		if (r > 0) {
			for (i = q; i < q + (unsigned)r; i++)
				sent += u->segs[i];
			q += (unsigned)r;
			continue;
		}
		*err = errno;
		if (u->segs[q] > 1 && (errno == EINVAL || errno == EIO ||
		    errno == EMSGSIZE || errno == EOPNOTSUPP ||
		    errno == ENOPROTOOPT)) {
			*gso = false;
			if (errno == EOPNOTSUPP || errno == ENOPROTOOPT)
				u->gso = false;
			return sent + send_run(u, fd, first + sent, last, gso,
			    name, pi, err);
		}
		break;
	}
	return sent;
}

/* Datagrams first to last (exclusive) of the batch go to f's target. */
static void
to_target(struct udp *u, struct flow *f, size_t first, size_t last,
    uint64_t now)
{
	size_t k = first, m, j, sent;
	bool retried = false;
	int err;

	while (k < last) {
		if (!fits(u, k)) {
			drop_large(u, f, k, now);
			k++;
			continue;
		}
		for (m = k; m < last && fits(u, m); m++) {
			u->out_iov[m].iov_base = u->iov[m].iov_base;
			u->out_iov[m].iov_len = u->in[m].msg_len;
		}
		sent = send_run(u, f->fd, k, m, &f->gso[FROM_CLIENT], NULL,
		    NULL, &err);
		for (j = k; j < k + sent; j++) {
			f->bytes[FROM_CLIENT] += u->out_iov[j].iov_len;
			u->bytes[FROM_CLIENT] += u->out_iov[j].iov_len;
		}
		f->datagrams[FROM_CLIENT] += sent;
		u->datagrams[FROM_CLIENT] += sent;
		k += sent;
		if (sent > 0)
			retried = false;
		if (k == m)
			continue;
		/*
		 * An ICMP error earlier is reported on this call, and the
		 * datagram not sent: target_errors() counts it, this retries
		 * once. Anything else drops the datagram.
		 */
		if (icmp_errno(err) && !retried) {
			retried = true;
			target_errors(u, f, now);
			continue;
		}
		f->error = err;
		f->dropped[FROM_CLIENT]++;
		u->dropped++;
		retried = false;
		k++;
	}
	flow_touch(u, f, now);
}

/* Datagrams from clients, from the listening socket, to their flows. */
static void
from_clients(struct udp *u)
{
	struct flow *f;
	char more[64];
	uint64_t now;
	size_t i, j;
	int round, n;

	for (round = 0; round < LISTENER_ROUNDS; round++) {
		prepare_from_clients(u);
		n = recvmmsg(u->fd, u->in, BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    ratelimit_pass(&u->rl_recv, clock_usec()))
				(void)log_warning_errno(errno, "Failed to "
				    "receive datagrams: %m, ignoring%s",
				    ratelimit_more(&u->rl_recv, more,
				    sizeof(more)));
			return;
		}
		now = clock_usec();
		for (i = 0; i < (size_t)n; i++)
			parse_datagram(u, i);
		/* Consecutive datagrams of one flow go in one sendmmsg(). */
		for (i = 0; i < (size_t)n; i = j) {
			for (j = i + 1; j < (size_t)n && memcmp(&u->keys[i],
			    &u->keys[j], sizeof(u->keys[i])) == 0; j++)
				;
			f = flow_get(u, &u->keys[i], &u->peers[i],
			    &u->locals[i], now);
			if (!f) {
				u->dropped += j - i;
				u->status_dirty = true;
				continue;
			}
			to_target(u, f, i, j, now);
		}
		u->status_dirty = true;
		if (n < BATCH)
			return;
	}
}

/* Datagrams from f's target, to its client through the listening socket. */
static void
from_target(struct udp *u, struct flow *f, uint32_t events)
{
	uint64_t now = clock_usec();
	char more[64], who[ADDR_STRLEN];
	union sockaddr_any peer;
	bool retried = false;
	size_t sent;
	int i, n, k, err;

	if (events & EPOLLERR)
		target_errors(u, f, now);
	if (!(events & EPOLLIN))
		return;
again:
	for (i = 0; i < BATCH; i++) {
		struct msghdr *mh = &u->in[i].msg_hdr;

		u->iov[i].iov_base = u->bufs + (size_t)i * DGRAM_BUF;
		u->iov[i].iov_len = DGRAM_BUF;
		memset(mh, 0, sizeof(*mh));
		mh->msg_iov = &u->iov[i];
		mh->msg_iovlen = 1;
	}
	n = recvmmsg(f->fd, u->in, BATCH, MSG_DONTWAIT, NULL);
	if (n < 0) {
		if (icmp_errno(errno) && !retried) {
			retried = true;
			target_errors(u, f, now);
			goto again;
		}
		return;
	}
	for (i = 0; i < n; i++) {
		u->out_iov[i].iov_base = u->iov[i].iov_base;
		u->out_iov[i].iov_len = u->in[i].msg_len;
	}
	for (k = 0; k < n; ) {
		sent = send_run(u, u->fd, (size_t)k, (size_t)n,
		    &f->gso[FROM_TARGET], &f->client, u->wildcard ? &f->local :
		    NULL, &err);
		for (i = k; i < k + (int)sent; i++) {
			f->bytes[FROM_TARGET] += u->out_iov[i].iov_len;
			u->bytes[FROM_TARGET] += u->out_iov[i].iov_len;
		}
		f->datagrams[FROM_TARGET] += sent;
		u->datagrams[FROM_TARGET] += sent;
		k += (int)sent;
		if (k == n)
			break;
		if (err == EAGAIN || err == ENOBUFS) {
			/* The listener's queue is full: UDP drops, so do we. */
			f->dropped[FROM_TARGET] += (uint64_t)(n - k);
			u->dropped += (uint64_t)(n - k);
			break;
		}
		f->error = err;
		f->dropped[FROM_TARGET]++;
		u->dropped++;
		if (ratelimit_pass(&u->rl_send, now)) {
			memset(&peer, 0, sizeof(peer));
			peer.in6 = f->client;
			(void)log_warning_errno(err, "Failed to send a datagram "
			    "to %s: %m, dropped%s", addr_format(&peer, who,
			    sizeof(who)), ratelimit_more(&u->rl_send, more,
			    sizeof(more)));
		}
		k++;
	}
	u->status_dirty = true;
	flow_touch(u, f, now);
}

/* ---- the relay ---- */

static void
status_update(struct udp *u, uint64_t now, bool force)
{
	if (!force && (!u->status_dirty || now - u->status_at < STATUS_INTERVAL))
		return;
	(void)sd_notifyf(0, "STATUS=Relaying %s to %s: %u flows now, %" PRIu64
	    " datagrams from clients, %" PRIu64 " from the target, %" PRIu64
	    " dropped", u->name, u->target_name, u->nflows,
	    u->datagrams[FROM_CLIENT], u->datagrams[FROM_TARGET],
	    u->dropped + u->kernel_drops);
	u->status_at = now;
	u->status_dirty = false;
}

/* What happens every second: STATUS=, the log's budget, the summary. */
static void
housekeeping(struct udp *u, uint64_t now)
{
	status_update(u, now, false);
	if (now - u->budget_at >= USEC_PER_SEC) {
		log_set_budget(LOG_BUDGET);
		u->budget_at = now;
	}
	summary(u, now, false);
}

/*
 * The settings of the listening address's UDP rule, as connection.c finds
 * a connection's: defaults, the rule (unless the command line names the
 * target), the command line. Returns 0 or an exit status.
 */
static int
udp_settings(const struct connection_opts *o, const union sockaddr_any *local,
    struct settings *s)
{
	struct settings rule;
	const char *why = NULL;
	char buf[512];
	int r;

	if (settings_check(&o->cli, IPPROTO_UDP, &why) < 0) {
		log_error("Refusing to relay the datagram socket, the command "
		    "line is invalid: %s", why);
		return EXIT_USAGE;
	}
	settings_init(s);
	if (!(o->cli.set & SET_TARGET)) {
		r = config_lookup_proto(o->config, o->config_given, IPPROTO_UDP,
		    local, &rule, buf, sizeof(buf));
		if (r < 0) {
			(void)log_error_errno(r, "Refusing to relay the datagram "
			    "socket, the configuration is invalid: %s", buf);
			return EXIT_CONFIG;
		}
		if (r > 0)
			settings_merge(s, &rule);
	}
	settings_merge(s, &o->cli);
	if (!(s->set & SET_IDLE_TIMEOUT))
		s->idle_timeout = UDP_IDLE_TIMEOUT_DEFAULT;
	return 0;
}

/*
 * The target's address, once: a host name is resolved when the relay
 * starts, not per flow (the relay then confines itself, and reads no file
 * again). Returns 0 or an exit status.
 */
static int
udp_target(struct udp *u, const struct settings *s)
{
	union sockaddr_any addrs[RESOLVE_ADDRS_MAX];
	struct resolve_error rerr;
	unsigned port = s->target.port ? s->target.port :
	    ntohs(u->local.sin6_port);
	char took[32];
	int n;

	target_format(&s->target, port, u->target_name, sizeof(u->target_name));
	memset(&u->target, 0, sizeof(u->target));
	if (s->target.family == AF_INET6) {
		u->target.in6.sin6_family = AF_INET6;
		(void)inet_pton(AF_INET6, s->target.host,
		    &u->target.in6.sin6_addr);
		u->target.in6.sin6_port = htons(port);
		u->payload_max = IPV6_PAYLOAD_MAX;
		return 0;
	}
	u->payload_max = IPV4_PAYLOAD_MAX;
	u->target.in.sin_family = AF_INET;
	u->target.in.sin_port = htons(port);
	if (inet_pton(AF_INET, s->target.host, &u->target.in.sin_addr) == 1)
		return 0;
	n = resolve_host(s->target.host, port, addrs, RESOLVE_ADDRS_MAX,
	    s->connect_timeout, &u->waitmask, &rerr);
	if (n > 0) {
		u->target.in = addrs[0].in;
		addr_format(&addrs[0], took, sizeof(took));
		log_info("Resolved %s to %s%s: a UDP relay resolves its target "
		    "once, when it starts", u->target_name, took, n > 1 ?
		    " (the first of its addresses)" : "");
		snprintf(u->target_name, sizeof(u->target_name), "%s", took);
		return 0;
	}
	if (n == -EINTR)
		return EXIT_OK;
	if (n == -ETIMEDOUT)
		log_error("Failed to resolve %s: no answer within %s (the "
		    "connect timeout)", u->target_name, clock_format_duration(
		    s->connect_timeout, took, sizeof(took)));
	else if (rerr.gai == EAI_SYSTEM)
		(void)log_error_errno(rerr.err, "Failed to resolve %s: %m",
		    u->target_name);
	else if (rerr.gai)
		log_error("Failed to resolve %s: %s", u->target_name,
		    gai_strerror(rerr.gai));
	else
		(void)log_error_errno(n, "Failed to resolve %s: %m",
		    u->target_name);
	return EXIT_TARGET;
}

/* map-source: the key, and a check that the pool can reach the target. */
static int
udp_map(struct udp *u, const struct settings *s)
{
	union sockaddr_any t, src;
	char pool[MAPSRC_POOL_STRLEN], addr[INET_ADDRSTRLEN];
	int r, fd;

	if (!s->map_source)
		return 0;
	u->map_len = s->map_source;
	u->pool = s->map_pool;
	mapsrc_pool_format(&u->pool, pool, sizeof(pool));
	if ((r = mapsrc_key(u->map_key)) < 0) {
		(void)log_error_errno(r, "Failed to read the machine ID, the key "
		    "of map-source: %m; create /etc/machine-id "
		    "(systemd-machine-id-setup)");
		return EXIT_CONFIG;
	}
	memset(&t, 0, sizeof(t));
	memcpy(&t, &u->target, sizeof(u->target));
	if (mapsrc_source(0, &u->pool, &t, &src) < 0) {
		log_error("Refusing to relay: map-source maps into %s, from which "
		    "%s cannot be reached; set map-source-pool= to an IPv4 "
		    "network routed to this host", pool, u->target_name);
		return EXIT_CONFIG;
	}
	/* An address of the pool that is not this host's fails every flow. */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && bind(fd, &src.sa, sizeof(src.in)) < 0 &&
	    errno == EADDRNOTAVAIL) {
		(void)close(fd);
		log_error("Refusing to relay: map-source maps into %s, and %s is "
		    "not an address of this host; route the pool to it: ip "
		    "route add local %s dev lo", pool, addr_host(&src, addr,
		    sizeof(addr)), pool);
		return EXIT_CONFIG;
	}
	if (fd >= 0)
		(void)close(fd);
	return 0;
}

/*
 * As many flows as file descriptors allow: the soft limit raised to the
 * hard one, which systemd sets high (524288 for a service).
 */
static void
udp_fd_limit(struct udp *u)
{
	struct rlimit rl;
	rlim_t avail;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	avail = rl.rlim_cur > FD_RESERVE ? rl.rlim_cur - FD_RESERVE : 1;
	if (u->max > avail) {
		log_warning("max-flows=%u needs %u file descriptors, and the "
		    "limit is %llu: relaying at most %llu flows; raise "
		    "LimitNOFILE= of the service", u->max, u->max + FD_RESERVE,
		    (unsigned long long)rl.rlim_cur, (unsigned long long)avail);
		u->max = (unsigned)avail;
	}
}

static int
udp_init(struct udp *u, const struct connection_opts *o, int fd,
    const union sockaddr_any *local, const sigset_t *waitmask)
{
	struct settings s;
	size_t i;
	int r, one = 1;

	u->fd = fd;
	u->epfd = -1;
	u->waitmask = *waitmask;
	u->local = local->in6;
	u->wildcard = IN6_IS_ADDR_UNSPECIFIED(&u->local.sin6_addr);
	addr_format(local, u->name, sizeof(u->name) - 4);
	strcat(u->name, "/udp");
	if ((r = udp_settings(o, local, &s)) != 0)
		return r;
	if ((r = udp_target(u, &s)) != 0)
		return r;
	if ((r = udp_map(u, &s)) != 0)
		return r;
	u->idle = s.idle_timeout;
	u->new_idle = u->idle < NEW_TIMEOUT ? u->idle : NEW_TIMEOUT;
	u->max = s.max_flows;
	udp_fd_limit(u);
	u->max_per_source = s.max_flows_per_source < u->max ?
	    s.max_flows_per_source : u->max;

	/* Which of our addresses a client sent to, and the kernel's drops. */
	if (u->wildcard) {
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one,
		    sizeof(one));
		(void)setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));

	if (getrandom(u->id_key, sizeof(u->id_key), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(u->id_key)) {
		(void)log_error_errno(errno, "Failed to set up the relay: %m");
		return EXIT_RELAY;
	}
	u->flows = calloc(u->max, sizeof(*u->flows));
	u->bufs = malloc((size_t)BATCH * DGRAM_BUF);
	if (!u->flows || !u->bufs ||
	    (r = table_init(&u->index, u->max, sizeof(struct flow_entry),
	    sizeof(struct flow_key))) < 0 ||
	    (r = table_init(&u->sources, u->max, sizeof(struct source_entry),
	    SOURCE_KEY_SIZE)) < 0) {
		(void)log_error_errno(ENOMEM, "Failed to set up the relay for "
		    "%u flows: %m", u->max);
		return EXIT_RELAY;
	}
	for (i = u->max; i-- > 0; ) {
		u->flows[i].fd = -1;
		u->flows[i].next = u->free;
		u->free = &u->flows[i];
	}
	u->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (u->epfd < 0 || epoll_ctl(u->epfd, EPOLL_CTL_ADD, fd,
	    &(struct epoll_event){ .events = EPOLLIN, .data.u64 = 0 }) < 0) {
		(void)log_error_errno(errno, "Failed to set up the relay: %m");
		return EXIT_RELAY;
	}
	u->gso = true;
	u->tokens = RECORD_BURST * 1000;
	u->tokens_at = u->budget_at = u->summary_at = clock_usec();
	return 0;
}

static void
udp_free(struct udp *u)
{
	if (u->epfd >= 0)
		(void)close(u->epfd);
	table_free(&u->index);
	table_free(&u->sources);
	free(u->flows);
	free(u->bufs);
}

/* Confines the process, and says what it is confined to. */
static const char *
confine(char *what, size_t size)
{
	struct sandbox sb;
	char line[160];
	int prio;

	sandbox_apply_udp(&sb);
	sandbox_describe(&sb, what, size);
	log_set_sandbox(what);
	if (sandbox_degraded(&sb, &prio, line, sizeof(line)))
		(void)log_full_errno(prio, 0, "%s", line);
	return what;
}

/*
 * Relays the datagram socket fd (bound to local) until SIGTERM. Returns
 * the exit status.
 */
int
udp_run(const struct connection_opts *o, int fd,
    const union sockaddr_any *local, const sigset_t *waitmask)
{
	struct epoll_event events[EVENTS_MAX];
	struct udp *u;
	char what[64], idle[32], fresh[32];
	uint64_t now;
	int i, n, status = EXIT_OK;

	if (!(u = calloc(1, sizeof(*u)))) {
		log_error("Failed to set up the relay: out of memory");
		return EXIT_RELAY;
	}
	if ((status = udp_init(u, o, fd, local, waitmask)) != 0 ||
	    signals_terminated())
		goto out;
	log_info("Relaying %s to %s: at most %u flows, %u per source; idle "
	    "timeout %s (%s until a flow is a stream); confined: %s", u->name,
	    u->target_name, u->max, u->max_per_source, clock_format_duration(
	    u->idle, idle, sizeof(idle)), clock_format_duration(u->new_idle,
	    fresh, sizeof(fresh)), confine(what, sizeof(what)));
	(void)sd_notifyf(0, "READY=1\nSTATUS=Relaying %s to %s: 0 flows now",
	    u->name, u->target_name);
	u->status_at = clock_usec();
	while (!signals_terminated()) {
		now = clock_usec();
		expire(u, now);
		housekeeping(u, now);
		n = epoll_pwait(u->epfd, events, EVENTS_MAX, next_wake(u, now),
		    &u->waitmask);
		if (n < 0 && errno != EINTR) {
			(void)log_error_errno(errno, "Failed to wait for "
			    "datagrams: %m");
			status = EXIT_RELAY;
			break;
		}
		for (i = 0; i < n; i++) {
			struct flow *f;

			if (events[i].data.u64 == 0) {
				from_clients(u);
				continue;
			}
			/* Ended by this round already: its slot is free. */
			f = &u->flows[events[i].data.u64 - 1];
			if (f->fd >= 0)
				from_target(u, f, events[i].events);
		}
	}
	now = clock_usec();
	log_info("%s: ending %u flows; %" PRIu64 " flows in all, %" PRIu64
	    " datagrams from clients and %" PRIu64 " from the target, %" PRIu64
	    " dropped (%" PRIu32 " of them by the kernel, queue full), %"
	    PRIu64 " flows ended early to make room, %" PRIu64 " ICMP errors",
	    signals_terminated() ? "Terminated" : "Stopping", u->nflows,
	    u->flows_total, u->datagrams[FROM_CLIENT], u->datagrams[FROM_TARGET],
	    u->dropped + u->kernel_drops, u->kernel_drops, u->evicted,
	    u->target_errors);
	(void)sd_notify(0, "STOPPING=1");
	while (u->new.head)
		flow_end(u, u->new.head, END_TERMINATED, now);
	while (u->streams.head)
		flow_end(u, u->streams.head, END_TERMINATED, now);
	summary(u, now, true);
	log_flush();
out:
	udp_free(u);
	free(u);
	return status;
}
