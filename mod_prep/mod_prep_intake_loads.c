/* mod_prep_intake_loads.c — the loads the intake runs, in the intake
 * process: the scan of PrepIncoming (every name, without following links)
 * for the next settled package, each load forked in a process of its own
 * (so that a crash on a hostile archive costs one package), and its end:
 * reaped, killed over PrepLoadTimeout, tried once more after a crash then
 * set aside.  It touches the load's part of intake_feed_t (loader, loading,
 * seen, retry_at, crashed, store_problem) and, through the loader, the
 * store; after a load it follows the store again (mod_prep_intake_follow.c)
 * and tells what happened (mod_prep_intake_journal.c). */
#include "httpd.h"
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <string.h>
#include <jansson.h>

#include "apr_atomic.h"
#include "apr_strings.h"
#include "apr_hash.h"
#include "http_log.h"
#include "http_main.h"

#include "mod_prep_intake.h"

APLOG_USE_MODULE(prep);

/* How long the intake waits before retrying when the store is busy. */
#define RETRY_BUSY apr_time_from_sec(5)

static void load_log(void *baton, int is_error, const char *msg)
{
    intake_feed_t *in = baton;

    ap_log_error(APLOG_MARK, is_error ? APLOG_ERR : APLOG_NOTICE, 0,
                 ap_server_conf, "PREP0110: feed %s: %s", in->feed->conf.name,
                 msg);
}

/* why: a REPUBLISH's reason, "healed" (NULL), "banner" or "variants". */
void run_loader(intake_feed_t *in, const char *name,
                const prep_file_identity_t *id, prep_load_mode_e mode,
                const char *corte_id, const char *corte_sha256, const char *why)
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
        if (in->feed->conf.source == PREP_SOURCE_TREE) {
            /* the snapshot is opened as the loader wrote it; id is the
             * tree's (its bytes, its newest mtime), for the journal */
            req.seen = NULL;
            req.tree_signature = in->tree_loading;
        }
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
        /* A corte live with variants still to make gets them now, and is
         * attached again by every child once it has them. */
        if (res->pending) {
            apr_atomic_set32(&in->feed->shm->completing, 1);
        }
        if (res->pending && prep_load_complete(res) && res->corte) {
            prep_shm_publish_renewed(in->feed->shm, res->corte->id);
        }
        _exit(prep_load_exit_status(res->outcome));
    }
    apr_pool_clear(in->loading_pool);
    apr_atomic_set32(&in->feed->shm->completing, 0);
    in->completing_since = 0;
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

/* The error log's line of a refusal the intake makes itself. */
static void log_refused(intake_feed_t *in, const char *name,
                        const prep_verdict_t *v, apr_pool_t *p)
{
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, ap_server_conf,
                 "PREP0112: feed %s: package %s refused: %s: %s",
                 in->feed->conf.name, prep_name_shown(p, name), v->reason,
                 v->message);
}

/* Refuses the package of the load that just ended, in the intake (a
 * crash, a timeout): the loader could not. */
static void set_aside_here(intake_feed_t *in, const char *reason,
                           const char *message, apr_pool_t *p)
{
    const prep_feed_t *f = &in->feed->conf;
    int tree = f->source == PREP_SOURCE_TREE, dirfd = -1;
    prep_verdict_t v;

    v.reason = reason;
    v.message = message;
    log_refused(in, in->loading, &v, p);
    /* a tree's snapshot is the store's, as it was when the loader died */
    if (tree) {
        dirfd = open(apr_pstrcat(p, f->store, "/" PREP_SNAPSHOT_DIR, NULL),
                     O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    prep_incoming_reject(f, dirfd, in->loading, NULL,
                         tree ? NULL : &in->loading_id, &v, p);
    if (dirfd >= 0) {
        close(dirfd);
    }
    if (tree) {
        tree_set_aside(in, p);
    }
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

    if (f->load_timeout <= 0) {
        return;
    }
    if (apr_atomic_read32(&in->feed->shm->completing)) {
        /* its corte is live: the completion has PrepLoadTimeout of its own,
         * and stopping it refuses nothing (plan_completion publishes the
         * corte again) */
        if (!in->completing_since) {
            in->completing_since = now;
        }
        if (now - in->completing_since < f->load_timeout) {
            return;
        }
        kill(in->loader, SIGKILL);
        waitpid(in->loader, &status, 0);
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ap_server_conf,
                     "PREP0163: feed %s: making the variants of the corte "
                     "published from %s took more than %" APR_TIME_T_FMT
                     " s (PrepLoadTimeout) and was stopped; the corte stays "
                     "served",
                     f->name, prep_name_shown(p, in->loading),
                     apr_time_sec(f->load_timeout));
        show_loading(in, NULL, 0);
        prep_incoming_load_ended(seen_get(in, in->loading), &in->loading_id,
                                 PREP_LOAD_PUBLISHED);
        tree_load_ended(in, PREP_LOAD_PUBLISHED);
        load_ended(in, p);
        return;
    }
    if (now - in->loader_started < f->load_timeout) {
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
    tree_load_ended(in, PREP_LOAD_REFUSED);
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
int reap_loader(intake_feed_t *in, apr_pool_t *p)
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
    tree_load_ended(in, outcome);
    load_ended(in, p);
    return 1;
}

static void ignore(apr_array_header_t *ignored, prep_incoming_kind_e kind,
                   const char *name, apr_pool_t *p)
{
    prep_ignored_t *g = apr_array_push(ignored);

    g->name = prep_name_shown(p, name);
    g->why = prep_incoming_kind_text(kind);
}

/* A settled upload the loader account cannot read is refused at once, by
 * the intake (no loader need open it): it would wait for ever otherwise.
 * Under the store's lock, as a loader's refusal is; when prepctl holds it,
 * at a later poll.  Returns 0 when it was moved out of incoming. */
static int refuse_unreadable(intake_feed_t *in, int dirfd, const char *name,
                             prep_seen_t *s, apr_pool_t *p)
{
    const prep_feed_t *f = &in->feed->conf;
    apr_pool_t *lock_pool;
    prep_verdict_t v;
    apr_status_t rv;

    apr_pool_create(&lock_pool, p);
    if (prep_store_lock(f->store, lock_pool) != APR_SUCCESS) {
        apr_pool_destroy(lock_pool);
        return 1;
    }
    journal_seen(in, name, &s->id, PREP_LOAD_NEW, p);
    rv = prep_incoming_refuse_unreadable(f, dirfd, name, &s->id, &v, p);
    apr_pool_destroy(lock_pool);
    if (rv == APR_EMISMATCH) {
        return 1; /* another file, or readable now: looked at again */
    }
    log_refused(in, name, &v, p);
    if (rv != APR_SUCCESS) {
        ap_log_error(
            APLOG_MARK, APLOG_WARNING, rv, ap_server_conf,
            "PREP0178: feed %s: cannot move %s into %s/" PREP_REJECTED_DIR
            "; it stays in %s, refused",
            f->name, prep_name_shown(p, name), f->store, f->incoming);
    }
    prep_incoming_load_ended(s, &s->id, PREP_LOAD_REFUSED);
    return rv != APR_SUCCESS;
}

/* Looks at every name in incoming (without following links), rebuilds the
 * seen table from the names still there, and returns the package to read
 * next, or NULL; *mode says how. */
const char *next_package(intake_feed_t *in, apr_time_t now,
                         prep_load_mode_e *mode, prep_file_identity_t *id_out,
                         apr_pool_t *p)
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
    in->wake_at = 0;
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
        if (kind != PREP_INCOMING_PACKAGE && kind != PREP_INCOMING_UNREADABLE) {
            ignore(ignored, kind, fi.name, p);
            continue;
        }
        name = apr_pstrdup(pool, fi.name);
        s = apr_palloc(pool, sizeof(*s));
        prep_incoming_seen(s, seen_get(in, fi.name), &id);
        watch_apply(in, fi.name, s);
        apr_hash_set(seen, name, APR_HASH_KEY_STRING, s);
        if (kind == PREP_INCOMING_UNREADABLE) {
            int stays = 1;

            if (prep_incoming_settled(s, f->settle, now)) {
                stays = refuse_unreadable(in, dirfd, name, s, p);
            }
            /* refused, and still here: it could not be moved */
            if (s->done && stays) {
                ignore(ignored, kind, fi.name, p);
            }
            continue;
        }
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
    watch_scanned(in);
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
