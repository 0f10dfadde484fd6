#include "intrascribe/audio.h"

/* Arithmetic right shift without relying on implementation-defined behaviour for negatives. */
static int32_t shift_right(int32_t v, unsigned n)
{
    return v < 0 ? ~(int32_t)((uint32_t)~v >> n) : (int32_t)((uint32_t)v >> n);
}

size_t isc_inmp441_to_s16le(const int32_t *slots, size_t count, unsigned gain_shift, uint8_t *out)
{
    if (gain_shift > ISC_MAX_GAIN_SHIFT) {
        gain_shift = ISC_MAX_GAIN_SHIFT;
    }
    size_t clipped = 0;
    for (size_t i = 0; i < count; i++) {
        int32_t v = shift_right(slots[i], 16u - gain_shift);
        if (v > INT16_MAX) {
            v = INT16_MAX;
            clipped++;
        } else if (v < INT16_MIN) {
            v = INT16_MIN;
            clipped++;
        }
        uint16_t bits = (uint16_t)(int16_t)v;
        out[2 * i] = (uint8_t)bits;
        out[2 * i + 1] = (uint8_t)(bits >> 8);
    }
    return clipped;
}

void isc_capture_clock_init(isc_capture_clock *clock, uint32_t sample_rate, uint32_t resync_us)
{
    clock->sample_rate = sample_rate;
    clock->resync_us = resync_us;
    clock->anchored = false;
    clock->anchor_us = 0;
    clock->samples = 0;
    clock->resync_count = 0;
}

static uint64_t samples_to_us(const isc_capture_clock *clock, uint64_t samples)
{
    return samples * 1000000u / clock->sample_rate;
}

uint64_t isc_capture_clock_frame_start(isc_capture_clock *clock, uint64_t read_done_us, uint32_t frame_samples)
{
    uint64_t duration = samples_to_us(clock, frame_samples);
    uint64_t start = clock->anchor_us + samples_to_us(clock, clock->samples);
    uint64_t end = start + duration;
    bool drifted = end > read_done_us ? end - read_done_us > clock->resync_us : read_done_us - end > clock->resync_us;
    if (!clock->anchored || drifted) {
        if (clock->anchored) {
            clock->resync_count++;
        }
        clock->anchored = true;
        clock->anchor_us = read_done_us > duration ? read_done_us - duration : 0;
        clock->samples = 0;
        start = clock->anchor_us;
    }
    clock->samples += frame_samples;
    return start;
}
