#include <stdio.h>
#include <stdlib.h>

#include "test_support.h"

static uint64_t now_ms;
static uint32_t random_value;
static unsigned log_counts[ISC_LOG_DEBUG + 1];
static char last_log[256];

void fake_hal_reset(void)
{
    now_ms = 0;
    random_value = 0;
    for (size_t i = 0; i < sizeof(log_counts) / sizeof(log_counts[0]); i++) {
        log_counts[i] = 0;
    }
    last_log[0] = '\0';
}

void fake_hal_set_time_ms(uint64_t t)
{
    now_ms = t;
}

void fake_hal_advance_ms(uint64_t delta_ms)
{
    now_ms += delta_ms;
}

void fake_hal_set_random(uint32_t value)
{
    random_value = value;
}

unsigned fake_hal_log_count(isc_log_level level)
{
    return log_counts[level];
}

const char *fake_hal_last_log(void)
{
    return last_log;
}

uint64_t isc_hal_uptime_ms(void)
{
    return now_ms;
}

uint32_t isc_hal_random_u32(void)
{
    return random_value;
}

void isc_hal_log(isc_log_level level, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(last_log, sizeof(last_log), fmt, args);
    va_end(args);
    log_counts[level]++;
    if (getenv("ISC_TEST_VERBOSE") != NULL) {
        fprintf(stderr, "[core] %s\n", last_log);
    }
}
