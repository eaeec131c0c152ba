/* prepctl.c — the command-line companion of mod_prep.  `prepctl verify`
 * runs exactly the module's package checks (the same library code) on a
 * package offline, so an operator can try a drill package before election
 * night. */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_file_io.h>
#include <apr_strings.h>

#include "prep.h"

static const char usage[] =
    "NAME\n"
    "    prepctl - check PREP packages the way mod_prep does\n"
    "\n"
    "SYNOPSIS\n"
    "    prepctl verify [OPTIONS] PACKAGE\n"
    "    prepctl --help | --version\n"
    "\n"
    "DESCRIPTION\n"
    "    verify reads PACKAGE (tar, tar.gz, zip, or a format --formats\n"
    "    allows) under mod_prep's package rules: no absolute paths, no '..',\n"
    "    no links, devices, FIFOs, duplicates, encrypted entries or control\n"
    "    characters in names, the PrepLimits, a readable archive to its\n"
    "    end, PrepVerify, and a corte time that can be read and is not\n"
    "    more than a day ahead. It prints the files, bytes,\n"
    "    SHA-256 and corte time, or the reason code and sentence of the\n"
    "    refusal. Nothing is written but a temporary file, removed at exit.\n"
    "\n"
    "OPTIONS (as the directives of the same name)\n"
    "    --corte-time 'json FILE POINTER' | 'csv FILE LINE' |\n"
    "                 'filename REGEX' | mtime       [mtime]\n"
    "    --zone OFFSET [NAME]       e.g. -06:00      [-06:00]\n"
    "    --limits 'files=N bytes=SIZE file=SIZE ratio=N depth=N'\n"
    "                               [files=100000 bytes=2G file=512M\n"
    "                                ratio=200 depth=32]\n"
    "    --strip auto|N             [auto]\n"
    "    --formats 'tar zip 7z ...' archive formats and compressions read\n"
    "                               [tar zip gzip bzip2 xz zstd]\n"
    "    --verify sha256            needs PACKAGE.sha256 beside it\n"
    "    --verify-key PUBKEY.pem    needs PACKAGE.sig beside it\n"
    "\n"
    "EXIT STATUS\n"
    "    0 the package would be accepted; 1 it would be refused;\n"
    "    2 wrong usage.\n"
    "\n"
    "EXAMPLE\n"
    "    prepctl verify --corte-time 'json json/main.json /fechaCorte' \\\n"
    "        /srv/prep/qro/incoming/PREP_QRO_2024.tar.gz\n";

static int fail_usage(const char *msg)
{
    fprintf(stderr, "prepctl: %s\nTry 'prepctl --help'.\n", msg);
    return 2;
}

/* Splits a directive-like argument into words (quotes as in httpd). */
static apr_array_header_t *words(const char *text, apr_pool_t *p)
{
    apr_array_header_t *w = apr_array_make(p, 4, sizeof(char *));
    char *copy = apr_pstrdup(p, text), *tok, *state;

    for (tok = apr_strtok(copy, " \t", &state); tok;
         tok = apr_strtok(NULL, " \t", &state)) {
        APR_ARRAY_PUSH(w, const char *) = tok;
    }
    return w;
}

static int verify(int argc, const char *const *argv, apr_pool_t *p)
{
    prep_feed_t feed;
    prep_checked_t *checked;
    prep_verdict_t verdict = {NULL, NULL};
    const char *package = NULL, *err = NULL, *tmpdir, *tmp;
    apr_file_t *pack;
    apr_status_t rv;
    int i, j;

    prep_feed_defaults(&feed, p);
    for (i = 0; i < argc && !err; i++) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

        if (opt[0] != '-') {
            if (package) {
                return fail_usage("verify takes one package");
            }
            package = opt;
            continue;
        }
        if (!val) {
            return fail_usage(apr_psprintf(p, "%s needs a value", opt));
        }
        i++;
        if (!strcmp(opt, "--corte-time")) {
            apr_array_header_t *w = words(val, p);
            err = prep_corte_spec_parse(&feed.corte, w->nelts,
                                        (const char *const *)w->elts, p);
        } else if (!strcmp(opt, "--zone")) {
            const char *space = strchr(val, ' ');
            err = prep_zone_parse(
                &feed.zone, space ? apr_pstrndup(p, val, space - val) : val,
                space ? space + 1 : feed.zone.name, p);
        } else if (!strcmp(opt, "--limits")) {
            apr_array_header_t *w = words(val, p);
            for (j = 0; j < w->nelts && !err; j++) {
                err = prep_limits_parse(&feed.limits,
                                        APR_ARRAY_IDX(w, j, const char *), p);
            }
        } else if (!strcmp(opt, "--formats")) {
            apr_array_header_t *w = words(val, p);
            unsigned named = 0;

            for (j = 0; j < w->nelts && !err; j++) {
                err = prep_formats_parse(&named,
                                         APR_ARRAY_IDX(w, j, const char *), p);
            }
            if (!err && w->nelts == 0) {
                err = "--formats needs at least one format";
            }
            feed.limits.formats = prep_formats_of_line(named);
        } else if (!strcmp(opt, "--strip")) {
            feed.strip = !strcmp(val, "auto") ? -1 : atoi(val);
        } else if (!strcmp(opt, "--verify")) {
            if (strcmp(val, "sha256")) {
                return fail_usage("--verify takes sha256 "
                                  "(use --verify-key for signatures)");
            }
            feed.verify = PREP_VERIFY_SHA256;
        } else if (!strcmp(opt, "--verify-key")) {
            feed.verify = PREP_VERIFY_SIGNATURE;
            feed.verify_key = val;
            err = prep_verify_key_check(val, p);
        } else {
            return fail_usage(apr_psprintf(p, "unknown option %s", opt));
        }
    }
    if (err) {
        return fail_usage(err);
    }
    if (!package) {
        return fail_usage("verify needs a PACKAGE");
    }
    if (apr_temp_dir_get(&tmpdir, p) != APR_SUCCESS) {
        tmpdir = "/tmp";
    }
    tmp = apr_pstrcat(p, tmpdir, "/prepctl-pack-XXXXXX", NULL);
    rv = apr_file_mktemp(&pack, (char *)tmp,
                         APR_FOPEN_CREATE | APR_FOPEN_READ | APR_FOPEN_WRITE |
                             APR_FOPEN_EXCL | APR_FOPEN_BINARY |
                             APR_FOPEN_DELONCLOSE,
                         p);
    if (rv != APR_SUCCESS) {
        fprintf(stderr, "prepctl: cannot create a temporary file in %s\n",
                tmpdir);
        return 2;
    }
    rv = prep_package_check(&checked, &feed, package, pack, &verdict, p);
    apr_file_close(pack);
    printf("package:    %s\n", package);
    if (rv != APR_SUCCESS) {
        printf("verdict:    refused\nreason:     %s\nmessage:    %s\n",
               verdict.reason ? verdict.reason : "io",
               verdict.message ? verdict.message : "unknown error");
        return 1;
    }
    printf("format:     %s\n"
           "sha256:     %s\n"
           "size:       %" APR_UINT64_T_FMT "\n"
           "files:      %d\n"
           "bytes:      %" APR_UINT64_T_FMT "\n"
           "corte time: %s\n"
           "banner:     %s\n"
           "verdict:    accepted\n",
           checked->unpacked->format ? checked->unpacked->format : "?",
           prep_hex(p, checked->unpacked->package_sha256, 32),
           checked->unpacked->package_size, checked->unpacked->entries->nelts,
           checked->unpacked->bytes,
           prep_time_iso(p, checked->corte_time, &feed.zone),
           prep_banner_label(p, checked->corte_time, &feed.zone));
    return 0;
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *p;
    int rc;

    setlocale(LC_CTYPE, "C.UTF-8");
    if (argc < 2) {
        return fail_usage("missing command");
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        fputs(usage, stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("prepctl %s\n", PREP_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "verify")) {
        fprintf(stderr, "prepctl: unknown command %s\n", argv[1]);
        return fail_usage("the command is verify");
    }
    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&p, NULL);
    rc = verify(argc - 2, argv + 2, p);
    apr_pool_destroy(p);
    apr_terminate();
    return rc;
}
