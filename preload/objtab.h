/* The shim's own table of loaded objects. The profiler's signal handler walks it in place of
 * dl_iterate_phdr, which takes the loader's lock and so must never run in a handler; the reporter
 * copies it to symbolize stacks. It is rebuilt from dl_iterate_phdr outside any handler: by the
 * dlclose hook around the unmapping, and by the reporter after a dlopen. */
#ifndef RS_OBJTAB_H
#define RS_OBJTAB_H

#include "rs.h"

#include <link.h>

#define RS_OBJ_MAX 512
#define RS_OBJ_NAMES 65536 /* bytes for all the objects' file names */
#define RS_BUILD_ID_MAX 32

struct rs_obj {
	struct dl_phdr_info info; /* dlpi_name points into the table's own name arena */
	uintptr_t lo, hi;	  /* the lowest and highest address of its PT_LOAD segments */
	uint64_t file_off;	  /* file offset of the executable segment */
	uintptr_t exec_lo, exec_hi; /* the executable segment */
	uint8_t build_id[RS_BUILD_ID_MAX];
	uint8_t build_id_len;
};

struct rs_objtab {
	struct rs_obj obj[RS_OBJ_MAX];
	unsigned n;
	uint64_t gen; /* bumped by every rebuild */
	char names[RS_OBJ_NAMES];
	size_t names_used;
};

/* For a signal handler, in place of dl_iterate_phdr: calls cb for each object until it returns
 * non-zero, and returns that. Returns 0 without calling cb while the table is being rebuilt (an
 * object may be going away). Async-signal-safe: no lock, no allocation. */
int rs_objtab_iterate(int (*cb)(struct dl_phdr_info *, size_t, void *), void *data);

/* Rebuilds the table from the real dl_iterate_phdr (real_iterate). Not in a signal handler. */
void rs_objtab_rebuild(int (*real_iterate)(int (*)(struct dl_phdr_info *, size_t, void *),
					   void *));

/* Around a dlclose: begin stops the handlers' walks and waits out the ones under way, so no
 * handler reads an object while it is unmapped; end rebuilds the table and lets them walk again. */
void rs_objtab_close_begin(void);
void rs_objtab_close_end(int (*real_iterate)(int (*)(struct dl_phdr_info *, size_t, void *),
					     void *));

/* True when the table may miss an object (a dlopen since the last rebuild, or none yet). The
 * dlopen hook sets a flag the reporter polls, since it cannot run code after the real dlopen. */
bool rs_objtab_stale(void);
extern volatile uint8_t rs_dl_opened;

/* Copies the table into *out (not in a signal handler); names are re-pointed into out. */
void rs_objtab_copy(struct rs_objtab *out);
/* The table's generation now: a copy whose gen equals it is current. */
uint64_t rs_objtab_gen(void);

/* The object of *t holding address pc, or NULL. */
const struct rs_obj *rs_objtab_find(const struct rs_objtab *t, uintptr_t pc);

/* Counters for the measurements the design rests on: walks served to handlers, and walks
 * refused because the table was being rebuilt. */
extern _Atomic uint64_t rs_objtab_served, rs_objtab_refused;

/* Fork child: the parent's writers and readers do not exist here. */
void rs_objtab_after_fork_child(void);

#endif
