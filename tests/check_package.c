/* check_package.c — unit tests (placeholder until written). */
#include "test_prep.h"

Suite *suite_package(void)
{
    return suite_create("package");
}
