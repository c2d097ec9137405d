/*
 * The PROXY protocol (haproxy's doc/proxy-protocol.txt), versions 1 and 2:
 * one header, written first on the target connection, that tells the IPv4
 * service the client's real address and the address it connected to.
 *
 * It is written once, in one write, as soon as the connection to the target
 * is up and before the relay starts: a server that speaks first (SMTP, IMAP,
 * FTP) waits for the header before it greets, so it must not wait for a byte
 * from the client. Building the header is a pure function of the two
 * addresses and the identifier, so the unit tests can hold it to golden
 * bytes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "proxy.h"

static const uint8_t v2_signature[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
};

#define V2_VERSION_PROXY	0x21	/* version 2, command PROXY */
#define V2_TCP4			0x11	/* AF_INET, SOCK_STREAM */
#define V2_TCP6			0x21	/* AF_INET6, SOCK_STREAM */
#define V2_TYPE_UNIQUE_ID	0x05

/*
 * A v4-mapped address (::ffff:a.b.c.d, which only a dual-stack socket
 * produces) is an IPv4 client: the receiver must see it as one.
 */
static void
unmap(const union sockaddr_any *in, union sockaddr_any *out)
{
	*out = *in;
	if (in->sa.sa_family != AF_INET6 ||
	    !IN6_IS_ADDR_V4MAPPED(&in->in6.sin6_addr))
		return;
	memset(out, 0, sizeof(*out));
	out->in.sin_family = AF_INET;
	out->in.sin_port = in->in6.sin6_port;
	memcpy(&out->in.sin_addr, &in->in6.sin6_addr.s6_addr[12], 4);
}

static int
header_v1(const union sockaddr_any *src, const union sockaddr_any *dst,
    uint8_t *buf, size_t size)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	int n;

	addr_host(src, s, sizeof(s));
	addr_host(dst, d, sizeof(d));
	n = snprintf((char *)buf, size, "PROXY %s %s %s %u %u\r\n",
	    src->sa.sa_family == AF_INET ? "TCP4" : "TCP6", s, d,
	    addr_port(src), addr_port(dst));
	if (n < 0 || (size_t)n >= size)
		return -ENOBUFS;
	return n;
}

static int
header_v2(const union sockaddr_any *src, const union sockaddr_any *dst,
    const char *id, uint8_t *buf, size_t size)
{
	size_t alen = src->sa.sa_family == AF_INET ? 4 : 16;
	size_t idlen = id ? strlen(id) : 0;
	size_t body = 2 * alen + 4 + (idlen ? 3 + idlen : 0);
	uint8_t *p = buf;
	uint16_t port;

	if (idlen > PROXY_UNIQUE_ID_MAX)
		return -EINVAL;
	if (16 + body > size)
		return -ENOBUFS;
	memcpy(p, v2_signature, sizeof(v2_signature));
	p += sizeof(v2_signature);
	*p++ = V2_VERSION_PROXY;
	*p++ = alen == 4 ? V2_TCP4 : V2_TCP6;
	*p++ = (uint8_t)(body >> 8);
	*p++ = (uint8_t)body;
	if (alen == 4) {
		memcpy(p, &src->in.sin_addr, 4);
		memcpy(p + 4, &dst->in.sin_addr, 4);
	} else {
		memcpy(p, &src->in6.sin6_addr, 16);
		memcpy(p + 16, &dst->in6.sin6_addr, 16);
	}
	p += 2 * alen;
	port = htons((uint16_t)addr_port(src));
	memcpy(p, &port, 2);
	port = htons((uint16_t)addr_port(dst));
	memcpy(p + 2, &port, 2);
	p += 4;
	if (idlen) {
		*p++ = V2_TYPE_UNIQUE_ID;
		*p++ = (uint8_t)(idlen >> 8);
		*p++ = (uint8_t)idlen;
		memcpy(p, id, idlen);
		p += idlen;
	}
	return (int)(p - buf);
}

/*
 * Builds the header of the given version for a connection from client to
 * local into buf; id, if not NULL, goes into v2's UNIQUE_ID (v1 has no room
 * for it). Returns its length, or -EAFNOSUPPORT, -EINVAL or -ENOBUFS.
 */
int
proxy_header(int version, const union sockaddr_any *client,
    const union sockaddr_any *local, const char *id, uint8_t *buf,
    size_t size)
{
	union sockaddr_any src, dst;

	unmap(client, &src);
	unmap(local, &dst);
	/* Both are mapped or neither is, but never send a mixed header. */
	if (src.sa.sa_family != dst.sa.sa_family) {
		src = *client;
		dst = *local;
	}
	if (src.sa.sa_family != dst.sa.sa_family ||
	    (src.sa.sa_family != AF_INET && src.sa.sa_family != AF_INET6))
		return -EAFNOSUPPORT;
	if (version == 1)
		return header_v1(&src, &dst, buf, size);
	if (version == 2)
		return header_v2(&src, &dst, id, buf, size);
	return -EINVAL;
}

/*
 * Sends the header on the freshly connected target socket fd. Its send
 * buffer is empty and takes the header whole, so a short write (or EAGAIN
 * on the non-blocking socket) is something wrong: a partial header would
 * corrupt the stream, so it is an error, never retried. Returns 0 or -errno.
 */
int
proxy_send(int fd, int version, const union sockaddr_any *client,
    const union sockaddr_any *local, const char *id)
{
	uint8_t buf[PROXY_HEADER_MAX];
	ssize_t n;
	int len;

	len = proxy_header(version, client, local, id, buf, sizeof(buf));
	if (len < 0)
		return len;
	n = send(fd, buf, (size_t)len, MSG_NOSIGNAL);
	if (n < 0)
		return -errno;
	return n == len ? 0 : -EIO;
}
