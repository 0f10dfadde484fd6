/*
 * Reconnect delays: exponential backoff with full jitter. The n-th retry (n from 0) waits a
 * uniformly random time in [0, min(cap, base * 2^n)]. The caller resets it once a connection has
 * stayed up long enough (the protocol says 10 s; see connection.c).
 */
#ifndef INTRASCRIBE_BACKOFF_H
#define INTRASCRIBE_BACKOFF_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ISC_BACKOFF_BASE_MS 500u
#define ISC_BACKOFF_CAP_MS 30000u
#define ISC_BACKOFF_RESET_AFTER_MS 10000u

typedef struct {
    uint32_t base_ms;
    uint32_t cap_ms;
    uint32_t attempt; /* retries since the last reset */
} isc_backoff;

void isc_backoff_init(isc_backoff *backoff, uint32_t base_ms, uint32_t cap_ms);

/* The upper bound of the next delay: min(cap, base * 2^attempt). */
uint32_t isc_backoff_ceiling_ms(const isc_backoff *backoff);

/* The next delay, drawn from `random_bits` (any uniformly random 32-bit value), and counts the
 * attempt. Taking the random value as an argument keeps this testable. */
uint32_t isc_backoff_next_ms(isc_backoff *backoff, uint32_t random_bits);

void isc_backoff_reset(isc_backoff *backoff);

#ifdef __cplusplus
}
#endif

#endif /* INTRASCRIBE_BACKOFF_H */
