/* check_counters.c — unit tests of STORE/counters.json (prep_store.c), kept
 * by the journal's appends (prep_journal.c): loads by result, refusals by
 * reason, intake restarts and the last load counted as lines are appended;
 * the file read back after a "restart" (a new reader); a missing or
 * damaged file counted again from the journal; a file that cannot be
 * written removed, so that the next append counts the journal again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>
#include <jansson.h>

#include "prep.h"
#include "test_prep.h"

static apr_pool_t *pool;
static const char *root;
static prep_feed_t feed;
static prep_journal_t journal;

static void setup(void)
{
    char tmpl[] = "/tmp/prep-counters-XXXXXX";

    apr_pool_create(&pool, NULL);
    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    root = apr_pstrdup(pool, tmpl);
    test_feed_in(&feed, root, pool);
    prep_journal_init(&journal, &feed, 0);
}

static void teardown(void)
{
    ck_assert_int_eq(system(apr_psprintf(pool, "rm -rf '%s'", root)), 0);
    apr_pool_destroy(pool);
}

static const char *counters_path(void)
{
    return apr_pstrcat(pool, feed.store, "/" PREP_COUNTERS_FILE, NULL);
}

static void corte_of(prep_corte_t *c, int n, apr_uint64_t load_ms)
{
    memset(c, 0, sizeof(*c));
    c->id = apr_psprintf(pool, "20240603T03%02d00Z-0123abcd", n);
    c->time = apr_time_from_sec(1717383900 + 60 * n);
    c->package = "PREP_QRO.tar.gz";
    c->sha256 = "0123abcd";
    c->load_ms = load_ms;
}

static void refuse(const char *reason)
{
    prep_verdict_t v = {reason, "why"};

    ck_assert_int_eq(prep_journal_refused(&journal, "malo.tar.gz", &v, pool),
                     APR_SUCCESS);
}

static void event(prep_event_e e)
{
    ck_assert_int_eq(prep_journal_event(&journal, e, NULL, pool), APR_SUCCESS);
}

static void corte_event(prep_event_e e, int n, apr_uint64_t load_ms)
{
    prep_corte_t c;

    corte_of(&c, n, load_ms);
    ck_assert_int_eq(prep_journal_corte(&journal, e, &c, NULL, pool),
                     APR_SUCCESS);
}

static apr_uint64_t refusals_of(const prep_counters_t *c, const char *reason)
{
    int i;

    for (i = 0; i < c->refusals->nelts; i++) {
        const prep_reason_count_t *r =
            &APR_ARRAY_IDX(c->refusals, i, prep_reason_count_t);

        if (!strcmp(r->reason, reason)) {
            return r->count;
        }
    }
    return 0;
}

/* The journal of a night: start, two published, a same-corte, three
 * refusals for two reasons, a retained, a loader crash, an intake
 * restart, and lines that count nothing (seen, stale, pin). */
static void a_night(void)
{
    event(PREP_EVENT_START);
    event(PREP_EVENT_SEEN);
    corte_event(PREP_EVENT_PUBLISHED, 1, 1200);
    event(PREP_EVENT_SEEN);
    corte_event(PREP_EVENT_PUBLISHED, 2, 900);
    corte_event(PREP_EVENT_SAME_CORTE, 2, 0);
    refuse("not-an-archive");
    refuse("truncated");
    refuse("not-an-archive");
    event(PREP_EVENT_STALE);
    event(PREP_EVENT_PIN);
    corte_event(PREP_EVENT_RETAINED, 3, 1500);
    event(PREP_EVENT_LOADER_CRASH);
    event(PREP_EVENT_INTAKE_RESTART);
}

static void check_night(const prep_counters_t *c)
{
    ck_assert_int_eq(c->loads[PREP_COUNTED_PUBLISHED], 2);
    ck_assert_int_eq(c->loads[PREP_COUNTED_SAME_CORTE], 1);
    ck_assert_int_eq(c->loads[PREP_COUNTED_REFUSED], 3);
    ck_assert_int_eq(c->loads[PREP_COUNTED_RETAINED], 1);
    ck_assert_int_eq(c->loads[PREP_COUNTED_REPUBLISHED], 0);
    ck_assert_int_eq(c->loads[PREP_COUNTED_CRASHED], 1);
    ck_assert_int_eq(c->refusals->nelts, 2);
    /* in the order of their names */
    ck_assert_str_eq(APR_ARRAY_IDX(c->refusals, 0, prep_reason_count_t).reason,
                     "not-an-archive");
    ck_assert_int_eq(refusals_of(c, "not-an-archive"), 2);
    ck_assert_int_eq(refusals_of(c, "truncated"), 1);
    ck_assert_int_eq(c->intake_restarts, 1);
    /* the retained corte's load was the last that made a corte */
    ck_assert_int_eq(c->last_load_ms, 1500);
    ck_assert(c->last_load_at > 0);
    ck_assert(c->since > 0 && c->since <= c->last_load_at);
}

START_TEST(test_result_names)
{
    ck_assert_str_eq(prep_counted_text(PREP_COUNTED_PUBLISHED), "published");
    ck_assert_str_eq(prep_counted_text(PREP_COUNTED_SAME_CORTE), "same-corte");
    ck_assert_str_eq(prep_counted_text(PREP_COUNTED_CRASHED), "crashed");
    ck_assert_str_eq(prep_counted_text(PREP_COUNTED_RESULTS), "unknown");
}
END_TEST

START_TEST(test_appends_count_every_outcome)
{
    prep_counters_t c;

    ck_assert_int_eq(prep_store_read_counters(&c, feed.store, pool),
                     APR_ENOENT);
    ck_assert_int_eq(c.loads[PREP_COUNTED_PUBLISHED], 0);
    a_night();
    /* a new reader (a status request after a restart) reads the file */
    ck_assert_int_eq(prep_store_read_counters(&c, feed.store, pool),
                     APR_SUCCESS);
    check_night(&c);
}
END_TEST

START_TEST(test_lines_that_count_nothing_leave_the_file)
{
    struct stat before, after;

    event(PREP_EVENT_START);
    ck_assert_int_eq(stat(counters_path(), &before), 0);
    sleep(1);
    event(PREP_EVENT_SEEN);
    event(PREP_EVENT_STALE);
    ck_assert_int_eq(stat(counters_path(), &after), 0);
    ck_assert(before.st_ino == after.st_ino);
    ck_assert(before.st_mtime == after.st_mtime);
}
END_TEST

START_TEST(test_missing_file_is_counted_again_from_the_journal)
{
    prep_counters_t c;

    a_night();
    ck_assert_int_eq(unlink(counters_path()), 0);
    /* the next line, of any event, counts the whole journal with it */
    event(PREP_EVENT_SEEN);
    ck_assert_int_eq(prep_store_read_counters(&c, feed.store, pool),
                     APR_SUCCESS);
    check_night(&c);
    corte_event(PREP_EVENT_PUBLISHED, 4, 700);
    ck_assert_int_eq(prep_store_read_counters(&c, feed.store, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(c.loads[PREP_COUNTED_PUBLISHED], 3);
    ck_assert_int_eq(c.last_load_ms, 700);
}
END_TEST

START_TEST(test_damaged_file_is_counted_again_from_the_journal)
{
    prep_counters_t c;
    FILE *f;

    a_night();
    ck_assert_ptr_nonnull(f = fopen(counters_path(), "w"));
    fputs("{\"loads\": 7", f);
    fclose(f);
    ck_assert_int_eq(prep_store_read_counters(&c, feed.store, pool),
                     APR_EINVAL);
    ck_assert_int_eq(c.loads[PREP_COUNTED_PUBLISHED], 0);
    refuse("truncated");
    ck_assert_int_eq(prep_store_read_counters(&c, feed.store, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(c.loads[PREP_COUNTED_PUBLISHED], 2);
    ck_assert_int_eq(c.loads[PREP_COUNTED_REFUSED], 4);
    ck_assert_int_eq(refusals_of(&c, "truncated"), 2);
}
END_TEST

START_TEST(test_unwritable_counters_are_removed_not_kept_wrong)
{
    prep_counters_t c;
    const char *tmp = apr_pstrcat(pool, counters_path(), ".tmp", NULL);

    a_night();
    /* counters.json.tmp a directory: the write-then-rename fails (for
     * root too: a directory is not opened for writing) */
    ck_assert_int_eq(mkdir(tmp, 0755), 0);
    corte_event(PREP_EVENT_PUBLISHED, 5, 100);
    ck_assert_int_eq(access(counters_path(), F_OK), -1);
    ck_assert_int_eq(rmdir(tmp), 0);
    /* the next append counts the journal, the line missed included */
    event(PREP_EVENT_SEEN);
    ck_assert_int_eq(prep_store_read_counters(&c, feed.store, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(c.loads[PREP_COUNTED_PUBLISHED], 3);
    ck_assert_int_eq(c.last_load_ms, 100);
}
END_TEST

START_TEST(test_reasons_beyond_the_limit_are_other)
{
    prep_counters_t c;
    int i;

    prep_counters_init(&c, pool);
    for (i = 0; i < PREP_COUNTERS_REASONS_MAX + 10; i++) {
        json_t *line = json_pack("{s:s,s:s}", "event", "refused", "reason",
                                 apr_psprintf(pool, "r%03d", i));

        ck_assert_int_eq(prep_counters_add(&c, line, pool), 1);
        json_decref(line);
    }
    ck_assert_int_le(c.refusals->nelts, PREP_COUNTERS_REASONS_MAX + 1);
    ck_assert_int_eq(refusals_of(&c, "other"), 10);
    ck_assert_int_eq(c.loads[PREP_COUNTED_REFUSED],
                     PREP_COUNTERS_REASONS_MAX + 10);
    ck_assert_int_eq(prep_store_write_counters(feed.store, &c, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(prep_store_read_counters(&c, feed.store, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(refusals_of(&c, "other"), 10);
    ck_assert_int_eq(refusals_of(&c, "r000"), 1);
}
END_TEST

Suite *suite_counters(void)
{
    Suite *s = suite_create("counters");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_result_names);
    tcase_add_test(tc, test_appends_count_every_outcome);
    tcase_add_test(tc, test_lines_that_count_nothing_leave_the_file);
    tcase_add_test(tc, test_missing_file_is_counted_again_from_the_journal);
    tcase_add_test(tc, test_damaged_file_is_counted_again_from_the_journal);
    tcase_add_test(tc, test_unwritable_counters_are_removed_not_kept_wrong);
    tcase_add_test(tc, test_reasons_beyond_the_limit_are_other);
    suite_add_tcase(s, tc);
    return s;
}
