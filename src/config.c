/*
 * The per-port configuration file, /etc/v6fwd.conf. One rule per line:
 *
 *	LISTEN  TARGET  [NAME=VALUE ...]
 *
 * LISTEN is the local port a client connected to, or [ADDR]:PORT for one
 * local address, each with /udp for datagrams (/tcp, the default, for
 * connections): a TCP and a UDP rule for one port are two rules. TARGET is
 * as on the command line, or "-" for the default; NAME=VALUE are the
 * command line's long options, those of the rule's protocol. A rule naming
 * the local address wins over one naming only the port.
 *
 * The file is read by every connection, so it is read in one read() and
 * parsed in place with no allocation. Any bad line invalidates the whole
 * file: a typo must not silently send a port's traffic somewhere else.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "macro.h"
#include "sock.h"

/* The limits of the file, all named in v6fwd.conf(5). */
#define CONFIG_SIZE_MAX		(64 * 1024)
#define CONFIG_RULES_MAX	64
#define CONFIG_WORDS_MAX	16

struct rule {
	unsigned		line;
	int			proto;	/* IPPROTO_TCP or IPPROTO_UDP */
	unsigned		port;
	int			has_addr;
	union sockaddr_any	addr;	/* when has_addr; port included */
	struct settings		settings;
};

void
settings_init(struct settings *s)
{
	memset(s, 0, sizeof(*s));
	s->target.family = AF_INET;
	strcpy(s->target.host, "127.0.0.1");
	s->connect_timeout = CONNECT_TIMEOUT_DEFAULT;
	s->idle_timeout = IDLE_TIMEOUT_DEFAULT;
	s->max_connections = MAX_CONNECTIONS_DEFAULT;
	s->max_per_source = MAX_PER_SOURCE_DEFAULT;
	s->max_flows = MAX_FLOWS_DEFAULT;
	s->max_flows_per_source = MAX_FLOWS_PER_SOURCE_DEFAULT;
}

static int
set_target(struct settings *s, const char *v, const char **why)
{
	return target_parse(v, &s->target, why);
}

static int
set_connect_timeout(struct settings *s, const char *v, const char **why)
{
	if (clock_parse_duration(v, &s->connect_timeout) < 0 || s->connect_timeout == 0) {
		*why = "expected a time from 1ms to 24h, such as 500ms, 5s or 1m";
		return -EINVAL;
	}
	return 0;
}

static int
set_idle_timeout(struct settings *s, const char *v, const char **why)
{
	if (clock_parse_duration(v, &s->idle_timeout) < 0) {
		*why = "expected 0 (none) or a time up to 24h, such as 30s, "
		    "10m or 2h";
		return -EINVAL;
	}
	return 0;
}

static int
set_keepalive(struct settings *s, const char *v, const char **why)
{
	/* The kernel takes no TCP_KEEPIDLE over 32767 s (about 9 h). */
	if (clock_parse_duration(v, &s->keepalive) < 0 ||
	    (s->keepalive != 0 && (s->keepalive < USEC_PER_SEC ||
	    s->keepalive > SOCK_KEEPALIVE_MAX_SEC * USEC_PER_SEC))) {
		*why = "expected 0 (as the socket unit says) or a time from 1s "
		    "to 32767s (9h 6m, the kernel's limit), such as 60s or 10m";
		return -EINVAL;
	}
	return 0;
}

static int
set_proxy_protocol(struct settings *s, const char *v, const char **why)
{
	if (strcmp(v, "v1") == 0 || strcmp(v, "1") == 0)
		s->proxy_protocol = 1;
	else if (strcmp(v, "v2") == 0 || strcmp(v, "2") == 0)
		s->proxy_protocol = 2;
	else if (strcmp(v, "off") == 0 || strcmp(v, "no") == 0)
		s->proxy_protocol = 0;
	else {
		*why = "expected v1, v2 or off";
		return -EINVAL;
	}
	return 0;
}

static int
set_map_source(struct settings *s, const char *v, const char **why)
{
	unsigned long n;
	char *end;

	if (strcmp(v, "off") == 0 || strcmp(v, "no") == 0) {
		s->map_source = 0;
		return 0;
	}
	if (strcmp(v, "yes") == 0 || strcmp(v, "on") == 0) {
		s->map_source = MAP_SOURCE_DEFAULT;
		return 0;
	}
	n = strtoul(v, &end, 10);
	if (*v < '0' || *v > '9' || *end || n < 1 || n > 128) {
		*why = "expected an IPv6 prefix length from 1 to 128, or off";
		return -EINVAL;
	}
	s->map_source = (unsigned)n;
	return 0;
}

/* "192.0.2.0/24": an IPv4 network with its host bits clear. */
static int
set_map_pool(struct settings *s, const char *v, const char **why)
{
	char buf[INET_ADDRSTRLEN + 4], *slash, *end;
	struct in_addr a;
	unsigned long n = 0;
	uint32_t host;

	if (strlen(v) < sizeof(buf)) {
		strcpy(buf, v);
		slash = strchr(buf, '/');
	} else
		slash = NULL;
	if (slash) {
		*slash = '\0';
		n = strtoul(slash + 1, &end, 10);
	}
	if (!slash || slash[1] < '0' || slash[1] > '9' || *end || n < 8 ||
	    n > 30 || inet_pton(AF_INET, buf, &a) != 1) {
		*why = "expected an IPv4 network such as 192.0.2.0/24, /8 to /30";
		return -EINVAL;
	}
	host = ntohl(a.s_addr);
	if (host & ~(UINT32_MAX << (32 - n))) {
		*why = "the address has bits set past the prefix length";
		return -EINVAL;
	}
	s->map_pool.addr = host;
	s->map_pool.prefix = (unsigned)n;
	return 0;
}

static int
parse_count(const char *v, unsigned *ret)
{
	unsigned long n;
	char *end;

	if (*v < '1' || *v > '9')
		return -EINVAL;
	n = strtoul(v, &end, 10);
	if (*end || n > MAX_CONNECTIONS_LIMIT)
		return -EINVAL;
	*ret = (unsigned)n;
	return 0;
}

#define FIELD(f)	offsetof(struct settings, f), sizeof(((struct settings *)0)->f)

/* Which relays a setting means something to. */
enum {
	FOR_TCP		= 1 << 0,
	FOR_UDP		= 1 << 1,
	FOR_BOTH	= FOR_TCP | FOR_UDP,
};

/*
 * The one vocabulary of the command line and the configuration file. A
 * setting of one protocol's is refused for the other, with what to use
 * instead, rather than ignored: an administrator who wrote it expected it
 * to do something.
 */
static const struct {
	const char	*name;
	unsigned	 flag;
	size_t		 offset, size;
	/* NULL: a count from 1 to 65536, 'what' of them (connections). */
	int		(*parse)(struct settings *, const char *, const char **);
	const char	*count_why;
	unsigned	 protos;
	const char	*elsewhere;	/* why not for the other protocol */
} settings_table[] = {
	{ "target",	     SET_TARGET, FIELD(target), set_target, NULL, FOR_BOTH,
	    NULL },
	{ "connect-timeout", SET_CONNECT_TIMEOUT, FIELD(connect_timeout),
	    set_connect_timeout, NULL, FOR_BOTH, NULL },
	{ "idle-timeout",    SET_IDLE_TIMEOUT, FIELD(idle_timeout),
	    set_idle_timeout, NULL, FOR_BOTH, NULL },
	{ "keepalive",	     SET_KEEPALIVE, FIELD(keepalive), set_keepalive,
	    NULL, FOR_TCP, "keepalive= is for TCP: a UDP flow ends after its "
	    "idle-timeout=" },
	{ "proxy-protocol",  SET_PROXY_PROTOCOL, FIELD(proxy_protocol),
	    set_proxy_protocol, NULL, FOR_TCP, "proxy-protocol= is for TCP: "
	    "v6fwd sends no PROXY header over UDP (few UDP services read one); "
	    "map-source= tells UDP clients apart" },
	{ "map-source",	     SET_MAP_SOURCE, FIELD(map_source), set_map_source,
	    NULL, FOR_BOTH, NULL },
	{ "map-source-pool", SET_MAP_POOL, FIELD(map_pool), set_map_pool,
	    NULL, FOR_BOTH, NULL },
	{ "max-connections", SET_MAX_CONNECTIONS, FIELD(max_connections),
	    NULL,
	    "expected a number of connections from 1 to 65536", FOR_TCP, "max-connections= is for TCP: a UDP "
	    "rule takes max-flows=" },
	{ "max-connections-per-source", SET_MAX_PER_SOURCE,
	    FIELD(max_per_source), NULL,
	    "expected a number of connections from 1 to 65536", FOR_TCP,
	    "max-connections-per-source= is for TCP: a UDP rule takes "
	    "max-flows-per-source=" },
	{ "max-flows",	     SET_MAX_FLOWS, FIELD(max_flows), NULL,
	    "expected a number of flows from 1 to 65536",
	    FOR_UDP, "max-flows= is for UDP (LISTEN PORT/udp): a TCP rule takes "
	    "max-connections=" },
	{ "max-flows-per-source", SET_MAX_FLOWS_PER_SOURCE,
	    FIELD(max_flows_per_source), NULL,
	    "expected a number of flows from 1 to 65536", FOR_UDP,
	    "max-flows-per-source= is for UDP (LISTEN PORT/udp): a TCP rule "
	    "takes max-connections-per-source=" },
};

int
settings_set(struct settings *s, const char *name, const char *value,
    const char **why)
{
	size_t i;
	int r;

	for (i = 0; i < ELEMENTSOF(settings_table); i++) {
		if (strcmp(name, settings_table[i].name) != 0)
			continue;
		if (!value) {
			*why = "needs a value (NAME=VALUE)";
			return -EINVAL;
		}
		if (settings_table[i].parse)
			r = settings_table[i].parse(s, value, why);
		else if ((r = parse_count(value, (unsigned *)((char *)s +
		    settings_table[i].offset))) < 0)
			*why = settings_table[i].count_why;
		if (r < 0)
			return r;
		s->set |= settings_table[i].flag;
		return 0;
	}
	*why = "unknown setting";
	return -ENOENT;
}

/*
 * Whether the settings given explicitly in s mean something to a relay of
 * proto (IPPROTO_TCP or IPPROTO_UDP). Returns 0, or -EINVAL with why.
 */
int
settings_check(const struct settings *s, int proto, const char **why)
{
	unsigned want = proto == IPPROTO_UDP ? FOR_UDP : FOR_TCP;
	size_t i;

	for (i = 0; i < ELEMENTSOF(settings_table); i++)
		if ((s->set & settings_table[i].flag) &&
		    !(settings_table[i].protos & want)) {
			*why = settings_table[i].elsewhere;
			return -EINVAL;
		}
	/* Datagrams have no end of their own: a flow must time out. */
	if (proto == IPPROTO_UDP && (s->set & SET_IDLE_TIMEOUT) &&
	    s->idle_timeout < USEC_PER_SEC) {
		*why = "a UDP flow ends only by its idle timeout: expected a "
		    "time from 1s to 24h, such as 30s or 2m";
		return -EINVAL;
	}
	return 0;
}

/* Copies into dst what src sets explicitly. */
void
settings_merge(struct settings *dst, const struct settings *src)
{
	size_t i;

	for (i = 0; i < ELEMENTSOF(settings_table); i++)
		if (src->set & settings_table[i].flag)
			memcpy((char *)dst + settings_table[i].offset,
			    (const char *)src + settings_table[i].offset,
			    settings_table[i].size);
	dst->set |= src->set;
}

static void
print_time(FILE *f, const char *name, uint64_t usec)
{
	char buf[32];

	fprintf(f, " %s=%s", name, clock_format_duration(usec, buf,
	    sizeof(buf)));
}

/* The settings given explicitly, as NAME=VALUE words after the target. */
void
settings_print(const struct settings *s, FILE *f)
{
	size_t i;

	if (s->set & SET_CONNECT_TIMEOUT)
		print_time(f, "connect-timeout", s->connect_timeout);
	if (s->set & SET_IDLE_TIMEOUT)
		print_time(f, "idle-timeout", s->idle_timeout);
	if (s->set & SET_KEEPALIVE)
		print_time(f, "keepalive", s->keepalive);
	if (s->set & SET_PROXY_PROTOCOL)
		fprintf(f, s->proxy_protocol ? " proxy-protocol=v%d" :
		    " proxy-protocol=off", s->proxy_protocol);
	if (s->set & SET_MAP_SOURCE)
		fprintf(f, s->map_source ? " map-source=%u" : " map-source=off",
		    s->map_source);
	for (i = 0; i < ELEMENTSOF(settings_table); i++)
		if (!settings_table[i].parse && (s->set & settings_table[i].flag))
			fprintf(f, " %s=%u", settings_table[i].name,
			    *(const unsigned *)((const char *)s +
			    settings_table[i].offset));
	if (s->set & SET_MAP_POOL) {
		struct in_addr a = { .s_addr = htonl(s->map_pool.addr) };
		char buf[INET_ADDRSTRLEN];

		fprintf(f, " map-source-pool=%s/%u",
		    inet_ntop(AF_INET, &a, buf, sizeof(buf)),
		    s->map_pool.prefix);
	}
}

/*
 * LISTEN: "2000", "[2001:db8::1]:2000" or "192.0.2.1:2000", each with an
 * optional "/udp" or "/tcp" (the default).
 */
static int
parse_listen(char *w, struct rule *rule, const char **why)
{
	struct target t;
	char *slash = strrchr(w, '/');

	rule->proto = IPPROTO_TCP;
	if (slash) {
		if (strcmp(slash, "/udp") == 0)
			rule->proto = IPPROTO_UDP;
		else if (strcmp(slash, "/tcp") != 0) {
			*why = "LISTEN ends in /udp or /tcp, or in the port";
			return -EINVAL;
		}
		*slash = '\0';
	}
	if (addr_parse_port(w, &rule->port) == 0)
		return 0;
	if (target_parse(w, &t, why) < 0 || t.port == 0) {
		*why = "LISTEN must be PORT, [IPV6]:PORT or IPV4:PORT, each "
		    "with /udp for UDP";
		return -EINVAL;
	}
	memset(&rule->addr, 0, sizeof(rule->addr));
	if (t.family == AF_INET6) {
		rule->addr.in6.sin6_family = AF_INET6;
		inet_pton(AF_INET6, t.host, &rule->addr.in6.sin6_addr);
	} else if (inet_pton(AF_INET, t.host, &rule->addr.in.sin_addr) == 1)
		rule->addr.in.sin_family = AF_INET;
	else {
		*why = "LISTEN must name an address, not a host name";
		return -EINVAL;
	}
	rule->port = t.port;
	addr_set_port(&rule->addr, t.port);
	rule->has_addr = 1;
	return 0;
}

static int
parse_line(char *line, unsigned lineno, struct rule *rule, const char **why)
{
	char *w[CONFIG_WORDS_MAX], *p, *eq;
	size_t n = 0, i;
	int r;

	if ((p = strchr(line, '#')))
		*p = '\0';
	for (p = strtok(line, " \t\r"); p; p = strtok(NULL, " \t\r")) {
		if (n == ELEMENTSOF(w)) {
			*why = "more than 16 words";
			return -EINVAL;
		}
		w[n++] = p;
	}
	if (n == 0)
		return 0;	/* blank or comment */
	if (n < 2) {
		*why = "expected LISTEN TARGET [NAME=VALUE ...]";
		return -EINVAL;
	}
	memset(rule, 0, sizeof(*rule));
	rule->line = lineno;
	if ((r = parse_listen(w[0], rule, why)) < 0)
		return r;
	if (strcmp(w[1], "-") != 0 &&
	    (r = settings_set(&rule->settings, "target", w[1], why)) < 0)
		return r;
	for (i = 2; i < n; i++) {
		if (!(eq = strchr(w[i], '='))) {
			*why = "expected NAME=VALUE";
			return -EINVAL;
		}
		*eq = '\0';
		if (strcmp(w[i], "target") == 0) {
			*why = "the target is the second word, not a setting";
			return -EINVAL;
		}
		if ((r = settings_set(&rule->settings, w[i], eq + 1, why)) < 0)
			return r;
	}
	if ((r = settings_check(&rule->settings, rule->proto, why)) < 0)
		return r;
	return 1;
}

static bool
same_listen(const struct rule *a, const struct rule *b)
{
	if (a->port != b->port || a->has_addr != b->has_addr ||
	    a->proto != b->proto)
		return false;
	if (!a->has_addr)
		return true;
	if (a->addr.sa.sa_family != b->addr.sa.sa_family)
		return false;
	if (a->addr.sa.sa_family == AF_INET6)
		return memcmp(&a->addr.in6.sin6_addr, &b->addr.in6.sin6_addr,
		    sizeof(struct in6_addr)) == 0;
	return a->addr.in.sin_addr.s_addr == b->addr.in.sin_addr.s_addr;
}

/* 2: the rule names this address and port; 1: this port; 0: neither. */
static int
rule_matches(const struct rule *rule, int proto, const union sockaddr_any *local)
{
	if (rule->proto != proto || rule->port != addr_port(local))
		return 0;
	if (!rule->has_addr)
		return 1;
	if (rule->addr.sa.sa_family != local->sa.sa_family)
		return 0;
	if (local->sa.sa_family == AF_INET6)
		return memcmp(&rule->addr.in6.sin6_addr,
		    &local->in6.sin6_addr, sizeof(struct in6_addr)) == 0 ? 2 : 0;
	return rule->addr.in.sin_addr.s_addr == local->in.sin_addr.s_addr ?
	    2 : 0;
}

/*
 * Walks the file, calling fn for every rule and every error (rule NULL).
 * Returns the number of errors, or -errno if the file cannot be read
 * (-ENOENT: there is none).
 */
static int
config_walk(const char *path,
    void (*fn)(void *, const struct rule *, unsigned, const char *),
    void *userdata)
{
	static char buf[CONFIG_SIZE_MAX + 1];
	struct rule seen[CONFIG_RULES_MAX], rule;
	size_t nseen = 0, i;
	char *line, *next;
	unsigned lineno = 0;
	ssize_t len;
	int fd, r, errors = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	len = read(fd, buf, sizeof(buf));
	r = errno;
	(void)close(fd);
	if (len < 0)
		return -r;
	if ((size_t)len > CONFIG_SIZE_MAX) {
		fn(userdata, NULL, 0, "file is larger than 64 KiB");
		return 1;
	}
	/* A NUL would end the text early and hide every rule after it. */
	if (memchr(buf, '\0', (size_t)len)) {
		fn(userdata, NULL, 0, "file contains a NUL byte: not a text "
		    "file");
		return 1;
	}
	buf[len] = '\0';

	for (line = buf; line && *line; line = next) {
		const char *why = NULL;

		lineno++;
		if ((next = strchr(line, '\n')))
			*next++ = '\0';
		if ((r = parse_line(line, lineno, &rule, &why)) <= 0) {
			if (r == 0)
				continue;
		} else {
			for (i = 0; i < nseen; i++)
				if (same_listen(&seen[i], &rule)) {
					why = "a rule for this LISTEN came "
					    "earlier";
					break;
				}
			if (!why && nseen == ELEMENTSOF(seen))
				why = "more than 64 rules";
		}
		if (why) {
			fn(userdata, NULL, lineno, why);
			errors++;
			continue;
		}
		seen[nseen++] = rule;
		fn(userdata, &rule, lineno, NULL);
	}
	return errors;
}

struct lookup {
	const char		*path;
	int			 proto;
	const union sockaddr_any *local;
	struct settings		*out;
	int			 best;
	char			*why;
	size_t			 whysize;
	int			 errors;
};

static void
lookup_fn(void *userdata, const struct rule *rule, unsigned line,
    const char *why)
{
	struct lookup *l = userdata;
	int m;

	if (!rule) {
		if (l->errors++ == 0)
			snprintf(l->why, l->whysize, "%s:%u: %s", l->path, line,
			    why);
		return;
	}
	m = rule_matches(rule, l->proto, l->local);
	if (m > l->best) {
		l->best = m;
		*l->out = rule->settings;
	}
}

/*
 * Finds the rule of protocol proto (IPPROTO_TCP or IPPROTO_UDP) for the
 * local address. Returns 1 and fills out when there is one, 0 when there is
 * none or no file (unless required), -EINVAL when the file has errors (why
 * says the first, as file:line), or another -errno if it cannot be read.
 */
int
config_lookup_proto(const char *path, int required, int proto,
    const union sockaddr_any *local, struct settings *out, char *why,
    size_t size)
{
	struct lookup l = {
		.path = path, .proto = proto, .local = local, .out = out,
		.why = why, .whysize = size,
	};
	int r;

	r = config_walk(path, lookup_fn, &l);
	if (r == -ENOENT && !required)
		return 0;
	if (r < 0) {
		snprintf(why, size, "%s: %s", path, strerror(-r));
		return r;
	}
	if (r > 0)
		return -EINVAL;
	return l.best > 0;
}

/* The TCP rule for the local address: as config_lookup_proto(). */
int
config_lookup(const char *path, int required, const union sockaddr_any *local,
    struct settings *out, char *why, size_t size)
{
	return config_lookup_proto(path, required, IPPROTO_TCP, local, out, why,
	    size);
}

struct check {
	const char	*path;
	FILE		*out;
};

static void
check_fn(void *userdata, const struct rule *rule, unsigned line,
    const char *why)
{
	struct check *c = userdata;
	char listen[ADDR_STRLEN + 4], target[320];
	const struct settings *s;

	if (!rule) {
		fprintf(c->out, "%s:%u: %s\n", c->path, line, why);
		return;
	}
	s = &rule->settings;
	if (rule->has_addr)
		addr_format(&rule->addr, listen, sizeof(listen));
	else
		snprintf(listen, sizeof(listen), "%u", rule->port);
	if (rule->proto == IPPROTO_UDP)
		strncat(listen, "/udp", sizeof(listen) - strlen(listen) - 1);
	if (s->set & SET_TARGET)
		target_format(&s->target, rule->port, target, sizeof(target));
	else
		snprintf(target, sizeof(target), "127.0.0.1:%u", rule->port);
	fprintf(c->out, "%s:%u: %s -> %s", c->path, line, listen, target);
	settings_print(s, c->out);
	fputc('\n', c->out);
}

/*
 * Prints every rule as understood and every error; returns the number of
 * errors or -errno. A missing file is not an error: it means the defaults.
 */
int
config_check(const char *path, FILE *out)
{
	struct check c = { .path = path, .out = out };
	int r;

	r = config_walk(path, check_fn, &c);
	if (r == -ENOENT)
		fprintf(out, "%s: no such file; every port goes to 127.0.0.1 "
		    "on the same port\n", path);
	else if (r < 0)
		fprintf(out, "%s: %s\n", path, strerror(-r));
	return r == -ENOENT ? 0 : r;
}
