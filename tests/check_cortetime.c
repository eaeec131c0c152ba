/* check_cortetime.c — unit tests of where a package says when its corte was
 * cut (prep_cortetime.c): the PrepCorteTime arguments, the ways a time is
 * written, a JSON pointer, a line of the INE CSV and the file name.  Every
 * JSON and CSV case is read twice, from memory and from a file descriptor
 * (the pack), and both must agree; files over 50 MB are read in a child
 * whose peak memory is measured. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* An unlinked temporary file: nothing is left behind if a test fails. */
static int temp_fd(void)
{
    const char *dir = getenv("TMPDIR");
    char *path = apr_psprintf(pool, "%s/prep-cortetime-XXXXXX",
                              dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);

    ck_assert_msg(fd >= 0, "mkstemp %s: %s", path, strerror(errno));
    unlink(path);
    return fd;
}

static void put(int fd, const void *data, size_t len)
{
    const char *c = data;
    ssize_t n;

    while (len) {
        n = write(fd, c, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        ck_assert_msg(n > 0, "write: %s", strerror(errno));
        c += n;
        len -= (size_t)n;
    }
}

/* Reads data as spec->file twice: from memory, and from a file where it
 * sits between other bytes (as in a pack); both readings must agree. */
static const char *read_both(apr_time_t *t, const prep_corte_spec_t *spec,
                             const char *data, apr_size_t len,
                             const prep_zone_t *z)
{
    static const char before[] = "PACK{\"x\":[\"", after[] = "\"]}\r\nPACK";
    apr_time_t t_fd = *t;
    const char *err, *err_fd;
    int fd = temp_fd();

    err = prep_corte_time_from_content(t, spec, data, len, z, pool);
    put(fd, before, strlen(before));
    put(fd, data, len);
    put(fd, after, strlen(after));
    err_fd = prep_corte_time_from_fd(&t_fd, spec, fd, (apr_off_t)strlen(before),
                                     (apr_off_t)len, z, pool);
    close(fd);
    ck_assert_msg((err == NULL) == (err_fd == NULL) &&
                      (!err || !strcmp(err, err_fd)),
                  "from memory: %s; from the file: %s", err ? err : "(read)",
                  err_fd ? err_fd : "(read)");
    ck_assert_msg(t_fd == *t,
                  "from memory %" APR_INT64_T_FMT
                  " s, from the file %" APR_INT64_T_FMT " s",
                  (apr_int64_t)apr_time_sec(*t),
                  (apr_int64_t)apr_time_sec(t_fd));
    return err;
}

/* ------------------------------------------------------------------ */
/* PrepCorteTime arguments */

START_TEST(corte_time_sources_json_csv_filename_mtime_read)
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

START_TEST(bad_corte_time_sources_are_refused_saying_why)
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
        "json d.json /a~2", /* RFC 6901: '~' is "~0" or "~1" */
        "json d.json /a~",
        "json d.json /~/b",
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

START_TEST(iso_text_is_in_the_zone_only_without_an_offset)
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

START_TEST(ine_day_first_text_with_or_without_an_offset)
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

START_TEST(compact_digits_are_in_the_zone_epochs_are_not)
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

START_TEST(text_that_is_not_a_whole_valid_time_is_refused)
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

START_TEST(text_after_the_time_that_is_no_offset_keeps_the_zone)
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
    return read_both(t, &spec, json, strlen(json), z);
}

/* A document of len bytes (it may hold a NUL). */
static const char *from_json_len(apr_time_t *t, const char *pointer,
                                 const char *json, apr_size_t len)
{
    prep_corte_spec_t spec;
    const char *argv[] = {"json", "json/main.json", pointer};

    ck_assert_ptr_null(prep_corte_spec_parse(&spec, 3, argv, pool));
    return read_both(t, &spec, json, len, &centro);
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

START_TEST(json_pointer_finds_the_time_anywhere_in_the_document)
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

START_TEST(json_pointer_missing_or_not_a_time_says_which)
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

START_TEST(json_is_read_only_within_its_length)
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
    return read_both(t, &spec, data, len, z);
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

START_TEST(csv_line_gives_its_date_bare_quoted_or_in_a_field)
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

START_TEST(csv_line_missing_or_without_a_date_says_which)
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

START_TEST(csv_is_read_only_within_its_length)
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

START_TEST(content_gives_no_time_for_mtime_or_filename_sources)
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

START_TEST(filename_groups_give_the_time_as_text_or_as_fields)
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

START_TEST(filename_regex_is_pcre_as_httpd_takes_it)
{
    /* the regular expressions every other Apache directive takes (issue
     * 14): "\\d" and "(?i)" read as PCRE, not as POSIX ERE, where "\\d" is
     * a plain "d" and "(?i)" is not valid */
    prep_corte_spec_t spec;
    const char *argv[] = {"filename", "([0-9]"};
    const char *err;

    name_is("(\\d{8}_\\d{4})", "prep_qro_20240602_2105.tar.gz", &centro, CORTE);
    name_is("(?i)^prep_pres_(\\d{12})\\.TGZ$", "PREP_PRES_202406022105.tgz",
            &centro, CORTE);
    name_is("(?<y>\\d{4})(?<m>\\d\\d)(?<d>\\d\\d)_(\\d\\d)(\\d\\d)",
            "prep_20240602_2105.tar.gz", &centro, CORTE);
    name_bad("(\\d{8}_\\d{4})", "prep_qro_dddddddd_dddd.tar.gz");
    /* a bad one says why and where, at configtest */
    err = prep_corte_spec_parse(&spec, 2, argv, pool);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, "([0-9]") && strstr(err, "offset"), "%s", err);
    ck_assert_ptr_null(prep_corte_regex_check("(?i)\\d+", pool));
    ck_assert_ptr_nonnull(prep_corte_regex_check("(?<", pool));
}
END_TEST

START_TEST(filename_regex_without_a_group_takes_the_whole_match)
{
    /* "the part of the package's file name matched by the REGEX"
     * (docs/directives.md): without a group, the whole match */
    name_is("[0-9]{8}_[0-9]{4}", "prep_qro_20240602_2105.tar.gz", &centro,
            CORTE);
    name_is("[0-9]{12}", "PREP_202406022005.zip", &pacifico, CORTE);
    name_bad("prep_", "prep_qro_20240602_2105.tar.gz");
}
END_TEST

START_TEST(filename_without_a_match_or_a_time_is_refused)
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

/* ------------------------------------------------------------------ */
/* zone words and plausible numbers */

START_TEST(unknown_zone_words_are_refused_not_read_in_the_zone)
{
    apr_time_t t = 777;
    const char *err;

    /* a zone this reader does not know is an error, not the feed's zone */
    text_bad("2024-06-02 21:05:00 EDT");
    text_bad("2024-06-02 21:05:00 PST");
    text_bad("2024-06-02 21:05:00 CDT");
    text_bad("2024-06-02T21:05:00EDT");
    text_bad("02/06/2024 21:05 (CDT)");
    text_bad("02/06/2024 21:05 (CST)");
    text_bad("02/06/2024 21:05 hrs");
    text_bad("02/06/2024 21:05 p.m.");
    text_bad("2024-06-03T03:05:00Zulu");
    text_bad("20240602_2105 MST");
    text_bad("02/06/2024 21:05 UTC6");
    text_bad("2024-06-02T21:05:00-06:0");
    text_bad("2024-06-02T21:05:00-060");
    /* the known ones */
    text_is("2024-06-03 03:05:00 UTC", &centro, CORTE);
    text_is("03/06/2024 03:05 (GMT)", &centro, CORTE);
    text_is("03/06/2024 03:05 utc", &centro, CORTE);
    text_is("2024-06-03 03:05:00 Z", &centro, CORTE);
    text_is("02/06/2024 21:05 (UTC-6:00)", &pacifico, CORTE);
    text_is("02/06/2024 21:05 -6", &pacifico, CORTE);
    /* the reason is in the sentence, from JSON and from the CSV */
    err = from_json(&t, "/f", "{\"f\": \"2024-06-02 21:05:00 EDT\"}", &centro);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, "unknown time zone \"EDT\""), "%s", err);
    err = from_csv(&t, 2, "TITULO\r02/06/2024 21:05 PST\r", 29, &centro);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, "line 2: unknown time zone \"PST\""), "%s", err);
    err = from_csv(&t, 2, "T\n02/06/2024 21:05 (UTC+99)\n", 28, &centro);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, "\"UTC+99\" is not a UTC offset"), "%s", err);
    ck_assert_int_eq(t, 777);
}
END_TEST

START_TEST(numbers_are_times_only_from_2000_to_2099)
{
    /* epoch seconds and milliseconds from 2000-01-01 to 2100-01-01 UTC */
    text_is("4102444799", &centro, apr_time_from_sec(4102444799LL));
    text_is("4102444799999", &centro,
            apr_time_from_msec(APR_INT64_C(4102444799999)));
    text_is("0946684800000", &centro, apr_time_from_sec(946684800));
    text_bad("4102444800");
    text_bad("9999999999");
    text_bad("0946684799");
    text_bad("4102444800000");
    text_bad("0000000000000");
    /* digit strings: a valid date in the years 2000..2099 */
    text_is("200001010600", &centro, apr_time_from_sec(946728000));
    text_is("20991231_1759", &centro, apr_time_from_sec(4102444740LL));
    text_bad("199912312359");
    text_bad("210001010000");
    text_bad("19700101_0000");
    text_bad("20240230_2105");
    text_bad("202406022160");
    text_bad("20240602");
}
END_TEST

START_TEST(json_numbers_are_epochs_only_when_plausible)
{
    const char *doc =
        "{\"fecha\": 20240602, \"s\": 1717383900, \"ms\": 1717383900000,"
        " \"min\": 946684800, \"under\": 946684799, \"max\": 4102444799,"
        " \"over\": 4102444800, \"msover\": 4102444800000,"
        " \"compact\": 202406022105, \"huge\": 99999999999999999999999,"
        " \"exp\": 1.7173839e9, \"frac\": 1717383900.0, \"e0\": 1717383900e0,"
        " \"neg\": -1717383900}";

    json_is("/s", doc, CORTE);
    json_is("/ms", doc, CORTE);
    json_is("/min", doc, apr_time_from_sec(946684800));
    json_is("/max", doc, apr_time_from_sec(4102444799LL));
    /* a date written as a number is not an epoch */
    json_bad("/fecha", doc, "is 20240602, not a string or a plausible epoch");
    json_bad("/compact", doc, "is 202406022105, not");
    json_bad("/under", doc, "not a string or a plausible epoch");
    json_bad("/over", doc, "not a string or a plausible epoch");
    json_bad("/msover", doc, "not a string or a plausible epoch");
    json_bad("/huge", doc, "not a string or a plausible epoch");
    json_bad("/exp", doc, "not a string or a plausible epoch");
    json_bad("/frac", doc, "not a string or a plausible epoch");
    json_bad("/e0", doc, "not a string or a plausible epoch");
    json_bad("/neg", doc, "not a string or a plausible epoch");
}
END_TEST

/* ------------------------------------------------------------------ */
/* the JSON scanner */

START_TEST(json_pointer_and_key_escapes_match_as_rfc_6901_says)
{
    const char *doc =
        "{\"a/b\": {\"c~d\": \"2024-06-02T21:05:00-06:00\"},"
        " \"~1\": \"2024-06-02T21:05:00-06:00\","
        " \"f\\u0065cha\": \"2024-06-02T21:05:00-06:00\","
        " \"x\\/y\": \"2024-06-02T21:05:00-06:00\","
        " \"a\\u00f1o\": \"2024-06-02T21:05:00-06:00\","
        " \"\xF0\x9F\x97\xB3\": \"2024-06-02T21:05:00-06:00\","
        " \"t\\\"q\": \"2024-06-02T21:05:00\\u002d06:00\","
        " \"fechaCorteX\": \"2024-06-02T21:05\", \"fech\": \"x\","
        " \"l\": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, \"2024-06-02T21:05\"],"
        " \"n\": [[\"x\", [\"2024-06-02T21:05\"]]]}";
    prep_corte_spec_t spec;
    apr_time_t t = 777;

    json_is("/a~1b/c~0d", doc, CORTE);
    json_is("/~01", doc, CORTE);              /* the key "~1" */
    json_is("/fecha", doc, CORTE);            /* escapes in the document */
    json_is("/x~1y", doc, CORTE);             /* "x\/y" is "x/y" */
    json_is("/a\xC3\xB1o", doc, CORTE);       /* "a\u00f1o" is "año" */
    json_is("/\xF0\x9F\x97\xB3", doc, CORTE); /* a raw 4-byte UTF-8 key */
    json_is("/t\"q", doc, CORTE); /* \" in a key, \u002d in a value */
    json_is("/l/10", doc, CORTE);
    json_is("/n/0/1/0", doc, CORTE);
    /* a key is compared whole, and an index has no leading zero */
    json_bad("/fechaCorte", doc, "not found");
    json_bad("/fec", doc, "not found");
    json_bad("/l/010", doc, "not found");
    json_bad("/l/11", doc, "not found");
    json_bad("/l/-", doc, "not found");
    json_bad("/l/+1", doc, "not found");
    json_bad("/a/b/c~0d", doc, "not found"); /* "~1" is '/', '/' splits */
    json_bad("/n/0/1/0/0", doc, "not found");
    /* a pointer that is not one (set without PrepCorteTime's check) */
    memset(&spec, 0, sizeof(spec));
    spec.source = PREP_CORTE_JSON;
    spec.file = "json/main.json";
    spec.pointer = "/a~2";
    ck_assert_ptr_nonnull(prep_corte_time_from_content(
        &t, &spec, doc, strlen(doc), &centro, pool));
    spec.pointer = "a";
    ck_assert_ptr_nonnull(prep_corte_time_from_content(
        &t, &spec, doc, strlen(doc), &centro, pool));
    ck_assert_int_eq(t, 777);
}
END_TEST

/* "[[[ ... "2024-06-02T21:05" ... ]]]" n deep, and its pointer /0/0/.../0 */
static char *nested(int n, char **pointer)
{
    char *doc = apr_palloc(pool, (apr_size_t)n * 2 + 32), *c = doc;
    char *ptr = apr_palloc(pool, (apr_size_t)n * 2 + 1), *q = ptr;
    int i;

    for (i = 0; i < n; i++) {
        *c++ = '[';
        *q++ = '/';
        *q++ = '0';
    }
    c += sprintf(c, "\"2024-06-02T21:05\"");
    for (i = 0; i < n; i++) {
        *c++ = ']';
    }
    *c = *q = '\0';
    *pointer = ptr;
    return doc;
}

START_TEST(json_deeper_than_64_is_refused_on_and_off_the_path)
{
    char *ptr, *doc;

    doc = nested(PREP_CORTE_JSON_DEPTH, &ptr);
    json_is(ptr, doc, CORTE);
    doc = nested(PREP_CORTE_JSON_DEPTH + 1, &ptr);
    json_bad(ptr, doc, "more than 64 deep");
    /* off the pointer's path the bound holds too */
    doc = nested(PREP_CORTE_JSON_DEPTH + 1, &ptr);
    json_bad("/f",
             apr_pstrcat(pool, "{\"f\": \"2024-06-02T21:05\", \"x\": ", doc,
                         "}", NULL),
             "more than 64 deep");
    json_bad("/f",
             apr_pstrcat(pool, "{\"x\": {\"y\": ", doc,
                         "}, \"f\": \"2024-06-02T21:05\"}", NULL),
             "more than 64 deep");
    /* a million brackets: refused without a million frames */
    doc = nested(1000000, &ptr);
    json_bad("/0", doc, "more than 64 deep");
    doc = apr_pstrcat(pool, "{\"f\": \"2024-06-02T21:05\", \"x\": ",
                      nested(PREP_CORTE_JSON_DEPTH - 1, &ptr), "}", NULL);
    json_is("/f", doc, CORTE);
}
END_TEST

START_TEST(json_faults_before_the_value_are_refused)
{
    /* each has a fault before (or at) the value at /f */
    static const char *const bad[] = {
        "{\"a\": [1 2], \"f\": \"2024-06-02T21:05\"}",
        "{\"a\": 01, \"f\": \"2024-06-02T21:05\"}",
        "{\"a\": -, \"f\": \"2024-06-02T21:05\"}",
        "{\"a\": 1., \"f\": \"2024-06-02T21:05\"}",
        "{\"a\": 1e, \"f\": \"2024-06-02T21:05\"}",
        "{\"a\": .5, \"f\": \"2024-06-02T21:05\"}",
        "{\"a\": +1, \"f\": \"2024-06-02T21:05\"}",
        "{\"a\": tru, \"f\": \"2024-06-02T21:05\"}",
        "{\"a\": nul, \"f\": \"2024-06-02T21:05\"}",
        "{\"a\": True, \"f\": \"2024-06-02T21:05\"}",
        "{\"a\": NaN, \"f\": \"2024-06-02T21:05\"}",
        "{\"a\": Infinity, \"f\": \"2024-06-02T21:05\"}",
        "{'a': 1, \"f\": \"2024-06-02T21:05\"}",
        "{a: 1, \"f\": \"2024-06-02T21:05\"}",
        "{\"a\" 1, \"f\": \"2024-06-02T21:05\"}",
        "{\"a\": 1,, \"f\": \"2024-06-02T21:05\"}",
        "{\"a\": [1,], \"f\": \"2024-06-02T21:05\"}",
        "{\"a\": 1 \"f\": \"2024-06-02T21:05\"}",
        "{\"a\": \"x\\qy\", \"f\": \"2024-06-02T21:05\"}",
        "{\"a\": \"tab\there\", \"f\": \"2024-06-02T21:05\"}",
        "{\"a\": \"line\nbreak\", \"f\": \"2024-06-02T21:05\"}",
        "{\"a\": \"\\u12\", \"f\": \"2024-06-02T21:05\"}",
        "{\"a\": \"\\u12G4\", \"f\": \"2024-06-02T21:05\"}",
        "{\"a\": \"\\ud800\", \"f\": \"2024-06-02T21:05\"}",
        "{\"a\": \"\\ud800\\u0041\", \"f\": \"2024-06-02T21:05\"}",
        "{\"a\": \"\\udc00\", \"f\": \"2024-06-02T21:05\"}",
        "{\"a\": \"\\u0000\", \"f\": \"2024-06-02T21:05\"}",
        "{\"a\": \"\xC0\x80\", \"f\": \"2024-06-02T21:05\"}",
        "{\"a\": \"\xFF\", \"f\": \"2024-06-02T21:05\"}",
        "{\"a\": \"\xE9t\xE9\", \"f\": \"2024-06-02T21:05\"}", /* Latin-1 */
        "{\"a\": \"\xED\xA0\x80\", \"f\": \"2024-06-02T21:05\"}",
        "{\"a\": \"\xF4\x90\x80\x80\", \"f\": \"2024-06-02T21:05\"}",
        "{\"a\": \"\xE2\x82\", \"f\": \"2024-06-02T21:05\"}",
        "{\"a\": \"\xE0\x80\xAF\", \"f\": \"2024-06-02T21:05\"}",
        "{\"a\\u0000\": 1, \"f\": \"2024-06-02T21:05\"}",
        "{\"a\": 1, // comment\n \"f\": \"2024-06-02T21:05\"}",
        "{\"a\": 1, \"f\": \"2024-06-02T21:05\",}",
        "{\"f\": \"2024-06-02T21:05\"",
        "{\"f\": \"2024-06-02T21:05",
        "{\"f\": \"2024-06-02T21:05\"} x",
        "{\"f\": \"2024-06-02T21:05\"}]",
        " \xEF\xBB\xBF{\"f\": \"2024-06-02T21:05\"}", /* a BOM not first */
        "\xEF\xBB\xBF\xEF\xBB\xBF{\"f\": \"2024-06-02T21:05\"}",
        "\xEF\xBB{\"f\": \"2024-06-02T21:05\"}",
        "\x00{\"f\": \"2024-06-02T21:05\"}",
    };
    /* the same constructs, written right, are read */
    static const char *const good[] = {
        "{\"a\": [1, 2], \"b\": 0, \"c\": -0.5e+10, \"d\": 1E5, "
        "\"e\": [true, false, null, {}, [], \"\"], "
        "\"f\": \"2024-06-02T21:05\"}",
        "{\"a\": \"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud834\\udd1e\", "
        "\"f\": \"2024-06-02T21:05\"}",
        "{\"a\": \"\xC3\xA9 \xE2\x82\xAC \xF0\x9D\x84\x9E \xEF\xBF\xBF "
        "\xF4\x8F\xBF\xBF\", \"f\": \"2024-06-02T21:05\"}",
        "\t\r\n {\r\n\t\"f\"\t:\r\n\"2024-06-02T21:05\"\n}\n",
        "\xEF\xBB\xBF{\"f\": \"2024-06-02T21:05\"}",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        apr_time_t t = 777;
        const char *err;

        /* (the NUL-led one is measured by hand) */
        err = i + 1 == sizeof(bad) / sizeof(bad[0])
                  ? from_json_len(&t, "/f", bad[i], 1 + strlen(bad[i] + 1))
                  : from_json(&t, "/f", bad[i], &centro);
        ck_assert_msg(err && strstr(err, "not valid JSON"), "bad[%zu] %s: %s",
                      i, bad[i], err ? err : "read");
        ck_assert_int_eq(t, 777);
    }
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        json_is("/f", good[i], CORTE);
    }
}
END_TEST

START_TEST(json_fault_is_shown_with_its_line_and_offset)
{
    apr_time_t t = 777;
    const char *err = from_json(
        &t, "/f", "{\n  \"a\": 1,\n  \"b\" 2,\n  \"f\": \"x\"}", &centro);

    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, "(line 3, offset 18: expected ':' after a key, "
                              "found '2')"),
                  "%s", err);
}
END_TEST

START_TEST(json_key_twice_on_the_path_is_refused)
{
    /* which of two equal keys counts is not clear: refused */
    json_bad("/f", "{\"f\": \"2024-06-02T21:05\", \"f\": \"2024-06-03T21:05\"}",
             "more than once");
    json_bad("/m/f",
             "{\"m\": {\"f\": \"2024-06-02T21:05\"}, \"m\": {\"f\": 1}}",
             "more than once");
    json_bad("/f", "{\"f\": \"2024-06-02T21:05\", \"f\\u0000\": 1}",
             "not valid JSON");
    /* a fault after the second one is still a fault of the file */
    json_bad("/f",
             "{\"f\": \"2024-06-02T21:05\", \"f\": \"2024-06-03T21:05\", "
             "\"x\": [1 2]}",
             "not valid JSON");
    json_bad("/f", "{\"f\": 1717383900, \"f\": \"x\"}", "more than once");
    /* repeated keys elsewhere are not the reader's business */
    json_is("/f", "{\"a\": 1, \"a\": 2, \"f\": \"2024-06-02T21:05\"}", CORTE);
    json_is("/m/f", "{\"m\": {\"g\": 1}, \"m\": {\"f\": \"2024-06-02T21:05\"}}",
            CORTE);
}
END_TEST

START_TEST(json_value_longer_than_256_bytes_is_refused)
{
    char *text = apr_palloc(pool, 2 * 1024 * 1024);
    const char *time = "2024-06-02T21:05:00-06:00";
    size_t n = strlen(time), i;

    /* PREP_CORTE_TEXT_MAX bytes at the pointer: read */
    memcpy(text, time, n);
    memset(text + n, ' ', PREP_CORTE_TEXT_MAX - n);
    text[PREP_CORTE_TEXT_MAX] = '\0';
    json_is("/f", apr_pstrcat(pool, "{\"f\": \"", text, "\"}", NULL), CORTE);
    /* one more: refused */
    text[PREP_CORTE_TEXT_MAX] = ' ';
    text[PREP_CORTE_TEXT_MAX + 1] = '\0';
    json_bad("/f", apr_pstrcat(pool, "{\"f\": \"", text, "\"}", NULL),
             "longer than 256 bytes");
    /* escapes count as the bytes they stand for */
    text[0] = '\0';
    for (i = n; i < PREP_CORTE_TEXT_MAX; i++) {
        strcat(text, "\\u0020");
    }
    json_is("/f", apr_pstrcat(pool, "{\"f\": \"", time, text, "\"}", NULL),
            CORTE);
    json_bad("/f", apr_pstrcat(pool, "{\"f\": \"", time, text, "\\t\"}", NULL),
             "longer than 256 bytes");
    /* a long string off the path is only skipped */
    memset(text, 'x', 2 * 1024 * 1024 - 1);
    text[2 * 1024 * 1024 - 1] = '\0';
    json_is("/f",
            apr_pstrcat(pool, "{\"big\": \"", text, "\", \"", text,
                        "\": 1, \"f\": \"", time, "\"}", NULL),
            CORTE);
}
END_TEST

/* ------------------------------------------------------------------ */
/* CSV line ends and bounds */

START_TEST(csv_lines_end_in_cr_lf_or_crlf_after_a_bom)
{
    /* as the INE's 2024 generator writes: UTF-8 with a BOM, lines ending in
     * a lone CR */
    const char *cr = "\xEF\xBB\xBF"
                     "PRESIDENCIA DE LA REP\xC3\x9A"
                     "BLICA\r"
                     "02/06/2024 21:05 (UTC-6)\r"
                     "ACTAS_ESPERADAS|ACTAS_REGISTRADAS\r"
                     "170000|169000\r"
                     "02/06/2024 20:05 (UTC-7)";
    const char *cr_first = "\xEF\xBB\xBF"
                           "02/06/2024 21:05 (UTC-6)\rTITULO\r";

    csv_is(2, cr, &centro, CORTE);
    csv_is(5, cr, &centro, CORTE); /* the last line, without a terminator */
    csv_is(1, cr_first, &centro, CORTE);
    csv_bad(6, cr, "has no line 6");
    csv_bad(3, cr_first, "has no line 3");
    csv_bad(3, cr, "line 3 has no date");
    /* CRLF and LF: one line end each, never two */
    csv_is(3, "A\r\nB\r\n02/06/2024 21:05\r\n", &centro, CORTE);
    csv_is(3, "A\nB\n02/06/2024 21:05\n", &centro, CORTE);
    csv_bad(4, "A\r\nB\r\n02/06/2024 21:05\r\n", "has no line 4");
    /* mixed, and empty lines in each convention */
    csv_is(4, "A\rB\r\nC\n02/06/2024 21:05", &centro, CORTE);
    csv_is(3, "A\r\r02/06/2024 21:05\r", &centro, CORTE);
    csv_is(3, "A\r\n\r\n02/06/2024 21:05\r\n", &centro, CORTE);
    csv_bad(2, "A\r\r02/06/2024 21:05\r", "line 2 has no date");
    csv_bad(2, "TITULO\r", "has no line 2");
    /* a BOM only counts at the start */
    csv_is(1,
           "\xEF\xBB\xBF\xEF\xBB\xBF"
           "02/06/2024 21:05",
           &centro, CORTE);
    csv_is(1,
           "\xEF\xBB"
           "02/06/2024 21:05",
           &centro, CORTE);
}
END_TEST

START_TEST(csv_lines_longer_than_64_kb_are_refused)
{
    const char *date = "02/06/2024 21:05 (UTC-6)";
    apr_size_t n = strlen(date), max = PREP_CORTE_LINE_MAX;
    char *data = apr_palloc(pool, 3 * max);

    /* line 2 of exactly PREP_CORTE_LINE_MAX bytes, the date at its end */
    memcpy(data, "T\r", 2);
    memset(data + 2, ',', max - n);
    memcpy(data + 2 + max - n, date, n + 1);
    csv_is(2, data, &centro, CORTE);
    /* one byte more: refused, with or without a line end */
    memset(data + 2, ',', max - n + 1);
    memcpy(data + 2 + max - n + 1, date, n + 1);
    csv_bad(2, data, "line 2 is longer than 65536 bytes");
    strcat(data, "\r\n");
    csv_bad(2, data, "line 2 is longer than 65536 bytes");
    /* a line before LINE is bounded too */
    csv_bad(3, data, "line 2 is longer than 65536 bytes");
    /* one after it is not read */
    memcpy(data, "T\r", 2);
    memcpy(data + 2, date, n);
    memcpy(data + 2 + n, "\r", 1);
    memset(data + 3 + n, 'x', 2 * max);
    data[3 + n + 2 * max] = '\0';
    csv_is(2, data, &centro, CORTE);
}
END_TEST

/* ------------------------------------------------------------------ */
/* reading from a file descriptor */

static const char *fd_read(apr_time_t *t, const char *args, int fd,
                           apr_off_t offset, apr_off_t len)
{
    prep_corte_spec_t spec;

    ck_assert_ptr_null(parse(&spec, args));
    return prep_corte_time_from_fd(t, &spec, fd, offset, len, &centro, pool);
}

START_TEST(time_is_read_from_a_range_of_a_descriptor)
{
    const char *json = "{\"f\": \"2024-06-02T21:05:00-06:00\"}";
    const char *csv = "TITULO\r02/06/2024 21:05 (UTC-6)\r";
    apr_off_t jl = (apr_off_t)strlen(json), cl = (apr_off_t)strlen(csv);
    prep_corte_spec_t spec;
    apr_time_t t = 777;
    const char *err;
    int fd = temp_fd();

    /* a pack: other files' bytes around each */
    put(fd, "AAAA", 4);
    put(fd, json, (size_t)jl);
    put(fd, "{{{{", 4);
    put(fd, csv, (size_t)cl);
    put(fd, "\"]]", 3);
    ck_assert_ptr_null(fd_read(&t, "json x.json /f", fd, 4, jl));
    ck_assert_int_eq(t, CORTE);
    t = 777;
    ck_assert_ptr_null(fd_read(&t, "csv x.csv 2", fd, 8 + jl, cl));
    ck_assert_int_eq(t, CORTE);
    t = 777;
    /* a byte more or less is another file, and not JSON */
    ck_assert_ptr_nonnull(fd_read(&t, "json x.json /f", fd, 4, jl + 1));
    ck_assert_ptr_nonnull(fd_read(&t, "json x.json /f", fd, 4, jl - 1));
    ck_assert_ptr_nonnull(fd_read(&t, "json x.json /f", fd, 3, jl));
    /* an empty file */
    err = fd_read(&t, "json x.json /f", fd, 4, 0);
    ck_assert_msg(err && strstr(err, "not valid JSON"), "%s", err);
    err = fd_read(&t, "csv x.csv 1", fd, 4, 0);
    ck_assert_msg(err && strstr(err, "has no line 1"), "%s", err);
    /* the pack ends before the file does */
    err = fd_read(&t, "csv x.csv 3", fd, 8 + jl, cl + 100);
    ck_assert_msg(err && strstr(err, "x.csv cannot be read back: the pack "
                                     "ends after 35 of its 132 bytes"),
                  "%s", err);
    err = fd_read(&t, "json x.json /f", fd, 1000, 10);
    ck_assert_msg(err && strstr(err, "cannot be read back"), "%s", err);
    /* no offset, length or descriptor that is one */
    ck_assert_ptr_nonnull(fd_read(&t, "json x.json /f", fd, -1, jl));
    ck_assert_ptr_nonnull(fd_read(&t, "json x.json /f", fd, 4, -1));
    ck_assert_ptr_nonnull(
        fd_read(&t, "json x.json /f", fd, APR_INT64_MAX, APR_INT64_MAX));
    ck_assert_ptr_nonnull(fd_read(&t, "json x.json /f", -1, 4, jl));
    close(fd);
    err = fd_read(&t, "json x.json /f", fd, 4, jl);
    ck_assert_msg(err && strstr(err, "x.json cannot be read back: "), "%s",
                  err);
    /* a source that reads no file */
    ck_assert_ptr_null(parse(&spec, "mtime"));
    ck_assert_ptr_nonnull(
        prep_corte_time_from_fd(&t, &spec, 0, 0, 10, &centro, pool));
    ck_assert_int_eq(t, 777);
}
END_TEST

START_TEST(reading_across_block_ends_gives_the_same_time)
{
    /* the key, its escapes, a multi-byte character and the value fall on
     * every side of the first block's end */
    const char *tail =
        "\"f\\u0065ch\xC3\xA1\": \"2024-06-02T21:05:00\\u002d06:00\"}";
    apr_size_t block = PREP_CORTE_BLOCK, pad;
    char *data = apr_palloc(pool, 2 * block);

    for (pad = block - 70; pad <= block + 2; pad++) {
        apr_time_t t = 0;
        const char *err;
        int fd = temp_fd();

        memset(data, ' ', pad);
        data[0] = '{';
        memcpy(data + pad, tail, strlen(tail));
        put(fd, data, pad + strlen(tail));
        err = fd_read(&t, "json x.json /fech\xC3\xA1", fd, 0,
                      (apr_off_t)(pad + strlen(tail)));
        ck_assert_msg(err == NULL, "pad %zu: %s", (size_t)pad, err);
        ck_assert_int_eq(t, CORTE);
        close(fd);
    }
    /* a CRLF split by the block's end is one line end */
    for (pad = block - 3; pad <= block; pad++) {
        apr_time_t t = 0;
        const char *err;
        int fd = temp_fd();

        memset(data, 'x', pad - 1);
        memcpy(data + pad - 1, "\r\nY\r\n02/06/2024 21:05\r\n", 24);
        put(fd, data, pad + 23);
        err = fd_read(&t, "csv x.csv 3", fd, 0, (apr_off_t)(pad + 23));
        ck_assert_msg(err == NULL, "pad %zu: %s", (size_t)pad, err);
        ck_assert_int_eq(t, CORTE);
        close(fd);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* large files: memory stays bounded */

/* What a child measured reading a file. */
typedef struct large_read {
    int read_ok;
    apr_time_t t;
    char err[512];
    long scan_kb;  /* ru_maxrss growth while reading the corte time */
    long whole_kb; /* and while holding the whole file, for comparison */
} large_read_t;

/* Reads the corte time of [0, size) of fd in a child, which measures its
 * peak resident memory before and after (a child: the peak of this
 * process, however high, does not hide the growth). */
static large_read_t read_in_child(const char *args, int fd, apr_off_t size)
{
    large_read_t res;
    prep_corte_spec_t spec;
    int pipefd[2], status;
    pid_t pid;
    ssize_t n;

    memset(&res, 0, sizeof(res));
    ck_assert_ptr_null(parse(&spec, args));
    ck_assert_int_eq(pipe(pipefd), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct rusage before, after, whole;
        apr_pool_t *cp;
        const char *err;
        char *all;
        apr_off_t got = 0;

        alarm(240); /* bounded, whatever happens */
        close(pipefd[0]);
        apr_pool_create(&cp, NULL);
        getrusage(RUSAGE_SELF, &before);
        err = prep_corte_time_from_fd(&res.t, &spec, fd, 0, size, &centro, cp);
        getrusage(RUSAGE_SELF, &after);
        res.read_ok = err == NULL;
        snprintf(res.err, sizeof(res.err), "%s", err ? err : "");
        res.scan_kb = after.ru_maxrss - before.ru_maxrss;
        /* what a reader holding the whole file would show */
        all = malloc((size_t)size);
        while (all && got < size &&
               (n = pread(fd, all + got, (size_t)(size - got), got)) > 0) {
            got += n;
        }
        getrusage(RUSAGE_SELF, &whole);
        res.whole_kb = whole.ru_maxrss - after.ru_maxrss;
        free(all);
        if (write(pipefd[1], &res, sizeof(res)) != (ssize_t)sizeof(res)) {
            _exit(2);
        }
        _exit(0);
    }
    close(pipefd[1]);
    n = read(pipefd[0], &res, sizeof(res));
    close(pipefd[0]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
                      n == (ssize_t)sizeof(res),
                  "the child did not report (status %d)", status);
    return res;
}

/* Writes a JSON file of more than `min_size` bytes: an INE-like list of
 * actas, with `head` before it and `tail` after it; returns its size. */
static apr_off_t write_large_json(int fd, const char *head, const char *tail,
                                  apr_off_t min_size)
{
    char *buf = apr_palloc(pool, 1024 * 1024);
    apr_size_t used;
    apr_off_t size = 0;
    long id = 0;

    put(fd, head, strlen(head));
    size += (apr_off_t)strlen(head);
    put(fd, "\"actas\": [", 10);
    size += 10;
    while (size < min_size) {
        for (used = 0; used < 1024 * 1024 - 512; id++) {
            used += (apr_size_t)sprintf(
                buf + used,
                "%s{\"id\": %ld, \"casilla\": \"B\\u00e1sica \\\"%ld\\\" "
                "Quer\xC3\xA9taro\", \"votos\": [%ld, 17, 0, -1.5e+2], "
                "\"nota\": null, \"ok\": true, \"f\": {\"fechaCorte\": 0}}",
                id ? ",\n" : "", id, id, id % 997);
        }
        put(fd, buf, used);
        size += (apr_off_t)used;
    }
    put(fd, "], ", 3);
    put(fd, tail, strlen(tail));
    return size + 3 + (apr_off_t)strlen(tail);
}

#define LARGE_MIN   (52 * 1024 * 1024)
#define LARGE_BOUND (16 * 1024) /* KB: a whole-file reader needs > 50 MB */

static void assert_bounded(const large_read_t *res, apr_off_t size)
{
    if (getenv("PREP_TEST_VERBOSE")) {
        fprintf(stderr,
                "%" APR_OFF_T_FMT " bytes: reading %ld KB, whole %ld KB\n",
                size, res->scan_kb, res->whole_kb);
    }
    ck_assert_msg(res->read_ok, "%s", res->err);
    ck_assert_int_eq(res->t, CORTE);
    /* the measure sees a file held whole; the reader stays far below */
    ck_assert_msg(res->whole_kb > (long)(size / 1024 / 2),
                  "holding %" APR_OFF_T_FMT " bytes showed only %ld KB", size,
                  res->whole_kb);
    ck_assert_msg(res->scan_kb < LARGE_BOUND,
                  "reading the corte time of a %" APR_OFF_T_FMT
                  "-byte file took %ld KB more memory",
                  size, res->scan_kb);
}

START_TEST(large_json_value_at_the_end_in_bounded_memory)
{
    int fd = temp_fd();
    apr_off_t size = write_large_json(
        fd, "{\"version\": 2, ",
        "\"meta\": {\"corte\": {\"fecha\": \"02/06/2024 21:05 (UTC-6)\"}}}\n",
        LARGE_MIN);
    large_read_t res;

    ck_assert_int_gt(size, 50 * 1024 * 1024);
    res = read_in_child("json json/main.json /meta/corte/fecha", fd, size);
    assert_bounded(&res, size);
    /* a pointer into the list goes through a million objects */
    res = read_in_child("json json/main.json /actas/300000/f/fechaCorte", fd,
                        size);
    ck_assert_msg(!res.read_ok && strstr(res.err, "is 0, not a string"), "%s",
                  res.err);
    close(fd);
}
END_TEST

START_TEST(large_json_is_checked_to_its_end_after_the_value)
{
    int fd = temp_fd();
    apr_off_t size = write_large_json(fd,
                                      "\xEF\xBB\xBF{\"fechaCorte\": "
                                      "\"2024-06-02T21:05:00-06:00\", ",
                                      "\"fin\": true}", LARGE_MIN);
    large_read_t res;

    ck_assert_int_gt(size, 50 * 1024 * 1024);
    res = read_in_child("json json/main.json /fechaCorte", fd, size);
    assert_bounded(&res, size);
    /* the whole file is still checked: a fault at its very end counts */
    put(fd, ",", 1);
    res = read_in_child("json json/main.json /fechaCorte", fd, size + 1);
    ck_assert_msg(!res.read_ok && strstr(res.err, "not valid JSON"), "%s",
                  res.err);
    close(fd);
}
END_TEST

START_TEST(large_csv_line_1000_is_read_in_bounded_memory)
{
    /* 999 lines of 52 KB, then the date on line 1000, CR-only */
    char *line = apr_palloc(pool, 52 * 1024 + 1);
    apr_off_t size = 0;
    large_read_t res;
    int fd = temp_fd(), i;

    memset(line, '7', 52 * 1024);
    line[52 * 1024] = '\r';
    put(fd, "\xEF\xBB\xBF", 3);
    for (i = 0; i < 999; i++) {
        put(fd, line, 52 * 1024 + 1);
    }
    put(fd, "02/06/2024 21:05 (UTC-6)\r", 25);
    size = 3 + 999 * (52 * 1024 + 1) + 25;
    res = read_in_child("csv datos/PRES_2024.csv 1000", fd, size);
    assert_bounded(&res, size);
    close(fd);
}
END_TEST

Suite *suite_cortetime(void)
{
    Suite *s = suite_create("cortetime");
    TCase *tc = tcase_create("cortetime"), *large;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, corte_time_sources_json_csv_filename_mtime_read);
    tcase_add_test(tc, bad_corte_time_sources_are_refused_saying_why);
    tcase_add_test(tc, iso_text_is_in_the_zone_only_without_an_offset);
    tcase_add_test(tc, ine_day_first_text_with_or_without_an_offset);
    tcase_add_test(tc, compact_digits_are_in_the_zone_epochs_are_not);
    tcase_add_test(tc, text_that_is_not_a_whole_valid_time_is_refused);
    tcase_add_test(tc, text_after_the_time_that_is_no_offset_keeps_the_zone);
    tcase_add_test(tc, json_pointer_finds_the_time_anywhere_in_the_document);
    tcase_add_test(tc, json_pointer_missing_or_not_a_time_says_which);
    tcase_add_test(tc, json_is_read_only_within_its_length);
    tcase_add_test(tc, csv_line_gives_its_date_bare_quoted_or_in_a_field);
    tcase_add_test(tc, csv_line_missing_or_without_a_date_says_which);
    tcase_add_test(tc, csv_is_read_only_within_its_length);
    tcase_add_test(tc, content_gives_no_time_for_mtime_or_filename_sources);
    tcase_add_test(tc, filename_groups_give_the_time_as_text_or_as_fields);
    tcase_add_test(tc, filename_regex_without_a_group_takes_the_whole_match);
    tcase_add_test(tc, filename_regex_is_pcre_as_httpd_takes_it);
    tcase_add_test(tc, filename_without_a_match_or_a_time_is_refused);
    tcase_add_test(tc, unknown_zone_words_are_refused_not_read_in_the_zone);
    tcase_add_test(tc, numbers_are_times_only_from_2000_to_2099);
    tcase_add_test(tc, json_numbers_are_epochs_only_when_plausible);
    tcase_add_test(tc, json_pointer_and_key_escapes_match_as_rfc_6901_says);
    tcase_add_test(tc, json_deeper_than_64_is_refused_on_and_off_the_path);
    tcase_add_test(tc, json_faults_before_the_value_are_refused);
    tcase_add_test(tc, json_fault_is_shown_with_its_line_and_offset);
    tcase_add_test(tc, json_key_twice_on_the_path_is_refused);
    tcase_add_test(tc, json_value_longer_than_256_bytes_is_refused);
    tcase_add_test(tc, csv_lines_end_in_cr_lf_or_crlf_after_a_bom);
    tcase_add_test(tc, csv_lines_longer_than_64_kb_are_refused);
    tcase_add_test(tc, time_is_read_from_a_range_of_a_descriptor);
    tcase_add_test(tc, reading_across_block_ends_gives_the_same_time);
    suite_add_tcase(s, tc);
    /* files over 50 MB, read in a child that measures its memory */
    large = tcase_create("cortetime-large");
    tcase_set_tags(large, "large"); /* not under valgrind: see Makefile.am */
    tcase_add_checked_fixture(large, setup, teardown);
    tcase_set_timeout(large, 300);
    tcase_add_test(large, large_json_value_at_the_end_in_bounded_memory);
    tcase_add_test(large, large_json_is_checked_to_its_end_after_the_value);
    tcase_add_test(large, large_csv_line_1000_is_read_in_bounded_memory);
    suite_add_tcase(s, large);
    return s;
}
