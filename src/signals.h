/* Termination signals: blocked but while waiting, so none is ever missed. */
#ifndef V6FWD_SIGNALS_H
#define V6FWD_SIGNALS_H

#include <signal.h>
#include <stdbool.h>

void	signals_setup(sigset_t *);
int	signals_terminated(void);
void	signals_watch_children(sigset_t *);
void	signals_forget_children(void);
bool	signals_children_exited(void);

#endif
