/*
 * Unit tests for the parsers: targets, times, ports and the configuration
 * file. Prints one PASS or FAIL line per case, like the other tests.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "addr.h"
#include "clock.h"
#include "config.h"
#include "macro.h"
#include "mapsrc.h"
#include "proxy.h"
#include "target.h"

static int failures;

static void
ok(int cond, const char *what, const char *detail)
{
	if (cond)
		printf("PASS: %s\n", what);
	else {
		printf("FAIL: %s: %s\n", what, detail);
		failures++;
	}
}

static void
test_targets(void)
{
	static const struct {
		const char	*in;
		int		 ok;
		const char	*host;
		unsigned	 port;
		int		 family;
	} cases[] = {
		{ "127.0.0.1:2000",	1, "127.0.0.1",	2000,	AF_INET },
		{ "127.0.0.1",		1, "127.0.0.1",	0,	AF_INET },
		{ "192.0.2.10:443",	1, "192.0.2.10", 443,	AF_INET },
		{ "backend.example:25",	1, "backend.example", 25, AF_INET },
		{ "localhost",		1, "localhost",	0,	AF_INET },
		{ "[2001:db8::1]:80",	1, "2001:db8::1", 80,	AF_INET6 },
		{ "[::1]",		1, "::1",	0,	AF_INET6 },
		{ "[::ffff:127.0.0.1]:1", 1, "::ffff:127.0.0.1", 1, AF_INET6 },
		{ "2001:db8::1",	0, NULL, 0, 0 },
		{ "::1:80",		0, NULL, 0, 0 },
		{ "[2001:db8::1",	0, NULL, 0, 0 },
		{ "[2001:db8::1]80",	0, NULL, 0, 0 },
		{ "[not-v6]:80",	0, NULL, 0, 0 },
		{ "[]:80",		0, NULL, 0, 0 },
		{ "127.0.0.1:0",	0, NULL, 0, 0 },
		{ "127.0.0.1:65536",	0, NULL, 0, 0 },
		{ "127.0.0.1:-1",	0, NULL, 0, 0 },
		{ "127.0.0.1:+80",	0, NULL, 0, 0 },
		{ "127.0.0.1:",		0, NULL, 0, 0 },
		{ "127.0.0.1:http",	0, NULL, 0, 0 },
		{ ":80",		0, NULL, 0, 0 },
		{ "",			0, NULL, 0, 0 },
		{ "bad host:80",	0, NULL, 0, 0 },
		{ "host/x:80",		0, NULL, 0, 0 },
	};
	char what[128], detail[400];
	size_t i;

	for (i = 0; i < ELEMENTSOF(cases); i++) {
		struct target t;
		const char *why = "";
		int r = target_parse(cases[i].in, &t, &why);

		snprintf(what, sizeof(what), "target '%s' %s", cases[i].in,
		    cases[i].ok ? "parses" : "is refused");
		if (cases[i].ok) {
			snprintf(detail, sizeof(detail), "r=%d host=%s port=%u "
			    "family=%d (%s)", r, r == 0 ? t.host : "-", t.port,
			    t.family, why);
			ok(r == 0 && strcmp(t.host, cases[i].host) == 0 &&
			    t.port == cases[i].port &&
			    t.family == cases[i].family, what, detail);
		} else {
			snprintf(detail, sizeof(detail), "r=%d", r);
			ok(r < 0 && why && *why, what, detail);
		}
	}
	{
		char host[TARGET_HOST_MAX + 2];
		struct target t;
		const char *why;

		memset(host, 'a', sizeof(host) - 1);
		host[sizeof(host) - 1] = '\0';
		ok(target_parse(host, &t, &why) < 0, "overlong host refused",
		    "accepted");
	}
}

static void
test_times(void)
{
	static const struct {
		const char	*in;
		int		 ok;
		uint64_t	 usec;
	} cases[] = {
		{ "5", 1, 5000000 }, { "5s", 1, 5000000 }, { "500ms", 1, 500000 },
		{ "2m", 1, 120000000 }, { "2min", 1, 120000000 },
		{ "1h", 1, 3600000000ULL }, { "0", 1, 0 }, { "24h", 1, 86400000000ULL },
		{ "25h", 0, 0 }, { "", 0, 0 }, { "s", 0, 0 }, { "-1", 0, 0 },
		{ "1.5s", 0, 0 }, { "5 s", 0, 0 }, { "5x", 0, 0 },
		{ "99999999999999999999", 0, 0 },
	};
	char what[96];
	size_t i;

	for (i = 0; i < ELEMENTSOF(cases); i++) {
		uint64_t u = 12345;
		int r = clock_parse_duration(cases[i].in, &u);

		snprintf(what, sizeof(what), "time '%s' %s", cases[i].in,
		    cases[i].ok ? "parses" : "is refused");
		ok(cases[i].ok ? r == 0 && u == cases[i].usec : r < 0, what,
		    "wrong result");
	}
}

static void
test_addr(void)
{
	union sockaddr_any a;
	char buf[ADDR_STRLEN];

	memset(&a, 0, sizeof(a));
	a.in6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::1", &a.in6.sin6_addr);
	a.in6.sin6_port = htons(54321);
	ok(strcmp(addr_format(&a, buf, sizeof(buf)), "[2001:db8::1]:54321") == 0,
	    "IPv6 address formatted in brackets", buf);
	memset(&a, 0, sizeof(a));
	a.in.sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", &a.in.sin_addr);
	a.in.sin_port = htons(80);
	ok(strcmp(addr_format(&a, buf, sizeof(buf)), "127.0.0.1:80") == 0,
	    "IPv4 address formatted", buf);
}

/* Writes text to a temporary file; returns its path (static). */
static const char *
conf(const char *text)
{
	static char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/v6fwd-unit-%d.conf", (int)getpid());
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

static void
local6(union sockaddr_any *a, const char *addr, unsigned port)
{
	memset(a, 0, sizeof(*a));
	a->in6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, addr, &a->in6.sin6_addr);
	a->in6.sin6_port = htons(port);
}

static void
test_config(void)
{
	union sockaddr_any l;
	struct settings s;
	char why[512];
	const char *p;
	int r;

	p = conf("# comment\n\n"
	    "8443 192.0.2.10:443 idle-timeout=30s\n"
	    "2000   -   connect-timeout=2s  # default target\n"
	    "[2001:db8::dead]:8443 127.0.0.1:9443\n");
	local6(&l, "2001:db8::1", 8443);
	memset(&s, 0, sizeof(s));
	r = config_lookup(p, 0, &l, &s, why, sizeof(why));
	ok(r == 1 && (s.set & SET_TARGET) && strcmp(s.target.host,
	    "192.0.2.10") == 0 && s.target.port == 443 &&
	    s.idle_timeout == 30 * USEC_PER_SEC, "config: port rule found",
	    why);

	local6(&l, "2001:db8::dead", 8443);
	memset(&s, 0, sizeof(s));
	r = config_lookup(p, 0, &l, &s, why, sizeof(why));
	ok(r == 1 && s.target.port == 9443 && !(s.set & SET_IDLE_TIMEOUT),
	    "config: address rule wins over port rule", why);

	local6(&l, "::1", 2000);
	memset(&s, 0, sizeof(s));
	r = config_lookup(p, 0, &l, &s, why, sizeof(why));
	ok(r == 1 && !(s.set & SET_TARGET) &&
	    s.connect_timeout == 2 * USEC_PER_SEC,
	    "config: '-' keeps the default target", why);

	local6(&l, "::1", 2001);
	r = config_lookup(p, 0, &l, &s, why, sizeof(why));
	ok(r == 0, "config: no rule for another port", why);

	/* Comments of any length; the kernel's longest keepalive. */
	{
		static char text[8192];
		size_t n;

		n = (size_t)snprintf(text, sizeof(text), "# ");
		memset(text + n, 'x', 5000);
		snprintf(text + n + 5000, sizeof(text) - n - 5000,
		    "\n2000 - keepalive=32767s # %*s\n", 3000, "long");
		p = conf(text);
		local6(&l, "::1", 2000);
		memset(&s, 0, sizeof(s));
		r = config_lookup(p, 0, &l, &s, why, sizeof(why));
		ok(r == 1 && s.keepalive == 32767 * USEC_PER_SEC,
		    "config: 5000- and 3000-character comments, keepalive=32767s",
		    why);
	}

	static const struct {
		const char	*text;
		const char	*error;
	} bad[] = {
		{ "2000\n", ":1: expected LISTEN TARGET" },
		{ "x 127.0.0.1\n", ":1: LISTEN must be" },
		{ "2000 127.0.0.1:0\n", ":1: port must be" },
		{ "2000 127.0.0.1 idle-timeout=forever\n", ":1: expected 0" },
		{ "2000 127.0.0.1 idle-timeout\n", ":1: expected NAME=VALUE" },
		{ "2000 127.0.0.1 color=blue\n", ":1: unknown setting" },
		{ "# ok\n2000 127.0.0.1\n2000 127.0.0.2\n", ":3: a rule for this LISTEN came earlier" },
		{ "[host]:2000 127.0.0.1\n", ":1: LISTEN must be" },
		{ "70000 127.0.0.1\n", ":1: LISTEN must be" },
		{ "2000 [::1\n", ":1: missing ']'" },
		{ "2000 127.0.0.1 target=x\n", ":1: the target is the second word" },
		{ "2000 - keepalive=10h\n", ":1: expected 0 (as the socket unit says) or a time from 1s to 32767s" },
		{ "2000 - keepalive=32768s\n", ":1: expected 0 (as the socket unit says)" },
		{ "2000 - a=1 b=1 c=1 d=1 e=1 f=1 g=1 h=1 i=1 j=1 k=1 l=1 m=1 n=1 o=1\n", ":1: more than 16 words" },
	};
	size_t i;

	for (i = 0; i < ELEMENTSOF(bad); i++) {
		char what[160];

		p = conf(bad[i].text);
		local6(&l, "::1", 9999);
		why[0] = '\0';
		r = config_lookup(p, 0, &l, &s, why, sizeof(why));
		snprintf(what, sizeof(what), "config: bad line reported (%s)",
		    bad[i].error);
		ok(r == -EINVAL && strstr(why, bad[i].error) &&
		    strncmp(why, p, strlen(p)) == 0, what, why);
	}

	{
		FILE *f = fopen(p, "w");

		fwrite("2000 127.0.0.1\n\0" "2001 127.0.0.2\n", 1, 31, f);
		fclose(f);
		why[0] = '\0';
		local6(&l, "::1", 2001);
		r = config_lookup(p, 0, &l, &s, why, sizeof(why));
		ok(r == -EINVAL && strstr(why, "NUL byte"),
		    "config: a NUL byte invalidates the file", why);
	}

	unlink(p);
	local6(&l, "::1", 2000);
	r = config_lookup(p, 0, &l, &s, why, sizeof(why));
	ok(r == 0, "config: no file means the defaults", why);
	r = config_lookup(p, 1, &l, &s, why, sizeof(why));
	ok(r == -ENOENT, "config: an explicitly named file must exist", why);
}

/*
 * UDP rules: LISTEN/udp is a rule of its own beside LISTEN (/tcp), each
 * protocol's lookup finds only its own, and a setting of the other
 * protocol's is refused with what to use instead.
 */
static void
test_config_udp(void)
{
	union sockaddr_any l;
	struct settings s;
	char why[512];
	const char *p;
	size_t i;
	int r;

	p = conf("27015/udp 127.0.0.1:27016 idle-timeout=30s max-flows=64\n"
	    "27015 127.0.0.1:27017\n"
	    "[2001:db8::dead]:27015/udp - max-flows-per-source=2\n"
	    "53/tcp 127.0.0.1:5353\n");
	local6(&l, "::1", 27015);
	memset(&s, 0, sizeof(s));
	r = config_lookup_proto(p, 0, IPPROTO_UDP, &l, &s, why, sizeof(why));
	ok(r == 1 && s.target.port == 27016 && s.max_flows == 64 &&
	    s.idle_timeout == 30 * USEC_PER_SEC,
	    "config: the UDP rule for a UDP lookup", why);
	memset(&s, 0, sizeof(s));
	r = config_lookup(p, 0, &l, &s, why, sizeof(why));
	ok(r == 1 && s.target.port == 27017 && !(s.set & SET_MAX_FLOWS),
	    "config: the TCP rule for the same port number", why);
	local6(&l, "2001:db8::dead", 27015);
	memset(&s, 0, sizeof(s));
	r = config_lookup_proto(p, 0, IPPROTO_UDP, &l, &s, why, sizeof(why));
	ok(r == 1 && !(s.set & SET_TARGET) && s.max_flows_per_source == 2,
	    "config: a UDP address rule wins over the UDP port rule", why);
	local6(&l, "::1", 53);
	r = config_lookup_proto(p, 0, IPPROTO_UDP, &l, &s, why, sizeof(why));
	ok(r == 0, "config: a /tcp rule is not a UDP rule", why);
	memset(&s, 0, sizeof(s));
	r = config_lookup(p, 0, &l, &s, why, sizeof(why));
	ok(r == 1 && s.target.port == 5353, "config: /tcp is TCP", why);

	static const struct {
		const char	*text;
		const char	*error;
	} bad[] = {
		{ "53/sctp -\n", ":1: LISTEN ends in /udp or /tcp" },
		{ "53/ -\n", ":1: LISTEN ends in /udp or /tcp" },
		{ "/udp -\n", ":1: LISTEN must be" },
		{ "53/udp/udp -\n", ":1: LISTEN must be" },
		{ "53/udp - proxy-protocol=v2\n", ":1: proxy-protocol= is for TCP" },
		{ "53/udp - keepalive=60s\n", ":1: keepalive= is for TCP" },
		{ "53/udp - max-connections=5\n", ":1: max-connections= is for TCP: a UDP rule takes max-flows=" },
		{ "53/udp - max-connections-per-source=5\n", ":1: max-connections-per-source= is for TCP" },
		{ "53 - max-flows=5\n", ":1: max-flows= is for UDP" },
		{ "53/tcp - max-flows-per-source=5\n", ":1: max-flows-per-source= is for UDP" },
		{ "53/udp - idle-timeout=0\n", ":1: a UDP flow ends only by its idle timeout" },
		{ "53/udp - idle-timeout=500ms\n", ":1: a UDP flow ends only by its idle timeout" },
		{ "53/udp - max-flows=0\n", ":1: expected a number of flows" },
		{ "53/udp - max-flows=65537\n", ":1: expected a number of flows" },
		{ "53/udp -\n[::1]:54 -\n53/udp 127.0.0.2\n", ":3: a rule for this LISTEN came earlier" },
		{ "53/udp -\n53/tcp -\n53 -\n", ":3: a rule for this LISTEN came earlier" },
	};

	for (i = 0; i < ELEMENTSOF(bad); i++) {
		char what[160];

		p = conf(bad[i].text);
		local6(&l, "::1", 9999);
		why[0] = '\0';
		r = config_lookup(p, 0, &l, &s, why, sizeof(why));
		snprintf(what, sizeof(what), "config: bad UDP line reported (%s)",
		    bad[i].error);
		ok(r == -EINVAL && strstr(why, bad[i].error), what, why);
	}
	unlink(p);
}

/*
 * PROXY headers against golden bytes. tests/20-proxy-header.sh decodes the
 * same vectors with a decoder of its own and checks they are these here.
 */
static void
test_proxy(void)
{
	static const struct {
		int		 version;
		const char	*client, *local;
		const char	*hex;
	} cases[] = {
		{ 1, "2001:db8::1", "2001:db8::80",
		    "50524f5859205443503620323030313a6462383a3a3120323030313a"
		    "6462383a3a383020353433323120323030300d0a" },
		{ 2, "2001:db8::1", "2001:db8::80",
		    "0d0a0d0a000d0a515549540a2121004720010db80000000000000000"
		    "0000000120010db8000000000000000000000080d43107d005002030"
		    "3132333435363738396162636465663031323334353637383961626364"
		    "6566" },
		{ 1, "::ffff:192.0.2.1", "::ffff:192.0.2.80",
		    "50524f58592054435034203139322e302e322e31203139322e302e32"
		    "2e383020353433323120323030300d0a" },
		{ 2, "::ffff:192.0.2.1", "::ffff:192.0.2.80",
		    "0d0a0d0a000d0a515549540a2111002fc0000201c0000250d43107d0"
		    "0500203031323334353637383961626364656630313233343536373839"
		    "616263646566" },
	};
	union sockaddr_any c, l;
	uint8_t buf[PROXY_HEADER_MAX];
	char hex[2 * PROXY_HEADER_MAX + 1], what[128];
	size_t i;
	int n, k;

	for (i = 0; i < ELEMENTSOF(cases); i++) {
		memset(&c, 0, sizeof(c));
		memset(&l, 0, sizeof(l));
		c.in6.sin6_family = l.in6.sin6_family = AF_INET6;
		inet_pton(AF_INET6, cases[i].client, &c.in6.sin6_addr);
		inet_pton(AF_INET6, cases[i].local, &l.in6.sin6_addr);
		c.in6.sin6_port = htons(54321);
		l.in6.sin6_port = htons(2000);
		n = proxy_header(cases[i].version, &c, &l,
		    "0123456789abcdef0123456789abcdef", buf, sizeof(buf));
		hex[0] = '\0';
		for (k = 0; k < n; k++)
			snprintf(hex + 2 * k, 3, "%02x", buf[k]);
		snprintf(what, sizeof(what), "proxy v%d header for [%s]:54321 "
		    "-> [%s]:2000", cases[i].version, cases[i].client,
		    cases[i].local);
		ok(n > 0 && strcmp(hex, cases[i].hex) == 0, what, hex);
	}

	/* The longest v1 line must stay within the 107 bytes allowed. */
	inet_pton(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	    &c.in6.sin6_addr);
	l = c;
	c.in6.sin6_port = l.in6.sin6_port = htons(65535);
	n = proxy_header(1, &c, &l, NULL, buf, sizeof(buf));
	snprintf(what, sizeof(what), "%d bytes", n);
	ok(n > 0 && n <= 107 && memcmp(buf + n - 2, "\r\n", 2) == 0,
	    "proxy v1: the longest header fits in 107 bytes", what);
	n = proxy_header(2, &c, &l, NULL, buf, sizeof(buf));
	snprintf(what, sizeof(what), "%d bytes", n);
	ok(n == 16 + 36 && buf[14] == 0 && buf[15] == 36,
	    "proxy v2: without an identifier, no TLV", what);
}

/*
 * Source mapping. The vectors pin the hash for a fixed key (the bytes 0 to
 * 15): changing it would move every client to another address after an
 * upgrade, and break bans and searches. They were computed with an
 * independent SipHash-2-4, itself checked against the paper's vector.
 */
static void
test_mapsrc(void)
{
	static const struct {
		const char	*client;
		unsigned	 len;
		const char	*loopback, *pool;	/* pool: 192.0.2.0/24 */
	} cases[] = {
		{ "2001:db8::1",	64, "127.135.113.59",	"192.0.2.135" },
		{ "2001:db8::2",	64, "127.135.113.59",	"192.0.2.135" },
		{ "2001:db8:0:1::1",	64, "127.21.134.167",	"192.0.2.22" },
		{ "2001:db8:1::1",	64, "127.212.43.47",	"192.0.2.211" },
		{ "2001:db8:2::1",	64, "127.203.74.84",	"192.0.2.202" },
		{ "::1",		64, "127.74.169.89",	"192.0.2.75" },
		{ "2001:db8:1:1::1",	48, "127.37.35.76",	"192.0.2.37" },
		{ "2001:db8:1:2::1",	48, "127.37.35.76",	"192.0.2.37" },
		{ "2001:db8::1",	48, "127.127.27.171",	"192.0.2.127" },
	};
	static const uint32_t edges[] = {
		0, 1, 2, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
	};
	const struct mapsrc_pool none = { 0, 0 }, p24 = { 0xc0000200, 24 },
	    p30 = { 0xc0000200, 30 }, lo24 = { 0x7f000000, 24 };
	uint8_t key[MAPSRC_KEY_SIZE], other[MAPSRC_KEY_SIZE];
	union sockaddr_any client, target, src;
	struct in6_addr a;
	char what[160], buf[INET_ADDRSTRLEN], got[64];
	uint32_t h, v, seen[1000], x = 0x9e3779b9;
	size_t i, j;
	int bad = 0, same = 0, collisions = 0, moved = 0;

	for (i = 0; i < sizeof(key); i++) {
		key[i] = (uint8_t)i;
		other[i] = (uint8_t)(i + 1);
	}
	memset(&target, 0, sizeof(target));
	target.in.sin_family = AF_INET;
	for (i = 0; i < ELEMENTSOF(cases); i++) {
		struct in_addr o, q;
		char b2[INET_ADDRSTRLEN];

		local6(&client, cases[i].client, 1);
		inet_pton(AF_INET, "127.0.0.1", &target.in.sin_addr);
		if (mapsrc_client(key, &client, cases[i].len, &h) < 0 ||
		    mapsrc_source(h, &none, &target, &src) < 0)
			src.in.sin_addr.s_addr = 0;
		o = src.in.sin_addr;
		q.s_addr = htonl(mapsrc_spread(h, &p24));
		inet_ntop(AF_INET, &o, buf, sizeof(buf));
		inet_ntop(AF_INET, &q, b2, sizeof(b2));
		snprintf(what, sizeof(what), "mapsrc: %s/%u -> %s, %s",
		    cases[i].client, cases[i].len, cases[i].loopback,
		    cases[i].pool);
		snprintf(got, sizeof(got), "got %s, %s", buf, b2);
		ok(strcmp(buf, cases[i].loopback) == 0 &&
		    strcmp(b2, cases[i].pool) == 0, what, got);
	}

	/* The extremes of the hash, then many pseudo-random prefixes. */
	for (i = 0; i < ELEMENTSOF(edges); i++) {
		v = mapsrc_spread(edges[i], &none);
		bad += v <= 0x7f000001 || v >= 0x7fffffff;
		v = mapsrc_spread(edges[i], &p24);
		bad += v <= 0xc0000200 || v >= 0xc00002ff;
		v = mapsrc_spread(edges[i], &p30);
		bad += v != 0xc0000201 && v != 0xc0000202;
		v = mapsrc_spread(edges[i], &lo24);
		bad += v <= 0x7f000001 || v >= 0x7f0000ff;
	}
	for (i = 0; i < 200000; i++) {
		for (j = 0; j < 16; j++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			a.s6_addr[j] = (uint8_t)x;
		}
		h = mapsrc_hash(key, &a, 1 + x % 128);
		v = mapsrc_spread(h, &none);
		bad += v <= 0x7f000001 || v >= 0x7fffffff;
		v = mapsrc_spread(h, &lo24);
		bad += v <= 0x7f000001 || v >= 0x7f0000ff;
		/* Any address of the same /64 maps as the first one. */
		h = mapsrc_hash(key, &a, 64);
		moved += mapsrc_hash(other, &a, 64) != h;
		a.s6_addr[8 + x % 8] ^= (uint8_t)(1 + x % 255);
		same += mapsrc_hash(key, &a, 64) == h;
		if (i < ELEMENTSOF(seen)) {
			seen[i] = mapsrc_spread(h, &none);
			for (j = 0; j < i; j++)
				collisions += seen[j] == seen[i];
		}
	}
	snprintf(got, sizeof(got), "%d bad", bad);
	ok(bad == 0, "mapsrc: never 127.0.0.1, a network or a broadcast "
	    "address (200000 prefixes)", got);
	snprintf(got, sizeof(got), "%d of 200000", same);
	ok(same == 200000, "mapsrc: the whole /64 maps to one address", got);
	/* Another host's key moves (almost) every prefix. */
	snprintf(got, sizeof(got), "%d of 200000 moved", moved);
	ok(moved >= 199990, "mapsrc: another key, another mapping", got);
	/* Expected about 1000^2 / 2^25 = 0.03 collisions; seeded, so fixed. */
	snprintf(got, sizeof(got), "%d collisions", collisions);
	ok(collisions == 0, "mapsrc: 1000 random /64s, 1000 addresses", got);

	local6(&client, "::ffff:192.0.2.1", 1);
	ok(mapsrc_client(key, &client, 64, &h) == -EAFNOSUPPORT,
	    "mapsrc: a v4-mapped client is not mapped", "mapped");
	memset(&client, 0, sizeof(client));
	client.in.sin_family = AF_INET;
	ok(mapsrc_client(key, &client, 64, &h) == -EAFNOSUPPORT,
	    "mapsrc: an IPv4 client is not mapped", "mapped");
	inet_pton(AF_INET, "192.0.2.10", &target.in.sin_addr);
	ok(mapsrc_source(h, &none, &target, &src) == -EDESTADDRREQ,
	    "mapsrc: a target off loopback needs a pool", "mapped");
	ok(mapsrc_source(h, &p24, &target, &src) == 0 &&
	    src.in.sin_family == AF_INET,
	    "mapsrc: a target off loopback with a pool", "refused");
	local6(&target, "::1", 1);
	ok(mapsrc_source(h, &p24, &target, &src) == -EDESTADDRREQ,
	    "mapsrc: an IPv6 target is refused", "mapped");
}

int
main(void)
{
	test_targets();
	test_times();
	test_addr();
	test_config();
	test_config_udp();
	test_mapsrc();
	test_proxy();
	return failures > 0;
}
