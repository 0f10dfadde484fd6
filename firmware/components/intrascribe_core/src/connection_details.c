#include "intrascribe/connection_details.h"

#include <stdbool.h>
#include <string.h>

#include "intrascribe/json.h"

enum field { F_SERVER_URL, F_TOKEN, F_ROOM, F_PARTICIPANT, F_SESSION, F_COUNT };

static const char *const field_names[F_COUNT] = {
    "serverUrl", "participantToken", "roomName", "participantName", "sessionId",
};

typedef struct {
    bool present[F_COUNT];
    isc_json_value value[F_COUNT];
} collected;

static isc_details_status read_required(const collected *c, enum field f, char *out, size_t cap)
{
    if (!c->present[f] || c->value[f].type != ISC_JSON_STRING || c->value[f].text_len == 0) {
        return ISC_DETAILS_MISSING_FIELD;
    }
    return isc_json_string_decode(&c->value[f], out, cap) < cap ? ISC_DETAILS_OK : ISC_DETAILS_TOO_LONG;
}

static bool read_optional(const collected *c, enum field f, char *out, size_t cap)
{
    if (!c->present[f] || c->value[f].type == ISC_JSON_NULL) {
        return true;
    }
    if (c->value[f].type != ISC_JSON_STRING) {
        return false;
    }
    (void)isc_json_string_decode(&c->value[f], out, cap);
    return true;
}

const char *isc_details_status_name(isc_details_status status)
{
    switch (status) {
    case ISC_DETAILS_OK:
        return "ok";
    case ISC_DETAILS_BAD_JSON:
        return "bad_json";
    case ISC_DETAILS_MISSING_FIELD:
        return "missing_field";
    case ISC_DETAILS_TOO_LONG:
        return "too_long";
    case ISC_DETAILS_BAD_FIELD:
        return "bad_field";
    }
    return "unknown";
}

isc_details_status isc_connection_details_parse(const char *json, size_t len, isc_connection_details *details)
{
    collected c;
    memset(details, 0, sizeof(*details));
    if (isc_json_pick_members(json, len, field_names, F_COUNT, c.present, c.value) != ISC_JSON_OK) {
        return ISC_DETAILS_BAD_JSON;
    }
    isc_details_status status = read_required(&c, F_SERVER_URL, details->server_url, sizeof(details->server_url));
    if (status == ISC_DETAILS_OK) {
        status = read_required(&c, F_TOKEN, details->participant_token, sizeof(details->participant_token));
    }
    if (status == ISC_DETAILS_OK &&
        (!read_optional(&c, F_ROOM, details->room_name, sizeof(details->room_name)) ||
         !read_optional(&c, F_PARTICIPANT, details->participant_name, sizeof(details->participant_name)) ||
         !read_optional(&c, F_SESSION, details->session_id, sizeof(details->session_id)))) {
        status = ISC_DETAILS_BAD_FIELD;
    }
    if (status != ISC_DETAILS_OK) {
        memset(details, 0, sizeof(*details)); /* leave no partial token behind */
    }
    return status;
}
