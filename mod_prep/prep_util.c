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

void prep_text_printf(prep_text_t *t, const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    s = apr_pvsprintf(t->p, fmt, ap);
    va_end(ap);
    prep_text_put(t, s, strlen(s));
}

void prep_text_html(prep_text_t *t, const char *s, apr_size_t n,
                    apr_size_t max_chars, int keep_lines)
{
    const char *run = s, *end = s + n;
    apr_size_t chars = 0;

    for (; s < end; s++) {
        unsigned char c = (unsigned char)*s;
        const char *entity = NULL;

        if ((c & 0xC0) != 0x80 && max_chars && chars++ == max_chars) {
            prep_text_put(t, run, (apr_size_t)(s - run));
            prep_text_put(t, "\xE2\x80\xA6", 3); /* … */
            return;
        }
        switch (c) {
            case '&':
                entity = "&amp;";
                break;
            case '<':
                entity = "&lt;";
                break;
            case '>':
                entity = "&gt;";
                break;
            case '"':
                entity = "&quot;";
                break;
            case '\'':
                entity = "&#39;";
                break;
            default:
                if ((c < 0x20 && !(keep_lines && (c == '\n' || c == '\t'))) ||
                    c == 0x7F) {
                    entity = "\xEF\xBF\xBD";
                }
        }
        if (entity) {
            prep_text_put(t, run, (apr_size_t)(s - run));
            prep_text_put(t, entity, strlen(entity));
            run = s + 1;
        }
    }
    prep_text_put(t, run, (apr_size_t)(end - run));
}

const char *prep_count_text(apr_pool_t *p, apr_int64_t n)
{
    char digits[32], out[48];
    int len, i, o = 0;

    len = apr_snprintf(digits, sizeof(digits), "%" APR_INT64_T_FMT,
                       n < 0 ? (apr_int64_t)0 : n);
    for (i = 0; i < len; i++) {
        if (i && (len - i) % 3 == 0) {
            out[o++] = ',';
        }
        out[o++] = digits[i];
    }
    out[o] = '\0';
    return apr_pstrdup(p, out);
}

const char *prep_duration_text(apr_pool_t *p, apr_int64_t s)
{
    s = s < 0 ? 0 : s;
    if (s < 60) {
        return apr_psprintf(p, "%d s", (int)s);
    }
    if (s < 3600) {
        return apr_psprintf(p, "%d min %02d s", (int)(s / 60), (int)(s % 60));
    }
    if (s < 86400) {
        return apr_psprintf(p, "%d h %02d min", (int)(s / 3600),
                            (int)(s % 3600 / 60));
    }
    return apr_psprintf(p, "%d d %02d h", (int)(s / 86400),
                        (int)(s % 86400 / 3600));
}

int prep_iso_offset(const char *iso)
{
    apr_size_t n = iso ? strlen(iso) : 0;
    const char *o;
    int off;

    if (n < 6) {
        return 0;
    }
    o = iso + n - 6;
    if ((o[0] != '+' && o[0] != '-') || o[3] != ':' || !apr_isdigit(o[1]) ||
        !apr_isdigit(o[2]) || !apr_isdigit(o[4]) || !apr_isdigit(o[5])) {
        return 0;
    }
    off = ((o[1] - '0') * 10 + (o[2] - '0')) * 3600 +
          ((o[4] - '0') * 10 + (o[5] - '0')) * 60;
    return o[0] == '-' ? -off : off;
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
