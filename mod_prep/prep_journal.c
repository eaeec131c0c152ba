/* prep_journal.c — the journal of a feed, STORE/journal.jsonl. */
#include "prep.h"
