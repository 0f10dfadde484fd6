#include "audio_buffer.h"

#include "esp_heap_caps.h"
#include "esp_log.h"
#include "freertos/FreeRTOS.h"
#include "freertos/semphr.h"
#include "intrascribe/audio.h"
#include "intrascribe/frame_ring.h"

static const char *TAG = "audio_buffer";

/* Internal RAM left for Wi-Fi buffers, the TLS handshake (~40 KB with the CA bundle), the
 * WebSocket client and task stacks when the buffer cannot go to PSRAM. */
#define INTERNAL_RAM_RESERVE (80 * 1024)
#define MIN_FRAMES (1000 / ISC_FRAME_MS) /* below 1 s the buffer is not worth having */

static isc_frame_ring s_ring;
static SemaphoreHandle_t s_lock;

esp_err_t audio_buffer_init(uint32_t ms)
{
    uint32_t frames = ms / ISC_FRAME_MS;
    size_t slot = isc_frame_ring_storage_bytes(1, ISC_FRAME_PAYLOAD_BYTES);
    void *storage = heap_caps_malloc(frames * slot, MALLOC_CAP_SPIRAM | MALLOC_CAP_8BIT);
    if (storage == NULL) {
        const uint32_t caps = MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT;
        size_t free_bytes = heap_caps_get_free_size(caps);
        size_t budget = free_bytes > INTERNAL_RAM_RESERVE ? free_bytes - INTERNAL_RAM_RESERVE : 0;
        size_t largest = heap_caps_get_largest_free_block(caps);
        if (budget > largest) {
            budget = largest;
        }
        if (budget / slot < frames) {
            ESP_LOGW(TAG, "room for %u of %u ms only (no PSRAM)", (unsigned)(budget / slot * ISC_FRAME_MS),
                     (unsigned)ms);
            frames = (uint32_t)(budget / slot);
        }
        storage = frames >= MIN_FRAMES ? heap_caps_malloc(frames * slot, caps) : NULL;
    }
    s_lock = xSemaphoreCreateMutex();
    if (storage == NULL || s_lock == NULL ||
        !isc_frame_ring_init(&s_ring, storage, frames * slot, frames, ISC_FRAME_PAYLOAD_BYTES)) {
        ESP_LOGE(TAG, "cannot allocate the reconnect buffer");
        return ESP_ERR_NO_MEM;
    }
    ESP_LOGI(TAG, "reconnect buffer: %u ms (%u frames, %u KB)", (unsigned)(frames * ISC_FRAME_MS),
             (unsigned)frames, (unsigned)(frames * slot / 1024));
    return ESP_OK;
}

uint32_t audio_buffer_capacity_frames(void)
{
    return s_ring.capacity;
}

void audio_buffer_push(uint32_t seq, uint64_t capture_us, const uint8_t *payload, size_t len)
{
    xSemaphoreTake(s_lock, portMAX_DELAY);
    isc_frame_status status = isc_frame_ring_push(&s_ring, seq, capture_us, payload, len);
    xSemaphoreGive(s_lock);
    if (status != ISC_FRAME_OK) {
        ESP_LOGE(TAG, "frame %u refused: %s", (unsigned)seq, isc_frame_status_name(status));
    }
}

bool audio_buffer_peek(uint8_t *out, size_t cap, size_t *len, uint32_t *seq)
{
    xSemaphoreTake(s_lock, portMAX_DELAY);
    bool found = isc_frame_ring_peek_unsent(&s_ring, out, cap, len, seq);
    xSemaphoreGive(s_lock);
    return found;
}

void audio_buffer_mark_sent(uint32_t seq)
{
    xSemaphoreTake(s_lock, portMAX_DELAY);
    (void)isc_frame_ring_mark_sent(&s_ring, seq); /* false: overwritten meanwhile, nothing to do */
    xSemaphoreGive(s_lock);
}

uint32_t audio_buffer_begin_stream(bool has_last_seq, uint32_t last_seq)
{
    xSemaphoreTake(s_lock, portMAX_DELAY);
    uint32_t replay = isc_frame_ring_begin_stream(&s_ring, has_last_seq, last_seq);
    xSemaphoreGive(s_lock);
    return replay;
}

void audio_buffer_stats(uint32_t *unsent, uint32_t *dropped)
{
    xSemaphoreTake(s_lock, portMAX_DELAY);
    *unsent = s_ring.unsent;
    *dropped = s_ring.dropped;
    xSemaphoreGive(s_lock);
}
