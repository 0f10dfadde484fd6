/* The status LED: a task plays the pattern for the current status (intrascribe/led_pattern.h). */
#pragma once

#include "esp_err.h"
#include "intrascribe/led_pattern.h"

esp_err_t status_led_start(void);
void status_led_set(isc_led_status status);
