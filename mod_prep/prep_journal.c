/* prep_journal.c — the journal of a feed: every event, one JSON object per
 * line in STORE/journal.jsonl, appended and fsync'd, never rewritten.
 *
 * Writers are several processes (the intake, its loaders, prepctl), so each
 * append takes STORE/journal.lock: it rotates the file when it has grown
 * past its size, writes the line with one write(2) on a descriptor opened
 * with O_APPEND, and syncs it.  A write cut short (a full disk) is undone by
 * truncating the file back to where it was, so that the journal only ever
 * holds whole lines; the caller logs the failure and goes on, as a journal
 * must never stop a publication.
 *
 * Rotation renames journal.jsonl to journal.jsonl.1 after moving every
 * older file one number up (.1 → .2 …).  A rotated file is removed only
 * once its newest line is older than the journal's `keep` (30 days): every
 * line of the last 30 days stays, and the journal stays bounded by what a
 * feed can say in 30 days.
 *
 * Each append also counts its line in STORE/counters.json, under the same
 * lock (prep_counters_add): the counters Prometheus reads survive
 * restarts, and no status request reads the journal to know them.
 *
 * Readers take the lock shared only while they open the files (an open
 * file is read whole even if it is renamed meanwhile), then read without
 * it.  A line that is not a JSON object with a readable "at" (a torn write
 * of a crashed kernel, a hand edit) is skipped and counted. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>
#include <jansson.h>

#include "prep.h"

static const char *const event_names[PREP_EVENTS] = {
    [PREP_EVENT_START] = "start",
    [PREP_EVENT_GRACEFUL] = "graceful",
    [PREP_EVENT_INTAKE_RESTART] = "intake-restart",
    [PREP_EVENT_SEEN] = "seen",
    [PREP_EVENT_PUBLISHED] = "published",
    [PREP_EVENT_RETAINED] = "retained",
    [PREP_EVENT_REPUBLISHED] = "republished",
    [PREP_EVENT_REFUSED] = "refused",
    [PREP_EVENT_SAME_CORTE] = "same-corte",
    [PREP_EVENT_STALE] = "stale",
    [PREP_EVENT_FRESH] = "fresh",
    [PREP_EVENT_EMBARGO_LIFTED] = "embargo-lifted",
    [PREP_EVENT_STORE_PROBLEM] = "store-problem",
    [PREP_EVENT_STORE_OK] = "store-ok",
    [PREP_EVENT_LOADER_CRASH] = "loader-crash",
    [PREP_EVENT_DAMAGED] = "damaged",
    [PREP_EVENT_HEALED] = "healed",
    [PREP_EVENT_ROLLBACK] = "rollback",
    [PREP_EVENT_PIN] = "pin",
    [PREP_EVENT_UNPIN] = "unpin",
    [PREP_EVENT_RESET] = "reset",
    [PREP_EVENT_DRILL] = "drill",
    [PREP_EVENT_CLOSED] = "closed",
    [PREP_EVENT_NOTIFY] = "notify",
    [PREP_EVENT_COMPLETED] = "completed",
};

const char *prep_event_name(prep_event_e e)
{
    return e < PREP_EVENTS ? event_names[e] : "unknown";
}

prep_event_e prep_event_of_name(const char *name)
{
    int e;

    for (e = 0; name && e < PREP_EVENTS; e++) {
        if (!strcmp(event_names[e], name)) {
            return (prep_event_e)e;
        }
    }
    return PREP_EVENTS;
}

/* The longest a writer waits for the lock: a writer holds it for one
 * write and one fsync. */
#define LOCK_WAIT apr_time_from_sec(1)
/* How much of a file's end is read at a time to find its last lines. */
#define TAIL_BLOCK (64 * 1024)

void prep_journal_init(prep_journal_t *j, const prep_feed_t *f, int drill)
{
    memset(j, 0, sizeof(*j));
    j->store = f->store;
    j->feed = f->name;
    j->zone = f->zone;
    j->drill = drill;
    j->rotate_bytes = PREP_JOURNAL_ROTATE;
    j->keep = PREP_JOURNAL_KEEP;
}

/* "2024-06-02T21:05:00.123-06:00": ISO-8601 with milliseconds, so that
 * the events of one second keep their order for a reader. */
static char *time_ms(apr_pool_t *p, apr_time_t t, const prep_zone_t *z)
{
    apr_time_exp_t tm;

    apr_time_exp_tz(&tm, t, z->offset_s);
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02d.%03d%s",
                        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                        tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_usec / 1000,
                        prep_zone_offset_text(p, z));
}

json_t *prep_journal_line(const prep_journal_t *j, prep_event_e e,
                          apr_time_t at)
{
    json_t *line = json_object();
    apr_pool_t *p;

    apr_pool_create(&p, NULL);
    json_object_set_new(line, PREP_JOURNAL_KEY_AT,
                        json_string(time_ms(p, at, &j->zone)));
    apr_pool_destroy(p);
    json_object_set_new(line, PREP_JOURNAL_KEY_FEED, json_string(j->feed));
    json_object_set_new(line, PREP_JOURNAL_KEY_EVENT,
                        json_string(prep_event_name(e)));
    if (j->drill) {
        json_object_set_new(line, PREP_JOURNAL_KEY_DRILL, json_true());
    }
    return line;
}

apr_status_t prep_journal_time(apr_time_t *t, const char *iso)
{
    char whole[64];
    apr_size_t n, digits = 0;
    const char *frac;
    apr_time_t usec = 0, scale = 100000;

    if (!iso || strlen(iso) >= sizeof(whole)) {
        return APR_EINVAL;
    }
    /* the fraction, if any, is cut out and the rest read as the
     * directives' ISO-8601 times are */
    frac = strchr(iso, '.');
    if (!frac) {
        return prep_parse_iso_time(t, iso) ? APR_EINVAL : APR_SUCCESS;
    }
    n = (apr_size_t)(frac - iso);
    memcpy(whole, iso, n);
    for (frac++; *frac >= '0' && *frac <= '9'; frac++, digits++) {
        usec += (*frac - '0') * scale;
        scale /= 10;
    }
    if (!digits || digits > 9) {
        return APR_EINVAL;
    }
    apr_cpystrn(whole + n, frac, sizeof(whole) - n);
    if (prep_parse_iso_time(t, whole)) {
        return APR_EINVAL;
    }
    *t += usec;
    return APR_SUCCESS;
}

/* --- writing ------------------------------------------------------- */

static const char *journal_path(apr_pool_t *p, const char *store, int n)
{
    return n ? apr_psprintf(p, "%s/" PREP_JOURNAL_FILE ".%d", store, n)
             : apr_pstrcat(p, store, "/" PREP_JOURNAL_FILE, NULL);
}

/* How many rotated files there are: .1 up to the last in a row. */
static int rotated_count(const char *store, apr_pool_t *p)
{
    struct stat st;
    int n = 0;

    while (stat(journal_path(p, store, n + 1), &st) == 0) {
        n++;
    }
    return n;
}

/* Takes STORE/journal.lock (how: LOCK_EX or LOCK_SH), waiting at most
 * LOCK_WAIT; the descriptor, or -1 with errno. */
static int journal_lock(const char *store, int how, apr_pool_t *p)
{
    const char *path = apr_pstrcat(p, store, "/" PREP_JOURNAL_LOCK, NULL);
    apr_time_t until = apr_time_now() + LOCK_WAIT;
    int fd = open(path,
                  how == LOCK_EX ? O_WRONLY | O_CREAT | O_CLOEXEC
                                 : O_RDONLY | O_CLOEXEC,
                  0644);
    int saved;

    if (fd < 0) {
        return -1;
    }
    while (flock(fd, how | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK || apr_time_now() >= until) {
            saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
        apr_sleep(apr_time_from_msec(5));
    }
    return fd;
}

/* The "at" of the last whole line of file `path`, or 0. */
static apr_time_t last_line_time(const char *path, apr_pool_t *p);

/* Removes the oldest rotated files whose newest line is older than the
 * journal's keep; stops at the first that is young enough (the files are
 * in order).  *n: the rotated files left. */
static void drop_expired(const prep_journal_t *j, int *n, apr_time_t now,
                         apr_pool_t *p)
{
    while (*n > 0) {
        const char *path = journal_path(p, j->store, *n);
        apr_time_t newest = last_line_time(path, p);

        if (newest && now - newest <= j->keep) {
            return;
        }
        if (!newest) {
            /* a rotated file with no readable line says nothing: its
             * modification time tells how old it is */
            struct stat st;

            if (stat(path, &st) != 0 ||
                now - apr_time_from_sec(st.st_mtime) <= j->keep) {
                return;
            }
        }
        if (unlink(path) != 0) {
            return;
        }
        (*n)--;
    }
}

/* journal.jsonl → journal.jsonl.1, each older one a number up. */
static apr_status_t rotate(const prep_journal_t *j, apr_pool_t *p)
{
    int n = rotated_count(j->store, p), i;

    drop_expired(j, &n, apr_time_now(), p);
    for (i = n; i >= 0; i--) {
        if (rename(journal_path(p, j->store, i),
                   journal_path(p, j->store, i + 1)) != 0) {
            return errno;
        }
    }
    return prep_store_sync(j->store);
}

/* The line's text, ended by "\n", at most PREP_JOURNAL_LINE_MAX bytes: a
 * line too long loses its "message", then every field but the common
 * ones, and says so with "cut": true. */
static char *line_text(json_t *line, apr_size_t *len, apr_pool_t *p)
{
    static const char *const kept[] = {
        PREP_JOURNAL_KEY_AT, PREP_JOURNAL_KEY_FEED, PREP_JOURNAL_KEY_EVENT,
        PREP_JOURNAL_KEY_DRILL};
    int attempt;

    for (attempt = 0; attempt < 3; attempt++) {
        char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
        char *out;

        if (!text) {
            return NULL;
        }
        *len = strlen(text);
        if (*len < PREP_JOURNAL_LINE_MAX) {
            out = apr_pstrcat(p, text, "\n", NULL);
            free(text);
            *len += 1;
            return out;
        }
        free(text);
        json_object_set_new(line, "cut", json_true());
        if (attempt == 0) {
            json_object_del(line, PREP_JOURNAL_KEY_MESSAGE);
        } else {
            json_t *slim = json_object();
            size_t k;

            for (k = 0; k < sizeof(kept) / sizeof(kept[0]); k++) {
                json_t *v = json_object_get(line, kept[k]);

                if (v) {
                    json_object_set(slim, kept[k], v);
                }
            }
            json_object_set_new(slim, "cut", json_true());
            json_object_clear(line);
            json_object_update(line, slim);
            json_decref(slim);
        }
    }
    return NULL;
}

/* Appends text under the lock already held. */
static apr_status_t append_locked(const prep_journal_t *j, const char *text,
                                  apr_size_t len, apr_pool_t *p)
{
    const char *path = journal_path(p, j->store, 0);
    struct stat st;
    apr_off_t limit =
        j->rotate_bytes > 0 ? j->rotate_bytes : PREP_JOURNAL_ROTATE;
    int fd, created;
    ssize_t n;
    apr_status_t rv = APR_SUCCESS;

    if (stat(path, &st) == 0 && st.st_size > 0 &&
        st.st_size + (apr_off_t)len > limit &&
        (rv = rotate(j, p)) != APR_SUCCESS) {
        return rv;
    }
    created = stat(path, &st) != 0;
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        return errno;
    }
    if (fstat(fd, &st) != 0) {
        rv = errno;
        close(fd);
        return rv;
    }
    n = write(fd, text, len);
    if (n != (ssize_t)len) {
        rv = n < 0 ? errno : APR_ENOSPC;
        /* nothing but whole lines: the part written goes */
        if (n > 0 && ftruncate(fd, st.st_size) != 0) {
            rv = errno;
        }
    } else if (fsync(fd) != 0) {
        rv = errno;
    }
    close(fd);
    if (rv == APR_SUCCESS && created) {
        rv = prep_store_sync(j->store);
    }
    return rv;
}

/* STORE/counters.json after an append (the counters, below). */
static void count_appended(const prep_journal_t *j, const json_t *line,
                           apr_pool_t *p);

apr_status_t prep_journal_append(const prep_journal_t *j, json_t *line,
                                 apr_pool_t *p)
{
    apr_size_t len = 0;
    char *text;
    apr_status_t rv;
    int lock;

    if (!line) {
        return APR_EINVAL;
    }
    text = line_text(line, &len, p);
    if (!text) {
        json_decref(line);
        return APR_ENOMEM;
    }
    if ((lock = journal_lock(j->store, LOCK_EX, p)) < 0) {
        rv = errno;
        json_decref(line);
        return rv;
    }
    rv = append_locked(j, text, len, p);
    if (rv == APR_SUCCESS) {
        count_appended(j, line, p);
    }
    close(lock); /* and the lock with it */
    json_decref(line);
    return rv;
}

apr_status_t prep_journal_event(const prep_journal_t *j, prep_event_e e,
                                json_t *fields, apr_pool_t *p)
{
    json_t *line = prep_journal_line(j, e, apr_time_now());

    if (fields) {
        json_object_update(line, fields);
        json_decref(fields);
    }
    return prep_journal_append(j, line, p);
}

apr_status_t prep_journal_corte(const prep_journal_t *j, prep_event_e e,
                                const prep_corte_t *c, json_t *fields,
                                apr_pool_t *p)
{
    json_t *line = prep_journal_line(j, e, apr_time_now());

    if (c) {
        json_object_set_new(line, PREP_JOURNAL_KEY_CORTE,
                            prep_corte_to_json(c, &j->zone, p));
    }
    if (fields) {
        json_object_update(line, fields);
        json_decref(fields);
    }
    return prep_journal_append(j, line, p);
}

apr_status_t prep_journal_refused(const prep_journal_t *j, const char *package,
                                  const prep_verdict_t *v, apr_pool_t *p)
{
    json_t *fields = json_object();

    json_object_set_new(fields, PREP_JOURNAL_KEY_PACKAGE,
                        json_string(package ? package : ""));
    json_object_set_new(fields, PREP_JOURNAL_KEY_REASON,
                        json_string(v && v->reason ? v->reason : ""));
    json_object_set_new(fields, PREP_JOURNAL_KEY_MESSAGE,
                        json_string(v && v->message ? v->message : ""));
    return prep_journal_event(j, PREP_EVENT_REFUSED, fields, p);
}

/* --- reading ------------------------------------------------------- */

/* A line as a journal line: a JSON object with a readable "at", or NULL. */
static json_t *parse_line(const char *text, apr_size_t len, apr_time_t *at)
{
    json_t *line = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *when = json_object_get(line, PREP_JOURNAL_KEY_AT);

    if (!json_is_object(line) || !json_is_string(when) ||
        prep_journal_time(at, json_string_value(when)) != APR_SUCCESS) {
        json_decref(line);
        return NULL;
    }
    return line;
}

/* A reader of one open file's lines, in blocks. */
typedef struct line_reader {
    int fd;
    char *buf;
    apr_size_t size, start, end;
    int eof;
    int too_long; /* the line just given was longer than the buffer */
} line_reader_t;

/* The next line (without its "\n", NUL-terminated in the buffer), or NULL
 * at the end.  A line longer than the buffer is skipped whole, given as ""
 * with r->too_long set.  A last line without "\n" is given too (it may be
 * whole: the JSON parser decides). */
static char *next_line(line_reader_t *r, apr_size_t *len)
{
    r->too_long = 0;
    for (;;) {
        char *line = r->buf + r->start;
        char *nl = memchr(line, '\n', r->end - r->start);
        ssize_t n;

        if (nl || (r->eof && r->start < r->end)) {
            if (!nl) {
                nl = r->buf + r->end;
            }
            *nl = '\0';
            *len = (apr_size_t)(nl - line);
            r->start = (apr_size_t)(nl - r->buf) + (nl < r->buf + r->end);
            if (r->start > r->end) {
                r->start = r->end;
            }
            if (r->too_long) {
                *len = 0;
                return nl;
            }
            return line;
        }
        if (r->eof) {
            return NULL;
        }
        if (r->start > 0) {
            memmove(r->buf, line, r->end - r->start);
            r->end -= r->start;
            r->start = 0;
        }
        if (r->end == r->size - 1) {
            /* longer than any journal line: dropped up to its end */
            r->too_long = 1;
            r->end = 0;
        }
        n = read(r->fd, r->buf + r->end, r->size - 1 - r->end);
        if (n <= 0) {
            r->eof = 1;
        } else {
            r->end += (apr_size_t)n;
        }
    }
}

static apr_status_t each_in_file(int fd, apr_time_t since, prep_journal_fn *fn,
                                 void *baton, apr_uint64_t *bad, apr_pool_t *p)
{
    line_reader_t r;
    char *text;
    apr_size_t len;
    apr_status_t rv = APR_SUCCESS;

    memset(&r, 0, sizeof(r));
    r.fd = fd;
    r.size = 4 * PREP_JOURNAL_LINE_MAX;
    r.buf = apr_palloc(p, r.size);
    while (rv == APR_SUCCESS && (text = next_line(&r, &len))) {
        apr_time_t at;
        json_t *line;

        if (!len && !r.too_long) {
            continue; /* an empty line is no event, and no damage */
        }
        if (r.too_long || !(line = parse_line(text, len, &at))) {
            if (bad) {
                (*bad)++;
            }
            continue;
        }
        if (at >= since) {
            rv = fn(baton, line);
        }
        json_decref(line);
    }
    return rv;
}

/* Every line of the journal's files to fn; the files are opened under the
 * lock shared unless `locked` (the caller holds it exclusively). */
static apr_status_t each_line(const char *store, apr_time_t since,
                              prep_journal_fn *fn, void *baton,
                              apr_uint64_t *bad, int locked, apr_pool_t *p)
{
    int lock = locked ? -1 : journal_lock(store, LOCK_SH, p);
    int n = rotated_count(store, p), i, *fds;
    apr_status_t rv = APR_SUCCESS;

    /* every file opened under the lock: a rotation meanwhile would
     * otherwise show a file twice or not at all */
    fds = apr_pcalloc(p, (apr_size_t)(n + 1) * sizeof(int));
    for (i = n; i >= 0; i--) {
        fds[i] = open(journal_path(p, store, i), O_RDONLY | O_CLOEXEC);
    }
    if (lock >= 0) {
        close(lock);
    }
    for (i = n; i >= 0; i--) {
        if (fds[i] < 0) {
            continue;
        }
        if (rv == APR_SUCCESS) {
            apr_pool_t *sub;

            apr_pool_create(&sub, p);
            rv = each_in_file(fds[i], since, fn, baton, bad, sub);
            apr_pool_destroy(sub);
        }
        close(fds[i]);
    }
    return rv;
}

apr_status_t prep_journal_each(const char *store, apr_time_t since,
                               prep_journal_fn *fn, void *baton,
                               apr_uint64_t *bad, apr_pool_t *p)
{
    return each_line(store, since, fn, baton, bad, 0, p);
}

/* --- the counters -------------------------------------------------- */

typedef struct recount {
    prep_counters_t *counters;
    apr_pool_t *p;
} recount_t;

static apr_status_t count_line(void *baton, json_t *line)
{
    recount_t *r = baton;

    if (!r->counters->since) {
        prep_journal_time(
            &r->counters->since,
            json_string_value(json_object_get(line, PREP_JOURNAL_KEY_AT)));
    }
    prep_counters_add(r->counters, line, r->p);
    return APR_SUCCESS;
}

/* STORE/counters.json after `line` was appended, under the lock still
 * held: the line counted, or, when the file is missing or unreadable, the
 * whole journal (this line in it).  A file that cannot be written goes,
 * so that the next append counts the journal again rather than go on
 * from a count that missed a line. */
static void count_appended(const prep_journal_t *j, const json_t *line,
                           apr_pool_t *p)
{
    prep_counters_t c;
    int changed;

    if (prep_store_read_counters(&c, j->store, p) == APR_SUCCESS) {
        changed = prep_counters_add(&c, line, p);
    } else {
        recount_t r = {&c, p};

        prep_counters_init(&c, p);
        each_line(j->store, 0, count_line, &r, NULL, 1, p);
        changed = 1;
    }
    if (changed && prep_store_write_counters(j->store, &c, p) != APR_SUCCESS) {
        unlink(apr_pstrcat(p, j->store, "/" PREP_COUNTERS_FILE, NULL));
    }
}

/* The last whole lines of the file at fd, at most `want` of them, newest
 * last, into lines (json_t *, each a reference of the array). */
static void tail_of(int fd, int want, json_t *lines, apr_pool_t *p)
{
    struct stat st;
    apr_off_t from;
    apr_size_t len;
    char *buf, *end, *c;
    json_t *found = json_array();
    size_t i;

    if (fstat(fd, &st) != 0 || st.st_size == 0) {
        json_decref(found);
        return;
    }
    /* enough of the end for `want` lines of the usual size; a status page
     * needs the recent events, not a journal's worth of long ones */
    len = (apr_size_t)TAIL_BLOCK + (apr_size_t)want * 1024;
    if ((apr_off_t)len > (apr_off_t)st.st_size) {
        len = (apr_size_t)st.st_size;
    }
    from = st.st_size - (apr_off_t)len;
    buf = apr_palloc(p, len + 1);
    if (pread(fd, buf, len, from) != (ssize_t)len) {
        json_decref(found);
        return;
    }
    buf[len] = '\0';
    end = buf + len;
    /* newest first, from the end; the first piece is whole only when the
     * read started at the file's start */
    while (end > buf && (int)json_array_size(found) < want) {
        apr_time_t at;
        json_t *line;

        if (end[-1] == '\n') {
            end--;
        }
        for (c = end; c > buf && c[-1] != '\n'; c--) {
        }
        if (c == buf && from > 0) {
            break;
        }
        if (end > c && (line = parse_line(c, (apr_size_t)(end - c), &at))) {
            json_array_append_new(found, line);
        }
        end = c;
    }
    for (i = json_array_size(found); i > 0; i--) {
        json_array_append(lines, json_array_get(found, i - 1));
    }
    json_decref(found);
}

json_t *prep_journal_tail(const char *store, int n, apr_pool_t *p)
{
    json_t *newer = json_array(), *older, *all;
    int fd;

    if (n <= 0) {
        return newer;
    }
    fd = open(journal_path(p, store, 0), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        tail_of(fd, n, newer, p);
        close(fd);
    }
    if ((int)json_array_size(newer) >= n) {
        return newer;
    }
    /* just rotated: the rest is at the end of .1 */
    older = json_array();
    fd = open(journal_path(p, store, 1), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        tail_of(fd, n - (int)json_array_size(newer), older, p);
        close(fd);
    }
    all = older;
    json_array_extend(all, newer);
    json_decref(newer);
    return all;
}

static apr_time_t last_line_time(const char *path, apr_pool_t *p)
{
    json_t *lines = json_array();
    apr_time_t at = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd >= 0) {
        tail_of(fd, 1, lines, p);
        close(fd);
    }
    if (json_array_size(lines) == 1) {
        prep_journal_time(
            &at, json_string_value(json_object_get(json_array_get(lines, 0),
                                                   PREP_JOURNAL_KEY_AT)));
    }
    json_decref(lines);
    return at;
}

/* --- following ----------------------------------------------------- */

void prep_journal_cursor_end(prep_journal_cursor_t *c, const char *store)
{
    apr_pool_t *p;
    struct stat st;

    memset(c, 0, sizeof(*c));
    apr_pool_create(&p, NULL);
    if (stat(journal_path(p, store, 0), &st) == 0) {
        c->dev = (apr_uint64_t)st.st_dev;
        c->ino = (apr_uint64_t)st.st_ino;
        c->offset = (apr_off_t)st.st_size;
    }
    apr_pool_destroy(p);
}

static int is_cursor_file(const prep_journal_cursor_t *c, const struct stat *st)
{
    return c->ino && (apr_uint64_t)st->st_dev == c->dev &&
           (apr_uint64_t)st->st_ino == c->ino;
}

/* One line taken by a follower: a damaged one is counted, a whole one
 * given to fn. */
static apr_status_t take_line(const char *text, apr_size_t len,
                              prep_journal_fn *fn, void *baton,
                              apr_uint64_t *bad)
{
    apr_time_t at;
    json_t *line;
    apr_status_t rv;

    if (!len) {
        return APR_SUCCESS; /* an empty line is no event, and no damage */
    }
    if (!(line = parse_line(text, len, &at))) {
        if (bad) {
            (*bad)++;
        }
        return APR_SUCCESS;
    }
    rv = fn(baton, line);
    json_decref(line);
    return rv;
}

/* The whole lines of the file at fd from *offset on, to fn, *offset moved
 * past each; *left: the bytes that may still be read.  *done: the file's
 * end was reached.  A file that no longer grows (rotated) has no line to
 * come: a last line without "\n" there is damage, counted and passed. */
static apr_status_t follow_file(int fd, apr_off_t *offset, apr_off_t *left,
                                int growing, int *done, prep_journal_fn *fn,
                                void *baton, apr_uint64_t *bad, apr_pool_t *p)
{
    apr_size_t size = 4 * PREP_JOURNAL_LINE_MAX, have = 0;
    char *buf = apr_palloc(p, size);
    apr_off_t read_at = *offset;
    int skipping = 0; /* in a line longer than the buffer: dropped whole */

    *done = 0;
    while (*left > 0) {
        apr_size_t want = size - have;
        char *start = buf, *nl;
        ssize_t n;

        if ((apr_off_t)want > *left) {
            want = (apr_size_t)*left;
        }
        n = pread(fd, buf + have, want, read_at);
        if (n < 0) {
            return errno;
        }
        if (n == 0) {
            *done = 1;
            break;
        }
        read_at += n;
        have += (apr_size_t)n;
        *left -= n;
        while ((nl = memchr(start, '\n', have - (apr_size_t)(start - buf)))) {
            apr_size_t len = (apr_size_t)(nl - start);
            apr_status_t rv = APR_SUCCESS;

            *offset += (apr_off_t)len + 1;
            if (skipping) {
                skipping = 0;
                if (bad) {
                    (*bad)++;
                }
            } else {
                rv = take_line(start, len, fn, baton, bad);
            }
            start = nl + 1;
            if (rv != APR_SUCCESS) {
                return rv;
            }
        }
        have -= (apr_size_t)(start - buf);
        if (have == size) {
            /* longer than any journal line: passed up to its end */
            skipping = 1;
            *offset += (apr_off_t)have;
            have = 0;
        } else if (have && start != buf) {
            memmove(buf, start, have);
        }
    }
    if (*done && !growing && (have || skipping)) {
        *offset += (apr_off_t)have;
        if (bad) {
            (*bad)++;
        }
    }
    return APR_SUCCESS;
}

apr_status_t prep_journal_follow(prep_journal_cursor_t *c, const char *store,
                                 apr_off_t budget, prep_journal_fn *fn,
                                 void *baton, apr_uint64_t *bad, apr_pool_t *p)
{
    int lock = journal_lock(store, LOCK_SH, p);
    int fd = open(journal_path(p, store, 0), O_RDONLY | O_CLOEXEC);
    int rotated = -1, done = 0;
    struct stat st, rst;
    apr_off_t left = budget > 0 ? budget : APR_INT64_MAX;
    apr_status_t rv = APR_SUCCESS;

    if (fd >= 0 && fstat(fd, &st) != 0) {
        close(fd);
        fd = -1;
    }
    /* the file the cursor is in was rotated: it is .1 now, unless it
     * rotated again meanwhile (its lines are lost to this follower) */
    if (fd >= 0 && c->ino && !is_cursor_file(c, &st)) {
        rotated = open(journal_path(p, store, 1), O_RDONLY | O_CLOEXEC);
        if (rotated >= 0 &&
            (fstat(rotated, &rst) != 0 || !is_cursor_file(c, &rst))) {
            close(rotated);
            rotated = -1;
        }
    }
    if (lock >= 0) {
        close(lock);
    }
    if (rotated >= 0) {
        rv = follow_file(rotated, &c->offset, &left, 0, &done, fn, baton, bad,
                         p);
        close(rotated);
        if (rv != APR_SUCCESS || !done) {
            if (fd >= 0) {
                close(fd);
            }
            return rv;
        }
    }
    if (fd < 0) {
        return rv; /* no journal (yet): the cursor waits where it is */
    }
    if (!is_cursor_file(c, &st)) {
        c->dev = (apr_uint64_t)st.st_dev;
        c->ino = (apr_uint64_t)st.st_ino;
        c->offset = 0;
    } else if (c->offset > (apr_off_t)st.st_size) {
        c->offset = 0; /* cut back by hand: read again from its start */
    }
    rv = follow_file(fd, &c->offset, &left, 1, &done, fn, baton, bad, p);
    close(fd);
    return rv;
}
