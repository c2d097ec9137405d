/* Small helpers shared by the other files: time, signals, socket options. */
#ifndef V6FWD_UTIL_H
#define V6FWD_UTIL_H

#include <signal.h>
#include <stdint.h>
#include <time.h>

#define USEC_PER_SEC	UINT64_C(1000000)
#define USEC_PER_MSEC	UINT64_C(1000)
#define ELEMENTSOF(a)	(sizeof(a) / sizeof((a)[0]))

uint64_t	now_usec(void);
struct timespec	usec_to_timespec(uint64_t);
int		parse_time(const char *, uint64_t *);
void		signals_setup(sigset_t *);
int		signal_received(void);
void		sock_tune(int, int);
void		sock_abort(int);
void		sock_keepalive(int, uint64_t);

#endif
