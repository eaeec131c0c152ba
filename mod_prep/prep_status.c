/* prep_status.c — the state of a feed (and the one table of its names) and
 * its object in the status document (/prep-status): the corte served and
 * the recent history as corte records shown in the feed's zone, how old
 * the corte is, what was refused lately, what the intake does and the
 * traffic, the journal's counters; and the operator's part: pinned (and the
 * newest corte kept), drill, the close, and the last events of the feed's
 * journal. */
#include <apr_strings.h>
#include <jansson.h>

#include "prep.h"

const char *prep_feed_state_text(prep_feed_state_e s)
{
    static const char *const names[PREP_FEED_STATES] = {
        "waiting", "embargoed", "serving", "stale", "pinned", "closed"};

    return s < PREP_FEED_STATES ? names[s] : names[PREP_FEED_WAITING];
}

prep_feed_state_e prep_feed_state(const prep_feed_t *f,
                                  const prep_corte_t *current,
                                  const struct prep_control *ctl,
                                  apr_time_t now)
{
    apr_time_t closed_at = prep_feed_closed_at(f, ctl);

    /* Once the operation has ended the last corte stays served for weeks:
     * never stale, whatever else holds. */
    if (closed_at && now >= closed_at) {
        return PREP_FEED_CLOSED;
    }
    /* A drill publishes the election day's cortes before their day; else
     * nothing is served before PrepPublishFrom, pinned or not. */
    if (f->publish_from && now < f->publish_from && !prep_feed_drill(f, ctl)) {
        return PREP_FEED_EMBARGOED;
    }
    /* The operator chose the corte served: no age makes it stale. */
    if (ctl && ctl->pin) {
        return PREP_FEED_PINNED;
    }
    if (!current) {
        return PREP_FEED_WAITING;
    }
    if (now - current->loaded_at > 3 * f->interval) {
        return PREP_FEED_STALE;
    }
    return PREP_FEED_SERVING;
}

int prep_feed_state_healthy(prep_feed_state_e s)
{
    return s == PREP_FEED_SERVING || s == PREP_FEED_PINNED ||
           s == PREP_FEED_CLOSED;
}

static json_t *iso_or_null(apr_pool_t *p, apr_time_t t, const prep_zone_t *z)
{
    return t ? json_string(prep_time_iso(p, t, z)) : json_null();
}

/* state.json keeps the time of a refusal as epoch seconds; the document
 * shows it in the feed's zone. */
static json_t *shown_rejected(const json_t *list, const prep_zone_t *z,
                              apr_pool_t *p)
{
    json_t *out = json_array(), *item;
    size_t i;

    json_array_foreach(list, i, item)
    {
        json_t *copy = json_deep_copy(item);
        json_t *at = json_object_get(copy, "at");

        if (json_is_integer(at)) {
            json_object_set_new(
                copy, "at",
                iso_or_null(p, apr_time_from_sec(json_integer_value(at)), z));
        }
        json_array_append_new(out, copy);
    }
    return out;
}

/* The corte records of the history, as the document shows a corte. */
static json_t *shown_history(const json_t *list, const prep_zone_t *z,
                             apr_pool_t *p)
{
    json_t *out = json_array(), *item;
    size_t i;

    json_array_foreach(list, i, item)
    {
        prep_corte_t *c;

        if (prep_corte_from_json(&c, item, p) == APR_SUCCESS) {
            json_array_append_new(out, prep_corte_to_json(c, z, p));
        }
    }
    return out;
}

const char *prep_integrity_text(prep_integrity_e i)
{
    static const char *const names[] = {"unchecked", "ok", "damaged", "healed"};

    return i <= PREP_INTEGRITY_HEALED ? names[i] : "unchecked";
}

/* "loading", "incoming_ignored" and "integrity": what the intake does. */
static void status_intake(json_t *doc, const prep_feed_t *f,
                          const prep_feed_runtime_t *rt, apr_time_t now,
                          apr_pool_t *p)
{
    json_t *o, *list = json_array();
    int i;

    if (rt->loading) {
        o = json_object();
        json_object_set_new(o, "package", json_string(rt->loading));
        json_object_set_new(o, "since",
                            iso_or_null(p, rt->loading_since, &f->zone));
        json_object_set_new(
            o, "age_s", json_integer(apr_time_sec(now - rt->loading_since)));
        json_object_set_new(doc, "loading", o);
    } else {
        json_object_set_new(doc, "loading", json_null());
    }
    for (i = 0; rt->ignored && i < rt->ignored->nelts; i++) {
        const prep_ignored_t *g =
            &APR_ARRAY_IDX(rt->ignored, i, prep_ignored_t);

        o = json_object();
        json_object_set_new(o, "name", json_string(g->name));
        json_object_set_new(o, "why", json_string(g->why));
        json_array_append_new(list, o);
    }
    json_object_set_new(doc, "incoming_ignored", list);
    json_object_set_new(doc, "incoming_ignored_count",
                        json_integer((json_int_t)rt->nignored));
    o = json_object();
    json_object_set_new(o, "state",
                        json_string(prep_integrity_text(rt->integrity)));
    json_object_set_new(o, "audited_at",
                        iso_or_null(p, rt->audited_at, &f->zone));
    json_object_set_new(o, "since", iso_or_null(p, rt->integrity_at, &f->zone));
    json_object_set_new(o, "detail",
                        rt->integrity_detail ? json_string(rt->integrity_detail)
                                             : json_null());
    json_object_set_new(doc, "integrity", o);
}

/* "pinned", "newest", "drill", "publish_until", "closed_at", "watch" and
 * "events": what the operator decided and what the feed's journal says. */
static void status_operator(json_t *doc, const prep_feed_t *f,
                            const prep_feed_runtime_t *rt, apr_time_t now,
                            apr_pool_t *p)
{
    const prep_control_t *ctl = rt->control;
    int pinned = ctl && ctl->pin;
    apr_time_t closed_at = prep_feed_closed_at(f, ctl);

    json_object_set_new(doc, "pinned", json_boolean(pinned));
    json_object_set_new(doc, "newest",
                        pinned && rt->newest
                            ? prep_corte_to_json(rt->newest, &f->zone, p)
                            : json_null());
    json_object_set_new(doc, "drill", json_boolean(prep_feed_drill(f, ctl)));
    json_object_set_new(doc, "publish_until",
                        iso_or_null(p, f->publish_until, &f->zone));
    /* A PrepPublishUntil still ahead is shown as publish_until alone; a
     * prepctl close is shown at once. */
    if (closed_at && (now >= closed_at || (ctl && ctl->closed_at))) {
        json_object_set_new(doc, "closed_at",
                            iso_or_null(p, closed_at, &f->zone));
    } else {
        json_object_set_new(doc, "closed_at", json_null());
    }
    json_object_set_new(doc, "watch",
                        json_string(rt->watch ? rt->watch : "poll"));
    json_object_set_new(doc, "watch_reason",
                        rt->watch_reason ? json_string(rt->watch_reason)
                                         : json_null());
    json_object_set_new(doc, "events",
                        prep_journal_tail(f->store, PREP_STATUS_EVENTS, p));
}

/* "counters": what STORE/counters.json says, the journal counted. */
static json_t *status_counters(const prep_counters_t *c)
{
    json_t *doc = json_object(), *loads = json_object();
    json_t *refusals = json_object();
    int i;

    for (i = 0; i < PREP_COUNTED_RESULTS; i++) {
        json_object_set_new(loads, prep_counted_text((prep_counted_e)i),
                            json_integer((json_int_t)c->loads[i]));
    }
    json_object_set_new(doc, "loads", loads);
    for (i = 0; c->refusals && i < c->refusals->nelts; i++) {
        const prep_reason_count_t *r =
            &APR_ARRAY_IDX(c->refusals, i, prep_reason_count_t);

        json_object_set_new(refusals, r->reason,
                            json_integer((json_int_t)r->count));
    }
    json_object_set_new(doc, "refusals", refusals);
    json_object_set_new(doc, "intake_restarts",
                        json_integer((json_int_t)c->intake_restarts));
    json_object_set_new(doc, "last_load_ms",
                        c->last_load_at
                            ? json_integer((json_int_t)c->last_load_ms)
                            : json_null());
    return doc;
}

json_t *prep_status_feed(const prep_feed_t *f, const prep_corte_t *c,
                         const prep_feed_runtime_t *rt, apr_time_t now,
                         apr_pool_t *p)
{
    json_t *doc = json_object(), *traffic = json_object();
    json_t *state = prep_store_read_state(f->store, p);

    json_object_set_new(doc, "name", json_string(f->name));
    json_object_set_new(doc, "state",
                        json_string(prep_feed_state_text(rt->state)));
    json_object_set_new(doc, "corte",
                        c ? prep_corte_to_json(c, &f->zone, p) : json_null());
    json_object_set_new(doc, "age_s",
                        c ? json_integer(apr_time_sec(now - c->time))
                          : json_null());
    json_object_set_new(doc, "last_poll",
                        iso_or_null(p, rt->last_poll, &f->zone));
    json_object_set_new(doc, "publish_from",
                        iso_or_null(p, f->publish_from, &f->zone));
    if (rt->problem) {
        json_t *problem = json_object();
        json_object_set_new(problem, "message", json_string(rt->problem));
        json_object_set_new(problem, "at",
                            iso_or_null(p, rt->problem_at, &f->zone));
        json_object_set_new(doc, "problem", problem);
    } else {
        json_object_set_new(doc, "problem", json_null());
    }
    status_operator(doc, f, rt, now, p);
    status_intake(doc, f, rt, now, p);
    json_object_set_new(doc, "update_interval_s",
                        json_integer(apr_time_sec(f->interval)));
    json_object_set_new(
        doc, "rejected",
        shown_rejected(json_object_get(state, "rejected"), &f->zone, p));
    json_object_set_new(
        doc, "history",
        shown_history(json_object_get(state, "history"), &f->zone, p));
    json_object_set_new(traffic, "requests",
                        json_integer((json_int_t)rt->requests));
    json_object_set_new(traffic, "bytes", json_integer((json_int_t)rt->bytes));
    json_object_set_new(traffic, "not_modified",
                        json_integer((json_int_t)rt->not_modified));
    json_object_set_new(traffic, "not_found",
                        json_integer((json_int_t)rt->not_found));
    json_object_set_new(doc, "traffic", traffic);
    if (rt->counters) {
        json_object_set_new(doc, "counters", status_counters(rt->counters));
    }
    json_decref(state);
    return doc;
}
