/* check_loader.c — unit tests (placeholder until written). */
#include "test_prep.h"

Suite *suite_loader(void)
{
    return suite_create("loader");
}
