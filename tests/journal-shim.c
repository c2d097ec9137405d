/*
 * Test code only, for tests/34-journal-large-record.sh: an LD_PRELOAD shim
 * that sends libsystemd down its path for a record too large for one
 * datagram, inside a confined v6fwd, without changing v6fwd.
 *
 * v6fwd's records never reach the size of a datagram, so once the instance
 * is confined (at the relay's first splice(2), which comes after
 * confinement, as in tests/sandbox-probe.c), the first sendmsg(2) of a
 * record to the journal's socket fails with EMSGSIZE, as the kernel would
 * answer for a record too large. sd_journal_sendv() then writes the record
 * to a sealed memfd and passes that with SCM_RIGHTS; those calls are the
 * kernel's, answered under v6fwd's seccomp filter. What they returned is
 * written to $SHIM_OUT, one "NAME RESULT" line each.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static ssize_t	(*real_splice)(int, loff_t *, int, loff_t *, size_t,
		    unsigned);
static ssize_t	(*real_sendmsg)(int, const struct msghdr *, int);
static int	(*real_memfd_create)(const char *, unsigned);
static int	out = -1;
static int	confined;	/* the relay has begun: v6fwd is confined */
static int	forced;		/* the one EMSGSIZE has been given */

__attribute__((constructor)) static void
shim_init(void)
{
	const char *path = getenv("SHIM_OUT");

	real_splice = (ssize_t (*)(int, loff_t *, int, loff_t *, size_t,
	    unsigned))dlsym(RTLD_NEXT, "splice");
	real_sendmsg = (ssize_t (*)(int, const struct msghdr *, int))dlsym(
	    RTLD_NEXT, "sendmsg");
	real_memfd_create = (int (*)(const char *, unsigned))dlsym(RTLD_NEXT,
	    "memfd_create");
	if (path)
		out = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		    0644);
}

static void
report(const char *name, long r, int error)
{
	char line[128];
	int n;

	n = snprintf(line, sizeof(line), "%s %s\n", name,
	    r >= 0 ? "ok" : strerrorname_np(error));
	if (out >= 0 && n > 0)
		(void)write(out, line, (size_t)n);
}

ssize_t
splice(int fd_in, loff_t *off_in, int fd_out, loff_t *off_out, size_t len,
    unsigned flags)
{
	if (!confined) {
		confined = 1;
		report("confined", 0, 0);
	}
	return real_splice(fd_in, off_in, fd_out, off_out, len, flags);
}

static int
to_journal(const struct msghdr *msg)
{
	const struct sockaddr_un *sa = msg->msg_name;

	return sa && msg->msg_namelen > offsetof(struct sockaddr_un, sun_path) &&
	    sa->sun_family == AF_UNIX &&
	    strcmp(sa->sun_path, "/run/systemd/journal/socket") == 0;
}

ssize_t
sendmsg(int fd, const struct msghdr *msg, int flags)
{
	ssize_t r;
	int error;

	if (confined && !forced && to_journal(msg) && msg->msg_controllen == 0 &&
	    msg->msg_iovlen > 0) {
		forced = 1;
		report("sendmsg-forced", -1, EMSGSIZE);
		errno = EMSGSIZE;
		return -1;
	}
	r = real_sendmsg(fd, msg, flags);
	error = errno;
	if (forced && to_journal(msg))
		report(msg->msg_controllen ? "sendmsg-fd" : "sendmsg", r, error);
	errno = error;
	return r;
}

int
memfd_create(const char *name, unsigned flags)
{
	int r = real_memfd_create(name, flags), error = errno;

	report("memfd_create", r, error);
	errno = error;
	return r;
}
