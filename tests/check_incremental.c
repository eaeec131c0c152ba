/* check_incremental.c — unit tests of incremental packages: the manifest
 * (prep-incremental.json) and every way it is refused, its base against a
 * corte, and whole loads of real packages made with tar: a full package,
 * then incremental ones applied over it into new complete cortes, refused
 * as base-mismatch or incremental, over a pinned feed and republished. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_file_io.h>
#include <apr_strings.h>

#include "prep.h"
#include "test_prep.h"

static apr_pool_t *pool;
static const char *root;
static prep_feed_t feed;
static prep_limits_t limits;

static void run(const char *cmd)
{
    ck_assert_msg(system(cmd) == 0, "command failed: %s", cmd);
}

/* A feed in a new /tmp/prep-incremental-XXXXXX whose corte time is
 * json/main.json's fechaCorte. */
static void setup(void)
{
    prep_journal_t journal;

    test_night_open(&pool, &root, &feed, &journal, "incremental");
    feed.corte.source = PREP_CORTE_JSON;
    feed.corte.file = "json/main.json";
    feed.corte.pointer = "/fechaCorte";
    limits = feed.limits;
}

static void teardown(void)
{
    test_night_close(pool, root);
}

/* --- the manifest -------------------------------------------------- */

static prep_incremental_t *parsed(const char *text)
{
    prep_incremental_t *m;
    prep_verdict_t v = {NULL, NULL};

    ck_assert_msg(prep_incremental_parse(&m, text, strlen(text), &limits, &v,
                                         pool) == APR_SUCCESS,
                  "%s refused: %s", text, v.message);
    ck_assert_ptr_null(v.reason);
    return m;
}

/* text (len bytes) refused as "incremental" with a message holding `says` */
static void refused_n(const char *text, apr_size_t len, const char *says)
{
    prep_incremental_t *m = (void *)1;
    prep_verdict_t v = {NULL, NULL};

    ck_assert_int_ne(prep_incremental_parse(&m, text, len, &limits, &v, pool),
                     APR_SUCCESS);
    ck_assert_ptr_null(m);
    ck_assert_str_eq(v.reason, "incremental");
    ck_assert_msg(strstr(v.message, says) != NULL, "%s: \"%s\" not in \"%s\"",
                  text, says, v.message);
    ck_assert_msg(!strncmp(v.message, PREP_INCREMENTAL_FILE ": ",
                           strlen(PREP_INCREMENTAL_FILE) + 2),
                  "%s", v.message);
}

static void refused(const char *text, const char *says)
{
    refused_n(text, strlen(text), says);
}

START_TEST(manifest_with_an_id_or_a_time)
{
    prep_incremental_t *m =
        parsed("{\"base\": \"20240603T030500Z-0123abcd\", \"deleted\": "
               "[\"csv/old.csv\", \"Querétaro 1.json\"]}");

    ck_assert_str_eq(m->base, "20240603T030500Z-0123abcd");
    ck_assert_int_eq(m->base_is_time, 0);
    ck_assert_int_eq(m->deleted->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(m->deleted, 0, const char *), "csv/old.csv");
    ck_assert_str_eq(APR_ARRAY_IDX(m->deleted, 1, const char *),
                     "Querétaro 1.json");

    m = parsed("{\"format\": 1, \"deleted\": [], \"base\": "
               "\"2024-06-02T21:05:00-06:00\"}");
    ck_assert_int_eq(m->base_is_time, 1);
    ck_assert_int_eq(apr_time_sec(m->base_time), 1717383900);
    ck_assert_int_eq(m->deleted->nelts, 0);
    m = parsed("{\"base\": \"2024-06-03T03:05:00Z\", \"deleted\": []}");
    ck_assert_int_eq(apr_time_sec(m->base_time), 1717383900);
}
END_TEST

START_TEST(manifest_refusals)
{
    static const char invalid_utf8[] =
        "{\"base\": \"20240603T030500Z-0123abcd\", \"deleted\": [\"a\xff\"]}";
    static const char nul[] = "{\"base\": \"20240603T030500Z-0123abcd\", "
                              "\"deleted\": [\"a\\u0000b\"]}";
    const char *deep = "a";
    char *big;
    int i;

    refused("", "not valid JSON");
    refused("{\"base\": ", "not valid JSON");
    refused("[]", "must be a JSON object");
    refused("\"base\"", "not valid JSON");
    refused("{\"deleted\": []}", "must have \"base\" and \"deleted\"");
    refused("{\"base\": \"20240603T030500Z-0123abcd\"}",
            "must have \"base\" and \"deleted\"");
    refused("{\"base\": \"20240603T030500Z-0123abcd\", \"deleted\": [], "
            "\"comment\": \"x\"}",
            "unknown key \"comment\"");
    refused("{\"base\": \"20240603T030500Z-0123abcd\", \"base\": "
            "\"20240603T030500Z-0123abcd\", \"deleted\": []}",
            "not valid JSON");
    refused("{\"base\": 20240603, \"deleted\": []}",
            "\"base\" must be a corte id or a time");
    refused("{\"base\": \"\", \"deleted\": []}",
            "\"base\" must be a corte id or a time");
    refused("{\"base\": \"ayer\", \"deleted\": []}",
            "\"base\" is neither a corte id");
    refused("{\"base\": \"2024-06-02T21:05:00\", \"deleted\": []}",
            "\"base\" is neither a corte id");
    refused("{\"base\": \"20240603T030500Z-0123abc\", \"deleted\": []}",
            "\"base\" is neither a corte id");
    refused("{\"base\": \"20240603T030500Z-0123abcd\", \"deleted\": {}}",
            "\"deleted\" must be an array of paths");
    refused("{\"base\": \"20240603T030500Z-0123abcd\", \"deleted\": \"a\"}",
            "\"deleted\" must be an array of paths");
    refused("{\"base\": \"20240603T030500Z-0123abcd\", \"deleted\": [1]}",
            "\"deleted\"[0] is not a string");
    refused("{\"base\": \"20240603T030500Z-0123abcd\", \"deleted\": "
            "[\"a\", null]}",
            "\"deleted\"[1] is not a string");
    refused("{\"base\": \"20240603T030500Z-0123abcd\", \"deleted\": []"
            ", \"format\": 2}",
            "\"format\" must be 1");
    refused("{\"base\": \"20240603T030500Z-0123abcd\", \"deleted\": []"
            ", \"format\": \"1\"}",
            "\"format\" must be 1");
    refused_n(invalid_utf8, sizeof(invalid_utf8) - 1, "not valid JSON");
    refused_n(nul, sizeof(nul) - 1, "");
    /* the package rules over each path deleted */
    refused("{\"base\": \"20240603T030500Z-0123abcd\", \"deleted\": "
            "[\"/etc/passwd\"]}",
            "\"/etc/passwd\" is absolute");
    refused("{\"base\": \"20240603T030500Z-0123abcd\", \"deleted\": "
            "[\"C:x\"]}",
            "is absolute");
    refused("{\"base\": \"20240603T030500Z-0123abcd\", \"deleted\": "
            "[\"a/../../b\"]}",
            "climbs out");
    refused("{\"base\": \"20240603T030500Z-0123abcd\", \"deleted\": "
            "[\"a\\\\b\"]}",
            "has a backslash");
    refused("{\"base\": \"20240603T030500Z-0123abcd\", \"deleted\": "
            "[\"./a\"]}",
            "is not normalized");
    refused("{\"base\": \"20240603T030500Z-0123abcd\", \"deleted\": "
            "[\"a//b\"]}",
            "is not normalized");
    refused("{\"base\": \"20240603T030500Z-0123abcd\", \"deleted\": "
            "[\"a/\"]}",
            "is not normalized");
    refused("{\"base\": \"20240603T030500Z-0123abcd\", \"deleted\": "
            "[\"\"]}",
            "is empty");
    refused("{\"base\": \"20240603T030500Z-0123abcd\", \"deleted\": "
            "[\"a\\u001bb\"]}",
            "has a control character");
    refused("{\"base\": \"20240603T030500Z-0123abcd\", \"deleted\": "
            "[\"a\", \"b\", \"a\"]}",
            "the path \"a\" is deleted twice");
    for (i = 1; i <= limits.depth; i++) {
        deep = apr_pstrcat(pool, deep, "/a", NULL);
    }
    refused(apr_psprintf(pool,
                         "{\"base\": \"20240603T030500Z-0123abcd\", "
                         "\"deleted\": [\"%s\"]}",
                         deep),
            "deeper than PrepLimits depth");
    /* over 1 MB, however valid */
    big = apr_palloc(pool, PREP_INCREMENTAL_MAX + 2);
    memset(big, ' ', PREP_INCREMENTAL_MAX + 1);
    {
        static const char head[] =
            "{\"base\": \"20240603T030500Z-0123abcd\", \"deleted\": []}";

        memcpy(big, head, sizeof(head) - 1);
    }
    big[PREP_INCREMENTAL_MAX + 1] = '\0';
    refused(big, "more than the limit of 1048576");
}
END_TEST

START_TEST(base_names_the_corte_by_id_or_instant)
{
    prep_corte_t served = {0};
    prep_verdict_t v = {NULL, NULL};
    prep_incremental_t *by_id =
        parsed("{\"base\": \"20240603T030500Z-0123abcd\", \"deleted\": []}");
    prep_incremental_t *by_time =
        parsed("{\"base\": \"2024-06-02T23:05:00-04:00\", \"deleted\": []}");

    served.id = "20240603T030500Z-0123abcd";
    served.time = apr_time_from_sec(1717383900);
    ck_assert(prep_incremental_names(by_id, &served));
    ck_assert(prep_incremental_names(by_time, &served)); /* the same instant */
    ck_assert_int_eq(prep_incremental_base_check(by_id, &served,
                                                 "the corte served", &feed.zone,
                                                 &v, pool),
                     APR_SUCCESS);
    served.id = "20240603T031000Z-fedc0987";
    served.time += apr_time_from_sec(300);
    ck_assert(!prep_incremental_names(by_id, &served));
    ck_assert(!prep_incremental_names(by_time, &served));
    ck_assert_int_ne(prep_incremental_base_check(by_time, &served,
                                                 "the corte served", &feed.zone,
                                                 &v, pool),
                     APR_SUCCESS);
    ck_assert_str_eq(v.reason, "base-mismatch");
    ck_assert_str_eq(v.message,
                     "the incremental package is over corte "
                     "2024-06-02T23:05:00-04:00, not over the corte served "
                     "20240603T031000Z-fedc0987 (2024-06-02T21:10:00-06:00); "
                     "send a full package, or one over "
                     "20240603T031000Z-fedc0987");
    ck_assert_int_ne(prep_incremental_base_check(
                         by_id, NULL, "the corte served", &feed.zone, &v, pool),
                     APR_SUCCESS);
    ck_assert_str_eq(v.reason, "base-mismatch");
    ck_assert_str_eq(v.message, "the incremental package is over corte "
                                "20240603T030500Z-0123abcd, but the feed has "
                                "no corte to apply it to");
}
END_TEST

/* --- whole loads --------------------------------------------------- */

/* The bytes of `path` as corte id serves them (slot 0, identity), or NULL
 * when the corte does not hold it. */
static char *served(const char *id, const char *path)
{
    return test_served(feed.store, id, path, 0, pool);
}

/* The tree `name` in root: its json/main.json says `corte`. */
static const char *tree(const char *name, const char *corte)
{
    const char *t = apr_psprintf(pool, "%s/%s", root, name);

    run(apr_psprintf(pool,
                     "mkdir -p '%s/prep/json' '%s/prep/csv' && "
                     "printf '{\"fechaCorte\": \"%s\"}\\n' > "
                     "'%s/prep/json/main.json'",
                     t, t, corte, t));
    return t;
}

static void put(const char *tree_dir, const char *path, const char *text)
{
    run(apr_psprintf(pool,
                     "mkdir -p \"$(dirname '%s/prep/%s')\" && "
                     "printf '%%s' '%s' > '%s/prep/%s'",
                     tree_dir, path, text, tree_dir, path));
}

/* The tree packed as incoming/name with tar, its top folder "prep". */
static const char *pack(const char *tree_dir, const char *name)
{
    const char *pkg = apr_pstrcat(pool, feed.incoming, "/", name, NULL);

    run(apr_psprintf(pool, "tar -C '%s' -czf '%s' prep", tree_dir, pkg));
    return pkg;
}

static prep_load_result_t *load_as(const char *name, prep_load_mode_e mode,
                                   const prep_corte_t *corte)
{
    prep_load_request_t req = {name, NULL, mode, NULL, NULL};

    if (corte) {
        req.corte_id = corte->id;
        req.corte_sha256 = corte->sha256;
    }
    return prep_load_package(&feed, &req, NULL, NULL, pool);
}

static prep_load_result_t *load(const char *name)
{
    return load_as(name, PREP_LOAD_NEW, NULL);
}

/* The tree packed as incoming/name and loaded: it must be published. */
static prep_corte_t *published(const char *tree_dir, const char *name)
{
    prep_load_result_t *res;

    pack(tree_dir, name);
    res = load(name);
    ck_assert_msg(res->outcome == PREP_LOAD_PUBLISHED, "%s refused: %s", name,
                  res->verdict.message);
    return res->corte;
}

static const char *current_id(void)
{
    return test_current_id(feed.store, pool);
}

/* A full package of corte 21:05 published: the base of the tests. */
static prep_corte_t *base_corte(void)
{
    const char *t = tree("full", "2024-06-02T21:05:00-06:00");
    char *csv = apr_palloc(pool, 40001);
    int i;

    for (i = 0; i < 40000; i++) {
        csv[i] = (char)('a' + i % 26);
    }
    csv[40000] = '\0';
    put(t, "index.html", "<html><body>Resultados</body></html>");
    put(t, "csv/casillas.csv", csv);
    put(t, "csv/viejo.csv", "viejo");
    put(t, "distritos/index.html", "<html><body>Distritos</body></html>");
    return published(t, "full.tar.gz");
}

/* An incremental tree over `base` (a corte id or time), corte `corte`,
 * deleting the paths of the JSON array `deleted`. */
static const char *incremental(const char *name, const char *corte,
                               const char *base, const char *deleted)
{
    const char *t = tree(name, corte);

    put(t, PREP_INCREMENTAL_FILE,
        apr_psprintf(pool, "{\"base\": \"%s\", \"deleted\": %s}", base,
                     deleted));
    return t;
}

START_TEST(incremental_package_makes_a_complete_corte)
{
    prep_corte_t *base = base_corte();
    const char *t = incremental("inc", "2024-06-02T21:10:00-06:00", base->id,
                                "[\"csv/viejo.csv\"]");
    prep_corte_t *made;
    const char *id;

    put(t, "index.html", "<html><body>Resultados nuevos</body></html>");
    put(t, "csv/nuevo.csv", "nuevo");
    made = published(t, "inc.tar.gz");
    id = current_id();
    ck_assert_str_eq(id, made->id);
    ck_assert_str_ne(id, base->id);
    ck_assert_int_eq(apr_time_sec(made->time), 1717384200);
    /* changed, new, kept byte for byte, deleted, and no manifest */
    ck_assert_str_eq(served(id, "index.html"),
                     "<html><body>Resultados nuevos</body></html>");
    ck_assert_str_eq(served(id, "csv/nuevo.csv"), "nuevo");
    ck_assert_str_eq(served(id, "csv/casillas.csv"),
                     served(base->id, "csv/casillas.csv"));
    ck_assert_str_eq(served(id, "distritos/index.html"),
                     "<html><body>Distritos</body></html>");
    ck_assert_ptr_null(served(id, "csv/viejo.csv"));
    ck_assert_ptr_null(served(id, PREP_INCREMENTAL_FILE));
    ck_assert_ptr_nonnull(served(base->id, "csv/viejo.csv"));
    /* index.html, main.json, casillas.csv, nuevo.csv, distritos/index.html */
    ck_assert_uint_eq(made->files, 5);
    /* casillas.csv's and distritos/index.html's variants are reused */
    ck_assert_uint_ge(made->variants_reused, 2);
    ck_assert_str_eq(made->package, "inc.tar.gz");
}
END_TEST

START_TEST(base_by_time_and_only_deletions)
{
    prep_corte_t *base = base_corte();
    const char *t = incremental("inc", "2024-06-02T21:10:00-06:00",
                                "2024-06-03T03:05:00Z", "[\"csv/viejo.csv\"]");
    prep_corte_t *made = published(t, "inc.tar.gz");

    ck_assert_ptr_null(served(made->id, "csv/viejo.csv"));
    ck_assert_str_eq(served(made->id, "index.html"),
                     served(base->id, "index.html"));
}
END_TEST

/* The check of the refusal of incremental package `name`: `reason`, a
 * message holding `says`, and the corte served still `served_id`. */
static void refused_load(const char *name, const char *reason, const char *says,
                         const char *served_id)
{
    prep_load_result_t *res = load(name);

    ck_assert_int_eq(res->outcome, PREP_LOAD_REFUSED);
    ck_assert_str_eq(res->verdict.reason, reason);
    ck_assert_msg(strstr(res->verdict.message, says) != NULL,
                  "\"%s\" not in \"%s\"", says, res->verdict.message);
    ck_assert_str_eq(current_id(), served_id);
    ck_assert(access(apr_pstrcat(pool, feed.store, "/rejected/", name, NULL),
                     F_OK) == 0);
}

START_TEST(base_other_than_the_corte_served_is_refused)
{
    prep_corte_t *first = base_corte();
    const char *t =
        incremental("b", "2024-06-02T21:10:00-06:00", first->id, "[]");
    prep_corte_t *second;

    put(t, "index.html", "B");
    second = published(t, "b.tar.gz");
    /* over the first corte again: no longer the one served */
    t = incremental("c", "2024-06-02T21:15:00-06:00", first->id, "[]");
    pack(t, "c.tar.gz");
    refused_load("c.tar.gz", "base-mismatch",
                 apr_psprintf(pool,
                              "the incremental package is over corte %s, not "
                              "over the corte served %s",
                              first->id, second->id),
                 second->id);
}
END_TEST

START_TEST(no_corte_served_is_a_base_mismatch)
{
    const char *t = incremental("a", "2024-06-02T21:10:00-06:00",
                                "20240603T030500Z-0123abcd", "[]");
    prep_load_result_t *res;

    pack(t, "a.tar.gz");
    res = load("a.tar.gz");
    ck_assert_int_eq(res->outcome, PREP_LOAD_REFUSED);
    ck_assert_str_eq(res->verdict.reason, "base-mismatch");
    ck_assert_ptr_nonnull(
        strstr(res->verdict.message, "no corte to apply it to"));
    ck_assert_ptr_null(current_id());
}
END_TEST

START_TEST(bad_incremental_packages_are_refused)
{
    prep_corte_t *base = base_corte();
    const char *t;

    /* a deletion of a path the base does not hold */
    t = incremental("a", "2024-06-02T21:10:00-06:00", base->id,
                    "[\"csv/nunca.csv\"]");
    pack(t, "a.tar.gz");
    refused_load("a.tar.gz", "incremental",
                 "deletes \"csv/nunca.csv\", which the base corte", base->id);
    /* a path carried and deleted */
    t = incremental("b", "2024-06-02T21:10:00-06:00", base->id,
                    "[\"csv/viejo.csv\"]");
    put(t, "csv/viejo.csv", "otra vez");
    pack(t, "b.tar.gz");
    refused_load("b.tar.gz", "incremental",
                 "carries \"csv/viejo.csv\" and its prep-incremental.json "
                 "deletes it",
                 base->id);
    /* a file of the base made a directory */
    t = incremental("c", "2024-06-02T21:10:00-06:00", base->id, "[]");
    put(t, "csv/viejo.csv/dentro.csv", "x");
    pack(t, "c.tar.gz");
    refused_load("c.tar.gz", "incremental", "\"csv/viejo.csv\"", base->id);
    /* a manifest with a key too many */
    t = tree("d", "2024-06-02T21:10:00-06:00");
    put(t, PREP_INCREMENTAL_FILE,
        apr_psprintf(pool, "{\"base\": \"%s\", \"deleted\": [], \"x\": 1}",
                     base->id));
    pack(t, "d.tar.gz");
    refused_load("d.tar.gz", "incremental", "unknown key \"x\"", base->id);
    /* PrepLimits over the merged corte: the package is small, its base's
     * casillas.csv alone has 40000 bytes */
    feed.limits.bytes = 30000;
    t = incremental("e", "2024-06-02T21:10:00-06:00", base->id, "[]");
    pack(t, "e.tar.gz");
    refused_load("e.tar.gz", "limit-bytes", "merged with its base corte",
                 base->id);
}
END_TEST

/* Not at the top: a file like any other of a full package. */
START_TEST(manifest_below_the_top_is_a_file)
{
    const char *t = tree("a", "2024-06-02T21:05:00-06:00");

    put(t, "json/" PREP_INCREMENTAL_FILE, "no es un manifiesto");
    ck_assert_str_eq(
        served(published(t, "a.tar.gz")->id, "json/" PREP_INCREMENTAL_FILE),
        "no es un manifiesto");
}
END_TEST

static void pin_at(const char *id)
{
    prep_op_t op = {&feed, "test", apr_time_now()};
    prep_op_result_t r;
    apr_pool_t *op_pool;

    apr_pool_create(&op_pool, pool);
    ck_assert_int_eq(prep_op_pin(&op, id, &r, op_pool), PREP_OP_DONE);
    apr_pool_destroy(op_pool);
}

/* Pinned: an incremental package is over the newest corte retained, as the
 * loader measures a new corte against it; the corte served is not its
 * base. */
START_TEST(pinned_feed_measures_against_the_newest_retained)
{
    prep_corte_t *first = base_corte();
    const char *t;
    prep_load_result_t *res;

    pin_at(first->id);
    t = incremental("b", "2024-06-02T21:10:00-06:00", first->id, "[]");
    put(t, "index.html", "B");
    pack(t, "b.tar.gz");
    res = load("b.tar.gz");
    ck_assert_int_eq(res->outcome, PREP_LOAD_RETAINED);
    ck_assert_str_eq(current_id(), first->id);
    /* over the corte served (pinned), not the newest retained */
    t = incremental("c", "2024-06-02T21:15:00-06:00", first->id, "[]");
    pack(t, "c.tar.gz");
    refused_load("c.tar.gz", "base-mismatch",
                 apr_psprintf(pool,
                              "not over the newest corte retained (the feed "
                              "is pinned) %s",
                              res->corte->id),
                 first->id);
    /* over the newest retained */
    t = incremental("d", "2024-06-02T21:15:00-06:00", res->corte->id, "[]");
    pack(t, "d.tar.gz");
    res = load("d.tar.gz");
    ck_assert_int_eq(res->outcome, PREP_LOAD_RETAINED);
    ck_assert_str_eq(served(res->corte->id, "index.html"), "B");
}
END_TEST

/* A republish of an incremental corte (a heal, a banner due) applies its
 * retained package over the same base again: the very corte. */
START_TEST(republish_applies_the_package_over_its_base_again)
{
    prep_corte_t *base = base_corte();
    const char *t = incremental("b", "2024-06-02T21:10:00-06:00", base->id,
                                "[\"csv/viejo.csv\"]");
    prep_corte_t *made;
    prep_load_result_t *again;

    put(t, "index.html", "B");
    made = published(t, "b.tar.gz");
    again = load_as("b.tar.gz", PREP_LOAD_REPUBLISH, made);
    ck_assert_msg(again->outcome == PREP_LOAD_PUBLISHED, "refused: %s",
                  again->verdict.message);
    ck_assert_str_eq(again->corte->id, made->id);
    ck_assert_uint_eq(again->corte->files, made->files);
    ck_assert_str_eq(served(made->id, "csv/casillas.csv"),
                     served(base->id, "csv/casillas.csv"));
    ck_assert_ptr_null(served(made->id, "csv/viejo.csv"));
    /* its base gone from the store: refused, the corte stays */
    run(apr_psprintf(pool, "rm -rf '%s'",
                     prep_store_corte_dir(pool, feed.store, base->id)));
    again = load_as("b.tar.gz", PREP_LOAD_REPUBLISH, made);
    ck_assert_int_eq(again->outcome, PREP_LOAD_REFUSED);
    ck_assert_str_eq(again->verdict.reason, "base-mismatch");
    ck_assert_str_eq(current_id(), made->id);
}
END_TEST

/* The bytes of the base are checked against their ETag as they are
 * copied: a damaged base gives no corte. */
START_TEST(damaged_base_is_not_copied)
{
    prep_corte_t *base = base_corte();
    const char *t =
        incremental("b", "2024-06-02T21:10:00-06:00", base->id, "[]");
    const char *pack_path =
        apr_pstrcat(pool, prep_store_corte_dir(pool, feed.store, base->id),
                    "/" PREP_PACK_FILE, NULL);
    prep_load_result_t *res;

    pack(t, "b.tar.gz");
    /* one byte of casillas.csv's run of letters flipped in place */
    run(apr_psprintf(pool,
                     "chmod u+w '%s' && off=$(grep -obUa abcdefghij '%s' | "
                     "head -1 | cut -d: -f1) && printf Z | dd of='%s' bs=1 "
                     "seek=$off conv=notrunc status=none",
                     pack_path, pack_path, pack_path));
    res = load("b.tar.gz");
    ck_assert_int_eq(res->outcome, PREP_LOAD_REFUSED);
    ck_assert_str_eq(res->verdict.reason, "io");
    ck_assert_ptr_nonnull(strstr(res->verdict.message, "the base is damaged"));
    ck_assert_str_eq(current_id(), base->id);
}
END_TEST

Suite *suite_incremental(void)
{
    Suite *s = suite_create("incremental");
    TCase *tc = tcase_create("manifest");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, manifest_with_an_id_or_a_time);
    tcase_add_test(tc, manifest_refusals);
    tcase_add_test(tc, base_names_the_corte_by_id_or_instant);
    suite_add_tcase(s, tc);
    tc = tcase_create("load");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, incremental_package_makes_a_complete_corte);
    tcase_add_test(tc, base_by_time_and_only_deletions);
    tcase_add_test(tc, base_other_than_the_corte_served_is_refused);
    tcase_add_test(tc, no_corte_served_is_a_base_mismatch);
    tcase_add_test(tc, bad_incremental_packages_are_refused);
    tcase_add_test(tc, manifest_below_the_top_is_a_file);
    tcase_add_test(tc, pinned_feed_measures_against_the_newest_retained);
    tcase_add_test(tc, republish_applies_the_package_over_its_base_again);
    tcase_add_test(tc, damaged_base_is_not_copied);
    suite_add_tcase(s, tc);
    return s;
}
