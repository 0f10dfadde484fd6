/* Serial console for provisioning (wifi, bridge, token, ...) and status. */
#pragma once

#include "esp_err.h"

esp_err_t console_start(void);
