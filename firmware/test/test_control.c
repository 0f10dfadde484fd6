#include <stdio.h>
#include <string.h>

#include "intrascribe/control.h"
#include "test_support.h"

static isc_control_status parse(const char *json, isc_control_msg *msg)
{
    return isc_control_parse(json, strlen(json), msg);
}

static void test_build_hello_matches_the_spec_example(void **state)
{
    (void)state;
    char out[ISC_CONTROL_MAX_BYTES];
    isc_hello hello = {.firmware = "0.1.0",
                       .hardware = "esp32s3",
                       .sample_rate = 16000,
                       .channels = 1,
                       .frame_ms = 20,
                       .boot_id = 0x0a1b2c3du};
    const char *expected = "{\"type\":\"hello\",\"protocol\":1,\"firmware\":\"0.1.0\",\"hardware\":\"esp32s3\","
                           "\"boot_id\":\"0a1b2c3d\",\"audio\":{\"encoding\":\"pcm_s16le\",\"sample_rate\":16000,\"channels\":1,"
                           "\"frame_ms\":20}}";
    assert_int_equal(isc_control_build_hello(out, sizeof(out), &hello), strlen(expected));
    assert_string_equal(out, expected);
    assert_int_equal(isc_control_build_hello(out, strlen(expected), &hello), 0); /* no room for NUL */
    assert_int_equal(isc_control_build_hello(out, strlen(expected) + 1, &hello), strlen(expected));

    /* A firmware string with quotes stays valid JSON. */
    hello.firmware = "0.1.0-\"dirty\"";
    assert_true(isc_control_build_hello(out, sizeof(out), &hello) > 0);
    isc_control_msg msg;
    assert_int_equal(parse(out, &msg), ISC_CONTROL_OK);
    assert_int_equal(msg.type, ISC_MSG_UNKNOWN); /* the device does not receive hellos */
    assert_string_equal(msg.type_name, "hello");
}

static void test_build_heartbeat(void **state)
{
    (void)state;
    char out[ISC_CONTROL_MAX_BYTES];
    isc_heartbeat hb = {.uptime_ms = 123456, .has_rssi = true, .rssi = -58, .dropped_frames = 0, .buffered_ms = 0};
    assert_true(isc_control_build_heartbeat(out, sizeof(out), &hb) > 0);
    assert_string_equal(out, "{\"type\":\"heartbeat\",\"uptime_ms\":123456,\"rssi\":-58,\"dropped_frames\":0,"
                             "\"buffered_ms\":0}");
    hb = (isc_heartbeat){
        .uptime_ms = 5000000000ull, .has_rssi = false, .dropped_frames = UINT32_MAX, .buffered_ms = 5000};
    assert_true(isc_control_build_heartbeat(out, sizeof(out), &hb) > 0);
    assert_string_equal(out, "{\"type\":\"heartbeat\",\"uptime_ms\":5000000000,\"rssi\":null,"
                             "\"dropped_frames\":4294967295,\"buffered_ms\":5000}");
    assert_int_equal(isc_control_build_heartbeat(out, 10, &hb), 0);
}

static void test_build_bye(void **state)
{
    (void)state;
    char out[32];
    assert_int_equal(isc_control_build_bye(out, sizeof(out)), 14);
    assert_string_equal(out, "{\"type\":\"bye\"}");
    assert_int_equal(isc_control_build_bye(out, 14), 0);
}

static void test_parse_full_config(void **state)
{
    (void)state;
    isc_control_msg msg;
    assert_int_equal(parse("{\"type\":\"config\",\"protocol\":1,\"session_id\":\"3f2a\",\"room\":\"intrascribe-3f2a\","
                           "\"participant\":\"device-7\",\"heartbeat_s\":15,\"last_seq\":41}",
                           &msg),
                     ISC_CONTROL_OK);
    assert_int_equal(msg.type, ISC_MSG_CONFIG);
    assert_int_equal(msg.config.protocol, 1);
    assert_string_equal(msg.config.session_id, "3f2a");
    assert_string_equal(msg.config.room, "intrascribe-3f2a");
    assert_string_equal(msg.config.participant, "device-7");
    assert_int_equal(msg.config.heartbeat_s, 15);
    assert_true(msg.config.has_last_seq);
    assert_int_equal(msg.config.last_seq, 41);
}

static void test_parse_config_last_seq_forms(void **state)
{
    (void)state;
    isc_control_msg msg;
    assert_int_equal(parse("{\"type\":\"config\",\"last_seq\":null}", &msg), ISC_CONTROL_OK);
    assert_false(msg.config.has_last_seq);
    assert_int_equal(parse("{\"type\":\"config\"}", &msg), ISC_CONTROL_OK);
    assert_false(msg.config.has_last_seq);
    assert_int_equal(msg.config.heartbeat_s, ISC_DEFAULT_HEARTBEAT_S);
    assert_int_equal(msg.config.protocol, 0);
    assert_string_equal(msg.config.room, "");
    assert_int_equal(parse("{\"type\":\"config\",\"last_seq\":0}", &msg), ISC_CONTROL_OK);
    assert_true(msg.config.has_last_seq);
    assert_int_equal(msg.config.last_seq, 0);
    assert_int_equal(parse("{\"type\":\"config\",\"last_seq\":4294967295}", &msg), ISC_CONTROL_OK);
    assert_int_equal(msg.config.last_seq, UINT32_MAX);

    const char *bad[] = {
        "{\"type\":\"config\",\"last_seq\":-1}",         "{\"type\":\"config\",\"last_seq\":4294967296}",
        "{\"type\":\"config\",\"last_seq\":41.0}",       "{\"type\":\"config\",\"last_seq\":\"41\"}",
        "{\"type\":\"config\",\"last_seq\":true}",       "{\"type\":\"config\",\"last_seq\":[41]}",
        "{\"type\":\"config\",\"heartbeat_s\":0}",       "{\"type\":\"config\",\"heartbeat_s\":3601}",
        "{\"type\":\"config\",\"heartbeat_s\":-10}",     "{\"type\":\"config\",\"heartbeat_s\":\"10\"}",
        "{\"type\":\"config\",\"protocol\":\"1\"}",      "{\"type\":\"config\",\"protocol\":-1}",
        "{\"type\":\"config\",\"session_id\":42}",       "{\"type\":\"config\",\"room\":{}}",
        "{\"type\":\"config\",\"participant\":false}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse(bad[i], &msg), ISC_CONTROL_BAD_FIELD);
        assert_int_equal(msg.type, ISC_MSG_CONFIG);
    }
}

static void test_parse_config_tolerates_order_nulls_and_unknown_fields(void **state)
{
    (void)state;
    isc_control_msg msg;
    assert_int_equal(parse(" { \"last_seq\" : 7 , \"future\" : {\"nested\":[1,2,{\"x\":null}]}, \"heartbeat_s\":null,"
                           " \"session_id\":null, \"room\":\"r\\u00e9\\n\", \"extra\":1.5e10,"
                           " \"type\" : \"config\" } ",
                           &msg),
                     ISC_CONTROL_OK);
    assert_int_equal(msg.type, ISC_MSG_CONFIG);
    assert_int_equal(msg.config.last_seq, 7);
    assert_int_equal(msg.config.heartbeat_s, ISC_DEFAULT_HEARTBEAT_S);
    assert_string_equal(msg.config.session_id, "");
    assert_string_equal(msg.config.room, "r\xc3\xa9\n");

    /* duplicates: the last one wins */
    assert_int_equal(parse("{\"type\":\"heartbeat\",\"type\":\"config\",\"last_seq\":1,\"last_seq\":2}", &msg),
                     ISC_CONTROL_OK);
    assert_int_equal(msg.type, ISC_MSG_CONFIG);
    assert_int_equal(msg.config.last_seq, 2);
}

static void test_parse_config_cuts_long_strings(void **state)
{
    (void)state;
    char json[512];
    char room[300];
    memset(room, 'r', sizeof(room) - 1);
    room[sizeof(room) - 1] = '\0';
    snprintf(json, sizeof(json), "{\"type\":\"config\",\"room\":\"%s\"}", room);
    isc_control_msg msg;
    assert_int_equal(parse(json, &msg), ISC_CONTROL_OK);
    assert_int_equal(strlen(msg.config.room), sizeof(msg.config.room) - 1);
}

static void test_parse_heartbeat_and_error(void **state)
{
    (void)state;
    isc_control_msg msg;
    assert_int_equal(parse("{\"type\":\"heartbeat\",\"server_time_ms\":1732190000123}", &msg), ISC_CONTROL_OK);
    assert_int_equal(msg.type, ISC_MSG_HEARTBEAT);
    assert_true(msg.heartbeat.has_server_time);
    assert_true(msg.heartbeat.server_time_ms == 1732190000123ull);
    assert_int_equal(parse("{\"type\":\"heartbeat\"}", &msg), ISC_CONTROL_OK);
    assert_false(msg.heartbeat.has_server_time);
    assert_int_equal(parse("{\"type\":\"heartbeat\",\"server_time_ms\":-5}", &msg), ISC_CONTROL_BAD_FIELD);

    assert_int_equal(parse("{\"type\":\"error\",\"code\":\"bad_frame\",\"message\":\"odd payload: \\\"641\\\" "
                           "bytes\"}",
                           &msg),
                     ISC_CONTROL_OK);
    assert_int_equal(msg.type, ISC_MSG_ERROR);
    assert_string_equal(msg.error.code, "bad_frame");
    assert_string_equal(msg.error.message, "odd payload: \"641\" bytes");
    assert_int_equal(parse("{\"type\":\"error\"}", &msg), ISC_CONTROL_OK);
    assert_string_equal(msg.error.code, "");
    assert_int_equal(parse("{\"type\":\"error\",\"code\":4002}", &msg), ISC_CONTROL_BAD_FIELD);
}

static void test_parse_unknown_type_and_bad_messages(void **state)
{
    (void)state;
    isc_control_msg msg;
    assert_int_equal(parse("{\"type\":\"reboot\",\"after_s\":5}", &msg), ISC_CONTROL_OK);
    assert_int_equal(msg.type, ISC_MSG_UNKNOWN);
    assert_string_equal(msg.type_name, "reboot");
    assert_int_equal(parse("{\"type\":\"CONFIG\"}", &msg), ISC_CONTROL_OK); /* types are case-sensitive */
    assert_int_equal(msg.type, ISC_MSG_UNKNOWN);

    assert_int_equal(parse("{\"last_seq\":1}", &msg), ISC_CONTROL_NO_TYPE);
    assert_int_equal(parse("{\"type\":null}", &msg), ISC_CONTROL_NO_TYPE);
    assert_int_equal(parse("{\"type\":1}", &msg), ISC_CONTROL_NO_TYPE);
    assert_int_equal(parse("{\"type\":\"config\"", &msg), ISC_CONTROL_BAD_JSON);
    assert_int_equal(parse("[{\"type\":\"config\"}]", &msg), ISC_CONTROL_BAD_JSON);
    assert_int_equal(parse("", &msg), ISC_CONTROL_BAD_JSON);
    assert_int_equal(parse("not json", &msg), ISC_CONTROL_BAD_JSON);
}

static void test_status_names(void **state)
{
    (void)state;
    assert_string_equal(isc_control_status_name(ISC_CONTROL_OK), "ok");
    assert_string_equal(isc_control_status_name(ISC_CONTROL_BAD_JSON), "bad_json");
    assert_string_equal(isc_control_status_name(ISC_CONTROL_NO_TYPE), "no_type");
    assert_string_equal(isc_control_status_name(ISC_CONTROL_BAD_FIELD), "bad_field");
    assert_string_equal(isc_control_status_name((isc_control_status)42), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_hello_matches_the_spec_example),
        cmocka_unit_test(test_build_heartbeat),
        cmocka_unit_test(test_build_bye),
        cmocka_unit_test(test_parse_full_config),
        cmocka_unit_test(test_parse_config_last_seq_forms),
        cmocka_unit_test(test_parse_config_tolerates_order_nulls_and_unknown_fields),
        cmocka_unit_test(test_parse_config_cuts_long_strings),
        cmocka_unit_test(test_parse_heartbeat_and_error),
        cmocka_unit_test(test_parse_unknown_type_and_bad_messages),
        cmocka_unit_test(test_status_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
