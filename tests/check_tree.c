/* check_tree.c — unit tests of PrepSource: the directive's words and its
 * default; `tree` is refused until prep_tree.c exists. */
#include <string.h>

#include <apr_strings.h>

#include "prep.h"
#include "test_prep.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static const char *set_source(prep_feed_t *f, const char *word)
{
    const char *argv[] = {word};

    return prep_feed_set(f, &prep_feed_directives[PREP_FEED_SOURCE], 1, argv,
                         pool);
}

START_TEST(source_is_a_package_unless_told_tree)
{
    prep_feed_t f;
    const char *err;

    prep_feed_defaults(&f, pool);
    ck_assert_int_eq(f.source, PREP_SOURCE_PACKAGE);
    ck_assert_str_eq(prep_feed_directives[PREP_FEED_SOURCE].name, "PrepSource");
    ck_assert_ptr_null(set_source(&f, "Package"));
    ck_assert_int_eq(f.source, PREP_SOURCE_PACKAGE);
    /* Not yet read by the intake: refused rather than taken for packages */
    err = set_source(&f, "tree");
    ck_assert_str_eq(err, "PrepSource: tree is not available yet (planned); "
                          "use package");
    ck_assert_int_eq(f.source, PREP_SOURCE_PACKAGE);
    ck_assert_ptr_null(set_source(&f, "package"));
    ck_assert_int_eq(f.source, PREP_SOURCE_PACKAGE);
    err = set_source(&f, "directory");
    ck_assert_ptr_nonnull(err);
    ck_assert_str_eq(err, "PrepSource: use package or tree");
    ck_assert_int_eq(f.source, PREP_SOURCE_PACKAGE);
}
END_TEST

Suite *suite_tree(void)
{
    Suite *s = suite_create("tree");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, source_is_a_package_unless_told_tree);
    suite_add_tcase(s, tc);
    return s;
}
