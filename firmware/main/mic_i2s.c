#include "mic_i2s.h"

#include "audio_buffer.h"
#include "driver/i2s_std.h"
#include "esp_check.h"
#include "esp_log.h"
#include "esp_timer.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "intrascribe/audio.h"
#include "sdkconfig.h"

static const char *TAG = "mic";
static i2s_chan_handle_t s_rx;

/* Re-anchor capture timestamps when the sample clock and esp_timer disagree by more than this:
 * more than the DMA queue can explain, so samples were lost. */
#define CLOCK_RESYNC_US 200000u
#define LEVEL_LOG_FRAMES 500u /* a level line every 10 s helps with wiring and gain */

static void mic_task(void *arg)
{
    (void)arg;
    static int32_t slots[ISC_FRAME_SAMPLES];
    static uint8_t payload[ISC_FRAME_PAYLOAD_BYTES];
    isc_capture_clock clock;
    isc_capture_clock_init(&clock, ISC_SAMPLE_RATE_HZ, CLOCK_RESYNC_US);
    uint32_t seq = 0; /* from 0 at boot, +1 per frame, wraps: the protocol's frame number */
    uint32_t frames_since_log = 0;
    uint32_t clipped = 0;
    int peak = 0;

    for (;;) {
        size_t got = 0;
        esp_err_t err = i2s_channel_read(s_rx, slots, sizeof(slots), &got, 1000 /* ms */);
        if (err != ESP_OK || got != sizeof(slots)) {
            /* A partial frame is dropped; the capture clock notices the gap and re-anchors. */
            ESP_LOGW(TAG, "read failed (%s, %u bytes)", esp_err_to_name(err), (unsigned)got);
            continue;
        }
        uint64_t capture_us = isc_capture_clock_frame_start(&clock, (uint64_t)esp_timer_get_time(), ISC_FRAME_SAMPLES);
        clipped += (uint32_t)isc_inmp441_to_s16le(slots, ISC_FRAME_SAMPLES, CONFIG_INTRASCRIBE_MIC_GAIN_SHIFT, payload);
        audio_buffer_push(seq++, capture_us, payload, sizeof(payload));

        for (size_t i = 0; i < sizeof(payload); i += 2) {
            int sample = (int16_t)(uint16_t)(payload[i] | (payload[i + 1] << 8));
            int magnitude = sample < 0 ? -sample : sample;
            peak = magnitude > peak ? magnitude : peak;
        }
        if (++frames_since_log == LEVEL_LOG_FRAMES) {
            /* A peak of 0 (or a constant) means no microphone data: check wiring and L/R. */
            ESP_LOGI(TAG, "peak %d/32768, %u clipped samples, %u timestamp resyncs", peak, (unsigned)clipped,
                     (unsigned)clock.resync_count);
            frames_since_log = 0;
            clipped = 0;
            peak = 0;
        }
    }
}

esp_err_t mic_start(void)
{
    i2s_chan_config_t chan = I2S_CHANNEL_DEFAULT_CONFIG(I2S_NUM_0, I2S_ROLE_MASTER);
    chan.dma_desc_num = 6;                  /* 120 ms of slack if the task is held up */
    chan.dma_frame_num = ISC_FRAME_SAMPLES; /* one DMA buffer per 20 ms frame */
    ESP_RETURN_ON_ERROR(i2s_new_channel(&chan, NULL, &s_rx), TAG, "i2s channel");

    /* The INMP441 needs 64 bit clocks per word-select period: two 32-bit slots. Its 24-bit sample
     * arrives left-justified in the 32-bit slot (converted in isc_inmp441_to_s16le). */
    i2s_std_config_t std = {
        .clk_cfg = I2S_STD_CLK_DEFAULT_CONFIG(ISC_SAMPLE_RATE_HZ),
        .slot_cfg = I2S_STD_PHILIPS_SLOT_DEFAULT_CONFIG(I2S_DATA_BIT_WIDTH_32BIT, I2S_SLOT_MODE_MONO),
        .gpio_cfg =
            {
                .mclk = I2S_GPIO_UNUSED,
                .bclk = (gpio_num_t)CONFIG_INTRASCRIBE_I2S_BCLK_GPIO,
                .ws = (gpio_num_t)CONFIG_INTRASCRIBE_I2S_WS_GPIO,
                .dout = I2S_GPIO_UNUSED,
                .din = (gpio_num_t)CONFIG_INTRASCRIBE_I2S_DIN_GPIO,
            },
    };
#if CONFIG_INTRASCRIBE_MIC_CHANNEL_RIGHT
    std.slot_cfg.slot_mask = I2S_STD_SLOT_RIGHT;
#else
    std.slot_cfg.slot_mask = I2S_STD_SLOT_LEFT;
#endif
    ESP_RETURN_ON_ERROR(i2s_channel_init_std_mode(s_rx, &std), TAG, "i2s std mode");
    ESP_RETURN_ON_ERROR(i2s_channel_enable(s_rx), TAG, "i2s enable");

    /* Above the bridge task so capture never waits for the network. */
    if (xTaskCreate(mic_task, "mic", 4096, NULL, configMAX_PRIORITIES - 5, NULL) != pdPASS) {
        return ESP_ERR_NO_MEM;
    }
    ESP_LOGI(TAG, "capturing %u Hz mono, SCK %d WS %d SD %d, gain +%d dB", (unsigned)ISC_SAMPLE_RATE_HZ,
             CONFIG_INTRASCRIBE_I2S_BCLK_GPIO, CONFIG_INTRASCRIBE_I2S_WS_GPIO, CONFIG_INTRASCRIBE_I2S_DIN_GPIO,
             6 * CONFIG_INTRASCRIBE_MIC_GAIN_SHIFT);
    return ESP_OK;
}
