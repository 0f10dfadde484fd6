#include <string.h>

#include "intrascribe/frame_ring.h"
#include "test_support.h"

#define PAYLOAD 8u
#define CAPACITY 4u

static uint8_t storage[4096];
static isc_frame_ring ring;

static int setup(void **state)
{
    (void)state;
    memset(storage, 0xEE, sizeof(storage));
    return isc_frame_ring_init(&ring, storage, sizeof(storage), CAPACITY, PAYLOAD) ? 0 : -1;
}

static void push(uint32_t seq)
{
    uint8_t payload[PAYLOAD];
    memset(payload, (int)(seq & 0xFF), sizeof(payload));
    assert_int_equal(isc_frame_ring_push(&ring, seq, (uint64_t)seq * 20000u, payload, sizeof(payload)), ISC_FRAME_OK);
}

/* Peeks the next unsent frame, checks it, and marks it sent. */
static void expect_send(uint32_t seq, bool replay)
{
    uint8_t out[ISC_FRAME_HEADER_BYTES + PAYLOAD];
    size_t len = 0;
    uint32_t got = 0;
    assert_true(isc_frame_ring_peek_unsent(&ring, out, sizeof(out), &len, &got));
    assert_int_equal(got, seq);
    isc_frame_header h;
    const uint8_t *payload;
    size_t n;
    assert_int_equal(isc_frame_decode(out, len, &h, &payload, &n), ISC_FRAME_OK);
    assert_int_equal(h.seq, seq);
    assert_true(h.capture_us == (uint64_t)seq * 20000u);
    assert_int_equal(h.flags, replay ? ISC_FRAME_FLAG_REPLAY : 0);
    assert_int_equal(n, PAYLOAD);
    assert_int_equal(payload[0], seq & 0xFF);
    assert_true(isc_frame_ring_mark_sent(&ring, seq));
}

static void expect_nothing_unsent(void)
{
    uint8_t out[64];
    size_t len;
    uint32_t seq;
    assert_false(isc_frame_ring_peek_unsent(&ring, out, sizeof(out), &len, &seq));
}

static void test_init_rejects_bad_arguments(void **state)
{
    (void)state;
    isc_frame_ring r;
    size_t need = isc_frame_ring_storage_bytes(CAPACITY, PAYLOAD);
    assert_int_equal(need % 4, 0);
    assert_true(need >= CAPACITY * (2 + ISC_FRAME_HEADER_BYTES + PAYLOAD));
    assert_false(isc_frame_ring_init(&r, NULL, need, CAPACITY, PAYLOAD));
    assert_false(isc_frame_ring_init(&r, storage, need, 0, PAYLOAD));
    assert_false(isc_frame_ring_init(&r, storage, need - 1, CAPACITY, PAYLOAD));
    assert_false(isc_frame_ring_init(&r, storage, sizeof(storage), CAPACITY, 0));
    assert_false(isc_frame_ring_init(&r, storage, sizeof(storage), 1, ISC_FRAME_MAX_PAYLOAD_BYTES + 2));
    assert_true(isc_frame_ring_init(&r, storage, need, CAPACITY, PAYLOAD));
    assert_int_equal(r.count, 0);
    assert_int_equal(r.dropped, 0);
}

static void test_frames_come_out_in_order(void **state)
{
    (void)state;
    expect_nothing_unsent();
    push(0);
    push(1);
    assert_int_equal(ring.unsent, 2);
    expect_send(0, false);
    push(2);
    expect_send(1, false);
    expect_send(2, false);
    expect_nothing_unsent();
    assert_int_equal(ring.count, 3);
    assert_int_equal(ring.dropped, 0);
}

static void test_peek_does_not_consume_and_mark_checks_seq(void **state)
{
    (void)state;
    push(7);
    push(8);
    uint8_t out[64];
    size_t len;
    uint32_t seq;
    assert_true(isc_frame_ring_peek_unsent(&ring, out, sizeof(out), &len, &seq));
    assert_true(isc_frame_ring_peek_unsent(&ring, out, sizeof(out), &len, &seq));
    assert_int_equal(seq, 7);
    assert_false(isc_frame_ring_mark_sent(&ring, 8)); /* not the oldest unsent */
    assert_int_equal(ring.unsent, 2);
    assert_false(isc_frame_ring_peek_unsent(&ring, out, 10, &len, &seq)); /* too small */
    expect_send(7, false);
    expect_send(8, false);
    assert_false(isc_frame_ring_mark_sent(&ring, 9));
}

static void test_overflow_counts_unsent_frames_as_dropped(void **state)
{
    (void)state;
    for (uint32_t seq = 0; seq < CAPACITY + 3; seq++) {
        push(seq);
    }
    assert_int_equal(ring.count, CAPACITY);
    assert_int_equal(ring.unsent, CAPACITY);
    assert_int_equal(ring.dropped, 3);
    uint32_t oldest;
    assert_true(isc_frame_ring_seq_at(&ring, 0, &oldest));
    assert_int_equal(oldest, 3);
    for (uint32_t seq = 3; seq < CAPACITY + 3; seq++) {
        expect_send(seq, false);
    }
}

static void test_overwriting_sent_frames_is_not_a_drop(void **state)
{
    (void)state;
    for (uint32_t seq = 0; seq < CAPACITY; seq++) {
        push(seq);
        expect_send(seq, false);
    }
    push(4);
    push(5);
    assert_int_equal(ring.dropped, 0);
    assert_int_equal(ring.count, CAPACITY);
    assert_int_equal(ring.unsent, 2);
    /* Overflow while partly sent: only the unsent oldest frame counts. */
    push(6);
    push(7);
    push(8); /* evicts 4, never sent */
    assert_int_equal(ring.dropped, 1);
    expect_send(5, false);
}

static void test_push_rejects_invalid_frames(void **state)
{
    (void)state;
    uint8_t payload[PAYLOAD + 2] = {0};
    assert_int_equal(isc_frame_ring_push(&ring, 1, 0, payload, 3), ISC_FRAME_ODD_PAYLOAD);
    assert_int_equal(isc_frame_ring_push(&ring, 1, 0, payload, 0), ISC_FRAME_EMPTY_PAYLOAD);
    assert_int_equal(isc_frame_ring_push(&ring, 1, 0, payload, PAYLOAD + 2), ISC_FRAME_NO_ROOM);
    assert_int_equal(ring.count, 0);
    assert_int_equal(isc_frame_ring_push(&ring, 1, 0, payload, 2), ISC_FRAME_OK); /* shorter is fine */
    uint8_t out[64];
    size_t len;
    uint32_t seq;
    assert_true(isc_frame_ring_peek_unsent(&ring, out, sizeof(out), &len, &seq));
    assert_int_equal(len, ISC_FRAME_HEADER_BYTES + 2);
}

static void test_replay_everything_when_bridge_has_nothing(void **state)
{
    (void)state;
    push(10);
    push(11);
    expect_send(10, false); /* sent before the connection dropped; the bridge may not have it */
    push(12);
    assert_int_equal(isc_frame_ring_begin_stream(&ring, false, 0), 3);
    push(13); /* captured after config: live */
    expect_send(10, true);
    expect_send(11, true);
    expect_send(12, true);
    expect_send(13, false);
    expect_nothing_unsent();
}

static void test_replay_only_frames_after_last_seq(void **state)
{
    (void)state;
    for (uint32_t seq = 20; seq < 24; seq++) {
        push(seq);
    }
    expect_send(20, false);
    expect_send(21, false);
    expect_send(22, false);
    /* The bridge got 20 and 21; 22 was lost in flight; 23 was never sent. */
    assert_int_equal(isc_frame_ring_begin_stream(&ring, true, 21), 2);
    expect_send(22, true);
    expect_send(23, true);
    expect_nothing_unsent();
}

static void test_replay_nothing_when_bridge_is_up_to_date(void **state)
{
    (void)state;
    push(1);
    push(2);
    assert_int_equal(isc_frame_ring_begin_stream(&ring, true, 2), 0);
    expect_nothing_unsent();
    push(3);
    expect_send(3, false);
}

static void test_replay_all_when_last_seq_is_older_than_the_buffer(void **state)
{
    (void)state;
    for (uint32_t seq = 100; seq < 100 + CAPACITY + 2; seq++) {
        push(seq); /* 100 and 101 fall out */
    }
    assert_int_equal(isc_frame_ring_begin_stream(&ring, true, 50), CAPACITY);
    expect_send(102, true);
}

static void test_replay_all_when_last_seq_is_from_another_boot(void **state)
{
    (void)state;
    push(0);
    push(1);
    /* The bridge remembers frame 90000 from before a reboot: nothing here is "after" it, yet the
     * bridge lacks all of it. */
    assert_int_equal(isc_frame_ring_begin_stream(&ring, true, 90000), 2);
    expect_send(0, true);
    expect_send(1, true);
}

static void test_replay_filter_across_seq_wrap(void **state)
{
    (void)state;
    push(0xFFFFFFFEu);
    push(0xFFFFFFFFu);
    push(0);
    push(1);
    assert_int_equal(isc_frame_ring_begin_stream(&ring, true, 0xFFFFFFFFu), 2);
    expect_send(0, true);
    expect_send(1, true);

    assert_int_equal(isc_frame_ring_begin_stream(&ring, true, 0xFFFFFFFEu), 3);
    expect_send(0xFFFFFFFFu, true);
    expect_send(0, true);
    expect_send(1, true);

    assert_int_equal(isc_frame_ring_begin_stream(&ring, true, 0), 1);
    expect_send(1, true);
}

static void test_dropping_replay_frames_shrinks_the_backlog(void **state)
{
    (void)state;
    for (uint32_t seq = 0; seq < CAPACITY; seq++) {
        push(seq);
    }
    assert_int_equal(isc_frame_ring_begin_stream(&ring, false, 0), CAPACITY);
    push(4); /* evicts replay frame 0 before it went out */
    push(5); /* evicts 1 */
    assert_int_equal(ring.dropped, 2);
    assert_int_equal(ring.replay_left, CAPACITY - 2);
    expect_send(2, true);
    expect_send(3, true);
    expect_send(4, false);
    expect_send(5, false);
}

static void test_seq_at(void **state)
{
    (void)state;
    uint32_t seq;
    assert_false(isc_frame_ring_seq_at(&ring, 0, &seq));
    push(5);
    push(6);
    assert_true(isc_frame_ring_seq_at(&ring, 1, &seq));
    assert_int_equal(seq, 6);
    assert_false(isc_frame_ring_seq_at(&ring, 2, &seq));
}

static void test_full_size_ring(void **state)
{
    (void)state;
    /* The firmware's configuration: 250 frames of 640 bytes. */
    static uint8_t big[250 * 660];
    isc_frame_ring r;
    size_t need = isc_frame_ring_storage_bytes(250, 640);
    assert_true(need <= sizeof(big));
    assert_true(isc_frame_ring_init(&r, big, need, 250, 640));
    uint8_t payload[640] = {0};
    for (uint32_t seq = 0; seq < 1000; seq++) {
        assert_int_equal(isc_frame_ring_push(&r, seq, 0, payload, sizeof(payload)), ISC_FRAME_OK);
    }
    assert_int_equal(r.dropped, 750);
    assert_int_equal(isc_frame_ring_begin_stream(&r, true, 899), 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_init_rejects_bad_arguments, setup),
        cmocka_unit_test_setup(test_frames_come_out_in_order, setup),
        cmocka_unit_test_setup(test_peek_does_not_consume_and_mark_checks_seq, setup),
        cmocka_unit_test_setup(test_overflow_counts_unsent_frames_as_dropped, setup),
        cmocka_unit_test_setup(test_overwriting_sent_frames_is_not_a_drop, setup),
        cmocka_unit_test_setup(test_push_rejects_invalid_frames, setup),
        cmocka_unit_test_setup(test_replay_everything_when_bridge_has_nothing, setup),
        cmocka_unit_test_setup(test_replay_only_frames_after_last_seq, setup),
        cmocka_unit_test_setup(test_replay_nothing_when_bridge_is_up_to_date, setup),
        cmocka_unit_test_setup(test_replay_all_when_last_seq_is_older_than_the_buffer, setup),
        cmocka_unit_test_setup(test_replay_all_when_last_seq_is_from_another_boot, setup),
        cmocka_unit_test_setup(test_replay_filter_across_seq_wrap, setup),
        cmocka_unit_test_setup(test_dropping_replay_frames_shrinks_the_backlog, setup),
        cmocka_unit_test_setup(test_seq_at, setup),
        cmocka_unit_test(test_full_size_ring),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
