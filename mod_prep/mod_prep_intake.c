/* mod_prep_intake.c — the intake process: forked by the parent at startup,
 * it drops to the loader account (PrepUser, else the server's User) at once,
 * polls every feed's incoming directory twice a second, and runs each
 * settled package's load in a process of its own, so that a crash on a hostile
 * archive costs one package, not the intake.  Between loads it follows what
 * the operator did with prepctl (STORE/current, STORE/control.json) into
 * shared memory, keeps the banner telling the truth, and journals what it
 * sees happen to the feed (STORE/journal.jsonl).  The parent only supervises
 * it: registered as an other child, it is restarted from that callback as soon
 * as it dies, as mod_cgid restarts its daemon (by the monitor hook, which runs
 * every ten seconds, when it keeps dying as it starts). */
#include "httpd.h"
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <unistd.h>
#include <locale.h>

#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "apr_strings.h"
#include "apr_atomic.h"
#include "apr_hash.h"
#include "apr_signal.h"
#include "apr_thread_proc.h"
#include "http_log.h"
#include "ap_listen.h"
#include "http_main.h"
#include "ap_mpm.h"
#include "mpm_common.h"
#include "unixd.h"
#include "mod_unixd.h"

#include "mod_prep.h"

APLOG_USE_MODULE(prep);

/* What a stat(2) of a small store file says, to tell that prepctl replaced
 * it (a write-then-rename gives another inode; the times tell a reused
 * one). */
typedef struct file_stamp {
    int exists;
    apr_uint64_t dev, ino;
    apr_off_t size;
    apr_int64_t mtime_ns, ctime_ns;
} file_stamp_t;

/* The intake's view of one feed. */
typedef struct intake_feed {
    prep_feed_rt_t *feed;
    /* name → prep_seen_t, rebuilt at every poll from the names still there,
     * in the pool not in use (so it never grows with names that are gone) */
    apr_pool_t *seen_pool[2];
    int seen_in; /* which seen_pool holds `seen` */
    apr_hash_t *seen;
    pid_t loader; /* 0 when no load runs */
    apr_time_t loader_started;
    apr_pool_t *loading_pool;
    const char *loading; /* name of the package being loaded */
    prep_file_identity_t loading_id;
    apr_pool_t *corte_pool;
    prep_corte_t *corte; /* the corte being served, or NULL */
    /* the operator's control as last read, and what was published of it */
    apr_pool_t *control_pool;
    prep_control_t control;
    int control_bad; /* control.json could not be read (logged) */
    file_stamp_t control_stamp, current_stamp;
    int store_dirty; /* read current and control at the next poll */
    int after_load;  /* ... as a load left them (it logged its corte) */
    char newest[PREP_ID_MAX]; /* while pinned: the newest retained corte */
    int published;            /* the slot holds published_id, published_ctl */
    char published_id[PREP_ID_MAX];
    prep_served_control_t published_ctl;
    /* the journal, and what it was told already */
    prep_journal_t journal;
    int journal_failing; /* a failure streak is under way (logged once) */
    char seen_name[256]; /* the package last journaled as seen */
    prep_file_identity_t seen_id;
    prep_load_mode_e seen_mode;
    int store_problem;   /* a store problem was journaled, not yet over */
    int embargo_pending; /* PrepPublishFrom has not passed yet */
    int close_pending;   /* PrepPublishUntil has not passed yet */
    char damaged_id[PREP_ID_MAX]; /* unreadable current journaled */
    char healed_id[PREP_ID_MAX];  /* healed corte journaled */
    apr_time_t stale_since;
    char stale_id[PREP_ID_MAX]; /* the corte served when it became stale */
    int stale_warned;
    apr_time_t retry_at;         /* no load before this time */
    prep_crash_memory_t crashed; /* a package whose loader died once */
    /* the audit of the served corte, a slice per poll */
    apr_pool_t *audit_pool;
    prep_audit_t *audit; /* NULL: none under way */
    char audit_id[PREP_ID_MAX];
    apr_time_t audit_next;        /* no new audit before */
    char heal_tried[PREP_ID_MAX]; /* corte a republish was tried for */
    /* a current corte that cannot be read, to publish again from its
     * package as soon as no load runs ("" when none) */
    char heal_id[PREP_ID_MAX];
    char heal_package[256];
    char heal_sha256[65];
    const char *heal_why; /* "healed" (NULL) or "banner" */
    /* the corte and banner state a republish for its banner was tried for
     * (once each: a second failure is the operator's to see) */
    char banner_id[PREP_ID_MAX];
    unsigned banner_state;
} intake_feed_t;

/* How long the intake waits before retrying when the store is busy. */
#define RETRY_BUSY apr_time_from_sec(5)
/* The served corte is re-hashed at most this many bytes per poll (8 MB/s
 * at two polls a second), then again PrepAuditInterval after each pass. */
#define AUDIT_SLICE (4 * 1024 * 1024)

/* The intake's supervision, in the parent (restarts: intake_died). */
static apr_proc_t intake_proc;
static apr_time_t intake_started;
static pid_t intake_parent; /* the parent's pid, saved before the fork */
static apr_pool_t *intake_pconf;
static int intake_quick_deaths; /* in a row, within QUICK_DEATH of a start */
/* the intake a new one replaces (0: none, the server starts), for its
 * journal: its pid and how it ended */
static pid_t intake_replaced_pid;
static int intake_replaced_status;
static int intake_last_status;

/* An intake that died within QUICK_DEATH of its start QUICK_DEATHS times
 * in a row is no longer restarted at once, but by the monitor hook, once
 * BACKOFF has passed since its last start.  The parent reaps its children
 * once a second: a death as it starts is seen a second or two after it. */
#define QUICK_DEATH  apr_time_from_sec(3)
#define QUICK_DEATHS 3
#define BACKOFF      apr_time_from_sec(10)
/* The longest a new intake waits for the loaders of the one that died. */
#define OLD_LOADERS_WAIT apr_time_from_sec(1)

/* The intake's part of the status (the intake alone writes it): read,
 * changed, written back. */
static void show_loading(intake_feed_t *in, const char *name, apr_time_t since)
{
    prep_intake_info_t info;

    prep_shm_read_info(in->feed->shm, &info);
    info.loading_since = name ? since : 0;
    apr_cpystrn(info.loading, name ? name : "", sizeof(info.loading));
    prep_shm_write_info(in->feed->shm, &info);
}

static void show_integrity(intake_feed_t *in, prep_integrity_e state,
                           const char *detail, int audited)
{
    prep_intake_info_t info;
    apr_time_t now = apr_time_now();

    prep_shm_read_info(in->feed->shm, &info);
    if (info.integrity != state) {
        info.integrity_at = now;
    }
    info.integrity = state;
    if (audited) {
        info.audited_at = now;
    }
    apr_cpystrn(info.integrity_detail, detail ? detail : "",
                sizeof(info.integrity_detail));
    prep_shm_write_info(in->feed->shm, &info);
}

static void load_log(void *baton, int is_error, const char *msg)
{
    intake_feed_t *in = baton;

    ap_log_error(APLOG_MARK, is_error ? APLOG_ERR : APLOG_NOTICE, 0,
                 ap_server_conf, "PREP0110: feed %s: %s", in->feed->conf.name,
                 msg);
}

/* --- the journal -------------------------------------------------- */

/* A journal that cannot be written (a full disk, a lock that cannot be
 * taken) never stops the feed: the first failure of a streak is logged,
 * and its end. */
static void journaled(intake_feed_t *in, prep_event_e e, apr_status_t rv)
{
    if (rv == APR_SUCCESS) {
        if (in->journal_failing) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, ap_server_conf,
                         "PREP0139: feed %s: the journal %s/" PREP_JOURNAL_FILE
                         " is written again",
                         in->feed->conf.name, in->feed->conf.store);
            in->journal_failing = 0;
        }
        return;
    }
    if (!in->journal_failing) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, ap_server_conf,
                     "PREP0138: feed %s: cannot write the journal "
                     "%s/" PREP_JOURNAL_FILE " (event %s and those after it "
                     "until it works again are lost; the feed goes on)",
                     in->feed->conf.name, in->feed->conf.store,
                     prep_event_name(e));
        in->journal_failing = 1;
    }
}

/* Journals event e with `fields` (taken; NULL: none). */
static void journal(intake_feed_t *in, prep_event_e e, json_t *fields,
                    apr_pool_t *p)
{
    journaled(in, e, prep_journal_event(&in->journal, e, fields, p));
}

/* The same with "corte": the record of c (when not NULL). */
static void journal_corte(intake_feed_t *in, prep_event_e e,
                          const prep_corte_t *c, json_t *fields, apr_pool_t *p)
{
    journaled(in, e, prep_journal_corte(&in->journal, e, c, fields, p));
}

static json_t *iso_or_null(apr_pool_t *p, apr_time_t t, const prep_zone_t *z)
{
    return t ? json_string(prep_time_iso(p, t, z)) : json_null();
}

/* The corte served, as the journal shows it, or null. */
static json_t *served_json(intake_feed_t *in, apr_pool_t *p)
{
    return in->corte ? prep_corte_to_json(in->corte, &in->feed->conf.zone, p)
                     : json_null();
}

/* "start" at the first start of httpd, "graceful" at a restart, and
 * "intake-restart" when this intake replaces one that died: what the feed
 * serves as it begins. */
static void journal_start(intake_feed_t *in, apr_pool_t *p)
{
    json_t *fields = json_object();
    prep_event_e e = PREP_EVENT_START;

    json_object_set_new(fields, "served", served_json(in, p));
    json_object_set_new(
        fields, "state",
        json_string(prep_feed_state_text(prep_feed_state(
            &in->feed->conf, in->corte, &in->control, apr_time_now()))));
    json_object_set_new(fields, "pid", json_integer((json_int_t)getppid()));
    if (intake_replaced_pid) {
        e = PREP_EVENT_INTAKE_RESTART;
        json_object_set_new(fields, "old_pid",
                            json_integer((json_int_t)intake_replaced_pid));
        json_object_set_new(fields, "status",
                            json_integer(intake_replaced_status));
    } else if (prep_registry->generation > 1) {
        e = PREP_EVENT_GRACEFUL;
    }
    journal(in, e, fields, p);
}

/* "seen": a package handed to a loader, once per package as it settled
 * (a load tried again after a busy store or a crash is not seen again). */
static void journal_seen(intake_feed_t *in, const char *name,
                         const prep_file_identity_t *id, prep_load_mode_e mode,
                         apr_pool_t *p)
{
    json_t *fields;

    if (!strcmp(in->seen_name, name) && in->seen_mode == mode &&
        prep_identity_equal(&in->seen_id, id)) {
        return;
    }
    apr_cpystrn(in->seen_name, name, sizeof(in->seen_name));
    in->seen_id = *id;
    in->seen_mode = mode;
    fields = json_object();
    json_object_set_new(fields, PREP_JOURNAL_KEY_PACKAGE,
                        json_string(prep_name_shown(p, name)));
    json_object_set_new(fields, "size", json_integer((json_int_t)id->size));
    json_object_set_new(fields, "mtime",
                        iso_or_null(p, id->mtime, &in->feed->conf.zone));
    json_object_set_new(fields, "mode",
                        json_string(mode == PREP_LOAD_FINAL ? "final" : "new"));
    journal(in, PREP_EVENT_SEEN, fields, p);
}

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

/* The banner must tell the truth: when the served corte's banner says
 * other than what the feed's state asks for (a drill switched on or off,
 * the operation closed), the corte is published again from its package,
 * as a damaged one is, with the banner of now; once per corte and state.
 * A damaged corte's republish goes first (it gives the new banner too). */
static void plan_banner(intake_feed_t *in, apr_time_t now)
{
    const prep_corte_t *c = in->corte;
    unsigned want;

    if (!c || in->heal_id[0] || !*c->package || !*c->sha256) {
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

/* --- what the operator did ----------------------------------------- */

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
static void follow_store(intake_feed_t *in, apr_pool_t *p)
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
static void watch_clock(intake_feed_t *in, apr_time_t now, apr_pool_t *p)
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

/* What a load interrupted by a kill or a reboot left in staging goes at
 * startup, unless a loader still runs there (it holds the store's lock). */
static void clean_staging_leftovers(intake_feed_t *in, apr_pool_t *p)
{
    const char *store = in->feed->conf.store;
    apr_pool_t *lock_pool;

    apr_pool_create(&lock_pool, p);
    if (prep_store_lock(store, lock_pool) == APR_SUCCESS &&
        prep_store_clean_staging(store, lock_pool) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ap_server_conf,
                     "PREP0108: feed %s: cannot empty %s/staging",
                     in->feed->conf.name, store);
    }
    apr_pool_destroy(lock_pool); /* and the lock with it */
}

/* why: a REPUBLISH's reason, "healed" (NULL) or "banner". */
static void run_loader(intake_feed_t *in, const char *name,
                       const prep_file_identity_t *id, prep_load_mode_e mode,
                       const char *corte_id, const char *corte_sha256,
                       const char *why)
{
    apr_time_t now = apr_time_now();
    pid_t pid = fork();

    if (pid < 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, errno, ap_server_conf,
                     "PREP0111: feed %s: cannot fork a loader",
                     in->feed->conf.name);
        return;
    }
    if (pid == 0) {
        apr_pool_t *p;
        prep_load_result_t *res;
        prep_load_request_t req;

        apr_pool_create(&p, NULL);
        memset(&req, 0, sizeof(req));
        req.name = name;
        req.seen = id;
        req.mode = mode;
        req.corte_id = corte_id;
        req.corte_sha256 = corte_sha256;
        req.why = why;
        res = prep_load_package(&in->feed->conf, &req, load_log, in, p);
        if (res->outcome == PREP_LOAD_BUSY) {
            prep_shm_set_problem(in->feed->shm, res->verdict.message);
        }
        /* A pinned feed's new corte is retained, not served: the pin holds
         * and nothing is published, but the store took a corte. */
        if (res->outcome == PREP_LOAD_RETAINED) {
            prep_shm_set_problem(in->feed->shm, NULL);
        }
        if (res->outcome == PREP_LOAD_PUBLISHED) {
            prep_shm_set_problem(in->feed->shm, NULL);
            /* Live now rather than at the intake's next poll: the intake
             * publishes only after it has reaped this process, so the two
             * never write the slot at once.  A corte rebuilt under its own
             * id is attached again by every child. */
            if (res->corte && mode == PREP_LOAD_REPUBLISH) {
                prep_shm_publish_renewed(in->feed->shm, res->corte->id);
            } else if (res->corte) {
                prep_shm_publish(in->feed->shm, res->corte->id);
            }
        }
        _exit(prep_load_exit_status(res->outcome));
    }
    apr_pool_clear(in->loading_pool);
    in->loader = pid;
    in->loader_started = now;
    in->loading = apr_pstrdup(in->loading_pool, name);
    if (id) {
        in->loading_id = *id;
    } else {
        memset(&in->loading_id, 0, sizeof(in->loading_id));
    }
    show_loading(in, prep_name_shown(in->loading_pool, name), now);
}

static prep_seen_t *seen_get(intake_feed_t *in, const char *name)
{
    return apr_hash_get(in->seen, name, APR_HASH_KEY_STRING);
}

/* Refuses the package of the load that just ended, in the intake (a
 * crash, a timeout): the loader could not. */
static void set_aside_here(intake_feed_t *in, const char *reason,
                           const char *message, apr_pool_t *p)
{
    prep_verdict_t v;

    v.reason = reason;
    v.message = message;
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, ap_server_conf,
                 "PREP0112: feed %s: package %s refused: %s: %s",
                 in->feed->conf.name, prep_name_shown(p, in->loading), v.reason,
                 v.message);
    prep_incoming_reject(&in->feed->conf, -1, in->loading, NULL,
                         &in->loading_id, &v, p);
}

/* A loader that died without a verdict (a crash, a kill): tried once more,
 * then set aside (prep_incoming_crashed).  Returns 1 when set aside. */
static int loader_crashed(intake_feed_t *in, int status, apr_pool_t *p)
{
    const char *shown = prep_name_shown(p, in->loading);
    int retry = prep_incoming_crashed(&in->crashed, in->loading,
                                      &in->loading_id) == PREP_CRASH_TRY_AGAIN;
    json_t *fields = json_object();

    json_object_set_new(fields, PREP_JOURNAL_KEY_PACKAGE, json_string(shown));
    json_object_set_new(fields, "status", json_integer(status));
    json_object_set_new(fields, PREP_JOURNAL_KEY_MESSAGE,
                        json_string(prep_incoming_crash_message(status, p)));
    json_object_set_new(fields, "retry", json_boolean(retry));
    journal(in, PREP_EVENT_LOADER_CRASH, fields, p);
    if (retry) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ap_server_conf,
                     "PREP0109: feed %s: the loader of %s ended without "
                     "a verdict (status %d); trying once more",
                     in->feed->conf.name, shown, status);
        prep_shm_set_problem(
            in->feed->shm,
            apr_psprintf(p,
                         "the loader of %s ended without a verdict "
                         "(status %d)",
                         shown, status));
        return 0;
    }
    set_aside_here(in, "crash", prep_incoming_crash_message(status, p), p);
    return 1;
}

static void load_ended(intake_feed_t *in, apr_pool_t *p)
{
    in->loader = 0;
    in->loading = NULL;
    show_loading(in, NULL, 0);
    /* what the load left: current (published or not), the newest corte */
    in->store_dirty = 1;
    in->after_load = 1;
    follow_store(in, p);
    /* a new or rebuilt corte is audited from its start, at once */
    if (in->audit) {
        apr_pool_clear(in->audit_pool);
        in->audit = NULL;
    }
    in->audit_next = 0;
}

/* A load over PrepLoadTimeout is killed and its package set aside. */
static void stop_overdue_loader(intake_feed_t *in, apr_time_t now,
                                apr_pool_t *p)
{
    const prep_feed_t *f = &in->feed->conf;
    int status;

    if (f->load_timeout <= 0 || now - in->loader_started < f->load_timeout) {
        return;
    }
    kill(in->loader, SIGKILL);
    waitpid(in->loader, &status, 0);
    /* no longer loading by the time the refusal can be read */
    show_loading(in, NULL, 0);
    set_aside_here(in, "timeout",
                   apr_psprintf(p,
                                "the load took more than %" APR_TIME_T_FMT
                                " s (PrepLoadTimeout) and was stopped",
                                apr_time_sec(f->load_timeout)),
                   p);
    prep_incoming_load_ended(seen_get(in, in->loading), &in->loading_id,
                             PREP_LOAD_REFUSED);
    load_ended(in, p);
}

/* "store-problem" when a load ends because the store cannot take a corte
 * (its message: what the loader said), once until a load ends otherwise:
 * "store-ok" then.  A crash says nothing of the store. */
static void journal_store(intake_feed_t *in, prep_load_outcome_e outcome,
                          apr_pool_t *p)
{
    if (outcome == PREP_LOAD_BUSY && !in->store_problem) {
        prep_problem_t problem;
        json_t *fields = json_object();

        prep_shm_read_problem(in->feed->shm, &problem);
        json_object_set_new(fields, PREP_JOURNAL_KEY_MESSAGE,
                            json_string(problem.at
                                            ? problem.message
                                            : "the store cannot take a corte"));
        journal(in, PREP_EVENT_STORE_PROBLEM, fields, p);
        in->store_problem = 1;
    } else if (outcome != PREP_LOAD_BUSY && outcome != PREP_LOAD_CRASHED &&
               in->store_problem) {
        journal(in, PREP_EVENT_STORE_OK, NULL, p);
        in->store_problem = 0;
    }
}

/* Returns 1 when the load ended (and the next one may start). */
static int reap_loader(intake_feed_t *in, apr_pool_t *p)
{
    int status = 0; /* read as a crash when wait4 fails */
    struct rusage ru;
    prep_load_outcome_e outcome;
    pid_t pid = wait4(in->loader, &status, WNOHANG, &ru);

    if (pid == 0) {
        stop_overdue_loader(in, apr_time_now(), p);
        return in->loader == 0;
    }
    outcome = pid < 0 || !WIFEXITED(status)
                  ? PREP_LOAD_CRASHED
                  : prep_load_outcome_of(WEXITSTATUS(status));
    if (pid > 0) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, ap_server_conf,
                     "PREP0122: feed %s: loader of %s ended: peak RSS "
                     "%ld KB",
                     in->feed->conf.name, prep_name_shown(p, in->loading),
                     ru.ru_maxrss);
    }
    journal_store(in, outcome, p);
    if (outcome == PREP_LOAD_BUSY) {
        /* the store cannot take a corte now (not writable, full, locked):
         * the package stays and is tried again a bit later */
        in->retry_at = apr_time_now() + RETRY_BUSY;
    } else if (outcome == PREP_LOAD_CRASHED && loader_crashed(in, status, p)) {
        outcome = PREP_LOAD_REFUSED; /* set aside as `crash` */
    }
    prep_incoming_load_ended(seen_get(in, in->loading), &in->loading_id,
                             outcome);
    load_ended(in, p);
    return 1;
}

/* The incoming names that are never read, for the status. */
static void show_ignored(intake_feed_t *in, apr_array_header_t *ignored)
{
    prep_intake_info_t info;
    int i;

    prep_shm_read_info(in->feed->shm, &info);
    info.nignored = (apr_uint32_t)ignored->nelts;
    for (i = 0; i < ignored->nelts && i < PREP_IGNORED_MAX; i++) {
        const prep_ignored_t *g = &APR_ARRAY_IDX(ignored, i, prep_ignored_t);

        apr_cpystrn(info.ignored[i].name, g->name,
                    sizeof(info.ignored[i].name));
        apr_cpystrn(info.ignored[i].why, g->why, sizeof(info.ignored[i].why));
    }
    info.shown_ignored = (apr_uint32_t)i;
    prep_shm_write_info(in->feed->shm, &info);
}

/* Looks at every name in incoming (without following links), rebuilds the
 * seen table from the names still there, and returns the package to read
 * next, or NULL; *mode says how. */
static const char *next_package(intake_feed_t *in, apr_time_t now,
                                prep_load_mode_e *mode,
                                prep_file_identity_t *id_out, apr_pool_t *p)
{
    const prep_feed_t *f = &in->feed->conf;
    apr_pool_t *pool = in->seen_pool[!in->seen_in];
    apr_hash_t *seen;
    apr_array_header_t *ignored = apr_array_make(p, 8, sizeof(prep_ignored_t));
    apr_dir_t *dir;
    apr_finfo_t fi;
    const char *best = NULL;
    prep_seen_t *best_s = NULL;
    int dirfd;

    if (apr_dir_open(&dir, f->incoming, p) != APR_SUCCESS) {
        return NULL;
    }
    dirfd = open(f->incoming, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        apr_dir_close(dir);
        return NULL;
    }
    apr_pool_clear(pool);
    seen = apr_hash_make(pool);
    while (apr_dir_read(&fi, APR_FINFO_NAME, dir) == APR_SUCCESS) {
        prep_file_identity_t id;
        prep_incoming_kind_e kind;
        prep_seen_t *s;
        const char *name;

        if (!strcmp(fi.name, ".") || !strcmp(fi.name, "..")) {
            continue;
        }
        kind = prep_incoming_classify(dirfd, fi.name, &id);
        if (kind == PREP_INCOMING_GONE || kind == PREP_INCOMING_IN_PROGRESS ||
            (kind == PREP_INCOMING_DIRECTORY &&
             prep_package_name_ignored(fi.name))) {
            continue;
        }
        if (kind != PREP_INCOMING_PACKAGE) {
            prep_ignored_t *g = apr_array_push(ignored);

            g->name = prep_name_shown(p, fi.name);
            g->why = prep_incoming_kind_text(kind);
            continue;
        }
        name = apr_pstrdup(pool, fi.name);
        s = apr_palloc(pool, sizeof(*s));
        prep_incoming_seen(s, seen_get(in, fi.name), &id);
        apr_hash_set(seen, name, APR_HASH_KEY_STRING, s);
        if (!prep_incoming_settled(s, f->settle, now) ||
            (best && !prep_incoming_before(s, name, best_s, best)) ||
            !prep_incoming_sidecar_ready(f, dirfd, name, id.mtime, now, p)) {
            continue;
        }
        best = name;
        best_s = s;
    }
    apr_dir_close(dir);
    close(dirfd);
    in->seen = seen;
    in->seen_in = !in->seen_in;
    show_ignored(in, ignored);
    if (best) {
        *mode = prep_incoming_mode(best_s);
        *id_out = best_s->id;
        return apr_pstrdup(p, best);
    }
    return NULL;
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
static void audit_slice(intake_feed_t *in, apr_time_t now, apr_pool_t *p)
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
static void warn_if_stale(intake_feed_t *in, apr_time_t now, apr_pool_t *p)
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

static void poll_feed(intake_feed_t *in, apr_pool_t *p)
{
    apr_time_t now = apr_time_now();
    const char *pkg;
    prep_load_mode_e mode;
    prep_file_identity_t id;

    apr_atomic_set64(&in->feed->shm->last_poll, (apr_uint64_t)now);
    /* A load that ended is followed by the next at once, not a poll later:
     * a row of junk files costs their loads, not a second each. */
    if (in->loader && !reap_loader(in, p)) {
        warn_if_stale(in, now, p);
        return;
    }
    /* no loader runs from here on: the slot is the intake's to write */
    follow_store(in, p);
    watch_clock(in, now, p);
    plan_banner(in, now);
    if (in->heal_id[0]) {
        if (!in->heal_why) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ap_server_conf,
                         "PREP0125: feed %s: publishing corte %s again from "
                         "%s/" PREP_PROCESSED_DIR "/%s",
                         in->feed->conf.name, in->heal_id, in->feed->conf.store,
                         in->heal_package);
        }
        run_loader(in, apr_pstrdup(p, in->heal_package), NULL,
                   PREP_LOAD_REPUBLISH, apr_pstrdup(p, in->heal_id),
                   apr_pstrdup(p, in->heal_sha256), in->heal_why);
        in->heal_id[0] = '\0';
        return;
    }
    if (now >= in->retry_at && (pkg = next_package(in, now, &mode, &id, p))) {
        journal_seen(in, pkg, &id, mode, p);
        run_loader(in, pkg, &id, mode, NULL, NULL, NULL);
    }
    audit_slice(in, now, p);
    warn_if_stale(in, now, p);
}

/* The intake runs as the loader account (PrepUser), else as the server's
 * User: never as root, and with the workers' account kept off the store. */
static int become_loader(server_rec *s)
{
    const char *user = prep_registry->loader_user;

    if (geteuid() != 0) {
        return 0;
    }
    if (!user) {
        return ap_unixd_setup_child();
    }
    if (setgid(prep_registry->loader_gid) != 0 ||
        initgroups(user, prep_registry->loader_gid) != 0 ||
        setuid(prep_registry->loader_uid) != 0) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, errno, s,
                     "PREP0123: intake: cannot switch to PrepUser %s", user);
        return -1;
    }
    return 0;
}

/* The feed as this intake finds it: what the operator set, the corte
 * served, both in its slot, and the journal's first line of this intake. */
static void start_feed(intake_feed_t *in, apr_pool_t *p)
{
    const prep_feed_t *f = &in->feed->conf;
    apr_time_t now = apr_time_now();

    prep_journal_init(&in->journal, f, 0);
    in->embargo_pending = f->publish_from && now < f->publish_from;
    in->close_pending = f->publish_until && now < f->publish_until;
    in->store_dirty = 1;
    follow_store(in, p);
    journal_start(in, p);
}

static void intake_main(server_rec *s)
{
    apr_pool_t *pool, *iter;
    intake_feed_t *feeds;
    int i, n = prep_registry->feeds->nelts;

    apr_signal(SIGTERM, SIG_DFL);
    apr_signal(SIGINT, SIG_DFL);
    apr_signal(SIGCHLD, SIG_DFL);
    apr_signal(SIGHUP, SIG_IGN);
    apr_signal(SIGUSR1, SIG_IGN);
    apr_signal(SIGWINCH, SIG_IGN);
    apr_signal(SIGPIPE, SIG_IGN);
    setpgid(0, 0); /* so that stopping the intake stops its loader too */
    ap_close_listeners();
    if (become_loader(s) != 0) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, errno, s,
                     "PREP0114: intake: cannot switch to the loader account");
        _exit(APEXIT_CHILDFATAL);
    }
    /* what the loader writes, the workers read and never write */
    umask(022);
    setlocale(LC_CTYPE, "C.UTF-8");
    apr_pool_create(&pool, NULL);
    apr_pool_create(&iter, pool);
    feeds = apr_pcalloc(pool, n * sizeof(*feeds));
    for (i = 0; i < n; i++) {
        feeds[i].feed =
            APR_ARRAY_IDX(prep_registry->feeds, i, prep_feed_rt_t *);
        apr_pool_create(&feeds[i].seen_pool[0], pool);
        apr_pool_create(&feeds[i].seen_pool[1], pool);
        apr_pool_create(&feeds[i].corte_pool, pool);
        apr_pool_create(&feeds[i].loading_pool, pool);
        apr_pool_create(&feeds[i].audit_pool, pool);
        apr_pool_create(&feeds[i].control_pool, pool);
        feeds[i].seen = apr_hash_make(feeds[i].seen_pool[0]);
        if (prep_store_prepare(feeds[i].feed->conf.store, pool) !=
            APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_ERR, errno, s,
                         "PREP0115: feed %s: cannot prepare the store %s",
                         feeds[i].feed->conf.name, feeds[i].feed->conf.store);
        }
        clean_staging_leftovers(&feeds[i], pool);
        start_feed(&feeds[i], iter);
        apr_pool_clear(iter);
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                 "PREP0116: intake started (pid %" APR_PID_T_FMT
                 ", %d feeds, as uid %ld)",
                 getpid(), n, (long)geteuid());
    for (;;) {
        if (getppid() != intake_parent) {
            /* httpd is gone (killed): its loads end with it, as on a stop,
             * rather than publish behind the back of the next server.  The
             * orphan is adopted by init, or by a subreaper (a container's
             * init, systemd --user): not always pid 1. */
            for (i = 0; i < n; i++) {
                if (feeds[i].loader) {
                    kill(feeds[i].loader, SIGKILL);
                }
            }
            _exit(0);
        }
        for (i = 0; i < n; i++) {
            poll_feed(&feeds[i], iter);
            apr_pool_clear(iter);
        }
        /* while a load runs, its end is noticed within 100 ms */
        for (i = 0; i < n && !feeds[i].loader; i++) {
        }
        apr_sleep(apr_time_from_msec(i < n ? 100 : 500));
    }
}

static void intake_maintenance(int reason, void *data, int status);

/* In a new intake, before it writes any slot: the loaders of the intake
 * that died (its process group, which the parent has killed) are gone, so
 * that a slot never has two writers (mod_prep_corte.c).  The wait is
 * bounded: a killed process still there after it is a zombie (where init
 * does not reap orphans) or asleep in the kernel, and neither runs a
 * single instruction of its own again. */
static void wait_for_old_loaders(pid_t group)
{
    apr_time_t until = apr_time_now() + OLD_LOADERS_WAIT;

    while (group > 1 && kill(-group, 0) == 0 && apr_time_now() < until) {
        apr_sleep(apr_time_from_msec(10));
    }
}

/* Forks the intake; old_group: the process group of the intake it
 * replaces (0: none). */
static apr_status_t intake_spawn(server_rec *s, pid_t old_group)
{
    pid_t pid;

    intake_parent = getpid();
    intake_replaced_pid = old_group;
    intake_replaced_status = old_group ? intake_last_status : 0;
    pid = fork();
    if (pid < 0) {
        return errno;
    }
    if (pid == 0) {
        wait_for_old_loaders(old_group);
        intake_main(s);
        _exit(0);
    }
    intake_proc.pid = pid;
    intake_started = apr_time_now();
    prep_registry->intake_pid = pid;
    apr_proc_other_child_register(&intake_proc, intake_maintenance, s, NULL,
                                  intake_pconf);
    return APR_SUCCESS;
}

/* Starts an intake in place of the one that led process group old_group;
 * when it cannot, the monitor hook tries again. */
static void intake_restart(server_rec *s, pid_t old_group)
{
    apr_status_t rv = intake_spawn(s, old_group);

    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     "PREP0118: cannot restart the intake process");
    }
}

/* The intake died (a crash, a kill): its loaders end with it, and it is
 * restarted at once, as mod_cgid restarts its daemon, unless the server
 * is stopping, or the intake keeps dying as soon as it starts (then the
 * monitor hook restarts it, BACKOFF after its last start). */
static void intake_died(server_rec *s, int status)
{
    pid_t pid = intake_proc.pid;
    int mpm_state = AP_MPMQ_STOPPING, stopping, restart;
    const char *then;

    prep_registry->intake_pid = 0;
    intake_last_status = status;
    if (pid > 1) {
        kill(-pid, SIGKILL); /* its process group: its loaders */
    }
    intake_quick_deaths = apr_time_now() - intake_started < QUICK_DEATH
                              ? intake_quick_deaths + 1
                              : 0;
    stopping = ap_mpm_query(AP_MPMQ_MPM_STATE, &mpm_state) != APR_SUCCESS ||
               mpm_state == AP_MPMQ_STOPPING;
    restart = !stopping && intake_quick_deaths < QUICK_DEATHS;
    then = restart    ? "restarting it"
           : stopping ? "the server is stopping"
                      : "it keeps ending as soon as it starts: the monitor "
                        "restarts it";
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                 "PREP0117: intake process %" APR_PID_T_FMT
                 " ended (status %d); %s",
                 pid, status, then);
    if (restart) {
        intake_restart(s, pid);
    }
}

static void intake_maintenance(int reason, void *data, int status)
{
    switch (reason) {
        case APR_OC_REASON_DEATH:
        case APR_OC_REASON_LOST:
            apr_proc_other_child_unregister(data);
            intake_died(data, status);
            break;
        case APR_OC_REASON_RESTART:
        case APR_OC_REASON_UNREGISTER:
            /* a restart or a stop: intake_stop ends it */
            break;
    }
}

/* pconf cleanup: the intake of this generation ends with it, loads too
 * (an interrupted load leaves its package in incoming, to be read again). */
static apr_status_t intake_stop(void *data)
{
    pid_t pid = prep_registry ? prep_registry->intake_pid : 0;
    int i, status;

    if (pid <= 1) {
        return APR_SUCCESS;
    }
    kill(-pid, SIGTERM);
    kill(pid, SIGTERM);
    for (i = 0; i < 50; i++) {
        if (waitpid(pid, &status, WNOHANG) != 0) {
            break;
        }
        apr_sleep(apr_time_from_msec(20));
    }
    if (i == 50) {
        kill(-pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    prep_registry->intake_pid = 0;
    return APR_SUCCESS;
}

apr_status_t prep_intake_start(apr_pool_t *pconf, server_rec *s)
{
    apr_status_t rv;

    intake_pconf = pconf;
    intake_quick_deaths = 0;
    rv = intake_spawn(s, 0);
    if (rv == APR_SUCCESS) {
        apr_pool_cleanup_register(pconf, NULL, intake_stop,
                                  apr_pool_cleanup_null);
    }
    return rv;
}

/* Monitor hook (parent, about every ten seconds): restarts an intake that
 * was not restarted when it died (it kept dying as soon as it started, or
 * could not be forked), BACKOFF after its last start. */
int prep_intake_monitor(apr_pool_t *p, server_rec *s)
{
    if (!prep_registry || prep_registry->intake_pid ||
        !prep_registry->feeds->nelts || !prep_registry->shm) {
        return DECLINED;
    }
    if (apr_time_now() - intake_started < BACKOFF) {
        return DECLINED;
    }
    intake_restart(s, intake_proc.pid);
    return DECLINED;
}
