/* mod_prep_intake.c — the intake process: forked by the parent at startup,
 * it drops to the server's User/Group at once, polls every feed's incoming
 * directory about once a second, and runs each settled package's load in a
 * process of its own, so that a crash on a hostile archive costs one
 * package, not the intake.  The parent only supervises it (other-child
 * registration and the monitor hook restart it); httpd's monitor hook runs
 * every ten seconds, too seldom to poll from it directly. */
#include "httpd.h"
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>
#include <locale.h>

#include <stdlib.h>
#include <string.h>

#include "apr_strings.h"
#include "apr_atomic.h"
#include "apr_hash.h"
#include "apr_signal.h"
#include "apr_thread_proc.h"
#include "http_log.h"
#include "ap_listen.h"
#include "http_main.h"
#include "mpm_common.h"
#include "unixd.h"
#include "mod_unixd.h"

#include "mod_prep.h"

APLOG_USE_MODULE(prep);

/* Exit codes of a loader process. */
#define LOADER_PUBLISHED 0
#define LOADER_REFUSED   1
#define LOADER_BUSY      75

/* What the intake remembers of one file seen in an incoming directory. */
typedef struct seen_file {
    apr_off_t size;
    apr_time_t mtime;
    apr_time_t polled; /* last poll that saw it */
} seen_file_t;

/* The intake's view of one feed. */
typedef struct intake_feed {
    prep_feed_rt_t *feed;
    apr_pool_t *pool;    /* for `seen` */
    apr_hash_t *seen;    /* name → seen_file_t */
    pid_t loader;        /* 0 when no load runs */
    const char *loading; /* package path being loaded */
    apr_pool_t *corte_pool;
    prep_corte_t *corte; /* the corte being served, or NULL */
    int stale_warned;
    /* The last package loaded: if it is still in incoming afterwards (it
     * could not be moved away), it is not loaded over and over. */
    char *done_name;
    apr_off_t done_size;
    apr_time_t done_mtime;
    apr_time_t retry_at; /* no load before this time */
    char *crashed_name;  /* the package whose loader died once already */
} intake_feed_t;

/* How long the intake waits before retrying when the store is busy. */
#define RETRY_BUSY apr_time_from_sec(5)

static apr_proc_t intake_proc;
static apr_time_t intake_started;

/* Shows a problem in the status (and clears it with NULL). */
static void set_problem(prep_feed_shm_t *shm, const char *msg)
{
    if (!msg) {
        apr_atomic_set64(&shm->problem_at, 0);
        return;
    }
    apr_cpystrn(shm->problem, msg, sizeof(shm->problem));
    apr_atomic_set64(&shm->problem_at, (apr_uint64_t)apr_time_now());
}

void prep_shm_publish(prep_feed_shm_t *shm, const char *id)
{
    apr_atomic_inc32(&shm->seq); /* odd: being written */
    apr_cpystrn(shm->corte_id, id ? id : "", PREP_ID_MAX);
    apr_atomic_inc32(&shm->seq); /* even: done */
}

apr_uint32_t prep_shm_read(prep_feed_shm_t *shm, char id[PREP_ID_MAX])
{
    apr_uint32_t before, after;

    for (;;) {
        before = apr_atomic_read32(&shm->seq);
        if (before & 1) {
            continue;
        }
        memcpy(id, shm->corte_id, PREP_ID_MAX);
        id[PREP_ID_MAX - 1] = '\0';
        after = apr_atomic_read32(&shm->seq);
        if (before == after) {
            return before;
        }
    }
}

static void load_log(void *baton, int is_error, const char *msg)
{
    intake_feed_t *in = baton;

    ap_log_error(APLOG_MARK, is_error ? APLOG_ERR : APLOG_NOTICE, 0,
                 ap_server_conf, APLOGNO(10610) "feed %s: %s",
                 in->feed->conf.name, msg);
}

/* Reads the store's current corte into the feed's shm slot and memory. */
static void refresh_current(intake_feed_t *in)
{
    const char *id = NULL;
    prep_corte_t *c = NULL;

    apr_pool_clear(in->corte_pool);
    if (prep_store_current(&id, in->feed->conf.store, in->corte_pool) ==
            APR_SUCCESS &&
        id &&
        prep_store_read_corte(
            &c, prep_store_corte_dir(in->corte_pool, in->feed->conf.store, id),
            in->corte_pool) != APR_SUCCESS) {
        c = NULL;
    }
    in->corte = c;
    prep_shm_publish(in->feed->shm, id);
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
                     APLOGNO(10608) "feed %s: cannot empty %s/staging",
                     in->feed->conf.name, store);
    }
    apr_pool_destroy(lock_pool); /* and the lock with it */
}

static void run_loader(intake_feed_t *in, const char *path)
{
    pid_t pid = fork();

    if (pid < 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, errno, ap_server_conf,
                     APLOGNO(10611) "feed %s: cannot fork a loader",
                     in->feed->conf.name);
        return;
    }
    if (pid == 0) {
        apr_pool_t *p;
        prep_load_result_t *res;

        apr_pool_create(&p, NULL);
        res = prep_load_package(&in->feed->conf, path, load_log, in, p);
        if (res->verdict.reason && !strcmp(res->verdict.reason, "busy")) {
            set_problem(in->feed->shm, res->verdict.message);
            _exit(LOADER_BUSY);
        }
        if (!res->verdict.reason) {
            set_problem(in->feed->shm, NULL);
            /* Live now rather than at the intake's next poll, up to half a
             * second later: the intake publishes only after it has reaped
             * this process, so the two never write the slot at once. */
            if (res->corte) {
                prep_shm_publish(in->feed->shm, res->corte->id);
            }
        }
        _exit(res->verdict.reason ? LOADER_REFUSED : LOADER_PUBLISHED);
    }
    in->loader = pid;
    in->loading = apr_pstrdup(in->pool, path);
}

static void remember_done(intake_feed_t *in, apr_pool_t *p)
{
    apr_finfo_t fi;
    const char *name = ap_strrchr_c(in->loading, '/');

    free(in->done_name);
    in->done_name = NULL;
    if (apr_stat(&fi, in->loading, APR_FINFO_SIZE | APR_FINFO_MTIME, p) ==
        APR_SUCCESS) {
        ap_log_error(
            APLOG_MARK, APLOG_WARNING, 0, ap_server_conf,
            APLOGNO(
                10619) "feed %s: %s is still in %s after its load (is the "
                       "directory writable by the server's User?); it is not "
                       "read again until it changes",
            in->feed->conf.name, name + 1, in->feed->conf.incoming);
        in->done_name = strdup(name + 1);
        in->done_size = fi.size;
        in->done_mtime = fi.mtime;
    }
}

/* A loader that died without a verdict (a crash, a kill): the package is
 * tried once more (the kill may have come from outside), then set aside so
 * that it cannot crash every loader after it.  Returns 1 when set aside. */
static int loader_crashed(intake_feed_t *in, int status, apr_pool_t *p)
{
    prep_verdict_t v;
    const char *name = ap_strrchr_c(in->loading, '/');
    const char *dir, *to;
    apr_file_t *fp;

    name = name ? name + 1 : in->loading;
    if (!in->crashed_name || strcmp(in->crashed_name, name)) {
        free(in->crashed_name);
        in->crashed_name = strdup(name);
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ap_server_conf,
                     APLOGNO(10609) "feed %s: the loader of %s ended without "
                                    "a verdict (status %d); trying once more",
                     in->feed->conf.name, name, status);
        set_problem(in->feed->shm,
                    apr_psprintf(p,
                                 "the loader of %s ended without a verdict "
                                 "(status %d)",
                                 name, status));
        return 0;
    }
    free(in->crashed_name);
    in->crashed_name = NULL;
    v.reason = "crash";
    v.message =
        WIFSIGNALED(status)
            ? apr_psprintf(p, "the loader died of signal %d", WTERMSIG(status))
            : apr_psprintf(p, "the loader exited with status %d",
                           WEXITSTATUS(status));
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, ap_server_conf,
                 APLOGNO(10612) "feed %s: package %s refused: %s: %s",
                 in->feed->conf.name, name, v.reason, v.message);
    prep_store_record_rejected(in->feed->conf.store, name, &v, apr_time_now(),
                               p);
    dir = apr_pstrcat(p, in->feed->conf.incoming, "/rejected", NULL);
    apr_dir_make(dir, APR_FPROT_OS_DEFAULT, p);
    to = apr_pstrcat(p, dir, "/", name, NULL);
    if (apr_file_rename(in->loading, to, p) == APR_SUCCESS &&
        apr_file_open(&fp, apr_pstrcat(p, to, ".reason", NULL),
                      APR_FOPEN_WRITE | APR_FOPEN_CREATE | APR_FOPEN_TRUNCATE,
                      APR_FPROT_OS_DEFAULT, p) == APR_SUCCESS) {
        apr_file_printf(fp, "%s: %s\n", v.reason, v.message);
        apr_file_close(fp);
    }
    return 1;
}

static void reap_loader(intake_feed_t *in, apr_pool_t *p)
{
    int status, retry;
    pid_t pid = waitpid(in->loader, &status, WNOHANG);

    if (pid == 0) {
        return; /* still loading */
    }
    if (pid < 0 ||
        (WIFEXITED(status) && (WEXITSTATUS(status) == LOADER_PUBLISHED ||
                               WEXITSTATUS(status) == LOADER_REFUSED ||
                               WEXITSTATUS(status) == LOADER_BUSY))) {
        /* the verdict is in the store and the log already */
        retry = pid > 0 && WEXITSTATUS(status) == LOADER_BUSY;
    } else {
        retry = !loader_crashed(in, status, p);
    }
    if (retry) {
        /* the store cannot take a corte now (not writable, full, locked):
         * the package stays in incoming and is tried again a bit later */
        in->retry_at = apr_time_now() + RETRY_BUSY;
    } else {
        remember_done(in, p);
    }
    in->loader = 0;
    in->loading = NULL;
    refresh_current(in);
}

/* How long a package waits for its PrepVerify sidecar (PKG.sha256 or
 * PKG.sig), uploaded after it, before it is read anyway and refused. */
#define SIDECAR_WAIT apr_time_from_sec(60)

/* Whether a settled package may be read: with PrepVerify its sidecar must
 * be there too, or the wait for it be over. */
static int sidecar_ready(const prep_feed_t *f, const char *name,
                         apr_time_t mtime, apr_time_t now, apr_pool_t *p)
{
    const char *ext = f->verify == PREP_VERIFY_SHA256      ? ".sha256"
                      : f->verify == PREP_VERIFY_SIGNATURE ? ".sig"
                                                           : NULL;
    apr_finfo_t fi;

    if (!ext || now - mtime >= f->settle + SIDECAR_WAIT) {
        return 1;
    }
    return apr_stat(&fi, apr_pstrcat(p, f->incoming, "/", name, ext, NULL),
                    APR_FINFO_MTIME, p) == APR_SUCCESS &&
           now - fi.mtime >= f->settle;
}

/* The oldest package in incoming that has been unchanged for the settle
 * time and across two polls, or NULL.  Packages moved in together (the same
 * mtime) go in name order: the institute's names carry the corte time. */
static const char *settled_package(intake_feed_t *in, apr_time_t now,
                                   apr_pool_t *p)
{
    const prep_feed_t *f = &in->feed->conf;
    apr_dir_t *dir;
    apr_finfo_t fi;
    const char *best = NULL, *best_name = NULL;
    apr_time_t best_mtime = 0;
    apr_hash_index_t *hi;

    if (apr_dir_open(&dir, f->incoming, p) != APR_SUCCESS) {
        return NULL;
    }
    while (apr_dir_read(&fi,
                        APR_FINFO_NAME | APR_FINFO_TYPE | APR_FINFO_SIZE |
                            APR_FINFO_MTIME,
                        dir) == APR_SUCCESS) {
        seen_file_t *s;

        if (fi.filetype != APR_REG || prep_package_name_ignored(fi.name)) {
            continue;
        }
        if (in->done_name && !strcmp(in->done_name, fi.name) &&
            in->done_size == fi.size && in->done_mtime == fi.mtime) {
            continue;
        }
        s = apr_hash_get(in->seen, fi.name, APR_HASH_KEY_STRING);
        if (!s) {
            s = apr_pcalloc(in->pool, sizeof(*s));
            s->size = -1;
            apr_hash_set(in->seen, apr_pstrdup(in->pool, fi.name),
                         APR_HASH_KEY_STRING, s);
        } else if (s->size == fi.size && s->mtime == fi.mtime &&
                   now - fi.mtime >= f->settle &&
                   (!best || fi.mtime < best_mtime ||
                    (fi.mtime == best_mtime &&
                     strcmp(fi.name, best_name) < 0)) &&
                   sidecar_ready(f, fi.name, fi.mtime, now, p)) {
            best = apr_pstrcat(p, f->incoming, "/", fi.name, NULL);
            best_name = best + strlen(f->incoming) + 1;
            best_mtime = fi.mtime;
        }
        s->size = fi.size;
        s->mtime = fi.mtime;
        s->polled = now;
    }
    apr_dir_close(dir);
    /* Forget files that are gone, so that `seen` does not grow. */
    for (hi = apr_hash_first(p, in->seen); hi; hi = apr_hash_next(hi)) {
        const void *key;
        void *val;

        apr_hash_this(hi, &key, NULL, &val);
        if (((seen_file_t *)val)->polled != now) {
            apr_hash_set(in->seen, key, APR_HASH_KEY_STRING, NULL);
        }
    }
    return best;
}

static void warn_if_stale(intake_feed_t *in, apr_time_t now)
{
    const char *state = prep_feed_state(&in->feed->conf, in->corte, now);

    if (!strcmp(state, "stale")) {
        if (!in->stale_warned) {
            ap_log_error(
                APLOG_MARK, APLOG_WARNING, 0, ap_server_conf,
                APLOGNO(
                    10613) "feed %s is stale: no new corte for %" APR_TIME_T_FMT
                           " s (3 x PrepUpdateInterval); still serving %s",
                in->feed->conf.name, apr_time_sec(now - in->corte->loaded_at),
                in->corte->id);
            in->stale_warned = 1;
        }
    } else {
        in->stale_warned = 0;
    }
}

static void poll_feed(intake_feed_t *in, apr_pool_t *p)
{
    apr_time_t now = apr_time_now();
    const char *pkg;

    apr_atomic_set64(&in->feed->shm->last_poll, (apr_uint64_t)now);
    if (in->loader) {
        reap_loader(in, p);
    }
    if (!in->loader && now >= in->retry_at &&
        (pkg = settled_package(in, now, p))) {
        run_loader(in, pkg);
    }
    warn_if_stale(in, now);
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
    if (geteuid() == 0 && ap_unixd_setup_child() != 0) {
        ap_log_error(
            APLOG_MARK, APLOG_CRIT, errno, s,
            APLOGNO(10614) "intake: cannot switch to the server's User/Group");
        _exit(APEXIT_CHILDFATAL);
    }
    setlocale(LC_CTYPE, "C.UTF-8");
    apr_pool_create(&pool, NULL);
    apr_pool_create(&iter, pool);
    feeds = apr_pcalloc(pool, n * sizeof(*feeds));
    for (i = 0; i < n; i++) {
        feeds[i].feed =
            APR_ARRAY_IDX(prep_registry->feeds, i, prep_feed_rt_t *);
        apr_pool_create(&feeds[i].pool, pool);
        apr_pool_create(&feeds[i].corte_pool, pool);
        feeds[i].seen = apr_hash_make(feeds[i].pool);
        if (prep_store_prepare(feeds[i].feed->conf.store, pool) !=
            APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_ERR, errno, s,
                         APLOGNO(10615) "feed %s: cannot prepare the store %s",
                         feeds[i].feed->conf.name, feeds[i].feed->conf.store);
        }
        clean_staging_leftovers(&feeds[i], pool);
        refresh_current(&feeds[i]);
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                 APLOGNO(10616) "intake started (pid %" APR_PID_T_FMT
                                ", %d feeds)",
                 getpid(), n);
    for (;;) {
        if (getppid() == 1) {
            /* httpd is gone (killed): its loads end with it, as on a stop,
             * rather than publish behind the back of the next server */
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
        apr_sleep(apr_time_from_msec(500));
    }
}

static void intake_maintenance(int reason, void *data, int status);

static apr_status_t intake_spawn(server_rec *s, apr_pool_t *pconf)
{
    pid_t pid = fork();

    if (pid < 0) {
        return errno;
    }
    if (pid == 0) {
        intake_main(s);
        _exit(0);
    }
    intake_proc.pid = pid;
    intake_started = apr_time_now();
    prep_registry->intake_pid = pid;
    apr_proc_other_child_register(&intake_proc, intake_maintenance, s, NULL,
                                  pconf);
    return APR_SUCCESS;
}

static void intake_maintenance(int reason, void *data, int status)
{
    server_rec *s = data;

    switch (reason) {
        case APR_OC_REASON_DEATH:
        case APR_OC_REASON_LOST:
            apr_proc_other_child_unregister(data);
            prep_registry->intake_pid = 0;
            ap_log_error(
                APLOG_MARK, APLOG_WARNING, 0, s,
                APLOGNO(10617) "intake process %" APR_PID_T_FMT
                               " ended (status %d); the monitor restarts it",
                intake_proc.pid, status);
            break;
        case APR_OC_REASON_RESTART:
        case APR_OC_REASON_UNREGISTER:
            break;
    }
}

/* pconf cleanup: the intake of this generation ends with it, loads too
 * (an interrupted load leaves its package in incoming, to be read again). */
static apr_status_t intake_stop(void *data)
{
    pid_t pid = prep_registry ? prep_registry->intake_pid : 0;
    int i, status;

    if (pid <= 0) {
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
    apr_status_t rv = intake_spawn(s, pconf);

    if (rv == APR_SUCCESS) {
        apr_pool_cleanup_register(pconf, NULL, intake_stop,
                                  apr_pool_cleanup_null);
    }
    return rv;
}

/* Monitor hook (parent, every few seconds): restart an intake that died,
 * but not more often than every 10 s if it keeps dying. */
int prep_intake_monitor(apr_pool_t *p, server_rec *s)
{
    if (!prep_registry || prep_registry->intake_pid ||
        !prep_registry->feeds->nelts || !prep_registry->shm) {
        return DECLINED;
    }
    if (apr_time_now() - intake_started < apr_time_from_sec(10)) {
        return DECLINED;
    }
    if (intake_spawn(s, prep_registry->feeds->pool) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, errno, s,
                     APLOGNO(10618) "cannot restart the intake process");
    }
    return DECLINED;
}
