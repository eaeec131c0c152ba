/* check_store.c — unit tests of the cortes on disk (prep_store.c): ids,
 * staging, corte.json, promotion, the current corte, pruning and
 * state.json, in a temporary directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_file_io.h>
#include <apr_strings.h>
#include <jansson.h>

#include "prep.h"
#include "test_prep.h"

static apr_pool_t *pool;
static const char *root;  /* temporary directory of one test */
static const char *store; /* root/store */

/* 2024-06-02T21:05:00-06:00 */
#define CORTE apr_time_from_sec(APR_INT64_C(1717383900))

static const char *const SHA =
    "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";

static void setup(void)
{
    char tmpl[] = "/tmp/prep-store-XXXXXX";

    apr_pool_create(&pool, NULL);
    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    root = apr_pstrdup(pool, tmpl);
    store = apr_pstrcat(pool, root, "/store", NULL);
}

static void teardown(void)
{
    ck_assert_int_eq(system(apr_psprintf(
                         pool, "chmod -R u+rwx '%s'; rm -rf '%s'", root, root)),
                     0);
    apr_pool_destroy(pool);
}

static void write_file(const char *path, const char *text)
{
    apr_file_t *fp;

    ck_assert_int_eq(apr_file_open(&fp, path,
                                   APR_FOPEN_WRITE | APR_FOPEN_CREATE |
                                       APR_FOPEN_TRUNCATE | APR_FOPEN_BINARY,
                                   APR_FPROT_OS_DEFAULT, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(apr_file_write_full(fp, text, strlen(text), NULL),
                     APR_SUCCESS);
    apr_file_close(fp);
}

static char *read_file(const char *path)
{
    apr_file_t *fp;
    char buf[4096];
    apr_size_t len = sizeof(buf) - 1;

    if (apr_file_open(&fp, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, pool) !=
        APR_SUCCESS) {
        return NULL;
    }
    apr_file_read_full(fp, buf, len, &len);
    apr_file_close(fp);
    return apr_pstrmemdup(pool, buf, len);
}

static int is_dir(const char *path)
{
    apr_finfo_t fi;

    return apr_stat(&fi, path, APR_FINFO_TYPE, pool) == APR_SUCCESS &&
           fi.filetype == APR_DIR;
}

static int exists(const char *path)
{
    apr_finfo_t fi;

    return apr_stat(&fi, path, APR_FINFO_TYPE | APR_FINFO_LINK, pool) ==
           APR_SUCCESS;
}

/* The names in dir, sorted, separated by spaces. */
static const char *names_in(const char *dir)
{
    FILE *f = popen(
        apr_psprintf(pool, "LC_ALL=C ls -A '%s' | tr '\\n' ' '", dir), "r");
    char buf[4096];
    size_t n;

    ck_assert_ptr_nonnull(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    pclose(f);
    buf[n] = '\0';
    return apr_pstrdup(pool, buf);
}

static const char *current(void)
{
    const char *id = "unset";
    apr_status_t rv = prep_store_current(&id, store, pool);

    if (rv != APR_SUCCESS) {
        ck_assert_int_eq(rv, APR_ENOENT);
        ck_assert_ptr_null(id);
        return NULL;
    }
    return id;
}

/* A corte built in staging/ as the loader does, then promoted. */
static const char *stage(apr_time_t t, const char *sha)
{
    const char *id = prep_corte_id(pool, t, sha);
    const char *dir = prep_store_staging_dir(pool, store, id);
    prep_corte_t c;

    ck_assert_int_eq(apr_dir_make(dir, APR_FPROT_OS_DEFAULT, pool),
                     APR_SUCCESS);
    write_file(apr_pstrcat(pool, dir, "/" PREP_PACK_FILE, NULL), id);
    write_file(apr_pstrcat(pool, dir, "/" PREP_INDEX_FILE, NULL), "index");
    memset(&c, 0, sizeof(c));
    c.id = id;
    c.time = t;
    c.label = "Último corte";
    c.package = "prep.tar.gz";
    c.sha256 = sha;
    ck_assert_int_eq(prep_store_write_corte(dir, &c, pool), APR_SUCCESS);
    return id;
}

static const char *publish(apr_time_t t, const char *sha)
{
    const char *id = stage(t, sha);

    ck_assert_int_eq(prep_store_promote(store, id, pool), APR_SUCCESS);
    return id;
}

/* ------------------------------------------------------------------ */

START_TEST(corte_id_is_utc_second_and_sha_prefix_sorting_by_time)
{
    static const char *const shas[] = {"00000000ffffffff", "ffffffff00000000",
                                       "12345678", "9abcdef0aa"};
    apr_time_t times[200];
    const char *ids[200];
    int i, j;

    ck_assert_str_eq(prep_corte_id(pool, CORTE, SHA),
                     "20240603T030500Z-abcdef01");
    ck_assert_str_eq(prep_corte_id(pool, 0, SHA), "19700101T000000Z-abcdef01");
    /* the seconds in UTC; the fraction is dropped */
    ck_assert_str_eq(prep_corte_id(pool, CORTE + 999999, SHA),
                     "20240603T030500Z-abcdef01");
    ck_assert_str_eq(
        prep_corte_id(pool, prep_civil_to_time(9999, 12, 31, 23, 59, 59, 0),
                      "0123456789"),
        "99991231T235959Z-01234567");

    /* the lexical order of ids is the order of the times, whatever the sha */
    for (i = 0; i < 200; i++) {
        /* spread over 1970..2100, and some only a second apart */
        times[i] = i % 5 == 0 && i
                       ? times[i - 1] + apr_time_from_sec(1)
                       : apr_time_from_sec(
                             (apr_int64_t)((i * 2654435761u) % 4102444800u));
        ids[i] = prep_corte_id(pool, times[i], shas[i % 4]);
        ck_assert_uint_eq(strlen(ids[i]), 25);
    }
    for (i = 0; i < 200; i++) {
        for (j = 0; j < 200; j++) {
            if (apr_time_sec(times[i]) < apr_time_sec(times[j])) {
                ck_assert_msg(strcmp(ids[i], ids[j]) < 0, "%s >= %s", ids[i],
                              ids[j]);
            }
        }
    }
}
END_TEST

START_TEST(prepare_makes_the_store_and_leaves_what_is_there)
{
    /* the store and its parents are made, then left as they are */
    store = apr_pstrcat(pool, root, "/a/b/store", NULL);
    ck_assert_int_eq(prep_store_prepare(store, pool), APR_SUCCESS);
    ck_assert(is_dir(apr_pstrcat(pool, store, "/cortes", NULL)));
    ck_assert(is_dir(apr_pstrcat(pool, store, "/staging", NULL)));
    write_file(apr_pstrcat(pool, store, "/cortes/keep", NULL), "x");
    ck_assert_int_eq(prep_store_prepare(store, pool), APR_SUCCESS);
    ck_assert_str_eq(read_file(apr_pstrcat(pool, store, "/cortes/keep", NULL)),
                     "x");
    ck_assert_ptr_null(current());
    /* under a file: an error */
    write_file(apr_pstrcat(pool, root, "/file", NULL), "x");
    ck_assert_int_ne(
        prep_store_prepare(apr_pstrcat(pool, root, "/file/store", NULL), pool),
        APR_SUCCESS);
}
END_TEST

START_TEST(staging_left_by_an_unfinished_load_is_cleaned)
{
    const char *staging = apr_pstrcat(pool, store, "/staging", NULL);
    const char *outside = apr_pstrcat(pool, root, "/outside", NULL);

    ck_assert_str_eq(prep_store_staging_dir(pool, "/s", "X"), "/s/staging/X");
    ck_assert_str_eq(prep_store_corte_dir(pool, "/s", "X"), "/s/cortes/X");
    ck_assert_int_eq(prep_store_prepare(store, pool), APR_SUCCESS);
    /* nothing to clean */
    ck_assert_int_eq(prep_store_clean_staging(store, pool), APR_SUCCESS);

    /* what a load that did not finish leaves */
    stage(CORTE, SHA);
    ck_assert_int_eq(
        system(apr_psprintf(pool,
                            "mkdir -p '%s/b/c/d' '%s' && echo x > '%s/b/c/d/e' "
                            "&& echo y > '%s/file' && echo z > '%s/.hidden' "
                            "&& echo keep > '%s/kept' "
                            "&& ln -s '%s' '%s/link-to-outside' "
                            "&& ln -s '%s/kept' '%s/b/link-to-file'",
                            staging, outside, staging, staging, staging,
                            outside, outside, staging, outside, staging)),
        0);
    ck_assert_int_eq(prep_store_clean_staging(store, pool), APR_SUCCESS);
    ck_assert(is_dir(staging));
    ck_assert_str_eq(names_in(staging), "");
    /* links are removed, not followed */
    ck_assert_str_eq(read_file(apr_pstrcat(pool, outside, "/kept", NULL)),
                     "keep\n");
    /* cortes/ is not touched */
    ck_assert(is_dir(apr_pstrcat(pool, store, "/cortes", NULL)));
}
END_TEST

START_TEST(corte_json_reads_back_what_was_written)
{
    const char *dir = apr_pstrcat(pool, root, "/c", NULL);
    prep_corte_t c, *back = NULL;
    json_t *doc;

    memset(&c, 0, sizeof(c));
    c.id = "20240603T030500Z-abcdef01";
    c.time = CORTE + 123456; /* microseconds are kept */
    c.label = "Último corte: 02/06/2024 21:05 (Tiempo del Centro, UTC-06:00)";
    c.package = "prep_qro 2105 \"final\".tar.gz";
    c.sha256 = SHA;
    c.files = 123456;
    c.bytes = APR_UINT64_C(5000000000); /* past 4 GB */
    c.loaded_at = CORTE + apr_time_from_sec(42) + 7;
    c.load_ms = 98765;
    c.has_phases = 1;
    c.phases_ms[PREP_PHASE_COMPRESS] = 410;
    c.variants_made = 321;
    c.variants_reused = 4567;
    c.compress_threads = 2;
    ck_assert_int_eq(apr_dir_make(dir, APR_FPROT_OS_DEFAULT, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(prep_store_write_corte(dir, &c, pool), APR_SUCCESS);
    ck_assert(
        !exists(apr_pstrcat(pool, dir, "/" PREP_CORTE_FILE ".tmp", NULL)));
    ck_assert_int_eq(prep_store_read_corte(&back, dir, pool), APR_SUCCESS);
    ck_assert_ptr_nonnull(back);
    ck_assert_str_eq(back->id, c.id);
    ck_assert_int_eq(back->time, c.time);
    ck_assert_str_eq(back->label, c.label);
    ck_assert_str_eq(back->package, c.package);
    ck_assert_str_eq(back->sha256, c.sha256);
    ck_assert_uint_eq(back->files, c.files);
    ck_assert_uint_eq(back->bytes, c.bytes);
    ck_assert_int_eq(back->loaded_at, c.loaded_at);
    ck_assert_uint_eq(back->load_ms, c.load_ms);
    ck_assert_int_eq(back->has_phases, 1);
    ck_assert_uint_eq(back->phases_ms[PREP_PHASE_COMPRESS], 410);
    ck_assert_uint_eq(back->variants_made, 321);
    ck_assert_uint_eq(back->variants_reused, 4567);
    ck_assert_uint_eq(back->compress_threads, 2);

    /* the file is JSON others can read */
    doc = json_load_file(apr_pstrcat(pool, dir, "/" PREP_CORTE_FILE, NULL), 0,
                         NULL);
    ck_assert_ptr_nonnull(doc);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "id")), c.id);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "label")), c.label);
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "files")), 123456);
    json_decref(doc);

    /* written again: replaced */
    c.files = 1;
    ck_assert_int_eq(prep_store_write_corte(dir, &c, pool), APR_SUCCESS);
    ck_assert_int_eq(prep_store_read_corte(&back, dir, pool), APR_SUCCESS);
    ck_assert_uint_eq(back->files, 1);
}
END_TEST

START_TEST(corte_json_damaged_or_incomplete_is_refused)
{
    const char *dir = apr_pstrcat(pool, root, "/c", NULL);
    const char *file = apr_pstrcat(pool, dir, "/" PREP_CORTE_FILE, NULL);
    prep_corte_t *back = NULL;

    ck_assert_int_eq(apr_dir_make(dir, APR_FPROT_OS_DEFAULT, pool),
                     APR_SUCCESS);
    ck_assert_int_ne(prep_store_read_corte(&back, dir, pool), APR_SUCCESS);
    write_file(file, "{\"id\": \"x\"");
    ck_assert_int_ne(prep_store_read_corte(&back, dir, pool), APR_SUCCESS);
    write_file(file, "[]");
    ck_assert_int_ne(prep_store_read_corte(&back, dir, pool), APR_SUCCESS);
    write_file(file, "{\"time\": 1}");
    ck_assert_int_ne(prep_store_read_corte(&back, dir, pool), APR_SUCCESS);
    write_file(file, "{\"id\": 7}");
    ck_assert_int_ne(prep_store_read_corte(&back, dir, pool), APR_SUCCESS);
    ck_assert_ptr_null(back);
    /* only the id is needed; the rest reads as empty */
    write_file(file, "{\"id\": \"x\", \"files\": \"many\"}");
    ck_assert_int_eq(prep_store_read_corte(&back, dir, pool), APR_SUCCESS);
    ck_assert_str_eq(back->id, "x");
    ck_assert_str_eq(back->label, "");
    ck_assert_uint_eq(back->files, 0);
    /* a directory that is not there */
    ck_assert_int_ne(prep_store_read_corte(
                         &back, apr_pstrcat(pool, root, "/none", NULL), pool),
                     APR_SUCCESS);
}
END_TEST

START_TEST(write_atomic_replaces_a_file_whole_or_leaves_it)
{
    const char *file = apr_pstrcat(pool, root, "/f", NULL);
    const char *tmp = apr_pstrcat(pool, file, ".tmp", NULL);
    apr_finfo_t fi;

    ck_assert_int_eq(prep_store_write_atomic(file, "one\0two", 7, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(apr_stat(&fi, file, APR_FINFO_SIZE | APR_FINFO_PROT, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(fi.size, 7); /* the bytes given, a NUL included */
    /* 0644 less the umask: never writable nor executable by others */
    ck_assert(fi.protection & APR_FPROT_UREAD);
    ck_assert(!(fi.protection &
                (APR_FPROT_GWRITE | APR_FPROT_WWRITE | APR_FPROT_UEXECUTE |
                 APR_FPROT_GEXECUTE | APR_FPROT_WEXECUTE)));
    ck_assert(!exists(tmp));
    ck_assert_int_eq(prep_store_write_atomic(file, "2", 1, pool), APR_SUCCESS);
    ck_assert_str_eq(read_file(file), "2");
    /* a path that cannot be written: an error, nothing left behind */
    ck_assert_int_ne(
        prep_store_write_atomic(apr_pstrcat(pool, root, "/none/f", NULL), "x",
                                1, pool),
        APR_SUCCESS);
    ck_assert(!exists(apr_pstrcat(pool, root, "/none", NULL)));
    /* a directory in the way of the rename: the error, the tmp removed */
    ck_assert_int_eq(apr_dir_make(apr_pstrcat(pool, root, "/d", NULL),
                                  APR_FPROT_OS_DEFAULT, pool),
                     APR_SUCCESS);
    ck_assert_int_ne(prep_store_write_atomic(
                         apr_pstrcat(pool, root, "/d", NULL), "x", 1, pool),
                     APR_SUCCESS);
    ck_assert(!exists(apr_pstrcat(pool, root, "/d.tmp", NULL)));
    ck_assert(is_dir(apr_pstrcat(pool, root, "/d", NULL)));
}
END_TEST

START_TEST(promote_makes_a_staged_corte_the_current_one)
{
    const char *id1, *id2, *dir;
    prep_corte_t *c;

    ck_assert_int_eq(prep_store_prepare(store, pool), APR_SUCCESS);
    ck_assert_ptr_null(current());
    id1 = stage(CORTE, SHA);
    /* staged is not current */
    ck_assert_ptr_null(current());
    ck_assert_int_eq(prep_store_promote(store, id1, pool), APR_SUCCESS);
    ck_assert(!exists(prep_store_staging_dir(pool, store, id1)));
    dir = prep_store_corte_dir(pool, store, id1);
    ck_assert(is_dir(dir));
    ck_assert_str_eq(
        read_file(apr_pstrcat(pool, dir, "/" PREP_PACK_FILE, NULL)), id1);
    ck_assert_int_eq(prep_store_read_corte(&c, dir, pool), APR_SUCCESS);
    ck_assert_str_eq(c->id, id1);
    ck_assert_str_eq(
        read_file(apr_pstrcat(pool, store, "/" PREP_CURRENT_FILE, NULL)),
        apr_pstrcat(pool, id1, "\n", NULL));
    ck_assert_str_eq(current(), id1);
    ck_assert_str_eq(names_in(apr_pstrcat(pool, store, "/staging", NULL)), "");

    /* the next corte replaces it as current; the old one stays */
    id2 = publish(CORTE + apr_time_from_sec(300), SHA);
    ck_assert_str_eq(current(), id2);
    ck_assert(is_dir(prep_store_corte_dir(pool, store, id1)));
    ck_assert(
        !exists(apr_pstrcat(pool, store, "/" PREP_CURRENT_FILE ".tmp", NULL)));
    ck_assert_str_eq(names_in(apr_pstrcat(pool, store, "/cortes", NULL)),
                     apr_pstrcat(pool, id1, " ", id2, " ", NULL));

    /* nothing staged under that id: an error, current unchanged */
    ck_assert_int_ne(
        prep_store_promote(store, "20990101T000000Z-00000000", pool),
        APR_SUCCESS);
    ck_assert_str_eq(current(), id2);
    ck_assert(!exists(
        prep_store_corte_dir(pool, store, "20990101T000000Z-00000000")));
}
END_TEST

/* Stages a corte of time t under a load's own name, staging/load-7, as a
 * load leaves it before the publish. */
static const char *stage_as_load(apr_time_t t, const char *sha, const char **id)
{
    const char *load = prep_store_staging_dir(pool, store, "load-7");

    *id = stage(t, sha);
    ck_assert_int_eq(
        apr_file_rename(prep_store_staging_dir(pool, store, *id), load, pool),
        APR_SUCCESS);
    return load;
}

START_TEST(retain_keeps_a_corte_without_serving_it)
{
    const char *served, *id, *load, *dir;

    ck_assert_int_eq(prep_store_prepare(store, pool), APR_SUCCESS);
    served = publish(CORTE, SHA);
    load = stage_as_load(CORTE + apr_time_from_sec(300), SHA, &id);
    ck_assert_int_eq(prep_store_retain(store, load, id, pool), APR_SUCCESS);
    /* in cortes/, whole, and usable; current names the corte it named */
    dir = prep_store_corte_dir(pool, store, id);
    ck_assert_str_eq(
        read_file(apr_pstrcat(pool, dir, "/" PREP_PACK_FILE, NULL)), id);
    ck_assert_str_eq(current(), served);
    ck_assert_str_eq(
        read_file(apr_pstrcat(pool, store, "/" PREP_CURRENT_FILE, NULL)),
        apr_pstrcat(pool, served, "\n", NULL));
    ck_assert_str_eq(names_in(apr_pstrcat(pool, store, "/staging", NULL)), "");
    ck_assert_str_eq(names_in(apr_pstrcat(pool, store, "/cortes", NULL)),
                     apr_pstrcat(pool, served, " ", id, " ", NULL));
    /* retained again under its id: replaced, still not served */
    load = stage_as_load(CORTE + apr_time_from_sec(300), SHA, &id);
    write_file(apr_pstrcat(pool, load, "/" PREP_PACK_FILE, NULL), "again");
    ck_assert_int_eq(prep_store_retain(store, load, id, pool), APR_SUCCESS);
    ck_assert_str_eq(
        read_file(apr_pstrcat(pool, dir, "/" PREP_PACK_FILE, NULL)), "again");
    ck_assert_str_eq(current(), served);
    /* a store that serves nothing yet: retained, and still nothing served */
    ck_assert_int_eq(
        apr_file_remove(apr_pstrcat(pool, store, "/" PREP_CURRENT_FILE, NULL),
                        pool),
        APR_SUCCESS);
    load = stage_as_load(CORTE + apr_time_from_sec(600), SHA, &id);
    ck_assert_int_eq(prep_store_retain(store, load, id, pool), APR_SUCCESS);
    ck_assert(is_dir(prep_store_corte_dir(pool, store, id)));
    ck_assert_ptr_null(current());
    /* nothing staged: an error */
    ck_assert_int_ne(
        prep_store_retain(store, load, "20990101T000000Z-00000000", pool),
        APR_SUCCESS);
}
END_TEST

START_TEST(sync_takes_files_and_directories_not_missing_paths)
{
    const char *file = apr_pstrcat(pool, store, "/f", NULL);

    ck_assert_int_eq(prep_store_prepare(store, pool), APR_SUCCESS);
    write_file(file, "x");
    ck_assert_int_eq(prep_store_sync(file), APR_SUCCESS);
    ck_assert_int_eq(prep_store_sync(store), APR_SUCCESS);
    ck_assert(APR_STATUS_IS_ENOENT(
        prep_store_sync(apr_pstrcat(pool, store, "/none", NULL))));
}
END_TEST

/* A corte rebuilt under its own id (healed, a new banner) takes the place
 * of the old one in one step: a child attaching it meanwhile opens one or
 * the other, never nothing.  A second process opens the index over and
 * over while the corte is published again and again. */
START_TEST(republish_under_its_id_never_leaves_the_name_empty)
{
    const char *id, *load, *index;
    int i, status;
    pid_t pid;

    ck_assert_int_eq(prep_store_prepare(store, pool), APR_SUCCESS);
    id = publish(CORTE, SHA);
    index = apr_pstrcat(pool, prep_store_corte_dir(pool, store, id),
                        "/" PREP_INDEX_FILE, NULL);
    pid = fork();
    if (pid == 0) {
        apr_time_t until = apr_time_now() + apr_time_from_sec(20);
        int misses = 0, fd;

        while (apr_time_now() < until && !misses) {
            fd = open(index, O_RDONLY);
            if (fd < 0) {
                misses++;
            } else {
                close(fd);
            }
            if (access(apr_pstrcat(pool, store, "/done", NULL), F_OK) == 0) {
                break;
            }
        }
        _exit(misses ? 1 : 0);
    }
    for (i = 0; i < 300; i++) {
        load = stage_as_load(CORTE, SHA, &id);
        write_file(apr_pstrcat(pool, load, "/" PREP_PACK_FILE, NULL),
                   apr_psprintf(pool, "again %d", i));
        /* and a staging/<id> left by a load that died halfway */
        if (i == 7) {
            ck_assert_int_eq(
                apr_dir_make(prep_store_staging_dir(pool, store, id),
                             APR_FPROT_OS_DEFAULT, pool),
                APR_SUCCESS);
        }
        ck_assert_int_eq(prep_store_publish(store, load, id, pool),
                         APR_SUCCESS);
    }
    write_file(apr_pstrcat(pool, store, "/done", NULL), "");
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "the index of the corte was missing while it was "
                  "published again");
    ck_assert_str_eq(
        read_file(apr_pstrcat(pool, prep_store_corte_dir(pool, store, id),
                              "/" PREP_PACK_FILE, NULL)),
        "again 299");
    ck_assert_str_eq(current(), id);
}
END_TEST

START_TEST(current_names_the_corte_served_blanks_aside)
{
    const char *cur = apr_pstrcat(pool, store, "/" PREP_CURRENT_FILE, NULL);
    const char *id;

    /* no store, an empty store */
    ck_assert_ptr_null(current());
    ck_assert_int_eq(prep_store_prepare(store, pool), APR_SUCCESS);
    ck_assert_ptr_null(current());
    id = publish(CORTE, SHA);
    ck_assert_str_eq(current(), id);
    /* blanks around the id are not part of it */
    write_file(cur, apr_pstrcat(pool, "  \n", id, " \r\n\n", NULL));
    ck_assert_str_eq(current(), id);
    write_file(cur, id);
    ck_assert_str_eq(current(), id);
    /* a name that is not a corte with an index, or not a name at all */
    write_file(cur, "");
    ck_assert_ptr_null(current());
    write_file(cur, " \n");
    ck_assert_ptr_null(current());
    write_file(cur, "20990101T000000Z-00000000\n");
    ck_assert_ptr_null(current());
    write_file(cur, "..\n");
    ck_assert_ptr_null(current());
    write_file(cur, apr_pstrcat(pool, "../cortes/", id, NULL));
    ck_assert_ptr_null(current());
    write_file(cur, apr_pstrcat(pool, id, "/", NULL));
    ck_assert_ptr_null(current());
    write_file(cur, apr_pstrcat(pool, id, "x", NULL));
    ck_assert_ptr_null(current());
    /* a corte without its index */
    write_file(cur, id);
    ck_assert_int_eq(
        apr_file_remove(apr_pstrcat(pool, prep_store_corte_dir(pool, store, id),
                                    "/" PREP_INDEX_FILE, NULL),
                        pool),
        APR_SUCCESS);
    ck_assert_ptr_null(current());
}
END_TEST

/* Publishes n cortes five minutes apart; ids[0] is the oldest. */
static const char **publish_n(int n)
{
    const char **ids = apr_palloc(pool, sizeof(char *) * (size_t)n);
    int i;

    ck_assert_int_eq(prep_store_prepare(store, pool), APR_SUCCESS);
    /* published out of order: the order is the ids', not the disk's */
    for (i = n - 1; i >= 0; i--) {
        ids[i] = publish(CORTE + apr_time_from_sec(300 * i),
                         i % 2 ? "ffffffff" : "00000000");
    }
    return ids;
}

static const char *cortes_left(void)
{
    return names_in(apr_pstrcat(pool, store, "/cortes", NULL));
}

static void make_current(const char *id)
{
    write_file(apr_pstrcat(pool, store, "/" PREP_CURRENT_FILE, NULL), id);
    ck_assert_str_eq(current(), id);
}

START_TEST(prune_keeps_the_newest)
{
    const char **ids = publish_n(6);

    make_current(ids[5]);
    /* enough kept already */
    ck_assert_int_eq(prep_store_prune(store, 6, pool), APR_SUCCESS);
    ck_assert_int_eq(prep_store_prune(store, 100, pool), APR_SUCCESS);
    ck_assert_str_eq(cortes_left(),
                     apr_pstrcat(pool, ids[0], " ", ids[1], " ", ids[2], " ",
                                 ids[3], " ", ids[4], " ", ids[5], " ", NULL));
    ck_assert_int_eq(prep_store_prune(store, 3, pool), APR_SUCCESS);
    ck_assert_str_eq(cortes_left(), apr_pstrcat(pool, ids[3], " ", ids[4], " ",
                                                ids[5], " ", NULL));
    /* at least one is always kept */
    ck_assert_int_eq(prep_store_prune(store, 0, pool), APR_SUCCESS);
    ck_assert_str_eq(cortes_left(), apr_pstrcat(pool, ids[5], " ", NULL));
    ck_assert_int_eq(prep_store_prune(store, -3, pool), APR_SUCCESS);
    ck_assert_str_eq(cortes_left(), apr_pstrcat(pool, ids[5], " ", NULL));
    ck_assert_str_eq(current(), ids[5]);
}
END_TEST

START_TEST(prune_never_removes_the_current_corte)
{
    const char **ids = publish_n(6);

    /* the current corte is the oldest (a newer one was taken back) */
    make_current(ids[0]);
    ck_assert_int_eq(prep_store_prune(store, 3, pool), APR_SUCCESS);
    ck_assert_str_eq(cortes_left(), apr_pstrcat(pool, ids[0], " ", ids[4], " ",
                                                ids[5], " ", NULL));
    /* nor the newest: a pinned feed's unpin serves it */
    ck_assert_int_eq(prep_store_prune(store, 1, pool), APR_SUCCESS);
    ck_assert_str_eq(cortes_left(),
                     apr_pstrcat(pool, ids[0], " ", ids[5], " ", NULL));
    ck_assert_str_eq(current(), ids[0]);
}
END_TEST

START_TEST(prune_keeps_a_current_in_the_middle_and_leaves_staging)
{
    const char **ids = publish_n(5);

    make_current(ids[2]);
    ck_assert_int_eq(prep_store_prune(store, 2, pool), APR_SUCCESS);
    ck_assert_str_eq(cortes_left(),
                     apr_pstrcat(pool, ids[2], " ", ids[4], " ", NULL));
    ck_assert_str_eq(current(), ids[2]);
    /* staging is not pruned */
    stage(CORTE - apr_time_from_sec(3600), SHA);
    ck_assert_int_eq(prep_store_prune(store, 1, pool), APR_SUCCESS);
    ck_assert_str_eq(cortes_left(),
                     apr_pstrcat(pool, ids[2], " ", ids[4], " ", NULL));
    ck_assert_str_eq(
        names_in(apr_pstrcat(pool, store, "/staging", NULL)),
        apr_pstrcat(pool,
                    prep_corte_id(pool, CORTE - apr_time_from_sec(3600), SHA),
                    " ", NULL));
}
END_TEST

START_TEST(prune_without_current_keeps_the_newest)
{
    const char **ids = publish_n(4);

    ck_assert_int_eq(
        apr_file_remove(apr_pstrcat(pool, store, "/" PREP_CURRENT_FILE, NULL),
                        pool),
        APR_SUCCESS);
    ck_assert_ptr_null(current());
    ck_assert_int_eq(prep_store_prune(store, 2, pool), APR_SUCCESS);
    ck_assert_str_eq(cortes_left(),
                     apr_pstrcat(pool, ids[2], " ", ids[3], " ", NULL));
}
END_TEST

/* ------------------------------------------------------------------ */
/* state.json */

static json_t *state(void)
{
    json_t *s = prep_store_read_state(store, pool);

    ck_assert_ptr_nonnull(s);
    ck_assert(json_is_object(s));
    ck_assert(json_is_array(json_object_get(s, "rejected")));
    ck_assert(json_is_array(json_object_get(s, "history")));
    return s;
}

static const char *str_at(json_t *list, size_t i, const char *key)
{
    const char *v =
        json_string_value(json_object_get(json_array_get(list, i), key));

    ck_assert_msg(v != NULL, "no string %s in item %lu", key, (unsigned long)i);
    return v;
}

static json_int_t int_at(json_t *list, size_t i, const char *key)
{
    json_t *v = json_object_get(json_array_get(list, i), key);

    ck_assert_msg(json_is_integer(v), "no integer %s in item %lu", key,
                  (unsigned long)i);
    return json_integer_value(v);
}

START_TEST(state_is_empty_without_a_readable_state_json)
{
    const char *file = apr_pstrcat(pool, store, "/state.json", NULL);
    json_t *s;

    /* no store, no state.json, a broken one: an empty state */
    s = state();
    ck_assert_uint_eq(json_array_size(json_object_get(s, "rejected")), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(s, "history")), 0);
    json_decref(s);
    ck_assert_int_eq(prep_store_prepare(store, pool), APR_SUCCESS);
    s = state();
    ck_assert_uint_eq(json_object_size(s), 2);
    json_decref(s);
    write_file(file, "{\"rejected\": [");
    s = state();
    ck_assert_uint_eq(json_array_size(json_object_get(s, "rejected")), 0);
    json_decref(s);
    write_file(file, "{\"rejected\": 5, \"history\": {}}");
    s = state();
    ck_assert_uint_eq(json_array_size(json_object_get(s, "rejected")), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(s, "history")), 0);
    json_decref(s);
    /* a broken state.json is replaced by the next record */
    write_file(file, "[1, 2");
    {
        prep_verdict_t v = {"empty", "nothing in it"};
        ck_assert_int_eq(
            prep_store_record_rejected(store, "a.zip", &v, CORTE, pool),
            APR_SUCCESS);
    }
    s = state();
    ck_assert_uint_eq(json_array_size(json_object_get(s, "rejected")), 1);
    json_decref(s);
}
END_TEST

START_TEST(rejections_are_kept_newest_first_the_last_20)
{
    json_t *s, *list;
    int i;

    ck_assert_int_eq(prep_store_prepare(store, pool), APR_SUCCESS);
    for (i = 0; i < 25; i++) {
        prep_verdict_t v;
        v.reason = i % 2 ? "traversal" : "truncated";
        v.message = i == 24 ? NULL : apr_psprintf(pool, "sentence %d", i);
        ck_assert_int_eq(prep_store_record_rejected(
                             store, apr_psprintf(pool, "p%02d.tar.gz", i), &v,
                             CORTE + apr_time_from_sec(i) + 500000, pool),
                         APR_SUCCESS);
    }
    ck_assert(!exists(apr_pstrcat(pool, store, "/state.json.tmp", NULL)));
    s = state();
    list = json_object_get(s, "rejected");
    /* the last 20, newest first */
    ck_assert_uint_eq(json_array_size(list), 20);
    for (i = 0; i < 20; i++) {
        int n = 24 - i;
        ck_assert_str_eq(str_at(list, (size_t)i, "package"),
                         apr_psprintf(pool, "p%02d.tar.gz", n));
        ck_assert_str_eq(str_at(list, (size_t)i, "reason"),
                         n % 2 ? "traversal" : "truncated");
        ck_assert_str_eq(str_at(list, (size_t)i, "message"),
                         n == 24 ? "" : apr_psprintf(pool, "sentence %d", n));
        /* seconds */
        ck_assert_int_eq(int_at(list, (size_t)i, "at"),
                         apr_time_sec(CORTE) + n);
    }
    /* the other list is left alone */
    ck_assert_uint_eq(json_array_size(json_object_get(s, "history")), 0);
    json_decref(s);
}
END_TEST

START_TEST(history_is_kept_newest_first_beside_the_rejections)
{
    json_t *s, *list;
    prep_verdict_t v = {"ratio", "a bomb"};
    int i;

    ck_assert_int_eq(prep_store_prepare(store, pool), APR_SUCCESS);
    ck_assert_int_eq(
        prep_store_record_rejected(store, "bomb.zip", &v, CORTE, pool),
        APR_SUCCESS);
    for (i = 0; i < 23; i++) {
        prep_corte_t c;
        memset(&c, 0, sizeof(c));
        c.time = CORTE + apr_time_from_sec(300 * i);
        c.id = prep_corte_id(pool, c.time, SHA);
        c.label = apr_psprintf(pool, "Último corte %d", i);
        c.package = apr_psprintf(pool, "c%02d.tar.gz", i);
        c.sha256 = SHA;
        c.files = (apr_uint64_t)i * 10;
        c.bytes = APR_UINT64_C(5000000000) + (apr_uint64_t)i;
        c.loaded_at = c.time + apr_time_from_sec(7);
        c.load_ms = (apr_uint64_t)i + 100;
        ck_assert_int_eq(prep_store_record_history(store, &c, pool),
                         APR_SUCCESS);
    }
    s = state();
    list = json_object_get(s, "history");
    ck_assert_uint_eq(json_array_size(list), 20);
    for (i = 0; i < 20; i++) {
        int n = 22 - i;
        apr_time_t t = CORTE + apr_time_from_sec(300 * n);
        ck_assert_str_eq(str_at(list, (size_t)i, "id"),
                         prep_corte_id(pool, t, SHA));
        ck_assert_str_eq(str_at(list, (size_t)i, "label"),
                         apr_psprintf(pool, "Último corte %d", n));
        ck_assert_str_eq(str_at(list, (size_t)i, "package"),
                         apr_psprintf(pool, "c%02d.tar.gz", n));
        ck_assert_str_eq(str_at(list, (size_t)i, "sha256"), SHA);
        /* the corte record: times in microseconds, as in corte.json */
        ck_assert_int_eq(int_at(list, (size_t)i, "time"), t);
        ck_assert_int_eq(int_at(list, (size_t)i, "loaded_at"),
                         t + apr_time_from_sec(7));
        ck_assert_int_eq(int_at(list, (size_t)i, "files"), n * 10);
        ck_assert_int_eq(int_at(list, (size_t)i, "bytes"),
                         APR_INT64_C(5000000000) + n);
        ck_assert_int_eq(int_at(list, (size_t)i, "load_ms"), n + 100);
    }
    /* the rejection recorded before is still there */
    list = json_object_get(s, "rejected");
    ck_assert_uint_eq(json_array_size(list), 1);
    ck_assert_str_eq(str_at(list, 0, "package"), "bomb.zip");
    ck_assert_str_eq(str_at(list, 0, "reason"), "ratio");
    json_decref(s);
}
END_TEST

Suite *suite_store(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("store");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, corte_id_is_utc_second_and_sha_prefix_sorting_by_time);
    tcase_add_test(tc, prepare_makes_the_store_and_leaves_what_is_there);
    tcase_add_test(tc, staging_left_by_an_unfinished_load_is_cleaned);
    tcase_add_test(tc, corte_json_reads_back_what_was_written);
    tcase_add_test(tc, corte_json_damaged_or_incomplete_is_refused);
    tcase_add_test(tc, write_atomic_replaces_a_file_whole_or_leaves_it);
    tcase_add_test(tc, promote_makes_a_staged_corte_the_current_one);
    tcase_add_test(tc, retain_keeps_a_corte_without_serving_it);
    tcase_add_test(tc, republish_under_its_id_never_leaves_the_name_empty);
    tcase_add_test(tc, sync_takes_files_and_directories_not_missing_paths);
    tcase_add_test(tc, current_names_the_corte_served_blanks_aside);
    tcase_add_test(tc, prune_keeps_the_newest);
    tcase_add_test(tc, prune_never_removes_the_current_corte);
    tcase_add_test(tc, prune_keeps_a_current_in_the_middle_and_leaves_staging);
    tcase_add_test(tc, prune_without_current_keeps_the_newest);
    tcase_add_test(tc, state_is_empty_without_a_readable_state_json);
    tcase_add_test(tc, rejections_are_kept_newest_first_the_last_20);
    tcase_add_test(tc, history_is_kept_newest_first_beside_the_rejections);
    suite_add_tcase(s, tc);
    return s;
}
