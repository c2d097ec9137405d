/*
 * The sandbox. Once v6fwd holds both sockets it needs nothing more from the
 * system: no file, no new socket, no other process. So before the first
 * byte is relayed it gives all of that up, as OpenSSH's privilege separation
 * child does, in three independent locks:
 *
 *  - no_new_privs: no execve() can ever raise privileges again (set-user-ID
 *    files, file capabilities). The kernel requires it for the other two.
 *  - Landlock, with every access right the kernel and this file know
 *    handled and no rule granting any: no file can be opened, created,
 *    removed, truncated or executed; from ABI 4 no TCP connect() or bind();
 *    from ABI 6 no signal and no abstract Unix socket outside the process.
 *  - seccomp: an allow-list of the system calls the relay and the log make
 *    from here on. Everything else fails with EPERM.
 *
 * These cost microseconds, where each of systemd's namespace-based
 * directives costs milliseconds on every connection, and they confine more
 * tightly than any unit setting can, because they begin after the sockets
 * are open. The unit's cheap directives remain as the outer layer.
 *
 * Why EPERM rather than killing the process: a killed relay closes both
 * sockets with a FIN, so a peer would take a cut transfer for a complete
 * one, and the connection would leave no record. With EPERM a call we did
 * not foresee fails like any other error: both sides get a RST and the log
 * says what failed. Nothing is gained by a denied call in either case, and
 * SECCOMP_FILTER_FLAG_LOG sends each denial to the audit log (the kernel
 * log without auditd), where a kill would also have been seen. A system
 * call from another ABI (i386 or x32 on x86-64) is never made by v6fwd and
 * is only seen from injected code: that kills.
 *
 * The kernel may lack a layer (Landlock disabled at boot, or older than
 * 5.13; seccomp filters not built in). Then v6fwd relays anyway with what
 * there is and says so in one line; a Landlock older than this file, which
 * lacks some rights, is used as far as it goes and named in the connection
 * record (V6FWD_SANDBOX), since seccomp refuses those operations anyway.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/sockios.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <unistd.h>

#include "macro.h"
#include "sandbox.h"

/*
 * Sanitizer runtimes make system calls of their own at exit and when they
 * report; the leak check in particular reads /proc and ptrace()s the
 * process, which the sandbox forbids. So a sanitized build runs the leak
 * check before confining itself and allows the runtime's other calls.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_ASAN	1
#endif
#endif
#ifdef SANDBOX_ASAN
#include <sanitizer/lsan_interface.h>
#endif

/* Landlock, with no libc wrapper and possibly older kernel headers. */
#ifndef __NR_landlock_create_ruleset	/* the same on every architecture */
#define __NR_landlock_create_ruleset	444
#define __NR_landlock_add_rule		445
#define __NR_landlock_restrict_self	446
#endif
#define LL_RULE_NET_PORT	2
#ifndef LANDLOCK_CREATE_RULESET_VERSION
#define LANDLOCK_CREATE_RULESET_VERSION	(1U << 0)
#endif
#define LL_FS_ABI1		((UINT64_C(1) << 13) - 1)  /* EXECUTE..MAKE_SYM */
#define LL_FS_READ		(UINT64_C(3) << 2)	/* READ_FILE, READ_DIR */
#define LL_FS_REFER		(UINT64_C(1) << 13)	/* ABI 2 */
#define LL_FS_TRUNCATE		(UINT64_C(1) << 14)	/* ABI 3 */
#define LL_FS_IOCTL_DEV		(UINT64_C(1) << 15)	/* ABI 5 */
#define LL_NET_BIND_TCP		(UINT64_C(1) << 0)	/* ABI 4 */
#define LL_NET_CONNECT_TCP	(UINT64_C(1) << 1)	/* ABI 4 */
#define LL_SCOPE_ABSTRACT_UNIX	(UINT64_C(1) << 0)	/* ABI 6 */
#define LL_SCOPE_SIGNAL		(UINT64_C(1) << 1)	/* ABI 6 */
/* The newest ABI whose rights are listed above (7 added only logging). */
#define LL_ABI_KNOWN		7

/* struct landlock_ruleset_attr as of ABI 6; older kernels take a prefix. */
struct ll_ruleset_attr {
	uint64_t	handled_access_fs;
	uint64_t	handled_access_net;
	uint64_t	scoped;
};

/* struct landlock_net_port_attr */
struct ll_net_port_attr {
	uint64_t	allowed_access;
	uint64_t	port;
};

/* The seccomp filter's architecture check and argument layout. */
#if defined(__x86_64__) && !defined(__ILP32__)
#define SECCOMP_ARCH	AUDIT_ARCH_X86_64
#define SECCOMP_X32_BIT	0x40000000U	/* __X32_SYSCALL_BIT */
#elif defined(__aarch64__)
#define SECCOMP_ARCH	AUDIT_ARCH_AARCH64
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG_LOW(i)	(offsetof(struct seccomp_data, args[(i)]))
#define ARG_HIGH(i)	(offsetof(struct seccomp_data, args[(i)]) + 4)
#else
#define ARG_LOW(i)	(offsetof(struct seccomp_data, args[(i)]) + 4)
#define ARG_HIGH(i)	(offsetof(struct seccomp_data, args[(i)]))
#endif

#define DENY		(SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA))

#define RET(action)	BPF_STMT(BPF_RET | BPF_K, (action))
#define LOAD(off)	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define LOAD_NR		LOAD(offsetof(struct seccomp_data, nr))
#define JEQ(k, t, f)	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (t), (f))
#define JSET(k, t, f)	BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, (k), (t), (f))

/*
 * Each of these starts with the system call number in A; those that look
 * at an argument either return or load the number back. The kernel reads
 * the arguments compared here as 32-bit ints.
 */
#define ON(sys, action)		JEQ(sys, 0, 1), RET(action)
#define ALLOW(sys)		ON(sys, SECCOMP_RET_ALLOW)
#define DENY_NR(sys)		ON(sys, DENY)
/* Only when argument i is v (or v or w, or u, v or w). */
#define ALLOW_ARG(sys, i, v)	JEQ(sys, 0, 4), LOAD(ARG_LOW(i)), \
	JEQ(v, 0, 1), RET(SECCOMP_RET_ALLOW), RET(DENY)
#define ALLOW_ARG2(sys, i, v, w) JEQ(sys, 0, 5), LOAD(ARG_LOW(i)), \
	JEQ(v, 1, 0), JEQ(w, 0, 1), RET(SECCOMP_RET_ALLOW), RET(DENY)
#define ALLOW_ARG3(sys, i, u, v, w) JEQ(sys, 0, 6), LOAD(ARG_LOW(i)), \
	JEQ(u, 2, 0), JEQ(v, 1, 0), JEQ(w, 0, 1), RET(SECCOMP_RET_ALLOW), \
	RET(DENY)
/* Only when argument i, a 64-bit size, is v: both of its halves. */
#define ALLOW_SIZE(sys, i, v)	JEQ(sys, 0, 6), LOAD(ARG_HIGH(i)), \
	JEQ(0, 0, 3), LOAD(ARG_LOW(i)), JEQ(v, 0, 1), \
	RET(SECCOMP_RET_ALLOW), RET(DENY)
/*
 * socket(family, type, 0) allowed; any other call, or socket() with other
 * arguments, goes on to the rules after it, with the number back in A.
 */
#define ALLOW_SOCKET(sys, family, type) JEQ(sys, 0, 8), \
	LOAD(ARG_LOW(0)), JEQ(family, 0, 5), \
	LOAD(ARG_LOW(1)), JEQ(type, 0, 3), \
	LOAD(ARG_LOW(2)), JEQ(0, 0, 1), RET(SECCOMP_RET_ALLOW), LOAD_NR
/* Only without PROT_EXEC in argument 2 (mmap, mprotect). */
#define ALLOW_NOEXEC(sys)	JEQ(sys, 0, 4), LOAD(ARG_LOW(2)), \
	JSET(PROT_EXEC, 1, 0), RET(SECCOMP_RET_ALLOW), RET(DENY)
/* Only socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0): the journal's. */
#define ALLOW_UNIX_DGRAM(sys)	JEQ(sys, 0, 8), \
	LOAD(ARG_LOW(0)), JEQ(AF_UNIX, 0, 5), \
	LOAD(ARG_LOW(1)), JEQ(SOCK_DGRAM | SOCK_CLOEXEC, 0, 3), \
	LOAD(ARG_LOW(2)), JEQ(0, 0, 1), RET(SECCOMP_RET_ALLOW), RET(DENY)
/* Denied when argument i has any of the bits. */
#define DENY_BITS(sys, i, bits)	JEQ(sys, 0, 3), LOAD(ARG_LOW(i)), \
	JSET(bits, 0, 1), RET(DENY), LOAD_NR
/* A socket of TCP's families or AF_UNIX only. */
#define SOCKET_FAMILIES(sys)	JEQ(sys, 0, 6), LOAD(ARG_LOW(0)), \
	JEQ(AF_INET, 3, 0), JEQ(AF_INET6, 2, 0), JEQ(AF_UNIX, 1, 0), \
	RET(DENY), LOAD_NR

#ifdef SECCOMP_ARCH
/* Kills a call from another ABI (i386, x32); leaves the number in A. */
#define NATIVE_ARCH	LOAD(offsetof(struct seccomp_data, arch)), \
	JEQ(SECCOMP_ARCH, 1, 0), RET(SECCOMP_RET_KILL_PROCESS), LOAD_NR
#ifdef SECCOMP_X32_BIT
#define NATIVE_ONLY	NATIVE_ARCH, \
	BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, SECCOMP_X32_BIT, 0, 1), \
	RET(SECCOMP_RET_KILL_PROCESS)
#else
#define NATIVE_ONLY	NATIVE_ARCH
#endif

/*
 * The end of both allow-lists: the allocator, exit, and under sanitizers
 * what their runtime calls to report (a sanitized build is never shipped).
 * The memfd of a large journal record is named after the thread.
 */
#ifdef SANDBOX_ASAN
#define PRCTL_NAME	ALLOW(__NR_prctl)
#define SANITIZER_CALLS	, ALLOW_NOEXEC(__NR_mprotect), ALLOW(__NR_madvise), \
	ALLOW(__NR_mremap), ALLOW(__NR_sigaltstack), ALLOW(__NR_rt_sigaction), \
	ALLOW(__NR_getpid), ALLOW(__NR_gettid), ALLOW(__NR_tgkill), \
	ALLOW(__NR_futex), ALLOW(__NR_sched_yield), ALLOW(__NR_getrlimit), \
	ALLOW(__NR_prlimit64), ALLOW(__NR_fstat), ALLOW(__NR_newfstatat)
#else
#define PRCTL_NAME	ALLOW_ARG(__NR_prctl, 0, PR_GET_NAME)
#define SANITIZER_CALLS
#endif
#define MEMORY_AND_EXIT	ALLOW(__NR_brk), ALLOW_NOEXEC(__NR_mmap), \
	ALLOW(__NR_munmap), ALLOW(__NR_exit_group), ALLOW(__NR_exit) \
	SANITIZER_CALLS

/*
 * What relay.c and log.c (with libsystemd's sd_journal_sendv()) call once
 * the sockets are open, the most frequent first (the filter runs on every
 * call). write() is also the relay's: an urgent byte into its pipe. Not
 * here: open, connect, bind, execve, kill, ptrace, set*id, any socket but
 * the journal's, and everything else.
 */
static const struct sock_filter filter[] = {
	NATIVE_ONLY,
	/* The relay: relay.c. */
	ALLOW(__NR_splice),
	ALLOW(__NR_ppoll),
	ALLOW(__NR_getsockopt),			/* SO_ERROR */
	ALLOW(__NR_setsockopt),			/* SO_LINGER, SO_OOBINLINE */
	/*
	 * The byte at an urgent mark (SIOCATMARK: is the socket there?),
	 * the only one the relay reads itself; how full the socket queues
	 * are (SIOCOUTQ, SIOCINQ), for the wait before closing and the
	 * record's byte counts. SIOCOUTQ also tells the log whether
	 * journald has read a record.
	 */
	ALLOW_SIZE(__NR_recvfrom, 2, 1),
	ALLOW_ARG3(__NR_ioctl, 1, SIOCATMARK, SIOCOUTQ, SIOCINQ),
	ALLOW(__NR_shutdown),			/* passing an EOF on */
	ALLOW(__NR_close),
	ALLOW(__NR_pipe2),			/* its two pipes */
	ALLOW_ARG2(__NR_fcntl, 1, F_SETPIPE_SZ, F_ADD_SEALS),
	ALLOW(__NR_clock_gettime),		/* if the vDSO falls back */
	ALLOW(__NR_gettimeofday),
	ALLOW(__NR_rt_sigreturn),		/* SIGTERM's handler */
	ALLOW(__NR_restart_syscall),
	/* The log: log.c, to the journal or stderr. */
	ALLOW(__NR_sendmsg),			/* sd_journal_sendv() */
	ALLOW(__NR_sendto),			/* the barrier, see log.c */
	ALLOW(__NR_write),
	ALLOW(__NR_writev),
	ALLOW(__NR_setitimer),			/* bounds a blocked write */
	ALLOW(__NR_rt_sigprocmask),		/* SIGTERM may end it */
	/* libsystemd opens its journal socket at its first message. */
	ALLOW_UNIX_DGRAM(__NR_socket),
	/*
	 * A record too large for one datagram goes in a sealed memfd, passed
	 * with SCM_RIGHTS; the memfd's name is the thread's (PR_GET_NAME).
	 */
	ALLOW(__NR_memfd_create),
	PRCTL_NAME,
	/* The C library's allocator, should a message need memory. */
	MEMORY_AND_EXIT,
	RET(DENY),
};

/*
 * The UDP relay's, once its listening socket and epoll instance are open
 * (udp.c): what it calls for every datagram, the most frequent first, then
 * what a new flow needs (a UDP socket, bind for a mapped source, connect),
 * then the log and sd_notify() as above. Not here: open, exec, fork, kill,
 * ptrace, a TCP or raw or netlink socket, and everything else.
 */
static const struct sock_filter udp_filter[] = {
	NATIVE_ONLY,
	/* Every datagram. */
	ALLOW(__NR_recvmmsg),
	ALLOW(__NR_sendmmsg),
	ALLOW(__NR_sendto),			/* send() */
	ALLOW(__NR_epoll_pwait),
#ifdef __NR_epoll_wait
	ALLOW(__NR_epoll_wait),
#endif
	ALLOW(__NR_clock_gettime),		/* if the vDSO falls back */
	ALLOW(__NR_gettimeofday),
	ALLOW(__NR_recvmsg),			/* ICMP errors: MSG_ERRQUEUE */
	/* A new flow, and its end. */
	ALLOW_SOCKET(__NR_socket, AF_INET,
	    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC),
	ALLOW_SOCKET(__NR_socket, AF_INET6,
	    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC),
	ALLOW(__NR_setsockopt),			/* IP_RECVERR */
	ALLOW(__NR_bind),			/* map-source */
	ALLOW(__NR_connect),
	ALLOW(__NR_getsockname),		/* the source the target sees */
	ALLOW_ARG2(__NR_epoll_ctl, 1, EPOLL_CTL_ADD, EPOLL_CTL_DEL),
	ALLOW(__NR_close),
	ALLOW(__NR_rt_sigreturn),		/* SIGTERM's handler */
	ALLOW(__NR_restart_syscall),
	/* The log (log.c, libsystemd) and sd_notify(). */
	ALLOW(__NR_sendmsg),
	ALLOW(__NR_write),
	ALLOW(__NR_writev),
	ALLOW(__NR_getsockopt),			/* libsystemd's SO_SNDBUF */
	ALLOW_ARG(__NR_ioctl, 1, SIOCOUTQ),
	ALLOW(__NR_setitimer),
	ALLOW(__NR_rt_sigprocmask),
	ALLOW_SOCKET(__NR_socket, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC),
	ALLOW(__NR_memfd_create),
	ALLOW_ARG(__NR_fcntl, 1, F_ADD_SEALS),
	PRCTL_NAME,
	MEMORY_AND_EXIT,
	RET(DENY),
};

#define WRITE_FLAGS	(O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND)

/*
 * The server's filter, from the start: a deny-list, since it and the
 * processes it forks do much (fork, resolve names, read the configuration)
 * before each connection's process installs the allow-list above. No
 * program can be run, no file opened for writing or created, removed or
 * changed, no socket but TCP's families and AF_UNIX (the journal, the
 * notifications, the resolver's modules), no other process inspected, no
 * privilege, no namespace, no kernel module or BPF program.
 */
static const struct sock_filter server_filter[] = {
	NATIVE_ONLY,
	SOCKET_FAMILIES(__NR_socket),
	DENY_BITS(__NR_openat, 2, WRITE_FLAGS),
#ifdef __NR_open
	DENY_BITS(__NR_open, 1, WRITE_FLAGS),
	DENY_NR(__NR_creat),
	DENY_NR(__NR_mkdir),
	DENY_NR(__NR_rmdir),
	DENY_NR(__NR_unlink),
	DENY_NR(__NR_rename),
	DENY_NR(__NR_link),
	DENY_NR(__NR_symlink),
	DENY_NR(__NR_mknod),
	DENY_NR(__NR_chmod),
	DENY_NR(__NR_chown),
	DENY_NR(__NR_lchown),
#endif
	DENY_NR(__NR_openat2),
	DENY_NR(__NR_execve),
	DENY_NR(__NR_execveat),
	DENY_NR(__NR_truncate),
	DENY_NR(__NR_mkdirat),
	DENY_NR(__NR_unlinkat),
	DENY_NR(__NR_renameat),
	DENY_NR(__NR_renameat2),
	DENY_NR(__NR_linkat),
	DENY_NR(__NR_symlinkat),
	DENY_NR(__NR_mknodat),
	DENY_NR(__NR_fchmodat),
	DENY_NR(__NR_fchownat),
#ifndef SANDBOX_ASAN	/* the leak check stops the world with ptrace() */
	DENY_NR(__NR_ptrace),
	DENY_NR(__NR_process_vm_readv),
	DENY_NR(__NR_process_vm_writev),
#endif
	DENY_NR(__NR_mount),
	DENY_NR(__NR_umount2),
	DENY_NR(__NR_pivot_root),
	DENY_NR(__NR_chroot),
	DENY_NR(__NR_unshare),
	DENY_NR(__NR_setns),
	DENY_NR(__NR_setuid),
	DENY_NR(__NR_setgid),
	DENY_NR(__NR_setreuid),
	DENY_NR(__NR_setregid),
	DENY_NR(__NR_setresuid),
	DENY_NR(__NR_setresgid),
	DENY_NR(__NR_setgroups),
	DENY_NR(__NR_init_module),
	DENY_NR(__NR_finit_module),
	DENY_NR(__NR_delete_module),
	DENY_NR(__NR_kexec_load),
	DENY_NR(__NR_bpf),
	DENY_NR(__NR_perf_event_open),
	DENY_NR(__NR_userfaultfd),
	DENY_NR(__NR_io_uring_setup),
	DENY_NR(__NR_keyctl),
	DENY_NR(__NR_add_key),
	DENY_NR(__NR_request_key),
	DENY_NR(__NR_reboot),
	DENY_NR(__NR_swapon),
	DENY_NR(__NR_swapoff),
	DENY_NR(__NR_acct),
	RET(SECCOMP_RET_ALLOW),
};
#endif

/* Which process is confined: the filters and rules differ. */
enum kind {
	KIND_CONNECTION,	/* one connection's, or a per-connection instance */
	KIND_SERVER,		/* the served mode's server, from the start */
	KIND_UDP,		/* the UDP relay, once set up */
};

static int
seccomp_apply(enum kind kind)
{
#ifdef SECCOMP_ARCH
	struct sock_fprog prog = {
		.len = (unsigned short)(kind == KIND_SERVER ?
		    ELEMENTSOF(server_filter) : kind == KIND_UDP ?
		    ELEMENTSOF(udp_filter) : ELEMENTSOF(filter)),
		.filter = (struct sock_filter *)(kind == KIND_SERVER ?
		    server_filter : kind == KIND_UDP ? udp_filter : filter),
	};

	if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER,
	    SECCOMP_FILTER_FLAG_LOG, &prog) == 0)
		return 0;
	return -errno;
#else
	(void)kind;
	return -EAFNOSUPPORT;
#endif
}

/*
 * A connection's process handles every right this kernel knows and grants
 * none. A server reads (its configuration, and the resolver's files and
 * modules, for the connections it forks), and binds TCP only to port 0 (a
 * mapped source, see mapsrc.c): nothing else. The UDP relay grants none
 * either: Landlock has no rights for UDP, which seccomp bounds instead. It
 * leaves abstract Unix sockets unscoped when the service manager's
 * notification socket is one (as in some containers), for its STATUS=.
 */
static int
landlock_apply(enum kind kind, int *abi_ret)
{
	bool server = kind == KIND_SERVER;
	const char *notify = getenv("NOTIFY_SOCKET");
	struct ll_ruleset_attr attr;
	struct ll_net_port_attr port0 = { LL_NET_BIND_TCP, 0 };
	size_t size;
	long abi;
	int fd, r = 0;

	*abi_ret = 0;
	abi = syscall(__NR_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 0)
		return -errno;
	if (abi > LL_ABI_KNOWN)
		abi = LL_ABI_KNOWN;

	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = LL_FS_ABI1;
	if (abi >= 2)
		attr.handled_access_fs |= LL_FS_REFER;
	if (abi >= 3)
		attr.handled_access_fs |= LL_FS_TRUNCATE;
	if (abi >= 4)
		attr.handled_access_net = server ? LL_NET_BIND_TCP :
		    LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
	if (abi >= 5)
		attr.handled_access_fs |= LL_FS_IOCTL_DEV;
	if (abi >= 6)
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
	if (kind == KIND_UDP && notify && notify[0] == '@')
		attr.scoped &= ~LL_SCOPE_ABSTRACT_UNIX;
	if (server)
		attr.handled_access_fs &= ~LL_FS_READ;
	/* Pass only the fields this kernel knows. */
	size = abi >= 6 ? sizeof(attr) : abi >= 4 ?
	    offsetof(struct ll_ruleset_attr, scoped) :
	    offsetof(struct ll_ruleset_attr, handled_access_net);

	fd = (int)syscall(__NR_landlock_create_ruleset, &attr, size, 0);
	if (fd < 0)
		return -errno;
	/* A connection's process: no rule, every handled access is refused. */
	if (server && abi >= 4 && syscall(__NR_landlock_add_rule, fd,
	    LL_RULE_NET_PORT, &port0, 0) < 0)
		r = -errno;
	else if (syscall(__NR_landlock_restrict_self, fd, 0) < 0)
		r = -errno;
	else
		*abi_ret = (int)abi;
	(void)close(fd);
	return r;
}

/* "landlock-fs landlock-net landlock-scope seccomp", or "none". */
const char *
sandbox_describe(const struct sandbox *st, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s%s", st->abi ? "landlock-fs " : "",
	    st->abi >= 4 ? "landlock-net " : "",
	    st->abi >= 6 ? "landlock-scope " : "",
	    st->seccomp_err ? "" : "seccomp");
	if (buf[0] == '\0')
		snprintf(buf, size, "none");
	return buf;
}

/* Why there is no Landlock, in words an administrator can act on. */
static const char *
landlock_why(int err)
{
	switch (err) {
	case ENOSYS:
		return "kernel older than 5.13";
	case EOPNOTSUPP:
		return "disabled at boot, see lsm= in kernel-parameters";
	default:
		return strerror(err);
	}
}

/*
 * The line to log when a layer is missing ("Confinement degraded: ..."),
 * with its priority in *prio; NULL when nothing is missing.
 */
const char *
sandbox_degraded(const struct sandbox *st, int *prio, char *buf, size_t size)
{
	if (st->seccomp_err) {
		*prio = LOG_WARNING;
		snprintf(buf, size, "Confinement degraded: no seccomp filter "
		    "(%s)%s%s%s, ignoring", st->seccomp_err == EAFNOSUPPORT ?
		    "none written for this architecture" :
		    strerror(st->seccomp_err), st->landlock_err ?
		    " and no Landlock (" : "", st->landlock_err ?
		    landlock_why(st->landlock_err) : "",
		    st->landlock_err ? ")" : "");
		return buf;
	}
	if (st->landlock_err) {
		*prio = LOG_NOTICE;
		snprintf(buf, size, "Confinement degraded: no Landlock (%s), "
		    "seccomp alone, ignoring", landlock_why(st->landlock_err));
		return buf;
	}
	return NULL;
}

/*
 * Confines the process; called with both sockets open, right before the
 * relay. Never fails: what the kernel cannot do is said in st, for the
 * caller to log.
 */
static void
confine(enum kind kind, struct sandbox *st)
{
	int r;

	memset(st, 0, sizeof(*st));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		/* Cannot fail since 3.5; without it neither layer loads. */
		st->landlock_err = st->seccomp_err = errno;
		return;
	}
	if ((r = landlock_apply(kind, &st->abi)) < 0)
		st->landlock_err = -r;
	if ((r = seccomp_apply(kind)) < 0)
		st->seccomp_err = -r;
}

void
sandbox_apply(struct sandbox *st)
{
#ifdef SANDBOX_ASAN
	__lsan_do_leak_check();
#endif
	confine(KIND_CONNECTION, st);
}

/*
 * Confines a server from the start to what it and the processes it forks
 * need before each confines itself with sandbox_apply(); the layers stack.
 */
void
sandbox_apply_server(struct sandbox *st)
{
	confine(KIND_SERVER, st);
}

/*
 * Confines the UDP relay once its sockets are open and it has read all it
 * will ever read (udp.c): from then on it makes UDP sockets, binds and
 * connects them, moves datagrams and logs, and nothing else. A sanitized
 * build runs its leak check here, as sandbox_apply() does.
 */
void
sandbox_apply_udp(struct sandbox *st)
{
#ifdef SANDBOX_ASAN
	__lsan_do_leak_check();
#endif
	confine(KIND_UDP, st);
}
