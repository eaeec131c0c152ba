/* prep_cortetime.c — where a package says when its corte was cut: a value
 * in a JSON file (RFC 6901 pointer), a line of the INE CSV (its second line
 * reads like "02/06/2024 21:05 (UTC-6)"), the package's file name, or its
 * mtime; and the ways such a time is written. */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <jansson.h>

#include "prep.h"

const char *prep_corte_spec_parse(prep_corte_spec_t *spec, int argc,
                                  const char *const *argv, apr_pool_t *p)
{
    regex_t re;
    char *end;
    long line;

    memset(spec, 0, sizeof(*spec));
    if (argc < 1) {
        return "use json FILE POINTER | csv FILE LINE | filename REGEX | mtime";
    }
    if (!strcasecmp(argv[0], "mtime") && argc == 1) {
        spec->source = PREP_CORTE_MTIME;
        return NULL;
    }
    if (!strcasecmp(argv[0], "json") && argc == 3) {
        if (argv[2][0] != '/') {
            return apr_psprintf(p,
                                "the JSON pointer \"%s\" must start with '/' "
                                "(e.g. /fechaCorte)",
                                argv[2]);
        }
        spec->source = PREP_CORTE_JSON;
        spec->file = argv[1][0] == '/' ? argv[1] + 1 : argv[1];
        spec->pointer = argv[2];
        return NULL;
    }
    if (!strcasecmp(argv[0], "csv") && argc == 3) {
        line = strtol(argv[2], &end, 10);
        if (!*argv[2] || *end || line < 1 || line > 1000) {
            return apr_psprintf(p, "\"%s\" is not a line number (1..1000)",
                                argv[2]);
        }
        spec->source = PREP_CORTE_CSV;
        spec->file = argv[1][0] == '/' ? argv[1] + 1 : argv[1];
        spec->line = (int)line;
        return NULL;
    }
    if (!strcasecmp(argv[0], "filename") && argc == 2) {
        if (regcomp(&re, argv[1], REG_EXTENDED) != 0) {
            return apr_psprintf(p, "the regular expression \"%s\" is not valid",
                                argv[1]);
        }
        regfree(&re);
        spec->source = PREP_CORTE_FILENAME;
        spec->regex = argv[1];
        return NULL;
    }
    return apr_psprintf(p,
                        "\"%s\" with %d argument(s): use json FILE POINTER | "
                        "csv FILE LINE | filename REGEX | mtime",
                        argv[0], argc - 1);
}

static int digits_at(const char *s, int n, int *out)
{
    int v = 0, i;

    for (i = 0; i < n; i++) {
        if (!apr_isdigit(s[i])) {
            return 0;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

/* An offset after a time: "Z", "-06:00", "+0530", or "(UTC-6)", "UTC-6",
 * "(UTC-06:00)", "(UTC)".  Returns 1 and sets *offset when one is there. */
static int read_offset(const char *s, int *offset)
{
    int sign, h = 0, m = 0, n = 0;

    while (*s == ' ') {
        s++;
    }
    if (*s == 'Z' || *s == 'z') {
        *offset = 0;
        return 1;
    }
    if (*s == '(') {
        s++;
    }
    if (!strncasecmp(s, "UTC", 3) || !strncasecmp(s, "GMT", 3)) {
        for (s += 3; *s == ' '; s++) {
        }
        /* "(UTC)" or "UTC" alone: UTC itself, not the feed's zone */
        if (*s != '+' && *s != '-' && !apr_isalnum(*s)) {
            *offset = 0;
            return 1;
        }
    }
    if (*s != '+' && *s != '-') {
        return 0;
    }
    sign = *s++ == '-' ? -1 : 1;
    for (; n < 2 && apr_isdigit(*s); n++, s++) {
        h = h * 10 + (*s - '0');
    }
    if (!n) {
        return 0;
    }
    if (*s == ':') {
        s++;
    }
    if (n == 2 && digits_at(s, 2, &m)) {
        s += 2;
    }
    if (h > 14 || m > 59) {
        return 0;
    }
    *offset = sign * (h * 3600 + m * 60);
    return 1;
}

/* After "HH:MM": optional ":SS", optional fraction. */
static const char *read_seconds(const char *c, int *s)
{
    *s = 0;
    if (c[0] == ':' && digits_at(c + 1, 2, s)) {
        c += 3;
        if (*c == '.' || *c == ',') {
            for (c++; apr_isdigit(*c); c++) {
            }
        }
    }
    return c;
}

/* A date and time starting at s, in any of the accepted forms; `rest` is
 * set after it.  Returns 1 when one is there. */
static int read_datetime(const char *s, int *y, int *mo, int *d, int *h,
                         int *mi, int *sec, const char **rest)
{
    const char *c = s;

    /* YYYY-MM-DD[T ]HH:MM[:SS] */
    if (digits_at(c, 4, y) && c[4] == '-' && digits_at(c + 5, 2, mo) &&
        c[7] == '-' && digits_at(c + 8, 2, d) &&
        (c[10] == 'T' || c[10] == ' ') && digits_at(c + 11, 2, h) &&
        c[13] == ':' && digits_at(c + 14, 2, mi)) {
        *rest = read_seconds(c + 16, sec);
        return 1;
    }
    /* DD/MM/YYYY HH:MM[:SS] */
    if (digits_at(c, 2, d) && c[2] == '/' && digits_at(c + 3, 2, mo) &&
        c[5] == '/' && digits_at(c + 6, 4, y) &&
        (c[10] == ' ' || c[10] == 'T') && digits_at(c + 11, 2, h) &&
        c[13] == ':' && digits_at(c + 14, 2, mi)) {
        *rest = read_seconds(c + 16, sec);
        return 1;
    }
    /* YYYYMMDD[_T]?HHMM[SS] */
    if (digits_at(c, 4, y) && digits_at(c + 4, 2, mo) &&
        digits_at(c + 6, 2, d)) {
        c += 8;
        if (*c == '_' || *c == 'T' || *c == '-') {
            c++;
        }
        if (digits_at(c, 2, h) && digits_at(c + 2, 2, mi)) {
            c += 4;
            if (!digits_at(c, 2, sec)) {
                *sec = 0;
            } else {
                c += 2;
            }
            *rest = c;
            return !apr_isdigit(*c);
        }
    }
    return 0;
}

static apr_status_t make_time(apr_time_t *t, int y, int mo, int d, int h,
                              int mi, int s, const char *rest,
                              const prep_zone_t *z)
{
    int offset = z->offset_s;
    const char *c = rest + strspn(rest, " ");

    if (!prep_civil_valid(y, mo, d, h, mi, s)) {
        return APR_EINVAL;
    }
    /* What starts like an offset must be one: "+99:00" or "UTC+x" is an
     * error, not a time in the feed's zone.  Other text (a CSV's next
     * field, a closing quote) leaves the feed's zone. */
    if (*c == '(') {
        c++;
    }
    if (!read_offset(rest, &offset) &&
        (((*c == '+' || *c == '-') && apr_isdigit(c[1])) ||
         !strncasecmp(c, "UTC", 3) || !strncasecmp(c, "GMT", 3))) {
        return APR_EINVAL;
    }
    *t = prep_civil_to_time(y, mo, d, h, mi, s, offset);
    return APR_SUCCESS;
}

apr_status_t prep_corte_time_from_text(apr_time_t *t, const char *text,
                                       const prep_zone_t *z)
{
    const char *c = text, *rest;
    int y, mo, d, h, mi, s;
    size_t n;

    while (apr_isspace(*c) || *c == '"' || *c == '\'') {
        c++;
    }
    for (n = 0; apr_isdigit(c[n]); n++) {
    }
    if ((n == 10 || n == 13) && !c[n + strspn(c + n, " \t\r\n\"'")]) {
        apr_int64_t v = apr_atoi64(c);
        *t = n == 13 ? apr_time_from_msec(v) : apr_time_from_sec(v);
        return APR_SUCCESS;
    }
    if (!read_datetime(c, &y, &mo, &d, &h, &mi, &s, &rest)) {
        return APR_EINVAL;
    }
    return make_time(t, y, mo, d, h, mi, s, rest, z);
}

/* Follows an RFC 6901 pointer. */
static json_t *follow_pointer(json_t *root, const char *pointer, apr_pool_t *p)
{
    json_t *node = root;
    const char *c = pointer;

    while (node && *c == '/') {
        const char *end = strchr(c + 1, '/');
        size_t len = end ? (size_t)(end - c - 1) : strlen(c + 1);
        char *token = apr_palloc(p, len + 1), *o = token;
        size_t i;

        for (i = 0; i < len; i++) {
            if (c[1 + i] == '~' && i + 1 < len && c[2 + i] == '0') {
                *o++ = '~';
                i++;
            } else if (c[1 + i] == '~' && i + 1 < len && c[2 + i] == '1') {
                *o++ = '/';
                i++;
            } else {
                *o++ = c[1 + i];
            }
        }
        *o = '\0';
        if (json_is_object(node)) {
            node = json_object_get(node, token);
        } else if (json_is_array(node)) {
            char *endp;
            long idx = strtol(token, &endp, 10);
            node = (*token && !*endp && idx >= 0)
                       ? json_array_get(node, (size_t)idx)
                       : NULL;
        } else {
            node = NULL;
        }
        c += 1 + len;
    }
    return node;
}

static const char *from_json(apr_time_t *t, const prep_corte_spec_t *spec,
                             const char *data, apr_size_t len,
                             const prep_zone_t *z, apr_pool_t *p)
{
    json_error_t jerr;
    json_t *root, *v;
    const char *err = NULL;

    /* a byte-order mark, which some editors write, is not JSON */
    if (len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3)) {
        data += 3;
        len -= 3;
    }
    root = json_loadb(data, len, 0, &jerr);

    if (!root) {
        return apr_psprintf(p, "%s is not valid JSON (line %d: %s)", spec->file,
                            jerr.line, jerr.text);
    }
    v = follow_pointer(root, spec->pointer, p);
    if (!v) {
        err = apr_psprintf(p, "%s: %s not found", spec->file, spec->pointer);
    } else if (json_is_string(v)) {
        if (prep_corte_time_from_text(t, json_string_value(v), z) !=
            APR_SUCCESS) {
            err = apr_psprintf(p, "%s: %s is \"%s\", not a time", spec->file,
                               spec->pointer, json_string_value(v));
        }
    } else if (json_is_integer(v) && json_integer_value(v) > 0) {
        json_int_t n = json_integer_value(v);
        *t = n > 100000000000LL ? apr_time_from_msec(n) : apr_time_from_sec(n);
    } else {
        err = apr_psprintf(p, "%s: %s is not a string or a number", spec->file,
                           spec->pointer);
    }
    json_decref(root);
    return err;
}

static const char *from_csv(apr_time_t *t, const prep_corte_spec_t *spec,
                            const char *data, apr_size_t len,
                            const prep_zone_t *z, apr_pool_t *p)
{
    const char *c = data, *end = data + len, *eol, *s, *rest;
    char *line;
    int n, y, mo, d, h, mi, sec;

    if (len >= 3 && !memcmp(c, "\xEF\xBB\xBF", 3)) {
        c += 3;
    }
    for (n = 1; n < spec->line && c < end; n++) {
        eol = memchr(c, '\n', (size_t)(end - c));
        c = eol ? eol + 1 : end;
    }
    if (c >= end) {
        return apr_psprintf(p, "%s has no line %d", spec->file, spec->line);
    }
    eol = memchr(c, '\n', (size_t)(end - c));
    line = apr_pstrmemdup(p, c, (apr_size_t)((eol ? eol : end) - c));
    for (s = line; *s; s++) {
        if (apr_isdigit(*s) && (s == line || !apr_isdigit(s[-1])) &&
            read_datetime(s, &y, &mo, &d, &h, &mi, &sec, &rest)) {
            if (make_time(t, y, mo, d, h, mi, sec, rest, z) == APR_SUCCESS) {
                return NULL;
            }
        }
    }
    return apr_psprintf(p, "%s: line %d has no date and time (\"%.80s\")",
                        spec->file, spec->line, line);
}

const char *prep_corte_time_from_content(apr_time_t *t,
                                         const prep_corte_spec_t *spec,
                                         const char *data, apr_size_t len,
                                         const prep_zone_t *z, apr_pool_t *p)
{
    if (spec->source == PREP_CORTE_JSON) {
        return from_json(t, spec, data, len, z, p);
    }
    if (spec->source == PREP_CORTE_CSV) {
        return from_csv(t, spec, data, len, z, p);
    }
    return "this corte-time source does not read a file";
}

const char *prep_corte_time_from_filename(apr_time_t *t,
                                          const prep_corte_spec_t *spec,
                                          const char *name,
                                          const prep_zone_t *z, apr_pool_t *p)
{
    regex_t re;
    regmatch_t m[7];
    int v[6] = {0, 0, 0, 0, 0, 0}, i, ok;
    const char *err = NULL;

    if (regcomp(&re, spec->regex, REG_EXTENDED) != 0) {
        return apr_psprintf(p, "bad regular expression %s", spec->regex);
    }
    if (regexec(&re, name, 7, m, 0) != 0) {
        err =
            apr_psprintf(p, "the name %s does not match %s", name, spec->regex);
    } else if (re.re_nsub <= 1) {
        /* the group, or without one the whole match */
        const regmatch_t *g = &m[re.re_nsub];
        const char *text =
            g->rm_so < 0 ? ""
                         : apr_pstrmemdup(p, name + g->rm_so,
                                          (apr_size_t)(g->rm_eo - g->rm_so));
        if (prep_corte_time_from_text(t, text, z) != APR_SUCCESS) {
            err = apr_psprintf(p, "\"%s\" in the name %s is not a time", text,
                               name);
        }
    } else if (re.re_nsub == 5 || re.re_nsub == 6) {
        for (i = 0, ok = 1; i < (int)re.re_nsub && ok; i++) {
            const char *g = name + m[i + 1].rm_so;
            int glen = (int)(m[i + 1].rm_eo - m[i + 1].rm_so);
            ok = m[i + 1].rm_so >= 0 && glen > 0 && glen <= 4 &&
                 digits_at(g, glen, &v[i]);
        }
        if (!ok || !prep_civil_valid(v[0], v[1], v[2], v[3], v[4], v[5])) {
            err =
                apr_psprintf(p, "the name %s does not hold a valid time", name);
        } else {
            *t = prep_civil_to_time(v[0], v[1], v[2], v[3], v[4], v[5],
                                    z->offset_s);
        }
    } else {
        err = apr_psprintf(p,
                           "%s must have 1 group (the time), none (the whole "
                           "match is the time) or 5-6 groups "
                           "(year, month, day, hour, minute[, second])",
                           spec->regex);
    }
    regfree(&re);
    return err;
}
