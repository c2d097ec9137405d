/*
 * A hash table: open addressing with linear probing, deletion by backward
 * shift (no tombstones, so it never degrades), a capacity fixed when it is
 * made, and a keyed hash (SipHash with a random key), because the keys that
 * matter here, client addresses, are chosen by outsiders who would like all
 * of them in one chain. The server sizes its tables at twice the entries
 * they can ever hold, so every probe is short and every insertion finds
 * room. Allocated once, before confinement; nothing here allocates after.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "table.h"

static bool
entry_free(const struct table *t, const uint8_t *e)
{
	size_t i;

	for (i = 0; i < t->keysize; i++)
		if (e[i])
			return false;
	return true;
}

static size_t
home(const struct table *t, const void *key)
{
	return (size_t)siphash24(t->hashkey, key, t->keysize) & t->mask;
}

static uint8_t *
at(const struct table *t, size_t i)
{
	return t->entries + i * t->size;
}

/* Room for at least n entries of size bytes; returns 0 or -errno. */
int
table_init(struct table *t, size_t n, size_t size, size_t keysize)
{
	size_t cap = 16;

	memset(t, 0, sizeof(*t));
	while (cap < 2 * n)
		cap *= 2;
	if (getrandom(t->hashkey, sizeof(t->hashkey), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(t->hashkey))
		return -errno;
	t->entries = calloc(cap, size);
	if (!t->entries)
		return -ENOMEM;
	t->size = size;
	t->keysize = keysize;
	t->mask = cap - 1;
	return 0;
}

void
table_free(struct table *t)
{
	free(t->entries);
	t->entries = NULL;
}

void *
table_find(const struct table *t, const void *key)
{
	size_t i = home(t, key);
	uint8_t *e;

	for (;; i = (i + 1) & t->mask) {
		e = at(t, i);
		if (entry_free(t, e))
			return NULL;
		if (memcmp(e, key, t->keysize) == 0)
			return e;
	}
}

/* The entry with key, added (zeroed past the key) if it was not there. */
void *
table_add(struct table *t, const void *key)
{
	size_t i = home(t, key);
	uint8_t *e;

	if (t->used + 1 > t->mask)
		return NULL;
	for (;; i = (i + 1) & t->mask) {
		e = at(t, i);
		if (entry_free(t, e)) {
			memset(e, 0, t->size);
			memcpy(e, key, t->keysize);
			t->used++;
			return e;
		}
		if (memcmp(e, key, t->keysize) == 0)
			return e;
	}
}

/*
 * Removes e. Every entry after it in the same run that could live in its
 * place moves back, so that lookups never stop at a hole before their key.
 */
void
table_remove(struct table *t, void *entry)
{
	size_t i = (size_t)((uint8_t *)entry - t->entries) / t->size, j, k;

	for (j = i;;) {
		j = (j + 1) & t->mask;
		if (entry_free(t, at(t, j)))
			break;
		k = home(t, at(t, j));
		/* Entry j stays if its home lies cyclically in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		memcpy(at(t, i), at(t, j), t->size);
		i = j;
	}
	memset(at(t, i), 0, t->size);
	t->used--;
}

/* Iterates: *pos starts at 0; returns NULL after the last entry. */
void *
table_next(const struct table *t, size_t *pos)
{
	for (; *pos <= t->mask; (*pos)++)
		if (!entry_free(t, at(t, *pos)))
			return at(t, (*pos)++);
	return NULL;
}
