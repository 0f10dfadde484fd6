/* Decodes every frame in vectors/ and checks it against vectors.tsv, the manifest the Python
 * bridge tests read too. ISC_VECTORS_DIR is set by CMakeLists.txt. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intrascribe/frame.h"
#include "test_support.h"

#define MAX_FRAME_FILE 8192
#define COLUMNS 9

static FILE *open_vector(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", ISC_VECTORS_DIR, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fail_msg("cannot open %s: %s", path, strerror(errno));
    }
    return f;
}

static uint64_t number(const char *field)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(field, &end, 10);
    if (errno != 0 || end == field || *end != '\0') {
        fail_msg("not a number in vectors.tsv: '%s'", field);
    }
    return (uint64_t)v;
}

static void check_row(char **col)
{
    static uint8_t buf[MAX_FRAME_FILE];
    FILE *f = open_vector(col[0]);
    size_t len = fread(buf, 1, sizeof(buf), f);
    fclose(f);

    isc_frame_header h;
    memset(&h, 0, sizeof(h));
    const uint8_t *payload = NULL;
    size_t payload_len = 0;
    isc_frame_status status = isc_frame_decode(buf, len, &h, &payload, &payload_len);
    print_message("  %-32s %s\n", col[0], isc_frame_status_name(status));

    if (strcmp(col[1], "ok") == 0) {
        assert_int_equal(status, ISC_FRAME_OK);
        assert_int_equal(payload_len, number(col[7]));
        assert_ptr_equal(payload, buf + ISC_FRAME_HEADER_BYTES);
        /* What decodes must re-encode to the same bytes. */
        static uint8_t again[MAX_FRAME_FILE];
        size_t again_len = 0;
        assert_int_equal(isc_frame_encode(&h, payload, payload_len, again, sizeof(again), &again_len), ISC_FRAME_OK);
        assert_int_equal(again_len, len);
        assert_memory_equal(again, buf, len);
    } else {
        assert_string_equal(col[1], "error");
        assert_string_equal(isc_frame_status_name(status), col[8]);
    }
    if (strcmp(col[2], "-") != 0) {
        /* Header fields are reported even for invalid frames that have a whole header. */
        assert_int_equal(h.version, number(col[2]));
        assert_int_equal(h.kind, number(col[3]));
        assert_int_equal(h.flags, number(col[4]));
        assert_int_equal(h.seq, number(col[5]));
        assert_true(h.capture_us == number(col[6]));
        assert_int_equal(len - ISC_FRAME_HEADER_BYTES, number(col[7]));
    } else {
        assert_true(len < ISC_FRAME_HEADER_BYTES);
    }
}

static void test_every_vector_decodes_as_the_manifest_says(void **state)
{
    (void)state;
    FILE *f = open_vector("vectors.tsv");
    char line[512];
    int rows = 0;
    int ok_rows = 0;
    static const char header[] = "file\texpect\tversion\tkind\tflags\tseq\tcapture_us\tpayload_bytes\terror_reason";
    assert_non_null(fgets(line, sizeof(line), f));
    assert_int_equal(strncmp(line, header, strlen(header)), 0);
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0') {
            continue;
        }
        char *col[COLUMNS];
        int n = 0;
        for (char *field = strtok(line, "\t"); field != NULL && n < COLUMNS; field = strtok(NULL, "\t")) {
            col[n++] = field;
        }
        assert_int_equal(n, COLUMNS);
        check_row(col);
        rows++;
        ok_rows += strcmp(col[1], "ok") == 0;
    }
    fclose(f);
    /* Guard against a manifest that silently lost its rows. */
    assert_true(rows >= 13);
    assert_true(ok_rows >= 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_vector_decodes_as_the_manifest_says),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
