#include "bridge_stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio_buffer.h"
#include "esp_app_desc.h"
#include "esp_crt_bundle.h"
#include "esp_log.h"
#include "esp_ota_ops.h"
#include "esp_random.h"
#include "esp_timer.h"
#include "esp_websocket_client.h"
#include "freertos/FreeRTOS.h"
#include "freertos/queue.h"
#include "freertos/semphr.h"
#include "freertos/task.h"
#include "intrascribe/audio.h"
#include "intrascribe/connection.h"
#include "intrascribe/frame.h"
#include "sdkconfig.h"
#include "status_led.h"
#include "wifi_sta.h"

static const char *TAG = "bridge";

#define TEXT_MAX 1024            /* longest control message accepted from the bridge */
#define MAX_FRAMES_PER_WAKE 25   /* bounds a replay burst so events are still handled */
#define STREAMING_WAKE_MS 10     /* a new frame arrives every 20 ms */
#define IDLE_WAKE_MS 500         /* notices Wi-Fi coming back */
#define SEND_TIMEOUT_MS 1000
#define CLOSE_TIMEOUT_MS 1000
#define NO_STATUS_CLOSE 1005     /* a close frame without a code (RFC 6455) */

/* WebSocket opcodes as esp_websocket_client reports them */
#define OP_CONTINUATION 0x0
#define OP_TEXT 0x1
#define OP_CLOSE 0x8

typedef enum { EV_OPEN, EV_TEXT, EV_CLOSE_CODE, EV_ENDED, EV_SHUTDOWN } event_kind;

/* Posted by the WebSocket client's task to ours. Each connection has its own generation, so
 * events from a socket already given up are recognised and dropped. */
typedef struct {
    event_kind kind;
    uint32_t generation;
    int code;   /* EV_CLOSE_CODE */
    char *text; /* EV_TEXT: malloc'd, freed by the receiver */
    size_t len;
} stream_event;

static device_settings s_settings;
static char s_auth_header[sizeof("Authorization: Bearer \r\n") + ISC_DEVICE_TOKEN_MAX_LEN];
static QueueHandle_t s_events;
static SemaphoreHandle_t s_shutdown_done;
static isc_conn s_conn;
static esp_websocket_client_handle_t s_client;
static uint32_t s_generation;
static int s_close_code; /* from the current connection's close frame, 0 if none yet */
static uint32_t s_frames_sent;

/* Assembly of one text message that arrives in several DATA events (WebSocket task only). */
static struct {
    char buf[TEXT_MAX];
    size_t len;
    bool active;
    bool too_long;
} s_rx;

static void post(event_kind kind, uint32_t generation, int code, char *text, size_t len)
{
    stream_event ev = {.kind = kind, .generation = generation, .code = code, .text = text, .len = len};
    /* Wait briefly rather than block the WebSocket task for good; a lost ENDED is recovered by
     * the state machine's timeouts. */
    if (xQueueSend(s_events, &ev, pdMS_TO_TICKS(100)) != pdTRUE) {
        ESP_LOGW(TAG, "event queue full, dropping event %d", kind);
        free(text);
    }
}

static void on_data(const esp_websocket_event_data_t *d, uint32_t generation)
{
    if (d->op_code == OP_CLOSE) {
        int code = NO_STATUS_CLOSE;
        if (d->data_len >= 2) {
            code = ((uint8_t)d->data_ptr[0] << 8) | (uint8_t)d->data_ptr[1];
        }
        post(EV_CLOSE_CODE, generation, code, NULL, 0);
        return;
    }
    if (d->op_code == OP_TEXT && d->payload_offset == 0) {
        s_rx.len = 0;
        s_rx.active = true;
        s_rx.too_long = false;
    } else if (d->op_code != OP_TEXT && d->op_code != OP_CONTINUATION) {
        return; /* binary, ping, pong: nothing for us */
    }
    if (!s_rx.active || d->data_len <= 0) {
        return;
    }
    if (s_rx.len + (size_t)d->data_len <= sizeof(s_rx.buf)) {
        memcpy(s_rx.buf + s_rx.len, d->data_ptr, (size_t)d->data_len);
        s_rx.len += (size_t)d->data_len;
    } else {
        s_rx.too_long = true;
    }
    bool frame_done = d->payload_offset + d->data_len >= d->payload_len;
    if (!frame_done || !d->fin) {
        return;
    }
    s_rx.active = false;
    if (s_rx.too_long) {
        ESP_LOGW(TAG, "ignoring a control message over %d bytes", TEXT_MAX);
        return;
    }
    char *text = malloc(s_rx.len);
    if (text == NULL) {
        ESP_LOGW(TAG, "no memory for a control message");
        return;
    }
    memcpy(text, s_rx.buf, s_rx.len);
    post(EV_TEXT, generation, 0, text, s_rx.len);
}

static void on_ws_event(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    (void)base;
    const esp_websocket_event_data_t *d = data;
    uint32_t generation = (uint32_t)(uintptr_t)arg;
    switch (id) {
    case WEBSOCKET_EVENT_CONNECTED:
        post(EV_OPEN, generation, 0, NULL, 0);
        break;
    case WEBSOCKET_EVENT_DATA:
        on_data(d, generation);
        break;
    case WEBSOCKET_EVENT_ERROR: {
        int status = d->error_handle.esp_ws_handshake_status_code;
        if (status != 0 && status != 101) {
            /* The upgrade was refused: report it like a close code (401/403 -> 4001). */
            ESP_LOGW(TAG, "bridge answered HTTP %d", status);
            post(EV_CLOSE_CODE, generation, isc_close_code_for_http_status(status), NULL, 0);
        }
        break;
    }
    case WEBSOCKET_EVENT_DISCONNECTED:
    case WEBSOCKET_EVENT_CLOSED:
        post(EV_ENDED, generation, 0, NULL, 0);
        break;
    default:
        break;
    }
}

static void destroy_client(void)
{
    if (s_client != NULL) {
        esp_websocket_client_destroy(s_client);
        s_client = NULL;
    }
}

static void close_client(void)
{
    if (s_client != NULL && esp_websocket_client_is_connected(s_client)) {
        esp_websocket_client_close(s_client, pdMS_TO_TICKS(CLOSE_TIMEOUT_MS));
    }
    destroy_client();
}

static void open_client(void)
{
    destroy_client();
    s_generation++;
    s_close_code = 0;
    esp_websocket_client_config_t config = {
        .uri = s_settings.bridge_url,
        .headers = s_auth_header,
        .crt_bundle_attach = esp_crt_bundle_attach, /* used for wss:// only */
        .disable_auto_reconnect = true,             /* reconnects follow the protocol's backoff */
        .buffer_size = 1024,
        .network_timeout_ms = 10000,
        .task_stack = 6144,
        .user_agent = "intrascribe-mic",
    };
    s_client = esp_websocket_client_init(&config);
    if (s_client == NULL) {
        ESP_LOGE(TAG, "cannot create the WebSocket client");
        isc_conn_on_closed(&s_conn, ISC_CLOSE_ABNORMAL);
        return;
    }
    esp_websocket_register_events(s_client, WEBSOCKET_EVENT_ANY, on_ws_event, (void *)(uintptr_t)s_generation);
    if (esp_websocket_client_start(s_client) != ESP_OK) {
        destroy_client();
        isc_conn_on_closed(&s_conn, ISC_CLOSE_ABNORMAL);
        return;
    }
    ESP_LOGI(TAG, "connecting to %s", s_settings.bridge_url);
}

static void send_text(const char *text, size_t len)
{
    if (s_client == NULL || len == 0 ||
        esp_websocket_client_send_text(s_client, text, (int)len, pdMS_TO_TICKS(SEND_TIMEOUT_MS)) != (int)len) {
        ESP_LOGW(TAG, "could not send %.*s", len > 40 ? 40 : (int)len, text);
    }
}

static void send_hello(void)
{
    static uint32_t boot_id; /* once per boot; 0 is "not chosen yet" */
    while (boot_id == 0u) {
        boot_id = esp_random();
    }
    char text[ISC_CONTROL_MAX_BYTES];
    isc_hello hello = {
        .boot_id = boot_id,
        .firmware = esp_app_get_description()->version,
        .hardware = CONFIG_IDF_TARGET,
        .sample_rate = ISC_SAMPLE_RATE_HZ,
        .channels = ISC_CHANNELS,
        .frame_ms = ISC_FRAME_MS,
    };
    send_text(text, isc_control_build_hello(text, sizeof(text), &hello));
}

static void send_heartbeat(void)
{
    char text[ISC_CONTROL_MAX_BYTES];
    uint32_t unsent;
    uint32_t dropped;
    audio_buffer_stats(&unsent, &dropped);
    isc_heartbeat hb = {
        .uptime_ms = (uint64_t)esp_timer_get_time() / 1000u,
        .dropped_frames = dropped,
        .buffered_ms = unsent * ISC_FRAME_MS,
    };
    hb.has_rssi = wifi_sta_rssi(&hb.rssi);
    send_text(text, isc_control_build_heartbeat(text, sizeof(text), &hb));
}

/* With CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE a freshly updated image stays on probation until it
 * has shown it can reach the bridge. */
static void confirm_firmware_works(void)
{
    esp_ota_img_states_t state;
    if (esp_ota_get_state_partition(esp_ota_get_running_partition(), &state) == ESP_OK &&
        state == ESP_OTA_IMG_PENDING_VERIFY) {
        ESP_LOGI(TAG, "new firmware reached the bridge: keeping it");
        esp_ota_mark_app_valid_cancel_rollback();
    }
}

static void perform(isc_conn_action action)
{
    switch (action) {
    case ISC_ACT_NONE:
        break;
    case ISC_ACT_OPEN:
        open_client();
        break;
    case ISC_ACT_SEND_HELLO:
        send_hello();
        break;
    case ISC_ACT_START_STREAM: {
        uint32_t replay = audio_buffer_begin_stream(s_conn.config.has_last_seq, s_conn.config.last_seq);
        ESP_LOGI(TAG, "streaming; replaying %u buffered frames", (unsigned)replay);
        confirm_firmware_works();
        break;
    }
    case ISC_ACT_SEND_HEARTBEAT:
        send_heartbeat();
        break;
    case ISC_ACT_SEND_BYE_AND_CLOSE: {
        char text[32];
        send_text(text, isc_control_build_bye(text, sizeof(text)));
        close_client();
        break;
    }
    case ISC_ACT_CLOSE:
        close_client();
        break;
    }
}

static void handle_event(const stream_event *ev)
{
    if (ev->kind == EV_SHUTDOWN) {
        perform(isc_conn_shutdown(&s_conn));
        xSemaphoreGive(s_shutdown_done);
        return;
    }
    if (ev->generation != s_generation || s_client == NULL) {
        return; /* from a connection already closed */
    }
    switch (ev->kind) {
    case EV_OPEN:
        perform(isc_conn_on_open(&s_conn));
        break;
    case EV_TEXT:
        perform(isc_conn_on_text(&s_conn, ev->text, ev->len));
        break;
    case EV_CLOSE_CODE:
        s_close_code = ev->code;
        break;
    case EV_ENDED:
        /* Destroy first: the state machine may ask for a new connection right away. */
        destroy_client();
        isc_conn_on_closed(&s_conn, s_close_code != 0 ? s_close_code : ISC_CLOSE_ABNORMAL);
        break;
    case EV_SHUTDOWN:
        break;
    }
}

static void send_frames(void)
{
    static uint8_t frame[ISC_FRAME_HEADER_BYTES + ISC_FRAME_PAYLOAD_BYTES];
    for (int i = 0; i < MAX_FRAMES_PER_WAKE && s_client != NULL; i++) {
        size_t len;
        uint32_t seq;
        if (!audio_buffer_peek(frame, sizeof(frame), &len, &seq)) {
            return;
        }
        if (esp_websocket_client_send_bin(s_client, (const char *)frame, (int)len, pdMS_TO_TICKS(SEND_TIMEOUT_MS)) !=
            (int)len) {
            return; /* stays unsent: retried on the next wake, or replayed after a reconnect */
        }
        audio_buffer_mark_sent(seq);
        s_frames_sent++;
    }
}

static TickType_t wait_ticks(void)
{
    uint64_t now = (uint64_t)esp_timer_get_time() / 1000u;
    uint64_t deadline = isc_conn_next_deadline_ms(&s_conn);
    uint64_t wait = s_conn.state == ISC_CONN_STREAMING ? STREAMING_WAKE_MS : IDLE_WAKE_MS;
    if (deadline <= now) {
        return 0;
    }
    if (deadline - now < wait) {
        wait = deadline - now;
    }
    return pdMS_TO_TICKS(wait) > 0 ? pdMS_TO_TICKS(wait) : 1;
}

static void stream_task(void *arg)
{
    (void)arg;
    isc_conn_start(&s_conn);
    for (;;) {
        stream_event ev;
        if (xQueueReceive(s_events, &ev, wait_ticks()) == pdTRUE) {
            handle_event(&ev);
            free(ev.text);
        }
        isc_conn_set_network_up(&s_conn, wifi_sta_is_up());
        for (isc_conn_action action = isc_conn_poll(&s_conn); action != ISC_ACT_NONE;
             action = isc_conn_poll(&s_conn)) {
            perform(action);
        }
        if (s_conn.state == ISC_CONN_STREAMING) {
            send_frames();
        }
        status_led_set(isc_conn_led_status(&s_conn));
    }
}

esp_err_t bridge_stream_start(const device_settings *settings)
{
    s_settings = *settings;
    snprintf(s_auth_header, sizeof(s_auth_header), "Authorization: Bearer %s\r\n", settings->device_token);
    s_events = xQueueCreate(16, sizeof(stream_event));
    s_shutdown_done = xSemaphoreCreateBinary();
    if (s_events == NULL || s_shutdown_done == NULL) {
        return ESP_ERR_NO_MEM;
    }
    isc_conn_options options;
    isc_conn_default_options(&options);
    isc_conn_init(&s_conn, &options);
    return xTaskCreate(stream_task, "bridge", 6144, NULL, 5, NULL) == pdPASS ? ESP_OK : ESP_ERR_NO_MEM;
}

void bridge_stream_shutdown(uint32_t timeout_ms)
{
    if (s_events == NULL) {
        return; /* never started */
    }
    stream_event ev = {.kind = EV_SHUTDOWN};
    if (xQueueSend(s_events, &ev, pdMS_TO_TICKS(timeout_ms)) == pdTRUE) {
        xSemaphoreTake(s_shutdown_done, pdMS_TO_TICKS(timeout_ms));
    }
}

void bridge_stream_print_status(void)
{
    if (s_events == NULL) {
        printf("bridge: not started\n");
        return;
    }
    uint32_t unsent;
    uint32_t dropped;
    audio_buffer_stats(&unsent, &dropped);
    /* Read without the bridge task's cooperation: a momentarily stale value is fine for a status
     * line, and the precision keeps a half-copied session id inside its buffer. */
    const char *session = s_conn.state == ISC_CONN_STREAMING ? s_conn.config.session_id : "-";
    printf("bridge: %s (stop reason %s, last close %d), connections %u, frames sent %u, buffered %u ms, "
           "dropped %u, session %.*s\n",
           isc_conn_state_name(s_conn.state), isc_stop_reason_name(s_conn.stop_reason), s_conn.last_close_code,
           (unsigned)s_conn.connects, (unsigned)s_frames_sent, (unsigned)(unsent * ISC_FRAME_MS), (unsigned)dropped,
           (int)sizeof(s_conn.config.session_id) - 1, session);
}
