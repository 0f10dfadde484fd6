/*
 * JSON control messages, docs/device-protocol.md.
 *
 * Device -> bridge: hello (first message), heartbeat (every heartbeat_s), bye (before a deliberate
 * stop). Bridge -> device: config (answer to hello), heartbeat (answer to ours), error (before a
 * close). Unknown message types and unknown fields are accepted and ignored, so the bridge can
 * add to the protocol without breaking deployed devices.
 */
#ifndef INTRASCRIBE_CONTROL_H
#define INTRASCRIBE_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ISC_PROTOCOL_VERSION 1u
#define ISC_DEFAULT_HEARTBEAT_S 10u
#define ISC_MAX_HEARTBEAT_S 3600u
#define ISC_CONTROL_MAX_BYTES 512u /* enough for any message the device builds */

typedef struct {
    const char *firmware; /* e.g. "0.1.0" */
    const char *hardware; /* e.g. "esp32s3" */
    uint32_t sample_rate; /* the bridge accepts only 16000 */
    uint32_t channels;    /* ... and 1 */
    uint32_t frame_ms;
    /* Random per boot, sent as 8 hex digits: sequence numbers restart at 0 after a reboot, and a
     * new boot_id tells the bridge to forget the old ones instead of dropping the new frames. */
    uint32_t boot_id;
} isc_hello;

typedef struct {
    uint64_t uptime_ms;
    bool has_rssi; /* false: sent as null */
    int32_t rssi;  /* dBm */
    uint32_t dropped_frames;
    uint32_t buffered_ms;
} isc_heartbeat;

/* Each returns the message length, or 0 if it did not fit in cap (including the NUL). */
size_t isc_control_build_hello(char *out, size_t cap, const isc_hello *hello);
size_t isc_control_build_heartbeat(char *out, size_t cap, const isc_heartbeat *heartbeat);
size_t isc_control_build_bye(char *out, size_t cap);

typedef enum {
    ISC_MSG_CONFIG,
    ISC_MSG_HEARTBEAT,
    ISC_MSG_ERROR,
    ISC_MSG_UNKNOWN, /* a type this firmware does not know: ignore it */
} isc_msg_type;

/* Strings are informational (logged) and cut to fit their buffers. */
typedef struct {
    uint32_t protocol; /* 0 when absent */
    char session_id[64];
    char room[128];
    char participant[96];
    uint32_t heartbeat_s; /* ISC_DEFAULT_HEARTBEAT_S when absent or null */
    bool has_last_seq;    /* false when last_seq is null or absent: the bridge has no frame yet */
    uint32_t last_seq;
} isc_config_msg;

typedef struct {
    bool has_server_time;
    uint64_t server_time_ms;
} isc_server_heartbeat_msg;

typedef struct {
    char code[32];
    char message[160];
} isc_error_msg;

typedef struct {
    isc_msg_type type;
    char type_name[24]; /* the received type, for logging unknown ones */
    isc_config_msg config;
    isc_server_heartbeat_msg heartbeat;
    isc_error_msg error;
} isc_control_msg;

typedef enum {
    ISC_CONTROL_OK,
    ISC_CONTROL_BAD_JSON,  /* not a well-formed JSON object */
    ISC_CONTROL_NO_TYPE,   /* "type" missing or not a string */
    ISC_CONTROL_BAD_FIELD, /* a known field has the wrong JSON type or is out of range */
} isc_control_status;

const char *isc_control_status_name(isc_control_status status);

/* Parses one text message from the bridge. Only the part of *msg for msg->type is meaningful. */
isc_control_status isc_control_parse(const char *json, size_t len, isc_control_msg *msg);

#ifdef __cplusplus
}
#endif

#endif /* INTRASCRIBE_CONTROL_H */
