/* Termination signals: blocked but while waiting, so none is ever missed. */
#ifndef V6FWD_SIGNALS_H
#define V6FWD_SIGNALS_H

#include <poll.h>
#include <signal.h>
#include <stdbool.h>

void	signals_setup(sigset_t *);
int	signals_terminated(void);
int	signals_ppoll(struct pollfd *, nfds_t, const struct timespec *,
	    const sigset_t *);
void	signals_watch_children(sigset_t *);
void	signals_forget_children(void);

#endif
