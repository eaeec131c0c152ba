/* mod_prep_intake_follow.c — the served corte kept true between loads, in
 * the intake process: the corte to serve read from the store (falling back
 * to the newest readable one), what the operator did with prepctl
 * (STORE/control.json, STORE/current) followed into the feed's slot, the
 * clock (PrepPublishFrom, PrepPublishUntil passing), the banner's truth
 * (a republish when the served corte's banner state is not the feed's),
 * the audit of the served corte a slice per poll and the heal of a damaged
 * one, and staleness.  It writes the slot's served part only while no
 * loader runs (mod_prep_corte.c), plans republishes in intake_feed_t's
 * heal_* fields for poll_feed to run, and tells what it sees through
 * mod_prep_intake_journal.c; it starts no load itself. */
#include "httpd.h"
#include <sys/types.h>
#include <sys/stat.h>

#include <string.h>
#include <jansson.h>

#include "apr_strings.h"
#include "http_log.h"
#include "http_main.h"

#include "mod_prep_intake.h"

APLOG_USE_MODULE(prep);

/* The served corte is re-hashed at most this many bytes per poll (8 MB/s
 * at two polls a second), then again PrepAuditInterval after each pass. */
#define AUDIT_SLICE (4 * 1024 * 1024)

/* Asks for corte `id` to be published again from its package, retained in
 * STORE/processed, as soon as no load runs: once per corte (a second
 * failure is the operator's to decide).  The loader checks that the
 * package gives that very corte, to the whole SHA-256. */
static void plan_heal(intake_feed_t *in, const char *id, const char *package,
                      const char *sha256)
{
    if (!strcmp(in->heal_tried, id) || !package || !sha256) {
        return;
    }
    apr_cpystrn(in->heal_tried, id, sizeof(in->heal_tried));
    apr_cpystrn(in->heal_id, id, sizeof(in->heal_id));
    apr_cpystrn(in->heal_package, package, sizeof(in->heal_package));
    apr_cpystrn(in->heal_sha256, sha256, sizeof(in->heal_sha256));
    in->heal_why = NULL;
}

/* The same for a corte whose corte.json cannot be read: its package and
 * SHA-256 are those its record in the history names. */
static void plan_heal_from_history(intake_feed_t *in, const char *id)
{
    const char *store = in->feed->conf.store;
    prep_corte_t *c;

    if (prep_store_history_find(&c, store, id, in->corte_pool) == APR_SUCCESS &&
        *c->package && *c->sha256) {
        plan_heal(in, id, c->package, c->sha256);
    }
}

/* Reads the corte to serve into the feed's memory (publish_served puts it
 * in its shm slot): the store's current corte, or, when its corte.json or
 * index cannot be read, the newest one that can (never nothing while a
 * good corte exists). */
static void refresh_current(intake_feed_t *in, apr_pool_t *p)
{
    const char *id = NULL, *current = NULL;
    prep_corte_t *c = NULL;
    int fallback = 0;

    apr_pool_clear(in->corte_pool);
    if (prep_store_serving(&id, &c, &fallback, in->feed->conf.store,
                           in->corte_pool) != APR_SUCCESS) {
        id = NULL;
        c = NULL;
    }
    if (fallback) {
        prep_store_current(&current, in->feed->conf.store, in->corte_pool);
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, ap_server_conf,
                     "PREP0126: feed %s: the current corte %s cannot be read "
                     "(corte.json or index); serving %s instead",
                     in->feed->conf.name, current ? current : "?", id);
        prep_shm_set_problem(
            in->feed->shm, apr_psprintf(in->corte_pool,
                                        "the current corte %s cannot be read; "
                                        "serving %s",
                                        current ? current : "?", id));
        show_integrity(in, PREP_INTEGRITY_DAMAGED,
                       apr_psprintf(in->corte_pool,
                                    "corte %s: corte.json or index cannot be "
                                    "read",
                                    current ? current : "?"),
                       0);
        if (current && strcmp(in->damaged_id, current)) {
            prep_corte_t *recorded = NULL;
            json_t *fields = json_object();

            apr_cpystrn(in->damaged_id, current, sizeof(in->damaged_id));
            json_object_set_new(
                fields, PREP_JOURNAL_KEY_MESSAGE,
                json_string(apr_psprintf(p,
                                         "corte.json or index cannot be read; "
                                         "serving %s instead",
                                         id)));
            if (prep_store_history_find(&recorded, in->feed->conf.store,
                                        current, p) != APR_SUCCESS) {
                json_t *just_id = json_object();

                json_object_set_new(just_id, "id", json_string(current));
                json_object_set_new(fields, PREP_JOURNAL_KEY_CORTE, just_id);
                recorded = NULL;
            }
            journal_corte(in, PREP_EVENT_DAMAGED, recorded, fields, p);
        }
        if (current) {
            plan_heal_from_history(in, current);
        }
    }
    in->corte = c;
}

static void stamp_of(file_stamp_t *st, const char *path)
{
    struct stat sb;

    memset(st, 0, sizeof(*st));
    if (stat(path, &sb) != 0) {
        return;
    }
    st->exists = 1;
    st->dev = (apr_uint64_t)sb.st_dev;
    st->ino = (apr_uint64_t)sb.st_ino;
    st->size = (apr_off_t)sb.st_size;
    st->mtime_ns =
        (apr_int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
    st->ctime_ns =
        (apr_int64_t)sb.st_ctim.tv_sec * 1000000000 + sb.st_ctim.tv_nsec;
}

static void read_control(intake_feed_t *in)
{
    const prep_feed_t *f = &in->feed->conf;
    apr_status_t rv;

    apr_pool_clear(in->control_pool);
    rv = prep_control_read(&in->control, f->store, in->control_pool);
    if (rv != APR_SUCCESS && !in->control_bad) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, ap_server_conf,
                     "PREP0140: feed %s: cannot read %s/" PREP_CONTROL_FILE
                     "; serving as if the operator had set nothing",
                     f->name, f->store);
    }
    in->control_bad = rv != APR_SUCCESS;
    /* the journal's lines are marked while the feed runs a drill */
    in->journal.drill = prep_feed_drill(f, &in->control);
}

/* "pinned at ID", "drill", "closed at ISO", or "as configured". */
static const char *control_text(const prep_feed_t *f,
                                const prep_served_control_t *sc, apr_pool_t *p)
{
    const char *text = "";

    if (sc->pin[0]) {
        text = apr_pstrcat(p, "pinned at ", sc->pin, NULL);
    }
    if (sc->drill) {
        text = apr_pstrcat(p, text, *text ? ", " : "", "drill", NULL);
    }
    if (sc->closed_at) {
        text = apr_pstrcat(p, text, *text ? ", " : "", "closed at ",
                           prep_time_iso(p, sc->closed_at, &f->zone), NULL);
    }
    return *text ? text : "not pinned, no drill, no close";
}

/* Puts the corte served and the control it is served under in the feed's
 * slot, when either changed since it was last put there.  Only while no
 * loader runs (the slot has one writer at a time: mod_prep_corte.c). */
static void publish_served(intake_feed_t *in, apr_pool_t *p)
{
    const prep_feed_t *f = &in->feed->conf;
    const char *id = in->corte ? in->corte->id : "";
    prep_served_control_t sc;
    int id_changed, control_changed;

    prep_served_control_make(&sc, f, &in->control,
                             in->newest[0] ? in->newest : NULL);
    id_changed = strcmp(in->published_id, id) != 0;
    if (in->published && !id_changed &&
        !memcmp(&sc, &in->published_ctl, sizeof(sc))) {
        return;
    }
    /* the operator's word, not the newest corte a pinned feed retains */
    control_changed = strcmp(sc.pin, in->published_ctl.pin) ||
                      sc.drill != in->published_ctl.drill ||
                      sc.closed_at != in->published_ctl.closed_at;
    if (in->published && id_changed && !in->after_load) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, ap_server_conf,
                     "PREP0142: feed %s: serving %s%s", f->name,
                     *id ? "corte " : "no corte (the store has none to serve)",
                     id);
    }
    if (in->published && control_changed) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, ap_server_conf,
                     "PREP0141: feed %s: the operator's control: %s", f->name,
                     control_text(f, &sc, p));
    }
    prep_shm_publish_control(in->feed->shm, id, &sc);
    apr_cpystrn(in->published_id, id, sizeof(in->published_id));
    in->published_ctl = sc;
    in->published = 1;
}

/* Follows STORE/control.json and STORE/current (a prepctl rollback, pin,
 * unpin, reset, drill or close, or the end of a load) into the feed's
 * memory and slot: a stat of each per poll, a read when one changed. */
void follow_store(intake_feed_t *in, apr_pool_t *p)
{
    const char *store = in->feed->conf.store;
    file_stamp_t control, current;
    int control_changed, current_changed;

    stamp_of(&control, apr_pstrcat(p, store, "/" PREP_CONTROL_FILE, NULL));
    stamp_of(&current, apr_pstrcat(p, store, "/" PREP_CURRENT_FILE, NULL));
    control_changed =
        memcmp(&control, &in->control_stamp, sizeof(control)) != 0;
    current_changed =
        memcmp(&current, &in->current_stamp, sizeof(current)) != 0;
    if (!in->store_dirty && !control_changed && !current_changed) {
        return;
    }
    in->control_stamp = control;
    in->current_stamp = current;
    if (in->store_dirty || control_changed) {
        read_control(in);
    }
    if (in->store_dirty || current_changed) {
        refresh_current(in, p);
    }
    in->newest[0] = '\0';
    if (in->control.pin) {
        prep_corte_t *newest = prep_store_newest(store, p);

        if (newest) {
            apr_cpystrn(in->newest, newest->id, sizeof(in->newest));
        }
    }
    publish_served(in, p);
    in->store_dirty = 0;
    in->after_load = 0;
}

/* The times the configuration names: PrepPublishFrom passing while the
 * server runs lifts the embargo, PrepPublishUntil passing closes the feed
 * (unless prepctl close did before). */
void watch_clock(intake_feed_t *in, apr_time_t now, apr_pool_t *p)
{
    const prep_feed_t *f = &in->feed->conf;

    if (in->embargo_pending && now >= f->publish_from) {
        json_t *fields = json_object();
        const char *iso = prep_time_iso(p, f->publish_from, &f->zone);

        in->embargo_pending = 0;
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, ap_server_conf,
                     "PREP0143: feed %s: PrepPublishFrom %s has passed: the "
                     "embargo is lifted",
                     f->name, iso);
        json_object_set_new(fields, "publish_from", json_string(iso));
        journal(in, PREP_EVENT_EMBARGO_LIFTED, fields, p);
    }
    if (in->close_pending && now >= f->publish_until) {
        json_t *fields;

        in->close_pending = 0;
        if (in->control.closed_at &&
            in->control.closed_at <= f->publish_until) {
            return; /* closed by prepctl already, and journaled then */
        }
        fields = json_object();
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, ap_server_conf,
                     "PREP0144: feed %s: PrepPublishUntil %s has passed: the "
                     "feed is closed; %s stays served",
                     f->name, prep_time_iso(p, f->publish_until, &f->zone),
                     in->corte ? in->corte->id : "no corte");
        json_object_set_new(fields, "by", json_string("PrepPublishUntil"));
        journal_corte(in, PREP_EVENT_CLOSED, in->corte, fields, p);
    }
}

/* The banner must tell the truth: when the served corte's banner says
 * other than what the feed's state asks for (a drill switched on or off,
 * the operation closed), the corte is published again from its package,
 * as a damaged one is, with the banner of now; once per corte and state.
 * A damaged corte's republish goes first (it gives the new banner too). */
/* The served corte went live before its new variants were made and its
 * loader ended without making them (killed: PrepLoadTimeout, a stop): it
 * is published again from its package, once, and completed then. */
static int plan_completion(intake_feed_t *in)
{
    const prep_corte_t *c = in->corte;

    if (!c->variants_pending || !strcmp(in->complete_id, c->id)) {
        return 0;
    }
    apr_cpystrn(in->complete_id, c->id, sizeof(in->complete_id));
    ap_log_error(
        APLOG_MARK, APLOG_WARNING, 0, ap_server_conf,
        "PREP0179: feed %s: corte %s is served without the %" APR_UINT64_T_FMT
        " variants its load did not finish; publishing it again "
        "from its package",
        in->feed->conf.name, c->id, c->variants_pending);
    apr_cpystrn(in->heal_id, c->id, sizeof(in->heal_id));
    apr_cpystrn(in->heal_package, c->package, sizeof(in->heal_package));
    apr_cpystrn(in->heal_sha256, c->sha256, sizeof(in->heal_sha256));
    in->heal_why = "variants";
    return 1;
}

void plan_banner(intake_feed_t *in, apr_time_t now)
{
    const prep_corte_t *c = in->corte;
    unsigned want;

    if (!c || in->heal_id[0] || !*c->package || !*c->sha256 ||
        plan_completion(in)) {
        return;
    }
    want = prep_feed_banner_state(&in->feed->conf, &in->control, now);
    if (c->banner_state == want ||
        (!strcmp(in->banner_id, c->id) && in->banner_state == want)) {
        return;
    }
    apr_cpystrn(in->banner_id, c->id, sizeof(in->banner_id));
    in->banner_state = want;
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, ap_server_conf,
                 "PREP0145: feed %s: publishing corte %s again from its "
                 "package for its banner (%s)",
                 in->feed->conf.name, c->id,
                 want ? prep_banner_estado(want) : "the corte time alone");
    apr_cpystrn(in->heal_id, c->id, sizeof(in->heal_id));
    apr_cpystrn(in->heal_package, c->package, sizeof(in->heal_package));
    apr_cpystrn(in->heal_sha256, c->sha256, sizeof(in->heal_sha256));
    in->heal_why = "banner";
}

/* "json/main.json (gzip, banner 0, differs); …" */
static const char *audit_findings(const prep_audit_t *a, apr_pool_t *p)
{
    const apr_array_header_t *bad = prep_audit_bad(a);
    const apr_array_header_t *problems = prep_audit_problems(a);
    const char *text = "";
    int i;

    for (i = 0; i < problems->nelts; i++) {
        text = apr_pstrcat(p, text, i ? "; " : "",
                           APR_ARRAY_IDX(problems, i, const char *), NULL);
    }
    for (i = 0; i < bad->nelts && i < 20; i++) {
        const prep_audit_bad_t *b = &APR_ARRAY_IDX(bad, i, prep_audit_bad_t);

        text = apr_psprintf(p, "%s%s%s (%s, banner %u, %s)", text,
                            *text ? "; " : "", b->path,
                            prep_encoding_name(b->encoding), b->banner,
                            prep_audit_fault_name(b->fault));
    }
    if (bad->nelts > 20) {
        text = apr_psprintf(p, "%s; and %d more", text, bad->nelts - 20);
    }
    return text;
}

/* The served corte differs from what its load published: the error log
 * and the status say so, and the corte is published again from its
 * package retained in STORE/processed (the loader checks that it gives
 * that very corte), once per corte. */
static void corte_damaged(intake_feed_t *in, const char *findings,
                          apr_pool_t *p)
{
    const prep_corte_t *c = in->corte;

    ap_log_error(APLOG_MARK, APLOG_CRIT, 0, ap_server_conf,
                 "PREP0124: feed %s: corte %s differs from what was "
                 "published: %s",
                 in->feed->conf.name, c->id, findings);
    show_integrity(in, PREP_INTEGRITY_DAMAGED,
                   apr_psprintf(p, "corte %s: %s", c->id, findings), 0);
    if (strcmp(in->heal_tried, c->id)) {
        json_t *fields = json_object();

        json_object_set_new(fields, PREP_JOURNAL_KEY_MESSAGE,
                            json_string(findings));
        journal_corte(in, PREP_EVENT_DAMAGED, c, fields, p);
    }
    plan_heal(in, c->id, c->package, c->sha256);
}

/* One slice of the audit of the served corte (bounded I/O per poll). */
void audit_slice(intake_feed_t *in, apr_time_t now, apr_pool_t *p)
{
    const prep_corte_t *c = in->corte;
    int done = 0;

    if (!c || in->loader || in->feed->conf.audit_interval < 0) {
        return;
    }
    if (in->audit && strcmp(in->audit_id, c->id)) {
        apr_pool_clear(in->audit_pool); /* another corte is served now */
        in->audit = NULL;
    }
    if (!in->audit) {
        if (now < in->audit_next ||
            prep_audit_open(
                &in->audit,
                prep_store_corte_dir(p, in->feed->conf.store, c->id),
                in->audit_pool) != APR_SUCCESS) {
            in->audit = NULL;
            return;
        }
        apr_cpystrn(in->audit_id, c->id, sizeof(in->audit_id));
    }
    prep_audit_step(in->audit, AUDIT_SLICE, &done);
    if (!done) {
        return;
    }
    if (prep_audit_ok(in->audit)) {
        int healed = !strcmp(in->heal_tried, c->id);

        if (healed && strcmp(in->healed_id, c->id)) {
            apr_cpystrn(in->healed_id, c->id, sizeof(in->healed_id));
            journal_corte(in, PREP_EVENT_HEALED, c, NULL, p);
        }

        show_integrity(in, healed ? PREP_INTEGRITY_HEALED : PREP_INTEGRITY_OK,
                       healed ? apr_psprintf(p,
                                             "corte %s was damaged and has "
                                             "been published again from its "
                                             "package",
                                             c->id)
                              : NULL,
                       1);
    } else {
        corte_damaged(in, audit_findings(in->audit, p), p);
    }
    apr_pool_clear(in->audit_pool);
    in->audit = NULL;
    in->audit_next = now + in->feed->conf.audit_interval;
}

/* Stale once, and fresh again when a new corte ends it.  A closed or
 * pinned feed is never stale (prep_feed_state says closed and pinned
 * first): no warning once the operation has ended. */
void warn_if_stale(intake_feed_t *in, apr_time_t now, apr_pool_t *p)
{
    const prep_corte_t *c = in->corte;
    prep_feed_state_e state =
        prep_feed_state(&in->feed->conf, c, &in->control, now);
    json_t *fields;

    if (state == PREP_FEED_STALE && !in->stale_warned) {
        ap_log_error(
            APLOG_MARK, APLOG_WARNING, 0, ap_server_conf,
            "PREP0113: feed %s is stale: no new corte for "
            "%" APR_TIME_T_FMT " s (3 x PrepUpdateInterval); still serving %s",
            in->feed->conf.name, apr_time_sec(now - c->loaded_at), c->id);
        in->stale_warned = 1;
        in->stale_since = now;
        apr_cpystrn(in->stale_id, c->id, sizeof(in->stale_id));
        fields = json_object();
        json_object_set_new(fields, "served", json_string(c->id));
        json_object_set_new(
            fields, "age_s",
            json_integer((json_int_t)apr_time_sec(now - c->loaded_at)));
        journal(in, PREP_EVENT_STALE, fields, p);
    } else if (state != PREP_FEED_STALE && in->stale_warned) {
        in->stale_warned = 0;
        if (state != PREP_FEED_SERVING || !c || !strcmp(c->id, in->stale_id)) {
            return; /* ended by a pin, the close or a reset, not a corte */
        }
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, ap_server_conf,
                     "PREP0146: feed %s is fresh again with corte %s, after "
                     "%" APR_TIME_T_FMT " s stale",
                     in->feed->conf.name, c->id,
                     apr_time_sec(now - in->stale_since));
        fields = json_object();
        json_object_set_new(fields, "served", json_string(c->id));
        json_object_set_new(
            fields, "stale_s",
            json_integer((json_int_t)apr_time_sec(now - in->stale_since)));
        journal(in, PREP_EVENT_FRESH, fields, p);
    }
}
