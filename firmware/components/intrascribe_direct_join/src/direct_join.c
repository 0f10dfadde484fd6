#include "intrascribe_direct_join.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esp_crt_bundle.h"
#include "esp_http_client.h"
#include "esp_log.h"
#include "intrascribe/credentials.h"

static const char *TAG = "direct_join";

#define MAX_RESPONSE 4096 /* the answer is ~1 KB, most of it the LiveKit JWT */

const char *isc_join_result_name(isc_join_result result)
{
    switch (result) {
    case ISC_JOIN_OK:
        return "ok";
    case ISC_JOIN_UNAUTHORIZED:
        return "unauthorized";
    case ISC_JOIN_UNAVAILABLE:
        return "unavailable";
    case ISC_JOIN_BAD_RESPONSE:
        return "bad_response";
    case ISC_JOIN_BAD_SETTINGS:
        return "bad_settings";
    }
    return "unknown";
}

/* Reads the whole body into buf; -1 if it does not fit or the read fails. */
static int read_body(esp_http_client_handle_t client, char *buf, int cap)
{
    int total = 0;
    for (;;) {
        int n = esp_http_client_read(client, buf + total, cap - total);
        if (n < 0) {
            return -1;
        }
        if (n == 0) {
            return total;
        }
        total += n;
        if (total == cap) {
            return -1;
        }
    }
}

isc_join_result isc_direct_join_fetch(const char *api_base_url, const char *device_token,
                                      isc_connection_details *details)
{
    static const char *const http_schemes[] = {"http", "https", NULL};
    if (!isc_url_is_well_formed(api_base_url, http_schemes) || !isc_device_token_is_well_formed(device_token)) {
        return ISC_JOIN_BAD_SETTINGS;
    }
    char url[320];
    size_t base_len = strlen(api_base_url);
    while (base_len > 0 && api_base_url[base_len - 1] == '/') {
        base_len--;
    }
    snprintf(url, sizeof(url), "%.*s%s", (int)base_len, api_base_url, ISC_CONNECTION_DETAILS_PATH);
    char auth[sizeof("Bearer ") + ISC_DEVICE_TOKEN_MAX_LEN];
    snprintf(auth, sizeof(auth), "Bearer %s", device_token);

    esp_http_client_config_t config = {
        .url = url,
        .method = HTTP_METHOD_POST,
        .crt_bundle_attach = esp_crt_bundle_attach,
        .timeout_ms = 10000,
    };
    esp_http_client_handle_t client = esp_http_client_init(&config);
    char *body = malloc(MAX_RESPONSE);
    if (client == NULL || body == NULL) {
        free(body);
        if (client != NULL) {
            esp_http_client_cleanup(client);
        }
        return ISC_JOIN_UNAVAILABLE;
    }
    esp_http_client_set_header(client, "Authorization", auth);
    esp_http_client_set_header(client, "Accept", "application/json");

    isc_join_result result = ISC_JOIN_UNAVAILABLE;
    esp_err_t err = esp_http_client_open(client, 0); /* POST without a body */
    if (err != ESP_OK) {
        ESP_LOGW(TAG, "%s: %s", url, esp_err_to_name(err));
    } else if (esp_http_client_fetch_headers(client) < 0) {
        ESP_LOGW(TAG, "%s: no response", url);
    } else {
        int status = esp_http_client_get_status_code(client);
        int len = read_body(client, body, MAX_RESPONSE);
        if (status == 401 || status == 403) {
            result = ISC_JOIN_UNAUTHORIZED;
        } else if (status >= 500) {
            result = ISC_JOIN_UNAVAILABLE;
        } else if (status != 200 || len < 0) {
            result = ISC_JOIN_BAD_RESPONSE;
        } else {
            isc_details_status parsed = isc_connection_details_parse(body, (size_t)len, details);
            result = parsed == ISC_DETAILS_OK ? ISC_JOIN_OK : ISC_JOIN_BAD_RESPONSE;
            if (parsed != ISC_DETAILS_OK) {
                ESP_LOGW(TAG, "unusable answer: %s", isc_details_status_name(parsed));
            }
        }
        if (result != ISC_JOIN_OK) {
            ESP_LOGW(TAG, "%s: HTTP %d (%s)", url, status, isc_join_result_name(result));
        }
    }
    esp_http_client_close(client);
    esp_http_client_cleanup(client);
    free(body);
    return result;
}
