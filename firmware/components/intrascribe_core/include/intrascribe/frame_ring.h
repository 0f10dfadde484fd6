/*
 * The reconnect buffer: the newest N encoded frames, oldest overwritten first.
 *
 * Every captured frame goes in, streaming or not, so that after a reconnect the device can resend
 * exactly what the bridge lacks: the bridge's `config` names the last frame it has (`last_seq`),
 * and everything newer still in the ring is sent again, flagged REPLAY, before live frames.
 *
 * The ring tracks which frames still have to be sent ("unsent", always the newest ones). A frame
 * overwritten while still unsent is lost and counted in `dropped`.
 *
 * Not thread-safe: the firmware guards it with a mutex (main/audio_buffer.c). Storage is supplied
 * by the caller so the firmware can place it in PSRAM.
 */
#ifndef INTRASCRIBE_FRAME_RING_H
#define INTRASCRIBE_FRAME_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "intrascribe/frame.h"

#ifdef __cplusplus
extern "C" {
#endif

/* All fields are read-only outside frame_ring.c. */
typedef struct {
    uint8_t *slots;         /* capacity slots of slot_bytes: 2-byte length, then the encoded frame */
    size_t slot_bytes;
    size_t max_payload_bytes;
    uint32_t capacity;
    uint32_t oldest;        /* slot index of the oldest frame */
    uint32_t count;         /* frames held */
    uint32_t unsent;        /* the newest `unsent` frames are still to be sent */
    uint32_t replay_left;   /* how many of the oldest unsent frames get the REPLAY flag */
    uint32_t dropped;       /* frames overwritten before they were sent, since init */
} isc_frame_ring;

/* Bytes of storage needed for `capacity` frames of up to max_payload_bytes each. */
size_t isc_frame_ring_storage_bytes(uint32_t capacity, size_t max_payload_bytes);

/* False if the arguments are unusable (zero capacity, payload size outside the protocol's limits,
 * or storage smaller than isc_frame_ring_storage_bytes). */
bool isc_frame_ring_init(isc_frame_ring *ring, void *storage, size_t storage_bytes, uint32_t capacity,
                         size_t max_payload_bytes);

/* Encodes a new frame (flags 0) as the newest entry, overwriting the oldest when full. Returns the
 * encoder's verdict; ISC_FRAME_NO_ROOM when the payload exceeds the ring's max_payload_bytes. */
isc_frame_status isc_frame_ring_push(isc_frame_ring *ring, uint32_t seq, uint64_t capture_us, const uint8_t *payload,
                                     size_t payload_len);

/* Copies the oldest unsent frame into out (REPLAY flag set when it belongs to the replay backlog)
 * without marking it sent, so a failed send can be retried. False when nothing is unsent or out is
 * too small. */
bool isc_frame_ring_peek_unsent(const isc_frame_ring *ring, uint8_t *out, size_t out_cap, size_t *out_len,
                                uint32_t *seq);

/* Marks the oldest unsent frame as sent if it is still frame `seq` (it may have been overwritten
 * since it was peeked). */
bool isc_frame_ring_mark_sent(isc_frame_ring *ring, uint32_t seq);

/* Called when the bridge's `config` arrives: every buffered frame with seq > last_seq becomes
 * unsent and flagged REPLAY; has_last_seq false (JSON null) means all of them. A last_seq newer
 * than anything buffered cannot come from this boot (sequence numbers restart at 0), so then
 * everything is replayed too. Returns the number of frames queued for replay. */
uint32_t isc_frame_ring_begin_stream(isc_frame_ring *ring, bool has_last_seq, uint32_t last_seq);

/* Sequence number of the i-th buffered frame, 0 = oldest. False when i >= count. */
bool isc_frame_ring_seq_at(const isc_frame_ring *ring, uint32_t i, uint32_t *seq);

#ifdef __cplusplus
}
#endif

#endif /* INTRASCRIBE_FRAME_RING_H */
