/* ELF symbol tables per loaded object, read lazily from the object's file (mmap, parse, copy the
 * function symbols, unmap), sorted by address, and a per-address cache of the answers. */
#include "symbolize.h"
#include "../preload/log.h"
#include "../proto/hmap.h"

#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define CACHE_MAX (1u << 20)

struct fsym {
	uint64_t start, size;
	uint32_t name; /* offset into the object's names */
};

struct symobj {
	char path[512];
	uintptr_t base;
	bool loaded;
	struct fsym *syms;
	size_t nsyms;
	char *names;
};

struct answer {
	uint64_t pc;
	int obj; /* index into the table's objects, -1: none */
	const char *name;
};

static struct {
	const struct rs_objtab *tab;
	struct symobj *objs; /* parallel to tab->obj */
	size_t nobjs;
	struct symobj *old; /* the previous generation, to carry loaded symbols over */
	size_t nold;
	struct answer *answers;
	size_t nanswers;
	struct rs_hmap cache;
	uint64_t gen;
	char exe[512];
} Y;

static int cmp_sym(const void *a, const void *b)
{
	const struct fsym *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Adds the function symbols of one symbol table section. */
static void add_syms(struct symobj *o, const uint8_t *file, size_t size, const ElfW(Shdr) *sh,
		     const ElfW(Shdr) *str, size_t *cap, size_t *names_len, size_t *names_cap)
{
	if (sh->sh_offset + sh->sh_size > size || str->sh_offset + str->sh_size > size ||
	    sh->sh_entsize != sizeof(ElfW(Sym)))
		return;
	const ElfW(Sym) *sym = (const ElfW(Sym) *)(file + sh->sh_offset);
	size_t n = sh->sh_size / sizeof(ElfW(Sym));
	const char *strtab = (const char *)file + str->sh_offset;
	for (size_t i = 0; i < n; i++) {
		int type = ELF64_ST_TYPE(sym[i].st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym[i].st_shndx == SHN_UNDEF ||
		    !sym[i].st_value || sym[i].st_name >= str->sh_size)
			continue;
		const char *nm = strtab + sym[i].st_name;
		size_t len = strnlen(nm, str->sh_size - sym[i].st_name);
		if (!len)
			continue;
		if (o->nsyms == *cap) {
			*cap = *cap ? *cap * 2 : 256;
			struct fsym *p = realloc(o->syms, *cap * sizeof(*p));
			if (!p)
				return;
			o->syms = p;
		}
		if (*names_len + len + 1 > *names_cap) {
			while (*names_len + len + 1 > *names_cap)
				*names_cap = *names_cap ? *names_cap * 2 : 4096;
			char *p = realloc(o->names, *names_cap);
			if (!p)
				return;
			o->names = p;
		}
		memcpy(o->names + *names_len, nm, len + 1);
		o->syms[o->nsyms++] = (struct fsym){sym[i].st_value, sym[i].st_size, (uint32_t)*names_len};
		*names_len += len + 1;
	}
}

static void load(struct symobj *o)
{
	o->loaded = true;
	int fd = open(o->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	struct stat st;
	void *map = MAP_FAILED;
	if (fstat(fd, &st) == 0 && st.st_size >= (off_t)sizeof(ElfW(Ehdr)))
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return;
	const uint8_t *file = map;
	size_t size = (size_t)st.st_size;
	const ElfW(Ehdr) *eh = map;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_shentsize != sizeof(ElfW(Shdr)) ||
	    eh->e_shoff + (size_t)eh->e_shnum * sizeof(ElfW(Shdr)) > size)
		goto out;
	const ElfW(Shdr) *sh = (const ElfW(Shdr) *)(file + eh->e_shoff);
	size_t cap = 0, names_len = 0, names_cap = 0;
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		if ((sh[i].sh_type == SHT_SYMTAB || sh[i].sh_type == SHT_DYNSYM) &&
		    sh[i].sh_link < eh->e_shnum)
			add_syms(o, file, size, &sh[i], &sh[sh[i].sh_link], &cap, &names_len,
				 &names_cap);
	}
	if (o->nsyms) /* syms is NULL for an object without symbols: qsort's base must not be */
		qsort(o->syms, o->nsyms, sizeof(*o->syms), cmp_sym);
out:
	munmap(map, size);
}

static void free_obj(struct symobj *o)
{
	free(o->syms);
	free(o->names);
}

const char *rs_sym_path(const struct rs_obj *o)
{
	if (o->info.dlpi_name[0])
		return o->info.dlpi_name;
	if (!Y.exe[0]) {
		ssize_t n = readlink("/proc/self/exe", Y.exe, sizeof(Y.exe) - 1);
		Y.exe[n > 0 ? n : 0] = 0;
	}
	return Y.exe;
}

void rs_sym_update(const struct rs_objtab *t)
{
	Y.tab = t;
	if (t->gen == Y.gen && Y.objs)
		return;
	Y.gen = t->gen;
	struct symobj *objs = calloc(t->n ? t->n : 1, sizeof(*objs));
	if (!objs)
		return;
	for (unsigned i = 0; i < t->n; i++) {
		struct symobj *o = &objs[i];
		snprintf(o->path, sizeof(o->path), "%s", rs_sym_path(&t->obj[i]));
		o->base = t->obj[i].info.dlpi_addr;
		for (size_t j = 0; j < Y.nobjs; j++) {
			struct symobj *p = &Y.objs[j];
			if (p->loaded && p->base == o->base && strcmp(p->path, o->path) == 0) {
				*o = *p; /* carry the symbols over */
				p->syms = NULL;
				p->names = NULL;
				p->loaded = false;
			}
		}
	}
	for (size_t j = 0; j < Y.nobjs; j++)
		free_obj(&Y.objs[j]);
	free(Y.objs);
	Y.objs = objs;
	Y.nobjs = t->n;
	/* Object indexes changed: the cached answers go. */
	rs_hmap_clear(&Y.cache);
	Y.nanswers = 0;
}

static const char *find(struct symobj *o, uint64_t vaddr)
{
	if (!o->loaded)
		load(o);
	size_t lo = 0, hi = o->nsyms;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (o->syms[mid].start <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	const struct fsym *s = &o->syms[lo - 1];
	/* A sized symbol must cover the address; an unsized one runs to the next symbol. */
	if (s->size && vaddr >= s->start + s->size)
		return NULL;
	return o->names + s->name;
}

struct answer_key {
	uint64_t pc;
};

static bool answer_eq(void *ctx, uint32_t v)
{
	return Y.answers[v - 1].pc == ((struct answer_key *)ctx)->pc;
}

const struct rs_obj *rs_sym_lookup(uint64_t pc, const char **name)
{
	*name = NULL;
	if (!Y.tab)
		return NULL;
	struct answer_key k = {pc};
	uint32_t v = rs_hmap_get(&Y.cache, rs_hash_u64(pc), answer_eq, &k);
	if (v) {
		const struct answer *a = &Y.answers[v - 1];
		*name = a->name;
		return a->obj >= 0 ? &Y.tab->obj[a->obj] : NULL;
	}
	const struct rs_obj *o = rs_objtab_find(Y.tab, pc);
	int idx = o ? (int)(o - Y.tab->obj) : -1;
	if (o && (size_t)idx < Y.nobjs)
		*name = find(&Y.objs[idx], pc - o->info.dlpi_addr);
	if (Y.nanswers == CACHE_MAX) {
		rs_hmap_clear(&Y.cache);
		Y.nanswers = 0;
	}
	if (Y.nanswers % 4096 == 0) {
		struct answer *p = realloc(Y.answers, (Y.nanswers + 4096) * sizeof(*p));
		if (!p)
			return o;
		Y.answers = p;
	}
	Y.answers[Y.nanswers] = (struct answer){pc, idx, *name};
	if (rs_hmap_put(&Y.cache, rs_hash_u64(pc), (uint32_t)Y.nanswers + 1))
		Y.nanswers++;
	return o;
}

bool rs_sym_has_functions(const struct rs_obj *o)
{
	size_t idx = (size_t)(o - Y.tab->obj);
	return idx < Y.nobjs && Y.objs[idx].loaded && Y.objs[idx].nsyms > 0;
}

void rs_sym_forget(void)
{
	memset(&Y, 0, sizeof(Y));
}
