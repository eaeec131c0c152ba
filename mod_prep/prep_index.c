/* prep_index.c — the index of one corte: written once by the loader's index
 * phase (a new corte's files from their plans, the directories that redirect
 * "dir" to "dir/", never a hidden path; laid out, filled, then written with
 * the store's prep_store_write_atomic), then memory-mapped read-only by
 * every httpd child (the pages are shared), so a request is answered with
 * one hash lookup and no per-child build.
 *
 * Layout, every section 8-byte aligned:
 *   header | buckets (uint32: entry number + 1, 0 = empty) | entries |
 *   reps (prep_rep_t) | strings (NUL-terminated paths and types) */
#include <string.h>

#include <apr_hash.h>
#include <apr_mmap.h>
#include <apr_strings.h>

#include "prep.h"

#define INDEX_MAGIC   "PREPIDX1"
#define INDEX_VERSION 1

typedef struct index_header {
    char magic[8];
    apr_uint32_t version;
    apr_uint32_t nentries;
    apr_uint32_t nbuckets; /* a power of two */
    apr_uint32_t nreps;
    apr_uint64_t buckets_off;
    apr_uint64_t entries_off;
    apr_uint64_t reps_off;
    apr_uint64_t strings_off;
    apr_uint64_t strings_len;
    apr_uint64_t file_size;
} index_header_t;

struct prep_index_entry {
    apr_uint64_t hash;
    apr_int64_t mtime;
    apr_uint32_t path_off; /* in strings */
    apr_uint32_t path_len;
    apr_uint32_t type_off; /* in strings, NUL-terminated */
    apr_uint32_t flags;
    apr_uint32_t first_rep;
    apr_uint32_t nreps;
};

struct prep_index {
    const index_header_t *header;
    const apr_uint32_t *buckets;
    const prep_index_entry_t *entries;
    const prep_rep_t *reps;
    const char *strings;
};

typedef struct built_entry {
    const char *path;
    apr_time_t mtime;
    apr_uint32_t flags;
    int first_rep;
    int nreps;
} built_entry_t;

struct prep_index_builder {
    apr_pool_t *pool;
    apr_array_header_t *entries; /* built_entry_t */
    apr_array_header_t *reps;    /* prep_rep_t */
};

/* FNV-1a, 64 bits. */
static apr_uint64_t path_hash(const char *s, apr_size_t len)
{
    apr_uint64_t h = APR_UINT64_C(14695981039346656037);
    apr_size_t i;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= APR_UINT64_C(1099511628211);
    }
    return h;
}

static apr_uint64_t align8(apr_uint64_t n)
{
    return (n + 7) & ~APR_UINT64_C(7);
}

void prep_etag_from_sha256(char etag[48], const unsigned char sha256[32])
{
    static const char digits[] = "0123456789abcdef";
    int i;

    etag[0] = '"';
    for (i = 0; i < 16; i++) {
        etag[1 + 2 * i] = digits[sha256[i] >> 4];
        etag[2 + 2 * i] = digits[sha256[i] & 15];
    }
    etag[33] = '"';
    memset(etag + 34, 0, 48 - 34);
}

prep_index_builder_t *prep_index_builder_create(apr_pool_t *p)
{
    prep_index_builder_t *b = apr_pcalloc(p, sizeof(*b));

    b->pool = p;
    b->entries = apr_array_make(p, 1024, sizeof(built_entry_t));
    b->reps = apr_array_make(p, 2048, sizeof(prep_rep_t));
    return b;
}

void prep_index_add(prep_index_builder_t *b, const char *path, apr_time_t mtime,
                    apr_uint32_t flags, const prep_rep_t *reps, int nreps)
{
    built_entry_t *e = apr_array_push(b->entries);
    int i;

    e->path = apr_pstrdup(b->pool, path);
    e->mtime = mtime;
    e->flags = flags;
    e->first_rep = b->reps->nelts;
    e->nreps = nreps;
    for (i = 0; i < nreps; i++) {
        *(prep_rep_t *)apr_array_push(b->reps) = reps[i];
    }
}

/* The header of the index of b: a bucket for every two entries at least
 * (a power of two), every path, then each distinct type once, in strings;
 * APR_ENOSPC when the strings pass 4 GB. */
static apr_status_t index_layout(index_header_t *h,
                                 const prep_index_builder_t *b, apr_pool_t *p)
{
    apr_uint32_t n = (apr_uint32_t)b->entries->nelts, nb = 16, i;
    apr_hash_t *types = apr_hash_make(p);
    apr_uint64_t strings_len = 0;

    while (nb < 2 * n) {
        nb <<= 1;
    }
    for (i = 0; i < n; i++) {
        const built_entry_t *e = &APR_ARRAY_IDX(b->entries, i, built_entry_t);
        const char *type = prep_mime_type(e->path);

        strings_len += strlen(e->path) + 1;
        if (!apr_hash_get(types, type, APR_HASH_KEY_STRING)) {
            apr_hash_set(types, type, APR_HASH_KEY_STRING, type);
            strings_len += strlen(type) + 1;
        }
    }
    if (strings_len > APR_UINT32_MAX) {
        return APR_ENOSPC;
    }
    memset(h, 0, sizeof(*h));
    memcpy(h->magic, INDEX_MAGIC, 8);
    h->version = INDEX_VERSION;
    h->nentries = n;
    h->nbuckets = nb;
    h->nreps = (apr_uint32_t)b->reps->nelts;
    h->buckets_off = align8(sizeof(*h));
    h->entries_off = h->buckets_off + align8((apr_uint64_t)nb * 4);
    h->reps_off = h->entries_off + (apr_uint64_t)n * sizeof(prep_index_entry_t);
    h->strings_off = h->reps_off + (apr_uint64_t)h->nreps * sizeof(prep_rep_t);
    h->strings_len = strings_len;
    h->file_size = h->strings_off + align8(strings_len);
    return APR_SUCCESS;
}

/* Fills the entries, strings and buckets of buf, laid out by h: entry i's
 * path, then its type the first time it is met, into strings; its bucket
 * found by linear probing from its hash. */
static void index_fill(char *buf, const index_header_t *h,
                       const prep_index_builder_t *b, apr_pool_t *p)
{
    apr_uint32_t *buckets = (apr_uint32_t *)(buf + h->buckets_off);
    prep_index_entry_t *entries = (prep_index_entry_t *)(buf + h->entries_off);
    char *strings = buf + h->strings_off;
    apr_uint32_t mask = h->nbuckets - 1, i;
    apr_hash_t *types = apr_hash_make(p);
    apr_uint64_t used = 0;

    for (i = 0; i < h->nentries; i++) {
        const built_entry_t *be = &APR_ARRAY_IDX(b->entries, i, built_entry_t);
        prep_index_entry_t *e = &entries[i];
        const char *type = prep_mime_type(be->path);
        apr_uint32_t *type_off = apr_hash_get(types, type, APR_HASH_KEY_STRING);
        apr_size_t len = strlen(be->path);
        apr_uint32_t slot;

        e->path_off = (apr_uint32_t)used;
        e->path_len = (apr_uint32_t)len;
        memcpy(strings + used, be->path, len + 1);
        used += len + 1;
        if (!type_off) {
            type_off = apr_palloc(p, sizeof(*type_off));
            *type_off = (apr_uint32_t)used;
            memcpy(strings + used, type, strlen(type) + 1);
            used += strlen(type) + 1;
            apr_hash_set(types, type, APR_HASH_KEY_STRING, type_off);
        }
        e->type_off = *type_off;
        e->hash = path_hash(be->path, len);
        e->mtime = be->mtime;
        e->flags = be->flags;
        e->first_rep = (apr_uint32_t)be->first_rep;
        e->nreps = (apr_uint32_t)be->nreps;
        for (slot = (apr_uint32_t)(e->hash & mask); buckets[slot];
             slot = (slot + 1) & mask) {
        }
        buckets[slot] = i + 1;
    }
}

apr_status_t prep_index_write(prep_index_builder_t *b, const char *file,
                              apr_pool_t *p)
{
    index_header_t h;
    char *buf;
    apr_status_t rv;

    if ((rv = index_layout(&h, b, p)) != APR_SUCCESS) {
        return rv;
    }
    buf = apr_pcalloc(p, (apr_size_t)h.file_size);
    memcpy(buf, &h, sizeof(h));
    if (h.nreps) {
        memcpy(buf + h.reps_off, b->reps->elts,
               (apr_size_t)h.nreps * sizeof(prep_rep_t));
    }
    index_fill(buf, &h, b, p);
    return prep_store_write_atomic(file, buf, (apr_size_t)h.file_size, p);
}

/* --- the index of a new corte --------------------------------------- */

int prep_path_hidden(const char *path)
{
    const char *s;

    for (s = path; *s; s++) {
        if (*s == '.' && (s == path || s[-1] == '/')) {
            return 1;
        }
    }
    return 0;
}

apr_status_t prep_index_write_corte(const prep_plan_t *plans, int nplans,
                                    const apr_array_header_t *dirs,
                                    const char *file, apr_pool_t *p)
{
    prep_index_builder_t *b = prep_index_builder_create(p);
    apr_hash_t *files = apr_hash_make(p);
    int i;

    for (i = 0; i < nplans; i++) {
        const prep_plan_t *plan = &plans[i];

        if (prep_path_hidden(plan->entry->path)) {
            continue; /* never served */
        }
        prep_index_add(b, plan->entry->path, plan->mtime, plan->flags,
                       plan->reps, plan->nreps);
        apr_hash_set(files, plan->entry->path, APR_HASH_KEY_STRING,
                     plan->entry);
    }
    /* A directory that holds an index.html and is no file itself: "dir"
     * is redirected to "dir/". */
    for (i = 0; dirs && i < dirs->nelts; i++) {
        const char *dir = APR_ARRAY_IDX(dirs, i, const char *);

        if (!prep_path_hidden(dir) &&
            !apr_hash_get(files, dir, APR_HASH_KEY_STRING) &&
            apr_hash_get(files, apr_pstrcat(p, dir, "/index.html", NULL),
                         APR_HASH_KEY_STRING)) {
            prep_index_add(b, dir, 0, PREP_F_DIR, NULL, 0);
        }
    }
    return prep_index_write(b, file, p);
}

/* Every offset inside the file, every string terminated: a damaged index is
 * an error at open, never a crash at lookup. */
static int index_valid(const char *base, apr_size_t size)
{
    const index_header_t *h = (const index_header_t *)base;
    const prep_index_entry_t *entries;
    const apr_uint32_t *buckets;
    const char *strings;
    apr_uint32_t i;

    if (size < sizeof(*h) || memcmp(h->magic, INDEX_MAGIC, 8) ||
        h->version != INDEX_VERSION || h->file_size != size ||
        h->nbuckets == 0 || (h->nbuckets & (h->nbuckets - 1)) ||
        h->nbuckets < h->nentries || h->buckets_off != align8(sizeof(*h)) ||
        h->entries_off !=
            h->buckets_off + align8((apr_uint64_t)h->nbuckets * 4) ||
        h->reps_off != h->entries_off + (apr_uint64_t)h->nentries *
                                            sizeof(prep_index_entry_t) ||
        h->strings_off !=
            h->reps_off + (apr_uint64_t)h->nreps * sizeof(prep_rep_t) ||
        h->strings_off > size || h->strings_len > size - h->strings_off) {
        return 0;
    }
    buckets = (const apr_uint32_t *)(base + h->buckets_off);
    entries = (const prep_index_entry_t *)(base + h->entries_off);
    strings = base + h->strings_off;
    for (i = 0; i < h->nbuckets; i++) {
        if (buckets[i] > h->nentries) {
            return 0;
        }
    }
    for (i = 0; i < h->nentries; i++) {
        const prep_index_entry_t *e = &entries[i];
        if ((apr_uint64_t)e->path_off + e->path_len >= h->strings_len ||
            strings[e->path_off + e->path_len] != '\0' ||
            e->type_off >= h->strings_len ||
            !memchr(strings + e->type_off, '\0',
                    (apr_size_t)(h->strings_len - e->type_off)) ||
            (apr_uint64_t)e->first_rep + e->nreps > h->nreps) {
            return 0;
        }
    }
    return 1;
}

apr_status_t prep_index_open(prep_index_t **out, const char *file,
                             apr_pool_t *p)
{
    apr_file_t *fp;
    apr_finfo_t fi;
    apr_mmap_t *mm;
    apr_status_t rv;
    prep_index_t *idx;
    const char *base;

    if ((rv = apr_file_open(&fp, file, APR_FOPEN_READ | APR_FOPEN_BINARY, 0,
                            p)) != APR_SUCCESS) {
        return rv;
    }
    rv = apr_file_info_get(&fi, APR_FINFO_SIZE, fp);
    if (rv == APR_SUCCESS && fi.size < (apr_off_t)sizeof(index_header_t)) {
        rv = APR_EGENERAL;
    }
    if (rv == APR_SUCCESS) {
        /* the mapping outlives the descriptor; unmapped when p is cleared */
        rv = apr_mmap_create(&mm, fp, 0, (apr_size_t)fi.size, APR_MMAP_READ, p);
    }
    apr_file_close(fp);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    base = mm->mm;
    if (!index_valid(base, (apr_size_t)fi.size)) {
        apr_mmap_delete(mm);
        return APR_EGENERAL;
    }
    idx = apr_palloc(p, sizeof(*idx));
    idx->header = (const index_header_t *)base;
    idx->buckets = (const apr_uint32_t *)(base + idx->header->buckets_off);
    idx->entries =
        (const prep_index_entry_t *)(base + idx->header->entries_off);
    idx->reps = (const prep_rep_t *)(base + idx->header->reps_off);
    idx->strings = base + idx->header->strings_off;
    *out = idx;
    return APR_SUCCESS;
}

const prep_index_entry_t *prep_index_lookup(const prep_index_t *idx,
                                            const char *path, apr_size_t len)
{
    apr_uint64_t h = path_hash(path, len);
    apr_uint32_t mask = idx->header->nbuckets - 1,
                 slot = (apr_uint32_t)h & mask;
    apr_uint32_t probes;

    for (probes = 0; probes <= mask; probes++, slot = (slot + 1) & mask) {
        apr_uint32_t b = idx->buckets[slot];
        const prep_index_entry_t *e;

        if (!b) {
            return NULL;
        }
        e = &idx->entries[b - 1];
        if (e->hash == h && e->path_len == len &&
            !memcmp(idx->strings + e->path_off, path, len)) {
            return e;
        }
    }
    return NULL;
}

apr_uint32_t prep_index_count(const prep_index_t *idx)
{
    return idx->header->nentries;
}

const char *prep_index_entry_path(const prep_index_t *idx,
                                  const prep_index_entry_t *e)
{
    return idx->strings + e->path_off;
}

const char *prep_index_entry_type(const prep_index_t *idx,
                                  const prep_index_entry_t *e)
{
    return idx->strings + e->type_off;
}

apr_uint32_t prep_index_entry_flags(const prep_index_entry_t *e)
{
    return e->flags;
}

apr_time_t prep_index_entry_mtime(const prep_index_entry_t *e)
{
    return (apr_time_t)e->mtime;
}

const prep_rep_t *prep_index_entry_rep(const prep_index_t *idx,
                                       const prep_index_entry_t *e,
                                       apr_uint32_t banner,
                                       apr_uint32_t encoding)
{
    apr_uint32_t i;

    for (i = 0; i < e->nreps; i++) {
        const prep_rep_t *r = &idx->reps[e->first_rep + i];
        if (r->banner == banner && r->encoding == encoding) {
            return r;
        }
    }
    return NULL;
}

const prep_index_entry_t *prep_index_entry_at(const prep_index_t *idx,
                                              apr_uint32_t i)
{
    return i < idx->header->nentries ? &idx->entries[i] : NULL;
}

apr_uint32_t prep_index_entry_nreps(const prep_index_entry_t *e)
{
    return e->nreps;
}

const prep_rep_t *prep_index_entry_rep_at(const prep_index_t *idx,
                                          const prep_index_entry_t *e,
                                          apr_uint32_t n)
{
    return n < e->nreps ? &idx->reps[e->first_rep + n] : NULL;
}
