/* mod_prep_intake.h — what the intake's files share, and only they (the
 * glue's public header is mod_prep.h): the intake's view of a feed and the
 * functions one room of the intake calls in another.  The rooms call one
 * another downward only, never in a circle:
 *
 *   mod_prep_intake.c          the process: its supervision by the parent,
 *                              its main loop and poll_feed, its start
 *   mod_prep_intake_notify.c   PrepNotify: the journal followed, the
 *                              notifier process that runs the commands
 *   mod_prep_intake_loads.c    the loads it runs (a process each) and the
 *                              scan of PrepIncoming for the next package
 *   mod_prep_intake_tree.c     PrepSource tree: the tree walked, when it
 *                              is quiet, a tree never quiet reported
 *   mod_prep_intake_watch.c    PrepIncoming watched with inotify: what it
 *                              says of each name, the wait for it
 *   mod_prep_intake_follow.c   the served corte kept true between loads:
 *                              the operator's control, the clock, the
 *                              banner, the audit and heal, staleness
 *   mod_prep_intake_journal.c  what the intake tells: its journal lines
 *                              and its part of the status in shared memory
 *
 * Each file uses those below it in this list, and none above. */
#ifndef MOD_PREP_INTAKE_H
#define MOD_PREP_INTAKE_H

#include <sys/types.h>
#include <jansson.h>

#include "apr_hash.h"

#include "mod_prep.h"

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
    const char *heal_why; /* "healed" (NULL), "banner" or "variants" */
    /* the corte and banner state a republish for its banner was tried for
     * (once each: a second failure is the operator's to see) */
    char banner_id[PREP_ID_MAX];
    unsigned banner_state;
    /* the corte a republish was tried for because its loader died before
     * it had made the variants it deferred (once) */
    char complete_id[PREP_ID_MAX];
    /* PrepNotify: where the journal was read up to */
    prep_journal_cursor_t notify_cursor;
    int notify_follow_failing; /* it cannot be read (logged once) */
    /* inotify on PrepIncoming (mod_prep_intake_watch.c): its descriptor
     * (-1: polled), why it is polled (errno, the call that failed), when to
     * try again, what it said of each name since the last scan (name →
     * watch_news_t, in news_pool), and when a closed package settles */
    int watch_fd;
    int watch_errno;
    prep_watch_call_e watch_call; /* PREP_WATCH_NOT_YET: never polled */
    apr_time_t watch_retry_at;
    apr_pool_t *news_pool;
    apr_hash_t *news;
    apr_time_t wake_at;
    /* when the intake saw the loader completing a live corte (0: not) */
    apr_time_t completing_since;
    /* PrepSource tree (mod_prep_intake_tree.c): the signature of the last
     * walk and since when it has stayed the same, the signature of the
     * tree loaded last (tree_done, when tree_done_set) and of the one being
     * loaded, the name its snapshot takes, since when the tree has not
     * been quiet and whether that was reported */
    unsigned char tree_sig[32];
    int tree_walked;
    apr_time_t tree_same_since;
    unsigned char tree_done[32];
    int tree_done_set;
    unsigned char tree_loading[32];
    int tree_load; /* the load running is of tree_loading */
    char tree_name[64];
    apr_time_t tree_moving_since;
    int tree_reported;
} intake_feed_t;

/* --- mod_prep_intake_notify.c: PrepNotify -------------------------- */

/* Forks the notifier when some feed has PrepNotify: in the intake, before
 * it drops its privileges (the notifier becomes the server's User). */
void notify_start(void);
/* The feed's journal followed from its end (the lines to come). */
void notify_cursor_start(intake_feed_t *in);
/* The journal's new lines sent to the notifier, once what they tell is in
 * the feed's slot; only while no loader runs, or while one completes the
 * corte it published (the shared memory's `completing`). */
void notify_follow(intake_feed_t *in, apr_pool_t *p);
/* The notifier's results journaled ("notify"), its end noticed. */
void notify_results(intake_feed_t *feeds, int n, apr_pool_t *p);

/* --- mod_prep_intake_journal.c: what the intake tells -------------- */

/* Journals event e with `fields` (taken; NULL: none). */
void journal(intake_feed_t *in, prep_event_e e, json_t *fields, apr_pool_t *p);
/* The same with "corte": the record of c (when not NULL). */
void journal_corte(intake_feed_t *in, prep_event_e e, const prep_corte_t *c,
                   json_t *fields, apr_pool_t *p);
/* The corte served, as the journal shows it, or null. */
json_t *served_json(intake_feed_t *in, apr_pool_t *p);
/* "seen": a package handed to a loader, once per package as it settled. */
void journal_seen(intake_feed_t *in, const char *name,
                  const prep_file_identity_t *id, prep_load_mode_e mode,
                  apr_pool_t *p);
/* The intake's part of the status: the package being loaded (NULL: none),
 * the integrity of the served corte, the incoming names never read. */
void show_loading(intake_feed_t *in, const char *name, apr_time_t since);
void show_integrity(intake_feed_t *in, prep_integrity_e state,
                    const char *detail, int audited);
void show_ignored(intake_feed_t *in, apr_array_header_t *ignored);

/* --- mod_prep_intake_tree.c: PrepSource tree ----------------------- */

/* The tree loaded last, as the store remembers it (at the intake's
 * start). */
void tree_start(intake_feed_t *in, apr_pool_t *p);
/* Walks the feed's tree: the name of the snapshot to load when it has been
 * quiet for PrepSettleTime and is not the tree loaded last (*id: its bytes
 * and newest mtime), else NULL; a tree that is never quiet is reported. */
const char *next_tree(intake_feed_t *in, apr_time_t now,
                      prep_file_identity_t *id, apr_pool_t *p);
/* The load of the tree ended with `outcome`: the tree it read is done
 * unless it is to be tried again (busy, changed, a first crash). */
void tree_load_ended(intake_feed_t *in, prep_load_outcome_e outcome);
/* The tree being loaded is set aside by the intake (a crash, a timeout):
 * the store remembers it as loaded, as the loader does otherwise. */
void tree_set_aside(intake_feed_t *in, apr_pool_t *p);

/* --- mod_prep_intake_watch.c: inotify on PrepIncoming -------------- */

/* Watches the feed's PrepIncoming (again, when it was polled and the time
 * to try has come); polled, with why, when it cannot. */
void watch_start(intake_feed_t *in, apr_time_t now);
/* Waits at most `most` for an event on any watched feed, or until a
 * closed package settles; reads what the events say of each name. */
void watch_wait(intake_feed_t *feeds, int n, apr_interval_time_t most);
/* Applies what inotify said of `name` since the last scan to its entry s
 * (its identity the one just seen); keeps when it settles for the wait. */
void watch_apply(intake_feed_t *in, const char *name, prep_seen_t *s);
/* The scan is over: what inotify said has been applied. */
void watch_scanned(intake_feed_t *in);

/* --- mod_prep_intake_follow.c: the served corte kept true ---------- */

/* Follows STORE/control.json and STORE/current into the feed's memory and
 * slot (a read when either changed, or when store_dirty says so). */
void follow_store(intake_feed_t *in, apr_pool_t *p);
/* PrepPublishFrom and PrepPublishUntil passing while the server runs. */
void watch_clock(intake_feed_t *in, apr_time_t now, apr_pool_t *p);
/* Asks for a republish when the served corte's banner says other than
 * what the feed's state asks for. */
void plan_banner(intake_feed_t *in, apr_time_t now);
/* One slice of the audit of the served corte. */
void audit_slice(intake_feed_t *in, apr_time_t now, apr_pool_t *p);
/* Stale once, and fresh again when a new corte ends it. */
void warn_if_stale(intake_feed_t *in, apr_time_t now, apr_pool_t *p);

/* --- mod_prep_intake_loads.c: the loads ---------------------------- */

/* Forks the load of package `name`; why: a REPUBLISH's reason, "healed"
 * (NULL) or "banner". */
void run_loader(intake_feed_t *in, const char *name,
                const prep_file_identity_t *id, prep_load_mode_e mode,
                const char *corte_id, const char *corte_sha256,
                const char *why);
/* Returns 1 when the load ended (and the next one may start). */
int reap_loader(intake_feed_t *in, apr_pool_t *p);
/* The package in incoming to read next, or NULL; *mode says how. */
const char *next_package(intake_feed_t *in, apr_time_t now,
                         prep_load_mode_e *mode, prep_file_identity_t *id_out,
                         apr_pool_t *p);

#endif /* MOD_PREP_INTAKE_H */
