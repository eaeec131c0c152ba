/* prep_compress.c — the precompressed variants of a corte's text files:
 * gzip (zlib) and brotli, made once per corte by the loader and sent as
 * they are to every client that accepts them.  Files up to PREP_HUGE_FILE
 * in memory (prep_compress); larger ones streamed from file to file, a few
 * pieces at a time (prep_compress_stream). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>
#include <brotli/encode.h>
#include <libdeflate.h>
#include <openssl/evp.h>

#include "prep.h"

/* A variant must save at least this share of the bytes to be kept. */
#define PREP_MIN_SAVING_PCT 10
/* Below this size a variant saves too little to matter. */
#define PREP_MIN_COMPRESS 256
/* Above this size (a CSV database of tens of MB) the one compressor working
 * on the file is the whole load's critical path, so both go faster for a
 * few percent more bytes.  Measured on genpackage's 97 MB CSV: brotli, which
 * cannot be split, quality 5 → 3: 3.3 s → 0.7 s, +3%; gzip level 6 → 4 and
 * split over every core (below): 2.2 s → 1.0 s, +5%.  PREP_HUGE_FILE (16 MB,
 * prep.h) is where that starts, and where the loader streams the file
 * (prep_compress_stream) instead of reading it whole.  Since then, brotli
 * quality 3 → 1 (the reference package's 97 MB CSV: 1.9 s → 0.6 s of CPU,
 * 28.8 → 29.0 MB, +1%): quality 1 is brotli's fast path, and still smaller
 * than gzip at level 6. */
#define PREP_BR_HUGE_QUALITY 1
/* Pieces of a huge file deflated in parallel, pigz's way. */
#define PREP_GZIP_PIECE (4 * 1024 * 1024)
#define PREP_GZIP_DICT  32768

/* One libdeflate compressor per compressing thread, kept for the thread's
 * life (freed when it exits): setting one up for each of the thousands of
 * small JSON files cost a third of their compression. */
static pthread_key_t gzip_key;
static pthread_once_t gzip_key_once = PTHREAD_ONCE_INIT;

static void gzip_compressor_free(void *c)
{
    libdeflate_free_compressor(c);
}

static void gzip_key_make(void)
{
    if (pthread_key_create(&gzip_key, gzip_compressor_free) != 0) {
        gzip_key = (pthread_key_t)-1;
    }
}

/* gzip at level 6 with libdeflate: on the reference package's 8,000 JSON
 * files it is 1.6 times zlib's speed for the same bytes (+0.1%). */
static unsigned char *gzip_bytes(const unsigned char *data, size_t len,
                                 size_t *out_len)
{
    struct libdeflate_compressor *c = NULL;
    size_t cap;
    unsigned char *out;

    pthread_once(&gzip_key_once, gzip_key_make);
    if (gzip_key != (pthread_key_t)-1 && !(c = pthread_getspecific(gzip_key)) &&
        (c = libdeflate_alloc_compressor(6)) &&
        pthread_setspecific(gzip_key, c) != 0) {
        libdeflate_free_compressor(c);
        c = NULL;
    }
    if (!c) {
        return NULL;
    }
    cap = libdeflate_gzip_compress_bound(c, len);
    if (!(out = malloc(cap))) {
        return NULL;
    }
    *out_len = libdeflate_gzip_compress(c, data, len, out, cap);
    if (*out_len == 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* --- gzip of a huge file on every core ------------------------------
 * The file is cut into pieces, each deflated raw on its own with the 32 KB
 * before it as dictionary (so the output is within a fraction of a percent
 * of one stream's), ended by a sync flush (the last by the final block);
 * the pieces, one after the other between a gzip header and a trailer with
 * the CRC combined, are one valid gzip member. */
typedef struct gzip_piece {
    const unsigned char *data; /* the whole file */
    size_t start, len;
    int last;
    unsigned char *out;
    size_t out_len;
    uLong crc;
    int failed;
} gzip_piece_t;

typedef struct gzip_pieces {
    gzip_piece_t *pieces;
    size_t n;
    size_t next; /* under lock */
    pthread_mutex_t lock;
} gzip_pieces_t;

/* Deflates `len` bytes at `data` raw at level 4 (see PREP_HUGE_FILE) with
 * the `dict` bytes before them as dictionary, into out (deflateBound of len
 * + 64), ended by a sync flush or, for the last piece, the final block.
 * The length written, or 0 on failure. */
static size_t deflate_piece(const unsigned char *data, size_t len, size_t dict,
                            int last, unsigned char *out, size_t cap)
{
    z_stream z;
    size_t done = 0;

    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, 4, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        return 0;
    }
    if (dict && deflateSetDictionary(&z, data - dict, (uInt)dict) != Z_OK) {
        deflateEnd(&z);
        return 0;
    }
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, last ? Z_FINISH : Z_SYNC_FLUSH) ==
            (last ? Z_STREAM_END : Z_OK) &&
        z.avail_in == 0) {
        done = z.total_out;
    }
    deflateEnd(&z);
    return done;
}

static void gzip_piece(gzip_piece_t *g)
{
    size_t cap = deflateBound(NULL, (uLong)g->len) + 64;
    size_t dict = g->start < PREP_GZIP_DICT ? g->start : PREP_GZIP_DICT;

    g->failed = 1;
    g->crc = crc32(0L, g->data + g->start, (uInt)g->len);
    if (!(g->out = malloc(cap))) {
        return;
    }
    g->out_len =
        deflate_piece(g->data + g->start, g->len, dict, g->last, g->out, cap);
    g->failed = g->out_len == 0;
}

static void *gzip_pieces_worker(void *data)
{
    gzip_pieces_t *w = data;

    for (;;) {
        size_t i;

        pthread_mutex_lock(&w->lock);
        i = w->next++;
        pthread_mutex_unlock(&w->lock);
        if (i >= w->n) {
            return NULL;
        }
        gzip_piece(&w->pieces[i]);
    }
}

static unsigned char *gzip_parallel(const unsigned char *data, size_t len,
                                    size_t *out_len)
{
    static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0,
                                             0,    0,    0, 0, 3};
    gzip_pieces_t w;
    pthread_t threads[8];
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int nthreads = ncpu < 1 ? 1 : ncpu > 8 ? 8 : (int)ncpu, started, t;
    size_t i, total = sizeof(header) + 8, at;
    uLong crc = crc32(0L, Z_NULL, 0);
    unsigned char *out = NULL;
    int failed = 0;

    memset(&w, 0, sizeof(w));
    w.n = (len + PREP_GZIP_PIECE - 1) / PREP_GZIP_PIECE;
    if (!(w.pieces = calloc(w.n, sizeof(*w.pieces)))) {
        return NULL;
    }
    for (i = 0; i < w.n; i++) {
        w.pieces[i].data = data;
        w.pieces[i].start = i * PREP_GZIP_PIECE;
        w.pieces[i].len =
            i + 1 < w.n ? PREP_GZIP_PIECE : len - i * PREP_GZIP_PIECE;
        w.pieces[i].last = i + 1 == w.n;
    }
    pthread_mutex_init(&w.lock, NULL);
    for (started = 0; started < nthreads; started++) {
        if (pthread_create(&threads[started], NULL, gzip_pieces_worker, &w)) {
            break;
        }
    }
    if (started == 0) {
        gzip_pieces_worker(&w);
    }
    for (t = 0; t < started; t++) {
        pthread_join(threads[t], NULL);
    }
    pthread_mutex_destroy(&w.lock);
    for (i = 0; i < w.n; i++) {
        failed |= w.pieces[i].failed;
        total += w.pieces[i].out_len;
    }
    if (!failed && (out = malloc(total))) {
        memcpy(out, header, sizeof(header));
        at = sizeof(header);
        for (i = 0; i < w.n; i++) {
            memcpy(out + at, w.pieces[i].out, w.pieces[i].out_len);
            at += w.pieces[i].out_len;
            crc = crc32_combine(crc, w.pieces[i].crc, (z_off_t)w.pieces[i].len);
        }
        for (i = 0; i < 4; i++) {
            out[at + i] = (unsigned char)(crc >> (8 * i));
            out[at + 4 + i] = (unsigned char)((apr_uint64_t)len >> (8 * i));
        }
        *out_len = total;
    }
    for (i = 0; i < w.n; i++) {
        free(w.pieces[i].out);
    }
    free(w.pieces);
    return out;
}

static unsigned char *brotli_bytes(const unsigned char *data, size_t len,
                                   size_t *out_len)
{
    size_t cap = BrotliEncoderMaxCompressedSize(len);
    unsigned char *out = malloc(cap ? cap : len + 1024);
    /* Large files (the CSV database) at a quality that keeps the load
     * within seconds; the many small files at a high one. */
    int quality = len > PREP_HUGE_FILE ? PREP_BR_HUGE_QUALITY
                  : len > 1024 * 1024  ? 5
                                       : 9;
    /* A window no larger than the file: small files then cost little to
     * set up (the default window allocates megabytes per call). */
    int lgwin = BROTLI_MIN_WINDOW_BITS;

    while (lgwin < BROTLI_DEFAULT_WINDOW && ((size_t)1 << lgwin) < len) {
        lgwin++;
    }
    if (!out) {
        return NULL;
    }
    *out_len = cap ? cap : len + 1024;
    if (!BrotliEncoderCompress(quality, lgwin, BROTLI_MODE_TEXT, len, data,
                               out_len, out)) {
        free(out);
        return NULL;
    }
    return out;
}

unsigned char *prep_compress(int encoding, const void *data, size_t len,
                             size_t *out_len)
{
    unsigned char *out = NULL;

    if (len < PREP_MIN_COMPRESS || len > (size_t)UINT32_MAX) {
        return NULL;
    }
    if (encoding == PREP_ENC_GZIP) {
        out = len > PREP_HUGE_FILE ? gzip_parallel(data, len, out_len)
                                   : gzip_bytes(data, len, out_len);
    } else if (encoding == PREP_ENC_BR) {
        out = brotli_bytes(data, len, out_len);
    }
    if (out && *out_len * 100 > len * (100 - PREP_MIN_SAVING_PCT)) {
        free(out); /* saves too little to be worth a variant */
        out = NULL;
    }
    return out;
}

/* --- huge files, streamed from one file to another -------------------
 * A file of hundreds of MB is never held whole: it is read in pieces with
 * pread, compressed, and each piece of output written (pwrite) and hashed
 * as soon as it is ready, so the memory a variant costs is a few pieces,
 * whatever the file's size. */

/* The first bytes of a file that decide whether it compresses at all: when
 * they save under PREP_MIN_SAVING_PCT, the rest is not compressed. */
#define PREP_STREAM_PROBE (16 * 1024 * 1024)
/* What brotli is given and gives back at a time. */
#define PREP_BR_CHUNK (1024 * 1024)

static int pread_full(int fd, unsigned char *buf, size_t n, apr_off_t at)
{
    while (n > 0) {
        ssize_t got = pread(fd, buf, n, (off_t)at);

        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            if (got == 0) {
                errno = EIO; /* the file is shorter than said */
            }
            return -1;
        }
        buf += got;
        n -= (size_t)got;
        at += got;
    }
    return 0;
}

/* Where the variant goes: written at `at`, hashed, counted, and checked
 * against the size beyond which it saves too little. */
typedef struct stream_out {
    int fd;
    apr_off_t at;
    apr_uint64_t len;
    apr_uint64_t max; /* more than this: not worth keeping */
    EVP_MD_CTX *sha;
} stream_out_t;

/* 1 written, 0 over the maximum (nothing more is worth writing), -1 error */
static int out_write(stream_out_t *o, const unsigned char *b, size_t n)
{
    const unsigned char *end = b + n;

    o->len += n;
    if (o->len > o->max) {
        return 0;
    }
    if (EVP_DigestUpdate(o->sha, b, n) != 1) {
        errno = ENOMEM;
        return -1;
    }
    while (b < end) {
        ssize_t put = pwrite(o->fd, b, (size_t)(end - b), (off_t)o->at);

        if (put < 0 && errno == EINTR) {
            continue;
        }
        if (put <= 0) {
            return -1;
        }
        b += put;
        o->at += put;
    }
    return 1;
}

/* Whether `in` bytes that gave `out` save too little to go on. */
static int saves_too_little(apr_uint64_t in, apr_uint64_t out)
{
    return out * 100 > in * (100 - PREP_MIN_SAVING_PCT);
}

/* --- gzip: pieces deflated on every core, written in order -----------
 * As gzip_parallel, but the workers take the next piece only while it is
 * fewer than `window` pieces ahead of the one being written, so at most
 * `window` pieces (each its input with the 32 KB before it, and its
 * output) are in memory. */
typedef enum {
    SLOT_FREE = 0, /* its piece written, or none yet */
    SLOT_BUSY,     /* a worker reads and deflates its piece */
    SLOT_DONE,     /* deflated, waiting to be written */
    SLOT_FAILED
} slot_state_e;

typedef struct gzip_slot {
    unsigned char *in;  /* PREP_GZIP_DICT + PREP_GZIP_PIECE */
    unsigned char *out; /* deflateBound(PREP_GZIP_PIECE) + 64 */
    size_t len, out_len;
    uLong crc;
    slot_state_e state;
} gzip_slot_t;

typedef struct gzip_stream {
    int in_fd;
    apr_off_t in_offset;
    apr_uint64_t len;
    size_t npieces;
    size_t next;    /* the next piece to take */
    size_t written; /* pieces written */
    size_t window;
    int stop; /* the writer gave up */
    gzip_slot_t *slots;
    pthread_mutex_t lock;
    pthread_cond_t changed;
} gzip_stream_t;

static size_t piece_cap(void)
{
    return deflateBound(NULL, PREP_GZIP_PIECE) + 64;
}

/* Reads and deflates piece i into its slot; 0 or -1. */
static int gzip_stream_piece(gzip_stream_t *g, size_t i, gzip_slot_t *s)
{
    apr_uint64_t start = (apr_uint64_t)i * PREP_GZIP_PIECE;
    size_t dict = start < PREP_GZIP_DICT ? (size_t)start : PREP_GZIP_DICT;

    s->len = i + 1 < g->npieces ? PREP_GZIP_PIECE : (size_t)(g->len - start);
    if (!s->in && !(s->in = malloc(PREP_GZIP_DICT + PREP_GZIP_PIECE))) {
        return -1;
    }
    if (!s->out && !(s->out = malloc(piece_cap()))) {
        return -1;
    }
    if (pread_full(g->in_fd, s->in, dict + s->len,
                   g->in_offset + (apr_off_t)(start - dict))) {
        return -1;
    }
    s->crc = crc32(0L, s->in + dict, (uInt)s->len);
    s->out_len = deflate_piece(s->in + dict, s->len, dict, i + 1 == g->npieces,
                               s->out, piece_cap());
    return s->out_len ? 0 : -1;
}

static void *gzip_stream_worker(void *data)
{
    gzip_stream_t *g = data;

    pthread_mutex_lock(&g->lock);
    for (;;) {
        size_t i;
        gzip_slot_t *s;
        int rc;

        while (!g->stop && g->next < g->npieces &&
               g->next >= g->written + g->window) {
            pthread_cond_wait(&g->changed, &g->lock);
        }
        if (g->stop || g->next >= g->npieces) {
            break;
        }
        i = g->next++;
        s = &g->slots[i % g->window];
        s->state = SLOT_BUSY;
        pthread_mutex_unlock(&g->lock);
        rc = gzip_stream_piece(g, i, s);
        pthread_mutex_lock(&g->lock);
        s->state = rc ? SLOT_FAILED : SLOT_DONE;
        pthread_cond_broadcast(&g->changed);
    }
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

static int gzip_stream(gzip_stream_t *g, stream_out_t *o)
{
    static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0,
                                             0,    0,    0, 0, 3};
    unsigned char trailer[8];
    uLong crc = crc32(0L, Z_NULL, 0);
    apr_uint64_t in_done = 0;
    int rc = out_write(o, header, sizeof(header));
    size_t i;

    for (i = 0; rc == 1 && i < g->npieces; i++) {
        gzip_slot_t *s = &g->slots[i % g->window];

        pthread_mutex_lock(&g->lock);
        while (s->state != SLOT_DONE && s->state != SLOT_FAILED) {
            pthread_cond_wait(&g->changed, &g->lock);
        }
        pthread_mutex_unlock(&g->lock);
        if (s->state == SLOT_FAILED) {
            rc = -1;
            break;
        }
        rc = out_write(o, s->out, s->out_len);
        crc = crc32_combine(crc, s->crc, (z_off_t)s->len);
        in_done += s->len;
        if (rc == 1 && in_done >= PREP_STREAM_PROBE && in_done < g->len &&
            in_done - s->len < PREP_STREAM_PROBE &&
            saves_too_little(in_done, o->len)) {
            rc = 0; /* its first MB do not compress: the rest will not */
        }
        pthread_mutex_lock(&g->lock);
        s->state = SLOT_FREE;
        g->written++;
        pthread_cond_broadcast(&g->changed);
        pthread_mutex_unlock(&g->lock);
    }
    for (i = 0; i < 4; i++) {
        trailer[i] = (unsigned char)(crc >> (8 * i));
        trailer[4 + i] = (unsigned char)(g->len >> (8 * i));
    }
    if (rc == 1) {
        rc = out_write(o, trailer, sizeof(trailer));
    }
    return rc;
}

static int gzip_stream_run(int in_fd, apr_off_t in_offset, apr_uint64_t len,
                           stream_out_t *o)
{
    gzip_stream_t g;
    pthread_t threads[8];
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int nthreads = ncpu < 1 ? 1 : ncpu > 8 ? 8 : (int)ncpu, started, t, rc;
    size_t i;

    memset(&g, 0, sizeof(g));
    g.in_fd = in_fd;
    g.in_offset = in_offset;
    g.len = len;
    g.npieces = (size_t)((len + PREP_GZIP_PIECE - 1) / PREP_GZIP_PIECE);
    /* every worker busy while the writer writes the piece before theirs */
    g.window = (size_t)nthreads + 2;
    if (!(g.slots = calloc(g.window, sizeof(*g.slots)))) {
        return -1;
    }
    pthread_mutex_init(&g.lock, NULL);
    pthread_cond_init(&g.changed, NULL);
    for (started = 0; started < nthreads; started++) {
        if (pthread_create(&threads[started], NULL, gzip_stream_worker, &g)) {
            break;
        }
    }
    if (started == 0) {
        rc = -1; /* no thread to deflate in: no variant */
        errno = EAGAIN;
    } else {
        rc = gzip_stream(&g, o);
        pthread_mutex_lock(&g.lock);
        g.stop = 1;
        pthread_cond_broadcast(&g.changed);
        pthread_mutex_unlock(&g.lock);
    }
    for (t = 0; t < started; t++) {
        pthread_join(threads[t], NULL);
    }
    pthread_cond_destroy(&g.changed);
    pthread_mutex_destroy(&g.lock);
    for (i = 0; i < g.window; i++) {
        free(g.slots[i].in);
        free(g.slots[i].out);
    }
    free(g.slots);
    return rc;
}

/* --- brotli: one encoder, fed and drained a chunk at a time ---------- */
static int brotli_stream_run(int in_fd, apr_off_t in_offset, apr_uint64_t len,
                             stream_out_t *o)
{
    BrotliEncoderState *s = BrotliEncoderCreateInstance(NULL, NULL, NULL);
    unsigned char *in = malloc(PREP_BR_CHUNK), *out = malloc(PREP_BR_CHUNK);
    apr_uint64_t read_in = 0;
    int rc = 1, probed = 0, flushing = 0;
    size_t avail_in = 0;
    const uint8_t *next_in = in;

    if (!s || !in || !out) {
        errno = ENOMEM;
        rc = -1;
    } else {
        /* the settings brotli_bytes gives a huge file */
        BrotliEncoderSetParameter(s, BROTLI_PARAM_QUALITY,
                                  PREP_BR_HUGE_QUALITY);
        BrotliEncoderSetParameter(s, BROTLI_PARAM_LGWIN, BROTLI_DEFAULT_WINDOW);
        BrotliEncoderSetParameter(s, BROTLI_PARAM_MODE, BROTLI_MODE_TEXT);
        BrotliEncoderSetParameter(s, BROTLI_PARAM_SIZE_HINT,
                                  len < (1u << 30) ? (uint32_t)len
                                                   : (uint32_t)(1u << 30));
    }
    while (rc == 1) {
        BrotliEncoderOperation op = BROTLI_OPERATION_PROCESS;
        size_t avail_out = PREP_BR_CHUNK;
        uint8_t *next_out = out;

        /* a flush is given the same input until it is over */
        if (avail_in == 0 && read_in < len && !flushing) {
            size_t n = len - read_in < PREP_BR_CHUNK ? (size_t)(len - read_in)
                                                     : PREP_BR_CHUNK;
            if (pread_full(in_fd, in, n, in_offset + (apr_off_t)read_in)) {
                rc = -1;
                break;
            }
            read_in += n;
            next_in = in;
            avail_in = n;
        }
        if (read_in == len && !flushing) {
            op = BROTLI_OPERATION_FINISH;
        } else if (flushing || (!probed && read_in >= PREP_STREAM_PROBE)) {
            op = BROTLI_OPERATION_FLUSH; /* all it was given, to weigh it */
            flushing = 1;
        }
        if (!BrotliEncoderCompressStream(s, op, &avail_in, &next_in, &avail_out,
                                         &next_out, NULL)) {
            errno = EINVAL;
            rc = -1;
            break;
        }
        if (avail_out < PREP_BR_CHUNK) {
            rc = out_write(o, out, PREP_BR_CHUNK - avail_out);
        }
        if (op == BROTLI_OPERATION_FINISH && BrotliEncoderIsFinished(s)) {
            break;
        }
        if (rc == 1 && flushing && avail_in == 0 &&
            !BrotliEncoderHasMoreOutput(s)) {
            flushing = 0;
            probed = 1;
            if (saves_too_little(read_in, o->len)) {
                rc = 0; /* its first MB do not compress: the rest will not */
            }
        }
    }
    BrotliEncoderDestroyInstance(s);
    free(in);
    free(out);
    return rc;
}

int prep_compress_stream(int encoding, int in_fd, apr_off_t in_offset,
                         apr_uint64_t len, int out_fd, apr_off_t out_offset,
                         apr_uint64_t *out_len, unsigned char sha256[32])
{
    stream_out_t o;
    int rc = -1, saved_errno;

    if (len < PREP_MIN_COMPRESS ||
        (encoding != PREP_ENC_GZIP && encoding != PREP_ENC_BR)) {
        return 0;
    }
    memset(&o, 0, sizeof(o));
    o.fd = out_fd;
    o.at = out_offset;
    o.max = len * (100 - PREP_MIN_SAVING_PCT) / 100;
    if (!(o.sha = EVP_MD_CTX_new()) ||
        EVP_DigestInit_ex(o.sha, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(o.sha);
        errno = ENOMEM;
        return -1;
    }
    rc = encoding == PREP_ENC_GZIP
             ? gzip_stream_run(in_fd, in_offset, len, &o)
             : brotli_stream_run(in_fd, in_offset, len, &o);
    if (rc == 1 && saves_too_little(len, o.len)) {
        rc = 0;
    }
    if (rc == 1 && EVP_DigestFinal_ex(o.sha, sha256, NULL) != 1) {
        errno = ENOMEM;
        rc = -1;
    }
    EVP_MD_CTX_free(o.sha);
    if (rc == 1) {
        *out_len = o.len;
        return 1;
    }
    saved_errno = errno;
    /* nothing of a variant not kept stays in the out file */
    if (ftruncate(out_fd, (off_t)out_offset) && rc == 0) {
        return -1;
    }
    errno = saved_errno;
    return rc;
}
