/* prepctl.c — the command-line companion of mod_prep: its usage, the
 * dispatch of its commands, and the two that need no live feed.  The
 * commands on a live feed (status, cortes, events, rollback, pin, unpin,
 * reset, close, drill) are in prepctl_ops.c.  `prepctl verify`
 * runs exactly the module's package checks (the same library code) on a
 * package offline, so an operator can try a drill package before election
 * night; its options are <PrepFeed> directives, read by the directives'
 * own parsers (prep_feed_set).  `prepctl audit` re-reads a published corte and
 * checks that every byte served is still the byte published (prep_audit.c). */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "prepctl.h"

/* The help, one paragraph per message so that a catalogue translates it
 * piece by piece; printed one after the other. */
static const char *const usage[] = {
    N_("NAME\n"
       "    prepctl - act on mod_prep's feeds on election night, and check PREP\n"
       "    packages the way mod_prep does, and the cortes it published\n"
       "\n"),
    N_("SYNOPSIS\n"
       "    prepctl status [FEED] [--json]\n"
       "    prepctl cortes FEED [--json]\n"
       "    prepctl events FEED [--since TIME] [--json]\n"
       "    prepctl rollback FEED [ID]\n"
       "    prepctl pin FEED [ID]\n"
       "    prepctl unpin FEED\n"
       "    prepctl reset FEED [--yes]\n"
       "    prepctl close FEED\n"
       "    prepctl drill FEED on|off\n"
       "    prepctl report FEED [--from TIME] [--to TIME] [--log FILE...]\n"
       "                   [--out DIR] [--format html,csv,json] [--difusor NAME]\n"
       "                   [--notes FILE] [--visit-timeout DURATION]\n"
       "                   [--location PATH]... [--pages .html,.htm] [--top N]\n"
       "    prepctl verify [OPTIONS] [--base CORTE_DIR | --base ID --store DIR] PACKAGE\n"
       "    prepctl audit [FEED] --store DIR [ID]\n"
       "    prepctl --help | --version\n"
       "    Every command on a FEED also takes --feeds FILE and --store DIR.\n"
       "\n"),
    N_("FINDING A FEED\n"
       "    FEED is the name of a <PrepFeed>. At each start the module writes where\n"
       "    its feeds are (name, incoming, store, zone...) to mod_prep-feeds.json in\n"
       "    Apache's runtime directory; prepctl reads the file named by --feeds\n"
       "    FILE or $PREP_FEEDS_FILE, else the first found of\n"
       "    $APACHE_RUN_DIR/, /var/run/apache2/, /run/apache2/, /run/httpd/ and\n"
       "    /usr/local/apache2/logs/. --store DIR names the feed's PrepStore\n"
       "    directly: FEED need not be in the runtime file then (its times are\n"
       "    shown in -06:00 unless the runtime file knows the feed), and the\n"
       "    commands work while Apache is stopped.\n"
       "\n"),
    N_("THE COMMANDS\n"
       "    status      one screen per feed (every feed without FEED): its state\n"
       "                (WAITING, EMBARGOED, SERVING, STALE, PINNED, CLOSED), the\n"
       "                corte served (id, corte time, age), pinned or not (and the\n"
       "                newest corte when pinned), drill, when it closed, the last\n"
       "                3 refusals and the last 5 events of the journal. --json: the\n"
       "                status document of /prep-status for those feeds, without\n"
       "                what only the running server knows (traffic, last poll).\n"
       "    cortes      the retained cortes: id, corte time, package, SHA-256 (its\n"
       "                first 12 digits), files, loaded at; * marks the one served,\n"
       "                \"newest\" the newest. --json: the corte records.\n"
       "    events      the journal (STORE/journal.jsonl and its rotated files),\n"
       "                one line per event: TIME EVENT detail. --since TIME: from\n"
       "                TIME (ISO-8601 with an offset, 2024-06-02T20:00:00-06:00)\n"
       "                or from a duration back from now (30m, 2h, 1d). --json:\n"
       "                each journal line as it is written, one per line.\n"
       "    rollback    serves the retained corte before the one served (or corte\n"
       "                ID, as `cortes` shows it) at once; the feed is pinned there.\n"
       "    pin         pins the feed at the corte served (or serves corte ID and\n"
       "                pins it there): new packages are still checked, loaded and\n"
       "                retained, not published. A pin survives restarts.\n"
       "    unpin       ends the pin and serves the newest good corte.\n"
       "    reset       after the drills: moves every corte and every processed and\n"
       "                rejected package into STORE/archive/<time>/ (nothing is\n"
       "                deleted; the journal stays) and the feed goes back to\n"
       "                waiting (or embargoed), without stopping Apache. It asks\n"
       "                for the feed's name on a terminal; --yes (or -y) does not\n"
       "                ask. Without a terminal and without --yes it refuses.\n"
       "    close       ends the operation now: the feed is closed, the last corte\n"
       "                stays served, it is never stale again.\n"
       "    drill       a drill (simulacro) on or off, whatever PrepDrill says: the\n"
       "                banner says SIMULACRO, the embargo does not apply.\n"
       "    Each action takes the store's lock (refused while a load holds it), is\n"
       "    journaled with the user who ran prepctl, takes effect on the running\n"
       "    server within 2 s, and prints one line: what was done. Run as root,\n"
       "    prepctl acts as the owner of the store (the loader account), so that\n"
       "    nothing it writes there is root's; a store owned by root is refused.\n"
       "\n"),
    N_("    report      the memoria técnica of the feed after the election: the\n"
       "                access logs given (--log FILE...: every word after it up\n"
       "                to the next option; combined, prep_combined or common\n"
       "                format, plain or .gz, any order, several servers merged\n"
       "                by time) and the feed's journal make memoria.html (in\n"
       "                Spanish, self-contained, printable on A4), memoria.json\n"
       "                and the tables as CSV files in --out DIR [memoria-FEED]:\n"
       "                visitors, visits, pages, hits, bytes, time on site, pages\n"
       "                viewed, status codes, traffic per corte, the corte\n"
       "                timeline and every incident. The period is [--from, --to)\n"
       "                (ISO-8601 with an offset, or 2024-06-02T18:00 or\n"
       "                2024-06-02 in the feed's zone). Only requests under the\n"
       "                feed's Locations count (the runtime file's, or each\n"
       "                --location PATH). --difusor NAME heads the page; --notes\n"
       "                FILE fills \"Criterios de mejora y sugerencias\";\n"
       "                --visit-timeout [30m] ends a visit; --pages the page\n"
       "                extensions [.html,.htm]; --top N pages listed [20];\n"
       "                --format the files written [html,csv,json]. What the\n"
       "                report could not count (no journal, unparsable lines, an\n"
       "                empty period) is said on standard error as \"aviso\" and\n"
       "                in the report. See docs/memoria.md.\n"
       "\n"),
    N_("    verify reads PACKAGE (tar, tar.gz, zip, or a format --formats\n"
       "    allows) under mod_prep's package rules: no absolute paths, no '..',\n"
       "    no links, devices, FIFOs, duplicates, encrypted entries or control\n"
       "    characters in names, the PrepLimits, a readable archive to its\n"
       "    end, PrepVerify, and a corte time that can be read and is not\n"
       "    more than --future-limit ahead. It prints the files, bytes,\n"
       "    SHA-256 and corte time, or the reason code and sentence of the\n"
       "    refusal. Nothing is written but a temporary file, removed at exit.\n"
       "\n"),
    N_("    audit reads again every byte of a published corte of the store DIR\n"
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
       "\n"),
    N_("OPTIONS OF THE COMMANDS ON A FEED\n"
       "    --feeds FILE   the module's runtime file (mod_prep-feeds.json)\n"
       "    --store DIR    the feed's PrepStore, instead of the runtime file's\n"
       "    --json         status, cortes, events: JSON instead of text\n"
       "    --since TIME   events: from TIME, or a duration back (30m, 2h, 1d)\n"
       "    --yes, -y      reset: do not ask\n"
       "\n"),
    N_("OPTIONS OF VERIFY\n"
       "    Each option is the <PrepFeed> directive named beside it: its value is\n"
       "    the rest of the directive's line, split into words as httpd.conf is\n"
       "    (a word with spaces in double or single quotes), and it is accepted\n"
       "    or refused as `apachectl configtest` does, with the same sentence.\n"
       "    --corte-time 'json FILE POINTER' | 'csv FILE LINE' |\n"
       "                 'filename REGEX' | mtime      PrepCorteTime [mtime]\n"
       "    --zone 'OFFSET [NAME]'     PrepTimeZone, e.g. '-07:00 Pacifico' or\n"
       "                               '-07:00 \"Tiempo del Pacifico\"'  [-06:00]\n"
       "    --limits 'files=N bytes=SIZE file=SIZE ratio=N depth=N'  PrepLimits\n"
       "                               [files=100000 bytes=2G file=512M\n"
       "                                ratio=200 depth=32]\n"
       "    --strip auto|N             PrepStripComponents           [auto]\n"
       "    --future-limit DURATION|off  PrepFutureLimit             [15m]\n"
       "    --formats 'tar zip 7z ...' PrepFormats: archive formats and\n"
       "                               compressions read\n"
       "                               [tar zip gzip bzip2 xz zstd]\n"
       "    --verify none|sha256       PrepVerify; sha256 needs PACKAGE.sha256\n"
       "                               beside it                     [none]\n"
       "    --verify-key PUBKEY.pem    PrepVerify signature PUBKEY.pem (the file\n"
       "                               as given); needs PACKAGE.sig beside it\n"
       "\n"),
    N_("INCREMENTAL PACKAGES\n"
       "    A package with prep-incremental.json at its top carries only what\n"
       "    changed since its base corte (docs/packages.md). verify checks it\n"
       "    against the base given, as a load checks it against the corte\n"
       "    served: the manifest names that corte, every path it deletes is in\n"
       "    it, and the corte it makes (the base's files, less those deleted,\n"
       "    with the package's) passes the package rules and has a corte time;\n"
       "    else it is refused (base-mismatch, incremental, or the rule's reason).\n"
       "    --base CORTE_DIR           the base: a corte's directory\n"
       "                               (STORE/cortes/ID)\n"
       "    --base ID --store DIR      the base: corte ID of the store DIR\n"
       "    Without --base only the manifest and the package's own files are\n"
       "    checked, and prepctl says which corte it needs as its base.\n"
       "\n"),
    N_("EXIT STATUS\n"
       "    status, cortes, events and the actions: 0 done; 1 refused, with one\n"
       "    sentence on standard error (an unknown feed, no runtime file, an\n"
       "    unknown corte ID, nothing to roll back to, no corte served, a load\n"
       "    running, a user who may not write or read the store, a store owned by\n"
       "    root, a reset not confirmed); 2 wrong usage (an unknown command or\n"
       "    option, no FEED, a drill word other than on or off, a bad --since).\n"
       "    verify: 0 the package would be accepted; 1 it would be refused;\n"
       "    2 wrong usage, such as an option's value that configtest refuses.\n"
       "    report: 0 written; 1 refused (an unknown feed, a log or notes file\n"
       "    that cannot be read, an --out DIR that cannot be written); 2 wrong\n"
       "    usage (a bad TIME, DURATION or --format).\n"
       "    audit: 0 every byte is as published; 1 something differs, cannot be\n"
       "    read or disagrees (or the current corte's directory is gone);\n"
       "    2 wrong usage, a store without a current corte, or no corte ID.\n"
       "\n"),
    N_("EXAMPLES\n"
       "    prepctl status\n"
       "    prepctl cortes qro\n"
       "    prepctl events qro --since 2h\n"
       "    prepctl events qro --since 2024-06-02T20:00:00-06:00 --json\n"
       "    sudo prepctl rollback qro\n"
       "    sudo prepctl rollback qro 20240603T030500Z-0123abcd\n"
       "    sudo prepctl pin qro && sudo prepctl unpin qro\n"
       "    sudo prepctl drill qro on\n"
       "    sudo prepctl reset qro\n"
       "    sudo prepctl close qro\n"
       "    prepctl status qro --store /srv/prep/qro/store\n"
       "    prepctl verify --corte-time 'json json/main.json /fechaCorte' \\\n"
       "        /srv/prep/qro/incoming/PREP_QRO_2024.tar.gz\n"
       "    prepctl audit qro --store /srv/prep/qro/store\n"
       "    prepctl report qro --from 2024-06-02T18:00 --to 2024-06-03T18:00 \\\n"
       "        --log /var/log/apache2/prep-access.log* --notes mejoras.txt \\\n"
       "        --difusor 'Universidad Autónoma de Querétaro' --out memoria-qro\n"),
};
int prepctl_fail_usage(const char *msg)
{
    fprintf(stderr, "prepctl: %s\n", msg);
    fputs(_("Try 'prepctl --help'.\n"), stderr);
    return 2;
}

/* The options of verify that are <PrepFeed> directives. */
static const struct feed_option {
    const char *option;
    int directive; /* PREP_FEED_* */
} feed_options[] = {
    {"--corte-time", PREP_FEED_CORTE_TIME},
    {"--zone", PREP_FEED_TIME_ZONE},
    {"--limits", PREP_FEED_LIMITS},
    {"--strip", PREP_FEED_STRIP},
    {"--future-limit", PREP_FEED_FUTURE_LIMIT},
    {"--formats", PREP_FEED_FORMATS},
    {"--verify", PREP_FEED_VERIFY},
    {"--verify-key", PREP_FEED_VERIFY},
};

/* `--option value` set into feed as its directive would be: NULL, or the
 * sentence configtest gives.  *known is 0 for an option that is none. */
static const char *set_option(prep_feed_t *feed, const char *opt,
                              const char *val, int *known, apr_pool_t *p)
{
    const prep_feed_directive_t *d = NULL;
    const char *key[2] = {"signature", val};
    apr_array_header_t *w;
    size_t i;

    for (i = 0; i < sizeof(feed_options) / sizeof(feed_options[0]); i++) {
        if (!strcmp(opt, feed_options[i].option)) {
            d = &prep_feed_directives[feed_options[i].directive];
        }
    }
    if (!(*known = d != NULL)) {
        return NULL;
    }
    if (!strcmp(opt, "--verify-key")) {
        return prep_feed_set(feed, d, 2, key, p);
    }
    /* the rest of the directive's line, as httpd would read it */
    w = prep_feed_words(val, p);
    return prep_feed_set(feed, d, w->nelts, (const char *const *)w->elts, p);
}

/* The base an incremental package is checked against: --base CORTE_DIR
 * (a corte's directory, STORE/cortes/ID), or --base ID --store DIR. */
typedef struct verify_base {
    const char *base, *store;
    const char *dir;
    prep_corte_t *corte;
} verify_base_t;

/* verify's options into feed and its PACKAGE into *package: -1, or the
 * exit status of wrong usage. */
static int verify_args(prep_feed_t *feed, const char **package,
                       verify_base_t *base, int argc, const char *const *argv,
                       apr_pool_t *p)
{
    int i, known;

    for (i = 0; i < argc; i++) {
        const char *opt = argv[i], *err;

        if (opt[0] != '-') {
            if (*package) {
                return prepctl_fail_usage(_("verify takes one package"));
            }
            *package = opt;
            continue;
        }
        if (i + 1 >= argc) {
            return prepctl_fail_usage(
                apr_psprintf(p, _("%s needs a value"), opt));
        }
        if (!strcmp(opt, "--base") || !strcmp(opt, "--store")) {
            *(opt[2] == 'b' ? &base->base : &base->store) = argv[++i];
            continue;
        }
        if ((err = set_option(feed, opt, argv[++i], &known, p))) {
            return prepctl_fail_usage(err);
        }
        if (!known) {
            return prepctl_fail_usage(
                apr_psprintf(p, _("unknown option %s"), opt));
        }
    }
    if (!*package) {
        return prepctl_fail_usage(_("verify needs a PACKAGE"));
    }
    if (base->store && !base->base) {
        return prepctl_fail_usage(_("verify takes --store only with --base"));
    }
    return -1;
}

/* The base corte of --base read (its corte.json): -1, or the exit status
 * of wrong usage. */
static int read_base(verify_base_t *base, apr_pool_t *p)
{
    if (!base->base) {
        return -1;
    }
    base->dir = base->store ? prep_store_corte_dir(p, base->store, base->base)
                            : base->base;
    if ((base->store && strchr(base->base, '/')) ||
        prep_store_read_corte(&base->corte, base->dir, p) != APR_SUCCESS) {
        return prepctl_fail_usage(apr_psprintf(
            p, _("--base %s is not a corte (no %s/%s can be read)"), base->base,
            base->dir, PREP_CORTE_FILE));
    }
    return -1;
}

/* What an incremental package is over: the base given and what the merge
 * made, or, checked alone, the base it needs. */
static void print_incremental(const prep_checked_t *checked,
                              const char *package, int base_given)
{
    const prep_incremental_count_t *n = &checked->count;

    if (!checked->incremental) {
        if (base_given) {
            fprintf(stderr, "prepctl: ");
            fprintf(stderr,
                    _("%s is a full package: it was checked alone, not over "
                      "the base given"),
                    package);
            fputc('\n', stderr);
        }
        return;
    }
    printf("incremental: over %s\n", checked->incremental->base);
    if (checked->base) {
        printf("base:       %s\n"
               "carried:    %" APR_UINT64_T_FMT "\n"
               "kept:       %" APR_UINT64_T_FMT "\n"
               "deleted:    %" APR_UINT64_T_FMT "\n",
               checked->base->id, n->carried, n->kept, n->deleted);
    } else {
        fprintf(stderr, "prepctl: ");
        fprintf(stderr,
                _("%s is an incremental package over corte %s: only its "
                  "manifest and its own files were checked; give that corte "
                  "with --base to check the corte it makes"),
                package, checked->incremental->base);
        fputc('\n', stderr);
    }
}

static void print_accepted(const prep_checked_t *checked,
                           const prep_feed_t *feed, const char *package,
                           int base_given, apr_pool_t *p)
{
    const prep_unpacked_t *u = checked->unpacked;

    const char *time = "?", *banner = "?";

    if (checked->corte_time) {
        time = prep_time_iso(p, checked->corte_time, &feed->zone);
        banner = prep_banner_label(p, checked->corte_time, &feed->zone);
    }
    printf("format:     %s\n"
           "sha256:     %s\n"
           "size:       %" APR_UINT64_T_FMT "\n"
           "files:      %d\n"
           "bytes:      %" APR_UINT64_T_FMT "\n"
           "corte time: %s\n"
           "banner:     %s\n",
           u->format ? u->format : "?", prep_hex(p, u->package_sha256, 32),
           u->package_size, u->entries->nelts, u->bytes, time, banner);
    print_incremental(checked, package, base_given);
    printf("verdict:    accepted\n");
}

static int verify(int argc, const char *const *argv, apr_pool_t *p)
{
    prep_feed_t feed;
    prep_checked_t *checked;
    prep_verdict_t verdict = {NULL, NULL};
    const char *package = NULL, *tmpdir, *tmp;
    verify_base_t base = {NULL, NULL, NULL, NULL};
    apr_file_t *pack;
    apr_status_t rv;
    int rc;

    prep_feed_defaults(&feed, p);
    if ((rc = verify_args(&feed, &package, &base, argc, argv, p)) >= 0 ||
        (rc = read_base(&base, p)) >= 0) {
        return rc;
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
        fprintf(stderr, "prepctl: ");
        fprintf(stderr, _("cannot create a temporary file in %s"), tmpdir);
        fputc('\n', stderr);
        return 2;
    }
    rv = prep_package_check_over(&checked, &feed, package, base.corte, base.dir,
                                 pack, &verdict, p);
    apr_file_close(pack);
    printf("package:    %s\n", package);
    if (rv != APR_SUCCESS) {
        printf("verdict:    refused\nreason:     %s\nmessage:    %s\n",
               verdict.reason ? verdict.reason : "io",
               verdict.message ? verdict.message : "unknown error");
        return 1;
    }
    print_accepted(checked, &feed, package, base.corte != NULL, p);
    return 0;
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

/* What `prepctl audit` is asked. */
typedef struct audit_request {
    const char *store;
    const char *feed; /* NULL, or a word printed back */
    const char *id;   /* the corte ID given, or current's */
    int from_current;
} audit_request_t;

/* audit's words into *req: -1, or the exit status of wrong usage. */
static int audit_args(audit_request_t *req, int argc, const char *const *argv,
                      apr_pool_t *p)
{
    apr_finfo_t fi;
    int i;

    for (i = 0; i < argc; i++) {
        const char *w = argv[i];

        if (!strcmp(w, "--store")) {
            if (i + 1 >= argc) {
                return prepctl_fail_usage(
                    apr_psprintf(p, _("%s needs a value"), "--store"));
            }
            req->store = argv[++i];
        } else if (w[0] == '-') {
            return prepctl_fail_usage(
                apr_psprintf(p, _("unknown option %s"), w));
        } else if (prep_corte_id_shaped(w)) {
            if (req->id) {
                return prepctl_fail_usage(_("audit takes one corte ID"));
            }
            req->id = w;
        } else {
            if (req->feed) {
                return prepctl_fail_usage(_("audit takes one FEED"));
            }
            req->feed = w;
        }
    }
    if (!req->store) {
        return prepctl_fail_usage(
            _("audit needs --store DIR (the feed's PrepStore)"));
    }
    if (apr_stat(&fi, req->store, APR_FINFO_TYPE, p) != APR_SUCCESS ||
        fi.filetype != APR_DIR) {
        return prepctl_fail_usage(
            apr_psprintf(p, _("the store %s is not a directory"), req->store));
    }
    return -1;
}

/* Without a corte ID, the store's current corte: -1, or exit status 2
 * when the store names none. */
static int audit_current(audit_request_t *req, apr_pool_t *p)
{
    if (req->id) {
        return -1;
    }
    if (prep_store_current(&req->id, req->store, p) != APR_SUCCESS &&
        !(req->id = current_named(req->store, p))) {
        fprintf(stderr, "prepctl: ");
        fprintf(stderr,
                _("the store %s has no current corte: nothing to audit"),
                req->store);
        fputc('\n', stderr);
        return 2;
    }
    req->from_current = 1;
    return -1;
}

/* What differs: sentences on standard error, then the summary, and one
 * line per representation on standard output. */
static void audit_report(const audit_request_t *req, const prep_audit_t *a,
                         apr_interval_time_t took)
{
    const apr_array_header_t *bad = prep_audit_bad(a);
    const apr_array_header_t *problems = prep_audit_problems(a);
    int i;

    fprintf(stderr, "prepctl: ");
    fprintf(stderr,
            _("corte %s is not as it was published: %d representation(s) "
              "differ or cannot be read, %d other problem(s)"),
            req->id, bad->nelts, problems->nelts);
    fputc('\n', stderr);
    for (i = 0; i < problems->nelts; i++) {
        fprintf(stderr, "prepctl: %s\n",
                APR_ARRAY_IDX(problems, i, const char *));
    }
    audit_summary(stderr, req->feed, req->store, req->id, a, took);
    for (i = 0; i < bad->nelts; i++) {
        const prep_audit_bad_t *b = &APR_ARRAY_IDX(bad, i, prep_audit_bad_t);

        printf("%s %s banner=%u %s\n", prep_audit_fault_name(b->fault),
               prep_encoding_name(b->encoding), (unsigned)b->banner, b->path);
    }
}

static int audit(int argc, const char *const *argv, apr_pool_t *p)
{
    audit_request_t req = {NULL, NULL, NULL, 0};
    prep_audit_t *a;
    apr_time_t start;
    apr_status_t rv;
    int rc;

    if ((rc = audit_args(&req, argc, argv, p)) >= 0 ||
        (rc = audit_current(&req, p)) >= 0) {
        return rc;
    }
    start = apr_time_now();
    rv = prep_audit_corte(&a, prep_store_corte_dir(p, req.store, req.id), p);
    if (!a) {
        /* the system's sentence for rv (%pm is apr_psprintf's, not
         * fprintf's) */
        const char *why = apr_psprintf(p, "%pm", &rv);

        fprintf(stderr, "prepctl: ");
        fprintf(stderr,
                req.from_current
                    ? _("the current corte %s is not in %s/cortes: %s")
                    : _("the corte %s is not in %s/cortes: %s"),
                req.id, req.store, why);
        fputc('\n', stderr);
        return req.from_current ? 1 : 2;
    }
    if (rv != APR_SUCCESS) {
        audit_report(&req, a, apr_time_now() - start);
        return 1;
    }
    audit_summary(stdout, req.feed, req.store, req.id, a,
                  apr_time_now() - start);
    printf("verdict:         every byte as published\n");
    return 0;
}

void prepctl_i18n_init(void)
{
#ifdef ENABLE_NLS
    /* only the messages' category from the environment: LC_CTYPE stays
     * C.UTF-8 (above) and LC_NUMERIC, LC_TIME stay C, so that no record
     * changes with the locale; the catalogue's text is written as UTF-8
     * whatever LC_CTYPE says */
    const char *dir = secure_getenv(PREPCTL_LOCALEDIR_ENV);

    setlocale(LC_MESSAGES, "");
    bindtextdomain(PREPCTL_DOMAIN, dir && *dir ? dir : LOCALEDIR);
    bind_textdomain_codeset(PREPCTL_DOMAIN, "UTF-8");
    textdomain(PREPCTL_DOMAIN);
#endif
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *p;
    int rc;

    setlocale(LC_CTYPE, "C.UTF-8");
    prepctl_i18n_init();
    if (argc < 2) {
        return prepctl_fail_usage(_("missing command"));
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        size_t i;

        for (i = 0; i < sizeof(usage) / sizeof(usage[0]); i++) {
            fputs(_(usage[i]), stdout);
        }
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("prepctl %s\n", PREP_VERSION);
        return 0;
    }
    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&p, NULL);
    if (!strcmp(argv[1], "audit")) {
        rc = audit(argc - 2, argv + 2, p);
    } else if (!strcmp(argv[1], "report")) {
        rc = prepctl_report(argc - 2, argv + 2, p);
    } else if (!strcmp(argv[1], "verify")) {
        rc = verify(argc - 2, argv + 2, p);
    } else if ((rc = prepctl_live(argv[1], argc - 2, argv + 2, p)) ==
               PREPCTL_GO_ON) {
        fprintf(stderr, "prepctl: ");
        fprintf(stderr, _("unknown command %s"), argv[1]);
        fputc('\n', stderr);
        rc = prepctl_fail_usage(
            _("the commands are status, cortes, events, rollback, pin, unpin, "
              "reset, close, drill, report, verify and audit"));
    }
    apr_pool_destroy(p);
    apr_terminate();
    return rc;
}
