/* prep_report_html.c — memoria.html: a first page that only names the
 * document (the page itself comes with its own change). */
#include <string.h>

#include <jansson.h>

#include "prep.h"
#include "prep_report.h"

void prep_memoria_html(prep_text_t *out, const json_t *doc)
{
    static const char page[] =
        "<!DOCTYPE html>\n<html lang=\"es\"><head><meta charset=\"utf-8\">"
        "<title>Memoria técnica</title></head><body><h1>Memoria técnica de "
        "la difusión del PREP</h1></body></html>\n";

    (void)doc;
    prep_text_put(out, page, sizeof(page) - 1);
}
