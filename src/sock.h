/* TCP socket options of the two legs, and the reset that ends one. */
#ifndef V6FWD_SOCK_H
#define V6FWD_SOCK_H

#include <stdint.h>

/* TCP_KEEPIDLE and TCP_KEEPINTVL take at most this many seconds. */
#define SOCK_KEEPALIVE_MAX_SEC	32767

void	sock_nodelay(int);
void	sock_urgent_inline(int);
void	sock_copy_keepalive(int, int);
int	sock_set_keepalive(int, uint64_t);
void	sock_reset(int);

#endif
