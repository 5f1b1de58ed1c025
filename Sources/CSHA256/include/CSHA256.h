// SHA-256 block compression with the x86 SHA extensions (SHA-NI), for the Server's SHA256 when the CPU has
// them; the Swift implementation is the fallback and the reference.
#ifndef CSHA256_H
#define CSHA256_H

#include <stddef.h>
#include <stdint.h>

/// K0…K63, the round constants (shared with the Swift rounds).
const uint32_t *csha256_round_constants(void);

/// 1 when this CPU has SHA-NI, SSSE3 and SSE4.1 (CPUID), else 0; cheap after the first call.
int csha256_hardware_available(void);

/// Compresses `blocks` 64-byte blocks at `data` into `state` (H0…H7, FIPS 180-4 order). Only call when
/// `csha256_hardware_available()` is 1.
void csha256_compress_blocks(uint32_t state[8], const uint8_t *data, size_t blocks);

#endif
