/* check_operator.c — unit tests of prep_operator.c: control.json, the drill
 * and close rules, the retained cortes of the store, and each of the
 * operator's actions (rollback, pin, unpin, reset, close, drill) with each
 * of its refusals, over a real store of usable cortes (corte.json and an
 * index that opens) in a temporary directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_file_io.h>
#include <apr_strings.h>
#include <jansson.h>

#include "prep.h"
#include "test_prep.h"

static apr_pool_t *pool;
static const char *root; /* temporary directory of one test */
static const char *store;
static prep_feed_t feed;
static prep_op_t op;

/* 2024-06-02T21:05:00-06:00 */
#define CORTE apr_time_from_sec(APR_INT64_C(1717383900))
/* The clock of the actions: election night, an hour after the first corte,
 * 2024-06-02T22:05:00.250-06:00. */
#define NOW (CORTE + apr_time_from_sec(3600) + 250000)

static void setup(void)
{
    char tmpl[] = "/tmp/prep-operator-XXXXXX";

    apr_pool_create(&pool, NULL);
    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    root = apr_pstrdup(pool, tmpl);
    test_feed_in(&feed, root, pool);
    ck_assert_ptr_null(
        prep_zone_parse(&feed.zone, "-06:00", "Tiempo del Centro", pool));
    store = feed.store;
    ck_assert_int_eq(prep_store_prepare(store, pool), APR_SUCCESS);
    op.feed = &feed;
    op.user = "operador";
    op.now = NOW;
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
    char buf[8192];
    apr_size_t len = sizeof(buf) - 1;

    if (apr_file_open(&fp, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, pool) !=
        APR_SUCCESS) {
        return NULL;
    }
    apr_file_read_full(fp, buf, len, &len);
    apr_file_close(fp);
    return apr_pstrmemdup(pool, buf, len);
}

static int exists(const char *path)
{
    apr_finfo_t fi;

    return apr_stat(&fi, path, APR_FINFO_TYPE | APR_FINFO_LINK, pool) ==
           APR_SUCCESS;
}

static const char *in_store(const char *name)
{
    return apr_pstrcat(pool, store, "/", name, NULL);
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

/* Corte n of the night, as a load leaves it in STORE/cortes: a pack, an
 * index that opens (one file), corte.json; its corte time n x 5 minutes
 * after the first. */
static const char *corte_n(int n)
{
    const char *sha = apr_psprintf(
        pool, "%08x%s", 0xa0000000u + (unsigned)n,
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
    apr_time_t t = CORTE + apr_time_from_sec(300 * n);
    const char *id = prep_corte_id(pool, t, sha);
    const char *dir = prep_store_corte_dir(pool, store, id);
    prep_index_builder_t *b = prep_index_builder_create(pool);
    prep_rep_t rep;
    prep_corte_t c;

    ck_assert_int_eq(apr_dir_make_recursive(dir, APR_FPROT_OS_DEFAULT, pool),
                     APR_SUCCESS);
    write_file(apr_pstrcat(pool, dir, "/" PREP_PACK_FILE, NULL), id);
    memset(&rep, 0, sizeof(rep));
    rep.length = strlen(id);
    prep_etag_from_sha256(rep.etag, (const unsigned char *)sha);
    prep_index_add(b, "json/main.json", t, PREP_F_NO_STORE, &rep, 1);
    ck_assert_int_eq(
        prep_index_write(b, apr_pstrcat(pool, dir, "/" PREP_INDEX_FILE, NULL),
                         pool),
        APR_SUCCESS);
    memset(&c, 0, sizeof(c));
    c.id = id;
    c.time = t;
    c.label = "Último corte";
    c.package = apr_psprintf(pool, "PREP_QRO_%02d.tar.gz", n);
    c.sha256 = sha;
    c.files = 1;
    c.bytes = strlen(id);
    c.loaded_at = t + apr_time_from_sec(20);
    ck_assert_int_eq(prep_store_write_corte(dir, &c, pool), APR_SUCCESS);
    return id;
}

static void make_current(const char *id)
{
    ck_assert_int_eq(prep_store_set_current(store, id, pool), APR_SUCCESS);
}

static const char *current(void)
{
    const char *id = NULL;

    prep_store_current(&id, store, pool);
    return id;
}

static prep_control_t control(void)
{
    prep_control_t c;

    ck_assert_int_eq(prep_control_read(&c, store, pool), APR_SUCCESS);
    return c;
}

/* The lines of the feed's journal, oldest first. */
static apr_status_t collect(void *baton, json_t *line)
{
    json_array_append(baton, line);
    return APR_SUCCESS;
}

static json_t *journal(void)
{
    json_t *lines = json_array();

    ck_assert_int_eq(prep_journal_each(store, 0, collect, lines, NULL, pool),
                     APR_SUCCESS);
    return lines;
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    ck_assert_msg(s != NULL, "no string \"%s\"", key);
    return s;
}

/* The one journal line there must be now: event e by our operator. */
static json_t *last_line(size_t count, const char *event)
{
    json_t *lines = journal();
    json_t *line;

    ck_assert_uint_eq(json_array_size(lines), count);
    line = json_incref(json_array_get(lines, count - 1));
    json_decref(lines);
    ck_assert_str_eq(str(line, "event"), event);
    ck_assert_str_eq(str(line, "feed"), "qro");
    ck_assert_str_eq(str(line, "user"), "operador");
    return line;
}

static const char *corte_of_line(const json_t *line)
{
    return str(json_object_get(line, "corte"), "id");
}

/* ------------------------------------------------------------------ */
/* control.json */

START_TEST(control_without_a_file_is_the_defaults)
{
    prep_control_t c;

    c.pin = "x";
    c.drill = 1;
    ck_assert_int_eq(prep_control_read(&c, store, pool), APR_SUCCESS);
    ck_assert_ptr_null(c.pin);
    ck_assert_int_eq(c.pinned_at, 0);
    ck_assert_int_eq(c.drill, PREP_DRILL_AS_CONFIGURED);
    ck_assert_int_eq(c.closed_at, 0);
    /* a store that is not there at all reads the same */
    ck_assert_int_eq(prep_control_read(&c, in_store("nowhere"), pool),
                     APR_SUCCESS);
    ck_assert_ptr_null(c.pin);
}
END_TEST

START_TEST(control_round_trips_in_microseconds)
{
    prep_control_t c, back;
    json_t *doc;

    prep_control_default(&c);
    c.pin = "20240603T031000Z-a0000001";
    c.pinned_at = NOW + 7; /* to the microsecond */
    c.drill = 1;
    c.closed_at = NOW + 3600000001;
    ck_assert_int_eq(prep_control_write(store, &c, pool), APR_SUCCESS);
    ck_assert_int_eq(prep_control_read(&back, store, pool), APR_SUCCESS);
    ck_assert_str_eq(back.pin, c.pin);
    ck_assert_int_eq(back.pinned_at, c.pinned_at);
    ck_assert_int_eq(back.drill, 1);
    ck_assert_int_eq(back.closed_at, c.closed_at);
    /* the times are integers of microseconds, as in corte.json */
    doc = json_loads(read_file(in_store(PREP_CONTROL_FILE)), 0, NULL);
    ck_assert_ptr_nonnull(doc);
    ck_assert(json_is_integer(json_object_get(doc, "pinned_at")));
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "pinned_at")),
                     NOW + 7);
    ck_assert(json_is_true(json_object_get(doc, "drill")));
    json_decref(doc);
    /* drill off is written; as configured is absent */
    c.drill = 0;
    ck_assert_int_eq(prep_control_write(store, &c, pool), APR_SUCCESS);
    ck_assert_int_eq(control().drill, 0);
    ck_assert_ptr_nonnull(
        strstr(read_file(in_store(PREP_CONTROL_FILE)), "\"drill\": false"));
    c.drill = PREP_DRILL_AS_CONFIGURED;
    c.pin = NULL;
    ck_assert_int_eq(prep_control_write(store, &c, pool), APR_SUCCESS);
    ck_assert_ptr_null(strstr(read_file(in_store(PREP_CONTROL_FILE)), "drill"));
    back = control();
    ck_assert_int_eq(back.drill, PREP_DRILL_AS_CONFIGURED);
    ck_assert_ptr_null(back.pin);
    ck_assert_int_eq(back.pinned_at, 0); /* no pin, no pin time */
    /* no temporary file is left beside it */
    ck_assert(!exists(in_store(PREP_CONTROL_FILE ".tmp")));
}
END_TEST

START_TEST(control_that_is_not_a_record_gives_the_defaults_and_einval)
{
    static const char *const bad[] = {
        "",
        "not json",
        "[]",
        "\"pin\"",
        "{\"pin\": 5}",
        "{\"pin\": \"../../etc\"}",
        "{\"pin\": \"\"}",
        "{\"pin\": \"a\", \"pinned_at\": \"today\"}",
        "{\"drill\": \"yes\"}",
        "{\"closed_at\": -5}",
        "{\"pin\": \"a\"",
    };
    prep_control_t c;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_file(in_store(PREP_CONTROL_FILE), bad[i]);
        c.pin = "left";
        c.drill = 1;
        c.closed_at = 1;
        ck_assert_msg(prep_control_read(&c, store, pool) == APR_EINVAL, "%s",
                      bad[i]);
        ck_assert_ptr_null(c.pin);
        ck_assert_int_eq(c.drill, PREP_DRILL_AS_CONFIGURED);
        ck_assert_int_eq(c.closed_at, 0);
    }
    /* an empty object and nulls are the defaults, read well */
    write_file(in_store(PREP_CONTROL_FILE),
               "{\"pin\": null, \"drill\": null, \"closed_at\": null}");
    ck_assert_int_eq(prep_control_read(&c, store, pool), APR_SUCCESS);
    ck_assert_ptr_null(c.pin);
    ck_assert_int_eq(c.drill, PREP_DRILL_AS_CONFIGURED);
}
END_TEST

START_TEST(drill_is_prepctl_word_else_prepdrill)
{
    prep_control_t c;

    prep_control_default(&c);
    feed.drill = 0;
    ck_assert_int_eq(prep_feed_drill(&feed, NULL), 0);
    ck_assert_int_eq(prep_feed_drill(&feed, &c), 0);
    feed.drill = 1;
    ck_assert_int_eq(prep_feed_drill(&feed, NULL), 1);
    ck_assert_int_eq(prep_feed_drill(&feed, &c), 1);
    c.drill = 0; /* prepctl drill off beats PrepDrill on */
    ck_assert_int_eq(prep_feed_drill(&feed, &c), 0);
    feed.drill = 0;
    c.drill = 1; /* and on beats off */
    ck_assert_int_eq(prep_feed_drill(&feed, &c), 1);
}
END_TEST

START_TEST(closed_at_is_the_earlier_of_close_and_publish_until)
{
    prep_control_t c;

    prep_control_default(&c);
    ck_assert_int_eq(prep_feed_closed_at(&feed, NULL), 0);
    ck_assert_int_eq(prep_feed_closed_at(&feed, &c), 0);
    feed.publish_until = NOW + 100;
    ck_assert_int_eq(prep_feed_closed_at(&feed, NULL), NOW + 100);
    ck_assert_int_eq(prep_feed_closed_at(&feed, &c), NOW + 100);
    c.closed_at = NOW;
    ck_assert_int_eq(prep_feed_closed_at(&feed, &c), NOW);
    c.closed_at = NOW + 200;
    ck_assert_int_eq(prep_feed_closed_at(&feed, &c), NOW + 100);
    feed.publish_until = 0;
    ck_assert_int_eq(prep_feed_closed_at(&feed, &c), NOW + 200);
}
END_TEST

START_TEST(banner_state_says_drill_and_closed_once_passed)
{
    prep_control_t c;

    prep_control_default(&c);
    ck_assert_uint_eq(prep_feed_banner_state(&feed, &c, NOW), 0);
    feed.drill = 1;
    ck_assert_uint_eq(prep_feed_banner_state(&feed, &c, NOW),
                      PREP_BANNER_STATE_DRILL);
    ck_assert_uint_eq(prep_feed_banner_state(&feed, NULL, NOW),
                      PREP_BANNER_STATE_DRILL);
    c.drill = 0;
    ck_assert_uint_eq(prep_feed_banner_state(&feed, &c, NOW), 0);
    /* PrepPublishUntil ahead: not yet; at it: closed */
    feed.publish_until = NOW + 1;
    ck_assert_uint_eq(prep_feed_banner_state(&feed, &c, NOW), 0);
    ck_assert_uint_eq(prep_feed_banner_state(&feed, &c, NOW + 1),
                      PREP_BANNER_STATE_CLOSED);
    c.drill = 1;
    ck_assert_uint_eq(prep_feed_banner_state(&feed, &c, NOW + 1),
                      PREP_BANNER_STATE_CLOSED | PREP_BANNER_STATE_DRILL);
    feed.publish_until = 0;
    c.closed_at = NOW - 1;
    ck_assert_uint_eq(prep_feed_banner_state(&feed, &c, NOW),
                      PREP_BANNER_STATE_CLOSED | PREP_BANNER_STATE_DRILL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The retained cortes */

START_TEST(store_cortes_are_the_usable_ones_oldest_first)
{
    const char *c3 = corte_n(3), *c1 = corte_n(1), *c2 = corte_n(2);
    const char *broken = corte_n(4), *noindex = corte_n(5);
    apr_array_header_t *cortes;

    ck_assert_int_eq(prep_store_cortes(store, pool)->nelts, 5);
    /* a corte.json that does not read, an index that is gone */
    write_file(apr_pstrcat(pool, prep_store_corte_dir(pool, store, broken),
                           "/" PREP_CORTE_FILE, NULL),
               "{");
    ck_assert_int_eq(
        apr_file_remove(apr_pstrcat(pool,
                                    prep_store_corte_dir(pool, store, noindex),
                                    "/" PREP_INDEX_FILE, NULL),
                        pool),
        APR_SUCCESS);
    cortes = prep_store_cortes(store, pool);
    ck_assert_int_eq(cortes->nelts, 3);
    ck_assert_str_eq(APR_ARRAY_IDX(cortes, 0, prep_corte_t *)->id, c1);
    ck_assert_str_eq(APR_ARRAY_IDX(cortes, 1, prep_corte_t *)->id, c2);
    ck_assert_str_eq(APR_ARRAY_IDX(cortes, 2, prep_corte_t *)->id, c3);
    ck_assert_str_eq(APR_ARRAY_IDX(cortes, 2, prep_corte_t *)->package,
                     "PREP_QRO_03.tar.gz");
    /* the newest usable one, past the broken ones */
    ck_assert_str_eq(prep_store_newest(store, pool)->id, c3);
}
END_TEST

START_TEST(store_without_cortes_has_none_and_no_newest)
{
    ck_assert_int_eq(prep_store_cortes(store, pool)->nelts, 0);
    ck_assert_ptr_null(prep_store_newest(store, pool));
    ck_assert_int_eq(prep_store_cortes(in_store("nowhere"), pool)->nelts, 0);
}
END_TEST

START_TEST(set_current_replaces_current_with_a_corte_of_the_store)
{
    const char *c1 = corte_n(1), *c2 = corte_n(2);

    ck_assert_ptr_null(current());
    make_current(c2);
    ck_assert_str_eq(current(), c2);
    ck_assert_str_eq(read_file(in_store(PREP_CURRENT_FILE)),
                     apr_pstrcat(pool, c2, "\n", NULL));
    make_current(c1);
    ck_assert_str_eq(current(), c1);
    /* never a name that is not a corte of the store */
    ck_assert_int_ne(
        prep_store_set_current(store, "20990101T000000Z-00000000", pool),
        APR_SUCCESS);
    ck_assert_int_ne(prep_store_set_current(store, "../cortes", pool),
                     APR_SUCCESS);
    ck_assert_int_ne(prep_store_set_current(store, "..", pool), APR_SUCCESS);
    ck_assert_int_ne(prep_store_set_current(store, "", pool), APR_SUCCESS);
    ck_assert_str_eq(current(), c1);
    ck_assert(!exists(in_store(PREP_CURRENT_FILE ".tmp")));
}
END_TEST

START_TEST(prune_while_pinned_keeps_the_pinned_corte_and_the_newest)
{
    const char *ids[7];
    prep_op_result_t res;
    int i;

    for (i = 1; i <= 6; i++) {
        ids[i] = corte_n(i);
    }
    make_current(ids[6]);
    ck_assert_int_eq(prep_op_pin(&op, ids[2], &res, pool), PREP_OP_DONE);
    /* three new cortes kept while pinned, then the loader prunes to 3 */
    ck_assert_int_eq(prep_store_prune(store, 3, pool), APR_SUCCESS);
    ck_assert_str_eq(
        names_in(in_store("cortes")),
        apr_pstrcat(pool, ids[2], " ", ids[5], " ", ids[6], " ", NULL));
    ck_assert_str_eq(current(), ids[2]);
    ck_assert_int_eq(prep_store_prune(store, 1, pool), APR_SUCCESS);
    ck_assert_str_eq(names_in(in_store("cortes")),
                     apr_pstrcat(pool, ids[2], " ", ids[6], " ", NULL));
    ck_assert_str_eq(control().pin, ids[2]);
}
END_TEST

/* ------------------------------------------------------------------ */
/* rollback */

START_TEST(rollback_serves_the_corte_before_and_pins_there)
{
    const char *c1 = corte_n(1), *c2 = corte_n(2), *c3 = corte_n(3);
    prep_op_result_t res;
    prep_control_t c;
    json_t *line;

    make_current(c3);
    ck_assert_int_eq(prep_op_rollback(&op, NULL, &res, pool), PREP_OP_DONE);
    ck_assert_int_eq(res.status, PREP_OP_DONE);
    ck_assert_str_eq(res.served, c2);
    ck_assert_str_eq(current(), c2);
    c = control();
    ck_assert_str_eq(c.pin, c2);
    ck_assert_int_eq(c.pinned_at, NOW);
    ck_assert_ptr_nonnull(strstr(res.message, c2));
    ck_assert_ptr_null(strstr(res.message, "not journaled"));
    ck_assert_ptr_null(strchr(res.message, '\n'));
    line = last_line(1, "rollback");
    ck_assert_str_eq(str(line, "from"), c3);
    ck_assert_str_eq(str(line, "to"), c2);
    ck_assert_str_eq(corte_of_line(line), c2);
    json_decref(line);
    /* and again: the one before that */
    op.now = NOW + 1;
    ck_assert_int_eq(prep_op_rollback(&op, NULL, &res, pool), PREP_OP_DONE);
    ck_assert_str_eq(current(), c1);
    ck_assert_str_eq(control().pin, c1);
    /* the oldest has nothing before it: nothing changes */
    ck_assert_int_eq(prep_op_rollback(&op, NULL, &res, pool),
                     PREP_OP_NOTHING_BEFORE);
    ck_assert_int_eq(res.status, PREP_OP_NOTHING_BEFORE);
    ck_assert_ptr_nonnull(strstr(res.message, "prepctl cortes qro"));
    ck_assert_str_eq(current(), c1);
    ck_assert_int_eq(control().pinned_at, NOW + 1);
    line = journal();
    ck_assert_uint_eq(json_array_size(line), 2);
    json_decref(line);
}
END_TEST

START_TEST(rollback_to_a_named_corte_even_a_newer_one)
{
    const char *c1 = corte_n(1), *c2 = corte_n(2), *c3 = corte_n(3);
    prep_op_result_t res;
    json_t *line;

    make_current(c2);
    ck_assert_int_eq(prep_op_rollback(&op, c1, &res, pool), PREP_OP_DONE);
    ck_assert_str_eq(current(), c1);
    ck_assert_int_eq(prep_op_rollback(&op, c3, &res, pool), PREP_OP_DONE);
    ck_assert_str_eq(current(), c3);
    ck_assert_str_eq(res.served, c3);
    ck_assert_str_eq(control().pin, c3);
    line = last_line(2, "rollback");
    ck_assert_str_eq(str(line, "from"), c1);
    ck_assert_str_eq(str(line, "to"), c3);
    json_decref(line);
}
END_TEST

START_TEST(rollback_refuses_an_unknown_or_unusable_corte)
{
    const char *c1 = corte_n(1), *c2 = corte_n(2), *broken = corte_n(3);
    prep_op_result_t res;
    json_t *lines;

    make_current(c2);
    write_file(apr_pstrcat(pool, prep_store_corte_dir(pool, store, broken),
                           "/" PREP_CORTE_FILE, NULL),
               "not json");
    ck_assert_int_eq(
        prep_op_rollback(&op, "20240603T000000Z-deadbeef", &res, pool),
        PREP_OP_UNKNOWN_CORTE);
    ck_assert_ptr_nonnull(strstr(res.message, "20240603T000000Z-deadbeef"));
    ck_assert_ptr_nonnull(strstr(res.message, "prepctl cortes qro"));
    ck_assert_int_eq(prep_op_rollback(&op, broken, &res, pool),
                     PREP_OP_UNKNOWN_CORTE);
    ck_assert_int_eq(prep_op_rollback(&op, "../../x", &res, pool),
                     PREP_OP_UNKNOWN_CORTE);
    ck_assert_int_eq(prep_op_pin(&op, broken, &res, pool),
                     PREP_OP_UNKNOWN_CORTE);
    /* nothing changed, nothing journaled */
    ck_assert_str_eq(current(), c2);
    ck_assert(!exists(in_store(PREP_CONTROL_FILE)));
    lines = journal();
    ck_assert_uint_eq(json_array_size(lines), 0);
    json_decref(lines);
    (void)c1;
}
END_TEST

START_TEST(rollback_and_pin_of_a_feed_without_a_corte_are_refused)
{
    prep_op_result_t res;

    ck_assert_int_eq(prep_op_rollback(&op, NULL, &res, pool), PREP_OP_NO_CORTE);
    ck_assert_ptr_nonnull(strstr(res.message, "qro"));
    ck_assert_int_eq(prep_op_pin(&op, NULL, &res, pool), PREP_OP_NO_CORTE);
    ck_assert_ptr_null(res.served);
    ck_assert(!exists(in_store(PREP_CONTROL_FILE)));
}
END_TEST

/* ------------------------------------------------------------------ */
/* pin, unpin */

START_TEST(pin_holds_the_corte_served_or_serves_the_one_named)
{
    const char *c1 = corte_n(1), *c2 = corte_n(2);
    prep_op_result_t res;
    json_t *line;

    make_current(c2);
    ck_assert_int_eq(prep_op_pin(&op, NULL, &res, pool), PREP_OP_DONE);
    ck_assert_str_eq(res.served, c2);
    ck_assert_str_eq(current(), c2);
    ck_assert_str_eq(control().pin, c2);
    ck_assert_int_eq(control().pinned_at, NOW);
    line = last_line(1, "pin");
    ck_assert_str_eq(corte_of_line(line), c2);
    json_decref(line);
    /* pinned there already: nothing new */
    ck_assert_int_eq(prep_op_pin(&op, c2, &res, pool), PREP_OP_DONE);
    ck_assert_ptr_nonnull(strstr(res.message, "already"));
    json_decref(last_line(1, "pin"));
    /* another corte: served at once */
    op.now = NOW + 5;
    ck_assert_int_eq(prep_op_pin(&op, c1, &res, pool), PREP_OP_DONE);
    ck_assert_str_eq(current(), c1);
    ck_assert_str_eq(control().pin, c1);
    ck_assert_int_eq(control().pinned_at, NOW + 5);
    line = last_line(2, "pin");
    ck_assert_str_eq(corte_of_line(line), c1);
    json_decref(line);
}
END_TEST

START_TEST(unpin_serves_the_newest_corte)
{
    const char *c1 = corte_n(1), *c2 = corte_n(2);
    prep_op_result_t res;
    json_t *line;
    const char *c3, *c4;

    make_current(c2);
    ck_assert_int_eq(prep_op_rollback(&op, NULL, &res, pool), PREP_OP_DONE);
    ck_assert_str_eq(current(), c1);
    /* two cortes kept while pinned */
    c3 = corte_n(3);
    c4 = corte_n(4);
    ck_assert_str_eq(current(), c1);
    ck_assert_int_eq(prep_op_unpin(&op, &res, pool), PREP_OP_DONE);
    ck_assert_str_eq(res.served, c4);
    ck_assert_str_eq(current(), c4);
    ck_assert_ptr_null(control().pin);
    ck_assert_int_eq(control().pinned_at, 0);
    ck_assert_ptr_nonnull(strstr(res.message, c4));
    line = last_line(2, "unpin");
    ck_assert_str_eq(str(line, "from"), c1);
    ck_assert_str_eq(str(line, "to"), c4);
    ck_assert_str_eq(corte_of_line(line), c4);
    json_decref(line);
    /* not pinned: said so, nothing changed, nothing journaled */
    ck_assert_int_eq(prep_op_unpin(&op, &res, pool), PREP_OP_DONE);
    ck_assert_ptr_nonnull(strstr(res.message, "not pinned"));
    ck_assert_str_eq(res.served, c4);
    json_decref(last_line(2, "unpin"));
    (void)c3;
}
END_TEST

START_TEST(a_pin_keeps_the_drill_and_close_decided_before)
{
    const char *c1 = corte_n(1);
    prep_op_result_t res;
    prep_control_t c;

    make_current(c1);
    ck_assert_int_eq(prep_op_drill(&op, 1, &res, pool), PREP_OP_DONE);
    ck_assert_int_eq(prep_op_close(&op, &res, pool), PREP_OP_DONE);
    ck_assert_int_eq(prep_op_pin(&op, NULL, &res, pool), PREP_OP_DONE);
    c = control();
    ck_assert_int_eq(c.drill, 1);
    ck_assert_int_eq(c.closed_at, NOW);
    ck_assert_str_eq(c.pin, c1);
    ck_assert_int_eq(prep_op_unpin(&op, &res, pool), PREP_OP_DONE);
    c = control();
    ck_assert_int_eq(c.drill, 1);
    ck_assert_int_eq(c.closed_at, NOW);
    ck_assert_ptr_null(c.pin);
}
END_TEST

/* ------------------------------------------------------------------ */
/* reset */

START_TEST(reset_moves_everything_into_a_dated_archive)
{
    const char *c1 = corte_n(1), *c2 = corte_n(2), *c3 = corte_n(3);
    const char *want, *archive;
    prep_op_result_t res;
    prep_corte_t *c;
    const char *id;
    int fallback;
    json_t *line;

    make_current(c3);
    ck_assert_int_eq(prep_op_pin(&op, c2, &res, pool), PREP_OP_DONE);
    write_file(in_store("processed/PREP_QRO_01.tar.gz"), "a");
    write_file(in_store("processed/PREP_QRO_01.tar.gz.sha256"), "b");
    write_file(in_store("processed/PREP_QRO_02.tar.gz"), "c");
    write_file(in_store("rejected/bomba.zip"), "d");
    write_file(in_store("rejected/bomba.zip.reason"), "ratio");
    write_file(in_store("state.json"), "{}");
    ck_assert_int_eq(
        apr_dir_make(in_store("staging/load-99"), APR_FPROT_OS_DEFAULT, pool),
        APR_SUCCESS);
    write_file(in_store("staging/load-99/content.pack"), "half");

    ck_assert_int_eq(prep_op_reset(&op, &res, pool), PREP_OP_DONE);
    /* NOW in the feed's zone: 2024-06-02 22:05:00 */
    want = in_store("archive/20240602-220500");
    ck_assert_str_eq(res.archive, want);
    ck_assert_ptr_null(res.served);
    ck_assert_ptr_nonnull(strstr(res.message, want));
    ck_assert_ptr_nonnull(strstr(res.message, "3 cortes"));
    ck_assert_ptr_nonnull(strstr(res.message, "3 packages"));
    ck_assert_str_eq(names_in(want), "control.json cortes current processed "
                                     "rejected state.json ");
    ck_assert_str_eq(names_in(apr_pstrcat(pool, want, "/cortes", NULL)),
                     apr_pstrcat(pool, c1, " ", c2, " ", c3, " ", NULL));
    ck_assert_str_eq(names_in(apr_pstrcat(pool, want, "/processed", NULL)),
                     "PREP_QRO_01.tar.gz PREP_QRO_01.tar.gz.sha256 "
                     "PREP_QRO_02.tar.gz ");
    ck_assert_str_eq(names_in(apr_pstrcat(pool, want, "/rejected", NULL)),
                     "bomba.zip bomba.zip.reason ");
    ck_assert_str_eq(
        read_file(apr_pstrcat(pool, want, "/" PREP_CURRENT_FILE, NULL)),
        apr_pstrcat(pool, c2, "\n", NULL));
    /* the feed is empty and unpinned: it serves nothing */
    ck_assert_str_eq(names_in(in_store("cortes")), "");
    ck_assert_str_eq(names_in(in_store("processed")), "");
    ck_assert_str_eq(names_in(in_store("rejected")), "");
    ck_assert_str_eq(names_in(in_store("staging")), "");
    ck_assert(!exists(in_store(PREP_CURRENT_FILE)));
    ck_assert(!exists(in_store(PREP_CONTROL_FILE)));
    ck_assert(!exists(in_store("state.json")));
    ck_assert_ptr_null(current());
    ck_assert_int_eq(prep_store_serving(&id, &c, &fallback, store, pool),
                     APR_ENOENT);
    ck_assert_ptr_null(control().pin);
    /* the journal stays, with the reset in it */
    ck_assert(exists(in_store(PREP_JOURNAL_FILE)));
    line = last_line(2, "reset");
    ck_assert_str_eq(str(line, "archive"), want);
    ck_assert_int_eq(json_integer_value(json_object_get(line, "cortes")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(line, "packages")), 3);
    json_decref(line);
    /* a second reset in the same second: another folder */
    ck_assert_int_eq(prep_op_reset(&op, &res, pool), PREP_OP_DONE);
    archive = in_store("archive/20240602-220500-2");
    ck_assert_str_eq(res.archive, archive);
    ck_assert_str_eq(names_in(archive), "cortes processed rejected ");
    ck_assert_ptr_nonnull(strstr(res.message, "0 cortes"));
}
END_TEST

/* ------------------------------------------------------------------ */
/* close, drill */

START_TEST(close_ends_the_operation_once)
{
    const char *c1 = corte_n(1);
    prep_op_result_t res;
    json_t *line;

    make_current(c1);
    ck_assert_int_eq(prep_op_close(&op, &res, pool), PREP_OP_DONE);
    ck_assert_int_eq(control().closed_at, NOW);
    ck_assert_str_eq(res.served, c1);
    ck_assert_int_eq(
        prep_feed_closed_at(&feed, &(prep_control_t){NULL, 0, -1, NOW}), NOW);
    line = last_line(1, "closed");
    ck_assert_str_eq(str(line, "by"), "prepctl");
    ck_assert_str_eq(corte_of_line(line), c1);
    json_decref(line);
    /* already closed: since when, and no new line */
    op.now = NOW + apr_time_from_sec(60);
    ck_assert_int_eq(prep_op_close(&op, &res, pool), PREP_OP_DONE);
    ck_assert_ptr_nonnull(strstr(res.message, "already closed"));
    ck_assert_ptr_nonnull(strstr(res.message, "2024-06-02T22:05:00"));
    ck_assert_int_eq(control().closed_at, NOW);
    json_decref(last_line(1, "closed"));
}
END_TEST

START_TEST(close_after_publish_until_is_already_closed)
{
    prep_op_result_t res;
    json_t *lines;

    feed.publish_until = NOW - apr_time_from_sec(600);
    ck_assert_int_eq(prep_op_close(&op, &res, pool), PREP_OP_DONE);
    ck_assert_ptr_nonnull(strstr(res.message, "already closed"));
    ck_assert(!exists(in_store(PREP_CONTROL_FILE)));
    lines = journal();
    ck_assert_uint_eq(json_array_size(lines), 0);
    json_decref(lines);
    /* before it: closed by hand now, without a corte */
    feed.publish_until = NOW + apr_time_from_sec(600);
    ck_assert_int_eq(prep_op_close(&op, &res, pool), PREP_OP_DONE);
    ck_assert_int_eq(control().closed_at, NOW);
    ck_assert_ptr_null(res.served);
    lines = journal();
    ck_assert_ptr_null(json_object_get(json_array_get(lines, 0), "corte"));
    json_decref(lines);
}
END_TEST

START_TEST(drill_on_and_off_whatever_prepdrill_says)
{
    prep_op_result_t res;
    json_t *line;

    feed.drill = 0;
    ck_assert_int_eq(prep_op_drill(&op, 1, &res, pool), PREP_OP_DONE);
    ck_assert_int_eq(control().drill, 1);
    ck_assert_int_eq(prep_feed_drill(&feed, &(prep_control_t){NULL, 0, 1, 0}),
                     1);
    ck_assert_ptr_nonnull(strstr(res.message, "SIMULACRO"));
    line = last_line(1, "drill");
    ck_assert(json_is_true(json_object_get(line, "on")));
    ck_assert(json_is_true(json_object_get(line, "drill")));
    json_decref(line);
    feed.drill = 1;
    ck_assert_int_eq(prep_op_drill(&op, 0, &res, pool), PREP_OP_DONE);
    ck_assert_int_eq(control().drill, 0);
    line = last_line(2, "drill");
    ck_assert(json_is_false(json_object_get(line, "on")));
    ck_assert_ptr_null(json_object_get(line, "drill"));
    json_decref(line);
}
END_TEST

/* ------------------------------------------------------------------ */
/* refusals every action shares */

START_TEST(every_action_waits_for_a_running_load)
{
    const char *c1 = corte_n(1), *c2 = corte_n(2);
    apr_pool_t *load;
    prep_op_result_t res;
    json_t *lines;

    make_current(c2);
    /* a load holds the lock through another descriptor */
    apr_pool_create(&load, pool);
    ck_assert_int_eq(prep_store_lock(store, load), APR_SUCCESS);
    ck_assert_int_eq(prep_op_rollback(&op, NULL, &res, pool),
                     PREP_OP_LOAD_RUNNING);
    ck_assert_ptr_nonnull(strstr(res.message, "a load is running in"));
    ck_assert_ptr_nonnull(strstr(res.message, store));
    ck_assert_int_eq(prep_op_pin(&op, c1, &res, pool), PREP_OP_LOAD_RUNNING);
    ck_assert_int_eq(prep_op_unpin(&op, &res, pool), PREP_OP_LOAD_RUNNING);
    ck_assert_int_eq(prep_op_reset(&op, &res, pool), PREP_OP_LOAD_RUNNING);
    ck_assert_int_eq(prep_op_close(&op, &res, pool), PREP_OP_LOAD_RUNNING);
    ck_assert_int_eq(prep_op_drill(&op, 1, &res, pool), PREP_OP_LOAD_RUNNING);
    ck_assert_int_eq(res.status, PREP_OP_LOAD_RUNNING);
    ck_assert_str_eq(current(), c2);
    ck_assert(!exists(in_store(PREP_CONTROL_FILE)));
    ck_assert(exists(prep_store_corte_dir(pool, store, c1)));
    lines = journal();
    ck_assert_uint_eq(json_array_size(lines), 0);
    json_decref(lines);
    /* the load ends: the action goes through */
    apr_pool_destroy(load);
    ck_assert_int_eq(prep_op_rollback(&op, NULL, &res, pool), PREP_OP_DONE);
    ck_assert_str_eq(current(), c1);
}
END_TEST

START_TEST(a_store_the_user_cannot_write_is_refused_naming_its_owner)
{
    const char *c1 = corte_n(1), *c2 = corte_n(2);
    prep_op_result_t res;
    const char *owner;
    char want[512];
    FILE *f;

    if (geteuid() == 0) {
        return; /* root writes any store */
    }
    make_current(c2);
    f = popen("id -un", "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(want, sizeof(want), f));
    pclose(f);
    want[strcspn(want, "\n")] = '\0';
    owner = apr_pstrdup(pool, want);
    /* the lock file is there and writable, the store itself is not */
    {
        apr_pool_t *sub;

        apr_pool_create(&sub, pool);
        ck_assert_int_eq(prep_store_lock(store, sub), APR_SUCCESS);
        apr_pool_destroy(sub);
    }
    ck_assert_int_eq(chmod(store, 0555), 0);
    ck_assert_int_eq(prep_op_rollback(&op, NULL, &res, pool),
                     PREP_OP_PERMISSION);
    ck_assert_str_eq(
        res.message,
        apr_psprintf(pool,
                     "user operador may not write the store %s (owned by %s): "
                     "run prepctl as root or as %s",
                     store, owner, owner));
    ck_assert_int_eq(prep_op_pin(&op, c1, &res, pool), PREP_OP_PERMISSION);
    ck_assert_int_eq(prep_op_unpin(&op, &res, pool), PREP_OP_PERMISSION);
    ck_assert_int_eq(prep_op_reset(&op, &res, pool), PREP_OP_PERMISSION);
    ck_assert_int_eq(prep_op_close(&op, &res, pool), PREP_OP_PERMISSION);
    ck_assert_int_eq(prep_op_drill(&op, 1, &res, pool), PREP_OP_PERMISSION);
    ck_assert_int_eq(chmod(store, 0755), 0);
    ck_assert_str_eq(current(), c2);
    ck_assert(!exists(in_store(PREP_CONTROL_FILE)));
    ck_assert(!exists(in_store(PREP_ARCHIVE_DIR)));
}
END_TEST

START_TEST(an_action_whose_journal_fails_is_done_and_says_so)
{
    const char *c1 = corte_n(1);
    prep_op_result_t res;

    make_current(c1);
    /* a directory where the journal's file goes: no line can be written */
    ck_assert_int_eq(
        apr_dir_make(in_store(PREP_JOURNAL_FILE), APR_FPROT_OS_DEFAULT, pool),
        APR_SUCCESS);
    ck_assert_int_eq(prep_op_pin(&op, NULL, &res, pool), PREP_OP_DONE);
    ck_assert_str_eq(control().pin, c1);
    ck_assert_ptr_nonnull(strstr(res.message, "(not journaled: "));
}
END_TEST

Suite *suite_operator(void)
{
    Suite *s = suite_create("operator");
    TCase *tc = tcase_create("control");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, control_without_a_file_is_the_defaults);
    tcase_add_test(tc, control_round_trips_in_microseconds);
    tcase_add_test(tc,
                   control_that_is_not_a_record_gives_the_defaults_and_einval);
    tcase_add_test(tc, drill_is_prepctl_word_else_prepdrill);
    tcase_add_test(tc, closed_at_is_the_earlier_of_close_and_publish_until);
    tcase_add_test(tc, banner_state_says_drill_and_closed_once_passed);
    suite_add_tcase(s, tc);

    tc = tcase_create("cortes");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, store_cortes_are_the_usable_ones_oldest_first);
    tcase_add_test(tc, store_without_cortes_has_none_and_no_newest);
    tcase_add_test(tc, set_current_replaces_current_with_a_corte_of_the_store);
    tcase_add_test(tc,
                   prune_while_pinned_keeps_the_pinned_corte_and_the_newest);
    suite_add_tcase(s, tc);

    tc = tcase_create("actions");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, rollback_serves_the_corte_before_and_pins_there);
    tcase_add_test(tc, rollback_to_a_named_corte_even_a_newer_one);
    tcase_add_test(tc, rollback_refuses_an_unknown_or_unusable_corte);
    tcase_add_test(tc, rollback_and_pin_of_a_feed_without_a_corte_are_refused);
    tcase_add_test(tc, pin_holds_the_corte_served_or_serves_the_one_named);
    tcase_add_test(tc, unpin_serves_the_newest_corte);
    tcase_add_test(tc, a_pin_keeps_the_drill_and_close_decided_before);
    tcase_add_test(tc, reset_moves_everything_into_a_dated_archive);
    tcase_add_test(tc, close_ends_the_operation_once);
    tcase_add_test(tc, close_after_publish_until_is_already_closed);
    tcase_add_test(tc, drill_on_and_off_whatever_prepdrill_says);
    tcase_add_test(tc, every_action_waits_for_a_running_load);
    tcase_add_test(tc,
                   a_store_the_user_cannot_write_is_refused_naming_its_owner);
    tcase_add_test(tc, an_action_whose_journal_fails_is_done_and_says_so);
    suite_add_tcase(s, tc);
    return s;
}
