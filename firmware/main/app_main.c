/*
 * Intrascribe meeting-room microphone. Start-up order matters for memory: Wi-Fi takes its buffers
 * first, then the reconnect buffer takes what it can (main/audio_buffer.c), then the microphone
 * and the bridge connection start. The serial console is up from the start, so an unprovisioned
 * device can be provisioned on the spot.
 */
#include "audio_buffer.h"
#include "bridge_stream.h"
#include "console.h"
#include "esp_app_desc.h"
#include "esp_log.h"
#include "intrascribe/credentials.h"
#include "mic_i2s.h"
#include "sdkconfig.h"
#include "settings.h"
#include "status_led.h"
#include "wifi_sta.h"

static const char *TAG = "main";

void app_main(void)
{
    ESP_LOGI(TAG, "Intrascribe microphone %s on %s", esp_app_get_description()->version, CONFIG_IDF_TARGET);
    if (status_led_start() != ESP_OK) {
        ESP_LOGW(TAG, "no status LED on GPIO %d", CONFIG_INTRASCRIBE_LED_GPIO); /* not worth a reboot loop */
    }
    ESP_ERROR_CHECK(settings_init());

    static device_settings settings; /* ~700 bytes: off the main task's stack */
    settings_load(&settings);
    if (console_start() != ESP_OK) {
        ESP_LOGW(TAG, "no serial console");
    }

    const char *missing = settings_missing(&settings);
    if (missing != NULL) {
        ESP_LOGE(TAG, "not provisioned, missing: %s; then `restart`", missing);
        status_led_set(isc_device_token_is_well_formed(settings.device_token) ? ISC_LED_ERROR : ISC_LED_UNAUTHORIZED);
        return; /* the console keeps running */
    }

    ESP_ERROR_CHECK(wifi_sta_start(settings.wifi_ssid, settings.wifi_password));
    esp_err_t err = audio_buffer_init(CONFIG_INTRASCRIBE_REPLAY_BUFFER_MS);
    if (err == ESP_OK) {
        err = mic_start();
    }
    if (err != ESP_OK) {
        ESP_LOGE(TAG, "audio start-up failed: %s", esp_err_to_name(err));
        status_led_set(ISC_LED_ERROR);
        return;
    }
    ESP_ERROR_CHECK(bridge_stream_start(&settings));
}
