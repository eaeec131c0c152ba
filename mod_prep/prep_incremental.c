/* prep_incremental.c — incremental packages.  A package whose top (after
 * PrepStripComponents, or the single top folder the auto strip removes)
 * holds prep-incremental.json carries only the files that changed since a
 * base corte; its manifest names that base and the paths it deletes:
 *
 *     {"base": "20240603T030500Z-0123abcd", "deleted": ["csv/old.csv"]}
 *
 * base is a corte id as the store names them, or the corte's time in
 * ISO 8601 with an offset; "format": 1 may be given, nothing else.  The
 * package is applied over its base into the files of a new, complete corte:
 * every file of the base neither deleted nor carried, with the base's bytes
 * (copied from the base's pack and checked against its ETag), then the
 * files carried.  What follows (the corte time of the merged tree, banner,
 * variants, index, publish) is a full package's.  A base that is not the
 * corte the load measures against is refused as base-mismatch; a manifest
 * that is not exactly this, as incremental. */
#include <string.h>
#include <errno.h>
#include <unistd.h>

#include <apr_hash.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "prep.h"

#define COPY_BLOCK (256 * 1024)

const prep_entry_t *prep_incremental_entry(const prep_unpacked_t *u)
{
    int i;

    for (i = 0; u && i < u->entries->nelts; i++) {
        const prep_entry_t *e = &APR_ARRAY_IDX(u->entries, i, prep_entry_t);

        if (!strcmp(e->path, PREP_INCREMENTAL_FILE)) {
            return e;
        }
    }
    return NULL;
}

/* --- the manifest -------------------------------------------------- */

static apr_status_t refuse(prep_verdict_t *v, apr_pool_t *p, const char *what)
{
    return prep_refuse(v, p, "incremental", "%s: %s", PREP_INCREMENTAL_FILE,
                       what);
}

/* Why `path`, one of "deleted", is not a path under the package rules as a
 * corte's index names its files (relative, '/'-separated, normalized, no
 * control character, no "..", within PrepLimits depth), or NULL. */
static const char *path_fault(const char *path, const prep_limits_t *limits)
{
    const unsigned char *c = (const unsigned char *)path;
    const char *s = path;
    int depth = 0;

    if (!*path) {
        return "is empty";
    }
    for (; *c; c++) {
        if (*c < 0x20 || *c == 0x7F ||
            (c[0] == 0xC2 && c[1] >= 0x80 && c[1] <= 0x9F)) {
            return "has a control character";
        }
        if (*c == '\\') {
            return "has a backslash";
        }
    }
    if (path[0] == '/' || (apr_isalpha(path[0]) && path[1] == ':')) {
        return "is absolute";
    }
    while (*s) {
        apr_size_t n = strcspn(s, "/");

        if (n == 2 && s[0] == '.' && s[1] == '.') {
            return "climbs out with \"..\"";
        }
        if (n == 0 || (n == 1 && s[0] == '.')) {
            return "is not normalized (an empty or \".\" component, or a "
                   "trailing \"/\")";
        }
        if (n > 255) {
            return "has a component longer than 255 bytes";
        }
        depth++;
        s += n;
        if (*s) {
            s++;
            if (!*s) {
                return "is not normalized (an empty or \".\" component, or "
                       "a trailing \"/\")";
            }
        }
    }
    if (limits && depth > limits->depth) {
        return "is deeper than PrepLimits depth";
    }
    return NULL;
}

static apr_status_t parse_base(prep_incremental_t *m, json_t *base,
                               prep_verdict_t *v, apr_pool_t *p)
{
    const char *text, *err;

    if (!json_is_string(base) || !*(text = json_string_value(base))) {
        return refuse(v, p, "\"base\" must be a corte id or a time");
    }
    if (strlen(text) != json_string_length(base)) {
        return refuse(v, p, "\"base\" holds a NUL character");
    }
    m->base = apr_pstrdup(p, text);
    if (prep_corte_id_shaped(text)) {
        return APR_SUCCESS;
    }
    if ((err = prep_parse_iso_time(&m->base_time, text)) != NULL) {
        return refuse(v, p,
                      apr_psprintf(p,
                                   "\"base\" is neither a corte id "
                                   "(YYYYMMDDTHHMMSSZ-xxxxxxxx) nor a time in "
                                   "ISO 8601 with an offset: %s",
                                   err));
    }
    m->base_is_time = 1;
    return APR_SUCCESS;
}

static apr_status_t parse_deleted(prep_incremental_t *m, json_t *deleted,
                                  const prep_limits_t *limits,
                                  prep_verdict_t *v, apr_pool_t *p)
{
    apr_hash_t *seen = apr_hash_make(p);
    size_t i;
    json_t *d;

    if (!json_is_array(deleted)) {
        return refuse(v, p, "\"deleted\" must be an array of paths");
    }
    if (limits && json_array_size(deleted) > limits->files) {
        return refuse(v, p,
                      "\"deleted\" names more paths than PrepLimits "
                      "files");
    }
    m->deleted = apr_array_make(p, (int)json_array_size(deleted) + 1,
                                sizeof(const char *));
    json_array_foreach(deleted, i, d)
    {
        const char *path, *fault;

        if (!json_is_string(d)) {
            return refuse(v, p,
                          apr_psprintf(p,
                                       "\"deleted\"[%d] is not a string (a "
                                       "path)",
                                       (int)i));
        }
        path = json_string_value(d);
        if (strlen(path) != json_string_length(d)) {
            return refuse(
                v, p, apr_psprintf(p, "\"deleted\"[%d] holds a NUL", (int)i));
        }
        if ((fault = path_fault(path, limits)) != NULL) {
            return refuse(v, p,
                          apr_psprintf(p, "the deleted path \"%s\" %s",
                                       prep_name_shown(p, path), fault));
        }
        if (apr_hash_get(seen, path, APR_HASH_KEY_STRING)) {
            return refuse(v, p,
                          apr_psprintf(p, "the path \"%s\" is deleted twice",
                                       prep_name_shown(p, path)));
        }
        path = apr_pstrdup(p, path);
        apr_hash_set(seen, path, APR_HASH_KEY_STRING, path);
        APR_ARRAY_PUSH(m->deleted, const char *) = path;
    }
    return APR_SUCCESS;
}

apr_status_t prep_incremental_parse(prep_incremental_t **out, const char *text,
                                    apr_size_t len, const prep_limits_t *limits,
                                    prep_verdict_t *v, apr_pool_t *p)
{
    prep_incremental_t *m = apr_pcalloc(p, sizeof(*m));
    json_t *root, *value;
    json_error_t err;
    const char *key;
    apr_status_t rv;

    *out = NULL;
    if (len > PREP_INCREMENTAL_MAX) {
        return refuse(v, p,
                      apr_psprintf(p,
                                   "it has %" APR_SIZE_T_FMT
                                   " bytes, more than the limit of %d",
                                   len, PREP_INCREMENTAL_MAX));
    }
    /* jansson refuses invalid UTF-8 (and a NUL byte) by itself */
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        return refuse(v, p,
                      apr_psprintf(p, "not valid JSON (line %d: %s)", err.line,
                                   err.text));
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return refuse(v, p, "it must be a JSON object");
    }
    json_object_foreach(root, key, value)
    {
        if (strcmp(key, "base") && strcmp(key, "deleted") &&
            strcmp(key, "format")) {
            const char *shown = prep_name_shown(p, key);

            json_decref(root); /* key with it */
            return refuse(v, p,
                          apr_psprintf(p,
                                       "unknown key \"%s\" (only \"base\", "
                                       "\"deleted\" and \"format\")",
                                       shown));
        }
    }
    value = json_object_get(root, "format");
    if (value && !(json_is_integer(value) && json_integer_value(value) == 1)) {
        json_decref(root);
        return refuse(v, p, "\"format\" must be 1");
    }
    if (!json_object_get(root, "base") || !json_object_get(root, "deleted")) {
        json_decref(root);
        return refuse(v, p, "it must have \"base\" and \"deleted\"");
    }
    rv = parse_base(m, json_object_get(root, "base"), v, p);
    if (rv == APR_SUCCESS) {
        rv = parse_deleted(m, json_object_get(root, "deleted"), limits, v, p);
    }
    json_decref(root);
    if (rv == APR_SUCCESS) {
        *out = m;
    }
    return rv;
}

apr_status_t prep_incremental_read(prep_incremental_t **out,
                                   const prep_unpacked_t *u, apr_file_t *pack,
                                   const prep_limits_t *limits,
                                   prep_verdict_t *v, apr_pool_t *p)
{
    const prep_entry_t *e = prep_incremental_entry(u);
    apr_os_file_t fd;
    char *text;
    ssize_t got;

    *out = NULL;
    if (!e) {
        return APR_SUCCESS;
    }
    if (e->size > PREP_INCREMENTAL_MAX) {
        return refuse(v, p,
                      apr_psprintf(p,
                                   "it has %" APR_INT64_T_FMT
                                   " bytes, more than the limit of %d",
                                   (apr_int64_t)e->size, PREP_INCREMENTAL_MAX));
    }
    apr_file_flush(pack);
    apr_os_file_get(&fd, pack);
    text = apr_palloc(p, (apr_size_t)e->size + 1);
    got = pread(fd, text, (size_t)e->size, (off_t)e->offset);
    if (got != (ssize_t)e->size) {
        return prep_refuse(v, p, "io", "cannot read %s back from the pack",
                           PREP_INCREMENTAL_FILE);
    }
    return prep_incremental_parse(out, text, (apr_size_t)e->size, limits, v, p);
}

int prep_incremental_names(const prep_incremental_t *m,
                           const prep_corte_t *corte)
{
    if (!m || !corte) {
        return 0;
    }
    return m->base_is_time ? corte->time == m->base_time
                           : !strcmp(corte->id, m->base);
}

apr_status_t prep_incremental_base_check(const prep_incremental_t *m,
                                         const prep_corte_t *base,
                                         const char *what,
                                         const prep_zone_t *zone,
                                         prep_verdict_t *v, apr_pool_t *p)
{
    if (!base) {
        return prep_refuse(v, p, "base-mismatch",
                           "the incremental package is over corte %s, but "
                           "the feed has no corte to apply it to",
                           m->base);
    }
    if (prep_incremental_names(m, base)) {
        return APR_SUCCESS;
    }
    return prep_refuse(v, p, "base-mismatch",
                       "the incremental package is over corte %s, not over "
                       "%s %s (%s); send a full package, or one over %s",
                       m->base, what, base->id,
                       prep_time_iso(p, base->time, zone), base->id);
}

prep_corte_t *prep_incremental_find_base(const prep_incremental_t *m,
                                         const char *store, apr_pool_t *p)
{
    apr_array_header_t *cortes = prep_store_cortes(store, p);
    int i;

    for (i = cortes->nelts - 1; i >= 0; i--) {
        prep_corte_t *c = APR_ARRAY_IDX(cortes, i, prep_corte_t *);

        if (prep_incremental_names(m, c)) {
            return c;
        }
    }
    return NULL;
}

/* --- the merge ----------------------------------------------------- */

typedef struct merge {
    const prep_incremental_t *m;
    const char *base_id;
    const prep_limits_t *limits;
    prep_verdict_t *v;
    apr_pool_t *p;
    prep_unpacked_t *out;
    apr_hash_t *files; /* path → "" of every file of the new corte */
    apr_hash_t *dirs;  /* path → "" of every directory listed in out */
    apr_file_t *pack;
    apr_off_t end; /* where the next bytes go in the pack */
    unsigned char *block;
    EVP_MD_CTX *sha;
} merge_t;

static void add_dir(merge_t *g, const char *dir)
{
    if (!apr_hash_get(g->dirs, dir, APR_HASH_KEY_STRING)) {
        apr_hash_set(g->dirs, dir, APR_HASH_KEY_STRING, "");
        APR_ARRAY_PUSH(g->out->dirs, const char *) = dir;
    }
}

/* An entry of the new corte, the PrepLimits of a whole corte checked. */
static apr_status_t add_entry(merge_t *g, const prep_entry_t *e)
{
    const prep_limits_t *l = g->limits;
    prep_unpacked_t *r = g->out;

    if ((apr_uint64_t)r->entries->nelts >= l->files) {
        return prep_refuse(g->v, g->p, "limit-files",
                           "merged with its base corte %s, the corte would "
                           "hold more than %" APR_UINT64_T_FMT " files",
                           g->base_id, l->files);
    }
    if ((apr_uint64_t)e->size > l->file) {
        return prep_refuse(g->v, g->p, "limit-file",
                           "the file \"%s\" of the base corte %s has more than "
                           "the limit of %" APR_UINT64_T_FMT " bytes",
                           prep_name_shown(g->p, e->path), g->base_id, l->file);
    }
    if (r->bytes + (apr_uint64_t)e->size > l->bytes) {
        return prep_refuse(g->v, g->p, "limit-bytes",
                           "merged with its base corte %s, the corte would "
                           "pass its limit of %" APR_UINT64_T_FMT
                           " uncompressed bytes",
                           g->base_id, l->bytes);
    }
    if (path_fault(e->path, l)) {
        return prep_refuse(g->v, g->p, "depth",
                           "the file \"%s\" of the base corte %s is deeper "
                           "than the limit of %d",
                           prep_name_shown(g->p, e->path), g->base_id,
                           l->depth);
    }
    r->bytes += (apr_uint64_t)e->size;
    *(prep_entry_t *)apr_array_push(r->entries) = *e;
    apr_hash_set(g->files, e->path, APR_HASH_KEY_STRING, "");
    return APR_SUCCESS;
}

/* The bytes of `rep` in the base's pack appended to the new pack, hashed:
 * they must be the bytes the base published (its ETag). */
static apr_status_t copy_base_bytes(merge_t *g, apr_os_file_t base_fd,
                                    const char *path, const prep_rep_t *rep,
                                    prep_entry_t *e)
{
    apr_os_file_t fd;
    apr_uint64_t done = 0;
    char etag[48];

    apr_os_file_get(&fd, g->pack);
    EVP_DigestInit_ex(g->sha, EVP_sha256(), NULL);
    while (done < rep->length) {
        size_t n = rep->length - done < COPY_BLOCK
                       ? (size_t)(rep->length - done)
                       : COPY_BLOCK;
        ssize_t got = pread(base_fd, g->block, n, (off_t)(rep->offset + done));

        if (got != (ssize_t)n) {
            return prep_refuse(g->v, g->p, "io",
                               "cannot read \"%s\" from the base corte %s",
                               prep_name_shown(g->p, path), g->base_id);
        }
        if (pwrite(fd, g->block, n, (off_t)(g->end + (apr_off_t)done)) !=
            (ssize_t)n) {
            apr_status_t rv = errno ? APR_FROM_OS_ERROR(errno) : APR_ENOSPC;

            return prep_refuse(g->v, g->p, "io",
                               "writing \"%s\" of the base corte to the pack "
                               "failed: %pm",
                               prep_name_shown(g->p, path), &rv);
        }
        EVP_DigestUpdate(g->sha, g->block, n);
        done += n;
    }
    EVP_DigestFinal_ex(g->sha, e->sha256, NULL);
    prep_etag_from_sha256(etag, e->sha256);
    if (strcmp(etag, rep->etag)) {
        return prep_refuse(g->v, g->p, "io",
                           "the file \"%s\" of the base corte %s is not the "
                           "one it published (its bytes differ from its "
                           "ETag): the base is damaged",
                           prep_name_shown(g->p, path), g->base_id);
    }
    e->offset = g->end;
    e->size = (apr_off_t)rep->length;
    g->end += (apr_off_t)rep->length;
    g->out->pack_size += (apr_off_t)rep->length;
    return APR_SUCCESS;
}

/* Every file of the base that is neither deleted nor carried, with its
 * bytes and Last-Modified; every deletion must name one of them. */
static apr_status_t keep_base(merge_t *g, const prep_unpacked_t *u,
                              const char *base_dir, apr_uint64_t *kept)
{
    apr_hash_t *deleted = apr_hash_make(g->p), *carried = apr_hash_make(g->p);
    apr_pool_t *scratch;
    prep_index_t *idx;
    apr_file_t *bp;
    apr_os_file_t base_fd;
    apr_uint32_t i, n;
    apr_status_t rv = APR_SUCCESS;
    int j;

    for (j = 0; j < g->m->deleted->nelts; j++) {
        const char *d = APR_ARRAY_IDX(g->m->deleted, j, const char *);

        apr_hash_set(deleted, d, APR_HASH_KEY_STRING, "");
    }
    for (j = 0; j < u->entries->nelts; j++) {
        const char *path = APR_ARRAY_IDX(u->entries, j, prep_entry_t).path;

        if (apr_hash_get(deleted, path, APR_HASH_KEY_STRING)) {
            return prep_refuse(g->v, g->p, "incremental",
                               "the package carries \"%s\" and its %s "
                               "deletes it",
                               prep_name_shown(g->p, path),
                               PREP_INCREMENTAL_FILE);
        }
        apr_hash_set(carried, path, APR_HASH_KEY_STRING, "");
    }
    apr_pool_create(&scratch, g->p);
    if ((rv = prep_index_open(
             &idx, apr_pstrcat(scratch, base_dir, "/" PREP_INDEX_FILE, NULL),
             scratch)) != APR_SUCCESS ||
        (rv = apr_file_open(
             &bp, apr_pstrcat(scratch, base_dir, "/" PREP_PACK_FILE, NULL),
             APR_FOPEN_READ | APR_FOPEN_BINARY, 0, scratch)) != APR_SUCCESS) {
        apr_pool_destroy(scratch);
        return prep_refuse(g->v, g->p, "io",
                           "cannot read the base corte %s (%s): %pm",
                           g->base_id, base_dir, &rv);
    }
    apr_os_file_get(&base_fd, bp);
    n = prep_index_count(idx);
    for (i = 0; i < n && rv == APR_SUCCESS; i++) {
        const prep_index_entry_t *ie = prep_index_entry_at(idx, i);
        const prep_rep_t *rep;
        prep_entry_t e;

        if (!ie || (prep_index_entry_flags(ie) & PREP_F_DIR) ||
            !(rep = prep_index_entry_rep(idx, ie, 0, PREP_ENC_IDENTITY))) {
            continue; /* a directory's redirect, made again by the index */
        }
        memset(&e, 0, sizeof(e));
        e.path = apr_pstrdup(g->p, prep_index_entry_path(idx, ie));
        if (apr_hash_get(deleted, e.path, APR_HASH_KEY_STRING)) {
            apr_hash_set(deleted, e.path, APR_HASH_KEY_STRING, NULL);
            continue;
        }
        if (apr_hash_get(carried, e.path, APR_HASH_KEY_STRING)) {
            continue;
        }
        e.mtime = prep_index_entry_mtime(ie);
        if ((rv = copy_base_bytes(g, base_fd, e.path, rep, &e)) ==
            APR_SUCCESS) {
            rv = add_entry(g, &e);
            (*kept)++;
        }
    }
    apr_pool_destroy(scratch);
    if (rv == APR_SUCCESS && apr_hash_count(deleted) > 0) {
        for (j = 0; j < g->m->deleted->nelts; j++) {
            const char *d = APR_ARRAY_IDX(g->m->deleted, j, const char *);

            if (apr_hash_get(deleted, d, APR_HASH_KEY_STRING)) {
                return prep_refuse(g->v, g->p, "incremental",
                                   "%s deletes \"%s\", which the base corte "
                                   "%s does not hold",
                                   PREP_INCREMENTAL_FILE,
                                   prep_name_shown(g->p, d), g->base_id);
            }
        }
    }
    return rv;
}

/* Every directory of the new corte (the package's own, and those on the
 * way to each file), and no path both a file and a directory. */
static apr_status_t list_dirs(merge_t *g, const prep_unpacked_t *u)
{
    int i;

    for (i = 0; i < u->dirs->nelts; i++) {
        const char *dir = APR_ARRAY_IDX(u->dirs, i, const char *);

        if (apr_hash_get(g->files, dir, APR_HASH_KEY_STRING)) {
            return prep_refuse(g->v, g->p, "incremental",
                               "the package makes \"%s\" a directory, a file "
                               "of the base corte %s",
                               prep_name_shown(g->p, dir), g->base_id);
        }
        add_dir(g, dir);
    }
    for (i = 0; i < g->out->entries->nelts; i++) {
        const char *path = APR_ARRAY_IDX(g->out->entries, i, prep_entry_t).path;
        const char *slash;

        for (slash = strchr(path, '/'); slash; slash = strchr(slash + 1, '/')) {
            char *dir = apr_pstrmemdup(g->p, path, (apr_size_t)(slash - path));

            if (apr_hash_get(g->files, dir, APR_HASH_KEY_STRING)) {
                return prep_refuse(g->v, g->p, "incremental",
                                   "merged with its base corte %s, \"%s\" "
                                   "would be both a file and a directory",
                                   g->base_id, prep_name_shown(g->p, dir));
            }
            add_dir(g, dir);
        }
    }
    return APR_SUCCESS;
}

apr_status_t
prep_incremental_merge(prep_unpacked_t **out, prep_incremental_count_t *count,
                       const prep_unpacked_t *u, const prep_incremental_t *m,
                       const char *base_id, const char *base_dir,
                       apr_file_t *pack, const prep_limits_t *limits,
                       prep_verdict_t *v, apr_pool_t *p)
{
    merge_t g = {.m = m,
                 .base_id = base_id,
                 .limits = limits,
                 .v = v,
                 .p = p,
                 .pack = pack,
                 .files = apr_hash_make(p),
                 .dirs = apr_hash_make(p),
                 .out = apr_pcalloc(p, sizeof(*g.out))};
    apr_status_t rv;
    int i;

    memset(count, 0, sizeof(*count));
    *g.out = *u;
    g.out->entries =
        apr_array_make(p, u->entries->nelts + 64, sizeof(prep_entry_t));
    g.out->dirs = apr_array_make(p, u->dirs->nelts + 16, sizeof(const char *));
    g.out->bytes = 0;
    if ((rv = apr_file_flush(pack)) != APR_SUCCESS ||
        (rv = apr_file_seek(pack, APR_END, &g.end)) != APR_SUCCESS) {
        return prep_refuse(v, p, "io", "the pack cannot be written: %pm", &rv);
    }
    /* the files carried, in archive order; the manifest is none of them */
    for (i = 0; i < u->entries->nelts; i++) {
        const prep_entry_t *e = &APR_ARRAY_IDX(u->entries, i, prep_entry_t);

        if (strcmp(e->path, PREP_INCREMENTAL_FILE)) {
            if ((rv = add_entry(&g, e)) != APR_SUCCESS) {
                return rv;
            }
            count->carried++;
        }
    }
    g.block = apr_palloc(p, COPY_BLOCK);
    if (!(g.sha = EVP_MD_CTX_new())) {
        return prep_refuse(v, p, "io", "out of memory");
    }
    rv = keep_base(&g, u, base_dir, &count->kept);
    EVP_MD_CTX_free(g.sha);
    if (rv == APR_SUCCESS) {
        rv = list_dirs(&g, u);
    }
    if (rv == APR_SUCCESS && g.out->entries->nelts == 0) {
        rv = prep_refuse(v, p, "empty",
                         "merged with its base corte %s, the corte would hold "
                         "no files",
                         base_id);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    count->deleted = (apr_uint64_t)m->deleted->nelts;
    *out = g.out;
    return APR_SUCCESS;
}

/* --- a load's incremental step ------------------------------------- */

apr_status_t
prep_incremental_apply(prep_incremental_load_t *inc, prep_unpacked_t **u,
                       const prep_feed_t *feed, const prep_corte_t *against,
                       const char *against_what, int republish,
                       apr_file_t *pack, prep_verdict_t *v, apr_pool_t *p)
{
    const prep_corte_t *base = against;
    prep_unpacked_t *merged;

    memset(inc, 0, sizeof(*inc));
    if (prep_incremental_read(&inc->manifest, *u, pack, &feed->limits, v, p) !=
        APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (!inc->manifest) {
        return APR_SUCCESS; /* a full package */
    }
    /* A republish gives again the corte its package gave: over the same
     * base, which must still be retained. */
    if (republish) {
        base = prep_incremental_find_base(inc->manifest, feed->store, p);
        against_what = "the cortes retained";
        if (!base) {
            return prep_refuse(v, p, "base-mismatch",
                               "the incremental package is over corte %s, "
                               "which is no longer among the cortes retained",
                               inc->manifest->base);
        }
    } else if (prep_incremental_base_check(inc->manifest, base, against_what,
                                           &feed->zone, v, p) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    inc->base = base;
    if (prep_incremental_merge(&merged, &inc->count, *u, inc->manifest,
                               base->id,
                               prep_store_corte_dir(p, feed->store, base->id),
                               pack, &feed->limits, v, p) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    *u = merged;
    return APR_SUCCESS;
}
