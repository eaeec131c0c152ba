/* prep_compress.c — the precompressed variants of a corte's text files:
 * gzip (zlib) and brotli, made once per corte by the loader and sent as
 * they are to every client that accepts them. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>
#include <brotli/encode.h>

#include "prep.h"

/* A variant must save at least this share of the bytes to be kept. */
#define PREP_MIN_SAVING_PCT 10
/* Below this size a variant saves too little to matter. */
#define PREP_MIN_COMPRESS 256
/* Above this size (a CSV database of tens of MB) the one compressor working
 * on the file is the whole load's critical path, so both go faster for a
 * few percent more bytes.  Measured on genpackage's 97 MB CSV: brotli, which
 * cannot be split, quality 5 → 3: 3.3 s → 0.7 s, +3%; gzip level 6 → 4 and
 * split over every core (below): 2.2 s → 1.0 s, +5%. */
#define PREP_HUGE_FILE (16 * 1024 * 1024)
/* Pieces of a huge file deflated in parallel, pigz's way. */
#define PREP_GZIP_PIECE (4 * 1024 * 1024)
#define PREP_GZIP_DICT  32768

static unsigned char *gzip_bytes(const unsigned char *data, size_t len,
                                 size_t *out_len)
{
    z_stream z;
    size_t cap = deflateBound(NULL, (uLong)len) + 32;
    unsigned char *out = malloc(cap);
    /* A window and a hash table no larger than the file: the output is as
     * small, and setting up a stream for one of the thousands of small
     * JSON files then costs a few KB instead of zeroing 300 KB (most of
     * the time the loader spent in zlib went there). */
    int wbits = 9, mem_level;

    while (wbits < 15 && ((size_t)1 << wbits) < len) {
        wbits++;
    }
    mem_level = wbits - 6; /* hash bits = mem_level + 7: 9 for 32 KB */
    if (!out) {
        return NULL;
    }
    memset(&z, 0, sizeof(z));
    /* + 16: a gzip wrapper rather than zlib's */
    if (deflateInit2(&z, 6, Z_DEFLATED, wbits + 16, mem_level,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        free(out);
        return NULL;
    }
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
        deflateEnd(&z);
        free(out);
        return NULL;
    }
    *out_len = z.total_out;
    deflateEnd(&z);
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

static void gzip_piece(gzip_piece_t *g)
{
    z_stream z;
    size_t cap = deflateBound(NULL, (uLong)g->len) + 64;
    size_t dict = g->start < PREP_GZIP_DICT ? g->start : PREP_GZIP_DICT;

    g->failed = 1;
    g->crc = crc32(0L, g->data + g->start, (uInt)g->len);
    if (!(g->out = malloc(cap))) {
        return;
    }
    memset(&z, 0, sizeof(z));
    /* level 4: see PREP_HUGE_FILE */
    if (deflateInit2(&z, 4, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        return;
    }
    if (dict && deflateSetDictionary(&z, g->data + g->start - dict,
                                     (uInt)dict) != Z_OK) {
        deflateEnd(&z);
        return;
    }
    z.next_in = (Bytef *)(g->data + g->start);
    z.avail_in = (uInt)g->len;
    z.next_out = g->out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, g->last ? Z_FINISH : Z_SYNC_FLUSH) ==
            (g->last ? Z_STREAM_END : Z_OK) &&
        z.avail_in == 0) {
        g->out_len = z.total_out;
        g->failed = 0;
    }
    deflateEnd(&z);
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
    int quality = len > PREP_HUGE_FILE ? 3 : len > 1024 * 1024 ? 5 : 9;
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
