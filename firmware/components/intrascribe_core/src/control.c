#include "intrascribe/control.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "intrascribe/json.h"

size_t isc_control_build_hello(char *out, size_t cap, const isc_hello *hello)
{
    char boot_id[9];
    (void)snprintf(boot_id, sizeof boot_id, "%08" PRIx32, hello->boot_id);
    isc_json_writer w;
    isc_json_writer_init(&w, out, cap);
    isc_json_object_begin(&w);
    isc_json_member_string(&w, "type", "hello");
    isc_json_member_u64(&w, "protocol", ISC_PROTOCOL_VERSION);
    isc_json_member_string(&w, "firmware", hello->firmware);
    isc_json_member_string(&w, "hardware", hello->hardware);
    isc_json_member_string(&w, "boot_id", boot_id);
    isc_json_member_object_begin(&w, "audio");
    isc_json_member_string(&w, "encoding", "pcm_s16le");
    isc_json_member_u64(&w, "sample_rate", hello->sample_rate);
    isc_json_member_u64(&w, "channels", hello->channels);
    isc_json_member_u64(&w, "frame_ms", hello->frame_ms);
    isc_json_object_end(&w);
    isc_json_object_end(&w);
    return isc_json_writer_finish(&w);
}

size_t isc_control_build_heartbeat(char *out, size_t cap, const isc_heartbeat *heartbeat)
{
    isc_json_writer w;
    isc_json_writer_init(&w, out, cap);
    isc_json_object_begin(&w);
    isc_json_member_string(&w, "type", "heartbeat");
    isc_json_member_u64(&w, "uptime_ms", heartbeat->uptime_ms);
    if (heartbeat->has_rssi) {
        isc_json_member_i64(&w, "rssi", heartbeat->rssi);
    } else {
        isc_json_member_null(&w, "rssi");
    }
    isc_json_member_u64(&w, "dropped_frames", heartbeat->dropped_frames);
    isc_json_member_u64(&w, "buffered_ms", heartbeat->buffered_ms);
    isc_json_object_end(&w);
    return isc_json_writer_finish(&w);
}

size_t isc_control_build_bye(char *out, size_t cap)
{
    isc_json_writer w;
    isc_json_writer_init(&w, out, cap);
    isc_json_object_begin(&w);
    isc_json_member_string(&w, "type", "bye");
    isc_json_object_end(&w);
    return isc_json_writer_finish(&w);
}

const char *isc_control_status_name(isc_control_status status)
{
    switch (status) {
    case ISC_CONTROL_OK:
        return "ok";
    case ISC_CONTROL_BAD_JSON:
        return "bad_json";
    case ISC_CONTROL_NO_TYPE:
        return "no_type";
    case ISC_CONTROL_BAD_FIELD:
        return "bad_field";
    }
    return "unknown";
}

/* Members of interest, collected first because JSON members come in any order and "type" decides
 * how the others are read. A later duplicate key replaces an earlier one. */
enum field {
    F_TYPE,
    F_PROTOCOL,
    F_SESSION_ID,
    F_ROOM,
    F_PARTICIPANT,
    F_HEARTBEAT_S,
    F_LAST_SEQ,
    F_SERVER_TIME_MS,
    F_CODE,
    F_MESSAGE,
    F_COUNT
};

static const char *const field_names[F_COUNT] = {
    "type", "protocol", "session_id", "room", "participant", "heartbeat_s", "last_seq", "server_time_ms", "code",
    "message",
};

typedef struct {
    bool present[F_COUNT];
    isc_json_value value[F_COUNT];
} collected;

static bool is_absent(const collected *c, enum field f)
{
    return !c->present[f] || c->value[f].type == ISC_JSON_NULL;
}

/* Absent or null leaves `out` as it is. */
static bool read_string(const collected *c, enum field f, char *out, size_t cap)
{
    if (is_absent(c, f)) {
        return true;
    }
    if (c->value[f].type != ISC_JSON_STRING) {
        return false;
    }
    (void)isc_json_string_decode(&c->value[f], out, cap);
    return true;
}

static bool read_uint(const collected *c, enum field f, uint64_t min, uint64_t max, bool *present, uint64_t *out)
{
    *present = false;
    if (is_absent(c, f)) {
        return true;
    }
    const isc_json_value *v = &c->value[f];
    if (v->type != ISC_JSON_NUMBER || !v->is_integer || v->integer < 0 || (uint64_t)v->integer < min ||
        (uint64_t)v->integer > max) {
        return false;
    }
    *present = true;
    *out = (uint64_t)v->integer;
    return true;
}

static isc_control_status read_config(const collected *c, isc_config_msg *config)
{
    bool present;
    uint64_t n;
    if (!read_uint(c, F_PROTOCOL, 0, UINT32_MAX, &present, &n)) {
        return ISC_CONTROL_BAD_FIELD;
    }
    config->protocol = present ? (uint32_t)n : 0;
    if (!read_uint(c, F_HEARTBEAT_S, 1, ISC_MAX_HEARTBEAT_S, &present, &n)) {
        return ISC_CONTROL_BAD_FIELD;
    }
    config->heartbeat_s = present ? (uint32_t)n : ISC_DEFAULT_HEARTBEAT_S;
    if (!read_uint(c, F_LAST_SEQ, 0, UINT32_MAX, &config->has_last_seq, &n)) {
        return ISC_CONTROL_BAD_FIELD;
    }
    config->last_seq = config->has_last_seq ? (uint32_t)n : 0;
    if (!read_string(c, F_SESSION_ID, config->session_id, sizeof(config->session_id)) ||
        !read_string(c, F_ROOM, config->room, sizeof(config->room)) ||
        !read_string(c, F_PARTICIPANT, config->participant, sizeof(config->participant))) {
        return ISC_CONTROL_BAD_FIELD;
    }
    return ISC_CONTROL_OK;
}

isc_control_status isc_control_parse(const char *json, size_t len, isc_control_msg *msg)
{
    collected c;
    memset(msg, 0, sizeof(*msg));
    msg->type = ISC_MSG_UNKNOWN;

    if (isc_json_pick_members(json, len, field_names, F_COUNT, c.present, c.value) != ISC_JSON_OK) {
        return ISC_CONTROL_BAD_JSON;
    }
    if (!c.present[F_TYPE] || c.value[F_TYPE].type != ISC_JSON_STRING) {
        return ISC_CONTROL_NO_TYPE;
    }
    (void)isc_json_string_decode(&c.value[F_TYPE], msg->type_name, sizeof(msg->type_name));

    if (strcmp(msg->type_name, "config") == 0) {
        msg->type = ISC_MSG_CONFIG;
        return read_config(&c, &msg->config);
    }
    if (strcmp(msg->type_name, "heartbeat") == 0) {
        uint64_t n;
        msg->type = ISC_MSG_HEARTBEAT;
        if (!read_uint(&c, F_SERVER_TIME_MS, 0, INT64_MAX, &msg->heartbeat.has_server_time, &n)) {
            return ISC_CONTROL_BAD_FIELD;
        }
        msg->heartbeat.server_time_ms = msg->heartbeat.has_server_time ? n : 0;
        return ISC_CONTROL_OK;
    }
    if (strcmp(msg->type_name, "error") == 0) {
        msg->type = ISC_MSG_ERROR;
        if (!read_string(&c, F_CODE, msg->error.code, sizeof(msg->error.code)) ||
            !read_string(&c, F_MESSAGE, msg->error.message, sizeof(msg->error.message))) {
            return ISC_CONTROL_BAD_FIELD;
        }
        return ISC_CONTROL_OK;
    }
    return ISC_CONTROL_OK; /* ISC_MSG_UNKNOWN */
}
