/* check_package.c — unit tests of prep_package.c: the package rules.
 *
 * Every package is built at test time: most with libarchive's writer (one
 * small hostile archive per attack, as libarchive's own test suite does),
 * some with the real tar and zip commands.  Each refusal is asserted by its
 * exact reason code. */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_strings.h>

#include "prep.h"
#include "test_prep.h"

/* Every pack starts with these bytes, so offsets are never taken as 0. */
#define PACK_PREFIX     "PACK\n"
#define PACK_PREFIX_LEN 5
#define MTIME           1717380300 /* 2024-06-02T20:05:00-06:00 */

static apr_pool_t *pool;
static const char *tmp; /* this test's directory, removed afterwards */
static int serial;      /* names files made by one test */

/* ------------------------------------------------------------------ */
/* Fixture */

static void remove_tree(const char *path, apr_pool_t *p)
{
    apr_dir_t *dir;
    apr_finfo_t fi;

    if (apr_dir_open(&dir, path, p) != APR_SUCCESS) {
        return;
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, dir) ==
           APR_SUCCESS) {
        const char *child;

        if (!strcmp(fi.name, ".") || !strcmp(fi.name, "..")) {
            continue;
        }
        child = apr_pstrcat(p, path, "/", fi.name, NULL);
        if (fi.filetype == APR_DIR) {
            remove_tree(child, p);
        } else {
            apr_file_remove(child, p);
        }
    }
    apr_dir_close(dir);
    apr_dir_remove(path, p);
}

/* The suite's directory is made and removed by the parent process, so it
 * goes away even when a test fails (check runs no checked teardown then). */
static apr_pool_t *suite_pool;
static const char *suite_tmp;

static void suite_setup(void)
{
    const char *base;
    char *dir;

    apr_pool_create(&suite_pool, NULL);
    ck_assert_int_eq(apr_temp_dir_get(&base, suite_pool), APR_SUCCESS);
    dir = apr_pstrcat(suite_pool, base, "/prep-package-XXXXXX", NULL);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    suite_tmp = dir;
}

static void suite_teardown(void)
{
    remove_tree(suite_tmp, suite_pool);
    apr_pool_destroy(suite_pool);
}

static void setup(void)
{
    char *dir;

    apr_pool_create(&pool, NULL);
    dir = apr_pstrcat(pool, suite_tmp, "/test-XXXXXX", NULL);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    tmp = dir;
    serial = 0;
}

static void teardown(void)
{
    remove_tree(tmp, pool);
    apr_pool_destroy(pool);
}

/* ------------------------------------------------------------------ */
/* Building packages with libarchive's writer */

typedef struct built {
    struct archive *a;
    char *data;
    size_t len, cap;
} built_t;

static la_ssize_t built_write(struct archive *a, void *baton, const void *buf,
                              size_t n)
{
    built_t *b = baton;

    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->data = realloc(b->data, b->cap);
        ck_assert_ptr_nonnull(b->data);
    }
    memcpy(b->data + b->len, buf, n);
    b->len += n;
    return (la_ssize_t)n;
}

/* format: an ARCHIVE_FORMAT_* code. */
static built_t *pkg_new_with(int format, int gzip, const char *options)
{
    built_t *b = apr_pcalloc(pool, sizeof(*b));

    b->a = archive_write_new();
    ck_assert_int_eq(archive_write_set_format(b->a, format), ARCHIVE_OK);
    if (gzip) {
        ck_assert_int_eq(archive_write_add_filter_gzip(b->a), ARCHIVE_OK);
    }
    if (options != NULL) {
        ck_assert_int_eq(archive_write_set_options(b->a, options), ARCHIVE_OK);
    }
    ck_assert_int_eq(archive_write_open(b->a, b, NULL, built_write, NULL),
                     ARCHIVE_OK);
    return b;
}

static built_t *pkg_new(int format, int gzip)
{
    return pkg_new_with(format, gzip, NULL);
}

static struct archive_entry *new_entry(const char *name, unsigned int type)
{
    struct archive_entry *e = archive_entry_new();

    archive_entry_set_pathname_utf8(e, name);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
    archive_entry_set_mtime(e, MTIME, 0);
    return e;
}

static void write_entry(built_t *b, struct archive_entry *e, const char *data,
                        size_t len)
{
    int ret = archive_write_header(b->a, e);

    ck_assert_msg(ret >= ARCHIVE_WARN, "writing \"%s\": %s",
                  archive_entry_pathname(e), archive_error_string(b->a));
    if (len > 0) {
        ck_assert_int_eq(archive_write_data(b->a, data, len), (la_ssize_t)len);
    }
    archive_entry_free(e);
}

static void pkg_file_bytes(built_t *b, const char *name, const char *data,
                           size_t len)
{
    struct archive_entry *e = new_entry(name, AE_IFREG);

    archive_entry_set_size(e, (la_int64_t)len);
    write_entry(b, e, data, len);
}

static void pkg_file(built_t *b, const char *name, const char *data)
{
    pkg_file_bytes(b, name, data, strlen(data));
}

static void pkg_dir(built_t *b, const char *name)
{
    write_entry(b, new_entry(name, AE_IFDIR), NULL, 0);
}

/* A file whose size the header does not give (zip: length at end). */
static void pkg_file_streamed(built_t *b, const char *name, const char *data,
                              size_t len)
{
    struct archive_entry *e = new_entry(name, AE_IFREG);

    archive_entry_unset_size(e);
    write_entry(b, e, data, len);
}

static void pkg_symlink(built_t *b, const char *name, const char *target)
{
    struct archive_entry *e = new_entry(name, AE_IFLNK);

    archive_entry_set_symlink_utf8(e, target);
    write_entry(b, e, NULL, 0);
}

static void pkg_hardlink(built_t *b, const char *name, const char *target)
{
    struct archive_entry *e = new_entry(name, AE_IFREG);

    archive_entry_set_hardlink_utf8(e, target);
    archive_entry_set_size(e, 0);
    write_entry(b, e, NULL, 0);
}

static void pkg_special(built_t *b, const char *name, unsigned int type)
{
    struct archive_entry *e = new_entry(name, type);

    archive_entry_set_size(e, 0);
    archive_entry_set_rdevmajor(e, 1);
    archive_entry_set_rdevminor(e, 3);
    write_entry(b, e, NULL, 0);
}

/* Finishes the archive; its bytes live in the test pool. */
static const char *pkg_close(built_t *b, apr_size_t *len)
{
    char *copy;

    ck_assert_int_eq(archive_write_close(b->a), ARCHIVE_OK);
    archive_write_free(b->a);
    copy = apr_pmemdup(pool, b->data, b->len);
    *len = b->len;
    free(b->data);
    return copy;
}

/* ------------------------------------------------------------------ */
/* Files, digests, commands */

static const char *tmp_path(const char *stem)
{
    return apr_psprintf(pool, "%s/%s.%d", tmp, stem, ++serial);
}

static void write_file(const char *path, const void *data, apr_size_t len)
{
    apr_file_t *f;

    ck_assert_int_eq(apr_file_open(&f, path,
                                   APR_FOPEN_WRITE | APR_FOPEN_CREATE |
                                       APR_FOPEN_TRUNCATE | APR_FOPEN_BINARY,
                                   APR_FPROT_OS_DEFAULT, pool),
                     APR_SUCCESS);
    if (len > 0) {
        ck_assert_int_eq(apr_file_write_full(f, data, len, NULL), APR_SUCCESS);
    }
    ck_assert_int_eq(apr_file_close(f), APR_SUCCESS);
}

static char *read_file(const char *path, apr_size_t *len)
{
    apr_finfo_t fi;
    apr_file_t *f;
    char *data;

    ck_assert_int_eq(apr_stat(&fi, path, APR_FINFO_SIZE, pool), APR_SUCCESS);
    data = apr_palloc(pool, (apr_size_t)fi.size + 1);
    ck_assert_int_eq(
        apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, pool),
        APR_SUCCESS);
    *len = (apr_size_t)fi.size;
    if (*len > 0) {
        ck_assert_int_eq(apr_file_read_full(f, data, *len, NULL), APR_SUCCESS);
    }
    data[*len] = '\0';
    apr_file_close(f);
    return data;
}

static void sha256(unsigned char out[32], const void *data, size_t len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    ck_assert_ptr_nonnull(ctx);
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, data, len);
    EVP_DigestFinal_ex(ctx, out, NULL);
    EVP_MD_CTX_free(ctx);
}

/* Bytes that compress to nothing: a deterministic pseudo-random stream. */
static char *noise(apr_size_t len, unsigned int seed)
{
    char *data = apr_palloc(pool, len);
    apr_size_t i;

    for (i = 0; i < len; i++) {
        seed = seed * 1103515245u + 12345u;
        data[i] = (char)(seed >> 16);
    }
    return data;
}

/* Text that deflate really compresses (unlike noise, which it stores). */
static char *csv(apr_size_t rows)
{
    char *text = apr_palloc(pool, rows * 32 + 1), *t = text;
    apr_size_t i;

    for (i = 0; i < rows; i++) {
        t += apr_snprintf(t, 33,
                          "%" APR_SIZE_T_FMT ",casilla %" APR_SIZE_T_FMT
                          ",%" APR_SIZE_T_FMT "\n",
                          i, i % 97, (i * 7919) % 1000);
    }
    return text;
}

static int have_command(const char *name)
{
    return system(apr_psprintf(pool, "command -v %s >/dev/null 2>&1", name)) ==
           0;
}

static void run(const char *command)
{
    ck_assert_msg(system(command) == 0, "command failed: %s", command);
}

/* ------------------------------------------------------------------ */
/* Unpacking into a fresh pack */

typedef struct outcome {
    apr_status_t rv;
    prep_unpacked_t *u;
    prep_verdict_t v;
    char *pack; /* the pack's bytes, PACK_PREFIX first */
    apr_size_t pack_len;
} outcome_t;

static apr_file_t *open_pack(const char **path)
{
    apr_file_t *f;

    *path = tmp_path("pack");
    ck_assert_int_eq(apr_file_open(&f, *path,
                                   APR_FOPEN_WRITE | APR_FOPEN_CREATE |
                                       APR_FOPEN_TRUNCATE | APR_FOPEN_BINARY,
                                   APR_FPROT_OS_DEFAULT, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(apr_file_write_full(f, PACK_PREFIX, PACK_PREFIX_LEN, NULL),
                     APR_SUCCESS);
    return f;
}

static outcome_t *unpack_buffer(const void *data, apr_size_t len,
                                const prep_limits_t *limits, int strip)
{
    outcome_t *o = apr_pcalloc(pool, sizeof(*o));
    prep_limits_t defaults;
    const char *path;
    apr_file_t *pack = open_pack(&path);

    prep_limits_default(&defaults);
    o->rv = prep_package_unpack_buffer(&o->u, data, len, pack,
                                       limits ? limits : &defaults, strip,
                                       &o->v, pool);
    ck_assert_int_eq(apr_file_close(pack), APR_SUCCESS);
    o->pack = read_file(path, &o->pack_len);
    return o;
}

static outcome_t *unpack_path(const char *package, const prep_limits_t *limits,
                              int strip)
{
    outcome_t *o = apr_pcalloc(pool, sizeof(*o));
    prep_limits_t defaults;
    const char *path;
    apr_file_t *pack = open_pack(&path);

    prep_limits_default(&defaults);
    o->rv = prep_package_unpack(
        &o->u, package, pack, limits ? limits : &defaults, strip, &o->v, pool);
    ck_assert_int_eq(apr_file_close(pack), APR_SUCCESS);
    o->pack = read_file(path, &o->pack_len);
    return o;
}

static void assert_accepted(const outcome_t *o)
{
    ck_assert_msg(o->rv == APR_SUCCESS, "refused: %s: %s",
                  o->v.reason ? o->v.reason : "(no reason)",
                  o->v.message ? o->v.message : "(no message)");
    ck_assert_ptr_null(o->v.reason);
    ck_assert_ptr_nonnull(o->u);
}

static void assert_refused(const outcome_t *o, const char *reason)
{
    ck_assert_int_eq(o->rv, APR_EGENERAL);
    ck_assert_ptr_null(o->u);
    ck_assert_ptr_nonnull(o->v.reason);
    ck_assert_str_eq(o->v.reason, reason);
    ck_assert_ptr_nonnull(o->v.message);
    ck_assert_int_gt(strlen(o->v.message), 10);
}

/* Refused with `reason`, and the message names `name` when given. */
static void assert_refused_naming(const outcome_t *o, const char *reason,
                                  const char *name)
{
    assert_refused(o, reason);
    if (name != NULL) {
        ck_assert_msg(strstr(o->v.message, name) != NULL,
                      "message \"%s\" does not name \"%s\"", o->v.message,
                      name);
    }
}

static const prep_entry_t *find_entry(const prep_unpacked_t *u,
                                      const char *path)
{
    int i;

    for (i = 0; i < u->entries->nelts; i++) {
        const prep_entry_t *e = &APR_ARRAY_IDX(u->entries, i, prep_entry_t);

        if (!strcmp(e->path, path)) {
            return e;
        }
    }
    return NULL;
}

/* The entry holds exactly `data`: size, bytes in the pack, digest. */
static void assert_entry(const outcome_t *o, const char *path, const char *data,
                         apr_size_t len)
{
    const prep_entry_t *e = find_entry(o->u, path);
    unsigned char digest[32];

    ck_assert_msg(e != NULL, "no entry \"%s\"", path);
    ck_assert_int_eq(e->size, (apr_off_t)len);
    ck_assert_int_ge(e->offset, PACK_PREFIX_LEN);
    ck_assert_int_le(e->offset + e->size, (apr_off_t)o->pack_len);
    if (len > 0) {
        ck_assert_mem_eq(o->pack + e->offset, data, len);
    }
    sha256(digest, data, len);
    ck_assert_mem_eq(e->sha256, digest, 32);
}

static int has_dir(const prep_unpacked_t *u, const char *dir)
{
    int i;

    for (i = 0; i < u->dirs->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(u->dirs, i, const char *), dir)) {
            return 1;
        }
    }
    return 0;
}

/* A package with a single entry `name` (and a sibling, so nothing is
 * stripped), unpacked with the default limits. */
static outcome_t *unpack_one_name(int format, const char *name)
{
    built_t *b = pkg_new(format, 0);
    const char *data;
    apr_size_t len;

    pkg_file(b, "index.html", "<html></html>");
    pkg_file(b, name, "evil");
    data = pkg_close(b, &len);
    return unpack_buffer(data, len, NULL, -1);
}

/* ------------------------------------------------------------------ */
/* Names in the incoming directory */

START_TEST(partial_uploads_dot_files_and_sidecars_are_not_packages)
{
    ck_assert_int_eq(prep_package_name_ignored("prep_20240602_2105.tar.gz"), 0);
    ck_assert_int_eq(prep_package_name_ignored("paquete.zip"), 0);
    ck_assert_int_eq(prep_package_name_ignored("incoming/paquete.tgz"), 0);
    ck_assert_int_eq(prep_package_name_ignored(".paquete.tar.gz"), 1);
    ck_assert_int_eq(prep_package_name_ignored("paquete.tar.gz.part"), 1);
    ck_assert_int_eq(prep_package_name_ignored("paquete.tar.gz.filepart"), 1);
    ck_assert_int_eq(prep_package_name_ignored("paquete.tar.gz.tmp"), 1);
    ck_assert_int_eq(prep_package_name_ignored("paquete.tar.gz.sha256"), 1);
    ck_assert_int_eq(prep_package_name_ignored("paquete.tar.gz.sig"), 1);
    ck_assert_int_eq(prep_package_name_ignored("paquete.tar.gz.reason"), 1);
    ck_assert_int_eq(prep_package_name_ignored("paquete.tar.gz.FILEPART"), 1);
    ck_assert_int_eq(prep_package_name_ignored("incoming/.upload"), 1);
    ck_assert_int_eq(prep_package_name_ignored(""), 1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Good packages */

static const char *good_tar_gz(apr_size_t *len)
{
    built_t *b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 1);

    pkg_dir(b, "prep/");
    pkg_file(b, "prep/index.html", "<html><body>PREP</body></html>\n");
    pkg_file(b, "prep/json/main.json", "{\"fechaCorte\":\"02/06/2024 21:05\"}");
    pkg_file(b, "prep/empty.txt", "");
    pkg_file(b, "prep/csv/datos/casillas.csv", "casilla,votos\n1,10\n");
    return pkg_close(b, len);
}

START_TEST(good_package_file_fills_the_pack_with_its_files_bytes)
{
    apr_size_t len, file_len;
    const char *data = good_tar_gz(&len);
    const char *path = tmp_path("good.tar.gz");
    unsigned char digest[32];
    const char *file;
    outcome_t *o;
    const prep_entry_t *e;

    write_file(path, data, len);
    o = unpack_path(path, NULL, 0);
    assert_accepted(o);

    ck_assert_int_eq(o->u->entries->nelts, 4);
    /* Archive order, one after the other in the pack after its prefix. */
    e = &APR_ARRAY_IDX(o->u->entries, 0, prep_entry_t);
    ck_assert_str_eq(e->path, "prep/index.html");
    ck_assert_int_eq(e->offset, PACK_PREFIX_LEN);
    e = &APR_ARRAY_IDX(o->u->entries, 1, prep_entry_t);
    ck_assert_str_eq(e->path, "prep/json/main.json");
    ck_assert_int_eq(e->offset, PACK_PREFIX_LEN + 31);
    ck_assert_int_eq(e->mtime, apr_time_from_sec(MTIME));
    assert_entry(o, "prep/index.html", "<html><body>PREP</body></html>\n", 31);
    assert_entry(o, "prep/json/main.json",
                 "{\"fechaCorte\":\"02/06/2024 21:05\"}", 33);
    assert_entry(o, "prep/empty.txt", "", 0);
    assert_entry(o, "prep/csv/datos/casillas.csv", "casilla,votos\n1,10\n", 19);

    /* The pack holds exactly the files' bytes, nothing else. */
    ck_assert_uint_eq(o->u->bytes, 31 + 33 + 0 + 19);
    ck_assert_int_eq(o->u->pack_size, 31 + 33 + 0 + 19);
    ck_assert_uint_eq(o->pack_len, PACK_PREFIX_LEN + 31 + 33 + 0 + 19);
    ck_assert_mem_eq(o->pack + PACK_PREFIX_LEN,
                     "<html><body>PREP</body></html>\n"
                     "{\"fechaCorte\":\"02/06/2024 21:05\"}"
                     "casilla,votos\n1,10\n",
                     83);

    /* The package digest is sha256sum's, over the file as stored. */
    file = read_file(path, &file_len);
    ck_assert_uint_eq(file_len, len);
    sha256(digest, file, file_len);
    ck_assert_mem_eq(o->u->package_sha256, digest, 32);
    ck_assert_uint_eq(o->u->package_size, len);
    ck_assert_ptr_nonnull(o->u->format);
    ck_assert_ptr_nonnull(strstr(o->u->format, "tar"));

    /* Directories: the explicit one and those implied, each once. */
    ck_assert_int_eq(o->u->dirs->nelts, 4);
    ck_assert_str_eq(APR_ARRAY_IDX(o->u->dirs, 0, const char *), "prep");
    ck_assert(has_dir(o->u, "prep/json"));
    ck_assert(has_dir(o->u, "prep/csv"));
    ck_assert(has_dir(o->u, "prep/csv/datos"));
}
END_TEST

START_TEST(good_package_in_memory_unpacks_with_its_sha256)
{
    apr_size_t len;
    const char *data = good_tar_gz(&len);
    unsigned char digest[32];
    outcome_t *o = unpack_buffer(data, len, NULL, 0);

    assert_accepted(o);
    ck_assert_int_eq(o->u->entries->nelts, 4);
    assert_entry(o, "prep/csv/datos/casillas.csv", "casilla,votos\n1,10\n", 19);
    sha256(digest, data, len);
    ck_assert_mem_eq(o->u->package_sha256, digest, 32);
    ck_assert_uint_eq(o->u->package_size, len);
}
END_TEST

START_TEST(dot_and_doubled_slash_components_are_normalized)
{
    built_t *b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
    const char *data;
    apr_size_t len;
    outcome_t *o;

    pkg_dir(b, "./");
    pkg_dir(b, "./json/");
    pkg_file(b, "./json//main.json", "{}");
    pkg_file(b, "csv/./a/b.csv", "x,y");
    pkg_file(b, ".well-known/security.txt", "Contact: prep@example.org");
    pkg_file(b, ".htaccess", "Deny from all");
    data = pkg_close(b, &len);
    o = unpack_buffer(data, len, NULL, -1);

    assert_accepted(o);
    ck_assert_int_eq(o->u->entries->nelts, 4);
    assert_entry(o, "json/main.json", "{}", 2);
    assert_entry(o, "csv/a/b.csv", "x,y", 3);
    assert_entry(o, ".well-known/security.txt", "Contact: prep@example.org",
                 25);
    assert_entry(o, ".htaccess", "Deny from all", 13);
    ck_assert_int_eq(o->u->dirs->nelts, 4);
    ck_assert_str_eq(APR_ARRAY_IDX(o->u->dirs, 0, const char *), "json");
    ck_assert_str_eq(APR_ARRAY_IDX(o->u->dirs, 1, const char *), "csv");
    ck_assert_str_eq(APR_ARRAY_IDX(o->u->dirs, 2, const char *), "csv/a");
    ck_assert_str_eq(APR_ARRAY_IDX(o->u->dirs, 3, const char *), ".well-known");
}
END_TEST

START_TEST(utf8_names_survive_every_format_and_locale)
{
    static const char *name = "Querétaro/casilla 1 #2%.json";
    int formats[] = {ARCHIVE_FORMAT_TAR_PAX_RESTRICTED,
                     ARCHIVE_FORMAT_TAR_USTAR, ARCHIVE_FORMAT_ZIP};
    const char *locales[] = {"C.UTF-8", "C"};
    int f, l;

    /* The loader runs with whatever LC_CTYPE httpd has: often "C". */
    for (l = 0; l < 2; l++) {
        for (f = 0; f < 3; f++) {
            built_t *b;
            const char *data;
            apr_size_t len;
            outcome_t *o;

            setlocale(LC_CTYPE, "C.UTF-8");
            b = pkg_new(formats[f], 0);
            pkg_file(b, "index.html", "<html></html>");
            pkg_file(b, name, "{\"casilla\":1}");
            pkg_file(b, "Querétaro/año 2024/acta.csv", "1");
            data = pkg_close(b, &len);
            setlocale(LC_CTYPE, locales[l]);
            o = unpack_buffer(data, len, NULL, -1);
            setlocale(LC_CTYPE, "C.UTF-8");
            assert_accepted(o);
            ck_assert_int_eq(o->u->entries->nelts, 3);
            assert_entry(o, name, "{\"casilla\":1}", 13);
            assert_entry(o, "Querétaro/año 2024/acta.csv", "1", 1);
            ck_assert(has_dir(o->u, "Querétaro"));
            ck_assert(has_dir(o->u, "Querétaro/año 2024"));
        }
    }

    /* A name that is not UTF-8 (Latin-1 from an old tool): kept as is. */
    for (l = 0; l < 2; l++) {
        built_t *b = pkg_new(ARCHIVE_FORMAT_TAR_USTAR, 0);
        struct archive_entry *e = new_entry("x", AE_IFREG);
        const char *data;
        apr_size_t len;
        outcome_t *o;

        archive_entry_copy_pathname(e, "Quer\xe9taro.csv");
        archive_entry_set_size(e, 1);
        write_entry(b, e, "1", 1);
        pkg_file(b, "index.html", "<html></html>");
        data = pkg_close(b, &len);
        setlocale(LC_CTYPE, locales[l]);
        o = unpack_buffer(data, len, NULL, -1);
        setlocale(LC_CTYPE, "C.UTF-8");
        assert_accepted(o);
        assert_entry(o, "Quer\xe9taro.csv", "1", 1);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* Stripping */

START_TEST(auto_strip_removes_a_single_top_folder)
{
    built_t *b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 1);
    const char *data;
    apr_size_t len;
    outcome_t *o;

    pkg_dir(b, "PREP_QRO_2024/");
    pkg_dir(b, "PREP_QRO_2024/json/");
    pkg_file(b, "PREP_QRO_2024/index.html", "<html></html>");
    pkg_file(b, "PREP_QRO_2024/json/main.json", "{}");
    pkg_dir(b, "PREP_QRO_2024/vacio/");
    data = pkg_close(b, &len);
    o = unpack_buffer(data, len, NULL, -1);

    assert_accepted(o);
    ck_assert_int_eq(o->u->entries->nelts, 2);
    assert_entry(o, "index.html", "<html></html>", 13);
    assert_entry(o, "json/main.json", "{}", 2);
    ck_assert_int_eq(o->u->dirs->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(o->u->dirs, 0, const char *), "json");
    ck_assert_str_eq(APR_ARRAY_IDX(o->u->dirs, 1, const char *), "vacio");
}
END_TEST

START_TEST(auto_strip_keeps_two_top_folders)
{
    built_t *b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 1);
    const char *data;
    apr_size_t len;
    outcome_t *o;

    /* Two top-level folders: nothing to strip. */
    pkg_file(b, "json/main.json", "{}");
    pkg_file(b, "csv/datos.csv", "a");
    data = pkg_close(b, &len);
    o = unpack_buffer(data, len, NULL, -1);
    assert_accepted(o);
    assert_entry(o, "json/main.json", "{}", 2);
    assert_entry(o, "csv/datos.csv", "a", 1);

    /* One folder and a file beside it: nothing to strip either. */
    b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 1);
    pkg_file(b, "json/main.json", "{}");
    pkg_file(b, "index.html", "<html></html>");
    data = pkg_close(b, &len);
    o = unpack_buffer(data, len, NULL, -1);
    assert_accepted(o);
    assert_entry(o, "json/main.json", "{}", 2);
    assert_entry(o, "index.html", "<html></html>", 13);

    /* A single file at the top: it is not a folder to strip. */
    b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 1);
    pkg_file(b, "index.html", "<html></html>");
    data = pkg_close(b, &len);
    o = unpack_buffer(data, len, NULL, -1);
    assert_accepted(o);
    ck_assert_int_eq(o->u->entries->nelts, 1);
    assert_entry(o, "index.html", "<html></html>", 13);

    /* One folder and an empty folder beside it. */
    b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 1);
    pkg_file(b, "json/main.json", "{}");
    pkg_dir(b, "img/");
    data = pkg_close(b, &len);
    o = unpack_buffer(data, len, NULL, -1);
    assert_accepted(o);
    assert_entry(o, "json/main.json", "{}", 2);
    ck_assert(has_dir(o->u, "img"));
}
END_TEST

START_TEST(strip_n_drops_n_components_and_the_files_above_them)
{
    built_t *b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
    const char *data;
    apr_size_t len;
    outcome_t *o;

    pkg_file(b, "LEEME.txt", "ignored when stripping one component");
    pkg_file(b, "sitio/index.html", "<html></html>");
    pkg_file(b, "sitio/json/main.json", "{}");
    data = pkg_close(b, &len);

    o = unpack_buffer(data, len, NULL, 1);
    assert_accepted(o);
    ck_assert_int_eq(o->u->entries->nelts, 2);
    assert_entry(o, "index.html", "<html></html>", 13);
    assert_entry(o, "json/main.json", "{}", 2);
    ck_assert_uint_eq(o->u->bytes, 15);

    o = unpack_buffer(data, len, NULL, 0);
    assert_accepted(o);
    ck_assert_int_eq(o->u->entries->nelts, 3);
    assert_entry(o, "sitio/index.html", "<html></html>", 13);
    assert_entry(o, "LEEME.txt", "ignored when stripping one component", 36);

    o = unpack_buffer(data, len, NULL, 2);
    assert_accepted(o);
    ck_assert_int_eq(o->u->entries->nelts, 1);
    assert_entry(o, "main.json", "{}", 2);
}
END_TEST

START_TEST(strip_that_makes_two_files_one_is_refused)
{
    built_t *b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
    const char *data;
    apr_size_t len;

    pkg_file(b, "a/index.html", "one");
    pkg_file(b, "b/index.html", "two");
    data = pkg_close(b, &len);
    assert_accepted(unpack_buffer(data, len, NULL, -1));
    assert_refused_naming(unpack_buffer(data, len, NULL, 1), "duplicate",
                          "b/index.html");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Packages made by the real tools */

static const char *make_site(void)
{
    const char *site = apr_pstrcat(pool, tmp, "/src/PREP2024", NULL);

    ck_assert_int_eq(
        apr_dir_make_recursive(apr_pstrcat(pool, site, "/json", NULL),
                               APR_FPROT_OS_DEFAULT, pool),
        APR_SUCCESS);
    ck_assert_int_eq(
        apr_dir_make_recursive(apr_pstrcat(pool, site, "/Querétaro", NULL),
                               APR_FPROT_OS_DEFAULT, pool),
        APR_SUCCESS);
    write_file(apr_pstrcat(pool, site, "/index.html", NULL), "<html></html>",
               13);
    write_file(apr_pstrcat(pool, site, "/json/main.json", NULL), "{}", 2);
    write_file(apr_pstrcat(pool, site, "/Querétaro/casilla 1 #2%.json", NULL),
               "[1]", 3);
    write_file(apr_pstrcat(pool, site, "/datos.bin", NULL), noise(70000, 7),
               70000);
    return apr_pstrcat(pool, tmp, "/src", NULL);
}

static void assert_site(const outcome_t *o)
{
    assert_accepted(o);
    ck_assert_int_eq(o->u->entries->nelts, 4);
    assert_entry(o, "index.html", "<html></html>", 13);
    assert_entry(o, "json/main.json", "{}", 2);
    assert_entry(o, "Querétaro/casilla 1 #2%.json", "[1]", 3);
    assert_entry(o, "datos.bin", noise(70000, 7), 70000);
    ck_assert(has_dir(o->u, "json"));
    ck_assert(has_dir(o->u, "Querétaro"));
}

START_TEST(package_made_by_tar_czf_unpacks)
{
    const char *src, *package = apr_pstrcat(pool, tmp, "/paquete.tar.gz", NULL);
    unsigned char digest[32];
    apr_size_t len;
    const char *bytes;
    outcome_t *o;

    if (!have_command("tar")) {
        fprintf(stderr,
                "package_made_by_tar_czf_unpacks: no tar command, skipped\n");
        return;
    }
    src = make_site();
    run(apr_psprintf(pool, "cd '%s' && tar czf '%s' PREP2024", src, package));
    o = unpack_path(package, NULL, -1);
    assert_site(o);
    bytes = read_file(package, &len);
    sha256(digest, bytes, len);
    ck_assert_mem_eq(o->u->package_sha256, digest, 32);
    ck_assert_uint_eq(o->u->package_size, len);
}
END_TEST

START_TEST(package_made_by_zip_unpacks)
{
    const char *src, *package = apr_pstrcat(pool, tmp, "/paquete.zip", NULL);
    unsigned char digest[32];
    apr_size_t len;
    const char *bytes;
    outcome_t *o;

    if (!have_command("zip")) {
        fprintf(stderr,
                "package_made_by_zip_unpacks: no zip command, skipped\n");
        return;
    }
    src = make_site();
    run(apr_psprintf(pool, "cd '%s' && zip -qr '%s' PREP2024", src, package));
    o = unpack_path(package, NULL, -1);
    assert_site(o);
    ck_assert_ptr_nonnull(strstr(o->u->format, "ZIP"));
    bytes = read_file(package, &len);
    sha256(digest, bytes, len);
    ck_assert_mem_eq(o->u->package_sha256, digest, 32);
}
END_TEST

/* ------------------------------------------------------------------ */
/* One hostile package per attack */

START_TEST(dot_dot_names_are_refused_as_traversal)
{
    static const char *names[] = {
        "../../etc/passwd", "a/../../b",    "sitio/..",        "..",
        "..\\..\\boot.ini", "a\\..\\..\\b", "./../escape.txt", "a/b/../../../c",
    };
    apr_size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        assert_refused_naming(
            unpack_one_name(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, names[i]),
            "traversal", NULL);
    }
    assert_refused_naming(
        unpack_one_name(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, "../../etc/passwd"),
        "traversal", "entry \"../../etc/passwd\" climbs out of the package");
    /* Dots that are not "..": legitimate names. */
    assert_accepted(unpack_one_name(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, "a..b"));
    assert_accepted(unpack_one_name(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, "...x"));
    assert_accepted(
        unpack_one_name(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, "v1..2/f.txt"));
}
END_TEST

START_TEST(zip_slip_is_refused_as_traversal)
{
    built_t *b = pkg_new(ARCHIVE_FORMAT_ZIP, 0);
    const char *data;
    apr_size_t len;

    pkg_file(b, "index.html", "<html></html>");
    pkg_file(b, "../../../../var/www/html/shell.php",
             "<?php system($_GET[c]);");
    data = pkg_close(b, &len);
    assert_refused_naming(unpack_buffer(data, len, NULL, -1), "traversal",
                          "../../../../var/www/html/shell.php");
}
END_TEST

START_TEST(absolute_and_drive_letter_names_are_refused)
{
    static const char *names[] = {
        "/etc/passwd", "/index.html",          "C:\\x.txt",
        "c:/x.txt",    "\\\\server\\share\\x", "D:relative"};
    apr_size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        assert_refused_naming(
            unpack_one_name(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, names[i]),
            "absolute", NULL);
    }
    assert_refused_naming(
        unpack_one_name(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, "/etc/passwd"),
        "absolute", "\"/etc/passwd\"");
    assert_refused(unpack_one_name(ARCHIVE_FORMAT_ZIP, "/etc/cron.d/x"),
                   "absolute");
}
END_TEST

START_TEST(symlinks_are_refused)
{
    built_t *b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 1);
    const char *data;
    apr_size_t len;

    pkg_file(b, "index.html", "<html></html>");
    pkg_symlink(b, "json", "/etc");
    data = pkg_close(b, &len);
    assert_refused_naming(unpack_buffer(data, len, NULL, -1), "link",
                          "\"json\"");

    /* A link that stays inside is still a link. */
    b = pkg_new(ARCHIVE_FORMAT_TAR_USTAR, 0);
    pkg_file(b, "index.html", "<html></html>");
    pkg_symlink(b, "inicio.html", "index.html");
    data = pkg_close(b, &len);
    assert_refused(unpack_buffer(data, len, NULL, -1), "link");
}
END_TEST

START_TEST(hardlinks_are_refused)
{
    built_t *b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
    const char *data;
    apr_size_t len;

    pkg_file(b, "index.html", "<html></html>");
    pkg_hardlink(b, "shadow", "/etc/shadow");
    data = pkg_close(b, &len);
    assert_refused_naming(unpack_buffer(data, len, NULL, -1), "link",
                          "\"shadow\"");

    b = pkg_new(ARCHIVE_FORMAT_TAR_GNUTAR, 0);
    pkg_file(b, "index.html", "<html></html>");
    pkg_hardlink(b, "copia.html", "index.html");
    data = pkg_close(b, &len);
    assert_refused(unpack_buffer(data, len, NULL, -1), "link");
}
END_TEST

START_TEST(zip_symlinks_are_refused)
{
    built_t *b = pkg_new(ARCHIVE_FORMAT_ZIP, 0);
    const char *data, *src, *package;
    apr_size_t len;

    pkg_file(b, "index.html", "<html></html>");
    pkg_symlink(b, "datos", "/etc/passwd");
    data = pkg_close(b, &len);
    assert_refused_naming(unpack_buffer(data, len, NULL, -1), "link",
                          "\"datos\"");

    if (!have_command("zip")) {
        fprintf(stderr,
                "zip_symlinks_are_refused: no zip command, real zip skipped\n");
        return;
    }
    src = apr_pstrcat(pool, tmp, "/zsrc", NULL);
    package = apr_pstrcat(pool, tmp, "/symlink.zip", NULL);
    ck_assert_int_eq(apr_dir_make(src, APR_FPROT_OS_DEFAULT, pool),
                     APR_SUCCESS);
    write_file(apr_pstrcat(pool, src, "/index.html", NULL), "<html></html>",
               13);
    ck_assert_int_eq(
        symlink("/etc/passwd", apr_pstrcat(pool, src, "/passwd.txt", NULL)), 0);
    run(apr_psprintf(pool, "cd '%s' && zip -qy '%s' index.html passwd.txt", src,
                     package));
    assert_refused_naming(unpack_path(package, NULL, -1), "link",
                          "\"passwd.txt\"");
}
END_TEST

START_TEST(device_and_fifo_entries_are_refused)
{
    unsigned int types[] = {AE_IFCHR, AE_IFBLK, AE_IFIFO};
    const char *data;
    apr_size_t len, i;
    prep_limits_t l;
    built_t *b;

    for (i = 0; i < 3; i++) {
        b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
        pkg_file(b, "index.html", "<html></html>");
        pkg_special(b, "dev/node", types[i]);
        data = pkg_close(b, &len);
        assert_refused_naming(unpack_buffer(data, len, NULL, -1), "special",
                              "\"dev/node\"");
    }
    /* tar cannot hold a socket; cpio can (PrepFormats cpio). */
    prep_limits_default(&l);
    l.formats |= PREP_FORMAT_CPIO;
    b = pkg_new(ARCHIVE_FORMAT_CPIO_SVR4_NOCRC, 0);
    pkg_file(b, "index.html", "<html></html>");
    pkg_special(b, "run/socket", AE_IFSOCK);
    data = pkg_close(b, &len);
    assert_refused_naming(unpack_buffer(data, len, &l, -1), "special",
                          "\"run/socket\"");
}
END_TEST

START_TEST(the_same_file_twice_is_refused)
{
    built_t *b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
    const char *data;
    apr_size_t len;

    /* The same file twice: which one would be published? */
    pkg_file(b, "json/main.json", "{\"corte\":1}");
    pkg_file(b, "index.html", "<html></html>");
    pkg_file(b, "json/main.json", "{\"corte\":2}");
    data = pkg_close(b, &len);
    assert_refused_naming(unpack_buffer(data, len, NULL, -1), "duplicate",
                          "\"json/main.json\"");

    /* The same path once normalized. */
    b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
    pkg_file(b, "json/main.json", "{\"corte\":1}");
    pkg_file(b, "./json//./main.json", "{\"corte\":2}");
    data = pkg_close(b, &len);
    assert_refused(unpack_buffer(data, len, NULL, -1), "duplicate");

    /* A directory listed twice is not a duplicate. */
    b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
    pkg_dir(b, "json/");
    pkg_file(b, "json/main.json", "{}");
    pkg_dir(b, "./json/");
    data = pkg_close(b, &len);
    assert_accepted(unpack_buffer(data, len, NULL, -1));
}
END_TEST

START_TEST(a_name_both_file_and_directory_is_refused)
{
    const char *data;
    apr_size_t len;
    built_t *b;

    /* File "a", then file "a/b". */
    b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
    pkg_file(b, "json", "{}");
    pkg_file(b, "json/main.json", "{}");
    data = pkg_close(b, &len);
    assert_refused_naming(unpack_buffer(data, len, NULL, -1), "duplicate",
                          "\"json/main.json\"");

    /* File "a/b", then file "a". */
    b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
    pkg_file(b, "json/main.json", "{}");
    pkg_file(b, "json", "{}");
    data = pkg_close(b, &len);
    assert_refused(unpack_buffer(data, len, NULL, -1), "duplicate");

    /* Directory "a", then file "a". */
    b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
    pkg_dir(b, "json/");
    pkg_file(b, "json", "{}");
    data = pkg_close(b, &len);
    assert_refused(unpack_buffer(data, len, NULL, -1), "duplicate");

    /* File "a", then directory "a". */
    b = pkg_new(ARCHIVE_FORMAT_ZIP, 0);
    pkg_file(b, "json", "{}");
    pkg_dir(b, "json/");
    data = pkg_close(b, &len);
    assert_refused(unpack_buffer(data, len, NULL, -1), "duplicate");
}
END_TEST

START_TEST(paths_deeper_than_the_limit_are_refused)
{
    prep_limits_t l;
    const char *data;
    apr_size_t len;
    built_t *b;

    prep_limits_default(&l);
    l.depth = 3;

    b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
    pkg_file(b, "a/b/c.txt", "3 levels");
    pkg_file(b, "a/b/c/d.txt", "4 levels");
    data = pkg_close(b, &len);
    assert_refused_naming(unpack_buffer(data, len, &l, 0), "depth",
                          "\"a/b/c/d.txt\"");
    /* Counted after stripping. */
    assert_accepted(unpack_buffer(data, len, &l, 1));
    /* Auto strip removes "a": then it holds. */
    assert_accepted(unpack_buffer(data, len, &l, -1));

    /* Two tops: nothing stripped, so the 4 levels stay and are refused. */
    b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
    pkg_file(b, "a/b/c/d.txt", "4 levels");
    pkg_file(b, "index.html", "top");
    data = pkg_close(b, &len);
    assert_refused(unpack_buffer(data, len, &l, -1), "depth");

    /* An empty directory one level too deep, nothing stripped. */
    b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
    pkg_file(b, "index.html", "top");
    pkg_dir(b, "a/b/c/d/");
    data = pkg_close(b, &len);
    assert_refused_naming(unpack_buffer(data, len, &l, -1), "depth",
                          "\"a/b/c/d\"");

    /* Deep empty directories count too. */
    b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
    pkg_file(b, "index.html", "top");
    pkg_dir(b, "a/b/c/d/e/f/g/h/");
    data = pkg_close(b, &len);
    assert_refused(unpack_buffer(data, len, &l, -1), "depth");

    /* The default limit of 32. */
    b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
    pkg_file(b, "index.html", "top");
    pkg_file(b,
             "1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17/18/19/20/21/22/23/24/"
             "25/26/27/28/29/30/31/32/33.txt",
             "deep");
    data = pkg_close(b, &len);
    assert_refused(unpack_buffer(data, len, NULL, -1), "depth");
}
END_TEST

START_TEST(names_over_255_bytes_are_refused_in_one_readable_line)
{
    char *component = apr_palloc(pool, 301);
    const char *data;
    apr_size_t len;
    built_t *b;
    outcome_t *o;

    memset(component, 'x', 300);
    component[300] = '\0';
    b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
    pkg_file(b, "index.html", "<html></html>");
    pkg_file(b, apr_pstrcat(pool, "json/", component, ".json", NULL), "{}");
    data = pkg_close(b, &len);
    o = unpack_buffer(data, len, NULL, -1);
    assert_refused_naming(o, "name-too-long", "\"json/xxxxxxxxxx");
    /* The message stays one readable line. */
    ck_assert_ptr_nonnull(strstr(o->v.message, "x...\""));
    ck_assert_uint_lt(strlen(o->v.message), 300);

    /* 255 bytes is the longest a file system takes: accepted. */
    component[255] = '\0';
    b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
    pkg_file(b, "index.html", "<html></html>");
    pkg_file(b, apr_pstrcat(pool, "json/", component, NULL), "{}");
    data = pkg_close(b, &len);
    assert_accepted(unpack_buffer(data, len, NULL, -1));
}
END_TEST

START_TEST(more_files_than_the_limit_are_refused)
{
    prep_limits_t l;
    const char *data;
    apr_size_t len;
    built_t *b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 1);

    pkg_dir(b, "json/");
    pkg_file(b, "json/a.json", "{}");
    pkg_file(b, "json/b.json", "{}");
    data = pkg_close(b, &len);
    prep_limits_default(&l);
    l.files = 3;
    assert_accepted(unpack_buffer(data, len, &l, -1));
    /* The directory counts as an entry. */
    l.files = 2;
    assert_refused(unpack_buffer(data, len, &l, -1), "limit-files");
}
END_TEST

START_TEST(more_bytes_than_the_limit_are_refused)
{
    char *rows = csv(8000);
    apr_size_t size = strlen(rows);
    prep_limits_t l;
    const char *data;
    apr_size_t len;
    built_t *b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 1);
    outcome_t *o;

    ck_assert_uint_gt(size, 100000);
    pkg_file(b, "a.csv", rows);
    pkg_file(b, "b.csv", rows);
    data = pkg_close(b, &len);
    prep_limits_default(&l);
    l.bytes = 2 * size;
    assert_accepted(unpack_buffer(data, len, &l, -1));
    l.bytes = 2 * size - 1;
    o = unpack_buffer(data, len, &l, -1);
    assert_refused_naming(o, "limit-bytes", "\"b.csv\"");
    /* Refused on b.csv's header: none of its bytes were written. */
    ck_assert_uint_eq(o->pack_len, PACK_PREFIX_LEN + size);

    /* Sizes known only after the data (a zip inside a gzip): stopped
     * while streaming, at the limit. */
    b = pkg_new(ARCHIVE_FORMAT_ZIP, 1);
    pkg_file_streamed(b, "a.csv", rows, size);
    pkg_file_streamed(b, "b.csv", rows, size);
    data = pkg_close(b, &len);
    l.bytes = size + size / 2;
    o = unpack_buffer(data, len, &l, -1);
    assert_refused_naming(o, "limit-bytes", "\"b.csv\"");
    ck_assert_uint_gt(o->pack_len, PACK_PREFIX_LEN + size);
    ck_assert_uint_le(o->pack_len, PACK_PREFIX_LEN + l.bytes);
}
END_TEST

START_TEST(a_file_over_the_file_limit_is_refused)
{
    char *big = apr_palloc(pool, 5001), *rows;
    prep_limits_t l;
    const char *data;
    apr_size_t len;
    built_t *b;
    outcome_t *o;

    memset(big, 'x', 5000);
    big[5000] = '\0';
    prep_limits_default(&l);
    l.file = 4999;

    /* From the size in the header: nothing written. */
    b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 1);
    pkg_file(b, "small.txt", "ok");
    pkg_file(b, "big.txt", big);
    data = pkg_close(b, &len);
    o = unpack_buffer(data, len, &l, -1);
    assert_refused_naming(o, "limit-file", "\"big.txt\"");
    ck_assert_uint_eq(o->pack_len, PACK_PREFIX_LEN + 2);
    l.file = 5000;
    assert_accepted(unpack_buffer(data, len, &l, -1));

    /* Larger than one read: still nothing of it written. */
    rows = csv(8000);
    l.file = 100000;
    b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 1);
    pkg_file(b, "small.txt", "ok");
    pkg_file(b, "grande.csv", rows);
    data = pkg_close(b, &len);
    o = unpack_buffer(data, len, &l, -1);
    assert_refused_naming(o, "limit-file", "\"grande.csv\"");
    ck_assert_uint_eq(o->pack_len, PACK_PREFIX_LEN + 2);

    /* While streaming: a zip read without seeking (it is inside a gzip)
     * gives the size only after the data, so some bytes are written
     * before the limit is seen. */
    l.file = 100000;
    b = pkg_new(ARCHIVE_FORMAT_ZIP, 1);
    rows = csv(8000);
    pkg_file_streamed(b, "grande.csv", rows, strlen(rows));
    pkg_file(b, "index.html", "<html></html>");
    data = pkg_close(b, &len);
    o = unpack_buffer(data, len, &l, -1);
    assert_refused_naming(o, "limit-file", "\"grande.csv\"");
    ck_assert_uint_gt(o->pack_len, PACK_PREFIX_LEN);
    ck_assert_uint_le(o->pack_len, PACK_PREFIX_LEN + 100000);
    l.file = strlen(rows);
    o = unpack_buffer(data, len, &l, -1);
    assert_accepted(o);
    assert_entry(o, "grande.csv", rows, strlen(rows));
}
END_TEST

/* 32 MiB of zeros: about 32 KiB once compressed, a ratio near 1000. */
#define BOMB_BYTES (32u * 1024 * 1024)

static const char *bomb(int format, apr_size_t *len)
{
    built_t *b = pkg_new_with(format, 1, "gzip:compression-level=1");
    struct archive_entry *e = new_entry("ceros.json", AE_IFREG);
    char *zeros = calloc(1, 1024 * 1024);
    unsigned int i;

    ck_assert_ptr_nonnull(zeros);
    if (format == ARCHIVE_FORMAT_ZIP) {
        archive_entry_unset_size(e);
    } else {
        archive_entry_set_size(e, BOMB_BYTES);
    }
    ck_assert_int_ge(archive_write_header(b->a, e), ARCHIVE_WARN);
    for (i = 0; i < BOMB_BYTES / (1024 * 1024); i++) {
        ck_assert_int_eq(archive_write_data(b->a, zeros, 1024 * 1024),
                         1024 * 1024);
    }
    archive_entry_free(e);
    free(zeros);
    pkg_file(b, "index.html", "<html></html>");
    return pkg_close(b, len);
}

START_TEST(declared_bomb_is_refused_before_a_byte_is_written)
{
    apr_size_t len;
    const char *data = bomb(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, &len);
    outcome_t *o;
    prep_limits_t l;

    ck_assert_uint_lt(len, BOMB_BYTES / 200);
    o = unpack_buffer(data, len, NULL, -1);
    assert_refused_naming(o, "ratio", "\"ceros.json\"");
    /* The size in the header was enough: not a byte written. */
    ck_assert_uint_eq(o->pack_len, PACK_PREFIX_LEN);

    /* Told as a bomb even when it is also over the size limits. */
    prep_limits_default(&l);
    l.file = 1024 * 1024;
    l.bytes = 4 * 1024 * 1024;
    o = unpack_buffer(data, len, &l, -1);
    assert_refused_naming(o, "ratio", "\"ceros.json\"");
    ck_assert_uint_eq(o->pack_len, PACK_PREFIX_LEN);
}
END_TEST

START_TEST(bomb_is_stopped_at_200_times_the_package_size)
{
    apr_size_t len;
    const char *data = bomb(ARCHIVE_FORMAT_ZIP, &len);
    const char *path = tmp_path("bomb.zip.gz");
    outcome_t *o;

    ck_assert_uint_lt(len, BOMB_BYTES / 200);
    write_file(path, data, len);
    o = unpack_path(path, NULL, -1);
    assert_refused_naming(o, "ratio", "\"ceros.json\"");
    /* Stopped at 200 × the package's size, far from the 32 MiB. */
    ck_assert_uint_le(o->pack_len, PACK_PREFIX_LEN + 200 * len);
    ck_assert_uint_gt(o->pack_len, PACK_PREFIX_LEN + 100 * len);
    ck_assert_uint_lt(o->pack_len, BOMB_BYTES / 4);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Not archives, broken archives, empty archives */

START_TEST(truncated_tar_gz_is_refused)
{
    const char *src = apr_pstrcat(pool, tmp, "/tsrc", NULL);
    const char *package = apr_pstrcat(pool, tmp, "/corte.tar.gz", NULL);
    const char *half = apr_pstrcat(pool, tmp, "/half.tar.gz", NULL);
    const char *bytes;
    apr_size_t len;
    int i;

    if (!have_command("tar")) {
        fprintf(stderr,
                "truncated_tar_gz_is_refused: no tar command, skipped\n");
        return;
    }
    ck_assert_int_eq(apr_dir_make(src, APR_FPROT_OS_DEFAULT, pool),
                     APR_SUCCESS);
    for (i = 0; i < 4; i++) {
        write_file(apr_psprintf(pool, "%s/seccion%d.csv", src, i),
                   noise(50000, (unsigned int)i + 1), 50000);
    }
    run(apr_psprintf(pool, "cd '%s' && tar czf '%s' .", src, package));
    assert_accepted(unpack_path(package, NULL, -1));

    bytes = read_file(package, &len);
    write_file(half, bytes, len / 2);
    assert_refused(unpack_path(half, NULL, -1), "truncated");
    /* Cut just short of the end, too. */
    write_file(half, bytes, len - 2000);
    assert_refused(unpack_path(half, NULL, -1), "truncated");
}
END_TEST

START_TEST(truncated_zip_is_refused)
{
    built_t *b = pkg_new(ARCHIVE_FORMAT_ZIP, 0);
    const char *data;
    apr_size_t len;

    pkg_file(b, "index.html", "<html></html>");
    pkg_file_streamed(b, "datos.bin", noise(60000, 3), 60000);
    pkg_file(b, "fin.txt", "fin");
    data = pkg_close(b, &len);
    assert_accepted(unpack_buffer(data, len, NULL, -1));
    assert_refused(unpack_buffer(data, len / 2, NULL, -1), "truncated");
}
END_TEST

START_TEST(entry_failing_its_crc_is_refused)
{
    const char *data, *rows = csv(5000);
    char *broken;
    apr_size_t len, at;
    built_t *b;

    /* A byte changed in a stored zip entry: its CRC no longer matches. */
    b = pkg_new_with(ARCHIVE_FORMAT_ZIP, 0, "zip:compression=store");
    pkg_file(b, "index.html", "<html></html>");
    pkg_file(b, "datos.csv", rows);
    data = pkg_close(b, &len);
    assert_accepted(unpack_buffer(data, len, NULL, -1));
    for (at = 0; at + 12 < len && memcmp(data + at, "4000,casilla", 12); at++) {
    }
    ck_assert_uint_lt(at + 12, len);
    broken = apr_pmemdup(pool, data, len);
    broken[at] = '5';
    assert_refused(unpack_buffer(broken, len, NULL, -1), "truncated");
}
END_TEST

START_TEST(random_bytes_and_plain_gzip_are_not_archives)
{
    const char *data;
    apr_size_t len;
    built_t *b;

    /* Random bytes. */
    assert_refused(unpack_buffer(noise(4096, 42), 4096, NULL, -1),
                   "not-an-archive");

    /* A gzip of plain text. */
    b = pkg_new(ARCHIVE_FORMAT_RAW, 1);
    pkg_file(b, "resultados.txt",
             "Resultados preliminares: esto no es un paquete.\n");
    data = pkg_close(b, &len);
    ck_assert_uint_eq((unsigned char)data[0], 0x1f);
    ck_assert_uint_eq((unsigned char)data[1], 0x8b);
    assert_refused(unpack_buffer(data, len, NULL, -1), "not-an-archive");

    /* A zip cut inside its first header is recognized, and truncated. */
    b = pkg_new(ARCHIVE_FORMAT_ZIP, 0);
    pkg_file(b, "index.html", "<html></html>");
    data = pkg_close(b, &len);
    assert_refused(unpack_buffer(data, 24, NULL, -1), "truncated");

    /* Plain text. */
    data = "<html><body>no soy un paquete</body></html>\n";
    assert_refused(unpack_buffer(data, strlen(data), NULL, -1),
                   "not-an-archive");
}
END_TEST

START_TEST(mtree_is_not_a_package)
{
    /* libarchive would open the files an mtree names, on this machine. */
    const char *spec = "#mtree\n"
                       "./index.html type=file contents=/etc/hostname\n"
                       "./passwd type=file contents=/etc/passwd\n";

    assert_refused(unpack_buffer(spec, strlen(spec), NULL, -1),
                   "not-an-archive");
}
END_TEST

START_TEST(packages_without_a_file_of_bytes_are_empty)
{
    const char *data;
    apr_size_t len;
    built_t *b;

    /* A tar with no entries at all. */
    b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 1);
    data = pkg_close(b, &len);
    assert_refused(unpack_buffer(data, len, NULL, -1), "empty");

    /* Only directories. */
    b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 1);
    pkg_dir(b, "sitio/");
    pkg_dir(b, "sitio/json/");
    data = pkg_close(b, &len);
    assert_refused(unpack_buffer(data, len, NULL, -1), "empty");

    /* Every file stripped away. */
    b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 1);
    pkg_file(b, "LEEME.txt", "x");
    data = pkg_close(b, &len);
    assert_refused(unpack_buffer(data, len, NULL, 1), "empty");

    /* A file of no bytes. */
    assert_refused(unpack_buffer("", 0, NULL, -1), "empty");
}
END_TEST

START_TEST(pack_that_cannot_be_written_is_an_io_refusal)
{
    apr_size_t len;
    const char *data = good_tar_gz(&len);
    prep_limits_t l;
    prep_unpacked_t *u = NULL;
    prep_verdict_t v;
    apr_file_t *full;

    if (apr_file_open(&full, "/dev/full", APR_FOPEN_WRITE, 0, pool) !=
        APR_SUCCESS) {
        fprintf(stderr, "pack_that_cannot_be_written_is_an_io_refusal: no "
                        "/dev/full, skipped\n");
        return;
    }
    prep_limits_default(&l);
    ck_assert_int_eq(
        prep_package_unpack_buffer(&u, data, len, full, &l, -1, &v, pool),
        APR_EGENERAL);
    ck_assert_ptr_null(u);
    ck_assert_str_eq(v.reason, "io");
    ck_assert_ptr_nonnull(strstr(v.message, "pack"));
    apr_file_close(full);

    /* Buffered: the error comes when the buffer is flushed. */
    ck_assert_int_eq(apr_file_open(&full, "/dev/full",
                                   APR_FOPEN_WRITE | APR_FOPEN_BUFFERED, 0,
                                   pool),
                     APR_SUCCESS);
    u = NULL;
    ck_assert_int_eq(
        prep_package_unpack_buffer(&u, data, len, full, &l, -1, &v, pool),
        APR_EGENERAL);
    ck_assert_ptr_null(u);
    ck_assert_str_eq(v.reason, "io");
    apr_file_close(full);
}
END_TEST

START_TEST(missing_package_is_an_io_refusal)
{
    outcome_t *o =
        unpack_path(apr_pstrcat(pool, tmp, "/no-such.tar.gz", NULL), NULL, -1);

    assert_refused(o, "io");
}
END_TEST

/* ------------------------------------------------------------------ */
/* PrepFormats */

/* A package in `format` through `filter` (ARCHIVE_FILTER_*), holding two
 * flat files so that every format can (ar has no directories). */
static const char *pkg_in(int format, int filter, const char *options,
                          apr_size_t *len)
{
    built_t *b = apr_pcalloc(pool, sizeof(*b));

    b->a = archive_write_new();
    /* set_format() knows no ar code: svr4 is GNU ar's format. */
    ck_assert_int_eq(format == ARCHIVE_FORMAT_AR_GNU
                         ? archive_write_set_format_ar_svr4(b->a)
                         : archive_write_set_format(b->a, format),
                     ARCHIVE_OK);
    if (filter != ARCHIVE_FILTER_NONE) {
        ck_assert_int_eq(archive_write_add_filter(b->a, filter), ARCHIVE_OK);
    }
    /* No zeros after the stream, as the real tools write it. */
    archive_write_set_bytes_in_last_block(b->a, 1);
    if (options != NULL) {
        ck_assert_int_eq(archive_write_set_options(b->a, options), ARCHIVE_OK);
    }
    ck_assert_int_eq(archive_write_open(b->a, b, NULL, built_write, NULL),
                     ARCHIVE_OK);
    pkg_file(b, "index.html", "<html><body>PREP</body></html>\n");
    pkg_file(b, "main.json", "{\"fechaCorte\":\"02/06/2024 21:05\"}");
    return pkg_close(b, len);
}

static void assert_flat_site(const outcome_t *o)
{
    assert_accepted(o);
    ck_assert_int_eq(o->u->entries->nelts, 2);
    assert_entry(o, "index.html", "<html><body>PREP</body></html>\n", 31);
    assert_entry(o, "main.json", "{\"fechaCorte\":\"02/06/2024 21:05\"}", 33);
}

/* Every word PrepFormats takes. */
static unsigned all_formats(void)
{
    static const char *const words[] = {
        "tar",  "zip",  "7z",   "cpio", "iso9660", "cab",
        "lha",  "rar",  "ar",   "gzip", "bzip2",   "xz",
        "zstd", "lzma", "lzip", "lz4",  "compress"};
    unsigned mask = 0;
    apr_size_t i;

    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        ck_assert_ptr_null(prep_formats_parse(&mask, words[i], pool));
    }
    return mask;
}

START_TEST(format_words_turn_formats_on_never_the_unreadable_ones)
{
    static const char *const never[] = {"xar", "warc", "mtree", "raw"};
    prep_limits_t l;
    unsigned mask = 0;
    const char *err;
    apr_size_t i;

    prep_limits_default(&l);
    ck_assert_uint_eq(l.formats, PREP_FORMATS_DEFAULT);
    ck_assert_str_eq(prep_formats_words(l.formats, pool),
                     "tar, zip, gzip, bzip2, xz, zstd");
    ck_assert_str_eq(prep_formats_words(0, pool), "none");

    ck_assert_ptr_null(prep_formats_parse(&mask, "7z", pool));
    ck_assert_uint_eq(mask, PREP_FORMAT_7Z);
    ck_assert_ptr_null(prep_formats_parse(&mask, "LZ4", pool));
    ck_assert_uint_eq(mask, PREP_FORMAT_7Z | PREP_FORMAT_LZ4);
    ck_assert_uint_eq(__builtin_popcount(all_formats()), 17);

    /* Formats whose bytes would not be served exactly: never, and why. */
    for (i = 0; i < 4; i++) {
        mask = 0;
        err = prep_formats_parse(&mask, never[i], pool);
        ck_assert_ptr_nonnull(err);
        ck_assert_msg(strstr(err, never[i]) && strstr(err, "never read") &&
                          strlen(err) > 40,
                      "%s: \"%s\"", never[i], err);
        ck_assert_uint_eq(mask, 0);
    }
    ck_assert_ptr_nonnull(
        strstr(prep_formats_parse(&mask, "xar", pool), "exactly as delivered"));
    ck_assert_ptr_nonnull(strstr(prep_formats_parse(&mask, "warc", pool),
                                 "exactly as delivered"));
    err = prep_formats_parse(&mask, "tgz", pool);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "unknown format \"tgz\""));
    ck_assert_uint_eq(mask, 0);

    /* One line replaces the default of each kind it names. */
    ck_assert_uint_eq(prep_formats_of_line(PREP_FORMAT_TAR | PREP_FORMAT_ZIP |
                                           PREP_FORMAT_7Z),
                      PREP_FORMATS_DEFAULT | PREP_FORMAT_7Z);
    ck_assert_uint_eq(prep_formats_of_line(PREP_FORMAT_TAR | PREP_FORMAT_XZ),
                      PREP_FORMAT_TAR | PREP_FORMAT_XZ);
    ck_assert_uint_eq(prep_formats_of_line(PREP_FORMAT_LZ4),
                      PREP_FORMAT_TAR | PREP_FORMAT_ZIP | PREP_FORMAT_LZ4);
    ck_assert_uint_eq(prep_formats_of_line(PREP_FORMAT_7Z),
                      (PREP_FORMATS_DEFAULT & PREP_FORMATS_COMPRESSIONS) |
                          PREP_FORMAT_7Z);
}
END_TEST

/* Each format or compression off by default: refused as not-an-archive
 * with a sentence naming it, and read, exactly, once PrepFormats has it. */
START_TEST(formats_beyond_tar_and_zip_are_off_by_default)
{
    static const struct {
        int format, filter;
        unsigned bit;
        const char *said;
    } cases[] = {
        {ARCHIVE_FORMAT_7ZIP, ARCHIVE_FILTER_NONE, PREP_FORMAT_7Z,
         "7-Zip is not among PrepFormats (tar, zip)"},
        {ARCHIVE_FORMAT_CPIO_SVR4_NOCRC, ARCHIVE_FILTER_NONE, PREP_FORMAT_CPIO,
         "cpio is not among PrepFormats (tar, zip)"},
        {ARCHIVE_FORMAT_CPIO_POSIX, ARCHIVE_FILTER_GZIP, PREP_FORMAT_CPIO,
         "cpio is not among PrepFormats (tar, zip)"},
        {ARCHIVE_FORMAT_ISO9660, ARCHIVE_FILTER_NONE, PREP_FORMAT_ISO9660,
         "ISO 9660 is not among PrepFormats (tar, zip)"},
        {ARCHIVE_FORMAT_AR_GNU, ARCHIVE_FILTER_NONE, PREP_FORMAT_AR,
         "ar is not among PrepFormats (tar, zip)"},
        {ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, ARCHIVE_FILTER_LZMA,
         PREP_FORMAT_LZMA,
         "lzma compression is not among PrepFormats (gzip, bzip2, xz, "
         "zstd)"},
        {ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, ARCHIVE_FILTER_LZIP,
         PREP_FORMAT_LZIP, "lzip compression is not among PrepFormats"},
        {ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, ARCHIVE_FILTER_LZ4, PREP_FORMAT_LZ4,
         "lz4 compression is not among PrepFormats"},
        {ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, ARCHIVE_FILTER_COMPRESS,
         PREP_FORMAT_COMPRESS, "compress compression is not among PrepFormats"},
    };
    apr_size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        prep_limits_t l;
        apr_size_t len;
        const char *data = pkg_in(cases[i].format, cases[i].filter, NULL, &len);
        outcome_t *o = unpack_buffer(data, len, NULL, -1);

        assert_refused_naming(o, "not-an-archive", cases[i].said);
        ck_assert_uint_eq(o->pack_len, PACK_PREFIX_LEN);
        prep_limits_default(&l);
        l.formats |= cases[i].bit;
        assert_flat_site(unpack_buffer(data, len, &l, -1));
        /* The same from a file. */
        write_file(tmp_path("package"), data, len);
        assert_flat_site(unpack_path(
            apr_psprintf(pool, "%s/package.%d", tmp, serial), &l, -1));
    }
}
END_TEST

/* The default compressions and archive formats go when a line leaves them
 * out; the message lists what the feed reads. */
START_TEST(narrowed_formats_refuse_the_others_naming_them)
{
    prep_limits_t l;
    apr_size_t len;
    const char *data;

    prep_limits_default(&l);
    l.formats = prep_formats_of_line(PREP_FORMAT_TAR | PREP_FORMAT_XZ);
    data = pkg_in(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, ARCHIVE_FILTER_GZIP, NULL,
                  &len);
    assert_refused_naming(unpack_buffer(data, len, &l, -1), "not-an-archive",
                          "gzip compression is not among PrepFormats (xz)");
    data = pkg_in(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, ARCHIVE_FILTER_XZ, NULL,
                  &len);
    assert_flat_site(unpack_buffer(data, len, &l, -1));
    data = pkg_in(ARCHIVE_FORMAT_TAR_USTAR, ARCHIVE_FILTER_NONE, NULL, &len);
    assert_flat_site(unpack_buffer(data, len, &l, -1));
    data = pkg_in(ARCHIVE_FORMAT_ZIP, ARCHIVE_FILTER_NONE, NULL, &len);
    assert_refused_naming(unpack_buffer(data, len, &l, -1), "not-an-archive",
                          "ZIP is not among PrepFormats (tar)");
    /* The default compressions are all read by default. */
    data = pkg_in(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, ARCHIVE_FILTER_BZIP2, NULL,
                  &len);
    assert_flat_site(unpack_buffer(data, len, NULL, -1));
    data = pkg_in(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, ARCHIVE_FILTER_ZSTD, NULL,
                  &len);
    assert_flat_site(unpack_buffer(data, len, NULL, -1));
}
END_TEST

/* xar and WARC come out of libarchive with NUL bytes added; mtree names
 * files on this machine: refused even with every format allowed. */
START_TEST(xar_warc_and_mtree_are_never_read)
{
    static const struct {
        int format;
        const char *said;
    } cases[] = {
        {ARCHIVE_FORMAT_XAR, "the package is xar, which is never read"},
        {ARCHIVE_FORMAT_WARC, "the package is WARC, which is never read"},
        {ARCHIVE_FORMAT_MTREE, "the package is mtree, which is never read"},
    };
    prep_limits_t l;
    apr_size_t i;

    prep_limits_default(&l);
    l.formats = all_formats();
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        apr_size_t len;
        const char *data =
            pkg_in(cases[i].format, ARCHIVE_FILTER_NONE, NULL, &len);

        assert_refused_naming(unpack_buffer(data, len, &l, -1),
                              "not-an-archive", cases[i].said);
        assert_refused_naming(unpack_buffer(data, len, NULL, -1),
                              "not-an-archive", cases[i].said);
    }
}
END_TEST

/* Archives libarchive cannot write, from the real tools. */
START_TEST(real_tools_packages_read_only_when_their_format_is_on)
{
    static const struct {
        const char *tool, *ext, *command;
        unsigned bit;
        const char *said;
    } cases[] = {
        {"7z", "7z", "7z a -bd -bso0 '%s' index.html main.json", PREP_FORMAT_7Z,
         "7-Zip is not among"},
        {"gcab", "cab", "gcab -c '%s' index.html main.json", PREP_FORMAT_CAB,
         "CAB is not among"},
        {"lha", "lzh", "lha aq '%s' index.html main.json", PREP_FORMAT_LHA,
         "LHA is not among"},
        {"genisoimage", "iso", "genisoimage -quiet -R -o '%s' .",
         PREP_FORMAT_ISO9660, "ISO 9660 is not among"},
        {"cpio", "cpio",
         "printf 'index.html\\nmain.json\\n' | cpio --quiet -o -H newc > '%s'",
         PREP_FORMAT_CPIO, "cpio is not among"},
    };
    const char *src = apr_pstrcat(pool, tmp, "/llano", NULL);
    apr_size_t i;

    ck_assert_int_eq(apr_dir_make(src, APR_FPROT_OS_DEFAULT, pool),
                     APR_SUCCESS);
    write_file(apr_pstrcat(pool, src, "/index.html", NULL),
               "<html><body>PREP</body></html>\n", 31);
    write_file(apr_pstrcat(pool, src, "/main.json", NULL),
               "{\"fechaCorte\":\"02/06/2024 21:05\"}", 33);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *package =
            apr_psprintf(pool, "%s/paquete.%s", tmp, cases[i].ext);
        prep_limits_t l;

        if (!have_command(cases[i].tool)) {
            fprintf(stderr,
                    "real_tools_packages_read_only_when_their_format_is_on: no "
                    "%s, skipped\n",
                    cases[i].tool);
            continue;
        }
        run(apr_psprintf(pool, "cd '%s' && %s", src,
                         apr_psprintf(pool, cases[i].command, package)));
        assert_refused_naming(unpack_path(package, NULL, -1), "not-an-archive",
                              cases[i].said);
        prep_limits_default(&l);
        l.formats |= cases[i].bit;
        assert_flat_site(unpack_path(package, &l, -1));
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* Encrypted entries, control characters */

START_TEST(encrypted_zip_entries_are_refused)
{
    static const char *const methods[] = {"zip:encryption=zipcrypt",
                                          "zip:encryption=aes256"};
    apr_size_t len, i;
    const char *data;
    outcome_t *o;

    for (i = 0; i < 2; i++) {
        built_t *b = apr_pcalloc(pool, sizeof(*b));

        b->a = archive_write_new();
        ck_assert_int_eq(archive_write_set_format_zip(b->a), ARCHIVE_OK);
        ck_assert_int_eq(archive_write_set_options(b->a, methods[i]),
                         ARCHIVE_OK);
        ck_assert_int_eq(archive_write_set_passphrase(b->a, "x"), ARCHIVE_OK);
        ck_assert_int_eq(archive_write_open(b->a, b, NULL, built_write, NULL),
                         ARCHIVE_OK);
        pkg_file(b, "json/main.json", "{\"fechaCorte\":\"02/06/2024 21:05\"}");
        pkg_file(b, "index.html", "<html></html>");
        data = pkg_close(b, &len);
        o = unpack_buffer(data, len, NULL, -1);
        assert_refused_naming(o, "encrypted",
                              "\"json/main.json\" is encrypted");
        /* Told from the header: not a byte of it was read. */
        ck_assert_uint_eq(o->pack_len, PACK_PREFIX_LEN);
    }

    /* The real zip -e. */
    if (have_command("zip")) {
        const char *src = make_site();
        const char *package = apr_pstrcat(pool, tmp, "/cifrado.zip", NULL);

        run(apr_psprintf(pool, "cd '%s' && zip -q -r -e -P x '%s' PREP2024",
                         src, package));
        assert_refused_naming(unpack_path(package, NULL, -1), "encrypted",
                              "is encrypted");
    }
    /* 7-Zip, its data only or its names too. */
    if (have_command("7z")) {
        const char *src = make_site();
        prep_limits_t l;

        prep_limits_default(&l);
        l.formats |= PREP_FORMAT_7Z;
        for (i = 0; i < 2; i++) {
            const char *package =
                apr_psprintf(pool, "%s/cifrado%d.7z", tmp, (int)i);

            run(apr_psprintf(pool,
                             "cd '%s' && 7z a -bd -bso0 -px %s '%s' PREP2024",
                             src, i ? "-mhe=on" : "", package));
            assert_refused_naming(unpack_path(package, &l, -1), "encrypted",
                                  i ? "names of its entries" : "is encrypted");
        }
    }
}
END_TEST

START_TEST(control_characters_in_names_are_refused_shown_escaped)
{
    static const struct {
        const char *name, *shown;
    } cases[] = {
        {"json/\x1b[2Jmain.json", "json/\\x1b[2Jmain.json"},
        {"json/main\n.json", "json/main\\x0a.json"},
        {"json/main\x7f.json", "json/main\\x7f.json"},
        {"json/main\t.json", "json/main\\x09.json"},
        {"json/\xc2\x9b"
         "2Jmain.json",
         "json/\\xc2\\x9b2Jmain.json"},
        {"json/\xc2\x85.json", "json/\\xc2\\x85.json"},
    };
    int formats[] = {ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, ARCHIVE_FORMAT_ZIP};
    apr_size_t i, f;
    const char *data;
    apr_size_t len;
    built_t *b;
    outcome_t *o;

    for (f = 0; f < 2; f++) {
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            o = unpack_one_name(formats[f], cases[i].name);
            assert_refused_naming(o, "bad-name", cases[i].shown);
            ck_assert_ptr_nonnull(strstr(o->v.message, "control character"));
            /* Never the raw bytes in the sentence. */
            ck_assert_ptr_null(strpbrk(o->v.message, "\x1b\n\x7f\t"));
            ck_assert_ptr_null(strstr(o->v.message, "\xc2\x9b"));
        }
    }
    /* A directory's name counts too, even when it is stripped away. */
    b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 1);
    pkg_dir(b, "sitio\x1b/");
    pkg_file(b, "sitio\x1b/index.html", "<html></html>");
    data = pkg_close(b, &len);
    assert_refused_naming(unpack_buffer(data, len, NULL, -1), "bad-name",
                          "sitio\\x1b");
    assert_refused(unpack_buffer(data, len, NULL, 1), "bad-name");

    /* Non-ASCII that is no control character is a name like any other:
     * "€" is E2 82 AC, "Ÿ" C5 B8, U+00A0 C2 A0. */
    b = pkg_new(ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, 0);
    pkg_file(b, "index.html", "<html></html>");
    pkg_file(b, "precio €.csv", "1");
    pkg_file(b, "Ÿ\xc2\xa0.txt", "2");
    data = pkg_close(b, &len);
    o = unpack_buffer(data, len, NULL, -1);
    assert_accepted(o);
    assert_entry(o, "precio €.csv", "1", 1);
    assert_entry(o, "Ÿ\xc2\xa0.txt", "2", 1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* An open package */

START_TEST(unpacked_from_its_one_descriptor_whatever_was_read)
{
    apr_size_t len;
    const char *data = good_tar_gz(&len);
    const char *path = tmp_path("abierto.tar.gz"), *pack_path;
    apr_int32_t opens[] = {APR_FOPEN_READ | APR_FOPEN_BINARY,
                           APR_FOPEN_READ | APR_FOPEN_BINARY |
                               APR_FOPEN_BUFFERED};
    unsigned char digest[32];
    prep_limits_t l;
    int i;

    prep_limits_default(&l);
    write_file(path, data, len);
    sha256(digest, data, len);
    for (i = 0; i < 2; i++) {
        apr_file_t *package, *pack;
        apr_off_t at = 100;
        char skip[7];
        prep_unpacked_t *u = NULL;
        prep_verdict_t v;

        ck_assert_int_eq(apr_file_open(&package, path, opens[i], 0, pool),
                         APR_SUCCESS);
        /* The loader has read some of it already (its PrepVerify digest). */
        ck_assert_int_eq(apr_file_seek(package, APR_SET, &at), APR_SUCCESS);
        ck_assert_int_eq(apr_file_read_full(package, skip, sizeof(skip), NULL),
                         APR_SUCCESS);
        pack = open_pack(&pack_path);
        ck_assert_int_eq(
            prep_package_unpack_file(&u, package, pack, &l, 0, &v, pool),
            APR_SUCCESS);
        ck_assert_ptr_nonnull(u);
        ck_assert_int_eq(u->entries->nelts, 4);
        ck_assert_mem_eq(u->package_sha256, digest, 32);
        ck_assert_uint_eq(u->package_size, len);
        apr_file_close(pack);
        /* Twice over the same descriptor: the same answer. */
        pack = open_pack(&pack_path);
        ck_assert_int_eq(
            prep_package_unpack_file(&u, package, pack, &l, 0, &v, pool),
            APR_SUCCESS);
        ck_assert_mem_eq(u->package_sha256, digest, 32);
        apr_file_close(pack);
        apr_file_close(package);
    }
}
END_TEST

START_TEST(symlinks_fifos_and_directories_are_not_unpacked)
{
    apr_size_t len;
    const char *data = good_tar_gz(&len);
    const char *real = tmp_path("real.tar.gz");
    const char *link = apr_pstrcat(pool, tmp, "/enlace.tar.gz", NULL);
    const char *fifo = apr_pstrcat(pool, tmp, "/tubo.tar.gz", NULL);
    apr_file_t *dir, *pack;
    const char *pack_path;
    prep_unpacked_t *u = NULL;
    prep_verdict_t v;
    prep_limits_t l;
    outcome_t *o;

    prep_limits_default(&l);
    write_file(real, data, len);
    assert_accepted(unpack_path(real, NULL, -1));

    /* A symbolic link is not followed, even to a good package. */
    ck_assert_int_eq(symlink(real, link), 0);
    o = unpack_path(link, NULL, -1);
    assert_refused_naming(o, "not-an-archive", "symbolic link");

    /* A FIFO: opened without blocking, then refused by fstat. */
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    o = unpack_path(fifo, NULL, -1);
    assert_refused_naming(o, "not-an-archive", "not a regular file");

    /* A directory, already open. */
    ck_assert_int_eq(apr_file_open(&dir, tmp, APR_FOPEN_READ, 0, pool),
                     APR_SUCCESS);
    pack = open_pack(&pack_path);
    ck_assert_int_eq(prep_package_unpack_file(&u, dir, pack, &l, -1, &v, pool),
                     APR_EGENERAL);
    ck_assert_ptr_null(u);
    ck_assert_str_eq(v.reason, "not-an-archive");
    ck_assert_ptr_nonnull(strstr(v.message, "not a regular file"));
    apr_file_close(pack);
    apr_file_close(dir);
}
END_TEST

Suite *suite_package(void)
{
    Suite *s = suite_create("package");
    TCase *tc = tcase_create("package");

    tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, partial_uploads_dot_files_and_sidecars_are_not_packages);
    tcase_add_test(tc, good_package_file_fills_the_pack_with_its_files_bytes);
    tcase_add_test(tc, good_package_in_memory_unpacks_with_its_sha256);
    tcase_add_test(tc, dot_and_doubled_slash_components_are_normalized);
    tcase_add_test(tc, utf8_names_survive_every_format_and_locale);
    tcase_add_test(tc, auto_strip_removes_a_single_top_folder);
    tcase_add_test(tc, auto_strip_keeps_two_top_folders);
    tcase_add_test(tc, strip_n_drops_n_components_and_the_files_above_them);
    tcase_add_test(tc, strip_that_makes_two_files_one_is_refused);
    tcase_add_test(tc, package_made_by_tar_czf_unpacks);
    tcase_add_test(tc, package_made_by_zip_unpacks);
    tcase_add_test(tc, dot_dot_names_are_refused_as_traversal);
    tcase_add_test(tc, zip_slip_is_refused_as_traversal);
    tcase_add_test(tc, absolute_and_drive_letter_names_are_refused);
    tcase_add_test(tc, symlinks_are_refused);
    tcase_add_test(tc, hardlinks_are_refused);
    tcase_add_test(tc, zip_symlinks_are_refused);
    tcase_add_test(tc, device_and_fifo_entries_are_refused);
    tcase_add_test(tc, the_same_file_twice_is_refused);
    tcase_add_test(tc, a_name_both_file_and_directory_is_refused);
    tcase_add_test(tc, paths_deeper_than_the_limit_are_refused);
    tcase_add_test(tc, names_over_255_bytes_are_refused_in_one_readable_line);
    tcase_add_test(tc, more_files_than_the_limit_are_refused);
    tcase_add_test(tc, more_bytes_than_the_limit_are_refused);
    tcase_add_test(tc, a_file_over_the_file_limit_is_refused);
    tcase_add_test(tc, declared_bomb_is_refused_before_a_byte_is_written);
    tcase_add_test(tc, bomb_is_stopped_at_200_times_the_package_size);
    tcase_add_test(tc, truncated_tar_gz_is_refused);
    tcase_add_test(tc, truncated_zip_is_refused);
    tcase_add_test(tc, entry_failing_its_crc_is_refused);
    tcase_add_test(tc, random_bytes_and_plain_gzip_are_not_archives);
    tcase_add_test(tc, mtree_is_not_a_package);
    tcase_add_test(tc, packages_without_a_file_of_bytes_are_empty);
    tcase_add_test(tc, pack_that_cannot_be_written_is_an_io_refusal);
    tcase_add_test(tc, missing_package_is_an_io_refusal);
    tcase_add_test(tc, format_words_turn_formats_on_never_the_unreadable_ones);
    tcase_add_test(tc, formats_beyond_tar_and_zip_are_off_by_default);
    tcase_add_test(tc, narrowed_formats_refuse_the_others_naming_them);
    tcase_add_test(tc, xar_warc_and_mtree_are_never_read);
    tcase_add_test(tc, real_tools_packages_read_only_when_their_format_is_on);
    tcase_add_test(tc, encrypted_zip_entries_are_refused);
    tcase_add_test(tc, control_characters_in_names_are_refused_shown_escaped);
    tcase_add_test(tc, unpacked_from_its_one_descriptor_whatever_was_read);
    tcase_add_test(tc, symlinks_fifos_and_directories_are_not_unpacked);
    suite_add_tcase(s, tc);
    return s;
}
