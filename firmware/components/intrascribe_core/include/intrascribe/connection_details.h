/*
 * Direct-join mode (ESP32-S3/P4 with LiveKit's ESP32 SDK): the device posts its token to
 * POST /api/v1/devices/connection-details and joins the room itself with the answer
 * {serverUrl, roomName, participantName, participantToken, sessionId}.
 */
#ifndef INTRASCRIBE_CONNECTION_DETAILS_H
#define INTRASCRIBE_CONNECTION_DETAILS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ISC_CONNECTION_DETAILS_PATH "/api/v1/devices/connection-details"

typedef struct {
    char server_url[256];         /* required, must fit */
    char participant_token[2048]; /* required, must fit: a cut JWT is useless */
    char room_name[128];          /* informational from here on: cut to fit */
    char participant_name[128];
    char session_id[64];
} isc_connection_details;

typedef enum {
    ISC_DETAILS_OK,
    ISC_DETAILS_BAD_JSON,
    ISC_DETAILS_MISSING_FIELD, /* serverUrl or participantToken absent, empty or not a string */
    ISC_DETAILS_TOO_LONG,      /* serverUrl or participantToken does not fit */
    ISC_DETAILS_BAD_FIELD,     /* an informational field is not a string */
} isc_details_status;

const char *isc_details_status_name(isc_details_status status);

isc_details_status isc_connection_details_parse(const char *json, size_t len, isc_connection_details *details);

#ifdef __cplusplus
}
#endif

#endif /* INTRASCRIBE_CONNECTION_DETAILS_H */
