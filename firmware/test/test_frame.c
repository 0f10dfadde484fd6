#include <stdlib.h>
#include <string.h>

#include "intrascribe/frame.h"
#include "test_support.h"

static const isc_frame_header normal_header = {
    .version = 1, .kind = 1, .flags = 0, .seq = 41, .capture_us = 820000};

static void fill_pattern(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(i * 7 + 3);
    }
}

/* A wire frame with the given header bytes and payload length, built by hand (not by the encoder
 * under test). */
static size_t raw_frame(uint8_t *out, uint8_t version, uint8_t kind, uint16_t flags, size_t payload_len)
{
    memset(out, 0, ISC_FRAME_HEADER_BYTES + payload_len);
    out[0] = version;
    out[1] = kind;
    out[2] = (uint8_t)flags;
    out[3] = (uint8_t)(flags >> 8);
    out[4] = 41;
    fill_pattern(out + ISC_FRAME_HEADER_BYTES, payload_len);
    return ISC_FRAME_HEADER_BYTES + payload_len;
}

static void test_encode_layout_is_little_endian(void **state)
{
    (void)state;
    isc_frame_header h = {
        .version = 1, .kind = 1, .flags = ISC_FRAME_FLAG_REPLAY, .seq = 0x04030201u,
        .capture_us = 0x0C0B0A0908070605ull};
    uint8_t payload[4] = {0xAA, 0xBB, 0xCC, 0xDD};
    uint8_t out[32];
    size_t len = 0;
    assert_int_equal(isc_frame_encode(&h, payload, sizeof(payload), out, sizeof(out), &len), ISC_FRAME_OK);
    const uint8_t expected[20] = {1, 1, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0xAA, 0xBB, 0xCC, 0xDD};
    assert_int_equal(len, sizeof(expected));
    assert_memory_equal(out, expected, sizeof(expected));
}

static void test_round_trip_normal_frame(void **state)
{
    (void)state;
    uint8_t payload[640];
    fill_pattern(payload, sizeof(payload));
    uint8_t wire[ISC_FRAME_MAX_BYTES];
    size_t len = 0;
    assert_int_equal(isc_frame_encode(&normal_header, payload, sizeof(payload), wire, sizeof(wire), &len),
                     ISC_FRAME_OK);
    assert_int_equal(len, 656);

    isc_frame_header h;
    const uint8_t *p = NULL;
    size_t n = 0;
    assert_int_equal(isc_frame_decode(wire, len, &h, &p, &n), ISC_FRAME_OK);
    assert_int_equal(h.version, 1);
    assert_int_equal(h.kind, 1);
    assert_int_equal(h.flags, 0);
    assert_int_equal(h.seq, 41);
    assert_int_equal(h.capture_us, 820000);
    assert_int_equal(n, 640);
    assert_ptr_equal(p, wire + 16);
    assert_memory_equal(p, payload, 640);
}

static void test_round_trip_extreme_values(void **state)
{
    (void)state;
    isc_frame_header h = {
        .version = 1, .kind = 1, .flags = ISC_FRAME_FLAG_REPLAY, .seq = UINT32_MAX, .capture_us = UINT64_MAX};
    uint8_t payload[2] = {0xFF, 0x7F};
    uint8_t wire[18];
    size_t len = 0;
    assert_int_equal(isc_frame_encode(&h, payload, 2, wire, sizeof(wire), &len), ISC_FRAME_OK);
    isc_frame_header d;
    const uint8_t *p;
    size_t n;
    assert_int_equal(isc_frame_decode(wire, len, &d, &p, &n), ISC_FRAME_OK);
    assert_int_equal(d.flags, ISC_FRAME_FLAG_REPLAY);
    assert_int_equal(d.seq, UINT32_MAX);
    assert_true(d.capture_us == UINT64_MAX);
    assert_int_equal(n, 2);
}

static void test_decode_rejects_short_header(void **state)
{
    (void)state;
    uint8_t wire[16] = {1, 1};
    isc_frame_header h;
    const uint8_t *p;
    size_t n;
    for (size_t len = 0; len < 16; len++) {
        assert_int_equal(isc_frame_decode(wire, len, &h, &p, &n), ISC_FRAME_SHORT_HEADER);
    }
}

static void test_decode_rejects_bad_header_fields(void **state)
{
    (void)state;
    uint8_t wire[ISC_FRAME_MAX_BYTES + 16];
    isc_frame_header h;
    const uint8_t *p = NULL;
    size_t n = 0;

    size_t len = raw_frame(wire, 2, 1, 0, 640);
    assert_int_equal(isc_frame_decode(wire, len, &h, &p, &n), ISC_FRAME_BAD_VERSION);
    assert_int_equal(h.version, 2); /* the header is reported even for a bad frame */
    assert_int_equal(h.seq, 41);
    len = raw_frame(wire, 0, 1, 0, 640);
    assert_int_equal(isc_frame_decode(wire, len, &h, &p, &n), ISC_FRAME_BAD_VERSION);
    len = raw_frame(wire, 1, 7, 0, 640);
    assert_int_equal(isc_frame_decode(wire, len, &h, &p, &n), ISC_FRAME_BAD_KIND);
    assert_int_equal(h.kind, 7);
    len = raw_frame(wire, 1, 0, 0, 640);
    assert_int_equal(isc_frame_decode(wire, len, &h, &p, &n), ISC_FRAME_BAD_KIND);
    len = raw_frame(wire, 1, 1, 0x0002, 640);
    assert_int_equal(isc_frame_decode(wire, len, &h, &p, &n), ISC_FRAME_UNKNOWN_FLAGS);
    len = raw_frame(wire, 1, 1, 0x8001, 640);
    assert_int_equal(isc_frame_decode(wire, len, &h, &p, &n), ISC_FRAME_UNKNOWN_FLAGS);
    len = raw_frame(wire, 1, 1, ISC_FRAME_FLAG_REPLAY, 640);
    assert_int_equal(isc_frame_decode(wire, len, &h, &p, &n), ISC_FRAME_OK);
}

static void test_decode_payload_sizes(void **state)
{
    (void)state;
    static uint8_t wire[ISC_FRAME_MAX_BYTES + 16];
    isc_frame_header h;
    const uint8_t *p = NULL;
    size_t n = 0;
    struct {
        size_t payload;
        isc_frame_status expected;
    } cases[] = {
        {0, ISC_FRAME_EMPTY_PAYLOAD},      {1, ISC_FRAME_ODD_PAYLOAD},
        {2, ISC_FRAME_OK},                 {3, ISC_FRAME_ODD_PAYLOAD},
        {641, ISC_FRAME_ODD_PAYLOAD},      {3198, ISC_FRAME_OK},
        {3200, ISC_FRAME_OK},              {3201, ISC_FRAME_OVERSIZED_PAYLOAD},
        {3202, ISC_FRAME_OVERSIZED_PAYLOAD}, {3216, ISC_FRAME_OVERSIZED_PAYLOAD},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = raw_frame(wire, 1, 1, 0, cases[i].payload);
        assert_int_equal(isc_frame_decode(wire, len, &h, &p, &n), cases[i].expected);
        if (cases[i].expected == ISC_FRAME_OK) {
            assert_int_equal(n, cases[i].payload);
        }
    }
}

static void test_encode_validates_like_decode(void **state)
{
    (void)state;
    uint8_t payload[3202] = {0};
    static uint8_t out[4000];
    size_t len = 0;
    isc_frame_header h = normal_header;

    h.version = 2;
    assert_int_equal(isc_frame_encode(&h, payload, 640, out, sizeof(out), &len), ISC_FRAME_BAD_VERSION);
    h = normal_header;
    h.kind = 7;
    assert_int_equal(isc_frame_encode(&h, payload, 640, out, sizeof(out), &len), ISC_FRAME_BAD_KIND);
    h = normal_header;
    h.flags = 0x0100;
    assert_int_equal(isc_frame_encode(&h, payload, 640, out, sizeof(out), &len), ISC_FRAME_UNKNOWN_FLAGS);
    h = normal_header;
    assert_int_equal(isc_frame_encode(&h, payload, 0, out, sizeof(out), &len), ISC_FRAME_EMPTY_PAYLOAD);
    assert_int_equal(isc_frame_encode(&h, payload, 639, out, sizeof(out), &len), ISC_FRAME_ODD_PAYLOAD);
    assert_int_equal(isc_frame_encode(&h, payload, 3202, out, sizeof(out), &len), ISC_FRAME_OVERSIZED_PAYLOAD);
    assert_int_equal(len, 0); /* untouched on failure */
}

static void test_encode_needs_room(void **state)
{
    (void)state;
    uint8_t payload[640] = {0};
    uint8_t out[656];
    size_t len = 0;
    assert_int_equal(isc_frame_encode(&normal_header, payload, 640, out, 655, &len), ISC_FRAME_NO_ROOM);
    assert_int_equal(isc_frame_encode(&normal_header, payload, 640, out, 656, &len), ISC_FRAME_OK);
    assert_int_equal(len, 656);
}

static void test_set_replay_touches_only_the_flag(void **state)
{
    (void)state;
    uint8_t payload[2] = {1, 2};
    uint8_t wire[18];
    uint8_t before[18];
    size_t len;
    assert_int_equal(isc_frame_encode(&normal_header, payload, 2, wire, sizeof(wire), &len), ISC_FRAME_OK);
    memcpy(before, wire, sizeof(wire));
    isc_frame_set_replay(wire, true);
    assert_int_equal(wire[2], 1);
    assert_int_equal(wire[3], 0);
    assert_memory_equal(wire + 4, before + 4, 14);
    isc_frame_set_replay(wire, true); /* idempotent */
    assert_int_equal(wire[2], 1);
    isc_frame_set_replay(wire, false);
    assert_memory_equal(wire, before, sizeof(wire));
}

static void test_seq_after_wraps(void **state)
{
    (void)state;
    assert_true(isc_seq_after(1, 0));
    assert_false(isc_seq_after(0, 1));
    assert_false(isc_seq_after(5, 5));
    assert_true(isc_seq_after(0, UINT32_MAX));
    assert_true(isc_seq_after(3, 0xFFFFFFFEu));
    assert_false(isc_seq_after(UINT32_MAX, 0));
    assert_true(isc_seq_after(0x7FFFFFFFu, 0));
    /* exactly half the space apart: neither is after the other */
    assert_false(isc_seq_after(0x80000000u, 0));
    assert_false(isc_seq_after(0, 0x80000000u));
}

static void test_status_names_are_distinct(void **state)
{
    (void)state;
    const char *names[ISC_FRAME_NO_ROOM + 1];
    for (int s = ISC_FRAME_OK; s <= ISC_FRAME_NO_ROOM; s++) {
        names[s] = isc_frame_status_name((isc_frame_status)s);
        assert_string_not_equal(names[s], "unknown");
        for (int t = 0; t < s; t++) {
            assert_string_not_equal(names[s], names[t]);
        }
    }
    assert_string_equal(isc_frame_status_name(ISC_FRAME_OVERSIZED_PAYLOAD), "oversized_payload");
    assert_string_equal(isc_frame_status_name((isc_frame_status)99), "unknown");
}

static void test_random_bytes_never_decode_out_of_bounds(void **state)
{
    (void)state;
    uint32_t x = 7;
    for (int round = 0; round < 5000; round++) {
        x = x * 1664525u + 1013904223u;
        size_t len = (x >> 8) % 40;
        /* An exactly sized heap buffer (plain malloc: cmocka's adds guard bytes), so the
         * sanitizer sees any read past it. */
        uint8_t *buf = malloc(len > 0 ? len : 1);
        assert_non_null(buf);
        for (size_t i = 0; i < len; i++) {
            x = x * 1664525u + 1013904223u;
            buf[i] = (uint8_t)(x >> 24);
        }
        if (len >= 2 && round % 2 == 0) {
            buf[0] = 1; /* often a valid version and kind, to get past the first checks */
            buf[1] = 1;
        }
        isc_frame_header h;
        const uint8_t *p = NULL;
        size_t n = 0;
        if (isc_frame_decode(buf, len, &h, &p, &n) == ISC_FRAME_OK) {
            assert_true(p + n == buf + len);
        }
        free(buf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_layout_is_little_endian),
        cmocka_unit_test(test_round_trip_normal_frame),
        cmocka_unit_test(test_round_trip_extreme_values),
        cmocka_unit_test(test_decode_rejects_short_header),
        cmocka_unit_test(test_decode_rejects_bad_header_fields),
        cmocka_unit_test(test_decode_payload_sizes),
        cmocka_unit_test(test_encode_validates_like_decode),
        cmocka_unit_test(test_encode_needs_room),
        cmocka_unit_test(test_set_replay_touches_only_the_flag),
        cmocka_unit_test(test_seq_after_wraps),
        cmocka_unit_test(test_status_names_are_distinct),
        cmocka_unit_test(test_random_bytes_never_decode_out_of_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
