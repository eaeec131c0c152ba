/* check_cortetime.c — unit tests of where a package says when its corte was
 * cut (prep_cortetime.c): the PrepCorteTime arguments, the ways a time is
 * written, a JSON pointer, a line of the INE CSV and the file name. */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "prep.h"
#include "test_prep.h"

static apr_pool_t *pool;
static const prep_zone_t centro = {-21600, "Tiempo del Centro"};
static const prep_zone_t pacifico = {-25200, "Tiempo del Pacífico"};

/* 2024-06-02T21:05:00-06:00 */
#define CORTE_SEC APR_INT64_C(1717383900)
#define CORTE     apr_time_from_sec(CORTE_SEC)

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

/* PrepCorteTime with the words of `line` (space-separated). */
static const char *parse(prep_corte_spec_t *spec, const char *line)
{
    char *copy = apr_pstrdup(pool, line), *last, *w;
    const char *argv[8];
    int argc = 0;

    for (w = apr_strtok(copy, " ", &last); w && argc < 8;
         w = apr_strtok(NULL, " ", &last)) {
        argv[argc++] = w;
    }
    return prep_corte_spec_parse(spec, argc, argv, pool);
}

/* ------------------------------------------------------------------ */
/* PrepCorteTime arguments */

START_TEST(test_spec_parse)
{
    prep_corte_spec_t spec;
    const char *regex_argv[] = {"filename", "prep_([0-9]{8}_[0-9]{4})"};

    ck_assert_ptr_null(parse(&spec, "json json/main.json /fechaCorte"));
    ck_assert_int_eq(spec.source, PREP_CORTE_JSON);
    ck_assert_str_eq(spec.file, "json/main.json");
    ck_assert_str_eq(spec.pointer, "/fechaCorte");

    /* a leading '/' on the file is dropped: paths are relative */
    ck_assert_ptr_null(parse(&spec, "JSON /json/main.json /a/b"));
    ck_assert_int_eq(spec.source, PREP_CORTE_JSON);
    ck_assert_str_eq(spec.file, "json/main.json");
    ck_assert_str_eq(spec.pointer, "/a/b");

    ck_assert_ptr_null(parse(&spec, "csv datos/PRES_2024.csv 2"));
    ck_assert_int_eq(spec.source, PREP_CORTE_CSV);
    ck_assert_str_eq(spec.file, "datos/PRES_2024.csv");
    ck_assert_int_eq(spec.line, 2);
    ck_assert_ptr_null(parse(&spec, "Csv /datos/x.csv 1000"));
    ck_assert_str_eq(spec.file, "datos/x.csv");
    ck_assert_int_eq(spec.line, 1000);
    ck_assert_ptr_null(parse(&spec, "csv x.csv 1"));
    ck_assert_int_eq(spec.line, 1);

    ck_assert_ptr_null(prep_corte_spec_parse(&spec, 2, regex_argv, pool));
    ck_assert_int_eq(spec.source, PREP_CORTE_FILENAME);
    ck_assert_str_eq(spec.regex, "prep_([0-9]{8}_[0-9]{4})");

    spec.source = PREP_CORTE_CSV;
    ck_assert_ptr_null(parse(&spec, "mtime"));
    ck_assert_int_eq(spec.source, PREP_CORTE_MTIME);
    ck_assert_ptr_null(parse(&spec, "MTime"));
    ck_assert_int_eq(spec.source, PREP_CORTE_MTIME);
}
END_TEST

START_TEST(test_spec_parse_bad)
{
    static const char *const bad[] = {
        "json",
        "json json/main.json",
        "json json/main.json fechaCorte", /* a pointer starts with '/' */
        "json json/main.json /a extra",
        "csv",
        "csv datos.csv",
        "csv datos.csv 0",
        "csv datos.csv -1",
        "csv datos.csv 1001",
        "csv datos.csv dos",
        "csv datos.csv 2x",
        "csv datos.csv 2 3",
        "filename",
        "filename ([0-9]",
        "filename a b",
        "mtime now",
        "xml datos.xml /a",
        "ctime",
    };
    prep_corte_spec_t spec;
    const char *empty_line[] = {"csv", "datos.csv", ""};
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *err = parse(&spec, bad[i]);
        ck_assert_msg(err != NULL, "\"%s\" accepted", bad[i]);
        ck_assert_msg(*err, "\"%s\": empty error", bad[i]);
    }
    ck_assert_ptr_nonnull(prep_corte_spec_parse(&spec, 0, NULL, pool));
    ck_assert_ptr_nonnull(prep_corte_spec_parse(&spec, 3, empty_line, pool));
    /* the error says what was wrong */
    ck_assert_ptr_nonnull(strstr(parse(&spec, "xml datos.xml /a"), "xml"));
    ck_assert_ptr_nonnull(strstr(parse(&spec, "csv d.csv 0"), "\"0\""));
    ck_assert_ptr_nonnull(
        strstr(parse(&spec, "json d.json fecha"), "\"fecha\""));
}
END_TEST

/* ------------------------------------------------------------------ */
/* a time written as text */

static void text_is(const char *text, const prep_zone_t *z, apr_time_t want)
{
    apr_time_t t = 0;
    apr_status_t rv = prep_corte_time_from_text(&t, text, z);

    ck_assert_msg(rv == APR_SUCCESS, "\"%s\" not read as a time", text);
    ck_assert_msg(
        t == want,
        "\"%s\" read as %" APR_INT64_T_FMT " s, not %" APR_INT64_T_FMT, text,
        (apr_int64_t)apr_time_sec(t), (apr_int64_t)apr_time_sec(want));
}

static void text_bad(const char *text)
{
    apr_time_t t = 777;

    ck_assert_msg(prep_corte_time_from_text(&t, text, &centro) == APR_EINVAL,
                  "\"%s\" read as a time (%" APR_INT64_T_FMT ")", text,
                  (apr_int64_t)apr_time_sec(t));
    ck_assert_int_eq(t, 777);
}

START_TEST(test_text_iso)
{
    /* with an offset: the zone does not matter */
    text_is("2024-06-02T21:05:00-06:00", &centro, CORTE);
    text_is("2024-06-02T21:05:00-06:00", &pacifico, CORTE);
    text_is("2024-06-02T21:05-06:00", &pacifico, CORTE);
    text_is("2024-06-02T21:05:00-0600", &pacifico, CORTE);
    text_is("2024-06-02T21:05:00-06", &pacifico, CORTE);
    text_is("2024-06-02T22:05:00-05:00", &centro, CORTE);
    text_is("2024-06-03T08:35:00+05:30", &centro, CORTE);
    text_is("2024-06-03T03:05:00Z", &centro, CORTE);
    text_is("2024-06-03T03:05:00z", &centro, CORTE);
    text_is("2024-06-03 03:05:00 UTC+00:00", &centro, CORTE);
    text_is("2024-06-02T21:05:00.123-06:00", &pacifico, CORTE);
    text_is("2024-06-02T21:05:00,5-06:00", &pacifico, CORTE);
    text_is("2024-06-02T21:05:42-06:00", &pacifico,
            CORTE + apr_time_from_sec(42));
    /* without an offset: in the feed's zone */
    text_is("2024-06-02T21:05:00", &centro, CORTE);
    text_is("2024-06-02T21:05", &centro, CORTE);
    text_is("2024-06-02 21:05", &centro, CORTE);
    text_is("2024-06-02T20:05:00", &pacifico, CORTE);
    /* surrounding quotes and blanks, as a value copied from a file */
    text_is("  \"2024-06-02T21:05:00-06:00\"", &centro, CORTE);
    text_is("'2024-06-02T21:05'", &centro, CORTE);
}
END_TEST

START_TEST(test_text_ine)
{
    /* DD/MM/YYYY HH:MM[:SS] optionally followed by the offset */
    text_is("02/06/2024 21:05 (UTC-6)", &pacifico, CORTE);
    text_is("02/06/2024 21:05 (UTC-06:00)", &pacifico, CORTE);
    text_is("02/06/2024 21:05 (UTC-0600)", &pacifico, CORTE);
    text_is("02/06/2024 20:05 (UTC-7)", &centro, CORTE);
    text_is("02/06/2024 21:05 UTC-6", &pacifico, CORTE);
    text_is("02/06/2024 21:05 -06:00", &pacifico, CORTE);
    text_is("02/06/2024 21:05(UTC-6)", &pacifico, CORTE);
    text_is("02/06/2024 21:05 (GMT-6)", &pacifico, CORTE);
    text_is("03/06/2024 08:35 (UTC+05:30)", &centro, CORTE);
    text_is("02/06/2024 21:05", &centro, CORTE);
    text_is("02/06/2024 20:05", &pacifico, CORTE);
    text_is("02/06/2024T21:05", &centro, CORTE);
    text_is("02/06/2024 21:05:30 (UTC-6)", &pacifico,
            CORTE + apr_time_from_sec(30));
    text_is("02/06/2024 21:05:30", &centro, CORTE + apr_time_from_sec(30));
    /* day first: 12/06 is the 12th of June, not December 6th */
    text_is("12/06/2024 21:05 (UTC-6)", &centro,
            CORTE + apr_time_from_sec(10 * 86400));
    /* a time that says it is UTC is UTC, not the feed's zone */
    text_is("03/06/2024 03:05 (UTC)", &centro, CORTE);
    text_is("03/06/2024 03:05 UTC", &centro, CORTE);
    text_is("2024-06-03 03:05 GMT", &centro, CORTE);
    text_is("02/06/2024 21:05 (UTC -6)", &pacifico, CORTE);
    text_is("02/06/2024 21:05 (UTC -06:00)", &pacifico, CORTE);
}
END_TEST

START_TEST(test_text_compact_and_epoch)
{
    text_is("202406022105", &centro, CORTE);
    text_is("202406022005", &pacifico, CORTE);
    text_is("20240602210530", &centro, CORTE + apr_time_from_sec(30));
    text_is("20240602_2105", &centro, CORTE);
    text_is("20240602_210530", &centro, CORTE + apr_time_from_sec(30));
    text_is("20240602T2105", &centro, CORTE);
    text_is("20240602-2105", &centro, CORTE);
    text_is("20240603T030500Z", &centro, CORTE);
    /* epoch seconds (and milliseconds): never in a zone */
    text_is("1717383900", &centro, CORTE);
    text_is("1717383900", &pacifico, CORTE);
    text_is(" 1717383900\r\n", &centro, CORTE);
    text_is("\"1717383900\"", &centro, CORTE);
    text_is("1717383900000", &centro, CORTE);
    text_is("1717383900250", &centro, CORTE + apr_time_from_msec(250));
}
END_TEST

START_TEST(test_text_garbage)
{
    text_bad("");
    text_bad("   ");
    text_bad("\"\"");
    text_bad("ayer");
    text_bad("fecha: 2024-06-02T21:05");
    text_bad("2024-06-02");
    text_bad("2024-06-02T21");
    text_bad("2024-06-02T21:5");
    text_bad("2024-13-02T21:05");
    text_bad("2024-06-31T21:05");
    text_bad("2024-06-02T24:05");
    text_bad("2024-06-02T21:60");
    text_bad("2023-02-29T12:00:00Z");
    text_bad("1969-12-31T23:59");
    text_bad("02/06/2024");
    text_bad("2/6/2024 21:05");
    text_bad("02/06/24 21:05");
    text_bad("30/02/2024 21:05 (UTC-6)");
    text_bad("02/13/2024 21:05 (UTC-6)");
    text_bad("02-06-2024 21:05");
    text_bad("20240602");
    text_bad("202406022");
    text_bad("20241302_2105");
    text_bad("20240602_2505");
    text_bad("202406022105123");
    text_bad("12345");
    text_bad("171738390");
    text_bad("17173839001");
    text_bad("1717383900x");
    text_bad("1717383900 1");
    text_bad("-1717383900");
    /* what starts like an offset must be one, not a time in the zone */
    text_bad("2024-06-02T21:05:00+99:00");
    text_bad("2024-06-02T21:05:00-15");
    text_bad("2024-06-02T21:05:00-06:75");
    text_bad("02/06/2024 21:05 (UTC+99)");
    text_bad("02/06/2024 21:05 (UTC-x)");
    text_bad("02/06/2024 21:05 GMT+x");
}
END_TEST

START_TEST(test_text_followed_by_other_text)
{
    /* text after the time that is not an offset leaves the feed's zone */
    text_is("02/06/2024 21:05, Tiempo del Centro", &centro, CORTE);
    text_is("02/06/2024 21:05 - corte 12", &centro, CORTE);
    text_is("\"2024-06-02 21:05\"", &centro, CORTE);
}
END_TEST

/* ------------------------------------------------------------------ */
/* JSON */

static const char *from_json(apr_time_t *t, const char *pointer,
                             const char *json, const prep_zone_t *z)
{
    prep_corte_spec_t spec;
    const char *argv[] = {"json", "json/main.json", pointer};

    ck_assert_ptr_null(prep_corte_spec_parse(&spec, 3, argv, pool));
    return prep_corte_time_from_content(t, &spec, json, strlen(json), z, pool);
}

static void json_is(const char *pointer, const char *json, apr_time_t want)
{
    apr_time_t t = 0;
    const char *err = from_json(&t, pointer, json, &centro);

    ck_assert_msg(err == NULL, "%s in %s: %s", pointer, json, err);
    ck_assert_msg(t == want, "%s in %s: %" APR_INT64_T_FMT " s", pointer, json,
                  (apr_int64_t)apr_time_sec(t));
}

static void json_bad(const char *pointer, const char *json, const char *says)
{
    apr_time_t t = 777;
    const char *err = from_json(&t, pointer, json, &centro);

    ck_assert_msg(err != NULL, "%s in %s was read", pointer, json);
    ck_assert_msg(strstr(err, says) != NULL, "%s in %s: \"%s\" lacks \"%s\"",
                  pointer, json, err, says);
    ck_assert_msg(strstr(err, "json/main.json") != NULL,
                  "\"%s\" does not name the file", err);
    ck_assert_int_eq(t, 777);
}

START_TEST(test_json)
{
    const char *doc =
        "{\"fechaCorte\": \"2024-06-02T21:05:00-06:00\","
        " \"meta\": {\"corte\": {\"fecha\": \"02/06/2024 21:05 "
        "(UTC-6)\", \"local\": \"2024-06-02 21:05\"}},"
        " \"cortes\": [{\"t\": \"x\"}, {\"t\": \"202406022105\"}],"
        " \"a/b\": {\"c~d\": \"1717383900\"},"
        " \"\": \"20240602_2105\","
        " \"epoch\": 1717383900, \"ms\": 1717383900000}";

    json_is("/fechaCorte", doc, CORTE);
    json_is("/meta/corte/fecha", doc, CORTE);
    json_is("/meta/corte/local", doc, CORTE);
    json_is("/cortes/1/t", doc, CORTE);
    json_is("/a~1b/c~0d", doc, CORTE);
    json_is("/", doc, CORTE);
    json_is("/epoch", doc, CORTE);
    json_is("/ms", doc, CORTE);
    /* a top-level array */
    json_is("/0", "[\"2024-06-02T21:05:00-06:00\"]", CORTE);
    /* with a BOM-less, whitespace-padded document */
    json_is("/f", "\n\n  {\"f\":\"2024-06-02T21:05\"}  \n", CORTE);
    /* with a UTF-8 byte-order mark, as some editors save it */
    json_is("/f", "\xEF\xBB\xBF{\"f\":\"2024-06-02T21:05\"}", CORTE);
}
END_TEST

START_TEST(test_json_bad)
{
    const char *doc = "{\"fechaCorte\": \"ayer\", \"meta\": {\"corte\": "
                      "{\"n\": null}}, \"cortes\": [\"2024-06-02T21:05Z\"],"
                      " \"b\": true, \"r\": 1717383900.5, \"o\": {}, "
                      "\"a\": [], \"z\": 0, \"neg\": -5}";

    /* missing */
    json_bad("/nada", doc, "not found");
    json_bad("/meta/nada", doc, "not found");
    json_bad("/meta/corte/fecha", doc, "not found");
    json_bad("/cortes/1", doc, "not found");
    json_bad("/cortes/-1", doc, "not found");
    json_bad("/cortes/x", doc, "not found");
    json_bad("/cortes/0/t", doc, "not found"); /* through a string */
    json_bad("/fechaCorte/x", doc, "not found");
    json_bad("/FechaCorte", doc, "not found");
    /* not a string (or a positive whole number) */
    json_bad("/meta/corte/n", doc, "not a string");
    json_bad("/b", doc, "not a string");
    json_bad("/r", doc, "not a string");
    json_bad("/o", doc, "not a string");
    json_bad("/a", doc, "not a string");
    json_bad("/z", doc, "not a string");
    json_bad("/neg", doc, "not a string");
    json_bad("/meta", doc, "not a string");
    /* a string that is not a time */
    json_bad("/fechaCorte", doc, "\"ayer\", not a time");
    /* not JSON */
    json_bad("/f", "", "not valid JSON");
    json_bad("/f", "{", "not valid JSON");
    json_bad("/f", "{\"f\": \"2024-06-02T21:05\"", "not valid JSON");
    json_bad("/f", "{\"f\": \"2024-06-02T21:05\"} {}", "not valid JSON");
    json_bad("/f", "f: 2024-06-02T21:05", "not valid JSON");
}
END_TEST

START_TEST(test_json_length)
{
    /* only `len` bytes are the file: what follows is not read */
    static const char buf[] = "{\"f\": \"2024-06-02T21:05:00-06:00\"}"
                              "GARBAGE{{{";
    prep_corte_spec_t spec;
    const char *argv[] = {"json", "x.json", "/f"};
    apr_time_t t = 0;

    ck_assert_ptr_null(prep_corte_spec_parse(&spec, 3, argv, pool));
    ck_assert_ptr_null(prep_corte_time_from_content(
        &t, &spec, buf, strlen(buf) - strlen("GARBAGE{{{"), &centro, pool));
    ck_assert_int_eq(t, CORTE);
    ck_assert_ptr_nonnull(prep_corte_time_from_content(
        &t, &spec, buf, strlen(buf), &centro, pool));
}
END_TEST

/* ------------------------------------------------------------------ */
/* CSV */

static const char *from_csv(apr_time_t *t, int line, const char *data,
                            apr_size_t len, const prep_zone_t *z)
{
    prep_corte_spec_t spec;
    const char *argv[] = {"csv", "datos/PRES_2024.csv", apr_itoa(pool, line)};

    ck_assert_ptr_null(prep_corte_spec_parse(&spec, 3, argv, pool));
    return prep_corte_time_from_content(t, &spec, data, len, z, pool);
}

static void csv_is(int line, const char *data, const prep_zone_t *z,
                   apr_time_t want)
{
    apr_time_t t = 0;
    const char *err = from_csv(&t, line, data, strlen(data), z);

    ck_assert_msg(err == NULL, "line %d of \"%s\": %s", line, data, err);
    ck_assert_msg(t == want, "line %d of \"%s\": %" APR_INT64_T_FMT " s", line,
                  data, (apr_int64_t)apr_time_sec(t));
}

static void csv_bad(int line, const char *data, const char *says)
{
    apr_time_t t = 777;
    const char *err = from_csv(&t, line, data, strlen(data), &centro);

    ck_assert_msg(err != NULL, "line %d of \"%s\" was read", line, data);
    ck_assert_msg(strstr(err, says) != NULL, "\"%s\" lacks \"%s\"", err, says);
    ck_assert_msg(strstr(err, "datos/PRES_2024.csv") != NULL,
                  "\"%s\" does not name the file", err);
    ck_assert_int_eq(t, 777);
}

START_TEST(test_csv)
{
    /* as the INE writes it: a title, the date, then the header and rows */
    const char *ine = "PRESIDENCIA DE LA REPÚBLICA\r\n"
                      "02/06/2024 21:05 (UTC-6)\r\n"
                      "ACTAS_ESPERADAS|ACTAS_REGISTRADAS\r\n"
                      "170000|169000\r\n";
    const char *quoted = "\"PRESIDENCIA DE LA REPÚBLICA\"\r\n"
                         "\"02/06/2024 21:05 (UTC-6)\"\r\n"
                         "\"ACTAS\"\r\n";

    csv_is(2, ine, &centro, CORTE);
    csv_is(2, ine, &pacifico, CORTE); /* the line says its offset */
    csv_is(2, quoted, &centro, CORTE);
    csv_is(2,
           "\xEF\xBB\xBF"
           "TITULO\n02/06/2024 21:05 (UTC-06:00)\n",
           &centro, CORTE);
    csv_is(2, "TITULO\n02/06/2024 21:05 (UTC-6)", &centro, CORTE); /* no EOL */
    csv_is(2, "TITULO\r\n02/06/2024 21:05\r\n", &centro, CORTE);
    csv_is(2, "TITULO\r\n02/06/2024 20:05\r\n", &pacifico, CORTE);
    csv_is(2, "TITULO\nFecha y hora de corte: 02/06/2024 21:05 (UTC-6),,,\n",
           &centro, CORTE);
    csv_is(2, "TITULO\n\"Corte\",\"02/06/2024 21:05:30 (UTC-6)\"\n", &centro,
           CORTE + apr_time_from_sec(30));
    /* a number before the date is not taken for one */
    csv_is(2, "TITULO\n123456789012,02/06/2024 21:05 (UTC-6)\n", &centro,
           CORTE);
    csv_is(2, "TITULO\n2024-06-02T21:05:00-06:00\n", &centro, CORTE);
    csv_is(1, "02/06/2024 21:05 (UTC-6)\nTITULO\n", &centro, CORTE);
    csv_is(3, "A 01/01/2020 00:00\nB 01/01/2021 00:00\n02/06/2024 21:05\n",
           &centro, CORTE);
    /* empty lines count */
    csv_is(3, "TITULO\n\n02/06/2024 21:05 (UTC-6)\n", &centro, CORTE);
}
END_TEST

START_TEST(test_csv_bad)
{
    const char *ine = "PRESIDENCIA DE LA REPÚBLICA\r\n"
                      "02/06/2024 21:05 (UTC-6)\r\n"
                      "ACTAS\r\n";

    csv_bad(4, ine, "has no line 4");
    csv_bad(100, ine, "has no line 100");
    csv_bad(2, "TITULO\n", "has no line 2");
    csv_bad(2, "TITULO", "has no line 2");
    csv_bad(1, "", "has no line 1");
    csv_bad(1, ine, "line 1 has no date");
    csv_bad(3, ine, "line 3 has no date");
    csv_bad(2, "TITULO\n\n02/06/2024 21:05\n", "line 2 has no date");
    csv_bad(2, "TITULO\n31/02/2024 21:05 (UTC-6)\n", "line 2 has no date");
    csv_bad(2, "TITULO\n02/06/2024\n", "line 2 has no date");
}
END_TEST

START_TEST(test_csv_length)
{
    /* the data is `len` bytes, not NUL-terminated: a date after it is not
     * read, and reading stops at the end */
    static const char buf[] = "TITULO\n02/06/2024 21:05 (UTC-6)\n";
    apr_time_t t = 777;

    ck_assert_ptr_nonnull(from_csv(&t, 2, buf, 7, &centro));
    ck_assert_int_eq(t, 777);
    ck_assert_ptr_nonnull(
        from_csv(&t, 2, buf, 20, &centro)); /* "02/06/2024 21" */
    ck_assert_int_eq(t, 777);
    ck_assert_ptr_null(from_csv(&t, 2, buf, 23, &centro)); /* to "21:05" */
    ck_assert_int_eq(t, CORTE);
}
END_TEST

START_TEST(test_content_wrong_source)
{
    prep_corte_spec_t spec;
    apr_time_t t = 777;

    memset(&spec, 0, sizeof(spec));
    spec.source = PREP_CORTE_MTIME;
    ck_assert_ptr_nonnull(
        prep_corte_time_from_content(&t, &spec, "{}", 2, &centro, pool));
    spec.source = PREP_CORTE_FILENAME;
    spec.regex = "(.*)";
    ck_assert_ptr_nonnull(
        prep_corte_time_from_content(&t, &spec, "{}", 2, &centro, pool));
    ck_assert_int_eq(t, 777);
}
END_TEST

/* ------------------------------------------------------------------ */
/* file names */

static const char *from_name(apr_time_t *t, const char *regex, const char *name,
                             const prep_zone_t *z)
{
    prep_corte_spec_t spec;
    const char *argv[] = {"filename", regex};

    ck_assert_ptr_null(prep_corte_spec_parse(&spec, 2, argv, pool));
    return prep_corte_time_from_filename(t, &spec, name, z, pool);
}

static void name_is(const char *regex, const char *name, const prep_zone_t *z,
                    apr_time_t want)
{
    apr_time_t t = 0;
    const char *err = from_name(&t, regex, name, z);

    ck_assert_msg(err == NULL, "%s ~ %s: %s", name, regex, err);
    ck_assert_msg(t == want, "%s ~ %s: %" APR_INT64_T_FMT " s", name, regex,
                  (apr_int64_t)apr_time_sec(t));
}

static void name_bad(const char *regex, const char *name)
{
    apr_time_t t = 777;
    const char *err = from_name(&t, regex, name, &centro);

    ck_assert_msg(err != NULL, "%s ~ %s was read", name, regex);
    ck_assert_int_eq(t, 777);
}

START_TEST(test_filename)
{
    /* one group: the time as text */
    name_is("^prep_qro_([0-9]{8}_[0-9]{4})\\.tar\\.gz$",
            "prep_qro_20240602_2105.tar.gz", &centro, CORTE);
    name_is("_([0-9]{8}_[0-9]{4})", "prep_qro_20240602_2005.zip", &pacifico,
            CORTE);
    name_is("corte-(.*)\\.zip$", "corte-2024-06-02T21:05:00-06:00.zip",
            &pacifico, CORTE);
    name_is("([0-9]{12})", "PREP_PRES_202406022105.tgz", &centro, CORTE);
    name_is("([0-9]{10})", "prep-1717383900.tar.gz", &pacifico, CORTE);
    /* five or six groups: year, month, day, hour, minute[, second] */
    name_is("([0-9]{4})([0-9]{2})([0-9]{2})_([0-9]{2})([0-9]{2})",
            "prep_20240602_2105.tar.gz", &centro, CORTE);
    name_is("([0-9]{4})([0-9]{2})([0-9]{2})_([0-9]{2})([0-9]{2})",
            "prep_20240602_2005.tar.gz", &pacifico, CORTE);
    name_is("([0-9]{4})-([0-9]{2})-([0-9]{2})"
            "_([0-9]{2})h([0-9]{2})m([0-9]{2})s",
            "prep_2024-06-02_21h05m30s.tar.gz", &centro,
            CORTE + apr_time_from_sec(30));
}
END_TEST

START_TEST(test_filename_no_group)
{
    /* "the part of the package's file name matched by the REGEX"
     * (docs/directives.md): without a group, the whole match */
    name_is("[0-9]{8}_[0-9]{4}", "prep_qro_20240602_2105.tar.gz", &centro,
            CORTE);
    name_is("[0-9]{12}", "PREP_202406022005.zip", &pacifico, CORTE);
    name_bad("prep_", "prep_qro_20240602_2105.tar.gz");
}
END_TEST

START_TEST(test_filename_bad)
{
    /* no match */
    name_bad("^prep_([0-9]{8}_[0-9]{4})\\.tar\\.gz$", "prep_20240602.tar.gz");
    name_bad("([0-9]{8}_[0-9]{4})", "sin-fecha.tar.gz");
    name_bad("^([0-9]{4})([0-9]{2})([0-9]{2})_([0-9]{2})([0-9]{2})$",
             "prep_20240602_2105");
    /* a match that is not a time */
    name_bad("_([0-9]+)\\.", "prep_12345.tar.gz");
    name_bad("^([a-z]+)_", "prep_20240602_2105.tar.gz");
    name_bad("([0-9]{4})([0-9]{2})([0-9]{2})_([0-9]{2})([0-9]{2})",
             "prep_20241302_2105.tar.gz");
    name_bad("([0-9]{4})([0-9]{2})([0-9]{2})_([0-9]{2})([0-9]{2})",
             "prep_20240230_2105.tar.gz");
    name_bad("([0-9]{2})([0-9]{2})([0-9]{2})_([0-9]{2})([0-9]{2})",
             "prep_240602_2105.tar.gz"); /* a two-digit year */
    name_bad("([0-9]{4})([0-9]{2})([0-9]{2})_([0-9]{2})([0-9]*)",
             "prep_20240602_21.tar.gz"); /* an empty group */
    name_bad("([a-z]{4})([0-9]{2})([0-9]{2})_([0-9]{2})([0-9]{2})",
             "prep_20240602_2105.tar.gz");
    /* a group count that says nothing */
    name_bad("([0-9]{8})_([0-9]{4})", "prep_20240602_2105.tar.gz");
    name_bad("([0-9]{4})([0-9]{2})([0-9]{2})_([0-9]{2})",
             "prep_20240602_2105.tar.gz");
    name_bad("(((((((([0-9]{8}_[0-9]{4}))))))))", "prep_20240602_2105.tar.gz");
    /* the one group did not take part in the match */
    name_bad("(x)?prep_", "prep_20240602_2105.tar.gz");
}
END_TEST

Suite *suite_cortetime(void)
{
    Suite *s = suite_create("cortetime");
    TCase *tc = tcase_create("cortetime");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_spec_parse);
    tcase_add_test(tc, test_spec_parse_bad);
    tcase_add_test(tc, test_text_iso);
    tcase_add_test(tc, test_text_ine);
    tcase_add_test(tc, test_text_compact_and_epoch);
    tcase_add_test(tc, test_text_garbage);
    tcase_add_test(tc, test_text_followed_by_other_text);
    tcase_add_test(tc, test_json);
    tcase_add_test(tc, test_json_bad);
    tcase_add_test(tc, test_json_length);
    tcase_add_test(tc, test_csv);
    tcase_add_test(tc, test_csv_bad);
    tcase_add_test(tc, test_csv_length);
    tcase_add_test(tc, test_content_wrong_source);
    tcase_add_test(tc, test_filename);
    tcase_add_test(tc, test_filename_no_group);
    tcase_add_test(tc, test_filename_bad);
    suite_add_tcase(s, tc);
    return s;
}
