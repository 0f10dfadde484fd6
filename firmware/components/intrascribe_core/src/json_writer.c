#include <string.h>

#include "intrascribe/json.h"

void isc_json_writer_init(isc_json_writer *w, char *buf, size_t cap)
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->overflow = cap == 0;
    w->need_comma = false;
}

static void put(isc_json_writer *w, const char *s, size_t n)
{
    /* Keep one byte for the terminating NUL written by finish(). */
    if (w->overflow || w->len + n >= w->cap) {
        w->overflow = true;
        return;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

static void put_char(isc_json_writer *w, char ch)
{
    put(w, &ch, 1);
}

static void put_string(isc_json_writer *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    put_char(w, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        switch (*p) {
        case '"':
            put(w, "\\\"", 2);
            break;
        case '\\':
            put(w, "\\\\", 2);
            break;
        case '\n':
            put(w, "\\n", 2);
            break;
        case '\r':
            put(w, "\\r", 2);
            break;
        case '\t':
            put(w, "\\t", 2);
            break;
        default:
            if (*p < 0x20) {
                char esc[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 0xF]};
                put(w, esc, sizeof(esc));
            } else {
                put_char(w, (char)*p); /* UTF-8 passes through unchanged */
            }
        }
    }
    put_char(w, '"');
}

static void put_u64(isc_json_writer *w, uint64_t v)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[sizeof(digits) - 1 - n] = (char)('0' + v % 10);
        v /= 10;
        n++;
    } while (v != 0);
    put(w, digits + sizeof(digits) - n, n);
}

static void put_key(isc_json_writer *w, const char *key)
{
    if (w->need_comma) {
        put_char(w, ',');
    }
    put_string(w, key);
    put_char(w, ':');
    w->need_comma = true;
}

void isc_json_object_begin(isc_json_writer *w)
{
    put_char(w, '{');
    w->need_comma = false;
}

void isc_json_object_end(isc_json_writer *w)
{
    put_char(w, '}');
    w->need_comma = true;
}

void isc_json_member_object_begin(isc_json_writer *w, const char *key)
{
    put_key(w, key);
    isc_json_object_begin(w);
}

void isc_json_member_string(isc_json_writer *w, const char *key, const char *value)
{
    put_key(w, key);
    put_string(w, value);
}

void isc_json_member_u64(isc_json_writer *w, const char *key, uint64_t value)
{
    put_key(w, key);
    put_u64(w, value);
}

void isc_json_member_i64(isc_json_writer *w, const char *key, int64_t value)
{
    put_key(w, key);
    if (value < 0) {
        put_char(w, '-');
        /* -(value + 1) + 1 stays in range even for INT64_MIN. */
        put_u64(w, (uint64_t)(-(value + 1)) + 1u);
    } else {
        put_u64(w, (uint64_t)value);
    }
}

void isc_json_member_null(isc_json_writer *w, const char *key)
{
    put_key(w, key);
    put(w, "null", 4);
}

size_t isc_json_writer_finish(isc_json_writer *w)
{
    if (w->overflow) {
        if (w->cap > 0) {
            w->buf[0] = '\0';
        }
        return 0;
    }
    w->buf[w->len] = '\0';
    return w->len;
}
