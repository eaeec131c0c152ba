/* check_report_log.c — unit tests of the access logs read and counted for
 * the memoria técnica (prep_report_log.c), on small logs written here with
 * answers computed by hand: the line and time parsers, who a User-Agent
 * is, visitors (per day and per period), visits at the 30-minute boundary
 * and across midnight, durations, pages against hits, crawlers and
 * monitors apart, the Location filter, from/to, plain and gzip files of two
 * servers merged (a rotated file given after the current one, a line out
 * of order), unparsable lines counted with their examples, and the CSV. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <apr_strings.h>
#include <jansson.h>

#include "prep.h"
#include "prep_report.h"
#include "test_prep.h"

static apr_pool_t *pool;
static const char *root;

#define SEC(n) apr_time_from_sec(n)
/* 2024-06-02T21:00:00-06:00 */
#define NINE_PM 1717383600
#define ZONE    (-6 * 3600)

#define MOZ "Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0"
#define IPH "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5) Mobile Safari/604.1"
#define GOO "Mozilla/5.0 (compatible; Googlebot/2.1)"

static void setup(void)
{
    char tmpl[] = "/tmp/prep-report-XXXXXX";

    apr_pool_create(&pool, NULL);
    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    root = apr_pstrdup(pool, tmpl);
}

static void teardown(void)
{
    ck_assert_int_eq(system(apr_psprintf(pool, "rm -rf '%s'", root)), 0);
    apr_pool_destroy(pool);
}

/* One line of prep_combined: time as "02/Jun/2024:21:00:00" (-0600). */
static const char *line(const char *addr, const char *when, const char *req,
                        int status, const char *bytes, const char *agent)
{
    return apr_psprintf(pool, "%s - - [%s -0600] \"%s\" %d %s \"-\" \"%s\"\n",
                        addr, when, req, status, bytes, agent);
}

static const char *write_log(const char *name, const char *text, int gz)
{
    const char *path = apr_pstrcat(pool, root, "/", name, NULL);

    if (gz) {
        gzFile g = gzopen(path, "wb");

        ck_assert_ptr_nonnull(g);
        ck_assert_int_eq(gzwrite(g, text, (unsigned)strlen(text)),
                         (int)strlen(text));
        ck_assert_int_eq(gzclose(g), Z_OK);
    } else {
        FILE *f = fopen(path, "w");

        ck_assert_ptr_nonnull(f);
        fputs(text, f);
        ck_assert_int_eq(fclose(f), 0);
    }
    return path;
}

static void defaults(prep_report_log_options_t *o)
{
    memset(o, 0, sizeof(*o));
    o->offset_s = ZONE;
}

/* The document of the logs `paths` (NULL-ended) read with options o. */
static json_t *report_of(const prep_report_log_options_t *o, ...)
{
    apr_array_header_t *paths = apr_array_make(pool, 4, sizeof(char *));
    prep_report_log_t *r = prep_report_log_make(o, pool);
    const char *error = NULL, *path;
    json_t *doc;
    va_list ap;

    va_start(ap, o);
    while ((path = va_arg(ap, const char *))) {
        APR_ARRAY_PUSH(paths, const char *) = path;
    }
    va_end(ap);
    ck_assert_int_eq(prep_report_log_read(r, paths, &error), APR_SUCCESS);
    ck_assert_ptr_null(error);
    doc = prep_report_log_json(r);
    ck_assert_ptr_nonnull(doc);
    return doc;
}

/* doc's number at "a.b" or "a.N.b" */
static json_int_t num(const json_t *doc, const char *where)
{
    char *copy = apr_pstrdup(pool, where), *last, *key;
    const json_t *v = doc;

    for (key = apr_strtok(copy, ".", &last); key;
         key = apr_strtok(NULL, ".", &last)) {
        v = json_is_array(v) ? json_array_get(v, (size_t)atoi(key))
                             : json_object_get(v, key);
        ck_assert_msg(v != NULL, "no %s", where);
    }
    ck_assert_msg(json_is_integer(v), "%s is not an integer", where);
    return json_integer_value(v);
}

static const char *str(const json_t *doc, const char *where)
{
    char *copy = apr_pstrdup(pool, where), *last, *key;
    const json_t *v = doc;

    for (key = apr_strtok(copy, ".", &last); key;
         key = apr_strtok(NULL, ".", &last)) {
        v = json_is_array(v) ? json_array_get(v, (size_t)atoi(key))
                             : json_object_get(v, key);
        ck_assert_msg(v != NULL, "no %s", where);
    }
    return json_string_value(v);
}

static size_t len_of(const json_t *doc, const char *key)
{
    return json_array_size(json_object_get(doc, key));
}

/* The number of visits in duration range i (0 s, 1–30 s, 31–120 s, 2–5 min,
 * 5–15 min, 15–30 min, 30–60 min, > 1 h). */
static json_int_t in_range(const json_t *doc, int i)
{
    return num(doc, apr_psprintf(pool, "durations.%d.visits", i));
}

START_TEST(test_time_is_read_by_hand)
{
    apr_int64_t t = 0;

    ck_assert(prep_log_time_parse(&t, "02/Jun/2024:21:05:00 -0600", 26));
    ck_assert_int_eq(t, NINE_PM + 300);
    ck_assert(prep_log_time_parse(&t, "03/Jun/2024:03:05:00 +0000", 26));
    ck_assert_int_eq(t, NINE_PM + 300);
    ck_assert(prep_log_time_parse(&t, "03/Jun/2024:08:35:00 +0530", 26));
    ck_assert_int_eq(t, NINE_PM + 300);
    ck_assert(!prep_log_time_parse(&t, "02/Jum/2024:21:05:00 -0600", 26));
    ck_assert(!prep_log_time_parse(&t, "30/Feb/2024:21:05:00 -0600", 26));
    ck_assert(!prep_log_time_parse(&t, "02/Jun/2024:24:05:00 -0600", 26));
    ck_assert(!prep_log_time_parse(&t, "02/Jun/2024 21:05:00 -0600", 26));
    ck_assert(!prep_log_time_parse(&t, "02/Jun/2024:21:05:00 -060", 25));
}
END_TEST

START_TEST(test_lines_of_both_formats_parse)
{
    prep_log_line_t l;
    const char *s;

    /* combined, %b "-" */
    s = "203.0.113.9 - frank [02/Jun/2024:21:00:01 -0600] \"GET "
        "/prep/qro/index.html?x=1 HTTP/1.1\" 304 - \"https://ine.mx/\" "
        "\"" IPH "\"";
    ck_assert(prep_log_line_parse(&l, s, strlen(s)));
    ck_assert_int_eq(l.time_s, NINE_PM + 1);
    ck_assert_int_eq(l.addr_len, 11);
    ck_assert(!strncmp(l.addr, "203.0.113.9", 11));
    ck_assert_int_eq(l.path_len, strlen("/prep/qro/index.html"));
    ck_assert(!strncmp(l.path, "/prep/qro/index.html", l.path_len));
    ck_assert_int_eq(l.status, 304);
    ck_assert_int_eq(l.bytes, 0);
    ck_assert_int_eq(l.agent_len, strlen(IPH));
    ck_assert(!strncmp(l.agent, IPH, l.agent_len));

    /* prep_combined (%a, %O), an escaped quote in the request, an absolute
     * target, fields a LogFormat adds after the agent */
    s = "2001:db8::1 - - [02/Jun/2024:21:00:02 -0600] \"GET "
        "http://prep.example/prep/a\\\"b.html HTTP/1.1\" 200 5120 \"-\" "
        "\"curl/8.5.0\" 1234";
    ck_assert(prep_log_line_parse(&l, s, strlen(s)));
    ck_assert_int_eq(l.path_len, strlen("/prep/a\\\"b.html"));
    ck_assert(!strncmp(l.path, "/prep/a\\\"b.html", l.path_len));
    ck_assert_int_eq(l.bytes, 5120);
    ck_assert(!strncmp(l.agent, "curl/8.5.0", l.agent_len));

    /* common: no referer nor agent; a request without a target */
    s = "10.0.0.1 - - [02/Jun/2024:21:00:03 -0600] \"-\" 408 0";
    ck_assert(prep_log_line_parse(&l, s, strlen(s)));
    ck_assert_int_eq(l.status, 408);
    ck_assert_int_eq(l.path_len, 0);
    ck_assert_int_eq(l.agent_len, 0);

    /* not lines */
    s = "garbage";
    ck_assert(!prep_log_line_parse(&l, s, strlen(s)));
    s = "10.0.0.1 - - [02/Jun/2024:21:00:03 -0600] \"GET / HTTP/1.1\" 2x0 0";
    ck_assert(!prep_log_line_parse(&l, s, strlen(s)));
    s = "10.0.0.1 - - [02/Jun/2024:21:00:03 -0600] \"GET / HTTP/1.1 200 0";
    ck_assert(!prep_log_line_parse(&l, s, strlen(s)));
    s = "10.0.0.1 - - [02/Jun/2024:21:00:03 -0600] \"GET / HTTP/1.1\" 200 0 "
        "\"-\" \"no end";
    ck_assert(!prep_log_line_parse(&l, s, strlen(s)));
}
END_TEST

START_TEST(test_agents_are_told_apart)
{
#define WHO(a) prep_report_client_of_agent(a, strlen(a))
    ck_assert_int_eq(WHO(MOZ), PREP_CLIENT_VISITOR);
    ck_assert_int_eq(WHO("curl/8.5.0"), PREP_CLIENT_VISITOR);
    ck_assert_int_eq(WHO(""), PREP_CLIENT_VISITOR);
    ck_assert_int_eq(WHO(GOO), PREP_CLIENT_CRAWLER);
    ck_assert_int_eq(WHO("Mozilla/5.0 (compatible; bingbot/2.0)"),
                     PREP_CLIENT_CRAWLER);
    ck_assert_int_eq(WHO("Baiduspider+(+http://www.baidu.com)"),
                     PREP_CLIENT_CRAWLER);
    ck_assert_int_eq(WHO("facebookexternalhit/1.1"), PREP_CLIENT_CRAWLER);
    ck_assert_int_eq(WHO("Mozilla/5.0 (compatible; Yahoo! Slurp)"),
                     PREP_CLIENT_CRAWLER);
    ck_assert_int_eq(WHO("Prometheus/2.51.0"), PREP_CLIENT_MONITOR);
    ck_assert_int_eq(WHO("kube-probe/1.29"), PREP_CLIENT_MONITOR);
    /* a monitor although it says "bot" */
    ck_assert_int_eq(WHO("Mozilla/5.0+(compatible; UptimeRobot/2.0)"),
                     PREP_CLIENT_MONITOR);
    ck_assert_int_eq(WHO("check_http/v2.3.3 (monitoring-plugins 2.3.3)"),
                     PREP_CLIENT_MONITOR);
    ck_assert_int_eq(WHO("Zabbix"), PREP_CLIENT_MONITOR);
#undef WHO
}
END_TEST

/* A: a gap of exactly 30 min keeps the visit; B (same address, another
 * agent: another visitor): a gap of 30 min 1 s starts a new one. */
START_TEST(test_visits_at_the_timeout_boundary)
{
    prep_report_log_options_t o;
    const char *log = apr_pstrcat(pool,
                                  line("10.0.0.1", "02/Jun/2024:21:00:00",
                                       "GET / HTTP/1.1", 200, "100", MOZ),
                                  line("10.0.0.1", "02/Jun/2024:21:00:10",
                                       "GET / HTTP/1.1", 200, "100", IPH),
                                  line("10.0.0.1", "02/Jun/2024:21:30:00",
                                       "GET / HTTP/1.1", 200, "100", MOZ),
                                  line("10.0.0.1", "02/Jun/2024:21:30:11",
                                       "GET / HTTP/1.1", 200, "100", IPH),
                                  NULL);
    json_t *doc;

    defaults(&o);
    doc = report_of(&o, write_log("access.log", log, 0), NULL);
    ck_assert_int_eq(num(doc, "totals.visitors"), 2);
    ck_assert_int_eq(num(doc, "totals.visits"), 3);
    ck_assert_int_eq(num(doc, "totals.hits"), 4);
    ck_assert_int_eq(num(doc, "totals.pages"), 4);
    ck_assert_int_eq(num(doc, "totals.bytes"), 400);
    /* A: 1800 s (15–30 min); B: two of 0 s */
    ck_assert_int_eq(num(doc, "totals.visit_duration_total_s"), 1800);
    ck_assert(json_real_value(json_object_get(json_object_get(doc, "totals"),
                                              "visit_duration_mean_s")) ==
              600.0);
    ck_assert_int_eq(in_range(doc, 0), 2);
    ck_assert_int_eq(in_range(doc, 5), 1);
    ck_assert_int_eq(in_range(doc, 6), 0);
    ck_assert_int_eq(len_of(doc, "durations"), PREP_REPORT_DURATIONS);
    ck_assert_str_eq(str(doc, "durations.5.range"), "15–30 min");
    ck_assert_int_eq(num(doc, "durations.5.from_s"), 901);
    ck_assert_int_eq(num(doc, "durations.5.to_s"), 1800);
    ck_assert(json_is_null(json_object_get(
        json_array_get(json_object_get(doc, "durations"), 7), "to_s")));
    ck_assert_int_eq(len_of(doc, "hours"), 1);
    ck_assert_str_eq(str(doc, "hours.0.hour"), "2024-06-02T21:00:00-06:00");
    ck_assert_int_eq(num(doc, "hours.0.visits"), 3);
    ck_assert_str_eq(str(doc, "period.first"), "2024-06-02T21:00:00-06:00");
    ck_assert_str_eq(str(doc, "period.last"), "2024-06-02T21:30:11-06:00");
    ck_assert(json_is_false(json_object_get(doc, "empty")));

    /* With AWStats' 60 minutes, B's gap keeps its visit too. */
    o.visit_timeout = apr_time_from_sec(3600);
    json_decref(doc);
    doc = report_of(&o, apr_pstrcat(pool, root, "/access.log", NULL), NULL);
    ck_assert_int_eq(num(doc, "totals.visits"), 2);
    ck_assert_int_eq(num(doc, "totals.visit_duration_total_s"), 1800 + 1801);
    ck_assert_int_eq(num(doc, "definitions.visit_timeout_s"), 3600);
    json_decref(doc);
}
END_TEST

/* A visit crossing midnight is one visit, counted the day it starts; a
 * visitor is counted once in each day it came and once in the period. */
START_TEST(test_visitors_per_day_and_per_period)
{
    prep_report_log_options_t o;
    const char *log = apr_pstrcat(pool,
                                  line("10.0.0.1", "02/Jun/2024:23:50:00",
                                       "GET / HTTP/1.1", 200, "1", MOZ),
                                  line("10.0.0.1", "03/Jun/2024:00:10:00",
                                       "GET / HTTP/1.1", 200, "1", MOZ),
                                  line("10.0.0.2", "03/Jun/2024:01:00:00",
                                       "GET / HTTP/1.1", 200, "1", MOZ),
                                  line("10.0.0.1", "03/Jun/2024:12:00:00",
                                       "GET / HTTP/1.1", 200, "1", MOZ),
                                  NULL);
    json_t *doc;

    defaults(&o);
    doc = report_of(&o, write_log("access.log", log, 0), NULL);
    ck_assert_int_eq(num(doc, "totals.visitors"), 2);
    ck_assert_int_eq(num(doc, "totals.visits"), 3);
    ck_assert_int_eq(in_range(doc, 5), 1); /* 1200 s */
    ck_assert_int_eq(in_range(doc, 0), 2);
    ck_assert_int_eq(len_of(doc, "days"), 2);
    ck_assert_str_eq(str(doc, "days.0.day"), "2024-06-02");
    ck_assert_int_eq(num(doc, "days.0.visitors"), 1);
    ck_assert_int_eq(num(doc, "days.0.visits"), 1);
    ck_assert_int_eq(num(doc, "days.0.hits"), 1);
    ck_assert_str_eq(str(doc, "days.1.day"), "2024-06-03");
    ck_assert_int_eq(num(doc, "days.1.visitors"), 2);
    ck_assert_int_eq(num(doc, "days.1.visits"), 2);
    ck_assert_int_eq(num(doc, "days.1.hits"), 3);
    /* 23:00 of the 2nd to 12:00 of the 3rd, the empty hours too */
    ck_assert_int_eq(len_of(doc, "hours"), 14);
    ck_assert_str_eq(str(doc, "hours.0.hour"), "2024-06-02T23:00:00-06:00");
    ck_assert_int_eq(num(doc, "hours.0.visits"), 1);
    ck_assert_int_eq(num(doc, "hours.1.hits"), 1);
    ck_assert_int_eq(num(doc, "hours.1.visits"), 0);
    ck_assert_int_eq(num(doc, "hours.2.visits"), 1);
    ck_assert_int_eq(num(doc, "hours.5.hits"), 0);
    ck_assert_str_eq(str(doc, "hours.13.hour"), "2024-06-03T12:00:00-06:00");
    ck_assert_int_eq(num(doc, "hours.13.visits"), 1);
    json_decref(doc);
}
END_TEST

/* 304 is a page, 404 is not, css and js are hits only; crawlers and
 * monitors (by agent, and /prep-status by path) are apart. */
START_TEST(test_pages_hits_crawlers_and_monitors)
{
    prep_report_log_options_t o;
    const char *a = "198.51.100.7", *t = "02/Jun/2024:21:00:00";
    const char *log = apr_pstrcat(
        pool, line(a, t, "GET / HTTP/1.1", 200, "100", MOZ),
        line(a, t, "GET /prep/qro/ HTTP/1.1", 304, "-", MOZ),
        line(a, t, "GET /a.html HTTP/1.1", 404, "100", MOZ),
        line(a, t, "GET /style.css HTTP/1.1", 200, "100", MOZ),
        line(a, t, "GET /app.js HTTP/1.1", 200, "100", MOZ),
        line(a, t, "GET /b.HTM HTTP/1.1", 200, "100", MOZ),
        line(a, t, "GET /c.html?x=1 HTTP/1.1", 200, "100", MOZ),
        line(a, t, "GET /c.html HTTP/1.1", 200, "100", MOZ),
        line("66.249.66.1", t, "GET /x.html HTTP/1.1", 200, "100", GOO),
        line(a, t, "GET /prep-status?auto HTTP/1.1", 200, "100", MOZ),
        line("10.1.1.1", t, "GET /prep/qro/ HTTP/1.1", 200, "100",
             "Prometheus/2.51.0"),
        NULL);
    json_t *doc;

    defaults(&o);
    o.top_pages = 2;
    doc = report_of(&o, write_log("access.log", log, 0), NULL);
    ck_assert_int_eq(num(doc, "totals.hits"), 11);
    ck_assert_int_eq(num(doc, "totals.bytes"), 1000);
    ck_assert_int_eq(num(doc, "totals.pages"), 5);
    ck_assert_int_eq(num(doc, "totals.visitors"), 1);
    ck_assert_int_eq(num(doc, "totals.visits"), 1);
    ck_assert_int_eq(num(doc, "crawlers.hits"), 1);
    ck_assert_int_eq(num(doc, "crawlers.pages"), 1);
    ck_assert_int_eq(num(doc, "crawlers.bytes"), 100);
    ck_assert_int_eq(num(doc, "crawlers.clients"), 1);
    ck_assert_int_eq(num(doc, "monitors.hits"), 2);
    ck_assert_int_eq(num(doc, "monitors.bytes"), 200);
    ck_assert_int_eq(num(doc, "hours.0.pages"), 5);
    ck_assert_int_eq(num(doc, "hours.0.hits"), 11);
    ck_assert_int_eq(len_of(doc, "status"), 3);
    ck_assert_int_eq(num(doc, "status.0.code"), 200);
    ck_assert_int_eq(num(doc, "status.0.hits"), 9);
    ck_assert_int_eq(num(doc, "status.1.code"), 304);
    ck_assert_int_eq(num(doc, "status.1.hits"), 1);
    ck_assert_int_eq(num(doc, "status.2.code"), 404);
    ck_assert_int_eq(num(doc, "status.2.hits"), 1);
    /* by count, then by path */
    ck_assert_int_eq(len_of(doc, "pages"), 4);
    ck_assert_str_eq(str(doc, "pages.0.path"), "/c.html");
    ck_assert_int_eq(num(doc, "pages.0.count"), 2);
    ck_assert_str_eq(str(doc, "pages.1.path"), "/");
    ck_assert_str_eq(str(doc, "pages.2.path"), "/b.HTM");
    ck_assert_str_eq(str(doc, "pages.3.path"), "/prep/qro/");
    ck_assert_int_eq(len_of(doc, "pages_top"), 2);
    ck_assert_str_eq(str(doc, "pages_top.1.path"), "/");
    json_decref(doc);
}
END_TEST

START_TEST(test_locations_and_period_filter)
{
    prep_report_log_options_t o;
    apr_array_header_t *locs = apr_array_make(pool, 1, sizeof(char *));
    const char *log =
        apr_pstrcat(pool,
                    line("10.0.0.1", "02/Jun/2024:20:59:59",
                         "GET /prep/qro HTTP/1.1", 200, "1", MOZ),
                    line("10.0.0.1", "02/Jun/2024:21:00:00",
                         "GET /prep/qro HTTP/1.1", 301, "1", MOZ),
                    line("10.0.0.1", "02/Jun/2024:21:30:00",
                         "GET /prep/qroo/x.html HTTP/1.1", 200, "1", MOZ),
                    line("10.0.0.1", "02/Jun/2024:21:31:00",
                         "GET /prep/cdmx/ HTTP/1.1", 200, "1", MOZ),
                    line("10.0.0.1", "02/Jun/2024:21:59:59",
                         "GET /prep/qro/x.html HTTP/1.1", 200, "1", MOZ),
                    line("10.0.0.1", "02/Jun/2024:23:00:00",
                         "GET /prep/qro/ HTTP/1.1", 200, "1", MOZ),
                    NULL);
    json_t *doc;

    APR_ARRAY_PUSH(locs, const char *) = "/prep/qro/";
    defaults(&o);
    o.locations = locs;
    o.from = SEC(NINE_PM);
    o.to = SEC(NINE_PM + 2 * 3600);
    doc = report_of(&o, write_log("access.log", log, 0), NULL);
    ck_assert_int_eq(num(doc, "lines.read"), 6);
    ck_assert_int_eq(num(doc, "lines.counted"), 2);
    ck_assert_int_eq(num(doc, "lines.outside_period"), 2);
    ck_assert_int_eq(num(doc, "lines.outside_locations"), 2);
    ck_assert_int_eq(num(doc, "totals.hits"), 2);
    ck_assert_int_eq(num(doc, "totals.pages"), 1);
    ck_assert_str_eq(str(doc, "period.from"), "2024-06-02T21:00:00-06:00");
    ck_assert_str_eq(str(doc, "period.to"), "2024-06-02T23:00:00-06:00");
    ck_assert_str_eq(str(doc, "definitions.locations.0"), "/prep/qro/");
    /* the period's hours, the one without requests too */
    ck_assert_int_eq(len_of(doc, "hours"), 2);
    ck_assert_int_eq(num(doc, "hours.0.hits"), 2);
    ck_assert_str_eq(str(doc, "hours.1.hour"), "2024-06-02T22:00:00-06:00");
    ck_assert_int_eq(num(doc, "hours.1.hits"), 0);
    json_decref(doc);

    /* An empty period says so, with its hours all zero. */
    o.from = SEC(NINE_PM + 24 * 3600);
    o.to = SEC(NINE_PM + 25 * 3600);
    doc = report_of(&o, apr_pstrcat(pool, root, "/access.log", NULL), NULL);
    ck_assert(json_is_true(json_object_get(doc, "empty")));
    ck_assert_int_eq(num(doc, "totals.hits"), 0);
    ck_assert_int_eq(len_of(doc, "hours"), 1);
    ck_assert_int_eq(len_of(doc, "days"), 1);
    ck_assert(
        json_is_null(json_object_get(json_object_get(doc, "period"), "first")));
    json_decref(doc);
}
END_TEST

/* One visitor behind a balancer seen by two servers; server 1's rotated
 * file (gzip) given after its current one; server 2's log has a line a
 * minute out of order.  Merged: 21:00 21:05 21:10 21:20 21:39 21:40
 * 21:50:01, no gap over 30 min: one visit of 3001 s.  Read file by file,
 * 21:50:01 then 21:00 would be a gap. */
START_TEST(test_rotated_gz_and_two_servers_merged)
{
    prep_report_log_options_t o;
    const char *old1 = apr_pstrcat(pool,
                                   line("10.0.0.1", "02/Jun/2024:21:00:00",
                                        "GET / HTTP/1.1", 200, "10", MOZ),
                                   line("10.0.0.1", "02/Jun/2024:21:10:00",
                                        "GET / HTTP/1.1", 200, "10", MOZ),
                                   NULL);
    const char *cur1 = apr_pstrcat(pool,
                                   line("10.0.0.1", "02/Jun/2024:21:20:00",
                                        "GET / HTTP/1.1", 200, "10", MOZ),
                                   line("10.0.0.1", "02/Jun/2024:21:50:01",
                                        "GET / HTTP/1.1", 200, "10", MOZ),
                                   NULL);
    const char *srv2 = apr_pstrcat(pool,
                                   line("10.0.0.1", "02/Jun/2024:21:05:00",
                                        "GET / HTTP/1.1", 200, "10", MOZ),
                                   line("10.0.0.1", "02/Jun/2024:21:40:00",
                                        "GET / HTTP/1.1", 200, "10", MOZ),
                                   line("10.0.0.1", "02/Jun/2024:21:39:00",
                                        "GET / HTTP/1.1", 200, "10", MOZ),
                                   NULL);
    const char *p1, *p1old, *p2;
    json_t *doc;

    p1 = write_log("s1-access.log", cur1, 0);
    p1old = write_log("s1-access.log.1.gz", old1, 1);
    p2 = write_log("s2-access.log", srv2, 0);
    defaults(&o);
    doc = report_of(&o, p1, p1old, p2, NULL);
    ck_assert_int_eq(num(doc, "totals.hits"), 7);
    ck_assert_int_eq(num(doc, "totals.bytes"), 70);
    ck_assert_int_eq(num(doc, "totals.visitors"), 1);
    ck_assert_int_eq(num(doc, "totals.visits"), 1);
    ck_assert_int_eq(num(doc, "totals.visit_duration_total_s"), 3001);
    ck_assert_int_eq(in_range(doc, 6), 1);
    ck_assert_int_eq(len_of(doc, "files"), 3);
    ck_assert_int_eq(num(doc, "files.1.lines"), 2);
    ck_assert_str_eq(str(doc, "files.1.path"), p1old);
    ck_assert(json_is_null(json_object_get(
        json_array_get(json_object_get(doc, "files"), 1), "error")));
    ck_assert_str_eq(str(doc, "period.first"), "2024-06-02T21:00:00-06:00");
    json_decref(doc);
}
END_TEST

/* A .gz cut in its middle: what it holds before the cut is counted and the
 * damage is told in its entry; a file that does not open is an error. */
START_TEST(test_truncated_gz_and_missing_file)
{
    prep_report_log_options_t o;
    apr_array_header_t *paths = apr_array_make(pool, 1, sizeof(char *));
    prep_report_log_t *r;
    const char *text, *path, *error = NULL;
    gzFile g;
    json_int_t lines;
    struct stat st;
    json_t *doc;
    int i;

    path = apr_pstrcat(pool, root, "/cut.log.gz", NULL);
    g = gzopen(path, "wb");
    ck_assert_ptr_nonnull(g);
    for (i = 0; i < 3000; i++) {
        text = line(apr_psprintf(pool, "10.0.%d.%d", i / 250, i % 250),
                    "02/Jun/2024:21:00:00", "GET / HTTP/1.1", 200, "10", MOZ);
        ck_assert_int_eq(gzputs(g, text), (int)strlen(text));
    }
    ck_assert_int_eq(gzclose(g), Z_OK);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(truncate(path, st.st_size / 2), 0);
    defaults(&o);
    doc = report_of(&o, path, NULL);
    lines = num(doc, "files.0.lines");
    ck_assert_int_gt(lines, 10);
    ck_assert_int_lt(lines, 3000);
    ck_assert_ptr_nonnull(str(doc, "files.0.error"));
    json_decref(doc);

    r = prep_report_log_make(&o, pool);
    APR_ARRAY_PUSH(paths, const char *) =
        apr_pstrcat(pool, root, "/no-such.log", NULL);
    ck_assert_int_ne(prep_report_log_read(r, paths, &error), APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(error, "no-such.log"));
}
END_TEST

START_TEST(test_unparsable_lines_counted_with_examples)
{
    prep_report_log_options_t o;
    char longline[400];
    const char *good = line("10.0.0.1", "02/Jun/2024:21:00:00",
                            "GET / HTTP/1.1", 200, "1", MOZ);
    const char *log, *path;
    json_t *doc;

    memset(longline, 'x', sizeof(longline) - 1);
    longline[sizeof(longline) - 1] = '\0';
    log = apr_pstrcat(pool, good, "garbage one\n", "\n", "bad\001byte\n",
                      longline, "\n", good, "four\n", "five\r\n", "six\n", good,
                      "seven", NULL);
    path = write_log("bad.log", log, 0);
    defaults(&o);
    doc = report_of(&o, path, NULL);
    /* 10 lines: the empty one is not a line */
    ck_assert_int_eq(num(doc, "lines.read"), 10);
    ck_assert_int_eq(num(doc, "lines.unparsable"), 7);
    ck_assert_int_eq(num(doc, "files.0.unparsable"), 7);
    ck_assert_int_eq(num(doc, "totals.hits"), 3);
    ck_assert_int_eq(len_of(doc, "unparsable_examples"), 5);
    ck_assert_str_eq(str(doc, "unparsable_examples.0"),
                     apr_pstrcat(pool, path, ":2: garbage one", NULL));
    ck_assert_str_eq(str(doc, "unparsable_examples.1"),
                     apr_pstrcat(pool, path, ":4: bad\\x01byte", NULL));
    /* cut at 200 bytes */
    ck_assert_int_eq(strlen(str(doc, "unparsable_examples.2")),
                     strlen(path) + strlen(":5: ") + 200);
    ck_assert_str_eq(str(doc, "unparsable_examples.4"),
                     apr_pstrcat(pool, path, ":8: five", NULL));
    json_decref(doc);
}
END_TEST

static void count_request(void *baton, const prep_report_request_t *req)
{
    int *n = baton;

    n[req->client]++;
    n[3] += req->page;
}

START_TEST(test_each_request_is_handed_on)
{
    prep_report_log_options_t o;
    const char *t = "02/Jun/2024:21:00:00";
    const char *log = apr_pstrcat(
        pool, line("10.0.0.1", t, "GET / HTTP/1.1", 200, "1", MOZ),
        line("10.0.0.1", t, "GET /x.css HTTP/1.1", 200, "1", MOZ),
        line("10.0.0.2", t, "GET / HTTP/1.1", 200, "1", GOO),
        line("10.0.0.3", t, "GET /prep-status HTTP/1.1", 200, "1", MOZ), NULL);
    int n[4] = {0, 0, 0, 0};
    json_t *doc;

    defaults(&o);
    o.each = count_request;
    o.baton = n;
    doc = report_of(&o, write_log("access.log", log, 0), NULL);
    ck_assert_int_eq(n[PREP_CLIENT_VISITOR], 2);
    ck_assert_int_eq(n[PREP_CLIENT_CRAWLER], 1);
    ck_assert_int_eq(n[PREP_CLIENT_MONITOR], 1);
    /* "/" of the visitor and of the crawler */
    ck_assert_int_eq(n[3], 2);
    /* /prep-status made no visitor of 10.0.0.3 */
    ck_assert_int_eq(num(doc, "totals.visitors"), 1);
    json_decref(doc);
}
END_TEST

Suite *suite_report_log(void)
{
    Suite *s = suite_create("report_log");
    TCase *tc = tcase_create("report_log");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_time_is_read_by_hand);
    tcase_add_test(tc, test_lines_of_both_formats_parse);
    tcase_add_test(tc, test_agents_are_told_apart);
    tcase_add_test(tc, test_visits_at_the_timeout_boundary);
    tcase_add_test(tc, test_visitors_per_day_and_per_period);
    tcase_add_test(tc, test_pages_hits_crawlers_and_monitors);
    tcase_add_test(tc, test_locations_and_period_filter);
    tcase_add_test(tc, test_rotated_gz_and_two_servers_merged);
    tcase_add_test(tc, test_truncated_gz_and_missing_file);
    tcase_add_test(tc, test_unparsable_lines_counted_with_examples);
    tcase_add_test(tc, test_each_request_is_handed_on);
    suite_add_tcase(s, tc);
    return s;
}
