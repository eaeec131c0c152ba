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

/* The report suites' fixture (test_main.c): a pool, a new temporary
 * directory /tmp/prep-NAME-XXXXXX, the feed in it and its journal;
 * removed again by test_night_close. */
void test_night_open(apr_pool_t **pool, const char **root, prep_feed_t *feed,
                     prep_journal_t *journal, const char *name);
void test_night_close(apr_pool_t *pool, const char *root);
/* 2024-06-02T20:00:00-06:00, and m minutes after it */
#define TEST_NIGHT_T0    apr_time_from_sec(1717380000)
#define TEST_NIGHT_AT(m) (TEST_NIGHT_T0 + apr_time_from_sec(60 * (m)))
/* The two cortes of the night, as the journal's "corte" objects */
#define TEST_CORTE_A                                                           \
    "{\"id\":\"A\",\"time\":\"2024-06-02T20:04:00-06:00\","                    \
    "\"package\":\"PA.tar.gz\"}"
#define TEST_CORTE_C                                                           \
    "{\"id\":\"C\",\"time\":\"2024-06-02T20:29:00-06:00\","                    \
    "\"package\":\"PC.tar.gz\"}"
/* The night of the report suites, minutes after 20:00 (update interval
 * 5 min; a period 20:00-21:30 makes the incidents noted):
 *   0 start (nothing served)      5 A published
 *  10 refusal PB (next corte at 30: 20 min > 5, affected)
 *  12 loader crash PX (affected, the same)
 *  20 stale (A)                  28 refusal PC0 (next corte at 30: not)
 *  30 C published, fresh         40 store problem   45 store ok
 *  50 intake restart (C still served)
 *  60 rollback to A (maria)      70 unpin to C (maria)
 *  80 stale (C)                  82 refusal of package last_package
 *                                   (no corte up to 90: affected)
 * written into journal j by the real writer. */
void test_night_write(prep_journal_t *j, const char *last_package,
                      apr_pool_t *p);
/* The id STORE/current names, or NULL (test_main.c). */
const char *test_current_id(const char *store, apr_pool_t *p);
/* The bytes of `path` as corte `id` of `store` serves them in banner slot
 * `banner`, as delivered (identity), NUL-terminated; NULL when the corte
 * has no such file or representation.  The index must open. */
char *test_served(const char *store, const char *id, const char *path,
                  apr_uint32_t banner, apr_pool_t *p);
/* An array of the one string s. */
apr_array_header_t *test_strings(const char *s, apr_pool_t *p);
/* The memoria of feed "qro" (store) over [T0, to), the difusor
 * "Universidad de prueba", zone -06:00 "Tiempo del Centro", Location
 * /prep/qro, made at generated_at by "mod_prep test". */
struct prep_memoria_options;
void test_memoria_defaults(struct prep_memoria_options *o, const char *store,
                           apr_time_t to, apr_time_t generated_at,
                           apr_pool_t *p);

Suite *suite_util(void);
Suite *suite_feed(void);
Suite *suite_cortetime(void);
Suite *suite_banner(void);
Suite *suite_package(void);
Suite *suite_index(void);
Suite *suite_store(void);
Suite *suite_corte(void);
Suite *suite_loader(void);
Suite *suite_incremental(void);
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
Suite *suite_tree(void);

#endif
