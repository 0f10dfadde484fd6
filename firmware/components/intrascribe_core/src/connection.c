#include "intrascribe/connection.h"

#include <inttypes.h>
#include <string.h>

#include "intrascribe/hal.h"

void isc_conn_default_options(isc_conn_options *options)
{
    options->backoff_base_ms = ISC_BACKOFF_BASE_MS;
    options->backoff_cap_ms = ISC_BACKOFF_CAP_MS;
    options->backoff_reset_after_ms = ISC_BACKOFF_RESET_AFTER_MS;
    options->connect_timeout_ms = 15000;
    options->config_timeout_ms = 10000;
    options->liveness_factor = 3;
}

void isc_conn_init(isc_conn *conn, const isc_conn_options *options)
{
    memset(conn, 0, sizeof(*conn));
    conn->options = *options;
    conn->state = ISC_CONN_IDLE;
    isc_backoff_init(&conn->backoff, options->backoff_base_ms, options->backoff_cap_ms);
}

static void enter(isc_conn *conn, isc_conn_state state, uint64_t now)
{
    if (conn->state != state) {
        isc_hal_log(ISC_LOG_INFO, "connection: %s -> %s", isc_conn_state_name(conn->state),
                    isc_conn_state_name(state));
    }
    conn->state = state;
    conn->state_since_ms = now;
}

static void stop(isc_conn *conn, isc_stop_reason reason, uint64_t now)
{
    conn->stop_reason = reason;
    enter(conn, ISC_CONN_STOPPED, now);
}

/* The attempt is over: wait a backoff delay before the next one. */
static void schedule_reconnect(isc_conn *conn, uint64_t now)
{
    if (conn->was_open && now - conn->opened_at_ms >= conn->options.backoff_reset_after_ms) {
        isc_backoff_reset(&conn->backoff);
    }
    conn->was_open = false;
    conn->last_delay_ms = isc_backoff_next_ms(&conn->backoff, isc_hal_random_u32());
    conn->retry_at_ms = now + conn->last_delay_ms;
    enter(conn, ISC_CONN_WAITING, now);
    isc_hal_log(ISC_LOG_INFO, "connection: reconnecting in %" PRIu32 " ms (attempt %" PRIu32 ")",
                conn->last_delay_ms, conn->backoff.attempt);
}

void isc_conn_start(isc_conn *conn)
{
    if (conn->state != ISC_CONN_IDLE && conn->state != ISC_CONN_STOPPED) {
        return;
    }
    uint64_t now = isc_hal_uptime_ms();
    isc_backoff_reset(&conn->backoff);
    conn->stop_reason = ISC_STOP_NONE;
    conn->was_open = false;
    conn->retry_at_ms = now;
    enter(conn, ISC_CONN_WAITING, now);
}

void isc_conn_set_network_up(isc_conn *conn, bool up)
{
    conn->network_up = up;
}

static bool is_connected_state(isc_conn_state state)
{
    return state == ISC_CONN_CONNECTING || state == ISC_CONN_AWAITING_CONFIG || state == ISC_CONN_STREAMING;
}

static uint64_t heartbeat_period_ms(const isc_conn *conn)
{
    return (uint64_t)conn->config.heartbeat_s * 1000u;
}

static uint64_t liveness_deadline_ms(const isc_conn *conn)
{
    return conn->last_rx_ms + conn->options.liveness_factor * heartbeat_period_ms(conn);
}

isc_conn_action isc_conn_poll(isc_conn *conn)
{
    uint64_t now = isc_hal_uptime_ms();
    switch (conn->state) {
    case ISC_CONN_WAITING:
        if (conn->network_up && now >= conn->retry_at_ms) {
            enter(conn, ISC_CONN_CONNECTING, now);
            return ISC_ACT_OPEN;
        }
        break;
    case ISC_CONN_CONNECTING:
        if (now - conn->state_since_ms >= conn->options.connect_timeout_ms) {
            isc_hal_log(ISC_LOG_WARN, "connection: connect timed out");
            schedule_reconnect(conn, now);
            return ISC_ACT_CLOSE;
        }
        break;
    case ISC_CONN_AWAITING_CONFIG:
        if (now - conn->state_since_ms >= conn->options.config_timeout_ms) {
            isc_hal_log(ISC_LOG_WARN, "connection: no config from the bridge");
            schedule_reconnect(conn, now);
            return ISC_ACT_CLOSE;
        }
        break;
    case ISC_CONN_STREAMING:
        if (now >= liveness_deadline_ms(conn)) {
            isc_hal_log(ISC_LOG_WARN, "connection: bridge silent for %" PRIu32 " heartbeats",
                        conn->options.liveness_factor);
            schedule_reconnect(conn, now);
            return ISC_ACT_CLOSE;
        }
        if (now >= conn->next_heartbeat_ms) {
            conn->next_heartbeat_ms += heartbeat_period_ms(conn);
            if (conn->next_heartbeat_ms <= now) { /* fell behind: do not send a burst */
                conn->next_heartbeat_ms = now + heartbeat_period_ms(conn);
            }
            return ISC_ACT_SEND_HEARTBEAT;
        }
        break;
    case ISC_CONN_IDLE:
    case ISC_CONN_STOPPED:
        break;
    }
    return ISC_ACT_NONE;
}

isc_conn_action isc_conn_on_open(isc_conn *conn)
{
    if (conn->state != ISC_CONN_CONNECTING) {
        return ISC_ACT_NONE; /* a late event from a connection already given up */
    }
    uint64_t now = isc_hal_uptime_ms();
    conn->was_open = true;
    conn->opened_at_ms = now;
    conn->last_rx_ms = now;
    conn->connects++;
    memset(&conn->config, 0, sizeof(conn->config));
    enter(conn, ISC_CONN_AWAITING_CONFIG, now);
    return ISC_ACT_SEND_HELLO;
}

static isc_conn_action accept_config(isc_conn *conn, const isc_config_msg *config, uint64_t now)
{
    if (config->protocol != 0 && config->protocol != ISC_PROTOCOL_VERSION) {
        isc_hal_log(ISC_LOG_ERROR, "connection: bridge speaks protocol %" PRIu32 ", not %u", config->protocol,
                    ISC_PROTOCOL_VERSION);
        schedule_reconnect(conn, now);
        return ISC_ACT_CLOSE;
    }
    conn->config = *config;
    conn->next_heartbeat_ms = now + heartbeat_period_ms(conn);
    if (config->has_last_seq) {
        isc_hal_log(ISC_LOG_INFO, "connection: session %s room %s, bridge has frames up to %" PRIu32,
                    config->session_id, config->room, config->last_seq);
    } else {
        isc_hal_log(ISC_LOG_INFO, "connection: session %s room %s, bridge has no frames yet", config->session_id,
                    config->room);
    }
    enter(conn, ISC_CONN_STREAMING, now);
    return ISC_ACT_START_STREAM;
}

isc_conn_action isc_conn_on_text(isc_conn *conn, const char *text, size_t len)
{
    if (conn->state != ISC_CONN_AWAITING_CONFIG && conn->state != ISC_CONN_STREAMING) {
        return ISC_ACT_NONE;
    }
    uint64_t now = isc_hal_uptime_ms();
    conn->last_rx_ms = now; /* any message proves the bridge is there */

    isc_control_msg msg;
    isc_control_status status = isc_control_parse(text, len, &msg);
    if (status != ISC_CONTROL_OK) {
        /* A bridge bug is no reason to drop the audio: ignore the message. A bridge that never
         * sends a usable config runs into the config timeout. */
        isc_hal_log(ISC_LOG_WARN, "connection: ignoring bad control message (%s)", isc_control_status_name(status));
        return ISC_ACT_NONE;
    }
    switch (msg.type) {
    case ISC_MSG_CONFIG:
        if (conn->state == ISC_CONN_AWAITING_CONFIG) {
            return accept_config(conn, &msg.config, now);
        }
        isc_hal_log(ISC_LOG_WARN, "connection: ignoring a second config");
        break;
    case ISC_MSG_ERROR:
        /* The close that follows decides what happens; the error only explains it. */
        isc_hal_log(ISC_LOG_WARN, "connection: bridge error %s: %s", msg.error.code, msg.error.message);
        break;
    case ISC_MSG_HEARTBEAT:
        break;
    case ISC_MSG_UNKNOWN:
        isc_hal_log(ISC_LOG_DEBUG, "connection: ignoring message type %s", msg.type_name);
        break;
    }
    return ISC_ACT_NONE;
}

void isc_conn_on_closed(isc_conn *conn, int close_code)
{
    if (!is_connected_state(conn->state)) {
        return;
    }
    uint64_t now = isc_hal_uptime_ms();
    conn->last_close_code = close_code;
    isc_stop_reason reason = isc_close_code_stop_reason(close_code);
    if (reason != ISC_STOP_NONE) {
        isc_hal_log(ISC_LOG_WARN, "connection: closed with %d (%s): not reconnecting", close_code,
                    isc_stop_reason_name(reason));
        stop(conn, reason, now);
        return;
    }
    isc_hal_log(ISC_LOG_INFO, "connection: closed with %d", close_code);
    schedule_reconnect(conn, now);
}

isc_conn_action isc_conn_shutdown(isc_conn *conn)
{
    isc_conn_state before = conn->state;
    if (before == ISC_CONN_STOPPED) {
        return ISC_ACT_NONE; /* keep the reason it stopped for */
    }
    stop(conn, ISC_STOP_LOCAL, isc_hal_uptime_ms());
    switch (before) {
    case ISC_CONN_AWAITING_CONFIG:
    case ISC_CONN_STREAMING:
        return ISC_ACT_SEND_BYE_AND_CLOSE;
    case ISC_CONN_CONNECTING:
        return ISC_ACT_CLOSE;
    case ISC_CONN_IDLE:
    case ISC_CONN_WAITING:
    case ISC_CONN_STOPPED:
        break;
    }
    return ISC_ACT_NONE;
}

uint64_t isc_conn_next_deadline_ms(const isc_conn *conn)
{
    switch (conn->state) {
    case ISC_CONN_WAITING:
        return conn->network_up ? conn->retry_at_ms : UINT64_MAX;
    case ISC_CONN_CONNECTING:
        return conn->state_since_ms + conn->options.connect_timeout_ms;
    case ISC_CONN_AWAITING_CONFIG:
        return conn->state_since_ms + conn->options.config_timeout_ms;
    case ISC_CONN_STREAMING: {
        uint64_t liveness = liveness_deadline_ms(conn);
        return conn->next_heartbeat_ms < liveness ? conn->next_heartbeat_ms : liveness;
    }
    case ISC_CONN_IDLE:
    case ISC_CONN_STOPPED:
        break;
    }
    return UINT64_MAX;
}

isc_led_status isc_conn_led_status(const isc_conn *conn)
{
    switch (conn->state) {
    case ISC_CONN_IDLE:
        return ISC_LED_OFF;
    case ISC_CONN_WAITING:
    case ISC_CONN_CONNECTING:
    case ISC_CONN_AWAITING_CONFIG:
        return ISC_LED_CONNECTING;
    case ISC_CONN_STREAMING:
        return ISC_LED_STREAMING;
    case ISC_CONN_STOPPED:
        if (conn->stop_reason == ISC_STOP_UNAUTHORIZED) {
            return ISC_LED_UNAUTHORIZED;
        }
        return conn->stop_reason == ISC_STOP_LOCAL ? ISC_LED_OFF : ISC_LED_ERROR;
    }
    return ISC_LED_ERROR;
}

isc_stop_reason isc_close_code_stop_reason(int close_code)
{
    switch (close_code) {
    case ISC_CLOSE_NORMAL:
        return ISC_STOP_NORMAL;
    case ISC_CLOSE_UNAUTHORIZED:
        return ISC_STOP_UNAUTHORIZED;
    case ISC_CLOSE_UNSUPPORTED_AUDIO:
        return ISC_STOP_UNSUPPORTED;
    case ISC_CLOSE_REPLACED:
        return ISC_STOP_REPLACED;
    default:
        return ISC_STOP_NONE; /* 1001, 1013, 4002, 4008 per the table, and anything unlisted */
    }
}

int isc_close_code_for_http_status(int http_status)
{
    return (http_status == 401 || http_status == 403) ? ISC_CLOSE_UNAUTHORIZED : ISC_CLOSE_ABNORMAL;
}

const char *isc_conn_state_name(isc_conn_state state)
{
    switch (state) {
    case ISC_CONN_IDLE:
        return "idle";
    case ISC_CONN_WAITING:
        return "waiting";
    case ISC_CONN_CONNECTING:
        return "connecting";
    case ISC_CONN_AWAITING_CONFIG:
        return "awaiting_config";
    case ISC_CONN_STREAMING:
        return "streaming";
    case ISC_CONN_STOPPED:
        return "stopped";
    }
    return "unknown";
}

const char *isc_stop_reason_name(isc_stop_reason reason)
{
    switch (reason) {
    case ISC_STOP_NONE:
        return "none";
    case ISC_STOP_NORMAL:
        return "normal";
    case ISC_STOP_UNAUTHORIZED:
        return "unauthorized";
    case ISC_STOP_UNSUPPORTED:
        return "unsupported_audio";
    case ISC_STOP_REPLACED:
        return "replaced";
    case ISC_STOP_LOCAL:
        return "local";
    }
    return "unknown";
}

const char *isc_conn_action_name(isc_conn_action action)
{
    switch (action) {
    case ISC_ACT_NONE:
        return "none";
    case ISC_ACT_OPEN:
        return "open";
    case ISC_ACT_SEND_HELLO:
        return "send_hello";
    case ISC_ACT_START_STREAM:
        return "start_stream";
    case ISC_ACT_SEND_HEARTBEAT:
        return "send_heartbeat";
    case ISC_ACT_CLOSE:
        return "close";
    case ISC_ACT_SEND_BYE_AND_CLOSE:
        return "send_bye_and_close";
    }
    return "unknown";
}
