/* mod_prep.h — what the httpd glue files of mod_prep share: the feed
 * registry built from the configuration, the per-directory configuration,
 * and the served corte's room (mod_prep_corte.c): each feed's slot in
 * shared memory, the cortes a child has attached, the traffic counters. */
#ifndef MOD_PREP_H
#define MOD_PREP_H

#include "httpd.h"
#include "http_config.h"
#include "apr_thread_mutex.h"
#include "apr_shm.h"

#include "prep.h"

extern module AP_MODULE_DECLARE_DATA prep_module;

#define PREP_ID_MAX      64
#define PREP_IGNORED_MAX 8

/* --- the served corte (mod_prep_corte.c) ------------------------- */

#define PREP_PROBLEM_MAX 256

/* The intake's part of a feed's status (copied out whole by the status
 * handler). */
typedef struct prep_intake_info {
    apr_time_t loading_since;   /* 0: no load runs */
    char loading[160];          /* the package being loaded (shown form) */
    apr_uint32_t nignored;      /* names in incoming never read ... */
    apr_uint32_t shown_ignored; /* ... of which the first few: */
    struct {
        char name[120];
        char why[40];
    } ignored[PREP_IGNORED_MAX];
    prep_integrity_e integrity;
    apr_time_t audited_at;   /* the last complete audit of the served corte */
    apr_time_t integrity_at; /* when the integrity state last changed */
    char integrity_detail[256];
} prep_intake_info_t;

/* What the children and the status need of the operator's control
 * (STORE/control.json as the intake last read it), in effect: the
 * configuration's PrepDrill and PrepPublishUntil already applied. */
typedef struct prep_served_control {
    char pin[PREP_ID_MAX];    /* the corte the feed is pinned at; "": none */
    char newest[PREP_ID_MAX]; /* the newest retained corte; "": none */
    apr_time_t pinned_at;     /* 0 unless pinned */
    apr_time_t closed_at;     /* prep_feed_closed_at; 0: no end known */
    apr_int32_t drill;        /* prep_feed_drill: 0 or 1 */
} prep_served_control_t;

/* The corte a feed serves, as published, and the operator's control it is
 * served under: one part, so that a child never sees a rollback's corte
 * without its pin. */
typedef struct prep_served {
    char id[PREP_ID_MAX]; /* "": none */
    /* Bumped when the corte is rebuilt under the same id (healed): the
     * children attach it again. */
    apr_uint32_t renewed;
    prep_served_control_t control;
} prep_served_t;

/* The last problem that kept a package from being loaded (store not
 * writable, disk full, loader crash), cleared by the next publish. */
typedef struct prep_problem {
    apr_time_t at; /* 0: none */
    char message[PREP_PROBLEM_MAX];
} prep_problem_t;

/* One feed's slot in shared memory: three parts, each under a sequence
 * lock of its own (odd while it is written), and the time of the intake's
 * last poll.  Who writes each part, and how the children read it: the
 * protocol at the top of mod_prep_corte.c; only its prep_shm_* functions
 * touch the three parts. */
typedef struct prep_feed_shm {
    apr_uint32_t seq;
    prep_served_t served;
    apr_uint32_t problem_seq;
    prep_problem_t problem;
    apr_uint32_t info_seq;
    prep_intake_info_t info;
    volatile apr_uint64_t last_poll; /* apr_time_t; the intake's, atomic */
    /* how the intake watches PrepIncoming (mod_prep_intake_watch.c): 1
     * inotify, 0 polled; when polled, the call that failed and its errno
     * (prep_shm_read_watch), each one atomic word */
    volatile apr_uint32_t watch_inotify;
    volatile apr_uint32_t watch_call;
    volatile apr_uint32_t watch_errno;
    /* 1 while the loader completes a corte it published before making all
     * its variants (prep_load_complete): PrepLoadTimeout then bounds that
     * from when the intake sees it, and a corte that is live is not a
     * package to refuse */
    volatile apr_uint32_t completing;
} prep_feed_shm_t;

/* Why a feed is polled: the call that failed. */
typedef enum {
    PREP_WATCH_NOT_YET = 0, /* the intake has not tried yet */
    PREP_WATCH_INIT,        /* inotify_init1 */
    PREP_WATCH_ADD,         /* inotify_add_watch */
    PREP_WATCH_GONE,        /* PrepIncoming moved or removed */
    PREP_WATCH_READ,        /* reading the events */
    PREP_WATCH_TREE         /* PrepSource tree: walked at every poll */
} prep_watch_call_e;

/* A corte as one child sees it: its index mapped, its pack open.  Requests
 * hold a reference; a retired corte is closed when the last one ends.  The
 * pack's descriptor is shared by the child's threads: it is only ever read
 * at an explicit offset (pread), never through its file position
 * (mod_prep_handler.c, the pack bucket). */
typedef struct prep_attached {
    apr_pool_t *pool;
    char id[PREP_ID_MAX];
    apr_uint32_t renewed; /* the slot's `renewed` when attached */
    prep_index_t *index;
    apr_os_file_t pack_fd;
    prep_corte_t *corte;
    const char *corte_iso;  /* X-PREP-Corte */
    apr_time_t corte_mtime; /* Last-Modified of bannered pages */
    const char *tag;        /* PrepCacheTag's value, or NULL (off) */
    int refs;
    int retired;
} prep_attached_t;

/* A feed's traffic as counted by one worker (one scoreboard slot: process
 * slot x thread).  Summed over the workers when the status is read. */
typedef enum {
    PREP_TRAFFIC_REQUESTS,
    PREP_TRAFFIC_BYTES,
    PREP_TRAFFIC_NOT_MODIFIED,
    PREP_TRAFFIC_NOT_FOUND,
    PREP_TRAFFIC_COUNTERS
} prep_traffic_e;

typedef struct prep_traffic {
    apr_uint64_t count[PREP_TRAFFIC_COUNTERS];
} prep_traffic_t;

/* A <PrepFeed> with its runtime state. */
typedef struct prep_feed_rt {
    prep_feed_t conf;
    int slot;               /* index of its shm slot and traffic counters */
    const char *defined_at; /* "file:line" for messages */
    /* "file:line" of its PrepIncoming and PrepStore, for configtest's
     * messages about their directories */
    const char *incoming_at, *store_at;
    prep_feed_shm_t *shm;
    /* child side */
    apr_thread_mutex_t *mutex;
    prep_attached_t *attached;
    apr_uint32_t attached_seq;
    /* the slot's control as this child last followed it (under mutex);
     * `drill` alone is also read without it (prep_corte_drill) */
    prep_served_control_t control;
    int drill;
    /* PrepEdgeTTL's header values, made once from the configuration:
     * files' Cache-Control ("public, no-cache" without it) and main.json's
     * and 404s' CDN-Cache-Control/Surrogate-Control (NULL without main=) */
    const char *edge_cache_control;
    const char *edge_main;
} prep_feed_rt_t;

typedef struct prep_cache_rule {
    const char *glob;
    const char *value;
} prep_cache_rule_t;

/* What PrepBanner and PrepBannerTemplate chose for a Location. */
typedef enum {
    PREP_BANNER_UNSET,   /* neither: inherited, else the default banner */
    PREP_BANNER_OFF,     /* PrepBanner off */
    PREP_BANNER_DEFAULT, /* PrepBanner on */
    PREP_BANNER_TEMPLATE /* PrepBannerTemplate: the registry's template */
} prep_banner_mode_e;

typedef struct prep_banner_choice {
    prep_banner_mode_e mode;
    int template_index; /* PREP_BANNER_TEMPLATE: in the registry's templates */
} prep_banner_choice_t;

/* The banner slot of a corte's index the choice asks for: 0 without a
 * banner, 1 the default banner, 2 + n template n (prep_feed_t.banners). */
static APR_INLINE apr_uint32_t prep_banner_slot(const prep_banner_choice_t *b)
{
    return b->mode == PREP_BANNER_OFF ? 0
           : b->mode == PREP_BANNER_TEMPLATE
               ? 2 + (apr_uint32_t)b->template_index
               : 1;
}

/* Per <Location>. */
typedef struct prep_dir_conf {
    const char *base; /* the Location's path, without trailing '/' */
    const char *serve;
    /* the feed PrepServe names, set by prep_check_feeds once the whole
     * configuration is read (the feed may be defined after the Location) */
    prep_feed_rt_t *feed;
    prep_banner_choice_t banner;
    apr_array_header_t *cache_rules; /* prep_cache_rule_t */
    const char *csp; /* "frame-ancestors …" of PrepFrameAncestors, or NULL */
    int ignore_embargo; /* -1 unset */
} prep_dir_conf_t;

/* A PrepServe directive, checked and resolved once everything is read. */
typedef struct prep_serve {
    const char *name;     /* the feed it names */
    const char *where;    /* "file:line" for messages */
    prep_dir_conf_t *dir; /* the Location's configuration */
} prep_serve_t;

/* The feeds and banner templates of the configuration being loaded. */
typedef struct prep_registry {
    /* PrepUser: the loader account (intake and loaders run as it, and it
     * alone writes the stores); NULL: the server's User. */
    const char *loader_user;
    uid_t loader_uid;
    gid_t loader_gid;
    apr_array_header_t *feeds;     /* prep_feed_rt_t * */
    apr_array_header_t *templates; /* const char *: template texts */
    apr_array_header_t *serves;    /* prep_serve_t */
    apr_shm_t *shm;
    pid_t intake_pid;
    /* 1 at the first start of httpd, then 2, 3, ... at each restart (the
     * process pool's count of real post_config passes) */
    int generation;
} prep_registry_t;

extern prep_registry_t *prep_registry;

/* mod_prep_config.c */
extern const command_rec prep_cmds[];
void *prep_create_dir_conf(apr_pool_t *p, char *dir);
void *prep_merge_dir_conf(apr_pool_t *p, void *basev, void *addv);
prep_feed_rt_t *prep_feed_find(const char *name);
/* Checks what can only be checked once everything is read (unknown feeds,
 * stores writable by the User); logs and returns !OK on error. */
int prep_check_feeds(apr_pool_t *ptemp, server_rec *s);

/* mod_prep.c: the runtime file (mod_prep-feeds.json in Apache's runtime
 * directory) that tells prepctl where the feeds are. */
#define PREP_RUNTIME_FILE "mod_prep-feeds.json"

/* mod_prep_intake.c: the unprivileged process that polls incoming
 * directories and runs loads. */
apr_status_t prep_intake_start(apr_pool_t *pconf, server_rec *s);
/* Monitor hook: restarts the intake process if it died and was not
 * restarted at once (it kept dying within a second of its start). */
int prep_intake_monitor(apr_pool_t *p, server_rec *s);

/* mod_prep_corte.c: the shared memory of the feeds (the corte each one
 * serves, its problem, the intake's part of its status, its traffic) and
 * the cortes a child has attached. */

/* Creates the shared memory for the registry's feeds (pconf's lifetime)
 * and points each feed at its slot. */
apr_status_t prep_shm_create(apr_pool_t *pconf, server_rec *s);
/* Publishes corte `id` (NULL or "": none) as the feed's corte. */
void prep_shm_publish(prep_feed_shm_t *shm, const char *id);
/* The same for a corte rebuilt under its own id: children attach it
 * again. */
void prep_shm_publish_renewed(prep_feed_shm_t *shm, const char *id);
/* Publishes corte `id` (NULL or "": none) and the control it is served
 * under together (the intake, when either changed). */
void prep_shm_publish_control(prep_feed_shm_t *shm, const char *id,
                              const prep_served_control_t *control);
/* Copies the control out of the slot (all zero when no stable copy). */
/* The id of the corte the slot names (left as it is when no stable copy
 * could be read). */
void prep_shm_read_id(prep_feed_shm_t *shm, char id[PREP_ID_MAX]);
void prep_shm_read_control(prep_feed_shm_t *shm,
                           prep_served_control_t *control);
/* The control in effect for feed f under the operator's word c and with
 * `newest` the newest retained corte (NULL: none). */
void prep_served_control_make(prep_served_control_t *out, const prep_feed_t *f,
                              const prep_control_t *c, const char *newest);
/* The operator's control of the slot's copy, as prep_feed_state takes it. */
prep_control_t *prep_served_control_to(const prep_served_control_t *sc,
                                       apr_pool_t *p);
/* Shows a problem in the status (and clears it with NULL). */
void prep_shm_set_problem(prep_feed_shm_t *shm, const char *msg);
/* How the intake watches PrepIncoming: watched by inotify, or polled
 * because `call` failed with errno err. */
void prep_shm_set_watch(prep_feed_shm_t *shm, int inotify,
                        prep_watch_call_e call, int err);
/* "inotify" or "poll", and why it is polled (NULL: watched), in p. */
const char *prep_shm_read_watch(prep_feed_shm_t *shm, const char **why,
                                apr_pool_t *p);
/* Copies the problem out of the slot (problem->at 0: none). */
void prep_shm_read_problem(prep_feed_shm_t *shm, prep_problem_t *problem);
/* Copies the intake's part of the status out of the slot. */
void prep_shm_read_info(prep_feed_shm_t *shm, prep_intake_info_t *info);
/* Replaces it (the intake only). */
void prep_shm_write_info(prep_feed_shm_t *shm, const prep_intake_info_t *info);

/* Child init: what a child needs to attach cortes. */
void prep_corte_child_init(apr_pool_t *p, server_rec *s);
/* Takes a reference on the feed's current corte for this request (released
 * with r->pool), attaching a newly published one if needed; NULL if none. */
prep_attached_t *prep_corte_acquire(prep_feed_rt_t *f, request_rec *r);
/* One more reference to a corte acquired, and its release: for what
 * outlives the request's own (a bucket of its pack). */
void prep_corte_hold(prep_feed_rt_t *f, prep_attached_t *a);
void prep_corte_drop(prep_feed_rt_t *f, prep_attached_t *a);

/* Whether the feed runs a drill, as this child last followed its slot
 * (prep_corte_acquire follows it): read without a lock. */
static APR_INLINE int prep_corte_drill(const prep_feed_rt_t *f)
{
    return __atomic_load_n(&f->drill, __ATOMIC_RELAXED);
}

/* The counters of the feed for the worker that runs request r. */
prep_traffic_t *prep_traffic_of(const prep_feed_rt_t *f, request_rec *r);
/* Counts n more of `what`: relaxed, as a counter needs no ordering; an
 * atomic addition, as a worker's counters may be shared (see
 * prep_traffic_of). */
static APR_INLINE void prep_traffic_add(prep_traffic_t *t, prep_traffic_e what,
                                        apr_uint64_t n)
{
    __atomic_fetch_add(&t->count[what], n, __ATOMIC_RELAXED);
}
/* The feed's traffic: the sum over every worker. */
void prep_traffic_sum(const prep_feed_rt_t *f, prep_traffic_t *sum);

/* mod_prep_handler.c */
int prep_handler(request_rec *r);

/* mod_prep_status.c */
int prep_status_handler(request_rec *r);
/* mod_status's status_hook: a line per feed in server-status (its HTML
 * table, or `PrepFeed_NAME: state=... corte=... age=... requests=...`
 * for ?auto). */
int prep_status_hook(request_rec *r, int flags);

#endif /* MOD_PREP_H */
