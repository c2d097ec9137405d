/* Self-confinement once both sockets are open: Landlock and seccomp. */
#ifndef V6FWD_SANDBOX_H
#define V6FWD_SANDBOX_H

void	sandbox_apply(void);

#endif
