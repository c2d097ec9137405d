/* A hash table of fixed-size entries with a fixed capacity, for server.c. */
#ifndef V6FWD_TABLE_H
#define V6FWD_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "siphash.h"

/*
 * Each entry begins with its key, keysize bytes; an all-zero key marks a
 * free entry, so no key may be all zero.
 */
struct table {
	uint8_t		*entries;
	size_t		 size;		/* bytes per entry */
	size_t		 keysize;
	size_t		 mask;		/* capacity - 1 */
	size_t		 used;
	uint8_t		 hashkey[SIPHASH_KEY_SIZE];
};

int	table_init(struct table *, size_t, size_t, size_t);
void	table_free(struct table *);
void	*table_find(const struct table *, const void *);
void	*table_add(struct table *, const void *);
void	table_remove(struct table *, void *);
void	*table_next(const struct table *, size_t *);

#endif
