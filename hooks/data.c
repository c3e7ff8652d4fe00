/* Hooks on the data path: every way bytes enter or leave a socket. On a descriptor the shim does
 * not follow they cost one table lookup and a tail call to the real function, with no frame of
 * their own: the work for a followed connection, and resolving a real function not yet known,
 * is in a separate *_slow function, so the compiler saves no registers on the way through. On a
 * followed connection the bytes are counted and parsed, and a client's sends go through
 * rs_conn_send (which may add trace-context headers). MSG_PEEK reads are seen but not counted,
 * so a byte is counted once however it is read. */
#include "conn.h"
#include "prof.h"
#include "real.h"

/* A read on a followed socket that blocks past RINGSIDE_WAIT_THRESHOLD_US is a wait sample (a
 * non-blocking one never waits that long). The sample's stack continues at the hook's caller
 * (ret, the hook's return address, passed down to the *_slow body). */
#define READ_WAIT_BEGIN()	 uint64_t t0_ = rs_wait_begin()
#define READ_WAIT_END(name, ret) rs_wait_end(t0_, RS_SAMPLE_READ, (void *)name, ret)

static inline void received(struct rs_conn *c, const void *buf, ssize_t r)
{
	if (r > 0)
		rs_conn_in(c, buf, (size_t)r);
}

static inline void peeked(struct rs_conn *c, ssize_t r)
{
	if (r > 0)
		rs_conn_peeked(c, (size_t)r);
}

static inline void sent(struct rs_conn *c, const void *buf, ssize_t r)
{
	if (r > 0)
		rs_conn_out(c, buf, (size_t)r);
}

static ssize_t plain_sendmsg(int fd, const struct msghdr *msg, int flags)
{
	return REAL(sendmsg)(fd, msg, flags);
}

/* A client connection's send of one buffer, through the rewriting path. */
static ssize_t send_one(struct rs_conn *c, int fd, const void *buf, size_t n, int flags,
			const struct sockaddr *a, socklen_t alen)
{
	struct iovec v = {(void *)buf, n};
	struct msghdr m = {
	    .msg_name = (void *)a, .msg_namelen = alen, .msg_iov = &v, .msg_iovlen = 1};
	return rs_conn_send(c, fd, &m, flags, plain_sendmsg);
}

static RS_NOINLINE ssize_t read_slow(int fd, void *buf, size_t n, struct rs_conn *c, void *ret_addr)
{
	if (!c) /* the real function is not resolved yet */
		return REAL(read)(fd, buf, n);
	READ_WAIT_BEGIN();
	ssize_t r = REAL(read)(fd, buf, n);
	READ_WAIT_END(read, ret_addr);
	received(c, buf, r);
	return r;
}

HOOK(ssize_t, read, int fd, void *buf, size_t n)
{
	struct rs_conn *c = rs_conn_traced(fd);
	if (rs_likely(!c && rs_real_read))
		return rs_real_read(fd, buf, n);
	return read_slow(fd, buf, n, c, __builtin_return_address(0));
}

static RS_NOINLINE ssize_t read_chk_slow(int fd, void *buf, size_t n, size_t buflen,
					 struct rs_conn *c, void *ret_addr)
{
	if (!c) /* the real function is not resolved yet */
		return REAL(__read_chk)(fd, buf, n, buflen);
	READ_WAIT_BEGIN();
	ssize_t r = REAL(__read_chk)(fd, buf, n, buflen);
	READ_WAIT_END(__read_chk, ret_addr);
	received(c, buf, r);
	return r;
}

HOOK(ssize_t, __read_chk, int fd, void *buf, size_t n, size_t buflen)
{
	struct rs_conn *c = rs_conn_traced(fd);
	if (rs_likely(!c && rs_real___read_chk))
		return rs_real___read_chk(fd, buf, n, buflen);
	return read_chk_slow(fd, buf, n, buflen, c, __builtin_return_address(0));
}

static RS_NOINLINE ssize_t write_slow(int fd, const void *buf, size_t n, struct rs_conn *c)
{
	if (!c) /* the real function is not resolved yet */
		return REAL(write)(fd, buf, n);
	if (rs_conn_rewrites(c))
		return send_one(c, fd, buf, n, 0, NULL, 0);
	ssize_t r = REAL(write)(fd, buf, n);
	sent(c, buf, r);
	return r;
}

HOOK(ssize_t, write, int fd, const void *buf, size_t n)
{
	struct rs_conn *c = rs_conn_traced(fd);
	if (rs_likely(!c && rs_real_write))
		return rs_real_write(fd, buf, n);
	return write_slow(fd, buf, n, c);
}

static RS_NOINLINE ssize_t readv_slow(int fd, const struct iovec *iov, int cnt, struct rs_conn *c,
				      void *ret_addr)
{
	if (!c) /* the real function is not resolved yet */
		return REAL(readv)(fd, iov, cnt);
	READ_WAIT_BEGIN();
	ssize_t r = REAL(readv)(fd, iov, cnt);
	READ_WAIT_END(readv, ret_addr);
	if (r > 0)
		rs_conn_in_iov(c, iov, (size_t)cnt, (size_t)r);
	return r;
}

HOOK(ssize_t, readv, int fd, const struct iovec *iov, int cnt)
{
	struct rs_conn *c = rs_conn_traced(fd);
	if (rs_likely(!c && rs_real_readv))
		return rs_real_readv(fd, iov, cnt);
	return readv_slow(fd, iov, cnt, c, __builtin_return_address(0));
}

static RS_NOINLINE ssize_t writev_slow(int fd, const struct iovec *iov, int cnt, struct rs_conn *c)
{
	if (!c) /* the real function is not resolved yet */
		return REAL(writev)(fd, iov, cnt);
	if (cnt > 0 && rs_conn_rewrites(c)) {
		struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)cnt};
		return rs_conn_send(c, fd, &m, 0, plain_sendmsg);
	}
	ssize_t r = REAL(writev)(fd, iov, cnt);
	if (r > 0)
		rs_conn_out_iov(c, iov, (size_t)cnt, (size_t)r);
	return r;
}

HOOK(ssize_t, writev, int fd, const struct iovec *iov, int cnt)
{
	struct rs_conn *c = rs_conn_traced(fd);
	if (rs_likely(!c && rs_real_writev))
		return rs_real_writev(fd, iov, cnt);
	return writev_slow(fd, iov, cnt, c);
}

static RS_NOINLINE ssize_t send_slow(int fd, const void *buf, size_t n, int flags,
				     struct rs_conn *c)
{
	if (!c) /* the real function is not resolved yet */
		return REAL(send)(fd, buf, n, flags);
	if (rs_conn_rewrites(c))
		return send_one(c, fd, buf, n, flags, NULL, 0);
	ssize_t r = REAL(send)(fd, buf, n, flags);
	sent(c, buf, r);
	return r;
}

HOOK(ssize_t, send, int fd, const void *buf, size_t n, int flags)
{
	struct rs_conn *c = rs_conn_traced(fd);
	if (rs_likely(!c && rs_real_send))
		return rs_real_send(fd, buf, n, flags);
	return send_slow(fd, buf, n, flags, c);
}

static RS_NOINLINE ssize_t sendto_slow(int fd, const void *buf, size_t n, int flags,
				       const struct sockaddr *a, socklen_t alen, struct rs_conn *c)
{
	if (!c) /* the real function is not resolved yet */
		return REAL(sendto)(fd, buf, n, flags, a, alen);
	if (rs_conn_rewrites(c))
		return send_one(c, fd, buf, n, flags, a, alen);
	ssize_t r = REAL(sendto)(fd, buf, n, flags, a, alen);
	sent(c, buf, r);
	return r;
}

HOOK(ssize_t, sendto, int fd, const void *buf, size_t n, int flags, const struct sockaddr *a,
     socklen_t alen)
{
	struct rs_conn *c = rs_conn_traced(fd);
	if (rs_likely(!c && rs_real_sendto))
		return rs_real_sendto(fd, buf, n, flags, a, alen);
	return sendto_slow(fd, buf, n, flags, a, alen, c);
}

static RS_NOINLINE ssize_t recv_slow(int fd, void *buf, size_t n, int flags, struct rs_conn *c,
				     void *ret_addr)
{
	if (!c) /* the real function is not resolved yet */
		return REAL(recv)(fd, buf, n, flags);
	READ_WAIT_BEGIN();
	ssize_t r = REAL(recv)(fd, buf, n, flags);
	READ_WAIT_END(recv, ret_addr);
	if (flags & MSG_PEEK)
		peeked(c, r);
	else
		received(c, buf, r);
	return r;
}

HOOK(ssize_t, recv, int fd, void *buf, size_t n, int flags)
{
	struct rs_conn *c = rs_conn_traced(fd);
	if (rs_likely(!c && rs_real_recv))
		return rs_real_recv(fd, buf, n, flags);
	return recv_slow(fd, buf, n, flags, c, __builtin_return_address(0));
}

static RS_NOINLINE ssize_t recv_chk_slow(int fd, void *buf, size_t n, size_t buflen, int flags,
					 struct rs_conn *c, void *ret_addr)
{
	if (!c) /* the real function is not resolved yet */
		return REAL(__recv_chk)(fd, buf, n, buflen, flags);
	READ_WAIT_BEGIN();
	ssize_t r = REAL(__recv_chk)(fd, buf, n, buflen, flags);
	READ_WAIT_END(__recv_chk, ret_addr);
	if (flags & MSG_PEEK)
		peeked(c, r);
	else
		received(c, buf, r);
	return r;
}

HOOK(ssize_t, __recv_chk, int fd, void *buf, size_t n, size_t buflen, int flags)
{
	struct rs_conn *c = rs_conn_traced(fd);
	if (rs_likely(!c && rs_real___recv_chk))
		return rs_real___recv_chk(fd, buf, n, buflen, flags);
	return recv_chk_slow(fd, buf, n, buflen, flags, c, __builtin_return_address(0));
}

static RS_NOINLINE ssize_t recvfrom_slow(int fd, void *buf, size_t n, int flags, struct sockaddr *a,
					 socklen_t *alen, struct rs_conn *c, void *ret_addr)
{
	if (!c) /* the real function is not resolved yet */
		return REAL(recvfrom)(fd, buf, n, flags, a, alen);
	READ_WAIT_BEGIN();
	ssize_t r = REAL(recvfrom)(fd, buf, n, flags, a, alen);
	READ_WAIT_END(recvfrom, ret_addr);
	if (flags & MSG_PEEK)
		peeked(c, r);
	else
		received(c, buf, r);
	return r;
}

HOOK(ssize_t, recvfrom, int fd, void *buf, size_t n, int flags, struct sockaddr *a, socklen_t *alen)
{
	struct rs_conn *c = rs_conn_traced(fd);
	if (rs_likely(!c && rs_real_recvfrom))
		return rs_real_recvfrom(fd, buf, n, flags, a, alen);
	return recvfrom_slow(fd, buf, n, flags, a, alen, c, __builtin_return_address(0));
}

static RS_NOINLINE ssize_t recvfrom_chk_slow(int fd, void *buf, size_t n, size_t buflen, int flags,
					     struct sockaddr *a, socklen_t *alen, struct rs_conn *c,
					     void *ret_addr)
{
	if (!c) /* the real function is not resolved yet */
		return REAL(__recvfrom_chk)(fd, buf, n, buflen, flags, a, alen);
	READ_WAIT_BEGIN();
	ssize_t r = REAL(__recvfrom_chk)(fd, buf, n, buflen, flags, a, alen);
	READ_WAIT_END(__recvfrom_chk, ret_addr);
	if (flags & MSG_PEEK)
		peeked(c, r);
	else
		received(c, buf, r);
	return r;
}

HOOK(ssize_t, __recvfrom_chk, int fd, void *buf, size_t n, size_t buflen, int flags,
     struct sockaddr *a, socklen_t *alen)
{
	struct rs_conn *c = rs_conn_traced(fd);
	if (rs_likely(!c && rs_real___recvfrom_chk))
		return rs_real___recvfrom_chk(fd, buf, n, buflen, flags, a, alen);
	return recvfrom_chk_slow(fd, buf, n, buflen, flags, a, alen, c,
				 __builtin_return_address(0));
}

static RS_NOINLINE ssize_t sendmsg_slow(int fd, const struct msghdr *msg, int flags,
					struct rs_conn *c)
{
	if (!c) /* the real function is not resolved yet */
		return REAL(sendmsg)(fd, msg, flags);
	if (msg && rs_conn_rewrites(c))
		return rs_conn_send(c, fd, msg, flags, plain_sendmsg);
	ssize_t r = REAL(sendmsg)(fd, msg, flags);
	if (r > 0)
		rs_conn_out_iov(c, msg->msg_iov, (size_t)msg->msg_iovlen, (size_t)r);
	return r;
}

HOOK(ssize_t, sendmsg, int fd, const struct msghdr *msg, int flags)
{
	struct rs_conn *c = rs_conn_traced(fd);
	if (rs_likely(!c && rs_real_sendmsg))
		return rs_real_sendmsg(fd, msg, flags);
	return sendmsg_slow(fd, msg, flags, c);
}

static RS_NOINLINE ssize_t recvmsg_slow(int fd, struct msghdr *msg, int flags, struct rs_conn *c,
					void *ret_addr)
{
	if (!c) /* the real function is not resolved yet */
		return REAL(recvmsg)(fd, msg, flags);
	READ_WAIT_BEGIN();
	ssize_t r = REAL(recvmsg)(fd, msg, flags);
	READ_WAIT_END(recvmsg, ret_addr);
	if (flags & MSG_PEEK)
		peeked(c, r);
	else if (r > 0)
		rs_conn_in_iov(c, msg->msg_iov, (size_t)msg->msg_iovlen, (size_t)r);
	return r;
}

HOOK(ssize_t, recvmsg, int fd, struct msghdr *msg, int flags)
{
	struct rs_conn *c = rs_conn_traced(fd);
	if (rs_likely(!c && rs_real_recvmsg))
		return rs_real_recvmsg(fd, msg, flags);
	return recvmsg_slow(fd, msg, flags, c, __builtin_return_address(0));
}

static RS_NOINLINE int sendmmsg_slow(int fd, struct mmsghdr *v, unsigned n, int flags,
				     struct rs_conn *c)
{
	if (!c) /* the real function is not resolved yet */
		return REAL(sendmmsg)(fd, v, n, flags);
	if (n > 0 && rs_conn_rewrites(c)) {
		/* One message at a time through the rewriting path: a short count is legal. */
		ssize_t r = rs_conn_send(c, fd, &v[0].msg_hdr, flags, plain_sendmsg);
		if (r < 0)
			return -1;
		v[0].msg_len = (unsigned)r;
		return 1;
	}
	int r = REAL(sendmmsg)(fd, v, n, flags);
	for (int i = 0; i < r; i++)
		rs_conn_out_iov(c, v[i].msg_hdr.msg_iov, (size_t)v[i].msg_hdr.msg_iovlen,
				v[i].msg_len);
	return r;
}

HOOK(int, sendmmsg, int fd, struct mmsghdr *v, unsigned n, int flags)
{
	struct rs_conn *c = rs_conn_traced(fd);
	if (rs_likely(!c && rs_real_sendmmsg))
		return rs_real_sendmmsg(fd, v, n, flags);
	return sendmmsg_slow(fd, v, n, flags, c);
}

static RS_NOINLINE int recvmmsg_slow(int fd, struct mmsghdr *v, unsigned n, int flags,
				     struct timespec *t, struct rs_conn *c, void *ret_addr)
{
	if (!c) /* the real function is not resolved yet */
		return REAL(recvmmsg)(fd, v, n, flags, t);
	READ_WAIT_BEGIN();
	int r = REAL(recvmmsg)(fd, v, n, flags, t);
	READ_WAIT_END(recvmmsg, ret_addr);
	for (int i = 0; !(flags & MSG_PEEK) && i < r; i++)
		rs_conn_in_iov(c, v[i].msg_hdr.msg_iov, (size_t)v[i].msg_hdr.msg_iovlen,
			       v[i].msg_len);
	return r;
}

HOOK(int, recvmmsg, int fd, struct mmsghdr *v, unsigned n, int flags, struct timespec *t)
{
	struct rs_conn *c = rs_conn_traced(fd);
	if (rs_likely(!c && rs_real_recvmmsg))
		return rs_real_recvmmsg(fd, v, n, flags, t);
	return recvmmsg_slow(fd, v, n, flags, t, c, __builtin_return_address(0));
}

static RS_NOINLINE ssize_t sendfile_slow(int out_fd, int in_fd, off_t *off, size_t n,
					 struct rs_conn *c)
{
	if (!c) /* the real function is not resolved yet */
		return REAL(sendfile)(out_fd, in_fd, off, n);
	if (!rs_conn_flush_injected(c, out_fd))
		return -1;
	ssize_t r = REAL(sendfile)(out_fd, in_fd, off, n);
	if (r > 0)
		rs_conn_out_opaque(c, (size_t)r);
	return r;
}

HOOK(ssize_t, sendfile, int out_fd, int in_fd, off_t *off, size_t n)
{
	struct rs_conn *c = rs_conn_traced(out_fd);
	if (rs_likely(!c && rs_real_sendfile))
		return rs_real_sendfile(out_fd, in_fd, off, n);
	return sendfile_slow(out_fd, in_fd, off, n, c);
}

static RS_NOINLINE ssize_t sendfile64_slow(int out_fd, int in_fd, off64_t *off, size_t n,
					   struct rs_conn *c)
{
	if (!c) /* the real function is not resolved yet */
		return REAL(sendfile64)(out_fd, in_fd, off, n);
	if (!rs_conn_flush_injected(c, out_fd))
		return -1;
	ssize_t r = REAL(sendfile64)(out_fd, in_fd, off, n);
	if (r > 0)
		rs_conn_out_opaque(c, (size_t)r);
	return r;
}

HOOK(ssize_t, sendfile64, int out_fd, int in_fd, off64_t *off, size_t n)
{
	struct rs_conn *c = rs_conn_traced(out_fd);
	if (rs_likely(!c && rs_real_sendfile64))
		return rs_real_sendfile64(out_fd, in_fd, off, n);
	return sendfile64_slow(out_fd, in_fd, off, n, c);
}
