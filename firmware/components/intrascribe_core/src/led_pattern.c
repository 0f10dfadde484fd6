#include "intrascribe/led_pattern.h"

const char *isc_led_status_name(isc_led_status status)
{
    switch (status) {
    case ISC_LED_OFF:
        return "off";
    case ISC_LED_CONNECTING:
        return "connecting";
    case ISC_LED_STREAMING:
        return "streaming";
    case ISC_LED_ERROR:
        return "error";
    case ISC_LED_UNAUTHORIZED:
        return "unauthorized";
    }
    return "unknown";
}

bool isc_led_is_on(isc_led_status status, uint64_t now_ms)
{
    uint32_t t = (uint32_t)(now_ms % 1000u);
    switch (status) {
    case ISC_LED_CONNECTING:
        return t < 500;
    case ISC_LED_STREAMING:
        return true;
    case ISC_LED_ERROR:
        return t % 200 < 100;
    case ISC_LED_UNAUTHORIZED:
        return t < 100 || (t >= 200 && t < 300);
    case ISC_LED_OFF:
        break;
    }
    return false;
}
