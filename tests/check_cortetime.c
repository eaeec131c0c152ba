/* check_cortetime.c — unit tests (placeholder until written). */
#include "test_prep.h"

Suite *suite_cortetime(void)
{
    return suite_create("cortetime");
}
