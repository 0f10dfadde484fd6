/* INMP441-class I2S microphone: 16 kHz mono, 20 ms frames into the reconnect buffer. */
#pragma once

#include "esp_err.h"

esp_err_t mic_start(void);
