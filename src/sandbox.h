/* Self-confinement once both sockets are open: Landlock and seccomp. */
#ifndef V6FWD_SANDBOX_H
#define V6FWD_SANDBOX_H

#include <stddef.h>

/* What is in force, for the connection record. */
struct sandbox {
	int	abi;		/* Landlock ABI in force, 0: none */
	int	landlock_err;	/* why there is no Landlock, or 0 */
	int	seccomp_err;	/* why there is no filter, or 0 */
};

void	sandbox_apply(struct sandbox *);
void	sandbox_apply_server(struct sandbox *);
void	sandbox_apply_udp(struct sandbox *);
const char *sandbox_describe(const struct sandbox *, char *, size_t);
const char *sandbox_degraded(const struct sandbox *, int *, char *, size_t);

#endif
