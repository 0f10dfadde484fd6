#include "intrascribe/backoff.h"

void isc_backoff_init(isc_backoff *backoff, uint32_t base_ms, uint32_t cap_ms)
{
    backoff->base_ms = base_ms;
    backoff->cap_ms = cap_ms;
    backoff->attempt = 0;
}

uint32_t isc_backoff_ceiling_ms(const isc_backoff *backoff)
{
    /* base * 2^attempt in 64 bits; past 32 doublings any 32-bit base exceeds any 32-bit cap. */
    if (backoff->attempt >= 32) {
        return backoff->cap_ms;
    }
    uint64_t ceiling = (uint64_t)backoff->base_ms << backoff->attempt;
    return ceiling < backoff->cap_ms ? (uint32_t)ceiling : backoff->cap_ms;
}

uint32_t isc_backoff_next_ms(isc_backoff *backoff, uint32_t random_bits)
{
    uint64_t ceiling = isc_backoff_ceiling_ms(backoff);
    if (backoff->attempt < UINT32_MAX) {
        backoff->attempt++;
    }
    /* Scale the 32 random bits onto [0, ceiling] (inclusive) by multiplication rather than
     * modulo: no bias worth mentioning and no division. */
    return (uint32_t)(((uint64_t)random_bits * (ceiling + 1)) >> 32);
}

void isc_backoff_reset(isc_backoff *backoff)
{
    backoff->attempt = 0;
}
