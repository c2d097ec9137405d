/* SipHash-2-4: a keyed hash for short inputs, whose collisions cannot be chosen. */
#ifndef V6FWD_SIPHASH_H
#define V6FWD_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_SIZE	16

uint64_t	siphash24(const uint8_t [SIPHASH_KEY_SIZE], const void *, size_t);

#endif
