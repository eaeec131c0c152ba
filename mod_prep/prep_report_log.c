/* prep_report_log.c — Apache's access logs read and counted for the
 * memoria técnica (prep_report.h says what each count means).
 *
 * A log of an election night has tens of millions of lines, so every file
 * is a stream read in large blocks through zlib's gzread (which reads a
 * plain file as it is), and a line is parsed where it lies in its block,
 * with no allocation and no regex; the time of a line is read by hand and
 * the last one read is kept, as thousands of lines share one second.
 *
 * The files are merged by time: each stream holds its next line parsed,
 * and a small heap gives the stream whose line is the earliest.  A line out
 * of order within its file comes a little late; the visits take it where
 * it belongs (see visitor_request), so nothing is lost.
 *
 * The only memory that grows with the log is the visitors' table (one
 * entry per client address and User-Agent: two 64-bit hashes of them, the
 * open visit, the days seen) and the pages viewed (bounded by the site).
 * The table lives outside the pool, grown by doubling, freed with it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_hash.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <jansson.h>
#include <zlib.h>

#include "prep.h"
#include "prep_report.h"

#define STREAM_BLOCK  (512 * 1024)
#define EXAMPLES      5
#define EXAMPLE_BYTES 200
#define DAY_BITS      64

/* ------------------------------------------------------------------ */
/* One line parsed */

static int month_of(const char *m)
{
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    int i;

    for (i = 0; i < 12; i++) {
        if (!memcmp(names + 3 * i, m, 3)) {
            return i + 1;
        }
    }
    return 0;
}

static int digits(const char *s, int n, int *v)
{
    int i;

    *v = 0;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
        *v = *v * 10 + (s[i] - '0');
    }
    return 1;
}

int prep_log_time_parse(apr_int64_t *sec, const char *t, apr_size_t len)
{
    int d, mo, y, h, mi, s, oh, om, off;

    /* 02/Jun/2024:21:05:00 -0600 */
    if (len != 26 || t[2] != '/' || t[6] != '/' || t[11] != ':' ||
        t[14] != ':' || t[17] != ':' || t[20] != ' ' ||
        (t[21] != '+' && t[21] != '-')) {
        return 0;
    }
    if (!digits(t, 2, &d) || !(mo = month_of(t + 3)) || !digits(t + 7, 4, &y) ||
        !digits(t + 12, 2, &h) || !digits(t + 15, 2, &mi) ||
        !digits(t + 18, 2, &s) || !digits(t + 22, 2, &oh) ||
        !digits(t + 24, 2, &om) || om > 59 || oh > 14) {
        return 0;
    }
    /* A leap second is the second before it, as Apache never writes one
     * but a hand-made log might. */
    if (s == 60) {
        s = 59;
    }
    if (!prep_civil_valid(y, mo, d, h, mi, s)) {
        return 0;
    }
    off = (oh * 3600 + om * 60) * (t[21] == '-' ? -1 : 1);
    *sec = apr_time_sec(prep_civil_to_time(y, mo, d, h, mi, s, off));
    return 1;
}

/* The end of a quoted field that starts after its opening quote: Apache
 * writes a quote inside one as \" and a backslash as \\. */
static const char *quoted_end(const char *p, const char *end)
{
    while (p < end) {
        if (*p == '\\' && p + 1 < end) {
            p += 2;
        } else if (*p == '"') {
            return p;
        } else {
            p++;
        }
    }
    return NULL;
}

/* The path of a request line "GET /a/b?x HTTP/1.1" (its target up to the
 * query; an absolute target's scheme and host dropped). */
static void request_path(prep_log_line_t *l, const char *r, const char *end)
{
    const char *sp = memchr(r, ' ', (apr_size_t)(end - r));
    const char *p, *q;

    l->path = "";
    l->path_len = 0;
    if (!sp) {
        return;
    }
    p = sp + 1;
    q = memchr(p, ' ', (apr_size_t)(end - p));
    end = q ? q : end;
    if (end - p > 7 &&
        (!strncasecmp(p, "http://", 7) || !strncasecmp(p, "https://", 8))) {
        p = memchr(p + 7 + (p[4] == 's' || p[4] == 'S'), '/',
                   (apr_size_t)(end - p - 7));
        if (!p) {
            return;
        }
    }
    for (q = p; q < end && *q != '?' && *q != '#'; q++) {
    }
    l->path = p;
    l->path_len = (apr_size_t)(q - p);
}

/* Per thread the last time text read and its value: the lines of one
 * second follow one another, even across merged files. */
static __thread char last_time_text[26];
static __thread apr_int64_t last_time_s;

int prep_log_line_parse(prep_log_line_t *l, const char *line, apr_size_t len)
{
    const char *p = line, *end = line + len, *q;
    int status;

    /* %h or %a */
    q = memchr(p, ' ', len);
    if (!q || q == p) {
        return 0;
    }
    l->addr = p;
    l->addr_len = (apr_size_t)(q - p);
    /* %l %u: whatever comes before the time's bracket */
    p = memchr(q, '[', (apr_size_t)(end - q));
    if (!p || end - p < 28 || p[27] != ']') {
        return 0;
    }
    p++;
    if (last_time_text[0] && !memcmp(p, last_time_text, 26)) {
        l->time_s = last_time_s;
    } else if (prep_log_time_parse(&l->time_s, p, 26)) {
        memcpy(last_time_text, p, 26);
        last_time_s = l->time_s;
    } else {
        return 0;
    }
    p += 27;
    /* "%r" */
    if (end - p < 3 || p[0] != ' ' || p[1] != '"') {
        return 0;
    }
    p += 2;
    q = quoted_end(p, end);
    if (!q) {
        return 0;
    }
    request_path(l, p, q);
    p = q + 1;
    /* %>s */
    if (end - p < 5 || p[0] != ' ' || !digits(p + 1, 3, &status) ||
        p[4] != ' ' || status < 100) {
        return 0;
    }
    l->status = status;
    p += 5;
    /* %O or %b */
    l->bytes = 0;
    if (p < end && *p == '-') {
        p++;
    } else {
        q = p;
        while (p < end && *p >= '0' && *p <= '9') {
            l->bytes = l->bytes * 10 + (apr_uint64_t)(*p - '0');
            p++;
        }
        if (p == q) {
            return 0;
        }
    }
    l->agent = "";
    l->agent_len = 0;
    /* The common format ends here. */
    if (p == end) {
        return 1;
    }
    /* "%{Referer}i" "%{User-Agent}i", and anything a LogFormat adds */
    if (end - p < 3 || p[0] != ' ' || p[1] != '"' ||
        !(q = quoted_end(p + 2, end))) {
        return 0;
    }
    p = q + 1;
    if (end - p < 3 || p[0] != ' ' || p[1] != '"' ||
        !(q = quoted_end(p + 2, end))) {
        return 0;
    }
    if (!(q - (p + 2) == 1 && p[2] == '-')) {
        l->agent = p + 2;
        l->agent_len = (apr_size_t)(q - (p + 2));
    }
    return 1;
}

/* ------------------------------------------------------------------ */
/* Who asked */

/* An agent's first AGENT_SCAN bytes are looked at: the names told apart
 * come early in every agent seen. */
#define AGENT_SCAN 2048

prep_client_e prep_report_client_of_agent(const char *agent, apr_size_t len)
{
    /* lower case: matched in any case */
    static const char *const monitors[] = {"prometheus",
                                           "kube-probe",
                                           "uptimerobot",
                                           "pingdom",
                                           "check_http",
                                           "zabbix",
                                           "nagios",
                                           "statuscake",
                                           "site24x7",
                                           "blackbox-exporter",
                                           "elb-healthchecker",
                                           "googlestackdrivermonitoring",
                                           NULL};
    static const char *const crawlers[] = {
        "bot", "crawl", "spider", "slurp", "facebookexternalhit", NULL};
    char low[AGENT_SCAN];
    apr_size_t i;
    int k;

    len = len < AGENT_SCAN ? len : AGENT_SCAN;
    for (i = 0; i < len; i++) {
        low[i] = (char)apr_tolower(agent[i]);
    }
    for (k = 0; monitors[k]; k++) {
        if (memmem(low, len, monitors[k], strlen(monitors[k]))) {
            return PREP_CLIENT_MONITOR;
        }
    }
    for (k = 0; crawlers[k]; k++) {
        if (memmem(low, len, crawlers[k], strlen(crawlers[k]))) {
            return PREP_CLIENT_CRAWLER;
        }
    }
    return PREP_CLIENT_VISITOR;
}

/* ------------------------------------------------------------------ */
/* Visitors: an open-addressing table keyed by two independent 64-bit
 * hashes of address and agent (a false match needs both to collide). */

typedef struct visitor {
    apr_uint64_t h1, h2;     /* h1 == 0 && h2 == 0: an empty slot */
    apr_int64_t start, last; /* the open visit */
    apr_int64_t last_day;    /* the last day seen, outside the mask */
    apr_uint64_t days;       /* days seen, bit (day - day_base) */
    unsigned char client;    /* prep_client_e */
} visitor_t;

/* Who an agent is, remembered: a night has far fewer agents than
 * visitors.  Direct-mapped by the agent's hash; a slot taken by another
 * agent only costs telling it again. */
#define AGENT_CACHE 4096
typedef struct agent_seen {
    apr_uint64_t hash; /* 0: empty */
    apr_size_t len;
    prep_client_e client;
} agent_seen_t;

typedef struct bucket {
    apr_uint64_t hits, pages, visits, visitors;
} bucket_t;

/* A series of buckets (hours or days) indexed from `first`, grown on
 * either side. */
typedef struct series {
    apr_int64_t first;
    apr_size_t n, cap;
    bucket_t *b;
} series_t;

typedef struct page_count {
    const char *path;
    apr_size_t len;
    apr_uint64_t count;
} page_count_t;

typedef struct file_stats {
    const char *path;
    apr_uint64_t lines, unparsable;
    const char *error;
} file_stats_t;

struct prep_report_log {
    apr_pool_t *pool;
    prep_report_log_options_t o;
    apr_int64_t from_s, to_s; /* -1: unbounded */
    apr_int64_t timeout_s;
    int finished;

    visitor_t *table;
    apr_size_t table_size, table_used; /* size: a power of two */
    agent_seen_t *agents;              /* AGENT_CACHE of them */
    apr_int64_t day_base;
    int day_base_set;

    series_t hours, days;
    apr_hash_t *pages;
    apr_uint64_t status[1000];
    apr_uint64_t durations[PREP_REPORT_DURATIONS];

    apr_uint64_t lines_read, unparsable, outside_period, outside_locations;
    apr_uint64_t counted;
    apr_array_header_t *examples; /* const char * */
    apr_array_header_t *files;    /* file_stats_t */

    apr_uint64_t hits, bytes, pages_n, visitors, visits;
    apr_uint64_t duration_total;
    apr_uint64_t crawler_hits, crawler_bytes, crawler_pages, crawler_clients;
    apr_uint64_t monitor_hits, monitor_bytes;
    apr_int64_t first_s, last_s; /* of the requests counted */
};

static apr_status_t free_report(void *data)
{
    prep_report_log_t *r = data;

    free(r->table);
    free(r->hours.b);
    free(r->days.b);
    r->table = NULL;
    r->hours.b = r->days.b = NULL;
    return APR_SUCCESS;
}

static apr_int64_t floor_div(apr_int64_t a, apr_int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static bucket_t *series_at(series_t *s, apr_int64_t i)
{
    apr_size_t need, grow;

    if (s->n == 0) {
        s->first = i;
    }
    if (i < s->first) {
        grow = (apr_size_t)(s->first - i);
        need = s->n + grow;
        if (need > s->cap) {
            s->cap = need * 2;
            s->b = realloc(s->b, s->cap * sizeof(*s->b));
            if (!s->b) {
                abort();
            }
        }
        memmove(s->b + grow, s->b, s->n * sizeof(*s->b));
        memset(s->b, 0, grow * sizeof(*s->b));
        s->n = need;
        s->first = i;
    } else if ((apr_size_t)(i - s->first) >= s->n) {
        need = (apr_size_t)(i - s->first) + 1;
        if (need > s->cap) {
            s->cap = need * 2 < 64 ? 64 : need * 2;
            s->b = realloc(s->b, s->cap * sizeof(*s->b));
            if (!s->b) {
                abort();
            }
        }
        memset(s->b + s->n, 0, (need - s->n) * sizeof(*s->b));
        s->n = need;
    }
    return s->b + (i - s->first);
}

static apr_int64_t hour_of(const prep_report_log_t *r, apr_int64_t t)
{
    return floor_div(t + r->o.offset_s, 3600);
}

static apr_int64_t day_of(const prep_report_log_t *r, apr_int64_t t)
{
    return floor_div(t + r->o.offset_s, 86400);
}

static void hashes_of(const prep_log_line_t *l, apr_uint64_t *h1,
                      apr_uint64_t *h2)
{
    /* h1: FNV-1a; h2: a multiply-xorshift of its own (another family, so
     * that a pair colliding in one has no reason to collide in the
     * other); the 0 byte between address and agent keeps "a b"+"c" and
     * "a"+"b c" apart. */
    apr_uint64_t a = 0xcbf29ce484222325ULL, b = 0x9e3779b97f4a7c15ULL;
    const unsigned char *parts[2] = {(const unsigned char *)l->addr,
                                     (const unsigned char *)l->agent};
    apr_size_t lens[2] = {l->addr_len, l->agent_len}, i;
    int k;

    for (k = 0; k < 2; k++) {
        for (i = 0; i < lens[k]; i++) {
            a = (a ^ parts[k][i]) * 0x100000001b3ULL;
            b = (b ^ parts[k][i]) * 0xff51afd7ed558ccdULL;
            b ^= b >> 29;
        }
        a = (a ^ 0) * 0x100000001b3ULL;
        b = (b ^ 0x5a) * 0xc4ceb9fe1a85ec53ULL;
        b ^= b >> 32;
    }
    b ^= (apr_uint64_t)(l->addr_len + l->agent_len);
    b *= 0xff51afd7ed558ccdULL;
    b ^= b >> 33;
    if (!a && !b) {
        b = 1;
    }
    *h1 = a;
    *h2 = b;
}

static void table_grow(prep_report_log_t *r)
{
    apr_size_t size = r->table_size ? r->table_size * 2 : 1024, i, j;
    visitor_t *t = calloc(size, sizeof(*t));

    if (!t) {
        abort();
    }
    for (i = 0; i < r->table_size; i++) {
        const visitor_t *v = r->table + i;

        if (v->h1 || v->h2) {
            for (j = v->h1 & (size - 1); t[j].h1 || t[j].h2;
                 j = (j + 1) & (size - 1)) {
            }
            t[j] = *v;
        }
    }
    free(r->table);
    r->table = t;
    r->table_size = size;
}

static prep_client_e client_of(prep_report_log_t *r, const char *agent,
                               apr_size_t len)
{
    apr_uint64_t h = 0xcbf29ce484222325ULL;
    agent_seen_t *seen;
    apr_size_t i;

    for (i = 0; i < len; i++) {
        h = (h ^ (unsigned char)agent[i]) * 0x100000001b3ULL;
    }
    h |= 1;
    seen = r->agents + (h >> 7) % AGENT_CACHE;
    if (seen->hash != h || seen->len != len) {
        seen->hash = h;
        seen->len = len;
        seen->client = prep_report_client_of_agent(agent, len);
    }
    return seen->client;
}

/* The visitor of line l, made when new (*fresh set). */
static visitor_t *visitor_of(prep_report_log_t *r, const prep_log_line_t *l,
                             int *fresh)
{
    apr_uint64_t h1, h2;
    apr_size_t j;
    visitor_t *v;

    if ((r->table_used + 1) * 10 > r->table_size * 7) {
        table_grow(r);
    }
    hashes_of(l, &h1, &h2);
    for (j = h1 & (r->table_size - 1);; j = (j + 1) & (r->table_size - 1)) {
        v = r->table + j;
        if (v->h1 == h1 && v->h2 == h2) {
            *fresh = 0;
            return v;
        }
        if (!v->h1 && !v->h2) {
            break;
        }
    }
    memset(v, 0, sizeof(*v));
    v->h1 = h1;
    v->h2 = h2;
    v->client = (unsigned char)client_of(r, l->agent, l->agent_len);
    v->last_day = APR_INT64_MIN;
    r->table_used++;
    *fresh = 1;
    return v;
}

static int duration_range(apr_int64_t d)
{
    static const apr_int64_t upto[PREP_REPORT_DURATIONS - 1] = {
        0, 30, 120, 300, 900, 1800, 3600};
    int i;

    for (i = 0; i < PREP_REPORT_DURATIONS - 1; i++) {
        if (d <= upto[i]) {
            return i;
        }
    }
    return PREP_REPORT_DURATIONS - 1;
}

/* A visit ended: counted in the hour and the day it started. */
static void visit_closed(prep_report_log_t *r, apr_int64_t start,
                         apr_int64_t last)
{
    apr_int64_t d = last - start;

    r->visits++;
    r->duration_total += (apr_uint64_t)d;
    r->durations[duration_range(d)]++;
    series_at(&r->hours, hour_of(r, start))->visits++;
    series_at(&r->days, day_of(r, start))->visits++;
}

/* The visitor is seen on day `day`: counted once in it. */
static void visitor_day(prep_report_log_t *r, visitor_t *v, apr_int64_t day)
{
    apr_int64_t bit;

    if (!r->day_base_set) {
        /* a few days of room for a line a little out of order */
        r->day_base = day - 2;
        r->day_base_set = 1;
    }
    bit = day - r->day_base;
    if (bit >= 0 && bit < DAY_BITS) {
        if (v->days & ((apr_uint64_t)1 << bit)) {
            return;
        }
        v->days |= (apr_uint64_t)1 << bit;
    } else {
        /* Past the mask (a period of months), only the last day is known:
         * a visitor coming back to a day out of order is counted again. */
        if (v->last_day == day) {
            return;
        }
        v->last_day = day;
    }
    series_at(&r->days, day)->visitors++;
}

/* A request of visitor v at time t, t in any order (see the top). */
static void visitor_request(prep_report_log_t *r, visitor_t *v, int fresh,
                            apr_int64_t t)
{
    if (fresh) {
        v->start = v->last = t;
        r->visitors++;
    } else if (t >= v->last) {
        if (t - v->last > r->timeout_s) {
            visit_closed(r, v->start, v->last);
            v->start = t;
        }
        v->last = t;
    } else if (t < v->start) {
        if (v->start - t <= r->timeout_s) {
            v->start = t;
        } else {
            /* Earlier than the open visit by more than the timeout: a
             * visit of its own, of one request. */
            visit_closed(r, t, t);
        }
    }
    visitor_day(r, v, day_of(r, t));
}

/* ------------------------------------------------------------------ */
/* One request */

static int under_locations(const prep_report_log_t *r, const char *path,
                           apr_size_t len)
{
    const apr_array_header_t *a = r->o.locations;
    int i;

    if (!a || a->nelts == 0) {
        return 1;
    }
    for (i = 0; i < a->nelts; i++) {
        const char *loc = APR_ARRAY_IDX(a, i, const char *);
        apr_size_t n = strlen(loc);

        /* "/prep/qro/" is "/prep/qro" too */
        while (n > 1 && loc[n - 1] == '/') {
            n--;
        }
        if (len >= n && !memcmp(path, loc, n) &&
            (len == n || path[n] == '/' || (n == 1 && loc[0] == '/'))) {
            return 1;
        }
    }
    return 0;
}

static int is_page_path(const prep_report_log_t *r, const char *path,
                        apr_size_t len)
{
    const apr_array_header_t *a = r->o.page_extensions;
    int i;

    if (len > 0 && path[len - 1] == '/') {
        return 1;
    }
    for (i = 0; i < a->nelts; i++) {
        const char *ext = APR_ARRAY_IDX(a, i, const char *);
        apr_size_t n = strlen(ext);

        if (len > n && !strncasecmp(path + len - n, ext, n)) {
            return 1;
        }
    }
    return 0;
}

static void page_viewed(prep_report_log_t *r, const char *path, apr_size_t len)
{
    page_count_t *c = apr_hash_get(r->pages, path, (apr_ssize_t)len);

    if (!c) {
        c = apr_palloc(r->pool, sizeof(*c));
        c->path = apr_pstrmemdup(r->pool, path, len);
        c->len = len;
        c->count = 0;
        apr_hash_set(r->pages, c->path, (apr_ssize_t)len, c);
    }
    c->count++;
}

static void count_line(prep_report_log_t *r, const prep_log_line_t *l)
{
    static const char status_path[] = "/prep-status";
    prep_report_request_t req;
    visitor_t *v = NULL;
    bucket_t *hour;
    int fresh = 0;

    if ((r->from_s >= 0 && l->time_s < r->from_s) ||
        (r->to_s >= 0 && l->time_s >= r->to_s)) {
        r->outside_period++;
        return;
    }
    if (!under_locations(r, l->path, l->path_len)) {
        r->outside_locations++;
        return;
    }
    r->counted++;
    if (r->counted == 1 || l->time_s < r->first_s) {
        r->first_s = l->time_s;
    }
    if (r->counted == 1 || l->time_s > r->last_s) {
        r->last_s = l->time_s;
    }
    req.time = apr_time_from_sec(l->time_s);
    req.status = l->status;
    req.bytes = l->bytes;
    req.page = 0;
    if (l->path_len >= sizeof(status_path) - 1 &&
        !memcmp(l->path, status_path, sizeof(status_path) - 1)) {
        req.client = PREP_CLIENT_MONITOR;
    } else {
        v = visitor_of(r, l, &fresh);
        req.client = (prep_client_e)v->client;
    }
    r->hits++;
    r->bytes += l->bytes;
    r->status[l->status]++;
    hour = series_at(&r->hours, hour_of(r, l->time_s));
    hour->hits++;
    series_at(&r->days, day_of(r, l->time_s))->hits++;
    if (req.client != PREP_CLIENT_MONITOR &&
        (l->status == 200 || l->status == 304) &&
        is_page_path(r, l->path, l->path_len)) {
        req.page = 1;
    }
    switch (req.client) {
        case PREP_CLIENT_MONITOR:
            r->monitor_hits++;
            r->monitor_bytes += l->bytes;
            break;
        case PREP_CLIENT_CRAWLER:
            r->crawler_hits++;
            r->crawler_bytes += l->bytes;
            r->crawler_pages += (apr_uint64_t)req.page;
            r->crawler_clients += (apr_uint64_t)fresh;
            break;
        case PREP_CLIENT_VISITOR:
            visitor_request(r, v, fresh, l->time_s);
            if (req.page) {
                r->pages_n++;
                /* series_at may have moved the hours' buckets */
                series_at(&r->hours, hour_of(r, l->time_s))->pages++;
                series_at(&r->days, day_of(r, l->time_s))->pages++;
                page_viewed(r, l->path, l->path_len);
            }
            break;
    }
    if (r->o.each) {
        r->o.each(r->o.baton, &req);
    }
}

/* ------------------------------------------------------------------ */
/* The streams and their merge */

typedef struct stream {
    apr_pool_t *pool; /* the report's: a damage told outlives the stream */
    file_stats_t *stats;
    gzFile gz;
    char *buf;
    apr_size_t have, pos; /* bytes in buf; where the next line starts */
    apr_uint64_t line_no; /* of the file, its empty lines too */
    int eof;
    prep_log_line_t line; /* the next line, when `ready` */
    int ready;
} stream_t;

/* Text an operator reads and JSON carries: control bytes and bytes that
 * are not UTF-8 written as \xNN. */
static const char *shown_text(apr_pool_t *p, const char *s, apr_size_t len)
{
    char *out = apr_palloc(p, len * 4 + 1), *o = out;
    apr_size_t i = 0, n, k;
    unsigned char c;

    while (i < len) {
        c = (unsigned char)s[i];
        n = c < 0x80             ? 1
            : (c & 0xe0) == 0xc0 ? 2
            : (c & 0xf0) == 0xe0 ? 3
            : (c & 0xf8) == 0xf0 ? 4
                                 : 0;
        if (n > 1 && i + n <= len) {
            for (k = 1; k < n && ((unsigned char)s[i + k] & 0xc0) == 0x80;
                 k++) {
            }
            if (k == n && c >= 0xc2 && c <= 0xf4) {
                memcpy(o, s + i, n);
                o += n;
                i += n;
                continue;
            }
        }
        if (n == 1 && c >= 0x20 && c != 0x7f) {
            *o++ = (char)c;
        } else {
            o += sprintf(o, "\\x%02x", c);
        }
        i++;
    }
    *o = '\0';
    return out;
}

static void unparsable_line(prep_report_log_t *r, stream_t *s, const char *line,
                            apr_size_t len)
{
    r->unparsable++;
    s->stats->unparsable++;
    if (r->examples->nelts < EXAMPLES) {
        APR_ARRAY_PUSH(r->examples, const char *) = apr_psprintf(
            r->pool, "%s:%" APR_UINT64_T_FMT ": %s", s->stats->path, s->line_no,
            shown_text(r->pool, line,
                       len > EXAMPLE_BYTES ? EXAMPLE_BYTES : len));
    }
}

/* Reads more of the stream's file after the bytes not yet used. */
static void stream_fill(stream_t *s)
{
    const char *msg;
    int n, err;

    if (s->pos > 0) {
        memmove(s->buf, s->buf + s->pos, s->have - s->pos);
        s->have -= s->pos;
        s->pos = 0;
    }
    n = gzread(s->gz, s->buf + s->have, (unsigned)(STREAM_BLOCK - s->have));
    if (n > 0) {
        s->have += (apr_size_t)n;
        return;
    }
    /* gzread tells a truncated file by returning 0 with Z_BUF_ERROR set,
     * an end like any other but for gzerror. */
    msg = gzerror(s->gz, &err);
    if (n < 0 || err != Z_OK) {
        s->stats->error = apr_psprintf(
            s->pool, "read up to line %" APR_UINT64_T_FMT " only: %s",
            s->line_no, msg && *msg ? msg : "read error");
    }
    s->eof = 1;
}

/* The stream's next line that parses, into s->line; 0 at its end. */
static int stream_next(prep_report_log_t *r, stream_t *s)
{
    for (;;) {
        char *start = s->buf + s->pos, *nl;
        apr_size_t avail = s->have - s->pos, len;

        nl = memchr(start, '\n', avail);
        if (!nl) {
            if (!s->eof && avail < STREAM_BLOCK) {
                stream_fill(s);
                continue;
            }
            if (avail == 0) {
                s->ready = 0;
                return 0;
            }
            if (!s->eof) {
                /* A line longer than the block: unparsable, skipped up to
                 * its end. */
                s->line_no++;
                s->stats->lines++;
                r->lines_read++;
                unparsable_line(r, s, start, avail);
                for (;;) {
                    s->pos = s->have;
                    stream_fill(s);
                    nl = memchr(s->buf, '\n', s->have);
                    if (nl || s->eof) {
                        s->pos = nl ? (apr_size_t)(nl - s->buf) + 1 : s->have;
                        break;
                    }
                }
                continue;
            }
            /* the last line, without its line end */
            nl = start + avail;
            s->pos = s->have;
        } else {
            s->pos = (apr_size_t)(nl - s->buf) + 1;
        }
        len = (apr_size_t)(nl - start);
        if (len > 0 && start[len - 1] == '\r') {
            len--;
        }
        s->line_no++;
        if (len == 0) {
            continue;
        }
        s->stats->lines++;
        r->lines_read++;
        if (prep_log_line_parse(&s->line, start, len)) {
            s->ready = 1;
            return 1;
        }
        unparsable_line(r, s, start, len);
    }
}

/* A heap of stream indexes by their next line's time, then by their place
 * in the list given (a tie is decided the same way every time). */
static int stream_before(stream_t *const *st, int a, int b)
{
    return st[a]->line.time_s < st[b]->line.time_s ||
           (st[a]->line.time_s == st[b]->line.time_s && a < b);
}

static void heap_down(stream_t *const *st, int *heap, int n, int i)
{
    for (;;) {
        int l = 2 * i + 1, m = i, t;

        if (l < n && stream_before(st, heap[l], heap[m])) {
            m = l;
        }
        if (l + 1 < n && stream_before(st, heap[l + 1], heap[m])) {
            m = l + 1;
        }
        if (m == i) {
            return;
        }
        t = heap[i];
        heap[i] = heap[m];
        heap[m] = t;
        i = m;
    }
}

static apr_status_t close_gz(void *data)
{
    stream_t *s = data;

    if (s->gz) {
        gzclose(s->gz);
        s->gz = NULL;
    }
    free(s->buf);
    s->buf = NULL;
    return APR_SUCCESS;
}

apr_status_t prep_report_log_read(prep_report_log_t *r,
                                  const apr_array_header_t *paths,
                                  const char **error)
{
    apr_pool_t *p;
    stream_t **st;
    int *heap, n = 0, i, fd;
    apr_status_t rv = APR_SUCCESS;

    *error = NULL;
    apr_pool_create(&p, r->pool);
    st = apr_pcalloc(p, sizeof(*st) * (apr_size_t)(paths->nelts + 1));
    heap = apr_pcalloc(p, sizeof(*heap) * (apr_size_t)(paths->nelts + 1));
    for (i = 0; i < paths->nelts; i++) {
        const char *path = APR_ARRAY_IDX(paths, i, const char *);
        stream_t *s = apr_pcalloc(p, sizeof(*s));

        s->pool = r->pool;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            rv = APR_FROM_OS_ERROR(errno);
            *error = apr_psprintf(r->pool, "%s: %s", path, strerror(errno));
            goto done;
        }
        s->gz = gzdopen(fd, "rb");
        if (!s->gz) {
            close(fd);
            rv = APR_ENOMEM;
            *error = apr_psprintf(r->pool, "%s: cannot be read", path);
            goto done;
        }
        apr_pool_cleanup_register(p, s, close_gz, apr_pool_cleanup_null);
        gzbuffer(s->gz, STREAM_BLOCK);
        s->buf = malloc(STREAM_BLOCK);
        if (!s->buf) {
            abort();
        }
        s->stats = apr_array_push(r->files);
        s->stats->path = apr_pstrdup(r->pool, path);
        s->stats->lines = s->stats->unparsable = 0;
        s->stats->error = NULL;
        st[i] = s;
    }
    for (i = 0; i < paths->nelts; i++) {
        if (stream_next(r, st[i])) {
            heap[n++] = i;
        }
    }
    for (i = n / 2 - 1; i >= 0; i--) {
        heap_down(st, heap, n, i);
    }
    while (n > 0) {
        stream_t *s = st[heap[0]];

        count_line(r, &s->line);
        if (!stream_next(r, s)) {
            heap[0] = heap[--n];
        }
        heap_down(st, heap, n, 0);
    }
done:
    if (rv != APR_SUCCESS) {
        apr_array_clear(r->files);
    }
    apr_pool_destroy(p);
    return rv;
}

/* ------------------------------------------------------------------ */
/* The report */

prep_report_log_t *prep_report_log_make(const prep_report_log_options_t *o,
                                        apr_pool_t *p)
{
    prep_report_log_t *r = apr_pcalloc(p, sizeof(*r));

    r->pool = p;
    r->o = *o;
    if (!r->o.page_extensions) {
        apr_array_header_t *a = apr_array_make(p, 2, sizeof(const char *));

        APR_ARRAY_PUSH(a, const char *) = ".html";
        APR_ARRAY_PUSH(a, const char *) = ".htm";
        r->o.page_extensions = a;
    }
    if (r->o.visit_timeout <= 0) {
        r->o.visit_timeout = apr_time_from_sec(30 * 60);
    }
    if (r->o.top_pages <= 0) {
        r->o.top_pages = 20;
    }
    r->timeout_s = apr_time_sec(r->o.visit_timeout);
    /* from rounded up, to rounded up: the log's times are whole seconds */
    r->from_s = o->from ? apr_time_sec(o->from + APR_USEC_PER_SEC - 1) : -1;
    r->to_s = o->to ? apr_time_sec(o->to + APR_USEC_PER_SEC - 1) : -1;
    r->agents = apr_pcalloc(p, AGENT_CACHE * sizeof(*r->agents));
    r->pages = apr_hash_make(p);
    r->examples = apr_array_make(p, EXAMPLES, sizeof(const char *));
    r->files = apr_array_make(p, 4, sizeof(file_stats_t));
    apr_pool_cleanup_register(p, r, free_report, apr_pool_cleanup_null);
    return r;
}

static json_t *time_or_null(apr_pool_t *p, apr_int64_t sec, int known,
                            int offset_s)
{
    prep_zone_t z = {offset_s, NULL};

    return known ? json_string(prep_time_iso(p, apr_time_from_sec(sec), &z))
                 : json_null();
}

static json_t *text(apr_pool_t *p, const char *s, apr_size_t len)
{
    return json_string(shown_text(p, s, len));
}

static json_t *strings(apr_pool_t *p, const apr_array_header_t *a)
{
    json_t *j = json_array();
    int i;

    for (i = 0; a && i < a->nelts; i++) {
        const char *s = APR_ARRAY_IDX(a, i, const char *);

        json_array_append_new(j, text(p, s, strlen(s)));
    }
    return j;
}

static int by_count(const void *a, const void *b)
{
    const page_count_t *x = *(const page_count_t *const *)a;
    const page_count_t *y = *(const page_count_t *const *)b;
    apr_size_t n = x->len < y->len ? x->len : y->len;
    int c;

    if (x->count != y->count) {
        return x->count > y->count ? -1 : 1;
    }
    c = memcmp(x->path, y->path, n);
    return c ? c : x->len < y->len ? -1 : x->len > y->len;
}

static void add_pages(prep_report_log_t *r, json_t *doc)
{
    apr_size_t n = apr_hash_count(r->pages), i = 0;
    page_count_t **all = apr_palloc(r->pool, sizeof(*all) * (n + 1));
    json_t *top = json_array(), *every = json_array();
    apr_hash_index_t *hi;

    for (hi = apr_hash_first(r->pool, r->pages); hi; hi = apr_hash_next(hi)) {
        all[i++] = apr_hash_this_val(hi);
    }
    qsort(all, n, sizeof(*all), by_count);
    for (i = 0; i < n; i++) {
        json_t *row = json_pack("{s:o, s:I}", "path",
                                text(r->pool, all[i]->path, all[i]->len),
                                "count", (json_int_t)all[i]->count);

        if (i < (apr_size_t)r->o.top_pages) {
            json_array_append(top, row);
        }
        json_array_append_new(every, row);
    }
    json_object_set_new(doc, "pages_top", top);
    json_object_set_new(doc, "pages", every);
}

/* The series from its first bucket to its last, widened to the period's
 * bounds when they are given; `step` seconds per bucket. */
static json_t *series_json(prep_report_log_t *r, const series_t *s,
                           apr_int64_t step, int hours)
{
    json_t *a = json_array();
    apr_int64_t lo, hi, i;
    prep_zone_t z = {r->o.offset_s, NULL};

    if (s->n == 0 && (r->from_s < 0 || r->to_s < 0)) {
        return a;
    }
    lo = s->n ? s->first : APR_INT64_MAX;
    hi = s->n ? s->first + (apr_int64_t)s->n - 1 : APR_INT64_MIN;
    if (r->from_s >= 0) {
        apr_int64_t b = floor_div(r->from_s + r->o.offset_s, step);

        lo = b < lo ? b : lo;
    }
    if (r->to_s >= 0) {
        apr_int64_t b = floor_div(r->to_s - 1 + r->o.offset_s, step);

        hi = b > hi ? b : hi;
    }
    for (i = lo; i <= hi; i++) {
        static const bucket_t none;
        const bucket_t *b =
            s->n && i >= s->first && i < s->first + (apr_int64_t)s->n
                ? s->b + (i - s->first)
                : &none;
        apr_time_t start = apr_time_from_sec(i * step - r->o.offset_s);
        json_t *row;

        if (hours) {
            row = json_pack("{s:s, s:I, s:I, s:I}", "hour",
                            prep_time_iso(r->pool, start, &z), "hits",
                            (json_int_t)b->hits, "pages", (json_int_t)b->pages,
                            "visits", (json_int_t)b->visits);
        } else {
            char *iso = prep_time_iso(r->pool, start, &z);

            iso[10] = '\0';
            row = json_pack("{s:s, s:I, s:I, s:I, s:I}", "day", iso, "visitors",
                            (json_int_t)b->visitors, "visits",
                            (json_int_t)b->visits, "hits", (json_int_t)b->hits,
                            "pages", (json_int_t)b->pages);
        }
        json_array_append_new(a, row);
    }
    return a;
}

static void finish(prep_report_log_t *r)
{
    apr_size_t i;

    if (r->finished) {
        return;
    }
    r->finished = 1;
    for (i = 0; i < r->table_size; i++) {
        const visitor_t *v = r->table + i;

        if ((v->h1 || v->h2) && v->client == PREP_CLIENT_VISITOR) {
            visit_closed(r, v->start, v->last);
        }
    }
}

json_t *prep_report_log_json(prep_report_log_t *r)
{
    static const char *const ranges[PREP_REPORT_DURATIONS] = {
        "0 s",      "1–30 s",    "31–120 s",  "2–5 min",
        "5–15 min", "15–30 min", "30–60 min", "más de 1 h"};
    static const int range_from[PREP_REPORT_DURATIONS] = {0,   1,   31,   121,
                                                          301, 901, 1801, 3601};
    json_t *doc, *files = json_array(), *a;
    apr_pool_t *p = r->pool;
    int i;

    finish(r);
    for (i = 0; i < r->files->nelts; i++) {
        const file_stats_t *f = &APR_ARRAY_IDX(r->files, i, file_stats_t);

        json_array_append_new(
            files, json_pack("{s:o, s:I, s:I, s:o}", "path",
                             text(p, f->path, strlen(f->path)), "lines",
                             (json_int_t)f->lines, "unparsable",
                             (json_int_t)f->unparsable, "error",
                             f->error ? text(p, f->error, strlen(f->error))
                                      : json_null()));
    }
    doc = json_pack(
        "{s:b, s:{s:o, s:o, s:o, s:o}, s:{s:i, s:I, s:o, s:o}, s:o,"
        " s:{s:I, s:I, s:I, s:I, s:I}, s:o}",
        "empty", r->counted == 0, "period", "from",
        time_or_null(p, r->from_s, r->from_s >= 0, r->o.offset_s), "to",
        time_or_null(p, r->to_s, r->to_s >= 0, r->o.offset_s), "first",
        time_or_null(p, r->first_s, r->counted > 0, r->o.offset_s), "last",
        time_or_null(p, r->last_s, r->counted > 0, r->o.offset_s),
        "definitions", "zone_offset_s", r->o.offset_s, "visit_timeout_s",
        (json_int_t)r->timeout_s, "page_extensions",
        strings(p, r->o.page_extensions), "locations",
        strings(p, r->o.locations), "files", files, "lines", "read",
        (json_int_t)r->lines_read, "unparsable", (json_int_t)r->unparsable,
        "outside_period", (json_int_t)r->outside_period, "outside_locations",
        (json_int_t)r->outside_locations, "counted", (json_int_t)r->counted,
        "unparsable_examples", strings(p, r->examples));
    json_object_set_new(
        doc, "totals",
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "hits",
                  (json_int_t)r->hits, "bytes", (json_int_t)r->bytes, "pages",
                  (json_int_t)r->pages_n, "visitors", (json_int_t)r->visitors,
                  "visits", (json_int_t)r->visits, "visit_duration_total_s",
                  (json_int_t)r->duration_total, "visit_duration_mean_s",
                  r->visits ? (double)r->duration_total / (double)r->visits
                            : 0.0));
    json_object_set_new(doc, "crawlers",
                        json_pack("{s:I, s:I, s:I, s:I}", "hits",
                                  (json_int_t)r->crawler_hits, "bytes",
                                  (json_int_t)r->crawler_bytes, "pages",
                                  (json_int_t)r->crawler_pages, "clients",
                                  (json_int_t)r->crawler_clients));
    json_object_set_new(doc, "monitors",
                        json_pack("{s:I, s:I}", "hits",
                                  (json_int_t)r->monitor_hits, "bytes",
                                  (json_int_t)r->monitor_bytes));
    json_object_set_new(doc, "days", series_json(r, &r->days, 86400, 0));
    json_object_set_new(doc, "hours", series_json(r, &r->hours, 3600, 1));
    a = json_array();
    for (i = 0; i < PREP_REPORT_DURATIONS; i++) {
        json_array_append_new(
            a, json_pack("{s:s, s:i, s:o, s:I}", "range", ranges[i], "from_s",
                         range_from[i], "to_s",
                         i + 1 < PREP_REPORT_DURATIONS
                             ? json_integer(range_from[i + 1] - 1)
                             : json_null(),
                         "visits", (json_int_t)r->durations[i]));
    }
    json_object_set_new(doc, "durations", a);
    a = json_array();
    for (i = 0; i < 1000; i++) {
        if (r->status[i]) {
            json_array_append_new(a, json_pack("{s:i, s:I}", "code", i, "hits",
                                               (json_int_t)r->status[i]));
        }
    }
    json_object_set_new(doc, "status", a);
    add_pages(r, doc);
    return doc;
}
