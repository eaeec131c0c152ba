/* prep_audit.c — checks that a published corte still holds exactly the
 * bytes its load published: every representation in content.pack is read
 * again and hashed, and compared with the hash recorded in its ETag (the
 * first 16 bytes of the SHA-256 of exactly those bytes, see prep_pack_append
 * in prep_variants.c).  The reading is done in slices of a bounded number of
 * bytes through one 64 KB buffer, so the intake can audit the served corte
 * a little at a time between polls; prepctl audit runs it to the end.
 * Cheap checks of the index and corte.json are done at open. */
#include <stdarg.h>
#include <string.h>

#include <apr_strings.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "prep.h"

#define AUDIT_BUF (64 * 1024)

struct prep_audit {
    apr_pool_t *pool;
    const char *dir;
    prep_index_t *idx; /* NULL when index.prep does not open */
    apr_file_t *pack;  /* NULL when content.pack does not open */
    apr_uint64_t pack_size;
    /* where the next step resumes: entry number, rep of that entry, bytes
     * of that rep already hashed (into md) when in_rep */
    apr_uint32_t entry;
    apr_uint32_t rep;
    apr_uint64_t at;
    int in_rep;
    EVP_MD_CTX *md;
    unsigned char *buf;
    apr_array_header_t *bad;      /* prep_audit_bad_t */
    apr_array_header_t *problems; /* const char * */
    prep_audit_totals_t totals;
    int done;
};

/* The name of value v in a table of names indexed by an enum's values;
 * "unknown" for a value the table does not name. */
static const char *name_of(const char *const *names, apr_size_t n,
                           apr_uint32_t v)
{
    return v < n && names[v] ? names[v] : "unknown";
}

const char *prep_audit_fault_name(prep_audit_fault_e fault)
{
    static const char *const names[] = {
        [PREP_AUDIT_DIFFERS] = "differs",
        [PREP_AUDIT_OUTSIDE] = "outside-pack",
        [PREP_AUDIT_UNREADABLE] = "unreadable",
    };

    return name_of(names, sizeof(names) / sizeof(names[0]),
                   (apr_uint32_t)fault);
}

const char *prep_encoding_name(apr_uint32_t encoding)
{
    static const char *const names[] = {
        [PREP_ENC_IDENTITY] = "identity",
        [PREP_ENC_GZIP] = "gzip",
        [PREP_ENC_BR] = "br",
    };

    return name_of(names, sizeof(names) / sizeof(names[0]), encoding);
}

static apr_status_t md_cleanup(void *data)
{
    EVP_MD_CTX_free(data);
    return APR_SUCCESS;
}

static void problem(prep_audit_t *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void problem(prep_audit_t *a, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    APR_ARRAY_PUSH(a->problems, const char *) = apr_pvsprintf(a->pool, fmt, ap);
    va_end(ap);
}

static void bad(prep_audit_t *a, const prep_index_entry_t *e,
                const prep_rep_t *r, prep_audit_fault_e fault)
{
    prep_audit_bad_t *b = apr_array_push(a->bad);

    b->path = apr_pstrdup(a->pool, prep_index_entry_path(a->idx, e));
    b->banner = r->banner;
    b->encoding = r->encoding;
    b->fault = fault;
}

/* Whether the rep's bytes lie inside the pack (overflow-safe). */
static int rep_inside(const prep_audit_t *a, const prep_rep_t *r)
{
    return a->pack && r->offset <= a->pack_size &&
           r->length <= a->pack_size - r->offset;
}

/* Counts files, reps and bytes, and reports at once every rep that cannot
 * be read: outside the pack, or no pack at all. */
static void survey_index(prep_audit_t *a)
{
    apr_uint32_t i, n = prep_index_count(a->idx), j;

    for (i = 0; i < n; i++) {
        const prep_index_entry_t *e = prep_index_entry_at(a->idx, i);
        apr_uint32_t nreps = prep_index_entry_nreps(e);

        if (!(prep_index_entry_flags(e) & PREP_F_DIR)) {
            a->totals.files++;
            if (!nreps) {
                problem(a, "%s has no representation in index.prep",
                        prep_index_entry_path(a->idx, e));
            }
        }
        for (j = 0; j < nreps; j++) {
            const prep_rep_t *r = prep_index_entry_rep_at(a->idx, e, j);

            a->totals.reps++;
            if (rep_inside(a, r)) {
                a->totals.bytes += r->length;
            } else {
                bad(a, e, r,
                    a->pack ? PREP_AUDIT_OUTSIDE : PREP_AUDIT_UNREADABLE);
            }
        }
    }
}

/* corte.json reads, names this directory, and counts the index's files. */
static void check_corte_json(prep_audit_t *a)
{
    const char *file = apr_pstrcat(a->pool, a->dir, "/" PREP_CORTE_FILE, NULL);
    const char *name = strrchr(a->dir, '/');
    json_error_t err;
    json_t *doc = json_load_file(file, 0, &err), *id, *files;

    name = name ? name + 1 : a->dir;
    if (!doc) {
        problem(a, "%s cannot be read: %s (line %d)", PREP_CORTE_FILE, err.text,
                err.line);
        return;
    }
    id = json_object_get(doc, "id");
    files = json_object_get(doc, "files");
    if (!json_is_object(doc)) {
        problem(a, "%s is not a JSON object", PREP_CORTE_FILE);
    } else if (!json_is_string(id)) {
        problem(a, "%s has no \"id\"", PREP_CORTE_FILE);
    } else if (strcmp(json_string_value(id), name)) {
        problem(a, "%s says id %s but the corte's directory is %s",
                PREP_CORTE_FILE, json_string_value(id), name);
    }
    if (json_is_object(doc) && !json_is_integer(files)) {
        problem(a, "%s has no \"files\" count", PREP_CORTE_FILE);
    } else if (json_is_integer(files) && a->idx &&
               (json_integer_value(files) < 0 ||
                (apr_uint64_t)json_integer_value(files) != a->totals.files)) {
        problem(a,
                "%s says %" APR_INT64_T_FMT " files but index.prep has "
                "%" APR_UINT64_T_FMT,
                PREP_CORTE_FILE, (apr_int64_t)json_integer_value(files),
                a->totals.files);
    }
    json_decref(doc);
}

apr_status_t prep_audit_open(prep_audit_t **out, const char *corte_dir,
                             apr_pool_t *p)
{
    prep_audit_t *a;
    apr_finfo_t fi;
    apr_status_t rv;
    apr_size_t len = strlen(corte_dir);

    *out = NULL;
    if ((rv = apr_stat(&fi, corte_dir, APR_FINFO_TYPE, p)) != APR_SUCCESS) {
        return rv;
    }
    if (fi.filetype != APR_DIR) {
        return APR_ENOTDIR;
    }
    a = apr_pcalloc(p, sizeof(*a));
    a->pool = p;
    while (len > 1 && corte_dir[len - 1] == '/') {
        len--; /* "cortes/ID/" names ID */
    }
    a->dir = apr_pstrndup(p, corte_dir, len);
    a->bad = apr_array_make(p, 8, sizeof(prep_audit_bad_t));
    a->problems = apr_array_make(p, 4, sizeof(const char *));
    a->buf = apr_palloc(p, AUDIT_BUF);
    if (!(a->md = EVP_MD_CTX_new())) {
        return APR_ENOMEM;
    }
    apr_pool_cleanup_register(p, a->md, md_cleanup, apr_pool_cleanup_null);

    rv = apr_file_open(&a->pack,
                       apr_pstrcat(p, a->dir, "/" PREP_PACK_FILE, NULL),
                       APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p);
    if (rv == APR_SUCCESS) {
        rv = apr_file_info_get(&fi, APR_FINFO_SIZE, a->pack);
        if (rv != APR_SUCCESS) {
            apr_file_close(a->pack);
        }
    }
    if (rv == APR_SUCCESS) {
        a->pack_size = (apr_uint64_t)fi.size;
        a->totals.pack_size = a->pack_size;
    } else {
        a->pack = NULL;
        problem(a, "%s cannot be opened: %pm", PREP_PACK_FILE, &rv);
    }
    rv = prep_index_open(&a->idx,
                         apr_pstrcat(p, a->dir, "/" PREP_INDEX_FILE, NULL), p);
    if (rv == APR_SUCCESS) {
        survey_index(a);
    } else {
        a->idx = NULL;
        a->done = 1; /* nothing to walk */
        problem(a, "%s cannot be opened or is damaged: %pm", PREP_INDEX_FILE,
                &rv);
    }
    check_corte_json(a);
    *out = a;
    return APR_SUCCESS;
}

apr_status_t prep_audit_step(prep_audit_t *a, apr_uint64_t budget_bytes,
                             int *done)
{
    apr_uint32_t n = a->idx ? prep_index_count(a->idx) : 0;

    if (!budget_bytes) {
        budget_bytes = AUDIT_BUF;
    }
    while (!a->done && a->entry < n) {
        const prep_index_entry_t *e = prep_index_entry_at(a->idx, a->entry);
        const prep_rep_t *r = prep_index_entry_rep_at(a->idx, e, a->rep);
        apr_size_t want, got = 0;
        apr_off_t off;
        apr_status_t rv;

        if (!r) {
            a->entry++;
            a->rep = 0;
            continue;
        }
        if (!rep_inside(a, r)) {
            a->rep++; /* reported when the audit was opened */
            continue;
        }
        if (!a->in_rep) {
            EVP_DigestInit_ex(a->md, EVP_sha256(), NULL);
            a->at = 0;
            a->in_rep = 1;
        }
        if (a->at < r->length) {
            if (!budget_bytes) {
                break; /* resumes here */
            }
            want = (apr_size_t)(r->length - a->at);
            if (want > budget_bytes) {
                want = (apr_size_t)budget_bytes;
            }
            if (want > AUDIT_BUF) {
                want = AUDIT_BUF;
            }
            off = (apr_off_t)(r->offset + a->at);
            rv = apr_file_seek(a->pack, APR_SET, &off);
            if (rv == APR_SUCCESS) {
                rv = apr_file_read_full(a->pack, a->buf, want, &got);
            }
            a->totals.checked += got;
            budget_bytes -= got;
            if (rv != APR_SUCCESS || got < want) {
                /* shrunk since open, or an I/O error: this rep only */
                bad(a, e, r, PREP_AUDIT_UNREADABLE);
                a->in_rep = 0;
                a->rep++;
                continue;
            }
            EVP_DigestUpdate(a->md, a->buf, got);
            a->at += got;
        } else {
            unsigned char md[EVP_MAX_MD_SIZE];
            char etag[48];

            EVP_DigestFinal_ex(a->md, md, NULL);
            prep_etag_from_sha256(etag, md);
            /* compared with its terminator: a damaged index's etag may
             * not be a string */
            if (memcmp(etag, r->etag, 35)) {
                bad(a, e, r, PREP_AUDIT_DIFFERS);
            }
            a->totals.reps_checked++;
            a->in_rep = 0;
            a->rep++;
        }
    }
    if (a->entry >= n) {
        a->done = 1;
    }
    *done = a->done;
    return APR_SUCCESS;
}

const apr_array_header_t *prep_audit_bad(const prep_audit_t *a)
{
    return a->bad;
}

const apr_array_header_t *prep_audit_problems(const prep_audit_t *a)
{
    return a->problems;
}

const prep_audit_totals_t *prep_audit_totals(const prep_audit_t *a)
{
    return &a->totals;
}

int prep_audit_ok(const prep_audit_t *a)
{
    return a->done && !a->bad->nelts && !a->problems->nelts;
}

apr_status_t prep_audit_corte(prep_audit_t **out, const char *corte_dir,
                              apr_pool_t *p)
{
    apr_status_t rv;
    int done = 0;

    if ((rv = prep_audit_open(out, corte_dir, p)) != APR_SUCCESS) {
        return rv;
    }
    while (!done) {
        if ((rv = prep_audit_step(*out, AUDIT_BUF * 16, &done)) !=
            APR_SUCCESS) {
            return rv;
        }
    }
    return prep_audit_ok(*out) ? APR_SUCCESS : APR_EGENERAL;
}
