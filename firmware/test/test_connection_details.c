#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intrascribe/connection_details.h"
#include "intrascribe/credentials.h"
#include "test_support.h"

static isc_connection_details details;

static isc_details_status parse(const char *json)
{
    return isc_connection_details_parse(json, strlen(json), &details);
}

static void test_parses_the_api_answer(void **state)
{
    (void)state;
    /* The shape api_service/routes/devices.py returns. */
    assert_int_equal(parse("{\"serverUrl\":\"wss://lk.example.com\",\"roomName\":\"intrascribe-abc\","
                           "\"participantName\":\"Room 4 mic\",\"participantToken\":\"eyJhbGciOi.J9.sig\","
                           "\"sessionId\":\"abc\"}"),
                     ISC_DETAILS_OK);
    assert_string_equal(details.server_url, "wss://lk.example.com");
    assert_string_equal(details.room_name, "intrascribe-abc");
    assert_string_equal(details.participant_name, "Room 4 mic");
    assert_string_equal(details.participant_token, "eyJhbGciOi.J9.sig");
    assert_string_equal(details.session_id, "abc");
}

static void test_optional_fields_may_be_missing_or_null(void **state)
{
    (void)state;
    assert_int_equal(parse("{\"participantToken\":\"t\",\"serverUrl\":\"ws://h:7880\",\"sessionId\":null,"
                           "\"unknown\":[1]}"),
                     ISC_DETAILS_OK);
    assert_string_equal(details.room_name, "");
    assert_string_equal(details.session_id, "");
}

static void test_required_fields(void **state)
{
    (void)state;
    assert_int_equal(parse("{\"participantToken\":\"t\"}"), ISC_DETAILS_MISSING_FIELD);
    assert_int_equal(parse("{\"serverUrl\":\"ws://h\"}"), ISC_DETAILS_MISSING_FIELD);
    assert_string_equal(details.server_url, ""); /* nothing partial left behind */
    assert_int_equal(parse("{\"serverUrl\":\"ws://h\",\"participantToken\":\"\"}"), ISC_DETAILS_MISSING_FIELD);
    assert_int_equal(parse("{\"serverUrl\":\"ws://h\",\"participantToken\":null}"), ISC_DETAILS_MISSING_FIELD);
    assert_int_equal(parse("{\"serverUrl\":7,\"participantToken\":\"t\"}"), ISC_DETAILS_MISSING_FIELD);
    assert_int_equal(parse("{\"serverUrl\":\"ws://h\",\"participantToken\":\"t\",\"roomName\":5}"),
                     ISC_DETAILS_BAD_FIELD);
    assert_string_equal(details.participant_token, "");
    assert_int_equal(parse("{\"detail\":\"unknown or revoked device token\"}"), ISC_DETAILS_MISSING_FIELD);
    assert_int_equal(parse("<html>502</html>"), ISC_DETAILS_BAD_JSON);
}

static void test_token_that_does_not_fit_is_refused(void **state)
{
    (void)state;
    size_t token_len = sizeof(details.participant_token); /* one too many for the NUL */
    char *json = malloc(token_len + 64);
    assert_non_null(json);
    int n = sprintf(json, "{\"serverUrl\":\"ws://h\",\"participantToken\":\"");
    memset(json + n, 'a', token_len);
    strcpy(json + n + token_len, "\"}");
    assert_int_equal(parse(json), ISC_DETAILS_TOO_LONG);
    assert_string_equal(details.participant_token, "");
    json[n + token_len - 1] = '"'; /* shorten by one: now it fits */
    strcpy(json + n + token_len, "}");
    assert_int_equal(parse(json), ISC_DETAILS_OK);
    assert_int_equal(strlen(details.participant_token), token_len - 1);
    free(json);
    const char *names[] = {"ok", "bad_json", "missing_field", "too_long", "bad_field"};
    for (int i = ISC_DETAILS_OK; i <= ISC_DETAILS_BAD_FIELD; i++) {
        assert_string_equal(isc_details_status_name((isc_details_status)i), names[i]);
    }
    assert_string_equal(isc_details_status_name((isc_details_status)77), "unknown");
}

static void test_device_token_format(void **state)
{
    (void)state;
    assert_true(isc_device_token_is_well_formed("isd_abc"));
    assert_true(isc_device_token_is_well_formed("isd_Zx-9_0aQ3vM2kP8rT1yW6uE4iO7sD5fG0hJ2kL9zX"));
    assert_false(isc_device_token_is_well_formed(NULL));
    assert_false(isc_device_token_is_well_formed(""));
    assert_false(isc_device_token_is_well_formed("isd_"));
    assert_false(isc_device_token_is_well_formed("abc"));
    assert_false(isc_device_token_is_well_formed("ISD_abc"));
    assert_false(isc_device_token_is_well_formed("isd_abc\r\nX-Evil: 1"));
    assert_false(isc_device_token_is_well_formed("isd_ab c"));
    assert_false(isc_device_token_is_well_formed("isd_ab+c/d="));
    char long_token[ISC_DEVICE_TOKEN_MAX_LEN + 2];
    memset(long_token, 'a', sizeof(long_token) - 1);
    memcpy(long_token, "isd_", 4);
    long_token[ISC_DEVICE_TOKEN_MAX_LEN] = '\0';
    assert_true(isc_device_token_is_well_formed(long_token));
    long_token[ISC_DEVICE_TOKEN_MAX_LEN] = 'a';
    long_token[ISC_DEVICE_TOKEN_MAX_LEN + 1] = '\0';
    assert_false(isc_device_token_is_well_formed(long_token));
}

static void test_url_format(void **state)
{
    (void)state;
    const char *const ws[] = {"ws", "wss", NULL};
    const char *const http[] = {"http", "https", NULL};
    assert_true(isc_url_is_well_formed("wss://mic.example.com/v1/device", ws));
    assert_true(isc_url_is_well_formed("ws://192.168.1.20:8004/v1/device", ws));
    assert_true(isc_url_is_well_formed("https://intrascribe.example.com", http));
    assert_false(isc_url_is_well_formed("https://intrascribe.example.com", ws));
    assert_false(isc_url_is_well_formed("wss://", ws));
    assert_false(isc_url_is_well_formed("wss:///v1/device", ws));
    assert_false(isc_url_is_well_formed("wss://:8004", ws));
    assert_false(isc_url_is_well_formed("wss:/host", ws));
    assert_false(isc_url_is_well_formed("wsx://host", ws));
    assert_false(isc_url_is_well_formed("wss://host/a b", ws));
    assert_false(isc_url_is_well_formed("wss://host/\r\n", ws));
    assert_false(isc_url_is_well_formed(NULL, ws));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parses_the_api_answer),
        cmocka_unit_test(test_optional_fields_may_be_missing_or_null),
        cmocka_unit_test(test_required_fields),
        cmocka_unit_test(test_token_that_does_not_fit_is_refused),
        cmocka_unit_test(test_device_token_format),
        cmocka_unit_test(test_url_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
