/* Hooks on the data path: every way bytes enter or leave a socket. On a descriptor the shim does
 * not follow they cost one table lookup; on a followed connection they count bytes. MSG_PEEK
 * reads are seen but not counted, so a byte is counted once however it is read. */
#include "conn.h"
#include "prof.h"
#include "real.h"

/* A read on a followed socket that blocks past RINGSIDE_WAIT_THRESHOLD_US is a wait sample (a
 * non-blocking one never waits that long). */
#define READ_WAIT_BEGIN(c) uint64_t t0_ = (c) ? rs_wait_begin() : 0
#define READ_WAIT_END(name) rs_wait_end(t0_, RS_SAMPLE_READ, (void *)name, __builtin_return_address(0))

static inline void received(struct rs_conn *c, ssize_t r)
{
	if (c && r > 0)
		rs_conn_received(c, (size_t)r);
}

static inline void sent(struct rs_conn *c, ssize_t r)
{
	if (c && r > 0)
		rs_conn_sent(c, (size_t)r);
}

HOOK(ssize_t, read, int fd, void *buf, size_t n)
{
	struct rs_conn *c = rs_conn_traced(fd);
	READ_WAIT_BEGIN(c);
	ssize_t r = REAL(read)(fd, buf, n);
	READ_WAIT_END(read);
	received(c, r);
	return r;
}

HOOK(ssize_t, __read_chk, int fd, void *buf, size_t n, size_t buflen)
{
	struct rs_conn *c = rs_conn_traced(fd);
	READ_WAIT_BEGIN(c);
	ssize_t r = REAL(__read_chk)(fd, buf, n, buflen);
	READ_WAIT_END(__read_chk);
	received(c, r);
	return r;
}

HOOK(ssize_t, write, int fd, const void *buf, size_t n)
{
	struct rs_conn *c = rs_conn_traced(fd);
	ssize_t r = REAL(write)(fd, buf, n);
	sent(c, r);
	return r;
}

HOOK(ssize_t, readv, int fd, const struct iovec *iov, int cnt)
{
	struct rs_conn *c = rs_conn_traced(fd);
	READ_WAIT_BEGIN(c);
	ssize_t r = REAL(readv)(fd, iov, cnt);
	READ_WAIT_END(readv);
	received(c, r);
	return r;
}

HOOK(ssize_t, writev, int fd, const struct iovec *iov, int cnt)
{
	struct rs_conn *c = rs_conn_traced(fd);
	ssize_t r = REAL(writev)(fd, iov, cnt);
	sent(c, r);
	return r;
}

HOOK(ssize_t, send, int fd, const void *buf, size_t n, int flags)
{
	struct rs_conn *c = rs_conn_traced(fd);
	ssize_t r = REAL(send)(fd, buf, n, flags);
	sent(c, r);
	return r;
}

HOOK(ssize_t, sendto, int fd, const void *buf, size_t n, int flags, const struct sockaddr *a,
     socklen_t alen)
{
	struct rs_conn *c = rs_conn_traced(fd);
	ssize_t r = REAL(sendto)(fd, buf, n, flags, a, alen);
	sent(c, r);
	return r;
}

HOOK(ssize_t, recv, int fd, void *buf, size_t n, int flags)
{
	struct rs_conn *c = rs_conn_traced(fd);
	READ_WAIT_BEGIN(c);
	ssize_t r = REAL(recv)(fd, buf, n, flags);
	READ_WAIT_END(recv);
	received((flags & MSG_PEEK) ? NULL : c, r);
	return r;
}

HOOK(ssize_t, __recv_chk, int fd, void *buf, size_t n, size_t buflen, int flags)
{
	struct rs_conn *c = rs_conn_traced(fd);
	READ_WAIT_BEGIN(c);
	ssize_t r = REAL(__recv_chk)(fd, buf, n, buflen, flags);
	READ_WAIT_END(__recv_chk);
	received((flags & MSG_PEEK) ? NULL : c, r);
	return r;
}

HOOK(ssize_t, recvfrom, int fd, void *buf, size_t n, int flags, struct sockaddr *a,
     socklen_t *alen)
{
	struct rs_conn *c = rs_conn_traced(fd);
	READ_WAIT_BEGIN(c);
	ssize_t r = REAL(recvfrom)(fd, buf, n, flags, a, alen);
	READ_WAIT_END(recvfrom);
	received((flags & MSG_PEEK) ? NULL : c, r);
	return r;
}

HOOK(ssize_t, __recvfrom_chk, int fd, void *buf, size_t n, size_t buflen, int flags,
     struct sockaddr *a, socklen_t *alen)
{
	struct rs_conn *c = rs_conn_traced(fd);
	READ_WAIT_BEGIN(c);
	ssize_t r = REAL(__recvfrom_chk)(fd, buf, n, buflen, flags, a, alen);
	READ_WAIT_END(__recvfrom_chk);
	received((flags & MSG_PEEK) ? NULL : c, r);
	return r;
}

HOOK(ssize_t, sendmsg, int fd, const struct msghdr *msg, int flags)
{
	struct rs_conn *c = rs_conn_traced(fd);
	ssize_t r = REAL(sendmsg)(fd, msg, flags);
	sent(c, r);
	return r;
}

HOOK(ssize_t, recvmsg, int fd, struct msghdr *msg, int flags)
{
	struct rs_conn *c = rs_conn_traced(fd);
	READ_WAIT_BEGIN(c);
	ssize_t r = REAL(recvmsg)(fd, msg, flags);
	READ_WAIT_END(recvmsg);
	received((flags & MSG_PEEK) ? NULL : c, r);
	return r;
}

HOOK(int, sendmmsg, int fd, struct mmsghdr *v, unsigned n, int flags)
{
	struct rs_conn *c = rs_conn_traced(fd);
	int r = REAL(sendmmsg)(fd, v, n, flags);
	for (int i = 0; c && i < r; i++)
		sent(c, v[i].msg_len);
	return r;
}

HOOK(int, recvmmsg, int fd, struct mmsghdr *v, unsigned n, int flags, struct timespec *t)
{
	struct rs_conn *c = rs_conn_traced(fd);
	READ_WAIT_BEGIN(c);
	int r = REAL(recvmmsg)(fd, v, n, flags, t);
	READ_WAIT_END(recvmmsg);
	for (int i = 0; c && !(flags & MSG_PEEK) && i < r; i++)
		received(c, v[i].msg_len);
	return r;
}

HOOK(ssize_t, sendfile, int out_fd, int in_fd, off_t *off, size_t n)
{
	struct rs_conn *c = rs_conn_traced(out_fd);
	ssize_t r = REAL(sendfile)(out_fd, in_fd, off, n);
	sent(c, r);
	return r;
}

HOOK(ssize_t, sendfile64, int out_fd, int in_fd, off64_t *off, size_t n)
{
	struct rs_conn *c = rs_conn_traced(out_fd);
	ssize_t r = REAL(sendfile64)(out_fd, in_fd, off, n);
	sent(c, r);
	return r;
}
