/*
 * Signals. SIGTERM (systemctl stop), SIGINT and SIGHUP end a connection.
 * They are blocked except inside the calls that wait (ppoll() with the mask
 * signals_setup() returns, and the bounded log writes of log.c), which
 * unblock them atomically: so a signal can only arrive while we wait, and
 * can never be missed between a check and the wait. One that arrives in a
 * log write is caught there and leaves only the flag: every wait goes
 * through signals_ppoll(), which looks at the flag first.
 *
 * SIGPIPE is ignored: a write to a reset peer must be an EPIPE we can log,
 * not a silent death. SIGALRM ends a log write that would block (log.c);
 * like the others it is installed without SA_RESTART, so that it interrupts
 * the call it arrives in.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "macro.h"
#include "signals.h"

static volatile sig_atomic_t terminated;

static void
on_terminate(int sig)
{
	terminated = sig;
}

static void
on_alarm(int sig)
{
	(void)sig;
}

/* Only interrupts the wait: the server reaps on every turn. */
static void
on_child(int sig)
{
	(void)sig;
}

/* Fills waitmask: the current mask without the termination signals. */
void
signals_setup(sigset_t *waitmask)
{
	static const int term[] = { SIGTERM, SIGINT, SIGHUP };
	struct sigaction sa;
	sigset_t block;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = on_alarm;
	(void)sigaction(SIGALRM, &sa, NULL);

	sa.sa_handler = on_terminate;
	(void)sigemptyset(&block);
	for (i = 0; i < ELEMENTSOF(term); i++) {
		(void)sigaction(term[i], &sa, NULL);
		(void)sigaddset(&block, term[i]);
	}
	(void)sigprocmask(SIG_BLOCK, &block, waitmask);
	for (i = 0; i < ELEMENTSOF(term); i++)
		(void)sigdelset(waitmask, term[i]);
}

/*
 * ppoll() with the termination signals unblocked, unless one was caught
 * already (in a log write): then -1 with EINTR at once, as if it had come
 * during the wait. Without this a SIGTERM that interrupted a log message
 * would be forgotten by the wait after it (seen under valgrind, where the
 * sandbox's degraded warning comes between connect and relay).
 */
int
signals_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *timeout,
    const sigset_t *waitmask)
{
	if (terminated) {
		errno = EINTR;
		return -1;
	}
	return ppoll(fds, n, timeout, waitmask);
}

/* The termination signal received, or 0. */
int
signals_terminated(void)
{
	return terminated;
}

/*
 * For a server: SIGCHLD, too, is blocked but while waiting, so that an
 * exited child interrupts the wait. Takes it out of waitmask.
 */
void
signals_watch_children(sigset_t *waitmask)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_child;
	sa.sa_flags = SA_NOCLDSTOP;
	(void)sigaction(SIGCHLD, &sa, NULL);
	(void)sigemptyset(&block);
	(void)sigaddset(&block, SIGCHLD);
	(void)sigprocmask(SIG_BLOCK, &block, NULL);
	(void)sigdelset(waitmask, SIGCHLD);
}

/* In a server's child: SIGCHLD as it was, so that waitpid() is ours. */
void
signals_forget_children(void)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	(void)sigaction(SIGCHLD, &sa, NULL);
	(void)sigemptyset(&block);
	(void)sigaddset(&block, SIGCHLD);
	(void)sigprocmask(SIG_UNBLOCK, &block, NULL);
}
