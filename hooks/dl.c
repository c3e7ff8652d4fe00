/* Hooks on the dynamic loader, for the profiler's table of loaded objects (preload/objtab.h).
 * dl_iterate_phdr: inside the profiler's signal handler (libunwind calls it for an address it has
 * not cached) it walks the shim's table instead of taking the loader's lock; everywhere else it
 * is the real one. dlclose: the table is rebuilt around the unmapping, with handlers kept out.
 * dlopen and dlmopen: glibc finds the caller's namespace and RUNPATH from the return address, so
 * these are tail jumps written in assembly that only mark the table stale (the reporter rebuilds
 * it); a C wrapper would make every dlopen look as if libringside had made it. */
#include "prof.h"
#include "real.h"
#include "../preload/objtab.h"
#include "../preload/thread.h"

#include <dlfcn.h>
#include <errno.h>

RS_EARLY_RESOLVER(dl_iterate_phdr)

/* A sanitizer runtime preloaded ahead of a sanitizer build of the shim walks the objects before
 * it has set itself up, where instrumented code would fault: hence RS_NO_SANITIZE. */
RS_NO_SANITIZE
HOOK(int, dl_iterate_phdr, int (*cb)(struct dl_phdr_info *, size_t, void *), void *data)
{
	if (rs_prof_t.in_handler)
		return rs_objtab_iterate(cb, data);
	return RS_EARLY_REAL(dl_iterate_phdr)(cb, data);
}

static RS_TLS int closing; /* a library's destructor may dlclose another one */

HOOK(int, dlclose, void *handle)
{
	if (!rs_load_relaxed(&rs_active) || closing)
		return REAL(dlclose)(handle);
	closing++;
	rs_objtab_close_begin();
	int r = REAL(dlclose)(handle);
	int saved = errno;
	rs_objtab_close_end(REAL(dl_iterate_phdr));
	errno = saved;
	closing--;
	return r;
}

/* Before the constructor resolved the real functions (another library's constructor calling
 * dlopen): resolve and call. Only this path adds a frame of ours. */
RS_HIDDEN void *rs_dlopen_slow(const char *file, int mode)
{
	return REAL(dlopen)(file, mode);
}

RS_HIDDEN void *rs_dlmopen_slow(Lmid_t lmid, const char *file, int mode)
{
	return REAL(dlmopen)(lmid, file, mode);
}

/* The stubs: set the flag, then jump to the real function with the caller's return address
 * still in place. */
#if defined(__x86_64__)
#define RS_DL_STUB(name)                                                                           \
	__asm__(".text\n"                                                                          \
		".globl " #name "\n"                                                               \
		".type " #name ", @function\n" #name ":\n"                                         \
		"	movb $1, rs_dl_opened(%rip)\n"                                             \
		"	movq rs_real_" #name "(%rip), %rax\n"                                     \
		"	testq %rax, %rax\n"                                                        \
		"	jz 1f\n"                                                                   \
		"	jmp *%rax\n"                                                               \
		"1:	jmp rs_" #name "_slow\n"                                                   \
		".size " #name ", .-" #name "\n")
#elif defined(__aarch64__)
#define RS_DL_STUB(name)                                                                           \
	__asm__(".text\n"                                                                          \
		".globl " #name "\n"                                                               \
		".type " #name ", %function\n" #name ":\n"                                         \
		"	adrp x16, rs_dl_opened\n"                                                  \
		"	mov w17, #1\n"                                                             \
		"	strb w17, [x16, :lo12:rs_dl_opened]\n"                                     \
		"	adrp x16, rs_real_" #name "\n"                                             \
		"	ldr x16, [x16, :lo12:rs_real_" #name "]\n"                                 \
		"	cbz x16, 1f\n"                                                             \
		"	br x16\n"                                                                  \
		"1:	b rs_" #name "_slow\n"                                                     \
		".size " #name ", .-" #name "\n")
#endif

RS_DL_STUB(dlopen);
RS_DL_STUB(dlmopen);
