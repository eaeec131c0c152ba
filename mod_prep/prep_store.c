/* prep_store.c — cortes on disk, after mod_md's store: a corte is built in
 * staging/, then moved whole into cortes/ and made current by replacing one
 * small file, each step atomic, so a crash at any point leaves either the
 * old corte or the new one served, never a mix.  Every file the store
 * writes whole (corte.json, index.prep, current, state.json) goes through
 * one write-then-rename, prep_store_write_atomic.  Also the corte record
 * (made from its package; the one JSON mapping of a corte, for corte.json,
 * the history and the status; what its load measured, as text for the log),
 * and the feed's recent history and refusals (state.json). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h> /* renameat2 */
#include <sys/file.h>
#include <sys/statvfs.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_lib.h>
#include <apr_portable.h>
#include <apr_strings.h>
#include <jansson.h>

#include "prep.h"

#define STATE_FILE     "state.json"
#define STATE_KEEP     20
#define STATE_REJECTED "rejected"
#define STATE_HISTORY  "history"

char *prep_corte_id(apr_pool_t *p, apr_time_t time, const char *sha256_hex)
{
    apr_time_exp_t tm;

    apr_time_exp_gmt(&tm, time);
    return apr_psprintf(p, "%04d%02d%02dT%02d%02d%02dZ-%.8s", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                        tm.tm_sec, sha256_hex);
}

int prep_corte_id_shaped(const char *w)
{
    static const char shape[] = "99999999T999999Z-xxxxxxxx";
    size_t i;

    if (strlen(w) != sizeof(shape) - 1) {
        return 0;
    }
    for (i = 0; shape[i]; i++) {
        int fits;

        if (shape[i] == '9') {
            fits = apr_isdigit(w[i]);
        } else if (shape[i] == 'x') {
            fits = apr_isxdigit(w[i]);
        } else {
            fits = w[i] == shape[i];
        }
        if (!fits) {
            return 0;
        }
    }
    return 1;
}

void prep_corte_of_package(prep_corte_t *c, const prep_unpacked_t *u,
                           apr_time_t time, const char *package, apr_pool_t *p)
{
    c->sha256 = prep_hex(p, u->package_sha256, 32);
    c->id = prep_corte_id(p, time, c->sha256);
    c->time = time;
    c->package = package;
    c->bytes = u->bytes;
}

char *prep_store_corte_dir(apr_pool_t *p, const char *store, const char *id)
{
    return apr_pstrcat(p, store, "/cortes/", id, NULL);
}

char *prep_store_staging_dir(apr_pool_t *p, const char *store, const char *id)
{
    return apr_pstrcat(p, store, "/staging/", id, NULL);
}

apr_status_t prep_store_prepare(const char *store, apr_pool_t *p)
{
    static const apr_fileperms_t perms = APR_FPROT_OS_DEFAULT;
    apr_status_t rv = apr_dir_make_recursive(
        apr_pstrcat(p, store, "/cortes", NULL), perms, p);

    if (rv == APR_SUCCESS) {
        rv = apr_dir_make_recursive(apr_pstrcat(p, store, "/staging", NULL),
                                    perms, p);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_dir_make_recursive(
            apr_pstrcat(p, store, "/" PREP_PROCESSED_DIR, NULL), perms, p);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_dir_make_recursive(
            apr_pstrcat(p, store, "/" PREP_REJECTED_DIR, NULL), perms, p);
    }
    return rv;
}

/* Removes a file or a whole directory tree. */
static apr_status_t remove_tree(const char *path, apr_pool_t *p)
{
    apr_finfo_t fi;
    apr_dir_t *dir;
    apr_pool_t *sub;
    apr_status_t rv;

    if ((rv = apr_stat(&fi, path, APR_FINFO_TYPE | APR_FINFO_LINK, p)) !=
        APR_SUCCESS) {
        return APR_STATUS_IS_ENOENT(rv) ? APR_SUCCESS : rv;
    }
    if (fi.filetype != APR_DIR) {
        return apr_file_remove(path, p);
    }
    apr_pool_create(&sub, p);
    if ((rv = apr_dir_open(&dir, path, sub)) == APR_SUCCESS) {
        while (apr_dir_read(&fi, APR_FINFO_NAME, dir) == APR_SUCCESS) {
            if (strcmp(fi.name, ".") && strcmp(fi.name, "..")) {
                remove_tree(apr_pstrcat(sub, path, "/", fi.name, NULL), sub);
            }
        }
        apr_dir_close(dir);
        rv = apr_dir_remove(path, sub);
    }
    apr_pool_destroy(sub);
    return rv;
}

/* The names in a directory, without "." and "..", sorted. */
static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static apr_array_header_t *list_dir(const char *path, apr_pool_t *p)
{
    apr_array_header_t *names = apr_array_make(p, 16, sizeof(char *));
    apr_dir_t *dir;
    apr_finfo_t fi;

    if (apr_dir_open(&dir, path, p) == APR_SUCCESS) {
        while (apr_dir_read(&fi, APR_FINFO_NAME, dir) == APR_SUCCESS) {
            if (strcmp(fi.name, ".") && strcmp(fi.name, "..")) {
                APR_ARRAY_PUSH(names, char *) = apr_pstrdup(p, fi.name);
            }
        }
        apr_dir_close(dir);
    }
    qsort(names->elts, (size_t)names->nelts, sizeof(char *), name_cmp);
    return names;
}

apr_status_t prep_store_clean_staging(const char *store, apr_pool_t *p)
{
    const char *staging = apr_pstrcat(p, store, "/staging", NULL);
    apr_array_header_t *names = list_dir(staging, p);
    apr_status_t rv = APR_SUCCESS;
    int i;

    for (i = 0; i < names->nelts; i++) {
        apr_status_t r = remove_tree(
            apr_pstrcat(p, staging, "/", APR_ARRAY_IDX(names, i, char *), NULL),
            p);
        if (r != APR_SUCCESS) {
            rv = r;
        }
    }
    return rv;
}

apr_status_t prep_store_sync(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    apr_status_t rv = APR_SUCCESS;

    if (fd < 0) {
        return errno;
    }
    if (fsync(fd) != 0) {
        rv = errno;
    }
    close(fd);
    return rv;
}

apr_status_t prep_store_write_atomic(const char *path, const void *data,
                                     apr_size_t len, apr_pool_t *p)
{
    const char *tmp = apr_pstrcat(p, path, ".tmp", NULL);
    apr_file_t *fp;
    apr_status_t rv, closed;

    if ((rv = apr_file_open(&fp, tmp,
                            APR_FOPEN_WRITE | APR_FOPEN_CREATE |
                                APR_FOPEN_TRUNCATE | APR_FOPEN_BINARY,
                            APR_FPROT_UREAD | APR_FPROT_UWRITE |
                                APR_FPROT_GREAD | APR_FPROT_WREAD,
                            p)) != APR_SUCCESS) {
        return rv;
    }
    rv = apr_file_write_full(fp, data, len, NULL);
    if (rv == APR_SUCCESS) {
        rv = apr_file_sync(fp);
    }
    closed = apr_file_close(fp);
    if (rv == APR_SUCCESS) {
        rv = closed;
    }
    if (rv == APR_SUCCESS) {
        rv = apr_file_rename(tmp, path, p);
    }
    if (rv != APR_SUCCESS) {
        apr_file_remove(tmp, p); /* best effort: the error is rv's */
    }
    return rv;
}

static apr_status_t write_json(const char *path, json_t *doc, apr_pool_t *p)
{
    char *text = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    apr_status_t rv;

    if (!text) {
        return APR_ENOMEM;
    }
    rv = prep_store_write_atomic(path, text, strlen(text), p);
    free(text);
    return rv;
}

apr_status_t prep_store_lock(const char *store, apr_pool_t *p)
{
    apr_file_t *fp;
    apr_os_file_t fd;
    apr_status_t rv;

    rv = apr_file_open(&fp, apr_pstrcat(p, store, "/loader.lock", NULL),
                       APR_FOPEN_WRITE | APR_FOPEN_CREATE | APR_FOPEN_BINARY,
                       APR_FPROT_OS_DEFAULT, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    apr_os_file_get(&fd, fp);
    /* the lock goes with the descriptor, closed when p is cleared */
    return flock(fd, LOCK_EX | LOCK_NB) == 0 ? APR_SUCCESS : APR_EAGAIN;
}

const char *const prep_phase_names[PREP_PHASES] = {
    "verify", "unpack", "check", "banner", "compress", "index", "publish"};

/* ------------------------------------------------------------------ */
/* The corte record */

static json_t *time_json(apr_time_t t, const prep_zone_t *shown_in,
                         apr_pool_t *p)
{
    if (!shown_in) {
        return json_integer((json_int_t)t);
    }
    return t ? json_string(prep_time_iso(p, t, shown_in)) : json_null();
}

static json_t *count_json(apr_uint64_t n)
{
    return json_integer((json_int_t)n);
}

/* "phases": {"verify": ms, ...} and "variants": {"made": n, "reused": n,
 * "threads": n}, what the load measured. */
static void load_details_to_json(json_t *o, const prep_corte_t *c)
{
    json_t *phases = json_object(), *variants = json_object();
    int i;

    for (i = 0; i < PREP_PHASES; i++) {
        json_object_set_new(phases, prep_phase_names[i],
                            count_json(c->phases_ms[i]));
    }
    json_object_set_new(o, PREP_CORTE_KEY_PHASES, phases);
    json_object_set_new(variants, PREP_CORTE_KEY_MADE,
                        count_json(c->variants_made));
    json_object_set_new(variants, PREP_CORTE_KEY_REUSED,
                        count_json(c->variants_reused));
    json_object_set_new(variants, PREP_CORTE_KEY_THREADS,
                        count_json(c->compress_threads));
    json_object_set_new(variants, PREP_CORTE_KEY_PENDING,
                        count_json(c->variants_pending));
    json_object_set_new(o, PREP_CORTE_KEY_VARIANTS, variants);
}

/* "drill": true and "closed": true, each only when its bit is set: a corte
 * record without them is one whose banner says nothing but its time, as
 * every record written before them. */
static void banner_state_to_json(json_t *o, unsigned state)
{
    if (state & PREP_BANNER_STATE_DRILL) {
        json_object_set_new(o, PREP_CORTE_KEY_DRILL, json_true());
    }
    if (state & PREP_BANNER_STATE_CLOSED) {
        json_object_set_new(o, PREP_CORTE_KEY_CLOSED, json_true());
    }
}

json_t *prep_corte_to_json(const prep_corte_t *c, const prep_zone_t *shown_in,
                           apr_pool_t *p)
{
    json_t *o = json_object();

    json_object_set_new(o, PREP_CORTE_KEY_ID, json_string(c->id));
    json_object_set_new(o, PREP_CORTE_KEY_TIME,
                        time_json(c->time, shown_in, p));
    json_object_set_new(o, PREP_CORTE_KEY_LABEL, json_string(c->label));
    json_object_set_new(o, PREP_CORTE_KEY_PACKAGE, json_string(c->package));
    json_object_set_new(o, PREP_CORTE_KEY_SHA256, json_string(c->sha256));
    json_object_set_new(o, PREP_CORTE_KEY_FILES, count_json(c->files));
    json_object_set_new(o, PREP_CORTE_KEY_BYTES, count_json(c->bytes));
    json_object_set_new(o, PREP_CORTE_KEY_LOADED_AT,
                        time_json(c->loaded_at, shown_in, p));
    json_object_set_new(o, PREP_CORTE_KEY_LOAD_MS, count_json(c->load_ms));
    if (c->has_phases) {
        load_details_to_json(o, c);
        json_object_set_new(o, PREP_CORTE_KEY_COMPLETE_AT,
                            c->complete_at
                                ? time_json(c->complete_at, shown_in, p)
                                : json_null());
    }
    banner_state_to_json(o, c->banner_state);
    return o;
}

const char *prep_corte_load_text(const prep_corte_t *c, apr_pool_t *p)
{
    const char *text = "";
    int i;

    for (i = 0; i < PREP_PHASES; i++) {
        text = apr_psprintf(p, "%s%s%s %" APR_UINT64_T_FMT, text, i ? ", " : "",
                            prep_phase_names[i], c->phases_ms[i]);
    }
    return apr_psprintf(p,
                        "%s; variants %" APR_UINT64_T_FMT
                        " made, %" APR_UINT64_T_FMT " reused",
                        text, c->variants_made, c->variants_reused);
}

static const char *str_of(const json_t *o, const char *key, apr_pool_t *p)
{
    const char *s = json_string_value(json_object_get(o, key));

    return apr_pstrdup(p, s ? s : "");
}

static json_int_t int_of(const json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

/* A time of the record: microseconds since the epoch.  The history of
 * stores written before 0.1.0's one record held epoch seconds; a value under
 * PREP_CORTE_SECONDS_BELOW (year 5138 in seconds, 1970-01-02 in
 * microseconds) is one of those and is read as seconds. */
#define PREP_CORTE_SECONDS_BELOW APR_INT64_C(100000000000)

static apr_time_t time_of(const json_t *o, const char *key)
{
    json_int_t t = int_of(o, key);

    return t > 0 && t < PREP_CORTE_SECONDS_BELOW ? apr_time_from_sec(t)
                                                 : (apr_time_t)t;
}

static void load_details_from_json(prep_corte_t *c, const json_t *o)
{
    const json_t *phases = json_object_get(o, PREP_CORTE_KEY_PHASES);
    const json_t *variants = json_object_get(o, PREP_CORTE_KEY_VARIANTS);
    int i;

    c->variants_made = (apr_uint64_t)int_of(variants, PREP_CORTE_KEY_MADE);
    c->variants_reused = (apr_uint64_t)int_of(variants, PREP_CORTE_KEY_REUSED);
    c->compress_threads =
        (apr_uint32_t)int_of(variants, PREP_CORTE_KEY_THREADS);
    c->variants_pending =
        (apr_uint64_t)int_of(variants, PREP_CORTE_KEY_PENDING);
    if (!json_is_object(phases)) {
        return;
    }
    c->has_phases = 1;
    for (i = 0; i < PREP_PHASES; i++) {
        c->phases_ms[i] = (apr_uint64_t)int_of(phases, prep_phase_names[i]);
    }
}

static unsigned banner_state_of(const json_t *o)
{
    return (json_is_true(json_object_get(o, PREP_CORTE_KEY_DRILL))
                ? PREP_BANNER_STATE_DRILL
                : 0u) |
           (json_is_true(json_object_get(o, PREP_CORTE_KEY_CLOSED))
                ? PREP_BANNER_STATE_CLOSED
                : 0u);
}

apr_status_t prep_corte_from_json(prep_corte_t **out, const json_t *o,
                                  apr_pool_t *p)
{
    prep_corte_t *c;

    if (!json_is_object(o) ||
        !json_is_string(json_object_get(o, PREP_CORTE_KEY_ID))) {
        return APR_EINVAL;
    }
    c = apr_pcalloc(p, sizeof(*c));
    c->id = str_of(o, PREP_CORTE_KEY_ID, p);
    c->time = time_of(o, PREP_CORTE_KEY_TIME);
    c->label = str_of(o, PREP_CORTE_KEY_LABEL, p);
    c->package = str_of(o, PREP_CORTE_KEY_PACKAGE, p);
    c->sha256 = str_of(o, PREP_CORTE_KEY_SHA256, p);
    c->files = (apr_uint64_t)int_of(o, PREP_CORTE_KEY_FILES);
    c->bytes = (apr_uint64_t)int_of(o, PREP_CORTE_KEY_BYTES);
    c->loaded_at = time_of(o, PREP_CORTE_KEY_LOADED_AT);
    c->load_ms = (apr_uint64_t)int_of(o, PREP_CORTE_KEY_LOAD_MS);
    load_details_from_json(c, o);
    /* a record from before deferred variants: complete when loaded */
    c->complete_at = json_object_get(o, PREP_CORTE_KEY_COMPLETE_AT)
                         ? time_of(o, PREP_CORTE_KEY_COMPLETE_AT)
                         : c->loaded_at;
    c->banner_state = banner_state_of(o);
    *out = c;
    return APR_SUCCESS;
}

apr_status_t prep_store_write_corte(const char *dir, const prep_corte_t *c,
                                    apr_pool_t *p)
{
    json_t *doc = prep_corte_to_json(c, NULL, p);
    apr_status_t rv;

    rv = write_json(apr_pstrcat(p, dir, "/" PREP_CORTE_FILE, NULL), doc, p);
    json_decref(doc);
    return rv;
}

apr_status_t prep_store_read_corte(prep_corte_t **out, const char *dir,
                                   apr_pool_t *p)
{
    json_t *doc =
        json_load_file(apr_pstrcat(p, dir, "/" PREP_CORTE_FILE, NULL), 0, NULL);
    apr_status_t rv = prep_corte_from_json(out, doc, p);

    json_decref(doc);
    return rv == APR_SUCCESS ? APR_SUCCESS : APR_EGENERAL;
}

/* Replaces STORE/current with `id`, then syncs the store's directory so
 * that the rename survives a crash: the one writer of current, for a load's
 * promotion and for the operator's rollback, pin and unpin. */
static apr_status_t write_current(const char *store, const char *id,
                                  apr_pool_t *p)
{
    apr_status_t rv = prep_store_write_atomic(
        apr_pstrcat(p, store, "/" PREP_CURRENT_FILE, NULL),
        apr_pstrcat(p, id, "\n", NULL), strlen(id) + 1, p);

    if (rv == APR_SUCCESS) {
        rv = prep_store_sync(store);
    }
    return rv;
}

/* fsyncs staging/<id> and renames it to cortes/<id>; then, when
 * make_current, replaces current with its id. */
/* Puts staged, a synced directory, at final in one step: a corte of that
 * id already there (left by an interrupted load, or being rebuilt: healed,
 * a new banner) is exchanged with it (renameat2 RENAME_EXCHANGE), so that
 * the name never points at nothing, not even for a moment: a child that
 * attaches the corte then opens the old one or the new one, never none.
 * The old one ends in staging/old-<id>, emptied at the next load.  A file
 * system without the exchange gets the two renames. */
static apr_status_t move_into_place(const char *store, const char *id,
                                    const char *staged, const char *final,
                                    apr_pool_t *p)
{
    const char *old =
        prep_store_staging_dir(p, store, apr_psprintf(p, "old-%s", id));
    apr_finfo_t fi;
    apr_status_t rv;

    if (apr_stat(&fi, final, APR_FINFO_TYPE | APR_FINFO_LINK, p) !=
        APR_SUCCESS) {
        return apr_file_rename(staged, final, p);
    }
    remove_tree(old, p); /* one an earlier rebuild left */
    if (renameat2(AT_FDCWD, staged, AT_FDCWD, final, RENAME_EXCHANGE) == 0) {
        return apr_file_rename(staged, old, p);
    }
    if (errno != EINVAL && errno != ENOSYS) {
        return errno;
    }
    if ((rv = apr_file_rename(final, old, p)) != APR_SUCCESS) {
        return rv;
    }
    return apr_file_rename(staged, final, p);
}

static apr_status_t promote(const char *store, const char *id, int make_current,
                            apr_pool_t *p)
{
    const char *staged = prep_store_staging_dir(p, store, id);
    const char *final = prep_store_corte_dir(p, store, id);
    apr_array_header_t *names = list_dir(staged, p);
    apr_status_t rv;
    int i;

    /* the bytes are on disk before any name points at them */
    for (i = 0; i < names->nelts; i++) {
        if ((rv = prep_store_sync(apr_pstrcat(
                 p, staged, "/", APR_ARRAY_IDX(names, i, char *), NULL))) !=
            APR_SUCCESS) {
            return rv;
        }
    }
    if ((rv = prep_store_sync(staged)) != APR_SUCCESS ||
        (rv = move_into_place(store, id, staged, final, p)) != APR_SUCCESS ||
        (rv = prep_store_sync(apr_pstrcat(p, store, "/cortes", NULL))) !=
            APR_SUCCESS ||
        !make_current) {
        return rv;
    }
    return write_current(store, id, p);
}

apr_status_t prep_store_promote(const char *store, const char *id,
                                apr_pool_t *p)
{
    return promote(store, id, 1, p);
}

apr_status_t prep_store_current(const char **id, const char *store,
                                apr_pool_t *p)
{
    apr_file_t *fp;
    apr_finfo_t fi;
    char buf[128];
    apr_size_t len = sizeof(buf) - 1;
    char *s, *e;

    *id = NULL;
    if (apr_file_open(&fp, apr_pstrcat(p, store, "/" PREP_CURRENT_FILE, NULL),
                      APR_FOPEN_READ, 0, p) != APR_SUCCESS) {
        return APR_ENOENT;
    }
    apr_file_read(fp, buf, &len);
    apr_file_close(fp);
    buf[len] = '\0';
    for (s = buf; apr_isspace(*s); s++) {
    }
    for (e = s + strlen(s); e > s && apr_isspace(e[-1]); e--) {
    }
    *e = '\0';
    if (!*s || strchr(s, '/') || !strcmp(s, "..") ||
        apr_stat(&fi,
                 apr_pstrcat(p, prep_store_corte_dir(p, store, s),
                             "/" PREP_INDEX_FILE, NULL),
                 APR_FINFO_TYPE, p) != APR_SUCCESS) {
        return APR_ENOENT;
    }
    *id = apr_pstrdup(p, s);
    return APR_SUCCESS;
}

int prep_store_corte_usable(prep_corte_t **out, const char *store,
                            const char *id, apr_pool_t *p)
{
    const char *dir = prep_store_corte_dir(p, store, id);
    prep_corte_t *c;
    prep_index_t *idx;
    apr_pool_t *scratch;
    int ok;

    if (prep_store_read_corte(&c, dir, p) != APR_SUCCESS || strcmp(c->id, id)) {
        return 0;
    }
    apr_pool_create(&scratch, p);
    ok = prep_index_open(&idx,
                         apr_pstrcat(scratch, dir, "/" PREP_INDEX_FILE, NULL),
                         scratch) == APR_SUCCESS;
    apr_pool_destroy(scratch); /* and the mapping with it */
    if (ok && out) {
        *out = c;
    }
    return ok;
}

apr_status_t prep_store_serving(const char **id, prep_corte_t **c,
                                int *fallback, const char *store, apr_pool_t *p)
{
    const char *current = NULL;
    apr_array_header_t *names;
    int i;

    *id = NULL;
    *fallback = 0;
    if (prep_store_current(&current, store, p) != APR_SUCCESS || !current) {
        return APR_ENOENT; /* no corte was ever published */
    }
    if (prep_store_corte_usable(c, store, current, p)) {
        *id = current;
        return APR_SUCCESS;
    }
    /* newest first: ids sort by corte time */
    names = list_dir(apr_pstrcat(p, store, "/cortes", NULL), p);
    for (i = names->nelts - 1; i >= 0; i--) {
        const char *name = APR_ARRAY_IDX(names, i, char *);

        if (strcmp(name, current) &&
            prep_store_corte_usable(c, store, name, p)) {
            *id = name;
            *fallback = 1;
            return APR_SUCCESS;
        }
    }
    return APR_ENOENT;
}

/* Names the staging directory staging/<id> and promotes it (made current
 * when make_current), replacing a corte of the same id. */
static apr_status_t place(const char *store, const char *staging,
                          const char *id, int make_current, apr_pool_t *p)
{
    const char *named = prep_store_staging_dir(p, store, id);
    apr_status_t rv;

    /* a staging/<id> left by a load that died between its two renames */
    if (apr_file_rename(staging, named, p) != APR_SUCCESS) {
        remove_tree(named, p);
        if ((rv = apr_file_rename(staging, named, p)) != APR_SUCCESS) {
            return rv;
        }
    }
    return promote(store, id, make_current, p);
}

apr_status_t prep_store_publish(const char *store, const char *staging,
                                const char *id, apr_pool_t *p)
{
    return place(store, staging, id, 1, p);
}

apr_status_t prep_store_retain(const char *store, const char *staging,
                               const char *id, apr_pool_t *p)
{
    return place(store, staging, id, 0, p);
}

apr_status_t prep_store_stage(const char **dir, apr_file_t **pack,
                              const char *store, apr_pool_t *p)
{
    const char *staging = prep_store_staging_dir(
        p, store, apr_psprintf(p, "load-%ld", (long)getpid()));
    apr_status_t rv;

    if ((rv = apr_dir_make_recursive(staging, APR_FPROT_OS_DEFAULT, p)) !=
            APR_SUCCESS ||
        (rv = apr_file_open(
             pack, apr_pstrcat(p, staging, "/" PREP_PACK_FILE, NULL),
             APR_FOPEN_READ | APR_FOPEN_WRITE | APR_FOPEN_CREATE |
                 APR_FOPEN_EXCL | APR_FOPEN_BINARY,
             APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_GREAD |
                 APR_FPROT_WREAD,
             p)) != APR_SUCCESS) {
        return rv;
    }
    *dir = staging;
    return APR_SUCCESS;
}

apr_status_t prep_store_stage_completion(const char **dir, prep_pack_t *pack,
                                         const char *store, const char *id,
                                         apr_pool_t *p)
{
    const char *staging = prep_store_staging_dir(
        p, store, apr_psprintf(p, "complete-%ld", (long)getpid()));
    const char *at = apr_pstrcat(p, staging, "/" PREP_PACK_FILE, NULL);
    apr_finfo_t fi;
    apr_status_t rv;

    remove_tree(staging, p); /* a completion of this pid that died */
    if ((rv = apr_dir_make_recursive(staging, APR_FPROT_OS_DEFAULT, p)) !=
        APR_SUCCESS) {
        return rv;
    }
    if (link(apr_pstrcat(p, prep_store_corte_dir(p, store, id),
                         "/" PREP_PACK_FILE, NULL),
             at) != 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    if ((rv = apr_file_open(&pack->file, at,
                            APR_FOPEN_READ | APR_FOPEN_WRITE | APR_FOPEN_BINARY,
                            APR_FPROT_OS_DEFAULT, p)) != APR_SUCCESS ||
        (rv = apr_file_info_get(&fi, APR_FINFO_SIZE, pack->file)) !=
            APR_SUCCESS) {
        return rv;
    }
    pack->end = fi.size;
    *dir = staging;
    return APR_SUCCESS;
}

apr_status_t prep_store_lock_load(const char *store, apr_pool_t *lock_pool,
                                  prep_verdict_t *v, apr_pool_t *p)
{
    apr_status_t rv = prep_store_lock(store, lock_pool);

    if (APR_STATUS_IS_EAGAIN(rv)) {
        return prep_refuse(v, p, "busy", "another loader holds %s/loader.lock",
                           store);
    }
    if (rv != APR_SUCCESS) {
        return prep_refuse(v, p, "busy", "cannot open %s/loader.lock: %pm",
                           store, &rv);
    }
    return APR_SUCCESS;
}

int prep_store_full(const char *store, apr_uint64_t *avail, apr_pool_t *p)
{
    struct statvfs vfs;

    if (statvfs(apr_pstrcat(p, store, "/staging", NULL), &vfs)) {
        return 0;
    }
    *avail = (apr_uint64_t)vfs.f_bavail * vfs.f_frsize;
    return *avail < 1024 * 1024 || (vfs.f_files > 0 && vfs.f_favail == 0);
}

int prep_store_refuses(apr_status_t rv)
{
    return APR_STATUS_IS_EACCES(rv) || rv == EPERM || rv == EROFS ||
           APR_STATUS_IS_ENOSPC(rv) || rv == EDQUOT;
}

apr_status_t prep_store_prune(const char *store, int keep, apr_pool_t *p)
{
    const char *cortes = apr_pstrcat(p, store, "/cortes", NULL);
    apr_array_header_t *names = list_dir(cortes, p);
    const char *current = NULL;
    int i, left = names->nelts;
    apr_status_t rv = APR_SUCCESS;

    prep_store_current(&current, store, p);
    if (keep < 1) {
        keep = 1;
    }
    /* Oldest first: ids sort by corte time.  Never current (the corte
     * served, or the one a pinned feed holds) and never the newest (the one
     * a pinned feed's unpin will serve), whatever `keep` says. */
    for (i = 0; i < names->nelts - 1 && left > keep; i++) {
        const char *name = APR_ARRAY_IDX(names, i, char *);
        if (current && !strcmp(name, current)) {
            continue;
        }
        if (remove_tree(apr_pstrcat(p, cortes, "/", name, NULL), p) ==
            APR_SUCCESS) {
            left--;
        } else {
            rv = APR_EGENERAL;
        }
    }
    return rv;
}

/* ------------------------------------------------------------------ */
/* state.json */

json_t *prep_store_read_state(const char *store, apr_pool_t *p)
{
    json_t *state =
        json_load_file(apr_pstrcat(p, store, "/" STATE_FILE, NULL), 0, NULL);

    if (!json_is_object(state)) {
        json_decref(state);
        state = json_object();
    }
    if (!json_is_array(json_object_get(state, STATE_REJECTED))) {
        json_object_set_new(state, STATE_REJECTED, json_array());
    }
    if (!json_is_array(json_object_get(state, STATE_HISTORY))) {
        json_object_set_new(state, STATE_HISTORY, json_array());
    }
    return state;
}

/* Puts item first in state.json's list `key`, keeping the newest 20. */
static apr_status_t record(const char *store, const char *key, json_t *item,
                           apr_pool_t *p)
{
    json_t *state = prep_store_read_state(store, p);
    json_t *list = json_object_get(state, key);
    apr_status_t rv;

    json_array_insert_new(list, 0, item);
    while (json_array_size(list) > STATE_KEEP) {
        json_array_remove(list, json_array_size(list) - 1);
    }
    rv = write_json(apr_pstrcat(p, store, "/" STATE_FILE, NULL), state, p);
    json_decref(state);
    return rv;
}

apr_status_t prep_store_record_rejected(const char *store, const char *package,
                                        const prep_verdict_t *v, apr_time_t at,
                                        apr_pool_t *p)
{
    json_t *item = json_object();

    json_object_set_new(item, "package", json_string(package));
    json_object_set_new(item, "reason", json_string(v->reason));
    json_object_set_new(item, "message",
                        json_string(v->message ? v->message : ""));
    json_object_set_new(item, "at", json_integer(apr_time_sec(at)));
    return record(store, STATE_REJECTED, item, p);
}

apr_status_t prep_store_record_history(const char *store, const prep_corte_t *c,
                                       apr_pool_t *p)
{
    return record(store, STATE_HISTORY, prep_corte_to_json(c, NULL, p), p);
}

apr_status_t prep_store_update_history(const char *store, const prep_corte_t *c,
                                       apr_pool_t *p)
{
    json_t *state = prep_store_read_state(store, p);
    json_t *list = json_object_get(state, STATE_HISTORY), *item;
    apr_status_t rv = APR_SUCCESS;
    size_t i;

    json_array_foreach(list, i, item)
    {
        const char *id = json_string_value(json_object_get(item, "id"));

        if (id && !strcmp(id, c->id)) {
            json_array_set_new(list, i, prep_corte_to_json(c, NULL, p));
            rv = write_json(apr_pstrcat(p, store, "/" STATE_FILE, NULL), state,
                            p);
            break;
        }
    }
    json_decref(state);
    return rv;
}

apr_status_t prep_store_history_find(prep_corte_t **c, const char *store,
                                     const char *id, apr_pool_t *p)
{
    json_t *state = prep_store_read_state(store, p), *item;
    apr_status_t rv = APR_ENOENT;
    size_t i;

    json_array_foreach(json_object_get(state, STATE_HISTORY), i, item)
    {
        const char *hid =
            json_string_value(json_object_get(item, PREP_CORTE_KEY_ID));

        if (hid && !strcmp(hid, id)) {
            rv = prep_corte_from_json(c, item, p);
            break;
        }
    }
    json_decref(state);
    return rv;
}

/* ------------------------------------------------------------------ */
/* The retained cortes, for the operator (prep_operator.c) */

apr_array_header_t *prep_store_cortes(const char *store, apr_pool_t *p)
{
    apr_array_header_t *names =
        list_dir(apr_pstrcat(p, store, "/cortes", NULL), p);
    apr_array_header_t *cortes = apr_array_make(
        p, names->nelts ? names->nelts : 1, sizeof(prep_corte_t *));
    int i;

    /* oldest first: ids sort by corte time */
    for (i = 0; i < names->nelts; i++) {
        prep_corte_t *c;

        if (prep_store_corte_usable(&c, store, APR_ARRAY_IDX(names, i, char *),
                                    p)) {
            APR_ARRAY_PUSH(cortes, prep_corte_t *) = c;
        }
    }
    return cortes;
}

prep_corte_t *prep_store_newest(const char *store, apr_pool_t *p)
{
    apr_array_header_t *names =
        list_dir(apr_pstrcat(p, store, "/cortes", NULL), p);
    int i;

    for (i = names->nelts - 1; i >= 0; i--) {
        prep_corte_t *c;

        if (prep_store_corte_usable(&c, store, APR_ARRAY_IDX(names, i, char *),
                                    p)) {
            return c;
        }
    }
    return NULL;
}

apr_status_t prep_store_set_current(const char *store, const char *id,
                                    apr_pool_t *p)
{
    apr_finfo_t fi;
    apr_status_t rv;

    /* current never names what is not a corte of the store */
    if (!id || !*id || strchr(id, '/') || !strcmp(id, "..") ||
        !strcmp(id, ".")) {
        return APR_EINVAL;
    }
    if ((rv = apr_stat(&fi, prep_store_corte_dir(p, store, id), APR_FINFO_TYPE,
                       p)) != APR_SUCCESS) {
        return rv;
    }
    if (fi.filetype != APR_DIR) {
        return APR_ENOTDIR;
    }
    return write_current(store, id, p);
}

/* ------------------------------------------------------------------ */
/* counters.json: the journal counted */

#define COUNTERS_SINCE     "since"
#define COUNTERS_LOADS     "loads"
#define COUNTERS_REFUSALS  "refusals"
#define COUNTERS_RESTARTS  "intake_restarts"
#define COUNTERS_LAST_LOAD "last_load"
#define COUNTERS_AT        "at"
#define COUNTERS_MS        "ms"
#define COUNTERS_OTHER     "other"

static const char *const counted_names[PREP_COUNTED_RESULTS] = {
    "published", "retained", "republished", "same-corte", "refused", "crashed"};

const char *prep_counted_text(prep_counted_e r)
{
    return r < PREP_COUNTED_RESULTS ? counted_names[r] : "unknown";
}

void prep_counters_init(prep_counters_t *c, apr_pool_t *p)
{
    memset(c, 0, sizeof(*c));
    c->refusals = apr_array_make(p, 8, sizeof(prep_reason_count_t));
}

/* The count of `reason`, made (0) in its place by reason when new; past
 * PREP_COUNTERS_REASONS_MAX reasons, that of "other" when `capped` (a file
 * read back keeps what it holds). */
static prep_reason_count_t *reason_count(prep_counters_t *c, const char *reason,
                                         int capped, apr_pool_t *p)
{
    prep_reason_count_t *r, *at;
    int i, cmp = 1;

    for (i = 0; i < c->refusals->nelts; i++) {
        r = &APR_ARRAY_IDX(c->refusals, i, prep_reason_count_t);
        if ((cmp = strcmp(r->reason, reason)) >= 0) {
            break;
        }
    }
    if (cmp == 0) {
        return r;
    }
    if (capped && c->refusals->nelts >= PREP_COUNTERS_REASONS_MAX &&
        strcmp(reason, COUNTERS_OTHER)) {
        return reason_count(c, COUNTERS_OTHER, 0, p);
    }
    apr_array_push(c->refusals);
    at = &APR_ARRAY_IDX(c->refusals, i, prep_reason_count_t);
    memmove(at + 1, at, (size_t)(c->refusals->nelts - 1 - i) * sizeof(*at));
    at->reason = apr_pstrdup(p, reason);
    at->count = 0;
    return at;
}

/* The event of a journal line as a load result, or PREP_COUNTED_RESULTS. */
static prep_counted_e counted_of(prep_event_e e)
{
    switch (e) {
        case PREP_EVENT_PUBLISHED:
            return PREP_COUNTED_PUBLISHED;
        case PREP_EVENT_RETAINED:
            return PREP_COUNTED_RETAINED;
        case PREP_EVENT_REPUBLISHED:
            return PREP_COUNTED_REPUBLISHED;
        case PREP_EVENT_SAME_CORTE:
            return PREP_COUNTED_SAME_CORTE;
        case PREP_EVENT_REFUSED:
            return PREP_COUNTED_REFUSED;
        case PREP_EVENT_LOADER_CRASH:
            return PREP_COUNTED_CRASHED;
        default:
            return PREP_COUNTED_RESULTS;
    }
}

int prep_counters_add(prep_counters_t *c, const json_t *line, apr_pool_t *p)
{
    prep_event_e e = prep_event_of_name(
        json_string_value(json_object_get(line, PREP_JOURNAL_KEY_EVENT)));
    prep_counted_e r = counted_of(e);
    const json_t *corte, *ms;
    apr_time_t at = 0;

    if (e == PREP_EVENT_INTAKE_RESTART) {
        c->intake_restarts++;
        return 1;
    }
    if (r == PREP_COUNTED_RESULTS) {
        return 0;
    }
    c->loads[r]++;
    if (r == PREP_COUNTED_REFUSED) {
        const char *reason =
            json_string_value(json_object_get(line, PREP_JOURNAL_KEY_REASON));

        reason_count(c, reason && *reason ? reason : "unknown", 1, p)->count++;
    }
    corte = json_object_get(line, PREP_JOURNAL_KEY_CORTE);
    ms = json_object_get(corte, PREP_CORTE_KEY_LOAD_MS);
    if ((r == PREP_COUNTED_PUBLISHED || r == PREP_COUNTED_RETAINED ||
         r == PREP_COUNTED_REPUBLISHED) &&
        json_is_integer(ms) && json_integer_value(ms) >= 0 &&
        prep_journal_time(&at, json_string_value(json_object_get(
                                   line, PREP_JOURNAL_KEY_AT))) ==
            APR_SUCCESS) {
        c->last_load_at = at;
        c->last_load_ms = (apr_uint64_t)json_integer_value(ms);
    }
    return 1;
}

/* A count in the file: a non-negative integer, else 0. */
static apr_uint64_t count_of(const json_t *v)
{
    return json_is_integer(v) && json_integer_value(v) > 0
               ? (apr_uint64_t)json_integer_value(v)
               : 0;
}

apr_status_t prep_store_read_counters(prep_counters_t *c, const char *store,
                                      apr_pool_t *p)
{
    const char *path = apr_pstrcat(p, store, "/" PREP_COUNTERS_FILE, NULL);
    json_t *doc, *loads, *refusals, *last, *v;
    const char *key;
    int i;

    prep_counters_init(c, p);
    if (access(path, F_OK) != 0) {
        return APR_ENOENT;
    }
    doc = json_load_file(path, 0, NULL);
    loads = json_object_get(doc, COUNTERS_LOADS);
    refusals = json_object_get(doc, COUNTERS_REFUSALS);
    if (!json_is_object(loads) || !json_is_object(refusals)) {
        json_decref(doc);
        return APR_EINVAL;
    }
    c->since =
        apr_time_from_sec(count_of(json_object_get(doc, COUNTERS_SINCE)));
    for (i = 0; i < PREP_COUNTED_RESULTS; i++) {
        c->loads[i] = count_of(json_object_get(loads, counted_names[i]));
    }
    json_object_foreach(refusals, key, v)
    {
        reason_count(c, key, 0, p)->count += count_of(v);
    }
    c->intake_restarts = count_of(json_object_get(doc, COUNTERS_RESTARTS));
    last = json_object_get(doc, COUNTERS_LAST_LOAD);
    if (json_is_object(last)) {
        c->last_load_at =
            apr_time_from_sec(count_of(json_object_get(last, COUNTERS_AT)));
        c->last_load_ms = count_of(json_object_get(last, COUNTERS_MS));
    }
    json_decref(doc);
    return APR_SUCCESS;
}

apr_status_t prep_store_write_counters(const char *store,
                                       const prep_counters_t *c, apr_pool_t *p)
{
    json_t *doc = json_object(), *loads = json_object();
    json_t *refusals = json_object();
    apr_status_t rv;
    int i;

    json_object_set_new(doc, COUNTERS_SINCE,
                        json_integer((json_int_t)apr_time_sec(c->since)));
    for (i = 0; i < PREP_COUNTED_RESULTS; i++) {
        json_object_set_new(loads, counted_names[i],
                            json_integer((json_int_t)c->loads[i]));
    }
    json_object_set_new(doc, COUNTERS_LOADS, loads);
    for (i = 0; c->refusals && i < c->refusals->nelts; i++) {
        const prep_reason_count_t *r =
            &APR_ARRAY_IDX(c->refusals, i, prep_reason_count_t);

        json_object_set_new(refusals, r->reason,
                            json_integer((json_int_t)r->count));
    }
    json_object_set_new(doc, COUNTERS_REFUSALS, refusals);
    json_object_set_new(doc, COUNTERS_RESTARTS,
                        json_integer((json_int_t)c->intake_restarts));
    /* times in epoch seconds, as state.json's */
    json_object_set_new(
        doc, COUNTERS_LAST_LOAD,
        c->last_load_at ? json_pack("{s:I,s:I}", COUNTERS_AT,
                                    (json_int_t)apr_time_sec(c->last_load_at),
                                    COUNTERS_MS, (json_int_t)c->last_load_ms)
                        : json_null());
    rv =
        write_json(apr_pstrcat(p, store, "/" PREP_COUNTERS_FILE, NULL), doc, p);
    json_decref(doc);
    return rv;
}
