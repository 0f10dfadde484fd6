/* The connection to the device bridge: a task that runs the core's state machine
 * (intrascribe/connection.h) over esp_websocket_client and streams the reconnect buffer. */
#pragma once

#include <stdint.h>

#include "esp_err.h"
#include "settings.h"

esp_err_t bridge_stream_start(const device_settings *settings);
/* Says bye and closes (before a restart); waits at most timeout_ms. */
void bridge_stream_shutdown(uint32_t timeout_ms);
/* One line about the connection, for the console. */
void bridge_stream_print_status(void);
