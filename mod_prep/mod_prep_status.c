/* mod_prep_status.c — `SetHandler prep-status`: the state of every feed as
 * JSON (default), as Prometheus text (?format=prometheus), or as a health
 * check for load balancers and monitoring (?check=FEED: 200 when the feed
 * is healthy (serving a fresh corte, pinned by the operator, or closed),
 * 503 otherwise, 404 for an unknown feed, 400 for a query that names no
 * feed or format).  ?format=html, or a browser's Accept: the night's
 * dashboard (prep_dashboard.c). */
#include "httpd.h"
#include <jansson.h>

#include <stdlib.h>
#include <string.h>

#include "apr_strings.h"
#include "apr_atomic.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"

#include "mod_prep.h"

APLOG_USE_MODULE(prep);

typedef struct feed_view {
    prep_feed_rt_t *feed;
    prep_corte_t *corte;
    prep_feed_runtime_t rt;
} feed_view_t;

/* What the intake does and sees: a load in progress, names in incoming
 * that are never read, the audit of the served corte. */
static void view_intake(prep_feed_runtime_t *rt, prep_feed_shm_t *shm,
                        apr_pool_t *p)
{
    prep_intake_info_t info;
    apr_uint32_t i;

    prep_shm_read_info(shm, &info);
    rt->loading_since = info.loading_since;
    rt->loading = info.loading_since ? apr_pstrdup(p, info.loading) : NULL;
    rt->nignored = info.nignored;
    rt->ignored =
        apr_array_make(p, (int)info.shown_ignored + 1, sizeof(prep_ignored_t));
    for (i = 0; i < info.shown_ignored; i++) {
        prep_ignored_t *g = apr_array_push(rt->ignored);

        g->name = apr_pstrndup(p, info.ignored[i].name,
                               sizeof(info.ignored[i].name) - 1);
        g->why = apr_pstrndup(p, info.ignored[i].why,
                              sizeof(info.ignored[i].why) - 1);
    }
    rt->integrity = info.integrity;
    rt->audited_at = info.audited_at;
    rt->integrity_at = info.integrity_at;
    rt->integrity_detail =
        info.integrity_detail[0] ? apr_pstrdup(p, info.integrity_detail) : NULL;
}

/* The operator's part: the control the intake published with the corte,
 * and while pinned the newest retained corte, read from its record. */
static void view_control(prep_feed_runtime_t *rt, prep_feed_rt_t *f,
                         apr_pool_t *p)
{
    prep_served_control_t sc;
    prep_corte_t *newest = NULL;

    prep_shm_read_control(f->shm, &sc);
    rt->control = prep_served_control_to(&sc, p);
    if (sc.pin[0] && sc.newest[0] &&
        prep_store_read_corte(&newest,
                              prep_store_corte_dir(p, f->conf.store, sc.newest),
                              p) != APR_SUCCESS) {
        newest = NULL;
    }
    rt->newest = newest;
    rt->watch = "poll";
}

static void view_feed(feed_view_t *v, prep_feed_rt_t *f, request_rec *r,
                      apr_time_t now)
{
    prep_attached_t *a = prep_corte_acquire(f, r);
    prep_traffic_t traffic;
    prep_problem_t problem;

    v->feed = f;
    v->corte = a ? a->corte : NULL;
    view_control(&v->rt, f, r->pool);
    v->rt.state = prep_feed_state(&f->conf, v->corte, v->rt.control, now);
    v->rt.last_poll = (apr_time_t)apr_atomic_read64(&f->shm->last_poll);
    /* every worker counts on its own lines: their sum */
    prep_traffic_sum(f, &traffic);
    v->rt.requests = traffic.count[PREP_TRAFFIC_REQUESTS];
    v->rt.bytes = traffic.count[PREP_TRAFFIC_BYTES];
    v->rt.not_modified = traffic.count[PREP_TRAFFIC_NOT_MODIFIED];
    v->rt.not_found = traffic.count[PREP_TRAFFIC_NOT_FOUND];
    prep_shm_read_problem(f->shm, &problem);
    v->rt.problem_at = problem.at;
    v->rt.problem = problem.at ? apr_pstrdup(r->pool, problem.message) : NULL;
    view_intake(&v->rt, f->shm, r->pool);
}

/* What a status request asks for: the document in one format, or the
 * health check of one feed. */
typedef enum {
    STATUS_FORMAT_JSON,
    STATUS_FORMAT_PROMETHEUS,
    STATUS_FORMAT_HTML
} status_format_t;

typedef struct status_query {
    status_format_t format;
    const char *check; /* the feed to check, or NULL for the document */
} status_query_t;

/* Reads r->args into q.  A health check must be able to fail: a `check` or
 * `format` without a value, with an empty or undecodable one (a bad
 * escape, %00, %2F), given twice, or an unknown format is a 400, never the
 * document with 200.  Other keys (cache busters) are ignored.  Returns OK
 * or HTTP_BAD_REQUEST. */
static int parse_query(request_rec *r, status_query_t *q)
{
    char *args, *pair, *state;
    int have_format = 0;

    /* without a format, a browser gets the dashboard */
    q->format = prep_dashboard_wanted(apr_table_get(r->headers_in, "Accept"))
                    ? STATUS_FORMAT_HTML
                    : STATUS_FORMAT_JSON;
    q->check = NULL;
    if (!r->args) {
        return OK;
    }
    args = apr_pstrdup(r->pool, r->args);
    for (pair = apr_strtok(args, "&", &state); pair;
         pair = apr_strtok(NULL, "&", &state)) {
        char *value = strchr(pair, '=');
        const char *why = NULL;

        if (value) {
            *value++ = '\0';
        }
        if (ap_unescape_url(pair) != OK ||
            (value && ap_unescape_url(value) != OK)) {
            why = "an undecodable escape";
        } else if (strcmp(pair, "check") && strcmp(pair, "format")) {
            continue;
        } else if (!value || !*value) {
            why = "no value";
        } else if (!strcmp(pair, "check")) {
            if (q->check) {
                why = "check given twice";
            } else if (!prep_feed_name_valid(value)) {
                why = "a check that is not a feed name";
            }
            q->check = value;
        } else if (have_format) {
            why = "format given twice";
        } else if (!strcmp(value, "prometheus")) {
            q->format = STATUS_FORMAT_PROMETHEUS;
        } else if (!strcmp(value, "html")) {
            q->format = STATUS_FORMAT_HTML;
        } else if (!strcmp(value, "json")) {
            q->format = STATUS_FORMAT_JSON;
        } else {
            why = "an unknown format";
        }
        have_format |= !strcmp(pair, "format");
        if (why) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                          "PREP0134: prep-status: 400 for %s in \"%s\"", why,
                          r->args);
            return HTTP_BAD_REQUEST;
        }
    }
    return OK;
}

static int send_check(request_rec *r, const feed_view_t *v)
{
    int healthy = prep_feed_state_healthy(v->rt.state);

    ap_set_content_type(r, "text/plain; charset=utf-8");
    r->status = healthy ? HTTP_OK : HTTP_SERVICE_UNAVAILABLE;
    ap_rprintf(r, "%s %s %s%s\n", healthy ? "OK" : "FAIL", v->feed->conf.name,
               prep_feed_state_text(v->rt.state),
               v->corte ? apr_pstrcat(r->pool, " ", v->corte->id, NULL) : "");
    return OK;
}

static void send_prometheus(request_rec *r, const feed_view_t *views, int n,
                            apr_time_t now)
{
    int i, k;

    ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
    ap_rputs("# HELP prep_feed_state 1 for the state each feed is in.\n"
             "# TYPE prep_feed_state gauge\n",
             r);
    for (i = 0; i < n; i++) {
        for (k = 0; k < PREP_FEED_STATES; k++) {
            ap_rprintf(r, "prep_feed_state{feed=\"%s\",state=\"%s\"} %d\n",
                       views[i].feed->conf.name,
                       prep_feed_state_text((prep_feed_state_e)k),
                       views[i].rt.state == (prep_feed_state_e)k);
        }
    }
    ap_rputs("# HELP prep_feed_drill 1 while the feed runs a drill "
             "(simulacro).\n"
             "# TYPE prep_feed_drill gauge\n"
             "# HELP prep_feed_pinned 1 while the operator pins the feed at a "
             "corte.\n"
             "# TYPE prep_feed_pinned gauge\n",
             r);
    for (i = 0; i < n; i++) {
        const prep_control_t *c = views[i].rt.control;

        ap_rprintf(r,
                   "prep_feed_drill{feed=\"%s\"} %d\n"
                   "prep_feed_pinned{feed=\"%s\"} %d\n",
                   views[i].feed->conf.name, c && c->drill == 1,
                   views[i].feed->conf.name, c && c->pin != NULL);
    }
    ap_rputs("# HELP prep_corte_time_seconds Corte time of the served corte.\n"
             "# TYPE prep_corte_time_seconds gauge\n"
             "# HELP prep_corte_age_seconds Seconds since the corte time.\n"
             "# TYPE prep_corte_age_seconds gauge\n",
             r);
    for (i = 0; i < n; i++) {
        if (views[i].corte) {
            ap_rprintf(
                r,
                "prep_corte_time_seconds{feed=\"%s\"} %" APR_TIME_T_FMT
                "\nprep_corte_age_seconds{feed=\"%s\"} %" APR_TIME_T_FMT "\n",
                views[i].feed->conf.name, apr_time_sec(views[i].corte->time),
                views[i].feed->conf.name,
                apr_time_sec(now - views[i].corte->time));
        }
    }
    ap_rputs("# TYPE prep_requests_total counter\n"
             "# TYPE prep_bytes_total counter\n"
             "# TYPE prep_not_modified_total counter\n"
             "# TYPE prep_not_found_total counter\n",
             r);
    for (i = 0; i < n; i++) {
        const char *name = views[i].feed->conf.name;
        ap_rprintf(r,
                   "prep_requests_total{feed=\"%s\"} %" APR_UINT64_T_FMT "\n"
                   "prep_bytes_total{feed=\"%s\"} %" APR_UINT64_T_FMT "\n"
                   "prep_not_modified_total{feed=\"%s\"} %" APR_UINT64_T_FMT
                   "\n"
                   "prep_not_found_total{feed=\"%s\"} %" APR_UINT64_T_FMT "\n",
                   name, views[i].rt.requests, name, views[i].rt.bytes, name,
                   views[i].rt.not_modified, name, views[i].rt.not_found);
    }
}

static json_t *status_document(request_rec *r, const feed_view_t *views, int n,
                               apr_time_t now)
{
    static const prep_zone_t utc = {0, "UTC"};
    json_t *doc = json_object(), *feeds = json_array();
    int i;

    json_object_set_new(doc, "version", json_string(PREP_VERSION));
    json_object_set_new(
        doc, "now",
        json_string(
            prep_time_iso(r->pool, now, n ? &views[0].feed->conf.zone : &utc)));
    for (i = 0; i < n; i++) {
        json_array_append_new(
            feeds, prep_status_feed(&views[i].feed->conf, views[i].corte,
                                    &views[i].rt, now, r->pool));
    }
    json_object_set_new(doc, "feeds", feeds);
    return doc;
}

static void send_json(request_rec *r, const feed_view_t *views, int n,
                      apr_time_t now)
{
    json_t *doc = status_document(r, views, n, now);
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

    json_decref(doc);
    ap_set_content_type(r, "application/json");
    if (text) {
        ap_rputs(text, r);
        ap_rputs("\n", r);
        free(text);
    }
}

/* The dashboard: the document and each feed's journal window (the lines
 * of a render shared by the feeds), as one page (prep_dashboard.c). */
static void send_html(request_rec *r, const feed_view_t *views, int n,
                      apr_time_t now)
{
    json_t *doc = status_document(r, views, n, now), *journals = json_object();
    int i, lines = n ? PREP_DASHBOARD_LINES / n : 0;
    apr_size_t nlines = 0;
    char *page;

    if (lines < PREP_DASHBOARD_LINES_MIN) {
        lines = PREP_DASHBOARD_LINES_MIN;
    }
    for (i = 0; i < n; i++) {
        json_t *window = prep_dashboard_journal(views[i].feed->conf.store, now,
                                                lines, r->pool);

        nlines += json_array_size(window);
        json_object_set_new(journals, views[i].feed->conf.name, window);
    }
    page = prep_dashboard_html(doc, journals, r->args, now, r->pool);
    ap_log_rerror(
        APLOG_MARK, APLOG_DEBUG, 0, r,
        "PREP0173: prep-status: dashboard of %d feeds, %" APR_SIZE_T_FMT
        " journal lines, %" APR_SIZE_T_FMT " bytes in %" APR_TIME_T_FMT " ms",
        n, nlines, strlen(page), apr_time_as_msec(apr_time_now() - now));
    ap_set_content_type(r, "text/html; charset=utf-8");
    ap_rputs(page, r);
    json_decref(journals);
    json_decref(doc);
}

int prep_status_handler(request_rec *r)
{
    int i, n, rc;
    feed_view_t *views;
    status_query_t q;
    apr_time_t now = apr_time_now();

    if (!r->handler || strcmp(r->handler, "prep-status")) {
        return DECLINED;
    }
    /* in err_headers_out: a 400 or 404 of a health check is not cached
     * either */
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    ap_allow_standard_methods(r, REPLACE_ALLOW, M_GET, -1);
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    rc = parse_query(r, &q);
    if (rc != OK) {
        return rc;
    }
    n = prep_registry->shm ? prep_registry->feeds->nelts : 0;
    views = apr_pcalloc(r->pool, (n ? n : 1) * sizeof(*views));
    for (i = 0; i < n; i++) {
        prep_feed_rt_t *f =
            APR_ARRAY_IDX(prep_registry->feeds, i, prep_feed_rt_t *);
        if (q.check && strcmp(q.check, f->conf.name)) {
            continue;
        }
        view_feed(&views[i], f, r, now);
        if (q.check) {
            return send_check(r, &views[i]);
        }
    }
    if (q.check) {
        return HTTP_NOT_FOUND;
    }
    /* the document's form depends on Accept */
    apr_table_mergen(r->headers_out, "Vary", "Accept");
    if (q.format == STATUS_FORMAT_PROMETHEUS) {
        send_prometheus(r, views, n, now);
    } else if (q.format == STATUS_FORMAT_HTML) {
        send_html(r, views, n, now);
    } else {
        send_json(r, views, n, now);
    }
    return OK;
}
