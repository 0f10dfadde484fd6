#include "console.h"

#include <stdio.h>
#include <string.h>

#include "bridge_stream.h"
#include "esp_console.h"
#include "esp_log.h"
#include "esp_system.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "sdkconfig.h"
#include "settings.h"

#if CONFIG_INTRASCRIBE_DIRECT_JOIN
#include "intrascribe_direct_join.h"
#endif

static const char *TAG = "console";

static int store(const char *key, const char *value, const char *what)
{
    esp_err_t err = settings_store(key, value);
    if (err == ESP_ERR_INVALID_ARG) {
        printf("not a valid %s\n", what);
        return 1;
    }
    if (err != ESP_OK) {
        printf("could not store the %s: %s\n", what, esp_err_to_name(err));
        return 1;
    }
    printf("%s stored; `restart` to use it\n", what);
    return 0;
}

static int cmd_wifi(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        printf("usage: wifi <ssid> [password]   (quote an SSID with spaces)\n");
        return 1;
    }
    const char *password = argc == 3 ? argv[2] : "";
    size_t ssid_len = strlen(argv[1]);
    size_t password_len = strlen(password);
    /* Check both before storing either, so a typo does not leave half a network behind. */
    if (ssid_len == 0 || ssid_len > 32 || (password_len > 0 && (password_len < 8 || password_len > 64))) {
        printf("an SSID has 1-32 bytes, a WPA2 password 8-64 characters (none for an open network)\n");
        return 1;
    }
    int rc = store(SETTINGS_KEY_WIFI_SSID, argv[1], "Wi-Fi SSID");
    return rc != 0 ? rc : store(SETTINGS_KEY_WIFI_PASSWORD, password, "Wi-Fi password");
}

static int cmd_bridge(int argc, char **argv)
{
    if (argc != 2) {
        printf("usage: bridge wss://<host>/v1/device\n");
        return 1;
    }
    return store(SETTINGS_KEY_BRIDGE_URL, argv[1], "bridge URL");
}

static int cmd_token(int argc, char **argv)
{
    if (argc != 2) {
        printf("usage: token isd_...   (from POST /api/v1/devices/, shown once)\n");
        return 1;
    }
    return store(SETTINGS_KEY_TOKEN, argv[1], "device token");
}

static void print_masked(const char *label, const char *secret)
{
    size_t len = strlen(secret);
    if (len == 0) {
        printf("%-12s (none)\n", label);
    } else {
        /* Enough to recognise which token it is, not enough to use it. */
        printf("%-12s %.8s... (%u characters)\n", label, secret, (unsigned)len);
    }
}

static int cmd_show(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    device_settings s;
    settings_load(&s);
    printf("%-12s %s\n", "wifi", s.wifi_ssid[0] != '\0' ? s.wifi_ssid : "(none)");
    printf("%-12s %s\n", "password", s.wifi_password[0] != '\0' ? "(set)" : "(none)");
    printf("%-12s %s\n", "bridge", s.bridge_url);
    print_masked("token", s.device_token);
#if CONFIG_INTRASCRIBE_DIRECT_JOIN
    printf("%-12s %s\n", "api", s.api_url);
#endif
    const char *missing = settings_missing(&s);
    if (missing != NULL) {
        printf("missing: %s\n", missing);
    }
    bridge_stream_print_status();
    return 0;
}

static int cmd_forget(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    esp_err_t err = settings_erase_all();
    if (err != ESP_OK) {
        printf("nothing erased: %s\n", esp_err_to_name(err));
        return 1;
    }
    printf("stored settings erased; `restart` to fall back to the built-in ones\n");
    return 0;
}

static int cmd_restart(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    bridge_stream_shutdown(2000); /* says bye so the bridge closes the session cleanly */
    printf("restarting\n");
    vTaskDelay(pdMS_TO_TICKS(100));
    esp_restart();
    return 0;
}

#if CONFIG_INTRASCRIBE_DIRECT_JOIN
static int cmd_api(int argc, char **argv)
{
    if (argc != 2) {
        printf("usage: api https://<host>\n");
        return 1;
    }
    return store(SETTINGS_KEY_API_URL, argv[1], "API URL");
}

static int cmd_join(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    static isc_connection_details details; /* 2.6 KB: not on the console task's stack */
    device_settings s;
    settings_load(&s);
    isc_join_result result = isc_direct_join_fetch(s.api_url, s.device_token, &details);
    if (result != ISC_JOIN_OK) {
        printf("join failed: %s\n", isc_join_result_name(result));
        return 1;
    }
    printf("serverUrl        %s\nroomName         %s\nparticipantName  %s\nsessionId        %s\n"
           "participantToken %u characters\n",
           details.server_url, details.room_name, details.participant_name, details.session_id,
           (unsigned)strlen(details.participant_token));
    memset(&details, 0, sizeof(details));
    return 0;
}
#endif

static void register_command(const char *name, const char *help, esp_console_cmd_func_t func)
{
    const esp_console_cmd_t cmd = {.command = name, .help = help, .func = func};
    ESP_ERROR_CHECK(esp_console_cmd_register(&cmd));
}

esp_err_t console_start(void)
{
    esp_console_repl_t *repl = NULL;
    esp_console_repl_config_t repl_config = ESP_CONSOLE_REPL_CONFIG_DEFAULT();
    repl_config.prompt = "mic>";
    repl_config.max_cmdline_length = 512;
    esp_err_t err;
#if CONFIG_ESP_CONSOLE_UART_DEFAULT || CONFIG_ESP_CONSOLE_UART_CUSTOM
    esp_console_dev_uart_config_t hw = ESP_CONSOLE_DEV_UART_CONFIG_DEFAULT();
    err = esp_console_new_repl_uart(&hw, &repl_config, &repl);
#elif CONFIG_ESP_CONSOLE_USB_CDC
    esp_console_dev_usb_cdc_config_t hw = ESP_CONSOLE_DEV_CDC_CONFIG_DEFAULT();
    err = esp_console_new_repl_usb_cdc(&hw, &repl_config, &repl);
#elif CONFIG_ESP_CONSOLE_USB_SERIAL_JTAG
    esp_console_dev_usb_serial_jtag_config_t hw = ESP_CONSOLE_DEV_USB_SERIAL_JTAG_CONFIG_DEFAULT();
    err = esp_console_new_repl_usb_serial_jtag(&hw, &repl_config, &repl);
#else
    (void)repl_config;
    err = ESP_ERR_NOT_SUPPORTED; /* console disabled in menuconfig: provision with an NVS image */
#endif
    if (err != ESP_OK) {
        return err;
    }
    register_command("wifi", "wifi <ssid> [password]: the network to join", cmd_wifi);
    register_command("bridge", "bridge <wss://host/v1/device>: the device bridge", cmd_bridge);
    register_command("token", "token <isd_...>: the device token from POST /api/v1/devices/", cmd_token);
    register_command("show", "settings (token hidden) and connection state", cmd_show);
    register_command("forget", "erase the stored settings", cmd_forget);
    register_command("restart", "say bye to the bridge and restart (applies new settings)", cmd_restart);
#if CONFIG_INTRASCRIBE_DIRECT_JOIN
    register_command("api", "api <https://host>: the API, for direct-join mode", cmd_api);
    register_command("join", "ask the API for LiveKit connection details (checks token and API)", cmd_join);
#endif
    ESP_ERROR_CHECK(esp_console_register_help_command());
    ESP_LOGI(TAG, "console ready: type `help`");
    return esp_console_start_repl(repl);
}
