/* check_util.c — unit tests (placeholder until written). */
#include "test_prep.h"

Suite *suite_util(void)
{
    return suite_create("util");
}
