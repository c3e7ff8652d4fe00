/* The list of interposed functions that have a REAL() pointer, and of every exported name.
 * Plain macros with no includes: the build also runs it through the preprocessor to write the
 * linker's version script, so exports and hooks cannot drift apart. */
#ifndef RS_HOOKS_HOOKLIST_H
#define RS_HOOKS_HOOKLIST_H

#define RS_HOOKED(X)                                                                               \
	X(socket)                                                                                  \
	X(bind)                                                                                    \
	X(connect)                                                                                 \
	X(accept)                                                                                  \
	X(accept4)                                                                                 \
	X(shutdown)                                                                                \
	X(getsockopt)                                                                              \
	X(close)                                                                                   \
	X(close_range)                                                                             \
	X(closefrom)                                                                               \
	X(dup)                                                                                     \
	X(dup2)                                                                                    \
	X(dup3)                                                                                    \
	X(fcntl)                                                                                   \
	X(fcntl64)                                                                                 \
	X(pipe)                                                                                    \
	X(pipe2)                                                                                   \
	X(read)                                                                                    \
	X(write)                                                                                   \
	X(readv)                                                                                   \
	X(writev)                                                                                  \
	X(send)                                                                                    \
	X(recv)                                                                                    \
	X(sendto)                                                                                  \
	X(recvfrom)                                                                                \
	X(sendmsg)                                                                                 \
	X(recvmsg)                                                                                 \
	X(sendmmsg)                                                                                \
	X(recvmmsg)                                                                                \
	X(sendfile)                                                                                \
	X(sendfile64)                                                                              \
	X(__read_chk)                                                                              \
	X(__recv_chk)                                                                              \
	X(__recvfrom_chk)                                                                          \
	X(execve)                                                                                  \
	X(execv)                                                                                   \
	X(execvp)                                                                                  \
	X(execvpe)                                                                                 \
	X(fexecve)                                                                                 \
	X(execveat)                                                                                \
	X(posix_spawn)                                                                             \
	X(posix_spawnp)                                                                             \
	X(pthread_create)                                                                          \
	X(thrd_create)                                                                             \
	X(pthread_mutex_lock)                                                                      \
	X(sigaction)                                                                               \
	X(signal)                                                                                  \
	X(dlopen)                                                                                  \
	X(dlmopen)                                                                                 \
	X(dlclose)                                                                                 \
	X(dl_iterate_phdr)

/* Exported without a REAL() of their own: the execl forms are built on the vector forms; the
 * OpenTelemetry thread-context pointer is data; OPENSSL_cleanup finds the real one itself, when
 * the program has one (hooks/openssl.c). */
#define RS_EXPORTED(X)                                                                             \
	RS_HOOKED(X) X(execl) X(execle) X(execlp) X(otel_thread_ctx_v1) X(OPENSSL_cleanup) RS_COND(X)

/* pthread_cond_wait/timedwait: on x86_64 glibc has two versions of each, exported with .symver
 * under the version nodes of exports.map.in (hooks/wait.c); elsewhere one, exported plainly. */
#if defined(__x86_64__)
#define RS_COND(X)
#else
#define RS_COND(X) X(pthread_cond_wait) X(pthread_cond_timedwait)
#endif

#endif
