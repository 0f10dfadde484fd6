/* The core's HAL on ESP-IDF: esp_timer for time, the hardware RNG for jitter, esp_log for logs. */
#include <stdarg.h>
#include <stdio.h>

#include "esp_log.h"
#include "esp_random.h"
#include "esp_timer.h"
#include "intrascribe/hal.h"

static const char *TAG = "isc_core";

uint64_t isc_hal_uptime_ms(void)
{
    return (uint64_t)esp_timer_get_time() / 1000u;
}

uint32_t isc_hal_random_u32(void)
{
    return esp_random();
}

void isc_hal_log(isc_log_level level, const char *fmt, ...)
{
    char line[192];
    va_list args;
    va_start(args, fmt);
    vsnprintf(line, sizeof(line), fmt, args);
    va_end(args);
    switch (level) {
    case ISC_LOG_ERROR:
        ESP_LOGE(TAG, "%s", line);
        break;
    case ISC_LOG_WARN:
        ESP_LOGW(TAG, "%s", line);
        break;
    case ISC_LOG_INFO:
        ESP_LOGI(TAG, "%s", line);
        break;
    case ISC_LOG_DEBUG:
        ESP_LOGD(TAG, "%s", line);
        break;
    }
}
