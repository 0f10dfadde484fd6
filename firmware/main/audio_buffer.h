/* The reconnect buffer (intrascribe/frame_ring.h) shared by the microphone task, which fills it,
 * and the bridge task, which drains it; every call takes the lock. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"

/* Allocates room for `ms` of 20 ms frames: in PSRAM when there is some, else in internal RAM,
 * shrunk if needed so Wi-Fi and TLS keep enough. */
esp_err_t audio_buffer_init(uint32_t ms);
uint32_t audio_buffer_capacity_frames(void);

void audio_buffer_push(uint32_t seq, uint64_t capture_us, const uint8_t *payload, size_t len);
bool audio_buffer_peek(uint8_t *out, size_t cap, size_t *len, uint32_t *seq);
void audio_buffer_mark_sent(uint32_t seq);
uint32_t audio_buffer_begin_stream(bool has_last_seq, uint32_t last_seq);
void audio_buffer_stats(uint32_t *unsent, uint32_t *dropped);
