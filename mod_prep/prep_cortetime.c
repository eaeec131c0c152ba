/* prep_cortetime.c — where a package says when its corte was cut: a value
 * in a JSON file (RFC 6901 pointer), a line of the INE CSV (its second line
 * reads like "02/06/2024 21:05 (UTC-6)"), the package's file name, or its
 * mtime; and the ways such a time is written.  JSON and CSV files are read
 * by one streaming reader, from memory or from the pack a block at a time,
 * so a 1 GB main.json costs a few hundred KB, not the whole file.  Last, the
 * refusals of a corte for its time: none found, too far ahead of the clock
 * (PrepFutureLimit), older than the corte served, or the time of the corte
 * served with other bytes (PrepSameTime). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_lib.h>
#include <apr_strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "prep.h"

/* ------------------------------------------------------------------ */
/* A time written as text */

/* How reading a time went: TIME_NONE when there is no valid date and time
 * (a CSV line is searched further), TIME_BAD_ZONE when there is one but
 * what follows it names a zone or an offset that is not known. */
typedef enum { TIME_OK = 0, TIME_NONE, TIME_BAD_ZONE } time_read_e;

/* The form a date and time was written in. */
typedef enum {
    FORM_NONE = 0,
    FORM_ISO,   /* YYYY-MM-DD[T ]HH:MM[:SS] */
    FORM_DMY,   /* DD/MM/YYYY HH:MM[:SS] */
    FORM_DIGITS /* YYYYMMDD[_T-]?HHMM[SS] */
} time_form_e;

/* A fault's words, for error sentences: a zone word, a bad offset. */
#define WHY_SIZE 96

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

/* ASCII only: the C library's isalpha follows the locale. */
static int ascii_letter(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* An offset at s: "-06:00", "+0530", "-06", "-6", "-6:30".  Returns 1 and
 * sets *offset when s is one (hours up to 14, minutes up to 59). */
static int read_offset_number(const char *s, int *offset)
{
    int sign = *s == '-' ? -1 : 1, h = 0, m = 0, n = 0;

    if (*s != '+' && *s != '-') {
        return 0;
    }
    for (s++; n < 2 && apr_isdigit(*s); n++, s++) {
        h = h * 10 + (*s - '0');
    }
    if (!n) {
        return 0;
    }
    if (*s == ':') {
        if (!digits_at(s + 1, 2, &m)) {
            return 0;
        }
        s += 3;
    } else if (n == 2 && digits_at(s, 2, &m)) {
        s += 2;
    }
    if (apr_isdigit(*s) || h > 14 || m > 59) {
        return 0;
    }
    *offset = sign * (h * 3600 + m * 60);
    return 1;
}

/* The length of what looks like an offset at s ("+99:00"), for messages. */
static int offset_span(const char *s)
{
    int n = 0;

    while (n < 16 && s[n] && strchr("+-:0123456789", s[n])) {
        n++;
    }
    return n;
}

/* What follows a date and time.  Nothing, or text after punctuation (a
 * CSV's next field, a closing quote): the feed's zone, *offset unchanged.
 * An offset ("Z", "-06:00", "(UTC-6)", "UTC+00:00") or "UTC"/"GMT" alone:
 * *offset set.  A word of letters that is none of these ("EDT", "PST"), or
 * an offset that is not one ("+99:00"): TIME_BAD_ZONE, the reason in why,
 * since reading "21:05 EDT" in the feed's zone would be wrong silently. */
static time_read_e read_zone(const char *rest, int *offset, char *why)
{
    const char *c = rest, *word;
    size_t len;

    while (*c == ' ') {
        c++;
    }
    if (*c == '(') {
        for (c++; *c == ' '; c++) {
        }
    }
    word = c;
    for (len = 0; ascii_letter(c[len]); len++) {
    }
    if (len == 1 && (*c == 'Z' || *c == 'z')) {
        *offset = 0;
        return TIME_OK;
    }
    if (len == 3 && (!strncasecmp(c, "UTC", 3) || !strncasecmp(c, "GMT", 3))) {
        for (c += 3; *c == ' '; c++) {
        }
        /* "(UTC)" or "UTC" alone: UTC itself, not the feed's zone */
        if (*c != '+' && *c != '-' && !apr_isalnum(*c)) {
            *offset = 0;
            return TIME_OK;
        }
        if (read_offset_number(c, offset)) {
            return TIME_OK;
        }
        snprintf(why, WHY_SIZE, "\"%.3s%.*s\" is not a UTC offset", word,
                 offset_span(c) ? offset_span(c) : 1, c);
        return TIME_BAD_ZONE;
    }
    if (len) {
        snprintf(why, WHY_SIZE, "unknown time zone \"%.*s\"",
                 (int)(len > 32 ? 32 : len), word);
        return TIME_BAD_ZONE;
    }
    if ((*c == '+' || *c == '-') && apr_isdigit(c[1])) {
        if (read_offset_number(c, offset)) {
            return TIME_OK;
        }
        snprintf(why, WHY_SIZE, "\"%.*s\" is not a UTC offset", offset_span(c),
                 c);
        return TIME_BAD_ZONE;
    }
    return TIME_OK;
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
 * set after it.  Returns its form, FORM_NONE when there is none. */
static time_form_e read_datetime(const char *s, int *y, int *mo, int *d, int *h,
                                 int *mi, int *sec, const char **rest)
{
    const char *c = s;

    if (digits_at(c, 4, y) && c[4] == '-' && digits_at(c + 5, 2, mo) &&
        c[7] == '-' && digits_at(c + 8, 2, d) &&
        (c[10] == 'T' || c[10] == ' ') && digits_at(c + 11, 2, h) &&
        c[13] == ':' && digits_at(c + 14, 2, mi)) {
        *rest = read_seconds(c + 16, sec);
        return FORM_ISO;
    }
    if (digits_at(c, 2, d) && c[2] == '/' && digits_at(c + 3, 2, mo) &&
        c[5] == '/' && digits_at(c + 6, 4, y) &&
        (c[10] == ' ' || c[10] == 'T') && digits_at(c + 11, 2, h) &&
        c[13] == ':' && digits_at(c + 14, 2, mi)) {
        *rest = read_seconds(c + 16, sec);
        return FORM_DMY;
    }
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
            return apr_isdigit(*c) ? FORM_NONE : FORM_DIGITS;
        }
    }
    return FORM_NONE;
}

static time_read_e make_time(apr_time_t *t, time_form_e form, int y, int mo,
                             int d, int h, int mi, int s, const char *rest,
                             const prep_zone_t *z, char *why)
{
    int offset = z->offset_s;
    time_read_e rv;

    if (!prep_civil_valid(y, mo, d, h, mi, s)) {
        snprintf(why, WHY_SIZE, "not a valid date and time");
        return TIME_NONE;
    }
    /* a run of digits is only taken for a date in a plausible year */
    if (form == FORM_DIGITS && (y < 2000 || y > 2099)) {
        snprintf(why, WHY_SIZE, "the year %04d is not within 2000..2099", y);
        return TIME_NONE;
    }
    if ((rv = read_zone(rest, &offset, why)) != TIME_OK) {
        return rv;
    }
    *t = prep_civil_to_time(y, mo, d, h, mi, s, offset);
    return TIME_OK;
}

/* Epoch seconds (or milliseconds when ms) from 2000-01-01 to 2100-01-01. */
static int epoch_plausible(apr_int64_t v, int ms)
{
    apr_int64_t k = ms ? 1000 : 1;

    return v >= PREP_CORTE_EPOCH_MIN * k && v < PREP_CORTE_EPOCH_END * k;
}

static time_read_e time_from_text(apr_time_t *t, const char *text,
                                  const prep_zone_t *z, char *why)
{
    const char *c = text, *rest;
    int y, mo, d, h, mi, s;
    time_form_e form;
    size_t n;

    while (apr_isspace(*c) || *c == '"' || *c == '\'') {
        c++;
    }
    for (n = 0; apr_isdigit(c[n]); n++) {
    }
    if ((n == 10 || n == 13) && !c[n + strspn(c + n, " \t\r\n\"'")]) {
        apr_int64_t v = apr_atoi64(c);

        if (!epoch_plausible(v, n == 13)) {
            snprintf(why, WHY_SIZE,
                     "epoch %s outside 2000-01-01..2100-01-01 UTC",
                     n == 13 ? "milliseconds" : "seconds");
            return TIME_NONE;
        }
        *t = n == 13 ? apr_time_from_msec(v) : apr_time_from_sec(v);
        return TIME_OK;
    }
    if (!(form = read_datetime(c, &y, &mo, &d, &h, &mi, &s, &rest))) {
        snprintf(why, WHY_SIZE, "not a date and time in a known form");
        return TIME_NONE;
    }
    return make_time(t, form, y, mo, d, h, mi, s, rest, z, why);
}

apr_status_t prep_corte_time_from_text(apr_time_t *t, const char *text,
                                       const prep_zone_t *z)
{
    char why[WHY_SIZE];

    return time_from_text(t, text, z, why) == TIME_OK ? APR_SUCCESS
                                                      : APR_EINVAL;
}

/* ------------------------------------------------------------------ */
/* The file's bytes: from memory, or from the pack a block at a time */

static const unsigned char no_bytes[1];

typedef struct corte_reader {
    const unsigned char *cur, *lim; /* the unread bytes of the block */
    const unsigned char *base;      /* the block's first byte */
    apr_off_t base_pos;             /* its position in the file */
    unsigned char *block;           /* fd: PREP_CORTE_BLOCK bytes */
    int fd;                         /* -1: all the bytes are in memory */
    apr_off_t first, next, end;     /* fd: offsets in the pack */
    int errnum; /* fd: errno of a failed read; -1: the pack ended early */
} corte_reader_t;

/* Reads the next block; 0 at the end of the file (or after a failure).
 * pread is repeated until the block is full, so the first block holds
 * min(len, PREP_CORTE_BLOCK) bytes and a byte-order mark is seen whole. */
static int reader_fill(corte_reader_t *r)
{
    apr_size_t want, got = 0;
    ssize_t n;

    if (r->fd < 0 || r->errnum || r->next >= r->end) {
        return 0;
    }
    want = r->end - r->next < PREP_CORTE_BLOCK ? (apr_size_t)(r->end - r->next)
                                               : PREP_CORTE_BLOCK;
    while (got < want) {
        n = pread(r->fd, r->block + got, want - got,
                  (off_t)(r->next + (apr_off_t)got));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            r->errnum = n < 0 ? errno : -1;
            break;
        }
        got += (apr_size_t)n;
    }
    if (!got) {
        return 0;
    }
    r->base_pos = r->next - r->first;
    r->next += (apr_off_t)got;
    r->base = r->cur = r->block;
    r->lim = r->block + got;
    return 1;
}

static inline int reader_peek(corte_reader_t *r)
{
    if (r->cur == r->lim && !reader_fill(r)) {
        return -1;
    }
    return *r->cur;
}

static inline int reader_get(corte_reader_t *r)
{
    if (r->cur == r->lim && !reader_fill(r)) {
        return -1;
    }
    return *r->cur++;
}

/* Offset in the file of the next byte. */
static apr_off_t reader_pos(const corte_reader_t *r)
{
    return r->base_pos + (apr_off_t)(r->cur - r->base);
}

/* Skips a UTF-8 byte-order mark at the start of the file. */
static void reader_skip_bom(corte_reader_t *r)
{
    if (reader_peek(r) == 0xEF && r->lim - r->cur >= 3 &&
        !memcmp(r->cur, "\xEF\xBB\xBF", 3)) {
        r->cur += 3;
    }
}

/* The sentence for a failed read, or NULL. */
static const char *reader_error(const corte_reader_t *r, const char *file,
                                apr_pool_t *p)
{
    char buf[128];

    if (!r->errnum) {
        return NULL;
    }
    if (r->errnum < 0) {
        return apr_psprintf(p,
                            "%s cannot be read back: the pack ends after "
                            "%" APR_OFF_T_FMT " of its %" APR_OFF_T_FMT
                            " bytes",
                            file, r->next - r->first, r->end - r->first);
    }
    return apr_psprintf(
        p, "%s cannot be read back: %s", file,
        apr_strerror(APR_FROM_OS_ERROR(r->errnum), buf, sizeof(buf)));
}

/* ------------------------------------------------------------------ */
/* JSON: a scanner that walks to the pointer without building the
 * document.  The whole file is checked (as a parser would), but only the
 * value at the pointer is kept, at most PREP_CORTE_TEXT_MAX bytes. */

typedef enum {
    JSON_NONE = 0,
    JSON_STRING,
    JSON_NUMBER,
    JSON_OTHER /* true, false, null, an object, an array */
} json_kind_e;

/* What json_string does with the string's decoded bytes. */
typedef enum { STR_SKIP, STR_MATCH, STR_CAPTURE } json_str_e;

typedef struct json_scan {
    corte_reader_t *r;
    /* the pointer's reference tokens, decoded (~0 ~1), and as array
     * indexes (-1 when a token is not one) */
    int ntokens;
    const char **tokens;
    apr_size_t *token_len;
    apr_int64_t *token_index;
    int line;
    /* the first fault: where, and what */
    int fault, fault_line, too_deep;
    apr_off_t fault_pos;
    char fault_text[128];
    /* a key compared with a token */
    const char *m_tok;
    apr_size_t m_len, m_k;
    int m_same;
    /* the value at the pointer */
    int found;
    json_kind_e kind;
    int integer, text_long;
    apr_size_t text_len;
    char text[PREP_CORTE_TEXT_MAX + 1];
} json_scan_t;

/* Records a fault (`what` was expected, c was found) and returns -1. */
static int json_fault(json_scan_t *s, const char *what, int c)
{
    if (s->fault) {
        return -1;
    }
    s->fault = 1;
    s->fault_line = s->line;
    s->fault_pos = reader_pos(s->r) - (c >= 0);
    if (c < 0) {
        snprintf(s->fault_text, sizeof(s->fault_text),
                 "expected %s, found the end of the file", what);
    } else if (c > 0x20 && c < 0x7F) {
        snprintf(s->fault_text, sizeof(s->fault_text),
                 "expected %s, found '%c'", what, c);
    } else {
        snprintf(s->fault_text, sizeof(s->fault_text),
                 "expected %s, found byte 0x%02X", what, (unsigned)c);
    }
    return -1;
}

/* A fault that is not a missing piece of syntax. */
static int json_fault_text(json_scan_t *s, const char *text)
{
    if (!s->fault) {
        s->fault = 1;
        s->fault_line = s->line;
        s->fault_pos = reader_pos(s->r);
        snprintf(s->fault_text, sizeof(s->fault_text), "%s", text);
    }
    return -1;
}

static void json_ws(json_scan_t *s)
{
    int c;

    while ((c = reader_peek(s->r)) == ' ' || c == '\t' || c == '\n' ||
           c == '\r') {
        s->line += c == '\n';
        s->r->cur++;
    }
}

/* One decoded byte of a string. */
static void json_emit(json_scan_t *s, json_str_e mode, int b)
{
    if (mode == STR_MATCH) {
        if (s->m_same && s->m_k < s->m_len &&
            (unsigned char)s->m_tok[s->m_k] == (unsigned char)b) {
            s->m_k++;
        } else {
            s->m_same = 0;
        }
    } else if (mode == STR_CAPTURE) {
        if (s->text_len < PREP_CORTE_TEXT_MAX) {
            s->text[s->text_len++] = (char)b;
        } else {
            s->text_long = 1;
        }
    }
}

/* The XXXX of \uXXXX; -1 on a fault. */
static long json_hex4(json_scan_t *s)
{
    long v = 0;
    int i, c;

    for (i = 0; i < 4; i++) {
        c = reader_get(s->r);
        if (!apr_isxdigit(c)) {
            return json_fault(s, "four hex digits after \\u", c);
        }
        v = v * 16 + (apr_isdigit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

/* A code point as UTF-8 bytes. */
static void json_emit_code_point(json_scan_t *s, json_str_e mode, long cp)
{
    if (cp < 0x80) {
        json_emit(s, mode, (int)cp);
    } else if (cp < 0x800) {
        json_emit(s, mode, (int)(0xC0 | (cp >> 6)));
        json_emit(s, mode, (int)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        json_emit(s, mode, (int)(0xE0 | (cp >> 12)));
        json_emit(s, mode, (int)(0x80 | ((cp >> 6) & 0x3F)));
        json_emit(s, mode, (int)(0x80 | (cp & 0x3F)));
    } else {
        json_emit(s, mode, (int)(0xF0 | (cp >> 18)));
        json_emit(s, mode, (int)(0x80 | ((cp >> 12) & 0x3F)));
        json_emit(s, mode, (int)(0x80 | ((cp >> 6) & 0x3F)));
        json_emit(s, mode, (int)(0x80 | (cp & 0x3F)));
    }
}

/* \uXXXX (after "\u"), with a surrogate pair for what is past U+FFFF. */
static int json_unicode_escape(json_scan_t *s, json_str_e mode)
{
    long cp = json_hex4(s), lo;

    if (cp < 0) {
        return -1;
    }
    if (cp >= 0xDC00 && cp <= 0xDFFF) {
        return json_fault_text(s, "a low surrogate \\uDC00..\\uDFFF alone");
    }
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (reader_get(s->r) != '\\' || reader_get(s->r) != 'u') {
            return json_fault_text(s, "a high surrogate without a low one");
        }
        if ((lo = json_hex4(s)) < 0) {
            return -1;
        }
        if (lo < 0xDC00 || lo > 0xDFFF) {
            return json_fault_text(s, "a high surrogate without a low one");
        }
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    if (cp == 0) {
        return json_fault_text(s, "\\u0000 in a string");
    }
    json_emit_code_point(s, mode, cp);
    return 0;
}

/* One UTF-8 sequence starting with byte c (>= 0x80), checked (no overlong
 * forms, no surrogates, nothing past U+10FFFF). */
static int json_utf8(json_scan_t *s, json_str_e mode, int c)
{
    int more, lo = 0x80, hi = 0xBF, b;

    if (c >= 0xC2 && c <= 0xDF) {
        more = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        more = 2;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        more = 3;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return json_fault_text(s, "invalid UTF-8 in a string");
    }
    json_emit(s, mode, c);
    for (; more; more--, lo = 0x80, hi = 0xBF) {
        b = reader_get(s->r);
        if (b < lo || b > hi) {
            return json_fault_text(s, "invalid UTF-8 in a string");
        }
        json_emit(s, mode, b);
    }
    return 0;
}

/* The one-letter escapes of a JSON string, and the characters they stand
 * for, in the same order. */
#define JSON_ESCAPES "\"\\/bfnrt"
#define JSON_ESCAPED "\"\\/\b\f\n\r\t"

/* A string, after its opening quote. */
static int json_string(json_scan_t *s, json_str_e mode)
{
    corte_reader_t *r = s->r;
    const char *e;
    int c;

    for (;;) {
        if (mode == STR_SKIP) {
            /* plain ASCII needs no decoding: pass it in one sweep */
            while (r->cur < r->lim && *r->cur >= 0x20 && *r->cur < 0x80 &&
                   *r->cur != '"' && *r->cur != '\\') {
                r->cur++;
            }
        }
        c = reader_get(r);
        if (c == '"') {
            return 0;
        }
        if (c < 0) {
            return json_fault(s, "'\"' to end the string", c);
        }
        if (c < 0x20) {
            return json_fault_text(s, "a control character in a string");
        }
        if (c >= 0x80) {
            if (json_utf8(s, mode, c) < 0) {
                return -1;
            }
            continue;
        }
        if (c != '\\') {
            json_emit(s, mode, c);
            continue;
        }
        c = reader_get(r);
        if (c == 'u') {
            if (json_unicode_escape(s, mode) < 0) {
                return -1;
            }
        } else if (c > 0 && (e = strchr(JSON_ESCAPES, c))) {
            json_emit(s, mode, JSON_ESCAPED[e - JSON_ESCAPES]);
        } else {
            return json_fault(s,
                              "an escape (\\\" \\\\ \\/ \\b \\f \\n \\r "
                              "\\t \\uXXXX)",
                              c);
        }
    }
}

/* A run of at least one digit. */
static int json_digits(json_scan_t *s, json_str_e mode, const char *what)
{
    int c = reader_peek(s->r);

    if (!apr_isdigit(c)) {
        return json_fault(s, what, reader_get(s->r));
    }
    while (apr_isdigit(c = reader_peek(s->r))) {
        json_emit(s, mode, reader_get(s->r));
    }
    return 0;
}

/* A number (RFC 8259 grammar), after its first character c. */
static int json_number(json_scan_t *s, json_str_e mode, int c)
{
    int integer = 1;

    json_emit(s, mode, c);
    if (c == '-') {
        c = reader_get(s->r);
        if (!apr_isdigit(c)) {
            return json_fault(s, "a digit after '-'", c);
        }
        json_emit(s, mode, c);
    }
    /* no leading zeros: after "0" comes no digit (the caller sees it) */
    while (c != '0' && apr_isdigit(reader_peek(s->r))) {
        json_emit(s, mode, reader_get(s->r));
    }
    if (reader_peek(s->r) == '.') {
        integer = 0;
        json_emit(s, mode, reader_get(s->r));
        if (json_digits(s, mode, "a digit after '.'") < 0) {
            return -1;
        }
    }
    if ((c = reader_peek(s->r)) == 'e' || c == 'E') {
        integer = 0;
        json_emit(s, mode, reader_get(s->r));
        if ((c = reader_peek(s->r)) == '+' || c == '-') {
            json_emit(s, mode, reader_get(s->r));
        }
        if (json_digits(s, mode, "a digit in the exponent") < 0) {
            return -1;
        }
    }
    if (mode == STR_CAPTURE) {
        s->integer = integer;
    }
    return 0;
}

/* true, false or null, after its first letter. */
static int json_literal(json_scan_t *s, const char *word)
{
    const char *w;
    int c;

    for (w = word + 1; *w; w++) {
        if ((c = reader_get(s->r)) != *w) {
            return json_fault(s, word, c);
        }
    }
    return 0;
}

/* The value at the pointer is here: 1 when it is the first time (its kind
 * is kept and it is captured).  A second time (a key repeated in an
 * object: which one counts is not clear) is refused once the whole file
 * is known to be JSON. */
static int json_met(json_scan_t *s, json_kind_e kind)
{
    if (++s->found > 1) {
        return 0;
    }
    s->kind = kind;
    return 1;
}

static int json_value(json_scan_t *s, int depth, int level);

/* The start of an object or an array, after its '{' or '[': the bound on
 * nesting, and the empty one that ends at once (`end` is its '}' or ']').
 * 1 when members or elements follow, 0 when it has ended, -1 on a fault. */
static int json_open(json_scan_t *s, int depth, int end)
{
    if (depth > PREP_CORTE_JSON_DEPTH) {
        s->too_deep = 1;
        return json_fault_text(s, "nested too deep");
    }
    json_ws(s);
    if (reader_peek(s->r) == end) {
        s->r->cur++;
        return 0;
    }
    return 1;
}

/* After a member or an element: 1 after a ',', 0 at `end`, -1 on a fault
 * (`expected` says what was wanted). */
static int json_next(json_scan_t *s, int end, const char *expected)
{
    int c;

    json_ws(s);
    if ((c = reader_get(s->r)) == end) {
        return 0;
    }
    if (c != ',') {
        return json_fault(s, expected, c);
    }
    return 1;
}

/* An object, after '{'.  level: how many tokens of the pointer lead to it
 * (-1 when off the path); its members are at level + 1 when their key is
 * the next token. */
static int json_object(json_scan_t *s, int depth, int level)
{
    int c, match, more, on_path = level >= 0 && level < s->ntokens;

    if ((more = json_open(s, depth, '}')) <= 0) {
        return more;
    }
    for (;;) {
        json_ws(s);
        if ((c = reader_get(s->r)) != '"') {
            return json_fault(s, "a key in double quotes", c);
        }
        if (on_path) {
            s->m_tok = s->tokens[level];
            s->m_len = s->token_len[level];
            s->m_k = 0;
            s->m_same = 1;
        }
        if (json_string(s, on_path ? STR_MATCH : STR_SKIP) < 0) {
            return -1;
        }
        match = on_path && s->m_same && s->m_k == s->m_len;
        json_ws(s);
        if ((c = reader_get(s->r)) != ':') {
            return json_fault(s, "':' after a key", c);
        }
        if (json_value(s, depth, match ? level + 1 : -1) < 0) {
            return -1;
        }
        if ((more = json_next(s, '}', "',' or '}' in an object")) <= 0) {
            return more;
        }
    }
}

/* An array, after '['; element i is on the path when the next token is
 * the index i. */
static int json_array(json_scan_t *s, int depth, int level)
{
    int more, on_path = level >= 0 && level < s->ntokens;
    apr_int64_t i;

    if ((more = json_open(s, depth, ']')) <= 0) {
        return more;
    }
    for (i = 0;; i++) {
        int match = on_path && s->token_index[level] == i;

        if (json_value(s, depth, match ? level + 1 : -1) < 0) {
            return -1;
        }
        if ((more = json_next(s, ']', "',' or ']' in an array")) <= 0) {
            return more;
        }
    }
}

/* Any value.  depth: how many arrays and objects hold it. */
static int json_value(json_scan_t *s, int depth, int level)
{
    int target = level == s->ntokens, c;
    /* inside the value at the pointer, or off the path: nothing to find */
    int inner = target ? -1 : level;

    json_ws(s);
    c = reader_get(s->r);
    switch (c) {
        case '{':
            if (target) {
                json_met(s, JSON_OTHER);
            }
            return json_object(s, depth + 1, inner);
        case '[':
            if (target) {
                json_met(s, JSON_OTHER);
            }
            return json_array(s, depth + 1, inner);
        case '"':
            return json_string(
                s, target && json_met(s, JSON_STRING) ? STR_CAPTURE : STR_SKIP);
        case 't':
        case 'f':
        case 'n':
            if (target) {
                json_met(s, JSON_OTHER);
            }
            return json_literal(s, c == 't'   ? "true"
                                   : c == 'f' ? "false"
                                              : "null");
        default:
            if (c == '-' || apr_isdigit(c)) {
                return json_number(
                    s,
                    target && json_met(s, JSON_NUMBER) ? STR_CAPTURE : STR_SKIP,
                    c);
            }
            return json_fault(s, "a value", c);
    }
}

/* Whether every '~' of an RFC 6901 pointer is "~0" or "~1". */
int prep_corte_pointer_valid(const char *pointer)
{
    const char *c;

    for (c = strchr(pointer, '~'); c; c = strchr(c + 1, '~')) {
        if (c[1] != '0' && c[1] != '1') {
            return 0;
        }
    }
    return 1;
}

/* Splits the pointer into its reference tokens ("~1" is '/', "~0" '~'). */
static void json_pointer_tokens(json_scan_t *s, const char *pointer,
                                apr_pool_t *sp)
{
    const char *c;
    int i = 0;

    for (c = pointer; *c; c++) {
        s->ntokens += *c == '/';
    }
    s->tokens = apr_pcalloc(sp, sizeof(*s->tokens) * (apr_size_t)s->ntokens);
    s->token_len =
        apr_pcalloc(sp, sizeof(*s->token_len) * (apr_size_t)s->ntokens);
    s->token_index =
        apr_pcalloc(sp, sizeof(*s->token_index) * (apr_size_t)s->ntokens);
    for (c = pointer; *c == '/'; i++) {
        size_t len = strcspn(c + 1, "/"), j, k = 0;
        char *token = apr_palloc(sp, len + 1);

        for (j = 0; j < len; j++) {
            if (c[1 + j] == '~' && j + 1 < len) {
                token[k++] = c[2 + j] == '1' ? '/' : '~';
                j++;
            } else {
                token[k++] = c[1 + j];
            }
        }
        token[k] = '\0';
        s->tokens[i] = token;
        s->token_len[i] = k;
        /* an array index is "0" or digits without a leading zero */
        s->token_index[i] = -1;
        if (k >= 1 && k <= 18 && strspn(token, "0123456789") == k &&
            (k == 1 || token[0] != '0')) {
            s->token_index[i] = apr_atoi64(token);
        }
        c += 1 + len;
    }
}

/* A whole number at the pointer: epoch seconds or milliseconds, each in
 * its plausible range (the ranges do not overlap). */
static int json_epoch(apr_time_t *t, const json_scan_t *s)
{
    apr_int64_t v;

    if (!s->integer || s->text_long || s->text[0] == '-' || s->text_len > 16) {
        return 0;
    }
    v = apr_atoi64(s->text);
    if (epoch_plausible(v, 0)) {
        *t = apr_time_from_sec(v);
        return 1;
    }
    if (epoch_plausible(v, 1)) {
        *t = apr_time_from_msec(v);
        return 1;
    }
    return 0;
}

static const char *json_read(apr_time_t *t, const prep_corte_spec_t *spec,
                             corte_reader_t *r, const prep_zone_t *z,
                             apr_pool_t *p, apr_pool_t *sp)
{
    json_scan_t *s = apr_pcalloc(sp, sizeof(*s));
    const char *err;
    char why[WHY_SIZE];
    int c;

    if (!spec->pointer || spec->pointer[0] != '/' ||
        !prep_corte_pointer_valid(spec->pointer)) {
        return apr_psprintf(p, "the JSON pointer \"%s\" is not valid",
                            spec->pointer ? spec->pointer : "");
    }
    s->r = r;
    s->line = 1;
    json_pointer_tokens(s, spec->pointer, sp);
    reader_skip_bom(r);
    if (json_value(s, 0, 0) == 0) {
        json_ws(s);
        if ((c = reader_get(r)) >= 0) {
            json_fault(s, "the end of the file after the value", c);
        }
    }
    if ((err = reader_error(r, spec->file, p))) {
        return err;
    }
    if (s->too_deep) {
        return apr_psprintf(p,
                            "%s nests arrays and objects more than %d deep "
                            "(line %d)",
                            spec->file, PREP_CORTE_JSON_DEPTH, s->fault_line);
    }
    if (s->fault) {
        return apr_psprintf(p,
                            "%s is not valid JSON (line %d, offset "
                            "%" APR_OFF_T_FMT ": %s)",
                            spec->file, s->fault_line, s->fault_pos,
                            s->fault_text);
    }
    if (s->found > 1) {
        return apr_psprintf(p,
                            "%s: %s is there more than once (a key repeated "
                            "in an object)",
                            spec->file, spec->pointer);
    }
    if (!s->found) {
        return apr_psprintf(p, "%s: %s not found", spec->file, spec->pointer);
    }
    s->text[s->text_len] = '\0';
    switch (s->kind) {
        case JSON_STRING:
            if (s->text_long) {
                return apr_psprintf(
                    p, "%s: %s is a string longer than %d bytes, not a time",
                    spec->file, spec->pointer, PREP_CORTE_TEXT_MAX);
            }
            if (time_from_text(t, s->text, z, why) != TIME_OK) {
                return apr_psprintf(p, "%s: %s is \"%s\", not a time (%s)",
                                    spec->file, spec->pointer, s->text, why);
            }
            return NULL;
        case JSON_NUMBER:
            if (!json_epoch(t, s)) {
                return apr_psprintf(
                    p,
                    "%s: %s is %s%s, not a string or a plausible epoch time "
                    "(whole seconds or milliseconds from 2000-01-01 to "
                    "2100-01-01 UTC)",
                    spec->file, spec->pointer, s->text,
                    s->text_long ? "..." : "");
            }
            return NULL;
        default:
            return apr_psprintf(p, "%s: %s is not a string or a number",
                                spec->file, spec->pointer);
    }
}

/* ------------------------------------------------------------------ */
/* CSV: line LINE, lines ending in "\n", "\r\n" or a lone "\r" */

static const char *csv_read(apr_time_t *t, const prep_corte_spec_t *spec,
                            corte_reader_t *r, const prep_zone_t *z,
                            apr_pool_t *p, apr_pool_t *sp)
{
    char *line = apr_palloc(sp, PREP_CORTE_LINE_MAX + 1), why[WHY_SIZE];
    const char *s, *rest, *err;
    int n, c, y, mo, d, h, mi, sec;
    apr_size_t len = 0;
    time_form_e form;
    time_read_e rv;

    reader_skip_bom(r);
    for (n = 1;; n++) {
        if (reader_peek(r) < 0) {
            if ((err = reader_error(r, spec->file, p))) {
                return err;
            }
            return apr_psprintf(p, "%s has no line %d", spec->file, spec->line);
        }
        /* only line LINE is kept; those before it are counted */
        for (len = 0; (c = reader_get(r)) >= 0 && c != '\n' && c != '\r';
             len++) {
            if (len == PREP_CORTE_LINE_MAX) {
                return apr_psprintf(p, "%s: line %d is longer than %d bytes",
                                    spec->file, n, PREP_CORTE_LINE_MAX);
            }
            if (n == spec->line) {
                line[len] = (char)c;
            }
        }
        if (c == '\r' && reader_peek(r) == '\n') {
            r->cur++;
        }
        if (n == spec->line) {
            break;
        }
    }
    if ((err = reader_error(r, spec->file, p))) {
        return err;
    }
    line[len] = '\0';
    for (s = line; *s; s++) {
        if (apr_isdigit(*s) && (s == line || !apr_isdigit(s[-1])) &&
            (form = read_datetime(s, &y, &mo, &d, &h, &mi, &sec, &rest))) {
            rv = make_time(t, form, y, mo, d, h, mi, sec, rest, z, why);
            if (rv == TIME_OK) {
                return NULL;
            }
            if (rv == TIME_BAD_ZONE) {
                return apr_psprintf(p, "%s: line %d: %s (\"%.80s\")",
                                    spec->file, spec->line, why, line);
            }
        }
    }
    return apr_psprintf(p, "%s: line %d has no date and time (\"%.80s\")",
                        spec->file, spec->line, line);
}

/* ------------------------------------------------------------------ */

static const char *corte_read(apr_time_t *t, const prep_corte_spec_t *spec,
                              corte_reader_t *r, const prep_zone_t *z,
                              apr_pool_t *p)
{
    apr_pool_t *sp;
    const char *err;

    /* the block, the line and the scanner live only while reading */
    apr_pool_create(&sp, p);
    if (r->fd >= 0) {
        r->block = apr_palloc(sp, PREP_CORTE_BLOCK);
    }
    if (spec->source == PREP_CORTE_JSON) {
        err = json_read(t, spec, r, z, p, sp);
    } else {
        err = csv_read(t, spec, r, z, p, sp);
    }
    apr_pool_destroy(sp);
    return err;
}

const char *prep_corte_time_from_content(apr_time_t *t,
                                         const prep_corte_spec_t *spec,
                                         const char *data, apr_size_t len,
                                         const prep_zone_t *z, apr_pool_t *p)
{
    corte_reader_t r;

    if (spec->source != PREP_CORTE_JSON && spec->source != PREP_CORTE_CSV) {
        return "this corte-time source does not read a file";
    }
    memset(&r, 0, sizeof(r));
    r.fd = -1;
    r.base = r.cur = len ? (const unsigned char *)data : no_bytes;
    r.lim = r.cur + len;
    return corte_read(t, spec, &r, z, p);
}

const char *prep_corte_time_from_fd(apr_time_t *t,
                                    const prep_corte_spec_t *spec,
                                    apr_os_file_t fd, apr_off_t offset,
                                    apr_off_t len, const prep_zone_t *z,
                                    apr_pool_t *p)
{
    corte_reader_t r;

    if (spec->source != PREP_CORTE_JSON && spec->source != PREP_CORTE_CSV) {
        return "this corte-time source does not read a file";
    }
    if (fd < 0 || offset < 0 || len < 0 || offset > APR_INT64_MAX - len) {
        return apr_psprintf(p,
                            "%s cannot be read back: no bytes at offset "
                            "%" APR_OFF_T_FMT " length %" APR_OFF_T_FMT,
                            spec->file, offset, len);
    }
    memset(&r, 0, sizeof(r));
    r.fd = fd;
    r.base = r.cur = r.lim = no_bytes;
    r.first = r.next = offset;
    r.end = offset + len;
    return corte_read(t, spec, &r, z, p);
}

/* The regular expression of `PrepCorteTime filename`, compiled as httpd
 * compiles every other directive's (PCRE2: "\\d", "(?i)"): NULL and the
 * error in *err when it is not one. */
static pcre2_code *filename_regex(const char *regex, const char **err,
                                  apr_pool_t *p)
{
    PCRE2_UCHAR why[160];
    PCRE2_SIZE at = 0;
    int code = 0;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)regex, PCRE2_ZERO_TERMINATED, 0,
                                   &code, &at, NULL);

    if (!re) {
        pcre2_get_error_message(code, why, sizeof(why));
        *err = apr_psprintf(p, "%s at offset %lu", (const char *)why,
                            (unsigned long)at);
    }
    return re;
}

const char *prep_corte_regex_check(const char *regex, apr_pool_t *p)
{
    const char *err = NULL;
    pcre2_code *re = filename_regex(regex, &err, p);

    pcre2_code_free(re);
    return err;
}

/* The time in the groups of a match (ovector, groups of them). */
static const char *time_of_groups(apr_time_t *t, const char *name,
                                  const PCRE2_SIZE *ov, uint32_t groups,
                                  const prep_corte_spec_t *spec,
                                  const prep_zone_t *z, apr_pool_t *p)
{
    int v[6] = {0, 0, 0, 0, 0, 0}, ok = 1;
    uint32_t i;

    if (groups <= 1) {
        /* the group, or without one the whole match */
        const PCRE2_SIZE *g = &ov[2 * groups];
        const char *text = g[0] == PCRE2_UNSET
                               ? ""
                               : apr_pstrmemdup(p, name + g[0], g[1] - g[0]);
        char why[WHY_SIZE];

        if (time_from_text(t, text, z, why) != TIME_OK) {
            return apr_psprintf(p, "\"%s\" in the name %s is not a time (%s)",
                                text, name, why);
        }
        return NULL;
    }
    if (groups != 5 && groups != 6) {
        return apr_psprintf(p,
                            "%s must have 1 group (the time), none (the whole "
                            "match is the time) or 5-6 groups "
                            "(year, month, day, hour, minute[, second])",
                            spec->regex);
    }
    for (i = 0; i < groups && ok; i++) {
        const PCRE2_SIZE *g = &ov[2 * (i + 1)];

        ok = g[0] != PCRE2_UNSET && g[1] > g[0] && g[1] - g[0] <= 4 &&
             digits_at(name + g[0], (int)(g[1] - g[0]), &v[i]);
    }
    if (!ok || !prep_civil_valid(v[0], v[1], v[2], v[3], v[4], v[5])) {
        return apr_psprintf(p, "the name %s does not hold a valid time", name);
    }
    *t = prep_civil_to_time(v[0], v[1], v[2], v[3], v[4], v[5], z->offset_s);
    return NULL;
}

const char *prep_corte_time_from_filename(apr_time_t *t,
                                          const prep_corte_spec_t *spec,
                                          const char *name,
                                          const prep_zone_t *z, apr_pool_t *p)
{
    const char *err = NULL;
    pcre2_code *re = filename_regex(spec->regex, &err, p);
    pcre2_match_data *m;
    uint32_t groups = 0;

    if (!re) {
        return apr_psprintf(p, "bad regular expression %s: %s", spec->regex,
                            err);
    }
    pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &groups);
    m = pcre2_match_data_create_from_pattern(re, NULL);
    if (!m) {
        err = "out of memory";
    } else if (pcre2_match(re, (PCRE2_SPTR)name, strlen(name), 0, 0, m, NULL) <
               0) {
        err =
            apr_psprintf(p, "the name %s does not match %s", name, spec->regex);
    } else {
        err = time_of_groups(t, name, pcre2_get_ovector_pointer(m), groups,
                             spec, z, p);
    }
    pcre2_match_data_free(m);
    pcre2_code_free(re);
    return err;
}

/* Where spec says the corte time is: error or NULL. */
static const char *corte_time_of(apr_time_t *t, const prep_corte_spec_t *spec,
                                 const char *name, apr_time_t mtime,
                                 const prep_unpacked_t *u,
                                 apr_os_file_t pack_fd, const prep_zone_t *z,
                                 apr_pool_t *p)
{
    int i;

    switch (spec->source) {
        case PREP_CORTE_MTIME:
            *t = apr_time_from_sec(apr_time_sec(mtime));
            break;
        case PREP_CORTE_FILENAME:
            return prep_corte_time_from_filename(t, spec, name, z, p);
        case PREP_CORTE_JSON:
        case PREP_CORTE_CSV:
            /* read from the pack in blocks: memory bounded whatever the
             * file's size */
            for (i = 0; i < u->entries->nelts; i++) {
                const prep_entry_t *e =
                    &APR_ARRAY_IDX(u->entries, i, prep_entry_t);

                if (!strcmp(e->path, spec->file)) {
                    return prep_corte_time_from_fd(t, spec, pack_fd, e->offset,
                                                   e->size, z, p);
                }
            }
            return apr_psprintf(p, "%s is not in the package", spec->file);
    }
    return NULL;
}

apr_status_t prep_corte_time_check(apr_time_t *t, const prep_feed_t *feed,
                                   const char *name, apr_time_t mtime,
                                   const prep_unpacked_t *u,
                                   apr_os_file_t pack_fd, prep_verdict_t *v,
                                   apr_pool_t *p)
{
    const char *err =
        corte_time_of(t, &feed->corte, name, mtime, u, pack_fd, &feed->zone, p);
    apr_time_t ahead;

    if (err) {
        return prep_refuse(v, p, "no-corte-time", "no corte time: %s", err);
    }
    ahead = *t - apr_time_now();
    if (feed->future_limit >= 0 && ahead > feed->future_limit) {
        return prep_refuse(v, p, "future-corte",
                           "its corte time %s is %" APR_TIME_T_FMT
                           " min ahead of this server's clock (PrepFutureLimit "
                           "%" APR_TIME_T_FMT " min): a clock or time zone "
                           "mistake?",
                           prep_time_iso(p, *t, &feed->zone),
                           apr_time_sec(ahead) / 60,
                           apr_time_sec(feed->future_limit) / 60);
    }
    return APR_SUCCESS;
}

apr_status_t prep_corte_time_against(prep_corte_order_e *order,
                                     const prep_feed_t *feed,
                                     const prep_corte_t *served,
                                     const prep_corte_t *corte,
                                     prep_verdict_t *v, apr_pool_t *p)
{
    const prep_zone_t *z = &feed->zone;

    *order = PREP_CORTE_NEWER;
    if (!served) {
        return APR_SUCCESS;
    }
    if (corte->time < served->time) {
        return prep_refuse(v, p, "older-corte",
                           "its corte time %s is older than the corte being "
                           "served (%s)",
                           prep_time_iso(p, corte->time, z),
                           prep_time_iso(p, served->time, z));
    }
    if (corte->time == served->time && strcmp(served->id, corte->id)) {
        if (!feed->same_time_accept) {
            return prep_refuse(v, p, "same-time",
                               "its corte time %s is that of the corte being "
                               "served (%s), with other bytes (PrepSameTime "
                               "refuse)",
                               prep_time_iso(p, corte->time, z), served->id);
        }
        *order = PREP_CORTE_REPLACES;
    } else if (!strcmp(served->id, corte->id)) {
        *order = PREP_CORTE_SERVED;
    }
    return APR_SUCCESS;
}
