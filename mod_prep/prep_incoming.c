/* prep_incoming.c — what happens in PrepIncoming.  The institute's uploader
 * owns that directory: any name in it may be renamed, replaced by a link or
 * a FIFO, or rewritten at any moment.  So every name is looked at without
 * following links, a package is opened exactly once and checked to be the
 * file that settled, and nothing mod_prep writes lives there: packages are
 * set aside into the store, which only the loader account writes.  Also the
 * intake's decisions over what it saw at its polls: when a package has
 * settled, which is read first, the wait for its sidecar, the hold of a
 * truncated upload, and a loader's crash (once more, then set aside). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_portable.h>
#include <apr_strings.h>

#include "prep.h"

#define COPY_BLOCK (256 * 1024)

int prep_identity_equal(const prep_file_identity_t *a,
                        const prep_file_identity_t *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime == b->mtime;
}

static void identity_of(prep_file_identity_t *id, const struct stat *st)
{
    id->dev = (apr_uint64_t)st->st_dev;
    id->ino = (apr_uint64_t)st->st_ino;
    id->size = (apr_off_t)st->st_size;
    id->mtime =
        apr_time_from_sec(st->st_mtim.tv_sec) + st->st_mtim.tv_nsec / 1000;
    id->ctime =
        apr_time_from_sec(st->st_ctim.tv_sec) + st->st_ctim.tv_nsec / 1000;
}

const char *prep_incoming_kind_text(prep_incoming_kind_e k)
{
    switch (k) {
        case PREP_INCOMING_LINK:
            return "symbolic link";
        case PREP_INCOMING_FIFO:
            return "FIFO";
        case PREP_INCOMING_DIRECTORY:
            return "directory";
        case PREP_INCOMING_SPECIAL:
            return "socket or device";
        case PREP_INCOMING_UNREADABLE:
            return "not readable by the loader account";
        case PREP_INCOMING_GONE:
            return "gone";
        default:
            return NULL;
    }
}

/* Whether this process may read a file of that owner and mode: the check
 * the open would make, without opening (an open of a FIFO or a device is an
 * action of its own). */
static int readable(const struct stat *st)
{
    if (geteuid() == 0) {
        return 1;
    }
    if (st->st_uid == geteuid()) {
        return (st->st_mode & S_IRUSR) != 0;
    }
    if (st->st_gid == getegid() || group_member(st->st_gid)) {
        return (st->st_mode & S_IRGRP) != 0;
    }
    return (st->st_mode & S_IROTH) != 0;
}

/* The same check for another account. */
static int reader_may_read(const struct stat *st, const prep_reader_t *r)
{
    int i, member = st->st_gid == r->gid;

    if (r->uid == 0) {
        return 1;
    }
    if (st->st_uid == r->uid) {
        return (st->st_mode & S_IRUSR) != 0;
    }
    for (i = 0; !member && i < r->ngroups; i++) {
        member = st->st_gid == r->groups[i];
    }
    if (member) {
        return (st->st_mode & S_IRGRP) != 0;
    }
    return (st->st_mode & S_IROTH) != 0;
}

prep_incoming_kind_e prep_incoming_kind_of(const char *name,
                                           const struct stat *st,
                                           const prep_reader_t *reader)
{
    if (S_ISLNK(st->st_mode)) {
        return PREP_INCOMING_LINK;
    }
    if (S_ISFIFO(st->st_mode)) {
        return PREP_INCOMING_FIFO;
    }
    if (S_ISDIR(st->st_mode)) {
        return PREP_INCOMING_DIRECTORY;
    }
    if (!S_ISREG(st->st_mode)) {
        return PREP_INCOMING_SPECIAL;
    }
    if (prep_package_name_ignored(name)) {
        return PREP_INCOMING_IN_PROGRESS;
    }
    return (reader ? reader_may_read(st, reader) : readable(st))
               ? PREP_INCOMING_PACKAGE
               : PREP_INCOMING_UNREADABLE;
}

prep_incoming_kind_e prep_incoming_classify(int dirfd, const char *name,
                                            prep_file_identity_t *id)
{
    struct stat st;

    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        return PREP_INCOMING_GONE;
    }
    identity_of(id, &st);
    return prep_incoming_kind_of(name, &st, NULL);
}

/* An account's name, or its number when it has none. */
static const char *user_name(apr_uid_t uid, apr_pool_t *p)
{
    char *name;

    return apr_uid_name_get(&name, uid, p) == APR_SUCCESS
               ? name
               : apr_psprintf(p, "%lu", (unsigned long)uid);
}

static const char *group_name(apr_gid_t gid, apr_pool_t *p)
{
    char *name;

    return apr_gid_name_get(&name, gid, p) == APR_SUCCESS
               ? name
               : apr_psprintf(p, "%lu", (unsigned long)gid);
}

void prep_incoming_unreadable_verdict(prep_verdict_t *v, const struct stat *st,
                                      const char *loader, apr_pool_t *p)
{
    const char *who = loader ? loader : user_name(geteuid(), p);

    prep_refuse(
        v, p, "unreadable",
        "the loader account %s cannot read the package: it has mode %04o, "
        "owner %s, group %s; send it again readable by %s, with mode 0644: "
        "chmod 0644 before the upload (or, in sftp, chmod 644 on the upload "
        "before its rename), and on this server internal-sftp -u 0022 (and "
        "-m 0644 where sftp-server has it)",
        who, (unsigned)(st->st_mode & 07777), user_name(st->st_uid, p),
        group_name(st->st_gid, p), who);
}

/* openat without following a link, without blocking on a FIFO and without
 * taking a terminal; then a plain blocking descriptor of a regular file. */
static int open_regular(int dirfd, const char *name, struct stat *st)
{
    int fd = openat(dirfd, name,
                    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    int flags;

    if (fd < 0) {
        return -1;
    }
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        errno = APR_EMISMATCH;
        return -1;
    }
    flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static apr_status_t wrap_fd(apr_file_t **out, int fd, apr_pool_t *p)
{
    apr_os_file_t os = fd;
    apr_status_t rv = apr_os_file_put(out, &os, APR_FOPEN_READ, p);

    if (rv != APR_SUCCESS) {
        close(fd);
        return rv;
    }
    /* apr_os_file_put does not close on pool cleanup; closing is ours */
    apr_pool_cleanup_register(p, *out, (apr_status_t(*)(void *))apr_file_close,
                              apr_pool_cleanup_null);
    return APR_SUCCESS;
}

apr_status_t prep_incoming_open(apr_file_t **out, prep_file_identity_t *id,
                                int dirfd, const char *name,
                                const prep_file_identity_t *expected,
                                apr_pool_t *p)
{
    struct stat st;
    int fd = open_regular(dirfd, name, &st);

    if (fd < 0) {
        return errno == ELOOP || errno == ENXIO ? APR_EMISMATCH : errno;
    }
    identity_of(id, &st);
    if (expected && !prep_identity_equal(id, expected)) {
        close(fd);
        return APR_EMISMATCH;
    }
    return wrap_fd(out, fd, p);
}

apr_status_t prep_incoming_read_small(char **text, apr_size_t *len, int dirfd,
                                      const char *name, apr_size_t max,
                                      const char **why, apr_pool_t *p)
{
    struct stat st;
    int fd = open_regular(dirfd, name, &st);
    char *buf;
    apr_size_t got = 0;

    if (fd < 0) {
        *why = errno == ENOENT   ? "is missing"
               : errno == EACCES ? "cannot be read by the loader account"
               : errno == ELOOP  ? "is a symbolic link"
                                 : "is not a regular file";
        return APR_EGENERAL;
    }
    if ((apr_size_t)st.st_size > max) {
        close(fd);
        *why = apr_psprintf(p, "is larger than %" APR_SIZE_T_FMT " bytes", max);
        return APR_EGENERAL;
    }
    buf = apr_palloc(p, max + 1);
    /* reads to the end or the bound, whatever the size said */
    while (got <= max) {
        ssize_t n = read(fd, buf + got, max + 1 - got);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        got += (apr_size_t)n;
    }
    close(fd);
    if (got > max) {
        *why = apr_psprintf(p, "is larger than %" APR_SIZE_T_FMT " bytes", max);
        return APR_EGENERAL;
    }
    buf[got] = '\0';
    *text = buf;
    *len = got;
    return APR_SUCCESS;
}

int prep_incoming_still(int dirfd, const char *name,
                        const prep_file_identity_t *id)
{
    struct stat st;
    prep_file_identity_t now;

    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(st.st_mode)) {
        return 0;
    }
    identity_of(&now, &st);
    return prep_identity_equal(&now, id);
}

int prep_incoming_unchanged(apr_file_t *package, const prep_file_identity_t *id)
{
    apr_os_file_t fd;
    struct stat st;
    prep_file_identity_t now;

    apr_os_file_get(&fd, package);
    if (fstat(fd, &st) != 0) {
        return 0;
    }
    identity_of(&now, &st);
    return now.size == id->size && now.mtime == id->mtime;
}

/* STORE/<sub>, a real directory of this account's, created if missing. */
static int open_aside_dir(const char *store, const char *sub, apr_pool_t *p)
{
    const char *path = apr_pstrcat(p, store, "/", sub, NULL);
    struct stat st;
    int fd;

    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        return -1;
    }
    fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    if (fstat(fd, &st) != 0 || st.st_uid != geteuid()) {
        close(fd);
        errno = EPERM;
        return -1;
    }
    return fd;
}

/* Creates `name` in dirfd (never through a link, never over a file),
 * replacing an earlier file of that name. */
static int create_new(int dirfd, const char *name)
{
    unlinkat(dirfd, name, 0);
    return openat(dirfd, name,
                  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
}

static apr_status_t write_block(void *baton, const unsigned char *bytes,
                                apr_size_t n)
{
    int out = *(int *)baton;

    return write(out, bytes, n) == (ssize_t)n ? APR_SUCCESS
           : errno                            ? errno
                                              : APR_EGENERAL;
}

/* The bytes of descriptor `in` into a new file to_fd/name of this account,
 * mode 0644, written through name.tmp and renamed. */
static apr_status_t copy_into(int in, int to_fd, const char *name,
                              apr_pool_t *p)
{
    const char *tmp = apr_pstrcat(p, name, ".tmp", NULL);
    apr_status_t rv;
    int out;

    if ((out = create_new(to_fd, tmp)) < 0) {
        return errno;
    }
    rv = prep_fd_blocks(in, COPY_BLOCK, write_block, &out);
    if (rv == APR_SUCCESS && fsync(out) != 0) {
        rv = errno;
    }
    close(out);
    if (rv == APR_SUCCESS && renameat(to_fd, tmp, to_fd, name) != 0) {
        rv = errno;
    }
    if (rv != APR_SUCCESS) {
        unlinkat(to_fd, tmp, 0);
    }
    return rv;
}

apr_status_t prep_incoming_move_unread(int dirfd, const char *name,
                                       const struct stat *st, int to_fd)
{
    struct stat moved;

    if (renameat(dirfd, name, to_fd, name) != 0) {
        return errno;
    }
    if (fstatat(to_fd, name, &moved, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISREG(moved.st_mode) && moved.st_dev == st->st_dev &&
        moved.st_ino == st->st_ino) {
        return APR_SUCCESS;
    }
    /* the uploader put something else under the name in between: back
     * where it came from (never over a newer upload), or, when that
     * cannot be, removed from the store unless it is a directory */
    if (renameat2(to_fd, name, dirfd, name, RENAME_NOREPLACE) != 0 &&
        !S_ISDIR(moved.st_mode)) {
        unlinkat(to_fd, name, 0);
    }
    return APR_EMISMATCH;
}

/* Moves `name` out of dirfd into to_fd.  A file of this account is renamed;
 * an upload (another account's inode, which its owner could still write
 * through a descriptor it kept) is copied from `package` (or a fresh
 * no-follow open of it), so that everything in the store is this
 * account's, then its name removed if it still names what was copied.  A
 * regular file this account cannot open for reading cannot be copied: it
 * is renamed as it is (never read, it keeps its owner and mode). */
static apr_status_t move_into(int dirfd, const char *name, apr_file_t *package,
                              int to_fd, apr_pool_t *p)
{
    struct stat st, now;
    apr_os_file_t in = -1;
    apr_status_t rv;
    int own = -1;

    if (package) {
        apr_os_file_get(&in, package);
    } else if ((own = open_regular(dirfd, name, &st)) < 0) {
        rv = errno;
        if (rv == EACCES &&
            fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISREG(st.st_mode)) {
            rv = prep_incoming_move_unread(dirfd, name, &st, to_fd);
        }
        return rv;
    } else {
        in = own;
    }
    if (fstat(in, &st) != 0) {
        rv = errno;
    } else if (st.st_uid == geteuid() &&
               renameat(dirfd, name, to_fd, name) == 0) {
        rv = APR_SUCCESS;
    } else {
        rv = copy_into(in, to_fd, name, p);
        if (rv == APR_SUCCESS &&
            fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
            now.st_dev == st.st_dev && now.st_ino == st.st_ino) {
            unlinkat(dirfd, name, 0);
        }
    }
    if (own >= 0) {
        close(own);
    }
    return rv;
}

static void write_reason(int to_fd, const char *name, const prep_verdict_t *v,
                         apr_pool_t *p)
{
    const char *text =
        apr_psprintf(p, "%s: %s\n", v->reason, v->message ? v->message : "");
    int fd = create_new(to_fd, apr_pstrcat(p, name, ".reason", NULL));

    if (fd >= 0) {
        if (write(fd, text, strlen(text)) < 0) {
            /* the reason is in the status and the log too */
        }
        close(fd);
    }
}

apr_status_t prep_incoming_set_aside(const struct prep_feed *feed, int dirfd,
                                     const char *name, apr_file_t *package,
                                     const prep_file_identity_t *id,
                                     prep_aside_e where,
                                     const prep_verdict_t *v, apr_pool_t *p)
{
    static const char *const sidecars[] = {".sha256", ".sig"};
    int to_fd = open_aside_dir(
        feed->store,
        where == PREP_ASIDE_REJECTED ? PREP_REJECTED_DIR : PREP_PROCESSED_DIR,
        p);
    apr_status_t rv = APR_SUCCESS;
    size_t i;

    if (to_fd < 0) {
        return errno;
    }
    /* Only the file that was read goes: a name that now names another
     * upload is left for that upload's own turn. */
    if (id && !prep_incoming_still(dirfd, name, id)) {
        rv = APR_EMISMATCH;
    } else {
        rv = move_into(dirfd, name, package, to_fd, p);
    }
    if (rv == APR_SUCCESS) {
        for (i = 0; i < sizeof(sidecars) / sizeof(sidecars[0]); i++) {
            const char *side = apr_pstrcat(p, name, sidecars[i], NULL);
            struct stat st;

            /* a sidecar goes along only as the regular file it is */
            if (fstatat(dirfd, side, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                S_ISREG(st.st_mode)) {
                move_into(dirfd, side, NULL, to_fd, p);
            }
        }
    }
    if (v && v->reason) {
        write_reason(to_fd, name, v, p);
    }
    close(to_fd);
    return rv;
}

static int by_mtime(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void prep_incoming_prune_processed(const struct prep_feed *feed, apr_pool_t *p)
{
    const char *dir = apr_pstrcat(p, feed->store, "/" PREP_PROCESSED_DIR, NULL);
    apr_array_header_t *names = apr_array_make(p, 16, sizeof(char *));
    apr_dir_t *d;
    apr_finfo_t fi;
    int i;

    if (apr_dir_open(&d, dir, p) != APR_SUCCESS) {
        return;
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE | APR_FINFO_MTIME,
                        d) == APR_SUCCESS) {
        if (fi.filetype == APR_REG && !prep_package_name_ignored(fi.name)) {
            APR_ARRAY_PUSH(names, const char *) =
                apr_psprintf(p, "%020" APR_TIME_T_FMT "/%s", fi.mtime, fi.name);
        }
    }
    apr_dir_close(d);
    qsort(names->elts, (size_t)names->nelts, sizeof(char *), by_mtime);
    for (i = 0; i + feed->keep < names->nelts; i++) {
        const char *name =
            strchr(APR_ARRAY_IDX(names, i, const char *), '/') + 1;
        const char *base = apr_pstrcat(p, dir, "/", name, NULL);

        apr_file_remove(base, p);
        apr_file_remove(apr_pstrcat(p, base, ".sha256", NULL), p);
        apr_file_remove(apr_pstrcat(p, base, ".sig", NULL), p);
    }
}

/* Length of the UTF-8 sequence at s (1..4), or 0 when it is not one. */
static int utf8_length(const unsigned char *s)
{
    int n, i;

    if (s[0] < 0x80) {
        return 1;
    }
    n = s[0] >= 0xF0 && s[0] <= 0xF4   ? 4
        : s[0] >= 0xE0                 ? 3
        : s[0] >= 0xC2 && s[0] <= 0xDF ? 2
                                       : 0;
    if (s[0] >= 0xF5) {
        n = 0;
    }
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
    }
    /* overlong three-byte forms and UTF-16 surrogates */
    if (n == 3 &&
        ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0))) {
        return 0;
    }
    if (n == 4 &&
        ((s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90))) {
        return 0;
    }
    return n;
}

const char *prep_name_shown(apr_pool_t *p, const char *name)
{
    const unsigned char *s = (const unsigned char *)(name ? name : "");
    char *out = apr_palloc(p, strlen((const char *)s) * 4 + 1), *o = out;

    while (*s) {
        int n = utf8_length(s);

        if (n == 1 && (*s < 0x20 || *s == 0x7F)) {
            n = 0;
        }
        if (n == 0) {
            apr_snprintf(o, 5, "\\x%02x", *s);
            o += 4;
            s++;
            continue;
        }
        memcpy(o, s, (size_t)n);
        o += n;
        s += n;
    }
    *o = '\0';
    return out;
}

/* The "refused" line of a package: a drill's when the feed runs one, as
 * the operator's control says now. */
static apr_status_t journal_refused(const prep_feed_t *feed, const char *shown,
                                    const prep_verdict_t *v, apr_pool_t *p)
{
    prep_control_t control;
    prep_journal_t j;

    prep_control_read(&control, feed->store, p); /* the defaults if not */
    prep_journal_init(&j, feed, prep_feed_drill(feed, &control));
    return prep_journal_refused(&j, shown, v, p);
}

apr_status_t prep_incoming_reject_journaled(
    const prep_feed_t *feed, int dirfd, const char *name, apr_file_t *package,
    const prep_file_identity_t *id, const prep_verdict_t *v,
    apr_status_t *journaled, apr_pool_t *p)
{
    const char *shown = prep_name_shown(p, name);
    int own = -1;
    apr_status_t rv;

    prep_store_record_rejected(feed->store, shown, v, apr_time_now(), p);
    if (dirfd < 0 &&
        (dirfd = own =
             open(feed->incoming, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        rv = errno;
    } else {
        rv = prep_incoming_set_aside(feed, dirfd, name, package, id,
                                     PREP_ASIDE_REJECTED, v, p);
    }
    if (own >= 0) {
        close(own);
    }
    /* refused for good whether or not it could be moved: said once, after
     * it is recorded */
    *journaled = journal_refused(feed, shown, v, p);
    return rv;
}

apr_status_t prep_incoming_reject(const prep_feed_t *feed, int dirfd,
                                  const char *name, apr_file_t *package,
                                  const prep_file_identity_t *id,
                                  const prep_verdict_t *v, apr_pool_t *p)
{
    apr_status_t journaled;

    return prep_incoming_reject_journaled(feed, dirfd, name, package, id, v,
                                          &journaled, p);
}

apr_status_t prep_incoming_refuse_unreadable(const prep_feed_t *feed, int dirfd,
                                             const char *name,
                                             const prep_file_identity_t *id,
                                             prep_verdict_t *v, apr_pool_t *p)
{
    prep_file_identity_t now;
    struct stat st;

    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        return errno;
    }
    identity_of(&now, &st);
    if (!prep_identity_equal(&now, id) ||
        prep_incoming_kind_of(name, &st, NULL) != PREP_INCOMING_UNREADABLE) {
        return APR_EMISMATCH;
    }
    prep_incoming_unreadable_verdict(v, &st, NULL, p);
    return prep_incoming_reject(feed, dirfd, name, NULL, id, v, p);
}

/* --- the intake's decisions ---------------------------------------- */

void prep_incoming_seen(prep_seen_t *now, const prep_seen_t *last,
                        const prep_file_identity_t *id)
{
    if (last && prep_identity_equal(&last->id, id)) {
        *now = *last;
        now->polls++;
        return;
    }
    memset(now, 0, sizeof(*now));
    now->id = *id;
}

int prep_incoming_settled(const prep_seen_t *s, apr_interval_time_t settle,
                          apr_time_t now)
{
    apr_time_t at;

    if (s->done || (s->hold_until && now < s->hold_until)) {
        return 0;
    }
    /* renamed in, and still the file seen right after: complete */
    if (s->renamed_in) {
        return 1;
    }
    /* closed, then unchanged for the settle time; else (polled) unchanged
     * across two polls and for the settle time after its mtime */
    at = prep_incoming_settles_at(s, settle);
    return s->polls >= 1 && now >= (at ? at : s->id.mtime + settle);
}

void prep_incoming_watched(prep_seen_t *s, int renamed, apr_time_t closed_at)
{
    if (renamed) {
        s->renamed_in = 1;
        s->closed_at = 0;
    } else if (closed_at) {
        /* written again after it came in: a write under its final name */
        s->renamed_in = 0;
        s->closed_at = closed_at;
        s->polls = 0;
    }
}

apr_time_t prep_incoming_settles_at(const prep_seen_t *s,
                                    apr_interval_time_t settle)
{
    if (s->done || s->renamed_in || !s->closed_at) {
        return 0;
    }
    /* from the close, or from a later mtime (a clock set forward) */
    return (s->closed_at > s->id.mtime ? s->closed_at : s->id.mtime) + settle;
}

int prep_incoming_before(const prep_seen_t *a, const char *a_name,
                         const prep_seen_t *b, const char *b_name)
{
    if (a->id.mtime != b->id.mtime) {
        return a->id.mtime > b->id.mtime;
    }
    return strcmp(a_name, b_name) > 0;
}

int prep_incoming_sidecar_ready(const prep_feed_t *f, int dirfd,
                                const char *name, apr_time_t mtime,
                                apr_time_t now, apr_pool_t *p)
{
    const char *ext = f->verify == PREP_VERIFY_SHA256      ? ".sha256"
                      : f->verify == PREP_VERIFY_SIGNATURE ? ".sig"
                                                           : NULL;
    prep_file_identity_t id;
    prep_incoming_kind_e kind;

    if (!ext || now - mtime >= f->settle + PREP_SIDECAR_WAIT) {
        return 1;
    }
    kind = prep_incoming_classify(dirfd, apr_pstrcat(p, name, ext, NULL), &id);
    /* a link or a FIFO is read (and refused) at once, never waited for */
    return kind == PREP_INCOMING_GONE          ? 0
           : kind == PREP_INCOMING_IN_PROGRESS ? now - id.mtime >= f->settle
                                               : 1;
}

prep_load_mode_e prep_incoming_mode(const prep_seen_t *s)
{
    return s->hold_until ? PREP_LOAD_FINAL : PREP_LOAD_NEW;
}

void prep_incoming_load_ended(prep_seen_t *s,
                              const prep_file_identity_t *loaded,
                              prep_load_outcome_e outcome)
{
    if (!s || !prep_identity_equal(&s->id, loaded)) {
        return; /* its name names another file now: that one's turn */
    }
    switch (outcome) {
        case PREP_LOAD_BUSY:    /* the store could not take it: again later */
        case PREP_LOAD_CRASHED: /* tried once more */
            break;
        case PREP_LOAD_HELD:
            s->hold_until = s->id.mtime + PREP_HOLD_TRUNCATED;
            break;
        default:
            /* read (or changed while read): if its name is still there it
             * could not be moved, and it is not read again until it
             * changes */
            s->done = 1;
            break;
    }
}

int prep_incoming_holds_truncated(const prep_file_identity_t *id,
                                  prep_load_mode_e mode, apr_time_t now)
{
    /* ctime later than mtime: renamed into incoming last, so complete */
    return mode == PREP_LOAD_NEW && id->ctime <= id->mtime &&
           now - id->mtime < PREP_HOLD_TRUNCATED;
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
        case PREP_LOAD_RETAINED:
            return 5;
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
        PREP_LOAD_CHANGED,   PREP_LOAD_HELD,    PREP_LOAD_RETAINED,
        PREP_LOAD_BUSY};
    size_t i;

    for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (prep_load_exit_status(known[i]) == exit_status) {
            return known[i];
        }
    }
    return PREP_LOAD_CRASHED;
}

prep_crash_e prep_incoming_crashed(prep_crash_memory_t *m, const char *name,
                                   const prep_file_identity_t *id)
{
    if (!m->name || strcmp(m->name, name) || !prep_identity_equal(&m->id, id)) {
        free(m->name);
        m->name = strdup(name);
        m->id = *id;
        return PREP_CRASH_TRY_AGAIN;
    }
    free(m->name);
    m->name = NULL;
    return PREP_CRASH_SET_ASIDE;
}

const char *prep_incoming_crash_message(int status, apr_pool_t *p)
{
    return WIFSIGNALED(status)
               ? apr_psprintf(p, "the loader died of signal %d",
                              WTERMSIG(status))
               : apr_psprintf(p, "the loader exited with status %d",
                              WEXITSTATUS(status));
}
