/* mod_prep_intake_tree.c — PrepSource tree, in the intake: PrepIncoming is
 * a tree the institute updates in place, walked at every poll
 * (prep_tree_walk, prep_tree.c).  Its signature (every name, kind, size,
 * time and inode) must stay the same for PrepSettleTime with no name of an
 * upload in progress in it (rsync's .NAME.XXXXXX, .part...) before a
 * loader takes a snapshot of it (prep_tree_snapshot, in prep_load_package)
 * and loads that; the tree loaded last, whatever its verdict, is not
 * loaded again until it changes (the store keeps its signature across
 * restarts, STORE/snapshot/last).  A tree that stays restless longer than
 * ten times PrepSettleTime is reported in the error log
 * and the status's problem, never published half-way. */
#include "httpd.h"
#include <string.h>

#include "apr_strings.h"
#include "http_log.h"
#include "http_main.h"

#include "mod_prep_intake.h"

APLOG_USE_MODULE(prep);

/* How many PrepSettleTime a tree may stay restless before it is
 * reported. */
#define TREE_RESTLESS 10

void tree_start(intake_feed_t *in, apr_pool_t *p)
{
    const prep_feed_t *f = &in->feed->conf;

    in->tree_done_set =
        f->source == PREP_SOURCE_TREE &&
        prep_tree_last_read(in->tree_done, f->store, p) == APR_SUCCESS;
}

/* A tree not quiet for longer than the bound is said once, and said again
 * to be quiet when it is. */
static void restless(intake_feed_t *in, const prep_tree_walk_t *w, int quiet,
                     apr_time_t now, apr_pool_t *p)
{
    const prep_feed_t *f = &in->feed->conf;
    apr_time_t bound = TREE_RESTLESS * f->settle;
    const char *what;

    if (quiet) {
        if (in->tree_reported) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, ap_server_conf,
                         "PREP0165: feed %s: the tree %s is quiet again",
                         f->name, f->incoming);
            prep_shm_set_problem(in->feed->shm, NULL);
        }
        in->tree_moving_since = 0;
        in->tree_reported = 0;
        return;
    }
    if (!in->tree_moving_since) {
        in->tree_moving_since = now;
    }
    if (in->tree_reported || now - in->tree_moving_since < bound) {
        return;
    }
    what = w->temporary
               ? apr_psprintf(p,
                              "\"%s\", the name of an upload in progress, "
                              "is in it",
                              prep_name_shown(p, w->temporary))
           : w->error
               ? apr_psprintf(p, "its directory \"%s\" cannot be read: %s",
                              prep_name_shown(p, w->error_path),
                              strerror(w->error))
               : apr_psprintf(p, "it changed %" APR_TIME_T_FMT " s ago",
                              apr_time_sec(now - in->tree_same_since));
    in->tree_reported = 1;
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ap_server_conf,
                 "PREP0164: feed %s: the tree %s has not been quiet for "
                 "PrepSettleTime (%" APR_TIME_T_FMT " s) in the last "
                 "%" APR_TIME_T_FMT " s: %s; nothing of it is published "
                 "until it is",
                 f->name, f->incoming, apr_time_sec(f->settle),
                 apr_time_sec(now - in->tree_moving_since), what);
    prep_shm_set_problem(
        in->feed->shm,
        apr_psprintf(p,
                     "the tree in PrepIncoming has not been quiet for "
                     "PrepSettleTime since %" APR_TIME_T_FMT " s: %s",
                     apr_time_sec(now - in->tree_moving_since), what));
}

const char *next_tree(intake_feed_t *in, apr_time_t now,
                      prep_file_identity_t *id, apr_pool_t *p)
{
    const prep_feed_t *f = &in->feed->conf;
    prep_tree_walk_t w;
    int quiet, done;

    prep_tree_walk(&w, f->incoming, &f->limits, p);
    if (!in->tree_walked || memcmp(w.signature, in->tree_sig, 32)) {
        memcpy(in->tree_sig, w.signature, 32);
        in->tree_walked = 1;
        in->tree_same_since = now;
        in->tree_name[0] = '\0';
    }
    done = in->tree_done_set && !memcmp(w.signature, in->tree_done, 32);
    /* a directory of it that cannot be read is refused by the snapshot,
     * once quiet; PrepIncoming itself gone or unreadable is reported */
    quiet = !w.temporary &&
            (!w.error ||
             (APR_STATUS_IS_EACCES(w.error) && strcmp(w.error_path, "."))) &&
            now - in->tree_same_since >= f->settle;
    restless(in, &w, quiet || done, now, p);
    if (done || !quiet || w.entries == 0) {
        return NULL; /* an empty tree is one being replaced */
    }
    if (!in->tree_name[0]) {
        apr_cpystrn(in->tree_name, prep_tree_snapshot_name(now, p),
                    sizeof(in->tree_name));
    }
    memcpy(in->tree_loading, w.signature, 32);
    in->tree_load = 1;
    memset(id, 0, sizeof(*id));
    id->size = (apr_off_t)w.bytes;
    id->mtime = w.newest;
    return apr_pstrdup(p, in->tree_name);
}

void tree_load_ended(intake_feed_t *in, prep_load_outcome_e outcome)
{
    /* a republish from processed/ read no tree */
    if (!in->tree_load) {
        return;
    }
    in->tree_load = 0;
    if (outcome == PREP_LOAD_CHANGED) {
        /* it moved under the loader: quiet again for PrepSettleTime first,
         * whatever the intake's last walk saw */
        in->tree_same_since = apr_time_now();
        return;
    }
    if (outcome == PREP_LOAD_BUSY || outcome == PREP_LOAD_CRASHED) {
        return;
    }
    memcpy(in->tree_done, in->tree_loading, 32);
    in->tree_done_set = 1;
}

void tree_set_aside(intake_feed_t *in, apr_pool_t *p)
{
    if (in->tree_load) {
        prep_tree_last_write(in->tree_loading, in->feed->conf.store, p);
    }
}
