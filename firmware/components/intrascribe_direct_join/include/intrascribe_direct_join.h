/*
 * Direct-join mode: an ESP32-S3/P4 running LiveKit's ESP32 SDK joins the meeting room itself
 * instead of streaming to the device bridge. It posts its device token to the API
 *   POST <api>/api/v1/devices/connection-details   (Authorization: Bearer isd_...)
 * and gets {serverUrl, roomName, participantName, participantToken, sessionId}; then
 *   livekit_room_connect(room, details.server_url, details.participant_token);
 * LiveKit tokens expire: fetch fresh details for every (re)connect.
 */
#pragma once

#include "intrascribe/connection_details.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    ISC_JOIN_OK,
    ISC_JOIN_UNAUTHORIZED, /* HTTP 401/403: token unknown, malformed or revoked: stop trying */
    ISC_JOIN_UNAVAILABLE,  /* network error or HTTP 5xx (503: LiveKit down): retry with backoff */
    ISC_JOIN_BAD_RESPONSE, /* any other status, or an answer that does not parse */
    ISC_JOIN_BAD_SETTINGS, /* the API URL or the token is malformed: nothing was sent */
} isc_join_result;

const char *isc_join_result_name(isc_join_result result);

/* Blocking HTTPS call (10 s timeout); certificates are checked against the ESP-IDF CA bundle.
 * `details` is large (about 2.6 KB): keep it off small task stacks. */
isc_join_result isc_direct_join_fetch(const char *api_base_url, const char *device_token,
                                      isc_connection_details *details);

#ifdef __cplusplus
}
#endif
