#include <string.h>

#include "intrascribe/json.h"

typedef struct {
    const char *p;
    const char *end;
} cursor;

/* Where decoded string bytes go; buf may be NULL when only validating. */
typedef struct {
    char *buf;
    size_t cap;
    size_t len;     /* full decoded length */
    size_t written; /* bytes actually stored: a prefix of whole characters */
    bool full;
} sink;

static void sink_put(sink *s, const char *bytes, size_t n)
{
    /* Once one character does not fit, nothing after it is stored either: the stored text stays a
     * prefix of the real one. One byte is always kept for the terminating NUL. */
    if (s->buf != NULL && !s->full) {
        if (s->len + n < s->cap) {
            memcpy(s->buf + s->len, bytes, n);
            s->written = s->len + n;
        } else {
            s->full = true;
        }
    }
    s->len += n;
}

static void sink_put_code_point(sink *s, uint32_t cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    sink_put(s, b, n);
}

static void skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) {
        c->p++;
    }
}

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

/* Reads "uXXXX" (the backslash already consumed). */
static bool read_u_escape(const char **pp, const char *end, uint32_t *out)
{
    const char *p = *pp;
    if (end - p < 5 || p[0] != 'u') {
        return false;
    }
    uint32_t v = 0;
    for (int i = 1; i <= 4; i++) {
        int h = hex_value(p[i]);
        if (h < 0) {
            return false;
        }
        v = (v << 4) | (uint32_t)h;
    }
    *pp = p + 5;
    *out = v;
    return true;
}

/* Length of the valid UTF-8 sequence at p (no overlong forms, surrogates or values past
 * U+10FFFF), or 0. */
static size_t utf8_sequence_len(const unsigned char *p, const unsigned char *end)
{
    size_t n;
    uint32_t cp;
    uint32_t min;
    if (p[0] < 0x80) {
        return 1;
    } else if ((p[0] & 0xE0) == 0xC0) {
        n = 2, cp = p[0] & 0x1Fu, min = 0x80;
    } else if ((p[0] & 0xF0) == 0xE0) {
        n = 3, cp = p[0] & 0x0Fu, min = 0x800;
    } else if ((p[0] & 0xF8) == 0xF0) {
        n = 4, cp = p[0] & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (p[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return n;
}

/* Walks string content from p until an unescaped quote or `end`, decoding into s. Returns where
 * it stopped, or NULL if the content is invalid. */
static const char *walk_string_body(const char *p, const char *end, sink *s)
{
    while (p < end && *p != '"') {
        unsigned char ch = (unsigned char)*p;
        if (ch < 0x20) {
            return NULL; /* control characters must be escaped */
        }
        if (ch != '\\') {
            size_t n = utf8_sequence_len((const unsigned char *)p, (const unsigned char *)end);
            if (n == 0) {
                return NULL;
            }
            sink_put(s, p, n);
            p += n;
            continue;
        }
        p++; /* backslash */
        if (p >= end) {
            return NULL;
        }
        char decoded;
        switch (*p) {
        case '"':
            decoded = '"';
            break;
        case '\\':
            decoded = '\\';
            break;
        case '/':
            decoded = '/';
            break;
        case 'b':
            decoded = '\b';
            break;
        case 'f':
            decoded = '\f';
            break;
        case 'n':
            decoded = '\n';
            break;
        case 'r':
            decoded = '\r';
            break;
        case 't':
            decoded = '\t';
            break;
        case 'u': {
            uint32_t cp;
            if (!read_u_escape(&p, end, &cp) || cp == 0 || (cp >= 0xDC00 && cp <= 0xDFFF)) {
                return NULL; /* bad hex, \u0000, or a low surrogate on its own */
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                uint32_t low;
                if (end - p < 6 || p[0] != '\\') {
                    return NULL;
                }
                p++;
                if (!read_u_escape(&p, end, &low) || low < 0xDC00 || low > 0xDFFF) {
                    return NULL;
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            }
            sink_put_code_point(s, cp);
            continue; /* read_u_escape advanced p */
        }
        default:
            return NULL;
        }
        sink_put(s, &decoded, 1);
        p++;
    }
    return p;
}

/* At an opening quote: validates the string and leaves c after the closing quote. */
static bool scan_string(cursor *c, sink *s, const char **body, size_t *body_len)
{
    const char *start = c->p + 1;
    const char *stop = walk_string_body(start, c->end, s);
    if (stop == NULL || stop >= c->end) {
        return false; /* invalid content or no closing quote */
    }
    *body = start;
    *body_len = (size_t)(stop - start);
    c->p = stop + 1;
    return true;
}

static bool scan_number(cursor *c, isc_json_value *v)
{
    const char *p = c->p;
    bool negative = false;
    bool overflow = false;
    uint64_t magnitude = 0;

    if (p < c->end && *p == '-') {
        negative = true;
        p++;
    }
    if (p >= c->end || !is_digit(*p)) {
        return false;
    }
    if (*p == '0') {
        p++; /* no leading zeros: "01" stops here and fails at the caller */
    } else {
        while (p < c->end && is_digit(*p)) {
            uint64_t digit = (uint64_t)(*p - '0');
            if (magnitude > (UINT64_MAX - digit) / 10) {
                overflow = true;
            } else {
                magnitude = magnitude * 10 + digit;
            }
            p++;
        }
    }
    bool integral = true;
    if (p < c->end && *p == '.') {
        p++;
        if (p >= c->end || !is_digit(*p)) {
            return false;
        }
        while (p < c->end && is_digit(*p)) {
            p++;
        }
        integral = false;
    }
    if (p < c->end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < c->end && (*p == '+' || *p == '-')) {
            p++;
        }
        if (p >= c->end || !is_digit(*p)) {
            return false;
        }
        while (p < c->end && is_digit(*p)) {
            p++;
        }
        integral = false;
    }
    const uint64_t int64_limit = (uint64_t)INT64_MAX + (negative ? 1u : 0u);
    v->type = ISC_JSON_NUMBER;
    v->is_integer = integral && !overflow && magnitude <= int64_limit;
    v->integer = 0;
    if (v->is_integer) {
        /* -(m - 1) - 1 reaches INT64_MIN without ever converting an out-of-range value. */
        v->integer = (negative && magnitude > 0) ? -(int64_t)(magnitude - 1) - 1 : (int64_t)magnitude;
    }
    c->p = p;
    return true;
}

static bool scan_literal(cursor *c, const char *word, isc_json_type type, isc_json_value *v)
{
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0) {
        return false;
    }
    c->p += n;
    v->type = type;
    return true;
}

static isc_json_status parse_container(cursor *c, int depth, isc_json_member_fn on_member, void *ctx);

static isc_json_status parse_value(cursor *c, isc_json_value *v, int depth)
{
    memset(v, 0, sizeof(*v));
    skip_ws(c);
    if (c->p >= c->end) {
        return ISC_JSON_SYNTAX_ERROR;
    }
    const char *start = c->p;
    bool ok;
    switch (*c->p) {
    case '{':
    case '[': {
        if (depth + 1 > ISC_JSON_MAX_DEPTH) {
            return ISC_JSON_TOO_DEEP;
        }
        v->type = *c->p == '{' ? ISC_JSON_OBJECT : ISC_JSON_ARRAY;
        isc_json_status status = parse_container(c, depth + 1, NULL, NULL);
        if (status != ISC_JSON_OK) {
            return status;
        }
        v->text = start;
        v->text_len = (size_t)(c->p - start);
        return ISC_JSON_OK;
    }
    case '"': {
        sink validate_only = {0};
        v->type = ISC_JSON_STRING;
        return scan_string(c, &validate_only, &v->text, &v->text_len) ? ISC_JSON_OK : ISC_JSON_SYNTAX_ERROR;
    }
    case 't':
        ok = scan_literal(c, "true", ISC_JSON_TRUE, v);
        break;
    case 'f':
        ok = scan_literal(c, "false", ISC_JSON_FALSE, v);
        break;
    case 'n':
        ok = scan_literal(c, "null", ISC_JSON_NULL, v);
        break;
    default:
        ok = scan_number(c, v);
        break;
    }
    if (!ok) {
        return ISC_JSON_SYNTAX_ERROR;
    }
    v->text = start;
    v->text_len = (size_t)(c->p - start);
    return ISC_JSON_OK;
}

/* At '{' or '[': parses through the matching bracket. Members of an object are reported to
 * on_member when it is not NULL. */
static isc_json_status parse_container(cursor *c, int depth, isc_json_member_fn on_member, void *ctx)
{
    const bool is_object = *c->p == '{';
    const char close = is_object ? '}' : ']';
    c->p++;
    skip_ws(c);
    if (c->p < c->end && *c->p == close) {
        c->p++;
        return ISC_JSON_OK;
    }
    for (;;) {
        char key[ISC_JSON_MAX_KEY] = "";
        if (is_object) {
            skip_ws(c);
            if (c->p >= c->end || *c->p != '"') {
                return ISC_JSON_SYNTAX_ERROR;
            }
            sink key_sink = {.buf = key, .cap = sizeof(key)};
            const char *body;
            size_t body_len;
            if (!scan_string(c, &key_sink, &body, &body_len)) {
                return ISC_JSON_SYNTAX_ERROR;
            }
            key[key_sink.written] = '\0';
            skip_ws(c);
            if (c->p >= c->end || *c->p != ':') {
                return ISC_JSON_SYNTAX_ERROR;
            }
            c->p++;
        }
        isc_json_value value;
        isc_json_status status = parse_value(c, &value, depth);
        if (status != ISC_JSON_OK) {
            return status;
        }
        if (is_object && on_member != NULL && !on_member(ctx, key, &value)) {
            return ISC_JSON_STOPPED;
        }
        skip_ws(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == close) {
            c->p++;
            return ISC_JSON_OK;
        }
        return ISC_JSON_SYNTAX_ERROR;
    }
}

isc_json_status isc_json_for_each_member(const char *json, size_t len, isc_json_member_fn on_member, void *ctx)
{
    if (json == NULL) {
        return ISC_JSON_SYNTAX_ERROR;
    }
    cursor c = {.p = json, .end = json + len};
    skip_ws(&c);
    if (c.p >= c.end || *c.p != '{') {
        return ISC_JSON_NOT_AN_OBJECT;
    }
    isc_json_status status = parse_container(&c, 1, on_member, ctx);
    if (status != ISC_JSON_OK) {
        return status;
    }
    skip_ws(&c);
    return c.p == c.end ? ISC_JSON_OK : ISC_JSON_SYNTAX_ERROR;
}

size_t isc_json_string_decode(const isc_json_value *value, char *out, size_t cap)
{
    sink s = {.buf = out, .cap = cap};
    if (value->type == ISC_JSON_STRING) {
        /* Already validated by the reader, so the walk cannot fail. */
        (void)walk_string_body(value->text, value->text + value->text_len, &s);
    }
    if (cap > 0) {
        out[s.written] = '\0';
    }
    return s.len;
}

typedef struct {
    const char *const *names;
    size_t count;
    bool *present;
    isc_json_value *values;
} picker;

static bool pick(void *ctx, const char *key, const isc_json_value *value)
{
    picker *p = ctx;
    for (size_t i = 0; i < p->count; i++) {
        if (strcmp(key, p->names[i]) == 0) {
            p->present[i] = true;
            p->values[i] = *value;
            break;
        }
    }
    return true;
}

isc_json_status isc_json_pick_members(const char *json, size_t len, const char *const *names, size_t count, bool *present,
                                      isc_json_value *values)
{
    memset(present, 0, count * sizeof(*present));
    memset(values, 0, count * sizeof(*values));
    picker p = {names, count, present, values};
    return isc_json_for_each_member(json, len, pick, &p);
}
