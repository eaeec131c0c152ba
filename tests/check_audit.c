/* check_audit.c — unit tests of the audit of a published corte
 * (prep_audit.c): a small corte is built with the library (a pack written
 * here, its index by prep_index_builder, corte.json by
 * prep_store_write_corte) and then damaged byte by byte, cut short, or
 * given a corte.json or index that disagrees; sliced audits read exactly
 * their budget and end with the same answer as one whole audit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <apr_file_io.h>
#include <apr_strings.h>
#include <openssl/evp.h>

#include "prep.h"
#include "test_prep.h"

static apr_pool_t *pool;
static const char *root; /* temporary directory of one test */

#define CORTE_ID "20240603T030500Z-0123abcd"
#define BIG_SIZE (300 * 1024 + 17) /* several 64 KB buffers, and a rest */

static void setup(void)
{
    char tmpl[] = "/tmp/prep-audit-XXXXXX";

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
/* a small corte */

typedef struct built_rep {
    const char *path;
    apr_uint32_t banner, encoding;
    apr_uint64_t offset, length;
} built_rep_t;

/* What the corte holds, to find a rep's bytes when damaging them. */
static built_rep_t built[16];
static int nbuilt;
static apr_uint64_t built_bytes; /* sum of every rep's length */

static void rep_of(prep_rep_t *r, FILE *pack, const char *path,
                   apr_uint32_t banner, apr_uint32_t encoding, const void *data,
                   size_t len)
{
    unsigned char md[32];

    memset(r, 0, sizeof(*r));
    r->banner = banner;
    r->encoding = encoding;
    r->offset = (apr_uint64_t)ftell(pack);
    r->length = len;
    ck_assert_uint_eq(fwrite(data, 1, len, pack), len);
    EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL);
    prep_etag_from_sha256(r->etag, md);
    built[nbuilt].path = path;
    built[nbuilt].banner = banner;
    built[nbuilt].encoding = encoding;
    built[nbuilt].offset = r->offset;
    built[nbuilt].length = len;
    nbuilt++;
    built_bytes += len;
}

static const built_rep_t *find_built(const char *path, apr_uint32_t banner,
                                     apr_uint32_t encoding)
{
    int i;

    for (i = 0; i < nbuilt; i++) {
        if (!strcmp(built[i].path, path) && built[i].banner == banner &&
            built[i].encoding == encoding) {
            return &built[i];
        }
    }
    ck_abort_msg("no rep %s %u %u", path, banner, encoding);
    return NULL;
}

/* Writes root/cortes/<id>/ with five files (index.html as delivered, with
 * banner 1 and gzip; json/main.json with gzip and br; a big binary; an
 * empty file; a CSV) and one directory entry.  Returns the directory. */
static const char *make_corte(const char *id)
{
    const char *dir = apr_psprintf(pool, "%s/cortes/%s", root, id);
    static const char html[] = "<!DOCTYPE html><html><body><h1>PREP</h1>"
                               "</body></html>\n";
    static const char banner_html[] =
        "<!DOCTYPE html><html><body><div id=\"prep-corte\">Último corte"
        "</div><h1>PREP</h1></body></html>\n";
    char *json = apr_pstrdup(pool, "{\"fechaCorte\": \"2024-06-02T21:05:00"
                                   "-06:00\", \"actas\": [0");
    unsigned char *big = malloc(BIG_SIZE), *gz, *br;
    size_t gz_len, br_len, i;
    prep_index_builder_t *b = prep_index_builder_create(pool);
    prep_rep_t reps[3];
    prep_corte_t corte;
    FILE *pack;

    nbuilt = 0;
    built_bytes = 0;
    for (i = 1; i < 400; i++) { /* worth compressing */
        json = apr_psprintf(pool, "%s, %d", json, (int)(i % 17));
    }
    json = apr_pstrcat(pool, json, "]}\n", NULL);
    ck_assert_int_eq(apr_dir_make_recursive(dir, APR_FPROT_OS_DEFAULT, pool),
                     APR_SUCCESS);
    pack = fopen(apr_pstrcat(pool, dir, "/" PREP_PACK_FILE, NULL), "wb");
    ck_assert_ptr_nonnull(pack);

    rep_of(&reps[0], pack, "index.html", 0, PREP_ENC_IDENTITY, html,
           strlen(html));
    rep_of(&reps[1], pack, "index.html", 1, PREP_ENC_IDENTITY, banner_html,
           strlen(banner_html));
    gz = prep_compress(PREP_ENC_GZIP, html, strlen(html), &gz_len);
    if (!gz) { /* too small to be worth it: any bytes do for the audit */
        gz = (unsigned char *)strdup("not really gzip");
        gz_len = strlen((char *)gz);
    }
    rep_of(&reps[2], pack, "index.html", 0, PREP_ENC_GZIP, gz, gz_len);
    free(gz);
    prep_index_add(b, "index.html", 0, PREP_F_HTML, reps, 3);

    rep_of(&reps[0], pack, "json/main.json", 0, PREP_ENC_IDENTITY, json,
           strlen(json));
    gz = prep_compress(PREP_ENC_GZIP, json, strlen(json), &gz_len);
    br = prep_compress(PREP_ENC_BR, json, strlen(json), &br_len);
    ck_assert_ptr_nonnull(gz);
    ck_assert_ptr_nonnull(br);
    rep_of(&reps[1], pack, "json/main.json", 0, PREP_ENC_GZIP, gz, gz_len);
    rep_of(&reps[2], pack, "json/main.json", 0, PREP_ENC_BR, br, br_len);
    free(gz);
    free(br);
    prep_index_add(b, "json/main.json", 0, PREP_F_NO_STORE | PREP_F_CORS, reps,
                   3);

    for (i = 0; i < BIG_SIZE; i++) {
        big[i] = (unsigned char)(i * 2654435761u >> 13);
    }
    rep_of(&reps[0], pack, "img/mapa.png", 0, PREP_ENC_IDENTITY, big, BIG_SIZE);
    free(big);
    prep_index_add(b, "img/mapa.png", 0, 0, reps, 1);

    rep_of(&reps[0], pack, "vacío.txt", 0, PREP_ENC_IDENTITY, "", 0);
    prep_index_add(b, "vacío.txt", 0, 0, reps, 1);

    rep_of(&reps[0], pack, "datos/año 2024.csv", 0, PREP_ENC_IDENTITY,
           "a,b\n1,2\n", 8);
    prep_index_add(b, "datos/año 2024.csv", 0, PREP_F_CORS, reps, 1);

    prep_index_add(b, "datos", 0, PREP_F_DIR, NULL, 0);
    ck_assert_int_eq(fclose(pack), 0);
    ck_assert_int_eq(
        prep_index_write(b, apr_pstrcat(pool, dir, "/" PREP_INDEX_FILE, NULL),
                         pool),
        APR_SUCCESS);

    memset(&corte, 0, sizeof(corte));
    corte.id = id;
    corte.time = apr_time_from_sec(1717383900);
    corte.label = "Último corte: 02/06/2024 21:05";
    corte.package = "PREP.tar.gz";
    corte.sha256 = "0123abcd";
    corte.files = 5;
    corte.bytes = 12345;
    ck_assert_int_eq(prep_store_write_corte(dir, &corte, pool), APR_SUCCESS);
    return dir;
}

/* Changes the byte at `at` of file in place; twice restores it. */
static void flip_byte(const char *file, apr_uint64_t at)
{
    int fd = open(file, O_RDWR);
    unsigned char c;

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, &c, 1, (off_t)at), 1);
    c ^= 0x5a;
    ck_assert_int_eq(pwrite(fd, &c, 1, (off_t)at), 1);
    close(fd);
}

static void write_text(const char *file, const char *text)
{
    FILE *f = fopen(file, "wb");

    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

static const char *pack_of(const char *dir)
{
    return apr_pstrcat(pool, dir, "/" PREP_PACK_FILE, NULL);
}

static const prep_audit_bad_t *bad_at(const prep_audit_t *a, int i)
{
    return &APR_ARRAY_IDX(prep_audit_bad(a), i, prep_audit_bad_t);
}

static const char *problem_at(const prep_audit_t *a, int i)
{
    return APR_ARRAY_IDX(prep_audit_problems(a), i, const char *);
}

/* ------------------------------------------------------------------ */

START_TEST(index_iterates_entries_and_reps_in_the_order_added)
{
    const char *dir = make_corte(CORTE_ID);
    prep_index_t *idx;
    const prep_index_entry_t *e;
    apr_uint32_t i, j, k = 0;

    ck_assert_int_eq(
        prep_index_open(&idx, apr_pstrcat(pool, dir, "/" PREP_INDEX_FILE, NULL),
                        pool),
        APR_SUCCESS);
    ck_assert_uint_eq(prep_index_count(idx), 6);
    /* entries in the order added, reps in order, every one once */
    for (i = 0; i < prep_index_count(idx); i++) {
        e = prep_index_entry_at(idx, i);
        ck_assert_ptr_nonnull(e);
        for (j = 0; j < prep_index_entry_nreps(e); j++) {
            const prep_rep_t *r = prep_index_entry_rep_at(idx, e, j);

            ck_assert_int_lt(k, nbuilt);
            ck_assert_str_eq(prep_index_entry_path(idx, e), built[k].path);
            ck_assert_uint_eq(r->banner, built[k].banner);
            ck_assert_uint_eq(r->encoding, built[k].encoding);
            ck_assert_uint_eq(r->offset, built[k].offset);
            ck_assert_uint_eq(r->length, built[k].length);
            k++;
        }
        ck_assert_ptr_null(
            prep_index_entry_rep_at(idx, e, prep_index_entry_nreps(e)));
    }
    ck_assert_int_eq(k, nbuilt);
    e = prep_index_entry_at(idx, 5);
    ck_assert_str_eq(prep_index_entry_path(idx, e), "datos");
    ck_assert_uint_eq(prep_index_entry_nreps(e), 0);
    ck_assert_ptr_null(prep_index_entry_rep_at(idx, e, 0));
    ck_assert_ptr_null(prep_index_entry_at(idx, 6));
    ck_assert_ptr_null(prep_index_entry_at(idx, APR_UINT32_MAX));
}
END_TEST

START_TEST(intact_corte_audits_clean_counting_every_rep)
{
    const char *dir = make_corte(CORTE_ID);
    prep_audit_t *a;
    const prep_audit_totals_t *t;

    ck_assert_int_eq(prep_audit_corte(&a, dir, pool), APR_SUCCESS);
    ck_assert(prep_audit_ok(a));
    ck_assert_int_eq(prep_audit_bad(a)->nelts, 0);
    ck_assert_int_eq(prep_audit_problems(a)->nelts, 0);
    t = prep_audit_totals(a);
    ck_assert_uint_eq(t->files, 5);
    ck_assert_uint_eq(t->reps, (apr_uint64_t)nbuilt);
    ck_assert_uint_eq(t->reps_checked, (apr_uint64_t)nbuilt);
    ck_assert_uint_eq(t->bytes, built_bytes);
    ck_assert_uint_eq(t->checked, built_bytes);
    ck_assert_uint_eq(t->pack_size, built_bytes);
    /* a trailing slash names the same directory (corte.json's id) */
    ck_assert_int_eq(
        prep_audit_corte(&a, apr_pstrcat(pool, dir, "/", NULL), pool),
        APR_SUCCESS);
}
END_TEST

/* One byte changed in each rep in turn: exactly that rep is reported. */
START_TEST(a_flipped_byte_in_any_rep_is_found_with_its_path)
{
    const char *dir = make_corte(CORTE_ID);
    int i;

    for (i = 0; i < nbuilt; i++) {
        const built_rep_t *r = &built[i];
        apr_uint64_t at = r->offset + r->length * 2 / 3;
        prep_audit_t *a;
        const prep_audit_bad_t *b;

        if (!r->length) {
            continue;
        }
        flip_byte(pack_of(dir), at);
        ck_assert_int_eq(prep_audit_corte(&a, dir, pool), APR_EGENERAL);
        ck_assert(!prep_audit_ok(a));
        ck_assert_int_eq(prep_audit_problems(a)->nelts, 0);
        ck_assert_int_eq(prep_audit_bad(a)->nelts, 1);
        b = bad_at(a, 0);
        ck_assert_str_eq(b->path, r->path);
        ck_assert_uint_eq(b->banner, r->banner);
        ck_assert_uint_eq(b->encoding, r->encoding);
        ck_assert_int_eq(b->fault, PREP_AUDIT_DIFFERS);
        ck_assert_uint_eq(prep_audit_totals(a)->checked, built_bytes);
        flip_byte(pack_of(dir), at); /* back: clean again */
        ck_assert_int_eq(prep_audit_corte(&a, dir, pool), APR_SUCCESS);
    }
}
END_TEST

/* The gzip variant of main.json and the last byte of the big file (past
 * four 64 KB buffers) damaged together: both reported, in index order. */
START_TEST(two_flipped_bytes_are_both_found_in_pack_order)
{
    const char *dir = make_corte(CORTE_ID);
    const built_rep_t *gz = find_built("json/main.json", 0, PREP_ENC_GZIP);
    const built_rep_t *big = find_built("img/mapa.png", 0, PREP_ENC_IDENTITY);
    prep_audit_t *a;

    flip_byte(pack_of(dir), gz->offset);
    flip_byte(pack_of(dir), big->offset + big->length - 1);
    ck_assert_int_eq(prep_audit_corte(&a, dir, pool), APR_EGENERAL);
    ck_assert_int_eq(prep_audit_bad(a)->nelts, 2);
    ck_assert_str_eq(bad_at(a, 0)->path, "json/main.json");
    ck_assert_uint_eq(bad_at(a, 0)->encoding, PREP_ENC_GZIP);
    ck_assert_str_eq(bad_at(a, 1)->path, "img/mapa.png");
    ck_assert_uint_eq(bad_at(a, 1)->encoding, PREP_ENC_IDENTITY);
    ck_assert_str_eq(prep_audit_fault_name(bad_at(a, 1)->fault), "differs");
}
END_TEST

/* Steps of `budget` bytes: each reads exactly min(budget, what is left),
 * they add up to the whole, and resuming mid-rep hashes correctly. */
static void sliced(const char *dir, apr_uint64_t budget, int want_bad)
{
    prep_audit_t *a;
    apr_uint64_t before = 0, steps = 0, left;
    int done = 0;

    ck_assert_int_eq(prep_audit_open(&a, dir, pool), APR_SUCCESS);
    ck_assert_uint_eq(prep_audit_totals(a)->checked, 0);
    while (!done) {
        apr_uint64_t now, read;

        ck_assert_int_eq(prep_audit_step(a, budget, &done), APR_SUCCESS);
        now = prep_audit_totals(a)->checked;
        read = now - before;
        left = built_bytes - before;
        ck_assert_uint_eq(read, left < budget ? left : budget);
        before = now;
        steps++;
        ck_assert_uint_le(steps, built_bytes / budget + 2);
        if (!done) {
            ck_assert(!prep_audit_ok(a));
        }
    }
    ck_assert_uint_eq(before, built_bytes);
    ck_assert_uint_eq(steps, (built_bytes + budget - 1) / budget);
    ck_assert_uint_eq(prep_audit_totals(a)->reps_checked, (apr_uint64_t)nbuilt);
    ck_assert_int_eq(prep_audit_bad(a)->nelts, want_bad);
    ck_assert_int_eq(prep_audit_ok(a), !want_bad);
    /* a step after the end reads nothing and stays done */
    done = 0;
    ck_assert_int_eq(prep_audit_step(a, budget, &done), APR_SUCCESS);
    ck_assert_int_eq(done, 1);
    ck_assert_uint_eq(prep_audit_totals(a)->checked, built_bytes);
}

START_TEST(slices_of_any_budget_read_every_byte_once)
{
    const char *dir = make_corte(CORTE_ID);
    /* 1 (300 000 steps) is tried below on the first reps only */
    static const apr_uint64_t budgets[] = {7,     100,   4096,   65535,
                                           65536, 65537, 100000, 1 << 20};
    size_t i;

    for (i = 0; i < sizeof(budgets) / sizeof(budgets[0]); i++) {
        sliced(dir, budgets[i], 0);
    }
}
END_TEST

START_TEST(slices_of_any_budget_find_a_flipped_byte)
{
    const char *dir = make_corte(CORTE_ID);
    const built_rep_t *big = find_built("img/mapa.png", 0, PREP_ENC_IDENTITY);
    prep_audit_t *a;

    /* in the middle of the big file, in the third slice of 100 000 */
    flip_byte(pack_of(dir), big->offset + 250000);
    sliced(dir, 100000, 1);
    sliced(dir, 65536, 1);
    sliced(dir, 7, 1);
    ck_assert_int_eq(prep_audit_corte(&a, dir, pool), APR_EGENERAL);
    ck_assert_str_eq(bad_at(a, 0)->path, "img/mapa.png");
}
END_TEST

/* A budget of 0 reads one 64 KB buffer; a budget of 1 goes byte by byte
 * through the small reps and still ends right. */
START_TEST(budget_zero_still_advances_and_one_goes_byte_by_byte)
{
    const char *dir = make_corte(CORTE_ID);
    prep_audit_t *a;
    int done = 0, steps = 0;

    ck_assert_int_eq(prep_audit_open(&a, dir, pool), APR_SUCCESS);
    ck_assert_int_eq(prep_audit_step(a, 0, &done), APR_SUCCESS);
    ck_assert_int_eq(done, 0);
    ck_assert_uint_eq(prep_audit_totals(a)->checked, 65536);
    while (!done) {
        ck_assert_int_eq(prep_audit_step(a, 0, &done), APR_SUCCESS);
        steps++;
    }
    ck_assert_int_eq(steps, (int)((built_bytes - 1) / 65536));
    ck_assert(prep_audit_ok(a));

    /* byte by byte over the first 2000 bytes (index.html and main.json) */
    ck_assert_int_eq(prep_audit_open(&a, dir, pool), APR_SUCCESS);
    for (steps = 0; steps < 2000; steps++) {
        ck_assert_int_eq(prep_audit_step(a, 1, &done), APR_SUCCESS);
        ck_assert_uint_eq(prep_audit_totals(a)->checked,
                          (apr_uint64_t)steps + 1);
    }
    ck_assert_uint_ge(prep_audit_totals(a)->reps_checked, 6);
    ck_assert_int_eq(prep_audit_bad(a)->nelts, 0);
    while (!done) {
        ck_assert_int_eq(prep_audit_step(a, 1 << 20, &done), APR_SUCCESS);
    }
    ck_assert(prep_audit_ok(a));
}
END_TEST

/* A rep recorded past the pack's end: reported at open, nothing read for
 * it, the others checked. */
START_TEST(rep_beyond_the_pack_is_outside_it)
{
    const char *dir = make_corte(CORTE_ID);
    prep_index_builder_t *b = prep_index_builder_create(pool);
    prep_rep_t reps[2];
    prep_audit_t *a;
    const built_rep_t *csv = find_built("datos/año 2024.csv", 0, 0);
    int done = 0;

    memset(reps, 0, sizeof(reps));
    reps[0].offset = csv->offset;
    reps[0].length = csv->length;
    strcpy(reps[0].etag, "\"x\"");
    /* inside the index's view, past the pack */
    reps[1].encoding = PREP_ENC_GZIP;
    reps[1].offset = built_bytes - 2;
    reps[1].length = 3;
    prep_index_add(b, "datos/año 2024.csv", 0, 0, reps, 2);
    reps[0].offset = APR_UINT64_MAX - 1; /* offset + length wraps */
    reps[0].length = 4;
    prep_index_add(b, "lejos.txt", 0, 0, reps, 1);
    ck_assert_int_eq(
        prep_index_write(b, apr_pstrcat(pool, dir, "/" PREP_INDEX_FILE, NULL),
                         pool),
        APR_SUCCESS);
    ck_assert_int_eq(prep_audit_open(&a, dir, pool), APR_SUCCESS);
    ck_assert_int_eq(prep_audit_bad(a)->nelts, 2);
    ck_assert_str_eq(bad_at(a, 0)->path, "datos/año 2024.csv");
    ck_assert_uint_eq(bad_at(a, 0)->encoding, PREP_ENC_GZIP);
    ck_assert_int_eq(bad_at(a, 0)->fault, PREP_AUDIT_OUTSIDE);
    ck_assert_str_eq(bad_at(a, 1)->path, "lejos.txt");
    ck_assert_int_eq(bad_at(a, 1)->fault, PREP_AUDIT_OUTSIDE);
    ck_assert_str_eq(prep_audit_fault_name(PREP_AUDIT_OUTSIDE), "outside-pack");
    ck_assert_uint_eq(prep_audit_totals(a)->bytes, csv->length);
    /* corte.json says 5 files; this index has 2 */
    ck_assert_int_eq(prep_audit_problems(a)->nelts, 1);
    ck_assert_ptr_nonnull(strstr(problem_at(a, 0), "5 files"));
    ck_assert_int_eq(prep_audit_step(a, 1 << 20, &done), APR_SUCCESS);
    ck_assert_int_eq(done, 1);
    ck_assert_uint_eq(prep_audit_totals(a)->checked, csv->length);
    /* the first rep's etag "x" is not its hash */
    ck_assert_int_eq(prep_audit_bad(a)->nelts, 3);
    ck_assert_int_eq(bad_at(a, 2)->fault, PREP_AUDIT_DIFFERS);
    ck_assert_uint_eq(bad_at(a, 2)->encoding, PREP_ENC_IDENTITY);
}
END_TEST

/* A pack cut short: every rep past the new end is reported, no other. */
START_TEST(truncated_pack_puts_every_later_rep_outside_it)
{
    const char *dir = make_corte(CORTE_ID);
    const built_rep_t *big = find_built("img/mapa.png", 0, PREP_ENC_IDENTITY);
    prep_audit_t *a;
    int i, k = 0;

    ck_assert_int_eq(truncate(pack_of(dir), (off_t)(big->offset + 10)), 0);
    ck_assert_int_eq(prep_audit_corte(&a, dir, pool), APR_EGENERAL);
    for (i = 0; i < nbuilt; i++) {
        if (built[i].offset + built[i].length > big->offset + 10) {
            ck_assert_int_lt(k, prep_audit_bad(a)->nelts);
            ck_assert_str_eq(bad_at(a, k)->path, built[i].path);
            ck_assert_int_eq(bad_at(a, k)->fault, PREP_AUDIT_OUTSIDE);
            k++;
        }
    }
    /* the big file, the empty file (its offset is past the new end) and
     * the CSV */
    ck_assert_int_eq(k, 3);
    ck_assert_int_eq(prep_audit_bad(a)->nelts, 3);
}
END_TEST

/* The pack shrinks between two steps: the reps read after are unreadable
 * (a short read), the ones before stay good. */
START_TEST(pack_shrinking_during_an_audit_is_found)
{
    const char *dir = make_corte(CORTE_ID);
    const built_rep_t *big = find_built("img/mapa.png", 0, PREP_ENC_IDENTITY);
    prep_audit_t *a;
    int done = 0;

    ck_assert_int_eq(prep_audit_open(&a, dir, pool), APR_SUCCESS);
    ck_assert_int_eq(prep_audit_step(a, big->offset + 1000, &done),
                     APR_SUCCESS);
    ck_assert_int_eq(prep_audit_bad(a)->nelts, 0);
    ck_assert_int_eq(truncate(pack_of(dir), (off_t)(big->offset + 2000)), 0);
    while (!done) {
        ck_assert_int_eq(prep_audit_step(a, 4096, &done), APR_SUCCESS);
    }
    ck_assert_int_eq(prep_audit_bad(a)->nelts, 2);
    ck_assert_str_eq(bad_at(a, 0)->path, "img/mapa.png");
    ck_assert_int_eq(bad_at(a, 0)->fault, PREP_AUDIT_UNREADABLE);
    ck_assert_str_eq(bad_at(a, 1)->path, "datos/año 2024.csv");
    ck_assert_int_eq(bad_at(a, 1)->fault, PREP_AUDIT_UNREADABLE);
    ck_assert_uint_eq(prep_audit_totals(a)->checked, big->offset + 2000);
}
END_TEST

START_TEST(missing_pack_makes_every_rep_unreadable)
{
    const char *dir = make_corte(CORTE_ID);
    prep_audit_t *a;

    ck_assert_int_eq(unlink(pack_of(dir)), 0);
    ck_assert_int_eq(prep_audit_corte(&a, dir, pool), APR_EGENERAL);
    /* every rep with bytes or not: there is nothing to read them from */
    ck_assert_int_eq(prep_audit_bad(a)->nelts, nbuilt);
    ck_assert_int_eq(bad_at(a, 0)->fault, PREP_AUDIT_UNREADABLE);
    ck_assert_int_eq(prep_audit_problems(a)->nelts, 1);
    ck_assert_ptr_nonnull(strstr(problem_at(a, 0), PREP_PACK_FILE));
    ck_assert_uint_eq(prep_audit_totals(a)->checked, 0);
}
END_TEST

START_TEST(damaged_index_is_a_problem_not_a_crash)
{
    const char *dir = make_corte(CORTE_ID);
    const char *index = apr_pstrcat(pool, dir, "/" PREP_INDEX_FILE, NULL);
    prep_audit_t *a;
    int done = 0;

    flip_byte(index, 9); /* the version */
    ck_assert_int_eq(prep_audit_open(&a, dir, pool), APR_SUCCESS);
    ck_assert_int_eq(prep_audit_step(a, 1 << 20, &done), APR_SUCCESS);
    ck_assert_int_eq(done, 1);
    ck_assert(!prep_audit_ok(a));
    ck_assert_uint_eq(prep_audit_totals(a)->checked, 0);
    ck_assert_int_eq(prep_audit_problems(a)->nelts, 1);
    ck_assert_ptr_nonnull(strstr(problem_at(a, 0), PREP_INDEX_FILE));

    ck_assert_int_eq(unlink(index), 0);
    ck_assert_int_eq(prep_audit_corte(&a, dir, pool), APR_EGENERAL);
    ck_assert_ptr_nonnull(strstr(problem_at(a, 0), PREP_INDEX_FILE));
}
END_TEST

/* An entry that is a file but has no representation. */
START_TEST(file_without_a_rep_is_a_problem)
{
    const char *dir = make_corte(CORTE_ID);
    prep_index_builder_t *b = prep_index_builder_create(pool);
    prep_corte_t corte;
    prep_audit_t *a;

    prep_index_add(b, "hueco.html", 0, PREP_F_HTML, NULL, 0);
    ck_assert_int_eq(
        prep_index_write(b, apr_pstrcat(pool, dir, "/" PREP_INDEX_FILE, NULL),
                         pool),
        APR_SUCCESS);
    memset(&corte, 0, sizeof(corte));
    corte.id = CORTE_ID;
    corte.files = 1;
    ck_assert_int_eq(prep_store_write_corte(dir, &corte, pool), APR_SUCCESS);
    ck_assert_int_eq(prep_audit_corte(&a, dir, pool), APR_EGENERAL);
    ck_assert_int_eq(prep_audit_bad(a)->nelts, 0);
    ck_assert_int_eq(prep_audit_problems(a)->nelts, 1);
    ck_assert_ptr_nonnull(strstr(problem_at(a, 0), "hueco.html"));
}
END_TEST

START_TEST(corte_json_unreadable_or_disagreeing_is_a_problem)
{
    const char *dir = make_corte(CORTE_ID);
    const char *file = apr_pstrcat(pool, dir, "/" PREP_CORTE_FILE, NULL);
    const char *other = apr_psprintf(pool, "%s/cortes/otro", root);
    prep_corte_t corte;
    prep_audit_t *a;

    /* not JSON */
    write_text(file, "{\"id\": \"" CORTE_ID "\", \"files\": 5");
    ck_assert_int_eq(prep_audit_corte(&a, dir, pool), APR_EGENERAL);
    ck_assert_int_eq(prep_audit_bad(a)->nelts, 0);
    ck_assert_int_eq(prep_audit_problems(a)->nelts, 1);
    ck_assert_ptr_nonnull(strstr(problem_at(a, 0), "cannot be read"));

    /* missing */
    ck_assert_int_eq(unlink(file), 0);
    ck_assert_int_eq(prep_audit_corte(&a, dir, pool), APR_EGENERAL);
    ck_assert_int_eq(prep_audit_problems(a)->nelts, 1);

    /* not an object */
    write_text(file, "[1, 2]");
    ck_assert_int_eq(prep_audit_corte(&a, dir, pool), APR_EGENERAL);
    ck_assert_ptr_nonnull(strstr(problem_at(a, 0), "not a JSON object"));

    /* no files count */
    write_text(file, "{\"id\": \"" CORTE_ID "\"}");
    ck_assert_int_eq(prep_audit_corte(&a, dir, pool), APR_EGENERAL);
    ck_assert_int_eq(prep_audit_problems(a)->nelts, 1);
    ck_assert_ptr_nonnull(strstr(problem_at(a, 0), "\"files\""));

    /* the wrong number of files */
    write_text(file, "{\"id\": \"" CORTE_ID "\", \"files\": 6}");
    ck_assert_int_eq(prep_audit_corte(&a, dir, pool), APR_EGENERAL);
    ck_assert_int_eq(prep_audit_problems(a)->nelts, 1);
    ck_assert_msg(strstr(problem_at(a, 0), "says 6 files"), "%s",
                  problem_at(a, 0));
    write_text(file, "{\"id\": \"" CORTE_ID "\", \"files\": -5}");
    ck_assert_int_eq(prep_audit_corte(&a, dir, pool), APR_EGENERAL);

    /* right again */
    memset(&corte, 0, sizeof(corte));
    corte.id = CORTE_ID;
    corte.files = 5;
    ck_assert_int_eq(prep_store_write_corte(dir, &corte, pool), APR_SUCCESS);
    ck_assert_int_eq(prep_audit_corte(&a, dir, pool), APR_SUCCESS);

    /* the same corte under another directory name */
    ck_assert_int_eq(rename(dir, other), 0);
    ck_assert_int_eq(prep_audit_corte(&a, other, pool), APR_EGENERAL);
    ck_assert_int_eq(prep_audit_bad(a)->nelts, 0);
    ck_assert_int_eq(prep_audit_problems(a)->nelts, 1);
    ck_assert_ptr_nonnull(strstr(problem_at(a, 0), "directory is otro"));
    ck_assert_uint_eq(prep_audit_totals(a)->checked, built_bytes);
}
END_TEST

START_TEST(missing_or_non_directory_corte_is_refused_at_open)
{
    prep_audit_t *a = (prep_audit_t *)1;
    const char *file = apr_pstrcat(pool, root, "/file", NULL);

    ck_assert_int_eq(
        prep_audit_open(&a, apr_pstrcat(pool, root, "/nada", NULL), pool),
        APR_ENOENT);
    ck_assert_ptr_null(a);
    ck_assert_int_eq(
        prep_audit_corte(&a, apr_pstrcat(pool, root, "/nada", NULL), pool),
        APR_ENOENT);
    write_text(file, "x");
    ck_assert_int_eq(prep_audit_open(&a, file, pool), APR_ENOTDIR);
    ck_assert_ptr_null(a);
}
END_TEST

START_TEST(encodings_and_faults_have_names_for_output)
{
    ck_assert_str_eq(prep_encoding_name(PREP_ENC_IDENTITY), "identity");
    ck_assert_str_eq(prep_encoding_name(PREP_ENC_GZIP), "gzip");
    ck_assert_str_eq(prep_encoding_name(PREP_ENC_BR), "br");
    ck_assert_str_eq(prep_encoding_name(77), "unknown");
    ck_assert_str_eq(prep_audit_fault_name(PREP_AUDIT_DIFFERS), "differs");
    ck_assert_str_eq(prep_audit_fault_name(PREP_AUDIT_UNREADABLE),
                     "unreadable");
}
END_TEST

Suite *suite_audit(void)
{
    Suite *s = suite_create("audit");
    TCase *tc = tcase_create("audit");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, index_iterates_entries_and_reps_in_the_order_added);
    tcase_add_test(tc, intact_corte_audits_clean_counting_every_rep);
    tcase_add_test(tc, a_flipped_byte_in_any_rep_is_found_with_its_path);
    tcase_add_test(tc, two_flipped_bytes_are_both_found_in_pack_order);
    tcase_add_test(tc, slices_of_any_budget_read_every_byte_once);
    tcase_add_test(tc, slices_of_any_budget_find_a_flipped_byte);
    tcase_add_test(tc, budget_zero_still_advances_and_one_goes_byte_by_byte);
    tcase_add_test(tc, rep_beyond_the_pack_is_outside_it);
    tcase_add_test(tc, truncated_pack_puts_every_later_rep_outside_it);
    tcase_add_test(tc, pack_shrinking_during_an_audit_is_found);
    tcase_add_test(tc, missing_pack_makes_every_rep_unreadable);
    tcase_add_test(tc, damaged_index_is_a_problem_not_a_crash);
    tcase_add_test(tc, file_without_a_rep_is_a_problem);
    tcase_add_test(tc, corte_json_unreadable_or_disagreeing_is_a_problem);
    tcase_add_test(tc, missing_or_non_directory_corte_is_refused_at_open);
    tcase_add_test(tc, encodings_and_faults_have_names_for_output);
    suite_add_tcase(s, tc);
    return s;
}
