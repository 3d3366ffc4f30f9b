/*
 * sha256.c: SHA-256 for secret fingerprints, content keys and the rule-set hash,
 * through OpenSSL's libcrypto (SHA-NI / AVX2 code paths: ~8x a portable C
 * version, and content keys are computed for every file and archive member).
 * Correctness is checked against the NIST vectors in tests/unit/test_util.c.
 */
#include "util/util.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

/* The algorithm fetched once: EVP_sha256() is fetched again from the provider
 * on every digest that names it (OpenSSL 3), ~4,000 instructions, and a
 * re-scan takes a thousand small digests (tip keys, ref names, cache ids). */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void fetch_md(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *md_sha256(void)
{
    pthread_once(&sha256_once, fetch_md);
    return sha256_md ? sha256_md : EVP_sha256();
}

static EVP_MD_CTX *ctx_new(void)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c || EVP_DigestInit_ex(c, md_sha256(), NULL) != 1) {
        fprintf(stderr, "ferret: libcrypto cannot provide SHA-256\n");
        abort();
    }
    return c;
}

void fr_sha256_init(fr_sha256_ctx *c)
{
    c->md = ctx_new();
}

void fr_sha256_update(fr_sha256_ctx *c, const void *data, size_t n)
{
    EVP_DigestUpdate(c->md, data, n);
}

void fr_sha256_final(fr_sha256_ctx *c, unsigned char out[32])
{
    unsigned int len = 32;
    EVP_DigestFinal_ex(c->md, out, &len);
    EVP_MD_CTX_free(c->md);
    c->md = NULL;
}

void fr_sha256(const void *data, size_t n, unsigned char out[32])
{
    unsigned int len = 32;
    if (EVP_Digest(data, n, out, &len, md_sha256(), NULL) != 1) {
        fprintf(stderr, "ferret: libcrypto cannot provide SHA-256\n");
        abort();
    }
}

void fr_hex(char *out, const unsigned char *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = 0;
}

void fr_sha256_hex(const void *data, size_t n, char out[65])
{
    unsigned char d[32];
    fr_sha256(data, n, d);
    fr_hex(out, d, 32);
}
