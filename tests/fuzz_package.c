/* fuzz_package.c — libFuzzer harness over what reads untrusted bytes: the
 * package reader and its rules (an archive in memory), the corte-time
 * parsers (the bytes as json/main.json and as the INE CSV) and the banner
 * insertion (the bytes as an HTML page).  Build: `make fuzz`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_file_io.h>
#include <apr_strings.h>

#include "prep.h"

static apr_pool_t *root;
static apr_file_t *pack;
static prep_limits_t limits;
static prep_zone_t zone;
static prep_corte_spec_t json_spec, csv_spec;

static void init(void)
{
    char tmpl[] = "/tmp/prep-fuzz-pack-XXXXXX";
    const char *json_argv[] = {"json", "json/main.json", "/fechaCorte"};
    const char *csv_argv[] = {"csv", "datos/PRES.csv", "2"};

    apr_initialize();
    apr_pool_create(&root, NULL);
    if (apr_file_mktemp(&pack, tmpl,
                        APR_FOPEN_CREATE | APR_FOPEN_READ | APR_FOPEN_WRITE |
                            APR_FOPEN_EXCL | APR_FOPEN_BINARY |
                            APR_FOPEN_DELONCLOSE,
                        root) != APR_SUCCESS) {
        abort();
    }
    prep_limits_default(&limits);
    /* small enough that a bomb is cut short quickly */
    limits.bytes = 64 * 1024 * 1024;
    limits.file = 16 * 1024 * 1024;
    /* every decoder PrepFormats can turn on, not only the default ones */
    limits.formats = PREP_FORMATS_ARCHIVES | PREP_FORMATS_COMPRESSIONS;
    prep_zone_parse(&zone, "-06:00", "Tiempo del Centro", root);
    prep_corte_spec_parse(&json_spec, 3, json_argv, root);
    prep_corte_spec_parse(&csv_spec, 3, csv_argv, root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    apr_pool_t *p;
    prep_unpacked_t *u;
    prep_verdict_t v = {NULL, NULL};
    apr_time_t t;
    apr_size_t out_len;
    apr_off_t zero = 0;

    if (!ready) {
        init();
        ready = 1;
    }
    apr_pool_create(&p, root);
    apr_file_trunc(pack, 0);
    apr_file_seek(pack, APR_SET, &zero);
    if (prep_package_unpack_buffer(&u, data, size, pack, &limits, -1, &v, p) ==
        APR_SUCCESS) {
        /* an accepted package has sane entries */
        if (u->entries->nelts == 0 || v.reason != NULL) {
            abort();
        }
    } else if (!v.reason || !v.message) {
        abort(); /* every refusal has a reason and a sentence */
    }
    prep_corte_time_from_content(&t, &json_spec, (const char *)data, size,
                                 &zone, p);
    prep_corte_time_from_content(&t, &csv_spec, (const char *)data, size, &zone,
                                 p);
    prep_banner_insert(p, (const char *)data, size, "<div>b</div>", &out_len);
    apr_pool_destroy(p);
    return 0;
}
