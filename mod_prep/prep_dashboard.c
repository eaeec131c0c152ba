/* prep_dashboard.c — the night's dashboard: the status document and each
 * feed's journal window as one Spanish HTML page for the operator's
 * browser.  The page needs nothing else: inline CSS, an inline SVG
 * timeline, no script; it refreshes itself with a meta refresh whose URL
 * carries the traffic totals and the time of this render, so that the next
 * render tells requests per minute without any history kept on the server.
 *
 * Everything that comes from the store (package names, refusal messages,
 * users) is the institute's or an operator's text and is escaped where it
 * is written; the journal is read from the end of its files only, a
 * bounded number of lines per render (prep_dashboard_journal). */
#include <stdarg.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <jansson.h>

#include "prep.h"

/* --- the page being written ---------------------------------------- */

typedef prep_text_t page_t;

static void put_n(page_t *pg, const char *s, apr_size_t n)
{
    prep_text_put(pg, s, n);
}

static void put(page_t *pg, const char *s)
{
    put_n(pg, s, strlen(s));
}

/* s as HTML text or attribute value, at most max_chars characters (0: no
 * limit; a cut one ends with "…"): &, <, >, " and ' as entities, control
 * characters as U+FFFD.  NULL writes nothing. */
static void put_text_cut(page_t *pg, const char *s, apr_size_t max_chars)
{
    if (s) {
        prep_text_html(pg, s, strlen(s), max_chars, 0);
    }
}

static void put_text(page_t *pg, const char *s)
{
    put_text_cut(pg, s, 0);
}

/* --- what the request asks for ------------------------------------- */

/* The q of one media range's parameters (";q=0.8"), in thousandths. */
static int range_q(const char *params, const char *end)
{
    const char *s = params;

    while (s < end) {
        const char *semi = memchr(s, ';', (apr_size_t)(end - s));
        const char *stop = semi ? semi : end;

        while (s < stop && (*s == ';' || *s == ' ' || *s == '\t')) {
            s++;
        }
        if (stop - s >= 2 && apr_tolower(s[0]) == 'q' && s[1] == '=') {
            int q = 0, scale = 1000;

            s += 2;
            if (s < stop && (*s == '0' || *s == '1')) {
                q = (*s++ - '0') * 1000;
            }
            if (s < stop && *s == '.') {
                for (s++; s < stop && apr_isdigit(*s) && scale > 1; s++) {
                    scale /= 10;
                    q += (*s - '0') * scale;
                }
            }
            return q > 1000 ? 1000 : q;
        }
        s = semi ? semi + 1 : end;
    }
    return 1000;
}

/* The q (thousandths) accept gives type/sub through its most specific
 * matching range (type/sub, then type/star, then star/star); 0 when none
 * matches. */
static int accept_q(const char *accept, const char *type, const char *sub)
{
    int best_specific = 0, best_q = 0;
    const char *s = accept;

    while (s && *s) {
        const char *comma = strchr(s, ',');
        const char *end = comma ? comma : s + strlen(s);
        const char *semi, *slash;
        apr_size_t tlen, slen;
        int specific = 0;

        while (s < end && (*s == ' ' || *s == '\t')) {
            s++;
        }
        semi = memchr(s, ';', (apr_size_t)(end - s));
        if (!semi) {
            semi = end;
        }
        slash = memchr(s, '/', (apr_size_t)(semi - s));
        if (slash) {
            const char *send = semi;

            while (send > slash && (send[-1] == ' ' || send[-1] == '\t')) {
                send--;
            }
            tlen = (apr_size_t)(slash - s);
            slen = (apr_size_t)(send - slash - 1);
            if (tlen == 1 && *s == '*' && slen == 1 && slash[1] == '*') {
                specific = 1;
            } else if (tlen == strlen(type) && !strncasecmp(s, type, tlen)) {
                if (slen == 1 && slash[1] == '*') {
                    specific = 2;
                } else if (slen == strlen(sub) &&
                           !strncasecmp(slash + 1, sub, slen)) {
                    specific = 3;
                }
            }
        }
        if (specific > best_specific) {
            best_specific = specific;
            best_q = range_q(semi, end);
        }
        s = comma ? comma + 1 : NULL;
    }
    return best_q;
}

int prep_dashboard_wanted(const char *accept)
{
    return accept && accept_q(accept, "text", "html") >
                         accept_q(accept, "application", "json");
}

/* The value of key in a query string, percent-decoded, or NULL (absent,
 * empty, or an escape that does not decode). */
static char *query_value(const char *args, const char *key, apr_pool_t *p)
{
    apr_size_t klen = strlen(key);
    const char *s = args;

    while (s && *s) {
        const char *amp = strchr(s, '&');
        const char *end = amp ? amp : s + strlen(s);

        if ((apr_size_t)(end - s) > klen && !strncmp(s, key, klen) &&
            s[klen] == '=') {
            const char *v = s + klen + 1;
            char *out = apr_palloc(p, (apr_size_t)(end - v) + 1), *o = out;

            for (; v < end; v++) {
                if (*v == '%') {
                    if (end - v < 3 || !apr_isxdigit(v[1]) ||
                        !apr_isxdigit(v[2])) {
                        return NULL;
                    }
                    *o = (char)((apr_isdigit(v[1])
                                     ? v[1] - '0'
                                     : apr_tolower(v[1]) - 'a' + 10) *
                                    16 +
                                (apr_isdigit(v[2])
                                     ? v[2] - '0'
                                     : apr_tolower(v[2]) - 'a' + 10));
                    if (!*o++) {
                        return NULL;
                    }
                    v += 2;
                } else {
                    *o++ = *v == '+' ? ' ' : *v;
                }
            }
            *o = '\0';
            return *out ? out : NULL;
        }
        s = amp ? amp + 1 : NULL;
    }
    return NULL;
}

/* A whole non-negative decimal number of s, or -1. */
static apr_int64_t whole_number(const char *s)
{
    apr_int64_t n = 0;

    if (!s || !*s) {
        return -1;
    }
    for (; *s; s++) {
        if (!apr_isdigit(*s) || n > (APR_INT64_MAX - 9) / 10) {
            return -1;
        }
        n = n * 10 + (*s - '0');
    }
    return n;
}

int prep_dashboard_rate(double *per_minute, const char *args, const char *name,
                        apr_uint64_t requests, apr_time_t now)
{
    apr_pool_t *p;
    char *r, *pair, *state;
    apr_int64_t t_ms, prev = -1, dt_ms;

    if (!args || !name) {
        return 0;
    }
    apr_pool_create(&p, NULL);
    t_ms = whole_number(query_value(args, "t", p));
    r = query_value(args, "r", p);
    for (pair = r ? apr_strtok(r, ",", &state) : NULL; pair && prev < 0;
         pair = apr_strtok(NULL, ",", &state)) {
        char *colon = strrchr(pair, ':');

        if (colon) {
            *colon = '\0';
            if (!strcmp(pair, name)) {
                prev = whole_number(colon + 1);
            }
        }
    }
    apr_pool_destroy(p);
    dt_ms = apr_time_as_msec(now) - t_ms;
    if (t_ms < 0 || prev < 0 || dt_ms <= 0 ||
        dt_ms > apr_time_as_msec(PREP_DASHBOARD_RATE_MAX) ||
        requests < (apr_uint64_t)prev) {
        return 0;
    }
    *per_minute =
        (double)(requests - (apr_uint64_t)prev) * 60000.0 / (double)dt_ms;
    return 1;
}

/* --- the journal's window ------------------------------------------ */

static int line_time(apr_time_t *at, const json_t *line)
{
    const char *s =
        json_string_value(json_object_get(line, PREP_JOURNAL_KEY_AT));

    return s && prep_journal_time(at, s) == APR_SUCCESS;
}

json_t *prep_dashboard_journal(const char *store, apr_time_t now, int max_lines,
                               apr_pool_t *p)
{
    json_t *tail = prep_journal_tail(store, max_lines, p), *out = json_array();
    json_t *line;
    size_t i;

    json_array_foreach(tail, i, line)
    {
        apr_time_t at;

        if (line_time(&at, line) && at >= now - PREP_DASHBOARD_WINDOW) {
            json_array_append(out, line);
        }
    }
    json_decref(tail);
    return out;
}

/* --- words and colours ---------------------------------------------- */

static const char *const event_words[PREP_EVENTS] = {
    [PREP_EVENT_START] = "inicio del servidor",
    [PREP_EVENT_GRACEFUL] = "reinicio ordenado",
    [PREP_EVENT_INTAKE_RESTART] = "reinicio de la recepción",
    [PREP_EVENT_SEEN] = "paquete recibido",
    [PREP_EVENT_PUBLISHED] = "corte publicado",
    [PREP_EVENT_RETAINED] = "corte retenido",
    [PREP_EVENT_REPUBLISHED] = "corte republicado",
    [PREP_EVENT_REFUSED] = "paquete rechazado",
    [PREP_EVENT_SAME_CORTE] = "mismo corte",
    [PREP_EVENT_STALE] = "desactualizado",
    [PREP_EVENT_FRESH] = "al día otra vez",
    [PREP_EVENT_EMBARGO_LIFTED] = "fin del embargo",
    [PREP_EVENT_STORE_PROBLEM] = "problema del almacén",
    [PREP_EVENT_STORE_OK] = "almacén en orden",
    [PREP_EVENT_LOADER_CRASH] = "falla del cargador",
    [PREP_EVENT_DAMAGED] = "corte dañado",
    [PREP_EVENT_HEALED] = "corte reparado",
    [PREP_EVENT_ROLLBACK] = "regreso a un corte anterior",
    [PREP_EVENT_PIN] = "corte fijado",
    [PREP_EVENT_UNPIN] = "fijación retirada",
    [PREP_EVENT_RESET] = "reinicio del feed",
    [PREP_EVENT_DRILL] = "simulacro",
    [PREP_EVENT_CLOSED] = "cierre de la operación",
    [PREP_EVENT_NOTIFY] = "notificación",
    [PREP_EVENT_COMPLETED] = "variantes completas",
};

/* The state as the operator reads it, and the CSS class of its colour. */
static const char *const state_words[PREP_FEED_STATES] = {
    [PREP_FEED_WAITING] = "Esperando",  [PREP_FEED_EMBARGOED] = "Embargo",
    [PREP_FEED_SERVING] = "Publicando", [PREP_FEED_STALE] = "Desactualizado",
    [PREP_FEED_PINNED] = "Fijado",      [PREP_FEED_CLOSED] = "Cerrado",
};

static prep_feed_state_e state_of_text(const char *text)
{
    int k;

    for (k = 0; text && k < PREP_FEED_STATES; k++) {
        if (!strcmp(text, prep_feed_state_text((prep_feed_state_e)k))) {
            return (prep_feed_state_e)k;
        }
    }
    return PREP_FEED_WAITING;
}

/* The colours: the CSS below and the timeline's marks (the test counts
 * their pixels in a screenshot). */
#define COLOR_CORTE   "#0e7490"
#define COLOR_REFUSAL "#dc2626"
#define COLOR_STALE   "#fde68a"
#define COLOR_ACTION  "#9333ea"

static const char page_css[] =
    "body{font-family:system-ui,'DejaVu Sans',sans-serif;margin:0;"
    "background:#f3f4f6;color:#111827}"
    "header.tablero{background:#111827;color:#fff;padding:12px 20px}"
    "header.tablero h1{margin:0;font-size:22px}"
    "header.tablero p{margin:4px 0 0;font-size:14px;color:#d1d5db}"
    "section.feed{background:#fff;margin:14px 20px;border-radius:6px;"
    "box-shadow:0 1px 3px rgba(0,0,0,.2);overflow:hidden}"
    "section.simulacro{outline:4px dashed #db2777}"
    "h2.estado{margin:0;padding:10px 16px;color:#fff;font-size:24px}"
    ".estado-waiting{background:#6b7280}"
    ".estado-embargoed{background:#7c3aed}"
    ".estado-serving{background:#15803d}"
    ".estado-stale{background:#d97706}"
    ".estado-stale-grave{background:#b91c1c}"
    ".estado-pinned{background:#1d4ed8}"
    ".estado-closed{background:#1f2937}"
    ".marca-simulacro{background:#db2777;color:#fff;padding:2px 10px;"
    "margin-left:12px;border-radius:4px;font-size:18px}"
    ".cuerpo{padding:10px 16px}"
    "dl.datos{display:grid;grid-template-columns:max-content auto;"
    "gap:4px 16px;margin:0 0 10px}"
    "dl.datos dt{font-weight:bold}dl.datos dd{margin:0}"
    ".problema{background:#fee2e2;color:#7f1d1d;padding:6px 10px;"
    "border-radius:4px;margin:6px 0}"
    "svg.linea{width:100%;height:auto;background:#fafafa;"
    "border:1px solid #e5e7eb}"
    "ul.leyenda{list-style:none;padding:0;margin:6px 0;font-size:13px}"
    "ul.leyenda li{display:inline-block;margin-right:18px}"
    ".muestra{display:inline-block;width:12px;height:12px;"
    "margin-right:5px;vertical-align:middle}"
    "table{border-collapse:collapse;font-size:13px;width:100%;"
    "margin-bottom:8px}"
    "th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #e5e7eb;"
    "vertical-align:top}"
    "th{background:#f9fafb}"
    "td.mensaje{word-break:break-all}"
    "h3{font-size:16px;margin:12px 0 4px}"
    "footer{margin:10px 20px 20px;font-size:12px;color:#6b7280}";

/* --- times and numbers as shown ------------------------------------ */

static char *clock_text(apr_pool_t *p, apr_time_t t, int offset_s, int seconds)
{
    apr_time_exp_t tm;

    apr_time_exp_tz(&tm, t, offset_s);
    return seconds ? apr_psprintf(p, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min,
                                  tm.tm_sec)
                   : apr_psprintf(p, "%02d:%02d", tm.tm_hour, tm.tm_min);
}

static char *date_text(apr_pool_t *p, apr_time_t t, int offset_s)
{
    apr_time_exp_t tm;
    prep_zone_t z = {offset_s, NULL};

    apr_time_exp_tz(&tm, t, offset_s);
    return apr_psprintf(p, "%02d/%02d/%04d %02d:%02d:%02d (UTC%s)", tm.tm_mday,
                        tm.tm_mon + 1, tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                        tm.tm_sec, prep_zone_offset_text(p, &z));
}

static char *ms_text(apr_pool_t *p, apr_int64_t ms)
{
    return ms < 1000 ? apr_psprintf(p, "%d ms", (int)ms)
                     : apr_psprintf(p, "%.1f s", (double)ms / 1000.0);
}

static const char *str_of(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* --- the timeline -------------------------------------------------- */

typedef struct mark {
    apr_time_t at, until; /* until: the end of a stale period */
    apr_int64_t ms;       /* a corte's package-to-live, -1 unknown */
    const json_t *line;
} mark_t;

typedef struct timeline {
    apr_array_header_t *cortes, *refusals, *stale, *actions;
    apr_time_t from, to;
    apr_int64_t ms_max;
    int offset_s;
} timeline_t;

static mark_t *add_mark(apr_array_header_t *a, apr_time_t at, const json_t *l)
{
    mark_t *m = apr_array_push(a);

    m->at = at;
    m->until = at;
    m->ms = -1;
    m->line = l;
    return m;
}

/* A corte's package-to-live: from the `seen` of its package to this
 * `published`, else the load's own load_ms. */
static apr_int64_t package_to_live(apr_hash_t *seen, const json_t *corte,
                                   apr_time_t at)
{
    const char *package = str_of(corte, "package");
    apr_time_t *seen_at =
        package ? apr_hash_get(seen, package, APR_HASH_KEY_STRING) : NULL;
    json_t *load_ms = json_object_get(corte, "load_ms");

    if (seen_at && *seen_at <= at) {
        return apr_time_as_msec(at - *seen_at);
    }
    return json_is_integer(load_ms) ? (apr_int64_t)json_integer_value(load_ms)
                                    : -1;
}

static void timeline_of(timeline_t *tl, const json_t *lines,
                        prep_feed_state_e state, apr_time_t now, apr_pool_t *p)
{
    apr_hash_t *seen = apr_hash_make(p);
    mark_t *open_stale = NULL;
    apr_time_t last = 0;
    const json_t *line;
    size_t i;

    tl->cortes = apr_array_make(p, 16, sizeof(mark_t));
    tl->refusals = apr_array_make(p, 8, sizeof(mark_t));
    tl->stale = apr_array_make(p, 4, sizeof(mark_t));
    tl->actions = apr_array_make(p, 4, sizeof(mark_t));
    tl->from = 0;
    tl->to = now;
    tl->ms_max = 0;
    json_array_foreach(lines, i, line)
    {
        apr_time_t at;
        prep_event_e e;

        if (!line_time(&at, line)) {
            continue;
        }
        if (at > now) {
            at = now; /* a clock set back: at the chart's right edge */
        }
        if (!tl->from) {
            tl->from = at;
        }
        last = at;
        e = prep_event_of_name(str_of(line, PREP_JOURNAL_KEY_EVENT));
        switch (e) {
            case PREP_EVENT_SEEN: {
                const char *pkg = str_of(line, PREP_JOURNAL_KEY_PACKAGE);
                apr_time_t *t = apr_palloc(p, sizeof(*t));

                if (pkg) {
                    *t = at;
                    apr_hash_set(seen, apr_pstrdup(p, pkg), APR_HASH_KEY_STRING,
                                 t);
                }
                break;
            }
            case PREP_EVENT_PUBLISHED: {
                mark_t *m = add_mark(tl->cortes, at, line);

                m->ms = package_to_live(
                    seen, json_object_get(line, PREP_JOURNAL_KEY_CORTE), at);
                if (m->ms > tl->ms_max) {
                    tl->ms_max = m->ms;
                }
                break;
            }
            case PREP_EVENT_REFUSED:
                add_mark(tl->refusals, at, line);
                break;
            case PREP_EVENT_STALE:
                if (!open_stale) {
                    open_stale = add_mark(tl->stale, at, line);
                }
                break;
            case PREP_EVENT_ROLLBACK:
            case PREP_EVENT_PIN:
            case PREP_EVENT_UNPIN:
            case PREP_EVENT_RESET:
            case PREP_EVENT_CLOSED:
            case PREP_EVENT_DRILL:
                add_mark(tl->actions, at, line);
                /* a pin, a close or a reset ends a stale period without
                 * a "fresh" */
                if (open_stale && e != PREP_EVENT_DRILL &&
                    e != PREP_EVENT_UNPIN) {
                    open_stale->until = at;
                    open_stale = NULL;
                }
                break;
            case PREP_EVENT_FRESH:
                if (open_stale) {
                    open_stale->until = at;
                    open_stale = NULL;
                }
                break;
            default:
                break;
        }
    }
    if (open_stale) {
        open_stale->until = state == PREP_FEED_STALE ? now : last;
    }
    if (!tl->from || now - tl->from < apr_time_from_sec(60)) {
        tl->from = now - apr_time_from_sec(60);
    }
}

/* The chart's geometry (SVG user units). */
#define CHART_W     1200
#define CHART_H     230
#define PLOT_LEFT   60
#define PLOT_RIGHT  1180
#define BAND_TOP    8 /* refusals' row */
#define BAND_BOTTOM 26
#define BARS_TOP    34
#define BARS_BOTTOM 190

static double x_of(const timeline_t *tl, apr_time_t t)
{
    if (t < tl->from) {
        t = tl->from;
    }
    return PLOT_LEFT + (double)(t - tl->from) * (PLOT_RIGHT - PLOT_LEFT) /
                           (double)(tl->to - tl->from);
}

/* The time axis: a tick every round step, at most 8 of them, labelled
 * with the feed's clock. */
static void put_axis(page_t *pg, const timeline_t *tl)
{
    static const int steps_min[] = {1,  2,   5,   10,  15,  30,
                                    60, 120, 180, 360, 720, 1440};
    apr_int64_t span = apr_time_sec(tl->to - tl->from), step = 0, t;
    int i, with_seconds = span < 120;

    for (i = 0; i < (int)(sizeof(steps_min) / sizeof(steps_min[0])); i++) {
        step = steps_min[i] * 60;
        if (span / step <= 8) {
            break;
        }
    }
    if (span <= 120) {
        step = 15;
    }
    prep_text_printf(
        pg,
        "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#9ca3af\"/>",
        PLOT_LEFT, BARS_BOTTOM, PLOT_RIGHT, BARS_BOTTOM);
    /* the first round tick of the feed's clock after `from` */
    t = (apr_time_sec(tl->from) + tl->offset_s + step - 1) / step * step -
        tl->offset_s;
    for (; t <= apr_time_sec(tl->to); t += step) {
        double x = x_of(tl, apr_time_from_sec(t));

        prep_text_printf(
            pg,
            "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
            "stroke=\"#d1d5db\"/><text x=\"%.1f\" y=\"%d\" font-size=\"12\" "
            "text-anchor=\"middle\" fill=\"#374151\">%s</text>",
            x, BARS_TOP, x, BARS_BOTTOM + 4, x, BARS_BOTTOM + 18,
            clock_text(pg->p, apr_time_from_sec(t), tl->offset_s,
                       with_seconds));
    }
    prep_text_printf(
        pg,
        "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#6b7280\">"
        "del paquete a publicado (máx. %s)</text>",
        PLOT_LEFT + 4, BARS_TOP + 12, ms_text(pg->p, tl->ms_max));
}

static void put_marks_stale(page_t *pg, const timeline_t *tl)
{
    int i;

    for (i = 0; i < tl->stale->nelts; i++) {
        const mark_t *m = &APR_ARRAY_IDX(tl->stale, i, mark_t);
        double x0 = x_of(tl, m->at), x1 = x_of(tl, m->until);

        prep_text_printf(
            pg,
            "<rect class=\"marca-desactualizado\" x=\"%.1f\" y=\"%d\" "
            "width=\"%.1f\" height=\"%d\" fill=\"" COLOR_STALE "\">"
            "<title>Desactualizado de %s a %s (%s)</title></rect>",
            x0, BARS_TOP, x1 - x0 < 2 ? 2 : x1 - x0, BARS_BOTTOM - BARS_TOP,
            clock_text(pg->p, m->at, tl->offset_s, 1),
            clock_text(pg->p, m->until, tl->offset_s, 1),
            prep_duration_text(pg->p, apr_time_sec(m->until - m->at)));
    }
}

static void put_marks_cortes(page_t *pg, const timeline_t *tl)
{
    double width = (PLOT_RIGHT - PLOT_LEFT) * 0.6 /
                   (tl->cortes->nelts ? tl->cortes->nelts : 1);
    int i;

    width = width > 12 ? 12 : width < 3 ? 3 : width;
    for (i = 0; i < tl->cortes->nelts; i++) {
        const mark_t *m = &APR_ARRAY_IDX(tl->cortes, i, mark_t);
        const json_t *c = json_object_get(m->line, PREP_JOURNAL_KEY_CORTE);
        double h = 4;

        if (m->ms >= 0 && tl->ms_max > 0) {
            h = (double)m->ms * (BARS_BOTTOM - BARS_TOP - 16) /
                (double)tl->ms_max;
            h = h < 4 ? 4 : h;
        }
        prep_text_printf(
            pg,
            "<rect class=\"marca-corte\" x=\"%.1f\" y=\"%.1f\" "
            "width=\"%.1f\" height=\"%.1f\" fill=\"" COLOR_CORTE "\"><title>",
            x_of(tl, m->at) - width / 2, BARS_BOTTOM - h, width, h);
        prep_text_printf(pg, "Corte publicado a las %s: ",
                         clock_text(pg->p, m->at, tl->offset_s, 1));
        put_text(pg, str_of(c, "id"));
        put(pg, " · paquete ");
        put_text_cut(pg, str_of(c, "package"), 120);
        prep_text_printf(pg, " · del paquete a publicado: %s</title></rect>",
                         m->ms >= 0 ? ms_text(pg->p, m->ms) : "sin dato");
    }
}

static void put_marks_refusals(page_t *pg, const timeline_t *tl)
{
    int i;

    for (i = 0; i < tl->refusals->nelts; i++) {
        const mark_t *m = &APR_ARRAY_IDX(tl->refusals, i, mark_t);
        double x = x_of(tl, m->at);

        prep_text_printf(
            pg,
            "<polygon class=\"marca-rechazo\" points=\"%.1f,%d %.1f,%d "
            "%.1f,%d\" fill=\"" COLOR_REFUSAL "\"><title>Rechazo a las %s: ",
            x - 7, BAND_TOP, x + 7, BAND_TOP, x, BAND_BOTTOM,
            clock_text(pg->p, m->at, tl->offset_s, 1));
        put_text(pg, str_of(m->line, PREP_JOURNAL_KEY_REASON));
        put(pg, " · ");
        put_text_cut(pg, str_of(m->line, PREP_JOURNAL_KEY_PACKAGE), 120);
        put(pg, " · ");
        put_text_cut(pg, str_of(m->line, PREP_JOURNAL_KEY_MESSAGE), 300);
        prep_text_printf(
            pg,
            "</title></polygon><line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" "
            "y2=\"%d\" stroke=\"" COLOR_REFUSAL "\" stroke-width=\"1\" "
            "stroke-dasharray=\"2,3\"/>",
            x, BAND_BOTTOM, x, BARS_BOTTOM);
    }
}

static void put_marks_actions(page_t *pg, const timeline_t *tl)
{
    int i;

    for (i = 0; i < tl->actions->nelts; i++) {
        const mark_t *m = &APR_ARRAY_IDX(tl->actions, i, mark_t);
        prep_event_e e =
            prep_event_of_name(str_of(m->line, PREP_JOURNAL_KEY_EVENT));
        const char *user = str_of(m->line, PREP_JOURNAL_KEY_USER);
        double x = x_of(tl, m->at);

        prep_text_printf(pg, "<g class=\"marca-operador\"><title>%s a las %s",
                         event_words[e],
                         clock_text(pg->p, m->at, tl->offset_s, 1));
        if (user) {
            put(pg, " por ");
            put_text_cut(pg, user, 80);
        }
        prep_text_printf(
            pg,
            "</title><line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
            "stroke=\"" COLOR_ACTION "\" stroke-width=\"3\"/>"
            "<circle cx=\"%.1f\" cy=\"%d\" r=\"5\" fill=\"" COLOR_ACTION
            "\"/></g>",
            x, BARS_TOP, x, BARS_BOTTOM, x, BARS_TOP);
    }
}

/* The refusals' reasons and how often each came, for the legend. */
static void put_reasons(page_t *pg, const timeline_t *tl)
{
    apr_array_header_t *reasons = apr_array_make(pg->p, 4, sizeof(char *));
    apr_hash_t *counts = apr_hash_make(pg->p);
    int i;

    for (i = 0; i < tl->refusals->nelts; i++) {
        const mark_t *m = &APR_ARRAY_IDX(tl->refusals, i, mark_t);
        const char *why = str_of(m->line, PREP_JOURNAL_KEY_REASON);
        int *n;

        why = why ? why : "?";
        n = apr_hash_get(counts, why, APR_HASH_KEY_STRING);
        if (!n) {
            n = apr_pcalloc(pg->p, sizeof(*n));
            apr_hash_set(counts, why, APR_HASH_KEY_STRING, n);
            APR_ARRAY_PUSH(reasons, const char *) = why;
        }
        (*n)++;
    }
    if (!reasons->nelts) {
        return;
    }
    put(pg, "<li>Motivos de rechazo: ");
    for (i = 0; i < reasons->nelts; i++) {
        const char *why = APR_ARRAY_IDX(reasons, i, const char *);

        put(pg, i ? ", <span class=\"motivo\">" : "<span class=\"motivo\">");
        put_text_cut(pg, why, 60);
        prep_text_printf(
            pg, "</span> ×%d",
            *(int *)apr_hash_get(counts, why, APR_HASH_KEY_STRING));
    }
    put(pg, "</li>");
}

static void put_timeline(page_t *pg, const timeline_t *tl, const char *name)
{
    put(pg, "<h3>La noche: cortes, rechazos y periodos desactualizados</h3>");
    prep_text_printf(
        pg,
        "<svg class=\"linea\" xmlns=\"http://www.w3.org/2000/svg\" "
        "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" "
        "aria-label=\"Línea de tiempo de ",
        CHART_W, CHART_H, CHART_W, CHART_H);
    put_text(pg, name);
    put(pg, "\">");
    put_marks_stale(pg, tl);
    put_axis(pg, tl);
    put_marks_actions(pg, tl);
    put_marks_cortes(pg, tl);
    put_marks_refusals(pg, tl);
    put(pg, "</svg><ul class=\"leyenda\">"
            "<li><span class=\"muestra\" style=\"background:" COLOR_CORTE
            "\"></span>Corte publicado (altura: del paquete a publicado)</li>"
            "<li><span class=\"muestra\" style=\"background:" COLOR_REFUSAL
            "\"></span>Paquete rechazado (el motivo, al pasar el "
            "cursor)</li>"
            "<li><span class=\"muestra\" style=\"background:" COLOR_STALE
            "\"></span>Desactualizado</li>"
            "<li><span class=\"muestra\" style=\"background:" COLOR_ACTION
            "\"></span>Acción del operador (regreso, fijar, reinicio, "
            "cierre)</li>");
    put_reasons(pg, tl);
    put(pg, "</ul>");
}

/* --- the tables ----------------------------------------------------- */

/* What a journal line is about, in a few words: its corte, package,
 * reason, what it serves, who did it, its message. */
static void put_event_detail(page_t *pg, const json_t *line)
{
    const json_t *corte = json_object_get(line, PREP_JOURNAL_KEY_CORTE);
    const char *served = str_of(line, "served");
    const char *to = str_of(line, "to");
    const char *package = str_of(line, PREP_JOURNAL_KEY_PACKAGE);
    const char *sep = "";

    if (str_of(corte, "id")) {
        put(pg, "corte ");
        put_text(pg, str_of(corte, "id"));
        sep = " · ";
    }
    if (!package) {
        package = str_of(corte, "package");
    }
    if (package) {
        prep_text_printf(pg, "%spaquete ", sep);
        put_text_cut(pg, package, 100);
        sep = " · ";
    }
    if (str_of(line, PREP_JOURNAL_KEY_REASON)) {
        prep_text_printf(pg, "%smotivo ", sep);
        put_text_cut(pg, str_of(line, PREP_JOURNAL_KEY_REASON), 60);
        sep = " · ";
    }
    if (served || to) {
        prep_text_printf(pg, "%ssirve ", sep);
        put_text_cut(pg, served ? served : to, 60);
        sep = " · ";
    }
    if (str_of(line, PREP_JOURNAL_KEY_USER)) {
        prep_text_printf(pg, "%spor ", sep);
        put_text_cut(pg, str_of(line, PREP_JOURNAL_KEY_USER), 60);
        sep = " · ";
    }
    if (str_of(line, PREP_JOURNAL_KEY_MESSAGE)) {
        put(pg, sep);
        put_text_cut(pg, str_of(line, PREP_JOURNAL_KEY_MESSAGE), 200);
    }
}

#define TABLE_EVENTS   12
#define TABLE_REFUSALS 8

static void put_events_table(page_t *pg, const json_t *lines, int offset_s)
{
    size_t n = json_array_size(lines), i, shown = 0;

    put(pg, "<h3>Últimos eventos</h3>");
    if (!n) {
        put(pg, "<p>Sin eventos en las últimas 24 horas.</p>");
        return;
    }
    put(pg, "<table class=\"eventos\"><tr><th>Hora</th><th>Evento</th>"
            "<th>Detalle</th></tr>");
    for (i = n; i > 0 && shown < TABLE_EVENTS; i--) {
        const json_t *line = json_array_get(lines, i - 1);
        prep_event_e e =
            prep_event_of_name(str_of(line, PREP_JOURNAL_KEY_EVENT));
        apr_time_t at;

        if (!line_time(&at, line)) {
            continue;
        }
        shown++;
        prep_text_printf(pg, "<tr><td>%s</td><td>",
                         clock_text(pg->p, at, offset_s, 1));
        if (e < PREP_EVENTS) {
            put(pg, event_words[e]);
        } else {
            put_text_cut(pg, str_of(line, PREP_JOURNAL_KEY_EVENT), 40);
        }
        if (json_is_true(json_object_get(line, PREP_JOURNAL_KEY_DRILL))) {
            put(pg, " (simulacro)");
        }
        put(pg, "</td><td class=\"mensaje\">");
        put_event_detail(pg, line);
        put(pg, "</td></tr>");
    }
    put(pg, "</table>");
}

static void put_refusals_table(page_t *pg, const timeline_t *tl)
{
    int i, shown = 0;

    put(pg, "<h3>Últimos rechazos</h3>");
    if (!tl->refusals->nelts) {
        put(pg, "<p>Ningún paquete rechazado en las últimas 24 horas.</p>");
        return;
    }
    put(pg, "<table class=\"rechazos\"><tr><th>Hora</th><th>Paquete</th>"
            "<th>Motivo</th><th>Mensaje</th></tr>");
    for (i = tl->refusals->nelts; i > 0 && shown < TABLE_REFUSALS; i--) {
        const mark_t *m = &APR_ARRAY_IDX(tl->refusals, i - 1, mark_t);

        shown++;
        prep_text_printf(pg, "<tr><td>%s</td><td class=\"mensaje\">",
                         clock_text(pg->p, m->at, tl->offset_s, 1));
        put_text_cut(pg, str_of(m->line, PREP_JOURNAL_KEY_PACKAGE), 120);
        put(pg, "</td><td>");
        put_text_cut(pg, str_of(m->line, PREP_JOURNAL_KEY_REASON), 60);
        put(pg, "</td><td class=\"mensaje\">");
        put_text_cut(pg, str_of(m->line, PREP_JOURNAL_KEY_MESSAGE), 300);
        put(pg, "</td></tr>");
    }
    put(pg, "</table>");
}

/* --- a feed --------------------------------------------------------- */

/* Stale for twice as long as it took to become stale: red, not amber. */
static int stale_grave(const json_t *feed, apr_time_t now)
{
    const char *loaded = str_of(json_object_get(feed, "corte"), "loaded_at");
    json_int_t interval =
        json_integer_value(json_object_get(feed, "update_interval_s"));
    apr_time_t at;

    return loaded && interval > 0 &&
           prep_journal_time(&at, loaded) == APR_SUCCESS &&
           now - at > apr_time_from_sec(6 * interval);
}

static void put_state(page_t *pg, const json_t *feed, prep_feed_state_e s,
                      int drill, apr_time_t now)
{
    const char *name = str_of(feed, "name");
    int grave = s == PREP_FEED_STALE && stale_grave(feed, now);

    prep_text_printf(pg, "<h2 class=\"estado estado-%s%s\">",
                     prep_feed_state_text(s),
                     grave ? " estado-stale-grave" : "");
    put_text(pg, name);
    prep_text_printf(pg, " · <span class=\"estado-texto\">%s</span>",
                     state_words[s]);
    if (drill) {
        put(pg, "<span class=\"marca-simulacro\">SIMULACRO</span>");
    }
    put(pg, "</h2>");
}

static void put_fact(page_t *pg, const char *term, const char *text,
                     apr_size_t cut)
{
    prep_text_printf(pg, "<dt>%s</dt><dd>", term);
    put_text_cut(pg, text, cut);
    put(pg, "</dd>");
}

static void put_facts(page_t *pg, const json_t *feed, prep_feed_state_e s,
                      const char *args, apr_time_t now)
{
    const json_t *corte = json_object_get(feed, "corte");
    const json_t *traffic = json_object_get(feed, "traffic");
    const json_t *loading = json_object_get(feed, "loading");
    const char *name = str_of(feed, "name");
    json_int_t requests =
        json_integer_value(json_object_get(traffic, "requests"));
    double per_minute;
    apr_time_t at;

    put(pg, "<dl class=\"datos\">");
    if (json_is_object(corte)) {
        put_fact(
            pg, "Corte servido",
            apr_pstrcat(pg->p,
                        str_of(corte, "label") ? str_of(corte, "label") : "",
                        " — ", str_of(corte, "id"), NULL),
            200);
        put_fact(pg, "Antigüedad del corte",
                 prep_duration_text(pg->p, (apr_int64_t)json_integer_value(
                                               json_object_get(feed, "age_s"))),
                 0);
        if (str_of(corte, "loaded_at") &&
            prep_journal_time(&at, str_of(corte, "loaded_at")) == APR_SUCCESS) {
            put_fact(pg, "Publicado hace",
                     prep_duration_text(pg->p, apr_time_sec(now - at)), 0);
        }
        put_fact(pg, "Paquete", str_of(corte, "package"), 120);
    } else {
        put_fact(pg, "Corte servido", "ninguno todavía", 0);
    }
    if (s == PREP_FEED_EMBARGOED && str_of(feed, "publish_from")) {
        put_fact(pg, "Se publica desde", str_of(feed, "publish_from"), 0);
    }
    if (s == PREP_FEED_PINNED &&
        str_of(json_object_get(feed, "newest"), "id")) {
        put_fact(pg, "Más reciente retenido",
                 str_of(json_object_get(feed, "newest"), "id"), 0);
    }
    if (str_of(feed, "closed_at")) {
        put_fact(pg, "Cerrado desde", str_of(feed, "closed_at"), 0);
    }
    if (json_is_object(loading)) {
        put_fact(
            pg, "Cargando",
            apr_psprintf(
                pg->p, "%s (desde hace %s)",
                str_of(loading, "package") ? str_of(loading, "package") : "?",
                prep_duration_text(pg->p,
                                   (apr_int64_t)json_integer_value(
                                       json_object_get(loading, "age_s")))),
            160);
    }
    put_fact(pg, "Solicitudes por minuto",
             prep_dashboard_rate(&per_minute, args, name,
                                 (apr_uint64_t)(requests < 0 ? 0 : requests),
                                 now)
                 ? apr_psprintf(pg->p, per_minute < 100 ? "%.1f" : "%.0f",
                                per_minute)
                 : "—",
             0);
    put_fact(pg, "Solicitudes desde el inicio",
             prep_count_text(pg->p, requests), 0);
    put(pg, "</dl>");
    if (json_is_object(json_object_get(feed, "problem"))) {
        put(pg, "<p class=\"problema\">Problema: ");
        put_text_cut(pg, str_of(json_object_get(feed, "problem"), "message"),
                     300);
        put(pg, "</p>");
    }
}

static void put_feed(page_t *pg, const json_t *feed, const json_t *lines,
                     const char *args, int offset_s, apr_time_t now)
{
    prep_feed_state_e s = state_of_text(str_of(feed, "state"));
    int drill = json_is_true(json_object_get(feed, "drill"));
    const char *name = str_of(feed, "name");
    timeline_t tl;

    if (json_array_size(lines)) {
        offset_s = prep_iso_offset(
            str_of(json_array_get(lines, json_array_size(lines) - 1), "at"));
    }
    timeline_of(&tl, lines, s, now, pg->p);
    tl.offset_s = offset_s;
    put(pg, drill ? "<section class=\"feed simulacro\" id=\"feed-"
                  : "<section class=\"feed\" id=\"feed-");
    put_text(pg, name);
    put(pg, "\">");
    put_state(pg, feed, s, drill, now);
    put(pg, "<div class=\"cuerpo\">");
    put_facts(pg, feed, s, args, now);
    put_timeline(pg, &tl, name);
    put_events_table(pg, lines, offset_s);
    put_refusals_table(pg, &tl);
    put(pg, "</div></section>");
}

/* --- the page -------------------------------------------------------- */

/* The refresh URL: this render's time and every feed's total requests,
 * for the next render's rate. */
static void put_refresh(page_t *pg, const json_t *feeds, apr_time_t now)
{
    const json_t *feed;
    const char *sep = "";
    size_t i;

    prep_text_printf(pg,
                     "<meta http-equiv=\"refresh\" content=\"%d; "
                     "url=?format=html&amp;t=%" APR_TIME_T_FMT "&amp;r=",
                     PREP_DASHBOARD_REFRESH_S, apr_time_as_msec(now));
    json_array_foreach(feeds, i, feed)
    {
        const char *name = str_of(feed, "name");
        json_int_t n = json_integer_value(
            json_object_get(json_object_get(feed, "traffic"), "requests"));

        if (prep_feed_name_valid(name)) {
            prep_text_printf(pg, "%s%s:%" APR_INT64_T_FMT, sep, name,
                             (apr_int64_t)(n < 0 ? 0 : n));
            sep = ",";
        }
    }
    put(pg, "\">");
}

char *prep_dashboard_html(const json_t *doc, const json_t *journals,
                          const char *args, apr_time_t now, apr_pool_t *p)
{
    page_t pg = {p, NULL, 0, 0};
    const json_t *feeds = json_object_get(doc, "feeds"), *feed;
    int offset_s = prep_iso_offset(str_of(doc, "now"));
    size_t i;

    put(&pg, "<!DOCTYPE html>\n<html lang=\"es\"><head><meta charset=\"utf-8\">"
             "<meta name=\"viewport\" content=\"width=device-width\">");
    put_refresh(&pg, feeds, now);
    prep_text_printf(
        &pg, "<title>PREP · tablero</title><style>%s</style></head><body>",
        page_css);
    prep_text_printf(
        &pg,
        "<header class=\"tablero\"><h1>PREP · tablero de la noche</h1>"
        "<p>Actualizado el %s · esta página se actualiza sola cada %d s"
        "</p></header>",
        date_text(p, now, offset_s), PREP_DASHBOARD_REFRESH_S);
    if (!json_array_size(feeds)) {
        put(&pg, "<section class=\"feed\"><div class=\"cuerpo\"><p>Este "
                 "servidor no tiene feeds configurados.</p></div></section>");
    }
    json_array_foreach(feeds, i, feed)
    {
        const json_t *lines = json_object_get(journals, str_of(feed, "name"));

        put_feed(&pg, feed, json_is_array(lines) ? lines : NULL, args, offset_s,
                 now);
    }
    put(&pg, "<footer>mod_prep ");
    put_text(&pg, str_of(doc, "version"));
    put(&pg, " · los datos de esta página, en JSON: <a "
             "href=\"?format=json\">/prep-status?format=json</a></footer>"
             "</body></html>\n");
    return pg.buf;
}
