/* check_operator.c — unit tests of prep_operator.c. */
#include "test_prep.h"

Suite *suite_operator(void)
{
    Suite *s = suite_create("operator");

    return s;
}
