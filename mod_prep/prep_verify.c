/* prep_verify.c — PrepVerify's public key, checked when the configuration
 * is read: a key that cannot be used is a configuration error, not a
 * refusal of every package on election night. */
#include <stdio.h>
#include <string.h>
#include <errno.h>

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
