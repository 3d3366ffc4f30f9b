/*
 * containers.c: credential containers recognised by their raw bytes. A text
 * view blanks binary bytes, so a committed .pfx or keystore holds nothing the
 * rules could read; these checks look at the content itself: PKCS#12 (.pfx,
 * .p12, Java's PKCS12 keystores), Java JKS and JCEKS keystores, KeePass
 * databases (KDBX 2-4 and KDB 1.x). Anything else costs a comparison of its
 * first bytes. A candidate's structure is then walked (PKCS#12 through
 * libcrypto's d2i_PKCS12), and a PKCS#12 is tried with the empty password
 * alone: a file that opens without one is readable by anyone who has it.
 * Nothing is ever guessed beyond that.
 */
#include "detect/detect.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/sha.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A PKCS#12 MAC key costs its iteration count in hash rounds; tools write 2,048
 * (OpenSSL) to 10,000 (Java). Content claiming more is not tried: a crafted
 * file must not stall a worker. */
#define P12_MAX_MAC_ITER 100000
/* Keystore entries walked at most (the header's count is the file's word). */
#define JKS_MAX_ENTRIES 100000

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* A DER/BER length at d[*i] (after the tag): 1 with *len (SIZE_MAX for the
 * indefinite form) and *i past it. */
static int der_len(const unsigned char *d, size_t n, size_t *i, size_t *len)
{
    if (*i >= n) return 0;
    unsigned char b = d[(*i)++];
    if (b < 0x80) {
        *len = b;
        return 1;
    }
    if (b == 0x80) {
        *len = SIZE_MAX;
        return 1;
    }
    size_t k = b & 0x7f, v = 0;
    if (k > 4 || *i + k > n) return 0;
    for (size_t j = 0; j < k; j++)
        v = v << 8 | d[(*i)++];
    *len = v;
    return 1;
}

/* PFX ::= SEQUENCE { version INTEGER (3), authSafe ContentInfo (data or
 * signedData), macData OPTIONAL }: the bytes up to authSafe's content type. */
static int p12_header(const unsigned char *d, size_t n, int whole)
{
    static const unsigned char oid[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07};
    size_t i = 1, len;
    if (n < 24 || d[0] != 0x30 || !der_len(d, n, &i, &len)) return 0;
    if (whole && len != SIZE_MAX && len > n - i) return 0;
    if (i + 4 > n || memcmp(d + i, "\x02\x01\x03\x30", 4)) return 0;
    i += 4;
    if (!der_len(d, n, &i, &len) || i + sizeof oid + 1 > n) return 0;
    return !memcmp(d + i, oid, sizeof oid) && (d[i + sizeof oid] == 1 || d[i + sizeof oid] == 2);
}

/* What a PFX shows without its password: key bags (plain or shrouded) in its
 * plain authSafes, and the authSafes only a password opens. */
typedef struct {
    unsigned keys, shrouded, encrypted;
} p12_bags;

static void p12_count(PKCS12 *p12, p12_bags *b)
{
    STACK_OF(PKCS7) *safes = PKCS12_unpack_authsafes(p12);
    for (int i = 0; safes && i < sk_PKCS7_num(safes); i++) {
        PKCS7 *p7 = sk_PKCS7_value(safes, i);
        if (!PKCS7_type_is_data(p7)) {
            b->encrypted++;
            continue;
        }
        STACK_OF(PKCS12_SAFEBAG) *bags = PKCS12_unpack_p7data(p7);
        for (int j = 0; bags && j < sk_PKCS12_SAFEBAG_num(bags); j++) {
            int nid = PKCS12_SAFEBAG_get_nid(sk_PKCS12_SAFEBAG_value(bags, j));
            if (nid == NID_keyBag) b->keys++;
            if (nid == NID_pkcs8ShroudedKeyBag) b->shrouded++;
        }
        sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
    }
    sk_PKCS7_pop_free(safes, PKCS7_free);
}

/*
 * A PFX whose plain part holds no key is a certificate bundle or a Java
 * truststore (OpenSSL, Java and Windows all write the key as a bag of a plain
 * authSafe and encrypt the certificates): nothing secret, not reported.
 * Password-less: the MAC verifies with the empty (or absent) password, or
 * there is no MAC and nothing encrypted.
 */
static int sniff_p12(const unsigned char *d, size_t n, fr_container *out)
{
    if (!p12_header(d, n, 1) || n > LONG_MAX) return 0;
    const unsigned char *p = d;
    PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long)n);
    if (!p12) {
        ERR_clear_error();
        return 0;
    }
    p12_bags b = {0};
    p12_count(p12, &b);
    int found = b.keys + b.shrouded > 0;
    out->rule_id = "keystore.pkcs12";
    out->validated = FR_VALID_STRUCTURE;
    unsigned k = b.keys + b.shrouded;
    const char *ks = k == 1 ? "" : "s";
    if (!found) {
        out->what[0] = 0;
    } else if (PKCS12_mac_present(p12)) {
        const ASN1_INTEGER *iter = NULL;
        PKCS12_get0_mac(NULL, NULL, NULL, &iter, p12);
        long it = iter ? ASN1_INTEGER_get(iter) : 1;
        if (it < 1 || it > P12_MAX_MAC_ITER) {
            snprintf(out->what, sizeof out->what,
                     "PKCS#12: %u key%s, MAC of %ld iterations not tried", k, ks, it);
        } else if (PKCS12_verify_mac(p12, "", 0) || PKCS12_verify_mac(p12, NULL, 0)) {
            out->rule_id = "keystore.pkcs12-passwordless";
            out->validated = FR_VALID_CHECKSUM;
            snprintf(out->what, sizeof out->what,
                     "PKCS#12: %u key%s, password-less (MAC verified with an empty password)", k,
                     ks);
        } else {
            snprintf(out->what, sizeof out->what, "PKCS#12: %u key%s, password-protected", k, ks);
        }
    } else if (!b.shrouded && !b.encrypted) {
        out->rule_id = "keystore.pkcs12-passwordless";
        snprintf(out->what, sizeof out->what,
                 "PKCS#12: %u key%s, password-less (no MAC, nothing encrypted)", k, ks);
    } else {
        snprintf(out->what, sizeof out->what, "PKCS#12: %u key%s, encrypted, no MAC", k, ks);
    }
    ERR_clear_error();
    PKCS12_free(p12);
    return found;
}

/* Java's modified UTF-8 string: a 2-byte length and the bytes. */
static int jks_utf(const unsigned char *d, size_t n, size_t *i)
{
    if (*i + 2 > n) return 0;
    size_t l = (size_t)d[*i] << 8 | d[*i + 1];
    if (l > n - *i - 2) return 0;
    *i += 2 + l;
    return 1;
}

/* A 4-byte length and that many bytes. */
static int jks_blob(const unsigned char *d, size_t n, size_t *i)
{
    if (*i + 4 > n) return 0;
    uint32_t l = be32(d + *i);
    if (l > n - *i - 4) return 0;
    *i += 4 + l;
    return 1;
}

/*
 * JKS / JCEKS: magic, version (1 or 2), entry count, entries (tag 1 private
 * key: alias, date, protected key, certificate chain; tag 2 trusted
 * certificate; JCEKS tag 3 secret key, a serialized Java object with no
 * length), then a 20-byte SHA-1 keyed with the store password. The entries are
 * walked to that digest; a JCEKS secret key ends the walk (its length is not
 * written), the entries before it having parsed.
 */
static int sniff_jks(const unsigned char *d, size_t n, fr_container *out)
{
    int jceks = d[0] == 0xce;
    uint32_t ver = be32(d + 4), cnt = be32(d + 8);
    if ((ver != 1 && ver != 2) || cnt > JKS_MAX_ENTRIES) return 0;
    size_t i = 12;
    unsigned keys = 0, certs = 0, secrets = 0;
    for (uint32_t e = 0; e < cnt; e++) {
        if (i + 4 > n) return 0;
        uint32_t tag = be32(d + i);
        i += 4;
        if (!jks_utf(d, n, &i) || i + 8 > n) return 0; /* alias, then the date */
        i += 8;
        if (tag == 1) {
            if (!jks_blob(d, n, &i) || i + 4 > n) return 0;
            uint32_t chain = be32(d + i);
            i += 4;
            if (chain > JKS_MAX_ENTRIES) return 0;
            for (uint32_t c = 0; c < chain; c++)
                if ((ver == 2 && !jks_utf(d, n, &i)) || !jks_blob(d, n, &i)) return 0;
            keys++;
        } else if (tag == 2) {
            if ((ver == 2 && !jks_utf(d, n, &i)) || !jks_blob(d, n, &i)) return 0;
            certs++;
        } else if (tag == 3 && jceks) {
            secrets++;
            break;
        } else {
            return 0;
        }
    }
    if (!secrets && i + SHA_DIGEST_LENGTH != n) return 0;
    if (!keys && !secrets) return 0; /* a truststore: certificates only, nothing secret */
    out->rule_id = jceks ? "keystore.jceks" : "keystore.jks";
    out->validated = FR_VALID_STRUCTURE;
    /* The integrity digest is SHA-1 over the password (UTF-16), the words
     * "Mighty Aphrodite" and the store: with an empty password it can be
     * checked at no cost (the keys keep passwords of their own). */
    const char *pw = "";
    if (!secrets) {
        unsigned char md[SHA_DIGEST_LENGTH];
        unsigned mdlen = 0;
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        int ok = c && EVP_DigestInit_ex(c, EVP_sha1(), NULL) &&
                 EVP_DigestUpdate(c, "Mighty Aphrodite", 16) && EVP_DigestUpdate(c, d, i) &&
                 EVP_DigestFinal_ex(c, md, &mdlen) && mdlen == sizeof md;
        EVP_MD_CTX_free(c);
        if (ok && !memcmp(md, d + i, sizeof md)) {
            out->validated = FR_VALID_CHECKSUM;
            pw = ", empty store password";
        }
    }
    snprintf(out->what, sizeof out->what,
             "%s keystore v%u: %u entr%s (%u key%s, %u certificate%s%s)%s", jceks ? "JCEKS" : "JKS",
             ver, cnt, cnt == 1 ? "y" : "ies", keys + secrets, keys + secrets == 1 ? "" : "s",
             certs, certs == 1 ? "" : "s", secrets ? ", a secret key ends the walk" : "", pw);
    return 1;
}

/*
 * KeePass: KDBX (2.x-4.x: signature 9AA2D903 B54BFB67, the 2.x pre-release
 * B54BFB66) has a version and a header of type-length-value fields ending
 * with field 0; KDB 1.x (B54BFB65) a fixed 124-byte header with version 3.x.
 */
static int sniff_kdbx(const unsigned char *d, size_t n, fr_container *out)
{
    uint32_t sig2 = le32(d + 4), ver = le32(d + 8);
    if (sig2 == 0xB54BFB65) { /* flags at 8, version at 12, counts at 48 */
        if (n < 124 || (le32(d + 12) & 0xFFFFFF00u) != 0x00030000u) return 0;
        out->rule_id = "keystore.kdbx";
        out->validated = FR_VALID_STRUCTURE;
        snprintf(out->what, sizeof out->what, "KeePass 1.x database (KDB, %u groups, %u entries)",
                 le32(d + 48), le32(d + 52));
        return 1;
    }
    if (sig2 != 0xB54BFB67 && sig2 != 0xB54BFB66) return 0;
    unsigned major = ver >> 16;
    if (major < 2 || major > 4) return 0;
    size_t i = 12, wide = major >= 4 ? 4 : 2;
    for (int f = 0;; f++) {
        if (f > 64 || i + 1 + wide > n) return 0;
        unsigned id = d[i];
        size_t l = wide == 4 ? le32(d + i + 1) : (size_t)d[i + 1] | (size_t)d[i + 2] << 8;
        i += 1 + wide;
        if (id > 12 || l > n - i) return 0;
        i += l;
        if (id == 0) break;
    }
    out->rule_id = "keystore.kdbx";
    out->validated = FR_VALID_STRUCTURE;
    snprintf(out->what, sizeof out->what, "KeePass database (KDBX %u.%u)", major, ver & 0xffff);
    return 1;
}

int fr_container_sniff(const unsigned char *d, size_t n, fr_container *out)
{
    memset(out, 0, sizeof *out);
    if (n < 12) return 0;
    if (d[0] == 0x30) return sniff_p12(d, n, out);
    if (!memcmp(d, "\xfe\xed\xfe\xed", 4) || !memcmp(d, "\xce\xce\xce\xce", 4))
        return sniff_jks(d, n, out);
    if (!memcmp(d, "\x03\xd9\xa2\x9a", 4)) return sniff_kdbx(d, n, out);
    return 0;
}

/* The start of each container as it reads in base64, for the text form. */
static int header_only(const unsigned char *d, size_t n)
{
    if (n < 12) return 0;
    if (d[0] == 0x30) return p12_header(d, n, 0);
    if (!memcmp(d, "\xfe\xed\xfe\xed", 4) || !memcmp(d, "\xce\xce\xce\xce", 4))
        return be32(d + 4) == 1 || be32(d + 4) == 2;
    return !memcmp(d, "\x03\xd9\xa2\x9a", 4);
}

int fr_container_base64(const unsigned char *s, size_t n, int passwordless)
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (!n) return FR_VALID_NONE; /* the engine's probe of the validator's name */
    unsigned char *d = malloc(n / 4 * 3 + 3);
    if (!d) return FR_VALID_NONE;
    size_t o = 0, bits = 0;
    uint32_t acc = 0;
    for (size_t i = 0; i < n && s[i] != '='; i++) {
        const char *c = memchr(A, s[i], 64);
        if (!c || !s[i]) break;
        acc = acc << 6 | (uint32_t)(c - A);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            d[o++] = (unsigned char)(acc >> bits);
        }
    }
    fr_container ct;
    int v;
    if (fr_container_sniff(d, o, &ct)) /* whole: judged as the file would be */
        v = !strcmp(ct.rule_id, "keystore.pkcs12-passwordless") == !passwordless ? FR_VALID_REJECT
                                                                                 : ct.validated;
    else if (passwordless || !header_only(d, o))
        v = FR_VALID_REJECT;
    else /* cut short (a wrapped line, the window): its header */
        v = FR_VALID_STRUCTURE;
    free(d);
    return v;
}
