/* check_report_journal.c — unit tests of the night read back from the
 * journal for the memoria técnica (prep_report_journal.c): the corte
 * timeline, the incidents and whether they affected the publication, the
 * period's bounds cutting them, the availability, the corte at a time, a
 * missing journal, the JSON and the CSV files.  The journals are written
 * with the real writer (prep_journal_line, prep_journal_append) at times
 * given by hand, and every expected number below is counted by hand from
 * the night drawn before each test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <jansson.h>

#include "prep.h"
#include "prep_incidents.h"
#include "test_prep.h"

static apr_pool_t *pool;
static const char *root;
static prep_feed_t feed;
static prep_journal_t journal;

#define MIN(n) apr_time_from_sec(60 * (n))
#define AT(m)  TEST_NIGHT_AT(m)

static void setup(void)
{
    test_night_open(&pool, &root, &feed, &journal, "report-journal");
}

static void teardown(void)
{
    test_night_close(pool, root);
}

static void line_at(int m, prep_event_e e, const char *fields)
{
    test_journal_at(&journal, e, AT(m), fields, pool);
}

#define CORTE_A TEST_CORTE_A
#define CORTE_C TEST_CORTE_C

/* The night of test_night_write, then D published at 95 (after the period's end
 * at 90: not read). */
static void write_night(void)
{
    test_night_write(&journal, "PD.tar.gz", pool);
    line_at(95, PREP_EVENT_PUBLISHED,
            "{\"corte\":{\"id\":\"D\",\"package\":\"PD2.tar.gz\"}}");
}

static prep_night_t *night_of(apr_time_t from, apr_time_t to)
{
    prep_night_options_t o;
    prep_night_t *n;

    memset(&o, 0, sizeof(o));
    o.from = from;
    o.to = to;
    o.update_interval = MIN(5);
    ck_assert_int_eq(prep_night_read(&n, feed.store, &o, pool), APR_SUCCESS);
    return n;
}

static const prep_corte_span_t *span(const prep_night_t *n, int i)
{
    ck_assert_int_lt(i, n->cortes->nelts);
    return &APR_ARRAY_IDX(n->cortes, i, prep_corte_span_t);
}

static const prep_incident_t *incident(const prep_night_t *n, int i)
{
    ck_assert_int_lt(i, n->incidents->nelts);
    return &APR_ARRAY_IDX(n->incidents, i, prep_incident_t);
}

static void check_span(const prep_night_t *n, int i, const char *id, int from_m,
                       int until_m, int open)
{
    const prep_corte_span_t *s = span(n, i);

    ck_assert_str_eq(s->id, id);
    ck_assert_int_eq(s->live_from, AT(from_m));
    ck_assert_int_eq(s->live_until, AT(until_m));
    ck_assert_int_eq(s->open, open);
}

static void check_incident(const prep_night_t *n, int i,
                           prep_incident_kind_e kind, int start_m, int end_m,
                           int open, int affected)
{
    const prep_incident_t *in = incident(n, i);

    ck_assert_msg(in->kind == kind, "incident %d is %s, not %s", i,
                  prep_incident_kind_name(in->kind),
                  prep_incident_kind_name(kind));
    ck_assert_int_eq(in->start, AT(start_m));
    ck_assert_int_eq(in->end, AT(end_m));
    ck_assert_int_eq(in->open, open);
    ck_assert_int_eq(in->affected, affected);
}

START_TEST(test_kinds_have_names_and_labels)
{
    int k;

    for (k = 0; k < PREP_INCIDENT_KINDS; k++) {
        ck_assert_str_ne(prep_incident_kind_name((prep_incident_kind_e)k),
                         "unknown");
        ck_assert_str_ne(prep_incident_label((prep_incident_kind_e)k),
                         "Desconocido");
    }
    ck_assert_str_eq(prep_incident_label(PREP_INCIDENT_REFUSAL),
                     "Paquete rechazado");
    ck_assert_str_eq(prep_incident_label(PREP_INCIDENT_STALE),
                     "Publicación detenida (sin cortes nuevos)");
    ck_assert_str_eq(prep_incident_kind_name(PREP_INCIDENT_KINDS), "unknown");
}
END_TEST

/* The whole night up to 20:90 (21:30). */
START_TEST(test_timeline_and_incidents_of_the_night)
{
    prep_night_t *n;

    write_night();
    n = night_of(0, AT(90));
    ck_assert(n->journal_found);
    ck_assert_int_eq(n->from, AT(0)); /* the first line */
    ck_assert_int_eq(n->to, AT(90));
    ck_assert_int_eq(n->lines, 15); /* the 16th is after the period */

    /* A 5-30, C 30-60, A again 60-70 (rollback), C 70-90 still served */
    ck_assert_int_eq(n->cortes->nelts, 4);
    check_span(n, 0, "A", 5, 30, 0);
    check_span(n, 1, "C", 30, 60, 0);
    check_span(n, 2, "A", 60, 70, 0);
    check_span(n, 3, "C", 70, 90, 1);
    ck_assert_str_eq(span(n, 0)->package, "PA.tar.gz");
    ck_assert_int_eq(span(n, 0)->corte_time, AT(4));
    ck_assert_int_eq(span(n, 1)->corte_time, AT(29));

    ck_assert_int_eq(n->incidents->nelts, 10);
    /* Apache's start at 0: nothing was served before it, nor after */
    check_incident(n, 0, PREP_INCIDENT_SERVER_START, 0, 0, 0, 0);
    check_incident(n, 1, PREP_INCIDENT_REFUSAL, 10, 10, 0, 1);
    check_incident(n, 2, PREP_INCIDENT_LOADER_CRASH, 12, 12, 0, 1);
    check_incident(n, 3, PREP_INCIDENT_STALE, 20, 30, 0, 1);
    check_incident(n, 4, PREP_INCIDENT_REFUSAL, 28, 28, 0, 0);
    check_incident(n, 5, PREP_INCIDENT_STORE_PROBLEM, 40, 45, 0, 1);
    check_incident(n, 6, PREP_INCIDENT_INTAKE_RESTART, 50, 50, 0, 0);
    check_incident(n, 7, PREP_INCIDENT_ROLLBACK, 60, 70, 0, 1);
    check_incident(n, 8, PREP_INCIDENT_STALE, 80, 90, 1, 1);
    check_incident(n, 9, PREP_INCIDENT_REFUSAL, 82, 82, 0, 1);

    ck_assert_str_eq(incident(n, 1)->package, "PB.tar.gz");
    ck_assert_str_eq(incident(n, 1)->reason, "truncated");
    ck_assert_str_eq(incident(n, 1)->corte, "A");
    ck_assert_str_eq(incident(n, 2)->message, "the loader died of signal 11");
    ck_assert_str_eq(incident(n, 3)->corte, "A");
    ck_assert_str_eq(incident(n, 5)->message, "disk full");
    ck_assert_str_eq(incident(n, 7)->user, "maria");
    ck_assert_str_eq(incident(n, 7)->corte, "A");
    ck_assert_int_eq(incident(n, 8)->began_before, 0);

    /* period 90 min; served 85 (5-90); stale while served 10 + 10 */
    ck_assert_int_eq(n->period_time, MIN(90));
    ck_assert_int_eq(n->served_time, MIN(85));
    ck_assert_int_eq(n->stale_time, MIN(20));
    ck_assert_double_eq_tol(n->availability, 65.0 / 90.0, 1e-9);
}
END_TEST

/* The period 20:25-20:42 cuts the first stale period (20-30) and the store
 * problem (40-45, open at 42). */
START_TEST(test_period_bounds_cut_intervals)
{
    prep_night_t *n;

    write_night();
    n = night_of(AT(25), AT(42));
    ck_assert_int_eq(n->from, AT(25));
    ck_assert_int_eq(n->to, AT(42));

    /* A went live at 5, before the period: its span keeps the time */
    ck_assert_int_eq(n->cortes->nelts, 2);
    check_span(n, 0, "A", 5, 30, 0);
    check_span(n, 1, "C", 30, 42, 1);

    ck_assert_int_eq(n->incidents->nelts, 3);
    check_incident(n, 0, PREP_INCIDENT_STALE, 25, 30, 0, 1);
    ck_assert_int_eq(incident(n, 0)->began_before, 1);
    check_incident(n, 1, PREP_INCIDENT_REFUSAL, 28, 28, 0, 0);
    check_incident(n, 2, PREP_INCIDENT_STORE_PROBLEM, 40, 42, 1, 1);
    ck_assert_int_eq(incident(n, 2)->began_before, 0);

    /* 17 min, all of it served, 5 of them stale */
    ck_assert_int_eq(n->period_time, MIN(17));
    ck_assert_int_eq(n->served_time, MIN(17));
    ck_assert_int_eq(n->stale_time, MIN(5));
    ck_assert_double_eq_tol(n->availability, 12.0 / 17.0, 1e-9);
}
END_TEST

/* Without `to` the period ends at the last line (D published at 95), and
 * the refusal at 82 has its corte 13 min later: affected. */
START_TEST(test_unbounded_period_ends_at_the_last_line)
{
    prep_night_t *n;

    write_night();
    n = night_of(0, 0);
    ck_assert_int_eq(n->lines, 16);
    ck_assert_int_eq(n->to, AT(95));
    ck_assert_int_eq(n->cortes->nelts, 5);
    check_span(n, 3, "C", 70, 95, 0);
    check_span(n, 4, "D", 95, 95, 1);
    ck_assert_str_eq(span(n, 4)->package, "PD2.tar.gz");
    ck_assert_int_eq(span(n, 4)->corte_time, 0);
    ck_assert_int_eq(n->incidents->nelts, 10);
    /* the second stale period ended with D, a new corte */
    check_incident(n, 8, PREP_INCIDENT_STALE, 80, 95, 0, 1);
    check_incident(n, 9, PREP_INCIDENT_REFUSAL, 82, 82, 0, 1);
}
END_TEST

/* Apache's starts and graceful restarts are instants of their own; one
 * affected the publication when the corte served changed through it. */
START_TEST(test_server_starts_and_restarts)
{
    prep_night_t *n;

    line_at(0, PREP_EVENT_PUBLISHED, "{\"corte\":" CORTE_A "}");
    line_at(5, PREP_EVENT_GRACEFUL, "{\"served\":" CORTE_A "}");
    line_at(10, PREP_EVENT_START, "{\"served\":null,\"state\":\"waiting\"}");
    line_at(12, PREP_EVENT_PUBLISHED, "{\"corte\":" CORTE_C "}");
    line_at(20, PREP_EVENT_START, "{\"served\":" CORTE_A "}");
    line_at(25, PREP_EVENT_GRACEFUL, "{\"served\":" CORTE_A "}");
    n = night_of(0, AT(30));
    ck_assert_int_eq(n->incidents->nelts, 4);
    check_incident(n, 0, PREP_INCIDENT_SERVER_RELOAD, 5, 5, 0, 0);
    check_incident(n, 1, PREP_INCIDENT_SERVER_START, 10, 10, 0, 1);
    check_incident(n, 2, PREP_INCIDENT_SERVER_START, 20, 20, 0, 1);
    check_incident(n, 3, PREP_INCIDENT_SERVER_RELOAD, 25, 25, 0, 0);
    ck_assert_ptr_null(incident(n, 1)->corte);
    ck_assert_str_eq(incident(n, 2)->corte, "A");
    ck_assert_str_eq(prep_incident_kind_name(PREP_INCIDENT_SERVER_RELOAD),
                     "server-reload");
    ck_assert_str_eq(prep_incident_label(PREP_INCIDENT_SERVER_START),
                     "Arranque del servidor Apache");
}
END_TEST

START_TEST(test_corte_at_boundaries)
{
    prep_night_t *n;

    write_night();
    n = night_of(0, AT(90));
    ck_assert_int_eq(prep_night_corte_at(n, AT(0)), -1);
    ck_assert_int_eq(prep_night_corte_at(n, AT(5) - 1), -1);
    ck_assert_int_eq(prep_night_corte_at(n, AT(5)), 0);
    ck_assert_int_eq(prep_night_corte_at(n, AT(30) - 1), 0);
    /* a boundary belongs to the corte that went live there */
    ck_assert_int_eq(prep_night_corte_at(n, AT(30)), 1);
    ck_assert_int_eq(prep_night_corte_at(n, AT(59)), 1);
    ck_assert_int_eq(prep_night_corte_at(n, AT(60)), 2);
    ck_assert_int_eq(prep_night_corte_at(n, AT(70) - 1), 2);
    ck_assert_int_eq(prep_night_corte_at(n, AT(70)), 3);
    /* the corte still served at the end: after the period too */
    ck_assert_int_eq(prep_night_corte_at(n, AT(90)), 3);
    ck_assert_int_eq(prep_night_corte_at(n, AT(300)), 3);
}
END_TEST

/* 0 A published, 5 pinned at A, 10 B retained (so the pin held a newer
 * corte back), 15 unpinned to B, 20 reset (nothing served after), 25
 * drill on; the period ends at 30. */
START_TEST(test_pin_reset_and_drill)
{
    prep_night_t *n;

    line_at(0, PREP_EVENT_PUBLISHED, "{\"corte\":" CORTE_A "}");
    line_at(5, PREP_EVENT_PIN, "{\"corte\":" CORTE_A ",\"user\":\"luis\"}");
    line_at(10, PREP_EVENT_RETAINED,
            "{\"corte\":{\"id\":\"B\"},\"served\":\"A\"}");
    line_at(15, PREP_EVENT_UNPIN,
            "{\"corte\":{\"id\":\"B\"},\"from\":\"A\",\"to\":\"B\","
            "\"user\":\"luis\"}");
    line_at(20, PREP_EVENT_RESET,
            "{\"archive\":\"/x\",\"cortes\":2,\"packages\":2,"
            "\"user\":\"luis\"}");
    journal.drill = 1;
    line_at(25, PREP_EVENT_DRILL, "{\"on\":true,\"user\":\"luis\"}");
    n = night_of(0, AT(30));

    ck_assert_int_eq(n->cortes->nelts, 2);
    check_span(n, 0, "A", 0, 15, 0);
    check_span(n, 1, "B", 15, 20, 0);
    ck_assert_int_eq(n->incidents->nelts, 3);
    check_incident(n, 0, PREP_INCIDENT_PIN, 5, 15, 0, 1);
    ck_assert_str_eq(incident(n, 0)->user, "luis");
    ck_assert_str_eq(incident(n, 0)->corte, "A");
    check_incident(n, 1, PREP_INCIDENT_RESET, 20, 20, 0, 1);
    ck_assert_str_eq(incident(n, 1)->corte, "B");
    check_incident(n, 2, PREP_INCIDENT_DRILL_ON, 25, 25, 0, 0);
    ck_assert_int_eq(incident(n, 2)->drill, 1);
    ck_assert_int_eq(incident(n, 1)->drill, 0);

    /* nothing served after the reset */
    ck_assert_int_eq(prep_night_corte_at(n, AT(19)), 1);
    ck_assert_int_eq(prep_night_corte_at(n, AT(20)), -1);
    ck_assert_int_eq(prep_night_corte_at(n, AT(29)), -1);
    ck_assert_int_eq(n->served_time, MIN(20));
    ck_assert_int_eq(n->stale_time, 0);
    ck_assert_double_eq_tol(n->availability, 20.0 / 30.0, 1e-9);
}
END_TEST

/* A pin with nothing retained while it lasts did not affect the
 * publication; a refusal with its corte exactly one interval later did
 * not either. */
START_TEST(test_pin_without_retained_and_refusal_at_the_interval)
{
    prep_night_t *n;

    line_at(0, PREP_EVENT_PUBLISHED, "{\"corte\":" CORTE_A "}");
    line_at(2, PREP_EVENT_PIN, "{\"corte\":" CORTE_A ",\"user\":\"luis\"}");
    line_at(4, PREP_EVENT_UNPIN,
            "{\"from\":\"A\",\"to\":\"A\",\"user\":\"luis\"}");
    line_at(10, PREP_EVENT_REFUSED, "{\"package\":\"P\",\"reason\":\"x\"}");
    line_at(15, PREP_EVENT_PUBLISHED, "{\"corte\":" CORTE_C "}");
    n = night_of(0, AT(15));
    ck_assert_int_eq(n->incidents->nelts, 2);
    check_incident(n, 0, PREP_INCIDENT_PIN, 2, 4, 0, 0);
    check_incident(n, 1, PREP_INCIDENT_REFUSAL, 10, 10, 0, 0);
    ck_assert_int_eq(n->cortes->nelts, 2);
    check_span(n, 0, "A", 0, 15, 0);
    check_span(n, 1, "C", 15, 15, 1);
}
END_TEST

START_TEST(test_missing_journal)
{
    prep_night_t *n = night_of(AT(0), AT(60));
    json_t *doc;

    ck_assert_int_eq(n->journal_found, 0);
    ck_assert_int_eq(n->cortes->nelts, 0);
    ck_assert_int_eq(n->incidents->nelts, 0);
    ck_assert(n->availability < 0);
    ck_assert_int_eq(prep_night_corte_at(n, AT(10)), -1);
    doc = prep_night_to_json(n, &feed.zone, pool);
    ck_assert(json_is_false(
        json_object_get(json_object_get(doc, "journal"), "found")));
    ck_assert(json_is_null(
        json_object_get(json_object_get(doc, "availability"), "ratio")));
    ck_assert_int_eq(json_array_size(json_object_get(doc, "incidents")), 0);
    json_decref(doc);
    /* a missing store is no journal either */
    n = night_of(0, 0);
    ck_assert_int_eq(n->journal_found, 0);
}
END_TEST

START_TEST(test_json_of_the_night)
{
    prep_night_t *n;
    json_t *doc, *in, *c;

    write_night();
    n = night_of(0, AT(90));
    doc = prep_night_to_json(n, &feed.zone, pool);
    ck_assert_int_eq(json_integer_value(json_object_get(
                         json_object_get(doc, "journal"), "lines")),
                     15);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(doc, "period"), "from")),
                     "2024-06-02T20:00:00-06:00");
    ck_assert_int_eq(json_integer_value(json_object_get(
                         json_object_get(doc, "period"), "seconds")),
                     5400);
    ck_assert_int_eq(json_integer_value(json_object_get(
                         json_object_get(doc, "availability"), "stale_s")),
                     1200);
    ck_assert_double_eq_tol(json_real_value(json_object_get(
                                json_object_get(doc, "availability"), "ratio")),
                            3900.0 / 5400.0, 1e-9);

    c = json_array_get(json_object_get(doc, "cortes"), 1);
    ck_assert_str_eq(json_string_value(json_object_get(c, "id")), "C");
    ck_assert_str_eq(json_string_value(json_object_get(c, "time")),
                     "2024-06-02T20:29:00-06:00");
    ck_assert_str_eq(json_string_value(json_object_get(c, "live_until")),
                     "2024-06-02T21:00:00-06:00");
    ck_assert_int_eq(json_integer_value(json_object_get(c, "seconds")), 1800);
    ck_assert(json_is_false(json_object_get(c, "open")));

    in = json_array_get(json_object_get(doc, "incidents"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(in, "kind")),
                     "server-start");
    ck_assert_str_eq(json_string_value(json_object_get(in, "label")),
                     "Arranque del servidor Apache");
    in = json_array_get(json_object_get(doc, "incidents"), 3);
    ck_assert_str_eq(json_string_value(json_object_get(in, "kind")), "stale");
    ck_assert_str_eq(json_string_value(json_object_get(in, "label")),
                     "Publicación detenida (sin cortes nuevos)");
    ck_assert_str_eq(json_string_value(json_object_get(in, "start")),
                     "2024-06-02T20:20:00-06:00");
    ck_assert_int_eq(json_integer_value(json_object_get(in, "duration_s")),
                     600);
    ck_assert(json_is_true(json_object_get(in, "affected")));
    ck_assert(json_is_null(json_object_get(in, "package")));
    in = json_array_get(json_object_get(doc, "incidents"), 8);
    ck_assert(json_is_true(json_object_get(in, "open")));
    ck_assert_str_eq(json_string_value(json_object_get(in, "end")),
                     "2024-06-02T21:30:00-06:00");
    json_decref(doc);
}
END_TEST

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = apr_pcalloc(pool, 64 * 1024);

    ck_assert_ptr_nonnull(f);
    ck_assert_uint_lt(fread(buf, 1, 64 * 1024 - 1, f), 64 * 1024 - 1);
    fclose(f);
    return buf;
}

static int count_rows(const char *text)
{
    int rows = 0;

    for (; (text = strstr(text, "\r\n")); text += 2) {
        rows++;
    }
    return rows;
}

START_TEST(test_csv_files)
{
    prep_night_t *n;
    char *cortes, *incidents;

    write_night();
    n = night_of(0, AT(90));
    ck_assert_int_eq(prep_night_write_csv(n, root, &feed.zone, pool),
                     APR_SUCCESS);
    cortes = slurp(apr_pstrcat(pool, root, "/" PREP_NIGHT_CSV_CORTES, NULL));
    incidents =
        slurp(apr_pstrcat(pool, root, "/" PREP_NIGHT_CSV_INCIDENTS, NULL));
    ck_assert_int_eq(count_rows(cortes), 1 + 4);
    ck_assert_int_eq(count_rows(incidents), 1 + 10);
    ck_assert_ptr_nonnull(strstr(
        cortes, "\r\nA,2024-06-02T20:04:00-06:00,PA.tar.gz,"
                "2024-06-02T20:05:00-06:00,2024-06-02T20:30:00-06:00,1500,"
                "no,no\r\n"));
    ck_assert_ptr_nonnull(strstr(cortes, ",sí,no\r\n")); /* C, open */
    ck_assert(!strncmp(incidents, "tipo,descripcion,inicio,fin,", 28));
    /* the refusal's message has a comma and quotes: quoted, doubled */
    ck_assert_ptr_nonnull(
        strstr(incidents,
               "\r\nrefusal,Paquete rechazado,2024-06-02T20:10:00-06:00,"
               "2024-06-02T20:10:00-06:00,0,no,no,sí,no,PB.tar.gz,truncated,"
               "\"entry \"\"x\"\", truncated\",,A\r\n"));
    ck_assert_ptr_nonnull(strstr(incidents,
                                 "\r\nstale,Publicación detenida (sin cortes "
                                 "nuevos),2024-06-02T21:20:00-06:00,"
                                 "2024-06-02T21:30:00-06:00,600,no,sí,sí,"));
    /* a directory that is not there: the error */
    ck_assert_int_ne(prep_night_write_csv(
                         n, apr_pstrcat(pool, root, "/none", NULL), NULL, pool),
                     APR_SUCCESS);
}
END_TEST

Suite *suite_report_journal(void)
{
    Suite *s = suite_create("report_journal");
    TCase *tc = tcase_create("night");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_kinds_have_names_and_labels);
    tcase_add_test(tc, test_timeline_and_incidents_of_the_night);
    tcase_add_test(tc, test_period_bounds_cut_intervals);
    tcase_add_test(tc, test_unbounded_period_ends_at_the_last_line);
    tcase_add_test(tc, test_server_starts_and_restarts);
    tcase_add_test(tc, test_corte_at_boundaries);
    tcase_add_test(tc, test_pin_reset_and_drill);
    tcase_add_test(tc, test_pin_without_retained_and_refusal_at_the_interval);
    tcase_add_test(tc, test_missing_journal);
    tcase_add_test(tc, test_json_of_the_night);
    tcase_add_test(tc, test_csv_files);
    suite_add_tcase(s, tc);
    return s;
}
