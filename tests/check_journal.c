/* check_journal.c — unit tests of prep_journal.c. */
#include "test_prep.h"

Suite *suite_journal(void)
{
    Suite *s = suite_create("journal");

    return s;
}
