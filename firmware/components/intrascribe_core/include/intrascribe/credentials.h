/*
 * Checks on provisioned settings before they are stored or used. The token goes into an HTTP
 * header, so anything outside its alphabet (a CR/LF above all) must never get through.
 */
#ifndef INTRASCRIBE_CREDENTIALS_H
#define INTRASCRIBE_CREDENTIALS_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ISC_DEVICE_TOKEN_PREFIX "isd_"
#define ISC_DEVICE_TOKEN_MAX_LEN 127u

/* "isd_" followed by 1..123 URL-safe base64 characters ([A-Za-z0-9_-]), as POST /api/v1/devices/
 * issues them. */
bool isc_device_token_is_well_formed(const char *token);

/* scheme://host..., with a non-empty host and no spaces or control characters. `schemes` is a
 * NULL-terminated list such as {"ws", "wss", NULL}. */
bool isc_url_is_well_formed(const char *url, const char *const *schemes);

#ifdef __cplusplus
}
#endif

#endif /* INTRASCRIBE_CREDENTIALS_H */
