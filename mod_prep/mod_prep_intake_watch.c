/* mod_prep_intake_watch.c — PrepIncoming watched with inotify (issue 13).
 * A name renamed into it (IN_MOVED_TO: the end of every .part/.filepart
 * upload) is complete and is loaded at the next scan, at once; a name
 * written under its final name (IN_CLOSE_WRITE, or its mode or times set
 * after: IN_ATTRIB) settles once it has stayed closed and unchanged for
 * PrepSettleTime from then, and the intake wakes when that time is up.  The
 * intake still lists PrepIncoming at every poll: a filesystem where
 * inotify sees nothing (NFS written from elsewhere), a queue overflow or a
 * watch that could not be made (the limit fs.inotify.max_user_watches, a
 * missing directory) only cost what polling costs.  A feed that cannot be
 * watched is polled and tried again every WATCH_RETRY; the status says
 * which way each feed is watched (the slot's watch fields). */
#include "httpd.h"
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "apr_strings.h"
#include "http_log.h"
#include "http_main.h"

#include "mod_prep_intake.h"

APLOG_USE_MODULE(prep);

#define WATCH_RETRY apr_time_from_sec(10)
#define WATCH_MASK                                                             \
    (IN_MOVED_TO | IN_CLOSE_WRITE | IN_ATTRIB | IN_CREATE | IN_DELETE |        \
     IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR |              \
     IN_DONT_FOLLOW | IN_EXCL_UNLINK)
#define WATCH_MOST 64 /* feeds waited on at once */

/* What inotify said of one name since the last scan. */
typedef struct watch_news {
    int renamed;          /* renamed in, not written after */
    apr_time_t closed_at; /* written (or its attributes set) at; 0: not */
} watch_news_t;

static const char *const call_names[] = {
    "", "inotify_init1", "inotify_add_watch",
    "the watch (PrepIncoming was moved or removed)", "reading the events"};

static void set_polled(intake_feed_t *in, prep_watch_call_e call, int err)
{
    if (in->watch_fd >= 0) {
        close(in->watch_fd);
        in->watch_fd = -1;
    }
    if (in->watch_call != call || in->watch_errno != err) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, err, ap_server_conf,
                     "PREP0161: feed %s: %s is polled, not watched: %s "
                     "failed%s",
                     in->feed->conf.name, in->feed->conf.incoming,
                     call_names[call],
                     err == ENOSPC   ? " (raise fs.inotify.max_user_watches)"
                     : err == EMFILE ? " (raise fs.inotify.max_user_instances)"
                                     : "");
    }
    in->watch_call = call;
    in->watch_errno = err;
    in->watch_retry_at = apr_time_now() + WATCH_RETRY;
    prep_shm_set_watch(in->feed->shm, 0, call, err);
}

void watch_start(intake_feed_t *in, apr_time_t now)
{
    int fd;

    if (in->feed->conf.source == PREP_SOURCE_TREE) {
        /* a tree's every directory would need a watch of its own: its
         * walk, at every poll, is what tells that it changed */
        if (in->watch_call != PREP_WATCH_TREE) {
            in->watch_call = PREP_WATCH_TREE;
            prep_shm_set_watch(in->feed->shm, 0, PREP_WATCH_TREE, 0);
        }
        return;
    }
    if (in->watch_fd >= 0 || now < in->watch_retry_at) {
        return;
    }
    if (!in->news_pool) {
        apr_pool_create(&in->news_pool, NULL);
        in->news = apr_hash_make(in->news_pool);
    }
    if ((fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
        set_polled(in, PREP_WATCH_INIT, errno);
        return;
    }
    if (inotify_add_watch(fd, in->feed->conf.incoming, WATCH_MASK) < 0) {
        int err = errno;

        close(fd);
        set_polled(in, PREP_WATCH_ADD, err);
        return;
    }
    if (in->watch_call) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, ap_server_conf,
                     "PREP0162: feed %s: %s is watched again (inotify)",
                     in->feed->conf.name, in->feed->conf.incoming);
    }
    in->watch_fd = fd;
    in->watch_call = PREP_WATCH_NOT_YET;
    in->watch_errno = 0;
    prep_shm_set_watch(in->feed->shm, 1, PREP_WATCH_NOT_YET, 0);
}

static watch_news_t *news_of(intake_feed_t *in, const char *name)
{
    watch_news_t *w = apr_hash_get(in->news, name, APR_HASH_KEY_STRING);

    if (!w) {
        w = apr_pcalloc(in->news_pool, sizeof(*w));
        apr_hash_set(in->news, apr_pstrdup(in->news_pool, name),
                     APR_HASH_KEY_STRING, w);
    }
    return w;
}

/* Reads every event waiting on the feed's descriptor. */
static void read_events(intake_feed_t *in)
{
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    apr_time_t now = apr_time_now();
    ssize_t got;

    while (in->watch_fd >= 0 &&
           (got = read(in->watch_fd, buf, sizeof(buf))) > 0) {
        char *at = buf;

        while (at < buf + got) {
            const struct inotify_event *e = (const struct inotify_event *)at;
            watch_news_t *w;

            at += sizeof(*e) + e->len;
            if (e->mask &
                (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT)) {
                /* PrepIncoming itself removed or replaced: polled (the
                 * scan goes by its path) until it can be watched again */
                set_polled(in, PREP_WATCH_GONE, 0);
                return;
            }
            if (!e->len || !e->name[0]) {
                continue; /* IN_Q_OVERFLOW: the scans see what was lost */
            }
            w = news_of(in, e->name);
            if (e->mask & IN_MOVED_TO) {
                w->renamed = 1;
                w->closed_at = 0;
            } else if (e->mask & (IN_CLOSE_WRITE | IN_ATTRIB)) {
                /* attributes set after a rename change nothing written */
                if (!(w->renamed && (e->mask & IN_ATTRIB))) {
                    w->renamed = 0;
                    w->closed_at = now;
                }
            } else if (e->mask & (IN_DELETE | IN_MOVED_FROM | IN_CREATE)) {
                w->renamed = 0;
                w->closed_at = 0;
            }
        }
    }
    if (in->watch_fd >= 0 && got < 0 && errno != EAGAIN && errno != EINTR) {
        set_polled(in, PREP_WATCH_READ, errno);
    }
}

void watch_wait(intake_feed_t *feeds, int n, apr_interval_time_t most)
{
    struct pollfd fds[WATCH_MOST];
    intake_feed_t *of[WATCH_MOST];
    apr_time_t now = apr_time_now(), until = now + most;
    int i, k = 0, ms;

    for (i = 0; i < n; i++) {
        if (feeds[i].wake_at && feeds[i].wake_at < until) {
            until = feeds[i].wake_at > now ? feeds[i].wake_at : now;
        }
        if (feeds[i].watch_fd >= 0 && k < WATCH_MOST) {
            fds[k].fd = feeds[i].watch_fd;
            fds[k].events = POLLIN;
            fds[k].revents = 0;
            of[k++] = &feeds[i];
        }
    }
    ms = (int)((until - now + 999) / 1000);
    if (poll(fds, (nfds_t)k, ms < 0 ? 0 : ms) <= 0) {
        return;
    }
    for (i = 0; i < k; i++) {
        if (fds[i].revents) {
            read_events(of[i]);
        }
    }
}

void watch_apply(intake_feed_t *in, const char *name, prep_seen_t *s)
{
    const watch_news_t *w;
    apr_time_t at;

    if (in->news &&
        (w = apr_hash_get(in->news, name, APR_HASH_KEY_STRING)) != NULL) {
        prep_incoming_watched(s, w->renamed, w->closed_at);
    }
    at = prep_incoming_settles_at(s, in->feed->conf.settle);
    if (at && (!in->wake_at || at < in->wake_at)) {
        in->wake_at = at;
    }
}

void watch_scanned(intake_feed_t *in)
{
    if (in->news_pool) {
        apr_pool_clear(in->news_pool);
        in->news = apr_hash_make(in->news_pool);
    }
}
