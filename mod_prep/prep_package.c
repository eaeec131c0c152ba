/* prep_package.c — reads a package with libarchive under the package rules
 * and appends every regular file's bytes to the corte's pack.
 *
 * Nothing here ever creates a file from a name found in the archive: names
 * only become keys of the index, so no entry can be written outside the
 * store whatever it is called.  The rules are still enforced (absolute,
 * "..", links, devices, duplicates, limits) because a package that breaks
 * them was not made by the institute's tooling and must not be published.
 * The checks are named after the attack they stop, as libarchive's
 * ARCHIVE_EXTRACT_SECURE_* flags are. */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <libdeflate.h>
#include <openssl/evp.h>

#include <apr_hash.h>
#include <apr_portable.h>
#include <apr_strings.h>

#include "prep.h"

#define PACKAGE_BLOCK (64 * 1024) /* bytes read or copied at a time */
/* A gzip package up to INFLATE_WHOLE_IN bytes that says it holds up to
 * INFLATE_WHOLE_OUT is inflated whole by libdeflate before libarchive reads
 * it: zlib's inflate, streamed, was 70% of the unpack (libdeflate is 2.4
 * times faster on the reference package).  Anything else takes the
 * streamed path, as does a package libdeflate does not inflate cleanly in
 * one member, so that its refusal is the one the streamed read gives. */
#define INFLATE_WHOLE_IN  (64 * 1024 * 1024)
#define INFLATE_WHOLE_OUT (192 * 1024 * 1024)
/* The disk starts writing the pack every this many bytes unpacked, so that
 * the fsync before the corte is published waits for the last few only. */
#define PACK_WRITEBACK     (16 * 1024 * 1024)
#define NAME_COMPONENT_MAX 255 /* NAME_MAX of every file system we run on */
#define SHOWN_NAME_MAX     200 /* longest name quoted in a message */

/* ------------------------------------------------------------------ */
/* PrepFormats: which of libarchive's decoders may run on a feed's
 * packages.  Every decoder is code run over bytes the uploader chose, so a
 * feed runs only those it needs: tar and zip, gzip bzip2 xz zstd.  Its
 * words are read here, beside the decoders they name (a PrepFormats line
 * as a whole is read by prep_feed.c). */

typedef int support_fn(struct archive *);

static int support_rar(struct archive *a)
{
    int ret = archive_read_support_format_rar(a);

    return ret != ARCHIVE_OK ? ret : archive_read_support_format_rar5(a);
}

typedef struct archive_kind {
    const char *word; /* in PrepFormats */
    const char *name; /* in messages */
    unsigned bit;     /* PREP_FORMAT_*; 0: never read */
    support_fn *support;
    const char *never; /* why it is never read */
} archive_kind_t;

static const archive_kind_t archive_kinds[] = {
    {"tar", "tar", PREP_FORMAT_TAR, archive_read_support_format_tar, NULL},
    {"zip", "ZIP", PREP_FORMAT_ZIP, archive_read_support_format_zip, NULL},
    {"7z", "7-Zip", PREP_FORMAT_7Z, archive_read_support_format_7zip, NULL},
    {"cpio", "cpio", PREP_FORMAT_CPIO, archive_read_support_format_cpio, NULL},
    {"iso9660", "ISO 9660", PREP_FORMAT_ISO9660,
     archive_read_support_format_iso9660, NULL},
    {"cab", "CAB", PREP_FORMAT_CAB, archive_read_support_format_cab, NULL},
    {"lha", "LHA", PREP_FORMAT_LHA, archive_read_support_format_lha, NULL},
    {"rar", "RAR", PREP_FORMAT_RAR, support_rar, NULL},
    {"ar", "ar", PREP_FORMAT_AR, archive_read_support_format_ar, NULL},
    /* Formats libarchive reads that no PrepFormats enables. */
    {"xar", "xar", 0, archive_read_support_format_xar,
     "libarchive can give its files with NUL bytes added, so they would not "
     "be served exactly as delivered"},
    {"warc", "WARC", 0, archive_read_support_format_warc,
     "libarchive gives its records with NUL bytes added, so they would not "
     "be served exactly as delivered"},
    {"mtree", "mtree", 0, archive_read_support_format_mtree,
     "an mtree file is not an archive but a list that names files on this "
     "machine (contents=/etc/...), which would be published"},
    {"raw", "raw", 0, NULL,
     "a bare compressed file (a .gz of one file) is not a package: its one "
     "file has no name"},
};

typedef struct compression_kind {
    const char *word;
    unsigned bit;
    support_fn *support;
    const char *magic; /* the first bytes of the stream */
    apr_size_t magic_len;
} compression_kind_t;

static const compression_kind_t compression_kinds[] = {
    {"gzip", PREP_FORMAT_GZIP, archive_read_support_filter_gzip, "\x1f\x8b", 2},
    {"bzip2", PREP_FORMAT_BZIP2, archive_read_support_filter_bzip2, "BZh", 3},
    {"xz", PREP_FORMAT_XZ, archive_read_support_filter_xz,
     "\xfd"
     "7zXZ\x00",
     6},
    {"zstd", PREP_FORMAT_ZSTD, archive_read_support_filter_zstd,
     "\x28\xb5\x2f\xfd", 4},
    /* .lzma has no magic; 5D 00 00 is what every encoder writes (lc=3
     * lp=0 pb=2, a dictionary of a multiple of 64 KiB). */
    {"lzma", PREP_FORMAT_LZMA, archive_read_support_filter_lzma, "\x5d\x00\x00",
     3},
    {"lzip", PREP_FORMAT_LZIP, archive_read_support_filter_lzip, "LZIP", 4},
    {"lz4", PREP_FORMAT_LZ4, archive_read_support_filter_lz4,
     "\x04\x22\x4d\x18", 4},
    {"lz4", PREP_FORMAT_LZ4, NULL, "\x02\x21\x4c\x18", 4}, /* legacy frame */
    {"compress", PREP_FORMAT_COMPRESS, archive_read_support_filter_compress,
     "\x1f\x9d", 2},
};

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

const char *prep_formats_parse(unsigned *mask, const char *word, apr_pool_t *p)
{
    apr_size_t i;

    for (i = 0; i < COUNT(archive_kinds); i++) {
        const archive_kind_t *k = &archive_kinds[i];

        if (strcasecmp(word, k->word) == 0) {
            if (k->bit == 0) {
                return apr_psprintf(p, "%s is never read: %s", k->word,
                                    k->never);
            }
            *mask |= k->bit;
            return NULL;
        }
    }
    for (i = 0; i < COUNT(compression_kinds); i++) {
        if (strcasecmp(word, compression_kinds[i].word) == 0) {
            *mask |= compression_kinds[i].bit;
            return NULL;
        }
    }
    return apr_psprintf(p,
                        "unknown format \"%s\" (archives: tar zip 7z cpio "
                        "iso9660 cab lha rar ar; compressions: gzip bzip2 xz "
                        "zstd lzma lzip lz4 compress)",
                        word);
}

unsigned prep_formats_of_line(unsigned named)
{
    unsigned archives = named & PREP_FORMATS_ARCHIVES;
    unsigned compressions = named & PREP_FORMATS_COMPRESSIONS;

    if (archives == 0) {
        archives = PREP_FORMATS_DEFAULT & PREP_FORMATS_ARCHIVES;
    }
    if (compressions == 0) {
        compressions = PREP_FORMATS_DEFAULT & PREP_FORMATS_COMPRESSIONS;
    }
    return archives | compressions;
}

const char *prep_formats_words(unsigned mask, apr_pool_t *p)
{
    const char *out = NULL;
    unsigned listed = 0;
    apr_size_t i;

    for (i = 0; i < COUNT(archive_kinds); i++) {
        if (archive_kinds[i].bit & mask) {
            out = out ? apr_pstrcat(p, out, ", ", archive_kinds[i].word, NULL)
                      : archive_kinds[i].word;
        }
    }
    for (i = 0; i < COUNT(compression_kinds); i++) {
        const compression_kind_t *k = &compression_kinds[i];

        if ((k->bit & mask) && !(k->bit & listed)) {
            listed |= k->bit;
            out = out ? apr_pstrcat(p, out, ", ", k->word, NULL) : k->word;
        }
    }
    return out ? out : "none";
}

/* ------------------------------------------------------------------ */
/* Names in the incoming directory */

static int ends_with(const char *name, apr_size_t len, const char *suffix)
{
    apr_size_t n = strlen(suffix);

    return len >= n && strcasecmp(name + len - n, suffix) == 0;
}

static int ends_with_any(const char *name, const char *const *suffixes,
                         apr_size_t n)
{
    apr_size_t len = strlen(name), i;

    for (i = 0; i < n; i++) {
        if (ends_with(name, len, suffixes[i])) {
            return 1;
        }
    }
    return 0;
}

int prep_name_uploading(const char *name)
{
    static const char *const suffixes[] = {".part", ".filepart", ".tmp"};

    return ends_with_any(name, suffixes, sizeof(suffixes) / sizeof(*suffixes));
}

int prep_package_name_ignored(const char *name)
{
    static const char *const sidecars[] = {".sha256", ".sig", ".reason"};
    const char *slash;

    if (name == NULL) {
        return 1;
    }
    slash = strrchr(name, '/');
    if (slash != NULL) {
        name = slash + 1;
    }
    return name[0] == '\0' || name[0] == '.' || prep_name_uploading(name) ||
           ends_with_any(name, sidecars, sizeof(sidecars) / sizeof(*sidecars));
}

/* ------------------------------------------------------------------ */
/* The package as libarchive reads it: a file or a buffer, hashed on the
 * way in.  Bytes [0, hashed) are in the package digest; a read that reaches
 * past `hashed` extends it.  When a format seeks (zip reads its central
 * directory first) or skips, whatever was jumped over is hashed at the end
 * by source_finish(), so the digest is always that of the whole file. */

typedef struct package_source {
    apr_file_t *file; /* NULL: reading buf */
    const unsigned char *buf;
    apr_size_t len;
    apr_off_t pos;
    apr_off_t hashed;
    EVP_MD_CTX *sha;
    unsigned char *block;
    /* buf holds the package inflated whole (inflate_whole): the package's
     * digest and size are these, taken from its own bytes */
    int inflated;
    size_t alloc_len; /* of buf, inflated */
    unsigned char inflated_sha256[32];
    apr_uint64_t inflated_size;
} package_source_t;

static void source_hash(package_source_t *s, const unsigned char *bytes,
                        apr_size_t n)
{
    if (s->sha == NULL || s->inflated) {
        return; /* a probe (refused_format) hashes nothing */
    }
    if (s->pos <= s->hashed && s->hashed < s->pos + (apr_off_t)n) {
        apr_size_t skip = (apr_size_t)(s->hashed - s->pos);

        EVP_DigestUpdate(s->sha, bytes + skip, n - skip);
        s->hashed = s->pos + (apr_off_t)n;
    }
}

static la_ssize_t source_read(struct archive *a, void *data, const void **out)
{
    package_source_t *s = data;
    apr_size_t n;

    if (s->file == NULL) {
        if (s->pos >= (apr_off_t)s->len) {
            return 0;
        }
        n = s->len - (apr_size_t)s->pos;
        *out = s->buf + s->pos;
    } else {
        apr_status_t rv;
        char err[128];

        n = PACKAGE_BLOCK;
        rv = apr_file_read(s->file, s->block, &n);
        if (rv == APR_EOF) {
            n = 0;
        } else if (rv != APR_SUCCESS) {
            archive_set_error(a, EIO, "reading the package failed: %s",
                              apr_strerror(rv, err, sizeof(err)));
            return ARCHIVE_FATAL;
        }
        *out = s->block;
    }
    source_hash(s, *out, n);
    s->pos += (apr_off_t)n;
    return (la_ssize_t)n;
}

static la_int64_t source_seek(struct archive *a, void *data, la_int64_t offset,
                              int whence)
{
    package_source_t *s = data;
    apr_off_t target;

    if (s->file == NULL) {
        switch (whence) {
            case SEEK_SET:
                target = offset;
                break;
            case SEEK_CUR:
                target = s->pos + offset;
                break;
            case SEEK_END:
                target = (apr_off_t)s->len + offset;
                break;
            default:
                return ARCHIVE_FATAL;
        }
        if (target < 0) {
            return ARCHIVE_FATAL;
        }
    } else {
        apr_seek_where_t where = whence == SEEK_SET   ? APR_SET
                                 : whence == SEEK_CUR ? APR_CUR
                                                      : APR_END;

        target = offset;
        if (apr_file_seek(s->file, where, &target) != APR_SUCCESS) {
            return ARCHIVE_FATAL;
        }
    }
    s->pos = target;
    return target;
}

/* Hashes what the formats did not read (tar's padding after its end
 * blocks, what a seek jumped over) and returns the package digest. */
static apr_status_t source_finish(package_source_t *s, unsigned char digest[32],
                                  apr_uint64_t *total)
{
    if (s->inflated) {
        memcpy(digest, s->inflated_sha256, 32);
        *total = s->inflated_size;
        return APR_SUCCESS;
    }
    if (s->file == NULL) {
        s->pos = s->hashed;
        if (s->hashed < (apr_off_t)s->len) {
            source_hash(s, s->buf + s->hashed, s->len - (apr_size_t)s->hashed);
        }
    } else {
        apr_off_t at = s->hashed;
        apr_status_t rv = apr_file_seek(s->file, APR_SET, &at);

        if (rv != APR_SUCCESS) {
            return rv;
        }
        s->pos = at;
        for (;;) {
            apr_size_t n = PACKAGE_BLOCK;

            rv = apr_file_read(s->file, s->block, &n);
            if (rv == APR_EOF || (rv == APR_SUCCESS && n == 0)) {
                break;
            }
            if (rv != APR_SUCCESS) {
                return rv;
            }
            source_hash(s, s->block, n);
            s->pos += (apr_off_t)n;
        }
    }
    EVP_DigestFinal_ex(s->sha, digest, NULL);
    *total = (apr_uint64_t)s->hashed;
    return APR_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* Names inside the package */

/* U+0080..U+009F in UTF-8: C1 controls (0x9B is CSI, as ESC [ is). */
static int is_c1(const unsigned char *c)
{
    return c[0] == 0xC2 && c[1] >= 0x80 && c[1] <= 0x9F;
}

/* A name fit for a one-line message: control bytes (and C1 controls) as
 * \xNN, cut (on a UTF-8 character boundary) when very long. */
static const char *shown(apr_pool_t *p, const char *name)
{
    apr_size_t len = strlen(name), keep = len, i;
    char *out, *o;

    if (keep > SHOWN_NAME_MAX) {
        keep = SHOWN_NAME_MAX;
        while (keep > 0 && ((unsigned char)name[keep] & 0xC0) == 0x80) {
            keep--;
        }
    }
    out = o = apr_palloc(p, keep * 4 + 4);
    for (i = 0; i < keep; i++) {
        unsigned char c = (unsigned char)name[i];

        if (c < 0x20 || c == 0x7F) {
            apr_snprintf(o, 5, "\\x%02x", c);
            o += 4;
        } else if (i + 1 < keep && is_c1((const unsigned char *)name + i)) {
            apr_snprintf(o, 9, "\\x%02x\\x%02x", c, (unsigned char)name[i + 1]);
            o += 8;
            i++;
        } else {
            *o++ = (char)c;
        }
    }
    if (keep < len) {
        memcpy(o, "...", 3);
        o += 3;
    }
    *o = '\0';
    return out;
}

/* A name with a control character: C0 (below 0x20: ESC, newline...), DEL
 * or a C1 control.  Published, it would reach log lines, terminals and
 * the listings of whoever mirrors the corte. */
static int has_control(const char *name)
{
    const unsigned char *c = (const unsigned char *)name;

    for (; *c; c++) {
        if (*c < 0x20 || *c == 0x7F || is_c1(c)) {
            return 1;
        }
    }
    return 0;
}

/* ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS: "/etc/passwd", "\\srv\x",
 * "C:\x", "C:x". */
static int is_absolute(const char *name)
{
    if (name[0] == '/' || name[0] == '\\') {
        return 1;
    }
    return ((name[0] >= 'A' && name[0] <= 'Z') ||
            (name[0] >= 'a' && name[0] <= 'z')) &&
           name[1] == ':';
}

/* ARCHIVE_EXTRACT_SECURE_NODOTDOT: any ".." component, with '\' taken as
 * a separator too, as a Windows unpacker would. */
static int climbs_out(const char *name)
{
    const char *c = name;

    while (*c) {
        apr_size_t n = strcspn(c, "/\\");

        if (n == 2 && c[0] == '.' && c[1] == '.') {
            return 1;
        }
        c += n;
        if (*c) {
            c++;
        }
    }
    return 0;
}

static apr_size_t longest_component(const char *name)
{
    apr_size_t longest = 0;
    const char *c = name;

    while (*c) {
        apr_size_t n = strcspn(c, "/");

        if (n > longest) {
            longest = n;
        }
        c += n;
        if (*c) {
            c++;
        }
    }
    return longest;
}

/* "./a//b/./c/" → "a/b/c"; "./" → "".  *components gets the count. */
static char *normalize(apr_pool_t *p, const char *name, int *components)
{
    char *out = apr_palloc(p, strlen(name) + 1), *o = out;
    const char *c = name;

    *components = 0;
    while (*c) {
        apr_size_t n = strcspn(c, "/");

        if (n > 0 && !(n == 1 && c[0] == '.')) {
            if (o != out) {
                *o++ = '/';
            }
            memcpy(o, c, n);
            o += n;
            (*components)++;
        }
        c += n;
        if (*c) {
            c++;
        }
    }
    *o = '\0';
    return out;
}

static int count_components(const char *path)
{
    int n = 1;

    for (; *path; path++) {
        if (*path == '/') {
            n++;
        }
    }
    return n;
}

/* ------------------------------------------------------------------ */
/* One unpack */

static const char KIND_FILE[] = "file";
static const char KIND_DIR[] = "directory";

typedef struct unpack {
    apr_pool_t *p;       /* results and messages */
    apr_pool_t *scratch; /* gone when the unpack returns */
    const prep_limits_t *limits;
    int strip;
    prep_verdict_t *verdict;
    apr_file_t *pack;
    apr_off_t pack_start;
    prep_unpacked_t *result;
    apr_hash_t *seen;         /* path → KIND_FILE | KIND_DIR */
    apr_uint64_t headers;     /* every entry read, directories too */
    apr_uint64_t ratio_bytes; /* limits->ratio × package size */
    apr_off_t written_back;   /* pack bytes whose writeback was started */
    const char *top;          /* auto strip: the first component seen */
    apr_size_t top_len;
    int single_top;
    EVP_MD_CTX *sha; /* of the file being copied */
    unsigned char *block;
} unpack_t;

/* `more` bytes on top of `already` would pass `limit`. */
static int exceeds(apr_uint64_t already, apr_uint64_t more, apr_uint64_t limit)
{
    return already > limit || more > limit - already;
}

static apr_status_t refuse_duplicate(unpack_t *u, const char *raw,
                                     const char *path, apr_size_t len,
                                     const char *was)
{
    const char *as = strcmp(raw, path)
                         ? apr_psprintf(u->p, " (as \"%s\")", shown(u->p, path))
                         : "";

    if (was == KIND_FILE && len == strlen(path)) {
        return prep_refuse(u->verdict, u->p, "duplicate",
                           "entry \"%s\"%s appears twice in the package",
                           shown(u->p, raw), as);
    }
    return prep_refuse(u->verdict, u->p, "duplicate",
                       "entry \"%s\" makes \"%s\" both a file and a directory",
                       shown(u->p, raw),
                       shown(u->p, apr_pstrmemdup(u->p, path, len)));
}

/* Records path (a file, or a directory when is_dir) and every directory
 * on the way to it, refusing a path seen twice as a file or seen both as
 * a file and as a directory.  A directory listed twice is harmless. */
static apr_status_t register_path(unpack_t *u, const char *path, int is_dir,
                                  const char *raw)
{
    const char *slash = strchr(path, '/');

    for (;;) {
        apr_size_t len = slash ? (apr_size_t)(slash - path) : strlen(path);
        const char *was = apr_hash_get(u->seen, path, (apr_ssize_t)len);

        if (slash == NULL && !is_dir) {
            if (was != NULL) {
                return refuse_duplicate(u, raw, path, len, was);
            }
            apr_hash_set(u->seen, path, (apr_ssize_t)len, KIND_FILE);
            return APR_SUCCESS;
        }
        if (was == KIND_FILE) {
            return refuse_duplicate(u, raw, path, len, was);
        }
        if (was == NULL) {
            char *dir = apr_pstrmemdup(u->p, path, len);

            apr_hash_set(u->seen, dir, (apr_ssize_t)len, KIND_DIR);
            APR_ARRAY_PUSH(u->result->dirs, const char *) = dir;
        }
        if (slash == NULL) {
            return APR_SUCCESS;
        }
        slash = strchr(slash + 1, '/');
    }
}

static void note_top(unpack_t *u, const char *path, int is_dir)
{
    apr_size_t len = strcspn(path, "/");

    if (!is_dir && path[len] == '\0') {
        u->single_top = 0; /* a file at the top level */
    }
    if (u->top == NULL) {
        u->top = path;
        u->top_len = len;
    } else if (len != u->top_len || memcmp(path, u->top, len) != 0) {
        u->single_top = 0;
    }
}

/* `more` bytes of entry `raw`, on top of the `had` of it already read,
 * would take the package over PrepLimits ratio times its own size, the
 * file over PrepLimits file or the package over PrepLimits bytes: refused,
 * in that order (a bomb is told as one even when it is also too large).
 * `declared`: `more` is the size its header gives, before a byte is read. */
static apr_status_t refuse_growth(unpack_t *u, const char *raw,
                                  apr_uint64_t had, apr_uint64_t more,
                                  int declared)
{
    const prep_limits_t *l = u->limits;
    apr_uint64_t bytes = u->result->bytes;

    if (exceeds(bytes, more, u->ratio_bytes)) {
        return prep_refuse(
            u->verdict, u->p, "ratio",
            "entry \"%s\" takes the package over %" APR_UINT64_T_FMT
            " times its own size (a compression bomb?)",
            shown(u->p, raw), l->ratio);
    }
    if (exceeds(had, more, l->file) && declared) {
        return prep_refuse(u->verdict, u->p, "limit-file",
                           "entry \"%s\" has %" APR_UINT64_T_FMT
                           " bytes, more than the limit of "
                           "%" APR_UINT64_T_FMT " for one file",
                           shown(u->p, raw), more, l->file);
    }
    if (exceeds(had, more, l->file)) {
        return prep_refuse(u->verdict, u->p, "limit-file",
                           "entry \"%s\" has more than the limit of "
                           "%" APR_UINT64_T_FMT " bytes for one file",
                           shown(u->p, raw), l->file);
    }
    if (exceeds(bytes, more, l->bytes)) {
        return prep_refuse(u->verdict, u->p, "limit-bytes",
                           "entry \"%s\" takes the package over its "
                           "limit of %" APR_UINT64_T_FMT " uncompressed bytes",
                           shown(u->p, raw), l->bytes);
    }
    return APR_SUCCESS;
}

/* A new entry of the result for path: its bytes start at the pack's end. */
static prep_entry_t *add_entry(unpack_t *u, struct archive_entry *e,
                               const char *path)
{
    prep_unpacked_t *r = u->result;
    prep_entry_t *pe = apr_array_push(r->entries);

    memset(pe, 0, sizeof(*pe));
    pe->path = path;
    pe->offset = u->pack_start + r->pack_size;
    if (archive_entry_mtime_is_set(e)) {
        pe->mtime = apr_time_from_sec(archive_entry_mtime(e)) +
                    archive_entry_mtime_nsec(e) / 1000;
    }
    return pe;
}

/* The entry's bytes appended to the pack and hashed, the limits checked
 * again while they stream: the header may not say, or may lie. */
static apr_status_t copy_bytes(unpack_t *u, struct archive *a, const char *raw,
                               prep_entry_t *pe)
{
    prep_unpacked_t *r = u->result;
    apr_uint64_t size = 0;
    char err[128];

    EVP_DigestInit_ex(u->sha, EVP_sha256(), NULL);
    for (;;) {
        la_ssize_t got = archive_read_data(a, u->block, PACKAGE_BLOCK);
        apr_status_t rv;

        if (got == 0) {
            break;
        }
        if (got < 0) {
            const char *why = archive_error_string(a);

            return prep_refuse(u->verdict, u->p, "truncated",
                               "the package cannot be read to its end: "
                               "entry \"%s\": %s",
                               shown(u->p, raw), why ? why : "read error");
        }
        rv = refuse_growth(u, raw, size, (apr_uint64_t)got, 0);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        EVP_DigestUpdate(u->sha, u->block, (size_t)got);
        rv = apr_file_write_full(u->pack, u->block, (apr_size_t)got, NULL);
        if (rv != APR_SUCCESS) {
            return prep_refuse(u->verdict, u->p, "io",
                               "writing entry \"%s\" to the pack failed: %s",
                               shown(u->p, raw),
                               apr_strerror(rv, err, sizeof(err)));
        }
        size += (apr_uint64_t)got;
        r->bytes += (apr_uint64_t)got;
        r->pack_size += (apr_off_t)got;
        if (r->pack_size - u->written_back >= PACK_WRITEBACK) {
            apr_os_file_t fd;

            apr_os_file_get(&fd, u->pack);
            /* a hint: an error here is the fsync's to report */
            (void)sync_file_range(fd, u->pack_start + u->written_back,
                                  r->pack_size - u->written_back,
                                  SYNC_FILE_RANGE_WRITE);
            u->written_back = r->pack_size;
        }
    }
    EVP_DigestFinal_ex(u->sha, pe->sha256, NULL);
    pe->size = (apr_off_t)size;
    return APR_SUCCESS;
}

static apr_status_t copy_file(unpack_t *u, struct archive *a,
                              struct archive_entry *e, const char *raw,
                              const char *path)
{
    /* Refused on the declared size before a byte of a bomb is read. */
    if (archive_entry_size_is_set(e) && archive_entry_size(e) > 0) {
        apr_status_t rv =
            refuse_growth(u, raw, 0, (apr_uint64_t)archive_entry_size(e), 1);

        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    return copy_bytes(u, a, raw, add_entry(u, e, path));
}

static const char *type_name(unsigned int type)
{
    switch (type) {
        case AE_IFCHR:
            return "a character device";
        case AE_IFBLK:
            return "a block device";
        case AE_IFIFO:
            return "a FIFO";
        case AE_IFSOCK:
            return "a socket";
        default:
            return "neither a file nor a directory";
    }
}

/* The package rules on an entry's name and kind, before a byte of it is
 * read. */
static apr_status_t refuse_entry(unpack_t *u, struct archive_entry *e,
                                 const char *raw, unsigned int type)
{
    apr_size_t longest;

    if (has_control(raw)) {
        return prep_refuse(u->verdict, u->p, "bad-name",
                           "entry \"%s\" has a control character in its "
                           "name",
                           shown(u->p, raw));
    }
    if (is_absolute(raw)) {
        return prep_refuse(u->verdict, u->p, "absolute",
                           "entry \"%s\" has an absolute path",
                           shown(u->p, raw));
    }
    if (climbs_out(raw)) {
        return prep_refuse(u->verdict, u->p, "traversal",
                           "entry \"%s\" climbs out of the package",
                           shown(u->p, raw));
    }
    /* Without the password the entry cannot be checked, and it is not
     * ours to guess. */
    if (archive_entry_is_encrypted(e)) {
        return prep_refuse(u->verdict, u->p, "encrypted",
                           "entry \"%s\" is encrypted: a package must be "
                           "readable without a password",
                           shown(u->p, raw));
    }
    if (archive_entry_hardlink(e) != NULL) {
        return prep_refuse(
            u->verdict, u->p, "link", "entry \"%s\" is a hard link to \"%s\"",
            shown(u->p, raw), shown(u->p, archive_entry_hardlink(e)));
    }
    if (type == AE_IFLNK || archive_entry_symlink(e) != NULL) {
        const char *to = archive_entry_symlink(e);

        return prep_refuse(u->verdict, u->p, "link",
                           "entry \"%s\" is a symbolic link to \"%s\"",
                           shown(u->p, raw), shown(u->p, to ? to : ""));
    }
    if (type != AE_IFREG && type != AE_IFDIR) {
        return prep_refuse(u->verdict, u->p, "special", "entry \"%s\" is %s",
                           shown(u->p, raw), type_name(type));
    }
    longest = longest_component(raw);
    if (longest > NAME_COMPONENT_MAX) {
        return prep_refuse(u->verdict, u->p, "name-too-long",
                           "entry \"%s\" has a name of %" APR_SIZE_T_FMT
                           " bytes, more than %d",
                           shown(u->p, raw), longest, NAME_COMPONENT_MAX);
    }
    return APR_SUCCESS;
}

/* "`kind` "name" is `levels` levels deep", past PrepLimits depth. */
static apr_status_t refuse_depth(unpack_t *u, const char *kind,
                                 const char *name, int levels)
{
    return prep_refuse(u->verdict, u->p, "depth",
                       "%s \"%s\" is %d levels deep, more than the limit of "
                       "%d",
                       kind, shown(u->p, name), levels, u->limits->depth);
}

/* The path an entry named raw is served at, normalized, with the
 * components PrepStripComponents removes removed, and how many components
 * it has; NULL when nothing is left of it (stripped away, like tar does,
 * or "./": the package's root). */
static const char *entry_path(unpack_t *u, const char *raw, int *components)
{
    char *path = normalize(u->p, raw, components);
    int i;

    if (u->strip > 0) {
        if (*components <= u->strip) {
            return NULL;
        }
        for (i = 0; i < u->strip; i++) {
            path = strchr(path, '/') + 1;
        }
        *components -= u->strip;
    }
    return *path == '\0' ? NULL : path;
}

static apr_status_t read_entry(unpack_t *u, struct archive *a,
                               struct archive_entry *e)
{
    const prep_limits_t *l = u->limits;
    const char *raw = archive_entry_pathname_utf8(e), *path;
    unsigned int type = archive_entry_filetype(e);
    int components, allowed;
    apr_status_t rv;

    if (raw == NULL) {
        raw = archive_entry_pathname(e);
    }
    if (++u->headers > l->files) {
        return prep_refuse(u->verdict, u->p, "limit-files",
                           "the package holds more than %" APR_UINT64_T_FMT
                           " entries",
                           l->files);
    }
    if (raw == NULL) {
        return prep_refuse(u->verdict, u->p, "special",
                           "entry number %" APR_UINT64_T_FMT
                           " has a name that cannot be read",
                           u->headers);
    }
    if ((rv = refuse_entry(u, e, raw, type)) != APR_SUCCESS) {
        return rv;
    }
    if ((path = entry_path(u, raw, &components)) == NULL) {
        return APR_SUCCESS;
    }
    /* Auto strip is decided at the end; allow for its folder until then. */
    allowed = l->depth + (u->strip < 0 ? 1 : 0);
    if (components > allowed) {
        return refuse_depth(u, "entry", raw, components - (allowed - l->depth));
    }
    if (u->strip < 0) {
        note_top(u, path, type == AE_IFDIR);
    }
    rv = register_path(u, path, type == AE_IFDIR, raw);
    if (rv != APR_SUCCESS || type == AE_IFDIR) {
        return rv;
    }
    return copy_file(u, a, e, raw, path);
}

/* A path of the result past PrepLimits depth, once the auto strip is
 * done. */
static apr_status_t refuse_deep(unpack_t *u, const char *kind, const char *path)
{
    int n = count_components(path);

    return n > u->limits->depth ? refuse_depth(u, kind, path, n) : APR_SUCCESS;
}

/* Auto strip: every entry lies in one folder, so drop it; then the paths
 * are registered again, which re-checks duplicates and depth. */
static apr_status_t finish_paths(unpack_t *u)
{
    prep_unpacked_t *r = u->result;
    apr_array_header_t *dirs = r->dirs;
    apr_size_t cut = 0;
    apr_status_t rv = APR_SUCCESS;
    int i;

    if (u->strip >= 0) {
        return APR_SUCCESS; /* checked entry by entry already */
    }
    if (u->single_top && u->top != NULL) {
        cut = u->top_len + 1;
    }
    u->seen = apr_hash_make(u->scratch);
    r->dirs = apr_array_make(u->p, dirs->nelts, sizeof(const char *));
    for (i = 0; i < dirs->nelts && rv == APR_SUCCESS; i++) {
        const char *dir = APR_ARRAY_IDX(dirs, i, const char *);

        if (strlen(dir) >= cut) { /* else the folder stripped */
            rv = register_path(u, dir + cut, 1, dir);
        }
    }
    for (i = 0; i < r->entries->nelts && rv == APR_SUCCESS; i++) {
        prep_entry_t *pe = &APR_ARRAY_IDX(r->entries, i, prep_entry_t);
        const char *raw = pe->path;

        pe->path += cut;
        rv = register_path(u, pe->path, 0, raw);
    }
    for (i = 0; i < r->dirs->nelts && rv == APR_SUCCESS; i++) {
        rv = refuse_deep(u, "directory",
                         APR_ARRAY_IDX(r->dirs, i, const char *));
    }
    for (i = 0; i < r->entries->nelts && rv == APR_SUCCESS; i++) {
        rv = refuse_deep(u, "entry",
                         APR_ARRAY_IDX(r->entries, i, prep_entry_t).path);
    }
    return rv;
}

/* The compressions PrepFormats allows; never filter_all, which would
 * start external programs (lrzip, lzop, grzip...) on hostile input. */
static void support_compressions(struct archive *a, unsigned formats)
{
    apr_size_t i;

    for (i = 0; i < COUNT(compression_kinds); i++) {
        const compression_kind_t *k = &compression_kinds[i];

        if ((formats & k->bit) && k->support != NULL) {
            k->support(a);
        }
    }
}

/* The decoders PrepFormats allows, never mtree nor raw; "empty" only
 * recognizes a file of no bytes. */
static void support_formats(struct archive *a, unsigned formats)
{
    apr_size_t i;

    support_compressions(a, formats);
    for (i = 0; i < COUNT(archive_kinds); i++) {
        if (formats & archive_kinds[i].bit) {
            archive_kinds[i].support(a);
        }
    }
    archive_read_support_format_empty(a);
}

/* Whether the one archive format `k`, read through the compressions
 * `formats` allows, recognizes the package.  Only the format's bidder
 * runs (archive_read_open1 reads no header): a quick look at its magic. */
static int format_bids(const archive_kind_t *k, unsigned formats,
                       package_source_t *probe)
{
    struct archive *a = archive_read_new();
    apr_off_t zero = 0;
    int bids;

    if (a == NULL || k->support == NULL) {
        archive_read_free(a);
        return 0;
    }
    probe->pos = 0;
    if (probe->file != NULL &&
        apr_file_seek(probe->file, APR_SET, &zero) != APR_SUCCESS) {
        archive_read_free(a);
        return 0;
    }
    support_compressions(a, formats);
    k->support(a);
    archive_read_set_callback_data(a, probe);
    archive_read_set_read_callback(a, source_read);
    archive_read_set_seek_callback(a, source_seek);
    bids = archive_read_open1(a) == ARCHIVE_OK;
    archive_read_free(a);
    return bids;
}

/* The first bytes of the package, for the compressions' magic. */
static apr_size_t package_head(package_source_t *probe, unsigned char *head,
                               apr_size_t want)
{
    apr_off_t zero = 0;
    apr_size_t n = want;

    if (probe->file == NULL) {
        n = probe->len < want ? probe->len : want;
        memcpy(head, probe->buf, n);
        return n;
    }
    if (apr_file_seek(probe->file, APR_SET, &zero) != APR_SUCCESS) {
        return 0;
    }
    apr_file_read_full(probe->file, head, want, &n); /* short at EOF */
    return n;
}

/* The package is nothing the enabled formats read: is it one PrepFormats
 * leaves out?  The sentence that says so, or NULL.  Formats are named by
 * their bidders alone, compressions by their magic: no decoder that the
 * feed does not allow ever runs over the package. */
static const char *refused_format(unpack_t *u, const package_source_t *src)
{
    unsigned formats = u->limits->formats;
    package_source_t probe = *src;
    unsigned char head[8];
    apr_size_t i, n;

    probe.sha = NULL;
    for (i = 0; i < COUNT(archive_kinds); i++) {
        const archive_kind_t *k = &archive_kinds[i];

        if ((formats & k->bit) || !format_bids(k, formats, &probe)) {
            continue;
        }
        if (k->bit == 0) {
            return apr_psprintf(u->p,
                                "the package is %s, which is never read: %s",
                                k->name, k->never);
        }
        return apr_psprintf(
            u->p, "%s is not among PrepFormats (%s)", k->name,
            prep_formats_words(formats & PREP_FORMATS_ARCHIVES, u->p));
    }
    n = package_head(&probe, head, sizeof(head));
    for (i = 0; i < COUNT(compression_kinds); i++) {
        const compression_kind_t *k = &compression_kinds[i];

        if (!(formats & k->bit) && n >= k->magic_len &&
            memcmp(head, k->magic, k->magic_len) == 0) {
            return apr_psprintf(
                u->p, "%s compression is not among PrepFormats (%s)", k->word,
                prep_formats_words(formats & PREP_FORMATS_COMPRESSIONS, u->p));
        }
    }
    return NULL;
}

/* Opens the package for libarchive with the decoders PrepFormats allows;
 * refused when none of them reads it. */
static apr_status_t open_package(unpack_t *u, struct archive *a,
                                 package_source_t *src)
{
    const char *why, *refused;

    support_formats(a, u->limits->formats);
    archive_read_set_callback_data(a, src);
    archive_read_set_read_callback(a, source_read);
    archive_read_set_seek_callback(a, source_seek);
    if (archive_read_open1(a) >= ARCHIVE_WARN) {
        return APR_SUCCESS;
    }
    why = archive_error_string(a);
    if (why && strstr(why, "runcated")) {
        return prep_refuse(u->verdict, u->p, "truncated",
                           "the package ends before its first entry: %s", why);
    }
    why = apr_pstrdup(u->p, why ? why : "unrecognized format");
    refused = refused_format(u, src);
    if (refused != NULL) {
        return prep_refuse(u->verdict, u->p, "not-an-archive", "%s", refused);
    }
    return prep_refuse(u->verdict, u->p, "not-an-archive",
                       "the package is not an archive that can be read: %s",
                       why);
}

/* Why the next entry's header cannot be read. */
static apr_status_t refuse_header(unpack_t *u, struct archive *a)
{
    const char *why = archive_error_string(a);

    /* 7-Zip and RAR can encrypt the headers too: no name to give. */
    if (archive_read_has_encrypted_entries(a) > 0) {
        return prep_refuse(u->verdict, u->p, "encrypted",
                           "the package is encrypted, the names of its "
                           "entries too: a package must be readable without "
                           "a password (%s)",
                           why ? why : "read error");
    }
    /* A stream that ends early is truncated, even before its first entry:
     * only an unrecognized one is not an archive. */
    if (u->headers == 0 && archive_format(a) == 0 &&
        !(why && strstr(why, "runcated"))) {
        return prep_refuse(u->verdict, u->p, "not-an-archive",
                           "the package is not an archive that can be read: "
                           "%s",
                           why ? why : "no first entry");
    }
    return prep_refuse(u->verdict, u->p, "truncated",
                       "the package cannot be read to its end: after "
                       "%" APR_UINT64_T_FMT " entries: %s",
                       u->headers, why ? why : "read error");
}

/* After the last entry: a package without files refused, the auto strip
 * done, the pack flushed and the package's digest completed. */
static apr_status_t finish_package(unpack_t *u, struct archive *a,
                                   package_source_t *src)
{
    prep_unpacked_t *r = u->result;
    apr_status_t rv;
    char err[128];

    if (r->format == NULL) {
        const char *name = archive_format_name(a);

        r->format = apr_pstrdup(u->p, name ? name : "unknown");
    }
    if (r->entries->nelts == 0) {
        /* tar takes a first block of zeros for an empty archive: an ISO
         * 9660 image starts with 32 KiB of them. */
        const char *refused = u->headers == 0 ? refused_format(u, src) : NULL;

        if (refused != NULL) {
            return prep_refuse(u->verdict, u->p, "not-an-archive", "%s",
                               refused);
        }
        return prep_refuse(u->verdict, u->p, "empty",
                           "the package holds no regular files");
    }
    if ((rv = finish_paths(u)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = apr_file_flush(u->pack)) != APR_SUCCESS) {
        return prep_refuse(u->verdict, u->p, "io",
                           "writing the pack failed: %s",
                           apr_strerror(rv, err, sizeof(err)));
    }
    rv = source_finish(src, r->package_sha256, &r->package_size);
    if (rv != APR_SUCCESS) {
        return prep_refuse(u->verdict, u->p, "io",
                           "reading the package failed: %s",
                           apr_strerror(rv, err, sizeof(err)));
    }
    return APR_SUCCESS;
}

static apr_status_t read_package(unpack_t *u, struct archive *a,
                                 package_source_t *src)
{
    prep_unpacked_t *r = u->result;
    struct archive_entry *e;
    apr_status_t rv = open_package(u, a, src);

    while (rv == APR_SUCCESS) {
        int ret = archive_read_next_header(a, &e);

        if (ret == ARCHIVE_EOF) {
            return finish_package(u, a, src);
        }
        if (ret != ARCHIVE_OK && ret != ARCHIVE_WARN) {
            return refuse_header(u, a);
        }
        if (r->format == NULL && archive_format_name(a) != NULL) {
            r->format = apr_pstrdup(u->p, archive_format_name(a));
        }
        rv = read_entry(u, a, e);
    }
    return rv;
}

static apr_status_t unpack_source(prep_unpacked_t **out, package_source_t *src,
                                  apr_uint64_t package_size, apr_file_t *pack,
                                  const prep_limits_t *limits, int strip,
                                  prep_verdict_t *verdict, apr_pool_t *p)
{
    unpack_t u;
    struct archive *a;
    locale_t utf8, previous = (locale_t)0;
    apr_status_t rv;
    char err[128];

    verdict->reason = NULL;
    verdict->message = NULL;
    memset(&u, 0, sizeof(u));
    u.p = p;
    u.limits = limits;
    u.strip = strip < 0 ? -1 : strip;
    u.verdict = verdict;
    u.pack = pack;
    u.single_top = 1;
    u.ratio_bytes =
        (package_size != 0 && limits->ratio > APR_UINT64_MAX / package_size)
            ? APR_UINT64_MAX
            : limits->ratio * package_size;

    u.pack_start = 0;
    rv = apr_file_seek(pack, APR_END, &u.pack_start);
    if (rv != APR_SUCCESS) {
        return prep_refuse(verdict, p, "io", "the pack cannot be written: %s",
                           apr_strerror(rv, err, sizeof(err)));
    }

    apr_pool_create(&u.scratch, p);
    u.seen = apr_hash_make(u.scratch);
    u.block = apr_palloc(u.scratch, PACKAGE_BLOCK);
    u.result = apr_pcalloc(p, sizeof(*u.result));
    u.result->entries = apr_array_make(p, 64, sizeof(prep_entry_t));
    u.result->dirs = apr_array_make(p, 16, sizeof(const char *));
    src->block = apr_palloc(u.scratch, PACKAGE_BLOCK);

    /* Names come out as UTF-8 whatever LC_CTYPE httpd runs with: under "C",
     * libarchive cannot convert a zip's UTF-8 names and gives none.  It
     * reads the locale when the archive object is made, on this thread. */
    utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    if (utf8 == (locale_t)0) {
        utf8 = newlocale(LC_CTYPE_MASK, "en_US.UTF-8", (locale_t)0);
    }
    if (utf8 != (locale_t)0) {
        previous = uselocale(utf8);
    }
    u.sha = EVP_MD_CTX_new();
    src->sha = EVP_MD_CTX_new();
    a = archive_read_new();
    if (u.sha == NULL || src->sha == NULL || a == NULL) {
        rv = prep_refuse(verdict, p, "io", "out of memory reading the package");
    } else {
        EVP_DigestInit_ex(src->sha, EVP_sha256(), NULL);
        rv = read_package(&u, a, src);
    }
    archive_read_free(a);
    if (utf8 != (locale_t)0) {
        uselocale(previous);
        freelocale(utf8);
    }
    EVP_MD_CTX_free(src->sha);
    EVP_MD_CTX_free(u.sha);
    src->sha = NULL;
    apr_pool_destroy(u.scratch);

    if (rv == APR_SUCCESS) {
        *out = u.result;
    }
    return rv;
}

/* The buffer a package is inflated into, its pages faulted in at once (a
 * fault per page as the inflate reaches it cost a tenth of the unpack). */
static unsigned char *inflated_buffer(size_t len)
{
    void *b = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

    return b == MAP_FAILED ? NULL : b;
}

static void inflated_free(void *b, size_t len)
{
    if (b) {
        munmap(b, len);
    }
}

/* The package inflated whole into a buffer that s then reads (the caller
 * frees s->buf), when it is gzip (allowed by PrepFormats) of one member,
 * small enough, and says it holds no more than the limits allow: APR_SUCCESS;
 * anything else leaves s as it was, to be read streamed. */
static apr_status_t inflate_whole(package_source_t *s, apr_os_file_t fd,
                                  apr_uint64_t size,
                                  const prep_limits_t *limits)
{
    struct libdeflate_decompressor *d;
    unsigned char *in, *out = NULL;
    apr_uint64_t claimed = 0, most = INFLATE_WHOLE_OUT;
    size_t in_used = 0, out_used = 0;
    int ok = 0;

    if (!(limits->formats & PREP_FORMAT_GZIP) || size < 18 ||
        size > INFLATE_WHOLE_IN || !(in = inflated_buffer((size_t)size))) {
        return APR_EGENERAL;
    }
    if (limits->bytes && limits->bytes < most) {
        most = limits->bytes;
    }
    if (limits->ratio && limits->ratio * size < most) {
        most = limits->ratio * size;
    }
    if (pread(fd, in, (size_t)size, 0) == (ssize_t)size && in[0] == 0x1f &&
        in[1] == 0x8b) {
        /* ISIZE: the size of the last member, modulo 2^32 */
        claimed = (apr_uint64_t)in[size - 4] | (apr_uint64_t)in[size - 3] << 8 |
                  (apr_uint64_t)in[size - 2] << 16 |
                  (apr_uint64_t)in[size - 1] << 24;
        if (claimed > 0 && claimed <= most &&
            (out = inflated_buffer((size_t)claimed)) &&
            (d = libdeflate_alloc_decompressor())) {
            ok = libdeflate_gzip_decompress_ex(
                     d, in, (size_t)size, out, (size_t)claimed, &in_used,
                     &out_used) == LIBDEFLATE_SUCCESS &&
                 in_used == size && out_used == claimed;
            libdeflate_free_decompressor(d);
        }
    }
    if (ok) {
        EVP_Digest(in, (size_t)size, s->inflated_sha256, NULL, EVP_sha256(),
                   NULL);
        s->file = NULL;
        s->buf = out;
        s->len = out_used;
        s->alloc_len = (size_t)claimed;
        s->inflated = 1;
        s->inflated_size = size;
    } else {
        inflated_free(out, (size_t)claimed);
    }
    inflated_free(in, (size_t)size);
    return ok ? APR_SUCCESS : APR_EGENERAL;
}

/* An open package, named `label` in messages. */
static apr_status_t unpack_open(prep_unpacked_t **out, apr_file_t *package,
                                const char *label, apr_file_t *pack,
                                const prep_limits_t *limits, int strip,
                                prep_verdict_t *verdict, apr_pool_t *p)
{
    package_source_t src;
    apr_finfo_t finfo;
    apr_off_t zero = 0;
    apr_os_file_t fd;
    apr_status_t rv;
    char err[128];

    *out = NULL;
    memset(&src, 0, sizeof(src));
    src.file = package;
    /* fstat, on the descriptor: the file read is the file checked. */
    rv = apr_file_info_get(&finfo, APR_FINFO_TYPE | APR_FINFO_SIZE, package);
    if (rv == APR_SUCCESS && finfo.filetype != APR_REG) {
        return prep_refuse(verdict, p, "not-an-archive",
                           "the package %s is not a regular file", label);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_file_seek(package, APR_SET, &zero);
    }
    if (rv != APR_SUCCESS) {
        return prep_refuse(verdict, p, "io",
                           "the package %s cannot be read: %s", label,
                           apr_strerror(rv, err, sizeof(err)));
    }
    apr_os_file_get(&fd, package);
    inflate_whole(&src, fd, (apr_uint64_t)finfo.size, limits);
    rv = unpack_source(out, &src, (apr_uint64_t)finfo.size, pack, limits, strip,
                       verdict, p);
    if (src.inflated) {
        inflated_free((void *)src.buf, src.alloc_len);
    }
    if (rv == APR_SUCCESS && (*out)->package_size != (apr_uint64_t)finfo.size) {
        *out = NULL;
        rv = prep_refuse(verdict, p, "io",
                         "the package %s changed while it was read", label);
    }
    return rv;
}

apr_status_t prep_package_unpack_file(prep_unpacked_t **out,
                                      apr_file_t *package, apr_file_t *pack,
                                      const prep_limits_t *limits, int strip,
                                      prep_verdict_t *verdict, apr_pool_t *p)
{
    const char *name = NULL;

    if (apr_file_name_get(&name, package) != APR_SUCCESS || name == NULL) {
        name = NULL;
    }
    return unpack_open(out, package,
                       name ? apr_psprintf(p, "\"%s\"", shown(p, name))
                            : "(open file)",
                       pack, limits, strip, verdict, p);
}

apr_status_t prep_package_unpack(prep_unpacked_t **out,
                                 const char *package_path, apr_file_t *pack,
                                 const prep_limits_t *limits, int strip,
                                 prep_verdict_t *verdict, apr_pool_t *p)
{
    const char *label = apr_psprintf(p, "\"%s\"", shown(p, package_path));
    apr_pool_t *scratch;
    apr_file_t *package;
    apr_os_file_t fd;
    apr_status_t rv;
    int flags;
    char err[128];

    *out = NULL;
    /* Never through a symbolic link; O_NONBLOCK so that a FIFO put in
     * its place cannot hang the open (fstat refuses it afterwards). */
    fd = open(package_path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        rv = APR_FROM_OS_ERROR(errno);
        if (errno == ELOOP) {
            return prep_refuse(verdict, p, "not-an-archive",
                               "the package %s is a symbolic link, not a "
                               "regular file",
                               label);
        }
        return prep_refuse(verdict, p, "io",
                           "the package %s cannot be read: %s", label,
                           apr_strerror(rv, err, sizeof(err)));
    }
    flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
        rv = APR_FROM_OS_ERROR(errno);
        close(fd);
        return prep_refuse(verdict, p, "io",
                           "the package %s cannot be read: %s", label,
                           apr_strerror(rv, err, sizeof(err)));
    }
    apr_pool_create(&scratch, p);
    rv = apr_os_file_put(&package, &fd, APR_FOPEN_READ | APR_FOPEN_BINARY,
                         scratch);
    if (rv != APR_SUCCESS) {
        close(fd);
        apr_pool_destroy(scratch);
        return prep_refuse(verdict, p, "io",
                           "the package %s cannot be read: %s", label,
                           apr_strerror(rv, err, sizeof(err)));
    }
    rv = unpack_open(out, package, label, pack, limits, strip, verdict, p);
    apr_file_close(package);
    apr_pool_destroy(scratch);
    return rv;
}

apr_status_t prep_package_unpack_buffer(prep_unpacked_t **out, const void *buf,
                                        apr_size_t len, apr_file_t *pack,
                                        const prep_limits_t *limits, int strip,
                                        prep_verdict_t *verdict, apr_pool_t *p)
{
    package_source_t src;

    *out = NULL;
    memset(&src, 0, sizeof(src));
    src.buf = buf;
    src.len = len;
    return unpack_source(out, &src, len, pack, limits, strip, verdict, p);
}
