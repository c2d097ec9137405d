/* The byte pump: two half-duplex directions between two sockets. */
#ifndef V6FWD_RELAY_H
#define V6FWD_RELAY_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* The two sides, named by role: the IPv6 client and the IPv4 target. */
enum side {
	SIDE_CLIENT = 0,
	SIDE_TARGET = 1,
};

enum relay_end {
	RELAY_FIN,	/* both directions ended with EOF, passed on as FIN */
	RELAY_RESET,	/* one side reset or failed; the other got a RST */
	RELAY_IDLE,	/* nothing moved for the idle timeout; both reset */
	RELAY_SIGNAL,	/* terminated (systemctl stop); both reset */
	RELAY_ERROR,	/* a local failure; both reset */
};

/*
 * What the record says; see LOGGING in v6fwd(8). Bytes are counted by the
 * side they came from: 'bytes' are those the other side's peer
 * acknowledged, 'dropped' those the relay's kernel acknowledged to the
 * sender but the other peer never did (lost, unless the connection ended
 * with FIN, after which the kernel goes on sending them).
 */
struct relay_result {
	uint64_t	bytes[2];	/* acknowledged by the other side */
	uint64_t	dropped[2];	/* taken, never acknowledged */
	int		first;		/* ended first (EOF, failure), or -1 */
	enum relay_end	end;
	int		error;		/* errno of the first failure, or 0 */
	int		error_side;	/* side it happened on, or -1 */
	int		then_error;	/* the other side's later one, or 0 */
};

/* A full pipe grows to this once: see half_full() in relay.c. */
#define RELAY_PIPE_GROW	(256 * 1024)

/*
 * Without an idle timeout, how long the relay waits for peers that
 * acknowledge nothing before it passes a reset on (or closes after a FIN)
 * with bytes undelivered: see relay_drain() in relay.c.
 */
#define RELAY_DRAIN_STALL	(UINT64_C(60) * 1000000)	/* microseconds */

struct relay_opts {
	uint64_t	idle_timeout;	/* 0: never */
	int		pipe_size;	/* initial, 0: the kernel's default */
	int		pipe_grow;	/* 0: never grow */
};

int	relay_run(int, int, const struct relay_opts *, const sigset_t *,
	    struct relay_result *);
const char *relay_side_name(int);
const char *relay_describe(const struct relay_result *, char *, size_t);

#endif
