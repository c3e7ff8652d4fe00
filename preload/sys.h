/* Raw system calls for the shim's own use: they return -errno and never touch the program's errno,
 * and they bypass every interposed function, ours and anyone else's (the compiler-rt habit). */
#ifndef RS_SYS_H
#define RS_SYS_H

#include "rs.h"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>

static inline long rs_sys6(long n, long a, long b, long c, long d, long e, long f)
{
#if defined(__x86_64__)
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
#elif defined(__aarch64__)
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;
	register long x5 __asm__("x5") = f;
	__asm__ volatile("svc 0"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
			 : "memory");
	return x0;
#else
#error "ringside supports x86_64 and aarch64"
#endif
}

#define rs_sys0(n) rs_sys6((n), 0, 0, 0, 0, 0, 0)
#define rs_sys1(n, a) rs_sys6((n), (long)(a), 0, 0, 0, 0, 0)
#define rs_sys2(n, a, b) rs_sys6((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define rs_sys3(n, a, b, c) rs_sys6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define rs_sys4(n, a, b, c, d) rs_sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define rs_sys5(n, a, b, c, d, e)                                                                  \
	rs_sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

static inline long rs_sys_write(int fd, const void *buf, size_t len)
{
	return rs_sys3(SYS_write, fd, buf, len);
}

static inline long rs_sys_close(int fd)
{
	return rs_sys1(SYS_close, fd);
}

static inline pid_t rs_sys_gettid(void)
{
	return (pid_t)rs_sys0(SYS_gettid);
}

static inline pid_t rs_sys_getpid(void)
{
	return (pid_t)rs_sys0(SYS_getpid);
}

static inline void *rs_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, long off)
{
	return (void *)rs_sys6(SYS_mmap, (long)addr, (long)len, prot, flags, fd, off);
}

static inline bool rs_sys_mmap_failed(void *p)
{
	return (unsigned long)p > -4096UL;
}

static inline long rs_sys_munmap(void *addr, size_t len)
{
	return rs_sys2(SYS_munmap, addr, len);
}

/* futex on a private 32-bit word; timeout is relative, NULL waits forever. */
static inline long rs_sys_futex_wait(_Atomic uint32_t *word, uint32_t expect,
				     const struct timespec *rel)
{
	return rs_sys4(SYS_futex, word, 0 /* FUTEX_WAIT */ | 128 /* FUTEX_PRIVATE_FLAG */, expect,
		       rel);
}

static inline long rs_sys_futex_wake(_Atomic uint32_t *word, int n)
{
	return rs_sys3(SYS_futex, word, 1 /* FUTEX_WAKE */ | 128, n);
}

#endif
