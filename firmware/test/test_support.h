/* Shared by the host tests: cmocka's required includes and the fake HAL's controls. */
#ifndef ISC_TEST_SUPPORT_H
#define ISC_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "intrascribe/hal.h"

/* Time starts at 0 and moves only when a test moves it. */
void fake_hal_reset(void);
void fake_hal_set_time_ms(uint64_t now_ms);
void fake_hal_advance_ms(uint64_t delta_ms);
/* Every isc_hal_random_u32() returns this value (default 0). */
void fake_hal_set_random(uint32_t value);
/* Log lines written at this level since the last reset, and the last line at any level. */
unsigned fake_hal_log_count(isc_log_level level);
const char *fake_hal_last_log(void);

#endif
