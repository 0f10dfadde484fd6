#include <string.h>

#include "intrascribe/connection.h"
#include "test_support.h"

static isc_conn conn;

static const char *const config_json =
    "{\"type\":\"config\",\"protocol\":1,\"session_id\":\"s1\",\"room\":\"intrascribe-s1\","
    "\"participant\":\"device-1\",\"heartbeat_s\":10,\"last_seq\":41}";

static int setup(void **state)
{
    (void)state;
    fake_hal_reset();
    isc_conn_options options;
    isc_conn_default_options(&options);
    isc_conn_init(&conn, &options);
    return 0;
}

static isc_conn_action text(const char *json)
{
    return isc_conn_on_text(&conn, json, strlen(json));
}

/* From a fresh machine to STREAMING at the current fake time. */
static void reach_streaming(void)
{
    isc_conn_set_network_up(&conn, true);
    isc_conn_start(&conn);
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_OPEN);
    assert_int_equal(isc_conn_on_open(&conn), ISC_ACT_SEND_HELLO);
    assert_int_equal(text(config_json), ISC_ACT_START_STREAM);
    assert_int_equal(conn.state, ISC_CONN_STREAMING);
}

static void test_happy_path(void **state)
{
    (void)state;
    assert_int_equal(conn.state, ISC_CONN_IDLE);
    assert_int_equal(isc_conn_led_status(&conn), ISC_LED_OFF);
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_NONE);

    isc_conn_start(&conn);
    assert_int_equal(conn.state, ISC_CONN_WAITING);
    assert_int_equal(isc_conn_led_status(&conn), ISC_LED_CONNECTING);
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_NONE); /* no network yet */
    assert_true(isc_conn_next_deadline_ms(&conn) == UINT64_MAX);

    isc_conn_set_network_up(&conn, true);
    assert_true(isc_conn_next_deadline_ms(&conn) == 0);
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_OPEN); /* first attempt: no delay */
    assert_int_equal(conn.state, ISC_CONN_CONNECTING);
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_NONE);

    fake_hal_advance_ms(300);
    assert_int_equal(isc_conn_on_open(&conn), ISC_ACT_SEND_HELLO);
    assert_int_equal(conn.state, ISC_CONN_AWAITING_CONFIG);
    assert_int_equal(conn.connects, 1);

    assert_int_equal(text(config_json), ISC_ACT_START_STREAM);
    assert_int_equal(conn.state, ISC_CONN_STREAMING);
    assert_int_equal(isc_conn_led_status(&conn), ISC_LED_STREAMING);
    assert_true(conn.config.has_last_seq);
    assert_int_equal(conn.config.last_seq, 41);
    assert_string_equal(conn.config.room, "intrascribe-s1");
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_NONE);
}

static void test_heartbeats_follow_config(void **state)
{
    (void)state;
    fake_hal_set_time_ms(1000);
    reach_streaming();
    assert_true(isc_conn_next_deadline_ms(&conn) == 11000);
    fake_hal_set_time_ms(10999);
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_NONE);
    fake_hal_set_time_ms(11000);
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_SEND_HEARTBEAT);
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_NONE);
    assert_true(isc_conn_next_deadline_ms(&conn) == 21000);
    assert_int_equal(text("{\"type\":\"heartbeat\",\"server_time_ms\":1}"), ISC_ACT_NONE);

    /* The loop was late: one heartbeat, then the schedule restarts from now (no burst). */
    fake_hal_set_time_ms(29000);
    assert_int_equal(text("{\"type\":\"heartbeat\"}"), ISC_ACT_NONE);
    fake_hal_set_time_ms(35000);
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_SEND_HEARTBEAT);
    assert_true(conn.next_heartbeat_ms == 45000);
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_NONE);
}

static void test_heartbeat_period_comes_from_config(void **state)
{
    (void)state;
    isc_conn_set_network_up(&conn, true);
    isc_conn_start(&conn);
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_OPEN);
    assert_int_equal(isc_conn_on_open(&conn), ISC_ACT_SEND_HELLO);
    assert_int_equal(text("{\"type\":\"config\",\"heartbeat_s\":2,\"last_seq\":null}"), ISC_ACT_START_STREAM);
    assert_false(conn.config.has_last_seq);
    fake_hal_set_time_ms(2000);
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_SEND_HEARTBEAT);
    /* silent bridge: 3 x 2 s */
    fake_hal_set_time_ms(6000);
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_CLOSE);
    assert_int_equal(conn.state, ISC_CONN_WAITING);
}

static void test_silent_bridge_is_dropped(void **state)
{
    (void)state;
    fake_hal_set_random(UINT32_MAX); /* always the longest delay */
    reach_streaming();
    fake_hal_set_time_ms(20000);
    assert_int_equal(text("{\"type\":\"heartbeat\"}"), ISC_ACT_NONE);
    fake_hal_set_time_ms(49999);
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_SEND_HEARTBEAT);
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_NONE);
    fake_hal_set_time_ms(50000);
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_CLOSE);
    assert_int_equal(conn.state, ISC_CONN_WAITING);
    /* it was up 50 s, so the backoff started over */
    assert_int_equal(conn.last_delay_ms, 500);
    /* late events from the dropped socket change nothing */
    isc_conn_on_closed(&conn, ISC_CLOSE_UNAUTHORIZED);
    assert_int_equal(conn.state, ISC_CONN_WAITING);
    assert_int_equal(text(config_json), ISC_ACT_NONE);
    assert_int_equal(isc_conn_on_open(&conn), ISC_ACT_NONE);
}

static void test_close_code_table(void **state)
{
    (void)state;
    struct {
        int code;
        isc_stop_reason stop;
        isc_led_status led;
    } cases[] = {
        {1000, ISC_STOP_NORMAL, ISC_LED_ERROR},
        {1001, ISC_STOP_NONE, ISC_LED_CONNECTING},
        {1006, ISC_STOP_NONE, ISC_LED_CONNECTING},
        {1011, ISC_STOP_NONE, ISC_LED_CONNECTING},
        {1013, ISC_STOP_NONE, ISC_LED_CONNECTING},
        {4001, ISC_STOP_UNAUTHORIZED, ISC_LED_UNAUTHORIZED},
        {4002, ISC_STOP_NONE, ISC_LED_CONNECTING},
        {4003, ISC_STOP_UNSUPPORTED, ISC_LED_ERROR},
        {4008, ISC_STOP_NONE, ISC_LED_CONNECTING},
        {4009, ISC_STOP_REPLACED, ISC_LED_ERROR},
        {4999, ISC_STOP_NONE, ISC_LED_CONNECTING},
        {0, ISC_STOP_NONE, ISC_LED_CONNECTING},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(isc_close_code_stop_reason(cases[i].code), cases[i].stop);
        setup(NULL);
        reach_streaming();
        isc_conn_on_closed(&conn, cases[i].code);
        assert_int_equal(conn.last_close_code, cases[i].code);
        assert_int_equal(conn.state, cases[i].stop == ISC_STOP_NONE ? ISC_CONN_WAITING : ISC_CONN_STOPPED);
        assert_int_equal(conn.stop_reason, cases[i].stop);
        assert_int_equal(isc_conn_led_status(&conn), cases[i].led);
        if (cases[i].stop != ISC_STOP_NONE) {
            fake_hal_advance_ms(3600000);
            assert_int_equal(isc_conn_poll(&conn), ISC_ACT_NONE); /* stays stopped */
            assert_true(isc_conn_next_deadline_ms(&conn) == UINT64_MAX);
        }
    }
}

static void test_close_during_handshake_and_before_config(void **state)
{
    (void)state;
    isc_conn_set_network_up(&conn, true);
    isc_conn_start(&conn);
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_OPEN);
    isc_conn_on_closed(&conn, isc_close_code_for_http_status(401)); /* upgrade refused */
    assert_int_equal(conn.state, ISC_CONN_STOPPED);
    assert_int_equal(conn.stop_reason, ISC_STOP_UNAUTHORIZED);

    setup(NULL);
    isc_conn_set_network_up(&conn, true);
    isc_conn_start(&conn);
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_OPEN);
    assert_int_equal(isc_conn_on_open(&conn), ISC_ACT_SEND_HELLO);
    isc_conn_on_closed(&conn, ISC_CLOSE_UNSUPPORTED_AUDIO);
    assert_int_equal(conn.stop_reason, ISC_STOP_UNSUPPORTED);
}

static void test_http_status_mapping(void **state)
{
    (void)state;
    assert_int_equal(isc_close_code_for_http_status(401), ISC_CLOSE_UNAUTHORIZED);
    assert_int_equal(isc_close_code_for_http_status(403), ISC_CLOSE_UNAUTHORIZED);
    assert_int_equal(isc_close_code_for_http_status(404), ISC_CLOSE_ABNORMAL);
    assert_int_equal(isc_close_code_for_http_status(502), ISC_CLOSE_ABNORMAL);
    assert_int_equal(isc_close_code_for_http_status(0), ISC_CLOSE_ABNORMAL);
}

static void test_backoff_grows_until_a_connection_lasts(void **state)
{
    (void)state;
    fake_hal_set_random(UINT32_MAX);
    isc_conn_set_network_up(&conn, true);
    isc_conn_start(&conn);
    const uint32_t expected[] = {500, 1000, 2000, 4000, 8000, 16000, 30000, 30000};
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        assert_int_equal(isc_conn_poll(&conn), ISC_ACT_OPEN);
        isc_conn_on_closed(&conn, ISC_CLOSE_ABNORMAL); /* connect failed */
        assert_int_equal(conn.last_delay_ms, expected[i]);
        assert_true(isc_conn_next_deadline_ms(&conn) == isc_hal_uptime_ms() + expected[i]);
        fake_hal_advance_ms(expected[i] - 1);
        assert_int_equal(isc_conn_poll(&conn), ISC_ACT_NONE);
        fake_hal_advance_ms(1);
    }

    /* Up for 9.999 s: not long enough to forget the failures. */
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_OPEN);
    assert_int_equal(isc_conn_on_open(&conn), ISC_ACT_SEND_HELLO);
    assert_int_equal(text(config_json), ISC_ACT_START_STREAM);
    fake_hal_advance_ms(9999);
    isc_conn_on_closed(&conn, ISC_CLOSE_GOING_AWAY);
    assert_int_equal(conn.last_delay_ms, 30000);

    /* Up for 10 s: the next delay starts again from the base. */
    fake_hal_advance_ms(30000);
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_OPEN);
    assert_int_equal(isc_conn_on_open(&conn), ISC_ACT_SEND_HELLO);
    fake_hal_advance_ms(10000);
    assert_int_equal(text(config_json), ISC_ACT_START_STREAM);
    isc_conn_on_closed(&conn, ISC_CLOSE_TRY_AGAIN_LATER);
    assert_int_equal(conn.last_delay_ms, 500);
}

static void test_jitter_uses_the_hal_random(void **state)
{
    (void)state;
    fake_hal_set_random(0);
    reach_streaming();
    isc_conn_on_closed(&conn, ISC_CLOSE_GOING_AWAY);
    assert_int_equal(conn.last_delay_ms, 0);
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_OPEN); /* immediately */
}

static void test_no_reconnect_while_network_is_down(void **state)
{
    (void)state;
    reach_streaming();
    isc_conn_set_network_up(&conn, false);
    isc_conn_on_closed(&conn, ISC_CLOSE_ABNORMAL);
    fake_hal_advance_ms(60000);
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_NONE);
    assert_true(isc_conn_next_deadline_ms(&conn) == UINT64_MAX);
    isc_conn_set_network_up(&conn, true);
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_OPEN);
}

static void test_timeouts_while_connecting(void **state)
{
    (void)state;
    fake_hal_set_time_ms(100);
    isc_conn_set_network_up(&conn, true);
    isc_conn_start(&conn);
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_OPEN);
    assert_true(isc_conn_next_deadline_ms(&conn) == 100 + conn.options.connect_timeout_ms);
    fake_hal_advance_ms(conn.options.connect_timeout_ms - 1);
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_NONE);
    fake_hal_advance_ms(1);
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_CLOSE);
    assert_int_equal(conn.state, ISC_CONN_WAITING);

    fake_hal_advance_ms(60000);
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_OPEN);
    assert_int_equal(isc_conn_on_open(&conn), ISC_ACT_SEND_HELLO);
    uint64_t opened = isc_hal_uptime_ms();
    assert_true(isc_conn_next_deadline_ms(&conn) == opened + conn.options.config_timeout_ms);
    fake_hal_advance_ms(conn.options.config_timeout_ms - 1);
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_NONE); /* still waiting for config */
    fake_hal_set_time_ms(opened);
    assert_int_equal(text("{\"type\":\"heartbeat\"}"), ISC_ACT_NONE); /* not a config */
    fake_hal_advance_ms(conn.options.config_timeout_ms);
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_CLOSE);
    assert_int_equal(conn.state, ISC_CONN_WAITING);
}

static void test_odd_messages_are_ignored(void **state)
{
    (void)state;
    isc_conn_set_network_up(&conn, true);
    isc_conn_start(&conn);
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_OPEN);
    assert_int_equal(text(config_json), ISC_ACT_NONE); /* before the socket is open */
    assert_int_equal(isc_conn_on_open(&conn), ISC_ACT_SEND_HELLO);
    unsigned warnings = fake_hal_log_count(ISC_LOG_WARN);
    assert_int_equal(text("{not json"), ISC_ACT_NONE);
    assert_int_equal(text("{\"type\":\"config\",\"last_seq\":-4}"), ISC_ACT_NONE);
    assert_int_equal(fake_hal_log_count(ISC_LOG_WARN), warnings + 2);
    assert_int_equal(text("{\"type\":\"future_thing\"}"), ISC_ACT_NONE);
    assert_int_equal(conn.state, ISC_CONN_AWAITING_CONFIG);

    assert_int_equal(text(config_json), ISC_ACT_START_STREAM);
    assert_int_equal(text("{\"type\":\"config\",\"last_seq\":99}"), ISC_ACT_NONE); /* a second one */
    assert_int_equal(conn.config.last_seq, 41);
    assert_int_equal(text("{\"type\":\"error\",\"code\":\"bad_frame\",\"message\":\"odd payload\"}"), ISC_ACT_NONE);
    assert_int_equal(conn.state, ISC_CONN_STREAMING); /* the close decides, not the error */
    assert_non_null(strstr(fake_hal_last_log(), "bad_frame"));
}

static void test_config_for_another_protocol_version(void **state)
{
    (void)state;
    isc_conn_set_network_up(&conn, true);
    isc_conn_start(&conn);
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_OPEN);
    assert_int_equal(isc_conn_on_open(&conn), ISC_ACT_SEND_HELLO);
    assert_int_equal(text("{\"type\":\"config\",\"protocol\":2}"), ISC_ACT_CLOSE);
    assert_int_equal(conn.state, ISC_CONN_WAITING);
    assert_int_equal(fake_hal_log_count(ISC_LOG_ERROR), 1);
}

static void test_shutdown(void **state)
{
    (void)state;
    reach_streaming();
    assert_int_equal(isc_conn_shutdown(&conn), ISC_ACT_SEND_BYE_AND_CLOSE);
    assert_int_equal(conn.state, ISC_CONN_STOPPED);
    assert_int_equal(conn.stop_reason, ISC_STOP_LOCAL);
    assert_int_equal(isc_conn_led_status(&conn), ISC_LED_OFF);
    isc_conn_on_closed(&conn, ISC_CLOSE_NORMAL); /* our own close coming back */
    assert_int_equal(conn.stop_reason, ISC_STOP_LOCAL);

    setup(NULL);
    isc_conn_set_network_up(&conn, true);
    isc_conn_start(&conn);
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_OPEN);
    assert_int_equal(isc_conn_shutdown(&conn), ISC_ACT_CLOSE);

    setup(NULL);
    isc_conn_start(&conn);
    assert_int_equal(isc_conn_shutdown(&conn), ISC_ACT_NONE);

    setup(NULL);
    reach_streaming();
    isc_conn_on_closed(&conn, ISC_CLOSE_UNAUTHORIZED);
    assert_int_equal(isc_conn_shutdown(&conn), ISC_ACT_NONE);
    assert_int_equal(conn.stop_reason, ISC_STOP_UNAUTHORIZED); /* kept */
}

static void test_restart_after_stop(void **state)
{
    (void)state;
    fake_hal_set_random(UINT32_MAX);
    reach_streaming();
    isc_conn_on_closed(&conn, ISC_CLOSE_REPLACED);
    assert_int_equal(conn.state, ISC_CONN_STOPPED);
    isc_conn_start(&conn);
    assert_int_equal(conn.state, ISC_CONN_WAITING);
    assert_int_equal(conn.stop_reason, ISC_STOP_NONE);
    assert_int_equal(isc_conn_poll(&conn), ISC_ACT_OPEN);
    /* start() is a no-op while a connection is under way */
    isc_conn_start(&conn);
    assert_int_equal(conn.state, ISC_CONN_CONNECTING);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(isc_conn_state_name(ISC_CONN_AWAITING_CONFIG), "awaiting_config");
    assert_string_equal(isc_conn_state_name((isc_conn_state)99), "unknown");
    assert_string_equal(isc_stop_reason_name(ISC_STOP_REPLACED), "replaced");
    assert_string_equal(isc_stop_reason_name((isc_stop_reason)99), "unknown");
    assert_string_equal(isc_conn_action_name(ISC_ACT_START_STREAM), "start_stream");
    assert_string_equal(isc_conn_action_name((isc_conn_action)99), "unknown");
    for (int s = ISC_CONN_IDLE; s <= ISC_CONN_STOPPED; s++) {
        assert_string_not_equal(isc_conn_state_name((isc_conn_state)s), "unknown");
    }
    for (int r = ISC_STOP_NONE; r <= ISC_STOP_LOCAL; r++) {
        assert_string_not_equal(isc_stop_reason_name((isc_stop_reason)r), "unknown");
    }
    for (int a = ISC_ACT_NONE; a <= ISC_ACT_SEND_BYE_AND_CLOSE; a++) {
        assert_string_not_equal(isc_conn_action_name((isc_conn_action)a), "unknown");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_happy_path, setup),
        cmocka_unit_test_setup(test_heartbeats_follow_config, setup),
        cmocka_unit_test_setup(test_heartbeat_period_comes_from_config, setup),
        cmocka_unit_test_setup(test_silent_bridge_is_dropped, setup),
        cmocka_unit_test_setup(test_close_code_table, setup),
        cmocka_unit_test_setup(test_close_during_handshake_and_before_config, setup),
        cmocka_unit_test_setup(test_http_status_mapping, setup),
        cmocka_unit_test_setup(test_backoff_grows_until_a_connection_lasts, setup),
        cmocka_unit_test_setup(test_jitter_uses_the_hal_random, setup),
        cmocka_unit_test_setup(test_no_reconnect_while_network_is_down, setup),
        cmocka_unit_test_setup(test_timeouts_while_connecting, setup),
        cmocka_unit_test_setup(test_odd_messages_are_ignored, setup),
        cmocka_unit_test_setup(test_config_for_another_protocol_version, setup),
        cmocka_unit_test_setup(test_shutdown, setup),
        cmocka_unit_test_setup(test_restart_after_stop, setup),
        cmocka_unit_test_setup(test_names, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
