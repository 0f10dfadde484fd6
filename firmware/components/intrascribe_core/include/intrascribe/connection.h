/*
 * The device's side of one bridge connection, as a state machine with no I/O of its own:
 *
 *   IDLE -start-> WAITING -(network up, backoff elapsed)-> CONNECTING -open-> AWAITING_CONFIG
 *        -config-> STREAMING
 *
 * Any close, failed connect or timeout goes back to WAITING with a backoff delay, or to STOPPED
 * when the close code says so (docs/device-protocol.md, "Close codes").
 *
 * The firmware feeds it events (isc_conn_on_*), calls isc_conn_poll() whenever it wakes up (at the
 * latest at isc_conn_next_deadline_ms()), and carries out the action each call returns. Time and
 * jitter come from the HAL.
 */
#ifndef INTRASCRIBE_CONNECTION_H
#define INTRASCRIBE_CONNECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "intrascribe/backoff.h"
#include "intrascribe/control.h"
#include "intrascribe/led_pattern.h"

#ifdef __cplusplus
extern "C" {
#endif

/* WebSocket close codes used by the protocol. */
#define ISC_CLOSE_NORMAL 1000
#define ISC_CLOSE_GOING_AWAY 1001
#define ISC_CLOSE_ABNORMAL 1006 /* no close frame: the connection dropped or never opened */
#define ISC_CLOSE_TRY_AGAIN_LATER 1013
#define ISC_CLOSE_UNAUTHORIZED 4001
#define ISC_CLOSE_PROTOCOL_ERROR 4002
#define ISC_CLOSE_UNSUPPORTED_AUDIO 4003
#define ISC_CLOSE_IDLE_TIMEOUT 4008
#define ISC_CLOSE_REPLACED 4009

typedef enum {
    ISC_CONN_IDLE,            /* not started */
    ISC_CONN_WAITING,         /* disconnected: reconnects at retry_at_ms once the network is up */
    ISC_CONN_CONNECTING,      /* WebSocket handshake (TCP, TLS, upgrade) under way */
    ISC_CONN_AWAITING_CONFIG, /* hello sent, waiting for the bridge's config */
    ISC_CONN_STREAMING,
    ISC_CONN_STOPPED,         /* for good, until isc_conn_start() again: see stop_reason */
} isc_conn_state;

typedef enum {
    ISC_STOP_NONE,         /* not stopped: reconnect */
    ISC_STOP_NORMAL,       /* 1000 */
    ISC_STOP_UNAUTHORIZED, /* 4001, or HTTP 401/403 refusing the upgrade */
    ISC_STOP_UNSUPPORTED,  /* 4003 */
    ISC_STOP_REPLACED,     /* 4009: another connection with this device's token took over */
    ISC_STOP_LOCAL,        /* this device said bye */
} isc_stop_reason;

typedef enum {
    ISC_ACT_NONE,
    ISC_ACT_OPEN,               /* open the WebSocket; report isc_conn_on_open / isc_conn_on_closed */
    ISC_ACT_SEND_HELLO,
    ISC_ACT_START_STREAM,       /* config accepted: isc_frame_ring_begin_stream(ring,
                                   conn.config.has_last_seq, conn.config.last_seq), then send frames */
    ISC_ACT_SEND_HEARTBEAT,
    ISC_ACT_CLOSE,              /* close the socket; its close events will be ignored */
    ISC_ACT_SEND_BYE_AND_CLOSE,
} isc_conn_action;

typedef struct {
    uint32_t backoff_base_ms;
    uint32_t backoff_cap_ms;
    uint32_t backoff_reset_after_ms; /* a connection up this long resets the backoff */
    uint32_t connect_timeout_ms;     /* CONNECTING longer than this counts as a failed attempt */
    uint32_t config_timeout_ms;      /* AWAITING_CONFIG longer than this too */
    uint32_t liveness_factor;        /* streaming with no message from the bridge for this many
                                        heartbeat periods: the connection is dead (half-open TCP) */
} isc_conn_options;

/* All fields are read-only outside connection.c. */
typedef struct {
    isc_conn_options options;
    isc_conn_state state;
    isc_stop_reason stop_reason;
    isc_backoff backoff;
    bool network_up;
    bool was_open;              /* the current attempt reached the open WebSocket */
    uint64_t state_since_ms;
    uint64_t opened_at_ms;
    uint64_t retry_at_ms;
    uint64_t next_heartbeat_ms;
    uint64_t last_rx_ms;        /* last text message from the bridge */
    uint32_t last_delay_ms;     /* the last backoff delay chosen */
    int last_close_code;
    uint32_t connects;          /* WebSocket connections opened */
    isc_config_msg config;      /* the accepted config of the current connection */
} isc_conn;

void isc_conn_default_options(isc_conn_options *options);
void isc_conn_init(isc_conn *conn, const isc_conn_options *options);

/* From IDLE or STOPPED: connect as soon as the network is up. */
void isc_conn_start(isc_conn *conn);
void isc_conn_set_network_up(isc_conn *conn, bool up);

/* Time-driven work: connecting when the backoff has elapsed, heartbeats, timeouts. Call until it
 * returns ISC_ACT_NONE. */
isc_conn_action isc_conn_poll(isc_conn *conn);

isc_conn_action isc_conn_on_open(isc_conn *conn);
isc_conn_action isc_conn_on_text(isc_conn *conn, const char *text, size_t len);
/* The socket is gone: a close frame's code, or ISC_CLOSE_ABNORMAL when there was none (dropped
 * connection, failed connect). Ignored when no connection is current. */
void isc_conn_on_closed(isc_conn *conn, int close_code);

/* A deliberate stop (restart, reprovisioning): says bye if the bridge is listening. */
isc_conn_action isc_conn_shutdown(isc_conn *conn);

/* The next time isc_conn_poll() has something to do; UINT64_MAX if nothing is scheduled. */
uint64_t isc_conn_next_deadline_ms(const isc_conn *conn);

isc_led_status isc_conn_led_status(const isc_conn *conn);

/* The protocol's close-code table: the reason to stop, or ISC_STOP_NONE to reconnect with backoff
 * (also for codes the table does not list, such as 1006 or 1011). */
isc_stop_reason isc_close_code_stop_reason(int close_code);

/* The close code to report when the WebSocket upgrade itself was refused with this HTTP status.
 * 403 counts as unauthorized too: ASGI servers answer 403 when an app closes before accepting. */
int isc_close_code_for_http_status(int http_status);

const char *isc_conn_state_name(isc_conn_state state);
const char *isc_stop_reason_name(isc_stop_reason reason);
const char *isc_conn_action_name(isc_conn_action action);

#ifdef __cplusplus
}
#endif

#endif /* INTRASCRIBE_CONNECTION_H */
