/* check_store.c — unit tests (placeholder until written). */
#include "test_prep.h"

Suite *suite_store(void)
{
    return suite_create("store");
}
