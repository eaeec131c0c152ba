/* prep_operator.c — what the operator decides for a feed (STORE/control.json)
 * and the operator's actions: rollback, pin, unpin, reset, close, drill.
 *
 * Each action runs under STORE/loader.lock, the lock a load holds, so that
 * it never races a load: it reads control.json and current, acts, writes
 * them back (each write atomic and synced), and journals what it did with
 * the Unix user who ran it.  The running server sees the change at its next
 * poll; a stopped one when it starts.  A journal that cannot be written
 * never undoes an action: the message says so. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>
#include <jansson.h>

#include "prep.h"

#define CONTROL_KEY_PIN       "pin"
#define CONTROL_KEY_PINNED_AT "pinned_at"
#define CONTROL_KEY_DRILL     "drill"
#define CONTROL_KEY_CLOSED_AT "closed_at"

/* control.json is a few hundred bytes; anything much larger is not one. */
#define CONTROL_MAX (64 * 1024)

/* ------------------------------------------------------------------ */
/* STORE/control.json */

void prep_control_default(prep_control_t *c)
{
    c->pin = NULL;
    c->pinned_at = 0;
    c->drill = PREP_DRILL_AS_CONFIGURED;
    c->closed_at = 0;
}

static const char *control_path(const char *store, apr_pool_t *p)
{
    return apr_pstrcat(p, store, "/" PREP_CONTROL_FILE, NULL);
}

/* A time of the record: integer microseconds, as in corte.json; absent or
 * null is 0. */
static int time_from_json(apr_time_t *t, const json_t *v)
{
    if (!v || json_is_null(v)) {
        *t = 0;
        return 1;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        return 0;
    }
    *t = (apr_time_t)json_integer_value(v);
    return 1;
}

/* The control record of o into *c; 0 when o is not one. */
static int control_from_json(prep_control_t *c, const json_t *o, apr_pool_t *p)
{
    const json_t *pin = json_object_get(o, CONTROL_KEY_PIN);
    const json_t *drill = json_object_get(o, CONTROL_KEY_DRILL);
    const char *id;

    if (!json_is_object(o)) {
        return 0;
    }
    if (pin && !json_is_null(pin)) {
        /* a pin names a corte of STORE/cortes, never a path */
        id = json_string_value(pin);
        if (!id || !*id || strchr(id, '/') || !strcmp(id, ".") ||
            !strcmp(id, "..")) {
            return 0;
        }
        c->pin = apr_pstrdup(p, id);
    }
    if (!time_from_json(&c->pinned_at,
                        json_object_get(o, CONTROL_KEY_PINNED_AT)) ||
        !time_from_json(&c->closed_at,
                        json_object_get(o, CONTROL_KEY_CLOSED_AT))) {
        return 0;
    }
    if (drill && !json_is_null(drill)) {
        if (!json_is_boolean(drill)) {
            return 0;
        }
        c->drill = json_is_true(drill) ? 1 : 0;
    }
    if (!c->pin) {
        c->pinned_at = 0;
    }
    return 1;
}

apr_status_t prep_control_read(prep_control_t *c, const char *store,
                               apr_pool_t *p)
{
    apr_file_t *fp;
    apr_finfo_t fi;
    apr_size_t len;
    apr_status_t rv;
    json_t *doc;
    char *text;
    int ok;

    prep_control_default(c);
    rv = apr_file_open(&fp, control_path(store, p),
                       APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p);
    if (APR_STATUS_IS_ENOENT(rv)) {
        return APR_SUCCESS; /* nothing decided: the defaults */
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if ((rv = apr_file_info_get(&fi, APR_FINFO_SIZE | APR_FINFO_TYPE, fp)) !=
        APR_SUCCESS) {
        apr_file_close(fp);
        return rv;
    }
    if (fi.filetype != APR_REG || fi.size > CONTROL_MAX) {
        apr_file_close(fp);
        return APR_EINVAL;
    }
    len = (apr_size_t)fi.size;
    text = apr_palloc(p, len + 1);
    rv = apr_file_read_full(fp, text, len, &len);
    apr_file_close(fp);
    if (rv != APR_SUCCESS && !APR_STATUS_IS_EOF(rv)) {
        return rv;
    }
    doc = json_loadb(text, len, 0, NULL);
    ok = control_from_json(c, doc, p);
    json_decref(doc);
    if (!ok) {
        prep_control_default(c);
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

apr_status_t prep_control_write(const char *store, const prep_control_t *c,
                                apr_pool_t *p)
{
    json_t *doc = json_object();
    apr_status_t rv;
    char *text;

    json_object_set_new(doc, CONTROL_KEY_PIN,
                        c->pin ? json_string(c->pin) : json_null());
    json_object_set_new(doc, CONTROL_KEY_PINNED_AT,
                        json_integer((json_int_t)(c->pin ? c->pinned_at : 0)));
    /* absent: as PrepDrill says */
    if (c->drill != PREP_DRILL_AS_CONFIGURED) {
        json_object_set_new(doc, CONTROL_KEY_DRILL, json_boolean(c->drill));
    }
    json_object_set_new(doc, CONTROL_KEY_CLOSED_AT,
                        json_integer((json_int_t)c->closed_at));
    text = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (!text) {
        return APR_ENOMEM;
    }
    rv = prep_store_write_atomic(control_path(store, p), text, strlen(text), p);
    free(text);
    return rv;
}

int prep_feed_drill(const prep_feed_t *f, const prep_control_t *c)
{
    if (c && c->drill != PREP_DRILL_AS_CONFIGURED) {
        return c->drill != 0;
    }
    return f->drill != 0;
}

apr_time_t prep_feed_closed_at(const prep_feed_t *f, const prep_control_t *c)
{
    apr_time_t by_hand = c ? c->closed_at : 0;

    if (!by_hand) {
        return f->publish_until;
    }
    if (!f->publish_until) {
        return by_hand;
    }
    return by_hand < f->publish_until ? by_hand : f->publish_until;
}

unsigned prep_feed_banner_state(const prep_feed_t *f, const prep_control_t *c,
                                apr_time_t now)
{
    apr_time_t closed_at = prep_feed_closed_at(f, c);
    unsigned state = 0;

    if (prep_feed_drill(f, c)) {
        state |= PREP_BANNER_STATE_DRILL;
    }
    if (closed_at && now >= closed_at) {
        state |= PREP_BANNER_STATE_CLOSED;
    }
    return state;
}

/* ------------------------------------------------------------------ */
/* What every action shares: the lock, control.json, the corte served,
 * the journal line. */

typedef struct op_ctx {
    const prep_op_t *op;
    const char *store;
    prep_control_t control; /* as read under the lock */
    const char *served_id;  /* the corte served before the action, or NULL */
    prep_corte_t *served;
} op_ctx_t;

static prep_op_status_e op_end(prep_op_result_t *res, prep_op_status_e st,
                               const char *message)
{
    res->status = st;
    res->message = message;
    return st;
}

static const char *owner_of(const char *path, apr_pool_t *p)
{
    struct stat st;
    struct passwd *pw;

    if (stat(path, &st) != 0) {
        return "unknown";
    }
    pw = getpwuid(st.st_uid);
    return pw ? apr_pstrdup(p, pw->pw_name)
              : apr_psprintf(p, "uid %ld", (long)st.st_uid);
}

static int refused_permission(apr_status_t rv)
{
    return APR_STATUS_IS_EACCES(rv) || rv == EPERM || rv == EROFS;
}

static prep_op_status_e op_permission(const op_ctx_t *x, prep_op_result_t *res,
                                      apr_pool_t *p)
{
    const char *owner = owner_of(x->store, p);

    return op_end(res, PREP_OP_PERMISSION,
                  apr_psprintf(p,
                               "user %s may not write the store %s (owned by "
                               "%s): run prepctl as root or as %s",
                               x->op->user ? x->op->user : "?", x->store, owner,
                               owner));
}

/* An I/O error of the action: a permission refusal when the store refused
 * the write, else FAILED with what failed. */
static prep_op_status_e op_failed(const op_ctx_t *x, apr_status_t rv,
                                  const char *what, prep_op_result_t *res,
                                  apr_pool_t *p)
{
    if (refused_permission(rv)) {
        return op_permission(x, res, p);
    }
    return op_end(
        res, PREP_OP_FAILED,
        apr_psprintf(p, "cannot %s in the store %s: %pm", what, x->store, &rv));
}

/* Takes the store's lock (held until lock_pool is cleared), reads
 * control.json and the corte served.  PREP_OP_DONE to go on, else the refusal
 * in *res. */
static prep_op_status_e op_begin(op_ctx_t *x, const prep_op_t *op,
                                 prep_op_result_t *res, apr_pool_t *lock_pool,
                                 apr_pool_t *p)
{
    int fallback;
    apr_status_t rv;

    memset(res, 0, sizeof(*res));
    x->op = op;
    x->store = op->feed->store;
    x->served_id = NULL;
    x->served = NULL;
    /* The effective user, as the writes below will be checked: a store
     * this user cannot write is refused before anything is tried. */
    if (faccessat(AT_FDCWD, x->store, W_OK | X_OK, AT_EACCESS) != 0 &&
        (errno == EACCES || errno == EPERM || errno == EROFS)) {
        return op_permission(x, res, p);
    }
    rv = prep_store_lock(x->store, lock_pool);
    if (APR_STATUS_IS_EAGAIN(rv)) {
        return op_end(res, PREP_OP_LOAD_RUNNING,
                      apr_psprintf(p,
                                   "a load is running in %s (its lock is "
                                   "held); try again in a few seconds",
                                   x->store));
    }
    if (rv != APR_SUCCESS) {
        return op_failed(x, rv, "open loader.lock", res, p);
    }
    /* A damaged control.json is replaced by the action's own record. */
    prep_control_read(&x->control, x->store, p);
    if (prep_store_serving(&x->served_id, &x->served, &fallback, x->store, p) !=
        APR_SUCCESS) {
        x->served_id = NULL;
        x->served = NULL;
    }
    return PREP_OP_DONE;
}

/* Appends the action's line with "user" (and "corte" when c) to the journal
 * marked as drill says; the message says when that failed. */
static void op_journal(const op_ctx_t *x, prep_event_e e, int drill,
                       const prep_corte_t *c, json_t *fields,
                       prep_op_result_t *res, apr_pool_t *p)
{
    prep_journal_t j;
    apr_status_t rv;

    if (!fields) {
        fields = json_object();
    }
    json_object_set_new(fields, PREP_JOURNAL_KEY_USER,
                        json_string(x->op->user ? x->op->user : ""));
    prep_journal_init(&j, x->op->feed, drill);
    rv = prep_journal_corte(&j, e, c, fields, p);
    if (rv != APR_SUCCESS) {
        res->message =
            apr_psprintf(p, "%s (not journaled: %pm)", res->message, &rv);
    }
}

static int feed_drill(const op_ctx_t *x)
{
    return prep_feed_drill(x->op->feed, &x->control);
}

static const char *shown_time(const op_ctx_t *x, apr_time_t t, apr_pool_t *p)
{
    return prep_time_iso(p, t, &x->op->feed->zone);
}

/* The usable retained corte `id`, or NULL. */
static prep_corte_t *retained(const apr_array_header_t *cortes, const char *id)
{
    int i;

    for (i = 0; i < cortes->nelts; i++) {
        prep_corte_t *c = APR_ARRAY_IDX(cortes, i, prep_corte_t *);

        if (!strcmp(c->id, id)) {
            return c;
        }
    }
    return NULL;
}

static prep_op_status_e op_unknown(const op_ctx_t *x, const char *id,
                                   prep_op_result_t *res, apr_pool_t *p)
{
    const char *name = x->op->feed->name;

    return op_end(res, PREP_OP_UNKNOWN_CORTE,
                  apr_psprintf(p,
                               "feed %s has no retained corte %s that can be "
                               "served: see them with \"prepctl cortes %s\"",
                               name, id, name));
}

/* Writes the new control record, then makes `target` current (when it is
 * not already).  A current that cannot be replaced puts the old record back,
 * so the store never says pinned at a corte it does not serve. */
static apr_status_t apply(const op_ctx_t *x, const prep_control_t *next,
                          const char *target, const char **what, apr_pool_t *p)
{
    apr_status_t rv;
    const char *current = NULL;

    *what = "write " PREP_CONTROL_FILE;
    if ((rv = prep_control_write(x->store, next, p)) != APR_SUCCESS) {
        return rv;
    }
    prep_store_current(&current, x->store, p);
    if (!target || (current && !strcmp(current, target))) {
        return APR_SUCCESS;
    }
    *what = "replace " PREP_CURRENT_FILE;
    if ((rv = prep_store_set_current(x->store, target, p)) != APR_SUCCESS) {
        prep_control_write(x->store, &x->control, p); /* the error is rv's */
    }
    return rv;
}

/* ------------------------------------------------------------------ */
/* rollback, pin, unpin */

/* Pins the feed at `target` and serves it (a rollback and a pin): PREP_OP_DONE
 * with res->served set, else the refusal in *res. */
static prep_op_status_e pin_at(const op_ctx_t *x, const prep_corte_t *target,
                               prep_op_result_t *res, apr_pool_t *p)
{
    prep_control_t next = x->control;
    const char *what;
    apr_status_t rv;

    next.pin = target->id;
    next.pinned_at = x->op->now;
    if ((rv = apply(x, &next, target->id, &what, p)) != APR_SUCCESS) {
        return op_failed(x, rv, what, res, p);
    }
    res->served = target->id;
    return PREP_OP_DONE;
}

static prep_op_status_e op_rollback(const op_ctx_t *x, const char *id,
                                    prep_op_result_t *res, apr_pool_t *p)
{
    const char *name = x->op->feed->name;
    apr_array_header_t *cortes;
    prep_corte_t *target = NULL;
    prep_op_status_e st;
    json_t *fields;
    int i;

    if (!x->served) {
        return op_end(res, PREP_OP_NO_CORTE,
                      apr_psprintf(p,
                                   "feed %s serves no corte: there is nothing "
                                   "to roll back from",
                                   name));
    }
    cortes = prep_store_cortes(x->store, p);
    if (id) {
        if (!(target = retained(cortes, id))) {
            return op_unknown(x, id, res, p);
        }
    } else {
        /* the newest of those older than the one served: ids sort by
         * corte time */
        for (i = 0; i < cortes->nelts; i++) {
            prep_corte_t *c = APR_ARRAY_IDX(cortes, i, prep_corte_t *);

            if (strcmp(c->id, x->served_id) < 0) {
                target = c;
            }
        }
        if (!target) {
            return op_end(
                res, PREP_OP_NOTHING_BEFORE,
                apr_psprintf(p,
                             "feed %s keeps no corte older than the one "
                             "served (%s): nothing to roll back to; see them "
                             "with \"prepctl cortes %s\"",
                             name, x->served_id, name));
        }
    }
    if ((st = pin_at(x, target, res, p)) != PREP_OP_DONE) {
        return st;
    }
    op_end(res, PREP_OP_DONE,
           apr_psprintf(p,
                        "feed %s now serves corte %s (corte time %s) instead "
                        "of %s, and is pinned there until \"prepctl unpin "
                        "%s\"",
                        name, target->id, shown_time(x, target->time, p),
                        x->served_id, name));
    fields = json_object();
    json_object_set_new(fields, "from", json_string(x->served_id));
    json_object_set_new(fields, "to", json_string(target->id));
    op_journal(x, PREP_EVENT_ROLLBACK, feed_drill(x), target, fields, res, p);
    return PREP_OP_DONE;
}

static prep_op_status_e op_pin(const op_ctx_t *x, const char *id,
                               prep_op_result_t *res, apr_pool_t *p)
{
    const char *name = x->op->feed->name;
    prep_corte_t *target;
    prep_op_status_e st;

    if (id) {
        if (!(target = retained(prep_store_cortes(x->store, p), id))) {
            return op_unknown(x, id, res, p);
        }
    } else if (!(target = x->served)) {
        return op_end(res, PREP_OP_NO_CORTE,
                      apr_psprintf(p,
                                   "feed %s serves no corte: there is nothing "
                                   "to pin",
                                   name));
    }
    if (x->control.pin && !strcmp(x->control.pin, target->id) && x->served &&
        !strcmp(x->served_id, target->id)) {
        res->served = target->id;
        return op_end(res, PREP_OP_DONE,
                      apr_psprintf(p,
                                   "feed %s was already pinned at corte %s "
                                   "(since %s); nothing changed",
                                   name, target->id,
                                   shown_time(x, x->control.pinned_at, p)));
    }
    if ((st = pin_at(x, target, res, p)) != PREP_OP_DONE) {
        return st;
    }
    op_end(res, PREP_OP_DONE,
           apr_psprintf(p,
                        "feed %s is pinned at corte %s (corte time %s): new "
                        "packages are loaded and kept, not published, until "
                        "\"prepctl unpin %s\"",
                        name, target->id, shown_time(x, target->time, p),
                        name));
    op_journal(x, PREP_EVENT_PIN, feed_drill(x), target, NULL, res, p);
    return PREP_OP_DONE;
}

static prep_op_status_e op_unpin(const op_ctx_t *x, prep_op_result_t *res,
                                 apr_pool_t *p)
{
    const prep_op_t *op = x->op;
    const char *name = op->feed->name, *what;
    prep_corte_t *newest;
    prep_control_t next;
    json_t *fields;
    apr_status_t rv;

    if (!x->control.pin) {
        res->served = x->served_id;
        return op_end(
            res, PREP_OP_DONE,
            apr_psprintf(p, "feed %s was not pinned; nothing changed", name));
    }
    newest = prep_store_newest(x->store, p);
    next = x->control;
    next.pin = NULL;
    next.pinned_at = 0;
    if ((rv = apply(x, &next, newest ? newest->id : NULL, &what, p)) !=
        APR_SUCCESS) {
        return op_failed(x, rv, what, res, p);
    }
    res->served = newest ? newest->id : NULL;
    op_end(res, PREP_OP_DONE,
           newest
               ? apr_psprintf(p,
                              "feed %s is no longer pinned and serves its "
                              "newest corte, %s (corte time %s)",
                              name, newest->id, shown_time(x, newest->time, p))
               : apr_psprintf(p,
                              "feed %s is no longer pinned; it keeps no "
                              "corte that can be served",
                              name));
    fields = json_object();
    json_object_set_new(fields, "from",
                        x->served_id ? json_string(x->served_id) : json_null());
    json_object_set_new(fields, "to",
                        newest ? json_string(newest->id) : json_null());
    op_journal(x, PREP_EVENT_UNPIN, feed_drill(x), newest, fields, res, p);
    return PREP_OP_DONE;
}

/* ------------------------------------------------------------------ */
/* reset */

static int path_exists(const char *path, apr_pool_t *p)
{
    apr_finfo_t fi;

    return apr_stat(&fi, path, APR_FINFO_TYPE | APR_FINFO_LINK, p) ==
           APR_SUCCESS;
}

/* The entries of a directory that are packages (not sidecars, not the
 * NAME.reason of a refusal), or that are cortes (count_all). */
static apr_uint64_t count_in(const char *dir, int count_all, apr_pool_t *p)
{
    apr_dir_t *d;
    apr_finfo_t fi;
    apr_uint64_t n = 0;
    apr_size_t len;

    if (apr_dir_open(&d, dir, p) != APR_SUCCESS) {
        return 0;
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME, d) == APR_SUCCESS) {
        if (!strcmp(fi.name, ".") || !strcmp(fi.name, "..")) {
            continue;
        }
        len = strlen(fi.name);
        if (count_all ||
            (!prep_package_name_ignored(fi.name) &&
             !(len > 7 && !strcmp(fi.name + len - 7, ".reason")))) {
            n++;
        }
    }
    apr_dir_close(d);
    return n;
}

/* Makes STORE/archive/<YYYYMMDD-HHMMSS in the feed's zone>, or with -2,
 * -3... when that is taken (two resets in one second). */
static apr_status_t make_archive(const char **dir, const op_ctx_t *x,
                                 apr_pool_t *p)
{
    const char *base = apr_pstrcat(p, x->store, "/" PREP_ARCHIVE_DIR, NULL);
    apr_time_exp_t tm;
    const char *stamp;
    apr_status_t rv;
    int n;

    if ((rv = apr_dir_make_recursive(base, APR_FPROT_OS_DEFAULT, p)) !=
        APR_SUCCESS) {
        return rv;
    }
    apr_time_exp_gmt(&tm, x->op->now +
                              apr_time_from_sec(x->op->feed->zone.offset_s));
    stamp = apr_psprintf(p, "%04d%02d%02d-%02d%02d%02d", tm.tm_year + 1900,
                         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                         tm.tm_sec);
    for (n = 1; n < 1000; n++) {
        *dir = n == 1 ? apr_pstrcat(p, base, "/", stamp, NULL)
                      : apr_psprintf(p, "%s/%s-%d", base, stamp, n);
        rv = apr_dir_make(*dir, APR_FPROT_OS_DEFAULT, p);
        if (!APR_STATUS_IS_EEXIST(rv)) {
            return rv;
        }
    }
    return APR_EEXIST;
}

static prep_op_status_e op_reset(const op_ctx_t *x, prep_op_result_t *res,
                                 apr_pool_t *p)
{
    const prep_op_t *op = x->op;
    /* current first: from then on nothing names a corte being moved */
    static const char *const moved[] = {PREP_CURRENT_FILE,  PREP_CONTROL_FILE,
                                        "state.json",       "cortes",
                                        PREP_PROCESSED_DIR, PREP_REJECTED_DIR};
    const char *name = op->feed->name, *archive;
    apr_uint64_t ncortes, npackages;
    json_t *fields;
    apr_status_t rv;
    size_t i;

    ncortes = count_in(apr_pstrcat(p, x->store, "/cortes", NULL), 1, p);
    npackages =
        count_in(apr_pstrcat(p, x->store, "/" PREP_PROCESSED_DIR, NULL), 0, p) +
        count_in(apr_pstrcat(p, x->store, "/" PREP_REJECTED_DIR, NULL), 0, p);
    if ((rv = make_archive(&archive, x, p)) != APR_SUCCESS) {
        return op_failed(x, rv, "make the archive folder", res, p);
    }
    for (i = 0; i < sizeof(moved) / sizeof(moved[0]); i++) {
        const char *from = apr_pstrcat(p, x->store, "/", moved[i], NULL);

        if (path_exists(from, p) &&
            (rv = apr_file_rename(from,
                                  apr_pstrcat(p, archive, "/", moved[i], NULL),
                                  p)) != APR_SUCCESS) {
            return op_failed(
                x, rv,
                apr_psprintf(p,
                             "move %s into %s (what was moved before it "
                             "is there)",
                             moved[i], archive),
                res, p);
        }
    }
    /* staging holds only what an unfinished load left: nothing to keep */
    prep_store_clean_staging(x->store, p);
    if ((rv = prep_store_prepare(x->store, p)) != APR_SUCCESS) {
        return op_failed(x, rv, "make the empty cortes folder", res, p);
    }
    {
        int fd = open(x->store, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd >= 0) { /* the renames survive a crash */
            fsync(fd);
            close(fd);
        }
    }
    res->archive = archive;
    op_end(res, PREP_OP_DONE,
           apr_psprintf(p,
                        "feed %s was reset: %" APR_UINT64_T_FMT
                        " cortes and %" APR_UINT64_T_FMT
                        " packages moved into %s; it serves nothing until its "
                        "next package",
                        name, ncortes, npackages, archive));
    fields = json_object();
    json_object_set_new(fields, "archive", json_string(archive));
    json_object_set_new(fields, "cortes", json_integer((json_int_t)ncortes));
    json_object_set_new(fields, "packages",
                        json_integer((json_int_t)npackages));
    op_journal(x, PREP_EVENT_RESET, feed_drill(x), NULL, fields, res, p);
    return PREP_OP_DONE;
}

/* ------------------------------------------------------------------ */
/* close, drill */

static prep_op_status_e op_close(const op_ctx_t *x, prep_op_result_t *res,
                                 apr_pool_t *p)
{
    const prep_op_t *op = x->op;
    const char *name = op->feed->name;
    apr_time_t closed_at;
    prep_control_t next;
    json_t *fields;
    apr_status_t rv;

    res->served = x->served_id;
    closed_at = prep_feed_closed_at(op->feed, &x->control);
    if (closed_at && op->now >= closed_at) {
        return op_end(res, PREP_OP_DONE,
                      apr_psprintf(p,
                                   "feed %s was already closed, since %s; "
                                   "nothing changed",
                                   name, shown_time(x, closed_at, p)));
    }
    next = x->control;
    next.closed_at = op->now;
    if ((rv = prep_control_write(x->store, &next, p)) != APR_SUCCESS) {
        return op_failed(x, rv, "write " PREP_CONTROL_FILE, res, p);
    }
    op_end(res, PREP_OP_DONE,
           x->served_id
               ? apr_psprintf(p,
                              "feed %s is closed since %s: it keeps serving "
                              "corte %s and is never stale",
                              name, shown_time(x, op->now, p), x->served_id)
               : apr_psprintf(p,
                              "feed %s is closed since %s; it serves no corte",
                              name, shown_time(x, op->now, p)));
    fields = json_object();
    json_object_set_new(fields, "by", json_string("prepctl"));
    op_journal(x, PREP_EVENT_CLOSED, feed_drill(x), x->served, fields, res, p);
    return PREP_OP_DONE;
}

static prep_op_status_e op_drill(const op_ctx_t *x, int on,
                                 prep_op_result_t *res, apr_pool_t *p)
{
    const prep_op_t *op = x->op;
    const char *name = op->feed->name;
    prep_control_t next;
    json_t *fields;
    apr_status_t rv;

    res->served = x->served_id;
    next = x->control;
    next.drill = on ? 1 : 0;
    if ((rv = prep_control_write(x->store, &next, p)) != APR_SUCCESS) {
        return op_failed(x, rv, "write " PREP_CONTROL_FILE, res, p);
    }
    op_end(res, PREP_OP_DONE,
           on ? apr_psprintf(p,
                             "feed %s now runs a drill: its banner says "
                             "SIMULACRO and PrepPublishFrom does not hold",
                             name)
              : apr_psprintf(p,
                             "feed %s no longer runs a drill: its banner shows "
                             "the corte time alone",
                             name));
    fields = json_object();
    json_object_set_new(fields, "on", json_boolean(on));
    /* the line of a drill's start is marked, its end is not */
    op_journal(x, PREP_EVENT_DRILL, on ? 1 : 0, NULL, fields, res, p);
    return PREP_OP_DONE;
}

/* ------------------------------------------------------------------ */
/* Each action under the store's lock, released before it returns */

typedef struct op_args {
    enum { OP_ROLLBACK, OP_PIN, OP_UNPIN, OP_RESET, OP_CLOSE, OP_DRILL } what;
    const char *id;
    int on;
} op_args_t;

static prep_op_status_e run(const prep_op_t *op, const op_args_t *a,
                            prep_op_result_t *res, apr_pool_t *p)
{
    apr_pool_t *lock_pool;
    op_ctx_t x;

    apr_pool_create(&lock_pool, p);
    if (op_begin(&x, op, res, lock_pool, p) == PREP_OP_DONE) {
        switch (a->what) {
            case OP_ROLLBACK:
                op_rollback(&x, a->id, res, p);
                break;
            case OP_PIN:
                op_pin(&x, a->id, res, p);
                break;
            case OP_UNPIN:
                op_unpin(&x, res, p);
                break;
            case OP_RESET:
                op_reset(&x, res, p);
                break;
            case OP_CLOSE:
                op_close(&x, res, p);
                break;
            case OP_DRILL:
                op_drill(&x, a->on, res, p);
                break;
        }
    }
    apr_pool_destroy(lock_pool); /* and the lock with its descriptor */
    return res->status;
}

prep_op_status_e prep_op_rollback(const prep_op_t *op, const char *id,
                                  prep_op_result_t *res, apr_pool_t *p)
{
    op_args_t a = {OP_ROLLBACK, id, 0};

    return run(op, &a, res, p);
}

prep_op_status_e prep_op_pin(const prep_op_t *op, const char *id,
                             prep_op_result_t *res, apr_pool_t *p)
{
    op_args_t a = {OP_PIN, id, 0};

    return run(op, &a, res, p);
}

prep_op_status_e prep_op_unpin(const prep_op_t *op, prep_op_result_t *res,
                               apr_pool_t *p)
{
    op_args_t a = {OP_UNPIN, NULL, 0};

    return run(op, &a, res, p);
}

prep_op_status_e prep_op_reset(const prep_op_t *op, prep_op_result_t *res,
                               apr_pool_t *p)
{
    op_args_t a = {OP_RESET, NULL, 0};

    return run(op, &a, res, p);
}

prep_op_status_e prep_op_close(const prep_op_t *op, prep_op_result_t *res,
                               apr_pool_t *p)
{
    op_args_t a = {OP_CLOSE, NULL, 0};

    return run(op, &a, res, p);
}

prep_op_status_e prep_op_drill(const prep_op_t *op, int on,
                               prep_op_result_t *res, apr_pool_t *p)
{
    op_args_t a = {OP_DRILL, NULL, on};

    return run(op, &a, res, p);
}
