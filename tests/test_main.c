/* test_main.c — runs every suite of the core library's unit tests. */
#include <stdlib.h>
#include <string.h>
#include <locale.h>
#include <sys/stat.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <jansson.h>
#include "prep_report.h"
#include "test_prep.h"

void test_feed_in(prep_feed_t *feed, const char *root, apr_pool_t *p)
{
    prep_feed_defaults(feed, p);
    feed->name = "qro";
    feed->incoming = apr_pstrcat(p, root, "/incoming", NULL);
    feed->store = apr_pstrcat(p, root, "/store", NULL);
    ck_assert_int_eq(mkdir(feed->incoming, 0755), 0);
    ck_assert_int_eq(mkdir(feed->store, 0755), 0);
}

void test_journal_at(prep_journal_t *j, prep_event_e e, apr_time_t at,
                     const char *fields, apr_pool_t *p)
{
    json_t *line = prep_journal_line(j, e, at);

    if (fields) {
        json_error_t err;
        json_t *f = json_loads(fields, 0, &err);

        ck_assert_msg(f != NULL, "bad fields %s: %s", fields, err.text);
        json_object_update(line, f);
        json_decref(f);
    }
    ck_assert_int_eq(prep_journal_append(j, line, p), APR_SUCCESS);
}

const char *test_current_id(const char *store, apr_pool_t *p)
{
    const char *id = NULL;

    prep_store_current(&id, store, p);
    return id;
}

char *test_served(const char *store, const char *id, const char *path,
                  apr_uint32_t banner, apr_pool_t *p)
{
    const char *dir = prep_store_corte_dir(p, store, id);
    const prep_index_entry_t *e;
    const prep_rep_t *rep;
    prep_index_t *idx;
    apr_file_t *fp;
    char *bytes;
    apr_size_t len = 0;

    ck_assert_int_eq(
        prep_index_open(&idx, apr_pstrcat(p, dir, "/" PREP_INDEX_FILE, NULL),
                        p),
        APR_SUCCESS);
    if (!(e = prep_index_lookup(idx, path, strlen(path))) ||
        !(rep = prep_index_entry_rep(idx, e, banner, PREP_ENC_IDENTITY))) {
        return NULL;
    }
    ck_assert_int_eq(
        apr_file_open(&fp, apr_pstrcat(p, dir, "/" PREP_PACK_FILE, NULL),
                      APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p),
        APR_SUCCESS);
    bytes = apr_palloc(p, (apr_size_t)rep->length + 1);
    if (rep->length > 0) {
        apr_off_t at = (apr_off_t)rep->offset;

        ck_assert_int_eq(apr_file_seek(fp, APR_SET, &at), APR_SUCCESS);
        ck_assert_int_eq(
            apr_file_read_full(fp, bytes, (apr_size_t)rep->length, &len),
            APR_SUCCESS);
    }
    bytes[len] = '\0';
    apr_file_close(fp);
    return bytes;
}

void test_night_open(apr_pool_t **pool, const char **root, prep_feed_t *feed,
                     prep_journal_t *journal, const char *name)
{
    char *tmpl;

    apr_pool_create(pool, NULL);
    tmpl = apr_pstrcat(*pool, "/tmp/prep-", name, "-XXXXXX", NULL);
    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    *root = tmpl;
    test_feed_in(feed, *root, *pool);
    prep_journal_init(journal, feed, 0);
}

void test_night_close(apr_pool_t *pool, const char *root)
{
    ck_assert_int_eq(system(apr_psprintf(pool, "rm -rf '%s'", root)), 0);
    apr_pool_destroy(pool);
}

void test_night_write(prep_journal_t *j, const char *last_package,
                      apr_pool_t *p)
{
    static const struct {
        int m;
        prep_event_e e;
        const char *fields;
    } night[] = {
        {0, PREP_EVENT_START, "{\"served\":null,\"state\":\"waiting\"}"},
        {5, PREP_EVENT_PUBLISHED, "{\"corte\":" TEST_CORTE_A "}"},
        {10, PREP_EVENT_REFUSED,
         "{\"package\":\"PB.tar.gz\",\"reason\":\"truncated\","
         "\"message\":\"entry \\\"x\\\", truncated\"}"},
        {12, PREP_EVENT_LOADER_CRASH,
         "{\"package\":\"PX.tar.gz\",\"status\":11,"
         "\"message\":\"the loader died of signal 11\",\"retry\":true}"},
        {20, PREP_EVENT_STALE, "{\"served\":\"A\",\"age_s\":900}"},
        {28, PREP_EVENT_REFUSED,
         "{\"package\":\"PC0.tar.gz\",\"reason\":\"older-corte\","
         "\"message\":\"older\"}"},
        {30, PREP_EVENT_PUBLISHED, "{\"corte\":" TEST_CORTE_C "}"},
        {30, PREP_EVENT_FRESH, "{\"served\":\"C\",\"stale_s\":600}"},
        {40, PREP_EVENT_STORE_PROBLEM, "{\"message\":\"disk full\"}"},
        {45, PREP_EVENT_STORE_OK, NULL},
        {50, PREP_EVENT_INTAKE_RESTART,
         "{\"served\":" TEST_CORTE_C ",\"old_pid\":7,\"status\":9}"},
        {60, PREP_EVENT_ROLLBACK,
         "{\"corte\":" TEST_CORTE_A ",\"from\":\"C\",\"to\":\"A\","
         "\"user\":\"maria\"}"},
        {70, PREP_EVENT_UNPIN,
         "{\"corte\":" TEST_CORTE_C ",\"from\":\"A\",\"to\":\"C\","
         "\"user\":\"maria\"}"},
        {80, PREP_EVENT_STALE, "{\"served\":\"C\",\"age_s\":900}"},
    };
    json_t *last;
    char *text;
    size_t i;

    for (i = 0; i < sizeof(night) / sizeof(night[0]); i++) {
        test_journal_at(j, night[i].e, TEST_NIGHT_AT(night[i].m),
                        night[i].fields, p);
    }
    last = json_pack("{s:s, s:s, s:s}", "package", last_package, "reason",
                     "verify", "message", "bad signature");
    text = json_dumps(last, 0);
    test_journal_at(j, PREP_EVENT_REFUSED, TEST_NIGHT_AT(82), text, p);
    free(text);
    json_decref(last);
}

apr_array_header_t *test_strings(const char *s, apr_pool_t *p)
{
    apr_array_header_t *a = apr_array_make(p, 1, sizeof(const char *));

    APR_ARRAY_PUSH(a, const char *) = s;
    return a;
}

void test_memoria_defaults(prep_memoria_options_t *o, const char *store,
                           apr_time_t to, apr_time_t generated_at,
                           apr_pool_t *p)
{
    memset(o, 0, sizeof(*o));
    o->feed = "qro";
    o->difusor = "Universidad de prueba";
    o->store = store;
    o->offset_s = -21600;
    o->zone_name = "Tiempo del Centro";
    o->from = TEST_NIGHT_T0;
    o->to = to;
    o->locations = test_strings("/prep/qro", p);
    o->generated_at = generated_at;
    o->generator = "mod_prep test";
}

int main(void)
{
    SRunner *sr;
    int failed;

    setlocale(LC_CTYPE, "C.UTF-8");
    apr_initialize();
    sr = srunner_create(suite_util());
    srunner_add_suite(sr, suite_feed());
    srunner_add_suite(sr, suite_cortetime());
    srunner_add_suite(sr, suite_banner());
    srunner_add_suite(sr, suite_package());
    srunner_add_suite(sr, suite_index());
    srunner_add_suite(sr, suite_store());
    srunner_add_suite(sr, suite_corte());
    srunner_add_suite(sr, suite_loader());
    srunner_add_suite(sr, suite_incremental());
    srunner_add_suite(sr, suite_incoming());
    srunner_add_suite(sr, suite_compress());
    srunner_add_suite(sr, suite_audit());
    srunner_add_suite(sr, suite_journal());
    srunner_add_suite(sr, suite_operator());
    srunner_add_suite(sr, suite_dashboard());
    srunner_add_suite(sr, suite_counters());
    srunner_add_suite(sr, suite_report_journal());
    srunner_add_suite(sr, suite_report_log());
    srunner_add_suite(sr, suite_report());
    srunner_add_suite(sr, suite_report_html());
    srunner_add_suite(sr, suite_tree());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_terminate();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
