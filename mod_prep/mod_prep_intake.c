/* mod_prep_intake.c — the intake process: forked by the parent at startup,
 * it drops to the loader account (PrepUser, else the server's User) at once,
 * polls every feed twice a second (poll_feed), at once when inotify says
 * an upload came into PrepIncoming, and, between loads, keeps the
 * served corte true.  The parent only supervises it: registered as an other
 * child, it is restarted from that callback as soon as it dies, as mod_cgid
 * restarts its daemon (by the monitor hook, which runs every ten seconds,
 * when it keeps dying as it starts).  This file is the process itself: its
 * supervision in the parent, its start and main loop, the order of the work
 * in a poll; the work is done in the rooms of mod_prep_intake.h (loads,
 * follow, journal), which never call back into it.  It alone touches the
 * supervision's state below. */
#include "httpd.h"
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

#include "mod_prep_intake.h"

APLOG_USE_MODULE(prep);

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

static void poll_feed(intake_feed_t *in, apr_pool_t *p)
{
    apr_time_t now = apr_time_now();
    const char *pkg;
    prep_load_mode_e mode;
    prep_file_identity_t id;

    apr_atomic_set64(&in->feed->shm->last_poll, (apr_uint64_t)now);
    watch_start(in, now); /* again, when it was polled */
    /* A load that ended is followed by the next at once, not a poll later:
     * a row of junk files costs their loads, not a second each. */
    if (in->loader && !reap_loader(in, p)) {
        notify_follow(in, p); /* only while it completes a live corte */
        warn_if_stale(in, now, p);
        return;
    }
    /* no loader runs from here on: the slot is the intake's to write */
    follow_store(in, p);
    watch_clock(in, now, p);
    notify_follow(in, p);
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
    mode = PREP_LOAD_NEW;
    if (now >= in->retry_at &&
        (pkg = in->feed->conf.source == PREP_SOURCE_TREE
                   ? next_tree(in, now, &id, p)
                   : next_package(in, now, &mode, &id, p))) {
        journal_seen(in, pkg, &id, mode, p);
        notify_follow(in, p); /* "seen" is told before the load starts */
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
    tree_start(in, p);
    notify_cursor_start(in); /* its own start line is the first told */
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
    notify_start(); /* as root still: the notifier becomes the User */
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
        feeds[i].watch_fd = -1;
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
        notify_results(feeds, n, iter);
        apr_pool_clear(iter);
        /* while a load runs, its end is noticed within 100 ms; an upload
         * renamed into a watched PrepIncoming wakes the intake at once */
        for (i = 0; i < n && !feeds[i].loader; i++) {
        }
        watch_wait(feeds, n, apr_time_from_msec(i < n ? 100 : 500));
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
