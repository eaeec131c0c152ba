/* prep_loader.c — one package in, one corte out (or one refusal): verify,
 * unpack under the package rules, read the corte time, render the banner
 * into the HTML files, write the index, promote the corte and set the
 * package aside.  Runs in an unprivileged process of its own. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <apr_strings.h>
#include <apr_hash.h>
#include <apr_portable.h>
#include <apr_atomic.h>
#include <apr_thread_proc.h>
#include <openssl/evp.h>

#include "prep.h"

typedef struct load_ctx {
    const prep_feed_t *feed;
    const char *name;  /* its base name */
    const char *shown; /* the name as it may be shown */
    const prep_load_request_t *req;
    int dirfd;                         /* the directory the package is in */
    apr_file_t *package;               /* its one descriptor */
    prep_file_identity_t identity;     /* of that descriptor when opened */
    unsigned char verified_sha256[32]; /* with PrepVerify */
    prep_log_fn *log;
    void *baton;
    apr_pool_t *p;
    prep_verdict_t verdict;
    const char *staging; /* staging/<tmp> */
    apr_file_t *pack;
    apr_off_t pack_end;
    apr_uint64_t variants_made, variants_reused;
    apr_uint32_t compress_threads;    /* threads that compressed variants */
    apr_time_t mark;                  /* end of the last phase timed */
    apr_time_t phase_us[PREP_PHASES]; /* time spent in each phase */
} load_ctx_t;

/* Adds the time since the last mark to `phase` and moves the mark. */
static void phase_end(load_ctx_t *c, int phase)
{
    apr_time_t now = apr_time_now();

    c->phase_us[phase] += now - c->mark;
    c->mark = now;
}

static void say(load_ctx_t *c, int is_error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(load_ctx_t *c, int is_error, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    if (!c->log) {
        return;
    }
    va_start(ap, fmt);
    msg = apr_pvsprintf(c->p, fmt, ap);
    va_end(ap);
    c->log(c->baton, is_error, msg);
}

/* --- reading and appending to the pack ----------------------------- */

static apr_status_t pack_read(load_ctx_t *c, apr_off_t offset, apr_size_t len,
                              char **out)
{
    apr_status_t rv;
    char *buf = apr_palloc(c->p, len + 1);
    apr_size_t got;

    if ((rv = apr_file_seek(c->pack, APR_SET, &offset)) != APR_SUCCESS ||
        (rv = apr_file_read_full(c->pack, buf, len, &got)) != APR_SUCCESS) {
        return rv;
    }
    buf[len] = '\0';
    *out = buf;
    return APR_SUCCESS;
}

static apr_status_t pack_append(load_ctx_t *c, const char *data, apr_size_t len,
                                prep_rep_t *rep)
{
    apr_status_t rv;
    apr_off_t at = c->pack_end;
    unsigned char md[32];

    if ((rv = apr_file_seek(c->pack, APR_SET, &at)) != APR_SUCCESS ||
        (rv = apr_file_write_full(c->pack, data, len, NULL)) != APR_SUCCESS) {
        return rv;
    }
    EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL);
    rep->offset = (apr_uint64_t)c->pack_end;
    rep->length = len;
    prep_etag_from_sha256(rep->etag, md);
    c->pack_end += (apr_off_t)len;
    return APR_SUCCESS;
}

/* --- the corte time ------------------------------------------------ */

static const prep_entry_t *find_entry(const prep_unpacked_t *u,
                                      const char *path)
{
    int i;

    for (i = 0; i < u->entries->nelts; i++) {
        const prep_entry_t *e = &APR_ARRAY_IDX(u->entries, i, prep_entry_t);
        if (!strcmp(e->path, path)) {
            return e;
        }
    }
    return NULL;
}

static apr_status_t read_corte_time(load_ctx_t *c, const prep_unpacked_t *u,
                                    apr_time_t *t)
{
    const prep_feed_t *f = c->feed;
    const prep_entry_t *e;
    const char *err = NULL;
    apr_os_file_t fd;

    switch (f->corte.source) {
        case PREP_CORTE_MTIME:
            *t = apr_time_from_sec(apr_time_sec(c->identity.mtime));
            break;
        case PREP_CORTE_FILENAME:
            err = prep_corte_time_from_filename(t, &f->corte, c->name, &f->zone,
                                                c->p);
            break;
        case PREP_CORTE_JSON:
        case PREP_CORTE_CSV:
            /* read from the pack in blocks: memory bounded whatever the
             * file's size */
            if (!(e = find_entry(u, f->corte.file))) {
                err = apr_psprintf(c->p, "%s is not in the package",
                                   f->corte.file);
            } else {
                apr_os_file_get(&fd, c->pack);
                err = prep_corte_time_from_fd(t, &f->corte, fd, e->offset,
                                              e->size, &f->zone, c->p);
            }
            break;
    }
    if (err) {
        return prep_refuse(&c->verdict, c->p, "no-corte-time",
                           "no corte time: %s", err);
    }
    return APR_SUCCESS;
}

/* --- banners and index --------------------------------------------- */

static int hidden_path(const char *path)
{
    const char *s;

    for (s = path; *s; s++) {
        if (*s == '.' && (s == path || s[-1] == '/')) {
            return 1;
        }
    }
    return 0;
}

static apr_uint32_t flags_for(const char *path)
{
    const char *dot = strrchr(path, '.');
    apr_uint32_t flags = 0;

    if (!strcmp(path, "json/main.json")) {
        flags |= PREP_F_NO_STORE;
    }
    if (dot && (!strcasecmp(dot, ".json") || !strcasecmp(dot, ".csv"))) {
        flags |= PREP_F_CORS;
    }
    if (prep_mime_is_html(path)) {
        flags |= PREP_F_HTML;
    }
    return flags;
}

/* One file of the new corte and the ways it can be sent. */
typedef struct plan {
    const prep_entry_t *entry;
    apr_uint32_t flags;
    int nreps;
    prep_rep_t *reps; /* identity reps first, then variants */
} plan_t;

/* Bytes of files compressed in memory per batch of variant jobs. */
#define PREP_VARIANT_BATCH (128 * 1024 * 1024)

/* How a variant is made.  A huge source (over PREP_HUGE_FILE) is streamed,
 * never read whole: the first one straight to the pack's end, the others to
 * a temporary file of their own, copied to the pack afterwards. */
typedef enum {
    VARIANT_IN_MEMORY = 0, /* read whole, compressed in memory */
    VARIANT_TO_PACK,       /* streamed to the pack at pack_end */
    VARIANT_TO_TMP,        /* streamed to tmp */
    VARIANT_NONE           /* huge, and no temporary file could be made */
} variant_how_e;

/* One variant to make: the identity rep it is made from, and the result. */
typedef struct variant_job {
    plan_t *plan;
    const prep_rep_t *source;
    int encoding;
    unsigned char *out; /* malloc'd by the compressor */
    size_t out_len;
    const prep_rep_t *reuse; /* the same variant in the previous corte */
    variant_how_e how;
    apr_file_t *tmp;         /* VARIANT_TO_TMP */
    int streamed;            /* 1: its variant is written, stream_len bytes */
    apr_uint64_t stream_len; /* ... with this SHA-256 */
    unsigned char stream_sha256[32];
} variant_job_t;

typedef struct variant_work {
    variant_job_t *jobs;
    int njobs;
    int *order; /* the jobs in the order they are taken: huge ones first */
    volatile apr_uint32_t next;
    volatile apr_uint32_t workers; /* workers that compressed something */
    apr_os_file_t pack_fd;
    apr_off_t pack_end; /* where the first huge variant is written */
} variant_work_t;

/* Streams a huge job's variant to the pack or its temporary file. */
static void compress_huge(variant_work_t *w, variant_job_t *job)
{
    apr_os_file_t out_fd = w->pack_fd;
    apr_off_t out_at = w->pack_end;

    if (job->how == VARIANT_TO_TMP) {
        apr_os_file_get(&out_fd, job->tmp);
        out_at = 0;
    }
    job->streamed =
        prep_compress_stream(job->encoding, w->pack_fd,
                             (apr_off_t)job->source->offset,
                             job->source->length, out_fd, out_at,
                             &job->stream_len, job->stream_sha256) == 1;
}

static void *APR_THREAD_FUNC compress_worker(apr_thread_t *t, void *data)
{
    variant_work_t *w = data;
    apr_uint32_t i;
    int worked = 0;

    while ((i = apr_atomic_inc32(&w->next)) < (apr_uint32_t)w->njobs) {
        variant_job_t *job = &w->jobs[w->order[i]];
        size_t len = (size_t)job->source->length;
        unsigned char *src;

        if (job->reuse || job->how == VARIANT_NONE) {
            continue;
        }
        if (job->how != VARIANT_IN_MEMORY) {
            compress_huge(w, job);
        } else if ((src = malloc(len ? len : 1))) {
            if (pread(w->pack_fd, src, len, (off_t)job->source->offset) ==
                (ssize_t)len) {
                job->out =
                    prep_compress(job->encoding, src, len, &job->out_len);
            }
            free(src);
        } else {
            continue;
        }
        if (!worked++) {
            apr_atomic_inc32(&w->workers);
        }
    }
    if (t) { /* NULL when run in the loader's own thread */
        apr_thread_exit(t, APR_SUCCESS);
    }
    return NULL;
}

/* Runs the compressors on every core, the huge files first (the longest
 * jobs, each of which alone could end the phase late if started last). */
static void make_variants(load_ctx_t *c, variant_work_t *w)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int i, j = 0, n = ncpu < 1 ? 1 : ncpu > 8 ? 8 : (int)ncpu, to_pack = 1;
    apr_thread_t *threads[8];
    apr_status_t rv;

    apr_os_file_get(&w->pack_fd, c->pack);
    w->pack_end = c->pack_end;
    w->order = apr_palloc(c->p, (w->njobs + 1) * sizeof(int));
    for (i = 0; i < w->njobs; i++) {
        variant_job_t *job = &w->jobs[i];

        if (job->reuse || job->source->length <= PREP_HUGE_FILE) {
            continue;
        }
        w->order[j++] = i;
        if (to_pack) {
            job->how = VARIANT_TO_PACK;
            to_pack = 0;
        } else {
            /* removed when closed (or with the staging directory) */
            job->how = apr_file_mktemp(&job->tmp,
                                       apr_pstrcat(c->p, c->staging,
                                                   "/variant.XXXXXX", NULL),
                                       0, c->p) == APR_SUCCESS
                           ? VARIANT_TO_TMP
                           : VARIANT_NONE;
        }
    }
    for (i = 0; i < w->njobs; i++) {
        if (w->jobs[i].how == VARIANT_IN_MEMORY) {
            w->order[j++] = i;
        }
    }
    w->next = 0;
    w->workers = 0;
    for (i = 0; i < n; i++) {
        if (apr_thread_create(&threads[i], NULL, compress_worker, w, c->p) !=
            APR_SUCCESS) {
            break;
        }
    }
    if (i == 0) {
        compress_worker(NULL, w);
    }
    while (i-- > 0) {
        apr_thread_join(&rv, threads[i]);
    }
    if (w->workers > c->compress_threads) { /* of the busiest batch */
        c->compress_threads = w->workers;
    }
}

/* The previous corte's index, to reuse the variants of unchanged files. */
typedef struct previous {
    prep_index_t *index;
    apr_os_file_t pack_fd;
} previous_t;

static void open_previous(load_ctx_t *c, const char *id, previous_t *prev)
{
    const char *dir;
    apr_file_t *fp;

    memset(prev, 0, sizeof(*prev));
    prev->pack_fd = -1;
    if (!id) {
        return;
    }
    dir = prep_store_corte_dir(c->p, c->feed->store, id);
    if (prep_index_open(&prev->index,
                        apr_pstrcat(c->p, dir, "/" PREP_INDEX_FILE, NULL),
                        c->p) != APR_SUCCESS ||
        apr_file_open(&fp, apr_pstrcat(c->p, dir, "/" PREP_PACK_FILE, NULL),
                      APR_FOPEN_READ | APR_FOPEN_BINARY, 0,
                      c->p) != APR_SUCCESS) {
        prev->index = NULL;
        return;
    }
    apr_os_file_get(&prev->pack_fd, fp);
}

/* The variant `encoding` of the same bytes in the previous corte. */
static const prep_rep_t *previous_variant(const previous_t *prev,
                                          const plan_t *plan,
                                          const prep_rep_t *source,
                                          int encoding)
{
    const prep_index_entry_t *e;
    const prep_rep_t *old;

    if (!prev->index ||
        !(e = prep_index_lookup(prev->index, plan->entry->path,
                                strlen(plan->entry->path))) ||
        !(old = prep_index_entry_rep(prev->index, e, source->banner,
                                     PREP_ENC_IDENTITY)) ||
        strcmp(old->etag, source->etag)) {
        return NULL;
    }
    return prep_index_entry_rep(prev->index, e, source->banner, encoding);
}

/* Appends `len` bytes of fd at `offset` to the pack as pack_append does,
 * a piece at a time (a reused variant, a huge variant's temporary file).
 * APR_EOF when fd cannot be read (nothing is appended). */
static apr_status_t pack_append_copy(load_ctx_t *c, apr_os_file_t fd,
                                     apr_uint64_t offset, apr_uint64_t len,
                                     prep_rep_t *rep)
{
    apr_size_t piece = 1024 * 1024;
    char *buf = malloc(piece);
    EVP_MD_CTX *sha = EVP_MD_CTX_new();
    apr_os_file_t pack_fd;
    apr_uint64_t done = 0;
    unsigned char md[32];
    apr_status_t rv = APR_SUCCESS;

    apr_os_file_get(&pack_fd, c->pack);
    if (!buf || !sha || EVP_DigestInit_ex(sha, EVP_sha256(), NULL) != 1) {
        rv = APR_ENOMEM;
    }
    while (rv == APR_SUCCESS && done < len) {
        size_t n = len - done < piece ? (size_t)(len - done) : piece;
        ssize_t put;

        if (pread(fd, buf, n, (off_t)(offset + done)) != (ssize_t)n) {
            rv = APR_EOF;
            break;
        }
        put = pwrite(pack_fd, buf, n, (off_t)c->pack_end + (off_t)done);
        if (put != (ssize_t)n) {
            rv = put < 0 ? APR_FROM_OS_ERROR(errno) : APR_ENOSPC;
            break;
        }
        EVP_DigestUpdate(sha, buf, n);
        done += n;
    }
    if (rv == APR_SUCCESS) {
        EVP_DigestFinal_ex(sha, md, NULL);
        rep->offset = (apr_uint64_t)c->pack_end;
        rep->length = len;
        prep_etag_from_sha256(rep->etag, md);
        c->pack_end += (apr_off_t)len;
    }
    EVP_MD_CTX_free(sha);
    free(buf);
    return rv;
}

/* Writes the variants one batch of jobs made (and those it reuses) to the
 * pack, in job order, and frees what they held. */
static apr_status_t append_variants(load_ctx_t *c, variant_work_t *w,
                                    const previous_t *prev)
{
    apr_status_t rv = APR_SUCCESS;
    apr_off_t in_pack = c->pack_end; /* where a VARIANT_TO_PACK one is */
    int i;

    /* the one streamed to the pack's end is there already */
    for (i = 0; i < w->njobs; i++) {
        if (w->jobs[i].how == VARIANT_TO_PACK && w->jobs[i].streamed) {
            c->pack_end += (apr_off_t)w->jobs[i].stream_len;
        }
    }
    for (i = 0; i < w->njobs; i++) {
        variant_job_t *job = &w->jobs[i];
        plan_t *plan = job->plan;
        prep_rep_t *rep = &plan->reps[plan->nreps];
        apr_os_file_t tmp_fd;

        if (rv == APR_SUCCESS && job->reuse) {
            rv = pack_append_copy(c, prev->pack_fd, job->reuse->offset,
                                  job->reuse->length, rep);
            if (rv == APR_SUCCESS) {
                plan->nreps++;
                c->variants_reused++;
            } else if (rv == APR_EOF) {
                rv = APR_SUCCESS; /* the previous pack unreadable: none */
            }
        } else if (rv == APR_SUCCESS && job->streamed &&
                   job->how == VARIANT_TO_PACK) {
            rep->offset = (apr_uint64_t)in_pack;
            rep->length = job->stream_len;
            prep_etag_from_sha256(rep->etag, job->stream_sha256);
            plan->nreps++;
            c->variants_made++;
        } else if (rv == APR_SUCCESS && job->streamed) {
            apr_os_file_get(&tmp_fd, job->tmp);
            rv = pack_append_copy(c, tmp_fd, 0, job->stream_len, rep);
            if (rv == APR_SUCCESS) {
                plan->nreps++;
                c->variants_made++;
            }
        } else if (rv == APR_SUCCESS && job->out) {
            rv = pack_append(c, (const char *)job->out, job->out_len, rep);
            plan->nreps++;
            c->variants_made++;
        }
        rep->banner = job->source->banner;
        rep->encoding = (apr_uint32_t)job->encoding;
        free(job->out);
        if (job->tmp) {
            apr_file_close(job->tmp); /* and removed */
        }
    }
    return rv;
}

static apr_status_t add_variants(load_ctx_t *c, plan_t *plans, int nplans,
                                 const previous_t *prev)
{
    apr_array_header_t *jobs =
        apr_array_make(c->p, 1024, sizeof(variant_job_t));
    variant_work_t work;
    apr_status_t rv = APR_SUCCESS;
    int i, r, enc, start, end;

    for (i = 0; i < nplans; i++) {
        plan_t *plan = &plans[i];
        int nidentity = plan->nreps;

        if (!prep_mime_compressible(plan->entry->path)) {
            continue;
        }
        for (r = 0; r < nidentity; r++) {
            for (enc = PREP_ENC_GZIP; enc <= PREP_ENC_BR; enc++) {
                variant_job_t *job;

                if (!(c->feed->compress & (1u << enc))) {
                    continue;
                }
                job = apr_array_push(jobs);
                memset(job, 0, sizeof(*job));
                job->plan = plan;
                job->source = &plan->reps[r];
                job->encoding = enc;
                job->reuse = previous_variant(prev, plan, job->source, enc);
            }
        }
    }
    /* In batches of at most PREP_VARIANT_BATCH bytes of files compressed in
     * memory, each batch's variants written before the next is made: what
     * they hold stays bounded however many mid-sized files a package has.
     * (The reference package's are a few MB: one batch.) */
    for (start = 0; rv == APR_SUCCESS && start < jobs->nelts; start = end) {
        apr_uint64_t held = 0;

        for (end = start; end < jobs->nelts; end++) {
            const variant_job_t *job = &APR_ARRAY_IDX(jobs, end, variant_job_t);
            apr_uint64_t len = job->source->length;

            if (job->reuse || len > PREP_HUGE_FILE) {
                continue; /* copied, or streamed: nothing held */
            }
            if (end > start && held + len > PREP_VARIANT_BATCH) {
                break;
            }
            held += len;
        }
        work.jobs = &APR_ARRAY_IDX(jobs, start, variant_job_t);
        work.njobs = end - start;
        make_variants(c, &work);
        rv = append_variants(c, &work, prev);
    }
    return rv;
}

static apr_status_t build_index(load_ctx_t *c, const prep_unpacked_t *u,
                                apr_time_t corte_time, const char *previous_id,
                                apr_uint64_t *files_out)
{
    const prep_feed_t *f = c->feed;
    prep_index_builder_t *b = prep_index_builder_create(c->p);
    int nbanners = f->banners ? f->banners->nelts : 0;
    const char **rendered = apr_pcalloc(c->p, (nbanners + 1) * sizeof(char *));
    apr_hash_t *files = apr_hash_make(c->p);
    plan_t *plans = apr_pcalloc(c->p, (u->entries->nelts + 1) * sizeof(*plans));
    /* identity and banner reps, each with its gzip and br variants */
    int maxreps = (nbanners + 1) * 3, nplans = 0;
    previous_t prev;
    apr_status_t rv;
    int i, n;

    for (n = 0; n < nbanners; n++) {
        rendered[n] =
            prep_banner_render(c->p, APR_ARRAY_IDX(f->banners, n, const char *),
                               corte_time, &f->zone);
    }
    for (i = 0; i < u->entries->nelts; i++) {
        const prep_entry_t *e = &APR_ARRAY_IDX(u->entries, i, prep_entry_t);
        plan_t *plan = &plans[nplans];

        if (hidden_path(e->path)) {
            continue; /* never served */
        }
        nplans++;
        plan->entry = e;
        plan->flags = flags_for(e->path);
        plan->reps = apr_pcalloc(c->p, maxreps * sizeof(prep_rep_t));
        plan->reps[0].offset = (apr_uint64_t)e->offset;
        plan->reps[0].length = (apr_uint64_t)e->size;
        prep_etag_from_sha256(plan->reps[0].etag, e->sha256);
        plan->nreps = 1;
        if ((plan->flags & PREP_F_HTML) && nbanners) {
            char *html;
            apr_size_t out_len;

            if ((rv = pack_read(c, e->offset, (apr_size_t)e->size, &html)) !=
                APR_SUCCESS) {
                return prep_refuse(&c->verdict, c->p, "io",
                                   "cannot read back %s", e->path);
            }
            for (n = 0; n < nbanners; n++) {
                prep_rep_t *rep = &plan->reps[plan->nreps];
                char *doc = prep_banner_insert(c->p, html, (apr_size_t)e->size,
                                               rendered[n], &out_len);
                if (!doc) {
                    break; /* no <body>: served as delivered */
                }
                rep->banner = (apr_uint32_t)(n + 1);
                if ((rv = pack_append(c, doc, out_len, rep)) != APR_SUCCESS) {
                    return prep_refuse(&c->verdict, c->p, "io",
                                       "cannot write the corte (%s)",
                                       apr_psprintf(c->p, "%pm", &rv));
                }
                plan->nreps++;
            }
        }
        apr_hash_set(files, e->path, APR_HASH_KEY_STRING, e);
    }
    phase_end(c, PREP_PHASE_BANNER);
    open_previous(c, previous_id, &prev);
    if ((rv = add_variants(c, plans, nplans, &prev)) != APR_SUCCESS) {
        return prep_refuse(&c->verdict, c->p, "io",
                           "cannot write the corte (%s)",
                           apr_psprintf(c->p, "%pm", &rv));
    }
    phase_end(c, PREP_PHASE_COMPRESS);
    for (i = 0; i < nplans; i++) {
        prep_index_add(b, plans[i].entry->path, plans[i].entry->mtime,
                       plans[i].flags, plans[i].reps, plans[i].nreps);
    }
    /* Directories with an index.html redirect "dir" to "dir/". */
    for (i = 0; i < u->dirs->nelts; i++) {
        const char *dir = APR_ARRAY_IDX(u->dirs, i, const char *);
        if (!hidden_path(dir) &&
            !apr_hash_get(files, dir, APR_HASH_KEY_STRING) &&
            apr_hash_get(files, apr_pstrcat(c->p, dir, "/index.html", NULL),
                         APR_HASH_KEY_STRING)) {
            prep_index_add(b, dir, 0, PREP_F_DIR, NULL, 0);
        }
    }
    rv = prep_index_write(
        b, apr_pstrcat(c->p, c->staging, "/" PREP_INDEX_FILE, NULL), c->p);
    if (rv != APR_SUCCESS) {
        return prep_refuse(&c->verdict, c->p, "io",
                           "cannot write the index (%s)",
                           apr_psprintf(c->p, "%pm", &rv));
    }
    *files_out = (apr_uint64_t)nplans;
    phase_end(c, PREP_PHASE_INDEX);
    return APR_SUCCESS;
}

/* --- the package's one descriptor ---------------------------------- */

/* How long a truncated package written under its final name stays in
 * incoming, unchanged, before it is refused: an sftp client on a slow link
 * pauses longer than PrepSettleTime and then writes on. */
#define HOLD_TRUNCATED apr_time_from_sec(60)

/* Whether the package's descriptor still shows the file that settled: an
 * upload that goes on, or a retry that rewrites it, changes size or mtime. */
static int package_unchanged(load_ctx_t *c)
{
    apr_os_file_t fd;
    struct stat st;

    apr_os_file_get(&fd, c->package);
    return fstat(fd, &st) == 0 && (apr_off_t)st.st_size == c->identity.size &&
           apr_time_from_sec(st.st_mtim.tv_sec) + st.st_mtim.tv_nsec / 1000 ==
               c->identity.mtime;
}

/* --- setting the package aside ------------------------------------- */

static void set_aside(load_ctx_t *c, prep_aside_e where)
{
    apr_status_t rv;

    if (c->req->mode == PREP_LOAD_REPUBLISH) {
        return; /* the retained package stays where it is */
    }
    rv = prep_incoming_set_aside(
        c->feed, c->dirfd, c->name, c->package, &c->identity, where,
        where == PREP_ASIDE_REJECTED ? &c->verdict : NULL, c->p);
    if (rv == APR_EMISMATCH) {
        say(c, 0,
            "%s now names another file than the one loaded: that one is "
            "examined once it settles",
            c->shown);
    } else if (rv != APR_SUCCESS) {
        say(c, 1, "cannot set %s aside in %s/%s: %pm", c->shown, c->feed->store,
            where == PREP_ASIDE_REJECTED ? PREP_REJECTED_DIR
                                         : PREP_PROCESSED_DIR,
            &rv);
    }
}

/* Whether the store's filesystem is full (under 1 MB or no inode left for
 * the loader account): then a failed write is the disk's fault. */
static int store_full(load_ctx_t *c, apr_uint64_t *avail)
{
    struct statvfs vfs;

    if (statvfs(apr_pstrcat(c->p, c->feed->store, "/staging", NULL), &vfs)) {
        return 0;
    }
    *avail = (apr_uint64_t)vfs.f_bavail * vfs.f_frsize;
    return *avail < 1024 * 1024 || (vfs.f_files > 0 && vfs.f_favail == 0);
}

/* Whether a store write failed because the store cannot take a corte now
 * (not writable, read-only, over quota) rather than because of the
 * package. */
static int store_refuses(apr_status_t rv)
{
    return APR_STATUS_IS_EACCES(rv) || rv == EPERM || rv == EROFS ||
           APR_STATUS_IS_ENOSPC(rv) || rv == EDQUOT;
}

static prep_load_result_t *ended(load_ctx_t *c, prep_load_result_t *res,
                                 prep_load_outcome_e outcome)
{
    res->outcome = outcome;
    res->verdict = c->verdict;
    return res;
}

/* The store cannot take a corte now: what this load wrote goes (the lock is
 * ours), the package waits in incoming. */
static prep_load_result_t *busy(load_ctx_t *c, prep_load_result_t *res)
{
    say(c, 1, "package %s not loaded: %s", c->shown, c->verdict.message);
    prep_store_clean_staging(c->feed->store, c->p);
    return ended(c, res, PREP_LOAD_BUSY);
}

/* The package's name or bytes moved under the load: nothing of it is
 * published or set aside; the intake looks at it again once it settles. */
static prep_load_result_t *changed(load_ctx_t *c, prep_load_result_t *res)
{
    say(c, 0,
        "package %s changed while it was loaded; it is examined again once "
        "it settles",
        c->shown);
    prep_store_clean_staging(c->feed->store, c->p);
    c->verdict.reason = NULL;
    c->verdict.message = NULL;
    return ended(c, res, PREP_LOAD_CHANGED);
}

static prep_load_result_t *refused(load_ctx_t *c, prep_load_result_t *res)
{
    apr_uint64_t avail = 0;

    /* A full disk is not the package's fault: it stays in incoming and the
     * intake tries it again, instead of setting it aside for good. */
    if (!strcmp(c->verdict.reason, "io") && store_full(c, &avail)) {
        c->verdict.message =
            apr_psprintf(c->p,
                         "no space left in the store (%" APR_UINT64_T_FMT
                         " KB free): %s; %s is tried again",
                         avail / 1024, c->verdict.message, c->shown);
        return busy(c, res);
    }
    /* A verdict on bytes that were still moving is no verdict. */
    if (c->package && c->req->mode != PREP_LOAD_REPUBLISH &&
        (!package_unchanged(c) ||
         !prep_incoming_still(c->dirfd, c->name, &c->identity))) {
        return changed(c, res);
    }
    /* Written under its final name and cut short: the client may only be
     * pausing.  A package renamed into incoming is complete. */
    if (!strcmp(c->verdict.reason, "truncated") &&
        c->req->mode == PREP_LOAD_NEW &&
        c->identity.ctime <= c->identity.mtime &&
        apr_time_now() - c->identity.mtime < HOLD_TRUNCATED) {
        say(c, 0,
            "package %s is truncated (%s); it stays in incoming, as an upload "
            "that may go on, until it changes or %d s have passed",
            c->shown, c->verdict.message, (int)apr_time_sec(HOLD_TRUNCATED));
        prep_store_clean_staging(c->feed->store, c->p);
        return ended(c, res, PREP_LOAD_HELD);
    }
    if (c->req->mode == PREP_LOAD_REPUBLISH) {
        say(c, 1, "cannot publish corte %s again from %s: %s: %s",
            c->req->corte_id, c->shown, c->verdict.reason, c->verdict.message);
        prep_store_clean_staging(c->feed->store, c->p);
        return ended(c, res, PREP_LOAD_REFUSED);
    }
    say(c, 1, "package %s refused: %s: %s", c->shown, c->verdict.reason,
        c->verdict.message);
    prep_store_record_rejected(c->feed->store, c->shown, &c->verdict,
                               apr_time_now(), c->p);
    set_aside(c, PREP_ASIDE_REJECTED);
    prep_store_clean_staging(c->feed->store, c->p);
    return ended(c, res, PREP_LOAD_REFUSED);
}

static void ctx_init(load_ctx_t *c, const prep_feed_t *feed,
                     const char *package_path, apr_pool_t *p)
{
    const char *slash = strrchr(package_path, '/');

    memset(c, 0, sizeof(*c));
    c->feed = feed;
    c->name = slash ? slash + 1 : package_path;
    c->shown = prep_name_shown(p, c->name);
    c->dirfd = -1;
    c->p = p;
}

/* Verification, package rules, corte time; the verdict in c->verdict. */
static apr_status_t check_package(load_ctx_t *c, prep_checked_t *out)
{
    const prep_feed_t *feed = c->feed;
    apr_time_t ahead;

    /* A package that fails verification is never parsed. */
    if (prep_verify_package(feed, c->dirfd, c->name, c->package,
                            c->verified_sha256, &c->verdict,
                            c->p) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    phase_end(c, PREP_PHASE_VERIFY);
    if (prep_package_unpack_file(&out->unpacked, c->package, c->pack,
                                 &feed->limits, feed->strip, &c->verdict,
                                 c->p) != APR_SUCCESS) {
        if (!c->verdict.reason) {
            prep_refuse(&c->verdict, c->p, "io", "the package cannot be read");
        }
        return APR_EGENERAL;
    }
    phase_end(c, PREP_PHASE_UNPACK);
    /* What was unpacked is what was verified, byte for byte. */
    if (feed->verify != PREP_VERIFY_NONE &&
        memcmp(out->unpacked->package_sha256, c->verified_sha256, 32)) {
        return prep_refuse(&c->verdict, c->p, "verify",
                           "%s changed between its verification and its "
                           "unpacking",
                           c->shown);
    }
    c->pack_end = out->unpacked->pack_size;
    if (read_corte_time(c, out->unpacked, &out->corte_time) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    ahead = out->corte_time - apr_time_now();
    if (feed->future_limit >= 0 && ahead > feed->future_limit) {
        return prep_refuse(&c->verdict, c->p, "future-corte",
                           "its corte time %s is %" APR_TIME_T_FMT
                           " min ahead of this server's clock (PrepFutureLimit "
                           "%" APR_TIME_T_FMT " min): a clock or time zone "
                           "mistake?",
                           prep_time_iso(c->p, out->corte_time, &feed->zone),
                           apr_time_sec(ahead) / 60,
                           apr_time_sec(feed->future_limit) / 60);
    }
    return APR_SUCCESS;
}

apr_status_t prep_package_check(prep_checked_t **out, const prep_feed_t *feed,
                                const char *package_path, apr_file_t *pack,
                                prep_verdict_t *verdict, apr_pool_t *p)
{
    static const prep_load_request_t offline = {NULL, NULL, PREP_LOAD_NEW, NULL,
                                                NULL};
    load_ctx_t c;
    apr_status_t rv;
    const char *dir;

    ctx_init(&c, feed, package_path, p);
    c.req = &offline;
    c.mark = apr_time_now();
    c.pack = pack;
    *out = apr_pcalloc(p, sizeof(**out));
    dir = c.name == package_path
              ? "."
              : apr_pstrndup(p, package_path,
                             (apr_size_t)(c.name - package_path - 1));
    c.dirfd = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (c.dirfd < 0 ||
        (rv = prep_incoming_open(&c.package, &c.identity, c.dirfd, c.name, NULL,
                                 p)) != APR_SUCCESS) {
        rv = prep_refuse(&c.verdict, p, "io",
                         "%s cannot be opened as a regular file", c.shown);
    } else {
        rv = check_package(&c, *out);
    }
    if (c.dirfd >= 0) {
        close(c.dirfd);
    }
    *verdict = c.verdict;
    return rv;
}

/* Takes the store's lock so that two loaders never share a store; it is
 * held until lock_pool is destroyed (or the process ends). */
static apr_status_t lock_store(load_ctx_t *c, apr_pool_t *lock_pool)
{
    apr_status_t rv = prep_store_lock(c->feed->store, lock_pool);

    if (APR_STATUS_IS_EAGAIN(rv)) {
        return prep_refuse(&c->verdict, c->p, "busy",
                           "another loader holds %s/loader.lock",
                           c->feed->store);
    }
    if (rv != APR_SUCCESS) {
        return prep_refuse(&c->verdict, c->p, "busy",
                           "cannot open %s/loader.lock: %pm", c->feed->store,
                           &rv);
    }
    return APR_SUCCESS;
}

static prep_load_result_t *load_locked(load_ctx_t *c, apr_time_t start);

/* What this load measured: its phases, its variants made and reused. */
static void set_load_details(load_ctx_t *c, prep_corte_t *corte)
{
    int i;

    corte->variants_made = c->variants_made;
    corte->variants_reused = c->variants_reused;
    corte->compress_threads = c->compress_threads;
    corte->has_phases = 1;
    for (i = 0; i < PREP_PHASES; i++) {
        corte->phases_ms[i] = (apr_uint64_t)apr_time_as_msec(c->phase_us[i]);
    }
}

/* "verify 0, unpack 812, ... publish 40; variants 120 made, 2400 reused" */
static const char *phases_text(load_ctx_t *c, const prep_corte_t *corte)
{
    const char *text = "";
    int i;

    for (i = 0; i < PREP_PHASES; i++) {
        text =
            apr_psprintf(c->p, "%s%s%s %" APR_UINT64_T_FMT, text, i ? ", " : "",
                         prep_phase_names[i], corte->phases_ms[i]);
    }
    return apr_psprintf(c->p,
                        "%s; variants %" APR_UINT64_T_FMT
                        " made, %" APR_UINT64_T_FMT " reused",
                        text, corte->variants_made, corte->variants_reused);
}

int prep_load_exit_status(prep_load_outcome_e o)
{
    /* 75 is EX_TEMPFAIL, as before; the others are small and distinct */
    switch (o) {
        case PREP_LOAD_PUBLISHED:
            return 0;
        case PREP_LOAD_REFUSED:
            return 1;
        case PREP_LOAD_SAME:
            return 2;
        case PREP_LOAD_CHANGED:
            return 3;
        case PREP_LOAD_HELD:
            return 4;
        case PREP_LOAD_BUSY:
            return 75;
        default:
            return 70;
    }
}

prep_load_outcome_e prep_load_outcome_of(int exit_status)
{
    static const prep_load_outcome_e known[] = {
        PREP_LOAD_PUBLISHED, PREP_LOAD_REFUSED, PREP_LOAD_SAME,
        PREP_LOAD_CHANGED,   PREP_LOAD_HELD,    PREP_LOAD_BUSY};
    size_t i;

    for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (prep_load_exit_status(known[i]) == exit_status) {
            return known[i];
        }
    }
    return PREP_LOAD_CRASHED;
}

/* The directory the package is read from: incoming, or for a republish the
 * store's processed/ (a real directory of the loader account's). */
static int open_source_dir(load_ctx_t *c)
{
    const char *dir =
        c->req->mode == PREP_LOAD_REPUBLISH
            ? apr_pstrcat(c->p, c->feed->store, "/" PREP_PROCESSED_DIR, NULL)
            : c->feed->incoming;

    return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

prep_load_result_t *prep_load_package(const prep_feed_t *feed,
                                      const prep_load_request_t *req,
                                      prep_log_fn *log, void *baton,
                                      apr_pool_t *p)
{
    load_ctx_t ctx, *c = &ctx;
    apr_time_t start = apr_time_now();
    prep_load_result_t *res = apr_pcalloc(p, sizeof(*res));
    apr_pool_t *lock_pool;
    apr_status_t rv;

    ctx_init(c, feed, apr_pstrcat(p, feed->incoming, "/", req->name, NULL), p);
    c->req = req;
    c->mark = start;
    c->log = log;
    c->baton = baton;
    if ((rv = prep_store_prepare(feed->store, p)) != APR_SUCCESS) {
        prep_refuse(&c->verdict, p, "busy", "cannot prepare the store %s: %pm",
                    feed->store, &rv);
        return busy(c, res);
    }
    /* One open, one package: everything below reads this descriptor. */
    c->dirfd = open_source_dir(c);
    rv = c->dirfd < 0 ? errno
                      : prep_incoming_open(&c->package, &c->identity, c->dirfd,
                                           c->name, req->seen, p);
    if (rv != APR_SUCCESS) {
        if (c->dirfd >= 0) {
            close(c->dirfd);
        }
        if (rv == APR_EMISMATCH || APR_STATUS_IS_ENOENT(rv) ||
            APR_STATUS_IS_EACCES(rv)) {
            c->package = NULL;
            return changed(c, res);
        }
        prep_refuse(&c->verdict, p, "busy", "cannot open %s: %pm", c->shown,
                    &rv);
        return busy(c, res);
    }
    apr_pool_create(&lock_pool, p);
    if (lock_store(c, lock_pool) != APR_SUCCESS) {
        res->outcome = PREP_LOAD_BUSY;
        res->verdict = c->verdict;
    } else {
        res = load_locked(c, start);
    }
    apr_pool_destroy(lock_pool);
    close(c->dirfd);
    return res;
}

/* The corte a new package is measured against: the one served. */
static prep_corte_t *served_corte(load_ctx_t *c)
{
    const char *id = NULL;
    prep_corte_t *current = NULL;
    int fallback;

    if (prep_store_serving(&id, &current, &fallback, c->feed->store, c->p) !=
        APR_SUCCESS) {
        return NULL;
    }
    return current;
}

/* Refusals that need the served corte: older, or the same time with other
 * bytes. */
static apr_status_t check_against(load_ctx_t *c, const prep_corte_t *current,
                                  apr_time_t corte_time, const char *id)
{
    const prep_zone_t *z = &c->feed->zone;

    if (!current || c->req->mode == PREP_LOAD_REPUBLISH) {
        return APR_SUCCESS;
    }
    if (corte_time < current->time) {
        return prep_refuse(&c->verdict, c->p, "older-corte",
                           "its corte time %s is older than the corte being "
                           "served (%s)",
                           prep_time_iso(c->p, corte_time, z),
                           prep_time_iso(c->p, current->time, z));
    }
    if (corte_time == current->time && strcmp(current->id, id)) {
        if (!c->feed->same_time_accept) {
            return prep_refuse(&c->verdict, c->p, "same-time",
                               "its corte time %s is that of the corte being "
                               "served (%s), with other bytes (PrepSameTime "
                               "refuse)",
                               prep_time_iso(c->p, corte_time, z), current->id);
        }
        say(c, 1,
            "package %s has the corte time of the corte being served (%s) "
            "with other bytes; it replaces it (PrepSameTime accept)",
            c->shown, current->id);
    }
    return APR_SUCCESS;
}

static prep_load_result_t *load_locked(load_ctx_t *c, apr_time_t start)
{
    apr_pool_t *p = c->p;
    const prep_feed_t *feed = c->feed;
    prep_load_result_t *res = apr_pcalloc(p, sizeof(*res));
    apr_time_t corte_time;
    const char *id;
    prep_corte_t *current, *corte;
    prep_checked_t checked;
    prep_unpacked_t *u;
    apr_status_t rv;

    prep_store_clean_staging(feed->store, p);
    current = served_corte(c);
    say(c, 0, "%s package %s",
        c->req->mode == PREP_LOAD_REPUBLISH ? "republishing from" : "loading",
        c->shown);

    c->staging = prep_store_staging_dir(
        p, feed->store, apr_psprintf(p, "load-%ld", (long)getpid()));
    if ((rv = apr_dir_make_recursive(c->staging, APR_FPROT_OS_DEFAULT, p)) !=
            APR_SUCCESS ||
        (rv = apr_file_open(
             &c->pack, apr_pstrcat(p, c->staging, "/" PREP_PACK_FILE, NULL),
             APR_FOPEN_READ | APR_FOPEN_WRITE | APR_FOPEN_CREATE |
                 APR_FOPEN_EXCL | APR_FOPEN_BINARY,
             APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_GREAD |
                 APR_FPROT_WREAD,
             p)) != APR_SUCCESS) {
        prep_refuse(&c->verdict, p, "busy", "cannot write in the store: %pm",
                    &rv);
        return busy(c, res);
    }

    phase_end(c, PREP_PHASE_CHECK); /* the store: lock, staging, current */
    if (check_package(c, &checked) != APR_SUCCESS) {
        return refused(c, res);
    }
    u = checked.unpacked;
    corte_time = checked.corte_time;
    corte = apr_pcalloc(p, sizeof(*corte));
    corte->sha256 = prep_hex(p, u->package_sha256, 32);
    id = prep_corte_id(p, corte_time, corte->sha256);
    if (check_against(c, current, corte_time, id) != APR_SUCCESS) {
        return refused(c, res);
    }
    /* the retained package must be the very one published: the whole
     * SHA-256, not only the 8 digits the id carries */
    if (c->req->mode == PREP_LOAD_REPUBLISH &&
        ((c->req->corte_id && strcmp(c->req->corte_id, id)) ||
         !c->req->corte_sha256 ||
         strcmp(c->req->corte_sha256, corte->sha256))) {
        prep_refuse(&c->verdict, p, "verify",
                    "the retained package gives corte %s, not %s", id,
                    c->req->corte_id);
        return refused(c, res);
    }
    if (current && !strcmp(current->id, id) &&
        c->req->mode != PREP_LOAD_REPUBLISH) {
        say(c, 0, "package %s is the corte already served (%s)", c->shown, id);
        prep_store_clean_staging(feed->store, p);
        set_aside(c, PREP_ASIDE_PROCESSED);
        res->corte = current;
        return ended(c, res, PREP_LOAD_SAME);
    }

    phase_end(c, PREP_PHASE_CHECK); /* corte time, older corte */
    if (build_index(c, u, corte_time, current ? current->id : NULL,
                    &corte->files) != APR_SUCCESS) {
        return refused(c, res);
    }
    if ((rv = apr_file_close(c->pack)) != APR_SUCCESS) {
        prep_refuse(&c->verdict, p, "io", "cannot write the corte: %pm", &rv);
        return refused(c, res);
    }
    /* Nothing is published from bytes that moved while they were read. */
    if (c->req->mode != PREP_LOAD_REPUBLISH && !package_unchanged(c)) {
        return changed(c, res);
    }
    corte->id = id;
    corte->time = corte_time;
    corte->label = prep_banner_label(p, corte_time, &feed->zone);
    corte->package = c->shown;
    corte->bytes = u->bytes;
    corte->loaded_at = apr_time_now();
    corte->load_ms = (apr_uint64_t)apr_time_as_msec(corte->loaded_at - start);
    /* corte.json's publish phase stops here (it cannot hold the time of its
     * own fsync); the history's and the log line's go on to `current`. */
    phase_end(c, PREP_PHASE_PUBLISH);
    set_load_details(c, corte);
    if ((rv = prep_store_write_corte(c->staging, corte, p)) != APR_SUCCESS) {
        prep_refuse(&c->verdict, p, "io", "cannot write %s: %pm",
                    PREP_CORTE_FILE, &rv);
        return refused(c, res);
    }
    if ((rv = prep_store_publish(feed->store, c->staging, id, p)) !=
        APR_SUCCESS) {
        if (store_refuses(rv)) {
            prep_refuse(&c->verdict, p, "busy",
                        "the store is not writable: cannot publish corte %s: "
                        "%pm; %s is tried again",
                        id, &rv, c->shown);
            return busy(c, res);
        }
        prep_refuse(&c->verdict, p, "io", "cannot publish corte %s: %pm", id,
                    &rv);
        return refused(c, res);
    }
    phase_end(c, PREP_PHASE_PUBLISH);
    set_load_details(c, corte);
    prep_store_record_history(feed->store, corte, p);
    prep_store_prune(feed->store, feed->keep, p);
    prep_store_clean_staging(feed->store, p);
    set_aside(c, PREP_ASIDE_PROCESSED);
    prep_incoming_prune_processed(feed, p);
    say(c, 0,
        "published corte %s (corte time %s) from %s: %" APR_UINT64_T_FMT
        " files, %" APR_UINT64_T_FMT " bytes in %" APR_UINT64_T_FMT
        " ms (%s; cleanup %" APR_TIME_T_FMT " ms)",
        id, prep_time_iso(p, corte_time, &feed->zone), c->shown, corte->files,
        corte->bytes, corte->load_ms, phases_text(c, corte),
        apr_time_as_msec(apr_time_now() - c->mark));
    res->corte = corte;
    return ended(c, res, PREP_LOAD_PUBLISHED);
}
