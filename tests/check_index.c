/* check_index.c — unit tests (placeholder until written). */
#include "test_prep.h"

Suite *suite_index(void)
{
    return suite_create("index");
}
