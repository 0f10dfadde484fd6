/*
 * The few platform services the portable core needs. The firmware implements them on ESP-IDF
 * (port/esp_idf/hal_esp_idf.c); the host tests implement them with a controllable fake clock and
 * random source (test/fake_hal.c).
 */
#ifndef INTRASCRIBE_HAL_H
#define INTRASCRIBE_HAL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define ISC_PRINTF_LIKE(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define ISC_PRINTF_LIKE(fmt_index, first_arg)
#endif

typedef enum {
    ISC_LOG_ERROR,
    ISC_LOG_WARN,
    ISC_LOG_INFO,
    ISC_LOG_DEBUG,
} isc_log_level;

/* Monotonic milliseconds since boot. */
uint64_t isc_hal_uptime_ms(void);

/* 32 random bits; only used for backoff jitter, so it need not be cryptographic. */
uint32_t isc_hal_random_u32(void);

/* One log line without a trailing newline. The core never formats 64-bit integers here, because
 * newlib-nano's printf (an ESP-IDF option) cannot. */
void isc_hal_log(isc_log_level level, const char *fmt, ...) ISC_PRINTF_LIKE(2, 3);

#ifdef __cplusplus
}
#endif

#endif /* INTRASCRIBE_HAL_H */
