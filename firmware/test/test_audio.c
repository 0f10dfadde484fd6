#include <string.h>

#include "intrascribe/audio.h"
#include "intrascribe/led_pattern.h"
#include "test_support.h"

/* A 24-bit sample as the INMP441 puts it in a 32-bit I2S slot (bits 31..8). */
static int32_t slot_of(int32_t sample24)
{
    return (int32_t)((uint32_t)sample24 << 8);
}

static int16_t sample_at(const uint8_t *out, size_t i)
{
    return (int16_t)(uint16_t)(out[2 * i] | (out[2 * i + 1] << 8));
}

static void test_unity_gain_takes_the_top_16_bits(void **state)
{
    (void)state;
    const int32_t slots[] = {
        0, slot_of(0x7FFFFF), slot_of(-0x800000), slot_of(0x000100), slot_of(0x0000FF), slot_of(-1), slot_of(-256),
        slot_of(0x123456),
    };
    const int16_t expected[] = {0, 32767, -32768, 1, 0, -1, -1, 0x1234};
    uint8_t out[sizeof(slots) / sizeof(slots[0]) * 2];
    assert_int_equal(isc_inmp441_to_s16le(slots, 8, 0, out), 0);
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal(sample_at(out, i), expected[i]);
    }
    /* -257 in 24 bits floors to -2 (arithmetic shift, not truncation toward zero) */
    const int32_t below[] = {slot_of(-257)};
    assert_int_equal(isc_inmp441_to_s16le(below, 1, 0, out), 0);
    assert_int_equal(sample_at(out, 0), -2);
}

static void test_output_is_little_endian(void **state)
{
    (void)state;
    const int32_t slots[] = {slot_of(0x123400), slot_of(-0x000200)};
    uint8_t out[4];
    isc_inmp441_to_s16le(slots, 2, 0, out);
    const uint8_t expected[] = {0x34, 0x12, 0xFE, 0xFF};
    assert_memory_equal(out, expected, sizeof(expected));
}

static void test_gain_shifts_and_saturates(void **state)
{
    (void)state;
    const int32_t slots[] = {slot_of(0x001000), slot_of(0x100000), slot_of(-0x100000), slot_of(0x003FFF),
                             slot_of(0x7FFFFF)};
    uint8_t out[10];
    /* gain 2 = x4: 0x10 -> 0x40, 0x1000 -> 0x4000, 0x3F -> 0xFF, 0x7FFF -> clip */
    assert_int_equal(isc_inmp441_to_s16le(slots, 5, 2, out), 1);
    assert_int_equal(sample_at(out, 0), 0x40);
    assert_int_equal(sample_at(out, 1), 0x4000);
    assert_int_equal(sample_at(out, 2), -0x4000);
    assert_int_equal(sample_at(out, 3), 0xFF);
    assert_int_equal(sample_at(out, 4), 32767);
    /* gain 8 = the low 16 of the 24 bits */
    assert_int_equal(isc_inmp441_to_s16le(slots, 5, 8, out), 3);
    assert_int_equal(sample_at(out, 0), 0x1000);
    assert_int_equal(sample_at(out, 1), 32767);
    assert_int_equal(sample_at(out, 2), -32768);
    assert_int_equal(sample_at(out, 3), 0x3FFF);
    /* beyond 8 is clamped to 8 */
    uint8_t clamped[10];
    assert_int_equal(isc_inmp441_to_s16le(slots, 5, 15, clamped), 3);
    assert_memory_equal(clamped, out, sizeof(out));
}

static void test_extreme_slot_values(void **state)
{
    (void)state;
    const int32_t slots[] = {INT32_MIN, INT32_MAX, -1};
    uint8_t out[6];
    assert_int_equal(isc_inmp441_to_s16le(slots, 3, 0, out), 0);
    assert_int_equal(sample_at(out, 0), -32768);
    assert_int_equal(sample_at(out, 1), 32767);
    assert_int_equal(sample_at(out, 2), -1);
    assert_int_equal(isc_inmp441_to_s16le(slots, 3, 8, out), 2);
    assert_int_equal(isc_inmp441_to_s16le(slots, 0, 0, out), 0);
}

static void test_capture_clock_follows_samples(void **state)
{
    (void)state;
    isc_capture_clock clock;
    isc_capture_clock_init(&clock, ISC_SAMPLE_RATE_HZ, 200000);
    /* first read returns at 1.02 s: the frame began 20 ms earlier */
    assert_true(isc_capture_clock_frame_start(&clock, 1020000, ISC_FRAME_SAMPLES) == 1000000);
    /* reads jitter by a few ms; the timestamps do not */
    assert_true(isc_capture_clock_frame_start(&clock, 1043000, ISC_FRAME_SAMPLES) == 1020000);
    assert_true(isc_capture_clock_frame_start(&clock, 1059000, ISC_FRAME_SAMPLES) == 1040000);
    /* late by 120 ms (DMA buffers queued up): still on the sample clock */
    assert_true(isc_capture_clock_frame_start(&clock, 1200000, ISC_FRAME_SAMPLES) == 1060000);
    assert_int_equal(clock.resync_count, 0);
}

static void test_capture_clock_resyncs_after_lost_samples(void **state)
{
    (void)state;
    isc_capture_clock clock;
    isc_capture_clock_init(&clock, ISC_SAMPLE_RATE_HZ, 200000);
    assert_true(isc_capture_clock_frame_start(&clock, 20000, ISC_FRAME_SAMPLES) == 0);
    /* 500 ms passed but only one frame arrived: DMA overflowed */
    assert_true(isc_capture_clock_frame_start(&clock, 540000, ISC_FRAME_SAMPLES) == 520000);
    assert_int_equal(clock.resync_count, 1);
    assert_true(isc_capture_clock_frame_start(&clock, 560000, ISC_FRAME_SAMPLES) == 540000);
    /* the sample clock ran ahead of the system clock (would be in the future) */
    for (int i = 0; i < 15; i++) {
        (void)isc_capture_clock_frame_start(&clock, 560000, ISC_FRAME_SAMPLES);
    }
    assert_int_equal(clock.resync_count, 2);
}

static void test_capture_clock_early_boot(void **state)
{
    (void)state;
    isc_capture_clock clock;
    isc_capture_clock_init(&clock, ISC_SAMPLE_RATE_HZ, 200000);
    assert_true(isc_capture_clock_frame_start(&clock, 5000, ISC_FRAME_SAMPLES) == 0);
    assert_true(isc_capture_clock_frame_start(&clock, 25000, ISC_FRAME_SAMPLES) == 20000);
}

static void test_frame_constants(void **state)
{
    (void)state;
    assert_int_equal(ISC_FRAME_SAMPLES, 320);
    assert_int_equal(ISC_FRAME_PAYLOAD_BYTES, 640);
}

static void test_led_patterns(void **state)
{
    (void)state;
    for (uint64_t t = 0; t < 3000; t += 10) {
        assert_false(isc_led_is_on(ISC_LED_OFF, t));
        assert_true(isc_led_is_on(ISC_LED_STREAMING, t));
    }
    assert_true(isc_led_is_on(ISC_LED_CONNECTING, 0));
    assert_true(isc_led_is_on(ISC_LED_CONNECTING, 499));
    assert_false(isc_led_is_on(ISC_LED_CONNECTING, 500));
    assert_true(isc_led_is_on(ISC_LED_CONNECTING, 1000));
    assert_true(isc_led_is_on(ISC_LED_ERROR, 50));
    assert_false(isc_led_is_on(ISC_LED_ERROR, 150));
    assert_true(isc_led_is_on(ISC_LED_ERROR, 250));
    const bool unauthorized[10] = {true, false, true, false, false, false, false, false, false, false};
    for (int i = 0; i < 10; i++) {
        assert_int_equal(isc_led_is_on(ISC_LED_UNAUTHORIZED, (uint64_t)(5000 + i * 100 + 50)), unauthorized[i]);
    }
    assert_false(isc_led_is_on((isc_led_status)42, 0));
    const char *names[] = {"off", "connecting", "streaming", "error", "unauthorized"};
    for (int i = ISC_LED_OFF; i <= ISC_LED_UNAUTHORIZED; i++) {
        assert_string_equal(isc_led_status_name((isc_led_status)i), names[i]);
    }
    assert_string_equal(isc_led_status_name((isc_led_status)42), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unity_gain_takes_the_top_16_bits),
        cmocka_unit_test(test_output_is_little_endian),
        cmocka_unit_test(test_gain_shifts_and_saturates),
        cmocka_unit_test(test_extreme_slot_values),
        cmocka_unit_test(test_capture_clock_follows_samples),
        cmocka_unit_test(test_capture_clock_resyncs_after_lost_samples),
        cmocka_unit_test(test_capture_clock_early_boot),
        cmocka_unit_test(test_frame_constants),
        cmocka_unit_test(test_led_patterns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
