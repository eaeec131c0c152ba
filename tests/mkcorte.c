/* mkcorte.c — test helper: loads one package into a store offline with the
 * loader the intake runs (prep_load_package: the package rules, the banner
 * of slot 1, gzip and br variants (those deferred too), the index,
 * corte.json, current), so the shell tests get a real corte without
 * starting httpd.
 *
 *   mkcorte STORE PACKAGE ['CORTE-TIME SPEC']
 *
 * The package is moved to its directory's processed/ (or rejected/), as
 * the intake does.  Prints the corte's id; exit 1 when refused. */
#include <stdio.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "prep.h"

static void log_line(void *baton, int is_error, const char *msg)
{
    (void)baton;
    fprintf(stderr, "mkcorte: %s%s\n", is_error ? "error: " : "", msg);
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *p;
    prep_feed_t feed;
    prep_load_result_t *res;
    const char *err = NULL;
    char *incoming;
    int rc = 0;

    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: mkcorte STORE PACKAGE ['CORTE-TIME SPEC']\n");
        return 2;
    }
    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&p, NULL);
    prep_feed_defaults(&feed, p);
    feed.name = "test";
    feed.store = argv[1];
    incoming = apr_pstrdup(p, argv[2]);
    if (strrchr(incoming, '/')) {
        *strrchr(incoming, '/') = '\0';
    } else {
        incoming = ".";
    }
    feed.incoming = incoming;
    if (argc == 4) {
        const char *words[4];
        char *copy = apr_pstrdup(p, argv[3]), *state, *tok;
        int n = 0;

        for (tok = apr_strtok(copy, " ", &state); tok && n < 4;
             tok = apr_strtok(NULL, " ", &state)) {
            words[n++] = tok;
        }
        err = prep_corte_spec_parse(&feed.corte, n, words, p);
    }
    if (err) {
        fprintf(stderr, "mkcorte: %s\n", err);
        rc = 2;
    } else {
        const char *slash = strrchr(argv[2], '/');
        prep_load_request_t req = {
            slash ? slash + 1 : argv[2], NULL, PREP_LOAD_NEW, NULL, NULL, NULL};

        APR_ARRAY_PUSH(feed.banners, const char *) = NULL; /* slot 1 */
        res = prep_load_package(&feed, &req, log_line, NULL, p);
        prep_load_complete(res); /* variants it deferred, if any */
        /* a pinned store retains the corte: made all the same */
        if (res->outcome != PREP_LOAD_PUBLISHED &&
            res->outcome != PREP_LOAD_SAME &&
            res->outcome != PREP_LOAD_RETAINED) {
            if (!res->verdict.reason) {
                res->verdict.reason = "not-loaded";
                res->verdict.message = "the package changed or was held";
            }
            fprintf(stderr, "mkcorte: refused: %s: %s\n", res->verdict.reason,
                    res->verdict.message);
            rc = 1;
        } else {
            printf("%s\n", res->corte->id);
        }
    }
    apr_pool_destroy(p);
    apr_terminate();
    return rc;
}
