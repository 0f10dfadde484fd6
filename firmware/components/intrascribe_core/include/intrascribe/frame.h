/*
 * Binary audio frames, docs/device-protocol.md: a 16-byte little-endian header followed by
 * signed 16-bit little-endian mono PCM.
 *
 *   offset 0  u8   version     (1)
 *   offset 1  u8   kind        (1 = PCM audio)
 *   offset 2  u16  flags       (bit 0 REPLAY; other bits must be 0)
 *   offset 4  u32  seq         (+1 per frame from 0 at boot, wraps at 2^32)
 *   offset 8  u64  capture_us  (capture time of the first sample, us since boot)
 *   offset 16 ...  payload     (2..3200 bytes, even)
 */
#ifndef INTRASCRIBE_FRAME_H
#define INTRASCRIBE_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ISC_FRAME_VERSION 1u
#define ISC_FRAME_KIND_PCM 1u
#define ISC_FRAME_FLAG_REPLAY 0x0001u
#define ISC_FRAME_KNOWN_FLAGS ISC_FRAME_FLAG_REPLAY
#define ISC_FRAME_HEADER_BYTES 16u
#define ISC_FRAME_MIN_PAYLOAD_BYTES 2u
#define ISC_FRAME_MAX_PAYLOAD_BYTES 3200u /* 100 ms at 16 kHz */
#define ISC_FRAME_MAX_BYTES (ISC_FRAME_HEADER_BYTES + ISC_FRAME_MAX_PAYLOAD_BYTES)

typedef struct {
    uint8_t version;
    uint8_t kind;
    uint16_t flags;
    uint32_t seq;
    uint64_t capture_us;
} isc_frame_header;

/* Why a frame is not valid. The names (isc_frame_status_name) are the `error_reason` column of
 * test/vectors/vectors.tsv, shared with the Python bridge tests. */
typedef enum {
    ISC_FRAME_OK = 0,
    ISC_FRAME_SHORT_HEADER,      /* fewer than 16 bytes */
    ISC_FRAME_BAD_VERSION,       /* version != 1 */
    ISC_FRAME_BAD_KIND,          /* kind != 1 */
    ISC_FRAME_UNKNOWN_FLAGS,     /* a flag bit other than REPLAY is set */
    ISC_FRAME_EMPTY_PAYLOAD,     /* header only */
    ISC_FRAME_OVERSIZED_PAYLOAD, /* more than 3200 payload bytes */
    ISC_FRAME_ODD_PAYLOAD,       /* not a whole number of 16-bit samples */
    ISC_FRAME_NO_ROOM,           /* encoding only: the output buffer is too small */
} isc_frame_status;

const char *isc_frame_status_name(isc_frame_status status);

/* Checks a header and payload length against the protocol (version, kind, flags, size). */
isc_frame_status isc_frame_validate(const isc_frame_header *header, size_t payload_len);

/* Writes header + payload into out. Refuses anything isc_frame_decode would refuse. */
isc_frame_status isc_frame_encode(const isc_frame_header *header, const uint8_t *payload, size_t payload_len,
                                  uint8_t *out, size_t out_cap, size_t *out_len);

/* Parses one wire frame. On success the payload points into buf. When the 16 header bytes were
 * there but the frame is invalid, *header still holds what was read (for the error message). */
isc_frame_status isc_frame_decode(const uint8_t *buf, size_t len, isc_frame_header *header, const uint8_t **payload,
                                  size_t *payload_len);

/* Sets or clears the REPLAY flag of an already encoded frame (at least 16 bytes). */
void isc_frame_set_replay(uint8_t *frame, bool replay);

/* Serial-number order for sequence numbers that wrap at 2^32 (RFC 1982): true when a comes
 * after b by less than half the number space. */
bool isc_seq_after(uint32_t a, uint32_t b);

#ifdef __cplusplus
}
#endif

#endif /* INTRASCRIBE_FRAME_H */
