/*
 * Test code only, for tests/50-sandbox.sh: an LD_PRELOAD shim that runs,
 * inside a running v6fwd, what an attacker who took over the relay would
 * try, and writes what the kernel answered to $PROBE_OUT. The v6fwd binary
 * under test is unchanged: only the test loads this.
 *
 * The probes run at the first splice(2), the relay's first system call,
 * which comes after v6fwd has confined itself; in the UDP relay, at its
 * first recvmmsg(2), likewise (tests/78-udp-sandbox.sh), where PROBE_UDP
 * adds the sockets it must not make. Each line is "NAME RESULT", RESULT
 * being "ok" or the errno name (EPERM: seccomp; EACCES: Landlock).
 * With PROBE_SERVER set, a served mode's server is probed too, at its first
 * accept4(), which comes after it has confined itself: its lines begin
 * "server-".
 *
 * PROBE_MISSING plays an older kernel, to show each layer holding on its
 * own and v6fwd degrading: with "seccomp" in it, seccomp(2) fails with
 * EINVAL (no CONFIG_SECCOMP_FILTER); with "landlock", Landlock's calls fail
 * with ENOSYS (before 5.13). Only the kernel's answer to v6fwd's request is
 * changed, never v6fwd's code. With both missing the probes must succeed:
 * that shows they can see a hole, so their refusals mean something.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static ssize_t	(*real_splice)(int, loff_t *, int, loff_t *, size_t,
		    unsigned);
static int	(*real_recvmmsg)(int, struct mmsghdr *, unsigned, int,
		    struct timespec *);
static long	(*real_syscall)(long, ...);
static int	(*real_accept4)(int, struct sockaddr *, socklen_t *, int);
static int	out = -1;
static int	presock = -1;	/* made before confinement, for connect/bind */
static int	probed;

__attribute__((constructor)) static void
probe_init(void)
{
	const char *path = getenv("PROBE_OUT");

	real_splice = (ssize_t (*)(int, loff_t *, int, loff_t *, size_t,
	    unsigned))dlsym(RTLD_NEXT, "splice");
	real_syscall = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	real_accept4 = (int (*)(int, struct sockaddr *, socklen_t *, int))
	    dlsym(RTLD_NEXT, "accept4");
	real_recvmmsg = (int (*)(int, struct mmsghdr *, unsigned, int,
	    struct timespec *))dlsym(RTLD_NEXT, "recvmmsg");
	if (path)
		out = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		    0644);
	presock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

static void
report(const char *name, int r)
{
	char line[128];
	int n;

	n = snprintf(line, sizeof(line), "%s %s\n", name,
	    r >= 0 ? "ok" : strerrorname_np(errno));
	if (out >= 0 && n > 0)
		(void)write(out, line, (size_t)n);
}

static struct sockaddr_in
loopback(const char *env)
{
	struct sockaddr_in sin;
	const char *p = env ? getenv(env) : NULL;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)(p ? atoi(p) : 0));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sin;
}

/* sock: the socket the relay splices from first. */
static void
probe(int sock)
{
	struct sockaddr_in to = loopback("PROBE_PORT"), any = loopback(NULL);
	const char *dir = getenv("PROBE_DIR");
	char path[512], buf[2];
	pid_t pid;
	char *const argv[] = { "sh", "-c", "echo exec ok >>\"$PROBE_OUT\"",
	    NULL };
	int fd;

	report("open", fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC));
	snprintf(path, sizeof(path), "%s/created", dir ? dir : "/tmp");
	report("create", open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600));
	report("socket", fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	report("bind", bind(presock, (struct sockaddr *)&any, sizeof(any)));
	report("connect", connect(presock, (struct sockaddr *)&to,
	    sizeof(to)));
	report("signal", kill(getppid(), 0));
	report("setuid", setuid(0));
	report("unshare-user", unshare(CLONE_NEWUSER));
	/* The relay reads only single bytes itself, and asks few ioctls. */
	report("recv-2", (int)recvfrom(sock, buf, 2, MSG_PEEK | MSG_DONTWAIT,
	    NULL, NULL));
	report("ioctl-fionbio", ioctl(sock, FIONBIO, &(int){ 1 }));
	if (getenv("PROBE_UDP")) {
		/* The UDP relay makes sockets: only its flows' kind. */
		report("socket-udp-flow", fd = socket(AF_INET, SOCK_DGRAM |
		    SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
		if (fd >= 0)
			close(fd);
		report("socket-udp-other", socket(AF_INET, SOCK_DGRAM, 0));
		report("socket-raw", socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC,
		    IPPROTO_UDP));
		report("socket-netlink", socket(AF_NETLINK, SOCK_DGRAM |
		    SOCK_CLOEXEC, 0));
		if ((pid = fork()) == 0)
			_exit(0);
		report("fork", pid < 0 ? -1 : 0);
	}
	report("done", 0);
	/* Last: should it work, it says so and the relay is gone. */
	report("exec", execv("/bin/sh", argv));
}

/*
 * What the server may still do (read, make a TCP socket, fork: it serves
 * with them) and what it may not; exec last, as above.
 */
static void
probe_server(void)
{
	const char *dir = getenv("PROBE_DIR");
	char path[512];
	char *const argv[] = { "sh", "-c", "echo server-exec ok >>\"$PROBE_OUT\"",
	    NULL };
	pid_t pid;

	report("server-read", open("/etc/hostname", O_RDONLY | O_CLOEXEC));
	snprintf(path, sizeof(path), "%s/created", dir ? dir : "/tmp");
	report("server-create", open(path, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC, 0600));
	report("server-write", open("/etc/hostname", O_WRONLY | O_CLOEXEC));
	report("server-socket-inet", socket(AF_INET, SOCK_STREAM |
	    SOCK_CLOEXEC, 0));
	report("server-socket-packet", socket(AF_PACKET, SOCK_RAW |
	    SOCK_CLOEXEC, 0));
	report("server-socket-netlink", socket(AF_NETLINK, SOCK_RAW |
	    SOCK_CLOEXEC, 0));
	/* A child of its own to trace: never the test that started it. */
	if ((pid = fork()) == 0) {
		pause();
		_exit(0);
	}
	report("server-ptrace", pid < 0 ? -1 : (int)ptrace(PTRACE_ATTACH, pid,
	    0, 0));
	if (pid > 0) {
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, NULL, 0);
	}
	report("server-setuid", setuid(0));
	report("server-unshare-user", unshare(CLONE_NEWUSER));
	report("server-mount", mount("none", "/tmp", "tmpfs", 0, NULL));
	pid = fork();
	if (pid == 0)
		_exit(0);
	report("server-fork", pid);
	if (pid > 0)
		(void)waitpid(pid, NULL, 0);
	report("server-done", 0);
	report("server-exec", execv("/bin/sh", argv));
}

int
accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	static int server_probed;

	if (getenv("PROBE_SERVER") && !server_probed) {
		server_probed = 1;
		probe_server();
	}
	return real_accept4(fd, addr, len, flags);
}

ssize_t
splice(int fd_in, loff_t *off_in, int fd_out, loff_t *off_out, size_t len,
    unsigned flags)
{
	if (!probed) {
		probed = 1;
		probe(fd_in);
	}
	return real_splice(fd_in, off_in, fd_out, off_out, len, flags);
}

int
recvmmsg(int fd, struct mmsghdr *msgs, unsigned n, int flags,
    struct timespec *timeout)
{
	if (!probed) {
		probed = 1;
		probe(fd);
	}
	return real_recvmmsg(fd, msgs, n, flags, timeout);
}

/*
 * v6fwd reaches Landlock and seccomp through syscall(2). Reading six
 * arguments whatever the call is what glibc's own syscall() does.
 */
long
syscall(long nr, ...)
{
	const char *missing = getenv("PROBE_MISSING");
	long a[6];
	va_list ap;
	int i;

	va_start(ap, nr);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (missing && nr == SYS_seccomp && strstr(missing, "seccomp")) {
		errno = EINVAL;
		return -1;
	}
	if (missing && (nr == SYS_landlock_create_ruleset ||
	    nr == SYS_landlock_restrict_self) && strstr(missing, "landlock")) {
		errno = ENOSYS;
		return -1;
	}
	return real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
