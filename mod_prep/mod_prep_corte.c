/* mod_prep_corte.c — the served corte's room: each feed's slot in shared
 * memory (the corte it serves and the operator's control it is served
 * under, its last problem, the intake's part of its status), the cortes a
 * child attaches to answer requests from, and the traffic counters of
 * every worker.  Used by the handler, the status and the intake; it uses
 * none of them.
 *
 * The slot's protocol.  Each of its three parts (served, problem, info)
 * is under a sequence lock of its own.  A writer makes the sequence odd,
 * copies the part in and makes the sequence even again; a reader copies
 * the part out between two reads of the sequence and keeps the copy only
 * when both reads gave the same even number, else it tries again, a
 * bounded number of times (a writer killed halfway leaves the sequence
 * odd: the next writer goes on from that odd number).
 *
 * There is one writer at a time, never two:
 *  - the parent publishes the corte served at startup, before it forks the
 *    intake;
 *  - the intake publishes the corte and the operator's control (what it
 *    read in STORE/current and STORE/control.json after a prepctl action,
 *    the newest retained corte) and sets the problem of a feed only while
 *    no loader of that feed runs: at its start, at each poll between
 *    loads, and once it has reaped (or killed and reaped) the loader;
 *  - a loader publishes the corte it made (only when it published one: a
 *    pinned feed's loader retains its corte and publishes nothing), keeping
 *    the control as the intake left it, and sets or clears the problem,
 *    while the intake waits for it to end;
 *  - the intake's part of the status is the intake's alone;
 *  - when the intake dies, the parent kills its process group (its
 *    loaders, which would otherwise go on and publish) and the intake
 *    started in its place writes nothing before that group is gone
 *    (mod_prep_intake.c).
 * `renewed` counts the times the corte served was rebuilt under its own id
 * (a damaged corte published again from its package, or with the banner a
 * drill or the close asks for).  It is published with the id, under the
 * same sequence, so that a child that sees the id it has attached with
 * another count attaches the corte again.  The control (pin, newest,
 * drill, closed_at) is published with the id too: a child copies it each
 * time it follows the slot, the id changed or not, and its handler reads
 * the drill from that copy without a lock of its own.
 *
 * Memory order, right on ARM as on x86 (H.-J. Boehm, "Can seqlocks get
 * along with programming language memory models?", 2012): the writer
 * stores the odd sequence, issues a release fence, stores the data with
 * relaxed atomic stores and stores the even sequence with release; the
 * reader loads the sequence with acquire, the data with relaxed atomic
 * loads, issues an acquire fence and loads the sequence again.  A reader
 * that saw the even sequence of a write sees all of its data (release
 * store, acquire load); a reader that copied any byte of a later write
 * also sees, through the two fences, the odd sequence stored before it,
 * and tries again.  The data are copied byte by byte with atomic accesses,
 * so that the compiler can neither tear them nor move them out of the
 * section (a plain memcpy could be).  The parts are small (the status's is
 * 1.7 KB) and copied only when they changed or the status is read.
 *
 * Traffic: each worker (a scoreboard slot, process slot x thread) counts
 * on cache lines of its own, summed when the status is read, as
 * mod_status sums the scoreboard.  The counters live in the shared memory
 * of a configuration generation: they start at zero with Apache and again
 * at every graceful restart. */
#include "httpd.h"
#include <fcntl.h>
#include <unistd.h>

#include "apr_atomic.h"
#include "apr_strings.h"
#include "apr_thread_proc.h"
#include "ap_mpm.h"
#include "http_log.h"
#include "http_main.h"
#include "scoreboard.h"

#include "mod_prep.h"

APLOG_USE_MODULE(prep);

/* --- sequence locks ------------------------------------------------ */

/* Tries before a reader gives up on a part that is never stable (its
 * writer died halfway); it yields the processor after the first few. */
#define READ_TRIES 1000
#define READ_SPINS 100

/* The slot's data in and out, byte by byte, with relaxed atomic accesses
 * (why: the protocol above). */
static void copy_to_slot(void *dst, const void *src, apr_size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    apr_size_t i;

    for (i = 0; i < n; i++) {
        __atomic_store_n(&d[i], s[i], __ATOMIC_RELAXED);
    }
}

static void copy_from_slot(void *dst, const void *src, apr_size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    apr_size_t i;

    for (i = 0; i < n; i++) {
        d[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
    }
}

/* Replaces the n bytes at part, guarded by *seq, with those at data. */
static void write_part(apr_uint32_t *seq, void *part, const void *data,
                       apr_size_t n)
{
    /* odd already: its last writer died halfway, and this one goes on */
    apr_uint32_t odd = __atomic_load_n(seq, __ATOMIC_RELAXED) | 1;

    __atomic_store_n(seq, odd, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    copy_to_slot(part, data, n);
    __atomic_store_n(seq, odd + 1, __ATOMIC_RELEASE);
}

/* Copies the n bytes at part, guarded by *seq, into data; *at_seq: the
 * sequence of the copy.  APR_EBUSY when no stable copy could be had (data
 * then holds the last try). */
static apr_status_t read_part(const apr_uint32_t *seq, void *data,
                              const void *part, apr_size_t n,
                              apr_uint32_t *at_seq)
{
    int tries;

    for (tries = 0; tries < READ_TRIES; tries++) {
        apr_uint32_t before = __atomic_load_n(seq, __ATOMIC_ACQUIRE);

        /* copied even while odd: data is to hold the last try */
        copy_from_slot(data, part, n);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (!(before & 1) && __atomic_load_n(seq, __ATOMIC_RELAXED) == before) {
            if (at_seq) {
                *at_seq = before;
            }
            return APR_SUCCESS;
        }
        if (tries >= READ_SPINS) {
            apr_thread_yield();
        }
    }
    return APR_EBUSY;
}

/* --- the slot's parts ---------------------------------------------- */

/* control NULL: the one the slot holds stays. */
static void publish(prep_feed_shm_t *shm, const char *id, int renew,
                    const prep_served_control_t *control)
{
    prep_served_t served;

    /* the one writer reads back what it wrote last */
    copy_from_slot(&served, &shm->served, sizeof(served));
    memset(served.id, 0, sizeof(served.id));
    apr_cpystrn(served.id, id ? id : "", sizeof(served.id));
    served.renewed += renew ? 1 : 0;
    if (control) {
        served.control = *control;
    }
    write_part(&shm->seq, &shm->served, &served, sizeof(served));
}

void prep_shm_publish(prep_feed_shm_t *shm, const char *id)
{
    publish(shm, id, 0, NULL);
}

void prep_shm_publish_renewed(prep_feed_shm_t *shm, const char *id)
{
    publish(shm, id, 1, NULL);
}

void prep_shm_publish_control(prep_feed_shm_t *shm, const char *id,
                              const prep_served_control_t *control)
{
    publish(shm, id, 0, control);
}

/* The corte published, and the sequence it belongs to. */
static apr_status_t read_served(prep_feed_shm_t *shm, prep_served_t *served,
                                apr_uint32_t *seq)
{
    apr_status_t rv =
        read_part(&shm->seq, served, &shm->served, sizeof(*served), seq);

    served->id[sizeof(served->id) - 1] = '\0';
    served->control.pin[sizeof(served->control.pin) - 1] = '\0';
    served->control.newest[sizeof(served->control.newest) - 1] = '\0';
    return rv;
}

void prep_shm_read_id(prep_feed_shm_t *shm, char id[PREP_ID_MAX])
{
    prep_served_t served;

    if (read_served(shm, &served, NULL) == APR_SUCCESS) {
        apr_cpystrn(id, served.id, PREP_ID_MAX);
    }
}

void prep_shm_read_control(prep_feed_shm_t *shm, prep_served_control_t *control)
{
    prep_served_t served;

    if (read_served(shm, &served, NULL) != APR_SUCCESS) {
        memset(&served.control, 0, sizeof(served.control));
    }
    *control = served.control;
}

void prep_served_control_make(prep_served_control_t *out, const prep_feed_t *f,
                              const prep_control_t *c, const char *newest)
{
    memset(out, 0, sizeof(*out));
    if (c && c->pin) {
        apr_cpystrn(out->pin, c->pin, sizeof(out->pin));
        out->pinned_at = c->pinned_at;
    }
    apr_cpystrn(out->newest, newest ? newest : "", sizeof(out->newest));
    out->closed_at = prep_feed_closed_at(f, c);
    out->drill = prep_feed_drill(f, c) ? 1 : 0;
}

prep_control_t *prep_served_control_to(const prep_served_control_t *sc,
                                       apr_pool_t *p)
{
    prep_control_t *c = apr_pcalloc(p, sizeof(*c));

    /* the effective values: prep_feed_drill and prep_feed_closed_at give
     * them back as they are */
    c->pin = sc->pin[0] ? apr_pstrdup(p, sc->pin) : NULL;
    c->pinned_at = c->pin ? sc->pinned_at : 0;
    c->drill = sc->drill ? 1 : 0;
    c->closed_at = sc->closed_at;
    return c;
}

void prep_shm_set_problem(prep_feed_shm_t *shm, const char *msg)
{
    prep_problem_t problem;

    memset(&problem, 0, sizeof(problem));
    if (msg) {
        problem.at = apr_time_now();
        apr_cpystrn(problem.message, msg, sizeof(problem.message));
    }
    write_part(&shm->problem_seq, &shm->problem, &problem, sizeof(problem));
}

void prep_shm_set_watch(prep_feed_shm_t *shm, int inotify,
                        prep_watch_call_e call, int err)
{
    apr_atomic_set32(&shm->watch_call, (apr_uint32_t)call);
    apr_atomic_set32(&shm->watch_errno, (apr_uint32_t)err);
    apr_atomic_set32(&shm->watch_inotify, inotify ? 1 : 0);
}

const char *prep_shm_read_watch(prep_feed_shm_t *shm, const char **why,
                                apr_pool_t *p)
{
    static const char *const calls[] = {"the intake has not watched it yet",
                                        "inotify_init1",
                                        "inotify_add_watch",
                                        "PrepIncoming was moved or removed",
                                        "reading the inotify events",
                                        "PrepSource tree: the tree is walked "
                                        "at every poll, twice a second"};
    apr_uint32_t call = apr_atomic_read32(&shm->watch_call);
    apr_status_t err = (apr_status_t)apr_atomic_read32(&shm->watch_errno);

    if (apr_atomic_read32(&shm->watch_inotify)) {
        *why = NULL;
        return "inotify";
    }
    if (call >= sizeof(calls) / sizeof(calls[0])) {
        call = 0;
    }
    *why = err ? apr_psprintf(p, "%s: %pm", calls[call], &err) : calls[call];
    return "poll";
}

void prep_shm_read_problem(prep_feed_shm_t *shm, prep_problem_t *problem)
{
    if (read_part(&shm->problem_seq, problem, &shm->problem, sizeof(*problem),
                  NULL) != APR_SUCCESS) {
        problem->at = 0;
    }
    problem->message[sizeof(problem->message) - 1] = '\0';
}

void prep_shm_write_info(prep_feed_shm_t *shm, const prep_intake_info_t *info)
{
    write_part(&shm->info_seq, &shm->info, info, sizeof(*info));
}

void prep_shm_read_info(prep_feed_shm_t *shm, prep_intake_info_t *info)
{
    /* without a stable copy, the last try, made safe to show */
    read_part(&shm->info_seq, info, &shm->info, sizeof(*info), NULL);
    info->loading[sizeof(info->loading) - 1] = '\0';
    info->integrity_detail[sizeof(info->integrity_detail) - 1] = '\0';
    if (info->shown_ignored > PREP_IGNORED_MAX) {
        info->shown_ignored = PREP_IGNORED_MAX;
    }
}

/* --- the shared memory --------------------------------------------- */

/* A cache line: no two workers count on the same one. */
#define CACHE_LINE 64

/* Where the traffic counters are: one block per worker, plus one (the
 * last) for requests that have no scoreboard slot.  Set in the parent at
 * post_config, inherited by the children it forks after. */
static struct {
    char *base;
    apr_size_t stride; /* bytes per block: every feed's prep_traffic_t */
    apr_size_t workers;
} traffic;

static int mpm_limit(int what)
{
    int n = 0;

    if (ap_mpm_query(what, &n) != APR_SUCCESS || n < 1) {
        n = 1;
    }
    return n;
}

apr_status_t prep_shm_create(apr_pool_t *pconf, server_rec *s)
{
    int i, n = prep_registry->feeds->nelts;
    apr_size_t slots = (apr_size_t)n * sizeof(prep_feed_shm_t), size;
    apr_status_t rv;
    char *base;

    traffic.workers = (apr_size_t)mpm_limit(AP_MPMQ_HARD_LIMIT_DAEMONS) *
                      (apr_size_t)mpm_limit(AP_MPMQ_HARD_LIMIT_THREADS);
    traffic.stride =
        APR_ALIGN((apr_size_t)n * sizeof(prep_traffic_t), CACHE_LINE);
    /* the base apr_shm gives is not aligned to a cache line */
    size = slots + CACHE_LINE + (traffic.workers + 1) * traffic.stride;
    rv = apr_shm_create(&prep_registry->shm, size, NULL, pconf);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    base = apr_shm_baseaddr_get(prep_registry->shm);
    memset(base, 0, size);
    traffic.base = (char *)APR_ALIGN((apr_uintptr_t)(base + slots), CACHE_LINE);
    for (i = 0; i < n; i++) {
        APR_ARRAY_IDX(prep_registry->feeds, i, prep_feed_rt_t *)->shm =
            (prep_feed_shm_t *)base + i;
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s,
                 "PREP0127: shared memory of %d feeds, %" APR_SIZE_T_FMT
                 " bytes (%" APR_SIZE_T_FMT " workers)",
                 n, size, traffic.workers);
    return APR_SUCCESS;
}

/* --- traffic ------------------------------------------------------- */

static prep_traffic_t *traffic_block(apr_size_t worker, int feed)
{
    return (prep_traffic_t *)(traffic.base + worker * traffic.stride) + feed;
}

/* The worker is the request's scoreboard slot: its index in the one array
 * the scoreboard keeps (servers[0] .. servers[server_limit - 1], each of
 * thread_limit entries, laid out end to end).  A secondary connection of
 * mod_http2 has no slot of its own: it counts on its main connection's,
 * shared with that connection's thread, and requests with neither count on
 * the last block, shared by all: hence atomic additions. */
prep_traffic_t *prep_traffic_of(const prep_feed_rt_t *f, request_rec *r)
{
    conn_rec *c = r->connection;
    ap_sb_handle_t *sbh = c->sbh ? c->sbh : c->master ? c->master->sbh : NULL;
    worker_score *ws = sbh ? ap_get_scoreboard_worker(sbh) : NULL;
    apr_size_t worker = traffic.workers;

    if (ws && ap_scoreboard_image) {
        apr_ssize_t k = ws - ap_scoreboard_image->servers[0];

        if (k >= 0 && (apr_size_t)k < traffic.workers) {
            worker = (apr_size_t)k;
        }
    }
    return traffic_block(worker, f->slot);
}

void prep_traffic_sum(const prep_feed_rt_t *f, prep_traffic_t *sum)
{
    apr_size_t w;
    int k;

    memset(sum, 0, sizeof(*sum));
    for (w = 0; w <= traffic.workers; w++) {
        const prep_traffic_t *t = traffic_block(w, f->slot);

        for (k = 0; k < PREP_TRAFFIC_COUNTERS; k++) {
            sum->count[k] += __atomic_load_n(&t->count[k], __ATOMIC_RELAXED);
        }
    }
}

/* --- the child's attached cortes ----------------------------------- */

void prep_corte_child_init(apr_pool_t *p, server_rec *s)
{
    int i;

    for (i = 0; i < prep_registry->feeds->nelts; i++) {
        prep_feed_rt_t *f =
            APR_ARRAY_IDX(prep_registry->feeds, i, prep_feed_rt_t *);
        apr_status_t rv =
            apr_thread_mutex_create(&f->mutex, APR_THREAD_MUTEX_DEFAULT, p);

        if (rv != APR_SUCCESS) {
            /* this child then serves no corte of the feed (a 503) */
            ap_log_error(
                APLOG_MARK, APLOG_CRIT, rv, s,
                "PREP0128: feed %s: cannot create the mutex of its cortes",
                f->conf.name);
            f->mutex = NULL;
        }
        f->attached = NULL;
        f->attached_seq = 0;
        memset(&f->control, 0, sizeof(f->control));
        f->drill = 0;
    }
}

static apr_status_t close_pack(void *data)
{
    prep_attached_t *a = data;

    if (a->pack_fd >= 0) {
        close(a->pack_fd);
        a->pack_fd = -1;
    }
    return APR_SUCCESS;
}

static prep_attached_t *attach(prep_feed_rt_t *f, const prep_served_t *served,
                               server_rec *s)
{
    apr_pool_t *p;
    prep_attached_t *a;
    const char *dir, *what, *id = served->id;
    apr_status_t rv;

    apr_pool_create(&p, NULL);
    a = apr_pcalloc(p, sizeof(*a));
    a->pool = p;
    a->pack_fd = -1;
    apr_cpystrn(a->id, id, sizeof(a->id));
    a->renewed = served->renewed;
    dir = prep_store_corte_dir(p, f->conf.store, id);
    what = PREP_INDEX_FILE;
    rv = prep_index_open(&a->index, apr_pstrcat(p, dir, "/", what, NULL), p);
    if (rv == APR_SUCCESS) {
        what = PREP_CORTE_FILE;
        rv = prep_store_read_corte(&a->corte, dir, p);
    }
    if (rv == APR_SUCCESS) {
        what = PREP_PACK_FILE;
        a->pack_fd =
            open(apr_pstrcat(p, dir, "/", what, NULL), O_RDONLY | O_CLOEXEC);
        rv = a->pack_fd < 0 ? errno : APR_SUCCESS;
        apr_pool_cleanup_register(p, a, close_pack, apr_pool_cleanup_null);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(
            APLOG_MARK, APLOG_ERR, rv, s,
            "PREP0120: feed %s: cannot open corte %s (%s/%s); still serving "
            "the previous one",
            f->conf.name, id, dir, what);
        apr_pool_destroy(p);
        return NULL;
    }
    a->corte_iso = prep_time_iso(p, a->corte->time, &f->conf.zone);
    a->corte_mtime = a->corte->loaded_at;
    a->tag =
        prep_cache_tag_header(f->conf.cache_tag)
            ? prep_cache_tag_value(p, f->conf.cache_tag, f->conf.name, a->id)
            : NULL;
    return a;
}

/* Under f->mutex: the corte the slot publishes now becomes f->attached (one
 * that cannot be opened leaves the previous one there).  Returns the corte
 * it replaced, to be retired, or NULL. */
static prep_attached_t *follow_slot(prep_feed_rt_t *f, server_rec *s)
{
    prep_attached_t *a, *old = f->attached;
    prep_served_t served;
    apr_uint32_t seq;

    if (read_served(f->shm, &served, &seq) != APR_SUCCESS) {
        return NULL; /* no stable copy: tried again at the next request */
    }
    f->attached_seq = seq;
    /* the control changes without the corte (a drill, a close, a pin at
     * the corte served): copied whatever the id */
    f->control = served.control;
    __atomic_store_n(&f->drill, served.control.drill ? 1 : 0, __ATOMIC_RELAXED);
    /* a corte healed under its own id is attached again */
    if (old && !strcmp(old->id, served.id) && old->renewed == served.renewed) {
        return NULL;
    }
    a = served.id[0] ? attach(f, &served, s) : NULL;
    if (!a && served.id[0]) {
        return NULL;
    }
    f->attached = a;
    return old;
}

typedef struct corte_ref {
    prep_feed_rt_t *feed;
    prep_attached_t *attached;
} corte_ref_t;

void prep_corte_hold(prep_feed_rt_t *f, prep_attached_t *a)
{
    apr_status_t rv = apr_thread_mutex_lock(f->mutex);

    if (rv != APR_SUCCESS) {
        /* counted anyway: a corte kept open, never one closed under a
         * reader (only its release could race, and it locks too) */
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, ap_server_conf,
                     "PREP0160: feed %s: cannot lock the mutex of its cortes "
                     "to hold one",
                     f->conf.name);
        a->refs++;
        return;
    }
    a->refs++;
    apr_thread_mutex_unlock(f->mutex);
}

void prep_corte_drop(prep_feed_rt_t *f, prep_attached_t *a)
{
    apr_status_t rv = apr_thread_mutex_lock(f->mutex);
    int destroy;

    if (rv != APR_SUCCESS) {
        /* the reference stays: a corte kept open, never one closed under
         * a request */
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, ap_server_conf,
                     "PREP0129: feed %s: cannot lock the mutex of its cortes",
                     f->conf.name);
        return;
    }
    destroy = --a->refs == 0 && a->retired;
    rv = apr_thread_mutex_unlock(f->mutex);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, ap_server_conf,
                     "PREP0130: feed %s: cannot unlock the mutex of its cortes",
                     f->conf.name);
    }
    if (destroy) {
        apr_pool_destroy(a->pool);
    }
}

static apr_status_t corte_release(void *data)
{
    corte_ref_t *ref = data;

    prep_corte_drop(ref->feed, ref->attached);
    return APR_SUCCESS;
}

prep_attached_t *prep_corte_acquire(prep_feed_rt_t *f, request_rec *r)
{
    prep_attached_t *a, *old = NULL;
    corte_ref_t *ref;
    /* only compared: no data of the slot is read on this path */
    apr_uint32_t seq = __atomic_load_n(&f->shm->seq, __ATOMIC_RELAXED);
    apr_status_t rv;

    if (!f->mutex) {
        return NULL; /* logged at child init */
    }
    rv = apr_thread_mutex_lock(f->mutex);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_CRIT, rv, r,
                      "PREP0131: feed %s: cannot lock the mutex of its cortes",
                      f->conf.name);
        return NULL;
    }
    if (seq != f->attached_seq || !f->attached) {
        old = follow_slot(f, r->server);
    }
    if (old) {
        old->retired = 1;
        if (old->refs == 0) {
            apr_pool_destroy(old->pool);
        }
    }
    a = f->attached;
    if (a) {
        a->refs++;
    }
    rv = apr_thread_mutex_unlock(f->mutex);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(
            APLOG_MARK, APLOG_CRIT, rv, r,
            "PREP0132: feed %s: cannot unlock the mutex of its cortes",
            f->conf.name);
    }
    if (a) {
        ref = apr_palloc(r->pool, sizeof(*ref));
        ref->feed = f;
        ref->attached = a;
        apr_pool_cleanup_register(r->pool, ref, corte_release,
                                  apr_pool_cleanup_null);
    }
    return a;
}
