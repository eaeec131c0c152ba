/* prep_compress.c — the precompressed variants of a corte's text files:
 * gzip (zlib) and brotli, made once per corte by the loader and sent as
 * they are to every client that accepts them. */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#include <brotli/encode.h>

#include "prep.h"

/* A variant must save at least this share of the bytes to be kept. */
#define PREP_MIN_SAVING_PCT 10
/* Below this size a variant saves too little to matter. */
#define PREP_MIN_COMPRESS 256

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

static unsigned char *brotli_bytes(const unsigned char *data, size_t len,
                                   size_t *out_len)
{
    size_t cap = BrotliEncoderMaxCompressedSize(len);
    unsigned char *out = malloc(cap ? cap : len + 1024);
    /* Large files (the CSV database) at a quality that keeps the load
     * within seconds; the many small files at a high one. */
    int quality = len > 1024 * 1024 ? 5 : 9;
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
        out = gzip_bytes(data, len, out_len);
    } else if (encoding == PREP_ENC_BR) {
        out = brotli_bytes(data, len, out_len);
    }
    if (out && *out_len * 100 > len * (100 - PREP_MIN_SAVING_PCT)) {
        free(out); /* saves too little to be worth a variant */
        out = NULL;
    }
    return out;
}
