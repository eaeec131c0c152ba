/* prep_feed.c — one feed's configuration: its defaults, and the parser of
 * every value a <PrepFeed> directive takes (numbers, durations, sizes,
 * PrepLimits, PrepStripComponents, PrepKeep, PrepCorteTime, PrepTimeZone,
 * PrepPublishFrom, PrepVerify, PrepCompress, PrepSameTime, PrepFormats),
 * tied to the field of prep_feed_t each one sets by one table.  The httpd
 * directives (mod_prep_config.c) and prepctl's options both set a feed
 * through prep_feed_set, so they accept and refuse the same values with
 * the same sentences.  The words of PrepFormats are the archive reader's
 * (prep_formats_parse, prep_package.c), which knows the decoders. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "prep.h"

/* ------------------------------------------------------------------ */
/* Numbers, durations, sizes */

prep_number_e prep_parse_number(apr_uint64_t *out, const char *text,
                                const prep_unit_t *units)
{
    apr_uint64_t n = 0, times = 1;
    const char *c = text;

    if (!apr_isdigit(*c)) {
        return PREP_NUMBER_BAD;
    }
    for (; apr_isdigit(*c); c++) {
        if (n > (APR_UINT64_MAX - 9) / 10) {
            return PREP_NUMBER_BAD;
        }
        n = n * 10 + (apr_uint64_t)(*c - '0');
    }
    if (*c != '\0') {
        const prep_unit_t *u = units;

        while (u && u->letter && u->letter != *c) {
            u++;
        }
        if (!u || !u->letter || c[1] != '\0') {
            return PREP_NUMBER_BAD;
        }
        times = u->times;
    }
    if (n > APR_UINT64_MAX / times) {
        return PREP_NUMBER_TOO_LARGE;
    }
    *out = n * times;
    return PREP_NUMBER_OK;
}

static const prep_unit_t duration_units[] = {
    {'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {0, 0}};
#define CENTURY_S (APR_UINT64_C(100) * 365 * 86400)

const char *prep_parse_duration(apr_interval_time_t *out, const char *text)
{
    apr_uint64_t s;
    prep_number_e read = prep_parse_number(&s, text, duration_units);

    if (read == PREP_NUMBER_BAD) {
        return "unrecognized duration (use e.g. 90, 90s, 5m, 1h, 2d)";
    }
    if (read == PREP_NUMBER_TOO_LARGE || s > CENTURY_S) {
        return "duration is longer than a century";
    }
    *out = apr_time_from_sec((apr_time_t)s);
    return NULL;
}

#define KIB APR_UINT64_C(1024)
static const prep_unit_t size_units[] = {
    {'k', KIB},       {'K', KIB},       {'m', KIB *KIB},
    {'M', KIB *KIB},  {'g', KIB << 20}, {'G', KIB << 20},
    {'t', KIB << 30}, {'T', KIB << 30}, {0, 0}};

const char *prep_parse_size(apr_uint64_t *out, const char *text)
{
    switch (prep_parse_number(out, text, size_units)) {
        case PREP_NUMBER_OK:
            return NULL;
        case PREP_NUMBER_TOO_LARGE:
            return "size is too large";
        default:
            return "unrecognized size (use e.g. 512, 10k, 512M, 2G)";
    }
}

/* Exactly `digits` decimal digits at *s; advances *s. */
static int read_fixed(const char **s, int digits, int *out)
{
    int v = 0, i;

    for (i = 0; i < digits; i++) {
        if (!apr_isdigit((*s)[i])) {
            return 0;
        }
        v = v * 10 + ((*s)[i] - '0');
    }
    *s += digits;
    *out = v;
    return 1;
}

const char *prep_parse_iso_time(apr_time_t *out, const char *text)
{
    const char *c = text;
    int y, mo, d, h, mi, s = 0, oh, om, sign;

    if (!read_fixed(&c, 4, &y) || *c++ != '-' || !read_fixed(&c, 2, &mo) ||
        *c++ != '-' || !read_fixed(&c, 2, &d) || (*c != 'T' && *c != ' ') ||
        !(c++, read_fixed(&c, 2, &h)) || *c++ != ':' ||
        !read_fixed(&c, 2, &mi)) {
        return "not an ISO-8601 time such as 2024-06-02T20:00:00-06:00";
    }
    if (*c == ':' && !(c++, read_fixed(&c, 2, &s))) {
        return "not an ISO-8601 time such as 2024-06-02T20:00:00-06:00";
    }
    if (!prep_civil_valid(y, mo, d, h, mi, s)) {
        return "not a valid date and time";
    }
    if (*c == 'Z' && !c[1]) {
        *out = prep_civil_to_time(y, mo, d, h, mi, s, 0);
        return NULL;
    }
    if (*c != '+' && *c != '-') {
        return "the time needs an offset such as -06:00 (or Z)";
    }
    sign = *c++ == '-' ? -1 : 1;
    if (!read_fixed(&c, 2, &oh)) {
        return "the time's offset is not like -06:00";
    }
    if (*c == ':') {
        c++;
    }
    if (!read_fixed(&c, 2, &om) || *c || oh > 14 || om > 59) {
        return "the time's offset is not like -06:00";
    }
    *out = prep_civil_to_time(y, mo, d, h, mi, s, sign * (oh * 3600 + om * 60));
    return NULL;
}

/* ------------------------------------------------------------------ */
/* PrepLimits */

void prep_limits_default(prep_limits_t *l)
{
    l->files = 100000;
    l->bytes = APR_UINT64_C(2) * 1024 * 1024 * 1024;
    l->file = APR_UINT64_C(512) * 1024 * 1024;
    l->ratio = 200;
    l->depth = 32;
    l->formats = PREP_FORMATS_DEFAULT;
}

#define DEPTH_MAX 4096

const char *prep_limits_parse(prep_limits_t *l, const char *word, apr_pool_t *p)
{
    const char *eq = strchr(word, '=');
    const char *key, *value;
    apr_uint64_t v;
    int sized;

    if (eq == NULL || eq == word || eq[1] == '\0') {
        return apr_psprintf(
            p, "limit \"%s\" is not key=value (e.g. files=100000)", word);
    }
    key = apr_pstrmemdup(p, word, (apr_size_t)(eq - word));
    value = eq + 1;
    sized = !strcmp(key, "bytes") || !strcmp(key, "file");
    if (!sized && strcmp(key, "files") && strcmp(key, "ratio") &&
        strcmp(key, "depth")) {
        return apr_psprintf(p,
                            "unknown limit \"%s\" (files, bytes, file, ratio, "
                            "depth)",
                            key);
    }
    if (sized && prep_parse_size(&v, value) != NULL) {
        return apr_psprintf(p, "limit %s: \"%s\" is not a size (e.g. 512M, 2G)",
                            key, value);
    }
    if (!sized && prep_parse_number(&v, value, NULL) != PREP_NUMBER_OK) {
        return apr_psprintf(p, "limit %s: \"%s\" is not a whole number", key,
                            value);
    }
    if (v == 0) {
        return apr_psprintf(p, "limit %s must be more than 0", key);
    }
    if (!strcmp(key, "files")) {
        l->files = v;
    } else if (!strcmp(key, "bytes")) {
        l->bytes = v;
    } else if (!strcmp(key, "file")) {
        l->file = v;
    } else if (!strcmp(key, "ratio")) {
        l->ratio = v;
    } else if (v > DEPTH_MAX) {
        return apr_psprintf(p, "limit depth %s is more than %d", value,
                            DEPTH_MAX);
    } else {
        l->depth = (int)v;
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* PrepTimeZone, PrepCorteTime */

const char *prep_zone_parse(prep_zone_t *z, const char *offset,
                            const char *name, apr_pool_t *p)
{
    const char *c = offset;
    int sign, h = 0, m = 0, digits = 0;

    if (!strncasecmp(c, "UTC", 3) || !strncasecmp(c, "GMT", 3)) {
        c += 3;
        if (!*c) {
            z->offset_s = 0;
            z->name = name;
            return NULL;
        }
    }
    if (*c != '+' && *c != '-') {
        return apr_psprintf(p, "offset \"%s\" is not like -06:00", offset);
    }
    sign = *c++ == '-' ? -1 : 1;
    while (apr_isdigit(*c) && digits < 2) {
        h = h * 10 + (*c++ - '0');
        digits++;
    }
    if (!digits) {
        return apr_psprintf(p, "offset \"%s\" is not like -06:00", offset);
    }
    if (*c == ':' || (digits == 2 && apr_isdigit(*c))) {
        c += *c == ':';
        if (!apr_isdigit(c[0]) || !apr_isdigit(c[1])) {
            return apr_psprintf(p, "offset \"%s\" is not like -06:00", offset);
        }
        m = (c[0] - '0') * 10 + (c[1] - '0');
        c += 2;
    }
    if (*c || h > 14 || m > 59) {
        return apr_psprintf(p, "offset \"%s\" is not like -06:00", offset);
    }
    z->offset_s = sign * (h * 3600 + m * 60);
    z->name = name;
    return NULL;
}

/* The file of a json or csv source: relative to the package's root. */
static const char *package_path(const char *file)
{
    return file[0] == '/' ? file + 1 : file;
}

/* json FILE POINTER */
static const char *json_spec(prep_corte_spec_t *spec, const char *const *argv,
                             apr_pool_t *p)
{
    if (argv[2][0] != '/') {
        return apr_psprintf(p,
                            "the JSON pointer \"%s\" must start with '/' "
                            "(e.g. /fechaCorte)",
                            argv[2]);
    }
    if (!prep_corte_pointer_valid(argv[2])) {
        return apr_psprintf(p,
                            "the JSON pointer \"%s\" has a '~' not "
                            "followed by 0 or 1 (~0 is '~', ~1 is '/')",
                            argv[2]);
    }
    spec->source = PREP_CORTE_JSON;
    spec->file = package_path(argv[1]);
    spec->pointer = argv[2];
    return NULL;
}

/* csv FILE LINE */
static const char *csv_spec(prep_corte_spec_t *spec, const char *const *argv,
                            apr_pool_t *p)
{
    char *end;
    long line = strtol(argv[2], &end, 10);

    if (!*argv[2] || *end || line < 1 || line > 1000) {
        return apr_psprintf(p, "\"%s\" is not a line number (1..1000)",
                            argv[2]);
    }
    spec->source = PREP_CORTE_CSV;
    spec->file = package_path(argv[1]);
    spec->line = (int)line;
    return NULL;
}

/* filename REGEX */
static const char *filename_spec(prep_corte_spec_t *spec,
                                 const char *const *argv, apr_pool_t *p)
{
    const char *err = prep_corte_regex_check(argv[1], p);

    if (err) {
        return apr_psprintf(p, "the regular expression \"%s\" is not valid: %s",
                            argv[1], err);
    }
    spec->source = PREP_CORTE_FILENAME;
    spec->regex = argv[1];
    return NULL;
}

const char *prep_corte_spec_parse(prep_corte_spec_t *spec, int argc,
                                  const char *const *argv, apr_pool_t *p)
{
    prep_corte_spec_t read;
    const char *err;

    memset(&read, 0, sizeof(read));
    if (argc < 1) {
        return "use json FILE POINTER | csv FILE LINE | filename REGEX | mtime";
    }
    if (!strcasecmp(argv[0], "mtime") && argc == 1) {
        read.source = PREP_CORTE_MTIME;
        err = NULL;
    } else if (!strcasecmp(argv[0], "json") && argc == 3) {
        err = json_spec(&read, argv, p);
    } else if (!strcasecmp(argv[0], "csv") && argc == 3) {
        err = csv_spec(&read, argv, p);
    } else if (!strcasecmp(argv[0], "filename") && argc == 2) {
        err = filename_spec(&read, argv, p);
    } else {
        return apr_psprintf(p,
                            "\"%s\" with %d argument(s): use json FILE "
                            "POINTER | csv FILE LINE | filename REGEX | mtime",
                            argv[0], argc - 1);
    }
    if (err == NULL) {
        *spec = read;
    }
    return err;
}

/* ------------------------------------------------------------------ */
/* The parsers of the directive table.  Each is given the field of
 * prep_feed_t its directive sets and the words of the directive's line,
 * as many as the table's prep_args_e lets through; it leaves the field
 * as it was when it refuses them. */

static const char *parse_path(void *field, int argc, const char *const *argv,
                              apr_pool_t *p)
{
    *(const char **)field = argv[0];
    return NULL;
}

static const char *parse_duration(void *field, int argc,
                                  const char *const *argv, apr_pool_t *p)
{
    return prep_parse_duration(field, argv[0]);
}

/* A duration, or "off": -1. */
static const char *parse_duration_or_off(void *field, int argc,
                                         const char *const *argv, apr_pool_t *p)
{
    if (!strcasecmp(argv[0], "off")) {
        *(apr_interval_time_t *)field = -1;
        return NULL;
    }
    return prep_parse_duration(field, argv[0]);
}

#define COUNT_MAX 100000

/* A whole number from min to COUNT_MAX. */
static const char *parse_count(int *out, const char *text, int min,
                               apr_pool_t *p)
{
    apr_uint64_t n;

    if (prep_parse_number(&n, text, NULL) != PREP_NUMBER_OK ||
        n < (apr_uint64_t)min || n > COUNT_MAX) {
        return apr_psprintf(p, "\"%s\" is not a number >= %d", text, min);
    }
    *out = (int)n;
    return NULL;
}

static const char *parse_keep(void *field, int argc, const char *const *argv,
                              apr_pool_t *p)
{
    return parse_count(field, argv[0], 1, p);
}

/* "auto": -1, or a number of components. */
static const char *parse_strip(void *field, int argc, const char *const *argv,
                               apr_pool_t *p)
{
    if (!strcasecmp(argv[0], "auto")) {
        *(int *)field = -1;
        return NULL;
    }
    return parse_count(field, argv[0], 0, p);
}

/* The words of one line read by `word` into `acc`, until one is refused:
 * PrepLimits, PrepFormats and PrepCompress. */
typedef const char *word_parse_fn(void *acc, const char *word, apr_pool_t *p);

static const char *read_words(word_parse_fn *word, void *acc, int argc,
                              const char *const *argv, apr_pool_t *p)
{
    const char *err = NULL;
    int i;

    for (i = 0; i < argc && !err; i++) {
        err = word(acc, argv[i], p);
    }
    return err;
}

static const char *limit_word(void *acc, const char *word, apr_pool_t *p)
{
    return prep_limits_parse(acc, word, p);
}

static const char *parse_limits(void *field, int argc, const char *const *argv,
                                apr_pool_t *p)
{
    prep_limits_t l = *(prep_limits_t *)field;
    const char *err = read_words(limit_word, &l, argc, argv, p);

    if (!err) {
        *(prep_limits_t *)field = l;
    }
    return err;
}

static const char *format_word(void *acc, const char *word, apr_pool_t *p)
{
    return prep_formats_parse(acc, word, p);
}

/* Each kind a PrepFormats line names (archive formats, compressions)
 * replaces that kind's default. */
static const char *parse_formats(void *field, int argc, const char *const *argv,
                                 apr_pool_t *p)
{
    unsigned named = 0;
    const char *err = read_words(format_word, &named, argc, argv, p);

    if (!err) {
        *(unsigned *)field = prep_formats_of_line(named);
    }
    return err;
}

static const char *compress_word(void *acc, const char *word, apr_pool_t *p)
{
    if (!strcasecmp(word, "gzip")) {
        *(unsigned *)acc |= 1u << PREP_ENC_GZIP;
    } else if (!strcasecmp(word, "br")) {
        *(unsigned *)acc |= 1u << PREP_ENC_BR;
    } else if (strcasecmp(word, "none")) {
        return "use gzip, br or none";
    }
    return NULL;
}

/* A PrepCompress line replaces the list. */
static const char *parse_compress(void *field, int argc,
                                  const char *const *argv, apr_pool_t *p)
{
    unsigned compress = 0;
    const char *err = read_words(compress_word, &compress, argc, argv, p);

    if (!err) {
        *(unsigned *)field = compress;
    }
    return err;
}

static const char *parse_corte_time(void *field, int argc,
                                    const char *const *argv, apr_pool_t *p)
{
    return prep_corte_spec_parse(field, argc, argv, p);
}

/* OFFSET [NAME]: without a NAME the zone keeps its name. */
static const char *parse_zone(void *field, int argc, const char *const *argv,
                              apr_pool_t *p)
{
    prep_zone_t *z = field;

    return prep_zone_parse(z, argv[0], argc > 1 ? argv[1] : z->name, p);
}

/* An ISO-8601 time, or "none": no embargo. */
static const char *parse_publish_from(void *field, int argc,
                                      const char *const *argv, apr_pool_t *p)
{
    if (!strcasecmp(argv[0], "none")) {
        *(apr_time_t *)field = 0;
        return NULL;
    }
    return prep_parse_iso_time(field, argv[0]);
}

/* none | sha256 | signature PUBKEY.pem, the key checked now.  Given the
 * whole feed (verify and verify_key); its sentences name PrepVerify. */
static const char *parse_verify(void *field, int argc, const char *const *argv,
                                apr_pool_t *p)
{
    prep_feed_t *f = field;
    const char *mode = argv[0], *key = argc > 1 ? argv[1] : NULL, *err;

    if (!strcasecmp(mode, "none") && !key) {
        f->verify = PREP_VERIFY_NONE;
    } else if (!strcasecmp(mode, "sha256") && !key) {
        f->verify = PREP_VERIFY_SHA256;
    } else if (!strcasecmp(mode, "signature") && key) {
        if ((err = prep_verify_key_check(key, p)) != NULL) {
            return apr_pstrcat(p, "PrepVerify signature: ", err, NULL);
        }
        f->verify = PREP_VERIFY_SIGNATURE;
        f->verify_key = key;
    } else {
        return "PrepVerify: use none, sha256, or signature PUBKEY.pem";
    }
    return NULL;
}

static const char *parse_same_time(void *field, int argc,
                                   const char *const *argv, apr_pool_t *p)
{
    if (!strcasecmp(argv[0], "refuse")) {
        *(int *)field = 0;
    } else if (!strcasecmp(argv[0], "accept")) {
        *(int *)field = 1;
    } else {
        return "use refuse or accept";
    }
    return NULL;
}

/* PrepDrill on|off */
static const char *parse_drill(void *field, int argc, const char *const *argv,
                               apr_pool_t *p)
{
    (void)argc;
    (void)p;
    if (!strcasecmp(argv[0], "on")) {
        *(int *)field = 1;
    } else if (!strcasecmp(argv[0], "off")) {
        *(int *)field = 0;
    } else {
        return "use on or off";
    }
    return NULL;
}

/* PrepNotify CMD [ARGS]: CMD an absolute path to an executable file (it
 * runs without a shell, so that no event's words are ever interpreted). */
static const char *parse_notify(void *field, int argc, const char *const *argv,
                                apr_pool_t *p)
{
    apr_array_header_t *cmd;
    apr_finfo_t fi;
    int i;

    if (!strcasecmp(argv[0], "none") && argc == 1) {
        *(apr_array_header_t **)field = NULL;
        return NULL;
    }
    if (argv[0][0] != '/') {
        return apr_psprintf(p, "\"%s\": give the command's absolute path",
                            argv[0]);
    }
    if (apr_stat(&fi, argv[0], APR_FINFO_TYPE | APR_FINFO_PROT, p) !=
            APR_SUCCESS ||
        fi.filetype != APR_REG ||
        !(fi.protection & (APR_UEXECUTE | APR_GEXECUTE | APR_WEXECUTE))) {
        return apr_psprintf(p, "%s is not an executable file", argv[0]);
    }
    cmd = apr_array_make(p, argc, sizeof(const char *));
    for (i = 0; i < argc; i++) {
        APR_ARRAY_PUSH(cmd, const char *) = apr_pstrdup(p, argv[i]);
    }
    *(apr_array_header_t **)field = cmd;
    return NULL;
}

/* PrepEdgeTTL DURATION [main=DURATION] (either may be 0 or off).  Given
 * the whole feed. */
static const char *parse_edge_ttl(void *field, int argc,
                                  const char *const *argv, apr_pool_t *p)
{
    prep_feed_t *f = field;
    apr_interval_time_t ttl = 0, main_ttl = 0;
    const char *err;

    if (strcasecmp(argv[0], "off") &&
        (err = prep_parse_duration(&ttl, argv[0])) != NULL) {
        return apr_pstrcat(p, "PrepEdgeTTL: ", err, NULL);
    }
    if (argc > 1) {
        if (strncasecmp(argv[1], "main=", 5)) {
            return "PrepEdgeTTL: the second word is main=DURATION";
        }
        if (strcasecmp(argv[1] + 5, "off") &&
            (err = prep_parse_duration(&main_ttl, argv[1] + 5)) != NULL) {
            return apr_pstrcat(p, "PrepEdgeTTL main=: ", err, NULL);
        }
    }
    f->edge_ttl = ttl;
    f->edge_ttl_main = main_ttl;
    return NULL;
}

static const char *parse_cache_tag(void *field, int argc,
                                   const char *const *argv, apr_pool_t *p)
{
    prep_cache_tag_e t;

    (void)argc;
    (void)p;
    for (t = 0; t < PREP_CACHE_TAG_OFF; t++) {
        if (!strcasecmp(argv[0], prep_cache_tag_header(t))) {
            break;
        }
    }
    if (t == PREP_CACHE_TAG_OFF && strcasecmp(argv[0], "off")) {
        return "use Surrogate-Key, xkey, Cache-Tag or off";
    }
    *(prep_cache_tag_e *)field = t;
    return NULL;
}

const char *prep_cache_tag_header(prep_cache_tag_e t)
{
    static const char *const names[] = {"Surrogate-Key", "xkey", "Cache-Tag"};

    return t < PREP_CACHE_TAG_OFF ? names[t] : NULL;
}

const char *prep_cache_tag_value(apr_pool_t *p, prep_cache_tag_e t,
                                 const char *feed, const char *corte_id)
{
    if (!corte_id || !*corte_id) {
        return apr_pstrcat(p, "prep-", feed, NULL);
    }
    return apr_pstrcat(p, "prep-", feed,
                       t == PREP_CACHE_TAG_CACHE_TAG ? "," : " ", "prep-", feed,
                       "-", corte_id, NULL);
}

/* PrepBannerPosition static|sticky|fixed-top|fixed-bottom [OFFSET] */
static const char *parse_banner_position(void *field, int argc,
                                         const char *const *argv, apr_pool_t *p)
{
    return prep_banner_position_parse(field, argc, argv, p);
}

/* PrepSource package|tree */
static const char *parse_source(void *field, int argc, const char *const *argv,
                                apr_pool_t *p)
{
    (void)argc;
    (void)p;
    if (!strcasecmp(argv[0], "package")) {
        *(prep_source_e *)field = PREP_SOURCE_PACKAGE;
    } else if (!strcasecmp(argv[0], "tree")) {
        *(prep_source_e *)field = PREP_SOURCE_TREE;
    } else {
        return "use package or tree";
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* The directive table */

#define FIELD(member) APR_OFFSETOF(prep_feed_t, member)

const prep_feed_directive_t prep_feed_directives[PREP_FEED_DIRECTIVES] = {
    [PREP_FEED_INCOMING] = {"PrepIncoming", PREP_ARGS_ONE, FIELD(incoming),
                            parse_path, 1, 0},
    [PREP_FEED_STORE] = {"PrepStore", PREP_ARGS_ONE, FIELD(store), parse_path,
                         1, 0},
    [PREP_FEED_SETTLE_TIME] = {"PrepSettleTime", PREP_ARGS_ONE, FIELD(settle),
                               parse_duration, 0, 0},
    [PREP_FEED_UPDATE_INTERVAL] = {"PrepUpdateInterval", PREP_ARGS_ONE,
                                   FIELD(interval), parse_duration, 0, 0},
    [PREP_FEED_CORTE_TIME] = {"PrepCorteTime", PREP_ARGS_ANY, FIELD(corte),
                              parse_corte_time, 0, 0},
    [PREP_FEED_TIME_ZONE] = {"PrepTimeZone", PREP_ARGS_ONE_OR_TWO, FIELD(zone),
                             parse_zone, 0, 0},
    [PREP_FEED_PUBLISH_FROM] = {"PrepPublishFrom", PREP_ARGS_ONE,
                                FIELD(publish_from), parse_publish_from, 0, 0},
    [PREP_FEED_VERIFY] = {"PrepVerify", PREP_ARGS_ONE_OR_TWO, PREP_FEED_WHOLE,
                          parse_verify, 2, 1},
    [PREP_FEED_LIMITS] = {"PrepLimits", PREP_ARGS_SOME, FIELD(limits),
                          parse_limits, 0, 0},
    [PREP_FEED_KEEP] = {"PrepKeep", PREP_ARGS_ONE, FIELD(keep), parse_keep, 0,
                        0},
    [PREP_FEED_STRIP] = {"PrepStripComponents", PREP_ARGS_ONE, FIELD(strip),
                         parse_strip, 0, 0},
    [PREP_FEED_COMPRESS] = {"PrepCompress", PREP_ARGS_SOME, FIELD(compress),
                            parse_compress, 0, 0},
    [PREP_FEED_FUTURE_LIMIT] = {"PrepFutureLimit", PREP_ARGS_ONE,
                                FIELD(future_limit), parse_duration_or_off, 0,
                                0},
    [PREP_FEED_LOAD_TIMEOUT] = {"PrepLoadTimeout", PREP_ARGS_ONE,
                                FIELD(load_timeout), parse_duration_or_off, 0,
                                0},
    [PREP_FEED_AUDIT_INTERVAL] = {"PrepAuditInterval", PREP_ARGS_ONE,
                                  FIELD(audit_interval), parse_duration_or_off,
                                  0, 0},
    [PREP_FEED_SAME_TIME] = {"PrepSameTime", PREP_ARGS_ONE,
                             FIELD(same_time_accept), parse_same_time, 0, 0},
    [PREP_FEED_FORMATS] = {"PrepFormats", PREP_ARGS_SOME, FIELD(limits.formats),
                           parse_formats, 0, 0},
    [PREP_FEED_PUBLISH_UNTIL] = {"PrepPublishUntil", PREP_ARGS_ONE,
                                 FIELD(publish_until), parse_publish_from, 0,
                                 0},
    [PREP_FEED_DRILL] = {"PrepDrill", PREP_ARGS_ONE, FIELD(drill), parse_drill,
                         0, 0},
    [PREP_FEED_NOTIFY] = {"PrepNotify", PREP_ARGS_SOME, FIELD(notify),
                          parse_notify, 0, 0},
    [PREP_FEED_EDGE_TTL] = {"PrepEdgeTTL", PREP_ARGS_ONE_OR_TWO,
                            PREP_FEED_WHOLE, parse_edge_ttl, 0, 1},
    [PREP_FEED_CACHE_TAG] = {"PrepCacheTag", PREP_ARGS_ONE, FIELD(cache_tag),
                             parse_cache_tag, 0, 0},
    [PREP_FEED_BANNER_POSITION] = {"PrepBannerPosition", PREP_ARGS_ONE_OR_TWO,
                                   FIELD(banner_position),
                                   parse_banner_position, 0, 0},
    [PREP_FEED_SOURCE] = {"PrepSource", PREP_ARGS_ONE, FIELD(source),
                          parse_source, 0, 0},
};

/* What httpd says of a directive given the wrong number of words (it adds
 * the directive's usage after a comma), or NULL. */
static const char *miscounted(const prep_feed_directive_t *d, int argc,
                              apr_pool_t *p)
{
    switch (d->args) {
        case PREP_ARGS_ONE:
            return argc == 1
                       ? NULL
                       : apr_pstrcat(p, d->name, " takes one argument", NULL);
        case PREP_ARGS_ONE_OR_TWO:
            return argc == 1 || argc == 2
                       ? NULL
                       : apr_pstrcat(p, d->name, " takes 1-2 arguments", NULL);
        case PREP_ARGS_SOME:
            return argc >= 1
                       ? NULL
                       : apr_pstrcat(p, d->name,
                                     " requires at least one argument", NULL);
        default:
            return NULL;
    }
}

const char *prep_feed_set(prep_feed_t *f, const prep_feed_directive_t *d,
                          int argc, const char *const *argv, apr_pool_t *p)
{
    const char *err = miscounted(d, argc, p);

    if (err) {
        return err;
    }
    err = d->parse((char *)f + d->offset, argc, argv, p);
    if (err && !d->names_itself) {
        err = apr_psprintf(p, "%s: %s", d->name, err);
    }
    return err;
}

/* ------------------------------------------------------------------ */
/* A directive's words, and a feed's defaults */

/* The word at *line, as httpd's configuration reader takes one
 * (ap_getword_conf): leading white space skipped; a word that starts with
 * a double or single quote runs to the same quote (or the end), and a
 * backslash before that quote or before a backslash stands for it; any
 * other word runs to white space, where a doubled backslash is one; the
 * white space after it is skipped too.  "" at the end of the line. */
static char *next_word(const char **line, apr_pool_t *p)
{
    const char *c = *line;
    char quote = 0, *word, *w;

    while (apr_isspace(*c)) {
        c++;
    }
    if (*c == '"' || *c == '\'') {
        quote = *c++;
    }
    word = w = apr_palloc(p, strlen(c) + 1);
    while (*c && (quote ? *c != quote : !apr_isspace(*c))) {
        if (*c == '\\' && (c[1] == '\\' || (quote && c[1] == quote))) {
            c++;
        }
        *w++ = *c++;
    }
    *w = '\0';
    if (quote && *c == quote) {
        c++;
    }
    while (apr_isspace(*c)) {
        c++;
    }
    *line = c;
    return word;
}

apr_array_header_t *prep_feed_words(const char *line, apr_pool_t *p)
{
    apr_array_header_t *words = apr_array_make(p, 4, sizeof(const char *));
    const char *w;

    while (*(w = next_word(&line, p))) {
        APR_ARRAY_PUSH(words, const char *) = w;
    }
    return words;
}

void prep_feed_defaults(prep_feed_t *f, apr_pool_t *p)
{
    memset(f, 0, sizeof(*f));
    f->settle = apr_time_from_sec(2);
    f->corte.source = PREP_CORTE_MTIME;
    f->zone.offset_s = -6 * 3600;
    f->zone.name = "Tiempo del Centro";
    f->interval = apr_time_from_sec(5 * 60);
    f->verify = PREP_VERIFY_NONE;
    prep_limits_default(&f->limits);
    f->keep = 12;
    f->strip = -1;
    f->compress = (1u << PREP_ENC_GZIP) | (1u << PREP_ENC_BR);
    f->banners = apr_array_make(p, 2, sizeof(const char *));
    f->future_limit = apr_time_from_sec(15 * 60);
    f->same_time_accept = 0;
    f->load_timeout = apr_time_from_sec(10 * 60);
    f->audit_interval = apr_time_from_sec(60);
}
