/*
 * libFuzzer target for the PROXY header encoder, proxy_header(). The input
 * chooses the version, the two addresses (IPv4, IPv6, v4-mapped IPv6 or
 * another family), the ports, the UNIQUE_ID and the buffer size; the header
 * built is read back by an independent decoder written from haproxy's
 * doc/proxy-protocol.txt, and must say exactly what was put in.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct input {
	const uint8_t	*p;
	size_t		 n;
};

static uint8_t
take(struct input *in)
{
	uint8_t c = 0;

	if (in->n > 0) {
		c = *in->p++;
		in->n--;
	}
	return c;
}

static void
make_addr(struct input *in, union sockaddr_any *a)
{
	uint8_t kind = take(in) % 4;
	unsigned port = (unsigned)take(in) << 8 | take(in);
	size_t i;

	memset(a, 0, sizeof(*a));
	if (kind == 0) {
		a->in.sin_family = AF_INET;
		for (i = 0; i < 4; i++)
			((uint8_t *)&a->in.sin_addr)[i] = take(in);
		a->in.sin_port = htons((uint16_t)port);
	} else if (kind == 3)
		a->sa.sa_family = AF_UNIX;	/* never valid */
	else {
		a->in6.sin6_family = AF_INET6;
		for (i = 0; i < 16; i++)
			a->in6.sin6_addr.s6_addr[i] = take(in);
		if (kind == 2) {	/* v4-mapped */
			memset(a->in6.sin6_addr.s6_addr, 0, 10);
			a->in6.sin6_addr.s6_addr[10] = 0xff;
			a->in6.sin6_addr.s6_addr[11] = 0xff;
		}
		a->in6.sin6_port = htons((uint16_t)port);
	}
}

/* What the receiver must see: the address as family, 16 bytes, port. */
struct seen {
	int		family;
	uint8_t		addr[16];
	unsigned	port;
};

static void
expect(const union sockaddr_any *a, int unmap, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	s->family = a->sa.sa_family;
	if (a->sa.sa_family == AF_INET) {
		memcpy(s->addr, &a->in.sin_addr, 4);
		s->port = ntohs(a->in.sin_port);
	} else if (a->sa.sa_family == AF_INET6) {
		const uint8_t *b = a->in6.sin6_addr.s6_addr;

		s->port = ntohs(a->in6.sin6_port);
		if (unmap && IN6_IS_ADDR_V4MAPPED(&a->in6.sin6_addr)) {
			s->family = AF_INET;
			memcpy(s->addr, b + 12, 4);
		} else
			memcpy(s->addr, b, 16);
	}
}

/* A decimal port as v1 writes it: 1 to 5 digits, no leading zero. */
static int
v1_port(const char *s, size_t n, unsigned *port)
{
	size_t i;

	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return -1;
	*port = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*port = *port * 10 + (unsigned)(s[i] - '0');
	}
	return *port <= 65535 ? 0 : -1;
}

static void
decode_v1(const uint8_t *buf, int len, const struct seen *src,
    const struct seen *dst)
{
	char line[128], *f[6], *p;
	struct seen got[2];
	size_t i, n = 0;

	/* One line of at most 107 bytes, CRLF-terminated, nothing after. */
	if (len > 107 || len < 8 || buf[len - 2] != '\r' || buf[len - 1] != '\n')
		abort();
	memcpy(line, buf, (size_t)len - 2);
	line[len - 2] = '\0';
	if (strlen(line) != (size_t)len - 2 || strchr(line, '\r') ||
	    strchr(line, '\n'))
		abort();
	/* Single spaces: six fields, none empty. */
	for (p = line; n < 6; n++) {
		f[n] = p;
		if (!(p = strchr(p, ' ')))
			break;
		*p++ = '\0';
	}
	if (n != 5 || p)
		abort();
	for (i = 0; i < 6; i++)
		if (*f[i] == '\0')
			abort();
	if (strcmp(f[0], "PROXY") != 0)
		abort();
	memset(got, 0, sizeof(got));
	if (strcmp(f[1], "TCP4") == 0)
		got[0].family = got[1].family = AF_INET;
	else if (strcmp(f[1], "TCP6") == 0)
		got[0].family = got[1].family = AF_INET6;
	else
		abort();
	for (i = 0; i < 2; i++) {
		if (inet_pton(got[i].family, f[2 + i], got[i].addr) != 1 ||
		    v1_port(f[4 + i], strlen(f[4 + i]), &got[i].port) < 0)
			abort();
	}
	if (memcmp(&got[0], src, sizeof(*src)) != 0 ||
	    memcmp(&got[1], dst, sizeof(*dst)) != 0)
		abort();
}

static void
decode_v2(const uint8_t *buf, int len, const struct seen *src,
    const struct seen *dst, const char *id)
{
	static const uint8_t sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
	    0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };
	size_t alen, body, off, idlen = id ? strlen(id) : 0;
	struct seen got[2];
	int tlv_seen = 0;

	if (len < 16 || len > PROXY_HEADER_MAX || memcmp(buf, sig, 12) != 0 ||
	    buf[12] != 0x21)
		abort();
	body = (size_t)buf[14] << 8 | buf[15];
	if (16 + body != (size_t)len)
		abort();
	memset(got, 0, sizeof(got));
	if (buf[13] == 0x11) {
		alen = 4;
		got[0].family = got[1].family = AF_INET;
	} else if (buf[13] == 0x21) {
		alen = 16;
		got[0].family = got[1].family = AF_INET6;
	} else
		abort();
	if (body < 2 * alen + 4)
		abort();
	memcpy(got[0].addr, buf + 16, alen);
	memcpy(got[1].addr, buf + 16 + alen, alen);
	got[0].port = (unsigned)buf[16 + 2 * alen] << 8 | buf[17 + 2 * alen];
	got[1].port = (unsigned)buf[18 + 2 * alen] << 8 | buf[19 + 2 * alen];
	if (memcmp(&got[0], src, sizeof(*src)) != 0 ||
	    memcmp(&got[1], dst, sizeof(*dst)) != 0)
		abort();
	/* TLVs: each whole; UNIQUE_ID once, equal to id, at most 128 bytes. */
	for (off = 16 + 2 * alen + 4; off < (size_t)len; ) {
		size_t tl;

		if (off + 3 > (size_t)len)
			abort();
		tl = (size_t)buf[off + 1] << 8 | buf[off + 2];
		if (off + 3 + tl > (size_t)len)
			abort();
		if (buf[off] == 0x05) {
			if (tlv_seen++ || tl == 0 || tl > 128 || tl != idlen ||
			    memcmp(buf + off + 3, id, tl) != 0)
				abort();
		}
		off += 3 + tl;
	}
	if ((idlen > 0) != (tlv_seen > 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	union sockaddr_any client, local;
	struct seen src, dst;
	uint8_t buf[PROXY_HEADER_MAX + 64];
	char id[256], *idp = NULL;
	size_t bufsize, idlen;
	int version, r, fam_ok;

	version = take(&in) % 4;
	make_addr(&in, &client);
	make_addr(&in, &local);
	bufsize = take(&in);
	bufsize = bufsize >= 200 ? sizeof(buf) : bufsize;
	idlen = take(&in);
	if (idlen < 200) {
		idlen = idlen < in.n ? idlen : in.n;
		memcpy(id, in.p, idlen);
		id[idlen] = '\0';
		idp = id;
	}

	/* Unmapped when both can be; left as they are otherwise. */
	expect(&client, 1, &src);
	expect(&local, 1, &dst);
	if (src.family != dst.family) {
		expect(&client, 0, &src);
		expect(&local, 0, &dst);
	}
	fam_ok = src.family == dst.family &&
	    (src.family == AF_INET || src.family == AF_INET6);

	memset(buf, 0xaa, sizeof(buf));
	r = proxy_header(version, &client, &local, idp, buf, bufsize);
	if (!fam_ok) {
		if (r != -EAFNOSUPPORT)
			abort();
		return 0;
	}
	if (version != 1 && version != 2) {
		if (r != -EINVAL)
			abort();
		return 0;
	}
	if (r < 0) {
		/* Refused only for a short buffer or an overlong id. */
		if (r == -EINVAL && version == 2 && idp && strlen(idp) > 128)
			return 0;
		if (r == -ENOBUFS && bufsize < PROXY_HEADER_MAX)
			return 0;
		abort();
	}
	if ((size_t)r > bufsize || (size_t)r > PROXY_HEADER_MAX)
		abort();
	if (buf[sizeof(buf) - 1] != 0xaa)
		abort();
	if (version == 1)
		decode_v1(buf, r, &src, &dst);
	else
		decode_v2(buf, r, &src, &dst, idp);
	return 0;
}
