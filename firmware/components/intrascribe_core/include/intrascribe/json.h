/*
 * A small JSON reader and writer for the protocol's flat control messages (no third-party code:
 * cJSON exists in ESP-IDF but not on the host, and these messages need far less).
 *
 * Reader: isc_json_for_each_member() validates a whole document (RFC 8259 grammar, UTF-8, escapes,
 * nesting up to ISC_JSON_MAX_DEPTH) whose top level must be an object, and calls back once per
 * top-level member with its decoded key. Nested values are validated and handed over as raw text,
 * which is all the protocol needs (it has one nested object, and only in a message the device
 * sends). Strings containing \u0000 are refused, since the device stores them as C strings.
 *
 * Writer: appends to a caller buffer and records overflow instead of failing at each call.
 */
#ifndef INTRASCRIBE_JSON_H
#define INTRASCRIBE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ISC_JSON_MAX_DEPTH 16
#define ISC_JSON_MAX_KEY 32 /* decoded keys longer than 31 bytes are truncated (no protocol key is) */

typedef enum {
    ISC_JSON_NULL,
    ISC_JSON_FALSE,
    ISC_JSON_TRUE,
    ISC_JSON_NUMBER,
    ISC_JSON_STRING,
    ISC_JSON_OBJECT,
    ISC_JSON_ARRAY,
} isc_json_type;

typedef struct {
    isc_json_type type;
    const char *text; /* source text of the value; for strings, what is between the quotes (escaped) */
    size_t text_len;
    bool is_integer;  /* a number with no fraction or exponent that fits in int64 */
    int64_t integer;
} isc_json_value;

typedef enum {
    ISC_JSON_OK,
    ISC_JSON_SYNTAX_ERROR,
    ISC_JSON_NOT_AN_OBJECT,
    ISC_JSON_TOO_DEEP,
    ISC_JSON_STOPPED, /* the callback returned false */
} isc_json_status;

/* Return false to stop the walk. `value` and its text are valid only during the call. */
typedef bool (*isc_json_member_fn)(void *ctx, const char *key, const isc_json_value *value);

isc_json_status isc_json_for_each_member(const char *json, size_t len, isc_json_member_fn on_member, void *ctx);

/* The members named names[0..count-1], in whatever order they come: present[i] says whether
 * names[i] was there and values[i] holds its value (a later duplicate wins). Both arrays are
 * cleared first. The values point into `json`, so they stay valid as long as it does. */
isc_json_status isc_json_pick_members(const char *json, size_t len, const char *const *names, size_t count, bool *present,
                                      isc_json_value *values);

/* Decodes a string value (escapes, surrogate pairs) into out, always NUL-terminated when cap > 0,
 * cutting only between whole UTF-8 characters. Returns the full decoded length like snprintf: a
 * result >= cap means it was truncated. Only for values from isc_json_for_each_member. */
size_t isc_json_string_decode(const isc_json_value *value, char *out, size_t cap);

typedef struct {
    char *buf;
    size_t cap;
    size_t len;
    bool overflow;
    bool need_comma;
} isc_json_writer;

void isc_json_writer_init(isc_json_writer *w, char *buf, size_t cap);
void isc_json_object_begin(isc_json_writer *w);
void isc_json_object_end(isc_json_writer *w);
void isc_json_member_object_begin(isc_json_writer *w, const char *key);
void isc_json_member_string(isc_json_writer *w, const char *key, const char *value);
void isc_json_member_u64(isc_json_writer *w, const char *key, uint64_t value);
void isc_json_member_i64(isc_json_writer *w, const char *key, int64_t value);
void isc_json_member_null(isc_json_writer *w, const char *key);

/* NUL-terminates and returns the length, or 0 if anything did not fit. */
size_t isc_json_writer_finish(isc_json_writer *w);

#ifdef __cplusplus
}
#endif

#endif /* INTRASCRIBE_JSON_H */
