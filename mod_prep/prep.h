/* prep.h — the core library of mod_prep: types and functions shared by the
 * httpd module, prepctl and the unit tests.  Nothing here includes httpd
 * headers; only APR, libarchive, jansson and OpenSSL are used below it. */
#ifndef PREP_H
#define PREP_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <apr_file_io.h>

#define PREP_VERSION "0.1.0"

/* ------------------------------------------------------------------ */
/* Verdicts: why a package was refused.  `reason` is a stable code
 * (traversal, absolute, link, special, duplicate, depth, name-too-long,
 * limit-files, limit-bytes, limit-file, ratio, truncated, not-an-archive,
 * empty, no-corte-time, older-corte, future-corte, verify, io); `message`
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
/* prep_util.c: configuration values */

/* "90", "90s", "5m", "1h", "2d" → interval; error sentence or NULL. */
const char *prep_parse_duration(apr_interval_time_t *out, const char *text);
/* "512", "10k", "512M", "2G" (powers of 1024) → bytes; error or NULL. */
const char *prep_parse_size(apr_uint64_t *out, const char *text);
/* ISO-8601 with offset, "2024-06-02T20:00:00-06:00" (or Z); error or NULL. */
const char *prep_parse_iso_time(apr_time_t *out, const char *text);
/* Whether a civil date and time exists (years 1970..9999). */
int prep_civil_valid(int y, int mo, int d, int h, int mi, int s);
/* A civil date and time at `offset_s` seconds east of UTC. */
apr_time_t prep_civil_to_time(int y, int mo, int d, int h, int mi, int s,
                              int offset_s);
/* Lower-case hex of n bytes. */
char *prep_hex(apr_pool_t *p, const unsigned char *bytes, apr_size_t n);

/* ------------------------------------------------------------------ */
/* prep_zone.c: the time zone a feed shows its times in (a fixed offset:
 * Mexico has no daylight saving time since 2022). */
typedef struct prep_zone {
    int offset_s;     /* seconds east of UTC, -21600 for -06:00 */
    const char *name; /* "Tiempo del Centro" */
} prep_zone_t;

/* offset "-06:00" / "+05:30" / "-6" / "UTC-6"; error or NULL. */
const char *prep_zone_parse(prep_zone_t *z, const char *offset,
                            const char *name, apr_pool_t *p);
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

/* Parses the arguments of PrepCorteTime (without the directive name);
 * error or NULL. */
const char *prep_corte_spec_parse(prep_corte_spec_t *spec, int argc,
                                  const char *const *argv, apr_pool_t *p);
/* Reads a time written as text: ISO-8601 with or without offset,
 * "DD/MM/YYYY HH:MM[:SS]" optionally followed by "(UTC-6)" or
 * "(UTC-06:00)", "YYYYMMDDHHMM[SS]", "YYYYMMDD_HHMM", or epoch seconds.
 * Text without an offset is in zone z.  APR_SUCCESS or APR_EINVAL. */
apr_status_t prep_corte_time_from_text(apr_time_t *t, const char *text,
                                       const prep_zone_t *z);
/* json and csv sources, given the content of spec->file. error or NULL. */
const char *prep_corte_time_from_content(apr_time_t *t,
                                         const prep_corte_spec_t *spec,
                                         const char *data, apr_size_t len,
                                         const prep_zone_t *z, apr_pool_t *p);
/* filename source, given the package's base name. error or NULL. */
const char *prep_corte_time_from_filename(apr_time_t *t,
                                          const prep_corte_spec_t *spec,
                                          const char *name,
                                          const prep_zone_t *z, apr_pool_t *p);

/* ------------------------------------------------------------------ */
/* prep_banner.c: the "Último corte" banner, rendered once per corte. */

/* Text of the label: "Último corte: 02/06/2024 21:05 (Tiempo del Centro,
 * UTC-06:00)" */
char *prep_banner_label(apr_pool_t *p, apr_time_t corte, const prep_zone_t *z);
/* The HTML to insert.  template NULL → the default banner (a <div> holding
 * the label).  Placeholders {{fecha}} {{hora}} {{zona}} {{iso}}. */
char *prep_banner_render(apr_pool_t *p, const char *template_text,
                         apr_time_t corte, const prep_zone_t *z);
/* Inserts banner right after the first opening <body…> tag of html.
 * Returns the new document (length in *out_len), or NULL when html has no
 * body tag (the file is then served unchanged). */
char *prep_banner_insert(apr_pool_t *p, const char *html, apr_size_t len,
                         const char *banner, apr_size_t *out_len);

/* ------------------------------------------------------------------ */
/* prep_package.c: reads a package with libarchive under the package rules
 * and writes every regular file's bytes, one after the other, to a pack. */
typedef struct prep_limits {
    apr_uint64_t files; /* entries */
    apr_uint64_t bytes; /* total uncompressed bytes */
    apr_uint64_t file;  /* one file's bytes */
    apr_uint64_t ratio; /* uncompressed bytes / package bytes */
    int depth;          /* path components */
} prep_limits_t;

void prep_limits_default(prep_limits_t *l);
/* One word "files=100000" | "bytes=2G" | "file=512M" | "ratio=200" |
 * "depth=32"; error or NULL. */
const char *prep_limits_parse(prep_limits_t *l, const char *word,
                              apr_pool_t *p);

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
/* Same rules over an archive in memory (fuzzing, tests). */
apr_status_t prep_package_unpack_buffer(prep_unpacked_t **out, const void *buf,
                                        apr_size_t len, apr_file_t *pack,
                                        const prep_limits_t *limits, int strip,
                                        prep_verdict_t *verdict, apr_pool_t *p);
/* Names that are uploads in progress or not packages: ".x", "*.part",
 * "*.filepart", "*.tmp", and sidecars "*.sha256", "*.sig". */
int prep_package_name_ignored(const char *name);

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
} prep_corte_t;

#define PREP_CURRENT_FILE "current"
#define PREP_PACK_FILE    "content.pack"
#define PREP_INDEX_FILE   "index.prep"
#define PREP_CORTE_FILE   "corte.json"

/* "<YYYYMMDDTHHMMSSZ of corte time>-<first 8 hex of package sha>": the
 * lexical order of ids is the order of corte times. */
char *prep_corte_id(apr_pool_t *p, apr_time_t time, const char *sha256_hex);
/* Creates cortes/ and staging/ if missing. */
apr_status_t prep_store_prepare(const char *store, apr_pool_t *p);
/* Removes whatever staging/ holds (a load that did not finish). */
apr_status_t prep_store_clean_staging(const char *store, apr_pool_t *p);
/* Takes STORE/loader.lock, held by one loader at a time, until pool p is
 * cleared; APR_EAGAIN when another process holds it. */
apr_status_t prep_store_lock(const char *store, apr_pool_t *p);
char *prep_store_corte_dir(apr_pool_t *p, const char *store, const char *id);
char *prep_store_staging_dir(apr_pool_t *p, const char *store, const char *id);
/* Writes corte.json in dir. */
apr_status_t prep_store_write_corte(const char *dir, const prep_corte_t *c,
                                    apr_pool_t *p);
apr_status_t prep_store_read_corte(prep_corte_t **c, const char *dir,
                                   apr_pool_t *p);
/* fsyncs staging/<id>, renames it to cortes/<id>, then replaces current. */
apr_status_t prep_store_promote(const char *store, const char *id,
                                apr_pool_t *p);
/* The id in current, or NULL (and APR_ENOENT) when none. */
apr_status_t prep_store_current(const char **id, const char *store,
                                apr_pool_t *p);
/* Removes the oldest cortes so that `keep` remain; never `current`. */
apr_status_t prep_store_prune(const char *store, int keep, apr_pool_t *p);
/* state.json: the last 20 rejections and the last 20 cortes published. */
apr_status_t prep_store_record_rejected(const char *store, const char *package,
                                        const prep_verdict_t *v, apr_time_t at,
                                        apr_pool_t *p);
apr_status_t prep_store_record_history(const char *store, const prep_corte_t *c,
                                       apr_pool_t *p);
/* The parsed state.json (a jansson json_t *, as void * to keep jansson out
 * of this header) or an empty state; caller json_decref()s it. */
void *prep_store_read_state(const char *store, apr_pool_t *p);
/* Adds what a load measured ("phases", "variants") to a corte's JSON
 * object (json_t * as void *): in corte.json and in the status. */
void prep_corte_set_load_details(void *obj, const prep_corte_t *c);

/* ------------------------------------------------------------------ */
/* prep_loader.c: one package → one corte, or one refusal. */
typedef enum {
    PREP_VERIFY_NONE = 0,
    PREP_VERIFY_SHA256,
    PREP_VERIFY_SIGNATURE
} prep_verify_e;

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
} prep_feed_t;

void prep_feed_defaults(prep_feed_t *f, apr_pool_t *p);

/* prep_verify.c: whether PUBKEY.pem of `PrepVerify signature` is a PEM
 * public key mod_prep can verify with (RSA, ECDSA, Ed25519); error or NULL. */
const char *prep_verify_key_check(const char *path, apr_pool_t *p);

typedef void prep_log_fn(void *baton, int is_error, const char *msg);

typedef struct prep_load_result {
    prep_verdict_t verdict; /* reason NULL: published */
    prep_corte_t *corte;    /* the new corte when published */
} prep_load_result_t;

/* What a package holds once every check that does not need the store has
 * passed: PrepVerify, the package rules (its files written into `pack`),
 * a readable corte time that is not more than a day ahead.  The loader and
 * `prepctl verify` both run exactly this. */
typedef struct prep_checked {
    prep_unpacked_t *unpacked;
    apr_time_t corte_time;
} prep_checked_t;

apr_status_t prep_package_check(prep_checked_t **out, const prep_feed_t *feed,
                                const char *package_path, apr_file_t *pack,
                                prep_verdict_t *verdict, apr_pool_t *p);

/* Does the whole load of one package (verify, unpack, corte time, banners,
 * variants, index, promote, prune) and moves the package to
 * INCOMING/processed/ or INCOMING/rejected/ (with NAME.reason). */
prep_load_result_t *prep_load_package(const prep_feed_t *feed,
                                      const char *package_path,
                                      prep_log_fn *log, void *baton,
                                      apr_pool_t *p);

/* ------------------------------------------------------------------ */
/* prep_status.c: the status document. */
typedef struct prep_feed_runtime {
    const char *state; /* waiting | embargoed | serving | stale */
    apr_time_t last_poll;
    apr_uint64_t requests, bytes, not_modified, not_found;
    const char *problem; /* what keeps packages from loading, or NULL */
    apr_time_t problem_at;
} prep_feed_runtime_t;

/* The state a feed is in at `now` given its current corte (or NULL). */
const char *prep_feed_state(const prep_feed_t *f, const prep_corte_t *current,
                            apr_time_t now);
/* One feed's object of the status document (json_t * as void *). */
void *prep_status_feed(const prep_feed_t *f, const prep_corte_t *current,
                       const prep_feed_runtime_t *rt, apr_time_t now,
                       apr_pool_t *p);

#endif /* PREP_H */
