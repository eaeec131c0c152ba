/* check_loader.c — unit tests of a whole load: real packages made with the
 * tar and openssl commands, loaded into a store in a temporary directory,
 * and what the load logs and records of them; and, alone, the checks of the
 * check phase that need no package. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <regex.h>
#include <unistd.h>

#include <apr_file_io.h>
#include <apr_strings.h>
#include <jansson.h>
#include <zlib.h>
#include <brotli/decode.h>

#include "prep.h"
#include "test_prep.h"

static apr_pool_t *pool;
static const char *root; /* temporary directory of one test */
static prep_feed_t feed;

static void write_file(const char *path, const char *text)
{
    apr_file_t *fp;
    char *dir = apr_pstrdup(pool, path);

    *strrchr(dir, '/') = '\0';
    ck_assert_int_eq(apr_dir_make_recursive(dir, APR_FPROT_OS_DEFAULT, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(apr_file_open(&fp, path,
                                   APR_FOPEN_WRITE | APR_FOPEN_CREATE |
                                       APR_FOPEN_TRUNCATE | APR_FOPEN_BINARY,
                                   APR_FPROT_OS_DEFAULT, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(apr_file_puts(text, fp), APR_SUCCESS);
    apr_file_close(fp);
}

static char *read_file(const char *path)
{
    apr_file_t *fp;
    apr_finfo_t fi;
    char *buf;
    apr_size_t len;

    if (apr_file_open(&fp, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, pool) !=
        APR_SUCCESS) {
        return NULL;
    }
    apr_file_info_get(&fi, APR_FINFO_SIZE, fp);
    buf = apr_palloc(pool, (apr_size_t)fi.size + 1);
    apr_file_read_full(fp, buf, (apr_size_t)fi.size, &len);
    buf[len] = '\0';
    apr_file_close(fp);
    return buf;
}

static int exists(const char *path)
{
    apr_finfo_t fi;

    return apr_stat(&fi, path, APR_FINFO_TYPE, pool) == APR_SUCCESS;
}

static void run(const char *cmd)
{
    ck_assert_msg(system(cmd) == 0, "command failed: %s", cmd);
}

/* A package in INCOMING named `name` whose json/main.json says `corte`. */
static const char *make_package(const char *name, const char *corte)
{
    const char *tree = apr_psprintf(pool, "%s/tree-%s", root, name);
    const char *top = apr_pstrcat(pool, tree, "/prep_qro", NULL);
    const char *pkg = apr_pstrcat(pool, feed.incoming, "/", name, NULL);

    write_file(apr_pstrcat(pool, top, "/index.html", NULL),
               "<!DOCTYPE html><html><head><title>PREP</title></head>"
               "<body class=\"prep\"><h1>Resultados</h1></body></html>\n");
    write_file(apr_pstrcat(pool, top, "/distritos/index.html", NULL),
               "<html><BODY>Distritos</BODY></html>\n");
    write_file(
        apr_pstrcat(pool, top, "/json/main.json", NULL),
        apr_psprintf(pool, "{\"fechaCorte\": \"%s\", \"actas\": 42}\n", corte));
    write_file(apr_pstrcat(pool, top, "/json/casillas/Querétaro 1.json", NULL),
               "{\"casilla\": 1}\n");
    write_file(apr_pstrcat(pool, top, "/.hidden", NULL), "secret\n");
    write_file(apr_pstrcat(pool, top, "/fragmento.html", NULL),
               "<p>sin body</p>\n");
    run(apr_psprintf(pool, "seq 1 20000 > '%s/datos.csv'", top));
    run(apr_psprintf(pool, "tar -C '%s' -czf '%s' prep_qro", tree, pkg));
    return pkg;
}

static void setup(void)
{
    char tmpl[] = "/tmp/prep-loader-XXXXXX";

    apr_pool_create(&pool, NULL);
    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    root = apr_pstrdup(pool, tmpl);
    test_feed_in(&feed, root, pool);
    feed.corte.source = PREP_CORTE_JSON;
    feed.corte.file = "json/main.json";
    feed.corte.pointer = "/fechaCorte";
    /* slot 1: the default banner, slot 2: a template */
    APR_ARRAY_PUSH(feed.banners, const char *) = NULL;
    APR_ARRAY_PUSH(feed.banners, const char *) = "<b>{{fecha}} {{hora}}</b>";
}

static void teardown(void)
{
    run(apr_psprintf(pool, "rm -rf '%s'", root));
    apr_pool_destroy(pool);
}

/* Loads the package at path (in feed.incoming) as the intake asks it:
 * expecting the identity `seen` (NULL: any), in `mode`. */
static prep_load_result_t *load_as(const char *path,
                                   const prep_file_identity_t *seen,
                                   prep_load_mode_e mode)
{
    prep_load_request_t req = {strrchr(path, '/') + 1, seen, mode, NULL, NULL};

    return prep_load_package(&feed, &req, NULL, NULL, pool);
}

static prep_load_result_t *load(const char *path)
{
    return load_as(path, NULL, PREP_LOAD_NEW);
}

static const char *current_id(void)
{
    return test_current_id(feed.store, pool);
}

/* The index of corte `id`, which must open. */
static prep_index_t *corte_index(const char *id)
{
    prep_index_t *idx;

    ck_assert_int_eq(
        prep_index_open(&idx,
                        apr_pstrcat(pool,
                                    prep_store_corte_dir(pool, feed.store, id),
                                    "/" PREP_INDEX_FILE, NULL),
                        pool),
        APR_SUCCESS);
    return idx;
}

/* The bytes of `path` as the corte serves them in banner slot `banner`. */
static char *served(const char *id, const char *path, apr_uint32_t banner)
{
    return test_served(feed.store, id, path, banner, pool);
}

START_TEST(good_package_is_published)
{
    const char *pkg =
        make_package("qro_2105.tar.gz", "2024-06-02T21:05:00-06:00");
    prep_load_result_t *res = load(pkg);
    const char *id, *html;
    const prep_index_entry_t *e;
    prep_index_t *idx;

    ck_assert_msg(res->verdict.reason == NULL, "refused: %s",
                  res->verdict.message);
    id = current_id();
    ck_assert_str_eq(id, res->corte->id);
    ck_assert_str_eq(res->corte->label,
                     "Último corte: 02/06/2024 21:05 (Tiempo del Centro, "
                     "UTC-06:00)");
    ck_assert_int_eq(res->corte->files, 6); /* .hidden is not served */
    /* delivered bytes, byte-identical */
    ck_assert_str_eq(served(id, "json/casillas/Querétaro 1.json", 0),
                     "{\"casilla\": 1}\n");
    /* the banner right after <body ...> in slot 1, the raw file in slot 0 */
    html = served(id, "index.html", 1);
    ck_assert_ptr_nonnull(html);
    ck_assert_ptr_nonnull(strstr(html, "<body class=\"prep\"><div"));
    ck_assert_ptr_nonnull(strstr(html, res->corte->label));
    ck_assert_ptr_nonnull(strstr(html, "<h1>Resultados</h1></body></html>\n"));
    ck_assert_ptr_null(strstr(served(id, "index.html", 0), "corte"));
    ck_assert_str_eq(served(id, "index.html", 2),
                     "<!DOCTYPE html><html><head><title>PREP</title></head>"
                     "<body class=\"prep\"><b>02/06/2024 21:05</b>"
                     "<h1>Resultados</h1></body></html>\n");
    /* HTML without <body> keeps only its bytes as delivered */
    ck_assert_ptr_null(served(id, "fragmento.html", 1));
    ck_assert_str_eq(served(id, "fragmento.html", 0), "<p>sin body</p>\n");
    ck_assert_ptr_null(served(id, ".hidden", 0));
    /* a directory with an index.html is known, for its redirect */
    idx = corte_index(id);
    e = prep_index_lookup(idx, "distritos", 9);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(prep_index_entry_flags(e) & PREP_F_DIR, PREP_F_DIR);
    e = prep_index_lookup(idx, "json/main.json", 14);
    ck_assert_uint_eq(prep_index_entry_flags(e), PREP_F_NO_STORE | PREP_F_CORS);
    /* the package is set aside, not deleted */
    ck_assert(!exists(pkg));
    ck_assert(exists(
        apr_pstrcat(pool, feed.store, "/processed/qro_2105.tar.gz", NULL)));
}
END_TEST

/* The first line of what `cmd` writes, without its newline. */
static char *output_of(const char *cmd)
{
    FILE *f = popen(cmd, "r");
    char line[256] = "";

    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
    ck_assert_int_eq(pclose(f), 0);
    line[strcspn(line, "\n")] = '\0';
    return apr_pstrdup(pool, line);
}

/* A corte's record (corte.json) says which package it was made from: its
 * whole SHA-256, its id from the corte time and that SHA-256, the bytes of
 * every file the package held. */
START_TEST(corte_record_is_that_of_its_package)
{
    const char *pkg =
        make_package("qro_2105.tar.gz", "2024-06-02T21:05:00-06:00");
    const char *sha =
        output_of(apr_psprintf(pool, "sha256sum '%s' | cut -c1-64", pkg));
    const char *bytes = output_of(apr_psprintf(
        pool,
        "find '%s/tree-qro_2105.tar.gz' -type f -printf '%%s\\n' | "
        "awk '{ n += $1 } END { print n }'",
        root));
    prep_load_result_t *res = load(pkg);
    prep_corte_t *stored;

    ck_assert_int_eq(res->outcome, PREP_LOAD_PUBLISHED);
    ck_assert_int_eq(prep_store_read_corte(
                         &stored,
                         prep_store_corte_dir(pool, feed.store, res->corte->id),
                         pool),
                     APR_SUCCESS);
    ck_assert_str_eq(stored->sha256, sha);
    ck_assert_str_eq(stored->id,
                     apr_psprintf(pool, "20240603T030500Z-%.8s", sha));
    ck_assert_int_eq(apr_time_sec(stored->time), 1717383900);
    ck_assert_str_eq(stored->package, "qro_2105.tar.gz");
    /* .hidden's bytes too: they were unpacked, only not served */
    ck_assert_uint_eq(stored->bytes, apr_atoi64(bytes));
    ck_assert_uint_eq(stored->files, 6);
}
END_TEST

/* Keeps every line a load logs, "E: " before an error's. */
static void keep_line(void *baton, int is_error, const char *msg)
{
    APR_ARRAY_PUSH((apr_array_header_t *)baton, const char *) =
        apr_pstrcat(pool, is_error ? "E: " : "", msg, NULL);
}

/* The line of a corte published says what it is, where it came from and
 * what each phase of its load took; the load's time in the text of its
 * record is the record's. */
START_TEST(published_line_names_the_corte_and_its_phases)
{
    apr_array_header_t *lines = apr_array_make(pool, 4, sizeof(const char *));
    prep_load_request_t req = {"a.tar.gz", NULL, PREP_LOAD_NEW, NULL, NULL};
    prep_load_result_t *res;
    const char *last, *want;
    prep_corte_t c = {0};
    regex_t re;

    make_package("a.tar.gz", "2024-06-02T21:05:00-06:00");
    res = prep_load_package(&feed, &req, keep_line, lines, pool);
    ck_assert_int_eq(res->outcome, PREP_LOAD_PUBLISHED);
    ck_assert_int_eq(lines->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(lines, 0, const char *),
                     "loading package a.tar.gz");
    last = APR_ARRAY_IDX(lines, 1, const char *);
    want = apr_psprintf(
        pool,
        "^published corte %s \\(corte time 2024-06-02T21:05:00-06:00\\) "
        "from a\\.tar\\.gz: 6 files, %" APR_UINT64_T_FMT
        " bytes in [0-9]+ ms \\(verify [0-9]+, unpack [0-9]+, check [0-9]+, "
        "banner [0-9]+, compress [0-9]+, index [0-9]+, publish [0-9]+; "
        "variants [1-9][0-9]* made, 0 reused; cleanup [0-9]+ ms\\)$",
        res->corte->id, res->corte->bytes);
    ck_assert_int_eq(regcomp(&re, want, REG_EXTENDED | REG_NOSUB), 0);
    ck_assert_msg(regexec(&re, last, 0, NULL, 0) == 0, "%s", last);
    regfree(&re);
    ck_assert_ptr_nonnull(strstr(last, prep_corte_load_text(res->corte, pool)));

    c.phases_ms[PREP_PHASE_UNPACK] = 812;
    c.phases_ms[PREP_PHASE_PUBLISH] = 40;
    c.variants_made = 120;
    c.variants_reused = 2400;
    ck_assert_str_eq(prep_corte_load_text(&c, pool),
                     "verify 0, unpack 812, check 0, banner 0, compress 0, "
                     "index 0, publish 40; variants 120 made, 2400 reused");
}
END_TEST

START_TEST(bad_package_keeps_the_corte)
{
    const char *good = make_package("a.tar.gz", "2024-06-02T21:05:00-06:00");
    const char *bad = apr_pstrcat(pool, feed.incoming, "/b.tar.gz", NULL);
    prep_load_result_t *res;
    const char *before, *reason;
    json_t *state;

    ck_assert_ptr_null(load(good)->verdict.reason);
    before = current_id();
    /* the first half of a real package */
    make_package("c.tar.gz", "2024-06-02T21:10:00-06:00");
    run(apr_psprintf(pool,
                     "head -c $(( $(stat -c %%s '%s/c.tar.gz') / 2 )) "
                     "'%s/c.tar.gz' > '%s' && rm '%s/c.tar.gz'",
                     feed.incoming, feed.incoming, bad, feed.incoming));
    /* a fresh truncated package may be an upload that goes on: held */
    res = load(bad);
    ck_assert_int_eq(res->outcome, PREP_LOAD_HELD);
    ck_assert(exists(bad));
    ck_assert_str_eq(current_id(), before);
    /* after its hold it is refused and set aside into the store */
    res = load_as(bad, NULL, PREP_LOAD_FINAL);
    ck_assert_int_eq(res->outcome, PREP_LOAD_REFUSED);
    ck_assert_str_eq(res->verdict.reason, "truncated");
    ck_assert_str_eq(current_id(), before);
    ck_assert(!exists(bad));
    reason = read_file(
        apr_pstrcat(pool, feed.store, "/rejected/b.tar.gz.reason", NULL));
    ck_assert_ptr_nonnull(reason);
    ck_assert(!strncmp(reason, "truncated: ", 11));
    ck_assert(
        exists(apr_pstrcat(pool, feed.store, "/rejected/b.tar.gz", NULL)));
    state = prep_store_read_state(feed.store, pool);
    ck_assert_str_eq(
        json_string_value(json_object_get(
            json_array_get(json_object_get(state, "rejected"), 0), "reason")),
        "truncated");
    json_decref(state);
    /* renamed into incoming, it was complete when it came: refused now */
    run(apr_psprintf(pool,
                     "head -c 3000 '%s/rejected/b.tar.gz' > '%s/t.part' && "
                     "sleep 0.01 && mv '%s/t.part' '%s/t.tar.gz'",
                     feed.store, feed.incoming, feed.incoming, feed.incoming));
    res = load(apr_pstrcat(pool, feed.incoming, "/t.tar.gz", NULL));
    ck_assert_int_eq(res->outcome, PREP_LOAD_REFUSED);
    ck_assert_str_eq(res->verdict.reason, "truncated");
    /* no staging leftovers */
    ck_assert_int_eq(
        system(apr_psprintf(pool, "test -z \"$(ls -A '%s/staging')\"",
                            feed.store)),
        0);
}
END_TEST

START_TEST(older_future_and_missing_time_are_refused)
{
    const char *pkg = make_package("a.tar.gz", "2024-06-02T21:05:00-06:00");
    prep_load_result_t *res;
    char *future;
    apr_time_exp_t tm;

    ck_assert_ptr_null(load(pkg)->verdict.reason);
    pkg = make_package("b.tar.gz", "2024-06-02T21:00:00-06:00");
    res = load(pkg);
    ck_assert_str_eq(res->verdict.reason, "older-corte");

    apr_time_exp_gmt(&tm, apr_time_now() + apr_time_from_sec(3 * 24 * 3600));
    future = apr_psprintf(pool, "%04d-%02d-%02dT12:00:00Z", tm.tm_year + 1900,
                          tm.tm_mon + 1, tm.tm_mday);
    pkg = make_package("c.tar.gz", future);
    res = load(pkg);
    ck_assert_str_eq(res->verdict.reason, "future-corte");

    pkg = make_package("d.tar.gz", "no es una fecha");
    res = load(pkg);
    ck_assert_str_eq(res->verdict.reason, "no-corte-time");
}
END_TEST

/* "YYYY-MM-DDTHH:MM:SSZ" `ahead_s` seconds from now. */
static const char *iso_from_now(apr_time_t ahead_s)
{
    apr_time_exp_t tm;

    apr_time_exp_gmt(&tm, apr_time_now() + apr_time_from_sec(ahead_s));
    return apr_psprintf(pool, "%04d-%02d-%02dT%02d:%02d:%02dZ",
                        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                        tm.tm_hour, tm.tm_min, tm.tm_sec);
}

START_TEST(future_limit_and_same_time)
{
    prep_load_result_t *res;
    const char *pkg;

    /* two hours ahead (a clock or zone mistake) is refused; ten minutes is
     * within the default PrepFutureLimit of 15 min */
    res = load(make_package("a.tar.gz", iso_from_now(2 * 3600)));
    ck_assert_str_eq(res->verdict.reason, "future-corte");
    ck_assert_ptr_nonnull(strstr(res->verdict.message, "PrepFutureLimit"));
    res = load(make_package("b.tar.gz", iso_from_now(600)));
    ck_assert_int_eq(res->outcome, PREP_LOAD_PUBLISHED);
    feed.future_limit = apr_time_from_sec(60);
    res = load(make_package("c.tar.gz", iso_from_now(3600)));
    ck_assert_str_eq(res->verdict.reason, "future-corte");
    feed.future_limit = -1; /* off */
    res = load(make_package("d.tar.gz", iso_from_now(3 * 3600)));
    ck_assert_int_eq(res->outcome, PREP_LOAD_PUBLISHED);

    /* the same corte time with other bytes: refused, or taken with
     * PrepSameTime accept */
    feed.future_limit = apr_time_from_sec(15 * 60);
    res = load(make_package("e.tar.gz", "2024-06-02T21:05:00-06:00"));
    ck_assert_str_eq(res->verdict.reason, "older-corte");
    run(apr_psprintf(pool, "rm -rf '%s'/store/cortes/* '%s'/store/current",
                     root, root));
    ck_assert_int_eq(
        load(make_package("f.tar.gz", "2024-06-02T21:05:00-06:00"))->outcome,
        PREP_LOAD_PUBLISHED);
    pkg = make_package("g.tar.gz", "2024-06-02T21:05:00-06:00");
    run(apr_psprintf(pool,
                     "sleep 1; touch '%s/tree-g.tar.gz/prep_qro/x.txt' "
                     "&& tar -C '%s/tree-g.tar.gz' -czf '%s' prep_qro",
                     root, root, pkg));
    res = load(pkg);
    ck_assert_str_eq(res->verdict.reason, "same-time");
    pkg = make_package("h.tar.gz", "2024-06-02T21:05:00-06:00");
    run(apr_psprintf(pool,
                     "touch '%s/tree-h.tar.gz/prep_qro/y.txt' && tar -C "
                     "'%s/tree-h.tar.gz' -czf '%s' prep_qro",
                     root, root, pkg));
    feed.same_time_accept = 1;
    res = load(pkg);
    ck_assert_int_eq(res->outcome, PREP_LOAD_PUBLISHED);
}
END_TEST

/* The identity of a file now. */
static prep_file_identity_t identity(const char *path)
{
    prep_file_identity_t id;
    int dirfd;
    char *dir = apr_pstrdup(pool, path);

    *strrchr(dir, '/') = '\0';
    dirfd = open(dir, O_RDONLY | O_DIRECTORY);
    ck_assert_int_eq(prep_incoming_classify(dirfd, strrchr(path, '/') + 1, &id),
                     PREP_INCOMING_PACKAGE);
    close(dirfd);
    return id;
}

START_TEST(one_open_one_package)
{
    const char *pkg = make_package("a.tar.gz", "2024-06-02T21:05:00-06:00");
    const char *other = make_package("b.tar.gz", "2024-06-02T21:10:00-06:00");
    prep_file_identity_t seen = identity(pkg);
    prep_load_result_t *res;

    /* another file renamed over the name that settled is not read */
    run(apr_psprintf(pool, "mv '%s' '%s'", other, pkg));
    res = load_as(pkg, &seen, PREP_LOAD_NEW);
    ck_assert_int_eq(res->outcome, PREP_LOAD_CHANGED);
    ck_assert_ptr_null(current_id());
    ck_assert(exists(pkg)); /* not set aside: examined again once settled */

    /* a symbolic link or a FIFO in its place: not followed, not blocking */
    seen = identity(pkg);
    run(apr_psprintf(pool,
                     "mv '%s' '%s/elsewhere.tar.gz' && ln -s "
                     "'%s/elsewhere.tar.gz' '%s'",
                     pkg, root, root, pkg));
    ck_assert_int_eq(load_as(pkg, &seen, PREP_LOAD_NEW)->outcome,
                     PREP_LOAD_CHANGED);
    ck_assert_int_eq(load_as(pkg, NULL, PREP_LOAD_NEW)->outcome,
                     PREP_LOAD_CHANGED);
    run(apr_psprintf(pool, "rm '%s' && mkfifo '%s'", pkg, pkg));
    ck_assert_int_eq(load_as(pkg, NULL, PREP_LOAD_NEW)->outcome,
                     PREP_LOAD_CHANGED);
    ck_assert_ptr_null(current_id());

    /* the file that settled is published and set aside into the store */
    run(apr_psprintf(pool, "rm '%s' && mv '%s/elsewhere.tar.gz' '%s'", pkg,
                     root, pkg));
    seen = identity(pkg);
    res = load_as(pkg, &seen, PREP_LOAD_NEW);
    ck_assert_int_eq(res->outcome, PREP_LOAD_PUBLISHED);
    ck_assert(!exists(pkg));
    ck_assert(
        exists(apr_pstrcat(pool, feed.store, "/processed/a.tar.gz", NULL)));
    ck_assert(!exists(apr_pstrcat(pool, feed.incoming, "/processed", NULL)));
}
END_TEST

START_TEST(sidecars_are_not_followed)
{
    const char *pkg = make_package("a.tar.gz", "2024-06-02T21:05:00-06:00");
    const char *secret = apr_pstrcat(pool, root, "/secret", NULL);
    prep_load_result_t *res;
    char *reason;

    feed.verify = PREP_VERIFY_SHA256;
    /* a link to a file holding 64 hex digits (a key, say): not read */
    run(apr_psprintf(pool,
                     "printf '%%064d' 4242 > '%s' && ln -s '%s' "
                     "'%s.sha256'",
                     secret, secret, pkg));
    res = load_as(pkg, NULL, PREP_LOAD_NEW);
    ck_assert_str_eq(res->verdict.reason, "verify");
    ck_assert_ptr_null(strstr(res->verdict.message, "4242"));
    ck_assert_ptr_nonnull(strstr(res->verdict.message, "symbolic link"));
    reason = read_file(
        apr_pstrcat(pool, feed.store, "/rejected/a.tar.gz.reason", NULL));
    ck_assert_ptr_nonnull(reason);
    ck_assert_ptr_null(strstr(reason, "4242"));
    /* the link stays in incoming, never moved into the store */
    ck_assert(!exists(
        apr_pstrcat(pool, feed.store, "/rejected/a.tar.gz.sha256", NULL)));

    /* a FIFO as the sidecar does not block */
    pkg = make_package("b.tar.gz", "2024-06-02T21:05:00-06:00");
    run(apr_psprintf(pool, "mkfifo '%s.sha256'", pkg));
    res = load_as(pkg, NULL, PREP_LOAD_NEW);
    ck_assert_str_eq(res->verdict.reason, "verify");
}
END_TEST

START_TEST(names_that_are_not_utf8_are_shown_escaped)
{
    ck_assert_str_eq(prep_name_shown(pool, "PREP_\xe9t\xe9.tar.gz"),
                     "PREP_\\xe9t\\xe9.tar.gz");
    ck_assert_str_eq(prep_name_shown(pool, "Quer\xc3\xa9taro.zip"),
                     "Quer\xc3\xa9taro.zip");
    ck_assert_str_eq(prep_name_shown(pool, "a\x1b[31m\nb"), "a\\x1b[31m\\x0ab");
    ck_assert_str_eq(prep_name_shown(pool, "\xed\xa0\x80"),
                     "\\xed\\xa0\\x80"); /* a UTF-16 surrogate */
}
END_TEST

START_TEST(same_package_twice_is_not_republished)
{
    const char *pkg = make_package("a.tar.gz", "2024-06-02T21:05:00-06:00");
    prep_load_result_t *res;
    const char *id;

    ck_assert_ptr_null(load(pkg)->verdict.reason);
    id = current_id();
    run(apr_psprintf(pool, "cp '%s/processed/a.tar.gz' '%s/again.tar.gz'",
                     feed.store, feed.incoming));
    res = load(apr_pstrcat(pool, feed.incoming, "/again.tar.gz", NULL));
    ck_assert_ptr_null(res->verdict.reason);
    ck_assert_str_eq(current_id(), id);
}
END_TEST

START_TEST(keep_removes_old_cortes_but_not_the_current)
{
    static const char *const times[] = {"21:05", "21:10", "21:15", "21:20"};
    apr_dir_t *d;
    apr_finfo_t fi;
    int i, n = 0, current_seen = 0;

    feed.keep = 2;
    for (i = 0; i < 4; i++) {
        const char *pkg = make_package(
            apr_psprintf(pool, "p%d.tar.gz", i),
            apr_psprintf(pool, "2024-06-02T%s:00-06:00", times[i]));
        ck_assert_ptr_null(load(pkg)->verdict.reason);
    }
    ck_assert_int_eq(
        apr_dir_open(&d, apr_pstrcat(pool, feed.store, "/cortes", NULL), pool),
        APR_SUCCESS);
    while (apr_dir_read(&fi, APR_FINFO_NAME, d) == APR_SUCCESS) {
        if (fi.name[0] != '.') {
            n++;
            current_seen |= !strcmp(fi.name, current_id());
        }
    }
    apr_dir_close(d);
    ck_assert_int_eq(n, 2);
    ck_assert(current_seen);
    ck_assert(!strncmp(current_id(), "20240603T0320", 13));
}
END_TEST

START_TEST(verify_sha256_sidecar)
{
    const char *pkg = make_package("a.tar.gz", "2024-06-02T21:05:00-06:00");
    prep_load_result_t *res;

    feed.verify = PREP_VERIFY_SHA256;
    run(apr_psprintf(pool,
                     "cd '%s' && echo "
                     "000000000000000000000000000000000000000000000000000000000"
                     "0000000  a.tar.gz > a.tar.gz.sha256",
                     feed.incoming));
    res = load(pkg);
    ck_assert_str_eq(res->verdict.reason, "verify");
    ck_assert_ptr_null(current_id());

    pkg = make_package("b.tar.gz", "2024-06-02T21:05:00-06:00");
    run(apr_psprintf(pool, "cd '%s' && sha256sum b.tar.gz > b.tar.gz.sha256",
                     feed.incoming));
    res = load(pkg);
    ck_assert_msg(res->verdict.reason == NULL, "%s", res->verdict.message);
    ck_assert(exists(
        apr_pstrcat(pool, feed.store, "/processed/b.tar.gz.sha256", NULL)));
}
END_TEST

/* Signatures as `openssl dgst -sha256 -sign` makes them, for each key type. */
START_TEST(verify_signature_keys)
{
    static const char *const genkey[] = {
        "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048",
        "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256",
        "openssl genpkey -algorithm ED25519"};
    const char *key = apr_pstrcat(pool, root, "/key.pem", NULL);
    const char *pub = apr_pstrcat(pool, root, "/pub.pem", NULL);
    const char *pkg, *name, *sign;
    prep_load_result_t *res;

    name = apr_psprintf(pool, "k%d.tar.gz", _i);
    pkg = make_package(
        name, apr_psprintf(pool, "2024-06-02T21:%02d:00-06:00", 10 + _i));
    run(apr_psprintf(pool,
                     "%s -out '%s' 2>/dev/null && openssl pkey -in '%s' "
                     "-pubout -out '%s'",
                     genkey[_i], key, key, pub));
    sign = _i == 2 ? "openssl pkeyutl -sign -rawin -inkey '%s' -in '%s' -out "
                     "'%s.sig'"
                   : "openssl dgst -sha256 -sign '%s' -out '%s.sig' '%s'";
    run(apr_psprintf(pool, sign, key, pkg, pkg));
    feed.verify = PREP_VERIFY_SIGNATURE;
    feed.verify_key = pub;
    res = load(pkg);
    ck_assert_msg(res->verdict.reason == NULL, "key %d: %s", _i,
                  res->verdict.message);

    /* the same signature over other bytes fails */
    pkg = make_package("other.tar.gz", "2024-06-02T22:00:00-06:00");
    run(apr_psprintf(pool, "cp '%s/processed/%s.sig' '%s.sig'", feed.store,
                     name, pkg));
    res = load(pkg);
    ck_assert_str_eq(res->verdict.reason, "verify");
}
END_TEST

START_TEST(check_runs_without_a_store)
{
    const char *pkg = make_package("a.tar.gz", "02/06/2024 21:05");
    const char *packpath = apr_pstrcat(pool, root, "/pack", NULL);
    prep_checked_t *checked;
    prep_verdict_t v = {NULL, NULL};
    apr_file_t *pack;

    ck_assert_int_eq(apr_file_open(&pack, packpath,
                                   APR_FOPEN_CREATE | APR_FOPEN_READ |
                                       APR_FOPEN_WRITE | APR_FOPEN_BINARY,
                                   APR_FPROT_OS_DEFAULT, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(prep_package_check(&checked, &feed, pkg, pack, &v, pool),
                     APR_SUCCESS);
    apr_file_close(pack);
    ck_assert_int_eq(checked->unpacked->entries->nelts, 7);
    /* 21:05 in the feed's zone, -06:00 */
    ck_assert_int_eq(apr_time_sec(checked->corte_time), 1717383900);
    ck_assert(!exists(apr_pstrcat(pool, feed.store, "/cortes", NULL)));
    ck_assert(exists(pkg));
}
END_TEST

/* prepctl's check of package `pkg`: its verdict (reason NULL: accepted). */
static prep_verdict_t checked_verdict(const char *pkg)
{
    prep_checked_t *checked;
    prep_verdict_t v = {"unset", "unset"};
    apr_file_t *pack;

    ck_assert_int_eq(
        apr_file_open(&pack, apr_pstrcat(pool, root, "/pack", NULL),
                      APR_FOPEN_CREATE | APR_FOPEN_TRUNCATE | APR_FOPEN_READ |
                          APR_FOPEN_WRITE | APR_FOPEN_BINARY,
                      APR_FPROT_OS_DEFAULT, pool),
        APR_SUCCESS);
    prep_package_check(&checked, &feed, pkg, pack, &v, pool);
    apr_file_close(pack);
    ck_assert_ptr_nonnull(checked);
    return v;
}

/* prepctl verify runs a load's own checks: for each refusal that needs no
 * store, its check gives the very verdict the load gives, sentence and
 * all, and a package it accepts is published. */
START_TEST(check_refuses_what_a_load_refuses)
{
    static const char *const times[] = {
        "2024-06-02T21:05:00-06:00", "no es una fecha", "2099-01-01T00:00:00Z",
        "2024-06-02T21:10:00-06:00", "2024-06-02T21:15:00-06:00"};
    static const char *const reasons[] = {NULL, "no-corte-time", "future-corte",
                                          "verify", "truncated"};
    int i;

    for (i = 0; i < 5; i++) {
        const char *name = apr_psprintf(pool, "p%d.tar.gz", i);
        const char *pkg = make_package(name, times[i]);
        prep_verdict_t checked;
        prep_load_result_t *res;

        feed.verify = i == 3 ? PREP_VERIFY_SHA256 : PREP_VERIFY_NONE;
        if (i == 3) { /* a sidecar of other bytes */
            run(apr_psprintf(pool, "printf '%%064d  %s\\n' 0 > '%s.sha256'",
                             name, pkg));
        }
        if (i == 4) { /* cut short */
            run(apr_psprintf(pool, "truncate -s 2000 '%s'", pkg));
        }
        checked = checked_verdict(pkg);
        res = load_as(pkg, NULL, PREP_LOAD_FINAL);
        if (!reasons[i]) {
            ck_assert_ptr_null(checked.reason);
            ck_assert_int_eq(res->outcome, PREP_LOAD_PUBLISHED);
            continue;
        }
        ck_assert_int_eq(res->outcome, PREP_LOAD_REFUSED);
        ck_assert_str_eq(res->verdict.reason, reasons[i]);
        ck_assert_msg(checked.reason != NULL, "%s: the check accepts it", name);
        ck_assert_str_eq(checked.reason, res->verdict.reason);
        ck_assert_str_eq(checked.message, res->verdict.message);
    }
}
END_TEST

/* A republish (the heal of a damaged corte) reads the package retained in
 * STORE/processed, gives the corte again and replaces it; a package that
 * gives another corte is refused, and stays where it is. */
START_TEST(republish_gives_the_very_corte_again_or_is_refused)
{
    const char *pkg = make_package("a.tar.gz", "2024-06-02T21:05:00-06:00");
    const char *kept =
        apr_pstrcat(pool, feed.store, "/processed/a.tar.gz", NULL);
    prep_load_result_t *first = load(pkg), *res;
    prep_load_request_t req = {"a.tar.gz", NULL, PREP_LOAD_REPUBLISH, NULL,
                               NULL};
    const char *other_sha;
    json_t *state;

    ck_assert_int_eq(first->outcome, PREP_LOAD_PUBLISHED);
    ck_assert(exists(kept));
    req.corte_id = first->corte->id;
    req.corte_sha256 = first->corte->sha256;
    res = prep_load_package(&feed, &req, NULL, NULL, pool);
    ck_assert_int_eq(res->outcome, PREP_LOAD_PUBLISHED);
    ck_assert_str_eq(res->corte->id, first->corte->id);
    ck_assert_str_eq(current_id(), first->corte->id);
    ck_assert(exists(kept)); /* the retained package stays retained */
    ck_assert_str_eq(
        served(res->corte->id, "json/casillas/Querétaro 1.json", 0),
        "{\"casilla\": 1}\n");

    /* the same id (its 8 digits) but not the whole SHA-256 */
    other_sha = apr_pstrdup(pool, first->corte->sha256);
    ((char *)other_sha)[63] = other_sha[63] == '0' ? '1' : '0';
    req.corte_sha256 = other_sha;
    res = prep_load_package(&feed, &req, NULL, NULL, pool);
    ck_assert_int_eq(res->outcome, PREP_LOAD_REFUSED);
    ck_assert_str_eq(res->verdict.reason, "verify");
    ck_assert_str_eq(res->verdict.message,
                     apr_psprintf(pool,
                                  "the retained package gives corte %s, not %s",
                                  first->corte->id, first->corte->id));
    /* no SHA-256 known, or another corte asked for */
    req.corte_sha256 = NULL;
    ck_assert_int_eq(prep_load_package(&feed, &req, NULL, NULL, pool)->outcome,
                     PREP_LOAD_REFUSED);
    req.corte_sha256 = first->corte->sha256;
    req.corte_id = "20240603T030000Z-00000000";
    res = prep_load_package(&feed, &req, NULL, NULL, pool);
    ck_assert_str_eq(res->verdict.reason, "verify");
    /* refused, it is neither set aside nor recorded; the corte stays */
    ck_assert(exists(kept));
    ck_assert(
        !exists(apr_pstrcat(pool, feed.store, "/rejected/a.tar.gz", NULL)));
    state = prep_store_read_state(feed.store, pool);
    ck_assert_uint_eq(json_array_size(json_object_get(state, "rejected")), 0);
    json_decref(state);
    ck_assert_str_eq(current_id(), first->corte->id);
}
END_TEST

START_TEST(republished_identity_is_the_whole_sha256_and_the_id)
{
    prep_corte_t corte = {0};
    prep_verdict_t v = {NULL, NULL};
    const char *sha = "abcdef0123456789abcdef0123456789abcdef0123456789abcdef01"
                      "23456789";

    corte.id = "20240603T030500Z-abcdef01";
    corte.sha256 = sha;
    ck_assert_int_eq(prep_verify_republished(&corte, corte.id, sha, &v, pool),
                     APR_SUCCESS);
    ck_assert_ptr_null(v.reason);
    /* any id, when none is asked for; never without the SHA-256 */
    ck_assert_int_eq(prep_verify_republished(&corte, NULL, sha, &v, pool),
                     APR_SUCCESS);
    ck_assert_int_ne(prep_verify_republished(&corte, corte.id, NULL, &v, pool),
                     APR_SUCCESS);
    ck_assert_str_eq(v.reason, "verify");
    v.reason = NULL;
    ck_assert_int_ne(
        prep_verify_republished(
            &corte, corte.id,
            "abcdef01ffffffffffffffffffffffffffffffffffffffffffffff"
            "ffffffffff",
            &v, pool),
        APR_SUCCESS);
    ck_assert_str_eq(v.reason, "verify");
    ck_assert_int_ne(prep_verify_republished(
                         &corte, "20240603T031000Z-abcdef01", sha, &v, pool),
                     APR_SUCCESS);
    ck_assert_str_eq(v.message, "the retained package gives corte "
                                "20240603T030500Z-abcdef01, not "
                                "20240603T031000Z-abcdef01");
}
END_TEST

/* A corte of time `sec` (epoch seconds) and id `id`. */
static prep_corte_t *corte_at(apr_int64_t sec, const char *id)
{
    prep_corte_t *c = apr_pcalloc(pool, sizeof(*c));

    c->time = apr_time_from_sec(sec);
    c->id = id;
    return c;
}

/* Against the corte served: older is refused, the same time with other
 * bytes refused or (PrepSameTime accept) replaces it, its own id is the
 * corte served, anything later is newer. */
START_TEST(corte_time_against_the_corte_served)
{
    const prep_corte_t *served = corte_at(1717383900, "A");
    prep_verdict_t v = {NULL, NULL};
    prep_corte_order_e order = PREP_CORTE_SERVED;

    ck_assert_int_eq(prep_corte_time_against(&order, &feed, NULL,
                                             corte_at(1, "B"), &v, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(order, PREP_CORTE_NEWER);
    ck_assert_int_eq(prep_corte_time_against(&order, &feed, served,
                                             corte_at(1717384200, "B"), &v,
                                             pool),
                     APR_SUCCESS);
    ck_assert_int_eq(order, PREP_CORTE_NEWER);
    ck_assert_int_eq(prep_corte_time_against(&order, &feed, served,
                                             corte_at(1717383900, "A"), &v,
                                             pool),
                     APR_SUCCESS);
    ck_assert_int_eq(order, PREP_CORTE_SERVED);
    ck_assert_ptr_null(v.reason);

    ck_assert_int_ne(prep_corte_time_against(&order, &feed, served,
                                             corte_at(1717383600, "B"), &v,
                                             pool),
                     APR_SUCCESS);
    ck_assert_str_eq(v.reason, "older-corte");
    ck_assert_str_eq(v.message, "its corte time 2024-06-02T21:00:00-06:00 is "
                                "older than the corte being served "
                                "(2024-06-02T21:05:00-06:00)");
    /* older is refused even when it names the corte served */
    ck_assert_int_ne(prep_corte_time_against(&order, &feed, served,
                                             corte_at(1717383600, "A"), &v,
                                             pool),
                     APR_SUCCESS);
    ck_assert_int_ne(prep_corte_time_against(&order, &feed, served,
                                             corte_at(1717383900, "B"), &v,
                                             pool),
                     APR_SUCCESS);
    ck_assert_str_eq(v.reason, "same-time");
    ck_assert_str_eq(v.message,
                     "its corte time 2024-06-02T21:05:00-06:00 is that of the "
                     "corte being served (A), with other bytes (PrepSameTime "
                     "refuse)");
    feed.same_time_accept = 1;
    v.reason = NULL;
    ck_assert_int_eq(prep_corte_time_against(&order, &feed, served,
                                             corte_at(1717383900, "B"), &v,
                                             pool),
                     APR_SUCCESS);
    ck_assert_int_eq(order, PREP_CORTE_REPLACES);
    ck_assert_ptr_null(v.reason);
}
END_TEST

/* The package of huge_files_are_streamed: two text files over
 * PREP_HUGE_FILE and one of noise, named as text. */
static const char *make_huge_package(const char *name, const char *corte)
{
    const char *tree = apr_psprintf(pool, "%s/tree-%s", root, name);
    const char *top = apr_pstrcat(pool, tree, "/prep_qro", NULL);

    write_file(
        apr_pstrcat(pool, top, "/json/main.json", NULL),
        apr_psprintf(pool, "{\"fechaCorte\": \"%s\", \"actas\": 42}\n", corte));
    run(apr_psprintf(pool,
                     "cd '%s' && mkdir -p datos && seq 1 3000000 > datos/a.csv"
                     " && seq 5000000 8000000 > datos/b.csv && head -c "
                     "20000000 /dev/urandom > datos/ruido.txt",
                     top));
    run(apr_psprintf(pool, "tar -C '%s' -czf '%s/%s' prep_qro", tree,
                     feed.incoming, name));
    return apr_pstrcat(pool, feed.incoming, "/", name, NULL);
}

/* Whether `path`'s variant `encoding` in corte `id` decodes to its identity
 * bytes; -1 when it has no such variant.  Also raises *pack_end to the end
 * of each of its reps. */
static int variant_decodes(const char *id, const char *path, int encoding,
                           apr_uint64_t *pack_end)
{
    const char *dir = prep_store_corte_dir(pool, feed.store, id);
    const prep_rep_t *ident, *var;
    const prep_index_entry_t *e;
    prep_index_t *idx;
    char *pack;
    unsigned char *out;
    size_t out_len;
    int same;

    idx = corte_index(id);
    ck_assert_ptr_nonnull(e = prep_index_lookup(idx, path, strlen(path)));
    ident = prep_index_entry_rep(idx, e, 0, PREP_ENC_IDENTITY);
    ck_assert_ptr_nonnull(ident);
    if (ident->offset + ident->length > *pack_end) {
        *pack_end = ident->offset + ident->length;
    }
    if (!(var = prep_index_entry_rep(idx, e, 0, (apr_uint32_t)encoding))) {
        return -1;
    }
    if (var->offset + var->length > *pack_end) {
        *pack_end = var->offset + var->length;
    }
    pack = read_file(apr_pstrcat(pool, dir, "/" PREP_PACK_FILE, NULL));
    out_len = (size_t)ident->length + 1;
    out = malloc(out_len);
    ck_assert_ptr_nonnull(out);
    if (encoding == PREP_ENC_GZIP) {
        z_stream z;

        memset(&z, 0, sizeof(z));
        ck_assert_int_eq(inflateInit2(&z, 15 + 16), Z_OK);
        z.next_in = (Bytef *)pack + var->offset;
        z.avail_in = (uInt)var->length;
        z.next_out = out;
        z.avail_out = (uInt)out_len;
        same = inflate(&z, Z_FINISH) == Z_STREAM_END && z.avail_in == 0;
        out_len = z.total_out;
        inflateEnd(&z);
    } else {
        same = BrotliDecoderDecompress(var->length,
                                       (uint8_t *)pack + var->offset, &out_len,
                                       out) == BROTLI_DECODER_RESULT_SUCCESS;
    }
    same = same && out_len == ident->length &&
           !memcmp(out, pack + ident->offset, out_len);
    free(out);
    return same;
}

/* Files over PREP_HUGE_FILE are streamed (one variant to the pack's end,
 * the others through temporary files): their variants decode to their
 * bytes, noise gets none and leaves nothing in the pack; the next corte
 * with the same files reuses them. */
START_TEST(huge_files_are_streamed)
{
    static const char *const texts[] = {"datos/a.csv", "datos/b.csv"};
    const char *names[] = {"huge1.tar.gz", "huge2.tar.gz"};
    const char *cortes[] = {"2024-06-02T21:05:00-06:00",
                            "2024-06-02T21:10:00-06:00"};
    int round, t, enc;

    for (round = 0; round < 2; round++) {
        const char *pkg = make_huge_package(names[round], cortes[round]);
        prep_load_result_t *res = load(pkg);
        apr_uint64_t end = 0;
        apr_finfo_t fi;
        const char *id;

        ck_assert_msg(res->verdict.reason == NULL, "refused: %s",
                      res->verdict.message);
        id = current_id();
        if (round == 0) {
            /* over PREP_DEFER_VARIANTS to compress: live first with the
             * identity bytes, then complete under its own id */
            ck_assert_ptr_nonnull(res->pending);
            ck_assert_uint_ge(res->corte->variants_pending, 4);
            ck_assert_int_eq(res->corte->complete_at, 0);
            for (t = 0; t < 2; t++) {
                for (enc = PREP_ENC_GZIP; enc <= PREP_ENC_BR; enc++) {
                    ck_assert_int_eq(variant_decodes(id, texts[t], enc, &end),
                                     -1);
                }
            }
            ck_assert_int_eq(prep_load_complete(res), 1);
            ck_assert_ptr_null(res->pending);
            ck_assert_str_eq(current_id(), id);
            ck_assert_uint_eq(res->corte->variants_pending, 0);
            ck_assert_int_ge(res->corte->complete_at, res->corte->loaded_at);
            ck_assert_int_eq(prep_load_complete(res), 0); /* done once */
            {
                prep_corte_t *h = NULL;

                /* the history says it was completed too */
                ck_assert_int_eq(
                    prep_store_history_find(&h, feed.store, id, pool),
                    APR_SUCCESS);
                ck_assert_uint_eq(h->variants_pending, 0);
                ck_assert_int_eq(h->complete_at, res->corte->complete_at);
                ck_assert_uint_eq(h->variants_made, res->corte->variants_made);
            }
        } else if (res->pending) {
            /* the noise has no variant to reuse: tried again, later */
            ck_assert_uint_eq(res->corte->variants_reused, 4);
            ck_assert_int_eq(prep_load_complete(res), 1);
        }
        end = 0;
        for (t = 0; t < 2; t++) {
            for (enc = PREP_ENC_GZIP; enc <= PREP_ENC_BR; enc++) {
                ck_assert_int_eq(variant_decodes(id, texts[t], enc, &end), 1);
            }
        }
        ck_assert_int_eq(
            variant_decodes(id, "datos/ruido.txt", PREP_ENC_GZIP, &end), -1);
        ck_assert_int_eq(
            variant_decodes(id, "datos/ruido.txt", PREP_ENC_BR, &end), -1);
        variant_decodes(id, "json/main.json", PREP_ENC_GZIP, &end);
        ck_assert_int_eq(
            apr_stat(&fi,
                     apr_pstrcat(pool,
                                 prep_store_corte_dir(pool, feed.store, id),
                                 "/" PREP_PACK_FILE, NULL),
                     APR_FINFO_SIZE, pool),
            APR_SUCCESS);
        ck_assert_uint_eq((apr_uint64_t)fi.size, end); /* nothing else */
        ck_assert_uint_eq(
            round ? res->corte->variants_reused : res->corte->variants_made, 4);
    }
}
END_TEST

/* The variants of files whose bytes did not change are copied from the
 * corte served, not compressed again; a changed file's are made anew. */
START_TEST(variants_of_unchanged_files_are_reused)
{
    prep_load_result_t *first =
        load(make_package("a.tar.gz", "2024-06-02T21:05:00-06:00"));
    prep_load_result_t *second;
    apr_uint64_t end = 0;

    ck_assert_int_eq(first->outcome, PREP_LOAD_PUBLISHED);
    ck_assert_uint_gt(first->corte->variants_made, 0);
    ck_assert_uint_eq(first->corte->variants_reused, 0);
    second = load(make_package("b.tar.gz", "2024-06-02T21:10:00-06:00"));
    ck_assert_int_eq(second->outcome, PREP_LOAD_PUBLISHED);
    /* datos.csv's gzip and br at least; main.json changed */
    ck_assert_uint_ge(second->corte->variants_reused, 2);
    ck_assert_uint_lt(second->corte->variants_made,
                      first->corte->variants_made);
    ck_assert_int_eq(
        variant_decodes(second->corte->id, "datos.csv", PREP_ENC_GZIP, &end),
        1);
    ck_assert_int_eq(
        variant_decodes(second->corte->id, "datos.csv", PREP_ENC_BR, &end), 1);
}
END_TEST

/* The Last-Modified corte `id` publishes for `path`. */
static apr_time_t entry_mtime(const char *id, const char *path)
{
    prep_index_t *idx = corte_index(id);
    const prep_index_entry_t *e;

    ck_assert_ptr_nonnull(e = prep_index_lookup(idx, path, strlen(path)));
    return prep_index_entry_mtime(e);
}

START_TEST(unchanged_files_keep_their_last_modified)
{
    prep_load_result_t *first, *second;
    apr_time_t csv;

    first = load(make_package("a.tar.gz", "2024-06-02T21:05:00-06:00"));
    ck_assert_int_eq(first->outcome, PREP_LOAD_PUBLISHED);
    csv = entry_mtime(first->corte->id, "datos.csv");
    /* the second package's files are written again: other mtimes */
    apr_sleep(apr_time_from_msec(1100));
    second = load(make_package("b.tar.gz", "2024-06-02T21:10:00-06:00"));
    ck_assert_int_eq(second->outcome, PREP_LOAD_PUBLISHED);
    /* datos.csv has the same bytes: the first corte's time stays */
    ck_assert_int_eq(entry_mtime(second->corte->id, "datos.csv"), csv);
    /* json/main.json changed: its own time in the second package */
    ck_assert_int_gt(entry_mtime(second->corte->id, "json/main.json"),
                     entry_mtime(first->corte->id, "json/main.json"));
}
END_TEST

/* ------------------------------------------------------------------ */
/* The operator's control (prep_operator.c) as a load obeys it, and the
 * journal of what each load did. */

/* Every line of the feed's journal, oldest first. */
static apr_status_t keep_journal_line(void *baton, json_t *line)
{
    json_array_append((json_t *)baton, line);
    return APR_SUCCESS;
}

static json_t *journal_lines(void)
{
    json_t *lines = json_array();
    apr_uint64_t bad = 0;

    ck_assert_int_eq(
        prep_journal_each(feed.store, 0, keep_journal_line, lines, &bad, pool),
        APR_SUCCESS);
    ck_assert_uint_eq(bad, 0);
    return lines;
}

/* The events of the journal's lines, separated by spaces. */
static const char *journal_events(json_t *lines)
{
    const char *out = "";
    size_t i;
    json_t *line;

    json_array_foreach(lines, i, line)
    {
        out = apr_pstrcat(
            pool, out, *out ? " " : "",
            json_string_value(json_object_get(line, PREP_JOURNAL_KEY_EVENT)),
            NULL);
    }
    return out;
}

/* The last line of event `event` (borrowed from lines), which must be. */
static json_t *journal_last(json_t *lines, const char *event)
{
    size_t i = json_array_size(lines);

    while (i-- > 0) {
        json_t *line = json_array_get(lines, i);

        if (!strcmp(json_string_value(
                        json_object_get(line, PREP_JOURNAL_KEY_EVENT)),
                    event)) {
            return line;
        }
    }
    ck_abort_msg("no \"%s\" in the journal: %s", event, journal_events(lines));
    return NULL;
}

static const char *line_str(const json_t *line, const char *key)
{
    const char *s = json_string_value(json_object_get(line, key));

    ck_assert_msg(s != NULL, "no \"%s\" in the line", key);
    return s;
}

/* The id of the corte record a journal line carries. */
static const char *line_corte_id(const json_t *line)
{
    return line_str(json_object_get(line, PREP_JOURNAL_KEY_CORTE),
                    PREP_CORTE_KEY_ID);
}

/* What prepctl would do, as user "test", now. */
static prep_op_t op_now(void)
{
    prep_op_t op = {&feed, "test", apr_time_now()};

    return op;
}

/* Pins the feed at corte id as prepctl pin does (served at once); the
 * store's lock it takes goes with its pool, as when prepctl exits. */
static void pin_at(const char *id)
{
    prep_op_t op = op_now();
    prep_op_result_t r;
    apr_pool_t *op_pool;

    apr_pool_create(&op_pool, pool);
    ck_assert_int_eq(prep_op_pin(&op, id, &r, op_pool), PREP_OP_DONE);
    apr_pool_destroy(op_pool);
    ck_assert_str_eq(current_id(), id);
}

/* A drill on, as prepctl drill FEED on does. */
static void drill_on(void)
{
    prep_op_t op = op_now();
    prep_op_result_t r;
    apr_pool_t *op_pool;

    apr_pool_create(&op_pool, pool);
    ck_assert_int_eq(prep_op_drill(&op, 1, &r, op_pool), PREP_OP_DONE);
    apr_pool_destroy(op_pool);
}

static int cortes_hold(const char *id)
{
    return prep_store_corte_usable(NULL, feed.store, id, pool);
}

/* Pinned: the new corte is loaded, indexed and kept in cortes/, recorded
 * in the history and set aside, but current stays the corte pinned; it is
 * measured against the newest corte retained, not the one served. */
START_TEST(pinned_feed_retains_new_cortes_and_serves_the_pinned_one)
{
    prep_load_result_t *a, *b, *res;
    prep_corte_t *recorded;
    json_t *lines, *line;
    const char *html;

    a = load(make_package("a.tar.gz", "2024-06-02T21:05:00-06:00"));
    b = load(make_package("b.tar.gz", "2024-06-02T21:10:00-06:00"));
    ck_assert_int_eq(b->outcome, PREP_LOAD_PUBLISHED);
    pin_at(a->corte->id);

    res = load(make_package("c.tar.gz", "2024-06-02T21:15:00-06:00"));
    ck_assert_msg(res->verdict.reason == NULL, "refused: %s",
                  res->verdict.message);
    ck_assert_int_eq(res->outcome, PREP_LOAD_RETAINED);
    ck_assert(!strncmp(res->corte->id, "20240603T031500Z-", 17));
    ck_assert_str_eq(current_id(), a->corte->id);
    ck_assert(cortes_hold(res->corte->id));
    html = served(res->corte->id, "index.html", 1);
    ck_assert_ptr_nonnull(strstr(html, "02/06/2024 21:15"));
    ck_assert_int_eq(
        prep_store_history_find(&recorded, feed.store, res->corte->id, pool),
        APR_SUCCESS);
    ck_assert_str_eq(recorded->package, "c.tar.gz");
    ck_assert(
        exists(apr_pstrcat(pool, feed.store, "/processed/c.tar.gz", NULL)));
    ck_assert(!exists(apr_pstrcat(pool, feed.incoming, "/c.tar.gz", NULL)));
    ck_assert_str_eq(prep_store_newest(feed.store, pool)->id, res->corte->id);

    /* newer than the corte pinned, older than the newest retained */
    res = load(make_package("d.tar.gz", "2024-06-02T21:07:00-06:00"));
    ck_assert_int_eq(res->outcome, PREP_LOAD_REFUSED);
    ck_assert_str_eq(res->verdict.reason, "older-corte");
    ck_assert_msg(strstr(res->verdict.message, "newest corte retained") &&
                      strstr(res->verdict.message, a->corte->id),
                  "%s", res->verdict.message);
    ck_assert(
        exists(apr_pstrcat(pool, feed.store, "/rejected/d.tar.gz", NULL)));
    /* the newest retained again: the same corte, nothing loaded */
    run(apr_psprintf(pool, "cp '%s/processed/c.tar.gz' '%s/c3.tar.gz'",
                     feed.store, feed.incoming));
    res = load(apr_pstrcat(pool, feed.incoming, "/c3.tar.gz", NULL));
    ck_assert_int_eq(res->outcome, PREP_LOAD_SAME);
    ck_assert_str_eq(current_id(), a->corte->id);

    lines = journal_lines();
    ck_assert_str_eq(journal_events(lines), "published published pin retained "
                                            "refused same-corte");
    line = journal_last(lines, "retained");
    ck_assert_str_eq(line_corte_id(line),
                     prep_store_newest(feed.store, pool)->id);
    ck_assert_str_eq(line_str(line, "served"), a->corte->id);
    ck_assert_str_eq(line_str(line, PREP_JOURNAL_KEY_FEED), "qro");
    ck_assert_ptr_null(json_object_get(line, PREP_JOURNAL_KEY_DRILL));
    line = json_array_get(lines, 4);
    ck_assert_str_eq(line_str(line, PREP_JOURNAL_KEY_PACKAGE), "d.tar.gz");
    ck_assert_str_eq(line_str(line, PREP_JOURNAL_KEY_REASON), "older-corte");
    ck_assert_str_eq(
        line_str(line, PREP_JOURNAL_KEY_MESSAGE),
        apr_psprintf(pool,
                     "its corte time "
                     "2024-06-02T21:07:00-06:00 is older "
                     "than the newest corte retained (%s, "
                     "2024-06-02T21:15:00-06:00) while the "
                     "feed is pinned at %s",
                     line_corte_id(journal_last(lines, "retained")),
                     a->corte->id));
    line = journal_last(lines, "same-corte");
    ck_assert_str_eq(line_str(line, PREP_JOURNAL_KEY_PACKAGE), "c3.tar.gz");
    ck_assert_str_eq(line_corte_id(line),
                     line_corte_id(journal_last(lines, "retained")));
    json_decref(lines);
}
END_TEST

/* A republish replaces the corte of its id and keeps it current, pinned or
 * not; the journal says why. */
START_TEST(republish_of_the_pinned_corte_keeps_it_served)
{
    prep_load_request_t req = {"a.tar.gz", NULL, PREP_LOAD_REPUBLISH,
                               NULL,       NULL, "banner"};
    prep_load_result_t *a, *res;
    json_t *lines, *line;

    a = load(make_package("a.tar.gz", "2024-06-02T21:05:00-06:00"));
    load(make_package("b.tar.gz", "2024-06-02T21:10:00-06:00"));
    pin_at(a->corte->id);
    req.corte_id = a->corte->id;
    req.corte_sha256 = a->corte->sha256;
    res = prep_load_package(&feed, &req, NULL, NULL, pool);
    ck_assert_int_eq(res->outcome, PREP_LOAD_PUBLISHED);
    ck_assert_str_eq(res->corte->id, a->corte->id);
    ck_assert_str_eq(current_id(), a->corte->id);
    /* a heal (why NULL) */
    req.why = NULL;
    ck_assert_int_eq(prep_load_package(&feed, &req, NULL, NULL, pool)->outcome,
                     PREP_LOAD_PUBLISHED);
    /* and one that fails: refused, journaled with its package and reason */
    req.corte_id = "20240603T030000Z-00000000";
    ck_assert_int_eq(prep_load_package(&feed, &req, NULL, NULL, pool)->outcome,
                     PREP_LOAD_REFUSED);
    lines = journal_lines();
    ck_assert_str_eq(journal_events(lines), "published published pin "
                                            "republished republished refused");
    line = json_array_get(lines, 3);
    ck_assert_str_eq(line_str(line, "why"), "banner");
    ck_assert_str_eq(line_corte_id(line), a->corte->id);
    ck_assert_str_eq(line_str(json_array_get(lines, 4), "why"), "healed");
    line = journal_last(lines, "refused");
    ck_assert_str_eq(line_str(line, PREP_JOURNAL_KEY_PACKAGE), "a.tar.gz");
    ck_assert_str_eq(line_str(line, PREP_JOURNAL_KEY_REASON), "verify");
    json_decref(lines);
}
END_TEST

/* While pinned the prune keeps the corte pinned and the newest retained,
 * even with PrepKeep 1. */
START_TEST(pinned_prune_keeps_the_pinned_and_the_newest_corte)
{
    prep_load_result_t *a, *b, *c;

    feed.keep = 1;
    a = load(make_package("a.tar.gz", "2024-06-02T21:05:00-06:00"));
    pin_at(a->corte->id);
    b = load(make_package("b.tar.gz", "2024-06-02T21:10:00-06:00"));
    ck_assert_int_eq(b->outcome, PREP_LOAD_RETAINED);
    ck_assert(cortes_hold(a->corte->id));
    ck_assert(cortes_hold(b->corte->id));
    c = load(make_package("c.tar.gz", "2024-06-02T21:15:00-06:00"));
    ck_assert_int_eq(c->outcome, PREP_LOAD_RETAINED);
    ck_assert(cortes_hold(a->corte->id));
    ck_assert(!cortes_hold(b->corte->id));
    ck_assert(cortes_hold(c->corte->id));
    ck_assert_str_eq(current_id(), a->corte->id);
}
END_TEST

/* A drill takes corte times ahead of the clock (drill packages carry the
 * election day's times), its banner says SIMULACRO before the corte time,
 * its corte records it and its journal lines are marked. */
START_TEST(drill_accepts_a_corte_a_day_ahead_and_says_simulacro)
{
    const char *ahead = iso_from_now(24 * 3600);
    prep_load_result_t *res;
    prep_corte_t *c;
    json_t *lines, *line;
    const char *html;

    res = load(make_package("a.tar.gz", ahead));
    ck_assert_int_eq(res->outcome, PREP_LOAD_REFUSED);
    ck_assert_str_eq(res->verdict.reason, "future-corte");
    drill_on();
    res = load(make_package("b.tar.gz", ahead));
    ck_assert_msg(res->verdict.reason == NULL, "refused: %s",
                  res->verdict.message);
    ck_assert_int_eq(res->outcome, PREP_LOAD_PUBLISHED);
    ck_assert_uint_eq(res->corte->banner_state, PREP_BANNER_STATE_DRILL);
    ck_assert_int_eq(
        prep_store_read_corte(
            &c, prep_store_corte_dir(pool, feed.store, current_id()), pool),
        APR_SUCCESS);
    ck_assert_uint_eq(c->banner_state, PREP_BANNER_STATE_DRILL);
    html = served(current_id(), "index.html", 1);
    ck_assert_msg(strstr(html, "<strong>SIMULACRO</strong> · Último corte: ") !=
                      NULL,
                  "%s", html);
    /* the feed's own limit is untouched by the drill */
    ck_assert(feed.future_limit > 0);

    lines = journal_lines();
    ck_assert_str_eq(journal_events(lines), "refused drill published");
    ck_assert_ptr_null(
        json_object_get(json_array_get(lines, 0), PREP_JOURNAL_KEY_DRILL));
    line = journal_last(lines, "published");
    ck_assert(json_is_true(json_object_get(line, PREP_JOURNAL_KEY_DRILL)));
    ck_assert_str_eq(line_corte_id(line), res->corte->id);
    ck_assert(json_is_true(json_object_get(
        json_object_get(line, PREP_JOURNAL_KEY_CORTE), PREP_CORTE_KEY_DRILL)));
    json_decref(lines);
}
END_TEST

/* PrepDrill on alone is a drill too; once PrepPublishUntil has passed the
 * banner says the close after the corte time. */
START_TEST(configured_drill_and_close_are_in_the_banner_and_the_record)
{
    prep_load_result_t *res;
    json_t *lines, *line;
    const char *html;

    feed.drill = 1;
    feed.publish_until = apr_time_now() - apr_time_from_sec(60);
    res = load(make_package("a.tar.gz", iso_from_now(3600)));
    ck_assert_int_eq(res->outcome, PREP_LOAD_PUBLISHED);
    ck_assert_uint_eq(res->corte->banner_state,
                      PREP_BANNER_STATE_DRILL | PREP_BANNER_STATE_CLOSED);
    html = served(current_id(), "index.html", 1);
    ck_assert_msg(strstr(html, "<strong>SIMULACRO</strong> · Último corte: ") &&
                      strstr(html, " · Cierre del PREP</div>"),
                  "%s", html);
    /* a template's {{estado}} */
    feed.drill = 0;
    APR_ARRAY_IDX(feed.banners, 1, const char *) = "<b>{{estado}}</b>";
    res = load(make_package("b.tar.gz", "2024-06-02T21:05:00-06:00"));
    ck_assert_int_eq(res->outcome, PREP_LOAD_REFUSED); /* older, no drill */
    res = load(make_package("c.tar.gz", iso_from_now(2 * 3600)));
    ck_assert_int_eq(res->outcome, PREP_LOAD_REFUSED); /* future, no drill */
    feed.future_limit = -1;
    res = load(make_package("d.tar.gz", iso_from_now(2 * 3600)));
    ck_assert_int_eq(res->outcome, PREP_LOAD_PUBLISHED);
    ck_assert_uint_eq(res->corte->banner_state, PREP_BANNER_STATE_CLOSED);
    ck_assert_ptr_nonnull(strstr(served(current_id(), "index.html", 2),
                                 "<b>Cierre del PREP</b>"));
    lines = journal_lines();
    line = journal_last(lines, "published");
    ck_assert(json_is_true(json_object_get(
        json_object_get(line, PREP_JOURNAL_KEY_CORTE), PREP_CORTE_KEY_CLOSED)));
    ck_assert_ptr_null(json_object_get(line, PREP_JOURNAL_KEY_DRILL));
    json_decref(lines);
}
END_TEST

/* Each load journals what it did, with the fields of its event. */
START_TEST(loads_are_journaled_published_refused_same_corte)
{
    prep_load_result_t *a, *res;
    json_t *lines, *line, *corte;

    a = load(make_package("a.tar.gz", "2024-06-02T21:05:00-06:00"));
    res = load(make_package("b.tar.gz", "no es una fecha"));
    ck_assert_str_eq(res->verdict.reason, "no-corte-time");
    run(apr_psprintf(pool, "cp '%s/processed/a.tar.gz' '%s/a2.tar.gz'",
                     feed.store, feed.incoming));
    ck_assert_int_eq(
        load(apr_pstrcat(pool, feed.incoming, "/a2.tar.gz", NULL))->outcome,
        PREP_LOAD_SAME);
    lines = journal_lines();
    ck_assert_str_eq(journal_events(lines), "published refused same-corte");
    line = json_array_get(lines, 0);
    ck_assert_str_eq(line_str(line, PREP_JOURNAL_KEY_FEED), "qro");
    ck_assert_ptr_nonnull(line_str(line, PREP_JOURNAL_KEY_AT));
    corte = json_object_get(line, PREP_JOURNAL_KEY_CORTE);
    ck_assert_str_eq(line_str(corte, PREP_CORTE_KEY_ID), a->corte->id);
    ck_assert_str_eq(line_str(corte, PREP_CORTE_KEY_TIME),
                     "2024-06-02T21:05:00-06:00");
    ck_assert_str_eq(line_str(corte, PREP_CORTE_KEY_PACKAGE), "a.tar.gz");
    ck_assert_str_eq(line_str(corte, PREP_CORTE_KEY_SHA256), a->corte->sha256);
    ck_assert_int_eq(json_integer_value(json_object_get(corte, "files")), 6);
    ck_assert(json_is_integer(json_object_get(corte, "bytes")));
    ck_assert(json_is_integer(json_object_get(corte, "load_ms")));
    line = json_array_get(lines, 1);
    ck_assert_str_eq(line_str(line, PREP_JOURNAL_KEY_PACKAGE), "b.tar.gz");
    ck_assert_str_eq(line_str(line, PREP_JOURNAL_KEY_REASON), "no-corte-time");
    ck_assert_str_eq(line_str(line, PREP_JOURNAL_KEY_MESSAGE),
                     res->verdict.message);
    line = json_array_get(lines, 2);
    ck_assert_str_eq(line_str(line, PREP_JOURNAL_KEY_PACKAGE), "a2.tar.gz");
    ck_assert_str_eq(line_corte_id(line), a->corte->id);
    json_decref(lines);
}
END_TEST

/* A journal that cannot be written is logged as an error and the load goes
 * on. */
START_TEST(a_journal_that_cannot_be_written_never_stops_a_load)
{
    apr_array_header_t *lines = apr_array_make(pool, 4, sizeof(const char *));
    prep_load_request_t req = {"a.tar.gz", NULL, PREP_LOAD_NEW,
                               NULL,       NULL, NULL};
    prep_load_result_t *res;
    int i, said = 0;

    /* a directory where the journal should be */
    ck_assert_int_eq(
        apr_dir_make(apr_pstrcat(pool, feed.store, "/" PREP_JOURNAL_FILE, NULL),
                     APR_FPROT_OS_DEFAULT, pool),
        APR_SUCCESS);
    make_package("a.tar.gz", "2024-06-02T21:05:00-06:00");
    res = prep_load_package(&feed, &req, keep_line, lines, pool);
    ck_assert_int_eq(res->outcome, PREP_LOAD_PUBLISHED);
    ck_assert_str_eq(current_id(), res->corte->id);
    for (i = 0; i < lines->nelts; i++) {
        said |= !strncmp(APR_ARRAY_IDX(lines, i, const char *),
                         "E: cannot write \"published\" to the journal ", 43);
    }
    ck_assert_msg(said, "no journal error logged");
}
END_TEST

/* A control that cannot be read is no reason to publish past a pin: the
 * store is busy and the package waits in incoming. */
START_TEST(an_unreadable_control_keeps_the_package_waiting)
{
    const char *pkg = make_package("a.tar.gz", "2024-06-02T21:05:00-06:00");
    prep_load_result_t *res;

    write_file(apr_pstrcat(pool, feed.store, "/" PREP_CONTROL_FILE, NULL),
               "{\"pin\": ");
    res = load(pkg);
    ck_assert_int_eq(res->outcome, PREP_LOAD_BUSY);
    ck_assert_msg(strstr(res->verdict.message, PREP_CONTROL_FILE) != NULL, "%s",
                  res->verdict.message);
    ck_assert(exists(pkg));
    ck_assert_ptr_null(current_id());
}
END_TEST

Suite *suite_loader(void)
{
    Suite *s = suite_create("loader");
    TCase *tc = tcase_create("load");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, good_package_is_published);
    tcase_add_test(tc, corte_record_is_that_of_its_package);
    tcase_add_test(tc, published_line_names_the_corte_and_its_phases);
    tcase_add_test(tc, bad_package_keeps_the_corte);
    tcase_add_test(tc, older_future_and_missing_time_are_refused);
    tcase_add_test(tc, future_limit_and_same_time);
    tcase_add_test(tc, one_open_one_package);
    tcase_add_test(tc, sidecars_are_not_followed);
    tcase_add_test(tc, names_that_are_not_utf8_are_shown_escaped);
    tcase_add_test(tc, same_package_twice_is_not_republished);
    tcase_add_test(tc, keep_removes_old_cortes_but_not_the_current);
    tcase_add_test(tc, verify_sha256_sidecar);
    tcase_add_loop_test(tc, verify_signature_keys, 0, 3);
    tcase_add_test(tc, check_runs_without_a_store);
    tcase_add_test(tc, check_refuses_what_a_load_refuses);
    tcase_add_test(tc, variants_of_unchanged_files_are_reused);
    tcase_add_test(tc, unchanged_files_keep_their_last_modified);
    tcase_add_test(tc, republish_gives_the_very_corte_again_or_is_refused);
    tcase_add_test(tc, republished_identity_is_the_whole_sha256_and_the_id);
    tcase_add_test(tc, corte_time_against_the_corte_served);
    tcase_add_test(tc,
                   pinned_feed_retains_new_cortes_and_serves_the_pinned_one);
    tcase_add_test(tc, republish_of_the_pinned_corte_keeps_it_served);
    tcase_add_test(tc, pinned_prune_keeps_the_pinned_and_the_newest_corte);
    tcase_add_test(tc, drill_accepts_a_corte_a_day_ahead_and_says_simulacro);
    tcase_add_test(tc,
                   configured_drill_and_close_are_in_the_banner_and_the_record);
    tcase_add_test(tc, loads_are_journaled_published_refused_same_corte);
    tcase_add_test(tc, a_journal_that_cannot_be_written_never_stops_a_load);
    tcase_add_test(tc, an_unreadable_control_keeps_the_package_waiting);

    suite_add_tcase(s, tc);
    /* files over PREP_HUGE_FILE: tagged "large", not run under valgrind */
    tc = tcase_create("load-large");
    tcase_set_tags(tc, "large");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, huge_files_are_streamed);
    suite_add_tcase(s, tc);
    return s;
}
