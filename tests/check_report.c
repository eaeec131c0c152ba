/* check_report.c — unit tests of the memoria assembled (prep_report.c):
 * the traffic of each corte (a request given to the corte served at its
 * time), the summary, the notices for what could not be counted (no log,
 * no journal, an empty period, unparsable lines, every path), and the
 * files written (the CSV tables with their Spanish headers, memoria.json,
 * memoria.html, an error when the directory cannot be made).  The journal
 * is written by the real writer and the logs by hand; every expected
 * number is counted by hand from the night drawn below. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <jansson.h>

#include "prep.h"
#include "prep_report.h"
#include "test_prep.h"

static apr_pool_t *pool;
static const char *root;
static prep_feed_t feed;
static prep_journal_t journal;

#define T0    TEST_NIGHT_T0 /* 2024-06-02T20:00:00-06:00 */
#define AT(m) TEST_NIGHT_AT(m)

static void setup(void)
{
    test_night_open(&pool, &root, &feed, &journal, "report");
}

static void teardown(void)
{
    test_night_close(pool, root);
}

static void line_at(int m, prep_event_e e, const char *fields)
{
    test_journal_at(&journal, e, AT(m), fields, pool);
}

/* Minutes after 20:00: 0 start (nothing served), 5 A published,
 * 10 refusal PB (next corte at 20: 10 min > the 5 min interval, so it
 * affected the publication), 20 C published. */
static void write_night(void)
{
    line_at(0, PREP_EVENT_START, "{\"served\":null,\"state\":\"waiting\"}");
    line_at(5, PREP_EVENT_PUBLISHED,
            "{\"corte\":{\"id\":\"A\",\"time\":\"2024-06-02T20:04:00-06:00\","
            "\"package\":\"PA.tar.gz\"}}");
    line_at(10, PREP_EVENT_REFUSED,
            "{\"package\":\"PB.tar.gz\",\"reason\":\"truncated\","
            "\"message\":\"truncated\"}");
    line_at(20, PREP_EVENT_PUBLISHED,
            "{\"corte\":{\"id\":\"C\",\"time\":\"2024-06-02T20:19:00-06:00\","
            "\"package\":\"PC.tar.gz\"}}");
}

/* The log of the tests, 20:00 being 02/Jun/2024:20:MM:SS -0600:
 *  20:02 one visitor's page, no corte served yet     (slot "none")
 *  20:06, 20:07 visitor 1: a page and a json         (corte A)
 *  20:25 visitor 2's page; a crawler's page          (corte C)
 *  20:26 outside the Location                        (not counted)
 *  20:50 after the period's end (to = 20:40)         (not counted)
 *  a line that is no access log line. */
static const char *write_log(void)
{
    const char *path = apr_pstrcat(pool, root, "/access.log", NULL);
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    fputs("10.0.0.9 - - [02/Jun/2024:20:02:00 -0600] \"GET /prep/qro/ "
          "HTTP/1.1\" 200 100 \"-\" \"UA-early\"\n"
          "10.0.0.1 - - [02/Jun/2024:20:06:00 -0600] \"GET "
          "/prep/qro/index.html HTTP/1.1\" 200 1000 \"-\" \"UA-1\"\n"
          "10.0.0.1 - - [02/Jun/2024:20:07:00 -0600] \"GET "
          "/prep/qro/json/main.json HTTP/1.1\" 200 10 \"-\" \"UA-1\"\n"
          "10.0.0.2 - - [02/Jun/2024:20:25:00 -0600] \"GET "
          "/prep/qro/index.html HTTP/1.1\" 304 0 \"-\" \"UA-2\"\n"
          "66.249.0.1 - - [02/Jun/2024:20:25:30 -0600] \"GET "
          "/prep/qro/index.html HTTP/1.1\" 200 1000 \"-\" \"Googlebot/2.1\"\n"
          "10.0.0.2 - - [02/Jun/2024:20:26:00 -0600] \"GET /otro/index.html "
          "HTTP/1.1\" 200 5 \"-\" \"UA-2\"\n"
          "10.0.0.2 - - [02/Jun/2024:20:50:00 -0600] \"GET "
          "/prep/qro/index.html HTTP/1.1\" 200 1000 \"-\" \"UA-2\"\n"
          "not a line of an access log\n",
          f);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

static apr_array_header_t *one(const char *s)
{
    return test_strings(s, pool);
}

static void defaults(prep_memoria_options_t *o)
{
    test_memoria_defaults(o, feed.store, AT(40), AT(60), pool);
}

static json_t *made(const prep_memoria_options_t *o)
{
    json_t *doc;
    const char *error;

    ck_assert_int_eq(prep_memoria_make(&doc, o, &error, pool), APR_SUCCESS);
    ck_assert_ptr_nonnull(doc);
    return doc;
}

static json_int_t num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);

    ck_assert_msg(json_is_integer(v), "%s is not a number", key);
    return json_integer_value(v);
}

/* Whether notices hold one of kind k. */
static int has_notice(const json_t *doc, const char *k)
{
    const json_t *n;
    size_t i;

    json_array_foreach(json_object_get(doc, "notices"), i, n)
    {
        if (!strcmp(json_string_value(json_object_get(n, "kind")), k)) {
            return 1;
        }
    }
    return 0;
}

START_TEST(test_traffic_goes_to_the_corte_served)
{
    prep_memoria_options_t o;
    json_t *doc, *rows, *row;

    write_night();
    defaults(&o);
    o.logs = one(write_log());
    doc = made(&o);
    rows = json_object_get(doc, "cortes_traffic");
    ck_assert_int_eq(json_array_size(rows), 3);
    /* A, 20:05–20:20: visitor 1's page and json */
    row = json_array_get(rows, 0);
    ck_assert_str_eq(json_string_value(json_object_get(row, "corte")), "A");
    ck_assert_str_eq(json_string_value(json_object_get(row, "live_from")),
                     "2024-06-02T20:05:00-06:00");
    ck_assert_str_eq(json_string_value(json_object_get(row, "live_until")),
                     "2024-06-02T20:20:00-06:00");
    ck_assert_int_eq(num(row, "hits"), 2);
    ck_assert_int_eq(num(row, "pages"), 1);
    ck_assert_int_eq(num(row, "bytes"), 1010);
    /* C, from 20:20 to the period's end: visitor 2's 304 page and the
     * crawler's (a hit, not a page of a visitor) */
    row = json_array_get(rows, 1);
    ck_assert_str_eq(json_string_value(json_object_get(row, "corte")), "C");
    ck_assert_str_eq(json_string_value(json_object_get(row, "time")),
                     "2024-06-02T20:19:00-06:00");
    ck_assert_int_eq(num(row, "hits"), 2);
    ck_assert_int_eq(num(row, "pages"), 1);
    ck_assert_int_eq(num(row, "bytes"), 1000);
    /* 20:02: no corte was served yet */
    row = json_array_get(rows, 2);
    ck_assert(json_is_null(json_object_get(row, "corte")));
    ck_assert_int_eq(num(row, "hits"), 1);
    ck_assert_int_eq(num(row, "pages"), 1);
    json_decref(doc);
}
END_TEST

START_TEST(test_summary_and_head)
{
    prep_memoria_options_t o;
    json_t *doc, *s, *m;

    write_night();
    defaults(&o);
    o.logs = one(write_log());
    o.notes = "Mejorar el monitoreo.";
    doc = made(&o);
    s = json_object_get(doc, "summary");
    /* hits: 5 under the Location in the period (the crawler's too);
     * pages: 3 of visitors; visitors: UA-early, UA-1, UA-2 */
    ck_assert_int_eq(num(s, "hits"), 5);
    ck_assert_int_eq(num(s, "pages"), 3);
    ck_assert_int_eq(num(s, "visitors"), 3);
    ck_assert_int_eq(num(s, "visits"), 3);
    ck_assert_int_eq(num(s, "bytes"), 2110);
    /* visits of 0, 60 and 0 s */
    ck_assert(json_real_value(json_object_get(s, "visit_duration_mean_s")) ==
              20.0);
    ck_assert_int_eq(num(s, "cortes"), 2);
    ck_assert_int_eq(num(s, "refusals"), 1);
    /* Apache's start at 0 (not affecting) and the refusal at 10 */
    ck_assert_int_eq(num(s, "incidents"), 2);
    ck_assert_int_eq(num(s, "incidents_affecting"), 1);
    /* served from 20:05 to 20:40 of 20:00–20:40, never stale: 35/40 */
    ck_assert(json_real_value(json_object_get(s, "availability")) > 0.874 &&
              json_real_value(json_object_get(s, "availability")) < 0.876);
    m = json_object_get(doc, "memoria");
    ck_assert_str_eq(json_string_value(json_object_get(m, "difusor")),
                     "Universidad de prueba");
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(m, "period"), "to")),
        "2024-06-02T20:40:00-06:00");
    ck_assert_str_eq(json_string_value(json_object_get(m, "notes")),
                     "Mejorar el monitoreo.");
    ck_assert(has_notice(doc, "unparsable"));
    ck_assert(!has_notice(doc, "no-journal"));
    ck_assert(!has_notice(doc, "no-log"));
    ck_assert(!has_notice(doc, "empty-period"));
    ck_assert(!has_notice(doc, "every-path"));
    json_decref(doc);
}
END_TEST

START_TEST(test_what_could_not_be_counted_is_noticed)
{
    prep_memoria_options_t o;
    json_t *doc;

    /* no journal, no log */
    defaults(&o);
    doc = made(&o);
    ck_assert(has_notice(doc, "no-journal"));
    ck_assert(has_notice(doc, "no-log"));
    ck_assert(json_is_null(json_object_get(doc, "traffic")));
    ck_assert(json_is_null(
        json_object_get(json_object_get(doc, "summary"), "visitors")));
    ck_assert(json_is_null(
        json_object_get(json_object_get(doc, "summary"), "availability")));
    ck_assert_int_eq(json_array_size(json_object_get(doc, "cortes_traffic")),
                     0);
    json_decref(doc);

    /* a period without requests, every path */
    write_night();
    defaults(&o);
    o.from = AT(100);
    o.to = AT(200);
    o.locations = NULL;
    o.logs = one(write_log());
    doc = made(&o);
    ck_assert(has_notice(doc, "empty-period"));
    ck_assert(has_notice(doc, "every-path"));
    ck_assert(!has_notice(doc, "no-journal"));
    json_decref(doc);
}
END_TEST

START_TEST(test_a_missing_log_is_an_error)
{
    prep_memoria_options_t o;
    json_t *doc = (json_t *)1;
    const char *error = NULL;

    defaults(&o);
    o.logs = one(apr_pstrcat(pool, root, "/none.log", NULL));
    ck_assert_int_ne(prep_memoria_make(&doc, &o, &error, pool), APR_SUCCESS);
    ck_assert_ptr_null(doc);
    ck_assert_ptr_nonnull(error);
    ck_assert_ptr_nonnull(strstr(error, "none.log"));
}
END_TEST

static const char *file_text(const char *dir, const char *name)
{
    char *data;
    apr_size_t n;
    FILE *f = fopen(apr_pstrcat(pool, dir, "/", name, NULL), "r");

    ck_assert_msg(f != NULL, "%s not written", name);
    data = apr_pcalloc(pool, 64 * 1024);
    n = fread(data, 1, 64 * 1024 - 1, f);
    fclose(f);
    data[n] = '\0';
    return data;
}

START_TEST(test_files_written)
{
    prep_memoria_options_t o;
    json_t *doc, *back;
    const char *error, *out = apr_pstrcat(pool, root, "/out/memoria", NULL);
    apr_array_header_t *written = apr_array_make(pool, 12, sizeof(char *));
    json_error_t jerr;

    write_night();
    defaults(&o);
    o.logs = one(write_log());
    doc = made(&o);
    ck_assert_int_eq(prep_memoria_write(doc, out,
                                        PREP_MEMORIA_HTML | PREP_MEMORIA_CSV |
                                            PREP_MEMORIA_JSON,
                                        written, &error, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(written->nelts, 11);
    ck_assert_str_eq(file_text(out, "trafico_por_corte.csv"),
                     "corte,hora_corte,publicado_desde,publicado_hasta,hits,"
                     "paginas,bytes\r\n"
                     "A,2024-06-02T20:04:00-06:00,2024-06-02T20:05:00-06:00,"
                     "2024-06-02T20:20:00-06:00,2,1,1010\r\n"
                     "C,2024-06-02T20:19:00-06:00,2024-06-02T20:20:00-06:00,"
                     "2024-06-02T20:40:00-06:00,2,1,1000\r\n"
                     ",,,,1,1,100\r\n");
    ck_assert_str_eq(file_text(out, "paginas.csv"),
                     "pagina,consultas\r\n/prep/qro/index.html,2\r\n"
                     "/prep/qro/,1\r\n");
    ck_assert_str_eq(file_text(out, "codigos.csv"),
                     "codigo,hits\r\n200,4\r\n304,1\r\n");
    ck_assert_ptr_nonnull(
        strstr(file_text(out, "resumen.csv"),
               "indicador,valor\r\nvisitantes_unicos,3\r\n"
               "visitas,3\r\npaginas_vistas,3\r\nhits,5\r\n"));
    ck_assert_ptr_nonnull(
        strstr(file_text(out, "resumen.csv"), "\r\nrechazos,1\r\n"));
    ck_assert_ptr_nonnull(strstr(file_text(out, "incidencias.csv"),
                                 "\r\nrefusal,Paquete rechazado,"));
    ck_assert_ptr_nonnull(strstr(file_text(out, "horas.csv"),
                                 "hora,hits,paginas,visitas\r\n"
                                 "2024-06-02T20:00:00-06:00,5,3,3\r\n"));
    ck_assert_ptr_nonnull(strstr(file_text(out, "dias.csv"),
                                 "dia,visitantes,visitas,hits,paginas\r\n"
                                 "2024-06-02,3,3,5,3\r\n"));
    ck_assert_ptr_nonnull(
        strstr(file_text(out, "duraciones.csv"),
               "rango,desde_s,hasta_s,visitas\r\n0 s,0,0,2\r\n"));
    ck_assert_ptr_nonnull(
        strstr(file_text(out, "memoria.html"), "Memoria técnica"));
    back = json_loads(file_text(out, "memoria.json"), 0, &jerr);
    ck_assert_msg(back != NULL, "memoria.json: %s", jerr.text);
    ck_assert(json_equal(back, doc));
    json_decref(back);

    /* a directory that cannot be made: the error names it */
    ck_assert_int_ne(prep_memoria_write(
                         doc, apr_pstrcat(pool, root, "/access.log/sub", NULL),
                         PREP_MEMORIA_JSON, NULL, &error, pool),
                     APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(error, "access.log/sub"));
    json_decref(doc);
}
END_TEST

Suite *suite_report(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("report");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_traffic_goes_to_the_corte_served);
    tcase_add_test(tc, test_summary_and_head);
    tcase_add_test(tc, test_what_could_not_be_counted_is_noticed);
    tcase_add_test(tc, test_a_missing_log_is_an_error);
    tcase_add_test(tc, test_files_written);
    suite_add_tcase(s, tc);
    return s;
}
