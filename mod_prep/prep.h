/* prep.h — the core library of mod_prep: types and functions shared by the
 * httpd module, prepctl and the unit tests.  Nothing here includes httpd
 * headers; only APR, libarchive, jansson and OpenSSL are used below it. */
#ifndef PREP_H
#define PREP_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <apr_file_io.h>
#include <apr_portable.h>
#include <apr_user.h>

#define PREP_VERSION "0.1.0"

/* ------------------------------------------------------------------ */
/* Verdicts: why a package was refused.  `reason` is a stable code
 * (traversal, absolute, link, special, duplicate, depth, name-too-long,
 * limit-files, limit-bytes, limit-file, ratio, truncated, not-an-archive,
 * empty, no-corte-time, older-corte, future-corte, same-time, verify,
 * encrypted, bad-name, timeout, crash, unreadable, io); `message`
 * is one human sentence.  reason == NULL means accepted. */
typedef struct prep_verdict {
    const char *reason;
    const char *message;
} prep_verdict_t;

/* Sets *v and returns APR_EGENERAL, so callers can `return prep_refuse(...)`.
 */
apr_status_t prep_refuse(prep_verdict_t *v, apr_pool_t *p, const char *reason,
                         const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ------------------------------------------------------------------ */
/* prep_util.c: civil dates, hex, feed names, a descriptor read in blocks */

/* Whether a civil date and time exists (years 1970..9999). */
int prep_civil_valid(int y, int mo, int d, int h, int mi, int s);
/* A civil date and time at `offset_s` seconds east of UTC. */
apr_time_t prep_civil_to_time(int y, int mo, int d, int h, int mi, int s,
                              int offset_s);
/* Lower-case hex of n bytes. */
char *prep_hex(apr_pool_t *p, const unsigned char *bytes, apr_size_t n);

/* Text made in memory (a page, a CSV file): appended to, grown by
 * doubling in pool p, always NUL-terminated once anything is in it. */
typedef struct prep_text {
    apr_pool_t *p;
    char *buf;
    apr_size_t len, cap;
} prep_text_t;
void prep_text_put(prep_text_t *t, const char *s, apr_size_t n);
void prep_text_printf(prep_text_t *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* n bytes of s as HTML text or attribute value, at most max_chars
 * characters of it (0: no limit; a cut one ends with "…"): & < > " ' as
 * entities, control characters as U+FFFD (but line ends and tabs when
 * keep_lines). */
void prep_text_html(prep_text_t *t, const char *s, apr_size_t n,
                    apr_size_t max_chars, int keep_lines);

/* Numbers and times as people read them in Mexico, for the dashboard and
 * the memoria: 1234567 as "1,234,567"; a duration as "45 s",
 * "12 min 05 s", "3 h 07 min", "2 d 03 h"; the offset that ends an ISO
 * time or a zone ("…-06:00") in seconds east of UTC (0 when none). */
const char *prep_count_text(apr_pool_t *p, apr_int64_t n);
const char *prep_duration_text(apr_pool_t *p, apr_int64_t s);
int prep_iso_offset(const char *iso);

/* A CSV file made in memory (RFC 4180: CRLF line ends, a field quoted
 * when it holds a comma, a quote or a line end), for the memoria's
 * tables.  Zeroed, with text.p set, before its first field. */
typedef struct prep_csv {
    prep_text_t text;
    int fields; /* on the current row */
} prep_csv_t;
/* A field of the current row; NULL is an empty field. */
void prep_csv_field(prep_csv_t *c, const char *s);
/* A row of NULL-ended fields, or the end of the current row (fields
 * NULL). */
void prep_csv_row(prep_csv_t *c, const char *const *fields);
/* DIR/NAME replaced atomically by the text (prep_store_write_atomic). */
apr_status_t prep_csv_write(const prep_csv_t *c, const char *dir,
                            const char *name);
/* A feed name: letters, digits, '_' and '-', at least one. */
int prep_feed_name_valid(const char *name);
/* Reads the file of descriptor fd from offset 0 to its end in blocks of
 * `block` bytes, handing each to fn (which returns APR_SUCCESS to go on);
 * the first error of a read or of fn, else APR_SUCCESS. */
typedef apr_status_t prep_block_fn(void *baton, const unsigned char *bytes,
                                   apr_size_t n);
apr_status_t prep_fd_blocks(int fd, apr_size_t block, prep_block_fn *fn,
                            void *baton);

/* ------------------------------------------------------------------ */
/* prep_zone.c: the time zone a feed shows its times in (a fixed offset:
 * Mexico has no daylight saving time since 2022). */
typedef struct prep_zone {
    int offset_s;     /* seconds east of UTC, -21600 for -06:00 */
    const char *name; /* "Tiempo del Centro" */
} prep_zone_t;

/* "2024-06-02T21:05:00-06:00" */
char *prep_time_iso(apr_pool_t *p, apr_time_t t, const prep_zone_t *z);
/* "-06:00" */
char *prep_zone_offset_text(apr_pool_t *p, const prep_zone_t *z);

/* ------------------------------------------------------------------ */
/* prep_cortetime.c: where a package says when its corte was cut. */
typedef enum {
    PREP_CORTE_MTIME = 0, /* the package file's mtime */
    PREP_CORTE_JSON,      /* json FILE POINTER (RFC 6901) */
    PREP_CORTE_CSV,       /* csv FILE LINE (1-based) */
    PREP_CORTE_FILENAME   /* filename REGEX (POSIX extended) */
} prep_corte_source_e;

typedef struct prep_corte_spec {
    prep_corte_source_e source;
    const char *file;    /* json, csv: path inside the package */
    const char *pointer; /* json */
    int line;            /* csv */
    const char *regex;   /* filename */
} prep_corte_spec_t;

/* Whether every '~' of an RFC 6901 pointer is "~0" or "~1". */
int prep_corte_pointer_valid(const char *pointer);
/* Reads a time written as text: ISO-8601 with or without offset,
 * "DD/MM/YYYY HH:MM[:SS]" optionally followed by "(UTC-6)" or
 * "(UTC-06:00)", "YYYYMMDDHHMM[SS]", "YYYYMMDD_HHMM", or epoch seconds.
 * Text without an offset is in zone z.  APR_SUCCESS or APR_EINVAL.
 * After the time, an offset ("Z", "-06:00", "-0600", "-6", "UTC-6",
 * "(UTC-06:00)") or "UTC"/"GMT" alone (UTC) is read; any other word of
 * letters there ("EDT", "PST", "(CDT)", "hrs") is an unknown time zone and
 * an error, not a time in zone z.  Text after punctuation (", Tiempo del
 * Centro") is not a zone.  Numbers must be plausible times: epoch seconds
 * (10 digits) or milliseconds (13 digits) from 2000-01-01 to 2100-01-01
 * UTC (PREP_CORTE_EPOCH_MIN..PREP_CORTE_EPOCH_END), and the digit forms
 * YYYYMMDDHHMM[SS] / YYYYMMDD_HHMM with years 2000..2099 and a valid date
 * and time; any other digit string ("20240602") is not a time. */
apr_status_t prep_corte_time_from_text(apr_time_t *t, const char *text,
                                       const prep_zone_t *z);
/* json and csv sources, given the content of spec->file. error or NULL. */
const char *prep_corte_time_from_content(apr_time_t *t,
                                         const prep_corte_spec_t *spec,
                                         const char *data, apr_size_t len,
                                         const prep_zone_t *z, apr_pool_t *p);
/* json and csv sources, reading spec->file's bytes [offset, offset+len)
 * from fd (the corte's pack) with pread, PREP_CORTE_BLOCK bytes at a time:
 * whatever len is, it holds a few hundred KB at most.  json: the whole
 * file is checked to be JSON (RFC 8259, UTF-8, an optional byte-order mark
 * at its start) without building it; nesting deeper than
 * PREP_CORTE_JSON_DEPTH, a key of the pointer's path found twice in one
 * object, or a string at the pointer longer than PREP_CORTE_TEXT_MAX bytes
 * is an error; the value must be a string (a time as text) or a whole
 * number (epoch seconds or milliseconds, see prep_corte_time_from_text).
 * csv: line LINE, lines ending in "\n", "\r\n" or "\r", an optional
 * byte-order mark; a line longer than PREP_CORTE_LINE_MAX up to LINE is an
 * error.  NULL with the time in *t, or an error sentence.  The same reader
 * serves prep_corte_time_from_content (over memory). */
#define PREP_CORTE_BLOCK      (64 * 1024)
#define PREP_CORTE_JSON_DEPTH 64
#define PREP_CORTE_TEXT_MAX   256
#define PREP_CORTE_LINE_MAX   (64 * 1024)
#define PREP_CORTE_EPOCH_MIN  APR_INT64_C(946684800)  /* 2000-01-01Z */
#define PREP_CORTE_EPOCH_END  APR_INT64_C(4102444800) /* 2100-01-01Z */
const char *prep_corte_time_from_fd(apr_time_t *t,
                                    const prep_corte_spec_t *spec,
                                    apr_os_file_t fd, apr_off_t offset,
                                    apr_off_t len, const prep_zone_t *z,
                                    apr_pool_t *p);
/* Whether regex is a regular expression of `PrepCorteTime filename`: PCRE2,
 * as httpd's own directives take them ("\\d", "(?i)"); the error or NULL. */
const char *prep_corte_regex_check(const char *regex, apr_pool_t *p);
/* filename source, given the package's base name. error or NULL. */
const char *prep_corte_time_from_filename(apr_time_t *t,
                                          const prep_corte_spec_t *spec,
                                          const char *name,
                                          const prep_zone_t *z, apr_pool_t *p);
/* The corte time of package `name` (of that mtime), unpacked into u with
 * its files' bytes in the pack pack_fd: read from where feed->corte says
 * (else refused as no-corte-time) and not more than PrepFutureLimit ahead
 * of now (else future-corte). */
struct prep_feed;
struct prep_unpacked;
apr_status_t prep_corte_time_check(apr_time_t *t, const struct prep_feed *feed,
                                   const char *name, apr_time_t mtime,
                                   const struct prep_unpacked *u,
                                   apr_os_file_t pack_fd, prep_verdict_t *v,
                                   apr_pool_t *p);
/* How a new corte stands to the corte served. */
typedef enum {
    PREP_CORTE_NEWER = 0, /* later than the corte served, or none is served */
    PREP_CORTE_SERVED,    /* the corte served itself (its id) */
    PREP_CORTE_REPLACES   /* the served corte's time with other bytes, taken
                           * with PrepSameTime accept */
} prep_corte_order_e;
/* The refusals of a new corte (its time and id in `corte`) that need the
 * corte served (`served`; NULL: none): a time older than its (older-corte),
 * or its time with another id unless PrepSameTime accept (same-time).
 * APR_SUCCESS with how the corte stands to it in *order, or the refusal
 * in *v. */
struct prep_corte;
apr_status_t prep_corte_time_against(prep_corte_order_e *order,
                                     const struct prep_feed *feed,
                                     const struct prep_corte *served,
                                     const struct prep_corte *corte,
                                     prep_verdict_t *v, apr_pool_t *p);

/* ------------------------------------------------------------------ */
/* prep_banner.c: the "Último corte" banner, rendered once per corte. */

/* Text of the label: "Último corte: 02/06/2024 21:05 (Tiempo del Centro,
 * UTC-06:00)" */
char *prep_banner_label(apr_pool_t *p, apr_time_t corte, const prep_zone_t *z);
/* What a banner says besides the corte time: bits of a corte's
 * banner_state. */
enum {
    PREP_BANNER_STATE_DRILL = 1u << 0, /* a drill: "SIMULACRO" before it */
    PREP_BANNER_STATE_CLOSED = 1u << 1 /* the operation has ended */
};
/* The {{estado}} of a banner state: "" (none), "SIMULACRO",
 * "Cierre del PREP", "SIMULACRO · Cierre del PREP". */
const char *prep_banner_estado(unsigned state);
/* The HTML to insert.  template NULL → the default banner (a <div> holding
 * the label, "SIMULACRO" before it in a drill, the close after it once
 * closed).  Placeholders {{fecha}} {{hora}} {{zona}} {{iso}} {{estado}}. */
char *prep_banner_render(apr_pool_t *p, const char *template_text,
                         apr_time_t corte, const prep_zone_t *z,
                         unsigned state);
/* PrepBannerPosition: where the default banner stays on the screen. */
typedef enum {
    PREP_BANNER_STATIC = 0,  /* in the flow at the top of the body [default] */
    PREP_BANNER_STICKY,      /* in the flow, held at the top when scrolled */
    PREP_BANNER_FIXED_TOP,   /* always at the top of the window */
    PREP_BANNER_FIXED_BOTTOM /* always at the bottom of the window */
} prep_banner_place_e;

typedef struct prep_banner_position {
    prep_banner_place_e place;
    /* how far from its edge: a CSS length ("56px", "3.5rem"), NULL for 0 */
    const char *offset;
} prep_banner_position_t;

/* The words of PrepBannerPosition (static|sticky|fixed-top|fixed-bottom
 * [OFFSET]) into *pos; the sentence of what is wrong (without the
 * directive's name), or NULL.  *pos is unchanged on error. */
const char *prep_banner_position_parse(prep_banner_position_t *pos, int argc,
                                       const char *const *argv, apr_pool_t *p);
/* "static", "sticky", "fixed-top", "fixed-bottom" */
const char *prep_banner_place_name(prep_banner_place_e place);
/* prep_banner_render for a position: the default banner (template NULL)
 * is placed there, above everything on the page but other fixed elements
 * of an even higher z-index; a template is rendered as it is written.
 * pos NULL or static: prep_banner_render's banner, byte for byte. */
char *prep_banner_render_at(apr_pool_t *p, const char *template_text,
                            apr_time_t corte, const prep_zone_t *z,
                            unsigned state, const prep_banner_position_t *pos);
/* The z-index of a banner that is not static: above Bootstrap's fixed-top
 * navbar (1030) and its modals (1055), below the 32-bit maximum. */
#define PREP_BANNER_Z_INDEX "2147483000"
/* Inserts banner right after the first opening <body…> tag of html.
 * Returns the new document (length in *out_len), or NULL when html has no
 * body tag (the file is then served unchanged). */
char *prep_banner_insert(apr_pool_t *p, const char *html, apr_size_t len,
                         const char *banner, apr_size_t *out_len);
/* The banner phase of a load: renders each of `banners` (const char *
 * templates, NULL = the default banner, placed at pos) once for the corte
 * time, and
 * appends to the pack, for every plan flagged PREP_F_HTML, its page with
 * banner n as the rep of slot n (none when the page has no <body>).
 * APR_SUCCESS, or a refusal ("io") in *v.  Types in prep_variants.c's
 * section. */
struct prep_pack;
struct prep_plan;
apr_status_t prep_banner_add_reps(struct prep_pack *pack,
                                  struct prep_plan *plans, int nplans,
                                  const apr_array_header_t *banners,
                                  apr_time_t corte, const prep_zone_t *z,
                                  unsigned state,
                                  const prep_banner_position_t *pos,
                                  prep_verdict_t *v, apr_pool_t *p);

/* ------------------------------------------------------------------ */
/* prep_package.c: reads a package with libarchive under the package rules
 * and writes every regular file's bytes, one after the other, to a pack. */
typedef struct prep_limits {
    apr_uint64_t files; /* entries */
    apr_uint64_t bytes; /* total uncompressed bytes */
    apr_uint64_t file;  /* one file's bytes */
    apr_uint64_t ratio; /* uncompressed bytes / package bytes */
    int depth;          /* path components */
    unsigned formats;   /* PrepFormats: PREP_FORMAT_* bits read */
} prep_limits_t;

/* PrepFormats: the archive formats and compressions libarchive may decode
 * for a feed.  Default: tar and zip, gzip bzip2 xz zstd. */
enum {
    PREP_FORMAT_TAR = 1u << 0,
    PREP_FORMAT_ZIP = 1u << 1,
    PREP_FORMAT_7Z = 1u << 2,
    PREP_FORMAT_CPIO = 1u << 3,
    PREP_FORMAT_ISO9660 = 1u << 4,
    PREP_FORMAT_CAB = 1u << 5,
    PREP_FORMAT_LHA = 1u << 6,
    PREP_FORMAT_RAR = 1u << 7, /* RAR and RAR5 */
    PREP_FORMAT_AR = 1u << 8,
    PREP_FORMAT_GZIP = 1u << 16,
    PREP_FORMAT_BZIP2 = 1u << 17,
    PREP_FORMAT_XZ = 1u << 18,
    PREP_FORMAT_ZSTD = 1u << 19,
    PREP_FORMAT_LZMA = 1u << 20,
    PREP_FORMAT_LZIP = 1u << 21,
    PREP_FORMAT_LZ4 = 1u << 22,
    PREP_FORMAT_COMPRESS = 1u << 23
};
#define PREP_FORMATS_ARCHIVES     0x0000FFFFu
#define PREP_FORMATS_COMPRESSIONS 0xFFFF0000u
#define PREP_FORMATS_DEFAULT                                                   \
    (PREP_FORMAT_TAR | PREP_FORMAT_ZIP | PREP_FORMAT_GZIP |                    \
     PREP_FORMAT_BZIP2 | PREP_FORMAT_XZ | PREP_FORMAT_ZSTD)

/* One word of PrepFormats ("tar", "7z", "lz4"...) added to *mask; error
 * or NULL.  xar, warc, mtree and raw are refused with the reason. */
const char *prep_formats_parse(unsigned *mask, const char *word, apr_pool_t *p);
/* The formats a feed reads given the words of one PrepFormats line (their
 * bits in `named`): a kind the line names none of (archive formats,
 * compressions) keeps its default. */
unsigned prep_formats_of_line(unsigned named);
/* The words of a mask, for messages: "tar, zip, gzip" ("none" if empty). */
const char *prep_formats_words(unsigned mask, apr_pool_t *p);

typedef struct prep_entry {
    const char *path; /* relative, '/'-separated, after stripping */
    apr_off_t offset; /* where its bytes start in the pack */
    apr_off_t size;
    apr_time_t mtime;
    unsigned char sha256[32];
} prep_entry_t;

typedef struct prep_unpacked {
    apr_array_header_t *entries; /* prep_entry_t, archive order, files only */
    apr_array_header_t *dirs;    /* const char *: every directory path seen */
    apr_uint64_t bytes;          /* sum of entry sizes */
    apr_off_t pack_size;         /* bytes written to the pack */
    apr_uint64_t package_size;
    unsigned char package_sha256[32];
    const char *format; /* libarchive's name of the format */
} prep_unpacked_t;

/* strip: -1 = auto (strip a single top-level folder), 0.. = components. */
apr_status_t prep_package_unpack(prep_unpacked_t **out,
                                 const char *package_path, apr_file_t *pack,
                                 const prep_limits_t *limits, int strip,
                                 prep_verdict_t *verdict, apr_pool_t *p);
/* The same over a package already open (the loader opens it once, with
 * O_NOFOLLOW, and verifies it from the same descriptor): seeks to 0, needs
 * a regular file (fstat), reads to the end; package_sha256 and
 * package_size cover the whole file.  prep_package_unpack opens the path
 * with O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC and calls it. */
apr_status_t prep_package_unpack_file(prep_unpacked_t **out,
                                      apr_file_t *package, apr_file_t *pack,
                                      const prep_limits_t *limits, int strip,
                                      prep_verdict_t *verdict, apr_pool_t *p);
/* Same rules over an archive in memory (fuzzing, tests). */
apr_status_t prep_package_unpack_buffer(prep_unpacked_t **out, const void *buf,
                                        apr_size_t len, apr_file_t *pack,
                                        const prep_limits_t *limits, int strip,
                                        prep_verdict_t *verdict, apr_pool_t *p);
/* Names that are uploads in progress or not packages: ".x", "*.part",
 * "*.filepart", "*.tmp", and sidecars "*.sha256", "*.sig". */
int prep_package_name_ignored(const char *name);
/* A name an SFTP client or scp writes while it uploads: "*.part",
 * "*.filepart", "*.tmp" (any case). */
int prep_name_uploading(const char *name);

/* ------------------------------------------------------------------ */
/* prep_feed.c: one feed's configuration, its defaults and the parsers of
 * every value its directives take.  The httpd directives and prepctl's
 * options set a feed through the same table (prep_feed_set). */

/* PrepVerify */
typedef enum {
    PREP_VERIFY_NONE = 0,
    PREP_VERIFY_SHA256,
    PREP_VERIFY_SIGNATURE
} prep_verify_e;

/* PrepCacheTag: how a CDN spells the header it purges by. */
typedef enum {
    PREP_CACHE_TAG_SURROGATE_KEY =
        0,                    /* Fastly, Varnish bans: space-separated */
    PREP_CACHE_TAG_XKEY,      /* Varnish's vmod xkey: space-separated */
    PREP_CACHE_TAG_CACHE_TAG, /* Cloudflare: comma-separated */
    PREP_CACHE_TAG_OFF
} prep_cache_tag_e;

/* The header's name ("Surrogate-Key", "xkey", "Cache-Tag"), NULL for off. */
const char *prep_cache_tag_header(prep_cache_tag_e t);
/* Its value for feed `feed` serving corte `corte_id` (NULL: none yet):
 * "prep-FEED prep-FEED-ID" (comma-separated for Cache-Tag), so that one
 * purge of "prep-FEED-ID" clears one corte and "prep-FEED" the feed. */
const char *prep_cache_tag_value(apr_pool_t *p, prep_cache_tag_e t,
                                 const char *feed, const char *corte_id);

/* PrepSource: what PrepIncoming holds; zero (package) is the default. */
typedef enum {
    PREP_SOURCE_PACKAGE = 0, /* packages dropped whole into the directory */
    PREP_SOURCE_TREE         /* a directory tree updated in place */
} prep_source_e;

typedef struct prep_feed {
    const char *name;
    const char *incoming;
    const char *store;
    apr_interval_time_t settle;
    prep_corte_spec_t corte;
    prep_zone_t zone;
    apr_interval_time_t interval;
    apr_time_t publish_from; /* 0: no embargo */
    prep_verify_e verify;
    const char *verify_key; /* PEM file for signature */
    prep_limits_t limits;
    int keep;
    int strip;         /* -1 auto */
    unsigned compress; /* 1 << PREP_ENC_GZIP | 1 << PREP_ENC_BR */
    /* Banner templates used by the Locations serving this feed; slot n is
     * banners[n-1] (const char *: template text, NULL = default banner). */
    apr_array_header_t *banners;
    /* PrepBannerPosition: where the default banner stays [static]. */
    prep_banner_position_t banner_position;
    /* PrepFutureLimit: a corte further ahead of the clock is refused. */
    apr_interval_time_t future_limit;
    /* PrepSameTime accept: a corte with the served corte's time but other
     * bytes replaces it (default: refused as same-time). */
    int same_time_accept;
    /* PrepLoadTimeout: a load running longer is killed and its package set
     * aside as `timeout`. */
    apr_interval_time_t load_timeout;
    /* PrepAuditInterval: the served corte is re-hashed, at a bounded rate,
     * again this long after each complete pass; < 0: never. */
    apr_interval_time_t audit_interval;
    /* PrepPublishUntil: the end of the operation; from then on the feed is
     * `closed` (0: no stated end). */
    apr_time_t publish_until;
    /* PrepDrill on|off: the feed runs a drill (simulacro) unless prepctl
     * drill says otherwise (prep_feed_drill). */
    int drill;
    /* PrepNotify CMD [ARGS]: an absolute path and its arguments (const
     * char *), run after each journal event as the server's User (the
     * event's words appended, the PREP_* environment); NULL: none. */
    apr_array_header_t *notify;
    /* PrepEdgeTTL DURATION [main=DURATION]: how long a shared cache (a CDN,
     * Varnish) may hold a file of the corte, browsers still revalidating
     * (0: not said, caches revalidate too), and json/main.json's through
     * CDN-Cache-Control and Surrogate-Control (0: never held). */
    apr_interval_time_t edge_ttl;
    apr_interval_time_t edge_ttl_main;
    /* PrepCacheTag: the header that tags every answer with the feed and
     * the corte, for a purge by tag [Surrogate-Key] */
    prep_cache_tag_e cache_tag;
    prep_source_e source; /* PrepSource [package] */
    /* The <Location> paths with a PrepServe of this feed (const char *,
     * "/prep/qro", no trailing '/'): set once the configuration is read,
     * written to the runtime file, read back by prepctl (the memoria counts
     * only requests under them); NULL when none is known. */
    apr_array_header_t *locations;
} prep_feed_t;

void prep_feed_defaults(prep_feed_t *f, apr_pool_t *p);
/* PrepLimits' defaults: files=100000 bytes=2G file=512M ratio=200 depth=32,
 * and the default PrepFormats. */
void prep_limits_default(prep_limits_t *l);

/* A letter after a number and what it multiplies the number by. */
typedef struct prep_unit {
    char letter;
    apr_uint64_t times;
} prep_unit_t;

typedef enum {
    PREP_NUMBER_OK = 0,
    PREP_NUMBER_BAD,      /* not digits (and a unit), or too many digits */
    PREP_NUMBER_TOO_LARGE /* the number times its unit passes 64 bits */
} prep_number_e;

/* The one reader of numbers in directive values: a whole decimal number,
 * no sign, no spaces, optionally followed by one letter of `units` (ended
 * by a {0, 0} entry; NULL: no letter), which multiplies it.  *out is
 * untouched unless PREP_NUMBER_OK. */
prep_number_e prep_parse_number(apr_uint64_t *out, const char *text,
                                const prep_unit_t *units);
/* "90", "90s", "5m", "1h", "2d", a century at most → interval; error
 * sentence or NULL. */
const char *prep_parse_duration(apr_interval_time_t *out, const char *text);
/* "512", "10k", "512M", "2G", "3T" (powers of 1024, either case) → bytes;
 * error or NULL. */
const char *prep_parse_size(apr_uint64_t *out, const char *text);
/* ISO-8601 with offset, "2024-06-02T20:00:00-06:00" (or Z); error or NULL. */
const char *prep_parse_iso_time(apr_time_t *out, const char *text);
/* One word of PrepLimits: "files=100000" | "bytes=2G" | "file=512M" |
 * "ratio=200" | "depth=32"; error or NULL (and *l unchanged). */
const char *prep_limits_parse(prep_limits_t *l, const char *word,
                              apr_pool_t *p);
/* PrepTimeZone: offset "-06:00" / "+05:30" / "-6" / "UTC-6", and the
 * zone's name; error or NULL (and *z unchanged). */
const char *prep_zone_parse(prep_zone_t *z, const char *offset,
                            const char *name, apr_pool_t *p);
/* The arguments of PrepCorteTime (without the directive name); error or
 * NULL (and *spec unchanged). */
const char *prep_corte_spec_parse(prep_corte_spec_t *spec, int argc,
                                  const char *const *argv, apr_pool_t *p);

/* How many words a directive takes, counted as httpd counts them. */
typedef enum {
    PREP_ARGS_ONE = 0,    /* TAKE1 */
    PREP_ARGS_ONE_OR_TWO, /* TAKE12 */
    PREP_ARGS_SOME,       /* one or more (the words of one line) */
    PREP_ARGS_ANY         /* RAW_ARGS: the parser counts them */
} prep_args_e;

/* Sets the field of prep_feed_t at `field` from the words of a directive's
 * line; the sentence of what is wrong (without the directive's name), or
 * NULL. */
typedef const char *prep_feed_parse_fn(void *field, int argc,
                                       const char *const *argv, apr_pool_t *p);

/* A parser whose field is the whole feed (it sets more than one field). */
#define PREP_FEED_WHOLE 0

/* One directive of <PrepFeed>: which field it sets and how it reads it. */
typedef struct prep_feed_directive {
    const char *name; /* "PrepStripComponents" */
    prep_args_e args;
    apr_size_t offset; /* of its field in prep_feed_t, or PREP_FEED_WHOLE */
    prep_feed_parse_fn *parse;
    /* 1-based: that word is a file name, which httpd takes relative to its
     * ServerRoot (prepctl: to the working directory); 0: none. */
    int path_arg;
    /* its parser's sentences already start with the directive's name */
    int names_itself;
} prep_feed_directive_t;

enum {
    PREP_FEED_INCOMING = 0,
    PREP_FEED_STORE,
    PREP_FEED_SETTLE_TIME,
    PREP_FEED_UPDATE_INTERVAL,
    PREP_FEED_CORTE_TIME,
    PREP_FEED_TIME_ZONE,
    PREP_FEED_PUBLISH_FROM,
    PREP_FEED_VERIFY,
    PREP_FEED_LIMITS,
    PREP_FEED_KEEP,
    PREP_FEED_STRIP,
    PREP_FEED_COMPRESS,
    PREP_FEED_FUTURE_LIMIT,
    PREP_FEED_LOAD_TIMEOUT,
    PREP_FEED_AUDIT_INTERVAL,
    PREP_FEED_SAME_TIME,
    PREP_FEED_FORMATS,
    PREP_FEED_PUBLISH_UNTIL,
    PREP_FEED_DRILL,
    PREP_FEED_NOTIFY,
    PREP_FEED_EDGE_TTL,
    PREP_FEED_CACHE_TAG,
    PREP_FEED_BANNER_POSITION,
    PREP_FEED_SOURCE,
    PREP_FEED_DIRECTIVES
};
/* Indexed by PREP_FEED_*. */
extern const prep_feed_directive_t prep_feed_directives[PREP_FEED_DIRECTIVES];

/* Directive d with the words of its line: its field of f set, or the
 * sentence of what is wrong, naming the directive as configtest does
 * ("PrepStripComponents: \"-3\" is not a number >= 0"; a wrong number of
 * words: "PrepKeep takes one argument", to which httpd adds the usage). */
const char *prep_feed_set(prep_feed_t *f, const prep_feed_directive_t *d,
                          int argc, const char *const *argv, apr_pool_t *p);
/* The words (const char *) of a directive's arguments, split as httpd's
 * configuration reader splits them (ap_getword_conf): by white space; a
 * word in double or single quotes may hold white space, and in it a
 * backslash before that quote or before a backslash stands for the
 * character after it; outside quotes \\ stands for \.  The first empty
 * word ("") ends them, as it ends the arguments httpd hands a directive. */
apr_array_header_t *prep_feed_words(const char *line, apr_pool_t *p);

/* ------------------------------------------------------------------ */
/* prep_mime.c */
/* Content-Type for a path from its extension ("application/octet-stream"
 * when unknown).  Text types carry "; charset=utf-8". */
const char *prep_mime_type(const char *path);
/* 1 for types worth precompressing (html, json, csv, js, css, svg, xml,
 * txt, map) */
int prep_mime_compressible(const char *path);
int prep_mime_is_html(const char *path);

/* ------------------------------------------------------------------ */
/* prep_compress.c */
/* The bytes of `data` in `encoding` (PREP_ENC_GZIP or PREP_ENC_BR, see
 * below), malloc'd (free() them), or NULL when the variant would save too
 * little to be worth keeping. */
unsigned char *prep_compress(int encoding, const void *data, size_t len,
                             size_t *out_len);
/* Files larger than this are "huge": compressed faster for a few percent
 * more bytes (gzip level 4 in pieces on every core, brotli quality 3), and
 * by the loader with prep_compress_stream, never read whole. */
#define PREP_HUGE_FILE (16 * 1024 * 1024)
/* The `len` bytes of in_fd at in_offset in `encoding`, with the huge-file
 * settings, read with pread and written with pwrite to out_fd from
 * out_offset (its end), a few pieces in memory at a time (gzip: a 4 MB
 * piece or two per core; brotli: its window and 1 MB in and out).  1: the
 * variant is written, *out_len bytes, their SHA-256 in sha256.  0: not
 * worth keeping (it saves under 10%, or its first 16 MB do) and -1: an
 * error (errno); in both, out_fd is truncated back to out_offset. */
int prep_compress_stream(int encoding, int in_fd, apr_off_t in_offset,
                         apr_uint64_t len, int out_fd, apr_off_t out_offset,
                         apr_uint64_t *out_len, unsigned char sha256[32]);

/* ------------------------------------------------------------------ */
/* prep_index.c: the index of a corte: one file, memory-mapped read-only by
 * every process, answering a path with one hash lookup. */
enum { PREP_ENC_IDENTITY = 0, PREP_ENC_GZIP = 1, PREP_ENC_BR = 2 };

enum {
    PREP_F_NO_STORE =
        1u << 0, /* json/main.json: no-cache, no-store, must-revalidate */
    PREP_F_CORS = 1u << 1, /* json and csv: Access-Control-Allow-Origin: * */
    PREP_F_HTML = 1u << 2, /* has banner representations */
    PREP_F_DIR = 1u << 3 /* a directory that has index.html: redirect to dir/ */
};

/* One way to send a file: which banner slot (0 = the bytes as delivered,
 * 1.. = with the feed's banner number n), which encoding, where in the pack. */
typedef struct prep_rep {
    apr_uint32_t banner;
    apr_uint32_t encoding;
    apr_uint64_t offset;
    apr_uint64_t length;
    char etag[48]; /* strong, quoted: "\"<hex of sha256 prefix>\"" */
} prep_rep_t;

typedef struct prep_index_builder prep_index_builder_t;
typedef struct prep_index prep_index_t;
typedef struct prep_index_entry prep_index_entry_t;

prep_index_builder_t *prep_index_builder_create(apr_pool_t *p);
/* path relative, no leading '/'; reps copied. */
void prep_index_add(prep_index_builder_t *b, const char *path, apr_time_t mtime,
                    apr_uint32_t flags, const prep_rep_t *reps, int nreps);
apr_status_t prep_index_write(prep_index_builder_t *b, const char *file,
                              apr_pool_t *p);
/* Whether a path is hidden (a component starts with '.'): never indexed,
 * never served. */
int prep_path_hidden(const char *path);
/* The index phase of a load: the index of a new corte written to `file`.
 * Every plan's file with its flags, mtime and reps (prep_variants.c's
 * section), and each directory of `dirs` (const char *, every directory
 * the package holds; NULL: none) that is no file itself and holds an
 * index.html among the plans, as a PREP_F_DIR entry: the redirect from
 * "dir" to "dir/".  A hidden path is never indexed.  APR_SUCCESS, or the
 * error of the write (APR_ENOSPC: the paths pass 4 GB). */
struct prep_plan;
apr_status_t prep_index_write_corte(const struct prep_plan *plans, int nplans,
                                    const apr_array_header_t *dirs,
                                    const char *file, apr_pool_t *p);

/* Maps the index; it stays mapped until pool p is cleared. */
apr_status_t prep_index_open(prep_index_t **idx, const char *file,
                             apr_pool_t *p);
/* path relative, no leading '/', len bytes (not NUL-terminated). */
const prep_index_entry_t *prep_index_lookup(const prep_index_t *idx,
                                            const char *path, apr_size_t len);
apr_uint32_t prep_index_count(const prep_index_t *idx);
const char *prep_index_entry_path(const prep_index_t *idx,
                                  const prep_index_entry_t *e);
const char *prep_index_entry_type(const prep_index_t *idx,
                                  const prep_index_entry_t *e);
apr_uint32_t prep_index_entry_flags(const prep_index_entry_t *e);
apr_time_t prep_index_entry_mtime(const prep_index_entry_t *e);
/* The representation for banner slot and encoding, or NULL. */
const prep_rep_t *prep_index_entry_rep(const prep_index_t *idx,
                                       const prep_index_entry_t *e,
                                       apr_uint32_t banner,
                                       apr_uint32_t encoding);
/* Entry number i (0 .. prep_index_count - 1, in the order they were added),
 * or NULL past the end: for walking a whole corte (prep_audit.c). */
const prep_index_entry_t *prep_index_entry_at(const prep_index_t *idx,
                                              apr_uint32_t i);
/* How many representations the entry has (0 for a PREP_F_DIR entry), and
 * the nth of them (NULL when n >= that count). */
apr_uint32_t prep_index_entry_nreps(const prep_index_entry_t *e);
const prep_rep_t *prep_index_entry_rep_at(const prep_index_t *idx,
                                          const prep_index_entry_t *e,
                                          apr_uint32_t n);
/* Fills the strong ETag of a sha256 into etag[48]. */
void prep_etag_from_sha256(char etag[48], const unsigned char sha256[32]);

/* ------------------------------------------------------------------ */
/* prep_store.c: cortes on disk.
 *   STORE/cortes/<id>/{content.pack,index.prep,corte.json}
 *   STORE/staging/<id>/   being built; removed at the next load if left
 *   STORE/current          the id being served (replaced by rename)
 *   STORE/state.json       recent rejections and history
 * A corte is never modified once under cortes/. */

/* The phases of a load, in order: PrepVerify; read, decompress, hash
 * (SHA-256 of every file and of the package, in the same pass) and write
 * to the pack; corte time and store checks; banner insertion; gzip/br
 * variants; index; publish (corte.json, fsync, rename, current). */
enum {
    PREP_PHASE_VERIFY = 0,
    PREP_PHASE_UNPACK,
    PREP_PHASE_CHECK,
    PREP_PHASE_BANNER,
    PREP_PHASE_COMPRESS,
    PREP_PHASE_INDEX,
    PREP_PHASE_PUBLISH,
    PREP_PHASES
};
/* "verify", "unpack", "check", "banner", "compress", "index", "publish" */
extern const char *const prep_phase_names[PREP_PHASES];

typedef struct prep_corte {
    const char *id;
    apr_time_t time;
    const char *label;
    const char *package; /* base name */
    const char *sha256;  /* hex of the package */
    apr_uint64_t files;
    apr_uint64_t bytes;
    apr_time_t loaded_at;
    apr_uint64_t load_ms;
    /* Milliseconds the load spent in each phase (PREP_PHASE_*), written as
     * "phases" to corte.json and the history when has_phases. */
    int has_phases;
    apr_uint64_t phases_ms[PREP_PHASES];
    /* gzip/br variants compressed by this load, and those copied from the
     * previous corte because the file's bytes did not change. */
    apr_uint64_t variants_made;
    apr_uint64_t variants_reused;
    apr_uint32_t compress_threads; /* of them, threads that compressed */
    /* Variants still to make when the corte went live (PREP_DEFER_VARIANTS),
     * and when it was complete: every variant made (its loaded_at when none
     * was deferred; 0 while some are pending).  In corte.json as
     * "variants": {"pending"} and "complete_at". */
    apr_uint64_t variants_pending;
    apr_time_t complete_at;
    /* What its banner says besides the corte time (PREP_BANNER_STATE_*
     * bits): written as "drill": true and "closed": true when set.  The
     * intake publishes a corte again from its package when the feed's
     * state asks for another banner (prep_feed_banner_state). */
    unsigned banner_state;
} prep_corte_t;

#define PREP_CURRENT_FILE "current"
#define PREP_PACK_FILE    "content.pack"
#define PREP_INDEX_FILE   "index.prep"
#define PREP_CORTE_FILE   "corte.json"
/* Where packages are set aside, in the store: never in incoming, which the
 * uploader can rename and replace. */
#define PREP_PROCESSED_DIR "processed"
#define PREP_REJECTED_DIR  "rejected"

/* "<YYYYMMDDTHHMMSSZ of corte time>-<first 8 hex of package sha>": the
 * lexical order of ids is the order of corte times. */
char *prep_corte_id(apr_pool_t *p, apr_time_t time, const char *sha256_hex);
/* Whether w has the shape of such an id (the hex digits in either case). */
int prep_corte_id_shaped(const char *w);
/* The record of a corte made from `package` (its name as shown), unpacked
 * into u, of corte time `time`: the package's SHA-256 (hex), the id, the
 * time, the package and the bytes of its files. */
void prep_corte_of_package(prep_corte_t *c, const prep_unpacked_t *u,
                           apr_time_t time, const char *package, apr_pool_t *p);
/* Creates cortes/ and staging/ if missing. */
apr_status_t prep_store_prepare(const char *store, apr_pool_t *p);
/* Removes whatever staging/ holds (a load that did not finish). */
apr_status_t prep_store_clean_staging(const char *store, apr_pool_t *p);
/* Takes STORE/loader.lock, held by one loader at a time, until pool p is
 * cleared; APR_EAGAIN when another process holds it. */
apr_status_t prep_store_lock(const char *store, apr_pool_t *p);
char *prep_store_corte_dir(apr_pool_t *p, const char *store, const char *id);
char *prep_store_staging_dir(apr_pool_t *p, const char *store, const char *id);
/* Writes c's record as corte.json in dir, replacing it atomically; reads
 * it back (APR_EGENERAL when it is not JSON or not a record). */
apr_status_t prep_store_write_corte(const char *dir, const prep_corte_t *c,
                                    apr_pool_t *p);
apr_status_t prep_store_read_corte(prep_corte_t **c, const char *dir,
                                   apr_pool_t *p);
/* fsyncs staging/<id>, renames it to cortes/<id>, then replaces current. */
apr_status_t prep_store_promote(const char *store, const char *id,
                                apr_pool_t *p);
/* Names the staging directory `staging` staging/<id> and promotes it,
 * replacing a corte of the same id (an interrupted load's, or one being
 * healed). */
apr_status_t prep_store_publish(const char *store, const char *staging,
                                const char *id, apr_pool_t *p);
/* The same for a corte of a pinned feed: promoted into STORE/cortes under
 * its id, `current` left as it is (the corte is retained, not served). */
apr_status_t prep_store_retain(const char *store, const char *staging,
                               const char *id, apr_pool_t *p);
/* Makes this load's own staging directory (staging/load-<pid>) and its
 * empty content.pack, opened to read and write: its path in *dir. */
apr_status_t prep_store_stage(const char **dir, apr_file_t **pack,
                              const char *store, apr_pool_t *p);
/* prep_store_lock for a load: held until lock_pool is cleared, else
 * refused as busy (another loader holds it, or it cannot be opened). */
apr_status_t prep_store_lock_load(const char *store, apr_pool_t *lock_pool,
                                  prep_verdict_t *v, apr_pool_t *p);
/* The staging directory (staging/complete-<pid>) in which corte `id` is
 * completed: its content.pack a second link to the corte's own, opened to
 * be grown at its end (pack->end). */
apr_status_t prep_store_stage_completion(const char **dir,
                                         struct prep_pack *pack,
                                         const char *store, const char *id,
                                         apr_pool_t *p);
/* Whether the store's file system is full: under 1 MB (*avail bytes) or
 * no inode left for this account.  Then a failed write is the disk's
 * fault, not the package's. */
int prep_store_full(const char *store, apr_uint64_t *avail, apr_pool_t *p);
/* Whether a store write failed because the store cannot take a corte now
 * (not writable, read-only, over quota), rather than because of the
 * package. */
int prep_store_refuses(apr_status_t rv);
/* The id in current, or NULL (and APR_ENOENT) when none. */
apr_status_t prep_store_current(const char **id, const char *store,
                                apr_pool_t *p);
/* Whether corte `id` can be served: its corte.json reads and names it, its
 * index opens.  The corte in *c when it can (c may be NULL). */
int prep_store_corte_usable(prep_corte_t **c, const char *store, const char *id,
                            apr_pool_t *p);
/* The corte to serve: current when usable, else the newest usable corte
 * (a corte.json or index that cannot be read never leaves a feed with
 * nothing).  *id NULL when there is none; *fallback set when it is not
 * current's. */
apr_status_t prep_store_serving(const char **id, prep_corte_t **c,
                                int *fallback, const char *store,
                                apr_pool_t *p);
/* Removes the oldest cortes so that `keep` remain; never `current`, nor the
 * newest (a pinned feed's current is older: unpin serves the newest). */
apr_status_t prep_store_prune(const char *store, int keep, apr_pool_t *p);
/* state.json, newest first: the last 20 rejections ("package", "reason",
 * "message", "at" in epoch seconds) and the records of the last 20 cortes
 * published. */
apr_status_t prep_store_record_rejected(const char *store, const char *package,
                                        const prep_verdict_t *v, apr_time_t at,
                                        apr_pool_t *p);
apr_status_t prep_store_record_history(const char *store, const prep_corte_t *c,
                                       apr_pool_t *p);
/* Replaces the newest history entry of corte c's id with c's record (a
 * corte completed after it went live); none: nothing. */
apr_status_t prep_store_update_history(const char *store, const prep_corte_t *c,
                                       apr_pool_t *p);
/* The corte recorded in the history under `id` (the newest such record),
 * or APR_ENOENT: what is known of a corte whose corte.json cannot be
 * read. */
apr_status_t prep_store_history_find(prep_corte_t **c, const char *store,
                                     const char *id, apr_pool_t *p);
/* jansson's json_t, declared so that this header needs no jansson.h. */
struct json_t;
/* The parsed state.json, {"rejected": [...], "history": [...]}, or an
 * empty state; the caller json_decref()s it. */
struct json_t *prep_store_read_state(const char *store, apr_pool_t *p);
/* Writes `len` bytes to path through path.tmp (0644), synced, then
 * renamed over path: readers see the old file or the new one, whole. */
apr_status_t prep_store_write_atomic(const char *path, const void *data,
                                     apr_size_t len, apr_pool_t *p);
/* fsyncs what path names, a file or a directory (so that the names a
 * rename made in it survive a crash): the store's and the journal's one
 * sync. */
apr_status_t prep_store_sync(const char *path);

/* STORE/counters.json: the feed's journal counted, so that the counters
 * Prometheus scrapes survive restarts without a status request reading
 * the journal: loads by result, refusals by reason, intake restarts and
 * the last load's duration.  prep_journal_append keeps it, under
 * journal.lock, for every line it appends (write-then-rename); a file
 * missing or unreadable is counted again from the journal (the last 30
 * days) at the next append.  prepctl reset leaves it with the journal. */
#define PREP_COUNTERS_FILE "counters.json"
/* More distinct refusal reasons than this are counted under "other". */
#define PREP_COUNTERS_REASONS_MAX 64

/* How a load ended, as counted: one per journal event "published",
 * "retained", "republished", "same-corte", "refused", "loader-crash". */
typedef enum {
    PREP_COUNTED_PUBLISHED = 0,
    PREP_COUNTED_RETAINED,
    PREP_COUNTED_REPUBLISHED,
    PREP_COUNTED_SAME_CORTE,
    PREP_COUNTED_REFUSED,
    PREP_COUNTED_CRASHED,
    PREP_COUNTED_RESULTS
} prep_counted_e;

/* "published", "retained", "republished", "same-corte", "refused",
 * "crashed" */
const char *prep_counted_text(prep_counted_e r);

/* A refusal reason and how many packages were refused for it. */
typedef struct prep_reason_count {
    const char *reason;
    apr_uint64_t count;
} prep_reason_count_t;

typedef struct prep_counters {
    apr_uint64_t loads[PREP_COUNTED_RESULTS];
    apr_array_header_t *refusals; /* prep_reason_count_t, by reason */
    apr_uint64_t intake_restarts;
    /* the last load that made a corte (published, retained, republished):
     * when it ended (0: none yet) and how long it took */
    apr_time_t last_load_at;
    apr_uint64_t last_load_ms;
    apr_time_t since; /* when counting began (the oldest line counted) */
} prep_counters_t;

void prep_counters_init(prep_counters_t *c, apr_pool_t *p);
/* Counts journal line `line` (its "event", and "reason" or "corte"'s
 * "load_ms"): 1 when it changed c, 0 for an event not counted. */
int prep_counters_add(prep_counters_t *c, const struct json_t *line,
                      apr_pool_t *p);
/* STORE/counters.json into c: APR_ENOENT when there is none, APR_EINVAL
 * when it is not a counters record (c is then zero). */
apr_status_t prep_store_read_counters(prep_counters_t *c, const char *store,
                                      apr_pool_t *p);
/* Replaces STORE/counters.json (prep_store_write_atomic). */
apr_status_t prep_store_write_counters(const char *store,
                                       const prep_counters_t *c, apr_pool_t *p);

/* The corte record: the one mapping of a prep_corte_t to JSON, used by
 * corte.json, the history in state.json and the status document.  Its
 * keys, in this order; "phases" (PREP_PHASES keys named by
 * prep_phase_names, ms) and "variants" only when the load measured them
 * (has_phases).  Times are in one unit, apr_time_t (microseconds since
 * the epoch); load_ms and phases in milliseconds. */
#define PREP_CORTE_KEY_ID          "id"
#define PREP_CORTE_KEY_TIME        "time"
#define PREP_CORTE_KEY_LABEL       "label"
#define PREP_CORTE_KEY_PACKAGE     "package"
#define PREP_CORTE_KEY_SHA256      "sha256"
#define PREP_CORTE_KEY_FILES       "files"
#define PREP_CORTE_KEY_BYTES       "bytes"
#define PREP_CORTE_KEY_LOADED_AT   "loaded_at"
#define PREP_CORTE_KEY_LOAD_MS     "load_ms"
#define PREP_CORTE_KEY_PHASES      "phases"
#define PREP_CORTE_KEY_VARIANTS    "variants" /* {"made", "reused", "threads"} */
#define PREP_CORTE_KEY_MADE        "made"
#define PREP_CORTE_KEY_REUSED      "reused"
#define PREP_CORTE_KEY_THREADS     "threads"
#define PREP_CORTE_KEY_PENDING     "pending"
#define PREP_CORTE_KEY_COMPLETE_AT "complete_at"
#define PREP_CORTE_KEY_DRILL       "drill"  /* true: banner says SIMULACRO */
#define PREP_CORTE_KEY_CLOSED      "closed" /* true: banner says the close */

/* The record of c.  shown_in NULL: as stored (times as integers); else as
 * the status shows it, the times as ISO-8601 text in that zone (null when
 * 0).  A new reference: the caller json_decref()s it or hands it on. */
struct json_t *prep_corte_to_json(const prep_corte_t *c,
                                  const prep_zone_t *shown_in, apr_pool_t *p);
/* The corte of a stored record.  APR_EINVAL when json is not an object or
 * its "id" is not a string; any other key missing or of another type reads
 * as empty ("" or 0, no phases), as a corte.json written by an older
 * version does. */
apr_status_t prep_corte_from_json(prep_corte_t **c, const struct json_t *json,
                                  apr_pool_t *p);
/* What the load of c measured, as text for a log line: "verify 0, unpack
 * 812, check 3, banner 95, compress 1200, index 20, publish 40; variants
 * 120 made, 2400 reused" (milliseconds). */
const char *prep_corte_load_text(const prep_corte_t *c, apr_pool_t *p);

/* ------------------------------------------------------------------ */
/* prep_incoming.c: what happens in PrepIncoming, a directory the uploader
 * writes: every name there is read without following links, a package is
 * opened once, and nothing mod_prep writes lives there. */

/* A file as it was seen: the same name with another identity is another
 * upload. */
typedef struct prep_file_identity {
    apr_uint64_t dev, ino;
    apr_off_t size;
    apr_time_t mtime;
    /* not part of the identity: later than mtime when the last thing done
     * to the file was a rename (an upload finished as NAME.part → NAME), the
     * same when it was a write under its final name */
    apr_time_t ctime;
} prep_file_identity_t;

int prep_identity_equal(const prep_file_identity_t *a,
                        const prep_file_identity_t *b);

/* What a name in incoming is, from lstat (fstatat AT_SYMLINK_NOFOLLOW). */
typedef enum {
    PREP_INCOMING_PACKAGE = 0, /* a regular file the loader can read */
    PREP_INCOMING_IN_PROGRESS, /* ".x", "*.part", sidecars...: not read */
    PREP_INCOMING_LINK,
    PREP_INCOMING_FIFO,
    PREP_INCOMING_DIRECTORY,
    PREP_INCOMING_SPECIAL, /* socket, device */
    PREP_INCOMING_UNREADABLE,
    PREP_INCOMING_GONE
} prep_incoming_kind_e;

/* "symbolic link", "FIFO", ... for the status; NULL for a package. */
const char *prep_incoming_kind_text(prep_incoming_kind_e k);
prep_incoming_kind_e prep_incoming_classify(int dirfd, const char *name,
                                            prep_file_identity_t *id);

/* The account that reads PrepIncoming, as open(2) judges a read: its uid,
 * its group and its other groups (uid 0 reads everything). */
typedef struct prep_reader {
    apr_uid_t uid;
    apr_gid_t gid;
    const apr_gid_t *groups;
    int ngroups;
} prep_reader_t;

/* What a name of lstat result st is to `reader` (NULL: this process): the
 * decision prep_incoming_classify makes.  A regular file with a name of an
 * upload in progress is PREP_INCOMING_IN_PROGRESS whatever its mode; any
 * other regular file is a package, or PREP_INCOMING_UNREADABLE when the
 * reader may not read it. */
struct stat;
prep_incoming_kind_e prep_incoming_kind_of(const char *name,
                                           const struct stat *st,
                                           const prep_reader_t *reader);

/* The verdict on a settled regular file the loader account cannot read
 * (PREP_INCOMING_UNREADABLE, lstat result st): reason "unreadable"; the
 * message tells its mode, owner and group, the account that must read it
 * (`loader`; NULL: this process's), and how to send it again readable
 * (mode 0644: chmod, internal-sftp -u 0022 [-m 0644]). */
void prep_incoming_unreadable_verdict(prep_verdict_t *v, const struct stat *st,
                                      const char *loader, apr_pool_t *p);
/* Renames the regular file `name` of dirfd, which the loader account may
 * not open (so it cannot be copied), into to_fd as it is, st being what
 * fstatat said of it just before: then checks that what arrived is that
 * file, since the uploader may rename another (a link, a FIFO, a
 * directory) over the name in between; anything else is put back (or,
 * when it cannot be, removed unless a directory) and APR_EMISMATCH is
 * returned.  APR_SUCCESS or the error. */
apr_status_t prep_incoming_move_unread(int dirfd, const char *name,
                                       const struct stat *st, int to_fd);

/* Opens `name` once (O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC, then blocking): a
 * regular file whose identity is *expected (when not NULL).  APR_SUCCESS;
 * APR_EMISMATCH when it is not, or no longer, that file (a link, a FIFO,
 * another inode, another size or mtime); or the open's error. */
apr_status_t prep_incoming_open(apr_file_t **out, prep_file_identity_t *id,
                                int dirfd, const char *name,
                                const prep_file_identity_t *expected,
                                apr_pool_t *p);
/* The whole of a small regular file `name` (a sidecar), NUL-terminated, at
 * most `max` bytes; *why says what was wrong otherwise. */
apr_status_t prep_incoming_read_small(char **text, apr_size_t *len, int dirfd,
                                      const char *name, apr_size_t max,
                                      const char **why, apr_pool_t *p);
/* Whether `name` in dirfd still names the file of identity id (dev and
 * inode, size and mtime). */
int prep_incoming_still(int dirfd, const char *name,
                        const prep_file_identity_t *id);
/* Whether the package's descriptor still shows the file of identity id
 * (size and mtime): an upload that goes on, or a retry that rewrites it,
 * changes them. */
int prep_incoming_unchanged(apr_file_t *package,
                            const prep_file_identity_t *id);

typedef enum { PREP_ASIDE_PROCESSED = 0, PREP_ASIDE_REJECTED } prep_aside_e;

/* Sets a package aside, with its sidecars, into STORE/processed or
 * STORE/rejected (with NAME.reason when v has a reason): moved when `name`
 * still names `id`, copied from `package` when the store is on another
 * file system.  The one function the loader and the intake both use. */
struct prep_feed;
apr_status_t prep_incoming_set_aside(const struct prep_feed *feed, int dirfd,
                                     const char *name, apr_file_t *package,
                                     const prep_file_identity_t *id,
                                     prep_aside_e where,
                                     const prep_verdict_t *v, apr_pool_t *p);
/* Removes the oldest packages of STORE/processed beyond `keep`. */
void prep_incoming_prune_processed(const struct prep_feed *feed, apr_pool_t *p);
/* A name as it may be shown (status, history, log): bytes that are not
 * UTF-8, and control characters, as \xNN. */
const char *prep_name_shown(apr_pool_t *p, const char *name);

/* ------------------------------------------------------------------ */
/* prep_audit.c: checks that a published corte (STORE/cortes/<id>/) still
 * holds the bytes its load published.  Every representation's bytes in
 * content.pack are read again and their SHA-256 compared with the ETag the
 * index recorded for them.  The reading is sliced: each prep_audit_step
 * reads at most budget_bytes of the pack through one 64 KB buffer and
 * resumes where the previous step stopped, so the intake can audit the
 * served corte between polls.  prep_audit_open also checks, without
 * reading the pack: index.prep opens and is valid (prep_index_open), every
 * representation lies inside content.pack's size, every file has a
 * representation, and corte.json reads, its "id" is the directory's name
 * and its "files" is the index's number of files.
 *
 * Everything (the index mapping, the pack's descriptor, the results) lives
 * in the pool given to prep_audit_open; clearing it ends the audit.  An
 * audit opened before the corte was pruned goes on reading the removed
 * files through its descriptor and mapping. */
typedef enum {
    PREP_AUDIT_DIFFERS = 0, /* read whole; its SHA-256 is not its ETag's */
    PREP_AUDIT_OUTSIDE,     /* offset + length past content.pack's end */
    PREP_AUDIT_UNREADABLE   /* no content.pack, a read error or a short read */
} prep_audit_fault_e;

/* One representation whose bytes are not what was published. */
typedef struct prep_audit_bad {
    const char *path;      /* as in the index, relative */
    apr_uint32_t banner;   /* 0 = as delivered, n = with banner n */
    apr_uint32_t encoding; /* PREP_ENC_* */
    prep_audit_fault_e fault;
} prep_audit_bad_t;

/* Known at open, except `checked` and `reps_checked` which grow with each
 * step; once done, checked == bytes. */
typedef struct prep_audit_totals {
    apr_uint64_t files;        /* index entries that are not PREP_F_DIR */
    apr_uint64_t reps;         /* representations in the index */
    apr_uint64_t bytes;        /* sum of the lengths of those inside the pack */
    apr_uint64_t pack_size;    /* content.pack's size at open */
    apr_uint64_t checked;      /* bytes of the pack read so far */
    apr_uint64_t reps_checked; /* representations read whole and compared */
} prep_audit_totals_t;

typedef struct prep_audit prep_audit_t;

/* Starts the audit of corte_dir (STORE/cortes/<id>) and does the checks
 * that need no reading of the pack; what they find is in prep_audit_bad
 * and prep_audit_problems.  APR_SUCCESS and *a whenever corte_dir is a
 * directory (even a broken one); otherwise its apr_stat error (APR_ENOENT)
 * or APR_ENOTDIR, and *a = NULL. */
apr_status_t prep_audit_open(prep_audit_t **a, const char *corte_dir,
                             apr_pool_t *p);
/* Reads and hashes at most budget_bytes more of the pack (0: one buffer,
 * 64 KB) from where the last step stopped; sets *done to 1 once every
 * representation has been compared (in the step that read the last byte).
 * Always APR_SUCCESS: a read error is recorded as that representation's
 * PREP_AUDIT_UNREADABLE and the audit goes on. */
apr_status_t prep_audit_step(prep_audit_t *a, apr_uint64_t budget_bytes,
                             int *done);
/* The representations found bad so far (prep_audit_bad_t), in index
 * order; those outside the pack are there from open. */
const apr_array_header_t *prep_audit_bad(const prep_audit_t *a);
/* Sentences (const char *) about the corte as a whole: content.pack or
 * index.prep that cannot be opened, a damaged index, a file without a
 * representation, corte.json unreadable or disagreeing. */
const apr_array_header_t *prep_audit_problems(const prep_audit_t *a);
const prep_audit_totals_t *prep_audit_totals(const prep_audit_t *a);
/* 1 when the audit is done and found nothing bad and no problem. */
int prep_audit_ok(const prep_audit_t *a);
/* Open and steps to the end: prep_audit_open's error, else APR_SUCCESS
 * when prep_audit_ok and APR_EGENERAL when not (details in *a). */
apr_status_t prep_audit_corte(prep_audit_t **a, const char *corte_dir,
                              apr_pool_t *p);
/* "differs", "outside-pack", "unreadable" */
const char *prep_audit_fault_name(prep_audit_fault_e fault);
/* "identity", "gzip", "br" (PREP_ENC_*), "unknown" */
const char *prep_encoding_name(apr_uint32_t encoding);

/* ------------------------------------------------------------------ */
/* prep_variants.c: a new corte's files, their representations in its
 * pack, and their precompressed (gzip, br) variants. */

/* The pack of a corte being built: its descriptor (read and write) and the
 * offset where the next bytes go. */
typedef struct prep_pack {
    apr_file_t *file;
    apr_off_t end;
} prep_pack_t;

/* One file of the new corte and the ways it can be sent: reps[0] its
 * bytes as delivered, then its banner reps, then their variants; reps has
 * room for 3 per banner slot (identity, gzip, br). */
typedef struct prep_plan {
    const prep_entry_t *entry;
    /* its Last-Modified: the entry's mtime, or the previous corte's when
     * the file is unchanged (prep_variants_add), as its ETag stays */
    apr_time_t mtime;
    apr_uint32_t flags; /* PREP_F_* */
    int nreps;
    prep_rep_t *reps;
} prep_plan_t;

/* A plan for every file of u but hidden ones, in archive order (*nplans of
 * them), flagged by its path (PREP_F_NO_STORE, _CORS, _HTML), with room
 * for the reps of nbanners banner slots. */
prep_plan_t *prep_plans_make(const prep_unpacked_t *u, int nbanners,
                             int *nplans, apr_pool_t *p);
/* `len` bytes of the pack at `offset`, NUL-terminated, into *out. */
apr_status_t prep_pack_read(const prep_pack_t *pack, apr_off_t offset,
                            apr_size_t len, char **out, apr_pool_t *p);
/* Writes `data` at the pack's end and fills *rep's offset, length and ETag
 * (its SHA-256); the end moves past it. */
apr_status_t prep_pack_append(prep_pack_t *pack, const void *data,
                              apr_size_t len, prep_rep_t *rep);

/* What prep_variants_add did: variants compressed, variants copied from
 * the previous corte, the most threads that compressed in one batch, and
 * the variants left to make after the corte is live (deferred). */
typedef struct prep_variants_count {
    apr_uint64_t made;
    apr_uint64_t reused;
    apr_uint32_t threads;
    apr_uint64_t pending;
} prep_variants_count_t;

/* A corte whose new variants would compress more than this many bytes of
 * files is published first with its identity bytes and the variants it
 * reuses, and completed with the others right after (the reference
 * package, with its 97 MB CSV, live in under a second). */
#define PREP_DEFER_VARIANTS (16 * 1024 * 1024)

/* Adds to every plan of a compressible file (prep_mime_compressible) the
 * variants of `compress` (1 << PREP_ENC_GZIP | 1 << PREP_ENC_BR) of each of
 * its reps, appended to the pack.  A variant of the same bytes in the corte
 * at previous_dir (NULL: none) is copied from its pack; the others are
 * compressed on every core, in batches of at most 128 MB of files held in
 * memory, files over PREP_HUGE_FILE streamed (through temporary files in
 * tmp_dir).  A variant not worth keeping is left out.  A file with the
 * same bytes as in the previous corte keeps its mtime too.  When the
 * variants to compress (not reused) would read more than defer_over bytes
 * (0: no bound), only the reused ones are added and the others counted in
 * n->pending, for prep_variants_complete.  APR_SUCCESS, or the error of a
 * write to the pack. */
apr_status_t prep_variants_add(prep_pack_t *pack, prep_plan_t *plans,
                               int nplans, unsigned compress,
                               const char *previous_dir, const char *tmp_dir,
                               apr_uint64_t defer_over,
                               prep_variants_count_t *n, apr_pool_t *p);
/* Adds the variants of `compress` the plans still lack (those
 * prep_variants_add deferred), made on every core, at the pack's end. */
apr_status_t prep_variants_complete(prep_pack_t *pack, prep_plan_t *plans,
                                    int nplans, unsigned compress,
                                    const char *tmp_dir,
                                    prep_variants_count_t *n, apr_pool_t *p);

/* ------------------------------------------------------------------ */
/* prep_incremental.c: incremental packages.  A package whose top holds
 * prep-incremental.json, {"base": CORTE_ID_OR_TIME, "deleted": [PATH, ...]}
 * (and optionally "format": 1, nothing else), carries only the files that
 * changed since its base corte; it is applied over that base into a new,
 * complete corte.  A manifest that is not exactly that is refused as
 * "incremental"; a base other than the corte measured against, as
 * "base-mismatch". */

#define PREP_INCREMENTAL_FILE "prep-incremental.json"
#define PREP_INCREMENTAL_MAX  (1024 * 1024) /* bytes of the manifest */

typedef struct prep_incremental {
    const char *base; /* as written: a corte id or a time */
    int base_is_time; /* base is a time (base_time), not an id */
    apr_time_t base_time;
    apr_array_header_t *deleted; /* const char *: the paths deleted */
} prep_incremental_t;

/* What a merge made: files carried by the package, kept from the base,
 * deleted from it. */
typedef struct prep_incremental_count {
    apr_uint64_t carried, kept, deleted;
} prep_incremental_count_t;

/* The manifest's entry among u's files (its path after the package rules'
 * strip is PREP_INCREMENTAL_FILE), or NULL: a full package. */
const prep_entry_t *prep_incremental_entry(const prep_unpacked_t *u);
/* The manifest in text (len bytes) into *m, its deleted paths checked
 * against the package rules and `limits` (NULL: no depth limit); refused as
 * "incremental" otherwise. */
apr_status_t prep_incremental_parse(prep_incremental_t **m, const char *text,
                                    apr_size_t len, const prep_limits_t *limits,
                                    prep_verdict_t *v, apr_pool_t *p);
/* The manifest of u read from the pack and parsed into *m; *m NULL and
 * APR_SUCCESS when u is a full package. */
apr_status_t prep_incremental_read(prep_incremental_t **m,
                                   const prep_unpacked_t *u, apr_file_t *pack,
                                   const prep_limits_t *limits,
                                   prep_verdict_t *v, apr_pool_t *p);
/* Whether m's base names `corte` (its id, or its time as an instant). */
int prep_incremental_names(const prep_incremental_t *m,
                           const prep_corte_t *corte);
/* That m's base is `base` (NULL: there is none), "what" it is to the load
 * ("the corte served"); refused as base-mismatch naming both otherwise. */
apr_status_t prep_incremental_base_check(const prep_incremental_t *m,
                                         const prep_corte_t *base,
                                         const char *what,
                                         const prep_zone_t *zone,
                                         prep_verdict_t *v, apr_pool_t *p);
/* The newest usable corte of the store that m's base names, or NULL. */
prep_corte_t *prep_incremental_find_base(const prep_incremental_t *m,
                                         const char *store, apr_pool_t *p);
/* u (the package unpacked, its bytes in `pack`) applied over the base corte
 * base_id in base_dir: every base file neither deleted nor carried, its
 * bytes copied to the pack's end (checked against its ETag) with its
 * Last-Modified, then the files carried (not the manifest), into *out;
 * `limits` (files, bytes, file, depth) over the whole.  Refused as
 * "incremental" when a deletion names no file of the base, a path is both
 * carried and deleted, or both a file and a directory. */
apr_status_t
prep_incremental_merge(prep_unpacked_t **out, prep_incremental_count_t *count,
                       const prep_unpacked_t *u, const prep_incremental_t *m,
                       const char *base_id, const char *base_dir,
                       apr_file_t *pack, const prep_limits_t *limits,
                       prep_verdict_t *v, apr_pool_t *p);

/* A load's incremental step, after the unpack. */
typedef struct prep_incremental_load {
    prep_incremental_t *manifest; /* NULL: a full package */
    const prep_corte_t *base;
    prep_incremental_count_t count;
} prep_incremental_load_t;
/* When *u is incremental: its manifest, its base checked to be `against`
 * (described as against_what in the refusal), or for a republish found
 * among the feed's retained cortes, and *u replaced by the merge. */
apr_status_t
prep_incremental_apply(prep_incremental_load_t *inc, prep_unpacked_t **u,
                       const prep_feed_t *feed, const prep_corte_t *against,
                       const char *against_what, int republish,
                       apr_file_t *pack, prep_verdict_t *v, apr_pool_t *p);

/* ------------------------------------------------------------------ */
/* prep_verify.c: PrepVerify; the checks of a package that need no store
 * (a load's verify, unpack and check phases, and prepctl verify); and the
 * identity of a package published again. */

/* Whether PUBKEY.pem of `PrepVerify signature` is a PEM public key
 * mod_prep can verify with (RSA, ECDSA, Ed25519); error or NULL. */
const char *prep_verify_key_check(const char *path, apr_pool_t *p);
/* PrepVerify over the package's one descriptor.  The sidecar (NAME.sha256
 * or NAME.sig beside it in dirfd) is read without following links, bounded
 * in size.  On success `sha256` holds the package's SHA-256 as verified:
 * the unpack must find the same. */
apr_status_t prep_verify_package(const prep_feed_t *feed, int dirfd,
                                 const char *name, apr_file_t *package,
                                 unsigned char sha256[32],
                                 prep_verdict_t *verdict, apr_pool_t *p);
/* With PrepVerify, that the package's SHA-256 taken by the unpack is the
 * one verified (the bytes did not change between the two reads of its
 * descriptor); refused as "verify" otherwise.  Without, APR_SUCCESS. */
apr_status_t prep_verify_unpacked(const prep_feed_t *feed, const char *name,
                                  const unsigned char verified[32],
                                  const unsigned char unpacked[32],
                                  prep_verdict_t *verdict, apr_pool_t *p);
/* The unpack phase of a load: the feed's package rules (PrepLimits,
 * PrepStripComponents, PrepFormats) over the package's one descriptor,
 * every file's bytes into `pack`.  An unpack that fails without a verdict
 * is refused as "io". */
apr_status_t prep_verify_unpack(prep_unpacked_t **unpacked,
                                const prep_feed_t *feed, apr_file_t *package,
                                apr_file_t *pack, prep_verdict_t *verdict,
                                apr_pool_t *p);
/* The package's half of a load's check phase: the bytes unpacked are the
 * bytes verified (prep_verify_unpacked), and its corte time, read from where
 * the feed says (its files' bytes in `pack`; `mtime`: the package's), is not
 * further ahead than PrepFutureLimit (prep_corte_time_check). */
apr_status_t prep_verify_checked(apr_time_t *corte_time,
                                 const prep_feed_t *feed, const char *name,
                                 apr_time_t mtime,
                                 const unsigned char verified[32],
                                 const prep_unpacked_t *unpacked,
                                 apr_file_t *pack, prep_verdict_t *verdict,
                                 apr_pool_t *p);

/* What a package holds once every check that does not need the store has
 * passed: PrepVerify, the package rules (its files written into `pack`),
 * the bytes unpacked are the bytes verified, a readable corte time not
 * further ahead than PrepFutureLimit. */
typedef struct prep_checked {
    prep_unpacked_t *unpacked;
    apr_time_t corte_time; /* 0: an incremental package checked alone
                            * does not carry it */
    /* an incremental package: its manifest, and over the base given, the
     * base and what the merge made (unpacked: the merged corte's files) */
    prep_incremental_t *incremental;
    const prep_corte_t *base;
    prep_incremental_count_t count;
} prep_checked_t;

/* `prepctl verify`: the package at package_path opened once, as a load
 * opens it, then exactly the functions of a load's verify, unpack and check
 * phases that need no store (prep_verify_package, prep_verify_unpack,
 * prep_verify_checked), in that order.  *out always (unpacked NULL when
 * the unpack was not reached); APR_SUCCESS, or the refusal in *verdict. */
apr_status_t prep_package_check(prep_checked_t **out, const prep_feed_t *feed,
                                const char *package_path, apr_file_t *pack,
                                prep_verdict_t *verdict, apr_pool_t *p);
/* The same, an incremental package (prep_incremental.c) applied over the
 * base corte `base` (its record; its files in base_dir) before its corte
 * time is read: refused as base-mismatch unless its manifest names it.
 * base NULL: an incremental package is checked alone (its manifest, its
 * files; a corte time it does not carry is no refusal, corte_time 0). */
apr_status_t prep_package_check_over(prep_checked_t **out,
                                     const prep_feed_t *feed,
                                     const char *package_path,
                                     const prep_corte_t *base,
                                     const char *base_dir, apr_file_t *pack,
                                     prep_verdict_t *verdict, apr_pool_t *p);
/* A republish: that the retained package gives again the corte it was
 * published as, `corte_id` (NULL: any id) and, to the whole SHA-256, not
 * only the 8 digits an id carries, `corte_sha256` (hex; NULL: none known,
 * refused).  `corte` is the one it gives.  Refused as "verify" otherwise. */
apr_status_t prep_verify_republished(const prep_corte_t *corte,
                                     const char *corte_id,
                                     const char *corte_sha256,
                                     prep_verdict_t *verdict, apr_pool_t *p);

/* ------------------------------------------------------------------ */
/* prep_loader.c: one package → one corte, or one refusal. */

typedef void prep_log_fn(void *baton, int is_error, const char *msg);

/* How one load ended; the loader process's exit status carries it to the
 * intake (prep_load_exit_status / prep_load_outcome_of, prep_incoming.c). */
typedef enum {
    PREP_LOAD_PUBLISHED = 0, /* a new corte is served */
    PREP_LOAD_SAME,          /* the corte already served: set aside */
    PREP_LOAD_REFUSED,       /* set aside in STORE/rejected with its reason */
    PREP_LOAD_BUSY,    /* the store cannot take a corte now: tried again */
    PREP_LOAD_CHANGED, /* the package changed, or its name now names another
                        * file: not set aside, examined again once settled */
    PREP_LOAD_HELD,    /* truncated but still recent (a stalled upload):
                        * left in incoming until it changes or the wait ends */
    PREP_LOAD_CRASHED, /* no verdict: the loader died (intake only) */
    PREP_LOAD_RETAINED /* the feed is pinned: the new corte is kept in
                        * STORE/cortes, not served */
} prep_load_outcome_e;

/* What the intake asks of a loader. */
typedef enum {
    PREP_LOAD_NEW = 0,  /* a package settled in incoming */
    PREP_LOAD_FINAL,    /* the same, after its hold: truncated is refused */
    PREP_LOAD_REPUBLISH /* heal: the served corte's retained package again,
                         * from STORE/processed, replacing the corte */
} prep_load_mode_e;

typedef struct prep_load_request {
    const char *name;                 /* base name in incoming */
    const prep_file_identity_t *seen; /* as it settled; NULL: any */
    prep_load_mode_e mode;
    const char *corte_id;     /* REPUBLISH: the corte it must give again */
    const char *corte_sha256; /* and that corte's package SHA-256 (hex) */
    /* REPUBLISH: why, as the journal's "republished" says it: "healed" (the
     * served corte's bytes were damaged) or "banner" (the feed's state asks
     * for another banner); NULL: "healed". */
    const char *why;
    /* PrepSource tree: the signature of the tree as it was quiet (NULL:
     * any); name is then the snapshot's */
    const unsigned char *tree_signature;
} prep_load_request_t;

/* ------------------------------------------------------------------ */
/* prep_tree.c: PrepSource tree, a PrepIncoming updated in place; a quiet
 * tree is snapshotted into a tar of STORE/snapshot, loaded as a package. */

#define PREP_SNAPSHOT_DIR  "snapshot"
#define PREP_TREE_LAST     PREP_SNAPSHOT_DIR "/last"
#define PREP_TREE_MANIFEST "SHA256SUMS"

/* What one walk of a tree saw. */
typedef struct prep_tree_walk {
    unsigned char signature[32]; /* every name, kind, size, times, inode */
    apr_uint64_t entries, files, bytes;
    apr_time_t newest;        /* the newest mtime of a file (whole seconds) */
    const char *temporary;    /* the first name of an upload in progress */
    const char *deep;         /* a directory past PrepLimits depth (+1) */
    int over_files;           /* more entries than PrepLimits files */
    apr_status_t error;       /* a directory that could not be read... */
    const char *error_path;   /* ...its path ("." the top) */
    apr_array_header_t *list; /* the entries, in the walk's order */
} prep_tree_walk_t;

/* A snapshot written. */
typedef struct prep_tree_snapshot {
    unsigned char signature[32]; /* of the tree it was taken from */
    unsigned char sha256[32];    /* of the tar */
    apr_uint64_t size;           /* of the tar */
    apr_uint64_t files, bytes;   /* the tree's files copied */
} prep_tree_snapshot_t;

/* A name of an upload in progress: .part, .filepart, .tmp, rsync's
 * .NAME.XXXXXX and .~tmp~. */
int prep_tree_name_temporary(const char *name);
/* Walks the tree at root without following a link, each directory in name
 * order, at most PrepLimits files entries and depth + 1 levels: the error
 * of a directory that cannot be read, else APR_SUCCESS. */
apr_status_t prep_tree_walk(prep_tree_walk_t *w, const char *root,
                            const prep_limits_t *limits, apr_pool_t *p);
/* "tree-YYYYMMDDTHHMMSSZ.tar": the name of a snapshot taken at t. */
const char *prep_tree_snapshot_name(apr_time_t t, apr_pool_t *p);
/* The feed as a load of its snapshot reads it: a tar (whatever
 * PrepFormats), checked against its sidecar when PrepVerify is not none;
 * the feed itself unless PrepSource tree. */
const prep_feed_t *prep_tree_load_feed(const prep_feed_t *feed, apr_pool_t *p);
/* Snapshots the feed's tree into dir/name (through name.tmp), with its
 * sidecar name.sha256, when it is still the tree of signature `quiet`
 * (NULL: any) with no upload in progress, and it did not move while read.
 * APR_SUCCESS, with v->reason set when the tree breaks a rule the tar
 * cannot carry (a hard link, a socket, a file it cannot read, the limits,
 * PrepVerify's manifest): the tar then holds what came before, to be set
 * aside with the refusal.  APR_EAGAIN: it moved, nothing written; another
 * error: the store's. */
apr_status_t prep_tree_snapshot(prep_tree_snapshot_t *out,
                                const prep_feed_t *feed,
                                const unsigned char *quiet, const char *dir,
                                const char *name, prep_verdict_t *v,
                                apr_pool_t *p);
/* STORE/snapshot/last: the signature of the tree loaded last, whatever the
 * load's verdict, so that a restarted intake does not load it again. */
apr_status_t prep_tree_last_read(unsigned char signature[32], const char *store,
                                 apr_pool_t *p);
apr_status_t prep_tree_last_write(const unsigned char signature[32],
                                  const char *store, apr_pool_t *p);

typedef struct prep_load_result {
    prep_load_outcome_e outcome;
    prep_verdict_t verdict; /* reason NULL: published or the same corte */
    prep_corte_t *corte;    /* the corte served after the load; RETAINED:
                             * the corte retained */
    /* the load, kept for prep_load_complete when the corte went live with
     * variants still to make (corte->variants_pending); else NULL */
    struct prep_load_ctx *pending;
} prep_load_result_t;

/* After a load whose corte went live with variants still to make
 * (res->pending): makes them and publishes the corte again under its id,
 * its pack grown by them (the bytes already served do not move) and a new
 * index, then journals "completed".  Returns 1 when that corte is the one
 * served (every child must attach it again), 0 otherwise (retained, rolled
 * back from meanwhile, or not completed: it stays served as it went live,
 * which is never a wrong answer, only a larger one). */
int prep_load_complete(prep_load_result_t *res);

/* Does the whole load of one package (verify, unpack, corte time, banners,
 * variants, index, promote, prune) from one descriptor of it, and sets it
 * aside in STORE/processed/ or STORE/rejected/ (with NAME.reason). */
prep_load_result_t *prep_load_package(const prep_feed_t *feed,
                                      const prep_load_request_t *req,
                                      prep_log_fn *log, void *baton,
                                      apr_pool_t *p);

/* ------------------------------------------------------------------ */
/* prep_incoming.c (continued): the intake's decisions over what it saw of
 * each name at its polls, and the refusals it makes itself. */

/* How long a package waits for its PrepVerify sidecar (NAME.sha256 or
 * NAME.sig), uploaded after it, before it is read anyway and refused. */
#define PREP_SIDECAR_WAIT apr_time_from_sec(60)
/* How long a truncated package written under its final name stays in
 * incoming, unchanged, before it is refused: an sftp client on a slow link
 * pauses longer than PrepSettleTime and then writes on. */
#define PREP_HOLD_TRUNCATED apr_time_from_sec(60)

/* What the intake remembers of one name seen in an incoming directory. */
typedef struct prep_seen {
    prep_file_identity_t id;
    int polls; /* earlier consecutive polls that saw this identity */
    int done;  /* read already (or could not be moved): not read again
                * until it changes */
    apr_time_t hold_until; /* held as truncated: read once more after */
    /* what inotify told of the name while it had this identity (issue 13):
     * renamed in (the end of an upload: complete), or closed after a write
     * under its final name at closed_at (0: not seen closed) */
    int renamed_in;
    apr_time_t closed_at;
} prep_seen_t;

/* This poll's entry for a name now of identity id, from the last poll's
 * (NULL: not seen): the same identity carries over with one poll more,
 * another starts afresh. */
void prep_incoming_seen(prep_seen_t *now, const prep_seen_t *last,
                        const prep_file_identity_t *id);
/* Whether the package may be read: not done, not held (or its hold over),
 * and either renamed in (at once), or closed and unchanged since for
 * `settle`, or (nothing told by inotify) unchanged across two polls and
 * for `settle` after its mtime. */
int prep_incoming_settled(const prep_seen_t *s, apr_interval_time_t settle,
                          apr_time_t now);
/* What inotify told of a name (issue 13), applied to this listing's entry
 * s, whose identity is the one seen right after the events: renamed in
 * (IN_MOVED_TO) when renamed, else closed after a write (IN_CLOSE_WRITE)
 * at closed_at (when not 0), which starts the settle wait again. */
void prep_incoming_watched(prep_seen_t *s, int renamed, apr_time_t closed_at);
/* When a package closed under its final name settles, if nothing changes
 * (0: it is not waiting for a close's settle time): when the intake
 * wakes to look again. */
apr_time_t prep_incoming_settles_at(const prep_seen_t *s,
                                    apr_interval_time_t settle);
/* Whether package a is read before package b: the newest first, so that no
 * number of broken or junk files delays the latest corte (older packages
 * are read after it, and refused as older).  Packages moved in together
 * (the same mtime) go by name, the greater first: the institute's names
 * carry the corte time. */
int prep_incoming_before(const prep_seen_t *a, const char *a_name,
                         const prep_seen_t *b, const char *b_name);
/* Whether a settled package (of that mtime) may be read: with PrepVerify
 * its sidecar must be there too, a regular file settled, or
 * PREP_SIDECAR_WAIT be over after the settle time; a sidecar that is a
 * link or a FIFO is not waited for (the package is refused at once). */
int prep_incoming_sidecar_ready(const prep_feed_t *f, int dirfd,
                                const char *name, apr_time_t mtime,
                                apr_time_t now, apr_pool_t *p);
/* How a settled package is loaded: PREP_LOAD_FINAL once held, else
 * PREP_LOAD_NEW. */
prep_load_mode_e prep_incoming_mode(const prep_seen_t *s);
/* What the intake remembers once the load of the file of identity `loaded`
 * ended with `outcome` (s: its name's entry now, NULL when gone): nothing
 * when its name names another file, the store was busy (tried again later)
 * or the loader crashed (tried once more); held: read again
 * PREP_HOLD_TRUNCATED after its mtime; any other outcome: done. */
void prep_incoming_load_ended(prep_seen_t *s,
                              const prep_file_identity_t *loaded,
                              prep_load_outcome_e outcome);
/* Whether a truncated package is held in incoming rather than refused: a
 * PREP_LOAD_NEW of a file written under its final name (not renamed there
 * last) that changed less than PREP_HOLD_TRUNCATED before now. */
int prep_incoming_holds_truncated(const prep_file_identity_t *id,
                                  prep_load_mode_e mode, apr_time_t now);

/* The exit status a loader process tells its outcome with, and back
 * (PREP_LOAD_CRASHED for a status no loader exits with). */
int prep_load_exit_status(prep_load_outcome_e o);
prep_load_outcome_e prep_load_outcome_of(int exit_status);

/* The package whose loader died without a verdict once already. */
typedef struct prep_crash_memory {
    char *name; /* malloc'd; NULL: none */
    prep_file_identity_t id;
} prep_crash_memory_t;

typedef enum {
    PREP_CRASH_TRY_AGAIN = 0, /* the first time: the kill may have come
                               * from outside */
    PREP_CRASH_SET_ASIDE      /* the second time in a row: refused as
                               * `crash`, it cannot crash every loader after
                               * it */
} prep_crash_e;

/* A loader of package `name` (identity id) died without a verdict: what
 * to do with it.  Set aside forgets it. */
prep_crash_e prep_incoming_crashed(prep_crash_memory_t *m, const char *name,
                                   const prep_file_identity_t *id);
/* The message of a crash from the loader's wait status: "the loader died
 * of signal 11", "the loader exited with status 70". */
const char *prep_incoming_crash_message(int status, apr_pool_t *p);
/* Refuses a package for good with verdict v: recorded in state.json, set
 * aside in STORE/rejected with NAME.reason (prep_incoming_set_aside, moved
 * only while `name` in dirfd names `id`), and journaled as "refused"
 * (prep_journal_refused; marked as a drill when the feed runs one).
 * dirfd < 0: the feed's incoming directory is opened for it.  The
 * set-aside's error, else APR_SUCCESS; a journal that cannot be written
 * never keeps the package from being set aside. */
apr_status_t prep_incoming_reject(const prep_feed_t *feed, int dirfd,
                                  const char *name, apr_file_t *package,
                                  const prep_file_identity_t *id,
                                  const prep_verdict_t *v, apr_pool_t *p);
/* The same, with the journal's error in *journaled (APR_SUCCESS: the line
 * is written), for the caller to log. */
apr_status_t prep_incoming_reject_journaled(
    const prep_feed_t *feed, int dirfd, const char *name, apr_file_t *package,
    const prep_file_identity_t *id, const prep_verdict_t *v,
    apr_status_t *journaled, apr_pool_t *p);
/* Refuses for good, as "unreadable" (prep_incoming_unreadable_verdict),
 * the file `name` in dirfd the loader account cannot read, when it is
 * still the file of identity id and still unreadable: recorded, set aside
 * (renamed into STORE/rejected as it is, the uploader's and unreadable,
 * since it cannot be copied) and journaled as prep_incoming_reject does.
 * *v gets the verdict.  APR_EMISMATCH when `name` names another file now
 * or one the loader can read (it is then a package); else the set-aside's
 * error (EXDEV: the store is on another file system, it stays where it
 * is, refused all the same). */
apr_status_t prep_incoming_refuse_unreadable(const prep_feed_t *feed, int dirfd,
                                             const char *name,
                                             const prep_file_identity_t *id,
                                             prep_verdict_t *v, apr_pool_t *p);

/* ------------------------------------------------------------------ */
/* prep_status.c: the status document. */

/* What the periodic audit of the served corte found. */
typedef enum {
    PREP_INTEGRITY_UNCHECKED = 0, /* no complete audit yet */
    PREP_INTEGRITY_OK,
    PREP_INTEGRITY_DAMAGED, /* bytes differ from the recorded hashes */
    PREP_INTEGRITY_HEALED   /* damaged, then published again */
} prep_integrity_e;

/* "unchecked", "ok", "damaged", "healed" */
const char *prep_integrity_text(prep_integrity_e i);

/* A name in incoming that is never read, and why. */
typedef struct prep_ignored {
    const char *name;
    const char *why;
} prep_ignored_t;

/* The state of a feed, turned into text only where it is written out. */
typedef enum {
    PREP_FEED_WAITING = 0, /* no corte yet */
    PREP_FEED_EMBARGOED,   /* before PrepPublishFrom */
    PREP_FEED_SERVING,
    PREP_FEED_STALE,  /* no new corte for 3 x PrepUpdateInterval */
    PREP_FEED_PINNED, /* prepctl pin or rollback: new cortes are kept, not
                       * served */
    PREP_FEED_CLOSED, /* after prepctl close or PrepPublishUntil: the last
                       * corte stays served, never stale */
    PREP_FEED_STATES
} prep_feed_state_e;

/* "waiting", "embargoed", "serving", "stale", "pinned", "closed": the one
 * table of the JSON and Prometheus writers and of prepctl. */
const char *prep_feed_state_text(prep_feed_state_e s);

struct prep_control;

typedef struct prep_feed_runtime {
    prep_feed_state_e state;
    apr_time_t last_poll;
    apr_uint64_t requests, bytes, not_modified, not_found;
    const char *problem; /* what keeps packages from loading, or NULL */
    apr_time_t problem_at;
    const char *loading; /* the package being loaded, or NULL */
    apr_time_t loading_since;
    apr_array_header_t *ignored; /* prep_ignored_t */
    apr_uint32_t nignored;       /* of which ignored holds the first few */
    prep_integrity_e integrity;
    apr_time_t audited_at, integrity_at;
    const char *integrity_detail;
    /* the operator's part (prep_operator.c): the feed's control as the
     * intake last read it (NULL: none read), the newest retained corte
     * (shown as "newest" while pinned, else NULL) */
    const struct prep_control *control;
    const prep_corte_t *newest;
    /* how the intake watches PrepIncoming: "poll" or "inotify", and why
     * it polls (NULL: it does not, or no reason known) */
    const char *watch;
    const char *watch_reason;
    /* STORE/counters.json as read for this status (NULL: not read) */
    const prep_counters_t *counters;
} prep_feed_runtime_t;

/* The state a feed is in at `now` given its current corte (or NULL) and
 * its control (NULL: the defaults), in this order: closed (prep_feed_
 * closed_at passed), embargoed (before PrepPublishFrom, never in a drill),
 * pinned, waiting (no corte), stale (no new corte for 3 x
 * PrepUpdateInterval), serving. */
prep_feed_state_e prep_feed_state(const prep_feed_t *f,
                                  const prep_corte_t *current,
                                  const struct prep_control *ctl,
                                  apr_time_t now);
/* Whether a health check (?check=FEED) of a feed in that state is good:
 * serving, pinned and closed are. */
int prep_feed_state_healthy(prep_feed_state_e s);
/* How many journal lines the status shows as "events". */
#define PREP_STATUS_EVENTS 20
/* One feed's object of the status document; the caller json_decref()s it
 * or hands it on.  Besides the corte and the intake's part: "pinned",
 * "newest" (the newest retained corte while pinned, else null), "drill",
 * "publish_until", "closed_at", "watch", and "events", the last
 * PREP_STATUS_EVENTS lines of the feed's journal (prep_journal_tail);
 * "counters" ({"loads": {RESULT: n}, "refusals": {REASON: n},
 * "intake_restarts": n, "last_load_ms": n or null}) when rt->counters. */
struct json_t *prep_status_feed(const prep_feed_t *f,
                                const prep_corte_t *current,
                                const prep_feed_runtime_t *rt, apr_time_t now,
                                apr_pool_t *p);

/* ------------------------------------------------------------------ */
/* prep_dashboard.c: the status document as a page for the operator's
 * browser (/prep-status?format=html, or a browser's Accept): in Spanish,
 * self-contained (inline CSS and SVG, no script), refreshing itself every
 * PREP_DASHBOARD_REFRESH_S seconds.  Per feed: its state in colour, the
 * corte served and its age, a timeline of the journal's window (cortes
 * with their package-to-live, refusals, stale periods, operator actions),
 * the last events and refusals, and requests per minute, computed from
 * the totals the previous render put in its refresh URL. */

#define PREP_DASHBOARD_REFRESH_S 10
/* The journal window shown: the last 24 hours ... */
#define PREP_DASHBOARD_WINDOW apr_time_from_sec(24 * 3600)
/* ... of at most this many lines per render, shared by the feeds (read
 * from the end of the files: a few MB at most, prep_journal_tail). */
#define PREP_DASHBOARD_LINES 4000
/* A feed reads at least this many lines, however many feeds there are. */
#define PREP_DASHBOARD_LINES_MIN 200
/* A previous render older than this gives no rate ("—"). */
#define PREP_DASHBOARD_RATE_MAX apr_time_from_sec(15 * 60)

/* Whether a request's Accept header (NULL: none) prefers text/html to
 * application/json: a browser's does; curl's and wget's star/star, a
 * missing one, or one that ranks JSON at least as high do not. */
int prep_dashboard_wanted(const char *accept);
/* The journal lines of store's window at `now`, oldest first: those of
 * the last PREP_DASHBOARD_WINDOW, at most max_lines of them (the newest).
 * A new reference; an empty array when there is no journal. */
struct json_t *prep_dashboard_journal(const char *store, apr_time_t now,
                                      int max_lines, apr_pool_t *p);
/* Requests per minute of feed `name` now that it has counted `requests`,
 * from the previous render's totals in args (the query string: "t" its
 * time in epoch ms, "r" NAME:COUNT pairs separated by commas).  1 and
 * *per_minute set when it can be told; 0 on a first render, a feed the
 * previous one did not show, a counter that went back (a restart), a
 * previous render in the future or older than PREP_DASHBOARD_RATE_MAX, or
 * a query it cannot read. */
int prep_dashboard_rate(double *per_minute, const char *args, const char *name,
                        apr_uint64_t requests, apr_time_t now);
/* The page, NUL-terminated, allocated in p, from the status document doc
 * ({"now", "feeds": [...]}, as /prep-status gives it), journals (an
 * object: feed name to its window's lines, prep_dashboard_journal; a feed
 * without one has an empty timeline), args (the request's query, NULL:
 * none) and now.  Every value of the document and the journal is escaped:
 * package names are the institute's. */
char *prep_dashboard_html(const struct json_t *doc,
                          const struct json_t *journals, const char *args,
                          apr_time_t now, apr_pool_t *p);

/* ------------------------------------------------------------------ */
/* prep_journal.c: the journal of a feed, STORE/journal.jsonl: one JSON
 * object per line, appended and fsync'd, never rewritten; rotated by size
 * to journal.jsonl.1 (the newest), .2, ...; a rotated file is removed only
 * once its newest line is older than PREP_JOURNAL_KEEP.  Every line has
 * "at" (ISO-8601 with milliseconds, in the feed's zone), "feed", "event"
 * and, in a drill, "drill": true; the fields of each event are in
 * docs/journal.md.  Writers (the intake, the loaders, prepctl) take
 * STORE/journal.lock around each append; readers take it shared while
 * they open the files. */

typedef enum {
    PREP_EVENT_START = 0,      /* the server started: what it serves */
    PREP_EVENT_GRACEFUL,       /* a graceful restart: what it serves */
    PREP_EVENT_INTAKE_RESTART, /* the intake died and was started again */
    PREP_EVENT_SEEN,           /* a package settled and is being loaded */
    PREP_EVENT_PUBLISHED,      /* a new corte is served */
    PREP_EVENT_RETAINED,       /* pinned: a new corte is kept, not served */
    PREP_EVENT_REPUBLISHED,    /* a corte rebuilt from its package */
    PREP_EVENT_REFUSED,        /* a package set aside with its reason */
    PREP_EVENT_SAME_CORTE,     /* a package that is the corte served */
    PREP_EVENT_STALE,          /* no new corte for 3 x PrepUpdateInterval */
    PREP_EVENT_FRESH,          /* a new corte after a stale period */
    PREP_EVENT_EMBARGO_LIFTED, /* PrepPublishFrom passed */
    PREP_EVENT_STORE_PROBLEM,  /* the store cannot take a corte */
    PREP_EVENT_STORE_OK,       /* ... and can again */
    PREP_EVENT_LOADER_CRASH,   /* a loader died without a verdict */
    PREP_EVENT_DAMAGED,        /* the served corte's bytes differ */
    PREP_EVENT_HEALED,         /* ... and it was published again */
    PREP_EVENT_ROLLBACK,       /* prepctl rollback */
    PREP_EVENT_PIN,            /* prepctl pin */
    PREP_EVENT_UNPIN,          /* prepctl unpin */
    PREP_EVENT_RESET,          /* prepctl reset */
    PREP_EVENT_DRILL,          /* prepctl drill on|off */
    PREP_EVENT_CLOSED,         /* prepctl close or PrepPublishUntil */
    PREP_EVENT_NOTIFY,         /* a PrepNotify command ran (issue 11) */
    PREP_EVENT_COMPLETED,      /* a corte's deferred variants are served */
    PREP_EVENTS
} prep_event_e;

/* "start", "graceful", "intake-restart", "seen", "published", "retained",
 * "republished", "refused", "same-corte", "stale", "fresh",
 * "embargo-lifted", "store-problem", "store-ok", "loader-crash",
 * "damaged", "healed", "rollback", "pin", "unpin", "reset", "drill",
 * "closed", "notify", "completed". */
const char *prep_event_name(prep_event_e e);
/* The event of a name, or PREP_EVENTS for none. */
prep_event_e prep_event_of_name(const char *name);

#define PREP_JOURNAL_FILE   "journal.jsonl"
#define PREP_JOURNAL_LOCK   "journal.lock"
#define PREP_JOURNAL_ROTATE (8 * 1024 * 1024)
#define PREP_JOURNAL_KEEP   apr_time_from_sec(30 * 24 * 3600)
/* A journal line is at most this long (longer fields are cut). */
#define PREP_JOURNAL_LINE_MAX (16 * 1024)

/* The keys of journal lines. */
#define PREP_JOURNAL_KEY_AT      "at"
#define PREP_JOURNAL_KEY_FEED    "feed"
#define PREP_JOURNAL_KEY_EVENT   "event"
#define PREP_JOURNAL_KEY_DRILL   "drill"
#define PREP_JOURNAL_KEY_USER    "user"    /* operator events: who */
#define PREP_JOURNAL_KEY_CORTE   "corte"   /* a corte record, shown */
#define PREP_JOURNAL_KEY_PACKAGE "package" /* a package's name, shown */
#define PREP_JOURNAL_KEY_REASON  "reason"
#define PREP_JOURNAL_KEY_MESSAGE "message"

/* A feed's journal as one writer sees it. */
typedef struct prep_journal {
    const char *store;
    const char *feed;
    prep_zone_t zone;
    int drill;                /* its lines carry "drill": true */
    apr_off_t rotate_bytes;   /* PREP_JOURNAL_ROTATE unless set (tests) */
    apr_interval_time_t keep; /* PREP_JOURNAL_KEEP unless set (tests) */
} prep_journal_t;

/* The journal of feed f; drill: whether its lines are marked. */
void prep_journal_init(prep_journal_t *j, const prep_feed_t *f, int drill);
/* A new line {"at", "feed", "event"[, "drill"]} of event e at `at`, for the
 * caller to add its fields to and hand to prep_journal_append. */
struct json_t *prep_journal_line(const prep_journal_t *j, prep_event_e e,
                                 apr_time_t at);
/* Appends `line` (its reference is taken) as one line: under
 * STORE/journal.lock, rotated first when journal.jsonl has passed
 * rotate_bytes, one write(2) with O_APPEND, then fsync (and the
 * directory's when the file is new).  A write cut short (a full disk) is
 * undone by truncating the file back: the journal holds whole lines only.
 * The error, else APR_SUCCESS; it never waits for the lock more than a
 * second, and a failure is the caller's to log, never a reason to stop. */
apr_status_t prep_journal_append(const prep_journal_t *j, struct json_t *line,
                                 apr_pool_t *p);
/* A line of event e now, with the fields of the object `fields` (its
 * reference is taken; NULL: none), appended. */
apr_status_t prep_journal_event(const prep_journal_t *j, prep_event_e e,
                                struct json_t *fields, apr_pool_t *p);
/* The same with "corte": the record of c shown in the journal's zone
 * (prep_corte_to_json), when c is not NULL. */
apr_status_t prep_journal_corte(const prep_journal_t *j, prep_event_e e,
                                const prep_corte_t *c, struct json_t *fields,
                                apr_pool_t *p);
/* "refused" with "package" (shown), "reason" and "message". */
apr_status_t prep_journal_refused(const prep_journal_t *j, const char *package,
                                  const prep_verdict_t *v, apr_pool_t *p);

/* Reads the "at" of a line (ISO-8601 with an offset, with or without a
 * fraction of a second). */
apr_status_t prep_journal_time(apr_time_t *t, const char *iso);
/* Called for each line, oldest first; the line is borrowed.  Anything but
 * APR_SUCCESS stops the walk and is returned. */
typedef apr_status_t prep_journal_fn(void *baton, struct json_t *line);
/* Every line of the feed's journal (the rotated files, oldest first, then
 * journal.jsonl) whose "at" is at or after `since` (0: all), to fn.
 * Lines that are not JSON objects with a readable "at" are skipped and
 * counted in *bad (when not NULL).  A store without a journal has none. */
apr_status_t prep_journal_each(const char *store, apr_time_t since,
                               prep_journal_fn *fn, void *baton,
                               apr_uint64_t *bad, apr_pool_t *p);
/* The last n lines, oldest first, as a JSON array (empty when there is no
 * journal); reads only the end of the files. */
struct json_t *prep_journal_tail(const char *store, int n, apr_pool_t *p);

/* Where a follower of the journal is: the file it reads (its device and
 * inode: a rotation gives journal.jsonl another one) and the offset of
 * the first byte it has not taken yet (always the start of a line). */
typedef struct prep_journal_cursor {
    apr_uint64_t dev, ino; /* 0, 0: no file yet */
    apr_off_t offset;
} prep_journal_cursor_t;

/* The cursor at the current end of STORE/journal.jsonl (no file: its
 * start): a follower starting there sees only the lines written after. */
void prep_journal_cursor_end(prep_journal_cursor_t *c, const char *store);
/* Calls fn for each whole line written since the cursor, oldest first
 * (the line is borrowed), and moves the cursor past them.  A rotation
 * since (journal.jsonl has another inode) finishes the rotated .1 from the
 * cursor when it is the file the cursor was in, then reads the new file
 * from its start.  A last line without its "\n" is left for the next
 * call; a damaged line (not a JSON object with a readable "at", or longer
 * than 4 x PREP_JOURNAL_LINE_MAX) is skipped and counted in *bad (when not
 * NULL).  At most `budget` bytes are read per call (0: no bound), the rest
 * is for the next one.  fn's error stops the walk with the cursor after
 * the line it failed on. */
apr_status_t prep_journal_follow(prep_journal_cursor_t *c, const char *store,
                                 apr_off_t budget, prep_journal_fn *fn,
                                 void *baton, apr_uint64_t *bad, apr_pool_t *p);

/* ------------------------------------------------------------------ */
/* prep_operator.c: what the operator decides for a feed, kept in its store
 * (STORE/control.json, written by prepctl under the store's lock, read by
 * the intake at every poll and by each load), and the operator's actions:
 * rollback, pin, unpin, reset, close, drill.  Each takes STORE/loader.lock
 * (refused while a load holds it), acts, and is journaled with its user. */

#define PREP_CONTROL_FILE "control.json"
/* Where prepctl reset moves a feed's cortes and packages:
 * STORE/archive/<YYYYMMDD-HHMMSS in the feed's zone>[-N]/. */
#define PREP_ARCHIVE_DIR "archive"

/* prep_control_t.drill */
#define PREP_DRILL_AS_CONFIGURED (-1)

typedef struct prep_control {
    const char *pin;      /* the corte the feed is pinned at, or NULL */
    apr_time_t pinned_at; /* 0 unless pinned */
    int drill;            /* PREP_DRILL_AS_CONFIGURED (PrepDrill), 0, 1 */
    apr_time_t closed_at; /* prepctl close; 0: not closed by hand */
} prep_control_t;

void prep_control_default(prep_control_t *c);
/* STORE/control.json into *c.  A store without one has the defaults
 * (APR_SUCCESS); one that cannot be read or parsed gives the defaults and
 * its error (APR_EINVAL when it is not a control record). */
apr_status_t prep_control_read(prep_control_t *c, const char *store,
                               apr_pool_t *p);
/* Replaces STORE/control.json (prep_store_write_atomic). */
apr_status_t prep_control_write(const char *store, const prep_control_t *c,
                                apr_pool_t *p);
/* Whether the feed runs a drill: prepctl drill's word, else PrepDrill. */
int prep_feed_drill(const prep_feed_t *f, const prep_control_t *c);
/* When the operation ended or ends: the earlier of prepctl close and
 * PrepPublishUntil; 0: no end known.  c NULL: PrepPublishUntil alone. */
apr_time_t prep_feed_closed_at(const prep_feed_t *f, const prep_control_t *c);
/* The banner state (PREP_BANNER_STATE_*) a corte of the feed shows at
 * `now`: drill, closed. */
unsigned prep_feed_banner_state(const prep_feed_t *f, const prep_control_t *c,
                                apr_time_t now);

/* The retained cortes that can be served (prep_store_corte_usable), oldest
 * first, as prep_corte_t *. */
apr_array_header_t *prep_store_cortes(const char *store, apr_pool_t *p);
/* The newest of them, or NULL. */
prep_corte_t *prep_store_newest(const char *store, apr_pool_t *p);
/* Makes corte `id` (in STORE/cortes) current, replacing `current`
 * atomically (synced). */
apr_status_t prep_store_set_current(const char *store, const char *id,
                                    apr_pool_t *p);

/* How an operator's action ended; prepctl exits 0 for PREP_OP_DONE, 1 for
 * the rest. */
typedef enum {
    PREP_OP_DONE = 0,
    PREP_OP_UNKNOWN_CORTE,  /* no retained, usable corte of that id */
    PREP_OP_NOTHING_BEFORE, /* rollback: no retained corte before the one
                             * served */
    PREP_OP_NO_CORTE,       /* the feed serves no corte (pin, rollback) */
    PREP_OP_LOAD_RUNNING,   /* a load holds the store's lock */
    PREP_OP_PERMISSION,     /* this user may not write the store */
    PREP_OP_FAILED          /* an I/O error: the message says which */
} prep_op_status_e;

/* Who acts on which feed, and when. */
typedef struct prep_op {
    const prep_feed_t *feed;
    const char *user; /* the Unix user who ran prepctl */
    apr_time_t now;
} prep_op_t;

typedef struct prep_op_result {
    prep_op_status_e status;
    const char *message; /* one sentence: what was done, or why not */
    const char *served;  /* the corte served after it, or NULL */
    const char *archive; /* reset: the folder everything went to */
} prep_op_result_t;

/* Serves the retained corte before the one served (id NULL) or corte id,
 * at once, and pins the feed there.  Journaled as "rollback" with "from",
 * "to" and "corte". */
prep_op_status_e prep_op_rollback(const prep_op_t *op, const char *id,
                                  prep_op_result_t *res, apr_pool_t *p);
/* Pins the feed at the corte served (id NULL) or at corte id (served at
 * once).  New packages are still checked, loaded and retained
 * (PREP_LOAD_RETAINED), not published.  "pin" with "corte". */
prep_op_status_e prep_op_pin(const prep_op_t *op, const char *id,
                             prep_op_result_t *res, apr_pool_t *p);
/* Ends the pin and serves the newest retained corte.  A feed that was not
 * pinned is left as it is (PREP_OP_DONE, said in the message).  "unpin"
 * with "from", "to" and "corte". */
prep_op_status_e prep_op_unpin(const prep_op_t *op, prep_op_result_t *res,
                               apr_pool_t *p);
/* Moves every corte, the processed and rejected packages, state.json,
 * current and control.json into STORE/archive/<time>/ (nothing deleted;
 * the journal stays): the feed is back to waiting (or embargoed).
 * "reset" with "archive", "cortes" and "packages" (counts). */
prep_op_status_e prep_op_reset(const prep_op_t *op, prep_op_result_t *res,
                               apr_pool_t *p);
/* Ends the operation now: the feed is closed.  "closed" with "by":
 * "prepctl". */
prep_op_status_e prep_op_close(const prep_op_t *op, prep_op_result_t *res,
                               apr_pool_t *p);
/* A drill on or off, whatever PrepDrill says.  "drill" with "on". */
prep_op_status_e prep_op_drill(const prep_op_t *op, int on,
                               prep_op_result_t *res, apr_pool_t *p);

#endif /* PREP_H */
