/* prep_loader.c — one package in, one corte out (or one refusal): verify,
 * unpack under the package rules, read the corte time, render the banner
 * into the HTML files, write the index, promote the corte and set the
 * package aside.  Runs in an unprivileged process of its own. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <apr_strings.h>
#include <apr_lib.h>
#include <apr_hash.h>
#include <apr_portable.h>
#include <apr_atomic.h>
#include <apr_thread_proc.h>
#include <apr_mmap.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "prep.h"

typedef struct load_ctx {
    const prep_feed_t *feed;
    const char *path; /* the package */
    const char *name; /* its base name */
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

/* --- PrepVerify ---------------------------------------------------- */

static apr_status_t read_small_file(char **out, apr_size_t *len,
                                    const char *path, apr_size_t max,
                                    apr_pool_t *p)
{
    apr_file_t *fp;
    apr_finfo_t fi;
    apr_status_t rv;
    char *buf;

    if ((rv = apr_file_open(&fp, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0,
                            p)) != APR_SUCCESS) {
        return rv;
    }
    rv = apr_file_info_get(&fi, APR_FINFO_SIZE, fp);
    if (rv == APR_SUCCESS && (apr_size_t)fi.size > max) {
        rv = APR_EGENERAL;
    }
    if (rv == APR_SUCCESS) {
        buf = apr_palloc(p, (apr_size_t)fi.size + 1);
        rv = apr_file_read_full(fp, buf, (apr_size_t)fi.size, len);
        buf[*len] = '\0';
        *out = buf;
    }
    apr_file_close(fp);
    return rv;
}

/* SHA-256 of a whole file, hex. */
static apr_status_t file_sha256(char **hex, const char *path, apr_pool_t *p)
{
    apr_file_t *fp;
    apr_status_t rv;
    unsigned char md[32];
    char buf[65536];
    apr_size_t n;
    EVP_MD_CTX *ctx;

    if ((rv = apr_file_open(&fp, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0,
                            p)) != APR_SUCCESS) {
        return rv;
    }
    ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    do {
        n = sizeof(buf);
        rv = apr_file_read(fp, buf, &n);
        if (n > 0) {
            EVP_DigestUpdate(ctx, buf, n);
        }
    } while (rv == APR_SUCCESS);
    EVP_DigestFinal_ex(ctx, md, NULL);
    EVP_MD_CTX_free(ctx);
    apr_file_close(fp);
    if (!APR_STATUS_IS_EOF(rv)) {
        return rv;
    }
    *hex = prep_hex(p, md, sizeof(md));
    return APR_SUCCESS;
}

static apr_status_t verify_sha256(load_ctx_t *c)
{
    const char *sidecar = apr_pstrcat(c->p, c->path, ".sha256", NULL);
    char *text, *hex;
    apr_size_t len, i;

    if (read_small_file(&text, &len, sidecar, 4096, c->p) != APR_SUCCESS) {
        return prep_refuse(&c->verdict, c->p, "verify",
                           "PrepVerify sha256: no readable sidecar %s.sha256",
                           c->name);
    }
    /* sha256sum format: 64 hex digits, then "  NAME" (or " *NAME"). */
    for (i = 0; i < len && i < 64 && apr_isxdigit(text[i]); i++) {
        text[i] = apr_tolower(text[i]);
    }
    if (i != 64 || (len > 64 && !apr_isspace(text[64]))) {
        return prep_refuse(&c->verdict, c->p, "verify",
                           "%s.sha256 does not start with a SHA-256 in hex",
                           c->name);
    }
    if (file_sha256(&hex, c->path, c->p) != APR_SUCCESS) {
        return prep_refuse(&c->verdict, c->p, "io", "cannot read %s", c->name);
    }
    if (strncmp(hex, text, 64)) {
        return prep_refuse(&c->verdict, c->p, "verify",
                           "SHA-256 of %s is %s, its sidecar says %.64s",
                           c->name, hex, text);
    }
    return APR_SUCCESS;
}

static apr_status_t verify_signature(load_ctx_t *c)
{
    const char *sig_path = apr_pstrcat(c->p, c->path, ".sig", NULL);
    char *sig;
    apr_size_t sig_len;
    apr_file_t *fp;
    FILE *kf;
    EVP_PKEY *key = NULL;
    EVP_MD_CTX *ctx = NULL;
    int ok = 0;

    if (read_small_file(&sig, &sig_len, sig_path, 16384, c->p) != APR_SUCCESS) {
        return prep_refuse(&c->verdict, c->p, "verify",
                           "PrepVerify signature: no readable %s.sig", c->name);
    }
    if (!(kf = fopen(c->feed->verify_key, "r")) ||
        !(key = PEM_read_PUBKEY(kf, NULL, NULL, NULL))) {
        if (kf) {
            fclose(kf);
        }
        return prep_refuse(&c->verdict, c->p, "verify",
                           "cannot read the public key %s",
                           c->feed->verify_key);
    }
    fclose(kf);
    ctx = EVP_MD_CTX_new();
    if (ctx && apr_file_open(&fp, c->path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0,
                             c->p) == APR_SUCCESS) {
        /* Ed25519 signs the message itself, in one piece (mapped, not read
         * into memory); RSA and ECDSA a SHA-256 of it, as `openssl dgst
         * -sha256 -sign` makes them, read in blocks. */
        int ed = EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 ||
                 EVP_PKEY_get_id(key) == EVP_PKEY_ED448;
        apr_finfo_t fi;
        apr_mmap_t *mm;

        if (EVP_DigestVerifyInit(ctx, NULL, ed ? NULL : EVP_sha256(), NULL,
                                 key) != 1) {
            ok = 0;
        } else if (ed) {
            ok = apr_file_info_get(&fi, APR_FINFO_SIZE, fp) == APR_SUCCESS &&
                 fi.size > 0 &&
                 apr_mmap_create(&mm, fp, 0, (apr_size_t)fi.size, APR_MMAP_READ,
                                 c->p) == APR_SUCCESS &&
                 EVP_DigestVerify(ctx, (unsigned char *)sig, sig_len, mm->mm,
                                  mm->size) == 1;
        } else {
            char buf[65536];
            apr_size_t n;
            apr_status_t rv;

            ok = 1;
            do {
                n = sizeof(buf);
                rv = apr_file_read(fp, buf, &n);
                if (n > 0 && EVP_DigestVerifyUpdate(ctx, buf, n) != 1) {
                    ok = 0;
                }
            } while (rv == APR_SUCCESS && ok);
            ok = ok && APR_STATUS_IS_EOF(rv) &&
                 EVP_DigestVerifyFinal(ctx, (unsigned char *)sig, sig_len) == 1;
        }
        apr_file_close(fp);
    }
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    if (!ok) {
        return prep_refuse(&c->verdict, c->p, "verify",
                           "the signature %s.sig does not match %s with %s",
                           c->name, c->name, c->feed->verify_key);
    }
    return APR_SUCCESS;
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
    apr_finfo_t fi;
    char *data;

    switch (f->corte.source) {
        case PREP_CORTE_MTIME:
            if (apr_stat(&fi, c->path, APR_FINFO_MTIME, c->p) != APR_SUCCESS) {
                err = "the package's mtime cannot be read";
            }
            *t = apr_time_from_sec(apr_time_sec(fi.mtime));
            break;
        case PREP_CORTE_FILENAME:
            err = prep_corte_time_from_filename(t, &f->corte, c->name, &f->zone,
                                                c->p);
            break;
        case PREP_CORTE_JSON:
        case PREP_CORTE_CSV:
            if (!(e = find_entry(u, f->corte.file))) {
                err = apr_psprintf(c->p, "%s is not in the package",
                                   f->corte.file);
            } else if (e->size > 64 * 1024 * 1024) {
                err = apr_psprintf(c->p, "%s is too large to read a time from",
                                   f->corte.file);
            } else if (pack_read(c, e->offset, (apr_size_t)e->size, &data) !=
                       APR_SUCCESS) {
                err =
                    apr_psprintf(c->p, "%s cannot be read back", f->corte.file);
            } else {
                err = prep_corte_time_from_content(
                    t, &f->corte, data, (apr_size_t)e->size, &f->zone, c->p);
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

/* --- setting the package aside ------------------------------------- */

static void move_package(load_ctx_t *c, const char *subdir)
{
    const char *dir = apr_pstrcat(c->p, c->feed->incoming, "/", subdir, NULL);
    static const char *const sidecars[] = {"", ".sha256", ".sig"};
    apr_file_t *fp;
    size_t i;

    apr_dir_make(dir, APR_FPROT_OS_DEFAULT, c->p);
    for (i = 0; i < sizeof(sidecars) / sizeof(sidecars[0]); i++) {
        const char *from = apr_pstrcat(c->p, c->path, sidecars[i], NULL);
        const char *to =
            apr_pstrcat(c->p, dir, "/", c->name, sidecars[i], NULL);
        apr_status_t rv = apr_file_rename(from, to, c->p);
        if (rv != APR_SUCCESS && i == 0) {
            say(c, 1, "cannot move %s to %s: %pm", c->name, dir, &rv);
        }
    }
    if (c->verdict.reason &&
        apr_file_open(&fp,
                      apr_pstrcat(c->p, dir, "/", c->name, ".reason", NULL),
                      APR_FOPEN_WRITE | APR_FOPEN_CREATE | APR_FOPEN_TRUNCATE,
                      APR_FPROT_OS_DEFAULT, c->p) == APR_SUCCESS) {
        apr_file_printf(fp, "%s: %s\n", c->verdict.reason, c->verdict.message);
        apr_file_close(fp);
    }
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Removes the oldest processed packages beyond `keep`. */
static void prune_processed(load_ctx_t *c)
{
    const char *dir = apr_pstrcat(c->p, c->feed->incoming, "/processed", NULL);
    apr_array_header_t *names = apr_array_make(c->p, 16, sizeof(char *));
    apr_dir_t *d;
    apr_finfo_t fi;
    int i;

    if (apr_dir_open(&d, dir, c->p) != APR_SUCCESS) {
        return;
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE | APR_FINFO_MTIME,
                        d) == APR_SUCCESS) {
        if (fi.filetype == APR_REG && !prep_package_name_ignored(fi.name)) {
            APR_ARRAY_PUSH(names, const char *) = apr_psprintf(
                c->p, "%020" APR_TIME_T_FMT "/%s", fi.mtime, fi.name);
        }
    }
    apr_dir_close(d);
    qsort(names->elts, names->nelts, sizeof(char *), str_cmp);
    for (i = 0; i + c->feed->keep < names->nelts; i++) {
        const char *name =
            strchr(APR_ARRAY_IDX(names, i, const char *), '/') + 1;
        const char *base = apr_pstrcat(c->p, dir, "/", name, NULL);
        apr_file_remove(base, c->p);
        apr_file_remove(apr_pstrcat(c->p, base, ".sha256", NULL), c->p);
        apr_file_remove(apr_pstrcat(c->p, base, ".sig", NULL), c->p);
    }
}

/* Whether the store's filesystem is full (under 1 MB or no inode left for
 * the server's User): then a failed write is the disk's fault. */
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

static prep_load_result_t *refused(load_ctx_t *c, prep_load_result_t *res)
{
    apr_uint64_t avail = 0;

    /* A full disk is not the package's fault: it stays in incoming and the
     * intake tries it again, instead of setting it aside for good. */
    if (!strcmp(c->verdict.reason, "io") && store_full(c, &avail)) {
        c->verdict.reason = "busy";
        c->verdict.message =
            apr_psprintf(c->p,
                         "no space left in the store (%" APR_UINT64_T_FMT
                         " KB free): %s; %s is tried again",
                         avail / 1024, c->verdict.message, c->name);
    }
    if (strcmp(c->verdict.reason, "busy")) {
        say(c, 1, "package %s refused: %s: %s", c->name, c->verdict.reason,
            c->verdict.message);
        prep_store_record_rejected(c->feed->store, c->name, &c->verdict,
                                   apr_time_now(), c->p);
        move_package(c, "rejected");
        prep_store_clean_staging(c->feed->store, c->p);
    } else {
        /* the lock is ours: what this load wrote goes, the package waits */
        say(c, 1, "package %s not loaded: %s", c->name, c->verdict.message);
        prep_store_clean_staging(c->feed->store, c->p);
    }
    res->verdict = c->verdict;
    return res;
}

static void ctx_init(load_ctx_t *c, const prep_feed_t *feed,
                     const char *package_path, apr_pool_t *p)
{
    const char *slash = strrchr(package_path, '/');

    memset(c, 0, sizeof(*c));
    c->feed = feed;
    c->path = package_path;
    c->name = slash ? slash + 1 : package_path;
    c->p = p;
}

/* Verification, package rules, corte time; the verdict in c->verdict. */
static apr_status_t check_package(load_ctx_t *c, prep_checked_t *out)
{
    const prep_feed_t *feed = c->feed;

    /* A package that fails verification is never parsed. */
    if ((feed->verify == PREP_VERIFY_SHA256 && verify_sha256(c)) ||
        (feed->verify == PREP_VERIFY_SIGNATURE && verify_signature(c))) {
        return APR_EGENERAL;
    }
    phase_end(c, PREP_PHASE_VERIFY);
    if (prep_package_unpack(&out->unpacked, c->path, c->pack, &feed->limits,
                            feed->strip, &c->verdict, c->p) != APR_SUCCESS) {
        if (!c->verdict.reason) {
            prep_refuse(&c->verdict, c->p, "io", "the package cannot be read");
        }
        return APR_EGENERAL;
    }
    phase_end(c, PREP_PHASE_UNPACK);
    c->pack_end = out->unpacked->pack_size;
    if (read_corte_time(c, out->unpacked, &out->corte_time) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (out->corte_time > apr_time_now() + apr_time_from_sec(24 * 3600)) {
        return prep_refuse(&c->verdict, c->p, "future-corte",
                           "its corte time %s is more than a day in the "
                           "future",
                           prep_time_iso(c->p, out->corte_time, &feed->zone));
    }
    return APR_SUCCESS;
}

apr_status_t prep_package_check(prep_checked_t **out, const prep_feed_t *feed,
                                const char *package_path, apr_file_t *pack,
                                prep_verdict_t *verdict, apr_pool_t *p)
{
    load_ctx_t c;
    apr_status_t rv;

    ctx_init(&c, feed, package_path, p);
    c.mark = apr_time_now();
    c.pack = pack;
    *out = apr_pcalloc(p, sizeof(**out));
    rv = check_package(&c, *out);
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

prep_load_result_t *prep_load_package(const prep_feed_t *feed,
                                      const char *package_path,
                                      prep_log_fn *log, void *baton,
                                      apr_pool_t *p)
{
    load_ctx_t ctx, *c = &ctx;
    apr_time_t start = apr_time_now();
    prep_load_result_t *res;
    apr_pool_t *lock_pool;
    apr_status_t rv;

    ctx_init(c, feed, package_path, p);
    c->mark = start;
    c->log = log;
    c->baton = baton;
    if ((rv = prep_store_prepare(feed->store, p)) != APR_SUCCESS) {
        prep_refuse(&c->verdict, p, "busy", "cannot prepare the store %s: %pm",
                    feed->store, &rv);
        say(c, 1, "%s", c->verdict.message);
        res = apr_pcalloc(p, sizeof(*res));
        res->verdict = c->verdict;
        return res;
    }
    apr_pool_create(&lock_pool, p);
    if (lock_store(c, lock_pool) != APR_SUCCESS) {
        res = apr_pcalloc(p, sizeof(*res));
        res->verdict = c->verdict;
    } else {
        res = load_locked(c, start);
    }
    apr_pool_destroy(lock_pool);
    return res;
}

static prep_load_result_t *load_locked(load_ctx_t *c, apr_time_t start)
{
    apr_pool_t *p = c->p;
    const prep_feed_t *feed = c->feed;
    prep_load_result_t *res = apr_pcalloc(p, sizeof(*res));
    apr_time_t corte_time;
    const char *current_id = NULL, *id;
    prep_corte_t *current = NULL, *corte;
    prep_checked_t checked;
    prep_unpacked_t *u;
    apr_status_t rv;

    prep_store_clean_staging(feed->store, p);
    if (prep_store_current(&current_id, feed->store, p) == APR_SUCCESS &&
        current_id &&
        prep_store_read_corte(&current,
                              prep_store_corte_dir(p, feed->store, current_id),
                              p) != APR_SUCCESS) {
        current = NULL;
    }
    say(c, 0, "loading package %s", c->name);

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
        say(c, 1, "%s", c->verdict.message);
        res->verdict = c->verdict;
        return res;
    }

    phase_end(c, PREP_PHASE_CHECK); /* the store: lock, staging, current */
    if (check_package(c, &checked) != APR_SUCCESS) {
        return refused(c, res);
    }
    u = checked.unpacked;
    corte_time = checked.corte_time;
    if (current && corte_time < current->time) {
        prep_refuse(&c->verdict, p, "older-corte",
                    "its corte time %s is older than the corte being served "
                    "(%s)",
                    prep_time_iso(p, corte_time, &feed->zone),
                    prep_time_iso(p, current->time, &feed->zone));
        return refused(c, res);
    }
    corte = apr_pcalloc(p, sizeof(*corte));
    corte->sha256 = prep_hex(p, u->package_sha256, 32);
    id = prep_corte_id(p, corte_time, corte->sha256);
    if (current && !strcmp(current->id, id)) {
        say(c, 0, "package %s is the corte already served (%s)", c->name, id);
        prep_store_clean_staging(feed->store, p);
        move_package(c, "processed");
        res->corte = current;
        return res;
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
    corte->id = id;
    corte->time = corte_time;
    corte->label = prep_banner_label(p, corte_time, &feed->zone);
    corte->package = c->name;
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
    {
        /* A corte of this id left by an interrupted load is replaced. */
        const char *final = prep_store_corte_dir(p, feed->store, id);
        const char *named = prep_store_staging_dir(p, feed->store, id);
        apr_finfo_t fi;

        if (apr_stat(&fi, final, APR_FINFO_TYPE, p) == APR_SUCCESS) {
            apr_file_rename(final,
                            prep_store_staging_dir(
                                p, feed->store, apr_psprintf(p, "old-%s", id)),
                            p);
        }
        rv = apr_file_rename(c->staging, named, p);
        if (rv == APR_SUCCESS) {
            rv = prep_store_promote(feed->store, id, p);
        }
    }
    if (rv != APR_SUCCESS) {
        if (store_refuses(rv)) {
            prep_refuse(&c->verdict, p, "busy",
                        "the store is not writable: cannot publish corte %s: "
                        "%pm; %s is tried again",
                        id, &rv, c->name);
        } else {
            prep_refuse(&c->verdict, p, "io", "cannot publish corte %s: %pm",
                        id, &rv);
        }
        return refused(c, res);
    }
    phase_end(c, PREP_PHASE_PUBLISH);
    set_load_details(c, corte);
    prep_store_record_history(feed->store, corte, p);
    prep_store_prune(feed->store, feed->keep, p);
    prep_store_clean_staging(feed->store, p);
    move_package(c, "processed");
    prune_processed(c);
    say(c, 0,
        "published corte %s (corte time %s) from %s: %" APR_UINT64_T_FMT
        " files, %" APR_UINT64_T_FMT " bytes in %" APR_UINT64_T_FMT
        " ms (%s; cleanup %" APR_TIME_T_FMT " ms)",
        id, prep_time_iso(p, corte_time, &feed->zone), c->name, corte->files,
        corte->bytes, corte->load_ms, phases_text(c, corte),
        apr_time_as_msec(apr_time_now() - c->mark));
    res->corte = corte;
    return res;
}
