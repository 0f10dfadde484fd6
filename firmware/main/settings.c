#include "settings.h"

#include <string.h>

#include "esp_log.h"
#include "nvs.h"
#include "nvs_flash.h"
#include "sdkconfig.h"

static const char *TAG = "settings";

#ifndef CONFIG_INTRASCRIBE_API_URL
#define CONFIG_INTRASCRIBE_API_URL ""
#endif

static const char *const ws_schemes[] = {"ws", "wss", NULL};
static const char *const http_schemes[] = {"http", "https", NULL};

esp_err_t settings_init(void)
{
    esp_err_t err = nvs_flash_init();
    if (err == ESP_ERR_NVS_NO_FREE_PAGES || err == ESP_ERR_NVS_NEW_VERSION_FOUND) {
        ESP_LOGW(TAG, "NVS unusable (%s): erasing it; provision the device again", esp_err_to_name(err));
        ESP_ERROR_CHECK(nvs_flash_erase());
        err = nvs_flash_init();
    }
    return err;
}

static void load_string(nvs_handle_t nvs, const char *key, char *out, size_t cap)
{
    size_t len = cap;
    esp_err_t err = nvs_get_str(nvs, key, out, &len);
    if (err != ESP_OK && err != ESP_ERR_NVS_NOT_FOUND) {
        ESP_LOGW(TAG, "ignoring stored %s: %s", key, esp_err_to_name(err));
    }
}

void settings_load(device_settings *s)
{
    memset(s, 0, sizeof(*s));
    strlcpy(s->wifi_ssid, CONFIG_INTRASCRIBE_WIFI_SSID, sizeof(s->wifi_ssid));
    strlcpy(s->wifi_password, CONFIG_INTRASCRIBE_WIFI_PASSWORD, sizeof(s->wifi_password));
    strlcpy(s->bridge_url, CONFIG_INTRASCRIBE_BRIDGE_URL, sizeof(s->bridge_url));
    strlcpy(s->device_token, CONFIG_INTRASCRIBE_DEVICE_TOKEN, sizeof(s->device_token));
    strlcpy(s->api_url, CONFIG_INTRASCRIBE_API_URL, sizeof(s->api_url));

    nvs_handle_t nvs;
    if (nvs_open(SETTINGS_NAMESPACE, NVS_READONLY, &nvs) != ESP_OK) {
        return; /* nothing provisioned yet: the namespace does not exist */
    }
    /* nvs_get_str leaves `out` untouched when the key is absent, keeping the Kconfig default. */
    load_string(nvs, SETTINGS_KEY_WIFI_SSID, s->wifi_ssid, sizeof(s->wifi_ssid));
    load_string(nvs, SETTINGS_KEY_WIFI_PASSWORD, s->wifi_password, sizeof(s->wifi_password));
    load_string(nvs, SETTINGS_KEY_BRIDGE_URL, s->bridge_url, sizeof(s->bridge_url));
    load_string(nvs, SETTINGS_KEY_TOKEN, s->device_token, sizeof(s->device_token));
    load_string(nvs, SETTINGS_KEY_API_URL, s->api_url, sizeof(s->api_url));
    nvs_close(nvs);
}

static bool value_is_valid(const char *key, const char *value)
{
    device_settings probe;
    size_t len = strlen(value);
    if (strcmp(key, SETTINGS_KEY_WIFI_SSID) == 0) {
        return len > 0 && len < sizeof(probe.wifi_ssid);
    }
    if (strcmp(key, SETTINGS_KEY_WIFI_PASSWORD) == 0) {
        return len == 0 || (len >= 8 && len < sizeof(probe.wifi_password));
    }
    if (strcmp(key, SETTINGS_KEY_BRIDGE_URL) == 0) {
        return len < sizeof(probe.bridge_url) && isc_url_is_well_formed(value, ws_schemes);
    }
    if (strcmp(key, SETTINGS_KEY_API_URL) == 0) {
        return len < sizeof(probe.api_url) && isc_url_is_well_formed(value, http_schemes);
    }
    if (strcmp(key, SETTINGS_KEY_TOKEN) == 0) {
        return isc_device_token_is_well_formed(value);
    }
    return false;
}

esp_err_t settings_store(const char *key, const char *value)
{
    if (!value_is_valid(key, value)) {
        return ESP_ERR_INVALID_ARG;
    }
    nvs_handle_t nvs;
    esp_err_t err = nvs_open(SETTINGS_NAMESPACE, NVS_READWRITE, &nvs);
    if (err != ESP_OK) {
        return err;
    }
    err = nvs_set_str(nvs, key, value);
    if (err == ESP_OK) {
        err = nvs_commit(nvs);
    }
    nvs_close(nvs);
    return err;
}

esp_err_t settings_erase_all(void)
{
    nvs_handle_t nvs;
    esp_err_t err = nvs_open(SETTINGS_NAMESPACE, NVS_READWRITE, &nvs);
    if (err != ESP_OK) {
        return err;
    }
    err = nvs_erase_all(nvs);
    if (err == ESP_OK) {
        err = nvs_commit(nvs);
    }
    nvs_close(nvs);
    return err;
}

const char *settings_missing(const device_settings *s)
{
    if (s->wifi_ssid[0] == '\0') {
        return "Wi-Fi SSID (console: wifi <ssid> [password])";
    }
    if (!isc_url_is_well_formed(s->bridge_url, ws_schemes)) {
        return "bridge URL (console: bridge wss://<host>/v1/device)";
    }
    if (!isc_device_token_is_well_formed(s->device_token)) {
        return "device token (console: token isd_...)";
    }
    return NULL;
}
