/* prep_verify.c — PrepVerify: the public key, checked when the configuration
 * is read (a key that cannot be used is a configuration error, not a
 * refusal of every package on election night), the check of one package
 * from its one descriptor against its sidecar (NAME.sha256, NAME.sig), and
 * the check that the bytes unpacked are the bytes verified.  Then the whole
 * of what a package is checked for without a store, the work of a load's
 * verify and unpack phases and of its check phase's first half, which
 * prepctl verify runs as they are (prep_package_check); and the identity of
 * a package published again: it must give the very corte it gave. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <apr_lib.h>
#include <apr_mmap.h>
#include <apr_portable.h>
#include <apr_strings.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "prep.h"

const char *prep_verify_key_check(const char *path, apr_pool_t *p)
{
    FILE *kf = fopen(path, "r");
    EVP_PKEY *key;
    int id;

    if (!kf) {
        return apr_psprintf(p, "cannot read the public key %s: %s", path,
                            strerror(errno));
    }
    key = PEM_read_PUBKEY(kf, NULL, NULL, NULL);
    fclose(kf);
    if (!key) {
        return apr_psprintf(p,
                            "%s is not a PEM public key (make one with "
                            "`openssl pkey -in KEY -pubout`)",
                            path);
    }
    id = EVP_PKEY_get_id(key);
    EVP_PKEY_free(key);
    if (id != EVP_PKEY_RSA && id != EVP_PKEY_EC && id != EVP_PKEY_ED25519 &&
        id != EVP_PKEY_ED448) {
        return apr_psprintf(p,
                            "%s: only RSA, ECDSA and Ed25519 keys are "
                            "supported",
                            path);
    }
    return NULL;
}

/* --- PrepVerify of one package ------------------------------------- */

#define READ_BLOCK         (256 * 1024)
#define SHA256_SIDECAR_MAX 4096
#define SIGNATURE_MAX      16384

typedef struct digest_baton {
    EVP_MD_CTX *sha, *sig;
} digest_baton_t;

static apr_status_t digest_block(void *baton, const unsigned char *bytes,
                                 apr_size_t n)
{
    digest_baton_t *d = baton;

    EVP_DigestUpdate(d->sha, bytes, n);
    if (d->sig && EVP_DigestVerifyUpdate(d->sig, bytes, n) != 1) {
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

/* Feeds every byte of the package, from offset 0 of its descriptor, to the
 * SHA-256 in `sha` and, when `sig` is not NULL, to a signature check. */
static apr_status_t digest_package(apr_file_t *package, EVP_MD_CTX *sha,
                                   EVP_MD_CTX *sig)
{
    digest_baton_t d = {sha, sig};
    apr_os_file_t fd;

    apr_os_file_get(&fd, package);
    return prep_fd_blocks(fd, READ_BLOCK, digest_block, &d);
}

static apr_status_t verify_sha256(const prep_feed_t *f, int dirfd,
                                  const char *name, apr_file_t *package,
                                  unsigned char sha256[32], prep_verdict_t *v,
                                  apr_pool_t *p)
{
    const char *shown = prep_name_shown(p, name), *why;
    char *text, *hex;
    apr_size_t len, i;
    EVP_MD_CTX *ctx;
    apr_status_t rv;

    (void)f;
    if (prep_incoming_read_small(&text, &len, dirfd,
                                 apr_pstrcat(p, name, ".sha256", NULL),
                                 SHA256_SIDECAR_MAX, &why, p) != APR_SUCCESS) {
        return prep_refuse(v, p, "verify", "PrepVerify sha256: %s.sha256 %s",
                           shown, why);
    }
    /* sha256sum format: 64 hex digits, then "  NAME" (or " *NAME"). */
    for (i = 0; i < len && i < 64 && apr_isxdigit(text[i]); i++) {
        text[i] = apr_tolower(text[i]);
    }
    if (i != 64 || (len > 64 && !apr_isspace(text[64]))) {
        return prep_refuse(v, p, "verify",
                           "%s.sha256 does not start with a SHA-256 in hex",
                           shown);
    }
    ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    rv = digest_package(package, ctx, NULL);
    EVP_DigestFinal_ex(ctx, sha256, NULL);
    EVP_MD_CTX_free(ctx);
    if (rv != APR_SUCCESS) {
        return prep_refuse(v, p, "io", "cannot read %s", shown);
    }
    hex = prep_hex(p, sha256, 32);
    if (strncmp(hex, text, 64)) {
        return prep_refuse(v, p, "verify",
                           "SHA-256 of %s is %s, its sidecar says %.64s", shown,
                           hex, text);
    }
    return APR_SUCCESS;
}

static apr_status_t verify_signature(const prep_feed_t *f, int dirfd,
                                     const char *name, apr_file_t *package,
                                     unsigned char sha256[32],
                                     prep_verdict_t *v, apr_pool_t *p)
{
    const char *shown = prep_name_shown(p, name), *why;
    char *sig;
    apr_size_t sig_len;
    FILE *kf;
    EVP_PKEY *key = NULL;
    EVP_MD_CTX *ctx = NULL, *sha = NULL;
    int ok = 0, ed;

    if (prep_incoming_read_small(&sig, &sig_len, dirfd,
                                 apr_pstrcat(p, name, ".sig", NULL),
                                 SIGNATURE_MAX, &why, p) != APR_SUCCESS) {
        return prep_refuse(v, p, "verify", "PrepVerify signature: %s.sig %s",
                           shown, why);
    }
    if (!(kf = fopen(f->verify_key, "r")) ||
        !(key = PEM_read_PUBKEY(kf, NULL, NULL, NULL))) {
        if (kf) {
            fclose(kf);
        }
        return prep_refuse(v, p, "verify", "cannot read the public key %s",
                           f->verify_key);
    }
    fclose(kf);
    /* Ed25519 signs the message itself, in one piece (mapped from the same
     * descriptor, not read into memory); RSA and ECDSA a SHA-256 of it, as
     * `openssl dgst -sha256 -sign` makes them, read in blocks.  The SHA-256
     * of the bytes verified is taken in the same pass. */
    ed = EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 ||
         EVP_PKEY_get_id(key) == EVP_PKEY_ED448;
    ctx = EVP_MD_CTX_new();
    sha = EVP_MD_CTX_new();
    if (ctx && sha && EVP_DigestInit_ex(sha, EVP_sha256(), NULL) == 1 &&
        EVP_DigestVerifyInit(ctx, NULL, ed ? NULL : EVP_sha256(), NULL, key) ==
            1) {
        if (ed) {
            apr_finfo_t fi;
            apr_mmap_t *mm;

            ok = apr_file_info_get(&fi, APR_FINFO_SIZE, package) ==
                     APR_SUCCESS &&
                 fi.size > 0 &&
                 apr_mmap_create(&mm, package, 0, (apr_size_t)fi.size,
                                 APR_MMAP_READ, p) == APR_SUCCESS;
            if (ok) {
                EVP_DigestUpdate(sha, mm->mm, mm->size);
                ok = EVP_DigestVerify(ctx, (unsigned char *)sig, sig_len,
                                      mm->mm, mm->size) == 1;
                apr_mmap_delete(mm);
            }
        } else {
            ok = digest_package(package, sha, ctx) == APR_SUCCESS &&
                 EVP_DigestVerifyFinal(ctx, (unsigned char *)sig, sig_len) == 1;
        }
        EVP_DigestFinal_ex(sha, sha256, NULL);
    }
    EVP_MD_CTX_free(sha);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    if (!ok) {
        return prep_refuse(v, p, "verify",
                           "the signature %s.sig does not match %s with %s",
                           shown, shown, f->verify_key);
    }
    return APR_SUCCESS;
}

apr_status_t prep_verify_package(const prep_feed_t *feed, int dirfd,
                                 const char *name, apr_file_t *package,
                                 unsigned char sha256[32],
                                 prep_verdict_t *verdict, apr_pool_t *p)
{
    switch (feed->verify) {
        case PREP_VERIFY_SHA256:
            return verify_sha256(feed, dirfd, name, package, sha256, verdict,
                                 p);
        case PREP_VERIFY_SIGNATURE:
            return verify_signature(feed, dirfd, name, package, sha256, verdict,
                                    p);
        default:
            return APR_SUCCESS;
    }
}

apr_status_t prep_verify_unpacked(const prep_feed_t *feed, const char *name,
                                  const unsigned char verified[32],
                                  const unsigned char unpacked[32],
                                  prep_verdict_t *verdict, apr_pool_t *p)
{
    if (feed->verify == PREP_VERIFY_NONE || !memcmp(unpacked, verified, 32)) {
        return APR_SUCCESS;
    }
    return prep_refuse(verdict, p, "verify",
                       "%s changed between its verification and its "
                       "unpacking",
                       prep_name_shown(p, name));
}

/* --- the checks that need no store --------------------------------- */

apr_status_t prep_verify_unpack(prep_unpacked_t **unpacked,
                                const prep_feed_t *feed, apr_file_t *package,
                                apr_file_t *pack, prep_verdict_t *verdict,
                                apr_pool_t *p)
{
    if (prep_package_unpack_file(unpacked, package, pack, &feed->limits,
                                 feed->strip, verdict, p) == APR_SUCCESS) {
        return APR_SUCCESS;
    }
    if (!verdict->reason) {
        prep_refuse(verdict, p, "io", "the package cannot be read");
    }
    return APR_EGENERAL;
}

apr_status_t prep_verify_checked(apr_time_t *corte_time,
                                 const prep_feed_t *feed, const char *name,
                                 apr_time_t mtime,
                                 const unsigned char verified[32],
                                 const prep_unpacked_t *unpacked,
                                 apr_file_t *pack, prep_verdict_t *verdict,
                                 apr_pool_t *p)
{
    apr_os_file_t fd;

    if (prep_verify_unpacked(feed, name, verified, unpacked->package_sha256,
                             verdict, p) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    apr_os_file_get(&fd, pack);
    return prep_corte_time_check(corte_time, feed, name, mtime, unpacked, fd,
                                 verdict, p);
}

/* An incremental package (prep_incremental.c) over the base given, which
 * its manifest must name: *out's unpacked becomes the merged corte's files.
 * Without a base, only its manifest is read. */
static apr_status_t check_incremental(prep_checked_t *out,
                                      const prep_feed_t *feed,
                                      const prep_corte_t *base,
                                      const char *base_dir, apr_file_t *pack,
                                      prep_verdict_t *verdict, apr_pool_t *p)
{
    if (prep_incremental_read(&out->incremental, out->unpacked, pack,
                              &feed->limits, verdict, p) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if (!out->incremental || !base) {
        return APR_SUCCESS;
    }
    if (prep_incremental_base_check(out->incremental, base,
                                    "the base corte given", &feed->zone,
                                    verdict, p) != APR_SUCCESS ||
        prep_incremental_merge(&out->unpacked, &out->count, out->unpacked,
                               out->incremental, base->id, base_dir, pack,
                               &feed->limits, verdict, p) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    out->base = base;
    return APR_SUCCESS;
}

apr_status_t prep_package_check(prep_checked_t **out, const prep_feed_t *feed,
                                const char *package_path, apr_file_t *pack,
                                prep_verdict_t *verdict, apr_pool_t *p)
{
    return prep_package_check_over(out, feed, package_path, NULL, NULL, pack,
                                   verdict, p);
}

apr_status_t prep_package_check_over(prep_checked_t **out,
                                     const prep_feed_t *feed,
                                     const char *package_path,
                                     const prep_corte_t *base,
                                     const char *base_dir, apr_file_t *pack,
                                     prep_verdict_t *verdict, apr_pool_t *p)
{
    const char *slash = strrchr(package_path, '/'), *dir = ".";
    const char *name = slash ? slash + 1 : package_path;
    unsigned char verified[32] = {0};
    prep_file_identity_t id;
    apr_file_t *package;
    apr_status_t rv;
    int dirfd;

    if (slash) {
        dir = slash == package_path
                  ? "/"
                  : apr_pstrndup(p, package_path,
                                 (apr_size_t)(slash - package_path));
    }
    *out = apr_pcalloc(p, sizeof(**out));
    verdict->reason = verdict->message = NULL;
    /* One open, as a load opens it: a regular file, never through a link. */
    dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0 || prep_incoming_open(&package, &id, dirfd, name, NULL, p) !=
                         APR_SUCCESS) {
        rv = prep_refuse(verdict, p, "io",
                         "%s cannot be opened as a regular file",
                         prep_name_shown(p, name));
    } else if ((rv = prep_verify_package(feed, dirfd, name, package, verified,
                                         verdict, p)) == APR_SUCCESS &&
               (rv = prep_verify_unpack(&(*out)->unpacked, feed, package, pack,
                                        verdict, p)) == APR_SUCCESS &&
               (rv = check_incremental(*out, feed, base, base_dir, pack,
                                       verdict, p)) == APR_SUCCESS) {
        rv = prep_verify_checked(&(*out)->corte_time, feed, name, id.mtime,
                                 verified, (*out)->unpacked, pack, verdict, p);
        /* alone, an incremental package may not carry the file its corte
         * time is read from: the merged corte will */
        if (rv != APR_SUCCESS && (*out)->incremental && !base &&
            verdict->reason && !strcmp(verdict->reason, "no-corte-time")) {
            (*out)->corte_time = 0;
            verdict->reason = verdict->message = NULL;
            rv = APR_SUCCESS;
        }
    }
    if (dirfd >= 0) {
        close(dirfd);
    }
    return rv;
}

/* --- a republish ---------------------------------------------------- */

apr_status_t prep_verify_republished(const prep_corte_t *corte,
                                     const char *corte_id,
                                     const char *corte_sha256,
                                     prep_verdict_t *verdict, apr_pool_t *p)
{
    if ((corte_id && strcmp(corte_id, corte->id)) || !corte_sha256 ||
        strcmp(corte_sha256, corte->sha256)) {
        return prep_refuse(verdict, p, "verify",
                           "the retained package gives corte %s, not %s",
                           corte->id, corte_id);
    }
    return APR_SUCCESS;
}
