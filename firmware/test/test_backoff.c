#include "intrascribe/backoff.h"
#include "test_support.h"

static void test_ceiling_doubles_up_to_the_cap(void **state)
{
    (void)state;
    isc_backoff b;
    isc_backoff_init(&b, ISC_BACKOFF_BASE_MS, ISC_BACKOFF_CAP_MS);
    const uint32_t expected[] = {500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000};
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        assert_int_equal(isc_backoff_ceiling_ms(&b), expected[i]);
        (void)isc_backoff_next_ms(&b, 0);
    }
    assert_int_equal(b.attempt, 9);
}

static void test_ceiling_survives_huge_attempt_counts(void **state)
{
    (void)state;
    isc_backoff b;
    isc_backoff_init(&b, ISC_BACKOFF_BASE_MS, ISC_BACKOFF_CAP_MS);
    const uint32_t attempts[] = {31, 32, 33, 63, 64, 1000, UINT32_MAX};
    for (size_t i = 0; i < sizeof(attempts) / sizeof(attempts[0]); i++) {
        b.attempt = attempts[i];
        assert_int_equal(isc_backoff_ceiling_ms(&b), ISC_BACKOFF_CAP_MS);
    }
    b.attempt = UINT32_MAX;
    (void)isc_backoff_next_ms(&b, 0);
    assert_int_equal(b.attempt, UINT32_MAX); /* saturates, never wraps back to short delays */

    isc_backoff big;
    isc_backoff_init(&big, UINT32_MAX, UINT32_MAX);
    big.attempt = 31;
    assert_int_equal(isc_backoff_ceiling_ms(&big), UINT32_MAX);
}

static void test_delay_spans_zero_to_ceiling(void **state)
{
    (void)state;
    isc_backoff b;
    isc_backoff_init(&b, ISC_BACKOFF_BASE_MS, ISC_BACKOFF_CAP_MS);
    assert_int_equal(isc_backoff_next_ms(&b, 0), 0);
    isc_backoff_reset(&b);
    assert_int_equal(isc_backoff_next_ms(&b, UINT32_MAX), 500);
    isc_backoff_reset(&b);
    assert_int_equal(isc_backoff_next_ms(&b, 0x80000000u), 250);
    b.attempt = 20;
    assert_int_equal(isc_backoff_next_ms(&b, UINT32_MAX), 30000);
}

static void test_delay_stays_within_bounds(void **state)
{
    (void)state;
    isc_backoff b;
    isc_backoff_init(&b, ISC_BACKOFF_BASE_MS, ISC_BACKOFF_CAP_MS);
    uint32_t x = 12345;
    uint64_t sum = 0;
    const int draws = 10000;
    for (int i = 0; i < draws; i++) {
        b.attempt = (uint32_t)(i % 12);
        uint32_t ceiling = isc_backoff_ceiling_ms(&b);
        x = x * 1664525u + 1013904223u; /* LCG: deterministic "random" bits */
        uint32_t delay = isc_backoff_next_ms(&b, x);
        assert_true(delay <= ceiling);
        if (i % 12 == 11) {
            sum += delay;
        }
    }
    /* At the cap the mean of uniform [0, 30000] is 15000; allow generous slack. */
    uint64_t mean = sum / (draws / 12);
    assert_true(mean > 12000 && mean < 18000);
}

static void test_reset_starts_over(void **state)
{
    (void)state;
    isc_backoff b;
    isc_backoff_init(&b, ISC_BACKOFF_BASE_MS, ISC_BACKOFF_CAP_MS);
    for (int i = 0; i < 5; i++) {
        (void)isc_backoff_next_ms(&b, UINT32_MAX);
    }
    assert_int_equal(isc_backoff_ceiling_ms(&b), 16000);
    isc_backoff_reset(&b);
    assert_int_equal(b.attempt, 0);
    assert_int_equal(isc_backoff_next_ms(&b, UINT32_MAX), 500);
}

static void test_base_above_cap_is_capped(void **state)
{
    (void)state;
    isc_backoff b;
    isc_backoff_init(&b, 60000, 30000);
    assert_int_equal(isc_backoff_ceiling_ms(&b), 30000);
    isc_backoff_init(&b, 0, 30000);
    assert_int_equal(isc_backoff_next_ms(&b, UINT32_MAX), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ceiling_doubles_up_to_the_cap),
        cmocka_unit_test(test_ceiling_survives_huge_attempt_counts),
        cmocka_unit_test(test_delay_spans_zero_to_ceiling),
        cmocka_unit_test(test_delay_stays_within_bounds),
        cmocka_unit_test(test_reset_starts_over),
        cmocka_unit_test(test_base_above_cap_is_capped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
