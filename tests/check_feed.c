/* check_feed.c — unit tests of prep_feed.c: the one number reader, the
 * parsers of every directive value (durations, sizes, ISO-8601 times,
 * zones, PrepLimits, counts, PrepCorteTime, PrepVerify, PrepCompress,
 * PrepSameTime, PrepFormats), the directive table and its sentences (the
 * ones configtest and prepctl give), the words of a directive's line as
 * httpd splits them, and a feed's defaults. */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

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
/* the number reader */

START_TEST(numbers_are_read_by_one_reader)
{
    static const prep_unit_t units[] = {{'x', 10}, {'y', 1000}, {0, 0}};
    apr_uint64_t n = 7;

    ck_assert_int_eq(prep_parse_number(&n, "0", NULL), PREP_NUMBER_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(prep_parse_number(&n, "18446744073709551609", NULL),
                     PREP_NUMBER_OK);
    ck_assert_uint_eq(n, APR_UINT64_C(18446744073709551609));
    ck_assert_int_eq(prep_parse_number(&n, "12x", units), PREP_NUMBER_OK);
    ck_assert_uint_eq(n, 120);
    ck_assert_int_eq(prep_parse_number(&n, "12y", units), PREP_NUMBER_OK);
    ck_assert_uint_eq(n, 12000);
    ck_assert_int_eq(prep_parse_number(&n, "12", units), PREP_NUMBER_OK);
    ck_assert_uint_eq(n, 12);

    n = 7;
    /* no letter without units; one letter only; none of the others */
    ck_assert_int_eq(prep_parse_number(&n, "12x", NULL), PREP_NUMBER_BAD);
    ck_assert_int_eq(prep_parse_number(&n, "12xx", units), PREP_NUMBER_BAD);
    ck_assert_int_eq(prep_parse_number(&n, "12z", units), PREP_NUMBER_BAD);
    ck_assert_int_eq(prep_parse_number(&n, "x", units), PREP_NUMBER_BAD);
    ck_assert_int_eq(prep_parse_number(&n, "", NULL), PREP_NUMBER_BAD);
    ck_assert_int_eq(prep_parse_number(&n, "+1", NULL), PREP_NUMBER_BAD);
    ck_assert_int_eq(prep_parse_number(&n, "-0", NULL), PREP_NUMBER_BAD);
    ck_assert_int_eq(prep_parse_number(&n, " 1", NULL), PREP_NUMBER_BAD);
    ck_assert_int_eq(prep_parse_number(&n, "1 ", NULL), PREP_NUMBER_BAD);
    /* too many digits, then a number that its unit takes past 64 bits */
    ck_assert_int_eq(prep_parse_number(&n, "18446744073709551616", NULL),
                     PREP_NUMBER_BAD);
    ck_assert_int_eq(prep_parse_number(&n, "1844674407370955162x", units),
                     PREP_NUMBER_TOO_LARGE);
    ck_assert_uint_eq(n, 7);
}
END_TEST

/* ------------------------------------------------------------------ */
/* durations */

static void duration_is(const char *text, apr_int64_t seconds)
{
    apr_interval_time_t d = -1;
    const char *err = prep_parse_duration(&d, text);

    ck_assert_msg(err == NULL, "\"%s\" refused: %s", text, err);
    ck_assert_msg(d == apr_time_from_sec(seconds),
                  "\"%s\" gave %" APR_INT64_T_FMT " us", text, (apr_int64_t)d);
}

static void duration_bad(const char *text)
{
    apr_interval_time_t d = 12345;
    const char *err = prep_parse_duration(&d, text);

    ck_assert_msg(err != NULL, "\"%s\" accepted as a duration", text);
    ck_assert_msg(d == 12345, "\"%s\" changed the output on error", text);
}

START_TEST(durations_are_read_with_their_unit)
{
    duration_is("90", 90);
    duration_is("90s", 90);
    duration_is("0", 0);
    duration_is("5m", 300);
    duration_is("1h", 3600);
    duration_is("2d", 172800);
    duration_is("36500d", APR_INT64_C(36500) * 86400); /* a century */
}
END_TEST

START_TEST(durations_refused_leave_the_value)
{
    duration_bad("");
    duration_bad("5x");
    duration_bad("-1");
    duration_bad("+1");
    duration_bad("s");
    duration_bad("m");
    duration_bad(" 5");
    duration_bad("5 ");
    duration_bad("5 m");
    duration_bad("5mm");
    duration_bad("5ms");
    duration_bad("1.5h");
    duration_bad("0x10");
    /* overflow of the number itself, then of the number times its unit */
    duration_bad("99999999999999999999999");
    duration_bad("18446744073709551616");
    duration_bad("36501d");
    duration_bad("18446744073709551d");
    duration_bad("3153600001");
}
END_TEST

/* ------------------------------------------------------------------ */
/* sizes */

static void size_is(const char *text, apr_uint64_t bytes)
{
    apr_uint64_t n = 1;
    const char *err = prep_parse_size(&n, text);

    ck_assert_msg(err == NULL, "\"%s\" refused: %s", text, err);
    ck_assert_msg(n == bytes, "\"%s\" gave %" APR_UINT64_T_FMT, text, n);
}

static void size_bad(const char *text)
{
    apr_uint64_t n = 12345;
    const char *err = prep_parse_size(&n, text);

    ck_assert_msg(err != NULL, "\"%s\" accepted as a size", text);
    ck_assert_msg(n == 12345, "\"%s\" changed the output on error", text);
}

START_TEST(sizes_are_read_in_powers_of_1024)
{
    size_is("0", 0);
    size_is("512", 512);
    size_is("10k", 10240);
    size_is("10K", 10240);
    size_is("1k", 1024);
    size_is("512M", APR_UINT64_C(512) * 1024 * 1024);
    size_is("512m", APR_UINT64_C(512) * 1024 * 1024);
    size_is("2G", APR_UINT64_C(2) * 1024 * 1024 * 1024);
    size_is("2g", APR_UINT64_C(2) * 1024 * 1024 * 1024);
    size_is("3T", APR_UINT64_C(3) << 40);
    /* the largest count of G that fits */
    size_is("17179869183G", (APR_UINT64_C(17179869183)) << 30);
}
END_TEST

START_TEST(sizes_refused_leave_the_value)
{
    size_bad("");
    size_bad("k");
    size_bad("G");
    size_bad("10x");
    size_bad("10kb");
    size_bad("10KiB");
    size_bad("-1");
    size_bad("1.5G");
    size_bad(" 10");
    size_bad("10 ");
    size_bad("10 k");
    size_bad("99999999999999999999999");
    size_bad("18446744073709551616");
    size_bad("17179869184G"); /* 2^64 */
    size_bad("16777216T");    /* 2^64 */
    size_bad("18014398509481984k");
}
END_TEST

/* ------------------------------------------------------------------ */
/* ISO-8601 times */

static void iso_is(const char *text, apr_int64_t sec)
{
    apr_time_t t = 0;
    const char *err = prep_parse_iso_time(&t, text);

    ck_assert_msg(err == NULL, "\"%s\" refused: %s", text, err);
    ck_assert_msg(t == apr_time_from_sec(sec),
                  "\"%s\" gave %" APR_INT64_T_FMT " s, not %" APR_INT64_T_FMT,
                  text, (apr_int64_t)apr_time_sec(t), sec);
}

static void iso_bad(const char *text)
{
    apr_time_t t = 777;
    const char *err = prep_parse_iso_time(&t, text);

    ck_assert_msg(err != NULL, "\"%s\" accepted as an ISO time", text);
    ck_assert_msg(t == 777, "\"%s\" changed the output on error", text);
}

START_TEST(iso_times_are_read_with_their_offset)
{
    iso_is("2024-06-02T21:05:00-06:00", CORTE_SEC);
    iso_is("2024-06-02T21:05-06:00", CORTE_SEC);
    iso_is("2024-06-02 21:05:00-06:00", CORTE_SEC);
    iso_is("2024-06-02T21:05:00-0600", CORTE_SEC);
    iso_is("2024-06-03T03:05:00Z", CORTE_SEC);
    iso_is("2024-06-03T03:05Z", CORTE_SEC);
    iso_is("2024-06-03T03:05:00+00:00", CORTE_SEC);
    iso_is("2024-06-03T08:35:00+05:30", CORTE_SEC);
    iso_is("2024-06-02T20:05:00-07:00", CORTE_SEC);
    iso_is("2024-06-03T03:05:30Z", CORTE_SEC + 30);
    iso_is("1970-01-01T00:00:00Z", 0);
    iso_is("2024-02-29T12:00:00Z", 1709208000); /* leap day */
    iso_is("9999-12-31T23:59:59Z", APR_INT64_C(253402300799));
    iso_is("2024-06-02T20:00:00-06:00", CORTE_SEC - 3900);
}
END_TEST

START_TEST(iso_times_refused_leave_the_value)
{
    iso_bad("");
    iso_bad("garbage");
    /* dates that do not exist */
    iso_bad("2024-02-30T00:00:00Z");
    iso_bad("2023-02-29T00:00:00Z");
    iso_bad("2100-02-29T00:00:00Z");
    iso_bad("2024-04-31T00:00:00Z");
    iso_bad("2024-13-01T00:00:00Z");
    iso_bad("2024-00-10T00:00:00Z");
    iso_bad("2024-06-00T00:00:00Z");
    iso_bad("2024-06-02T24:00:00Z");
    iso_bad("2024-06-02T20:60:00Z");
    iso_bad("2024-06-02T20:00:61Z");
    iso_bad("1969-12-31T23:59:59Z");
    /* formats */
    iso_bad("2024-06-02");
    iso_bad("2024-06-02T20:00:00"); /* no offset */
    iso_bad("2024-06-02T20:00");
    iso_bad("2024/06/02T20:00:00Z");
    iso_bad("24-06-02T20:00:00Z");
    iso_bad("2024-6-2T20:00:00Z");
    iso_bad("2024-06-02X20:00:00Z");
    iso_bad("2024-06-02T2000Z");
    iso_bad("2024-06-02T20:00:0Z");
    iso_bad("2024-06-02T20:00:00Zjunk");
    iso_bad("2024-06-02T20:00:00-06:00x");
    iso_bad("2024-06-02T20:00:00-6");
    iso_bad("2024-06-02T20:00:00-06:0");
    iso_bad("2024-06-02T20:00:00+15:00");
    iso_bad("2024-06-02T20:00:00-06:60");
    iso_bad("02/06/2024 20:00");
}
END_TEST

/* ------------------------------------------------------------------ */
/* zones (PrepTimeZone) */

static void zone_is(const char *offset, int seconds)
{
    prep_zone_t z = {12345, NULL};
    const char *err = prep_zone_parse(&z, offset, "Zona", pool);

    ck_assert_msg(err == NULL, "\"%s\" refused: %s", offset, err);
    ck_assert_msg(z.offset_s == seconds, "\"%s\" gave %d s", offset,
                  z.offset_s);
    ck_assert_str_eq(z.name, "Zona");
}

static void zone_bad(const char *offset)
{
    prep_zone_t z = {12345, "Antes"};
    const char *err = prep_zone_parse(&z, offset, "Zona", pool);

    ck_assert_msg(err != NULL, "\"%s\" accepted as an offset", offset);
    ck_assert_msg(strstr(err, offset) != NULL, "error \"%s\" does not name %s",
                  err, offset);
    ck_assert_int_eq(z.offset_s, 12345);
    ck_assert_str_eq(z.name, "Antes");
}

START_TEST(zone_offsets_are_read_in_every_form)
{
    zone_is("-06:00", -21600);
    zone_is("-0600", -21600);
    zone_is("-6", -21600);
    zone_is("-06", -21600);
    zone_is("UTC-6", -21600);
    zone_is("utc-6", -21600);
    zone_is("UTC-06:00", -21600);
    zone_is("GMT-7", -25200);
    zone_is("+05:30", 19800);
    zone_is("+0530", 19800);
    zone_is("-07:00", -25200);
    zone_is("+00:00", 0);
    zone_is("UTC", 0);
    zone_is("+14:00", 14 * 3600);
    zone_is("-12:00", -12 * 3600);
}
END_TEST

START_TEST(zone_offsets_refused_leave_the_zone)
{
    zone_bad("");
    zone_bad("6");
    zone_bad("06:00");
    zone_bad("-");
    zone_bad("+");
    zone_bad("UTC+");
    zone_bad("UTC6");
    zone_bad("-06:60");
    zone_bad("-15");
    zone_bad("-15:00");
    zone_bad("-06:0");
    zone_bad("-06:");
    zone_bad("-06:00x");
    zone_bad("-06:00 ");
    zone_bad("UTC-6x");
    zone_bad("-123");
    zone_bad("-06:000");
    zone_bad("EST");
    zone_bad("CST6");
    zone_bad("America/Mexico_City");
}
END_TEST

/* ------------------------------------------------------------------ */
/* PrepLimits */

START_TEST(limits_default_to_the_documented_values)
{
    prep_limits_t l;

    prep_limits_default(&l);
    ck_assert_uint_eq(l.files, 100000);
    ck_assert_uint_eq(l.bytes, APR_UINT64_C(2147483648));
    ck_assert_uint_eq(l.file, APR_UINT64_C(536870912));
    ck_assert_uint_eq(l.ratio, 200);
    ck_assert_int_eq(l.depth, 32);
}
END_TEST

START_TEST(limits_words_set_one_limit_each)
{
    prep_limits_t l;

    prep_limits_default(&l);
    ck_assert_ptr_null(prep_limits_parse(&l, "files=8000", pool));
    ck_assert_ptr_null(prep_limits_parse(&l, "bytes=1G", pool));
    ck_assert_ptr_null(prep_limits_parse(&l, "file=64M", pool));
    ck_assert_ptr_null(prep_limits_parse(&l, "ratio=50", pool));
    ck_assert_ptr_null(prep_limits_parse(&l, "depth=8", pool));
    ck_assert_uint_eq(l.files, 8000);
    ck_assert_uint_eq(l.bytes, APR_UINT64_C(1073741824));
    ck_assert_uint_eq(l.file, APR_UINT64_C(67108864));
    ck_assert_uint_eq(l.ratio, 50);
    ck_assert_int_eq(l.depth, 8);
    ck_assert_ptr_null(prep_limits_parse(&l, "bytes=10k", pool));
    ck_assert_uint_eq(l.bytes, 10240);
    ck_assert_ptr_null(prep_limits_parse(&l, "bytes=1T", pool));
    ck_assert_uint_eq(l.bytes, APR_UINT64_C(1099511627776));
    ck_assert_ptr_null(prep_limits_parse(&l, "file=512", pool));
    ck_assert_uint_eq(l.file, 512);
    ck_assert_ptr_null(prep_limits_parse(&l, "file=3m", pool));
    ck_assert_uint_eq(l.file, APR_UINT64_C(3145728));

    ck_assert_ptr_nonnull(prep_limits_parse(&l, "files", pool));
    ck_assert_ptr_nonnull(prep_limits_parse(&l, "files=", pool));
    ck_assert_ptr_nonnull(prep_limits_parse(&l, "=5", pool));
    ck_assert_ptr_nonnull(prep_limits_parse(&l, "entries=5", pool));
    ck_assert_ptr_nonnull(prep_limits_parse(&l, "files=lots", pool));
    ck_assert_ptr_nonnull(prep_limits_parse(&l, "files=-1", pool));
    ck_assert_ptr_nonnull(prep_limits_parse(&l, "ratio=0", pool));
    ck_assert_ptr_nonnull(prep_limits_parse(&l, "depth=2.5", pool));
    ck_assert_ptr_nonnull(prep_limits_parse(&l, "bytes=big", pool));
    ck_assert_ptr_nonnull(prep_limits_parse(&l, "bytes=2X", pool));
    ck_assert_ptr_nonnull(prep_limits_parse(&l, "bytes=2GB", pool));
    ck_assert_ptr_nonnull(prep_limits_parse(&l, "bytes=G", pool));
    ck_assert_ptr_nonnull(prep_limits_parse(&l, "bytes=99999999T", pool));
    ck_assert_ptr_nonnull(prep_limits_parse(&l, "files=10k", pool));
    ck_assert_ptr_nonnull(
        prep_limits_parse(&l, "files=99999999999999999999999", pool));
    /* A refused word changes nothing. */
    ck_assert_uint_eq(l.files, 8000);
    ck_assert_uint_eq(l.bytes, APR_UINT64_C(1099511627776));
    ck_assert_uint_eq(l.ratio, 50);
    ck_assert_int_eq(l.depth, 8);
}
END_TEST

/* ------------------------------------------------------------------ */
/* the directive table */

/* Directive d given the words of `line`, split as httpd splits them. */
static const char *set_line(prep_feed_t *f, int d, const char *line)
{
    apr_array_header_t *w = prep_feed_words(line, pool);

    return prep_feed_set(f, &prep_feed_directives[d], w->nelts,
                         (const char *const *)w->elts, pool);
}

/* Directive d refuses `line` with exactly `sentence`, and the feed is
 * left as it was. */
static void refused_with(int d, const char *line, const char *sentence)
{
    prep_feed_t f, before;
    const char *err;

    prep_feed_defaults(&f, pool);
    before = f;
    err = set_line(&f, d, line);
    ck_assert_msg(err != NULL, "%s %s accepted", prep_feed_directives[d].name,
                  line);
    ck_assert_str_eq(err, sentence);
    ck_assert_msg(memcmp(&f, &before, sizeof(f)) == 0, "%s %s changed the feed",
                  prep_feed_directives[d].name, line);
}

START_TEST(every_directive_has_a_field_and_a_parser)
{
    int i, j;

    for (i = 0; i < PREP_FEED_DIRECTIVES; i++) {
        const prep_feed_directive_t *d = &prep_feed_directives[i];

        ck_assert_msg(d->name && !strncmp(d->name, "Prep", 4),
                      "directive %d has no name", i);
        ck_assert_msg(d->parse != NULL, "%s has no parser", d->name);
        ck_assert_msg(d->offset < sizeof(prep_feed_t), "%s: offset", d->name);
        ck_assert_msg(d->path_arg >= 0 && d->path_arg <= 2, "%s", d->name);
        for (j = 0; j < i; j++) {
            ck_assert_str_ne(d->name, prep_feed_directives[j].name);
        }
    }
    /* PrepUpdateInterval sets the interval, PrepSettleTime the settle time */
    ck_assert_uint_eq(prep_feed_directives[PREP_FEED_UPDATE_INTERVAL].offset,
                      APR_OFFSETOF(prep_feed_t, interval));
    ck_assert_uint_eq(prep_feed_directives[PREP_FEED_SETTLE_TIME].offset,
                      APR_OFFSETOF(prep_feed_t, settle));
}
END_TEST

START_TEST(feed_defaults_are_the_documented_ones)
{
    prep_feed_t f;

    prep_feed_defaults(&f, pool);
    ck_assert_ptr_null(f.name);
    ck_assert_ptr_null(f.incoming);
    ck_assert_ptr_null(f.store);
    ck_assert_int_eq(f.settle, apr_time_from_sec(2));
    ck_assert_int_eq(f.interval, apr_time_from_sec(300));
    ck_assert_int_eq(f.corte.source, PREP_CORTE_MTIME);
    ck_assert_int_eq(f.zone.offset_s, -21600);
    ck_assert_str_eq(f.zone.name, "Tiempo del Centro");
    ck_assert_int_eq(f.publish_from, 0);
    ck_assert_int_eq(f.verify, PREP_VERIFY_NONE);
    ck_assert_uint_eq(f.limits.files, 100000);
    ck_assert_uint_eq(f.limits.formats, PREP_FORMATS_DEFAULT);
    ck_assert_int_eq(f.keep, 12);
    ck_assert_int_eq(f.strip, -1);
    ck_assert_uint_eq(f.compress, (1u << PREP_ENC_GZIP) | (1u << PREP_ENC_BR));
    ck_assert_ptr_nonnull(f.banners);
    ck_assert_int_eq(f.banners->nelts, 0);
    ck_assert_int_eq(f.future_limit, apr_time_from_sec(900));
    ck_assert_int_eq(f.same_time_accept, 0);
    ck_assert_int_eq(f.load_timeout, apr_time_from_sec(600));
    ck_assert_int_eq(f.audit_interval, apr_time_from_sec(60));
}
END_TEST

START_TEST(counts_are_whole_numbers_from_their_minimum)
{
    prep_feed_t f;

    prep_feed_defaults(&f, pool);
    ck_assert_ptr_null(set_line(&f, PREP_FEED_STRIP, "0"));
    ck_assert_int_eq(f.strip, 0);
    ck_assert_ptr_null(set_line(&f, PREP_FEED_STRIP, "3"));
    ck_assert_int_eq(f.strip, 3);
    ck_assert_ptr_null(set_line(&f, PREP_FEED_STRIP, "AUTO"));
    ck_assert_int_eq(f.strip, -1);
    ck_assert_ptr_null(set_line(&f, PREP_FEED_KEEP, "1"));
    ck_assert_int_eq(f.keep, 1);
    ck_assert_ptr_null(set_line(&f, PREP_FEED_KEEP, "100000"));
    ck_assert_int_eq(f.keep, 100000);

    refused_with(PREP_FEED_STRIP, "-3",
                 "PrepStripComponents: \"-3\" is not a number >= 0");
    refused_with(PREP_FEED_STRIP, "2x",
                 "PrepStripComponents: \"2x\" is not a number >= 0");
    refused_with(PREP_FEED_STRIP, "+3",
                 "PrepStripComponents: \"+3\" is not a number >= 0");
    refused_with(PREP_FEED_STRIP, "100001",
                 "PrepStripComponents: \"100001\" is not a number >= 0");
    refused_with(PREP_FEED_STRIP, "99999999999999999999",
                 "PrepStripComponents: \"99999999999999999999\" is not a "
                 "number >= 0");
    refused_with(PREP_FEED_KEEP, "0", "PrepKeep: \"0\" is not a number >= 1");
    refused_with(PREP_FEED_KEEP, "doce",
                 "PrepKeep: \"doce\" is not a number >= 1");
}
END_TEST

START_TEST(durations_of_each_directive_set_their_field)
{
    prep_feed_t f;

    prep_feed_defaults(&f, pool);
    ck_assert_ptr_null(set_line(&f, PREP_FEED_SETTLE_TIME, "5"));
    ck_assert_int_eq(f.settle, apr_time_from_sec(5));
    ck_assert_ptr_null(set_line(&f, PREP_FEED_UPDATE_INTERVAL, "2m"));
    ck_assert_int_eq(f.interval, apr_time_from_sec(120));
    ck_assert_int_eq(f.settle, apr_time_from_sec(5));
    ck_assert_ptr_null(set_line(&f, PREP_FEED_FUTURE_LIMIT, "off"));
    ck_assert_int_eq(f.future_limit, -1);
    ck_assert_ptr_null(set_line(&f, PREP_FEED_LOAD_TIMEOUT, "90s"));
    ck_assert_int_eq(f.load_timeout, apr_time_from_sec(90));
    ck_assert_ptr_null(set_line(&f, PREP_FEED_AUDIT_INTERVAL, "OFF"));
    ck_assert_int_eq(f.audit_interval, -1);
    ck_assert_ptr_null(set_line(&f, PREP_FEED_AUDIT_INTERVAL, "1h"));
    ck_assert_int_eq(f.audit_interval, apr_time_from_sec(3600));

    refused_with(PREP_FEED_SETTLE_TIME, "pronto",
                 "PrepSettleTime: unrecognized duration (use e.g. 90, 90s, "
                 "5m, 1h, 2d)");
    /* only the directives that say so take "off" */
    refused_with(PREP_FEED_SETTLE_TIME, "off",
                 "PrepSettleTime: unrecognized duration (use e.g. 90, 90s, "
                 "5m, 1h, 2d)");
    refused_with(PREP_FEED_UPDATE_INTERVAL, "5x",
                 "PrepUpdateInterval: unrecognized duration (use e.g. 90, "
                 "90s, 5m, 1h, 2d)");
    refused_with(PREP_FEED_FUTURE_LIMIT, "36501d",
                 "PrepFutureLimit: duration is longer than a century");
}
END_TEST

START_TEST(limits_and_formats_lines_set_their_fields)
{
    prep_feed_t f;

    prep_feed_defaults(&f, pool);
    ck_assert_ptr_null(set_line(&f, PREP_FEED_FORMATS, "tar xz"));
    ck_assert_uint_eq(f.limits.formats, PREP_FORMAT_TAR | PREP_FORMAT_XZ);
    ck_assert_ptr_null(set_line(&f, PREP_FEED_LIMITS, "files=10 bytes=1k"));
    ck_assert_uint_eq(f.limits.files, 10);
    ck_assert_uint_eq(f.limits.bytes, 1024);
    /* PrepLimits leaves PrepFormats' part of the limits alone */
    ck_assert_uint_eq(f.limits.formats, PREP_FORMAT_TAR | PREP_FORMAT_XZ);
    /* a line replaces the kinds it names, not the other lines' limits */
    ck_assert_ptr_null(set_line(&f, PREP_FEED_FORMATS, "7z"));
    ck_assert_uint_eq(f.limits.formats,
                      PREP_FORMAT_7Z |
                          (PREP_FORMATS_DEFAULT & PREP_FORMATS_COMPRESSIONS));
    ck_assert_uint_eq(f.limits.files, 10);

    refused_with(PREP_FEED_LIMITS, "files=10q",
                 "PrepLimits: limit files: \"10q\" is not a whole number");
    refused_with(PREP_FEED_LIMITS, "files=10 bytes=big",
                 "PrepLimits: limit bytes: \"big\" is not a size (e.g. 512M, "
                 "2G)");
    refused_with(PREP_FEED_LIMITS, "depth=5000",
                 "PrepLimits: limit depth 5000 is more than 4096");
    refused_with(PREP_FEED_LIMITS, "",
                 "PrepLimits requires at least one argument");
    refused_with(PREP_FEED_FORMATS, "7z tgz",
                 "PrepFormats: unknown format \"tgz\" (archives: tar zip 7z "
                 "cpio iso9660 cab lha rar ar; compressions: gzip bzip2 xz "
                 "zstd lzma lzip lz4 compress)");
    refused_with(PREP_FEED_FORMATS, "",
                 "PrepFormats requires at least one "
                 "argument");
}
END_TEST

START_TEST(compress_lines_replace_the_list)
{
    prep_feed_t f;

    prep_feed_defaults(&f, pool);
    ck_assert_ptr_null(set_line(&f, PREP_FEED_COMPRESS, "br"));
    ck_assert_uint_eq(f.compress, 1u << PREP_ENC_BR);
    ck_assert_ptr_null(set_line(&f, PREP_FEED_COMPRESS, "GZIP"));
    ck_assert_uint_eq(f.compress, 1u << PREP_ENC_GZIP);
    ck_assert_ptr_null(set_line(&f, PREP_FEED_COMPRESS, "gzip br"));
    ck_assert_uint_eq(f.compress, (1u << PREP_ENC_GZIP) | (1u << PREP_ENC_BR));
    ck_assert_ptr_null(set_line(&f, PREP_FEED_COMPRESS, "none"));
    ck_assert_uint_eq(f.compress, 0);
    ck_assert_ptr_null(set_line(&f, PREP_FEED_COMPRESS, "none gzip"));
    ck_assert_uint_eq(f.compress, 1u << PREP_ENC_GZIP);

    refused_with(PREP_FEED_COMPRESS, "gzip zstd",
                 "PrepCompress: use gzip, br or none");
}
END_TEST

START_TEST(corte_time_zone_and_embargo_set_their_fields)
{
    prep_feed_t f;

    prep_feed_defaults(&f, pool);
    ck_assert_ptr_null(
        set_line(&f, PREP_FEED_CORTE_TIME, "csv /datos/x.csv 2"));
    ck_assert_int_eq(f.corte.source, PREP_CORTE_CSV);
    ck_assert_str_eq(f.corte.file, "datos/x.csv");
    ck_assert_int_eq(f.corte.line, 2);
    ck_assert_ptr_null(set_line(&f, PREP_FEED_TIME_ZONE, "-07:00"));
    ck_assert_int_eq(f.zone.offset_s, -25200);
    ck_assert_str_eq(f.zone.name, "Tiempo del Centro"); /* kept */
    ck_assert_ptr_null(
        set_line(&f, PREP_FEED_TIME_ZONE, "UTC-8 \"Tiempo del Noroeste\""));
    ck_assert_int_eq(f.zone.offset_s, -28800);
    ck_assert_str_eq(f.zone.name, "Tiempo del Noroeste");
    ck_assert_ptr_null(
        set_line(&f, PREP_FEED_PUBLISH_FROM, "2024-06-02T20:00:00-06:00"));
    ck_assert_int_eq(f.publish_from, apr_time_from_sec(CORTE_SEC - 3900));
    ck_assert_ptr_null(set_line(&f, PREP_FEED_PUBLISH_FROM, "None"));
    ck_assert_int_eq(f.publish_from, 0);

    refused_with(PREP_FEED_CORTE_TIME, "xml main.xml //fecha",
                 "PrepCorteTime: \"xml\" with 2 argument(s): use json FILE "
                 "POINTER | csv FILE LINE | filename REGEX | mtime");
    refused_with(PREP_FEED_CORTE_TIME, "",
                 "PrepCorteTime: use json FILE POINTER | csv FILE LINE | "
                 "filename REGEX | mtime");
    refused_with(PREP_FEED_CORTE_TIME, "json main.json fecha",
                 "PrepCorteTime: the JSON pointer \"fecha\" must start with "
                 "'/' (e.g. /fechaCorte)");
    refused_with(PREP_FEED_TIME_ZONE, "centro \"Tiempo del Centro\"",
                 "PrepTimeZone: offset \"centro\" is not like -06:00");
    refused_with(PREP_FEED_TIME_ZONE, "-06:00 Tiempo del Centro",
                 "PrepTimeZone takes 1-2 arguments");
    refused_with(PREP_FEED_PUBLISH_FROM, "yesterday",
                 "PrepPublishFrom: not an ISO-8601 time such as "
                 "2024-06-02T20:00:00-06:00");
}
END_TEST

START_TEST(verify_and_same_time_take_their_words)
{
    prep_feed_t f;

    prep_feed_defaults(&f, pool);
    ck_assert_ptr_null(set_line(&f, PREP_FEED_VERIFY, "sha256"));
    ck_assert_int_eq(f.verify, PREP_VERIFY_SHA256);
    ck_assert_ptr_null(set_line(&f, PREP_FEED_VERIFY, "NONE"));
    ck_assert_int_eq(f.verify, PREP_VERIFY_NONE);
    ck_assert_ptr_null(set_line(&f, PREP_FEED_SAME_TIME, "accept"));
    ck_assert_int_eq(f.same_time_accept, 1);
    ck_assert_ptr_null(set_line(&f, PREP_FEED_SAME_TIME, "Refuse"));
    ck_assert_int_eq(f.same_time_accept, 0);
    ck_assert_int_eq(prep_feed_directives[PREP_FEED_VERIFY].path_arg, 2);

    refused_with(PREP_FEED_VERIFY, "md5",
                 "PrepVerify: use none, sha256, or signature PUBKEY.pem");
    refused_with(PREP_FEED_VERIFY, "sha256 key.pem",
                 "PrepVerify: use none, sha256, or signature PUBKEY.pem");
    refused_with(PREP_FEED_VERIFY, "signature",
                 "PrepVerify: use none, sha256, or signature PUBKEY.pem");
    refused_with(PREP_FEED_VERIFY, "signature /no/such/key.pem",
                 "PrepVerify signature: cannot read the public key "
                 "/no/such/key.pem: No such file or directory");
    refused_with(PREP_FEED_SAME_TIME, "maybe",
                 "PrepSameTime: use refuse or accept");
    refused_with(PREP_FEED_SAME_TIME, "", "PrepSameTime takes one argument");
    refused_with(PREP_FEED_KEEP, "1 2", "PrepKeep takes one argument");
}
END_TEST

/* ------------------------------------------------------------------ */
/* the words of a directive's line */

/* `line` splits into exactly the words of `want`, NULL-terminated. */
static void words_are(const char *line, const char *const *want)
{
    apr_array_header_t *w = prep_feed_words(line, pool);
    int i;

    for (i = 0; want[i]; i++) {
        ck_assert_msg(i < w->nelts, "[%s]: only %d words", line, w->nelts);
        ck_assert_str_eq(APR_ARRAY_IDX(w, i, const char *), want[i]);
    }
    ck_assert_msg(w->nelts == i, "[%s]: %d words, not %d", line, w->nelts, i);
}

START_TEST(words_are_split_as_httpd_splits_them)
{
    static const char *const none[] = {NULL};
    static const char *const plain[] = {"json", "json/main.json", "/fecha",
                                        NULL};
    static const char *const quoted[] = {"a b", "c d", "e", NULL};
    static const char *const escaped[] = {"say \"hi\"", "it's", "a\\b", NULL};
    static const char *const outside[] = {"a\\b", "c\\", "d\\\"", NULL};
    static const char *const glued[] = {"a", "b", "c", NULL};
    static const char *const open[] = {"x", "rest of it ", NULL};
    static const char *const until_empty[] = {"a", NULL};

    words_are("", none);
    words_are("  \t ", none);
    words_are("json json/main.json /fecha", plain);
    words_are("  json\tjson/main.json  /fecha  ", plain);
    words_are("\"a b\" 'c d' e", quoted);
    words_are("\"say \\\"hi\\\"\" 'it\\'s' \"a\\\\b\"", escaped);
    /* outside quotes only a doubled backslash is one */
    words_are("a\\\\b c\\ d\\\"", outside);
    /* a quoted word ends at its quote, white space or not */
    words_are("\"a\"b 'c'", glued);
    /* a quote never closed runs to the end */
    words_are("x \"rest of it ", open);
    /* an empty word ends the line, as in httpd's loops over arguments */
    words_are("a \"\" b", until_empty);
}
END_TEST

/* ------------------------------------------------------------------ */
/* what caches are told, and the command run after each event */

START_TEST(edge_ttl_sets_both_lifetimes)
{
    prep_feed_t f;

    prep_feed_defaults(&f, pool);
    ck_assert_int_eq(f.edge_ttl, 0);
    ck_assert_int_eq(f.edge_ttl_main, 0);
    ck_assert_ptr_null(set_line(&f, PREP_FEED_EDGE_TTL, "10m"));
    ck_assert_int_eq(f.edge_ttl, apr_time_from_sec(600));
    ck_assert_int_eq(f.edge_ttl_main, 0);
    ck_assert_ptr_null(set_line(&f, PREP_FEED_EDGE_TTL, "10m main=5s"));
    ck_assert_int_eq(f.edge_ttl, apr_time_from_sec(600));
    ck_assert_int_eq(f.edge_ttl_main, apr_time_from_sec(5));
    ck_assert_ptr_null(set_line(&f, PREP_FEED_EDGE_TTL, "off main=2"));
    ck_assert_int_eq(f.edge_ttl, 0);
    ck_assert_int_eq(f.edge_ttl_main, apr_time_from_sec(2));
    refused_with(PREP_FEED_EDGE_TTL, "10x",
                 "PrepEdgeTTL: unrecognized duration (use e.g. 90, 90s, 5m, "
                 "1h, 2d)");
    refused_with(PREP_FEED_EDGE_TTL, "10m 5s",
                 "PrepEdgeTTL: the second word is main=DURATION");
    refused_with(PREP_FEED_EDGE_TTL, "10m main=",
                 "PrepEdgeTTL main=: unrecognized duration (use e.g. 90, 90s, "
                 "5m, 1h, 2d)");
}
END_TEST

START_TEST(cache_tag_names_the_feed_and_the_corte)
{
    prep_feed_t f;

    prep_feed_defaults(&f, pool);
    ck_assert_int_eq(f.cache_tag, PREP_CACHE_TAG_SURROGATE_KEY);
    ck_assert_ptr_null(set_line(&f, PREP_FEED_CACHE_TAG, "xkey"));
    ck_assert_int_eq(f.cache_tag, PREP_CACHE_TAG_XKEY);
    ck_assert_ptr_null(set_line(&f, PREP_FEED_CACHE_TAG, "cache-tag"));
    ck_assert_int_eq(f.cache_tag, PREP_CACHE_TAG_CACHE_TAG);
    ck_assert_ptr_null(set_line(&f, PREP_FEED_CACHE_TAG, "Off"));
    ck_assert_int_eq(f.cache_tag, PREP_CACHE_TAG_OFF);
    ck_assert_ptr_null(prep_cache_tag_header(PREP_CACHE_TAG_OFF));
    ck_assert_str_eq(prep_cache_tag_header(PREP_CACHE_TAG_SURROGATE_KEY),
                     "Surrogate-Key");
    refused_with(PREP_FEED_CACHE_TAG, "X-Tag",
                 "PrepCacheTag: use Surrogate-Key, xkey, Cache-Tag or off");
    ck_assert_str_eq(prep_cache_tag_value(pool, PREP_CACHE_TAG_SURROGATE_KEY,
                                          "qro", "20240603T030500Z-0a1b2c3d"),
                     "prep-qro prep-qro-20240603T030500Z-0a1b2c3d");
    ck_assert_str_eq(prep_cache_tag_value(pool, PREP_CACHE_TAG_XKEY, "qro",
                                          "20240603T030500Z-0a1b2c3d"),
                     "prep-qro prep-qro-20240603T030500Z-0a1b2c3d");
    ck_assert_str_eq(prep_cache_tag_value(pool, PREP_CACHE_TAG_CACHE_TAG, "qro",
                                          "20240603T030500Z-0a1b2c3d"),
                     "prep-qro,prep-qro-20240603T030500Z-0a1b2c3d");
    ck_assert_str_eq(
        prep_cache_tag_value(pool, PREP_CACHE_TAG_CACHE_TAG, "qro", NULL),
        "prep-qro");
}
END_TEST

START_TEST(notify_takes_an_absolute_executable)
{
    prep_feed_t f;

    prep_feed_defaults(&f, pool);
    ck_assert_ptr_null(f.notify);
    ck_assert_ptr_null(
        set_line(&f, PREP_FEED_NOTIFY, "/bin/echo 'a b' --purge"));
    ck_assert_int_eq(f.notify->nelts, 3);
    ck_assert_str_eq(APR_ARRAY_IDX(f.notify, 0, const char *), "/bin/echo");
    ck_assert_str_eq(APR_ARRAY_IDX(f.notify, 1, const char *), "a b");
    ck_assert_str_eq(APR_ARRAY_IDX(f.notify, 2, const char *), "--purge");
    ck_assert_ptr_null(set_line(&f, PREP_FEED_NOTIFY, "none"));
    ck_assert_ptr_null(f.notify);
    refused_with(PREP_FEED_NOTIFY, "echo hi",
                 "PrepNotify: \"echo\": give the command's absolute path");
    refused_with(PREP_FEED_NOTIFY, "/etc/passwd",
                 "PrepNotify: /etc/passwd is not an executable file");
    refused_with(PREP_FEED_NOTIFY, "/no/such/command",
                 "PrepNotify: /no/such/command is not an executable file");
}
END_TEST

Suite *suite_feed(void)
{
    Suite *s = suite_create("feed");
    TCase *tc = tcase_create("feed");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, numbers_are_read_by_one_reader);
    tcase_add_test(tc, durations_are_read_with_their_unit);
    tcase_add_test(tc, durations_refused_leave_the_value);
    tcase_add_test(tc, sizes_are_read_in_powers_of_1024);
    tcase_add_test(tc, sizes_refused_leave_the_value);
    tcase_add_test(tc, iso_times_are_read_with_their_offset);
    tcase_add_test(tc, iso_times_refused_leave_the_value);
    tcase_add_test(tc, zone_offsets_are_read_in_every_form);
    tcase_add_test(tc, zone_offsets_refused_leave_the_zone);
    tcase_add_test(tc, limits_default_to_the_documented_values);
    tcase_add_test(tc, limits_words_set_one_limit_each);
    tcase_add_test(tc, every_directive_has_a_field_and_a_parser);
    tcase_add_test(tc, feed_defaults_are_the_documented_ones);
    tcase_add_test(tc, counts_are_whole_numbers_from_their_minimum);
    tcase_add_test(tc, durations_of_each_directive_set_their_field);
    tcase_add_test(tc, limits_and_formats_lines_set_their_fields);
    tcase_add_test(tc, compress_lines_replace_the_list);
    tcase_add_test(tc, corte_time_zone_and_embargo_set_their_fields);
    tcase_add_test(tc, verify_and_same_time_take_their_words);
    tcase_add_test(tc, words_are_split_as_httpd_splits_them);
    tcase_add_test(tc, edge_ttl_sets_both_lifetimes);
    tcase_add_test(tc, cache_tag_names_the_feed_and_the_corte);
    tcase_add_test(tc, notify_takes_an_absolute_executable);
    suite_add_tcase(s, tc);
    return s;
}
