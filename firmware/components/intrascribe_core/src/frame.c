#include "intrascribe/frame.h"

#include <string.h>

static void put_u16le(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void put_u64le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint16_t get_u16le(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_u32le(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

static uint64_t get_u64le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

const char *isc_frame_status_name(isc_frame_status status)
{
    switch (status) {
    case ISC_FRAME_OK:
        return "ok";
    case ISC_FRAME_SHORT_HEADER:
        return "short_header";
    case ISC_FRAME_BAD_VERSION:
        return "bad_version";
    case ISC_FRAME_BAD_KIND:
        return "bad_kind";
    case ISC_FRAME_UNKNOWN_FLAGS:
        return "unknown_flags";
    case ISC_FRAME_EMPTY_PAYLOAD:
        return "empty_payload";
    case ISC_FRAME_OVERSIZED_PAYLOAD:
        return "oversized_payload";
    case ISC_FRAME_ODD_PAYLOAD:
        return "odd_payload";
    case ISC_FRAME_NO_ROOM:
        return "no_room";
    }
    return "unknown";
}

isc_frame_status isc_frame_validate(const isc_frame_header *header, size_t payload_len)
{
    if (header->version != ISC_FRAME_VERSION) {
        return ISC_FRAME_BAD_VERSION;
    }
    if (header->kind != ISC_FRAME_KIND_PCM) {
        return ISC_FRAME_BAD_KIND;
    }
    if ((header->flags & (uint16_t)~ISC_FRAME_KNOWN_FLAGS) != 0) {
        return ISC_FRAME_UNKNOWN_FLAGS;
    }
    if (payload_len == 0) {
        return ISC_FRAME_EMPTY_PAYLOAD;
    }
    if (payload_len > ISC_FRAME_MAX_PAYLOAD_BYTES) {
        return ISC_FRAME_OVERSIZED_PAYLOAD;
    }
    if (payload_len % 2 != 0) {
        return ISC_FRAME_ODD_PAYLOAD;
    }
    return ISC_FRAME_OK;
}

isc_frame_status isc_frame_encode(const isc_frame_header *header, const uint8_t *payload, size_t payload_len,
                                  uint8_t *out, size_t out_cap, size_t *out_len)
{
    isc_frame_status status = isc_frame_validate(header, payload_len);
    if (status != ISC_FRAME_OK) {
        return status;
    }
    if (out_cap < ISC_FRAME_HEADER_BYTES + payload_len) {
        return ISC_FRAME_NO_ROOM;
    }
    out[0] = header->version;
    out[1] = header->kind;
    put_u16le(out + 2, header->flags);
    put_u32le(out + 4, header->seq);
    put_u64le(out + 8, header->capture_us);
    memmove(out + ISC_FRAME_HEADER_BYTES, payload, payload_len);
    *out_len = ISC_FRAME_HEADER_BYTES + payload_len;
    return ISC_FRAME_OK;
}

isc_frame_status isc_frame_decode(const uint8_t *buf, size_t len, isc_frame_header *header, const uint8_t **payload,
                                  size_t *payload_len)
{
    if (len < ISC_FRAME_HEADER_BYTES) {
        return ISC_FRAME_SHORT_HEADER;
    }
    isc_frame_header h = {
        .version = buf[0],
        .kind = buf[1],
        .flags = get_u16le(buf + 2),
        .seq = get_u32le(buf + 4),
        .capture_us = get_u64le(buf + 8),
    };
    size_t n = len - ISC_FRAME_HEADER_BYTES;
    *header = h; /* also on failure, so the caller can say what was wrong */
    isc_frame_status status = isc_frame_validate(&h, n);
    if (status != ISC_FRAME_OK) {
        return status;
    }
    *payload = buf + ISC_FRAME_HEADER_BYTES;
    *payload_len = n;
    return ISC_FRAME_OK;
}

void isc_frame_set_replay(uint8_t *frame, bool replay)
{
    uint16_t flags = get_u16le(frame + 2);
    flags = replay ? (uint16_t)(flags | ISC_FRAME_FLAG_REPLAY) : (uint16_t)(flags & ~ISC_FRAME_FLAG_REPLAY);
    put_u16le(frame + 2, flags);
}

bool isc_seq_after(uint32_t a, uint32_t b)
{
    uint32_t distance = a - b; /* unsigned: well defined modulo 2^32 */
    return distance != 0 && distance < 0x80000000u;
}
