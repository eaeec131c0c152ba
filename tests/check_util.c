/* check_util.c — unit tests of the small pieces of the core library: civil
 * dates, hex (prep_util.c), times written in a fixed zone (prep_zone.c),
 * Content-Types (prep_mime.c) and the precompressed variants
 * (prep_compress.c).  The parsers of directive values are in
 * check_feed.c. */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <brotli/decode.h>
#include <zlib.h>

#include "prep.h"
#include "test_prep.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

/* 2024-06-02T21:05:00-06:00 */
#define CORTE_SEC APR_INT64_C(1717383900)

/* ------------------------------------------------------------------ */
/* civil dates */

START_TEST(civil_dates_are_valid_only_as_the_calendar_has_them)
{
    ck_assert(prep_civil_valid(2024, 6, 2, 21, 5, 0));
    ck_assert(prep_civil_valid(1970, 1, 1, 0, 0, 0));
    ck_assert(prep_civil_valid(9999, 12, 31, 23, 59, 59));
    ck_assert(prep_civil_valid(2024, 2, 29, 0, 0, 0));
    ck_assert(prep_civil_valid(2000, 2, 29, 0, 0, 0));
    ck_assert(prep_civil_valid(2023, 1, 31, 0, 0, 0));
    ck_assert(prep_civil_valid(2023, 12, 31, 0, 0, 0));
    ck_assert(!prep_civil_valid(2023, 2, 29, 0, 0, 0));
    ck_assert(!prep_civil_valid(2100, 2, 29, 0, 0, 0));
    ck_assert(!prep_civil_valid(2024, 2, 30, 0, 0, 0));
    ck_assert(!prep_civil_valid(2024, 4, 31, 0, 0, 0));
    ck_assert(!prep_civil_valid(2024, 6, 31, 0, 0, 0));
    ck_assert(!prep_civil_valid(2024, 9, 31, 0, 0, 0));
    ck_assert(!prep_civil_valid(2024, 11, 31, 0, 0, 0));
    ck_assert(!prep_civil_valid(2024, 0, 1, 0, 0, 0));
    ck_assert(!prep_civil_valid(2024, 13, 1, 0, 0, 0));
    ck_assert(!prep_civil_valid(2024, 1, 0, 0, 0, 0));
    ck_assert(!prep_civil_valid(2024, 1, 32, 0, 0, 0));
    ck_assert(!prep_civil_valid(2024, 1, 1, 24, 0, 0));
    ck_assert(!prep_civil_valid(2024, 1, 1, -1, 0, 0));
    ck_assert(!prep_civil_valid(2024, 1, 1, 0, 60, 0));
    ck_assert(!prep_civil_valid(2024, 1, 1, 0, -1, 0));
    ck_assert(!prep_civil_valid(2024, 1, 1, 0, 0, 61));
    ck_assert(!prep_civil_valid(2024, 1, 1, 0, 0, -1));
    ck_assert(!prep_civil_valid(1969, 12, 31, 23, 59, 59));
    ck_assert(!prep_civil_valid(10000, 1, 1, 0, 0, 0));
}
END_TEST

START_TEST(civil_times_convert_as_apr_converts_them)
{
    ck_assert_int_eq(prep_civil_to_time(1970, 1, 1, 0, 0, 0, 0), 0);
    ck_assert_int_eq(prep_civil_to_time(1970, 1, 2, 0, 0, 0, 0),
                     apr_time_from_sec(86400));
    ck_assert_int_eq(prep_civil_to_time(2024, 6, 2, 21, 5, 0, -6 * 3600),
                     apr_time_from_sec(CORTE_SEC));
    ck_assert_int_eq(prep_civil_to_time(2024, 6, 3, 3, 5, 0, 0),
                     apr_time_from_sec(CORTE_SEC));
    ck_assert_int_eq(prep_civil_to_time(2024, 6, 3, 8, 35, 0, 19800),
                     apr_time_from_sec(CORTE_SEC));
    ck_assert_int_eq(prep_civil_to_time(2024, 2, 29, 12, 0, 0, 0),
                     apr_time_from_sec(1709208000));
    ck_assert_int_eq(prep_civil_to_time(2024, 3, 1, 12, 0, 0, 0),
                     apr_time_from_sec(1709208000 + 86400));
    ck_assert_int_eq(prep_civil_to_time(9999, 12, 31, 23, 59, 59, 0),
                     apr_time_from_sec(APR_INT64_C(253402300799)));
    /* agrees with APR's own conversion over many days */
    {
        apr_time_t t;
        apr_time_exp_t tm;
        int day;

        for (day = 0; day < 40000; day += 37) {
            t = apr_time_from_sec((apr_int64_t)day * 86400 + 3723);
            apr_time_exp_gmt(&tm, t);
            ck_assert_int_eq(
                prep_civil_to_time(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                                   tm.tm_hour, tm.tm_min, tm.tm_sec, 0),
                t);
        }
    }
}
END_TEST

START_TEST(hex_is_two_lowercase_digits_per_byte)
{
    static const unsigned char bytes[] = {0x00, 0x01, 0x7f, 0x80,
                                          0xab, 0xcd, 0xef, 0xff};

    ck_assert_str_eq(prep_hex(pool, bytes, sizeof(bytes)), "00017f80abcdefff");
    ck_assert_str_eq(prep_hex(pool, bytes, 1), "00");
    ck_assert_str_eq(prep_hex(pool, bytes + 4, 3), "abcdef");
    ck_assert_str_eq(prep_hex(pool, bytes, 0), "");
}
END_TEST

/* ------------------------------------------------------------------ */
/* zones */

START_TEST(times_are_written_in_the_zone_and_read_back)
{
    prep_zone_t centro = {-21600, "Tiempo del Centro"};
    prep_zone_t pacifico = {-25200, "Tiempo del Pacífico"};
    prep_zone_t india = {19800, "IST"};
    prep_zone_t utc = {0, "UTC"};
    prep_zone_t half = {-9000, "Terranova"};
    apr_time_t t = apr_time_from_sec(CORTE_SEC), back;

    ck_assert_str_eq(prep_zone_offset_text(pool, &centro), "-06:00");
    ck_assert_str_eq(prep_zone_offset_text(pool, &pacifico), "-07:00");
    ck_assert_str_eq(prep_zone_offset_text(pool, &india), "+05:30");
    ck_assert_str_eq(prep_zone_offset_text(pool, &utc), "+00:00");
    ck_assert_str_eq(prep_zone_offset_text(pool, &half), "-02:30");

    ck_assert_str_eq(prep_time_iso(pool, t, &centro),
                     "2024-06-02T21:05:00-06:00");
    ck_assert_str_eq(prep_time_iso(pool, t, &pacifico),
                     "2024-06-02T20:05:00-07:00");
    ck_assert_str_eq(prep_time_iso(pool, t, &india),
                     "2024-06-03T08:35:00+05:30");
    ck_assert_str_eq(prep_time_iso(pool, t, &utc), "2024-06-03T03:05:00+00:00");
    ck_assert_str_eq(prep_time_iso(pool, t + apr_time_from_sec(59), &centro),
                     "2024-06-02T21:05:59-06:00");
    ck_assert_str_eq(prep_time_iso(pool, 0, &centro),
                     "1969-12-31T18:00:00-06:00");
    /* what prep_time_iso writes, prep_parse_iso_time reads back */
    ck_assert_ptr_null(
        prep_parse_iso_time(&back, prep_time_iso(pool, t, &half)));
    ck_assert_int_eq(back, t);
    ck_assert_ptr_null(
        prep_parse_iso_time(&back, prep_time_iso(pool, t, &india)));
    ck_assert_int_eq(back, t);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Content-Types */

START_TEST(content_type_compression_and_html_follow_the_extension)
{
    static const struct {
        const char *path, *type;
        int compressible, html;
    } cases[] = {
        {"index.html", "text/html; charset=utf-8", 1, 1},
        {"a/b/page.htm", "text/html; charset=utf-8", 1, 1},
        {"INDEX.HTML", "text/html; charset=utf-8", 1, 1},
        {"json/main.json", "application/json", 1, 0},
        {"datos/PRES_2024.csv", "text/csv; charset=utf-8", 1, 0},
        {"js/app.js", "text/javascript; charset=utf-8", 1, 0},
        {"js/mod.mjs", "text/javascript; charset=utf-8", 1, 0},
        {"css/site.css", "text/css; charset=utf-8", 1, 0},
        {"img/logo.svg", "image/svg+xml", 1, 0},
        {"img/logo.png", "image/png", 0, 0},
        {"img/foto.jpg", "image/jpeg", 0, 0},
        {"img/foto.JPEG", "image/jpeg", 0, 0},
        {"img/anim.gif", "image/gif", 0, 0},
        {"img/x.webp", "image/webp", 0, 0},
        {"favicon.ico", "image/x-icon", 0, 0},
        {"fonts/a.woff", "font/woff", 0, 0},
        {"fonts/a.woff2", "font/woff2", 0, 0},
        {"LEEME.txt", "text/plain; charset=utf-8", 1, 0},
        {"sitemap.xml", "application/xml", 1, 0},
        {"js/app.js.map", "application/json", 1, 0},
        {"descargas/todo.zip", "application/zip", 0, 0},
        {"docs/acta.pdf", "application/pdf", 0, 0},
        /* unknown */
        {"README", "application/octet-stream", 0, 0},
        {"archivo.xyz", "application/octet-stream", 0, 0},
        {"archivo.tar.gz", "application/octet-stream", 0, 0},
        {"archivo.", "application/octet-stream", 0, 0},
        {"dir.html/archivo", "application/octet-stream", 0, 0},
        {"page.html.bak", "application/octet-stream", 0, 0},
        {"page.xhtml", "application/octet-stream", 0, 0},
        {"", "application/octet-stream", 0, 0},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_msg(!strcmp(prep_mime_type(cases[i].path), cases[i].type),
                      "%s: %s, not %s", cases[i].path,
                      prep_mime_type(cases[i].path), cases[i].type);
        ck_assert_msg(prep_mime_compressible(cases[i].path) ==
                          cases[i].compressible,
                      "%s: compressible %d", cases[i].path,
                      prep_mime_compressible(cases[i].path));
        ck_assert_msg(prep_mime_is_html(cases[i].path) == cases[i].html,
                      "%s: html %d", cases[i].path,
                      prep_mime_is_html(cases[i].path));
    }
    /* text types carry the charset, the others do not */
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *t = prep_mime_type(cases[i].path);
        ck_assert_msg(!strncmp(t, "text/", 5) ==
                          (strstr(t, "; charset=utf-8") != NULL),
                      "%s: %s", cases[i].path, t);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* precompressed variants */

/* Text that compresses well: a CSV of `rows` lines. */
static char *csv_text(size_t rows, size_t *len)
{
    char *s = apr_palloc(pool, rows * 64 + 1), *o = s;
    size_t i;

    for (i = 0; i < rows; i++) {
        o += apr_snprintf(o, 64, "%lu,\"Querétaro\",%lu,%lu,PAN,PRI,MORENA\r\n",
                          (unsigned long)i, (unsigned long)(i * 7 % 1000),
                          (unsigned long)(i * 13 % 97));
    }
    *len = (size_t)(o - s);
    return s;
}

/* Bytes that do not compress (xorshift). */
static unsigned char *noise(size_t len)
{
    unsigned char *s = apr_palloc(pool, len);
    apr_uint64_t x = APR_UINT64_C(88172645463325252);
    size_t i;

    for (i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s[i] = (unsigned char)(x >> 24);
    }
    return s;
}

static unsigned char *gunzip(const unsigned char *in, size_t in_len,
                             size_t expect)
{
    unsigned char *out = apr_palloc(pool, expect + 16);
    z_stream z;
    int rc;

    memset(&z, 0, sizeof(z));
    ck_assert_int_eq(inflateInit2(&z, 15 + 16), Z_OK); /* gzip only */
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)in_len;
    z.next_out = out;
    z.avail_out = (uInt)(expect + 16);
    rc = inflate(&z, Z_FINISH);
    ck_assert_int_eq(rc, Z_STREAM_END);
    ck_assert_uint_eq(z.total_out, expect);
    ck_assert_uint_eq(z.avail_in, 0);
    inflateEnd(&z);
    return out;
}

static unsigned char *unbrotli(const unsigned char *in, size_t in_len,
                               size_t expect)
{
    size_t out_len = expect + 16;
    unsigned char *out = apr_palloc(pool, out_len);

    ck_assert_int_eq(BrotliDecoderDecompress(in_len, in, &out_len, out),
                     BROTLI_DECODER_RESULT_SUCCESS);
    ck_assert_uint_eq(out_len, expect);
    return out;
}

static void round_trip(const void *data, size_t len)
{
    size_t glen = 0, blen = 0;
    unsigned char *gz = prep_compress(PREP_ENC_GZIP, data, len, &glen);
    unsigned char *br = prep_compress(PREP_ENC_BR, data, len, &blen);

    ck_assert_ptr_nonnull(gz);
    ck_assert_ptr_nonnull(br);
    /* a real saving, and gzip's magic */
    ck_assert_uint_lt(glen * 100, len * 90);
    ck_assert_uint_lt(blen * 100, len * 90);
    ck_assert_uint_eq(gz[0], 0x1f);
    ck_assert_uint_eq(gz[1], 0x8b);
    ck_assert(!memcmp(gunzip(gz, glen, len), data, len));
    ck_assert(!memcmp(unbrotli(br, blen, len), data, len));
    free(gz);
    free(br);
}

START_TEST(gzip_and_brotli_variants_decode_to_the_bytes)
{
    size_t len;
    char *text = csv_text(2000, &len);
    char *small = apr_palloc(pool, 256);

    round_trip(text, len);
    /* the smallest size worth a variant */
    memset(small, 'a', 256);
    round_trip(small, 256);
    /* a file over 1 MB (the brotli quality for big files) */
    text = csv_text(30000, &len);
    ck_assert_uint_gt(len, 1024 * 1024);
    round_trip(text, len);
}
END_TEST

/* The HTML text of the dashboard and the memoria: escaped, cut by
 * characters, line ends kept only when asked. */
static const char *html_of(const char *s, apr_size_t max, int keep_lines)
{
    prep_text_t t;

    memset(&t, 0, sizeof(t));
    t.p = pool;
    prep_text_html(&t, s, strlen(s), max, keep_lines);
    return t.buf ? t.buf : "";
}

START_TEST(html_text_numbers_and_durations_read_as_in_mexico)
{
    prep_text_t t;

    ck_assert_str_eq(html_of("<a href='x'>\"&\"</a>", 0, 0),
                     "&lt;a href=&#39;x&#39;&gt;&quot;&amp;&quot;&lt;/a&gt;");
    ck_assert_str_eq(html_of("a\nb\tc\x01", 0, 0), "a\xEF\xBF\xBD"
                                                   "b\xEF\xBF\xBD"
                                                   "c\xEF\xBF\xBD");
    ck_assert_str_eq(html_of("a\nb\tc\x7F", 0, 1), "a\nb\tc\xEF\xBF\xBD");
    ck_assert_str_eq(html_of("Quer\xC3\xA9taro", 5, 0),
                     "Quer\xC3\xA9\xE2\x80\xA6");
    ck_assert_str_eq(html_of("Quer\xC3\xA9", 5, 0), "Quer\xC3\xA9");
    ck_assert_str_eq(html_of("", 3, 0), "");
    memset(&t, 0, sizeof(t));
    t.p = pool;
    prep_text_printf(&t, "%d cortes, %s", 12, "bien");
    ck_assert_str_eq(t.buf, "12 cortes, bien");
    ck_assert_str_eq(prep_count_text(pool, 0), "0");
    ck_assert_str_eq(prep_count_text(pool, 999), "999");
    ck_assert_str_eq(prep_count_text(pool, 1000), "1,000");
    ck_assert_str_eq(prep_count_text(pool, 1234567), "1,234,567");
    ck_assert_str_eq(prep_count_text(pool, -5), "0");
    ck_assert_str_eq(prep_duration_text(pool, 45), "45 s");
    ck_assert_str_eq(prep_duration_text(pool, 725), "12 min 05 s");
    ck_assert_str_eq(prep_duration_text(pool, 3 * 3600 + 7 * 60), "3 h 07 min");
    ck_assert_str_eq(prep_duration_text(pool, 2 * 86400 + 3 * 3600),
                     "2 d 03 h");
    ck_assert_int_eq(prep_iso_offset("2024-06-02T21:05:00-06:00"), -6 * 3600);
    ck_assert_int_eq(prep_iso_offset("+05:30"), 5 * 3600 + 30 * 60);
    ck_assert_int_eq(prep_iso_offset("2024-06-02T21:05:00Z"), 0);
    ck_assert_int_eq(prep_iso_offset("-06"), 0);
    ck_assert_int_eq(prep_iso_offset(NULL), 0);
}
END_TEST

START_TEST(no_variant_for_noise_small_files_or_identity)
{
    size_t out_len = 0;
    unsigned char *rnd = noise(64 * 1024);
    char *small = apr_palloc(pool, 255);
    size_t len;
    char *text = csv_text(100, &len);

    /* random bytes do not compress */
    ck_assert_ptr_null(prep_compress(PREP_ENC_GZIP, rnd, 64 * 1024, &out_len));
    ck_assert_ptr_null(prep_compress(PREP_ENC_BR, rnd, 64 * 1024, &out_len));
    /* mostly random: a saving under 10 % is not kept */
    memset(rnd, 'x', 3 * 1024);
    ck_assert_ptr_null(prep_compress(PREP_ENC_GZIP, rnd, 64 * 1024, &out_len));
    ck_assert_ptr_null(prep_compress(PREP_ENC_BR, rnd, 64 * 1024, &out_len));
    /* too small to matter, however well it compresses */
    memset(small, 'a', 255);
    ck_assert_ptr_null(prep_compress(PREP_ENC_GZIP, small, 255, &out_len));
    ck_assert_ptr_null(prep_compress(PREP_ENC_BR, small, 255, &out_len));
    ck_assert_ptr_null(prep_compress(PREP_ENC_GZIP, small, 0, &out_len));
    /* identity or unknown encodings make no variant */
    ck_assert_ptr_null(prep_compress(PREP_ENC_IDENTITY, text, len, &out_len));
    ck_assert_ptr_null(prep_compress(7, text, len, &out_len));
}
END_TEST

Suite *suite_util(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("util");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, civil_dates_are_valid_only_as_the_calendar_has_them);
    tcase_add_test(tc, civil_times_convert_as_apr_converts_them);
    tcase_add_test(tc, hex_is_two_lowercase_digits_per_byte);
    tcase_add_test(tc, times_are_written_in_the_zone_and_read_back);
    tcase_add_test(tc, content_type_compression_and_html_follow_the_extension);
    tcase_add_test(tc, gzip_and_brotli_variants_decode_to_the_bytes);
    tcase_add_test(tc, no_variant_for_noise_small_files_or_identity);
    tcase_add_test(tc, html_text_numbers_and_durations_read_as_in_mexico);
    suite_add_tcase(s, tc);
    return s;
}
