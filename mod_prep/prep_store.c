/* prep_store.c — cortes on disk, after mod_md's store: a corte is built in
 * staging/, then moved whole into cortes/ and made current by replacing one
 * small file, each step atomic, so a crash at any point leaves either the
 * old corte or the new one served, never a mix.  Also the feed's recent
 * history and refusals (state.json). */
#include <fcntl.h>
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

#define STATE_FILE "state.json"
#define STATE_KEEP 20

char *prep_corte_id(apr_pool_t *p, apr_time_t time, const char *sha256_hex)
{
    apr_time_exp_t tm;

    apr_time_exp_gmt(&tm, time);
    return apr_psprintf(p, "%04d%02d%02dT%02d%02d%02dZ-%.8s", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                        tm.tm_sec, sha256_hex);
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

static apr_status_t sync_path(const char *path)
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

/* Writes `data` to path through path.tmp, synced, then renamed. */
static apr_status_t write_atomic(const char *path, const char *data,
                                 apr_size_t len, apr_pool_t *p)
{
    const char *tmp = apr_pstrcat(p, path, ".tmp", NULL);
    apr_file_t *fp;
    apr_status_t rv;

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
    apr_file_close(fp);
    if (rv == APR_SUCCESS) {
        rv = apr_file_rename(tmp, path, p);
    }
    if (rv != APR_SUCCESS) {
        apr_file_remove(tmp, p);
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
    rv = write_atomic(path, text, strlen(text), p);
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

/* "phases": {"verify": ms, ...} when the load measured them, and
 * "variants": {"made": n, "reused": n}. */
void prep_corte_set_load_details(void *obj, const prep_corte_t *c)
{
    json_t *doc = obj, *o;
    int i;

    if (!c->has_phases) {
        return;
    }
    o = json_object();
    for (i = 0; i < PREP_PHASES; i++) {
        json_object_set_new(o, prep_phase_names[i],
                            json_integer((json_int_t)c->phases_ms[i]));
    }
    json_object_set_new(doc, "phases", o);
    o = json_object();
    json_object_set_new(o, "made", json_integer((json_int_t)c->variants_made));
    json_object_set_new(o, "reused",
                        json_integer((json_int_t)c->variants_reused));
    json_object_set_new(o, "threads",
                        json_integer((json_int_t)c->compress_threads));
    json_object_set_new(doc, "variants", o);
}

static void get_load_details(prep_corte_t *c, json_t *doc)
{
    json_t *o = json_object_get(doc, "phases");
    json_t *v = json_object_get(doc, "variants");
    int i;

    c->variants_made =
        (apr_uint64_t)json_integer_value(json_object_get(v, "made"));
    c->variants_reused =
        (apr_uint64_t)json_integer_value(json_object_get(v, "reused"));
    c->compress_threads =
        (apr_uint32_t)json_integer_value(json_object_get(v, "threads"));
    if (!json_is_object(o)) {
        return;
    }
    c->has_phases = 1;
    for (i = 0; i < PREP_PHASES; i++) {
        c->phases_ms[i] = (apr_uint64_t)json_integer_value(
            json_object_get(o, prep_phase_names[i]));
    }
}

apr_status_t prep_store_write_corte(const char *dir, const prep_corte_t *c,
                                    apr_pool_t *p)
{
    json_t *doc = json_object();
    apr_status_t rv;

    json_object_set_new(doc, "id", json_string(c->id));
    json_object_set_new(doc, "time", json_integer(c->time));
    json_object_set_new(doc, "label", json_string(c->label));
    json_object_set_new(doc, "package", json_string(c->package));
    json_object_set_new(doc, "sha256", json_string(c->sha256));
    json_object_set_new(doc, "files", json_integer((json_int_t)c->files));
    json_object_set_new(doc, "bytes", json_integer((json_int_t)c->bytes));
    json_object_set_new(doc, "loaded_at", json_integer(c->loaded_at));
    json_object_set_new(doc, "load_ms", json_integer((json_int_t)c->load_ms));
    prep_corte_set_load_details(doc, c);
    rv = write_json(apr_pstrcat(p, dir, "/" PREP_CORTE_FILE, NULL), doc, p);
    json_decref(doc);
    return rv;
}

static const char *json_str(json_t *o, const char *key, apr_pool_t *p)
{
    const char *s = json_string_value(json_object_get(o, key));

    return apr_pstrdup(p, s ? s : "");
}

apr_status_t prep_store_read_corte(prep_corte_t **out, const char *dir,
                                   apr_pool_t *p)
{
    json_t *doc =
        json_load_file(apr_pstrcat(p, dir, "/" PREP_CORTE_FILE, NULL), 0, NULL);
    prep_corte_t *c;

    if (!json_is_object(doc) || !json_is_string(json_object_get(doc, "id"))) {
        json_decref(doc);
        return APR_EGENERAL;
    }
    c = apr_pcalloc(p, sizeof(*c));
    c->id = json_str(doc, "id", p);
    c->time = (apr_time_t)json_integer_value(json_object_get(doc, "time"));
    c->label = json_str(doc, "label", p);
    c->package = json_str(doc, "package", p);
    c->sha256 = json_str(doc, "sha256", p);
    c->files = (apr_uint64_t)json_integer_value(json_object_get(doc, "files"));
    c->bytes = (apr_uint64_t)json_integer_value(json_object_get(doc, "bytes"));
    c->loaded_at =
        (apr_time_t)json_integer_value(json_object_get(doc, "loaded_at"));
    c->load_ms =
        (apr_uint64_t)json_integer_value(json_object_get(doc, "load_ms"));
    get_load_details(c, doc);
    json_decref(doc);
    *out = c;
    return APR_SUCCESS;
}

apr_status_t prep_store_promote(const char *store, const char *id,
                                apr_pool_t *p)
{
    const char *staged = prep_store_staging_dir(p, store, id);
    const char *final = prep_store_corte_dir(p, store, id);
    apr_array_header_t *names = list_dir(staged, p);
    apr_status_t rv;
    int i;

    /* the bytes are on disk before any name points at them */
    for (i = 0; i < names->nelts; i++) {
        if ((rv = sync_path(apr_pstrcat(
                 p, staged, "/", APR_ARRAY_IDX(names, i, char *), NULL))) !=
            APR_SUCCESS) {
            return rv;
        }
    }
    if ((rv = sync_path(staged)) != APR_SUCCESS ||
        (rv = apr_file_rename(staged, final, p)) != APR_SUCCESS ||
        (rv = sync_path(apr_pstrcat(p, store, "/cortes", NULL))) !=
            APR_SUCCESS) {
        return rv;
    }
    rv = write_atomic(apr_pstrcat(p, store, "/" PREP_CURRENT_FILE, NULL),
                      apr_pstrcat(p, id, "\n", NULL), strlen(id) + 1, p);
    if (rv == APR_SUCCESS) {
        rv = sync_path(store);
    }
    return rv;
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

apr_status_t prep_store_publish(const char *store, const char *staging,
                                const char *id, apr_pool_t *p)
{
    const char *final = prep_store_corte_dir(p, store, id);
    const char *named = prep_store_staging_dir(p, store, id);
    apr_finfo_t fi;
    apr_status_t rv;

    /* A corte of this id (left by an interrupted load, or being healed) is
     * replaced: the old one moves to staging, emptied at the next load. */
    if (apr_stat(&fi, final, APR_FINFO_TYPE | APR_FINFO_LINK, p) ==
            APR_SUCCESS &&
        (rv = apr_file_rename(
             final,
             prep_store_staging_dir(p, store, apr_psprintf(p, "old-%s", id)),
             p)) != APR_SUCCESS) {
        return rv;
    }
    rv = apr_file_rename(staging, named, p);
    if (rv == APR_SUCCESS) {
        rv = prep_store_promote(store, id, p);
    }
    return rv;
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
    /* oldest first: ids sort by corte time */
    for (i = 0; i < names->nelts && left > keep; i++) {
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

void *prep_store_read_state(const char *store, apr_pool_t *p)
{
    json_t *state =
        json_load_file(apr_pstrcat(p, store, "/" STATE_FILE, NULL), 0, NULL);

    if (!json_is_object(state)) {
        json_decref(state);
        state = json_object();
    }
    if (!json_is_array(json_object_get(state, "rejected"))) {
        json_object_set_new(state, "rejected", json_array());
    }
    if (!json_is_array(json_object_get(state, "history"))) {
        json_object_set_new(state, "history", json_array());
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
    return record(store, "rejected", item, p);
}

apr_status_t prep_store_record_history(const char *store, const prep_corte_t *c,
                                       apr_pool_t *p)
{
    json_t *item = json_object();

    json_object_set_new(item, "id", json_string(c->id));
    json_object_set_new(item, "time", json_integer(apr_time_sec(c->time)));
    json_object_set_new(item, "label", json_string(c->label));
    json_object_set_new(item, "package", json_string(c->package));
    json_object_set_new(item, "sha256", json_string(c->sha256));
    json_object_set_new(item, "files", json_integer((json_int_t)c->files));
    json_object_set_new(item, "bytes", json_integer((json_int_t)c->bytes));
    json_object_set_new(item, "loaded_at",
                        json_integer(apr_time_sec(c->loaded_at)));
    json_object_set_new(item, "load_ms", json_integer((json_int_t)c->load_ms));
    prep_corte_set_load_details(item, c);
    return record(store, "history", item, p);
}
