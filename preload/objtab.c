/* The table of loaded objects and its protocol. Writers (the dlclose hook, the reporter) take a
 * spin flag among themselves; a rebuild raises `busy` and waits until no handler is reading, and
 * handlers announce themselves in `readers` before they look at `busy`. Sequentially consistent
 * operations on both make this Dekker's handshake: a handler either sees busy and stays out, or
 * the writer sees the handler and waits for it. Handlers are short and never wait themselves. */
#include "objtab.h"
#include "sys.h"

#include <elf.h>
#include <sched.h>
#include <string.h>

static struct rs_objtab tab;
static _Atomic int busy;
static _Atomic int readers;
static atomic_flag writer = ATOMIC_FLAG_INIT;
static _Atomic bool stale = true; /* empty until the first rebuild */

_Atomic uint64_t rs_objtab_served, rs_objtab_refused;

int rs_objtab_iterate(int (*cb)(struct dl_phdr_info *, size_t, void *), void *data)
{
	atomic_fetch_add(&readers, 1);
	if (atomic_load(&busy)) {
		atomic_fetch_sub(&readers, 1);
		rs_add_relaxed(&rs_objtab_refused, 1);
		return 0;
	}
	rs_add_relaxed(&rs_objtab_served, 1);
	int r = 0;
	for (unsigned i = 0; i < tab.n && r == 0; i++)
		r = cb(&tab.obj[i].info, sizeof(tab.obj[i].info), data);
	atomic_fetch_sub(&readers, 1);
	return r;
}

static void writer_lock(void)
{
	while (atomic_flag_test_and_set_explicit(&writer, memory_order_acquire))
		sched_yield();
}

static void writer_unlock(void)
{
	atomic_flag_clear_explicit(&writer, memory_order_release);
}

static void stop_readers(void)
{
	atomic_fetch_add(&busy, 1);
	while (atomic_load(&readers) != 0)
		sched_yield(); /* a handler's walk: microseconds */
}

/* The GNU build id from the object's PT_NOTE segments, in memory (the object is loaded: we are
 * inside dl_iterate_phdr's callback). */
static void read_build_id(struct rs_obj *o)
{
	const struct dl_phdr_info *info = &o->info;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
		const uint8_t *end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
			size_t name = (nh->n_namesz + 3) & ~3u, desc = (nh->n_descsz + 3) & ~3u;
			const uint8_t *d = p + sizeof(*nh) + name;
			if (d + desc > end)
				break;
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
			    memcmp(p + sizeof(*nh), "GNU", 4) == 0) {
				o->build_id_len = (uint8_t)RS_MIN(nh->n_descsz, RS_BUILD_ID_MAX);
				memcpy(o->build_id, d, o->build_id_len);
				return;
			}
			p = d + desc;
		}
	}
}

static int add_one(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct rs_objtab *t = arg;
	if (t->n == RS_OBJ_MAX)
		return 1;
	struct rs_obj *o = &t->obj[t->n];
	memset(o, 0, sizeof(*o));
	o->info.dlpi_addr = info->dlpi_addr;
	o->info.dlpi_phdr = info->dlpi_phdr;
	o->info.dlpi_phnum = info->dlpi_phnum;
	o->info.dlpi_adds = info->dlpi_adds;
	o->info.dlpi_subs = info->dlpi_subs;
	o->info.dlpi_tls_modid = info->dlpi_tls_modid;
	const char *name = info->dlpi_name ? info->dlpi_name : "";
	size_t len = strlen(name);
	if (t->names_used + len + 1 > sizeof(t->names))
		len = 0;
	memcpy(t->names + t->names_used, name, len);
	t->names[t->names_used + len] = 0;
	o->info.dlpi_name = t->names + t->names_used;
	t->names_used += len + 1;
	o->lo = UINTPTR_MAX;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
		o->lo = RS_MIN(o->lo, lo);
		o->hi = RS_MAX(o->hi, hi);
		if ((ph->p_flags & PF_X) && !o->exec_lo) {
			o->exec_lo = lo;
			o->exec_hi = hi;
			o->file_off = ph->p_offset;
		}
	}
	if (o->lo == UINTPTR_MAX)
		return 0; /* nothing mapped: the vdso without segments, say */
	read_build_id(o);
	t->n++;
	return 0;
}

static void rebuild_locked(int (*real_iterate)(int (*)(struct dl_phdr_info *, size_t, void *),
					       void *))
{
	/* Cleared first: a dlopen that lands during the walk marks it again. */
	atomic_store(&stale, false);
	tab.n = 0;
	tab.names_used = 0;
	real_iterate(add_one, &tab);
	__atomic_add_fetch(&tab.gen, 1, __ATOMIC_RELEASE); /* rs_objtab_gen reads it unlocked */
}

void rs_objtab_rebuild(int (*real_iterate)(int (*)(struct dl_phdr_info *, size_t, void *), void *))
{
	writer_lock();
	stop_readers();
	rebuild_locked(real_iterate);
	atomic_fetch_sub(&busy, 1);
	writer_unlock();
}

void rs_objtab_close_begin(void)
{
	writer_lock();
	stop_readers();
}

void rs_objtab_close_end(int (*real_iterate)(int (*)(struct dl_phdr_info *, size_t, void *),
					     void *))
{
	rebuild_locked(real_iterate);
	atomic_fetch_sub(&busy, 1);
	writer_unlock();
}

/* Set by the dlopen stubs (hooks/dl.c) with a single byte store. */
RS_HIDDEN volatile uint8_t rs_dl_opened;

bool rs_objtab_stale(void)
{
	if (rs_dl_opened) {
		rs_dl_opened = 0;
		atomic_store(&stale, true);
	}
	return atomic_load(&stale);
}

void rs_objtab_copy(struct rs_objtab *out)
{
	/* As a writer: nothing changes the table meanwhile; handlers only read it. */
	writer_lock();
	out->n = tab.n;
	out->gen = tab.gen;
	out->names_used = tab.names_used;
	memcpy(out->names, tab.names, tab.names_used);
	memcpy(out->obj, tab.obj, tab.n * sizeof(tab.obj[0]));
	for (unsigned i = 0; i < out->n; i++)
		out->obj[i].info.dlpi_name = out->names + (tab.obj[i].info.dlpi_name - tab.names);
	writer_unlock();
}

uint64_t rs_objtab_gen(void)
{
	return __atomic_load_n(&tab.gen, __ATOMIC_ACQUIRE);
}

const struct rs_obj *rs_objtab_find(const struct rs_objtab *t, uintptr_t pc)
{
	for (unsigned i = 0; i < t->n; i++)
		if (pc >= t->obj[i].lo && pc < t->obj[i].hi)
			return &t->obj[i];
	return NULL;
}

void rs_objtab_after_fork_child(void)
{
	atomic_flag_clear(&writer);
	atomic_store(&busy, 0);
	atomic_store(&readers, 0);
	atomic_store(&stale, true); /* a rebuild may have been cut short */
}
