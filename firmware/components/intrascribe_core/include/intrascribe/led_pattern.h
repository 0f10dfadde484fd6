/*
 * What the single status LED shows. Patterns repeat every second:
 *   connecting    slow blink   500 ms on, 500 ms off (Wi-Fi, WebSocket, waiting for config, backoff)
 *   streaming     steady on
 *   error         fast blink   100 ms on, 100 ms off (stopped by the bridge, microphone failure,
 *                              settings missing)
 *   unauthorized  double blink on 100, off 100, on 100, off 700 (token missing, rejected or revoked)
 */
#ifndef INTRASCRIBE_LED_PATTERN_H
#define INTRASCRIBE_LED_PATTERN_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    ISC_LED_OFF,
    ISC_LED_CONNECTING,
    ISC_LED_STREAMING,
    ISC_LED_ERROR,
    ISC_LED_UNAUTHORIZED,
} isc_led_status;

const char *isc_led_status_name(isc_led_status status);

/* Whether the LED is lit at time now_ms for this status. */
bool isc_led_is_on(isc_led_status status, uint64_t now_ms);

#ifdef __cplusplus
}
#endif

#endif /* INTRASCRIBE_LED_PATTERN_H */
