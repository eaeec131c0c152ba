/* prep_util.c — small pieces the rest of the core library shares: verdicts,
 * the values of configuration directives (durations, sizes, ISO-8601
 * times), hex, and a feed's defaults. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "prep.h"

apr_status_t prep_refuse(prep_verdict_t *v, apr_pool_t *p, const char *reason,
                         const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    v->reason = reason;
    v->message = apr_pvsprintf(p, fmt, ap);
    va_end(ap);
    return APR_EGENERAL;
}

/* A whole decimal number at *s; advances *s.  0 when there is none or it
 * overflows. */
static int read_number(const char **s, apr_uint64_t *out)
{
    apr_uint64_t v = 0;
    const char *c = *s;

    if (!apr_isdigit(*c)) {
        return 0;
    }
    for (; apr_isdigit(*c); c++) {
        if (v > (APR_UINT64_MAX - 9) / 10) {
            return 0;
        }
        v = v * 10 + (apr_uint64_t)(*c - '0');
    }
    *s = c;
    *out = v;
    return 1;
}

const char *prep_parse_duration(apr_interval_time_t *out, const char *text)
{
    const char *c = text;
    apr_uint64_t n, unit = 1;

    if (!read_number(&c, &n) || (*c && c[1])) {
        return "unrecognized duration (use e.g. 90, 90s, 5m, 1h, 2d)";
    }
    switch (*c) {
        case '\0':
        case 's':
            break;
        case 'm':
            unit = 60;
            break;
        case 'h':
            unit = 3600;
            break;
        case 'd':
            unit = 86400;
            break;
        default:
            return "unrecognized duration (use e.g. 90, 90s, 5m, 1h, 2d)";
    }
    if (n > APR_UINT64_C(100) * 365 * 86400 / unit) {
        return "duration is longer than a century";
    }
    *out = apr_time_from_sec((apr_time_t)(n * unit));
    return NULL;
}

const char *prep_parse_size(apr_uint64_t *out, const char *text)
{
    const char *c = text;
    apr_uint64_t n;
    int shift = 0;

    if (!read_number(&c, &n) || (*c && c[1])) {
        return "unrecognized size (use e.g. 512, 10k, 512M, 2G)";
    }
    switch (*c) {
        case '\0':
            break;
        case 'k':
        case 'K':
            shift = 10;
            break;
        case 'm':
        case 'M':
            shift = 20;
            break;
        case 'g':
        case 'G':
            shift = 30;
            break;
        case 't':
        case 'T':
            shift = 40;
            break;
        default:
            return "unrecognized size (use e.g. 512, 10k, 512M, 2G)";
    }
    if (shift && n > (APR_UINT64_MAX >> shift)) {
        return "size is too large";
    }
    *out = n << shift;
    return NULL;
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

/* Days from 1970-01-01 to a civil date (proleptic Gregorian). */
static apr_int64_t days_from_civil(int y, int m, int d)
{
    apr_int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int prep_civil_valid(int y, int mo, int d, int h, int mi, int s)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return y >= 1970 && y <= 9999 && mo >= 1 && mo <= 12 && d >= 1 &&
           d <= mdays[mo - 1] + (mo == 2 && leap) && h >= 0 && h <= 23 &&
           mi >= 0 && mi <= 59 && s >= 0 && s <= 60;
}

apr_time_t prep_civil_to_time(int y, int mo, int d, int h, int mi, int s,
                              int offset_s)
{
    apr_int64_t secs =
        days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset_s;

    return apr_time_from_sec(secs);
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

char *prep_hex(apr_pool_t *p, const unsigned char *bytes, apr_size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *out = apr_palloc(p, n * 2 + 1);
    apr_size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
    return out;
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

int prep_feed_name_valid(const char *name)
{
    if (!name || !*name) {
        return 0;
    }
    for (; *name; name++) {
        if (!apr_isalnum(*name) && *name != '_' && *name != '-') {
            return 0;
        }
    }
    return 1;
}

apr_status_t prep_fd_blocks(int fd, apr_size_t block, prep_block_fn *fn,
                            void *baton)
{
    unsigned char *buf = malloc(block);
    off_t at = 0;
    apr_status_t rv = APR_SUCCESS;

    if (!buf) {
        return APR_ENOMEM;
    }
    for (;;) {
        ssize_t n = pread(fd, buf, block, at);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            rv = n < 0 ? errno : APR_SUCCESS;
            break;
        }
        if ((rv = fn(baton, buf, (apr_size_t)n)) != APR_SUCCESS) {
            break;
        }
        at += n;
    }
    free(buf);
    return rv;
}
