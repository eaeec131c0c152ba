/* check_compress.c — unit tests of the precompressed variants
 * (prep_compress.c): every variant decodes to the bytes it was made from,
 * small files and huge ones (split over the cores, pieces joined into one
 * gzip member), and a variant that would save too little is not made. */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#include <brotli/decode.h>

#include "prep.h"
#include "test_prep.h"

/* CSV-like text: compressible, but not a run of one byte. */
static unsigned char *csv_text(size_t len)
{
    unsigned char *b = malloc(len);
    size_t i = 0;
    unsigned row = 0;

    ck_assert_ptr_nonnull(b);
    while (i < len) {
        char line[128];
        int n = snprintf(line, sizeof(line),
                         "'22-%05uB','%07u',22,\"QUERÉTARO\",%u,%u,%u,%u\r\n",
                         row % 99991, row, row % 15, (row * 7919) % 751,
                         (row * 104729) % 331, (row * 1299709) % 97);
        size_t take = (size_t)n < len - i ? (size_t)n : len - i;
        memcpy(b + i, line, take);
        i += take;
        row++;
    }
    return b;
}

static void assert_gunzips_to(const unsigned char *gz, size_t gz_len,
                              const unsigned char *data, size_t len)
{
    unsigned char *out = malloc(len + 1);
    z_stream z;

    ck_assert_ptr_nonnull(out);
    memset(&z, 0, sizeof(z));
    ck_assert_int_eq(inflateInit2(&z, 15 + 16), Z_OK); /* gzip only */
    z.next_in = (Bytef *)gz;
    z.avail_in = (uInt)gz_len;
    z.next_out = out;
    z.avail_out = (uInt)len + 1;
    ck_assert_int_eq(inflate(&z, Z_FINISH), Z_STREAM_END);
    ck_assert_uint_eq(z.total_out, len);
    ck_assert_uint_eq(z.avail_in, 0); /* one member, nothing after it */
    inflateEnd(&z);
    ck_assert(memcmp(out, data, len) == 0);
    free(out);
}

static void assert_unbrotlis_to(const unsigned char *br, size_t br_len,
                                const unsigned char *data, size_t len)
{
    size_t out_len = len + 1;
    unsigned char *out = malloc(out_len);

    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(BrotliDecoderDecompress(br_len, br, &out_len, out),
                     BROTLI_DECODER_RESULT_SUCCESS);
    ck_assert_uint_eq(out_len, len);
    ck_assert(memcmp(out, data, len) == 0);
    free(out);
}

static void round_trip(size_t len)
{
    unsigned char *data = csv_text(len), *gz, *br;
    size_t gz_len, br_len;

    gz = prep_compress(PREP_ENC_GZIP, data, len, &gz_len);
    ck_assert_ptr_nonnull(gz);
    ck_assert_uint_lt(gz_len, len / 2);
    assert_gunzips_to(gz, gz_len, data, len);
    br = prep_compress(PREP_ENC_BR, data, len, &br_len);
    ck_assert_ptr_nonnull(br);
    ck_assert_uint_lt(br_len, len / 2);
    assert_unbrotlis_to(br, br_len, data, len);
    free(gz);
    free(br);
    free(data);
}

START_TEST(small_file_round_trip)
{
    round_trip(430);   /* a casilla's JSON */
    round_trip(23000); /* json/main.json */
}
END_TEST

START_TEST(large_file_round_trip)
{
    round_trip(3 * 1024 * 1024 + 17);
}
END_TEST

/* Over 16 MB: gzip in pieces on every core; the last piece short. */
START_TEST(huge_file_round_trip)
{
    round_trip(17 * 1024 * 1024 + 12345);
}
END_TEST

START_TEST(no_variant_when_it_saves_too_little)
{
    unsigned char data[4096];
    size_t i, out_len;
    unsigned int x = 12345;

    for (i = 0; i < sizeof(data); i++) { /* noise: does not compress */
        x = x * 1103515245u + 12345u;
        data[i] = (unsigned char)(x >> 16);
    }
    ck_assert_ptr_null(
        prep_compress(PREP_ENC_GZIP, data, sizeof(data), &out_len));
    ck_assert_ptr_null(
        prep_compress(PREP_ENC_BR, data, sizeof(data), &out_len));
    ck_assert_ptr_null(prep_compress(PREP_ENC_GZIP, "tiny", 4, &out_len));
}
END_TEST

Suite *suite_compress(void)
{
    Suite *s = suite_create("compress");
    TCase *tc = tcase_create("variants");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, small_file_round_trip);
    tcase_add_test(tc, large_file_round_trip);
    tcase_add_test(tc, huge_file_round_trip);
    tcase_add_test(tc, no_variant_when_it_saves_too_little);
    suite_add_tcase(s, tc);
    return s;
}
