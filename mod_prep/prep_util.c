/* prep_util.c — small pieces the rest of the core library shares: verdicts,
 * civil dates and times, hex, feed names, and reading a descriptor in
 * blocks.  It calls no other file of the library. */
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

void prep_text_put(prep_text_t *t, const char *s, apr_size_t n)
{
    if (t->len + n + 1 > t->cap) {
        apr_size_t cap = t->cap ? t->cap : 8 * 1024;
        char *buf;

        while (t->len + n + 1 > cap) {
            cap *= 2;
        }
        buf = apr_palloc(t->p, cap);
        if (t->len) {
            memcpy(buf, t->buf, t->len);
        }
        t->buf = buf;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

void prep_csv_field(prep_csv_t *c, const char *s)
{
    if (c->fields++) {
        prep_text_put(&c->text, ",", 1);
    }
    if (!s) {
        return;
    }
    if (!strpbrk(s, ",\"\r\n")) {
        prep_text_put(&c->text, s, strlen(s));
        return;
    }
    prep_text_put(&c->text, "\"", 1);
    for (; *s; s++) {
        prep_text_put(&c->text, s, 1);
        if (*s == '"') {
            prep_text_put(&c->text, "\"", 1);
        }
    }
    prep_text_put(&c->text, "\"", 1);
}

void prep_csv_row(prep_csv_t *c, const char *const *fields)
{
    for (; fields && *fields; fields++) {
        prep_csv_field(c, *fields);
    }
    prep_text_put(&c->text, "\r\n", 2);
    c->fields = 0;
}

apr_status_t prep_csv_write(const prep_csv_t *c, const char *dir,
                            const char *name)
{
    return prep_store_write_atomic(apr_pstrcat(c->text.p, dir, "/", name, NULL),
                                   c->text.buf ? c->text.buf : "", c->text.len,
                                   c->text.p);
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
