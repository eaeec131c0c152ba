/* check_dashboard.c — unit tests of the night's dashboard
 * (prep_dashboard.c) on a status document and journal lines built here:
 * the states in Spanish with their colours and the drill's mark, a page
 * that needs nothing else, every value of the store escaped, the
 * timeline's marks (cortes with their package-to-live, refusals, stale
 * periods, operator actions), the tables, the journal window and its
 * bound, requests per minute from the refresh URL, and Accept. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_strings.h>
#include <jansson.h>

#include "prep.h"
#include "test_prep.h"

static apr_pool_t *pool;
static const prep_zone_t zone = {-6 * 3600, "Tiempo del Centro"};

#define SEC(n) apr_time_from_sec(n)
/* 2024-06-02T21:30:00-06:00 */
#define NOW SEC(1717385400)

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    apr_size_t len = strlen(needle);

    while ((hay = strstr(hay, needle))) {
        n++;
        hay += len;
    }
    return n;
}

static const char *iso(apr_time_t t)
{
    return prep_time_iso(pool, t, &zone);
}

/* A feed's object as prep_status_feed makes it: state, the corte (loaded
 * `loaded_ago` seconds before NOW, or none), traffic. */
static json_t *feed_doc(const char *name, const char *state, int loaded_ago,
                        const char *package, json_int_t requests)
{
    json_t *f =
        json_pack("{s:s, s:s, s:i, s:b, s:n, s:n, s:{s:I}}", "name", name,
                  "state", state, "update_interval_s", 10, "drill", 0,
                  "problem", "loading", "traffic", "requests", requests);

    if (loaded_ago >= 0) {
        json_object_set_new(
            f, "corte",
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "id",
                      "20240603T030500Z-1a2b3c4d", "time", iso(NOW - SEC(1500)),
                      "label",
                      "Último corte: 02/06/2024 21:05 (Tiempo del Centro, "
                      "UTC-06:00)",
                      "package", package, "loaded_at",
                      iso(NOW - SEC(loaded_ago)), "load_ms", 800));
        json_object_set_new(f, "age_s", json_integer(1500));
    } else {
        json_object_set_new(f, "corte", json_null());
        json_object_set_new(f, "age_s", json_null());
    }
    return f;
}

static json_t *doc_of(json_t *feed)
{
    json_t *feeds = json_array();

    if (feed) {
        json_array_append_new(feeds, feed);
    }
    return json_pack("{s:s, s:s, s:o}", "version", PREP_VERSION, "now",
                     iso(NOW), "feeds", feeds);
}

/* A journal line of event at NOW - ago seconds. */
static json_t *line(int ago, const char *event)
{
    return json_pack("{s:s, s:s, s:s}", "at", iso(NOW - SEC(ago)), "feed",
                     "qro", "event", event);
}

static void add(json_t *lines, json_t *l)
{
    json_array_append_new(lines, l);
}

static json_t *seen(int ago, const char *package)
{
    json_t *l = line(ago, "seen");

    json_object_set_new(l, "package", json_string(package));
    return l;
}

static json_t *published(int ago, const char *id, const char *package,
                         int load_ms)
{
    json_t *l = line(ago, "published");

    json_object_set_new(l, "corte",
                        json_pack("{s:s, s:s, s:i}", "id", id, "package",
                                  package, "load_ms", load_ms));
    return l;
}

static json_t *refused(int ago, const char *package, const char *reason)
{
    json_t *l = line(ago, "refused");

    json_object_set_new(l, "package", json_string(package));
    json_object_set_new(l, "reason", json_string(reason));
    json_object_set_new(l, "message", json_string("the package is cut"));
    return l;
}

static char *render(json_t *doc, json_t *lines, const char *args)
{
    json_t *journals = json_object();
    char *html;

    if (lines) {
        json_object_set(journals, "qro", lines);
    }
    html = prep_dashboard_html(doc, journals, args, NOW, pool);
    json_decref(journals);
    return html;
}

/* The night of the timeline tests: two cortes (A's package-to-live from
 * its seen, 2 s; B's from its load_ms, 900 ms), two refusals, a stale
 * period ended by fresh, a rollback by maria. */
static json_t *night(void)
{
    json_t *l = json_array(), *rb;

    add(l, line(3600, "start"));
    add(l, seen(3000, "PREP_QRO_A.tar.gz"));
    add(l, published(2998, "20240603T023000Z-aaaaaaaa", "PREP_QRO_A.tar.gz",
                     1500));
    add(l, refused(2500, "PREP_QRO_C.tar.gz", "truncated"));
    add(l, line(2000, "stale"));
    add(l,
        published(1500, "20240603T030500Z-bbbbbbbb", "PREP_QRO_B.tar.gz", 900));
    add(l, line(1499, "fresh"));
    add(l, refused(1000, "PREP_QRO_D.tar.gz", "verify"));
    rb = line(600, "rollback");
    json_object_set_new(rb, "user", json_string("maria"));
    json_object_set_new(rb, "to", json_string("20240603T023000Z-aaaaaaaa"));
    add(l, rb);
    return l;
}

/* --------------------------------------------------------------- tests */

START_TEST(test_states_in_spanish_with_colour)
{
    static const struct {
        const char *state, *word;
    } cases[] = {
        {"serving", "Publicando"}, {"stale", "Desactualizado"},
        {"waiting", "Esperando"},  {"embargoed", "Embargo"},
        {"pinned", "Fijado"},      {"closed", "Cerrado"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *doc =
            doc_of(feed_doc("qro", cases[i].state, 40, "P.tar.gz", 0));
        char *html = render(doc, NULL, NULL);

        ck_assert_msg(
            strstr(html, apr_psprintf(pool, "class=\"estado estado-%s",
                                      cases[i].state)),
            "%s: no state class", cases[i].state);
        ck_assert_msg(strstr(html, apr_psprintf(pool,
                                                "<span class=\"estado-texto\">"
                                                "%s</span>",
                                                cases[i].word)),
                      "%s: not said as %s", cases[i].state, cases[i].word);
        ck_assert_ptr_null(strstr(html, "SIMULACRO"));
        json_decref(doc);
    }
}
END_TEST

START_TEST(test_stale_amber_then_red)
{
    /* interval 10 s: amber once stale, red after 6 intervals */
    json_t *doc = doc_of(feed_doc("qro", "stale", 40, "P.tar.gz", 0));
    char *html = render(doc, NULL, NULL);

    ck_assert_ptr_nonnull(strstr(html, "estado-stale\""));
    ck_assert_ptr_null(strstr(html, "estado-stale-grave\">"));
    json_decref(doc);
    doc = doc_of(feed_doc("qro", "stale", 61, "P.tar.gz", 0));
    html = render(doc, NULL, NULL);
    ck_assert_ptr_nonnull(strstr(html, "estado-stale estado-stale-grave\">"));
    json_decref(doc);
}
END_TEST

START_TEST(test_drill_is_marked)
{
    json_t *f = feed_doc("qro", "serving", 5, "P.tar.gz", 0);
    json_t *doc, *l = json_array(), *pub;
    char *html;

    json_object_set_new(f, "drill", json_true());
    doc = doc_of(f);
    pub = published(60, "20240603T030500Z-bbbbbbbb", "P.tar.gz", 100);
    json_object_set_new(pub, "drill", json_true());
    add(l, pub);
    html = render(doc, l, NULL);
    ck_assert_ptr_nonnull(
        strstr(html, "<span class=\"marca-simulacro\">SIMULACRO</span>"));
    ck_assert_ptr_nonnull(strstr(html, "<section class=\"feed simulacro\""));
    ck_assert_ptr_nonnull(strstr(html, "corte publicado (simulacro)"));
    json_decref(l);
    json_decref(doc);
}
END_TEST

START_TEST(test_page_is_self_contained)
{
    json_t *doc = doc_of(feed_doc("qro", "serving", 5, "P.tar.gz", 0));
    json_t *l = night();
    char *html = render(doc, l, NULL);

    ck_assert_msg(!strncmp(html, "<!DOCTYPE html>\n<html lang=\"es\">", 32),
                  "starts with %.40s", html);
    ck_assert_ptr_nonnull(
        strstr(html, "<meta http-equiv=\"refresh\" content=\"10; url="));
    ck_assert_ptr_nonnull(strstr(html, "<meta charset=\"utf-8\">"));
    ck_assert_ptr_nonnull(strstr(html, "<style>"));
    ck_assert_int_eq(count_of(html, "<svg"), 1);
    /* nothing fetched: no script, stylesheet, image, font or frame */
    ck_assert_ptr_null(strstr(html, "<script"));
    ck_assert_ptr_null(strstr(html, "<link"));
    ck_assert_ptr_null(strstr(html, "<img"));
    ck_assert_ptr_null(strstr(html, "<iframe"));
    ck_assert_ptr_null(strstr(html, "src="));
    ck_assert_ptr_null(strstr(html, "url("));
    ck_assert_ptr_null(strstr(html, "@import"));
    /* the one absolute URL is the SVG namespace, which is not fetched */
    ck_assert_int_eq(count_of(html, "http://"), 1);
    ck_assert_ptr_nonnull(strstr(html, "xmlns=\"http://www.w3.org/2000/svg\""));
    ck_assert_ptr_null(strstr(html, "https://"));
    ck_assert_ptr_nonnull(strstr(html, "</html>\n"));
    json_decref(l);
    json_decref(doc);
}
END_TEST

START_TEST(test_store_values_are_escaped)
{
    const char *hostile = "<script>alert(\"x\")</script>&'\x01.tar.gz";
    const char *escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
                          "&amp;&#39;\xEF\xBF\xBD.tar.gz";
    json_t *f = feed_doc("qro", "serving", 5, hostile, 0);
    json_t *doc, *l = json_array(), *rb;
    char *html, *longname;

    json_object_set_new(f, "problem",
                        json_pack("{s:s}", "message", "<b>store</b> full"));
    doc = doc_of(f);
    add(l, seen(120, hostile));
    add(l, published(118, "20240603T030500Z-1a2b3c4d", hostile, 100));
    add(l, refused(60, hostile, "<i>truncated</i>"));
    rb = line(30, "pin");
    json_object_set_new(rb, "user", json_string("<u>eve</u>"));
    add(l, rb);
    html = render(doc, l, NULL);
    ck_assert_ptr_null(strstr(html, "<script>"));
    ck_assert_ptr_null(strstr(html, "<b>"));
    ck_assert_ptr_null(strstr(html, "<i>"));
    ck_assert_ptr_null(strstr(html, "<u>"));
    ck_assert_ptr_null(strstr(html, "\x01"));
    /* the served corte, the corte's tooltip, the refusal's tooltip, the
     * events table (seen, published, refused), the refusals table */
    ck_assert_int_ge(count_of(html, escaped), 7);
    ck_assert_ptr_nonnull(strstr(html, "&lt;b&gt;store&lt;/b&gt; full"));
    ck_assert_ptr_nonnull(strstr(html, "&lt;i&gt;truncated&lt;/i&gt;"));
    ck_assert_ptr_nonnull(strstr(html, "por &lt;u&gt;eve&lt;/u&gt;"));
    json_decref(l);
    json_decref(doc);

    /* a very long name is cut at a character, not inside one */
    longname = apr_pstrcat(pool, apr_psprintf(pool, "%0119d", 0),
                           "ñññññññññññññññ.tar.gz", NULL);
    doc = doc_of(feed_doc("qro", "serving", 5, longname, 0));
    html = render(doc, NULL, NULL);
    /* 119 digits and one ñ (two bytes) are the first 120 characters */
    ck_assert_ptr_nonnull(strstr(
        html, apr_pstrcat(pool, "<dt>Paquete</dt><dd>",
                          apr_pstrndup(pool, longname, 121), "…</dd>", NULL)));
    json_decref(doc);
}
END_TEST

START_TEST(test_timeline_marks)
{
    json_t *doc = doc_of(feed_doc("qro", "pinned", 1500, "B.tar.gz", 0));
    json_t *l = night();
    char *html = render(doc, l, NULL);
    char *svg = strstr(html, "<svg"), *end = strstr(html, "</svg>");

    ck_assert_ptr_nonnull(svg);
    ck_assert_ptr_nonnull(end);
    *end = '\0';
    ck_assert_int_eq(count_of(svg, "class=\"marca-corte\""), 2);
    ck_assert_int_eq(count_of(svg, "class=\"marca-rechazo\""), 2);
    ck_assert_int_eq(count_of(svg, "class=\"marca-desactualizado\""), 1);
    ck_assert_int_eq(count_of(svg, "class=\"marca-operador\""), 1);
    /* A: from its seen; B (no seen in the window): its load_ms */
    ck_assert_ptr_nonnull(strstr(svg, "20240603T023000Z-aaaaaaaa · paquete "
                                      "PREP_QRO_A.tar.gz · del paquete a "
                                      "publicado: 2.0 s</title>"));
    ck_assert_ptr_nonnull(strstr(svg, "del paquete a publicado: 900 ms"));
    ck_assert_ptr_nonnull(strstr(svg, "(máx. 2.0 s)"));
    /* refusals: the reason in the tooltip */
    ck_assert_ptr_nonnull(
        strstr(svg, "<title>Rechazo a las 20:48:20: truncated · "
                    "PREP_QRO_C.tar.gz · the package is cut</title>"));
    ck_assert_ptr_nonnull(strstr(svg, "verify · PREP_QRO_D.tar.gz"));
    /* the stale period: from stale to fresh */
    ck_assert_ptr_nonnull(
        strstr(svg, "<title>Desactualizado de 20:56:40 a 21:05:01 (8 min 21 "
                    "s)</title>"));
    ck_assert_ptr_nonnull(
        strstr(svg, "regreso a un corte anterior a las 21:20:00 por maria"));
    /* x: from the first event of the window (20:30) to now (21:30); the
     * axis in the feed's clock */
    ck_assert_ptr_nonnull(strstr(svg, ">20:30</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">21:30</text>"));
    *end = '<';
    /* the legend names the reasons with their counts */
    ck_assert_ptr_nonnull(
        strstr(html, "<span class=\"motivo\">truncated</span> ×1, <span "
                     "class=\"motivo\">verify</span> ×1"));
    json_decref(l);
    json_decref(doc);
}
END_TEST

START_TEST(test_stale_still_open_reaches_now)
{
    json_t *doc = doc_of(feed_doc("qro", "stale", 100, "P.tar.gz", 0));
    json_t *l = json_array();
    char *html;

    add(l, published(100, "20240603T032820Z-cccccccc", "P.tar.gz", 100));
    add(l, line(70, "stale"));
    html = render(doc, l, NULL);
    ck_assert_ptr_nonnull(
        strstr(html, "Desactualizado de 21:28:50 a 21:30:00 (1 min 10 s)"));
    json_decref(l);
    json_decref(doc);
}
END_TEST

START_TEST(test_tables_newest_first)
{
    json_t *doc = doc_of(feed_doc("qro", "serving", 5, "P.tar.gz", 0));
    json_t *l = night(), *empty = json_array();
    char *html = render(doc, l, NULL), *events, *refusals;

    events = strstr(html, "<table class=\"eventos\">");
    refusals = strstr(html, "<table class=\"rechazos\">");
    ck_assert_ptr_nonnull(events);
    ck_assert_ptr_nonnull(refusals);
    /* newest first: the rollback before the first corte */
    ck_assert_ptr_nonnull(strstr(events, "regreso a un corte anterior"));
    ck_assert(strstr(events, "regreso a un corte anterior") <
              strstr(events, "corte 20240603T023000Z-aaaaaaaa · paquete"));
    ck_assert_int_eq(
        count_of(apr_pstrndup(pool, events, (apr_size_t)(refusals - events)),
                 "<tr>"),
        1 + 9);
    ck_assert(strstr(refusals, "PREP_QRO_D.tar.gz") <
              strstr(refusals, "PREP_QRO_C.tar.gz"));
    ck_assert_int_eq(count_of(refusals, "<tr>"), 1 + 2);
    ck_assert_ptr_nonnull(
        strstr(refusals, "<td>verify</td><td class=\"mensaje\">the package "
                         "is cut</td>"));
    json_decref(l);

    html = render(doc, empty, NULL);
    ck_assert_ptr_nonnull(strstr(html, "Sin eventos en las últimas 24 horas"));
    ck_assert_ptr_nonnull(strstr(html, "Ningún paquete rechazado"));
    ck_assert_int_eq(count_of(html, "class=\"marca-"), 0);
    json_decref(empty);
    json_decref(doc);

    doc = doc_of(NULL);
    html = render(doc, NULL, NULL);
    ck_assert_ptr_nonnull(strstr(html, "no tiene feeds configurados"));
    json_decref(doc);
}
END_TEST

START_TEST(test_rate_from_the_previous_render)
{
    double r = -1;
    apr_int64_t ms = apr_time_as_msec(NOW);
    const char *a60 = apr_psprintf(
        pool, "format=html&t=%" APR_INT64_T_FMT "&r=qro:100", ms - 60000);

    ck_assert(!prep_dashboard_rate(&r, NULL, "qro", 220, NOW));
    ck_assert(!prep_dashboard_rate(&r, "format=html", "qro", 220, NOW));
    ck_assert(prep_dashboard_rate(&r, a60, "qro", 220, NOW));
    ck_assert_double_eq_tol(r, 120.0, 1e-9);
    /* over 10 s: 30 requests are 180 a minute */
    ck_assert(prep_dashboard_rate(
        &r,
        apr_psprintf(pool, "t=%" APR_INT64_T_FMT "&r=cdmx:5,qro:100",
                     ms - 10000),
        "qro", 130, NOW));
    ck_assert_double_eq_tol(r, 180.0, 1e-9);
    /* escaped as a browser may send it */
    ck_assert(prep_dashboard_rate(
        &r,
        apr_psprintf(pool, "format=html&t=%" APR_INT64_T_FMT "&r=qro%%3A100",
                     ms - 60000),
        "qro", 100, NOW));
    ck_assert_double_eq_tol(r, 0.0, 1e-9);
    /* no rate: a restart (the counter went back), another feed, a render
     * in the future or too old, numbers that are not numbers */
    ck_assert(!prep_dashboard_rate(&r, a60, "qro", 50, NOW));
    ck_assert(!prep_dashboard_rate(&r, a60, "cdmx", 50, NOW));
    ck_assert(!prep_dashboard_rate(
        &r, apr_psprintf(pool, "t=%" APR_INT64_T_FMT "&r=qro:1", ms + 1000),
        "qro", 50, NOW));
    ck_assert(!prep_dashboard_rate(
        &r, apr_psprintf(pool, "t=%" APR_INT64_T_FMT "&r=qro:1", ms), "qro", 50,
        NOW));
    ck_assert(!prep_dashboard_rate(
        &r,
        apr_psprintf(pool, "t=%" APR_INT64_T_FMT "&r=qro:1", ms - 16 * 60000),
        "qro", 50, NOW));
    ck_assert(!prep_dashboard_rate(
        &r, apr_psprintf(pool, "t=%" APR_INT64_T_FMT "&r=qro:-1", ms - 1000),
        "qro", 50, NOW));
    ck_assert(!prep_dashboard_rate(
        &r, apr_psprintf(pool, "t=%" APR_INT64_T_FMT "&r=qro:1x", ms - 1000),
        "qro", 50, NOW));
    ck_assert(!prep_dashboard_rate(&r, "t=abc&r=qro:1", "qro", 50, NOW));
    ck_assert(!prep_dashboard_rate(&r, "t=&r=", "qro", 50, NOW));
    ck_assert(!prep_dashboard_rate(&r, "t=99999999999999999999999&r=qro:1",
                                   "qro", 50, NOW));
    ck_assert(!prep_dashboard_rate(&r, "t=1%zz&r=qro:1", "qro", 50, NOW));
}
END_TEST

START_TEST(test_rate_on_the_page_and_the_refresh_url)
{
    json_t *doc = doc_of(feed_doc("qro", "serving", 5, "P.tar.gz", 1220));
    char *html = render(doc, NULL, NULL);
    const char *url =
        apr_psprintf(pool,
                     "content=\"10; url=?format=html&amp;t=%" APR_INT64_T_FMT
                     "&amp;r=qro:1220\">",
                     apr_time_as_msec(NOW));

    /* first render: no rate yet */
    ck_assert_ptr_nonnull(
        strstr(html, "<dt>Solicitudes por minuto</dt><dd>—</dd>"));
    ck_assert_ptr_nonnull(
        strstr(html, "<dt>Solicitudes desde el inicio</dt><dd>1,220</dd>"));
    ck_assert_ptr_nonnull(strstr(html, url));
    /* the next one, 10 s later, divides: 200 in 10 s */
    html = render(doc, NULL,
                  apr_psprintf(pool,
                               "format=html&t=%" APR_INT64_T_FMT "&r=qro:1020",
                               apr_time_as_msec(NOW) - 10000));
    ck_assert_ptr_nonnull(
        strstr(html, "<dt>Solicitudes por minuto</dt><dd>1200</dd>"));
    html = render(doc, NULL,
                  apr_psprintf(pool,
                               "format=html&t=%" APR_INT64_T_FMT "&r=qro:1219",
                               apr_time_as_msec(NOW) - 10000));
    ck_assert_ptr_nonnull(
        strstr(html, "<dt>Solicitudes por minuto</dt><dd>6.0</dd>"));
    json_decref(doc);
}
END_TEST

START_TEST(test_accept_prefers_html)
{
    ck_assert(prep_dashboard_wanted(
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
        "image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;"
        "q=0.7"));
    ck_assert(prep_dashboard_wanted("text/html"));
    ck_assert(prep_dashboard_wanted("text/*"));
    ck_assert(prep_dashboard_wanted("application/json;q=0.9, text/html"));
    ck_assert(prep_dashboard_wanted("TEXT/HTML ; q=1.0, */*;q=0.1"));
    ck_assert(!prep_dashboard_wanted(NULL));
    ck_assert(!prep_dashboard_wanted(""));
    ck_assert(!prep_dashboard_wanted("*/*"));
    ck_assert(!prep_dashboard_wanted("application/json"));
    ck_assert(!prep_dashboard_wanted("application/json, text/html"));
    ck_assert(!prep_dashboard_wanted("text/html;q=0.5, application/json"));
    ck_assert(!prep_dashboard_wanted("text/html;q=0, */*"));
    ck_assert(!prep_dashboard_wanted("text/plain, application/*"));
    ck_assert(!prep_dashboard_wanted(",,;;q=,/"));
}
END_TEST

START_TEST(test_journal_window_is_the_last_day_and_bounded)
{
    char tmpl[] = "/tmp/prep-dashboard-XXXXXX";
    const char *root;
    prep_feed_t feed;
    prep_journal_t j;
    apr_time_t now = apr_time_now();
    json_t *w;
    int i;

    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    root = apr_pstrdup(pool, tmpl);
    test_feed_in(&feed, root, pool);
    prep_journal_init(&j, &feed, 0);
    w = prep_dashboard_journal(feed.store, now, 100, pool);
    ck_assert_int_eq(json_array_size(w), 0);
    json_decref(w);
    for (i = 0; i < 5; i++) {
        ck_assert_int_eq(
            prep_journal_append(&j,
                                prep_journal_line(&j, PREP_EVENT_SEEN,
                                                  now - SEC(26 * 3600 - i)),
                                pool),
            APR_SUCCESS);
    }
    for (i = 0; i < 30; i++) {
        json_t *l =
            prep_journal_line(&j, PREP_EVENT_REFUSED, now - SEC(3600 - 60 * i));

        json_object_set_new(l, "n", json_integer(i));
        ck_assert_int_eq(prep_journal_append(&j, l, pool), APR_SUCCESS);
    }
    /* only the last 24 h */
    w = prep_dashboard_journal(feed.store, now, 100, pool);
    ck_assert_int_eq(json_array_size(w), 30);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_array_get(w, 0), "event")),
        "refused");
    json_decref(w);
    /* at most max_lines: the newest, oldest first */
    w = prep_dashboard_journal(feed.store, now, 7, pool);
    ck_assert_int_eq(json_array_size(w), 7);
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_array_get(w, 0), "n")), 23);
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_array_get(w, 6), "n")), 29);
    json_decref(w);
    ck_assert_int_eq(system(apr_psprintf(pool, "rm -rf '%s'", root)), 0);
}
END_TEST

/* A journal of a bad night (9,000 lines of long refusals, 13 MB): a render
 * reads at most PREP_DASHBOARD_LINES of them from the end, and its page
 * stays a few MB. */
START_TEST(test_render_is_bounded)
{
    char tmpl[] = "/tmp/prep-dashboard-XXXXXX";
    const char *root, *path;
    prep_feed_t feed;
    apr_time_t now = apr_time_now();
    char message[1400];
    json_t *w, *doc;
    FILE *out;
    char *html;
    int i;

    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    root = apr_pstrdup(pool, tmpl);
    test_feed_in(&feed, root, pool);
    path = apr_pstrcat(pool, feed.store, "/" PREP_JOURNAL_FILE, NULL);
    memset(message, 'm', sizeof(message) - 1);
    message[sizeof(message) - 1] = '\0';
    out = fopen(path, "w");
    ck_assert_ptr_nonnull(out);
    for (i = 0; i < 9000; i++) {
        fprintf(out,
                "{\"at\":\"%s\",\"feed\":\"qro\",\"event\":\"refused\","
                "\"package\":\"P%d.tar.gz\",\"reason\":\"truncated\","
                "\"message\":\"%s\"}\n",
                prep_time_iso(pool, now - SEC(9000 - i), &zone), i, message);
    }
    ck_assert_int_eq(fclose(out), 0);
    w = prep_dashboard_journal(feed.store, now, PREP_DASHBOARD_LINES, pool);
    ck_assert_int_gt(json_array_size(w), 100);
    ck_assert_int_le(json_array_size(w), PREP_DASHBOARD_LINES);
    /* the newest line is the journal's last */
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(w, json_array_size(w) - 1), "package")),
                     "P8999.tar.gz");
    doc = doc_of(feed_doc("qro", "serving", 5, "P.tar.gz", 0));
    html = render(doc, w, NULL);
    ck_assert_int_eq(count_of(html, "class=\"marca-rechazo\""),
                     (int)json_array_size(w));
    ck_assert_int_lt(strlen(html), 8 * 1024 * 1024);
    json_decref(doc);
    json_decref(w);
    ck_assert_int_eq(system(apr_psprintf(pool, "rm -rf '%s'", root)), 0);
}
END_TEST

Suite *suite_dashboard(void)
{
    Suite *s = suite_create("dashboard");
    TCase *tc = tcase_create("dashboard");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_states_in_spanish_with_colour);
    tcase_add_test(tc, test_stale_amber_then_red);
    tcase_add_test(tc, test_drill_is_marked);
    tcase_add_test(tc, test_page_is_self_contained);
    tcase_add_test(tc, test_store_values_are_escaped);
    tcase_add_test(tc, test_timeline_marks);
    tcase_add_test(tc, test_stale_still_open_reaches_now);
    tcase_add_test(tc, test_tables_newest_first);
    tcase_add_test(tc, test_rate_from_the_previous_render);
    tcase_add_test(tc, test_rate_on_the_page_and_the_refresh_url);
    tcase_add_test(tc, test_accept_prefers_html);
    tcase_add_test(tc, test_journal_window_is_the_last_day_and_bounded);
    tcase_add_test(tc, test_render_is_bounded);
    suite_add_tcase(s, tc);
    return s;
}
