/* prep_loader.c — one package in, one corte out (or one refusal).  A load
 * is its phases (PREP_PHASE_*), in order, each a function here that hands
 * its work to the rooms it is named after: verify and unpack (prep_verify.c,
 * over the package rules of prep_package.c; an incremental package applied
 * over its base, prep_incremental.c), check (the bytes unpacked are
 * those verified and a republish's identity, prep_verify.c; the corte time
 * against the clock and the corte served, prep_cortetime.c; the corte's
 * record and staging, prep_store.c), banner (prep_banner.c), compress
 * (prep_variants.c), index (prep_index.c), publish (prep_store.c).  Then how
 * it ended, one prep_load_outcome_e, with the package set aside
 * (prep_incoming.c) and the event in the feed's journal (prep_journal.c).
 * The load obeys the operator's control (prep_operator.c), read under the
 * store's lock: a pinned feed's new corte is retained, not served, and is
 * measured against the newest corte retained; a drill takes corte times
 * ahead of the clock; the banner says what the feed's state says.  prepctl
 * verify's check (prep_package_check, prep_verify.c) runs the same verify,
 * unpack and check functions.  A load runs in an unprivileged process of its
 * own. */
#include <stdarg.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <apr_strings.h>
#include <apr_portable.h>
#include <jansson.h>

#include "prep.h"

typedef struct prep_load_ctx {
    const prep_feed_t *feed;
    const char *name;  /* its base name */
    const char *shown; /* the name as it may be shown */
    const prep_load_request_t *req;
    int dirfd;                         /* the directory the package is in */
    apr_file_t *package;               /* its one descriptor */
    prep_file_identity_t identity;     /* of that descriptor when opened */
    unsigned char verified_sha256[32]; /* with PrepVerify */
    prep_log_fn *log;
    void *baton;
    apr_pool_t *p;
    prep_verdict_t verdict;
    const char *staging; /* staging/load-<pid> */
    prep_pack_t pack;
    prep_unpacked_t *unpacked;
    apr_time_t corte_time;
    prep_corte_t *current; /* the corte served when the load began, or NULL */
    /* the operator's control, read with the lock taken, and what it makes
     * of this load */
    prep_control_t control;
    int pinned;            /* a new corte is retained, not served */
    prep_feed_t checked;   /* the feed as the check phase reads it */
    prep_corte_t *against; /* the corte a new one must follow: the newest
                            * retained when pinned, else the one served */
    prep_journal_t journal;
    prep_corte_t *corte;      /* the corte being made, and what its load took */
    prep_corte_order_e order; /* how it stands to the corte served */
    prep_plan_t *plans;       /* its files */
    int nplans;
    apr_time_t start;
    apr_time_t mark;                  /* end of the last phase timed */
    apr_time_t phase_us[PREP_PHASES]; /* time spent in each phase */
} load_ctx_t;

/* Adds the time since the last mark to `phase`, in the corte's record too,
 * and moves the mark. */
static void phase_end(load_ctx_t *c, int phase)
{
    apr_time_t now = apr_time_now();

    c->phase_us[phase] += now - c->mark;
    c->mark = now;
    c->corte->phases_ms[phase] =
        (apr_uint64_t)apr_time_as_msec(c->phase_us[phase]);
}

/* Ends `phase` when its work went well: rv either way. */
static apr_status_t timed(load_ctx_t *c, int phase, apr_status_t rv)
{
    if (rv == APR_SUCCESS) {
        phase_end(c, phase);
    }
    return rv;
}

static void __attribute__((format(printf, 3, 4)))
say(load_ctx_t *c, int is_error, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    if (!c->log) {
        return;
    }
    va_start(ap, fmt);
    msg = apr_pvsprintf(c->p, fmt, ap);
    va_end(ap);
    c->log(c->baton, is_error, msg);
}

/* Whether the verdict is that of `reason` (a verdict code). */
static int verdict_is(const load_ctx_t *c, const char *reason)
{
    return c->verdict.reason && !strcmp(c->verdict.reason, reason);
}

/* --- the journal --------------------------------------------------- */

/* A journal that cannot be written is said in the log; it never stops the
 * load. */
static void journaled(load_ctx_t *c, const char *event, apr_status_t rv)
{
    if (rv != APR_SUCCESS) {
        say(c, 1, "cannot write \"%s\" to the journal %s/%s: %pm", event,
            c->feed->store, PREP_JOURNAL_FILE, &rv);
    }
}

/* An event with the record of corte `corte` and the fields of `fields`
 * (taken; NULL: none). */
static void journal_corte(load_ctx_t *c, prep_event_e e,
                          const prep_corte_t *corte, json_t *fields)
{
    journaled(c, prep_event_name(e),
              prep_journal_corte(&c->journal, e, corte, fields, c->p));
}

/* --- how a load ends ----------------------------------------------- */

static void set_aside(load_ctx_t *c, prep_aside_e where)
{
    apr_status_t rv;

    if (c->req->mode == PREP_LOAD_REPUBLISH) {
        return; /* the retained package stays where it is */
    }
    if (where == PREP_ASIDE_REJECTED) {
        apr_status_t written;

        rv = prep_incoming_reject_journaled(c->feed, c->dirfd, c->name,
                                            c->package, &c->identity,
                                            &c->verdict, &written, c->p);
        journaled(c, prep_event_name(PREP_EVENT_REFUSED), written);
    } else {
        rv = prep_incoming_set_aside(c->feed, c->dirfd, c->name, c->package,
                                     &c->identity, where, NULL, c->p);
    }
    if (rv == APR_EMISMATCH) {
        say(c, 0,
            "%s now names another file than the one loaded: that one is "
            "examined once it settles",
            c->shown);
    } else if (rv != APR_SUCCESS) {
        say(c, 1, "cannot set %s aside in %s/%s: %pm", c->shown, c->feed->store,
            where == PREP_ASIDE_REJECTED ? PREP_REJECTED_DIR
                                         : PREP_PROCESSED_DIR,
            &rv);
    }
}

static prep_load_result_t *ended(load_ctx_t *c, prep_load_result_t *res,
                                 prep_load_outcome_e outcome)
{
    res->outcome = outcome;
    res->verdict = c->verdict;
    return res;
}

/* The store cannot take a corte now: what this load wrote goes (the lock is
 * ours), the package waits in incoming. */
static prep_load_result_t *busy(load_ctx_t *c, prep_load_result_t *res)
{
    say(c, 1, "package %s not loaded: %s", c->shown, c->verdict.message);
    prep_store_clean_staging(c->feed->store, c->p);
    return ended(c, res, PREP_LOAD_BUSY);
}

/* The package's name or bytes moved under the load: nothing of it is
 * published or set aside; the intake looks at it again once it settles. */
static prep_load_result_t *changed(load_ctx_t *c, prep_load_result_t *res)
{
    say(c, 0,
        "package %s changed while it was loaded; it is examined again once "
        "it settles",
        c->shown);
    prep_store_clean_staging(c->feed->store, c->p);
    c->verdict.reason = NULL;
    c->verdict.message = NULL;
    return ended(c, res, PREP_LOAD_CHANGED);
}

/* The package is the corte already served (when pinned: the newest
 * retained): set aside, nothing published. */
static prep_load_result_t *same(load_ctx_t *c, prep_load_result_t *res)
{
    say(c, 0, "package %s is the corte already %s (%s)", c->shown,
        c->pinned ? "retained" : "served", c->corte->id);
    prep_store_clean_staging(c->feed->store, c->p);
    set_aside(c, PREP_ASIDE_PROCESSED);
    journal_corte(c, PREP_EVENT_SAME_CORTE, c->against,
                  json_pack("{s:s}", PREP_JOURNAL_KEY_PACKAGE, c->shown));
    res->corte = c->current;
    return ended(c, res, PREP_LOAD_SAME);
}

static prep_load_result_t *refused(load_ctx_t *c, prep_load_result_t *res)
{
    apr_uint64_t avail = 0;

    /* A full disk is not the package's fault: it stays in incoming and the
     * intake tries it again, instead of setting it aside for good. */
    if (verdict_is(c, "io") && prep_store_full(c->feed->store, &avail, c->p)) {
        c->verdict.message =
            apr_psprintf(c->p,
                         "no space left in the store (%" APR_UINT64_T_FMT
                         " KB free): %s; %s is tried again",
                         avail / 1024, c->verdict.message, c->shown);
        return busy(c, res);
    }
    /* A verdict on bytes that were still moving is no verdict. */
    if (c->package && c->req->mode != PREP_LOAD_REPUBLISH &&
        (!prep_incoming_unchanged(c->package, &c->identity) ||
         !prep_incoming_still(c->dirfd, c->name, &c->identity))) {
        return changed(c, res);
    }
    /* Written under its final name and cut short: the client may only be
     * pausing.  A package renamed into incoming is complete. */
    if (verdict_is(c, "truncated") &&
        prep_incoming_holds_truncated(&c->identity, c->req->mode,
                                      apr_time_now())) {
        say(c, 0,
            "package %s is truncated (%s); it stays in incoming, as an upload "
            "that may go on, until it changes or %d s have passed",
            c->shown, c->verdict.message,
            (int)apr_time_sec(PREP_HOLD_TRUNCATED));
        prep_store_clean_staging(c->feed->store, c->p);
        return ended(c, res, PREP_LOAD_HELD);
    }
    if (c->req->mode == PREP_LOAD_REPUBLISH) {
        say(c, 1, "cannot publish corte %s again from %s: %s: %s",
            c->req->corte_id, c->shown, c->verdict.reason, c->verdict.message);
        prep_store_clean_staging(c->feed->store, c->p);
        /* the retained package stays where it is, but the failure is an
         * event of the night */
        journaled(
            c, prep_event_name(PREP_EVENT_REFUSED),
            prep_journal_refused(&c->journal, c->shown, &c->verdict, c->p));
        return ended(c, res, PREP_LOAD_REFUSED);
    }
    say(c, 1, "package %s refused: %s: %s", c->shown, c->verdict.reason,
        c->verdict.message);
    set_aside(c, PREP_ASIDE_REJECTED); /* and recorded in state.json */
    prep_store_clean_staging(c->feed->store, c->p);
    return ended(c, res, PREP_LOAD_REFUSED);
}

/* --- the phases ---------------------------------------------------- */

/* The operator's control, as this load obeys it: whether the feed is
 * pinned, a drill (corte times ahead of the clock are taken: drill packages
 * carry the election day's times), and the journal its events go to.  A
 * control that cannot be read is no reason to publish past a pin: the
 * store is busy until it can be. */
static apr_status_t read_control(load_ctx_t *c)
{
    apr_status_t rv = prep_control_read(&c->control, c->feed->store, c->p);
    int drill;

    if (rv != APR_SUCCESS) {
        return prep_refuse(&c->verdict, c->p, "busy",
                           "cannot read the operator's control %s/%s: %pm",
                           c->feed->store, PREP_CONTROL_FILE, &rv);
    }
    drill = prep_feed_drill(c->feed, &c->control);
    c->pinned = c->control.pin != NULL && c->req->mode != PREP_LOAD_REPUBLISH;
    if (drill) {
        c->checked.future_limit = -1;
    }
    prep_journal_init(&c->journal, c->feed, drill);
    return APR_SUCCESS;
}

/* check, the store's half (with the lock taken): what an earlier load left
 * in staging goes, the operator's control and the corte served are read,
 * and the corte the new one is measured against (the newest retained when
 * pinned), this load's staging and pack are made.  A store that cannot
 * take them is busy, not the package's fault. */
static apr_status_t phase_check_store(load_ctx_t *c)
{
    const char *id;
    int fallback;
    apr_status_t rv;

    prep_store_clean_staging(c->feed->store, c->p);
    if (read_control(c) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (prep_store_serving(&id, &c->current, &fallback, c->feed->store, c->p) !=
        APR_SUCCESS) {
        c->current = NULL;
    }
    c->against =
        c->pinned ? prep_store_newest(c->feed->store, c->p) : c->current;
    say(c, 0, "%s package %s%s",
        c->req->mode == PREP_LOAD_REPUBLISH ? "republishing from" : "loading",
        c->shown,
        c->pinned ? apr_psprintf(c->p,
                                 " (the feed is pinned at %s: its corte is "
                                 "retained, not served)",
                                 c->control.pin)
                  : "");
    if ((rv = prep_store_stage(&c->staging, &c->pack.file, c->feed->store,
                               c->p)) != APR_SUCCESS) {
        return prep_refuse(&c->verdict, c->p, "busy",
                           "cannot write in the store: %pm", &rv);
    }
    phase_end(c, PREP_PHASE_CHECK);
    return APR_SUCCESS;
}

/* verify: PrepVerify; a package that fails it is never parsed. */
static apr_status_t phase_verify(load_ctx_t *c)
{
    return timed(c, PREP_PHASE_VERIFY,
                 prep_verify_package(c->feed, c->dirfd, c->name, c->package,
                                     c->verified_sha256, &c->verdict, c->p));
}

/* unpack: the package rules, every file's bytes into the pack. */
static apr_status_t phase_unpack(load_ctx_t *c)
{
    if (prep_verify_unpack(&c->unpacked, c->feed, c->package, c->pack.file,
                           &c->verdict, c->p) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    c->pack.end = c->unpacked->pack_size;
    phase_end(c, PREP_PHASE_UNPACK);
    return APR_SUCCESS;
}

/* unpack, an incremental package's half (prep_incremental.c): applied over
 * its base, which must be the corte the new one is measured against (the
 * newest retained when pinned); the merged tree is what the check phase
 * and all the rest see. */
static apr_status_t phase_incremental(load_ctx_t *c)
{
    prep_incremental_load_t inc;

    if (prep_incremental_apply(
            &inc, &c->unpacked, c->feed, c->against,
            c->pinned ? "the newest corte retained (the feed is pinned)"
                      : "the corte served",
            c->req->mode == PREP_LOAD_REPUBLISH, c->pack.file, &c->verdict,
            c->p) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (inc.manifest) {
        c->pack.end = c->unpacked->pack_size;
        say(c, 0,
            "package %s is incremental over corte %s: %" APR_UINT64_T_FMT
            " files carried, %" APR_UINT64_T_FMT " kept, %" APR_UINT64_T_FMT
            " deleted",
            c->shown, inc.base->id, inc.count.carried, inc.count.kept,
            inc.count.deleted);
    }
    phase_end(c, PREP_PHASE_UNPACK);
    return APR_SUCCESS;
}

/* The refusals of a pinned feed's new corte say what it was measured
 * against: the newest corte retained, not the corte served. */
static apr_status_t pinned_refusal(load_ctx_t *c)
{
    const prep_zone_t *z = &c->feed->zone;
    const char *time = prep_time_iso(c->p, c->corte->time, z);
    const char *newest = prep_time_iso(c->p, c->against->time, z);

    if (verdict_is(c, "older-corte")) {
        return prep_refuse(&c->verdict, c->p, "older-corte",
                           "its corte time %s is older than the newest corte "
                           "retained (%s, %s) while the feed is pinned at %s",
                           time, c->against->id, newest, c->control.pin);
    }
    if (verdict_is(c, "same-time")) {
        return prep_refuse(&c->verdict, c->p, "same-time",
                           "its corte time %s is that of the newest corte "
                           "retained (%s) while the feed is pinned, with "
                           "other bytes (PrepSameTime refuse)",
                           time, c->against->id);
    }
    return APR_EGENERAL;
}

/* check, the corte's half: the package's checks (the bytes unpacked are
 * those verified, a corte time not too far ahead), its corte's record, the
 * refusals that need the corte served, and a republish's identity (it
 * replaces the corte of its id, and is measured against no other). */
static apr_status_t phase_check(load_ctx_t *c)
{
    const prep_load_request_t *req = c->req;
    int republish = req->mode == PREP_LOAD_REPUBLISH;

    if (prep_verify_checked(&c->corte_time, &c->checked, c->name,
                            c->identity.mtime, c->verified_sha256, c->unpacked,
                            c->pack.file, &c->verdict, c->p) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    prep_corte_of_package(c->corte, c->unpacked, c->corte_time, c->shown, c->p);
    if (prep_corte_time_against(&c->order, c->feed,
                                republish ? NULL : c->against, c->corte,
                                &c->verdict, c->p) != APR_SUCCESS) {
        return c->pinned ? pinned_refusal(c) : APR_EGENERAL;
    }
    if (republish &&
        prep_verify_republished(c->corte, req->corte_id, req->corte_sha256,
                                &c->verdict, c->p) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (c->order == PREP_CORTE_REPLACES) {
        say(c, 1,
            "package %s has the corte time of the corte %s (%s) with other "
            "bytes; it %s (PrepSameTime accept)",
            c->shown, c->pinned ? "retained last" : "being served",
            c->against->id, c->pinned ? "is retained after it" : "replaces it");
    }
    phase_end(c, PREP_PHASE_CHECK);
    return APR_SUCCESS;
}

/* banner: the corte's files planned, each page with its banners, which
 * say what the feed's state says now (a drill, the close); the corte's
 * record keeps it, so that the intake knows when another banner is due. */
static apr_status_t phase_banner(load_ctx_t *c)
{
    c->corte->banner_state =
        prep_feed_banner_state(c->feed, &c->control, apr_time_now());
    c->plans = prep_plans_make(c->unpacked,
                               c->feed->banners ? c->feed->banners->nelts : 0,
                               &c->nplans, c->p);
    return timed(c, PREP_PHASE_BANNER,
                 prep_banner_add_reps(
                     &c->pack, c->plans, c->nplans, c->feed->banners,
                     c->corte_time, &c->feed->zone, c->corte->banner_state,
                     &c->feed->banner_position, &c->verdict, c->p));
}

/* compress: the gzip and br variants, reused from the corte the new one
 * follows (served, or retained last) when its bytes are the same. */
static apr_status_t phase_compress(load_ctx_t *c)
{
    const prep_corte_t *before = c->against ? c->against : c->current;
    const char *previous =
        before ? prep_store_corte_dir(c->p, c->feed->store, before->id) : NULL;
    prep_variants_count_t n;
    apr_status_t rv;

    if ((rv = prep_variants_add(
             &c->pack, c->plans, c->nplans, c->feed->compress, previous,
             c->staging, PREP_DEFER_VARIANTS, &n, c->p)) != APR_SUCCESS) {
        return prep_refuse(&c->verdict, c->p, "io",
                           "cannot write the corte (%pm)", &rv);
    }
    c->corte->variants_made = n.made;
    c->corte->variants_reused = n.reused;
    c->corte->compress_threads = n.threads;
    c->corte->variants_pending = n.pending;
    phase_end(c, PREP_PHASE_COMPRESS);
    return APR_SUCCESS;
}

/* index: the corte's index in staging, its files and the redirects of its
 * directories. */
static apr_status_t phase_index(load_ctx_t *c)
{
    apr_status_t rv;

    if ((rv = prep_index_write_corte(
             c->plans, c->nplans, c->unpacked->dirs,
             apr_pstrcat(c->p, c->staging, "/" PREP_INDEX_FILE, NULL), c->p)) !=
        APR_SUCCESS) {
        return prep_refuse(&c->verdict, c->p, "io",
                           "cannot write the index (%pm)", &rv);
    }
    c->corte->files = (apr_uint64_t)c->nplans;
    phase_end(c, PREP_PHASE_INDEX);
    return APR_SUCCESS;
}

/* The store did not take the corte: busy when it cannot now (the package
 * is tried again), else refused. */
static prep_load_result_t *not_published(load_ctx_t *c, prep_load_result_t *res,
                                         apr_status_t rv)
{
    if (prep_store_refuses(rv)) {
        prep_refuse(&c->verdict, c->p, "busy",
                    "the store is not writable: cannot publish corte %s: "
                    "%pm; %s is tried again",
                    c->corte->id, &rv, c->shown);
        return busy(c, res);
    }
    prep_refuse(&c->verdict, c->p, "io", "cannot publish corte %s: %pm",
                c->corte->id, &rv);
    return refused(c, res);
}

/* The rest of the record of the corte made (corte.json and the history):
 * its label, when it was loaded and how long it took. */
static void describe_corte(load_ctx_t *c)
{
    prep_corte_t *corte = c->corte;

    corte->label = prep_banner_label(c->p, c->corte_time, &c->feed->zone);
    corte->loaded_at = apr_time_now();
    corte->load_ms =
        (apr_uint64_t)apr_time_as_msec(corte->loaded_at - c->start);
    corte->has_phases = 1;
    corte->complete_at = corte->variants_pending ? 0 : corte->loaded_at;
}

/* The event of a corte promoted, journaled as soon as it happened:
 * "published", "retained" (with the corte served) when the feed is pinned,
 * "republished" (with why) for a republish. */
static void journal_promoted(load_ctx_t *c)
{
    const char *why = c->req->why ? c->req->why : "healed";

    if (c->req->mode == PREP_LOAD_REPUBLISH) {
        journal_corte(c, PREP_EVENT_REPUBLISHED, c->corte,
                      json_pack("{s:s}", "why", why));
    } else if (c->pinned) {
        journal_corte(
            c, PREP_EVENT_RETAINED, c->corte,
            json_pack("{s:o}", "served",
                      c->current ? json_string(c->current->id) : json_null()));
    } else {
        journal_corte(c, PREP_EVENT_PUBLISHED, c->corte, NULL);
    }
}

/* publish: from bytes that did not move while read, corte.json, the corte
 * promoted and made current (replacing one of its id), or only retained
 * when the feed is pinned; then the journal, the history, the prune, the
 * package set aside. */
static prep_load_result_t *phase_publish(load_ctx_t *c, prep_load_result_t *res)
{
    const prep_feed_t *feed = c->feed;
    prep_corte_t *corte = c->corte;
    apr_status_t rv;

    if ((rv = apr_file_close(c->pack.file)) != APR_SUCCESS) {
        prep_refuse(&c->verdict, c->p, "io", "cannot write the corte: %pm",
                    &rv);
        return refused(c, res);
    }
    if (c->req->mode != PREP_LOAD_REPUBLISH &&
        !prep_incoming_unchanged(c->package, &c->identity)) {
        return changed(c, res);
    }
    describe_corte(c);
    /* corte.json's publish phase stops here (it cannot hold the time of its
     * own fsync); the history's and the log line's go on to `current`. */
    phase_end(c, PREP_PHASE_PUBLISH);
    if ((rv = prep_store_write_corte(c->staging, corte, c->p)) != APR_SUCCESS) {
        prep_refuse(&c->verdict, c->p, "io", "cannot write %s: %pm",
                    PREP_CORTE_FILE, &rv);
        return refused(c, res);
    }
    rv = c->pinned
             ? prep_store_retain(feed->store, c->staging, corte->id, c->p)
             : prep_store_publish(feed->store, c->staging, corte->id, c->p);
    if (rv != APR_SUCCESS) {
        return not_published(c, res, rv);
    }
    phase_end(c, PREP_PHASE_PUBLISH);
    journal_promoted(c);
    prep_store_record_history(feed->store, corte, c->p);
    /* never the corte pinned (current) nor the one just retained (the
     * newest) */
    prep_store_prune(feed->store, feed->keep, c->p);
    prep_store_clean_staging(feed->store, c->p);
    set_aside(c, PREP_ASIDE_PROCESSED);
    prep_incoming_prune_processed(feed, c->p);
    say(c, 0,
        "%s corte %s (corte time %s) from %s: %" APR_UINT64_T_FMT
        " files, %" APR_UINT64_T_FMT " bytes in %" APR_UINT64_T_FMT
        " ms (%s; cleanup %" APR_TIME_T_FMT " ms)%s",
        c->pinned ? "retained" : "published", corte->id,
        prep_time_iso(c->p, c->corte_time, &feed->zone), c->shown, corte->files,
        corte->bytes, corte->load_ms, prep_corte_load_text(corte, c->p),
        apr_time_as_msec(apr_time_now() - c->mark),
        c->pinned
            ? apr_psprintf(c->p, "; %s is still served, pinned", c->control.pin)
            : "");
    res->corte = corte;
    return ended(c, res, c->pinned ? PREP_LOAD_RETAINED : PREP_LOAD_PUBLISHED);
}

/* The load under the store's lock: its phases in order, each of which ends
 * it with the verdict it set when it fails. */
static prep_load_result_t *load_locked(load_ctx_t *c, prep_load_result_t *res)
{
    if (phase_check_store(c) != APR_SUCCESS) {
        return busy(c, res);
    }
    if (phase_verify(c) != APR_SUCCESS || phase_unpack(c) != APR_SUCCESS ||
        phase_incremental(c) != APR_SUCCESS || phase_check(c) != APR_SUCCESS) {
        return refused(c, res);
    }
    if (c->order == PREP_CORTE_SERVED) {
        return same(c, res);
    }
    if (phase_banner(c) != APR_SUCCESS || phase_compress(c) != APR_SUCCESS ||
        phase_index(c) != APR_SUCCESS) {
        return refused(c, res);
    }
    return phase_publish(c, res);
}

/* --- a load -------------------------------------------------------- */

static void ctx_init(load_ctx_t *c, const prep_feed_t *feed,
                     const prep_load_request_t *req, const char *name,
                     apr_pool_t *p)
{
    memset(c, 0, sizeof(*c));
    c->feed = feed;
    c->req = req;
    c->name = name;
    c->shown = prep_name_shown(p, name);
    c->dirfd = -1;
    c->p = p;
    c->corte = apr_pcalloc(p, sizeof(*c->corte));
    c->start = c->mark = apr_time_now();
    /* until the control is read under the lock: the feed as configured */
    prep_control_default(&c->control);
    c->checked = *feed;
    prep_journal_init(&c->journal, feed, prep_feed_drill(feed, &c->control));
}

/* Opens the package in dir once, as the file that settled (any file when
 * req->seen is NULL); the open's error otherwise (APR_EMISMATCH: its name
 * names another file now). */
static apr_status_t open_package(load_ctx_t *c, const char *dir)
{
    apr_status_t rv;

    c->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    rv = c->dirfd < 0 ? errno
                      : prep_incoming_open(&c->package, &c->identity, c->dirfd,
                                           c->name, c->req->seen, c->p);
    if (rv != APR_SUCCESS && c->dirfd >= 0) {
        close(c->dirfd);
        c->dirfd = -1;
    }
    return rv;
}

/* PrepSource tree, under the store's lock: the quiet tree snapshotted into
 * STORE/snapshot as the package req->name, which is then loaded as any
 * package is (and set aside from there); the signature of the tree loaded
 * is kept unless the load is to be tried again. */
static prep_load_result_t *load_tree(load_ctx_t *c, prep_load_result_t *res)
{
    const char *dir =
        apr_pstrcat(c->p, c->feed->store, "/" PREP_SNAPSHOT_DIR, NULL);
    prep_tree_snapshot_t snap;
    prep_verdict_t refusal;
    apr_status_t rv;

    if ((rv = apr_dir_make(dir, APR_FPROT_OS_DEFAULT, c->p)) != APR_SUCCESS &&
        !APR_STATUS_IS_EEXIST(rv)) {
        prep_refuse(&c->verdict, c->p, "busy", "cannot make %s: %pm", dir, &rv);
        return busy(c, res);
    }
    say(c, 0, "taking a snapshot of the tree %s as %s", c->feed->incoming,
        c->shown);
    rv = prep_tree_snapshot(&snap, c->feed, c->req->tree_signature, dir,
                            c->name, &refusal, c->p);
    if (APR_STATUS_IS_EAGAIN(rv)) {
        say(c, 0,
            "the tree %s changed while it was read; it is read again once it "
            "has been quiet for PrepSettleTime",
            c->feed->incoming);
        return ended(c, res, PREP_LOAD_CHANGED);
    }
    if (rv != APR_SUCCESS) {
        prep_refuse(&c->verdict, c->p, "busy",
                    "cannot take a snapshot of the tree %s into %s: %pm",
                    c->feed->incoming, dir, &rv);
        return busy(c, res);
    }
    if ((rv = open_package(c, dir)) != APR_SUCCESS) {
        prep_refuse(&c->verdict, c->p, "busy", "cannot open %s/%s: %pm", dir,
                    c->shown, &rv);
        return busy(c, res);
    }
    phase_end(c, PREP_PHASE_UNPACK); /* the snapshot is the tree's unpack */
    say(c, 0,
        "snapshot %s of the tree: %" APR_UINT64_T_FMT " files, "
        "%" APR_UINT64_T_FMT " bytes, in %" APR_TIME_T_FMT " ms",
        c->shown, snap.files, snap.bytes,
        apr_time_as_msec(apr_time_now() - c->start));
    if (refusal.reason) {
        /* a rule the tar could not carry: refused as a package is */
        c->verdict = refusal;
        res = read_control(c) != APR_SUCCESS ? busy(c, res) : refused(c, res);
    } else {
        res = load_locked(c, res);
    }
    if (res->outcome != PREP_LOAD_BUSY && res->outcome != PREP_LOAD_CHANGED &&
        (rv = prep_tree_last_write(snap.signature, c->feed->store, c->p)) !=
            APR_SUCCESS) {
        say(c, 1, "cannot write %s/%s: %pm", c->feed->store, PREP_TREE_LAST,
            &rv);
    }
    return res;
}

/* The load kept for prep_load_complete when its corte went live with
 * variants still to make. */
static prep_load_result_t *pending_of(load_ctx_t *c, prep_load_result_t *res)
{
    if ((res->outcome == PREP_LOAD_PUBLISHED ||
         res->outcome == PREP_LOAD_RETAINED) &&
        res->corte == c->corte && c->corte->variants_pending) {
        res->pending = c;
    }
    return res;
}

prep_load_result_t *prep_load_package(const prep_feed_t *feed,
                                      const prep_load_request_t *req,
                                      prep_log_fn *log, void *baton,
                                      apr_pool_t *p)
{
    /* in the pool: what prep_load_complete goes on with */
    load_ctx_t *c = apr_palloc(p, sizeof(*c));
    prep_load_result_t *res = apr_pcalloc(p, sizeof(*res));
    apr_pool_t *lock_pool;
    apr_status_t rv;
    int tree =
        feed->source == PREP_SOURCE_TREE && req->mode != PREP_LOAD_REPUBLISH;

    feed = prep_tree_load_feed(feed, p);
    ctx_init(c, feed, req, req->name, p);
    c->log = log;
    c->baton = baton;
    if ((rv = prep_store_prepare(feed->store, p)) != APR_SUCCESS) {
        prep_refuse(&c->verdict, p, "busy", "cannot prepare the store %s: %pm",
                    feed->store, &rv);
        return busy(c, res);
    }
    /* One open, one package: everything below reads this descriptor.  A
     * republish reads the store's processed/ (the loader account's); a
     * tree's snapshot is opened once taken, under the lock. */
    if (!tree &&
        (rv = open_package(
             c, req->mode == PREP_LOAD_REPUBLISH
                    ? apr_pstrcat(p, feed->store, "/" PREP_PROCESSED_DIR, NULL)
                    : feed->incoming)) != APR_SUCCESS) {
        if (rv == APR_EMISMATCH || APR_STATUS_IS_ENOENT(rv) ||
            APR_STATUS_IS_EACCES(rv)) {
            return changed(c, res);
        }
        prep_refuse(&c->verdict, p, "busy", "cannot open %s: %pm", c->shown,
                    &rv);
        return busy(c, res);
    }
    /* Two loaders never share a store: the lock is held until lock_pool is
     * destroyed (or the process ends). */
    apr_pool_create(&lock_pool, p);
    if (prep_store_lock_load(feed->store, lock_pool, &c->verdict, p) !=
        APR_SUCCESS) {
        res = ended(c, res, PREP_LOAD_BUSY);
    } else {
        res = tree ? load_tree(c, res) : load_locked(c, res);
    }
    apr_pool_destroy(lock_pool);
    if (c->dirfd >= 0) {
        close(c->dirfd);
    }
    return pending_of(c, res);
}

/* --- after the publish: the variants deferred ---------------------- */

/* The store's lock once the variants are made: prepctl holds it a moment
 * at most, so it is waited for (bounded). */
static apr_status_t lock_to_complete(const load_ctx_t *c, apr_pool_t *pool)
{
    apr_time_t until = apr_time_now() + apr_time_from_sec(10);
    apr_status_t rv;

    while (APR_STATUS_IS_EAGAIN(rv = prep_store_lock(c->feed->store, pool)) &&
           apr_time_now() < until) {
        apr_sleep(apr_time_from_msec(20));
    }
    return rv;
}

/* The variants deferred made into the staging of the completion, with a
 * new index and corte.json; how many in *n. */
static apr_status_t make_deferred(load_ctx_t *c, const char *staging,
                                  prep_variants_count_t *n)
{
    prep_corte_t *corte = c->corte;
    apr_status_t rv;

    if ((rv = prep_variants_complete(&c->pack, c->plans, c->nplans,
                                     c->feed->compress, staging, n, c->p)) !=
            APR_SUCCESS ||
        (rv = apr_file_close(c->pack.file)) != APR_SUCCESS ||
        (rv = prep_index_write_corte(
             c->plans, c->nplans, c->unpacked->dirs,
             apr_pstrcat(c->p, staging, "/" PREP_INDEX_FILE, NULL), c->p)) !=
            APR_SUCCESS) {
        return rv;
    }
    corte->variants_made += n->made;
    corte->variants_pending = 0;
    if (n->threads > corte->compress_threads) {
        corte->compress_threads = n->threads;
    }
    corte->complete_at = apr_time_now();
    return prep_store_write_corte(staging, corte, c->p);
}

int prep_load_complete(prep_load_result_t *res)
{
    load_ctx_t *c = res->pending;
    const char *store, *staging = NULL, *current = NULL;
    prep_variants_count_t n;
    apr_pool_t *lock_pool;
    apr_time_t start = apr_time_now();
    apr_status_t rv;
    int served = 0;

    if (!c) {
        return 0;
    }
    res->pending = NULL;
    store = c->feed->store;
    memset(&n, 0, sizeof(n));
    rv = prep_store_stage_completion(&staging, &c->pack, store, c->corte->id,
                                     c->p);
    if (rv == APR_SUCCESS) {
        rv = make_deferred(c, staging, &n);
    }
    apr_pool_create(&lock_pool, c->p);
    if (rv == APR_SUCCESS &&
        (rv = lock_to_complete(c, lock_pool)) == APR_SUCCESS) {
        /* what the operator did meanwhile stands: the corte is made
         * current again only if it still is */
        prep_store_current(&current, store, c->p);
        served = current && !strcmp(current, c->corte->id);
        rv = served ? prep_store_publish(store, staging, c->corte->id, c->p)
                    : prep_store_retain(store, staging, c->corte->id, c->p);
        if (rv == APR_SUCCESS) {
            prep_store_update_history(store, c->corte, c->p);
        }
        prep_store_clean_staging(store, c->p);
    }
    apr_pool_destroy(lock_pool);
    if (rv != APR_SUCCESS) {
        say(c, 1,
            "corte %s stays served without the %" APR_UINT64_T_FMT
            " variants it deferred: %pm",
            c->corte->id, c->corte->variants_pending, &rv);
        return 0;
    }
    journal_corte(
        c, PREP_EVENT_COMPLETED, c->corte,
        json_pack("{s:I,s:I}", "made", (json_int_t)n.made, "ms",
                  (json_int_t)apr_time_as_msec(apr_time_now() - start)));
    say(c, 0,
        "corte %s complete: %" APR_UINT64_T_FMT
        " variants made in %" APR_TIME_T_FMT " ms after it went live",
        c->corte->id, n.made, apr_time_as_msec(apr_time_now() - start));
    return served;
}
