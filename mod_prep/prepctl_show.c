/* prepctl_show.c — what prepctl shows of a live feed, read from its store
 * only: `status` (one screen per feed for a terminal on election night, or
 * the feed's object of the status document), `cortes` (the retained cortes,
 * the one served marked) and `events` (the journal).  The state is the
 * module's own (prep_feed_state over the control and the corte served). */
#include <stdlib.h>
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <jansson.h>

#include "prepctl.h"

/* How much of an event's detail the status shows on its line. */
#define STATUS_DETAIL_MAX 64
/* How many refusals and events the status shows. */
#define STATUS_REFUSALS 3
#define STATUS_EVENTS   5

/* "2024-06-02 21:05:00": a time on a screen whose zone is said once. */
static const char *shown_time(apr_pool_t *p, apr_time_t t, const prep_zone_t *z)
{
    apr_time_exp_t tm;

    if (!t) {
        return "-";
    }
    apr_time_exp_tz(&tm, t, z->offset_s);
    return apr_psprintf(p, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                        tm.tm_sec);
}

/* "45 s", "12 min", "3 h 05 min", "4 d": how long ago. */
static const char *age_text(apr_pool_t *p, apr_interval_time_t d)
{
    apr_int64_t s = apr_time_sec(d);

    if (s < 0) {
        return apr_psprintf(p, "%" APR_INT64_T_FMT " s ahead of the clock", -s);
    }
    if (s < 60) {
        return apr_psprintf(p, "%" APR_INT64_T_FMT " s", s);
    }
    if (s < 120 * 60) {
        return apr_psprintf(p, "%" APR_INT64_T_FMT " min", s / 60);
    }
    if (s < 48 * 3600) {
        return apr_psprintf(p, "%" APR_INT64_T_FMT " h %02d min", s / 3600,
                            (int)(s % 3600 / 60));
    }
    return apr_psprintf(p, "%" APR_INT64_T_FMT " d", s / 86400);
}

/* "Tiempo del Centro, UTC-06:00" */
static const char *zone_text(apr_pool_t *p, const prep_zone_t *z)
{
    return apr_psprintf(p, "%s%sUTC%s", z->name ? z->name : "",
                        z->name && *z->name ? ", " : "",
                        prep_zone_offset_text(p, z));
}

static const char *upper(apr_pool_t *p, const char *word)
{
    char *s = apr_pstrdup(p, word), *c;

    for (c = s; *c; c++) {
        *c = apr_toupper(*c);
    }
    return s;
}

static const char *cut(apr_pool_t *p, const char *text, apr_size_t max)
{
    if (strlen(text) <= max) {
        return text;
    }
    return apr_pstrcat(p, apr_pstrndup(p, text, max - 3), "...", NULL);
}

/* Writes doc (taken) to out as one JSON text and a newline: PREPCTL_DONE,
 * or PREPCTL_REFUSED when the text cannot be made. */
static int print_json(FILE *out, json_t *doc, size_t flags)
{
    char *text = json_dumps(doc, flags);

    json_decref(doc);
    if (!text) {
        return PREPCTL_REFUSED;
    }
    fprintf(out, "%s\n", text);
    free(text);
    return PREPCTL_DONE;
}

/* ------------------------------------------------------------------ */
/* An event's detail: its fields after at, feed and event, each in a few
 * words, so that any event (and any field a later version adds) shows. */

static const char *scalar_text(apr_pool_t *p, const json_t *v)
{
    if (json_is_string(v)) {
        return json_string_value(v);
    }
    if (json_is_integer(v)) {
        return apr_psprintf(p, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    }
    if (json_is_true(v) || json_is_false(v)) {
        return json_is_true(v) ? "true" : "false";
    }
    if (json_is_real(v)) {
        return apr_psprintf(p, "%g", json_real_value(v));
    }
    return NULL;
}

/* A corte as an event shows it: "ID (corte TIME)". */
static const char *corte_words(apr_pool_t *p, const json_t *c)
{
    const char *id = scalar_text(p, json_object_get(c, PREP_CORTE_KEY_ID));
    const char *t = scalar_text(p, json_object_get(c, PREP_CORTE_KEY_TIME));

    return apr_psprintf(p, "%s%s%s%s", id ? id : "?", t ? " (corte " : "",
                        t ? t : "", t ? ")" : "");
}

static const char *field_words(apr_pool_t *p, const char *key, const json_t *v)
{
    const char *s;

    if (!strcmp(key, PREP_JOURNAL_KEY_CORTE) && json_is_object(v)) {
        return corte_words(p, v);
    }
    if (json_is_null(v)) {
        return NULL;
    }
    if (!(s = scalar_text(p, v))) {
        char *dump = json_dumps(v, JSON_COMPACT);

        s = dump ? apr_pstrdup(p, dump) : "?";
        free(dump);
    }
    if (!strcmp(key, PREP_JOURNAL_KEY_USER)) {
        return apr_pstrcat(p, "by ", s, NULL);
    }
    if (!strcmp(key, "from")) {
        return apr_pstrcat(p, "from ", s, NULL);
    }
    if (!strcmp(key, PREP_JOURNAL_KEY_PACKAGE) ||
        !strcmp(key, PREP_JOURNAL_KEY_REASON) ||
        !strcmp(key, PREP_JOURNAL_KEY_MESSAGE)) {
        return s;
    }
    return apr_pstrcat(p, key, "=", s, NULL);
}

static const char *event_detail(apr_pool_t *p, json_t *line)
{
    const char *detail =
        json_is_true(json_object_get(line, PREP_JOURNAL_KEY_DRILL)) ? "[drill]"
                                                                    : "";
    const char *corte_id = json_string_value(json_object_get(
        json_object_get(line, PREP_JOURNAL_KEY_CORTE), PREP_CORTE_KEY_ID));
    const char *key;
    json_t *v;

    json_object_foreach(line, key, v)
    {
        const char *w;

        if (!strcmp(key, PREP_JOURNAL_KEY_AT) ||
            !strcmp(key, PREP_JOURNAL_KEY_FEED) ||
            !strcmp(key, PREP_JOURNAL_KEY_EVENT) ||
            !strcmp(key, PREP_JOURNAL_KEY_DRILL)) {
            continue;
        }
        if (!strcmp(key, "to") && json_is_string(v) &&
            !strcmp(json_string_value(v), corte_id ? corte_id : "")) {
            continue; /* the corte it names is shown already */
        }
        if ((w = field_words(p, key, v))) {
            detail = *detail ? apr_pstrcat(p, detail, " ", w, NULL) : w;
        }
    }
    return detail;
}

static const char *event_name(json_t *line)
{
    const char *e =
        json_string_value(json_object_get(line, PREP_JOURNAL_KEY_EVENT));

    return e ? e : "?";
}

/* ------------------------------------------------------------------ */
/* status */

/* What prepctl knows of a feed from its store. */
typedef struct feed_now {
    const char *id; /* the corte served, or NULL */
    prep_corte_t *corte;
    prep_corte_t *newest;
    prep_control_t control;
    prep_feed_state_e state;
} feed_now_t;

static void feed_now_read(feed_now_t *n, const prepctl_view_t *v, apr_pool_t *p)
{
    const prep_feed_t *f = v->feed;
    int fallback = 0;

    memset(n, 0, sizeof(*n));
    if (prep_control_read(&n->control, f->store, p) != APR_SUCCESS) {
        fprintf(stderr, "prepctl: ");
        fprintf(stderr, _("%s/%s cannot be read: the feed is shown without it"),
                f->store, PREP_CONTROL_FILE);
        fputc('\n', stderr);
    }
    prep_store_serving(&n->id, &n->corte, &fallback, f->store, p);
    n->newest = prep_store_newest(f->store, p);
    n->state = prep_feed_state(f, n->corte, &n->control, v->now);
}

static void status_corte(FILE *out, const char *what, const prep_corte_t *c,
                         const prepctl_view_t *v, apr_pool_t *p)
{
    const prep_zone_t *z = &v->feed->zone;

    fprintf(out, "  %-10s %s  %s  (%s old)  %s\n", what, c->id,
            shown_time(p, c->time, z), age_text(p, v->now - c->time),
            c->package ? c->package : "");
}

/* Closed at, or closes at (PrepPublishUntil ahead), or "-". */
static void status_close(FILE *out, const prep_feed_t *f,
                         const prep_control_t *ctl, apr_time_t now,
                         apr_pool_t *p)
{
    apr_time_t at = prep_feed_closed_at(f, ctl);

    if (!at) {
        fprintf(out, "  %-10s -\n", "closed");
        return;
    }
    fprintf(out, "  %-10s %s %s (%s)\n", "closed",
            at <= now ? "at" : "no; closes at", shown_time(p, at, &f->zone),
            ctl->closed_at == at ? "prepctl close" : "PrepPublishUntil");
}

/* The last refusals of state.json, newest first. */
static void status_refusals(FILE *out, const prep_feed_t *f, apr_pool_t *p)
{
    json_t *state = prep_store_read_state(f->store, p);
    json_t *list = json_object_get(state, "rejected"), *r;
    size_t i;

    fprintf(out, "  %-10s %s\n", "refused", json_array_size(list) ? "" : "-");
    json_array_foreach(list, i, r)
    {
        json_t *at = json_object_get(r, "at");
        const char *msg = json_string_value(json_object_get(r, "message"));

        if (i >= STATUS_REFUSALS) {
            break;
        }
        fprintf(out, "    %s  %s  %s: %s\n",
                json_is_integer(at)
                    ? shown_time(p, apr_time_from_sec(json_integer_value(at)),
                                 &f->zone)
                    : "?",
                scalar_text(p, json_object_get(r, "reason")) ?: "?",
                scalar_text(p, json_object_get(r, "package")) ?: "?",
                cut(p, msg ? msg : "", STATUS_DETAIL_MAX));
    }
    json_decref(state);
}

static void status_events(FILE *out, const prep_feed_t *f, apr_pool_t *p)
{
    json_t *tail = prep_journal_tail(f->store, STATUS_EVENTS, p), *line;
    size_t i;

    fprintf(out, "  %-10s %s\n", "events", json_array_size(tail) ? "" : "-");
    json_array_foreach(tail, i, line)
    {
        const char *at =
            json_string_value(json_object_get(line, PREP_JOURNAL_KEY_AT));
        apr_time_t t = 0;

        if (!at || prep_journal_time(&t, at) != APR_SUCCESS) {
            t = 0;
        }
        fprintf(out, "    %s  %-14s %s\n", shown_time(p, t, &f->zone),
                event_name(line),
                cut(p, event_detail(p, line), STATUS_DETAIL_MAX));
    }
    json_decref(tail);
}

static int status_json(FILE *out, const prepctl_view_t *v, const feed_now_t *n,
                       apr_pool_t *p)
{
    prep_feed_runtime_t rt;
    json_t *doc;

    memset(&rt, 0, sizeof(rt));
    rt.state = n->state;
    rt.control = &n->control;
    rt.newest = n->state == PREP_FEED_PINNED ? n->newest : NULL;
    rt.integrity = PREP_INTEGRITY_UNCHECKED;
    doc = prep_status_feed(v->feed, n->corte, &rt, v->now, p);
    return print_json(out, doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

int prepctl_show_status(FILE *out, const prepctl_view_t *v, apr_pool_t *p)
{
    const prep_feed_t *f = v->feed;
    feed_now_t n;

    feed_now_read(&n, v, p);
    if (v->json) {
        return status_json(out, v, &n, p);
    }
    fprintf(out, "%s  %s  (times in %s)\n", f->name,
            upper(p, prep_feed_state_text(n.state)), zone_text(p, &f->zone));
    if (n.corte) {
        status_corte(out, "corte", n.corte, v, p);
    } else {
        fprintf(out, "  %-10s none served\n", "corte");
    }
    if (n.control.pin) {
        fprintf(out, "  %-10s yes, at %s since %s\n", "pinned", n.control.pin,
                shown_time(p, n.control.pinned_at, &f->zone));
        if (n.newest) {
            status_corte(out, "newest", n.newest, v, p);
        }
    } else {
        fprintf(out, "  %-10s no\n", "pinned");
    }
    fprintf(out, "  %-10s %s\n", "drill",
            prep_feed_drill(f, &n.control) ? "yes (SIMULACRO)" : "no");
    if (n.state == PREP_FEED_EMBARGOED) {
        fprintf(out, "  %-10s until %s\n", "embargo",
                shown_time(p, f->publish_from, &f->zone));
    }
    status_close(out, f, &n.control, v->now, p);
    status_refusals(out, f, p);
    status_events(out, f, p);
    return PREPCTL_DONE;
}

/* ------------------------------------------------------------------ */
/* cortes */

static int cortes_json(FILE *out, const prepctl_view_t *v,
                       apr_array_header_t *cortes, const char *served,
                       const prep_corte_t *newest, apr_pool_t *p)
{
    json_t *doc = json_object(), *list = json_array();
    int i;

    json_object_set_new(doc, "feed", json_string(v->feed->name));
    json_object_set_new(doc, "served",
                        served ? json_string(served) : json_null());
    json_object_set_new(doc, "newest",
                        newest ? json_string(newest->id) : json_null());
    for (i = 0; i < cortes->nelts; i++) {
        const prep_corte_t *c = APR_ARRAY_IDX(cortes, i, prep_corte_t *);
        json_t *o = prep_corte_to_json(c, &v->feed->zone, p);

        json_object_set_new(o, "served",
                            json_boolean(served && !strcmp(served, c->id)));
        json_array_append_new(list, o);
    }
    json_object_set_new(doc, "cortes", list);
    return print_json(out, doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
}

int prepctl_show_cortes(FILE *out, const prepctl_view_t *v, apr_pool_t *p)
{
    const prep_zone_t *z = &v->feed->zone;
    apr_array_header_t *cortes = prep_store_cortes(v->feed->store, p);
    prep_corte_t *newest = prep_store_newest(v->feed->store, p), *c;
    const char *served = NULL;
    int fallback = 0, wpkg = (int)strlen("PACKAGE"), i;

    prep_store_serving(&served, &c, &fallback, v->feed->store, p);
    if (v->json) {
        return cortes_json(out, v, cortes, served, newest, p);
    }
    for (i = 0; i < cortes->nelts; i++) {
        c = APR_ARRAY_IDX(cortes, i, prep_corte_t *);
        if (c->package && (int)strlen(c->package) > wpkg) {
            wpkg = (int)strlen(c->package);
        }
    }
    fprintf(out, "%s: %d corte(s) retained, * served (times in %s)\n",
            v->feed->name, cortes->nelts, zone_text(p, z));
    fprintf(out, "  %-25s  %-19s  %-*s  %-12s  %6s  %s\n", "ID", "CORTE TIME",
            wpkg, "PACKAGE", "SHA256", "FILES", "LOADED AT");
    for (i = 0; i < cortes->nelts; i++) {
        int is_served, is_newest;

        c = APR_ARRAY_IDX(cortes, i, prep_corte_t *);
        is_served = served && !strcmp(served, c->id);
        is_newest = newest && !strcmp(newest->id, c->id);
        fprintf(out,
                "%c %-25s  %-19s  %-*s  %-12.12s  %6" APR_UINT64_T_FMT
                "  %-19s%s\n",
                is_served ? '*' : ' ', c->id, shown_time(p, c->time, z), wpkg,
                c->package ? c->package : "", c->sha256 ? c->sha256 : "",
                c->files, shown_time(p, c->loaded_at, z),
                is_newest ? "  newest" : "");
    }
    if (fallback && served) {
        fprintf(out, "(current names no usable corte: %s is served)\n", served);
    }
    return PREPCTL_DONE;
}

/* ------------------------------------------------------------------ */
/* events */

typedef struct events_out {
    FILE *out;
    int json;
    apr_pool_t *p;
} events_out_t;

static apr_status_t event_line(void *baton, json_t *line)
{
    events_out_t *e = baton;
    const char *at =
        json_string_value(json_object_get(line, PREP_JOURNAL_KEY_AT));

    if (e->json) {
        char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);

        if (text) {
            fprintf(e->out, "%s\n", text);
            free(text);
        }
        return APR_SUCCESS;
    }
    fprintf(e->out, "%s %-14s %s\n", at ? at : "?", event_name(line),
            event_detail(e->p, line));
    return APR_SUCCESS;
}

int prepctl_show_events(FILE *out, const prepctl_view_t *v, apr_pool_t *p)
{
    events_out_t e = {out, v->json, p};
    apr_uint64_t bad = 0;
    apr_status_t rv;

    rv = prep_journal_each(v->feed->store, v->since, event_line, &e, &bad, p);
    if (bad) {
        fprintf(stderr, "prepctl: ");
        fprintf(stderr,
                ngettext("%s line(s) of the journal of %s could not be read",
                         "%s line(s) of the journal of %s could not be read",
                         (unsigned long)(bad > 1000000 ? 1000000 : bad)),
                apr_psprintf(p, "%" APR_UINT64_T_FMT, bad), v->feed->name);
        fputc('\n', stderr);
    }
    if (rv != APR_SUCCESS) {
        return prepctl_refuse(_("the journal of %s cannot be read: %s"),
                              v->feed->name, apr_psprintf(p, "%pm", &rv));
    }
    return PREPCTL_DONE;
}
