/* check_index.c — unit tests of a corte's index (prep_index.c): built,
 * written, mapped and looked up; representations by banner slot and
 * encoding; ETags; the index of a new corte from its plans (the load's
 * index phase: directory redirects, hidden paths never indexed); and
 * damaged files refused at open, never a crash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <apr_file_io.h>
#include <apr_strings.h>

#include "prep.h"
#include "test_prep.h"

static apr_pool_t *pool;
static const char *root; /* temporary directory of one test */

#define NPATHS 6000

static void setup(void)
{
    char tmpl[] = "/tmp/prep-index-XXXXXX";

    apr_pool_create(&pool, NULL);
    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    root = apr_pstrdup(pool, tmpl);
}

static void teardown(void)
{
    ck_assert_int_eq(system(apr_psprintf(pool, "rm -rf '%s'", root)), 0);
    apr_pool_destroy(pool);
}

/* ------------------------------------------------------------------ */
/* a corte of NPATHS files */

static const char *path_of(int i)
{
    switch (i % 8) {
        case 0:
            return apr_psprintf(pool, "distrito%d/seccion%d/index.html", i / 64,
                                i);
        case 1:
            return apr_psprintf(pool, "json/casillas/Querétaro %d.json", i);
        case 2:
            return apr_psprintf(pool, "datos/año 2024/%d%%20x.csv", i);
        case 3:
            return apr_psprintf(pool, "img/foto #%d.png", i);
        case 4:
            return apr_psprintf(pool, "núcleo/ñandú/€%d/日本語.txt", i);
        case 5:
            return apr_psprintf(pool, "js/app.%d.js", i);
        case 6:
            return apr_psprintf(pool, "distrito%d", i); /* a directory */
        default:
            return apr_psprintf(pool, "f%d", i);
    }
}

static void sha_of(unsigned char sha[32], int i, int r)
{
    int k;

    for (k = 0; k < 32; k++) {
        sha[k] = (unsigned char)(i * 31 + r * 7 + k * 13);
    }
}

static apr_uint32_t flags_of(int i)
{
    return (apr_uint32_t)(i % 16);
}

static apr_time_t mtime_of(int i)
{
    return apr_time_from_sec(1717383900) + (apr_time_t)i * 1000003;
}

/* Entry i has i % 6 representations, over banner slots 0..2 and the three
 * encodings, in an order that is not sorted. */
static const apr_uint32_t rep_slots[6][2] = {
    {0, PREP_ENC_IDENTITY}, {0, PREP_ENC_BR},       {0, PREP_ENC_GZIP},
    {1, PREP_ENC_IDENTITY}, {2, PREP_ENC_IDENTITY}, {1, PREP_ENC_GZIP}};

static int nreps_of(int i)
{
    return i % 7 == 6 ? 0 : i % 7;
}

static void rep_of(prep_rep_t *r, int i, int k)
{
    unsigned char sha[32];

    memset(r, 0, sizeof(*r));
    r->banner = rep_slots[k][0];
    r->encoding = rep_slots[k][1];
    r->offset = (apr_uint64_t)i * 100000 + (apr_uint64_t)k * 1000;
    r->length = (apr_uint64_t)i + (apr_uint64_t)k + 1;
    sha_of(sha, i, k);
    prep_etag_from_sha256(r->etag, sha);
}

static const char *build(int n)
{
    prep_index_builder_t *b = prep_index_builder_create(pool);
    const char *file = apr_pstrcat(pool, root, "/index.prep", NULL);
    prep_rep_t reps[6];
    int i, k;

    for (i = 0; i < n; i++) {
        for (k = 0; k < nreps_of(i); k++) {
            rep_of(&reps[k], i, k);
        }
        prep_index_add(b, path_of(i), mtime_of(i), flags_of(i), reps,
                       nreps_of(i));
    }
    ck_assert_int_eq(prep_index_write(b, file, pool), APR_SUCCESS);
    return file;
}

static prep_index_t *open_index(const char *file)
{
    prep_index_t *idx = NULL;

    ck_assert_int_eq(prep_index_open(&idx, file, pool), APR_SUCCESS);
    ck_assert_ptr_nonnull(idx);
    return idx;
}

static const prep_index_entry_t *lookup(const prep_index_t *idx,
                                        const char *path)
{
    return prep_index_lookup(idx, path, strlen(path));
}

START_TEST(every_path_is_found_with_its_type_flags_mtime_and_reps)
{
    const char *file = build(NPATHS);
    prep_index_t *idx = open_index(file);
    apr_finfo_t fi;
    int i, k;

    ck_assert_uint_eq(prep_index_count(idx), NPATHS);
    /* written through a temporary name that is gone */
    ck_assert_int_ne(apr_stat(&fi, apr_pstrcat(pool, file, ".tmp", NULL),
                              APR_FINFO_TYPE, pool),
                     APR_SUCCESS);
    for (i = 0; i < NPATHS; i++) {
        const char *path = path_of(i);
        const prep_index_entry_t *e = lookup(idx, path);

        ck_assert_msg(e != NULL, "%s not found", path);
        ck_assert_str_eq(prep_index_entry_path(idx, e), path);
        ck_assert_str_eq(prep_index_entry_type(idx, e), prep_mime_type(path));
        ck_assert_uint_eq(prep_index_entry_flags(e), flags_of(i));
        ck_assert_int_eq(prep_index_entry_mtime(e), mtime_of(i));
        for (k = 0; k < 6; k++) {
            const prep_rep_t *r =
                prep_index_entry_rep(idx, e, rep_slots[k][0], rep_slots[k][1]);
            prep_rep_t want;

            if (k >= nreps_of(i)) {
                ck_assert_msg(r == NULL, "%s has rep %d", path, k);
                continue;
            }
            rep_of(&want, i, k);
            ck_assert_msg(r != NULL, "%s lacks rep %d", path, k);
            ck_assert_uint_eq(r->banner, want.banner);
            ck_assert_uint_eq(r->encoding, want.encoding);
            ck_assert_uint_eq(r->offset, want.offset);
            ck_assert_uint_eq(r->length, want.length);
            ck_assert_str_eq(r->etag, want.etag);
        }
        /* slots and encodings nobody has */
        ck_assert_ptr_null(prep_index_entry_rep(idx, e, 3, PREP_ENC_IDENTITY));
        ck_assert_ptr_null(prep_index_entry_rep(idx, e, 0, 3));
        ck_assert_ptr_null(prep_index_entry_rep(idx, e, 2, PREP_ENC_BR));
    }
}
END_TEST

START_TEST(paths_not_in_the_corte_are_not_found)
{
    static const char *const absent[] = {
        "",
        "nada",
        "/f7", /* a leading '/' */
        "f7/", /* a trailing one */
        "F7",  /* case matters */
        "f",   /* a prefix */
        "f7x", /* an extension of one */
        "f71234567",
        "distrito0/seccion0",
        "distrito0/seccion0/index.htm",
        "distrito0/seccion0/index.html.gz",
        "distrito0/seccion0/index.html/",
        "distrito0/seccion0//index.html",
        "./f7",
        "json/casillas/Queretaro 1.json", /* without the accent */
        "json/casillas/Querétaro  1.json",
        "json/casillas/Querétaro%201.json", /* not decoded here */
        "img/foto %233.png",
        "img/foto #3.png#",
        "datos/año 2024/2 x.csv",
        "f99999",
    };
    const char *file = build(NPATHS);
    prep_index_t *idx = open_index(file);
    size_t i;

    /* they exist as written */
    ck_assert_ptr_nonnull(lookup(idx, "f7"));
    ck_assert_ptr_nonnull(lookup(idx, "distrito0/seccion0/index.html"));
    ck_assert_ptr_nonnull(lookup(idx, "json/casillas/Querétaro 1.json"));
    ck_assert_ptr_nonnull(lookup(idx, "img/foto #3.png"));
    ck_assert_ptr_nonnull(lookup(idx, "datos/año 2024/2%20x.csv"));
    ck_assert_ptr_nonnull(lookup(idx, "núcleo/ñandú/€4/日本語.txt"));
    for (i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
        ck_assert_msg(lookup(idx, absent[i]) == NULL, "\"%s\" found",
                      absent[i]);
    }
    /* every prefix and every extension of an existing path is absent */
    for (i = 0; i < 200; i++) {
        const char *path = path_of((int)i * 29);
        size_t len = strlen(path), l;

        for (l = 0; l < len; l++) {
            /* found only when it is itself a path ("f7" of "f71") */
            const prep_index_entry_t *e = prep_index_lookup(idx, path, l);
            ck_assert_msg(e == NULL ||
                              (strlen(prep_index_entry_path(idx, e)) == l &&
                               !memcmp(prep_index_entry_path(idx, e), path, l)),
                          "prefix %lu of %s found as %s", (unsigned long)l,
                          path, prep_index_entry_path(idx, e));
        }
        ck_assert_ptr_null(lookup(idx, apr_pstrcat(pool, path, "x", NULL)));
        ck_assert_ptr_null(lookup(idx, apr_pstrcat(pool, path, "/", NULL)));
        ck_assert_ptr_null(lookup(idx, apr_pstrcat(pool, path, ".gz", NULL)));
    }
}
END_TEST

START_TEST(lookup_reads_len_bytes_of_an_unterminated_path)
{
    const char *file = build(NPATHS);
    prep_index_t *idx = open_index(file);
    const char *longer = "img/foto #3.pngGARBAGE";
    const prep_index_entry_t *e;
    char *exact;
    size_t len = strlen("json/casillas/Querétaro 1.json");

    /* a longer buffer, a shorter len */
    e = prep_index_lookup(idx, longer, strlen("img/foto #3.png"));
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(prep_index_entry_path(idx, e), "img/foto #3.png");
    ck_assert_ptr_null(prep_index_lookup(idx, longer, strlen(longer)));
    /* "f71" holds "f7" as its first two bytes */
    e = prep_index_lookup(idx, "f71", 2);
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(prep_index_entry_path(idx, e), "f7");
    /* a buffer with no NUL at all (the sanitizers see a byte read past) */
    exact = malloc(len);
    ck_assert_ptr_nonnull(exact);
    memcpy(exact, "json/casillas/Querétaro 1.json", len);
    e = prep_index_lookup(idx, exact, len);
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(prep_index_entry_path(idx, e),
                     "json/casillas/Querétaro 1.json");
    ck_assert_ptr_null(prep_index_lookup(idx, exact, len - 1));
    free(exact);
    /* a request path: "/img/foto #3.png?x" without its '/' and query */
    e = prep_index_lookup(idx, "/img/foto #3.png?x" + 1, 15);
    ck_assert_ptr_nonnull(e);
    /* a NUL inside the length is a byte of the path */
    ck_assert_ptr_null(prep_index_lookup(idx, "f7\0", 3));
}
END_TEST

START_TEST(entry_details_and_copied_reps_are_kept_past_4_gb)
{
    prep_index_builder_t *b = prep_index_builder_create(pool);
    const char *file = apr_pstrcat(pool, root, "/index.prep", NULL);
    unsigned char sha[32];
    prep_rep_t reps[4], one;
    const prep_index_entry_t *e;
    const prep_rep_t *r;
    prep_index_t *idx;

    memset(reps, 0, sizeof(reps));
    reps[0].banner = 0;
    reps[0].encoding = PREP_ENC_IDENTITY;
    reps[0].offset = 0;
    reps[0].length = 1000;
    reps[1].banner = 1;
    reps[1].encoding = PREP_ENC_IDENTITY;
    reps[1].offset = 1000;
    reps[1].length = 1100;
    reps[2].banner = 1;
    reps[2].encoding = PREP_ENC_GZIP;
    reps[2].offset = 2100;
    reps[2].length = 300;
    reps[3].banner = 0;
    reps[3].encoding = PREP_ENC_BR;
    reps[3].offset = APR_UINT64_C(5000000000); /* past 4 GB */
    reps[3].length = APR_UINT64_C(4294967296);
    sha_of(sha, 1, 0);
    prep_etag_from_sha256(reps[1].etag, sha);
    prep_index_add(b, "index.html", apr_time_from_sec(1717383900) + 123456,
                   PREP_F_HTML, reps, 4);
    prep_index_add(b, "json/main.json", 0, PREP_F_NO_STORE | PREP_F_CORS, reps,
                   1);
    prep_index_add(b, "distritos", apr_time_from_sec(1), PREP_F_DIR, NULL, 0);
    /* the caller's reps are copied: changing them afterwards changes
     * nothing */
    one = reps[0];
    prep_index_add(b, "datos.csv", apr_time_from_sec(2), PREP_F_CORS, &one, 1);
    one.offset = 999;
    reps[0].length = 1;
    ck_assert_int_eq(prep_index_write(b, file, pool), APR_SUCCESS);
    idx = open_index(file);
    ck_assert_uint_eq(prep_index_count(idx), 4);

    e = lookup(idx, "index.html");
    ck_assert_uint_eq(prep_index_entry_flags(e), PREP_F_HTML);
    ck_assert_int_eq(prep_index_entry_mtime(e),
                     apr_time_from_sec(1717383900) + 123456);
    ck_assert_str_eq(prep_index_entry_type(idx, e), "text/html; charset=utf-8");
    r = prep_index_entry_rep(idx, e, 1, PREP_ENC_IDENTITY);
    ck_assert_uint_eq(r->offset, 1000);
    ck_assert_uint_eq(r->length, 1100);
    ck_assert_str_eq(r->etag, "\"1f2c394653606d7a8794a1aebbc8d5e2\"");
    r = prep_index_entry_rep(idx, e, 1, PREP_ENC_GZIP);
    ck_assert_uint_eq(r->offset, 2100);
    r = prep_index_entry_rep(idx, e, 0, PREP_ENC_BR);
    ck_assert_uint_eq(r->offset, APR_UINT64_C(5000000000));
    ck_assert_uint_eq(r->length, APR_UINT64_C(4294967296));
    r = prep_index_entry_rep(idx, e, 0, PREP_ENC_IDENTITY);
    ck_assert_uint_eq(r->length, 1000);
    ck_assert_ptr_null(prep_index_entry_rep(idx, e, 1, PREP_ENC_BR));
    ck_assert_ptr_null(prep_index_entry_rep(idx, e, 0, PREP_ENC_GZIP));
    ck_assert_ptr_null(prep_index_entry_rep(idx, e, 2, PREP_ENC_IDENTITY));

    e = lookup(idx, "json/main.json");
    ck_assert_uint_eq(prep_index_entry_flags(e), PREP_F_NO_STORE | PREP_F_CORS);
    ck_assert_int_eq(prep_index_entry_mtime(e), 0);
    ck_assert_str_eq(prep_index_entry_type(idx, e), "application/json");
    ck_assert_ptr_nonnull(prep_index_entry_rep(idx, e, 0, PREP_ENC_IDENTITY));
    ck_assert_ptr_null(prep_index_entry_rep(idx, e, 1, PREP_ENC_IDENTITY));

    e = lookup(idx, "distritos");
    ck_assert_uint_eq(prep_index_entry_flags(e), PREP_F_DIR);
    ck_assert_str_eq(prep_index_entry_type(idx, e), "application/octet-stream");
    ck_assert_ptr_null(prep_index_entry_rep(idx, e, 0, PREP_ENC_IDENTITY));

    e = lookup(idx, "datos.csv");
    ck_assert_str_eq(prep_index_entry_type(idx, e), "text/csv; charset=utf-8");
    r = prep_index_entry_rep(idx, e, 0, PREP_ENC_IDENTITY);
    ck_assert_uint_eq(r->offset, 0);
    ck_assert_uint_eq(r->length, 1000);
}
END_TEST

START_TEST(etag_is_the_quoted_hex_of_the_sha256_prefix)
{
    unsigned char sha[32];
    char etag[48];
    int i;

    for (i = 0; i < 32; i++) {
        sha[i] = (unsigned char)(i * 0x11 + 0x0f);
    }
    memset(etag, 'X', sizeof(etag));
    prep_etag_from_sha256(etag, sha);
    /* strong (no W/), quoted, the hex of the first 16 bytes */
    ck_assert_str_eq(etag, "\"0f2031425364758697a8b9cadbecfd0e\"");
    ck_assert_uint_eq(strlen(etag), 34);
    for (i = 34; i < 48; i++) {
        ck_assert_int_eq(etag[i], '\0');
    }
    memset(sha, 0xff, sizeof(sha));
    prep_etag_from_sha256(etag, sha);
    ck_assert_str_eq(etag, "\"ffffffffffffffffffffffffffffffff\"");
    memset(sha, 0, sizeof(sha));
    prep_etag_from_sha256(etag, sha);
    ck_assert_str_eq(etag, "\"00000000000000000000000000000000\"");
    /* it is the hex of the sha's prefix */
    sha_of(sha, 9, 2);
    prep_etag_from_sha256(etag, sha);
    ck_assert_str_eq(
        etag, apr_pstrcat(pool, "\"", prep_hex(pool, sha, 16), "\"", NULL));
}
END_TEST

START_TEST(empty_index_finds_nothing)
{
    prep_index_builder_t *b = prep_index_builder_create(pool);
    const char *file = apr_pstrcat(pool, root, "/empty.prep", NULL);
    prep_index_t *idx;

    ck_assert_int_eq(prep_index_write(b, file, pool), APR_SUCCESS);
    idx = open_index(file);
    ck_assert_uint_eq(prep_index_count(idx), 0);
    ck_assert_ptr_null(lookup(idx, ""));
    ck_assert_ptr_null(lookup(idx, "index.html"));
    ck_assert_ptr_null(lookup(idx, "a"));
}
END_TEST

START_TEST(one_entry_and_colliding_buckets_are_found)
{
    /* one entry; then more entries than the smallest table has buckets */
    prep_index_builder_t *b = prep_index_builder_create(pool);
    const char *file = apr_pstrcat(pool, root, "/one.prep", NULL);
    prep_index_t *idx;
    int i;

    prep_index_add(b, "index.html", 1, 0, NULL, 0);
    ck_assert_int_eq(prep_index_write(b, file, pool), APR_SUCCESS);
    idx = open_index(file);
    ck_assert_uint_eq(prep_index_count(idx), 1);
    ck_assert_ptr_nonnull(lookup(idx, "index.html"));
    ck_assert_ptr_null(lookup(idx, "index.htm"));

    b = prep_index_builder_create(pool);
    for (i = 0; i < 17; i++) {
        prep_index_add(b, apr_itoa(pool, i), i, 0, NULL, 0);
    }
    ck_assert_int_eq(prep_index_write(b, file, pool), APR_SUCCESS);
    idx = open_index(file);
    ck_assert_uint_eq(prep_index_count(idx), 17);
    for (i = 0; i < 17; i++) {
        const prep_index_entry_t *e = lookup(idx, apr_itoa(pool, i));
        ck_assert_ptr_nonnull(e);
        ck_assert_int_eq(prep_index_entry_mtime(e), i);
    }
    ck_assert_ptr_null(lookup(idx, "17"));
}
END_TEST

START_TEST(index_write_into_a_missing_dir_fails)
{
    prep_index_builder_t *b = prep_index_builder_create(pool);

    prep_index_add(b, "index.html", 1, 0, NULL, 0);
    ck_assert_int_ne(
        prep_index_write(
            b, apr_pstrcat(pool, root, "/no/such/dir/i.prep", NULL), pool),
        APR_SUCCESS);
}
END_TEST

/* ------------------------------------------------------------------ */
/* the index of a new corte, from its plans (the index phase of a load) */

/* Plan i of `paths` for file entry i: its mtime and flags from i, and
 * (i % 3) + 1 reps, each with an offset, length and ETag of its own. */
static prep_plan_t *plans_of(const char *const *paths, int n)
{
    prep_plan_t *plans = apr_pcalloc(pool, (apr_size_t)n * sizeof(*plans));
    int i, k;

    for (i = 0; i < n; i++) {
        prep_entry_t *e = apr_pcalloc(pool, sizeof(*e));

        e->path = paths[i];
        e->mtime = mtime_of(i);
        plans[i].entry = e;
        plans[i].mtime = e->mtime;
        plans[i].flags = flags_of(i) & ~PREP_F_DIR;
        plans[i].nreps = i % 3 + 1;
        plans[i].reps =
            apr_pcalloc(pool, (apr_size_t)plans[i].nreps * sizeof(prep_rep_t));
        for (k = 0; k < plans[i].nreps; k++) {
            rep_of(&plans[i].reps[k], i, k);
        }
    }
    return plans;
}

static apr_array_header_t *dirs_of(const char *const *dirs, int n)
{
    apr_array_header_t *a = apr_array_make(pool, n, sizeof(const char *));
    int i;

    for (i = 0; i < n; i++) {
        APR_ARRAY_PUSH(a, const char *) = dirs[i];
    }
    return a;
}

/* Whether entry e is plan's file: its flags, mtime and every rep, in
 * order. */
static int is_plan(const prep_index_t *idx, const prep_index_entry_t *e,
                   const prep_plan_t *plan)
{
    int k;

    if (!e || prep_index_entry_flags(e) != plan->flags ||
        prep_index_entry_mtime(e) != plan->entry->mtime ||
        prep_index_entry_nreps(e) != (apr_uint32_t)plan->nreps) {
        return 0;
    }
    for (k = 0; k < plan->nreps; k++) {
        const prep_rep_t *r = prep_index_entry_rep_at(idx, e, (apr_uint32_t)k);

        if (memcmp(r, &plan->reps[k], sizeof(*r))) {
            return 0;
        }
    }
    return 1;
}

/* The redirect entry of a directory: PREP_F_DIR alone, no reps, mtime 0. */
static int is_redirect(const prep_index_entry_t *e)
{
    return e && prep_index_entry_flags(e) == PREP_F_DIR &&
           prep_index_entry_nreps(e) == 0 && prep_index_entry_mtime(e) == 0;
}

START_TEST(corte_index_redirects_each_directory_that_has_an_index_html)
{
    static const char *const paths[] = {"index.html",
                                        "distritos/index.html",
                                        "distritos/01/index.html",
                                        "datos/año 2024.csv",
                                        "distritos/01/mapa.png",
                                        "casillas",
                                        "casillas/index.html"};
    static const char *const dirs[] = {
        "distritos", "distritos/01", "datos", "vacío", "casillas", "img/fotos"};
    const char *file = apr_pstrcat(pool, root, "/corte.prep", NULL);
    prep_plan_t *plans = plans_of(paths, 7);
    prep_index_t *idx;
    int i;

    ck_assert_int_eq(
        prep_index_write_corte(plans, 7, dirs_of(dirs, 6), file, pool),
        APR_SUCCESS);
    idx = open_index(file);
    /* every file as planned */
    for (i = 0; i < 7; i++) {
        ck_assert_msg(is_plan(idx, lookup(idx, paths[i]), &plans[i]),
                      "%s is not as planned", paths[i]);
    }
    /* "distritos" and "distritos/01" redirect to their index.html */
    ck_assert(is_redirect(lookup(idx, "distritos")));
    ck_assert(is_redirect(lookup(idx, "distritos/01")));
    /* no index.html in it, nothing in it, or a file of that name: no
     * redirect */
    ck_assert_ptr_null(lookup(idx, "datos"));
    ck_assert_ptr_null(lookup(idx, "vacío"));
    ck_assert_ptr_null(lookup(idx, "img/fotos"));
    ck_assert(is_plan(idx, lookup(idx, "casillas"), &plans[5]));
    /* a directory is looked up without its slash */
    ck_assert_ptr_null(lookup(idx, "distritos/"));
    ck_assert_uint_eq(prep_index_count(idx), 7 + 2);

    /* no directories: the files alone */
    ck_assert_int_eq(prep_index_write_corte(plans, 7, NULL, file, pool),
                     APR_SUCCESS);
    idx = open_index(file);
    ck_assert_uint_eq(prep_index_count(idx), 7);
    ck_assert_ptr_null(lookup(idx, "distritos"));
}
END_TEST

START_TEST(corte_index_never_holds_a_hidden_path)
{
    static const char *const paths[] = {"index.html",
                                        ".htaccess",
                                        "a/.git/config",
                                        "a/.git/index.html",
                                        ".well-known/index.html",
                                        "b/.x/index.html",
                                        "b/index.html",
                                        "c/..d/index.html",
                                        "c/d.e/index.html"};
    static const char *const dirs[] = {"a/.git", ".well-known", "b/.x", "c/..d",
                                       "b",      "c/d.e",       "a",    "c"};
    static const int visible[] = {0, 6, 8}, hidden[] = {1, 2, 3, 4, 5, 7};
    const char *file = apr_pstrcat(pool, root, "/corte.prep", NULL);
    prep_plan_t *plans = plans_of(paths, 9);
    prep_index_t *idx;
    int i;

    ck_assert_int_eq(
        prep_index_write_corte(plans, 9, dirs_of(dirs, 8), file, pool),
        APR_SUCCESS);
    idx = open_index(file);
    for (i = 0; i < 3; i++) {
        ck_assert(
            is_plan(idx, lookup(idx, paths[visible[i]]), &plans[visible[i]]));
    }
    ck_assert(is_redirect(lookup(idx, "b")));
    ck_assert(is_redirect(lookup(idx, "c/d.e")));
    /* a path with a component that starts with '.' is never indexed, a
     * file's or a directory's: none of them is found, and they are not
     * counted */
    for (i = 0; i < 6; i++) {
        ck_assert_msg(!lookup(idx, paths[hidden[i]]), "%s is indexed",
                      paths[hidden[i]]);
    }
    for (i = 0; i < 4; i++) {
        ck_assert_msg(!lookup(idx, dirs[i]), "%s is indexed", dirs[i]);
    }
    /* nor does a hidden index.html make its parent a redirect */
    ck_assert_ptr_null(lookup(idx, "a"));
    ck_assert_ptr_null(lookup(idx, "c"));
    ck_assert_uint_eq(prep_index_count(idx), 3 + 2);
    /* the rule itself */
    ck_assert(prep_path_hidden(".x"));
    ck_assert(prep_path_hidden("a/.x"));
    ck_assert(prep_path_hidden("a/../b"));
    ck_assert(!prep_path_hidden("a.b/c."));
    ck_assert(!prep_path_hidden("a/b"));
}
END_TEST

START_TEST(corte_index_into_a_missing_dir_fails)
{
    static const char *const paths[] = {"index.html"};

    ck_assert_int_ne(prep_index_write_corte(
                         plans_of(paths, 1), 1, NULL,
                         apr_pstrcat(pool, root, "/no/such/dir/i.prep", NULL),
                         pool),
                     APR_SUCCESS);
}
END_TEST

/* ------------------------------------------------------------------ */
/* damaged files */

static char *slurp(const char *file, apr_size_t *len)
{
    apr_file_t *fp;
    apr_finfo_t fi;
    char *buf;

    ck_assert_int_eq(
        apr_file_open(&fp, file, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, pool),
        APR_SUCCESS);
    ck_assert_int_eq(apr_file_info_get(&fi, APR_FINFO_SIZE, fp), APR_SUCCESS);
    buf = apr_palloc(pool, (apr_size_t)fi.size);
    ck_assert_int_eq(apr_file_read_full(fp, buf, (apr_size_t)fi.size, len),
                     APR_SUCCESS);
    apr_file_close(fp);
    return buf;
}

static void spill(const char *file, const char *buf, apr_size_t len)
{
    apr_file_t *fp;

    ck_assert_int_eq(apr_file_open(&fp, file,
                                   APR_FOPEN_WRITE | APR_FOPEN_CREATE |
                                       APR_FOPEN_TRUNCATE | APR_FOPEN_BINARY,
                                   APR_FPROT_OS_DEFAULT, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(apr_file_write_full(fp, buf, len, NULL), APR_SUCCESS);
    apr_file_close(fp);
}

/* Opens the damaged bytes; when they are accepted, every lookup still
 * answers without a crash. */
static void open_and_look(const char *file, int n);

static apr_status_t open_damaged(const char *file, const char *buf,
                                 apr_size_t len, int n)
{
    apr_pool_t *sub;
    prep_index_t *idx;
    apr_status_t rv;

    spill(file, buf, len);
    apr_pool_create(&sub, pool);
    rv = prep_index_open(&idx, file, sub);
    apr_pool_destroy(sub);
    if (rv == APR_SUCCESS) {
        open_and_look(file, n);
    }
    return rv;
}

/* The header's fields, as prep_index.c lays them out. */
#define H_VERSION     8
#define H_NENTRIES    12
#define H_NBUCKETS    16
#define H_NREPS       20
#define H_BUCKETS_OFF 24
#define H_ENTRIES_OFF 32
#define H_REPS_OFF    40
#define H_STRINGS_OFF 48
#define H_STRINGS_LEN 56
#define H_FILE_SIZE   64
#define E_SIZE        40 /* an entry */
#define E_PATH_OFF    16 /* in an entry */

static apr_uint32_t get32(const char *buf, apr_size_t at)
{
    apr_uint32_t v;

    memcpy(&v, buf + at, 4);
    return v;
}

static apr_uint64_t get64(const char *buf, apr_size_t at)
{
    apr_uint64_t v;

    memcpy(&v, buf + at, 8);
    return v;
}

static char *with32(const char *buf, apr_size_t len, apr_size_t at,
                    apr_uint32_t v)
{
    char *copy = apr_pmemdup(pool, buf, len);

    memcpy(copy + at, &v, 4);
    return copy;
}

static char *with64(const char *buf, apr_size_t len, apr_size_t at,
                    apr_uint64_t v)
{
    char *copy = apr_pmemdup(pool, buf, len);

    memcpy(copy + at, &v, 8);
    return copy;
}

START_TEST(truncated_or_longer_index_is_refused_at_open)
{
    const char *good = build(50);
    const char *bad = apr_pstrcat(pool, root, "/bad.prep", NULL);
    apr_size_t len, cut;
    char *buf = slurp(good, &len);
    prep_index_t *idx;

    ck_assert_int_eq(open_damaged(bad, buf, len, 50), APR_SUCCESS);
    /* every length short of the whole file */
    for (cut = 0; cut < len; cut += cut < 200 ? 1 : 7) {
        ck_assert_msg(open_damaged(bad, buf, cut, 50) != APR_SUCCESS,
                      "%lu of %lu bytes accepted", (unsigned long)cut,
                      (unsigned long)len);
    }
    ck_assert_int_ne(open_damaged(bad, buf, len - 1, 50), APR_SUCCESS);
    /* one byte more */
    {
        char *longer = apr_palloc(pool, len + 1);
        memcpy(longer, buf, len);
        longer[len] = '\0';
        ck_assert_int_ne(open_damaged(bad, longer, len + 1, 50), APR_SUCCESS);
    }
    /* not there, or not an index at all */
    ck_assert_int_ne(
        prep_index_open(&idx, apr_pstrcat(pool, root, "/none.prep", NULL),
                        pool),
        APR_SUCCESS);
    ck_assert_int_ne(open_damaged(bad, "PREPIDX1", 8, 0), APR_SUCCESS);
    {
        char *junk = apr_palloc(pool, 4096);
        memset(junk, 0xa5, 4096);
        ck_assert_int_ne(open_damaged(bad, junk, 4096, 50), APR_SUCCESS);
        memset(junk, 0, 4096);
        ck_assert_int_ne(open_damaged(bad, junk, 4096, 50), APR_SUCCESS);
    }
}
END_TEST

START_TEST(damaged_header_is_refused_at_open)
{
    const char *good = build(50);
    const char *bad = apr_pstrcat(pool, root, "/bad.prep", NULL);
    apr_size_t len;
    char *buf = slurp(good, &len);
    apr_uint64_t strings_off = get64(buf, H_STRINGS_OFF);
    apr_uint32_t nentries = get32(buf, H_NENTRIES);
    apr_uint32_t nbuckets = get32(buf, H_NBUCKETS);
    char *copy;

    ck_assert_uint_eq(nentries, 50);
    ck_assert_uint_eq(get64(buf, H_FILE_SIZE), len);
    /* the magic, the version */
    copy = apr_pmemdup(pool, buf, len);
    copy[0] = 'X';
    ck_assert_int_ne(open_damaged(bad, copy, len, 50), APR_SUCCESS);
    ck_assert_int_ne(open_damaged(bad, with32(buf, len, H_VERSION, 2), len, 50),
                     APR_SUCCESS);
    /* counts that do not fit the layout */
    ck_assert_int_ne(
        open_damaged(bad, with32(buf, len, H_NENTRIES, nentries + 1), len, 50),
        APR_SUCCESS);
    ck_assert_int_ne(
        open_damaged(bad, with32(buf, len, H_NENTRIES, 0xffffffffu), len, 50),
        APR_SUCCESS);
    ck_assert_int_ne(
        open_damaged(bad, with32(buf, len, H_NBUCKETS, nbuckets - 1), len, 50),
        APR_SUCCESS);
    ck_assert_int_ne(
        open_damaged(bad, with32(buf, len, H_NBUCKETS, 0), len, 50),
        APR_SUCCESS);
    ck_assert_int_ne(
        open_damaged(bad, with32(buf, len, H_NBUCKETS, nbuckets * 2), len, 50),
        APR_SUCCESS);
    ck_assert_int_ne(
        open_damaged(bad, with32(buf, len, H_NREPS, get32(buf, H_NREPS) + 1),
                     len, 50),
        APR_SUCCESS);
    /* offsets */
    ck_assert_int_ne(
        open_damaged(bad, with64(buf, len, H_BUCKETS_OFF, 0), len, 50),
        APR_SUCCESS);
    ck_assert_int_ne(open_damaged(bad,
                                  with64(buf, len, H_ENTRIES_OFF,
                                         get64(buf, H_ENTRIES_OFF) + 8),
                                  len, 50),
                     APR_SUCCESS);
    ck_assert_int_ne(
        open_damaged(bad, with64(buf, len, H_REPS_OFF, len * 4), len, 50),
        APR_SUCCESS);
    ck_assert_int_ne(
        open_damaged(bad, with64(buf, len, H_STRINGS_OFF, strings_off + 8), len,
                     50),
        APR_SUCCESS);
    ck_assert_int_ne(
        open_damaged(bad, with64(buf, len, H_STRINGS_LEN, len), len, 50),
        APR_SUCCESS);
    ck_assert_int_ne(
        open_damaged(bad, with64(buf, len, H_FILE_SIZE, len + 1), len, 50),
        APR_SUCCESS);
    /* a length that wraps the end of the strings around to a small number,
     * with an entry's path far outside the file */
    copy = with64(buf, len, H_STRINGS_LEN, (apr_uint64_t)0 - strings_off + 16);
    memcpy(copy + get64(buf, H_ENTRIES_OFF) + E_PATH_OFF,
           &(apr_uint32_t){0x7ffffff0u}, 4);
    ck_assert_int_ne(open_damaged(bad, copy, len, 50), APR_SUCCESS);
    /* the same with tables far beyond the file, their offsets consistent */
    {
        apr_uint64_t nb = APR_UINT64_C(1) << 25, ne = nb / 2;
        apr_uint64_t eoff = 72 + nb * 4, roff = eoff + ne * E_SIZE;
        apr_uint64_t soff = roff + get32(buf, H_NREPS) * APR_UINT64_C(72);

        copy = with32(buf, len, H_NBUCKETS, (apr_uint32_t)nb);
        memcpy(copy + H_NENTRIES, &(apr_uint32_t){(apr_uint32_t)ne}, 4);
        memcpy(copy + H_ENTRIES_OFF, &eoff, 8);
        memcpy(copy + H_REPS_OFF, &roff, 8);
        memcpy(copy + H_STRINGS_OFF, &soff, 8);
        memcpy(copy + H_STRINGS_LEN,
               &(apr_uint64_t){(apr_uint64_t)0 - soff + 16}, 8);
        ck_assert_int_ne(open_damaged(bad, copy, len, 50), APR_SUCCESS);
    }
}
END_TEST

START_TEST(damaged_entries_and_buckets_are_refused_at_open)
{
    const char *good = build(50);
    const char *bad = apr_pstrcat(pool, root, "/bad.prep", NULL);
    apr_size_t len, entries, e3;
    char *buf = slurp(good, &len), *copy;
    apr_uint64_t strings_len = get64(buf, H_STRINGS_LEN);
    apr_uint32_t i, nbuckets = get32(buf, H_NBUCKETS);

    entries = (apr_size_t)get64(buf, H_ENTRIES_OFF);
    e3 = entries + 3 * E_SIZE;
    /* a path outside the strings, or not ending where it says */
    ck_assert_int_ne(
        open_damaged(bad, with32(buf, len, e3 + E_PATH_OFF, 0x7fffffffu), len,
                     50),
        APR_SUCCESS);
    ck_assert_int_ne(open_damaged(bad,
                                  with32(buf, len, e3 + E_PATH_OFF,
                                         (apr_uint32_t)strings_len),
                                  len, 50),
                     APR_SUCCESS);
    ck_assert_int_ne(open_damaged(bad,
                                  with32(buf, len, e3 + E_PATH_OFF + 4,
                                         get32(buf, e3 + E_PATH_OFF + 4) + 1),
                                  len, 50),
                     APR_SUCCESS);
    ck_assert_int_ne(
        open_damaged(bad, with32(buf, len, e3 + E_PATH_OFF + 4, 0xfffffff0u),
                     len, 50),
        APR_SUCCESS);
    /* a type outside the strings */
    ck_assert_int_ne(open_damaged(bad,
                                  with32(buf, len, e3 + E_PATH_OFF + 8,
                                         (apr_uint32_t)strings_len),
                                  len, 50),
                     APR_SUCCESS);
    /* representations outside the table */
    ck_assert_int_ne(
        open_damaged(bad, with32(buf, len, e3 + E_PATH_OFF + 16, 0xffffffffu),
                     len, 50),
        APR_SUCCESS);
    ck_assert_int_ne(
        open_damaged(bad, with32(buf, len, e3 + E_PATH_OFF + 20, 0xffffffffu),
                     len, 50),
        APR_SUCCESS);
    /* a bucket naming an entry that does not exist */
    for (i = 0; i < nbuckets; i++) {
        if (get32(buf, (apr_size_t)get64(buf, H_BUCKETS_OFF) + 4 * i)) {
            break;
        }
    }
    copy = with32(buf, len, (apr_size_t)get64(buf, H_BUCKETS_OFF) + 4 * i, 51);
    ck_assert_int_ne(open_damaged(bad, copy, len, 50), APR_SUCCESS);
    /* the untouched copy is still fine */
    ck_assert_int_eq(open_damaged(bad, buf, len, 50), APR_SUCCESS);
}
END_TEST

/* The representation prep_index_entry_rep must answer: the first of the
 * entry's own with that banner slot and encoding. */
static const prep_rep_t *first_rep(const prep_index_t *idx,
                                   const prep_index_entry_t *e,
                                   apr_uint32_t banner, apr_uint32_t encoding)
{
    apr_uint32_t n;

    for (n = 0; n < prep_index_entry_nreps(e); n++) {
        const prep_rep_t *r = prep_index_entry_rep_at(idx, e, n);
        if (r->banner == banner && r->encoding == encoding) {
            return r;
        }
    }
    return NULL;
}

/* Whether entry e says what build() gave path_of(i): flags, mtime, reps. */
static int as_built(const prep_index_t *idx, const prep_index_entry_t *e, int i)
{
    int k;

    if (prep_index_entry_flags(e) != flags_of(i) ||
        prep_index_entry_mtime(e) != mtime_of(i) ||
        prep_index_entry_nreps(e) != (apr_uint32_t)nreps_of(i)) {
        return 0;
    }
    for (k = 0; k < nreps_of(i); k++) {
        const prep_rep_t *r = prep_index_entry_rep_at(idx, e, (apr_uint32_t)k);
        prep_rep_t want;

        rep_of(&want, i, k);
        if (r->banner != want.banner || r->encoding != want.encoding ||
            r->offset != want.offset || r->length != want.length ||
            memcmp(r->etag, want.etag, sizeof(want.etag))) {
            return 0;
        }
    }
    return 1;
}

/* Opens file (already holding the damaged bytes) as open_damaged does.
 * Damage may change what an entry says, never what a lookup means: an entry
 * found has the path looked up, a representation found is the entry's own
 * of the slot and encoding asked for, and the damage of one entry's record
 * or of one representation leaves every other entry found as built. */
static void open_and_look(const char *file, int n)
{
    apr_pool_t *sub;
    prep_index_t *idx;
    int i, k, changed = 0;

    apr_pool_create(&sub, pool);
    if (prep_index_open(&idx, file, sub) == APR_SUCCESS) {
        for (i = 0; i < n; i++) {
            const char *path = path_of(i);
            const prep_index_entry_t *e =
                prep_index_lookup(idx, path, strlen(path));
            if (e) {
                ck_assert_str_eq(prep_index_entry_path(idx, e), path);
                /* read to its NUL: the sanitizers see a read past the end */
                (void)strlen(prep_index_entry_type(idx, e));
                for (k = 0; k < 6; k++) {
                    ck_assert_ptr_eq(
                        prep_index_entry_rep(idx, e, rep_slots[k][0],
                                             rep_slots[k][1]),
                        first_rep(idx, e, rep_slots[k][0], rep_slots[k][1]));
                }
                changed += !as_built(idx, e, i);
            }
        }
        ck_assert_msg(changed <= 1, "%d entries found changed", changed);
    }
    apr_pool_destroy(sub);
}

START_TEST(any_byte_damaged_never_crashes_open_or_lookup)
{
    /* whatever one byte of a small index becomes, opening and looking up
     * never crash (the sanitizers watch the reads) */
    const char *good = build(20);
    static const unsigned char values[] = {0xff, 0x80, 0x01};
    apr_size_t len, at;
    char *buf = slurp(good, &len);
    int fd = open(good, O_WRONLY);
    size_t v;

    ck_assert_int_ge(fd, 0);
    for (at = 0; at < len; at++) {
        for (v = 0; v < sizeof(values); v++) {
            char c = (char)(buf[at] ^ values[v]);
            ck_assert_int_eq(pwrite(fd, &c, 1, (off_t)at), 1);
            open_and_look(good, 20);
        }
        ck_assert_int_eq(pwrite(fd, buf + at, 1, (off_t)at), 1);
    }
    close(fd);
    /* and the bytes put back are a good index again */
    open_index(good);
}
END_TEST

Suite *suite_index(void)
{
    Suite *s = suite_create("index");
    TCase *tc = tcase_create("index");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, every_path_is_found_with_its_type_flags_mtime_and_reps);
    tcase_add_test(tc, paths_not_in_the_corte_are_not_found);
    tcase_add_test(tc, lookup_reads_len_bytes_of_an_unterminated_path);
    tcase_add_test(tc, entry_details_and_copied_reps_are_kept_past_4_gb);
    tcase_add_test(tc, etag_is_the_quoted_hex_of_the_sha256_prefix);
    tcase_add_test(tc, empty_index_finds_nothing);
    tcase_add_test(tc, one_entry_and_colliding_buckets_are_found);
    tcase_add_test(tc, index_write_into_a_missing_dir_fails);
    tcase_add_test(tc,
                   corte_index_redirects_each_directory_that_has_an_index_html);
    tcase_add_test(tc, corte_index_never_holds_a_hidden_path);
    tcase_add_test(tc, corte_index_into_a_missing_dir_fails);
    tcase_add_test(tc, truncated_or_longer_index_is_refused_at_open);
    tcase_add_test(tc, damaged_header_is_refused_at_open);
    tcase_add_test(tc, damaged_entries_and_buckets_are_refused_at_open);

    suite_add_tcase(s, tc);
    /* every byte of an index damaged in turn: 3 minutes under valgrind,
     * whose reads ASan watches as well in make check-asan; "large" keeps
     * it out of make check-valgrind (Makefile.am) */
    tc = tcase_create("index-damage");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_set_tags(tc, "large");
    tcase_add_test(tc, any_byte_damaged_never_crashes_open_or_lookup);
    suite_add_tcase(s, tc);
    return s;
}
