/* check_corte.c — unit tests of the corte record (prep_corte_to_json,
 * prep_corte_from_json), the one mapping of a corte used by corte.json, the
 * history in state.json (prep_store_history_find) and the status document
 * (prep_status_feed); and of the feed states and their one table of
 * names. */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <jansson.h>

#include "prep.h"
#include "test_prep.h"

static apr_pool_t *pool;
static const char *root;  /* temporary directory of one test */
static const char *store; /* root/store */
static prep_zone_t zone;  /* -06:00, Tiempo del Centro */

/* 2024-06-02T21:05:00-06:00 */
#define CORTE apr_time_from_sec(APR_INT64_C(1717383900))

static const char *const SHA =
    "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";

static void setup(void)
{
    char tmpl[] = "/tmp/prep-corte-XXXXXX";

    apr_pool_create(&pool, NULL);
    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    root = apr_pstrdup(pool, tmpl);
    store = apr_pstrcat(pool, root, "/store", NULL);
    ck_assert_int_eq(prep_store_prepare(store, pool), APR_SUCCESS);
    ck_assert_ptr_null(
        prep_zone_parse(&zone, "-06:00", "Tiempo del Centro", pool));
}

static void teardown(void)
{
    ck_assert_int_eq(system(apr_psprintf(pool, "rm -rf '%s'", root)), 0);
    apr_pool_destroy(pool);
}

/* A corte as a load leaves it: every field set, each to another value. */
static prep_corte_t full_corte(int n)
{
    prep_corte_t c;
    int i;

    memset(&c, 0, sizeof(c));
    c.time = CORTE + apr_time_from_sec(300 * n) + 123456; /* µs are kept */
    c.id = prep_corte_id(pool, c.time, SHA);
    c.label = apr_psprintf(pool, "Último corte %d", n);
    c.package = apr_psprintf(pool, "prep_qro %d \"final\".tar.gz", n);
    c.sha256 = SHA;
    c.files = 123456 + (apr_uint64_t)n;
    c.bytes = APR_UINT64_C(5000000000) + (apr_uint64_t)n; /* past 4 GB */
    c.loaded_at = c.time + apr_time_from_sec(42) + 7;
    c.load_ms = 98765 + (apr_uint64_t)n;
    c.has_phases = 1;
    for (i = 0; i < PREP_PHASES; i++) {
        c.phases_ms[i] = (apr_uint64_t)(10 * i + n + 1);
    }
    c.variants_made = 321;
    c.variants_reused = 4567;
    c.compress_threads = 2;
    c.variants_pending = 7;
    c.complete_at = c.loaded_at + apr_time_from_sec(2);
    return c;
}

static void same_corte(const prep_corte_t *a, const prep_corte_t *b)
{
    int i;

    ck_assert_str_eq(a->id, b->id);
    ck_assert_int_eq(a->time, b->time);
    ck_assert_str_eq(a->label, b->label);
    ck_assert_str_eq(a->package, b->package);
    ck_assert_str_eq(a->sha256, b->sha256);
    ck_assert_uint_eq(a->files, b->files);
    ck_assert_uint_eq(a->bytes, b->bytes);
    ck_assert_int_eq(a->loaded_at, b->loaded_at);
    ck_assert_uint_eq(a->load_ms, b->load_ms);
    ck_assert_int_eq(a->has_phases, b->has_phases);
    for (i = 0; i < PREP_PHASES; i++) {
        ck_assert_uint_eq(a->phases_ms[i], b->phases_ms[i]);
    }
    ck_assert_uint_eq(a->variants_made, b->variants_made);
    ck_assert_uint_eq(a->variants_reused, b->variants_reused);
    ck_assert_uint_eq(a->compress_threads, b->compress_threads);
    ck_assert_uint_eq(a->variants_pending, b->variants_pending);
    ck_assert_int_eq(a->complete_at, b->complete_at);
    ck_assert_uint_eq(a->banner_state, b->banner_state);
}

/* The keys of object o, in order, separated by spaces. */
static const char *keys_of(const json_t *o)
{
    const char *key, *out = "";
    json_t *v;

    json_object_foreach((json_t *)o, key, v)
    {
        out = apr_pstrcat(pool, out, *out ? " " : "", key, NULL);
    }
    return out;
}

static json_t *parse(const char *text)
{
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);

    ck_assert_msg(j != NULL, "not JSON: %s", text);
    return j;
}

/* ------------------------------------------------------------------ */

START_TEST(test_record_round_trips_with_phases)
{
    prep_corte_t c = full_corte(1), *back = NULL;
    json_t *j = prep_corte_to_json(&c, NULL, pool);

    ck_assert_str_eq(keys_of(j), "id time label package sha256 files bytes "
                                 "loaded_at load_ms phases variants "
                                 "complete_at");
    ck_assert_str_eq(keys_of(json_object_get(j, PREP_CORTE_KEY_PHASES)),
                     "verify unpack check banner compress index publish");
    ck_assert_str_eq(keys_of(json_object_get(j, PREP_CORTE_KEY_VARIANTS)),
                     "made reused threads pending");
    /* one time unit: apr_time_t, microseconds since the epoch */
    ck_assert_int_eq(json_integer_value(json_object_get(j, "time")), c.time);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "loaded_at")),
                     c.loaded_at);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "load_ms")), 98766);
    ck_assert_int_eq(json_integer_value(json_object_get(
                         json_object_get(j, "phases"), "compress")),
                     10 * PREP_PHASE_COMPRESS + 2);
    ck_assert_int_eq(prep_corte_from_json(&back, j, pool), APR_SUCCESS);
    ck_assert_ptr_nonnull(back);
    same_corte(back, &c);
    json_decref(j);
}
END_TEST

START_TEST(test_record_without_phases_has_no_load_details)
{
    prep_corte_t c = full_corte(2), *back = NULL;
    json_t *j;

    c.has_phases = 0;
    memset(c.phases_ms, 0, sizeof(c.phases_ms));
    c.variants_made = c.variants_reused = 0;
    c.compress_threads = 0;
    c.variants_pending = 0;
    /* a record without them was complete when it was loaded */
    c.complete_at = c.loaded_at;
    j = prep_corte_to_json(&c, NULL, pool);
    ck_assert_str_eq(keys_of(j), "id time label package sha256 files bytes "
                                 "loaded_at load_ms");
    ck_assert_int_eq(prep_corte_from_json(&back, j, pool), APR_SUCCESS);
    same_corte(back, &c);
    json_decref(j);
}
END_TEST

START_TEST(test_record_round_trips_its_banner_state)
{
    static const unsigned states[] = {
        PREP_BANNER_STATE_DRILL, PREP_BANNER_STATE_CLOSED,
        PREP_BANNER_STATE_DRILL | PREP_BANNER_STATE_CLOSED};
    const char *dir = apr_pstrcat(pool, root, "/one", NULL);
    prep_corte_t c = full_corte(3), *back = NULL;
    json_t *j;
    size_t i;

    /* no state: no key, as every record written before it */
    j = prep_corte_to_json(&c, NULL, pool);
    ck_assert_ptr_null(json_object_get(j, PREP_CORTE_KEY_DRILL));
    ck_assert_ptr_null(json_object_get(j, PREP_CORTE_KEY_CLOSED));
    ck_assert_int_eq(prep_corte_from_json(&back, j, pool), APR_SUCCESS);
    ck_assert_uint_eq(back->banner_state, 0);
    json_decref(j);
    for (i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
        c.banner_state = states[i];
        j = prep_corte_to_json(&c, NULL, pool);
        ck_assert_str_eq(
            keys_of(j),
            states[i] == PREP_BANNER_STATE_DRILL
                ? "id time label package sha256 files bytes loaded_at "
                  "load_ms phases variants complete_at drill"
            : states[i] == PREP_BANNER_STATE_CLOSED
                ? "id time label package sha256 files bytes loaded_at "
                  "load_ms phases variants complete_at closed"
                : "id time label package sha256 files bytes loaded_at "
                  "load_ms phases variants complete_at drill closed");
        ck_assert_int_eq(prep_corte_from_json(&back, j, pool), APR_SUCCESS);
        same_corte(back, &c);
        json_decref(j);
        /* the same through corte.json, and shown in a zone */
        ck_assert_int_eq(
            apr_dir_make_recursive(dir, APR_FPROT_OS_DEFAULT, pool),
            APR_SUCCESS);
        ck_assert_int_eq(prep_store_write_corte(dir, &c, pool), APR_SUCCESS);
        ck_assert_int_eq(prep_store_read_corte(&back, dir, pool), APR_SUCCESS);
        same_corte(back, &c);
        j = prep_corte_to_json(&c, &zone, pool);
        ck_assert(json_is_true(json_object_get(j, PREP_CORTE_KEY_DRILL)) ==
                  ((states[i] & PREP_BANNER_STATE_DRILL) != 0));
        ck_assert(json_is_true(json_object_get(j, PREP_CORTE_KEY_CLOSED)) ==
                  ((states[i] & PREP_BANNER_STATE_CLOSED) != 0));
        json_decref(j);
    }
    /* false, or a value of another type, is no state */
    j = parse("{\"id\": \"x\", \"drill\": false, \"closed\": 1}");
    ck_assert_int_eq(prep_corte_from_json(&back, j, pool), APR_SUCCESS);
    ck_assert_uint_eq(back->banner_state, 0);
    json_decref(j);
}
END_TEST

START_TEST(test_record_shown_in_a_zone)
{
    prep_corte_t c = full_corte(0);
    json_t *stored = prep_corte_to_json(&c, NULL, pool);
    json_t *shown = prep_corte_to_json(&c, &zone, pool);

    ck_assert_str_eq(keys_of(shown), keys_of(stored));
    ck_assert_str_eq(json_string_value(json_object_get(shown, "time")),
                     "2024-06-02T21:05:00-06:00");
    ck_assert_str_eq(json_string_value(json_object_get(shown, "loaded_at")),
                     "2024-06-02T21:05:42-06:00");
    ck_assert_str_eq(json_string_value(json_object_get(shown, "complete_at")),
                     "2024-06-02T21:05:44-06:00");
    /* the rest as stored */
    json_object_del(stored, "time");
    json_object_del(stored, "loaded_at");
    json_object_del(stored, "complete_at");
    json_object_del(shown, "time");
    json_object_del(shown, "loaded_at");
    json_object_del(shown, "complete_at");
    ck_assert(json_equal(stored, shown));
    json_decref(shown);
    /* a time never set is null, not 1970 */
    c.loaded_at = 0;
    shown = prep_corte_to_json(&c, &zone, pool);
    ck_assert(json_is_null(json_object_get(shown, "loaded_at")));
    json_decref(shown);
    json_decref(stored);
}
END_TEST

START_TEST(test_from_json_refuses_a_record_without_its_id)
{
    static const char *const bad[] = {
        "[]",
        "\"20240603T030500Z-abcdef01\"",
        "17",
        "null",
        "{}",
        "{\"time\": 1717383900000000, \"files\": 3}",
        "{\"id\": 7}",
        "{\"id\": null}",
        "{\"id\": [\"x\"]}",
        "{\"id\": {\"id\": \"x\"}}",
        "{\"ID\": \"x\"}",
    };
    prep_corte_t *back = NULL;
    size_t i;

    ck_assert_int_eq(prep_corte_from_json(&back, NULL, pool), APR_EINVAL);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *j = parse(bad[i]);

        ck_assert_msg(prep_corte_from_json(&back, j, pool) == APR_EINVAL,
                      "accepted %s", bad[i]);
        json_decref(j);
    }
    ck_assert_ptr_null(back);
}
END_TEST

START_TEST(test_from_json_reads_other_keys_of_a_wrong_type_as_empty)
{
    json_t *j = parse("{\"id\": \"x\", \"time\": \"ayer\", \"label\": 5, "
                      "\"files\": \"many\", \"bytes\": 1.5, "
                      "\"phases\": [1, 2], \"variants\": {\"made\": \"3\"}}");
    prep_corte_t *back = NULL;

    ck_assert_int_eq(prep_corte_from_json(&back, j, pool), APR_SUCCESS);
    ck_assert_str_eq(back->id, "x");
    ck_assert_int_eq(back->time, 0);
    ck_assert_str_eq(back->label, "");
    ck_assert_str_eq(back->package, "");
    ck_assert_uint_eq(back->files, 0);
    ck_assert_uint_eq(back->bytes, 0);
    ck_assert_int_eq(back->has_phases, 0);
    ck_assert_uint_eq(back->variants_made, 0);
    json_decref(j);
}
END_TEST

/* A store's history written before the one record held epoch seconds: read
 * as seconds, not as microseconds of 1970-01-01. */
START_TEST(test_from_json_reads_times_in_seconds_of_an_older_store)
{
    json_t *o = json_pack("{s:s, s:I, s:I}", PREP_CORTE_KEY_ID, "x",
                          PREP_CORTE_KEY_TIME, (json_int_t)1717383900,
                          PREP_CORTE_KEY_LOADED_AT, (json_int_t)1717383942);
    prep_corte_t *c;

    ck_assert_int_eq(prep_corte_from_json(&c, o, pool), APR_SUCCESS);
    ck_assert_int_eq(c->time, CORTE);
    ck_assert_int_eq(c->loaded_at, CORTE + apr_time_from_sec(42));
    json_decref(o);
    /* a time in microseconds is kept to the microsecond */
    o = json_pack("{s:s, s:I}", PREP_CORTE_KEY_ID, "x", PREP_CORTE_KEY_TIME,
                  (json_int_t)(CORTE + 7));
    ck_assert_int_eq(prep_corte_from_json(&c, o, pool), APR_SUCCESS);
    ck_assert_int_eq(c->time, CORTE + 7);
    json_decref(o);
}
END_TEST

START_TEST(test_corte_json_and_history_hold_the_same_record)
{
    prep_corte_t c = full_corte(3);
    const char *dir = prep_store_corte_dir(pool, store, c.id);
    json_t *file, *state, *want = prep_corte_to_json(&c, NULL, pool);

    ck_assert_int_eq(apr_dir_make(dir, APR_FPROT_OS_DEFAULT, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(prep_store_write_corte(dir, &c, pool), APR_SUCCESS);
    ck_assert_int_eq(prep_store_record_history(store, &c, pool), APR_SUCCESS);
    file = json_load_file(apr_pstrcat(pool, dir, "/" PREP_CORTE_FILE, NULL), 0,
                          NULL);
    state = prep_store_read_state(store, pool);
    ck_assert(json_equal(file, want));
    ck_assert(
        json_equal(json_array_get(json_object_get(state, "history"), 0), want));
    json_decref(file);
    json_decref(state);
    json_decref(want);
}
END_TEST

START_TEST(test_history_find_gives_the_recorded_corte)
{
    prep_corte_t c0 = full_corte(0), c1 = full_corte(1), again = full_corte(0);
    prep_corte_t *found = NULL;

    /* no state.json yet */
    ck_assert_int_eq(prep_store_history_find(&found, store, c0.id, pool),
                     APR_ENOENT);
    ck_assert_int_eq(prep_store_record_history(store, &c0, pool), APR_SUCCESS);
    ck_assert_int_eq(prep_store_record_history(store, &c1, pool), APR_SUCCESS);
    ck_assert_int_eq(prep_store_history_find(&found, store, c1.id, pool),
                     APR_SUCCESS);
    same_corte(found, &c1);
    ck_assert_int_eq(prep_store_history_find(&found, store, c0.id, pool),
                     APR_SUCCESS);
    same_corte(found, &c0);
    /* the same id published again (healed): the newest record */
    again.package = "healed.tar.gz";
    again.load_ms = 5;
    ck_assert_int_eq(prep_store_record_history(store, &again, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(prep_store_history_find(&found, store, c0.id, pool),
                     APR_SUCCESS);
    same_corte(found, &again);
    found = NULL;
    ck_assert_int_eq(prep_store_history_find(&found, store,
                                             "20000101T000000Z-00000000", pool),
                     APR_ENOENT);
    ck_assert_ptr_null(found);
}
END_TEST

START_TEST(test_history_find_skips_records_without_an_id)
{
    apr_file_t *fp;
    const char *text =
        "{\"rejected\": [], \"history\": [7, {\"id\": 3}, {\"package\": "
        "\"a.zip\"}, {\"id\": \"X\", \"package\": \"x.zip\", \"sha256\": "
        "\"ab\"}, {\"id\": \"X\", \"package\": \"older.zip\"}]}";
    prep_corte_t *found = NULL;

    ck_assert_int_eq(
        apr_file_open(&fp, apr_pstrcat(pool, store, "/state.json", NULL),
                      APR_FOPEN_WRITE | APR_FOPEN_CREATE | APR_FOPEN_TRUNCATE,
                      APR_FPROT_OS_DEFAULT, pool),
        APR_SUCCESS);
    ck_assert_int_eq(apr_file_write_full(fp, text, strlen(text), NULL),
                     APR_SUCCESS);
    apr_file_close(fp);
    ck_assert_int_eq(prep_store_history_find(&found, store, "X", pool),
                     APR_SUCCESS);
    ck_assert_str_eq(found->package, "x.zip");
    ck_assert_str_eq(found->sha256, "ab");
    ck_assert_int_eq(prep_store_history_find(&found, store, "3", pool),
                     APR_ENOENT);
}
END_TEST

/* ------------------------------------------------------------------ */

START_TEST(test_feed_state_texts)
{
    ck_assert_int_eq(PREP_FEED_STATES, 6);
    ck_assert_str_eq(prep_feed_state_text(PREP_FEED_WAITING), "waiting");
    ck_assert_str_eq(prep_feed_state_text(PREP_FEED_EMBARGOED), "embargoed");
    ck_assert_str_eq(prep_feed_state_text(PREP_FEED_SERVING), "serving");
    ck_assert_str_eq(prep_feed_state_text(PREP_FEED_STALE), "stale");
    ck_assert_str_eq(prep_feed_state_text(PREP_FEED_PINNED), "pinned");
    ck_assert_str_eq(prep_feed_state_text(PREP_FEED_CLOSED), "closed");
    /* not a state: the first, never a wild pointer */
    ck_assert_str_eq(prep_feed_state_text(PREP_FEED_STATES), "waiting");
    ck_assert_str_eq(prep_feed_state_text((prep_feed_state_e)99), "waiting");
}
END_TEST

START_TEST(test_feed_state_of_a_feed)
{
    prep_feed_t f;
    prep_corte_t c = full_corte(0);
    apr_time_t now = c.loaded_at;

    memset(&f, 0, sizeof(f));
    f.interval = apr_time_from_sec(60);
    ck_assert_int_eq(prep_feed_state(&f, NULL, NULL, now), PREP_FEED_WAITING);
    ck_assert_int_eq(prep_feed_state(&f, &c, NULL, now), PREP_FEED_SERVING);
    /* stale past three intervals without a new corte */
    ck_assert_int_eq(
        prep_feed_state(&f, &c, NULL, now + apr_time_from_sec(180)),
        PREP_FEED_SERVING);
    ck_assert_int_eq(
        prep_feed_state(&f, &c, NULL, now + apr_time_from_sec(180) + 1),
        PREP_FEED_STALE);
    /* an embargo comes first, corte or not */
    f.publish_from = now + 1;
    ck_assert_int_eq(prep_feed_state(&f, &c, NULL, now), PREP_FEED_EMBARGOED);
    ck_assert_int_eq(prep_feed_state(&f, NULL, NULL, now), PREP_FEED_EMBARGOED);
    ck_assert_int_eq(prep_feed_state(&f, &c, NULL, now + 1), PREP_FEED_SERVING);
}
END_TEST

START_TEST(test_status_shows_the_records_in_the_feed_zone)
{
    prep_feed_t f;
    prep_feed_runtime_t rt;
    prep_corte_t c0 = full_corte(0), c1 = full_corte(1);
    prep_verdict_t v = {"ratio", "a bomb"};
    json_t *doc, *want, *history;

    memset(&f, 0, sizeof(f));
    memset(&rt, 0, sizeof(rt));
    f.name = "prep_qro";
    f.store = store;
    f.zone = zone;
    f.interval = apr_time_from_sec(60);
    rt.state = PREP_FEED_STALE;
    ck_assert_int_eq(prep_store_record_history(store, &c0, pool), APR_SUCCESS);
    ck_assert_int_eq(prep_store_record_history(store, &c1, pool), APR_SUCCESS);
    ck_assert_int_eq(
        prep_store_record_rejected(store, "bomb.zip", &v, CORTE + 500000, pool),
        APR_SUCCESS);
    doc = prep_status_feed(&f, &c1, &rt, c1.loaded_at, pool);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "state")), "stale");
    want = prep_corte_to_json(&c1, &zone, pool);
    ck_assert(json_equal(json_object_get(doc, "corte"), want));
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(doc, "corte"), "time")),
                     "2024-06-02T21:10:00-06:00");
    history = json_object_get(doc, "history");
    ck_assert_uint_eq(json_array_size(history), 2);
    ck_assert(json_equal(json_array_get(history, 0), want));
    json_decref(want);
    want = prep_corte_to_json(&c0, &zone, pool);
    ck_assert(json_equal(json_array_get(history, 1), want));
    json_decref(want);
    /* a refusal's time, kept in seconds, shown in the zone too */
    ck_assert_str_eq(
        json_string_value(json_object_get(
            json_array_get(json_object_get(doc, "rejected"), 0), "at")),
        "2024-06-02T21:05:00-06:00");
    json_decref(doc);
    /* no corte: null, and the state says so */
    rt.state = PREP_FEED_WAITING;
    doc = prep_status_feed(&f, NULL, &rt, c1.loaded_at, pool);
    ck_assert(json_is_null(json_object_get(doc, "corte")));
    ck_assert(json_is_null(json_object_get(doc, "age_s")));
    ck_assert_str_eq(json_string_value(json_object_get(doc, "state")),
                     "waiting");
    json_decref(doc);
}
END_TEST

START_TEST(test_feed_state_closed_beats_pinned_beats_stale)
{
    prep_feed_t f;
    prep_corte_t c = full_corte(0);
    prep_control_t ctl;
    apr_time_t now = c.loaded_at, late = now + apr_time_from_sec(3600);

    memset(&f, 0, sizeof(f));
    f.interval = apr_time_from_sec(60);
    prep_control_default(&ctl);
    ck_assert_int_eq(prep_feed_state(&f, &c, &ctl, late), PREP_FEED_STALE);
    /* pinned: the operator chose the corte, no age makes it stale */
    ctl.pin = c.id;
    ctl.pinned_at = now;
    ck_assert_int_eq(prep_feed_state(&f, &c, &ctl, late), PREP_FEED_PINNED);
    ck_assert_int_eq(prep_feed_state(&f, &c, &ctl, now), PREP_FEED_PINNED);
    /* before an embargo nothing is served, pinned or not: the status says
     * what the handler does */
    f.publish_from = late + 1;
    ck_assert_int_eq(prep_feed_state(&f, &c, &ctl, late), PREP_FEED_EMBARGOED);
    f.publish_from = 0;
    /* closed by hand beats pinned, from its time on */
    ctl.closed_at = now + 10;
    ck_assert_int_eq(prep_feed_state(&f, &c, &ctl, now + 9), PREP_FEED_PINNED);
    ck_assert_int_eq(prep_feed_state(&f, &c, &ctl, now + 10), PREP_FEED_CLOSED);
    ck_assert_int_eq(prep_feed_state(&f, &c, &ctl, late), PREP_FEED_CLOSED);
    /* without a corte as well */
    ck_assert_int_eq(prep_feed_state(&f, NULL, &ctl, late), PREP_FEED_CLOSED);
}
END_TEST

START_TEST(test_feed_state_closed_by_publish_until_is_never_stale)
{
    prep_feed_t f;
    prep_corte_t c = full_corte(0);
    apr_time_t now = c.loaded_at;
    apr_time_t weeks = now + apr_time_from_sec(21 * 24 * 3600);

    memset(&f, 0, sizeof(f));
    f.interval = apr_time_from_sec(60);
    f.publish_until = now + apr_time_from_sec(30);
    ck_assert_int_eq(prep_feed_state(&f, &c, NULL, now), PREP_FEED_SERVING);
    ck_assert_int_eq(
        prep_feed_state(&f, &c, NULL, now + apr_time_from_sec(30) - 1),
        PREP_FEED_SERVING);
    ck_assert_int_eq(prep_feed_state(&f, &c, NULL, now + apr_time_from_sec(30)),
                     PREP_FEED_CLOSED);
    /* weeks later, no new corte: still closed, never stale */
    ck_assert_int_eq(prep_feed_state(&f, &c, NULL, weeks), PREP_FEED_CLOSED);
    /* a stale feed that reaches its end is closed */
    f.publish_until = now + apr_time_from_sec(600);
    ck_assert_int_eq(
        prep_feed_state(&f, &c, NULL, now + apr_time_from_sec(599)),
        PREP_FEED_STALE);
    ck_assert_int_eq(
        prep_feed_state(&f, &c, NULL, now + apr_time_from_sec(600)),
        PREP_FEED_CLOSED);
}
END_TEST

START_TEST(test_feed_state_drill_ignores_the_embargo)
{
    prep_feed_t f;
    prep_corte_t c = full_corte(0);
    prep_control_t ctl;
    apr_time_t now = c.loaded_at;

    memset(&f, 0, sizeof(f));
    f.interval = apr_time_from_sec(60);
    f.publish_from = now + apr_time_from_sec(86400); /* election day */
    ck_assert_int_eq(prep_feed_state(&f, &c, NULL, now), PREP_FEED_EMBARGOED);
    /* PrepDrill on */
    f.drill = 1;
    ck_assert_int_eq(prep_feed_state(&f, &c, NULL, now), PREP_FEED_SERVING);
    ck_assert_int_eq(prep_feed_state(&f, NULL, NULL, now), PREP_FEED_WAITING);
    ck_assert_int_eq(
        prep_feed_state(&f, &c, NULL, now + apr_time_from_sec(181)),
        PREP_FEED_STALE);
    /* prepctl drill off beats PrepDrill on, and on beats off */
    prep_control_default(&ctl);
    ctl.drill = 0;
    ck_assert_int_eq(prep_feed_state(&f, &c, &ctl, now), PREP_FEED_EMBARGOED);
    f.drill = 0;
    ctl.drill = 1;
    ck_assert_int_eq(prep_feed_state(&f, &c, &ctl, now), PREP_FEED_SERVING);
}
END_TEST

START_TEST(test_feed_state_healthy)
{
    ck_assert(prep_feed_state_healthy(PREP_FEED_SERVING));
    ck_assert(prep_feed_state_healthy(PREP_FEED_PINNED));
    ck_assert(prep_feed_state_healthy(PREP_FEED_CLOSED));
    ck_assert(!prep_feed_state_healthy(PREP_FEED_WAITING));
    ck_assert(!prep_feed_state_healthy(PREP_FEED_EMBARGOED));
    ck_assert(!prep_feed_state_healthy(PREP_FEED_STALE));
    ck_assert(!prep_feed_state_healthy(PREP_FEED_STATES));
}
END_TEST

START_TEST(test_status_shows_the_operator_part)
{
    prep_feed_t f;
    prep_feed_runtime_t rt;
    prep_corte_t c0 = full_corte(0), c1 = full_corte(1);
    prep_control_t ctl;
    prep_journal_t j;
    apr_time_t now = c1.loaded_at;
    json_t *doc, *want, *events;
    int i;

    prep_feed_defaults(&f, pool);
    f.name = "prep_qro";
    f.store = store;
    f.zone = zone;
    memset(&rt, 0, sizeof(rt));
    /* nothing decided: not pinned, no drill, no end, polled */
    doc = prep_status_feed(&f, &c0, &rt, now, pool);
    ck_assert(json_is_false(json_object_get(doc, "pinned")));
    ck_assert(json_is_null(json_object_get(doc, "newest")));
    ck_assert(json_is_false(json_object_get(doc, "drill")));
    ck_assert(json_is_null(json_object_get(doc, "publish_until")));
    ck_assert(json_is_null(json_object_get(doc, "closed_at")));
    ck_assert_str_eq(json_string_value(json_object_get(doc, "watch")), "poll");
    ck_assert(json_is_array(json_object_get(doc, "events")));
    ck_assert_uint_eq(json_array_size(json_object_get(doc, "events")), 0);
    json_decref(doc);

    /* pinned at c0 with c1 kept: both shown */
    prep_control_default(&ctl);
    ctl.pin = c0.id;
    ctl.pinned_at = now;
    ctl.drill = 1;
    rt.control = &ctl;
    rt.newest = &c1;
    rt.watch = "inotify";
    f.publish_until = now + apr_time_from_sec(3600);
    doc = prep_status_feed(&f, &c0, &rt, now, pool);
    ck_assert(json_is_true(json_object_get(doc, "pinned")));
    want = prep_corte_to_json(&c1, &zone, pool);
    ck_assert(json_equal(json_object_get(doc, "newest"), want));
    json_decref(want);
    ck_assert(json_is_true(json_object_get(doc, "drill")));
    ck_assert_str_eq(json_string_value(json_object_get(doc, "publish_until")),
                     prep_time_iso(pool, f.publish_until, &zone));
    /* PrepPublishUntil ahead is not a close yet */
    ck_assert(json_is_null(json_object_get(doc, "closed_at")));
    ck_assert_str_eq(json_string_value(json_object_get(doc, "watch")),
                     "inotify");
    json_decref(doc);
    /* once passed, it is */
    doc = prep_status_feed(&f, &c0, &rt, f.publish_until, pool);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "closed_at")),
                     prep_time_iso(pool, f.publish_until, &zone));
    json_decref(doc);
    /* prepctl close, earlier, shown at once */
    ctl.closed_at = now + 5;
    ctl.pin = NULL;
    doc = prep_status_feed(&f, &c0, &rt, now, pool);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "closed_at")),
                     prep_time_iso(pool, now + 5, &zone));
    /* not pinned: no newest, even when the intake knows one */
    ck_assert(json_is_false(json_object_get(doc, "pinned")));
    ck_assert(json_is_null(json_object_get(doc, "newest")));
    json_decref(doc);

    /* the last PREP_STATUS_EVENTS lines of the journal, oldest first */
    prep_journal_init(&j, &f, 0);
    for (i = 0; i < PREP_STATUS_EVENTS + 5; i++) {
        json_t *fields = json_object();

        json_object_set_new(fields, "n", json_integer(i));
        ck_assert_int_eq(prep_journal_event(&j, PREP_EVENT_SEEN, fields, pool),
                         APR_SUCCESS);
    }
    doc = prep_status_feed(&f, &c0, &rt, now, pool);
    events = json_object_get(doc, "events");
    ck_assert_uint_eq(json_array_size(events), PREP_STATUS_EVENTS);
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_array_get(events, 0), "n")), 5);
    ck_assert_int_eq(json_integer_value(json_object_get(
                         json_array_get(events, PREP_STATUS_EVENTS - 1), "n")),
                     PREP_STATUS_EVENTS + 4);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_array_get(events, 0), "event")),
        "seen");
    json_decref(doc);
}
END_TEST

Suite *suite_corte(void)
{
    Suite *s = suite_create("corte");
    TCase *tc = tcase_create("record");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_record_round_trips_with_phases);
    tcase_add_test(tc, test_record_without_phases_has_no_load_details);
    tcase_add_test(tc, test_record_round_trips_its_banner_state);
    tcase_add_test(tc, test_record_shown_in_a_zone);
    tcase_add_test(tc, test_from_json_refuses_a_record_without_its_id);
    tcase_add_test(tc,
                   test_from_json_reads_other_keys_of_a_wrong_type_as_empty);
    tcase_add_test(tc, test_from_json_reads_times_in_seconds_of_an_older_store);
    tcase_add_test(tc, test_corte_json_and_history_hold_the_same_record);
    tcase_add_test(tc, test_history_find_gives_the_recorded_corte);
    tcase_add_test(tc, test_history_find_skips_records_without_an_id);
    tcase_add_test(tc, test_feed_state_texts);
    tcase_add_test(tc, test_feed_state_of_a_feed);
    tcase_add_test(tc, test_status_shows_the_records_in_the_feed_zone);
    tcase_add_test(tc, test_feed_state_closed_beats_pinned_beats_stale);
    tcase_add_test(tc, test_feed_state_closed_by_publish_until_is_never_stale);
    tcase_add_test(tc, test_feed_state_drill_ignores_the_embargo);
    tcase_add_test(tc, test_feed_state_healthy);
    tcase_add_test(tc, test_status_shows_the_operator_part);
    suite_add_tcase(s, tc);
    return s;
}
