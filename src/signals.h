/* Termination signals: blocked but while waiting, so none is ever missed. */
#ifndef V6FWD_SIGNALS_H
#define V6FWD_SIGNALS_H

#include <signal.h>

void	signals_setup(sigset_t *);
int	signals_terminated(void);

#endif
