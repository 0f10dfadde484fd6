#include "intrascribe/frame_ring.h"

#include <string.h>

#define SLOT_LENGTH_BYTES 2u

size_t isc_frame_ring_storage_bytes(uint32_t capacity, size_t max_payload_bytes)
{
    /* Slots are rounded up to 4 bytes so every slot starts word-aligned (faster memcpy). */
    size_t slot = (SLOT_LENGTH_BYTES + ISC_FRAME_HEADER_BYTES + max_payload_bytes + 3u) & ~(size_t)3u;
    return slot * capacity;
}

bool isc_frame_ring_init(isc_frame_ring *ring, void *storage, size_t storage_bytes, uint32_t capacity,
                         size_t max_payload_bytes)
{
    if (storage == NULL || capacity == 0 || max_payload_bytes < ISC_FRAME_MIN_PAYLOAD_BYTES ||
        max_payload_bytes > ISC_FRAME_MAX_PAYLOAD_BYTES ||
        storage_bytes < isc_frame_ring_storage_bytes(capacity, max_payload_bytes)) {
        return false;
    }
    memset(ring, 0, sizeof(*ring));
    ring->slots = storage;
    ring->slot_bytes = isc_frame_ring_storage_bytes(1, max_payload_bytes);
    ring->max_payload_bytes = max_payload_bytes;
    ring->capacity = capacity;
    return true;
}

static uint8_t *slot_at(const isc_frame_ring *ring, uint32_t i)
{
    uint32_t index = (uint32_t)(((uint64_t)ring->oldest + i) % ring->capacity);
    return ring->slots + (size_t)index * ring->slot_bytes;
}

static size_t slot_frame_len(const uint8_t *slot)
{
    return (size_t)slot[0] | ((size_t)slot[1] << 8);
}

static uint32_t slot_seq(const uint8_t *slot)
{
    const uint8_t *p = slot + SLOT_LENGTH_BYTES + 4; /* seq: header offset 4, little-endian */
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

isc_frame_status isc_frame_ring_push(isc_frame_ring *ring, uint32_t seq, uint64_t capture_us, const uint8_t *payload,
                                     size_t payload_len)
{
    isc_frame_header header = {
        .version = ISC_FRAME_VERSION, .kind = ISC_FRAME_KIND_PCM, .flags = 0, .seq = seq, .capture_us = capture_us};
    isc_frame_status status = isc_frame_validate(&header, payload_len);
    if (status != ISC_FRAME_OK) {
        return status;
    }
    if (payload_len > ring->max_payload_bytes) {
        return ISC_FRAME_NO_ROOM;
    }
    if (ring->count == ring->capacity) {
        /* Full: the oldest frame goes. It is a loss only if it was never sent. */
        if (ring->unsent == ring->count) {
            ring->dropped++;
            ring->unsent--;
            if (ring->replay_left > 0) {
                ring->replay_left--;
            }
        }
        ring->oldest = (ring->oldest + 1) % ring->capacity;
        ring->count--;
    }
    uint8_t *slot = slot_at(ring, ring->count);
    size_t frame_len = 0;
    status = isc_frame_encode(&header, payload, payload_len, slot + SLOT_LENGTH_BYTES,
                              ring->slot_bytes - SLOT_LENGTH_BYTES, &frame_len);
    if (status != ISC_FRAME_OK) {
        return status; /* unreachable: validated and sized above */
    }
    slot[0] = (uint8_t)frame_len;
    slot[1] = (uint8_t)(frame_len >> 8);
    ring->count++;
    ring->unsent++;
    return ISC_FRAME_OK;
}

bool isc_frame_ring_peek_unsent(const isc_frame_ring *ring, uint8_t *out, size_t out_cap, size_t *out_len,
                                uint32_t *seq)
{
    if (ring->unsent == 0) {
        return false;
    }
    const uint8_t *slot = slot_at(ring, ring->count - ring->unsent);
    size_t len = slot_frame_len(slot);
    if (out_cap < len) {
        return false;
    }
    memcpy(out, slot + SLOT_LENGTH_BYTES, len);
    isc_frame_set_replay(out, ring->replay_left > 0);
    *out_len = len;
    *seq = slot_seq(slot);
    return true;
}

bool isc_frame_ring_mark_sent(isc_frame_ring *ring, uint32_t seq)
{
    if (ring->unsent == 0 || slot_seq(slot_at(ring, ring->count - ring->unsent)) != seq) {
        return false;
    }
    ring->unsent--;
    if (ring->replay_left > 0) {
        ring->replay_left--;
    }
    return true;
}

uint32_t isc_frame_ring_begin_stream(isc_frame_ring *ring, bool has_last_seq, uint32_t last_seq)
{
    uint32_t first = 0; /* index of the first frame to replay */
    if (has_last_seq && ring->count > 0 && !isc_seq_after(last_seq, slot_seq(slot_at(ring, ring->count - 1)))) {
        while (first < ring->count && !isc_seq_after(slot_seq(slot_at(ring, first)), last_seq)) {
            first++;
        }
    }
    ring->unsent = ring->count - first;
    ring->replay_left = ring->unsent;
    return ring->unsent;
}

bool isc_frame_ring_seq_at(const isc_frame_ring *ring, uint32_t i, uint32_t *seq)
{
    if (i >= ring->count) {
        return false;
    }
    *seq = slot_seq(slot_at(ring, i));
    return true;
}
