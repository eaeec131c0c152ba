/* test_main.c — runs every suite of the core library's unit tests. */
#include <stdlib.h>
#include <locale.h>
#include <sys/stat.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <jansson.h>
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
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_terminate();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
