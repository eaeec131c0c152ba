/* check_banner.c — unit tests (placeholder until written). */
#include "test_prep.h"

Suite *suite_banner(void)
{
    return suite_create("banner");
}
