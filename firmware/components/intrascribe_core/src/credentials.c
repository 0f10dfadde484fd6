#include "intrascribe/credentials.h"

#include <string.h>

static bool is_token_char(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
           ch == '-';
}

bool isc_device_token_is_well_formed(const char *token)
{
    const size_t prefix_len = strlen(ISC_DEVICE_TOKEN_PREFIX);
    if (token == NULL || strncmp(token, ISC_DEVICE_TOKEN_PREFIX, prefix_len) != 0) {
        return false;
    }
    size_t len = strlen(token);
    if (len == prefix_len || len > ISC_DEVICE_TOKEN_MAX_LEN) {
        return false;
    }
    for (size_t i = prefix_len; i < len; i++) {
        if (!is_token_char(token[i])) {
            return false;
        }
    }
    return true;
}

bool isc_url_is_well_formed(const char *url, const char *const *schemes)
{
    if (url == NULL) {
        return false;
    }
    const char *host = NULL;
    for (; *schemes != NULL; schemes++) {
        size_t n = strlen(*schemes);
        if (strncmp(url, *schemes, n) == 0 && strncmp(url + n, "://", 3) == 0) {
            host = url + n + 3;
            break;
        }
    }
    if (host == NULL || *host == '\0' || *host == '/' || *host == ':') {
        return false;
    }
    for (const unsigned char *p = (const unsigned char *)url; *p != '\0'; p++) {
        if (*p <= 0x20 || *p == 0x7F) {
            return false;
        }
    }
    return true;
}
