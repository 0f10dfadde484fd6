/* Device settings: Kconfig defaults, overridden by what is provisioned into NVS. */
#pragma once

#include <stdbool.h>

#include "esp_err.h"
#include "intrascribe/credentials.h"

/* NVS namespace and keys; provisioning/nvs.csv.example uses the same names. */
#define SETTINGS_NAMESPACE "intrascribe"
#define SETTINGS_KEY_WIFI_SSID "wifi_ssid"
#define SETTINGS_KEY_WIFI_PASSWORD "wifi_pass"
#define SETTINGS_KEY_BRIDGE_URL "bridge_url"
#define SETTINGS_KEY_TOKEN "token"
#define SETTINGS_KEY_API_URL "api_url"

typedef struct {
    char wifi_ssid[33];     /* 802.11: at most 32 bytes */
    char wifi_password[65]; /* WPA2: at most 64 */
    char bridge_url[256];
    char device_token[ISC_DEVICE_TOKEN_MAX_LEN + 1];
    char api_url[256];      /* direct-join mode only */
} device_settings;

/* Opens NVS, erasing it if its layout is from another IDF version or full. */
esp_err_t settings_init(void);
void settings_load(device_settings *settings);
/* Validates the value for its key (token format, URL scheme, lengths), then stores it. */
esp_err_t settings_store(const char *key, const char *value);
esp_err_t settings_erase_all(void);

/* What is missing before the device can stream, or NULL when nothing is. */
const char *settings_missing(const device_settings *settings);
