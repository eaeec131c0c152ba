/* test_prep.h — the suites of the core library's unit tests. */
#ifndef TEST_PREP_H
#define TEST_PREP_H

#include <check.h>
#include <apr_pools.h>

#include "prep.h"

/* A feed "qro" with the defaults whose incoming/ and store/ are made in
 * the directory root (test_main.c). */
void test_feed_in(prep_feed_t *feed, const char *root, apr_pool_t *p);
/* Appends event e at time `at` to journal j with the fields of the JSON
 * object text `fields` (NULL: none), by the real writer (test_main.c). */
void test_journal_at(prep_journal_t *j, prep_event_e e, apr_time_t at,
                     const char *fields, apr_pool_t *p);

Suite *suite_util(void);
Suite *suite_feed(void);
Suite *suite_cortetime(void);
Suite *suite_banner(void);
Suite *suite_package(void);
Suite *suite_index(void);
Suite *suite_store(void);
Suite *suite_corte(void);
Suite *suite_loader(void);
Suite *suite_incoming(void);
Suite *suite_compress(void);
Suite *suite_audit(void);
Suite *suite_journal(void);
Suite *suite_operator(void);
Suite *suite_dashboard(void);
Suite *suite_counters(void);
Suite *suite_report_journal(void);
Suite *suite_report_log(void);
Suite *suite_report(void);
Suite *suite_report_html(void);

#endif
