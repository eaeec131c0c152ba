/* prep_report_journal.c — the night read back from a feed's journal for
 * the memoria técnica: the corte timeline, the incidents and whether they
 * affected the publication, the availability of the period, the corte
 * current at a request's time, and all of it as JSON and CSV.  The rules
 * are in prep_incidents.h.
 *
 * The journal is read whole, once, from its first line: what was served
 * and which intervals were open when the period starts are known only
 * from before it.  Everything is first built with the journal's own times
 * and then cut to the period, so that the rules of the night (what ends
 * what) never depend on where the period was cut. */
#include <string.h>
#include <sys/stat.h>

#include <apr_strings.h>
#include <jansson.h>

#include "prep.h"
#include "prep_incidents.h"

static const char *const kind_names[PREP_INCIDENT_KINDS] = {
    [PREP_INCIDENT_REFUSAL] = "refusal",
    [PREP_INCIDENT_STALE] = "stale",
    [PREP_INCIDENT_LOADER_CRASH] = "loader-crash",
    [PREP_INCIDENT_INTAKE_RESTART] = "intake-restart",
    [PREP_INCIDENT_SERVER_START] = "server-start",
    [PREP_INCIDENT_SERVER_RELOAD] = "server-reload",
    [PREP_INCIDENT_STORE_PROBLEM] = "store-problem",
    [PREP_INCIDENT_DAMAGED] = "damaged",
    [PREP_INCIDENT_ROLLBACK] = "rollback",
    [PREP_INCIDENT_PIN] = "pin",
    [PREP_INCIDENT_UNPIN] = "unpin",
    [PREP_INCIDENT_RESET] = "reset",
    [PREP_INCIDENT_DRILL_ON] = "drill-on",
    [PREP_INCIDENT_DRILL_OFF] = "drill-off",
    [PREP_INCIDENT_CLOSED] = "closed",
};

static const char *const kind_labels[PREP_INCIDENT_KINDS] = {
    [PREP_INCIDENT_REFUSAL] = "Paquete rechazado",
    [PREP_INCIDENT_STALE] = "Publicación detenida (sin cortes nuevos)",
    [PREP_INCIDENT_LOADER_CRASH] = "Falla del proceso de carga de un paquete",
    [PREP_INCIDENT_INTAKE_RESTART] = "Reinicio del proceso de recepción",
    [PREP_INCIDENT_SERVER_START] = "Arranque del servidor Apache",
    [PREP_INCIDENT_SERVER_RELOAD] =
        "Reinicio ordenado del servidor Apache (graceful)",
    [PREP_INCIDENT_STORE_PROBLEM] =
        "Almacén sin capacidad para publicar cortes",
    [PREP_INCIDENT_DAMAGED] = "Corte publicado dañado (republicado)",
    [PREP_INCIDENT_ROLLBACK] =
        "Regreso a un corte anterior (acción del operador)",
    [PREP_INCIDENT_PIN] =
        "Publicación fijada en un corte (acción del operador)",
    [PREP_INCIDENT_UNPIN] = "Publicación liberada (acción del operador)",
    [PREP_INCIDENT_RESET] = "Reinicio del almacén (acción del operador)",
    [PREP_INCIDENT_DRILL_ON] = "Inicio de simulacro",
    [PREP_INCIDENT_DRILL_OFF] = "Fin de simulacro",
    [PREP_INCIDENT_CLOSED] = "Cierre de la publicación",
};

const char *prep_incident_kind_name(prep_incident_kind_e k)
{
    return k < PREP_INCIDENT_KINDS ? kind_names[k] : "unknown";
}

const char *prep_incident_label(prep_incident_kind_e k)
{
    return k < PREP_INCIDENT_KINDS ? kind_labels[k] : "Desconocido";
}

/* --- reading the journal ------------------------------------------- */

/* The night being read, with the journal's own times. */
typedef struct reading {
    apr_pool_t *p;
    apr_time_t to;          /* lines after it are not read (0: none) */
    apr_time_t first, last; /* the first and last line taken */
    apr_uint64_t lines;
    apr_array_header_t *spans;     /* prep_corte_span_t */
    apr_array_header_t *incidents; /* prep_incident_t */
    int served;                    /* the span served now, -1: none */
    /* The open intervals, as indexes into incidents (-1: none); a pin
     * and a rollback are one slot, as the feed is pinned after both. */
    int stale, store, damaged, pinned;
    /* Refusals and loader crashes waiting for the next corte to go live
     * to know whether they affected the publication. */
    apr_array_header_t *waiting; /* int */
    apr_interval_time_t interval;
} reading_t;

static const char *str_of(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static const char *dup_of(reading_t *r, const json_t *o, const char *key)
{
    const char *s = str_of(o, key);

    return s ? apr_pstrdup(r->p, s) : NULL;
}

static prep_incident_t *add_incident(reading_t *r, prep_incident_kind_e kind,
                                     apr_time_t at, const json_t *line)
{
    prep_incident_t *in = apr_array_push(r->incidents);

    memset(in, 0, sizeof(*in));
    in->kind = kind;
    in->start = at;
    in->end = at;
    in->drill = json_is_true(json_object_get(line, PREP_JOURNAL_KEY_DRILL));
    in->package = dup_of(r, line, PREP_JOURNAL_KEY_PACKAGE);
    in->reason = dup_of(r, line, PREP_JOURNAL_KEY_REASON);
    in->message = dup_of(r, line, PREP_JOURNAL_KEY_MESSAGE);
    in->user = dup_of(r, line, PREP_JOURNAL_KEY_USER);
    return in;
}

/* An interval begins: *slot names it until it ends (open until then). */
static prep_incident_t *open_interval(reading_t *r, int *slot,
                                      prep_incident_kind_e kind, apr_time_t at,
                                      const json_t *line)
{
    prep_incident_t *in = add_incident(r, kind, at, line);

    in->open = 1;
    *slot = r->incidents->nelts - 1;
    return in;
}

static void close_interval(reading_t *r, int *slot, apr_time_t at)
{
    if (*slot >= 0) {
        prep_incident_t *in =
            &APR_ARRAY_IDX(r->incidents, *slot, prep_incident_t);

        in->end = at;
        in->open = 0;
        *slot = -1;
    }
}

static prep_incident_t *incident_at(reading_t *r, int i)
{
    return &APR_ARRAY_IDX(r->incidents, i, prep_incident_t);
}

static const char *served_id(reading_t *r)
{
    return r->served >= 0
               ? APR_ARRAY_IDX(r->spans, r->served, prep_corte_span_t).id
               : NULL;
}

/* A refusal or a crash affected the publication when the next corte went
 * live (at `live`) more than the update interval after it. */
static void settle_waiting(reading_t *r, apr_time_t live)
{
    int i;

    for (i = 0; i < r->waiting->nelts; i++) {
        prep_incident_t *in = incident_at(r, APR_ARRAY_IDX(r->waiting, i, int));

        in->affected = live - in->start > r->interval;
    }
    apr_array_clear(r->waiting);
}

static void end_served(reading_t *r, apr_time_t at)
{
    if (r->served >= 0) {
        prep_corte_span_t *s =
            &APR_ARRAY_IDX(r->spans, r->served, prep_corte_span_t);

        s->live_until = at;
        s->open = 0;
        r->served = -1;
    }
}

/* Corte `id` (its record `corte` when the line has one) is served from
 * `at`; the one served already continues its span.  ends_stale: the line
 * is one that ends a stale period (a new corte, a rollback). */
static void go_live(reading_t *r, const char *id, const json_t *corte,
                    apr_time_t at, const json_t *line, int ends_stale)
{
    prep_corte_span_t *s;
    const char *served = served_id(r);
    const char *time;

    if (!id || (served && !strcmp(served, id))) {
        return;
    }
    end_served(r, at);
    s = apr_array_push(r->spans);
    memset(s, 0, sizeof(*s));
    s->id = apr_pstrdup(r->p, id);
    time = str_of(corte, "time");
    if (!time || prep_journal_time(&s->corte_time, time) != APR_SUCCESS) {
        s->corte_time = 0;
    }
    s->package = dup_of(r, corte, PREP_JOURNAL_KEY_PACKAGE);
    s->live_from = at;
    s->live_until = at;
    s->open = 1;
    s->drill = json_is_true(json_object_get(line, PREP_JOURNAL_KEY_DRILL));
    r->served = r->spans->nelts - 1;
    settle_waiting(r, at);
    /* the damaged corte is no longer the one served */
    close_interval(r, &r->damaged, at);
    if (ends_stale) {
        close_interval(r, &r->stale, at);
    }
}

/* "start", "graceful", "intake-restart": their "served" is what the
 * server serves from that moment (a fallback, or nothing in an embargo). */
static void served_at_start(reading_t *r, const json_t *line, apr_time_t at)
{
    const json_t *served = json_object_get(line, "served");

    if (json_is_object(served)) {
        go_live(r, str_of(served, "id"), served, at, line, 0);
    } else if (json_is_null(served)) {
        end_served(r, at);
    }
}

/* Apache started or restarted: an instant, that affected the publication
 * when the corte served changed through it (a fallback, or none). */
static void server_started(reading_t *r, prep_incident_kind_e kind,
                           const json_t *line, apr_time_t at)
{
    const char *before = served_id(r), *after;
    prep_incident_t *in = add_incident(r, kind, at, line);
    int slot = r->incidents->nelts - 1;

    served_at_start(r, line, at);
    after = served_id(r);
    in = &APR_ARRAY_IDX(r->incidents, slot, prep_incident_t);
    in->corte = after;
    in->affected = before && (!after || strcmp(before, after) != 0);
}

/* The corte a line is about: its "corte" record's id, else `key`. */
static const char *corte_id_of(reading_t *r, const json_t *line,
                               const char *key)
{
    const char *id =
        str_of(json_object_get(line, PREP_JOURNAL_KEY_CORTE), "id");

    if (!id && key) {
        id = str_of(line, key);
    }
    return id ? apr_pstrdup(r->p, id) : NULL;
}

static apr_status_t take_line(void *baton, json_t *line)
{
    reading_t *r = baton;
    const json_t *corte = json_object_get(line, PREP_JOURNAL_KEY_CORTE);
    prep_incident_t *in;
    apr_time_t at;
    prep_event_e e;

    if (prep_journal_time(&at, str_of(line, PREP_JOURNAL_KEY_AT)) !=
        APR_SUCCESS) {
        return APR_SUCCESS; /* prep_journal_each gives only readable ones */
    }
    if (r->lines && at < r->last) {
        at = r->last; /* a clock set back: the timeline never runs back */
    }
    if (r->to && at > r->to) {
        return APR_SUCCESS;
    }
    if (!r->lines) {
        r->first = at;
    }
    r->last = at;
    r->lines++;
    e = prep_event_of_name(str_of(line, PREP_JOURNAL_KEY_EVENT));
    switch (e) {
        case PREP_EVENT_PUBLISHED:
        case PREP_EVENT_REPUBLISHED:
            go_live(r, str_of(corte, "id"), corte, at, line, 1);
            close_interval(r, &r->store, at);
            break;
        case PREP_EVENT_RETAINED:
            if (r->pinned >= 0 &&
                incident_at(r, r->pinned)->kind == PREP_INCIDENT_PIN) {
                incident_at(r, r->pinned)->affected = 1;
            }
            break;
        case PREP_EVENT_REFUSED:
        case PREP_EVENT_LOADER_CRASH:
            add_incident(r,
                         e == PREP_EVENT_REFUSED ? PREP_INCIDENT_REFUSAL
                                                 : PREP_INCIDENT_LOADER_CRASH,
                         at, line)
                ->corte = served_id(r);
            APR_ARRAY_PUSH(r->waiting, int) = r->incidents->nelts - 1;
            break;
        case PREP_EVENT_STALE:
            if (r->stale < 0) {
                in = open_interval(r, &r->stale, PREP_INCIDENT_STALE, at, line);
                in->corte = dup_of(r, line, "served");
                in->affected = 1;
            }
            break;
        case PREP_EVENT_FRESH:
            close_interval(r, &r->stale, at);
            break;
        case PREP_EVENT_STORE_PROBLEM:
            if (r->store < 0) {
                in = open_interval(r, &r->store, PREP_INCIDENT_STORE_PROBLEM,
                                   at, line);
                in->affected = 1;
            }
            break;
        case PREP_EVENT_STORE_OK:
            close_interval(r, &r->store, at);
            break;
        case PREP_EVENT_DAMAGED:
            if (r->damaged < 0) {
                in = open_interval(r, &r->damaged, PREP_INCIDENT_DAMAGED, at,
                                   line);
                in->corte = corte_id_of(r, line, NULL);
                in->affected = 1;
            }
            break;
        case PREP_EVENT_HEALED:
            close_interval(r, &r->damaged, at);
            break;
        case PREP_EVENT_START:
        case PREP_EVENT_GRACEFUL:
            server_started(r,
                           e == PREP_EVENT_START ? PREP_INCIDENT_SERVER_START
                                                 : PREP_INCIDENT_SERVER_RELOAD,
                           line, at);
            break;
        case PREP_EVENT_INTAKE_RESTART:
            add_incident(r, PREP_INCIDENT_INTAKE_RESTART, at, line)->corte =
                served_id(r);
            served_at_start(r, line, at);
            break;
        case PREP_EVENT_ROLLBACK:
            /* the feed is pinned at the corte rolled back to */
            close_interval(r, &r->pinned, at);
            in = open_interval(r, &r->pinned, PREP_INCIDENT_ROLLBACK, at, line);
            in->corte = corte_id_of(r, line, "to");
            in->affected = 1;
            go_live(r, in->corte, corte, at, line, 1);
            close_interval(r, &r->stale, at);
            break;
        case PREP_EVENT_PIN:
            close_interval(r, &r->stale, at);
            if (r->pinned < 0) {
                in = open_interval(r, &r->pinned, PREP_INCIDENT_PIN, at, line);
                in->corte = corte_id_of(r, line, NULL);
            }
            break;
        case PREP_EVENT_UNPIN:
            if (r->pinned >= 0) {
                close_interval(r, &r->pinned, at);
            } else {
                add_incident(r, PREP_INCIDENT_UNPIN, at, line)->corte =
                    corte_id_of(r, line, "to");
            }
            go_live(r, corte_id_of(r, line, "to"), corte, at, line, 1);
            break;
        case PREP_EVENT_RESET:
            in = add_incident(r, PREP_INCIDENT_RESET, at, line);
            in->corte = served_id(r);
            in->affected = r->served >= 0;
            close_interval(r, &r->stale, at);
            close_interval(r, &r->pinned, at);
            close_interval(r, &r->damaged, at);
            end_served(r, at);
            break;
        case PREP_EVENT_DRILL:
            add_incident(r,
                         json_is_true(json_object_get(line, "on"))
                             ? PREP_INCIDENT_DRILL_ON
                             : PREP_INCIDENT_DRILL_OFF,
                         at, line);
            break;
        case PREP_EVENT_CLOSED:
            close_interval(r, &r->stale, at);
            add_incident(r, PREP_INCIDENT_CLOSED, at, line)->corte =
                corte_id_of(r, line, NULL);
            break;
        default:
            break; /* seen, same-corte, notify ...: no incident */
    }
    return APR_SUCCESS;
}

/* Whether the store has a journal at all (the current file or a rotated
 * one). */
static int has_journal(const char *store, apr_pool_t *p)
{
    struct stat st;

    return stat(apr_pstrcat(p, store, "/" PREP_JOURNAL_FILE, NULL), &st) == 0 ||
           stat(apr_pstrcat(p, store, "/" PREP_JOURNAL_FILE ".1", NULL), &st) ==
               0;
}

/* --- the period ----------------------------------------------------- */

static apr_interval_time_t overlap(apr_time_t a0, apr_time_t a1, apr_time_t b0,
                                   apr_time_t b1)
{
    apr_time_t lo = a0 > b0 ? a0 : b0, hi = a1 < b1 ? a1 : b1;

    return hi > lo ? hi - lo : 0;
}

/* What was read, ended at the period's end and cut to the period. */
static void cut_to_period(prep_night_t *n, reading_t *r)
{
    int i, j;

    for (i = 0; i < r->spans->nelts; i++) {
        prep_corte_span_t *s = &APR_ARRAY_IDX(r->spans, i, prep_corte_span_t);

        if (s->open) {
            s->live_until = n->to;
        }
        /* a span that ended before the period, or just as it began, was
         * not served in it */
        if (s->live_until < n->from ||
            (s->live_until == n->from && s->live_from < n->from && !s->open)) {
            continue;
        }
        *(prep_corte_span_t *)apr_array_push(n->cortes) = *s;
    }
    for (i = 0; i < r->waiting->nelts; i++) {
        prep_incident_t *in = incident_at(r, APR_ARRAY_IDX(r->waiting, i, int));

        in->affected = n->to - in->start > r->interval;
    }
    for (i = 0; i < r->incidents->nelts; i++) {
        prep_incident_t *in = incident_at(r, i);

        if (in->open) {
            in->end = n->to;
        }
        if (in->end < n->from ||
            (in->end == n->from && in->start < n->from && !in->open)) {
            continue;
        }
        if (in->start < n->from) {
            in->start = n->from;
            in->began_before = 1;
        }
        *(prep_incident_t *)apr_array_push(n->incidents) = *in;
    }
    n->period_time = n->to - n->from;
    n->served_time = n->stale_time = 0;
    for (i = 0; i < n->cortes->nelts; i++) {
        const prep_corte_span_t *s =
            &APR_ARRAY_IDX(n->cortes, i, prep_corte_span_t);

        n->served_time += overlap(s->live_from, s->live_until, n->from, n->to);
        for (j = 0; j < n->incidents->nelts; j++) {
            const prep_incident_t *in =
                &APR_ARRAY_IDX(n->incidents, j, prep_incident_t);

            if (in->kind == PREP_INCIDENT_STALE) {
                apr_time_t a =
                    in->start > s->live_from ? in->start : s->live_from;
                apr_time_t b =
                    in->end < s->live_until ? in->end : s->live_until;

                n->stale_time += overlap(a, b, n->from, n->to);
            }
        }
    }
    n->availability =
        n->period_time > 0
            ? (double)(n->served_time - n->stale_time) / (double)n->period_time
            : -1;
}

apr_status_t prep_night_read(prep_night_t **night, const char *store,
                             const prep_night_options_t *o, apr_pool_t *p)
{
    prep_night_t *n = apr_pcalloc(p, sizeof(*n));
    reading_t r;
    apr_status_t rv;

    n->cortes = apr_array_make(p, 32, sizeof(prep_corte_span_t));
    n->incidents = apr_array_make(p, 32, sizeof(prep_incident_t));
    n->from = o->from;
    n->to = o->to;
    n->availability = -1;
    *night = n;
    if (!has_journal(store, p)) {
        return APR_SUCCESS;
    }
    n->journal_found = 1;
    memset(&r, 0, sizeof(r));
    r.p = p;
    r.to = o->to;
    r.spans = apr_array_make(p, 32, sizeof(prep_corte_span_t));
    r.incidents = apr_array_make(p, 32, sizeof(prep_incident_t));
    r.waiting = apr_array_make(p, 8, sizeof(int));
    r.served = r.stale = r.store = r.damaged = r.pinned = -1;
    r.interval =
        o->update_interval > 0 ? o->update_interval : apr_time_from_sec(5 * 60);
    rv = prep_journal_each(store, 0, take_line, &r, &n->bad_lines, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    n->lines = r.lines;
    if (!n->from) {
        n->from = r.first;
    }
    if (!n->to) {
        n->to = r.last;
    }
    if (n->to < n->from) {
        n->to = n->from; /* a period with no line in it: empty */
    }
    cut_to_period(n, &r);
    return APR_SUCCESS;
}

int prep_night_corte_at(const prep_night_t *n, apr_time_t t)
{
    int lo = 0, hi = n->cortes->nelts - 1, found = -1;
    const prep_corte_span_t *s;

    /* the last span that went live at or before t */
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;

        if (APR_ARRAY_IDX(n->cortes, mid, prep_corte_span_t).live_from <= t) {
            found = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    if (found < 0) {
        return -1;
    }
    s = &APR_ARRAY_IDX(n->cortes, found, prep_corte_span_t);
    return s->open || t < s->live_until ? found : -1;
}

/* --- JSON ------------------------------------------------------------ */

static const prep_zone_t utc = {0, "UTC"};

static json_t *time_json(apr_time_t t, const prep_zone_t *z, apr_pool_t *p)
{
    return t ? json_string(prep_time_iso(p, t, z)) : json_null();
}

static json_t *str_json(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_int_t seconds(apr_interval_time_t d)
{
    return (json_int_t)apr_time_sec(d > 0 ? d : 0);
}

json_t *prep_night_to_json(const prep_night_t *n, const prep_zone_t *z,
                           apr_pool_t *p)
{
    json_t *doc = json_object(), *o, *a;
    int i;

    z = z ? z : &utc;
    o = json_object();
    json_object_set_new(o, "found", json_boolean(n->journal_found));
    json_object_set_new(o, "lines", json_integer((json_int_t)n->lines));
    json_object_set_new(o, "bad_lines", json_integer((json_int_t)n->bad_lines));
    json_object_set_new(doc, "journal", o);
    o = json_object();
    json_object_set_new(o, "from", time_json(n->from, z, p));
    json_object_set_new(o, "to", time_json(n->to, z, p));
    json_object_set_new(o, "seconds", json_integer(seconds(n->period_time)));
    json_object_set_new(doc, "period", o);
    o = json_object();
    json_object_set_new(o, "ratio",
                        n->availability >= 0 ? json_real(n->availability)
                                             : json_null());
    json_object_set_new(o, "served_s", json_integer(seconds(n->served_time)));
    json_object_set_new(o, "stale_s", json_integer(seconds(n->stale_time)));
    json_object_set_new(doc, "availability", o);
    a = json_array();
    for (i = 0; i < n->cortes->nelts; i++) {
        const prep_corte_span_t *s =
            &APR_ARRAY_IDX(n->cortes, i, prep_corte_span_t);

        o = json_object();
        json_object_set_new(o, "id", json_string(s->id));
        json_object_set_new(o, "time", time_json(s->corte_time, z, p));
        json_object_set_new(o, "package", str_json(s->package));
        json_object_set_new(o, "live_from", time_json(s->live_from, z, p));
        json_object_set_new(o, "live_until", time_json(s->live_until, z, p));
        json_object_set_new(
            o, "seconds", json_integer(seconds(s->live_until - s->live_from)));
        json_object_set_new(o, "open", json_boolean(s->open));
        json_object_set_new(o, "drill", json_boolean(s->drill));
        json_array_append_new(a, o);
    }
    json_object_set_new(doc, "cortes", a);
    a = json_array();
    for (i = 0; i < n->incidents->nelts; i++) {
        const prep_incident_t *in =
            &APR_ARRAY_IDX(n->incidents, i, prep_incident_t);

        o = json_object();
        json_object_set_new(o, "kind",
                            json_string(prep_incident_kind_name(in->kind)));
        json_object_set_new(o, "label",
                            json_string(prep_incident_label(in->kind)));
        json_object_set_new(o, "start", time_json(in->start, z, p));
        json_object_set_new(o, "end", time_json(in->end, z, p));
        json_object_set_new(o, "duration_s",
                            json_integer(seconds(in->end - in->start)));
        json_object_set_new(o, "began_before", json_boolean(in->began_before));
        json_object_set_new(o, "open", json_boolean(in->open));
        json_object_set_new(o, "affected", json_boolean(in->affected));
        json_object_set_new(o, "drill", json_boolean(in->drill));
        json_object_set_new(o, "package", str_json(in->package));
        json_object_set_new(o, "reason", str_json(in->reason));
        json_object_set_new(o, "message", str_json(in->message));
        json_object_set_new(o, "user", str_json(in->user));
        json_object_set_new(o, "corte", str_json(in->corte));
        json_array_append_new(a, o);
    }
    json_object_set_new(doc, "incidents", a);
    return doc;
}

/* --- CSV ------------------------------------------------------------- */

static const char *time_text(apr_time_t t, const prep_zone_t *z, apr_pool_t *p)
{
    return t ? prep_time_iso(p, t, z) : NULL;
}

static const char *yes_no(int b)
{
    return b ? "sí" : "no";
}

static const char *secs_text(apr_interval_time_t d, apr_pool_t *p)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)seconds(d));
}

apr_status_t prep_night_write_csv(const prep_night_t *n, const char *dir,
                                  const prep_zone_t *z, apr_pool_t *p)
{
    static const char *const corte_cols[] = {"corte",
                                             "hora_corte",
                                             "paquete",
                                             "publicado_desde",
                                             "publicado_hasta",
                                             "segundos",
                                             "vigente_al_final",
                                             "simulacro",
                                             NULL};
    static const char *const incident_cols[] = {"tipo",
                                                "descripcion",
                                                "inicio",
                                                "fin",
                                                "duracion_s",
                                                "inicio_antes_del_periodo",
                                                "abierta_al_final",
                                                "afecto_la_publicacion",
                                                "simulacro",
                                                "paquete",
                                                "motivo",
                                                "mensaje",
                                                "usuario",
                                                "corte",
                                                NULL};
    prep_csv_t c;
    apr_status_t rv;
    int i;

    z = z ? z : &utc;
    memset(&c, 0, sizeof(c));
    c.text.p = p;
    prep_csv_row(&c, corte_cols);
    for (i = 0; i < n->cortes->nelts; i++) {
        const prep_corte_span_t *s =
            &APR_ARRAY_IDX(n->cortes, i, prep_corte_span_t);

        prep_csv_field(&c, s->id);
        prep_csv_field(&c, time_text(s->corte_time, z, p));
        prep_csv_field(&c, s->package);
        prep_csv_field(&c, time_text(s->live_from, z, p));
        prep_csv_field(&c, time_text(s->live_until, z, p));
        prep_csv_field(&c, secs_text(s->live_until - s->live_from, p));
        prep_csv_field(&c, yes_no(s->open));
        prep_csv_field(&c, yes_no(s->drill));
        prep_csv_row(&c, NULL);
    }
    if ((rv = prep_csv_write(&c, dir, PREP_NIGHT_CSV_CORTES)) != APR_SUCCESS) {
        return rv;
    }
    memset(&c, 0, sizeof(c));
    c.text.p = p;
    prep_csv_row(&c, incident_cols);
    for (i = 0; i < n->incidents->nelts; i++) {
        const prep_incident_t *in =
            &APR_ARRAY_IDX(n->incidents, i, prep_incident_t);

        prep_csv_field(&c, prep_incident_kind_name(in->kind));
        prep_csv_field(&c, prep_incident_label(in->kind));
        prep_csv_field(&c, time_text(in->start, z, p));
        prep_csv_field(&c, time_text(in->end, z, p));
        prep_csv_field(&c, secs_text(in->end - in->start, p));
        prep_csv_field(&c, yes_no(in->began_before));
        prep_csv_field(&c, yes_no(in->open));
        prep_csv_field(&c, yes_no(in->affected));
        prep_csv_field(&c, yes_no(in->drill));
        prep_csv_field(&c, in->package);
        prep_csv_field(&c, in->reason);
        prep_csv_field(&c, in->message);
        prep_csv_field(&c, in->user);
        prep_csv_field(&c, in->corte);
        prep_csv_row(&c, NULL);
    }
    return prep_csv_write(&c, dir, PREP_NIGHT_CSV_INCIDENTS);
}
