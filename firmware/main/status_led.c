#include "status_led.h"

#include <stdatomic.h>

#include "driver/gpio.h"
#include "esp_log.h"
#include "esp_timer.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "sdkconfig.h"

static const char *TAG = "led";

#if CONFIG_INTRASCRIBE_LED_ACTIVE_LOW
#define LED_LIT_LEVEL 0
#else
#define LED_LIT_LEVEL 1
#endif
static atomic_int s_status = ISC_LED_CONNECTING;

#if CONFIG_INTRASCRIBE_LED_GPIO >= 0
static void led_task(void *arg)
{
    (void)arg;
    isc_led_status shown = ISC_LED_OFF;
    for (;;) {
        isc_led_status status = (isc_led_status)atomic_load(&s_status);
        if (status != shown) {
            ESP_LOGI(TAG, "%s", isc_led_status_name(status));
            shown = status;
        }
        bool on = isc_led_is_on(status, (uint64_t)esp_timer_get_time() / 1000u);
        gpio_set_level((gpio_num_t)CONFIG_INTRASCRIBE_LED_GPIO, on ? LED_LIT_LEVEL : !LED_LIT_LEVEL);
        vTaskDelay(pdMS_TO_TICKS(20));
    }
}
#endif

esp_err_t status_led_start(void)
{
#if CONFIG_INTRASCRIBE_LED_GPIO < 0
    return ESP_OK; /* no LED fitted */
#else
    gpio_config_t io = {
        .pin_bit_mask = 1ULL << CONFIG_INTRASCRIBE_LED_GPIO,
        .mode = GPIO_MODE_OUTPUT,
    };
    esp_err_t err = gpio_config(&io);
    if (err != ESP_OK) {
        return err;
    }
    return xTaskCreate(led_task, "status_led", 3072, NULL, 2, NULL) == pdPASS ? ESP_OK : ESP_ERR_NO_MEM;
#endif
}

void status_led_set(isc_led_status status)
{
    atomic_store(&s_status, (int)status);
}
