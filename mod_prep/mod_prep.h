/* mod_prep.h — what the httpd glue files of mod_prep share: the feed
 * registry built from the configuration, the per-directory configuration,
 * the shared-memory slot of each feed and the child's attached cortes. */
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

/* One feed's slot in shared memory.  The intake process writes it, every
 * child reads it.  `seq` is a sequence lock: odd while the writer is
 * changing corte_id, bumped to the next even number when done. */
typedef struct prep_feed_shm {
    volatile apr_uint32_t seq;
    char corte_id[PREP_ID_MAX];
    volatile apr_uint64_t last_poll; /* apr_time_t */
    volatile apr_uint64_t requests;
    volatile apr_uint64_t bytes;
    volatile apr_uint64_t not_modified;
    volatile apr_uint64_t not_found;
    /* The last problem that kept a package from being loaded (store not
     * writable, disk full, loader crash), cleared by the next publish. */
    volatile apr_uint64_t problem_at; /* apr_time_t, 0: none */
    char problem[256];
    /* Bumped when the corte served is rebuilt under the same id (healed):
     * children attach it again. */
    volatile apr_uint32_t renewed;
    /* What the intake sees and does, for the status: written by the intake
     * only, under the sequence lock info_seq (odd while writing). */
    volatile apr_uint32_t info_seq;
    prep_intake_info_t info;
} prep_feed_shm_t;

/* A corte as one child sees it: its index mapped, its pack open.  Requests
 * hold a reference; a retired corte is closed when the last one ends. */
typedef struct prep_attached {
    apr_pool_t *pool;
    char id[PREP_ID_MAX];
    apr_uint32_t renewed; /* the slot's `renewed` when attached */
    prep_index_t *index;
    apr_os_file_t pack_fd;
    prep_corte_t *corte;
    const char *corte_iso;  /* X-PREP-Corte */
    apr_time_t corte_mtime; /* Last-Modified of bannered pages */
    int refs;
    int retired;
} prep_attached_t;

/* A <PrepFeed> with its runtime state. */
typedef struct prep_feed_rt {
    prep_feed_t conf;
    int slot;               /* index in the shared-memory array */
    const char *defined_at; /* "file:line" for messages */
    prep_feed_shm_t *shm;
    /* child side */
    apr_thread_mutex_t *mutex;
    prep_attached_t *attached;
    apr_uint32_t attached_seq;
} prep_feed_rt_t;

typedef struct prep_cache_rule {
    const char *glob;
    const char *value;
} prep_cache_rule_t;

/* Per <Location>. */
typedef struct prep_dir_conf {
    const char *base; /* the Location's path, without trailing '/' */
    const char *serve;
    prep_feed_rt_t *feed;
    int banner_slot; /* -1 unset, 0 off, 1 default, 2.. templates */
    apr_array_header_t *cache_rules; /* prep_cache_rule_t */
    const char *csp; /* "frame-ancestors …" of PrepFrameAncestors, or NULL */
    int ignore_embargo; /* -1 unset */
} prep_dir_conf_t;

/* The feeds and banner templates of the configuration being loaded. */
typedef struct prep_registry {
    /* PrepUser: the loader account (intake and loaders run as it, and it
     * alone writes the stores); NULL: the server's User. */
    const char *loader_user;
    uid_t loader_uid;
    gid_t loader_gid;
    apr_array_header_t *feeds;     /* prep_feed_rt_t * */
    apr_array_header_t *templates; /* const char *: template texts */
    apr_array_header_t *serves;    /* const char *: "name\tfile:line" */
    apr_shm_t *shm;
    pid_t intake_pid;
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

/* mod_prep_intake.c: the unprivileged process that polls incoming
 * directories and runs loads. */
apr_status_t prep_intake_start(apr_pool_t *pconf, server_rec *s);
/* Reads the id of a store's current corte into the feed's shm slot. */
void prep_shm_publish(prep_feed_shm_t *shm, const char *id);
/* Copies the intake's part of the status out of the slot. */
void prep_shm_read_info(prep_feed_shm_t *shm, prep_intake_info_t *info);
/* Copies the id out of the slot; returns the sequence it belongs to. */
apr_uint32_t prep_shm_read(prep_feed_shm_t *shm, char id[PREP_ID_MAX]);
/* Monitor hook: restarts the intake process if it died. */
int prep_intake_monitor(apr_pool_t *p, server_rec *s);

/* mod_prep_handler.c */
int prep_handler(request_rec *r);
/* Takes a reference on the feed's current corte for this request (released
 * with r->pool), attaching a newly published one if needed; NULL if none. */
prep_attached_t *prep_corte_acquire(prep_feed_rt_t *f, request_rec *r);

/* mod_prep_status.c */
int prep_status_handler(request_rec *r);

#endif /* MOD_PREP_H */
