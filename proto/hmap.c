/* Linear probing, grown at half full so probe runs stay short. */
#include "hmap.h"

#include <stdlib.h>
#include <string.h>

uint32_t rs_hmap_get(const struct rs_hmap *m, uint64_t hash, bool (*eq)(void *ctx, uint32_t v),
		     void *ctx)
{
	if (!m->cap)
		return 0;
	for (size_t i = hash & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		const struct rs_hmap_slot *s = &m->slot[i];
		if (!s->value)
			return 0;
		if (s->hash == hash && (!eq || eq(ctx, s->value)))
			return s->value;
	}
}

static void insert(struct rs_hmap_slot *slots, size_t cap, uint64_t hash, uint32_t value)
{
	size_t i = hash & (cap - 1);
	while (slots[i].value)
		i = (i + 1) & (cap - 1);
	slots[i].hash = hash;
	slots[i].value = value;
}

bool rs_hmap_put(struct rs_hmap *m, uint64_t hash, uint32_t value)
{
	if (m->failed)
		return false;
	if ((m->used + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct rs_hmap_slot *slots = calloc(cap, sizeof(*slots));
		if (!slots) {
			m->failed = true;
			return false;
		}
		for (size_t i = 0; i < m->cap; i++)
			if (m->slot[i].value)
				insert(slots, cap, m->slot[i].hash, m->slot[i].value);
		free(m->slot);
		m->slot = slots;
		m->cap = cap;
	}
	insert(m->slot, m->cap, hash, value);
	m->used++;
	return true;
}

void rs_hmap_clear(struct rs_hmap *m)
{
	if (m->slot)
		memset(m->slot, 0, m->cap * sizeof(*m->slot));
	m->used = 0;
	m->failed = false;
}

void rs_hmap_free(struct rs_hmap *m)
{
	free(m->slot);
	memset(m, 0, sizeof(*m));
}
