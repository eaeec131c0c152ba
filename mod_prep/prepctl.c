/* prepctl.c — the command-line companion of mod_prep.  `prepctl verify`
 * runs exactly the module's package checks (the same library code) on a
 * package offline, so an operator can try a drill package before election
 * night.  `prepctl audit` re-reads a published corte and checks that every
 * byte served is still the byte published (prep_audit.c). */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "prep.h"

static const char usage[] =
    "NAME\n"
    "    prepctl - check PREP packages the way mod_prep does, and the cortes\n"
    "    it published\n"
    "\n"
    "SYNOPSIS\n"
    "    prepctl verify [OPTIONS] PACKAGE\n"
    "    prepctl audit [FEED] --store DIR [ID]\n"
    "    prepctl --help | --version\n"
    "\n"
    "DESCRIPTION\n"
    "    verify reads PACKAGE (tar, tar.gz, zip, or a format --formats\n"
    "    allows) under mod_prep's package rules: no absolute paths, no '..',\n"
    "    no links, devices, FIFOs, duplicates, encrypted entries or control\n"
    "    characters in names, the PrepLimits, a readable archive to its\n"
    "    end, PrepVerify, and a corte time that can be read and is not\n"
    "    more than --future-limit ahead. It prints the files, bytes,\n"
    "    SHA-256 and corte time, or the reason code and sentence of the\n"
    "    refusal. Nothing is written but a temporary file, removed at exit.\n"
    "\n"
    "    audit reads again every byte of a published corte of the store DIR\n"
    "    (the feed's PrepStore): the current corte, or the corte ID (as named\n"
    "    in DIR/cortes/, e.g. 20240603T030500Z-0123abcd). Each file, as\n"
    "    delivered, with each banner and in each gzip/br variant, is hashed\n"
    "    and compared with the SHA-256 recorded when it was published (its\n"
    "    ETag); the index must open and every file lie inside content.pack;\n"
    "    corte.json must read, name the corte and count its files. It prints\n"
    "    the files, representations, bytes checked and the time taken. When\n"
    "    anything differs it says so on standard error and lists on standard\n"
    "    output one line per representation whose bytes differ or cannot be\n"
    "    read: FAULT ENCODING banner=N PATH, FAULT one of differs,\n"
    "    outside-pack, unreadable, banner=0 the file as delivered. FEED, any\n"
    "    word that is not a corte id, is printed; --store is required. It\n"
    "    only reads, and can run while the feed is served.\n"
    "\n"
    "OPTIONS (as the directives of the same name)\n"
    "    --corte-time 'json FILE POINTER' | 'csv FILE LINE' |\n"
    "                 'filename REGEX' | mtime       [mtime]\n"
    "    --zone OFFSET [NAME]       e.g. -06:00      [-06:00]\n"
    "    --limits 'files=N bytes=SIZE file=SIZE ratio=N depth=N'\n"
    "                               [files=100000 bytes=2G file=512M\n"
    "                                ratio=200 depth=32]\n"
    "    --strip auto|N             [auto]\n"
    "    --future-limit DURATION|off  as PrepFutureLimit    [15m]\n"
    "    --formats 'tar zip 7z ...' archive formats and compressions read\n"
    "                               [tar zip gzip bzip2 xz zstd]\n"
    "    --verify sha256            needs PACKAGE.sha256 beside it\n"
    "    --verify-key PUBKEY.pem    needs PACKAGE.sig beside it\n"
    "\n"
    "EXIT STATUS\n"
    "    verify: 0 the package would be accepted; 1 it would be refused;\n"
    "    2 wrong usage.\n"
    "    audit: 0 every byte is as published; 1 something differs, cannot be\n"
    "    read or disagrees (or the current corte's directory is gone);\n"
    "    2 wrong usage, a store without a current corte, or no corte ID.\n"
    "\n"
    "EXAMPLES\n"
    "    prepctl verify --corte-time 'json json/main.json /fechaCorte' \\\n"
    "        /srv/prep/qro/incoming/PREP_QRO_2024.tar.gz\n"
    "    prepctl audit qro --store /srv/prep/qro/store\n";

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
        } else if (!strcmp(opt, "--future-limit")) {
            if (!strcmp(val, "off")) {
                feed.future_limit = -1;
            } else {
                err = prep_parse_duration(&feed.future_limit, val);
            }
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

/* A corte id as prep_corte_id writes it: YYYYMMDDTHHMMSSZ-xxxxxxxx. */
static int corte_id_shaped(const char *w)
{
    static const char shape[] = "99999999T999999Z-xxxxxxxx";
    size_t i;

    if (strlen(w) != sizeof(shape) - 1) {
        return 0;
    }
    for (i = 0; shape[i]; i++) {
        int fits;

        if (shape[i] == '9') {
            fits = apr_isdigit(w[i]);
        } else if (shape[i] == 'x') {
            fits = apr_isxdigit(w[i]);
        } else {
            fits = w[i] == shape[i];
        }
        if (!fits) {
            return 0;
        }
    }
    return 1;
}

static void audit_summary(FILE *out, const char *feed, const char *store,
                          const char *id, const prep_audit_t *a,
                          apr_interval_time_t took)
{
    const prep_audit_totals_t *t = prep_audit_totals(a);

    if (feed) {
        fprintf(out, "feed:            %s\n", feed);
    }
    fprintf(out,
            "store:           %s\n"
            "corte:           %s\n"
            "files:           %" APR_UINT64_T_FMT "\n"
            "representations: %" APR_UINT64_T_FMT "\n"
            "bytes checked:   %" APR_UINT64_T_FMT "\n"
            "time:            %" APR_TIME_T_FMT " ms\n",
            store, id, t->files, t->reps, t->checked, apr_time_as_msec(took));
}

/* The word in STORE/current even when prep_store_current refuses it (its
 * corte is gone or has no index): that is a damaged store to report, not
 * a store without a corte.  NULL when current is missing or empty. */
static const char *current_named(const char *store, apr_pool_t *p)
{
    apr_file_t *fp;
    char buf[128], *s, *e;
    apr_size_t len = sizeof(buf) - 1;

    if (apr_file_open(&fp, apr_pstrcat(p, store, "/" PREP_CURRENT_FILE, NULL),
                      APR_FOPEN_READ, 0, p) != APR_SUCCESS) {
        return NULL;
    }
    if (apr_file_read(fp, buf, &len) != APR_SUCCESS) {
        len = 0;
    }
    apr_file_close(fp);
    buf[len] = '\0';
    for (s = buf; apr_isspace(*s); s++) {
    }
    for (e = s; *e && !apr_isspace(*e); e++) {
    }
    *e = '\0';
    return *s && !strchr(s, '/') && strcmp(s, "..") ? apr_pstrdup(p, s) : NULL;
}

static int audit(int argc, const char *const *argv, apr_pool_t *p)
{
    const char *store = NULL, *feed = NULL, *id = NULL, *dir;
    const apr_array_header_t *bad, *problems;
    prep_audit_t *a;
    apr_finfo_t fi;
    apr_time_t start;
    apr_status_t rv;
    int i, from_current = 0;

    for (i = 0; i < argc; i++) {
        const char *w = argv[i];

        if (!strcmp(w, "--store")) {
            if (i + 1 >= argc) {
                return fail_usage("--store needs a value");
            }
            store = argv[++i];
        } else if (w[0] == '-') {
            return fail_usage(apr_psprintf(p, "unknown option %s", w));
        } else if (corte_id_shaped(w)) {
            if (id) {
                return fail_usage("audit takes one corte ID");
            }
            id = w;
        } else {
            if (feed) {
                return fail_usage("audit takes one FEED");
            }
            feed = w;
        }
    }
    if (!store) {
        return fail_usage("audit needs --store DIR (the feed's PrepStore)");
    }
    if (apr_stat(&fi, store, APR_FINFO_TYPE, p) != APR_SUCCESS ||
        fi.filetype != APR_DIR) {
        return fail_usage(
            apr_psprintf(p, "the store %s is not a directory", store));
    }
    if (!id) {
        if (prep_store_current(&id, store, p) != APR_SUCCESS &&
            !(id = current_named(store, p))) {
            fprintf(stderr,
                    "prepctl: the store %s has no current corte: nothing "
                    "to audit\n",
                    store);
            return 2;
        }
        from_current = 1;
    }
    dir = prep_store_corte_dir(p, store, id);
    start = apr_time_now();
    rv = prep_audit_corte(&a, dir, p);
    if (!a) {
        fprintf(stderr, "prepctl: %s corte %s is not in %s/cortes: %pm\n",
                from_current ? "the current" : "the", id, store, &rv);
        return from_current ? 1 : 2;
    }
    if (rv == APR_SUCCESS) {
        audit_summary(stdout, feed, store, id, a, apr_time_now() - start);
        printf("verdict:         every byte as published\n");
        return 0;
    }
    bad = prep_audit_bad(a);
    problems = prep_audit_problems(a);
    fprintf(stderr,
            "prepctl: corte %s is not as it was published: %d "
            "representation(s) differ or cannot be read, %d other "
            "problem(s)\n",
            id, bad->nelts, problems->nelts);
    for (i = 0; i < problems->nelts; i++) {
        fprintf(stderr, "prepctl: %s\n",
                APR_ARRAY_IDX(problems, i, const char *));
    }
    audit_summary(stderr, feed, store, id, a, apr_time_now() - start);
    for (i = 0; i < bad->nelts; i++) {
        const prep_audit_bad_t *b = &APR_ARRAY_IDX(bad, i, prep_audit_bad_t);

        printf("%s %s banner=%u %s\n", prep_audit_fault_name(b->fault),
               prep_encoding_name(b->encoding), (unsigned)b->banner, b->path);
    }
    return 1;
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
    if (strcmp(argv[1], "verify") && strcmp(argv[1], "audit")) {
        fprintf(stderr, "prepctl: unknown command %s\n", argv[1]);
        return fail_usage("the commands are verify and audit");
    }
    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&p, NULL);
    rc = !strcmp(argv[1], "audit") ? audit(argc - 2, argv + 2, p)
                                   : verify(argc - 2, argv + 2, p);
    apr_pool_destroy(p);
    apr_terminate();
    return rc;
}
