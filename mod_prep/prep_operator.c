/* prep_operator.c — what the operator decides for a feed (STORE/control.json)
 * and the operator's actions: rollback, pin, unpin, reset, close, drill. */
#include "prep.h"
