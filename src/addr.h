/* Socket addresses: one union for both families, and their text forms. */
#ifndef V6FWD_ADDR_H
#define V6FWD_ADDR_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

/* "[ffff:...:ffff]:65535" plus NUL fits. */
#define ADDR_STRLEN	(INET6_ADDRSTRLEN + 8)

union sockaddr_any {
	struct sockaddr		sa;
	struct sockaddr_in	in;
	struct sockaddr_in6	in6;
	struct sockaddr_storage	ss;
};

socklen_t	addr_len(const union sockaddr_any *);
unsigned	addr_port(const union sockaddr_any *);
void		addr_set_port(union sockaddr_any *, unsigned);
const char	*addr_host(const union sockaddr_any *, char *, size_t);
const char	*addr_format(const union sockaddr_any *, char *, size_t);
int		addr_parse_port(const char *, unsigned *);

#endif
