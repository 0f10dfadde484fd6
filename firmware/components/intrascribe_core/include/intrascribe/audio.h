/*
 * Microphone samples to protocol payload, and capture timestamps.
 */
#ifndef INTRASCRIBE_AUDIO_H
#define INTRASCRIBE_AUDIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ISC_SAMPLE_RATE_HZ 16000u
#define ISC_CHANNELS 1u
#define ISC_FRAME_MS 20u
#define ISC_FRAME_SAMPLES (ISC_SAMPLE_RATE_HZ / 1000u * ISC_FRAME_MS) /* 320 */
#define ISC_FRAME_PAYLOAD_BYTES (ISC_FRAME_SAMPLES * 2u)               /* 640 */
#define ISC_MAX_GAIN_SHIFT 8u

/*
 * INMP441-class I2S microphones send 24-bit two's-complement samples, MSB first, left-justified
 * in a 32-bit slot: bits 31..8 carry the sample, bits 7..0 are zero. Taking bits 31..16 gives
 * 16 bits at unity gain. These microphones are quiet for speech at meeting distance (-26 dBFS at
 * 94 dB SPL), so `gain_shift` (0..8, 6 dB per step) takes the 16 bits lower down instead, and
 * samples beyond the 16-bit range saturate rather than wrap.
 *
 * Writes `count` little-endian s16 samples (2 * count bytes) and returns how many saturated.
 */
size_t isc_inmp441_to_s16le(const int32_t *slots, size_t count, unsigned gain_shift, uint8_t *out);

/*
 * Capture time of each frame's first sample, on the sample clock rather than the time a DMA read
 * returned (that jitters with scheduling and lags when several DMA buffers were waiting). The
 * clock is re-anchored to the system clock when the two disagree by more than `resync_us`, which
 * happens when DMA overflowed (samples lost) or after long drift between the two oscillators.
 */
typedef struct {
    uint32_t sample_rate;
    uint32_t resync_us;
    bool anchored;
    uint64_t anchor_us;      /* system time of sample 0 since the last anchor */
    uint64_t samples;        /* samples since the anchor */
    uint32_t resync_count;
} isc_capture_clock;

void isc_capture_clock_init(isc_capture_clock *clock, uint32_t sample_rate, uint32_t resync_us);

/* `read_done_us`: system time (us since boot) when the read of `frame_samples` samples returned.
 * Returns the capture time of the frame's first sample. */
uint64_t isc_capture_clock_frame_start(isc_capture_clock *clock, uint64_t read_done_us, uint32_t frame_samples);

#ifdef __cplusplus
}
#endif

#endif /* INTRASCRIBE_AUDIO_H */
