/* check_compress.c — unit tests of the precompressed variants
 * (prep_compress.c): every variant decodes to the bytes it was made from,
 * small files and huge ones (split over the cores, pieces joined into one
 * gzip member), and a variant that would save too little is not made.
 * The streamed variants of huge files (prep_compress_stream) too: the same
 * bytes back, nothing left in the out file when not worth keeping, and the
 * memory they take bounded whatever the file's size. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zlib.h>
#include <brotli/decode.h>
#include <openssl/evp.h>

#include "prep.h"
#include "test_prep.h"

/* CSV-like text: compressible, but not a run of one byte. */
static unsigned char *csv_text(size_t len)
{
    unsigned char *b = malloc(len);
    size_t i = 0;
    unsigned row = 0;

    ck_assert_ptr_nonnull(b);
    while (i < len) {
        char line[128];
        int n = snprintf(line, sizeof(line),
                         "'22-%05uB','%07u',22,\"QUERÉTARO\",%u,%u,%u,%u\r\n",
                         row % 99991, row, row % 15, (row * 7919) % 751,
                         (row * 104729) % 331, (row * 1299709) % 97);
        size_t take = (size_t)n < len - i ? (size_t)n : len - i;
        memcpy(b + i, line, take);
        i += take;
        row++;
    }
    return b;
}

static void assert_gunzips_to(const unsigned char *gz, size_t gz_len,
                              const unsigned char *data, size_t len)
{
    unsigned char *out = malloc(len + 1);
    z_stream z;

    ck_assert_ptr_nonnull(out);
    memset(&z, 0, sizeof(z));
    ck_assert_int_eq(inflateInit2(&z, 15 + 16), Z_OK); /* gzip only */
    z.next_in = (Bytef *)gz;
    z.avail_in = (uInt)gz_len;
    z.next_out = out;
    z.avail_out = (uInt)len + 1;
    ck_assert_int_eq(inflate(&z, Z_FINISH), Z_STREAM_END);
    ck_assert_uint_eq(z.total_out, len);
    ck_assert_uint_eq(z.avail_in, 0); /* one member, nothing after it */
    inflateEnd(&z);
    ck_assert(memcmp(out, data, len) == 0);
    free(out);
}

static void assert_unbrotlis_to(const unsigned char *br, size_t br_len,
                                const unsigned char *data, size_t len)
{
    size_t out_len = len + 1;
    unsigned char *out = malloc(out_len);

    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(BrotliDecoderDecompress(br_len, br, &out_len, out),
                     BROTLI_DECODER_RESULT_SUCCESS);
    ck_assert_uint_eq(out_len, len);
    ck_assert(memcmp(out, data, len) == 0);
    free(out);
}

static void round_trip(size_t len)
{
    unsigned char *data = csv_text(len), *gz, *br;
    size_t gz_len, br_len;

    gz = prep_compress(PREP_ENC_GZIP, data, len, &gz_len);
    ck_assert_ptr_nonnull(gz);
    ck_assert_uint_lt(gz_len, len / 2);
    assert_gunzips_to(gz, gz_len, data, len);
    br = prep_compress(PREP_ENC_BR, data, len, &br_len);
    ck_assert_ptr_nonnull(br);
    ck_assert_uint_lt(br_len, len / 2);
    assert_unbrotlis_to(br, br_len, data, len);
    free(gz);
    free(br);
    free(data);
}

START_TEST(small_file_round_trip)
{
    round_trip(430);   /* a casilla's JSON */
    round_trip(23000); /* json/main.json */
}
END_TEST

START_TEST(large_file_round_trip)
{
    round_trip(3 * 1024 * 1024 + 17);
}
END_TEST

/* Over 16 MB: gzip in pieces on every core; the last piece short. */
START_TEST(huge_file_round_trip)
{
    round_trip(17 * 1024 * 1024 + 12345);
}
END_TEST

START_TEST(no_variant_when_it_saves_too_little)
{
    unsigned char data[4096];
    size_t i, out_len;
    unsigned int x = 12345;

    for (i = 0; i < sizeof(data); i++) { /* noise: does not compress */
        x = x * 1103515245u + 12345u;
        data[i] = (unsigned char)(x >> 16);
    }
    ck_assert_ptr_null(
        prep_compress(PREP_ENC_GZIP, data, sizeof(data), &out_len));
    ck_assert_ptr_null(
        prep_compress(PREP_ENC_BR, data, sizeof(data), &out_len));
    ck_assert_ptr_null(prep_compress(PREP_ENC_GZIP, "tiny", 4, &out_len));
}
END_TEST

/* --- prep_compress_stream ------------------------------------------- */

/* A temporary file that is gone once closed. */
static int temp_file(void)
{
    char tmpl[] = "/tmp/prep-compress-XXXXXX";
    int fd = mkstemp(tmpl);

    ck_assert_int_ge(fd, 0);
    unlink(tmpl);
    return fd;
}

static void write_at(int fd, const void *data, size_t len, off_t at)
{
    ck_assert_int_eq(pwrite(fd, data, len, at), (ssize_t)len);
}

static off_t file_size(int fd)
{
    struct stat st;

    ck_assert_int_eq(fstat(fd, &st), 0);
    return st.st_size;
}

/* `len` bytes of `data` put in a file after 1000 other bytes, streamed in
 * `encoding` to a file that already holds 777 bytes: 1 (a variant), the out
 * file grown by exactly it, its SHA-256 the one given back, and decoding it
 * gives `data`.  Returns the variant's length. */
static apr_uint64_t stream_round_trip(int encoding, const unsigned char *data,
                                      size_t len)
{
    int in = temp_file(), out = temp_file();
    unsigned char before[1000], sha[32], md[32], *variant;
    apr_uint64_t out_len = 0;

    memset(before, 'x', sizeof(before));
    write_at(in, before, sizeof(before), 0);
    write_at(in, data, len, sizeof(before));
    write_at(out, before, 777, 0);
    ck_assert_int_eq(prep_compress_stream(encoding, in, sizeof(before), len,
                                          out, 777, &out_len, sha),
                     1);
    ck_assert_int_eq(file_size(out), 777 + (off_t)out_len);
    variant = malloc(out_len);
    ck_assert_ptr_nonnull(variant);
    ck_assert_int_eq(pread(out, variant, out_len, 777), (ssize_t)out_len);
    EVP_Digest(variant, out_len, md, NULL, EVP_sha256(), NULL);
    ck_assert(memcmp(md, sha, 32) == 0);
    if (encoding == PREP_ENC_GZIP) {
        assert_gunzips_to(variant, out_len, data, len);
    } else {
        assert_unbrotlis_to(variant, out_len, data, len);
    }
    free(variant);
    close(in);
    close(out);
    return out_len;
}

START_TEST(stream_round_trip_gzip_and_br)
{
    /* pieces: the last one short; every piece full; one piece only */
    static const size_t lens[] = {17 * 1024 * 1024 + 12345, 20 * 1024 * 1024,
                                  300 * 1024};
    size_t i;

    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        unsigned char *data = csv_text(lens[i]);

        ck_assert_uint_lt(stream_round_trip(PREP_ENC_GZIP, data, lens[i]),
                          lens[i] / 2);
        ck_assert_uint_lt(stream_round_trip(PREP_ENC_BR, data, lens[i]),
                          lens[i] / 2);
        free(data);
    }
}
END_TEST

/* Noise does not compress: no variant, and the out file keeps its size
 * (what a give-up wrote is truncated away). */
START_TEST(stream_incompressible_gives_no_variant)
{
    size_t len = 40 * 1024 * 1024, i;
    unsigned char *data = malloc(len), sha[32];
    unsigned int x = 2463534242u;
    int in = temp_file(), out = temp_file(), enc;
    apr_uint64_t out_len = 12345;

    ck_assert_ptr_nonnull(data);
    for (i = 0; i < len; i++) { /* xorshift: no pattern zlib or brotli see */
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        data[i] = (unsigned char)x;
    }
    write_at(in, data, len, 0);
    write_at(out, "pack", 4, 0);
    for (enc = PREP_ENC_GZIP; enc <= PREP_ENC_BR; enc++) {
        ck_assert_int_eq(
            prep_compress_stream(enc, in, 0, len, out, 4, &out_len, sha), 0);
        ck_assert_int_eq(file_size(out), 4);
        ck_assert_uint_eq(out_len, 12345); /* untouched */
    }
    /* too small to be worth it, an unknown encoding, a short file */
    ck_assert_int_eq(
        prep_compress_stream(PREP_ENC_GZIP, in, 0, 100, out, 4, &out_len, sha),
        0);
    ck_assert_int_eq(prep_compress_stream(PREP_ENC_IDENTITY, in, 0, len, out, 4,
                                          &out_len, sha),
                     0);
    ck_assert_int_eq(file_size(out), 4);
    free(data);
    /* a file shorter than said: an error, and nothing left either */
    data = csv_text(1024 * 1024);
    write_at(in, data, 1024 * 1024, 0);
    ck_assert_int_eq(ftruncate(in, 1024 * 1024), 0);
    for (enc = PREP_ENC_GZIP; enc <= PREP_ENC_BR; enc++) {
        ck_assert_int_eq(prep_compress_stream(enc, in, 0, 2 * 1024 * 1024, out,
                                              4, &out_len, sha),
                         -1);
        ck_assert_int_eq(file_size(out), 4);
    }
    free(data);
    close(in);
    close(out);
}
END_TEST

/* A value of /proc/self/status, in kB. */
static long status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;

    if (!f) {
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        if (!strncmp(line, field, strlen(field))) {
            kb = atol(line + strlen(field) + 1);
        }
    }
    fclose(f);
    return kb;
}

#define STREAM_MEMORY_FILE  (200 * 1024 * 1024)
#define STREAM_MEMORY_BOUND (120 * 1024) /* kB */

/* In a child of its own (a clean high-water mark): streams a 200 MB text
 * file; exits 0 when its peak RSS grew by less than STREAM_MEMORY_BOUND,
 * which reading the file whole (or holding its output) would exceed. */
static void stream_memory_child(int encoding)
{
    size_t block = 1024 * 1024, at;
    unsigned char *text = csv_text(block), sha[32];
    int in = temp_file(), out = temp_file();
    apr_uint64_t out_len;
    long base, peak;
    int fd;

    for (at = 0; at < STREAM_MEMORY_FILE; at += block) {
        write_at(in, text, block, (off_t)at);
    }
    free(text);
    /* "5" resets the high-water mark to the RSS of now (Linux >= 4.0) */
    fd = open("/proc/self/clear_refs", O_WRONLY);
    if (fd < 0 || write(fd, "5", 1) != 1) {
        fprintf(stderr, "cannot reset VmHWM: %s\n", strerror(errno));
        _exit(2);
    }
    close(fd);
    base = status_kb("VmHWM:");
    if (prep_compress_stream(encoding, in, 0, STREAM_MEMORY_FILE, out, 0,
                             &out_len, sha) != 1) {
        _exit(3);
    }
    peak = status_kb("VmHWM:");
    fprintf(stderr, "stream %s of %d MB: peak RSS %ld kB over %ld kB\n",
            encoding == PREP_ENC_GZIP ? "gzip" : "br", STREAM_MEMORY_FILE >> 20,
            peak - base, base);
    _exit(base > 0 && peak - base < STREAM_MEMORY_BOUND ? 0 : 1);
}

START_TEST(stream_memory_bounded)
{
    int enc;

    for (enc = PREP_ENC_GZIP; enc <= PREP_ENC_BR; enc++) {
        int status;
        pid_t pid = fork();

        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            stream_memory_child(enc);
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        ck_assert_int_eq(WEXITSTATUS(status), 0);
    }
}
END_TEST

Suite *suite_compress(void)
{
    Suite *s = suite_create("compress");
    TCase *tc = tcase_create("variants");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, small_file_round_trip);
    tcase_add_test(tc, large_file_round_trip);
    tcase_add_test(tc, huge_file_round_trip);
    tcase_add_test(tc, no_variant_when_it_saves_too_little);
    suite_add_tcase(s, tc);
    tc = tcase_create("stream");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, stream_round_trip_gzip_and_br);
    tcase_add_test(tc, stream_incompressible_gives_no_variant);
    suite_add_tcase(s, tc);
    /* 200 MB through the compressors in a child that measures its memory:
     * tagged "large", left out under valgrind (minutes there, and a peak
     * RSS measured under valgrind says nothing) */
    tc = tcase_create("stream-large");
    tcase_set_tags(tc, "large");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, stream_memory_bounded);
    suite_add_tcase(s, tc);
    return s;
}
