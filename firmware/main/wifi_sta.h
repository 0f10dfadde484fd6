/* Wi-Fi station that keeps reconnecting on its own. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "esp_err.h"

esp_err_t wifi_sta_start(const char *ssid, const char *password);
/* Associated and holding an IPv4 address. */
bool wifi_sta_is_up(void);
/* Signal strength of the current access point in dBm; false when not associated. */
bool wifi_sta_rssi(int32_t *rssi);
