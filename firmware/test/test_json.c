#include <stdlib.h>
#include <string.h>

#include "intrascribe/connection_details.h"
#include "intrascribe/control.h"
#include "intrascribe/json.h"
#include "test_support.h"

/* Records the members the reader reports. */
typedef struct {
    int count;
    char keys[8][ISC_JSON_MAX_KEY];
    isc_json_value values[8];
    int stop_after; /* 0: never stop */
} recorder;

static bool record(void *ctx, const char *key, const isc_json_value *value)
{
    recorder *r = ctx;
    if (r->count < 8) {
        strcpy(r->keys[r->count], key);
        r->values[r->count] = *value;
    }
    r->count++;
    return r->stop_after == 0 || r->count < r->stop_after;
}

static isc_json_status walk(const char *json, recorder *r)
{
    memset(r, 0, sizeof(*r));
    return isc_json_for_each_member(json, strlen(json), record, r);
}

static isc_json_status status_of(const char *json)
{
    recorder r;
    return walk(json, &r);
}

/* Decodes the single member of {"k": <value>} into out. */
static size_t decode_single(const char *json, char *out, size_t cap)
{
    recorder r;
    assert_int_equal(walk(json, &r), ISC_JSON_OK);
    assert_int_equal(r.count, 1);
    assert_int_equal(r.values[0].type, ISC_JSON_STRING);
    return isc_json_string_decode(&r.values[0], out, cap);
}

static void test_reports_members_with_types(void **state)
{
    (void)state;
    recorder r;
    assert_int_equal(walk(" {\"s\":\"x\", \"n\" : -12 ,\"t\":true,\"f\":false,\"z\":null,"
                          "\"o\":{\"a\":[1,{\"b\":2}]},\"a\":[]}\r\n",
                          &r),
                     ISC_JSON_OK);
    assert_int_equal(r.count, 7);
    assert_string_equal(r.keys[0], "s");
    assert_int_equal(r.values[0].type, ISC_JSON_STRING);
    assert_int_equal(r.values[0].text_len, 1);
    assert_int_equal(r.values[1].type, ISC_JSON_NUMBER);
    assert_true(r.values[1].is_integer);
    assert_int_equal(r.values[1].integer, -12);
    assert_int_equal(r.values[2].type, ISC_JSON_TRUE);
    assert_int_equal(r.values[3].type, ISC_JSON_FALSE);
    assert_int_equal(r.values[4].type, ISC_JSON_NULL);
    assert_int_equal(r.values[5].type, ISC_JSON_OBJECT);
    assert_int_equal(r.values[5].text_len, strlen("{\"a\":[1,{\"b\":2}]}"));
    assert_memory_equal(r.values[5].text, "{\"a\":[1,{\"b\":2}]}", r.values[5].text_len);
    assert_int_equal(r.values[6].type, ISC_JSON_ARRAY);
    assert_string_equal(r.keys[6], "a");
}

static void test_empty_object_and_duplicates(void **state)
{
    (void)state;
    recorder r;
    assert_int_equal(walk("{}", &r), ISC_JSON_OK);
    assert_int_equal(r.count, 0);
    assert_int_equal(walk("{ \"k\":1, \"k\":2 }", &r), ISC_JSON_OK);
    assert_int_equal(r.count, 2); /* both reported; callers keep the last */
    assert_int_equal(r.values[1].integer, 2);
}

static void test_keys_are_decoded_and_long_keys_truncated(void **state)
{
    (void)state;
    recorder r;
    assert_int_equal(walk("{\"\\u0074ype\":1, \"a\\\"b\":2}", &r), ISC_JSON_OK);
    assert_string_equal(r.keys[0], "type");
    assert_string_equal(r.keys[1], "a\"b");
    assert_int_equal(walk("{\"abcdefghijklmnopqrstuvwxyz0123456789\":1}", &r), ISC_JSON_OK);
    assert_int_equal(strlen(r.keys[0]), ISC_JSON_MAX_KEY - 1);
    assert_memory_equal(r.keys[0], "abcdefghijklmnopqrstuvwxyz01234", ISC_JSON_MAX_KEY - 1);
}

static void test_numbers(void **state)
{
    (void)state;
    struct {
        const char *json;
        bool is_integer;
        int64_t value;
    } cases[] = {
        {"{\"n\":0}", true, 0},
        {"{\"n\":-0}", true, 0},
        {"{\"n\":4294967295}", true, 4294967295LL},
        {"{\"n\":9223372036854775807}", true, INT64_MAX},
        {"{\"n\":-9223372036854775808}", true, INT64_MIN},
        {"{\"n\":9223372036854775808}", false, 0},
        {"{\"n\":-9223372036854775809}", false, 0},
        {"{\"n\":123456789012345678901234567890}", false, 0},
        {"{\"n\":41.0}", false, 0},
        {"{\"n\":1e3}", false, 0},
        {"{\"n\":-2.5E-3}", false, 0},
        {"{\"n\":1E+2}", false, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        recorder r;
        assert_int_equal(walk(cases[i].json, &r), ISC_JSON_OK);
        assert_int_equal(r.values[0].type, ISC_JSON_NUMBER);
        assert_int_equal(r.values[0].is_integer, cases[i].is_integer);
        if (cases[i].is_integer) {
            assert_true(r.values[0].integer == cases[i].value);
        }
    }
    const char *bad[] = {"{\"n\":01}", "{\"n\":-}", "{\"n\":1.}", "{\"n\":.5}", "{\"n\":1e}",
                         "{\"n\":+1}", "{\"n\":1e+}", "{\"n\":0x10}", "{\"n\":NaN}", "{\"n\":-Infinity}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(status_of(bad[i]), ISC_JSON_SYNTAX_ERROR);
    }
}

static void test_string_escapes_decode(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(decode_single("{\"k\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"}", out, sizeof(out)), 12);
    assert_string_equal(out, "a\"b\\c/d\b\f\n\r\t");
    assert_int_equal(decode_single("{\"k\":\"caf\\u00e9 \\u20AC\"}", out, sizeof(out)), 9);
    assert_string_equal(out, "caf\xc3\xa9 \xe2\x82\xac");
    assert_int_equal(decode_single("{\"k\":\"\\ud83d\\ude00\"}", out, sizeof(out)), 4);
    assert_string_equal(out, "\xf0\x9f\x98\x80");
    assert_int_equal(decode_single("{\"k\":\"raw \xc3\xa9\xf0\x9f\x98\x80\"}", out, sizeof(out)), 10);
    assert_string_equal(out, "raw \xc3\xa9\xf0\x9f\x98\x80");
    assert_int_equal(decode_single("{\"k\":\"\"}", out, sizeof(out)), 0);
    assert_string_equal(out, "");
}

static void test_string_decode_truncates_on_character_boundaries(void **state)
{
    (void)state;
    char out[8];
    memset(out, 'X', sizeof(out));
    /* "abcdef" + e-acute (2 bytes): 8 bytes; with 8 bytes of room only 7 fit beside the NUL. */
    assert_int_equal(decode_single("{\"k\":\"abcdef\\u00e9\"}", out, sizeof(out)), 8);
    assert_string_equal(out, "abcdef");
    assert_int_equal(decode_single("{\"k\":\"abcdefgh\"}", out, sizeof(out)), 8);
    assert_string_equal(out, "abcdefg");
    /* After a character that did not fit, smaller later ones are not squeezed in. */
    assert_int_equal(decode_single("{\"k\":\"abcde\\ud83d\\ude00z\"}", out, sizeof(out)), 10);
    assert_string_equal(out, "abcde");
    char one[1] = {'X'};
    assert_int_equal(decode_single("{\"k\":\"abc\"}", one, 1), 3);
    assert_int_equal(one[0], '\0');
    assert_int_equal(decode_single("{\"k\":\"abc\"}", NULL, 0), 3);
}

static void test_invalid_strings(void **state)
{
    (void)state;
    const char *bad[] = {
        "{\"k\":\"\\ud83d\"}",         /* lone high surrogate */
        "{\"k\":\"\\ud83dx\"}",        /* high surrogate then text */
        "{\"k\":\"\\ud83d\\u0041\"}",  /* high surrogate then a non-surrogate */
        "{\"k\":\"\\ude00\"}",         /* lone low surrogate */
        "{\"k\":\"a\\u0000b\"}",       /* NUL cannot live in a C string */
        "{\"k\":\"\\u12G4\"}",         /* bad hex */
        "{\"k\":\"\\u12\"}",           /* short \u */
        "{\"k\":\"\\x41\"}",           /* unknown escape */
        "{\"k\":\"a\tb\"}",            /* raw control character */
        "{\"k\":\"a\nb\"}",
        "{\"k\":\"unterminated}",
        "{\"k\":\"\xc3\x28\"}",        /* invalid UTF-8 continuation */
        "{\"k\":\"\xc0\xaf\"}",        /* overlong */
        "{\"k\":\"\xed\xa0\x80\"}",    /* UTF-8 encoded surrogate */
        "{\"k\":\"\xf4\x90\x80\x80\"}", /* past U+10FFFF */
        "{\"k\":\"\xe2\x82\"}",        /* truncated sequence */
        "{\"k\":\"\xff\"}",
        "{\"k\\u0000\":1}",            /* in a key, too */
        "{\"k\":\"\\ud83d\\nabcdef\"}",  /* high surrogate then another escape */
        "{\"k\":\"\\",                  /* text ends after a backslash */
        "{\"k\":\"\xe2",                 /* text ends inside a UTF-8 sequence */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(status_of(bad[i]), ISC_JSON_SYNTAX_ERROR);
    }
}

static void test_structure_errors(void **state)
{
    (void)state;
    assert_int_equal(status_of(""), ISC_JSON_NOT_AN_OBJECT);
    assert_int_equal(status_of("   "), ISC_JSON_NOT_AN_OBJECT);
    assert_int_equal(status_of("[]"), ISC_JSON_NOT_AN_OBJECT);
    assert_int_equal(status_of("\"config\""), ISC_JSON_NOT_AN_OBJECT);
    assert_int_equal(status_of("null"), ISC_JSON_NOT_AN_OBJECT);
    const char *bad[] = {
        "{",           "{\"a\"}",       "{\"a\":}",       "{\"a\" 1}",       "{\"a\":1,}",
        "{,\"a\":1}",  "{\"a\":1 \"b\":2}", "{a:1}",      "{'a':1}",         "{\"a\":1}}",
        "{\"a\":1} x", "{\"a\":[1,]}",  "{\"a\":[1 2]}",  "{\"a\":{\"b\"}}", "{\"a\":tru}",
        "{\"a\":nul}", "{\"a\":True}",  "{\"a\":[}",      "{\"a\":1}{}",
        "{\"a\":",      "{\"a\"",       "{\"a\":[1,",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(status_of(bad[i]), ISC_JSON_SYNTAX_ERROR);
    }
    assert_int_equal(isc_json_for_each_member(NULL, 0, record, NULL), ISC_JSON_SYNTAX_ERROR);
}

static void test_length_is_respected(void **state)
{
    (void)state;
    const char *json = "{\"a\":1}garbage";
    recorder r;
    memset(&r, 0, sizeof(r));
    assert_int_equal(isc_json_for_each_member(json, 7, record, &r), ISC_JSON_OK);
    assert_int_equal(isc_json_for_each_member(json, 6, record, &r), ISC_JSON_SYNTAX_ERROR);
    /* an embedded NUL is not the end of the text */
    const char with_nul[] = "{\"a\":1}\0";
    assert_int_equal(isc_json_for_each_member(with_nul, sizeof(with_nul), record, &r), ISC_JSON_SYNTAX_ERROR);
}

static void test_nesting_limit(void **state)
{
    (void)state;
    char json[128];
    /* Top-level object is depth 1; 15 nested arrays reach the limit of 16. */
    strcpy(json, "{\"a\":");
    for (int i = 0; i < ISC_JSON_MAX_DEPTH - 1; i++) {
        strcat(json, "[");
    }
    for (int i = 0; i < ISC_JSON_MAX_DEPTH - 1; i++) {
        strcat(json, "]");
    }
    strcat(json, "}");
    assert_int_equal(status_of(json), ISC_JSON_OK);

    strcpy(json, "{\"a\":");
    for (int i = 0; i < ISC_JSON_MAX_DEPTH; i++) {
        strcat(json, "[");
    }
    for (int i = 0; i < ISC_JSON_MAX_DEPTH; i++) {
        strcat(json, "]");
    }
    strcat(json, "}");
    assert_int_equal(status_of(json), ISC_JSON_TOO_DEEP);
}

static void test_callback_can_stop(void **state)
{
    (void)state;
    recorder r;
    memset(&r, 0, sizeof(r));
    r.stop_after = 2;
    const char *json = "{\"a\":1,\"b\":2,\"c\":3}";
    assert_int_equal(isc_json_for_each_member(json, strlen(json), record, &r), ISC_JSON_STOPPED);
    assert_int_equal(r.count, 2);
}

static void test_writer_builds_nested_objects(void **state)
{
    (void)state;
    char buf[128];
    isc_json_writer w;
    isc_json_writer_init(&w, buf, sizeof(buf));
    isc_json_object_begin(&w);
    isc_json_member_string(&w, "s", "x");
    isc_json_member_object_begin(&w, "o");
    isc_json_member_u64(&w, "u", UINT64_MAX);
    isc_json_member_i64(&w, "min", INT64_MIN);
    isc_json_object_end(&w);
    isc_json_member_i64(&w, "neg", -58);
    isc_json_member_i64(&w, "zero", 0);
    isc_json_member_null(&w, "z");
    isc_json_object_end(&w);
    size_t len = isc_json_writer_finish(&w);
    const char *expected = "{\"s\":\"x\",\"o\":{\"u\":18446744073709551615,\"min\":-9223372036854775808},"
                           "\"neg\":-58,\"zero\":0,\"z\":null}";
    assert_string_equal(buf, expected);
    assert_int_equal(len, strlen(expected));
}

static void test_writer_escapes_strings(void **state)
{
    (void)state;
    char buf[128];
    isc_json_writer w;
    isc_json_writer_init(&w, buf, sizeof(buf));
    isc_json_object_begin(&w);
    isc_json_member_string(&w, "k\"", "q\" b\\ n\n r\r t\t \x01 \x1f caf\xc3\xa9");
    isc_json_object_end(&w);
    assert_true(isc_json_writer_finish(&w) > 0);
    assert_string_equal(buf, "{\"k\\\"\":\"q\\\" b\\\\ n\\n r\\r t\\t \\u0001 \\u001f caf\xc3\xa9\"}");

    /* What the writer escapes, the reader decodes back. */
    recorder r;
    assert_int_equal(walk(buf, &r), ISC_JSON_OK);
    char out[64];
    isc_json_string_decode(&r.values[0], out, sizeof(out));
    assert_string_equal(out, "q\" b\\ n\n r\r t\t \x01 \x1f caf\xc3\xa9");
}

static void test_writer_reports_overflow(void **state)
{
    (void)state;
    char buf[8];
    isc_json_writer w;
    /* {"a":1} is 7 bytes: fits with its NUL in 8, not in 7. */
    isc_json_writer_init(&w, buf, 8);
    isc_json_object_begin(&w);
    isc_json_member_u64(&w, "a", 1);
    isc_json_object_end(&w);
    assert_int_equal(isc_json_writer_finish(&w), 7);
    assert_string_equal(buf, "{\"a\":1}");

    isc_json_writer_init(&w, buf, 7);
    isc_json_object_begin(&w);
    isc_json_member_u64(&w, "a", 1);
    isc_json_object_end(&w);
    assert_int_equal(isc_json_writer_finish(&w), 0);
    assert_true(w.overflow);
    assert_string_equal(buf, "");

    isc_json_writer_init(&w, NULL, 0);
    isc_json_object_begin(&w);
    assert_int_equal(isc_json_writer_finish(&w), 0);
}

/* Mutated and truncated real messages: whatever the bridge sends, the parsers must neither
 * crash nor read out of bounds (the sanitizer build checks the latter). */
static void test_mutated_messages_are_handled_safely(void **state)
{
    (void)state;
    static const char *const seeds[] = {
        "{\"type\":\"config\",\"protocol\":1,\"session_id\":\"s\\u00e9\",\"room\":\"r\",\"heartbeat_s\":10,"
        "\"last_seq\":41,\"x\":[{\"y\":null},1.5e3,true]}",
        "{\"serverUrl\":\"wss://h\",\"participantToken\":\"a.b.c\",\"roomName\":\"\\ud83d\\ude00\"}",
    };
    uint32_t x = 1;
    char buf[256];
    for (int round = 0; round < 20000; round++) {
        const char *seed = seeds[round % 2];
        size_t len = strlen(seed);
        memcpy(buf, seed, len);
        for (int m = 0; m < 1 + round % 4; m++) {
            x = x * 1664525u + 1013904223u;
            buf[(x >> 8) % len] = (char)(x >> 24);
        }
        x = x * 1664525u + 1013904223u;
        size_t cut = (x >> 16) % (len + 1);
        /* Exactly sized heap copy, so the sanitizer sees any read past the text. */
        char *text = malloc(cut > 0 ? cut : 1);
        assert_non_null(text);
        memcpy(text, buf, cut);
        isc_control_msg msg;
        if (isc_control_parse(text, cut, &msg) == ISC_CONTROL_OK) {
            assert_true(strlen(msg.type_name) < sizeof(msg.type_name));
            assert_true(strlen(msg.config.room) < sizeof(msg.config.room));
        }
        static isc_connection_details details;
        if (isc_connection_details_parse(text, cut, &details) == ISC_DETAILS_OK) {
            assert_true(strlen(details.participant_token) > 0);
        }
        free(text);
    }
}

static void test_pick_members_finds_named_members_in_any_order(void **state)
{
    (void)state;
    const char *names[] = {"b", "a", "missing"};
    bool present[3] = {true, true, true};
    isc_json_value values[3];
    const char *json = "{\"a\":1,\"x\":{\"b\":9},\"b\":\"two\",\"a\":3}";
    assert_int_equal(isc_json_pick_members(json, strlen(json), names, 3, present, values), ISC_JSON_OK);
    assert_true(present[0] && present[1]);
    assert_false(present[2]); /* cleared, not left from before */
    assert_int_equal(values[0].type, ISC_JSON_STRING);
    assert_int_equal(values[1].integer, 3); /* a later duplicate wins */
    assert_int_equal(isc_json_pick_members("[1]", 3, names, 3, present, values), ISC_JSON_NOT_AN_OBJECT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reports_members_with_types),
        cmocka_unit_test(test_empty_object_and_duplicates),
        cmocka_unit_test(test_keys_are_decoded_and_long_keys_truncated),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_string_escapes_decode),
        cmocka_unit_test(test_string_decode_truncates_on_character_boundaries),
        cmocka_unit_test(test_invalid_strings),
        cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_length_is_respected),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_callback_can_stop),
        cmocka_unit_test(test_pick_members_finds_named_members_in_any_order),
        cmocka_unit_test(test_writer_builds_nested_objects),
        cmocka_unit_test(test_writer_escapes_strings),
        cmocka_unit_test(test_writer_reports_overflow),
        cmocka_unit_test(test_mutated_messages_are_handled_safely),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
