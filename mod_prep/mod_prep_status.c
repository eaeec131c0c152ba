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

#include "mod_status.h"

#include "mod_prep.h"

APLOG_USE_MODULE(prep);

typedef struct feed_view {
    prep_feed_rt_t *feed;
    prep_corte_t *corte;
    prep_feed_runtime_t rt;
    prep_traffic_t traffic; /* summed over the workers */
    prep_counters_t counters;
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
    rt->watch = prep_shm_read_watch(f->shm, &rt->watch_reason, p);
}

static void view_feed(feed_view_t *v, prep_feed_rt_t *f, request_rec *r,
                      apr_time_t now)
{
    prep_attached_t *a = prep_corte_acquire(f, r);
    prep_traffic_t *traffic = &v->traffic;
    prep_problem_t problem;

    v->feed = f;
    v->corte = a ? a->corte : NULL;
    view_control(&v->rt, f, r->pool);
    v->rt.state = prep_feed_state(&f->conf, v->corte, v->rt.control, now);
    v->rt.last_poll = (apr_time_t)apr_atomic_read64(&f->shm->last_poll);
    /* every worker counts on its own lines: their sum */
    prep_traffic_sum(f, traffic);
    v->rt.requests = traffic->count[PREP_TRAFFIC_REQUESTS];
    v->rt.bytes = traffic->count[PREP_TRAFFIC_BYTES];
    v->rt.not_modified = traffic->count[PREP_TRAFFIC_NOT_MODIFIED];
    v->rt.not_found = traffic->count[PREP_TRAFFIC_NOT_FOUND];
    prep_shm_read_problem(f->shm, &problem);
    v->rt.problem_at = problem.at;
    v->rt.problem = problem.at ? apr_pstrdup(r->pool, problem.message) : NULL;
    view_intake(&v->rt, f->shm, r->pool);
}

/* STORE/counters.json; a feed without one (no journal line yet) counts
 * zero. */
static void view_counters(feed_view_t *v, apr_pool_t *p)
{
    prep_store_read_counters(&v->counters, v->feed->conf.store, p);
    v->rt.counters = &v->counters;
}

/* What a status request asks for: the document in one format, or the
 * health check of one feed. */
typedef void status_send_fn(request_rec *r, const feed_view_t *views, int n,
                            apr_time_t now);

static status_send_fn send_json, send_prometheus, send_html;

/* The formats of ?format=, the first the default.  counters: whether the
 * format shows STORE/counters.json (read once per feed and request). */
typedef struct status_format {
    const char *name;
    status_send_fn *send;
    int counters;
} status_format_t;

static const status_format_t status_formats[] = {
    {"json", send_json, 1},
    {"prometheus", send_prometheus, 1},
    {"html", send_html, 1},
};

static const status_format_t *status_format_named(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(status_formats) / sizeof(status_formats[0]); i++) {
        if (!strcmp(status_formats[i].name, name)) {
            return &status_formats[i];
        }
    }
    return NULL;
}

typedef struct status_query {
    const status_format_t *format;
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
                    ? status_format_named("html")
                    : &status_formats[0];
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
        } else if (!(q->format = status_format_named(value))) {
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

/* --- Prometheus ---------------------------------------------------- */

/* The exposition format (text 0.0.4), by the naming rules: base units
 * (seconds, bytes), counters ending in _total, one HELP and TYPE per
 * family, label values escaped; a family's samples together. */

/* A label value with \, " and newline escaped. */
static const char *prom_label(apr_pool_t *p, const char *s)
{
    apr_size_t n = 0;
    const char *c;
    char *out, *o;

    for (c = s ? s : ""; *c; c++) {
        n += (*c == '\\' || *c == '"' || *c == '\n') ? 2 : 1;
    }
    o = out = apr_palloc(p, n + 1);
    for (c = s ? s : ""; *c; c++) {
        if (*c == '\\' || *c == '"' || *c == '\n') {
            *o++ = '\\';
            *o++ = *c == '\n' ? 'n' : *c;
        } else {
            *o++ = *c;
        }
    }
    *o = '\0';
    return out;
}

/* Seconds with their fraction: "1717383900.250". */
static const char *prom_seconds(apr_pool_t *p, apr_time_t t)
{
    apr_time_t us = t < 0 ? -t : t;

    return apr_psprintf(p, "%s%" APR_TIME_T_FMT ".%06" APR_TIME_T_FMT,
                        t < 0 ? "-" : "", apr_time_sec(us),
                        us % APR_USEC_PER_SEC);
}

static void prom_family(request_rec *r, const char *name, const char *type,
                        const char *help)
{
    ap_rprintf(r, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample of `name` for a feed, with more labels (already escaped,
 * `,k="v"...`, or "") and its value. */
static void prom_feed(request_rec *r, const char *name, const feed_view_t *v,
                      const char *labels, const char *value)
{
    ap_rprintf(r, "%s{feed=\"%s\"%s} %s\n", name,
               prom_label(r->pool, v->feed->conf.name), labels, value);
}

static const char *prom_count(apr_pool_t *p, apr_uint64_t n)
{
    return apr_psprintf(p, "%" APR_UINT64_T_FMT, n);
}

/* What each feed serves and is: its state, the operator's part, the
 * corte's identity, times and size. */
static void prom_feeds(request_rec *r, const feed_view_t *views, int n,
                       apr_time_t now)
{
    apr_pool_t *p = r->pool;
    int i, k;

    prom_family(r, "prep_feed_state", "gauge",
                "1 for the state the feed is in, 0 for the others (waiting, "
                "embargoed, serving, stale, pinned, closed).");
    for (i = 0; i < n; i++) {
        for (k = 0; k < PREP_FEED_STATES; k++) {
            prom_feed(r, "prep_feed_state", &views[i],
                      apr_psprintf(p, ",state=\"%s\"",
                                   prep_feed_state_text((prep_feed_state_e)k)),
                      views[i].rt.state == (prep_feed_state_e)k ? "1" : "0");
        }
    }
    prom_family(r, "prep_feed_drill", "gauge",
                "1 while the feed runs a drill (simulacro).");
    for (i = 0; i < n; i++) {
        const prep_control_t *c = views[i].rt.control;

        prom_feed(r, "prep_feed_drill", &views[i], "",
                  prep_feed_drill(&views[i].feed->conf, c) ? "1" : "0");
    }
    prom_family(r, "prep_feed_pinned", "gauge",
                "1 while the operator pins the feed at a corte.");
    for (i = 0; i < n; i++) {
        const prep_control_t *c = views[i].rt.control;

        prom_feed(r, "prep_feed_pinned", &views[i], "",
                  c && c->pin ? "1" : "0");
    }
    prom_family(r, "prep_corte_info", "gauge",
                "The corte the feed serves: its id, package and the "
                "package's SHA-256; always 1.");
    for (i = 0; i < n; i++) {
        const prep_corte_t *c = views[i].corte;

        if (c) {
            prom_feed(
                r, "prep_corte_info", &views[i],
                apr_psprintf(p, ",corte=\"%s\",sha256=\"%s\",package=\"%s\"",
                             prom_label(p, c->id), prom_label(p, c->sha256),
                             prom_label(p, c->package)),
                "1");
        }
    }
    prom_family(r, "prep_corte_timestamp_seconds", "gauge",
                "Corte time of the served corte, in seconds since the epoch.");
    for (i = 0; i < n; i++) {
        if (views[i].corte) {
            prom_feed(r, "prep_corte_timestamp_seconds", &views[i], "",
                      prom_seconds(p, views[i].corte->time));
        }
    }
    prom_family(r, "prep_corte_age_seconds", "gauge",
                "Seconds from the served corte's corte time to now.");
    for (i = 0; i < n; i++) {
        if (views[i].corte) {
            prom_feed(r, "prep_corte_age_seconds", &views[i], "",
                      prom_seconds(p, now - views[i].corte->time));
        }
    }
    prom_family(r, "prep_corte_loaded_timestamp_seconds", "gauge",
                "When the served corte was loaded, in seconds since the epoch "
                "(stale 3 x PrepUpdateInterval after it).");
    for (i = 0; i < n; i++) {
        if (views[i].corte) {
            prom_feed(r, "prep_corte_loaded_timestamp_seconds", &views[i], "",
                      prom_seconds(p, views[i].corte->loaded_at));
        }
    }
    prom_family(r, "prep_corte_files", "gauge", "Files of the served corte.");
    for (i = 0; i < n; i++) {
        if (views[i].corte) {
            prom_feed(r, "prep_corte_files", &views[i], "",
                      prom_count(p, views[i].corte->files));
        }
    }
    prom_family(r, "prep_corte_bytes", "gauge",
                "Bytes of the served corte's files (uncompressed).");
    for (i = 0; i < n; i++) {
        if (views[i].corte) {
            prom_feed(r, "prep_corte_bytes", &views[i], "",
                      prom_count(p, views[i].corte->bytes));
        }
    }
}

/* What the intake did, from STORE/counters.json (the journal counted: it
 * survives restarts), and when it last polled. */
static void prom_intake(request_rec *r, const feed_view_t *views, int n)
{
    apr_pool_t *p = r->pool;
    int i, k;

    prom_family(r, "prep_loads_total", "counter",
                "Packages loaded, by how the load ended (the journal's "
                "published, retained, republished, same-corte, refused, "
                "loader-crash).");
    for (i = 0; i < n; i++) {
        for (k = 0; k < PREP_COUNTED_RESULTS; k++) {
            prom_feed(r, "prep_loads_total", &views[i],
                      apr_psprintf(p, ",result=\"%s\"",
                                   prep_counted_text((prep_counted_e)k)),
                      prom_count(p, views[i].rt.counters->loads[k]));
        }
    }
    prom_family(r, "prep_refusals_total", "counter",
                "Packages refused, by reason code.");
    for (i = 0; i < n; i++) {
        const apr_array_header_t *a = views[i].rt.counters->refusals;

        for (k = 0; a && k < a->nelts; k++) {
            const prep_reason_count_t *c =
                &APR_ARRAY_IDX(a, k, prep_reason_count_t);

            prom_feed(
                r, "prep_refusals_total", &views[i],
                apr_psprintf(p, ",reason=\"%s\"", prom_label(p, c->reason)),
                prom_count(p, c->count));
        }
    }
    prom_family(r, "prep_load_duration_seconds", "gauge",
                "How long the last load that made a corte took.");
    for (i = 0; i < n; i++) {
        const prep_counters_t *c = views[i].rt.counters;

        if (c->last_load_at) {
            prom_feed(r, "prep_load_duration_seconds", &views[i], "",
                      prom_seconds(p, apr_time_from_msec(c->last_load_ms)));
        }
    }
    prom_family(r, "prep_last_load_timestamp_seconds", "gauge",
                "When the last load that made a corte ended, in seconds "
                "since the epoch.");
    for (i = 0; i < n; i++) {
        const prep_counters_t *c = views[i].rt.counters;

        if (c->last_load_at) {
            prom_feed(r, "prep_last_load_timestamp_seconds", &views[i], "",
                      prom_seconds(p, c->last_load_at));
        }
    }
    prom_family(r, "prep_intake_restarts_total", "counter",
                "Times the intake process died and was started again, as "
                "the feed's journal tells.");
    for (i = 0; i < n; i++) {
        prom_feed(r, "prep_intake_restarts_total", &views[i], "",
                  prom_count(p, views[i].rt.counters->intake_restarts));
    }
    prom_family(r, "prep_last_poll_timestamp_seconds", "gauge",
                "When the intake last polled the feed's incoming directory, "
                "in seconds since the epoch.");
    for (i = 0; i < n; i++) {
        if (views[i].rt.last_poll) {
            prom_feed(r, "prep_last_poll_timestamp_seconds", &views[i], "",
                      prom_seconds(p, views[i].rt.last_poll));
        }
    }
}

/* The traffic, summed over the workers since the server started. */
static void prom_traffic(request_rec *r, const feed_view_t *views, int n)
{
    static const struct {
        const char *name, *help;
        int which;
    } families[] = {
        {"prep_requests_total", "Requests answered for the feed.",
         PREP_TRAFFIC_REQUESTS},
        {"prep_response_bytes_total", "Body bytes sent for the feed.",
         PREP_TRAFFIC_BYTES},
        {"prep_not_modified_total", "Answers 304 Not Modified.",
         PREP_TRAFFIC_NOT_MODIFIED},
        {"prep_not_found_total", "Answers 404 Not Found.",
         PREP_TRAFFIC_NOT_FOUND},
    };
    size_t k;
    int i;

    for (k = 0; k < sizeof(families) / sizeof(families[0]); k++) {
        prom_family(r, families[k].name, "counter", families[k].help);
        for (i = 0; i < n; i++) {
            prom_feed(
                r, families[k].name, &views[i], "",
                prom_count(r->pool, views[i].traffic.count[families[k].which]));
        }
    }
}

static void send_prometheus(request_rec *r, const feed_view_t *views, int n,
                            apr_time_t now)
{
    ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
    prom_family(r, "prep_build_info", "gauge",
                "The mod_prep version that serves the feeds; always 1.");
    ap_rprintf(r, "prep_build_info{version=\"%s\"} 1\n",
               prom_label(r->pool, PREP_VERSION));
    prom_feeds(r, views, n, now);
    prom_intake(r, views, n);
    prom_traffic(r, views, n);
}

/* --- JSON ------------------------------------------------------------ */

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
    for (i = 0; q.format->counters && i < n; i++) {
        view_counters(&views[i], r->pool);
    }
    /* the document's form depends on Accept */
    apr_table_mergen(r->headers_out, "Vary", "Accept");
    q.format->send(r, views, n, now);
    return OK;
}

/* --- server-status ------------------------------------------------- */

/* One feed of server-status: its name, state, corte, the corte's age and
 * the requests answered.  ?auto (AP_STATUS_SHORT) gives a line of
 * key=value words ("-" for no corte); the HTML page a table row (a list
 * item with AP_STATUS_NOTABLE).  The page is mod_status's, in
 * ISO-8859-1: the Spanish headings use entities. */
static void status_hook_feed(request_rec *r, const feed_view_t *v, int flags,
                             apr_time_t now)
{
    const char *name = v->feed->conf.name;
    const char *state = prep_feed_state_text(v->rt.state);
    const char *corte = v->corte ? v->corte->id : "-";
    const char *age = v->corte
                          ? apr_psprintf(r->pool, "%" APR_TIME_T_FMT,
                                         apr_time_sec(now - v->corte->time))
                          : "-";

    if (flags & AP_STATUS_SHORT) {
        ap_rprintf(
            r,
            "PrepFeed_%s: state=%s corte=%s age=%s requests=%" APR_UINT64_T_FMT
            "\n",
            name, state, corte, age, v->rt.requests);
    } else if (flags & AP_STATUS_NOTABLE) {
        ap_rprintf(r,
                   "<li><b>%s</b>: %s, corte %s, antig&uuml;edad %s s, "
                   "%" APR_UINT64_T_FMT " solicitudes</li>\n",
                   ap_escape_html(r->pool, name), state,
                   ap_escape_html(r->pool, corte), age, v->rt.requests);
    } else {
        ap_rprintf(r,
                   "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
                   "<td>%" APR_UINT64_T_FMT "</td></tr>\n",
                   ap_escape_html(r->pool, name), state,
                   ap_escape_html(r->pool, corte), age, v->rt.requests);
    }
}

int prep_status_hook(request_rec *r, int flags)
{
    int i, n = prep_registry && prep_registry->shm ? prep_registry->feeds->nelts
                                                   : 0;
    apr_time_t now = apr_time_now();

    if (!n) {
        return OK;
    }
    if (flags & AP_STATUS_SHORT) {
        ap_rprintf(r, "PrepFeeds: %d\n", n);
    } else if (flags & AP_STATUS_NOTABLE) {
        ap_rputs("<hr />\n<h2>mod_prep: feeds del PREP</h2>\n<ul>\n", r);
    } else {
        ap_rputs("<hr />\n<h2>mod_prep: feeds del PREP</h2>\n"
                 "<table border=\"0\"><tr><th>Feed</th><th>Estado</th>"
                 "<th>Corte</th><th>Antig&uuml;edad (s)</th>"
                 "<th>Solicitudes</th></tr>\n",
                 r);
    }
    for (i = 0; i < n; i++) {
        feed_view_t v;

        memset(&v, 0, sizeof(v));
        view_feed(&v, APR_ARRAY_IDX(prep_registry->feeds, i, prep_feed_rt_t *),
                  r, now);
        status_hook_feed(r, &v, flags, now);
    }
    if (!(flags & AP_STATUS_SHORT)) {
        ap_rputs(flags & AP_STATUS_NOTABLE ? "</ul>\n" : "</table>\n", r);
    }
    return OK;
}
