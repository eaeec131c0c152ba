/* prep_variants.c — a new corte's files and their representations: the
 * plan of each file served (its flags, its bytes as delivered), bytes
 * appended to the pack with their ETag, and the gzip and brotli variants of
 * every compressible representation.  A variant of bytes the previous corte had
 * already is copied from its pack; the others are made on every core, in
 * batches of bounded memory, huge files streamed and never read whole.
 * Everything it needs comes as arguments: it knows nothing of the load. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <apr_atomic.h>
#include <apr_portable.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <openssl/evp.h>

#include "prep.h"

/* --- the plan of a new corte's files -------------------------------- */

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

prep_plan_t *prep_plans_make(const prep_unpacked_t *u, int nbanners,
                             int *nplans, apr_pool_t *p)
{
    prep_plan_t *plans =
        apr_pcalloc(p, (u->entries->nelts + 1) * sizeof(*plans));
    /* identity and banner reps, each with its gzip and br variants */
    int maxreps = (nbanners + 1) * 3, i;

    *nplans = 0;
    for (i = 0; i < u->entries->nelts; i++) {
        const prep_entry_t *e = &APR_ARRAY_IDX(u->entries, i, prep_entry_t);
        prep_plan_t *plan = &plans[*nplans];

        if (prep_path_hidden(e->path)) {
            continue; /* never served */
        }
        (*nplans)++;
        plan->entry = e;
        plan->mtime = e->mtime;
        plan->flags = flags_for(e->path);
        plan->reps = apr_pcalloc(p, maxreps * sizeof(prep_rep_t));
        plan->reps[0].offset = (apr_uint64_t)e->offset;
        plan->reps[0].length = (apr_uint64_t)e->size;
        prep_etag_from_sha256(plan->reps[0].etag, e->sha256);
        plan->nreps = 1;
    }
    return plans;
}

/* --- the pack of a corte being built ------------------------------- */

apr_status_t prep_pack_read(const prep_pack_t *pack, apr_off_t offset,
                            apr_size_t len, char **out, apr_pool_t *p)
{
    apr_status_t rv;
    char *buf = apr_palloc(p, len + 1);
    apr_size_t got;

    if ((rv = apr_file_seek(pack->file, APR_SET, &offset)) != APR_SUCCESS ||
        (rv = apr_file_read_full(pack->file, buf, len, &got)) != APR_SUCCESS) {
        return rv;
    }
    buf[len] = '\0';
    *out = buf;
    return APR_SUCCESS;
}

apr_status_t prep_pack_append(prep_pack_t *pack, const void *data,
                              apr_size_t len, prep_rep_t *rep)
{
    apr_status_t rv;
    apr_off_t at = pack->end;
    unsigned char md[32];

    if ((rv = apr_file_seek(pack->file, APR_SET, &at)) != APR_SUCCESS ||
        (rv = apr_file_write_full(pack->file, data, len, NULL)) !=
            APR_SUCCESS) {
        return rv;
    }
    EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL);
    rep->offset = (apr_uint64_t)pack->end;
    rep->length = len;
    prep_etag_from_sha256(rep->etag, md);
    pack->end += (apr_off_t)len;
    return APR_SUCCESS;
}

/* Appends `len` bytes of fd at `offset` to the pack as prep_pack_append
 * does, a piece at a time (a reused variant, a huge variant's temporary
 * file).  APR_EOF when fd cannot be read (nothing is appended). */
static apr_status_t pack_append_copy(prep_pack_t *pack, apr_os_file_t fd,
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

    apr_os_file_get(&pack_fd, pack->file);
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
        put = pwrite(pack_fd, buf, n, (off_t)pack->end + (off_t)done);
        if (put != (ssize_t)n) {
            rv = put < 0 ? APR_FROM_OS_ERROR(errno) : APR_ENOSPC;
            break;
        }
        EVP_DigestUpdate(sha, buf, n);
        done += n;
    }
    if (rv == APR_SUCCESS) {
        EVP_DigestFinal_ex(sha, md, NULL);
        rep->offset = (apr_uint64_t)pack->end;
        rep->length = len;
        prep_etag_from_sha256(rep->etag, md);
        pack->end += (apr_off_t)len;
    }
    EVP_MD_CTX_free(sha);
    free(buf);
    return rv;
}

/* --- the jobs ------------------------------------------------------ */

/* Bytes of files compressed in memory per batch of variant jobs. */
#define VARIANT_BATCH (128 * 1024 * 1024)
/* Compressing threads at most. */
#define MAX_THREADS 8

/* How a variant is made.  A huge source (over PREP_HUGE_FILE) is streamed,
 * never read whole: the first one straight to the pack's end, the others to
 * a temporary file of their own, copied to the pack afterwards. */
typedef enum {
    VARIANT_IN_MEMORY = 0, /* read whole, compressed in memory */
    VARIANT_TO_PACK,       /* streamed to the pack at its end */
    VARIANT_TO_TMP,        /* streamed to tmp */
    VARIANT_NONE           /* huge, and no temporary file could be made */
} variant_how_e;

/* One variant to make: the identity rep it is made from, and the result. */
typedef struct variant_job {
    prep_plan_t *plan;
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

/* One batch of jobs, shared by the threads that work on it. */
typedef struct variant_work {
    variant_job_t *jobs;
    int njobs;
    int *order; /* the jobs in the order they are taken: huge ones first */
    volatile apr_uint32_t next;
    volatile apr_uint32_t workers; /* workers that compressed something */
    apr_os_file_t pack_fd;
    apr_off_t pack_end; /* where the first huge variant is written */
} variant_work_t;

/* The previous corte's index, to reuse the variants of unchanged files. */
typedef struct previous {
    prep_index_t *index;
    apr_os_file_t pack_fd;
} previous_t;

static void open_previous(const char *dir, previous_t *prev, apr_pool_t *p)
{
    apr_file_t *fp;

    memset(prev, 0, sizeof(*prev));
    prev->pack_fd = -1;
    if (!dir) {
        return;
    }
    if (prep_index_open(&prev->index,
                        apr_pstrcat(p, dir, "/" PREP_INDEX_FILE, NULL),
                        p) != APR_SUCCESS ||
        apr_file_open(&fp, apr_pstrcat(p, dir, "/" PREP_PACK_FILE, NULL),
                      APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p) != APR_SUCCESS) {
        prev->index = NULL;
        return;
    }
    apr_os_file_get(&prev->pack_fd, fp);
}

/* The variant `encoding` of the same bytes in the previous corte. */
static const prep_rep_t *previous_variant(const previous_t *prev,
                                          const prep_plan_t *plan,
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

/* An unchanged file (its bytes, without a banner, the previous corte's)
 * keeps the previous corte's Last-Modified, as it keeps its ETag: a cache
 * that asks with both validators gets a 304. */
static void keep_mtimes(prep_plan_t *plans, int nplans, const previous_t *prev)
{
    int i;

    for (i = 0; prev->index && i < nplans; i++) {
        prep_plan_t *plan = &plans[i];
        const prep_index_entry_t *e;
        const prep_rep_t *old;

        /* reps[0]: the file's own bytes (prep_plans_make) */
        if ((e = prep_index_lookup(prev->index, plan->entry->path,
                                   strlen(plan->entry->path))) &&
            (old =
                 prep_index_entry_rep(prev->index, e, 0, PREP_ENC_IDENTITY)) &&
            !strcmp(old->etag, plan->reps[0].etag)) {
            plan->mtime = prep_index_entry_mtime(e);
        }
    }
}

/* Whether the plan has the variant `encoding` of its rep `banner`. */
static int has_variant(const prep_plan_t *plan, apr_uint32_t banner,
                       int encoding)
{
    int r;

    for (r = 0; r < plan->nreps; r++) {
        if (plan->reps[r].banner == banner &&
            plan->reps[r].encoding == (apr_uint32_t)encoding) {
            return 1;
        }
    }
    return 0;
}

/* Every variant to have that the plans do not have yet: each encoding of
 * `compress` for each identity or banner rep of a compressible file, with
 * its reuse when the previous corte had the same bytes; the bytes of the
 * files to compress (not reused) in *to_make. */
static apr_array_header_t *plan_jobs(prep_plan_t *plans, int nplans,
                                     unsigned compress, const previous_t *prev,
                                     apr_uint64_t *to_make, apr_pool_t *p)
{
    apr_array_header_t *jobs = apr_array_make(p, 1024, sizeof(variant_job_t));
    int i, r, enc;

    *to_make = 0;
    for (i = 0; i < nplans; i++) {
        prep_plan_t *plan = &plans[i];
        int nsources = plan->nreps;

        if (!prep_mime_compressible(plan->entry->path)) {
            continue;
        }
        for (r = 0; r < nsources; r++) {
            if (plan->reps[r].encoding != PREP_ENC_IDENTITY) {
                continue;
            }
            for (enc = PREP_ENC_GZIP; enc <= PREP_ENC_BR; enc++) {
                variant_job_t *job;

                if (!(compress & (1u << enc)) ||
                    has_variant(plan, plan->reps[r].banner, enc)) {
                    continue;
                }
                job = apr_array_push(jobs);
                memset(job, 0, sizeof(*job));
                job->plan = plan;
                job->source = &plan->reps[r];
                job->encoding = enc;
                job->reuse = previous_variant(prev, plan, job->source, enc);
                if (!job->reuse) {
                    *to_make += job->source->length;
                }
            }
        }
    }
    return jobs;
}

/* --- making them on every core ------------------------------------- */

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
    if (t) { /* NULL when run in the caller's own thread */
        apr_thread_exit(t, APR_SUCCESS);
    }
    return NULL;
}

/* The order the jobs are taken in: the huge files first (the longest jobs,
 * each of which alone could end the phase late if started last), the first
 * of them streamed to the pack's end, the others to temporary files in
 * tmp_dir (removed when closed). */
static void order_jobs(variant_work_t *w, const char *tmp_dir, apr_pool_t *p)
{
    int i, j = 0, to_pack = 1;

    w->order = apr_palloc(p, (w->njobs + 1) * sizeof(int));
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
            job->how =
                apr_file_mktemp(
                    &job->tmp, apr_pstrcat(p, tmp_dir, "/variant.XXXXXX", NULL),
                    0, p) == APR_SUCCESS
                    ? VARIANT_TO_TMP
                    : VARIANT_NONE;
        }
    }
    for (i = 0; i < w->njobs; i++) {
        if (w->jobs[i].how == VARIANT_IN_MEMORY) {
            w->order[j++] = i;
        }
    }
}

/* Runs the compressors of one batch on every core (up to MAX_THREADS);
 * the threads that compressed something in *threads when more than it. */
static void make_variants(variant_work_t *w, const prep_pack_t *pack,
                          const char *tmp_dir, apr_uint32_t *threads,
                          apr_pool_t *p)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int i, n = ncpu < 1 ? 1 : ncpu > MAX_THREADS ? MAX_THREADS : (int)ncpu;
    apr_thread_t *thread[MAX_THREADS];
    apr_status_t rv;

    apr_os_file_get(&w->pack_fd, pack->file);
    w->pack_end = pack->end;
    order_jobs(w, tmp_dir, p);
    w->next = 0;
    w->workers = 0;
    for (i = 0; i < n; i++) {
        if (apr_thread_create(&thread[i], NULL, compress_worker, w, p) !=
            APR_SUCCESS) {
            break;
        }
    }
    if (i == 0) {
        compress_worker(NULL, w);
    }
    while (i-- > 0) {
        apr_thread_join(&rv, thread[i]);
    }
    if (w->workers > *threads) { /* of the busiest batch */
        *threads = w->workers;
    }
}

/* --- into the pack ------------------------------------------------- */

/* Appends one job's variant to the pack (copied from the previous corte,
 * already at the pack's end at `in_pack`, from its temporary file or from
 * memory), as its plan's next rep; counted in *n. */
static apr_status_t append_job(prep_pack_t *pack, variant_job_t *job,
                               const previous_t *prev, apr_off_t in_pack,
                               prep_variants_count_t *n)
{
    prep_plan_t *plan = job->plan;
    prep_rep_t *rep = &plan->reps[plan->nreps];
    apr_os_file_t tmp_fd;
    apr_status_t rv = APR_SUCCESS;

    if (job->reuse) {
        rv = pack_append_copy(pack, prev->pack_fd, job->reuse->offset,
                              job->reuse->length, rep);
        if (rv == APR_SUCCESS) {
            plan->nreps++;
            n->reused++;
        } else if (rv == APR_EOF) {
            rv = APR_SUCCESS; /* the previous pack unreadable: none */
        }
    } else if (job->streamed && job->how == VARIANT_TO_PACK) {
        rep->offset = (apr_uint64_t)in_pack;
        rep->length = job->stream_len;
        prep_etag_from_sha256(rep->etag, job->stream_sha256);
        plan->nreps++;
        n->made++;
    } else if (job->streamed) {
        apr_os_file_get(&tmp_fd, job->tmp);
        rv = pack_append_copy(pack, tmp_fd, 0, job->stream_len, rep);
        if (rv == APR_SUCCESS) {
            plan->nreps++;
            n->made++;
        }
    } else if (job->out) {
        rv = prep_pack_append(pack, job->out, job->out_len, rep);
        plan->nreps++;
        n->made++;
    }
    return rv;
}

/* Writes the variants one batch of jobs made (and those it reuses) to the
 * pack, in job order, and frees what they held. */
static apr_status_t append_variants(prep_pack_t *pack, variant_work_t *w,
                                    const previous_t *prev,
                                    prep_variants_count_t *n)
{
    apr_status_t rv = APR_SUCCESS;
    apr_off_t in_pack = pack->end; /* where a VARIANT_TO_PACK one is */
    int i;

    /* the one streamed to the pack's end is there already */
    for (i = 0; i < w->njobs; i++) {
        if (w->jobs[i].how == VARIANT_TO_PACK && w->jobs[i].streamed) {
            pack->end += (apr_off_t)w->jobs[i].stream_len;
        }
    }
    for (i = 0; i < w->njobs; i++) {
        variant_job_t *job = &w->jobs[i];
        prep_rep_t *rep = &job->plan->reps[job->plan->nreps];

        if (rv == APR_SUCCESS) {
            rv = append_job(pack, job, prev, in_pack, n);
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

/* The jobs from `start` that make one batch: at most VARIANT_BATCH bytes
 * of files compressed in memory (one job at least); returns its end. */
static int batch_end(const apr_array_header_t *jobs, int start)
{
    apr_uint64_t held = 0;
    int end;

    for (end = start; end < jobs->nelts; end++) {
        const variant_job_t *job = &APR_ARRAY_IDX(jobs, end, variant_job_t);
        apr_uint64_t len = job->source->length;

        if (job->reuse || len > PREP_HUGE_FILE) {
            continue; /* copied, or streamed: nothing held */
        }
        if (end > start && held + len > VARIANT_BATCH) {
            break;
        }
        held += len;
    }
    return end;
}

/* Makes (or copies) the variants of jobs, batch after batch. */
static apr_status_t run_jobs(prep_pack_t *pack, apr_array_header_t *jobs,
                             const previous_t *prev, const char *tmp_dir,
                             prep_variants_count_t *n, apr_pool_t *p)
{
    variant_work_t work;
    apr_status_t rv = APR_SUCCESS;
    int start, end;

    /* Each batch's variants are written before the next is made: what they
     * hold stays bounded however many mid-sized files a package has.  (The
     * reference package's are a few MB: one batch.) */
    for (start = 0; rv == APR_SUCCESS && start < jobs->nelts; start = end) {
        end = batch_end(jobs, start);
        memset(&work, 0, sizeof(work));
        work.jobs = &APR_ARRAY_IDX(jobs, start, variant_job_t);
        work.njobs = end - start;
        make_variants(&work, pack, tmp_dir, &n->threads, p);
        rv = append_variants(pack, &work, prev, n);
    }
    return rv;
}

apr_status_t prep_variants_add(prep_pack_t *pack, prep_plan_t *plans,
                               int nplans, unsigned compress,
                               const char *previous_dir, const char *tmp_dir,
                               apr_uint64_t defer_over,
                               prep_variants_count_t *n, apr_pool_t *p)
{
    apr_array_header_t *jobs, *reused;
    previous_t prev;
    apr_uint64_t to_make;
    int i;

    memset(n, 0, sizeof(*n));
    open_previous(previous_dir, &prev, p);
    keep_mtimes(plans, nplans, &prev);
    jobs = plan_jobs(plans, nplans, compress, &prev, &to_make, p);
    if (!defer_over || to_make <= defer_over) {
        return run_jobs(pack, jobs, &prev, tmp_dir, n, p);
    }
    /* Too much to compress before the corte is live: only the variants
     * copied from the previous corte now, the others after the publish
     * (prep_variants_complete). */
    reused = apr_array_make(p, jobs->nelts, sizeof(variant_job_t));
    for (i = 0; i < jobs->nelts; i++) {
        variant_job_t *job = &APR_ARRAY_IDX(jobs, i, variant_job_t);

        if (job->reuse) {
            *(variant_job_t *)apr_array_push(reused) = *job;
        } else {
            n->pending++;
        }
    }
    return run_jobs(pack, reused, &prev, tmp_dir, n, p);
}

apr_status_t prep_variants_complete(prep_pack_t *pack, prep_plan_t *plans,
                                    int nplans, unsigned compress,
                                    const char *tmp_dir,
                                    prep_variants_count_t *n, apr_pool_t *p)
{
    apr_array_header_t *jobs;
    previous_t none;
    apr_uint64_t to_make;

    memset(n, 0, sizeof(*n));
    memset(&none, 0, sizeof(none));
    none.pack_fd = -1;
    jobs = plan_jobs(plans, nplans, compress, &none, &to_make, p);
    return run_jobs(pack, jobs, &none, tmp_dir, n, p);
}
