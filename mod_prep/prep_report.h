/* prep_report.h — the report room: the memoria técnica that `prepctl report`
 * makes after the election (issue 12).  This part declares the reading of
 * Apache's access logs and what is counted from them (prep_report_log.c);
 * like the rest of the core library it includes no httpd header.
 *
 * Definitions (the report states them; docs/memoria.md repeats them):
 * - a request counts when its time is in [from, to) and its path (without
 *   the query) is one of the feed's Location prefixes or under it;
 * - hit: every request that counts, those of crawlers and monitors too;
 * - monitor: a request whose path starts with "/prep-status", or one whose
 *   User-Agent names a monitoring check (Prometheus, kube-probe,
 *   UptimeRobot, Pingdom, check_http, Zabbix, ...);
 * - crawler: a User-Agent that contains "bot", "crawl", "spider", "slurp"
 *   or "facebookexternalhit" (any case, in its first 2 KB) and is not a
 *   monitor; "curl/" is not a crawler;
 * - page: a request of a visitor (neither crawler nor monitor) answered 200
 *   or 304 whose path ends in "/" (a directory index) or in one of the page
 *   extensions (any case; ".html" ".htm" by default);
 * - visitor: one client address and User-Agent (GoAccess's definition),
 *   counted once per day in the feed's zone and once over the period;
 * - visit: a visitor's requests with no gap over the visit timeout (30 min
 *   by default); a gap of exactly the timeout keeps the visit, one second
 *   more starts a new one; a visit crossing midnight is one visit, counted
 *   in the hour and the day it starts;
 * - duration of a visit: its last request's time minus its first (0 for a
 *   single request), in whole seconds as the log gives them.
 * Pages, visitors and visits are of visitors only; hits, bytes and status
 * codes are of every request that counts. */
#ifndef PREP_REPORT_H
#define PREP_REPORT_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "prep.h"

/* jansson's json_t, declared so that this header needs no jansson.h. */
struct json_t;

/* ------------------------------------------------------------------ */
/* prep_report_log.c: Apache's access logs read and counted. */

/* Who made a request. */
typedef enum {
    PREP_CLIENT_VISITOR = 0,
    PREP_CLIENT_CRAWLER,
    PREP_CLIENT_MONITOR
} prep_client_e;

/* Visits by duration: 0 s, 1–30 s, 31–120 s, 121–300 s, 301–900 s,
 * 901–1800 s, 1801–3600 s, over 3600 s. */
#define PREP_REPORT_DURATIONS 8

/* One line of an access log in the `combined` format or prep_combined
 * (`%a %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"`); the common
 * format (no Referer nor User-Agent) is read too, with an empty agent.
 * The pointers are into the line read, which they do not outlive. */
typedef struct prep_log_line {
    apr_int64_t time_s; /* seconds since the epoch, UTC */
    const char *addr;   /* the client address (%h or %a) */
    apr_size_t addr_len;
    const char *path; /* the request's path, no query; "" when none */
    apr_size_t path_len;
    const char *agent; /* the User-Agent; "" for "-" or none */
    apr_size_t agent_len;
    int status;         /* 100..999 */
    apr_uint64_t bytes; /* %O or %b, 0 for "-" */
} prep_log_line_t;

/* A request counted, handed to the options' `each` (the traffic per
 * corte is counted from it). */
typedef struct prep_report_request {
    apr_time_t time;
    prep_client_e client;
    int status;
    int page; /* whether it is a page (of a crawler: one of its pages) */
    apr_uint64_t bytes;
} prep_report_request_t;

typedef void prep_report_request_fn(void *baton,
                                    const prep_report_request_t *req);

typedef struct prep_report_log_options {
    apr_time_t from, to; /* [from, to); 0: unbounded */
    /* the feed's Location prefixes (const char *, "/prep/qro"); NULL or
     * empty: every path counts */
    const apr_array_header_t *locations;
    /* page extensions (const char *, ".html"); NULL: ".html" ".htm" */
    const apr_array_header_t *page_extensions;
    int offset_s;                      /* the feed's zone, east of UTC */
    apr_interval_time_t visit_timeout; /* 0: 30 minutes */
    int top_pages;                     /* 0: 20 */
    prep_report_request_fn *each;      /* optional */
    void *baton;
} prep_report_log_options_t;

/* The counts of one report, made from its logs; allocated in a pool (its
 * visitor table outside it, freed with the pool). */
typedef struct prep_report_log prep_report_log_t;

/* Reads one line (without its line end) into *l: 1, or 0 when it is not
 * a line of those formats.  No allocation. */
int prep_log_line_parse(prep_log_line_t *l, const char *line, apr_size_t len);

/* Reads Apache's %t without its brackets ("02/Jun/2024:21:05:00 -0600",
 * 26 bytes) into seconds since the epoch: 1, or 0 when it is not one. */
int prep_log_time_parse(apr_int64_t *sec, const char *text, apr_size_t len);

/* Who a User-Agent is (monitors before crawlers: "UptimeRobot" is a
 * monitor). */
prep_client_e prep_report_client_of_agent(const char *agent, apr_size_t len);

/* A report with options o (copied; the arrays are kept, not copied). */
prep_report_log_t *prep_report_log_make(const prep_report_log_options_t *o,
                                        apr_pool_t *p);

/* Reads the access logs `paths` (const char *; plain or gzip, told apart
 * by their bytes), merged by the time of their requests: every file is
 * read as a stream and the next request counted is the earliest of the
 * streams' next ones, so the rotated files of one server and the logs of
 * several servers may be given in any order.  A line out of order within
 * its file is counted all the same.  A line that is not an access log
 * line is counted as unparsable (the first 5 kept as examples); a file
 * damaged in its middle (a truncated .gz) is read up to the damage and
 * the damage is told in its entry of "files".  A file that cannot be
 * opened is an error: APR_SUCCESS, or its status with *error a sentence
 * (nothing counted then).  Called once per report. */
apr_status_t prep_report_log_read(prep_report_log_t *r,
                                  const apr_array_header_t *paths,
                                  const char **error);

/* The counts as one JSON document (a new reference; the visits still
 * open are closed first, so nothing may be read after it):
 * {
 *   "empty": true when no request counted,
 *   "period": {"from", "to": ISO-8601 in the zone or null (unbounded),
 *              "first", "last": the first and last request counted or
 *              null},
 *   "definitions": {"zone_offset_s", "visit_timeout_s",
 *                   "page_extensions": [...], "locations": [...]},
 *   "files": [{"path", "lines", "unparsable", "error": sentence|null}],
 *   "lines": {"read", "unparsable", "outside_period",
 *             "outside_locations", "counted"},
 *   "unparsable_examples": ["FILE:LINE: text cut at 200 bytes", ...],
 *   "totals": {"hits", "bytes", "pages", "visitors", "visits",
 *              "visit_duration_total_s", "visit_duration_mean_s" (real,
 *              0 without visits)},
 *   "crawlers": {"hits", "bytes", "pages", "clients"},
 *   "monitors": {"hits", "bytes"},
 *   "days": [{"day": "YYYY-MM-DD", "visitors", "visits", "hits", "pages"}],
 *   "hours": [{"hour": ISO-8601 of its start, "hits", "pages", "visits"}],
 *     every hour from the period's first to its last, those without
 *     requests too (from `from` and to `to` when they are given),
 *   "durations": [{"range": "1–30 s", "from_s", "to_s" (null for the
 *                  last), "visits"}] (PREP_REPORT_DURATIONS of them),
 *   "status": [{"code", "hits"}] by code,
 *   "pages_top": [{"path", "count"}] the top_pages most viewed,
 *   "pages": [{"path", "count"}] every page viewed,
 * }
 * Lists of pages go by count, most first, then by path.  Text that is not
 * UTF-8 is written with its bytes as "\xNN". */
struct json_t *prep_report_log_json(prep_report_log_t *r);

/* ------------------------------------------------------------------ */
/* prep_report.c: the memoria técnica assembled from the logs and the
 * journal, and written out (`prepctl report`). */

/* What the memoria is made of. */
typedef struct prep_memoria_options {
    const char *feed;    /* the feed's name */
    const char *difusor; /* --difusor: the difusor's name; NULL: none */
    const char *store;   /* the feed's PrepStore (its journal) */
    int offset_s;        /* the feed's zone, seconds east of UTC */
    const char *zone_name;
    apr_time_t from, to;                 /* [from, to); 0: unbounded */
    apr_interval_time_t update_interval; /* PrepUpdateInterval; 0: 5 min */
    const apr_array_header_t *logs;      /* const char *: access logs */
    /* const char *: the feed's Location prefixes; NULL or empty: every
     * path counts (and a notice says so) */
    const apr_array_header_t *locations;
    int locations_given;                       /* by --location */
    const apr_array_header_t *page_extensions; /* NULL: .html .htm */
    apr_interval_time_t visit_timeout;         /* 0: 30 min */
    int top_pages;                             /* 0: 20 */
    const char *notes; /* the text of --notes (UTF-8), or NULL */
    const char *notes_file;
    apr_time_t generated_at;
    const char *generator; /* "mod_prep 1.2.3" */
} prep_memoria_options_t;

/* The whole memoria as one JSON document (*doc, a new reference):
 * {
 *   "memoria": {"generator", "generated_at": ISO, "feed", "difusor": S|null,
 *               "zone": {"offset": "-06:00", "name"},
 *               "period": {"from": ISO|null, "to": ISO|null} (as asked),
 *               "logs": [paths], "journal": path of the journal,
 *               "locations": [prefixes] (those counted; [] = every path),
 *               "notes": text|null, "notes_file": path|null},
 *   "summary": {"visitors", "visits", "pages", "hits", "bytes",
 *               "visit_duration_mean_s" (real), "availability": 0..1|null,
 *               "incidents", "incidents_affecting", "refusals", "cortes"},
 *   "notices": [{"kind": "no-log" | "no-journal" | "empty-period" |
 *                "unparsable" | "damaged-log" | "bad-journal-lines" |
 *                "every-path",
 *                "text": a Spanish sentence for the reader}],
 *   "traffic": prep_report_log_json's document, or null without logs,
 *   "night": prep_night_to_json's document (its journal.found false when
 *            the store has no journal),
 *   "cortes_traffic": [{"corte": id|null (null: while no corte was
 *              served), "time": ISO|null, "live_from": ISO|null,
 *              "live_until": ISO|null, "hits", "pages", "bytes"}]
 *              one per span of night.cortes, in order, then one with
 *              corte null when some request came while none was served
 * }
 * A log that cannot be opened is an error (*error a sentence); a missing
 * journal, an empty period, unparsable lines are notices.  APR_SUCCESS
 * or the error. */
apr_status_t prep_memoria_make(struct json_t **doc,
                               const prep_memoria_options_t *o,
                               const char **error, apr_pool_t *p);

/* The formats `prepctl report --format` writes. */
enum {
    PREP_MEMORIA_HTML = 1 << 0, /* memoria.html */
    PREP_MEMORIA_CSV = 1 << 1,  /* the tables as CSV (below) */
    PREP_MEMORIA_JSON = 1 << 2  /* memoria.json */
};

/* Writes the formats of doc into directory dir (created when missing),
 * each file replaced atomically: memoria.html, memoria.json, and the CSV
 * files resumen.csv, paginas.csv, horas.csv, dias.csv, codigos.csv,
 * duraciones.csv, trafico_por_corte.csv, cortes.csv, incidencias.csv
 * (UTF-8, RFC 4180, a header line in Spanish).  The names written are
 * pushed onto *written (const char *, basenames) when written is not
 * NULL.  APR_SUCCESS, or the error with *error a sentence. */
apr_status_t prep_memoria_write(const struct json_t *doc, const char *dir,
                                unsigned formats, apr_array_header_t *written,
                                const char **error, apr_pool_t *p);

/* ------------------------------------------------------------------ */
/* prep_report_html.c: memoria.html from the document of
 * prep_memoria_make: one self-contained page in Spanish (no external
 * resource: styles inline, charts as inline SVG), with a print
 * stylesheet for A4.  Appended to out. */
void prep_memoria_html(prep_text_t *out, const struct json_t *doc);

#endif
