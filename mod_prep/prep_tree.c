/* prep_tree.c — PrepSource tree: PrepIncoming is a directory tree that the
 * institute updates in place (rsync, scp -r, sftp put -r).  The intake walks
 * it at every poll (prep_tree_walk, without following a link): a signature
 * of every name, kind, size, mtime, ctime and inode, and whether a name of
 * an upload in progress is in it (rsync's .NAME.XXXXXX, .part, .filepart,
 * .tmp).  Once the signature has stayed the same for PrepSettleTime with
 * no such name, the loader takes a snapshot of the tree
 * (prep_tree_snapshot): every entry, in the order of the walk, into an
 * uncompressed tar of its own in STORE/snapshot, with a SHA-256 sidecar,
 * each file read from one descriptor that must still be the file walked;
 * then the tree is walked again, and a tree that moved meanwhile gives no
 * snapshot.  That tar is then loaded as any package is, under the same
 * rules (links and special files refused, the limits, the corte time) and
 * set aside into processed/ as a package is, so that a corte made from a
 * tree is healed and republished from it.  With PrepVerify, the tree
 * carries a manifest at its top, SHA256SUMS as sha256sum writes it (and,
 * for PrepVerify signature, SHA256SUMS.sig over it): every file listed,
 * none more, each with its SHA-256. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <dirent.h>

#include <apr_hash.h>
#include <apr_lib.h>
#include <apr_portable.h>
#include <apr_strings.h>
#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "prep.h"

#define MANIFEST_MAX (32 * 1024 * 1024)
#define COPY_BLOCK   (1024 * 1024)
#define DEPTH_MOST   64 /* however PrepLimits reads: never walked deeper */

/* One name of the tree as the walk saw it. */
typedef struct tree_entry {
    const char *path; /* from the tree's top, no "./" */
    const char *name; /* its last component */
    int depth;        /* its components */
    struct stat st;
} tree_entry_t;

int prep_tree_name_temporary(const char *name)
{
    apr_size_t len = strlen(name), i;

    if (prep_name_uploading(name)) {
        return 1;
    }
    /* rsync --delay-updates' folder, and rsync's .NAME.XXXXXX */
    if (!strcmp(name, ".~tmp~")) {
        return 1;
    }
    if (name[0] == '.' && len >= 9 && name[len - 7] == '.') {
        for (i = len - 6; i < len && apr_isalnum(name[i]); i++) {
        }
        return i == len;
    }
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void sign_entry(EVP_MD_CTX *sha, const tree_entry_t *e)
{
    const struct stat *st = &e->st;
    apr_uint64_t fields[10];

    EVP_DigestUpdate(sha, e->path, strlen(e->path) + 1);
    fields[0] = (apr_uint64_t)st->st_mode;
    fields[1] = (apr_uint64_t)st->st_size;
    fields[2] = (apr_uint64_t)st->st_mtim.tv_sec;
    fields[3] = (apr_uint64_t)st->st_mtim.tv_nsec;
    fields[4] = (apr_uint64_t)st->st_ctim.tv_sec;
    fields[5] = (apr_uint64_t)st->st_ctim.tv_nsec;
    fields[6] = (apr_uint64_t)st->st_ino;
    fields[7] = (apr_uint64_t)st->st_dev;
    fields[8] = (apr_uint64_t)st->st_nlink;
    fields[9] = (apr_uint64_t)st->st_rdev;
    EVP_DigestUpdate(sha, fields, sizeof(fields));
}

typedef struct walker {
    prep_tree_walk_t *w;
    const prep_limits_t *limits;
    EVP_MD_CTX *sha;
    apr_pool_t *p;
} walker_t;

/* The names of directory fd (taken), sorted; NULL when it cannot be
 * read. */
static apr_array_header_t *dir_names(int fd, apr_pool_t *p)
{
    apr_array_header_t *names = apr_array_make(p, 16, sizeof(const char *));
    DIR *d = fdopendir(fd);
    struct dirent *de;

    if (!d) {
        close(fd);
        return NULL;
    }
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            APR_ARRAY_PUSH(names, const char *) = apr_pstrdup(p, de->d_name);
        }
    }
    closedir(d);
    qsort(names->elts, (size_t)names->nelts, sizeof(const char *), by_name);
    return names;
}

static void walk_dir(walker_t *k, int fd, const char *path, int depth)
{
    prep_tree_walk_t *w = k->w;
    apr_array_header_t *names;
    int i, copy = dup(fd);

    if (copy < 0 || !(names = dir_names(copy, k->p))) {
        if (!w->error) {
            w->error = errno ? errno : APR_EGENERAL;
            w->error_path = *path ? path : ".";
        }
        return;
    }
    for (i = 0; i < names->nelts && !w->over_files; i++) {
        const char *name = APR_ARRAY_IDX(names, i, const char *);
        tree_entry_t *e;
        int sub;

        if (w->entries >= k->limits->files) {
            w->over_files = 1;
            break;
        }
        /* the package rules allow a top folder above PrepLimits depth:
         * what is deeper still is refused, and not walked */
        if (depth + 1 > k->limits->depth + 1 || depth + 1 >= DEPTH_MOST) {
            if (!w->deep) {
                w->deep =
                    *path ? apr_pstrcat(k->p, path, "/", name, NULL) : name;
            }
            break;
        }
        e = apr_array_push(w->list);
        e->name = name;
        e->path = *path ? apr_pstrcat(k->p, path, "/", name, NULL) : name;
        e->depth = depth + 1;
        if (fstatat(fd, name, &e->st, AT_SYMLINK_NOFOLLOW) != 0) {
            /* gone between the listing and the stat: a change */
            memset(&e->st, 0, sizeof(e->st));
        }
        w->entries++;
        sign_entry(k->sha, e);
        if (!w->temporary && prep_tree_name_temporary(name)) {
            w->temporary = e->path;
        }
        if (S_ISREG(e->st.st_mode)) {
            w->files++;
            w->bytes += (apr_uint64_t)e->st.st_size;
            if (apr_time_from_sec(e->st.st_mtim.tv_sec) > w->newest) {
                w->newest = apr_time_from_sec(e->st.st_mtim.tv_sec);
            }
        }
        if (!S_ISDIR(e->st.st_mode)) {
            continue;
        }
        sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) {
            if (!w->error) {
                w->error = errno;
                w->error_path = e->path;
            }
            continue;
        }
        walk_dir(k, sub, e->path, depth + 1);
        close(sub);
    }
}

apr_status_t prep_tree_walk(prep_tree_walk_t *w, const char *root,
                            const prep_limits_t *limits, apr_pool_t *p)
{
    walker_t k;
    int fd;

    memset(w, 0, sizeof(*w));
    w->list = apr_array_make(p, 256, sizeof(tree_entry_t));
    fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        w->error = errno;
        w->error_path = ".";
        return w->error;
    }
    k.w = w;
    k.limits = limits;
    k.p = p;
    k.sha = EVP_MD_CTX_new();
    EVP_DigestInit_ex(k.sha, EVP_sha256(), NULL);
    walk_dir(&k, fd, "", 0);
    EVP_DigestFinal_ex(k.sha, w->signature, NULL);
    EVP_MD_CTX_free(k.sha);
    close(fd);
    return w->error;
}

const char *prep_tree_snapshot_name(apr_time_t t, apr_pool_t *p)
{
    apr_time_exp_t x;

    apr_time_exp_gmt(&x, t);
    return apr_psprintf(p, "tree-%04d%02d%02dT%02d%02d%02dZ.tar",
                        x.tm_year + 1900, x.tm_mon + 1, x.tm_mday, x.tm_hour,
                        x.tm_min, x.tm_sec);
}

const prep_feed_t *prep_tree_load_feed(const prep_feed_t *feed, apr_pool_t *p)
{
    prep_feed_t *f;

    if (feed->source != PREP_SOURCE_TREE) {
        return feed;
    }
    f = apr_pmemdup(p, feed, sizeof(*feed));
    /* the snapshot is ours: an uncompressed tar, checked against the
     * sidecar written with it (the tree's own PrepVerify was its manifest,
     * at the snapshot) */
    f->limits.formats = PREP_FORMAT_TAR;
    if (f->verify != PREP_VERIFY_NONE) {
        f->verify = PREP_VERIFY_SHA256;
    }
    return f;
}

/* --- the snapshot -------------------------------------------------- */

typedef struct snapshot {
    const prep_feed_t *feed;
    prep_tree_walk_t walk;
    int root; /* the tree's top */
    /* the directory of the entries copied last, opened once for them all
     * (-1: none; parent_path "" is the top itself) */
    const char *parent_path;
    int parent_fd;
    int out; /* the tar being written */
    EVP_MD_CTX *tar_sha;
    apr_uint64_t tar_size;
    int write_errno;
    apr_hash_t *manifest; /* path -> 64 hex digits, with PrepVerify */
    apr_hash_t *hashed;   /* path -> hex, every file written */
    apr_uint64_t bytes;
    unsigned char *block;
    prep_verdict_t *v;
    apr_pool_t *p;
} snapshot_t;

static la_ssize_t tar_write(struct archive *a, void *data, const void *buf,
                            size_t n)
{
    snapshot_t *s = data;
    const char *at = buf;
    size_t left = n;

    (void)a;
    while (left > 0) {
        ssize_t put = write(s->out, at, left);

        if (put < 0 && errno == EINTR) {
            continue;
        }
        if (put <= 0) {
            s->write_errno = put < 0 ? errno : EIO;
            return -1;
        }
        at += put;
        left -= (size_t)put;
    }
    EVP_DigestUpdate(s->tar_sha, buf, n);
    s->tar_size += n;
    return (la_ssize_t)n;
}

static int is_manifest(const snapshot_t *s, const tree_entry_t *e)
{
    return s->feed->verify != PREP_VERIFY_NONE && e->depth == 1 &&
           (!strcmp(e->name, PREP_TREE_MANIFEST) ||
            !strcmp(e->name, PREP_TREE_MANIFEST ".sig"));
}

/* Directory fd of the entry's parent (the snapshot's: not to be closed),
 * opened along its path without following a link, once for the entries of
 * one directory that come one after the other; -1 (errno) when it cannot
 * be.  A directory replaced meanwhile is caught by the identity of each
 * file and by the walk after. */
static int parent_of(snapshot_t *s, const tree_entry_t *e)
{
    const char *slash = strrchr(e->path, '/');
    char *dir, *part, *last;
    int fd;

    if (!slash) {
        return s->root;
    }
    dir = apr_pstrndup(s->p, e->path, (apr_size_t)(slash - e->path));
    if (s->parent_fd >= 0 && !strcmp(s->parent_path, dir)) {
        return s->parent_fd;
    }
    if (s->parent_fd >= 0) {
        close(s->parent_fd);
    }
    s->parent_path = apr_pstrdup(s->p, dir);
    fd = dup(s->root);
    for (part = apr_strtok(dir, "/", &last); part && fd >= 0;
         part = apr_strtok(NULL, "/", &last)) {
        int next =
            openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        close(fd);
        fd = next;
    }
    return s->parent_fd = fd;
}

static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
           a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* A regular file's bytes, from one descriptor that is the file walked.
 * APR_EAGAIN: it moved; APR_EINCOMPLETE: v says why it is refused. */
static apr_status_t copy_regular(snapshot_t *s, struct archive *a,
                                 struct archive_entry *ae,
                                 const tree_entry_t *e)
{
    const prep_limits_t *l = &s->feed->limits;
    apr_uint64_t size = (apr_uint64_t)e->st.st_size, done = 0;
    unsigned char digest[32];
    struct stat st;
    EVP_MD_CTX *sha;
    int dir, fd;

    if (e->st.st_nlink > 1) {
        prep_refuse(s->v, s->p, "link",
                    "entry \"%s\" is a hard link (%lu names for one file)",
                    prep_name_shown(s->p, e->path),
                    (unsigned long)e->st.st_nlink);
        return APR_EINCOMPLETE;
    }
    if (size > l->file) {
        prep_refuse(s->v, s->p, "limit-file",
                    "entry \"%s\" has %" APR_UINT64_T_FMT
                    " bytes, more than the limit of %" APR_UINT64_T_FMT
                    " for one file",
                    prep_name_shown(s->p, e->path), size, l->file);
        return APR_EINCOMPLETE;
    }
    if (s->bytes + size > l->bytes) {
        prep_refuse(s->v, s->p, "limit-bytes",
                    "entry \"%s\" takes the tree over its limit of "
                    "%" APR_UINT64_T_FMT " bytes",
                    prep_name_shown(s->p, e->path), l->bytes);
        return APR_EINCOMPLETE;
    }
    if ((dir = parent_of(s, e)) < 0) {
        return APR_EAGAIN;
    }
    fd = openat(dir, e->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 && errno == EACCES) {
        prep_incoming_unreadable_verdict(s->v, &e->st, NULL, s->p);
        s->v->message =
            apr_psprintf(s->p, "the tree's file \"%s\": %s",
                         prep_name_shown(s->p, e->path), s->v->message);
        return APR_EINCOMPLETE;
    }
    if (fd < 0) {
        return APR_EAGAIN;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        !same_file(&st, &e->st)) {
        close(fd);
        return APR_EAGAIN;
    }
    archive_entry_set_size(ae, (la_int64_t)size);
    if (archive_write_header(a, ae) != ARCHIVE_OK) {
        close(fd);
        return APR_EGENERAL;
    }
    sha = EVP_MD_CTX_new();
    EVP_DigestInit_ex(sha, EVP_sha256(), NULL);
    while (done < size) {
        apr_size_t want =
            size - done < COPY_BLOCK ? (apr_size_t)(size - done) : COPY_BLOCK;
        ssize_t got = read(fd, s->block, want);

        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            break;
        }
        EVP_DigestUpdate(sha, s->block, (size_t)got);
        if (archive_write_data(a, s->block, (size_t)got) != got) {
            break;
        }
        done += (apr_uint64_t)got;
    }
    EVP_DigestFinal_ex(sha, digest, NULL);
    EVP_MD_CTX_free(sha);
    if (done < size || fstat(fd, &st) != 0 || !same_file(&st, &e->st)) {
        close(fd);
        return s->write_errno ? APR_EGENERAL : APR_EAGAIN;
    }
    close(fd);
    s->bytes += size;
    apr_hash_set(s->hashed, e->path, APR_HASH_KEY_STRING,
                 prep_hex(s->p, digest, 32));
    return APR_SUCCESS;
}

/* One entry into the tar: APR_SUCCESS, APR_EAGAIN (the tree moved),
 * APR_EINCOMPLETE (refused: v), or an error writing. */
static apr_status_t add_entry(snapshot_t *s, struct archive *a,
                              const tree_entry_t *e)
{
    struct archive_entry *ae = archive_entry_new();
    mode_t type = e->st.st_mode & S_IFMT;
    apr_status_t rv = APR_SUCCESS;
    char target[4096];
    ssize_t n;
    int dir;

    archive_entry_set_pathname(ae, e->path);
    /* a directory's time says only that a name in it came or went: the
     * same files give the same snapshot, and so the same corte */
    archive_entry_set_mtime(ae, type == S_IFDIR ? 0 : e->st.st_mtim.tv_sec,
                            type == S_IFDIR ? 0 : e->st.st_mtim.tv_nsec);
    archive_entry_set_uid(ae, 0);
    archive_entry_set_gid(ae, 0);
    switch (type) {
        case S_IFDIR:
            archive_entry_set_filetype(ae, AE_IFDIR);
            archive_entry_set_perm(ae, 0755);
            break;
        case S_IFREG:
            archive_entry_set_filetype(ae, AE_IFREG);
            archive_entry_set_perm(ae, 0644);
            rv = copy_regular(s, a, ae, e);
            archive_entry_free(ae);
            return rv;
        case S_IFLNK:
            /* the package rules refuse it, naming its target */
            if ((dir = parent_of(s, e)) < 0) {
                rv = APR_EAGAIN;
                break;
            }
            n = readlinkat(dir, e->name, target, sizeof(target) - 1);
            if (n < 0) {
                rv = APR_EAGAIN;
                break;
            }
            target[n] = '\0';
            archive_entry_set_filetype(ae, AE_IFLNK);
            archive_entry_set_perm(ae, 0777);
            archive_entry_set_symlink(ae, target);
            break;
        case S_IFIFO:
        case S_IFCHR:
        case S_IFBLK:
            /* the package rules refuse it as special */
            archive_entry_set_filetype(ae, type == S_IFIFO   ? AE_IFIFO
                                           : type == S_IFCHR ? AE_IFCHR
                                                             : AE_IFBLK);
            archive_entry_set_perm(ae, 0644);
            archive_entry_set_rdev(ae, e->st.st_rdev);
            break;
        case S_IFSOCK:
            prep_refuse(s->v, s->p, "special", "entry \"%s\" is a socket",
                        prep_name_shown(s->p, e->path));
            rv = APR_EINCOMPLETE;
            break;
        default:
            rv = APR_EAGAIN; /* gone between the listing and the stat */
            break;
    }
    if (rv == APR_SUCCESS && archive_write_header(a, ae) != ARCHIVE_OK) {
        rv = APR_EGENERAL;
    }
    archive_entry_free(ae);
    return rv;
}

/* SHA256SUMS, as sha256sum writes it ("HEX  PATH" or "HEX *PATH", a
 * leading "./" or not, a line starting with '\' for an escaped name), into
 * s->manifest; with PrepVerify signature, SHA256SUMS.sig checked over the
 * very bytes read.  APR_EINCOMPLETE (v) when it is missing or wrong. */
static apr_status_t read_manifest(snapshot_t *s)
{
    const prep_feed_t *f = s->feed;
    const char *why;
    char *text, *line, *last;
    apr_size_t len;
    int n = 0;

    if (prep_incoming_read_small(&text, &len, s->root, PREP_TREE_MANIFEST,
                                 MANIFEST_MAX, &why, s->p) != APR_SUCCESS) {
        prep_refuse(s->v, s->p, "verify",
                    "PrepVerify %s: the tree's manifest " PREP_TREE_MANIFEST
                    " (sha256sum of every file, at the tree's top) %s",
                    f->verify == PREP_VERIFY_SIGNATURE ? "signature" : "sha256",
                    why);
        return APR_EINCOMPLETE;
    }
    if (f->verify == PREP_VERIFY_SIGNATURE) {
        unsigned char read_sha[32], verified[32];
        apr_file_t *file;
        prep_file_identity_t id;

        EVP_Digest(text, len, read_sha, NULL, EVP_sha256(), NULL);
        if (prep_incoming_open(&file, &id, s->root, PREP_TREE_MANIFEST, NULL,
                               s->p) != APR_SUCCESS) {
            prep_refuse(s->v, s->p, "verify",
                        "the tree's " PREP_TREE_MANIFEST " cannot be read");
            return APR_EINCOMPLETE;
        }
        if (prep_verify_package(f, s->root, PREP_TREE_MANIFEST, file, verified,
                                s->v, s->p) != APR_SUCCESS) {
            apr_file_close(file);
            return APR_EINCOMPLETE;
        }
        apr_file_close(file);
        if (memcmp(read_sha, verified, 32)) {
            return APR_EAGAIN; /* rewritten between the two reads */
        }
    }
    s->manifest = apr_hash_make(s->p);
    for (line = apr_strtok(text, "\n", &last); line;
         line = apr_strtok(NULL, "\n", &last)) {
        int escaped = line[0] == '\\', i;
        char *path, *hex;

        n++;
        hex = line + escaped;
        for (i = 0; i < 64 && apr_isxdigit(hex[i]); i++) {
            hex[i] = apr_tolower(hex[i]);
        }
        if (i != 64 || hex[64] != ' ' || (hex[65] != ' ' && hex[65] != '*') ||
            !hex[66]) {
            prep_refuse(s->v, s->p, "verify",
                        "the tree's " PREP_TREE_MANIFEST
                        " line %d is not \"SHA-256  PATH\" as sha256sum "
                        "writes it",
                        n);
            return APR_EINCOMPLETE;
        }
        hex[64] = '\0';
        path = hex + 66;
        if (escaped) { /* sha256sum's \\ and \n */
            char *from = path, *to = path;

            for (; *from; from++, to++) {
                if (from[0] == '\\' && from[1] == 'n') {
                    *to = '\n';
                    from++;
                } else if (from[0] == '\\' && from[1] == '\\') {
                    *to = '\\';
                    from++;
                } else {
                    *to = *from;
                }
            }
            *to = '\0';
        }
        while (path[0] == '.' && path[1] == '/') {
            path += 2;
        }
        apr_hash_set(s->manifest, path, APR_HASH_KEY_STRING, hex);
    }
    return APR_SUCCESS;
}

/* Every file written is in the manifest with its SHA-256, and the manifest
 * names no other. */
static apr_status_t check_manifest(snapshot_t *s)
{
    apr_hash_index_t *hi;

    for (hi = apr_hash_first(s->p, s->hashed); hi; hi = apr_hash_next(hi)) {
        const char *path = apr_hash_this_key(hi), *hex = apr_hash_this_val(hi);
        const char *listed =
            apr_hash_get(s->manifest, path, APR_HASH_KEY_STRING);

        if (!listed) {
            return prep_refuse(s->v, s->p, "verify",
                               "the tree's file \"%s\" is not in its "
                               "manifest " PREP_TREE_MANIFEST,
                               prep_name_shown(s->p, path));
        }
        if (strcmp(listed, hex)) {
            return prep_refuse(
                s->v, s->p, "verify",
                "SHA-256 of the tree's file \"%s\" is %s, " PREP_TREE_MANIFEST
                " says %s",
                prep_name_shown(s->p, path), hex, listed);
        }
    }
    for (hi = apr_hash_first(s->p, s->manifest); hi; hi = apr_hash_next(hi)) {
        const char *path = apr_hash_this_key(hi);

        if (!apr_hash_get(s->hashed, path, APR_HASH_KEY_STRING)) {
            return prep_refuse(s->v, s->p, "verify",
                               PREP_TREE_MANIFEST
                               " names \"%s\", which the "
                               "tree does not hold as a file",
                               prep_name_shown(s->p, path));
        }
    }
    return APR_SUCCESS;
}

/* The rules a walk alone can break, before a byte is copied. */
static apr_status_t walk_refusal(snapshot_t *s)
{
    const prep_limits_t *l = &s->feed->limits;

    if (s->walk.error) { /* EACCES: the others give no snapshot */
        prep_refuse(s->v, s->p, "unreadable",
                    "the loader account cannot read the tree's directory "
                    "\"%s\" (%s): make it readable (mode 0755), and its "
                    "files 0644",
                    prep_name_shown(s->p, s->walk.error_path),
                    strerror(s->walk.error));
        return APR_EINCOMPLETE;
    }
    if (s->walk.over_files) {
        prep_refuse(s->v, s->p, "limit-files",
                    "the tree holds more than %" APR_UINT64_T_FMT " entries",
                    l->files);
        return APR_EINCOMPLETE;
    }
    if (s->walk.deep) {
        prep_refuse(s->v, s->p, "depth",
                    "entry \"%s\" of the tree is more than %d levels deep "
                    "(%d below a single top folder)",
                    prep_name_shown(s->p, s->walk.deep), l->depth,
                    l->depth + 1);
        return APR_EINCOMPLETE;
    }
    return APR_SUCCESS;
}

/* The tar of the tree into s->out; APR_SUCCESS (v set when refused),
 * APR_EAGAIN when the tree moved, another error when writing failed. */
static apr_status_t write_tar(snapshot_t *s)
{
    struct archive *a = archive_write_new();
    apr_status_t rv = APR_SUCCESS;
    int i;

    if (!a || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
        archive_write_open(a, s, NULL, tar_write, NULL) != ARCHIVE_OK) {
        if (a) {
            archive_write_free(a);
        }
        return APR_ENOMEM;
    }
    if (walk_refusal(s) == APR_SUCCESS && s->feed->verify != PREP_VERIFY_NONE) {
        rv = read_manifest(s);
    }
    for (i = 0; rv == APR_SUCCESS && !s->v->reason && i < s->walk.list->nelts;
         i++) {
        const tree_entry_t *e = &APR_ARRAY_IDX(s->walk.list, i, tree_entry_t);

        if (!is_manifest(s, e)) {
            rv = add_entry(s, a, e);
        }
    }
    if (rv == APR_EINCOMPLETE) {
        rv = APR_SUCCESS; /* refused: the tar holds what came before */
    }
    if (archive_write_close(a) != ARCHIVE_OK && rv == APR_SUCCESS) {
        rv = s->write_errno ? s->write_errno : APR_EGENERAL;
    }
    archive_write_free(a);
    if (rv == APR_SUCCESS && s->write_errno) {
        rv = s->write_errno;
    }
    if (rv == APR_SUCCESS && !s->v->reason && s->manifest) {
        check_manifest(s);
    }
    return rv;
}

/* What earlier snapshots left in dir (a load killed, a tree that moved):
 * every file but `last`. */
static void clean_snapshots(int dirfd, apr_pool_t *p)
{
    int copy = dup(dirfd);
    apr_array_header_t *names = copy >= 0 ? dir_names(copy, p) : NULL;
    const char *last = strrchr(PREP_TREE_LAST, '/') + 1;
    int i;

    for (i = 0; names && i < names->nelts; i++) {
        const char *name = APR_ARRAY_IDX(names, i, const char *);

        if (strcmp(name, last)) {
            unlinkat(dirfd, name, 0);
        }
    }
}

apr_status_t prep_tree_snapshot(prep_tree_snapshot_t *out,
                                const prep_feed_t *feed,
                                const unsigned char *quiet, const char *dir,
                                const char *name, prep_verdict_t *v,
                                apr_pool_t *p)
{
    snapshot_t s;
    int dirfd;
    prep_tree_walk_t again;
    const char *tmp = apr_pstrcat(p, name, ".tmp", NULL);
    const char *side = apr_pstrcat(p, name, ".sha256", NULL);
    struct timespec times[2];
    apr_status_t rv;
    char *line;

    memset(out, 0, sizeof(*out));
    memset(&s, 0, sizeof(s));
    v->reason = v->message = NULL;
    s.feed = feed;
    s.v = v;
    s.p = p;
    s.hashed = apr_hash_make(p);
    rv = prep_tree_walk(&s.walk, feed->incoming, &feed->limits, p);
    if (rv != APR_SUCCESS && !APR_STATUS_IS_EACCES(rv)) {
        return APR_STATUS_IS_ENOENT(rv) ? APR_EAGAIN : rv;
    }
    memcpy(out->signature, s.walk.signature, 32);
    if ((quiet && memcmp(quiet, s.walk.signature, 32)) || s.walk.temporary) {
        return APR_EAGAIN; /* not the tree that was quiet */
    }
    if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        return errno;
    }
    s.root =
        open(feed->incoming, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s.root < 0) {
        rv = errno;
        close(dirfd);
        return rv;
    }
    clean_snapshots(dirfd, p);
    s.out = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (s.out < 0) {
        rv = errno;
        close(s.root);
        close(dirfd);
        return rv;
    }
    s.block = apr_palloc(p, COPY_BLOCK);
    s.tar_sha = EVP_MD_CTX_new();
    EVP_DigestInit_ex(s.tar_sha, EVP_sha256(), NULL);
    s.parent_fd = -1;
    rv = write_tar(&s);
    EVP_DigestFinal_ex(s.tar_sha, out->sha256, NULL);
    EVP_MD_CTX_free(s.tar_sha);
    if (s.parent_fd >= 0) {
        close(s.parent_fd);
    }
    close(s.root);
    /* the corte time a package's mtime gives (PrepCorteTime mtime): the
     * newest file's */
    times[0].tv_sec = times[1].tv_sec = apr_time_sec(s.walk.newest);
    times[0].tv_nsec = times[1].tv_nsec = 0;
    if (rv == APR_SUCCESS && s.walk.newest && futimens(s.out, times) != 0) {
        rv = errno;
    }
    if (close(s.out) != 0 && rv == APR_SUCCESS) {
        rv = errno;
    }
    /* moved while read, or after: no snapshot */
    if (rv == APR_SUCCESS) {
        apr_status_t walked =
            prep_tree_walk(&again, feed->incoming, &feed->limits, p);

        if (walked != s.walk.error ||
            memcmp(again.signature, s.walk.signature, 32)) {
            rv = APR_EAGAIN;
        }
    }
    line = apr_psprintf(p, "%s  %s\n", prep_hex(p, out->sha256, 32), name);
    if (rv == APR_SUCCESS &&
        (renameat(dirfd, tmp, dirfd, name) != 0 ||
         prep_store_write_atomic(apr_pstrcat(p, dir, "/", side, NULL), line,
                                 strlen(line), p) != APR_SUCCESS)) {
        rv = errno ? errno : APR_EGENERAL;
    }
    if (rv != APR_SUCCESS) {
        unlinkat(dirfd, tmp, 0);
        unlinkat(dirfd, name, 0);
        unlinkat(dirfd, side, 0);
        close(dirfd);
        return rv;
    }
    close(dirfd);
    out->size = s.tar_size;
    out->files = s.walk.files;
    out->bytes = s.bytes;
    return APR_SUCCESS;
}

/* --- what was loaded last ------------------------------------------- */

apr_status_t prep_tree_last_read(unsigned char signature[32], const char *store,
                                 apr_pool_t *p)
{
    const char *path = apr_pstrcat(p, store, "/" PREP_TREE_LAST, NULL);
    char hex[65];
    apr_file_t *f;
    apr_size_t n = 64;
    apr_status_t rv;
    int i;

    if ((rv = apr_file_open(&f, path, APR_FOPEN_READ, 0, p)) != APR_SUCCESS) {
        return rv;
    }
    rv = apr_file_read_full(f, hex, 64, &n);
    apr_file_close(f);
    if (rv != APR_SUCCESS || n != 64) {
        return APR_EGENERAL;
    }
    hex[64] = '\0';
    for (i = 0; i < 32; i++) {
        char byte[3] = {hex[2 * i], hex[2 * i + 1], '\0'};

        if (!apr_isxdigit(byte[0]) || !apr_isxdigit(byte[1])) {
            return APR_EGENERAL;
        }
        signature[i] = (unsigned char)strtoul(byte, NULL, 16);
    }
    return APR_SUCCESS;
}

apr_status_t prep_tree_last_write(const unsigned char signature[32],
                                  const char *store, apr_pool_t *p)
{
    const char *hex = apr_pstrcat(p, prep_hex(p, signature, 32), "\n", NULL);

    return prep_store_write_atomic(
        apr_pstrcat(p, store, "/" PREP_TREE_LAST, NULL), hex, strlen(hex), p);
}
