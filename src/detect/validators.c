/*
 * validators.c: offline checks of the proof some credential formats carry in
 * themselves. A pass raises confidence in a finding; a fail does not hide it
 * (a mistyped or truncated token may still be a leak), it just stays
 * "validated: none". No network calls, ever.
 *
 * Checksums: CRC32 (GitHub, npm, legacy Azure DevOps PATs) and Marvin32
 * (Microsoft's identifiable keys, common annotated security keys, Entra ID
 * client secrets). Structure: JWT headers, PEM / OpenSSH key bodies parsed as the key
 * type they claim, GCP service-account JSON, Docker auth strings.
 *
 * Every check costs at most linear time in a bounded input: keys are parsed as
 * structure only, never decrypted, derived (an encrypted key names its own KDF
 * iteration count) or checked arithmetically (a key names its own size).
 */
#include "detect/detect.h"
#include "util/limits.h"

#include <ctype.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

static const char B62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* ---- primitives ---------------------------------------------------------- */

static uint32_t rotl32(uint32_t x, int n)
{
    return x << n | x >> (32 - n);
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t fr_marvin64(uint64_t seed, const unsigned char *d, size_t n)
{
    uint32_t lo = (uint32_t)seed, hi = (uint32_t)(seed >> 32);
#define MARVIN_MIX()                                                                               \
    do {                                                                                           \
        hi ^= lo;                                                                                  \
        lo = rotl32(lo, 20);                                                                       \
        lo += hi;                                                                                  \
        hi = rotl32(hi, 9);                                                                        \
        hi ^= lo;                                                                                  \
        lo = rotl32(lo, 27);                                                                       \
        lo += hi;                                                                                  \
        hi = rotl32(hi, 19);                                                                       \
    } while (0)
    for (; n >= 4; d += 4, n -= 4) {
        lo += le32(d);
        MARVIN_MIX();
    }
    uint32_t fin = 0x80;
    for (size_t i = n; i-- > 0;)
        fin = fin << 8 | d[i];
    lo += fin;
    MARVIN_MIX();
    MARVIN_MIX();
#undef MARVIN_MIX
    return (uint64_t)hi << 32 | lo;
}

uint32_t fr_marvin32(uint64_t seed, const unsigned char *d, size_t n)
{
    uint64_t h = fr_marvin64(seed, d, n);
    return (uint32_t)h ^ (uint32_t)(h >> 32);
}

static int b64val(unsigned char c, int url)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == (url ? '-' : '+')) return 62;
    if (c == (url ? '_' : '/')) return 63;
    return -1;
}

/* Decodes base64 (standard, or URL-safe when url) into out[0..cap), stopping at
 * the first '=' (padding) and, when skip_space, skipping whitespace. Returns the
 * byte count, or -1 on any other character or when out is too small. */
static long b64decode(const unsigned char *s, size_t n, int url, int skip_space, unsigned char *out,
                      size_t cap)
{
    size_t o = 0, bits = 0;
    uint32_t acc = 0;
    for (size_t i = 0; i < n && s[i] != '='; i++) {
        if (skip_space && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) continue;
        int v = b64val(s[i], url);
        if (v < 0) return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o == cap) return -1;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    return (long)o;
}

/* ---- CRC32 formats -------------------------------------------------------- */

/* "<prefix>_" + 30 base62 characters + the base62 CRC32 of those 30, left-padded
 * with '0' to 6 characters: GitHub's token format, also npm's. */
static int base62_crc32(const unsigned char *s, size_t n)
{
    const unsigned char *us = memchr(s, '_', n);
    if (!us || (size_t)(s + n - us - 1) != 36) return FR_VALID_NONE;
    const unsigned char *body = us + 1;
    uint32_t crc = (uint32_t)crc32(0L, body, 30);
    char want[7];
    for (int i = 5; i >= 0; i--) {
        want[i] = B62[crc % 62];
        crc /= 62;
    }
    return memcmp(want, body + 30, 6) == 0 ? FR_VALID_CHECKSUM : FR_VALID_NONE;
}

/* The legacy Azure DevOps PAT: 52 base32 characters = 32 bytes, four of which
 * (at 22, 8, 7 and 2, little-endian in that order) hold the CRC32 of the other
 * 28 XORed with the user-PAT or application-PAT constant. */
static int azdo_legacy_crc32(const unsigned char *s, size_t n)
{
    if (n != 52) return FR_VALID_NONE;
    unsigned char b[33] = {0};
    size_t o = 0, bits = 0;
    uint32_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i] | 0x20;
        int v = c >= 'a' && c <= 'z' ? c - 'a' : s[i] >= '2' && s[i] <= '7' ? s[i] - '2' + 26 : -1;
        if (v < 0) return FR_VALID_NONE;
        acc = acc << 5 | (uint32_t)v;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            b[o++] = (unsigned char)(acc >> bits);
        }
    }
    unsigned char body[28];
    memcpy(body, b, 2);
    memcpy(body + 2, b + 3, 4);
    memcpy(body + 6, b + 9, 13);
    memcpy(body + 19, b + 23, 9);
    uint32_t crc = (uint32_t)crc32(0L, body, sizeof body);
    uint32_t have =
        (uint32_t)b[22] | (uint32_t)b[8] << 8 | (uint32_t)b[7] << 16 | (uint32_t)b[2] << 24;
    return have == (crc ^ 0xE0B9692Du) || have == (crc ^ 0x1019F92Eu) ? FR_VALID_CHECKSUM
                                                                      : FR_VALID_NONE;
}

/* ---- Marvin32 formats ----------------------------------------------------- */

/* Microsoft derives each key kind's Marvin32 seed from an 8-character name read
 * as a little-endian integer of its reversed bytes, e.g. "Default0" — that is,
 * the name read big-endian. */
static uint64_t seed_of(const char name[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | (unsigned char)name[i];
    return v;
}

/* Common annotated security keys (the current Azure DevOps PAT, Azure AI
 * services keys, ...): 84 characters (63 bytes; 88 in the long form), "JQQJ9" at
 * offset 52 and a provider signature at 76; the bytes from 60 on are the
 * Marvin32 (seed "Default0") of the first 60, the short form keeping 3 of them.
 * Azure DevOps PATs sampled in public repositories do not verify against that
 * published checksum, so for them the fixed signatures are the proof
 * ("structure"); any key that does verify is "checksum". */
static int azure_cask(const unsigned char *s, size_t n)
{
    if ((n != 84 && n != 88) || memcmp(s + 52, "JQQJ9", 5)) return FR_VALID_NONE;
    unsigned char b[66];
    long m = b64decode(s, n, 0, 0, b, sizeof b);
    if (m != 63 && m != 64) return FR_VALID_NONE;
    uint32_t c = fr_marvin32(seed_of("Default0"), b, 60);
    uint32_t have = (uint32_t)b[60] | (uint32_t)b[61] << 8 | (uint32_t)b[62] << 16;
    if (m == 64) have |= (uint32_t)b[63] << 24;
    if ((m == 64 ? c : c & 0xffffff) == have) return FR_VALID_CHECKSUM;
    return !memcmp(s + 76, "AZDO", 4) && s[58] >= 'A' && s[58] <= 'Z' && s[59] >= 'A' &&
                   s[59] <= 'L'
               ? FR_VALID_STRUCTURE
               : FR_VALID_NONE;
}

/* Entra ID client secrets of the current format: 3 characters, "8Q~", 31 more,
 * then the first 3 digits of the Marvin32 (seed "AadPwd00") of the first 37
 * characters written most-significant first in the secret's own 66-character
 * alphabet. The older "7Q~" format carries no checksum. */
static int entra_secret(const unsigned char *s, size_t n)
{
    static const char A[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ1234567890.-_~";
    if (n != 40 || memcmp(s + 3, "8Q~", 3)) return FR_VALID_NONE;
    uint32_t c = fr_marvin32(seed_of("AadPwd00"), s, 37);
    char digits[8];
    int k = 0;
    for (; c && k < 8; c /= 66)
        digits[k++] = A[c % 66];
    /* digits[] is least-significant first; the secret keeps the top three. */
    if (k < 3) return FR_VALID_NONE;
    return digits[k - 1] == (char)s[37] && digits[k - 2] == (char)s[38] &&
                   digits[k - 3] == (char)s[39]
               ? FR_VALID_CHECKSUM
               : FR_VALID_NONE;
}

/* Microsoft's identifiable keys: base64 of random bytes whose encoding ends in
 * a 4-character provider signature followed by a 4-byte Marvin32 checksum of
 * everything before it, seeded per key kind. */
#define MESSAGING_SEEDS "Send0000", "Listen00", "Manage00", "System00"
static const struct {
    const char *sig;
    int url;
    const char *seeds[5]; /* seed names, NULL-terminated */
} IDENTIFIABLE[] = {
    {"+ASt", 0, {"Default0"}},                                     /* storage account */
    {"+ASb", 0, {MESSAGING_SEEDS}},                                /* Service Bus */
    {"+AEh", 0, {MESSAGING_SEEDS}},                                /* Event Hubs */
    {"+ARm", 0, {MESSAGING_SEEDS}},                                /* Relay */
    {"ACDb", 0, {"MastRW00", "MastRO00", "Resour00", "SystRW00"}}, /* Cosmos DB */
    {"AzFu", 1, {"Functi00", "Master00", "System00"}},             /* Functions */
    {"APIM", 0, {"Tenant00", "IoTHub00", "Gatewy00", "GitKey00"}}, /* API Management */
    {"+ACR", 0, {"ACRDflt0"}},                                     /* Container Registry */
    {"AzCa", 0, {"Access00"}},                                     /* Cache for Redis */
    {"AzSe", 0, {"Query000", "PAdmin00"}},                         /* AI Search */
    {"AIoT", 0, {"IoTHub00", "DpsKey00", "Device00"}},             /* IoT Hub / DPS / devices */
    {"+ABa", 0, {"AbAcct00"}},                                     /* Batch */
};

static int azure_identifiable(const unsigned char *s, size_t n)
{
    size_t t = n;
    while (t && s[t - 1] == '=')
        t--;
    unsigned char b[160];
    for (size_t k = 0; k < sizeof IDENTIFIABLE / sizeof *IDENTIFIABLE; k++) {
        /* The signature sits right before the 6 characters carrying the
         * checksum's 32 bits. */
        if (t < 10 || memcmp(s + t - 10, IDENTIFIABLE[k].sig, 4)) continue;
        long m = b64decode(s, n, IDENTIFIABLE[k].url, 0, b, sizeof b);
        if (m < 24) return FR_VALID_NONE;
        uint32_t have = le32(b + m - 4);
        for (int j = 0; IDENTIFIABLE[k].seeds[j]; j++)
            if (fr_marvin32(seed_of(IDENTIFIABLE[k].seeds[j]), b, (size_t)m - 4) == have)
                return FR_VALID_CHECKSUM;
        return FR_VALID_NONE;
    }
    return FR_VALID_NONE;
}

/* ---- structure ------------------------------------------------------------ */

/* A JWT whose header decodes (base64url) to a JSON object naming its "alg". */
static int jwt_structure(const unsigned char *s, size_t n)
{
    const unsigned char *dot = memchr(s, '.', n);
    if (!dot) return FR_VALID_NONE;
    unsigned char out[512];
    long o = b64decode(s, (size_t)(dot - s), 1, 0, out, sizeof out);
    if (o <= 0) return FR_VALID_NONE;
    long i = 0;
    while (i < o && (out[i] == ' ' || out[i] == '\t' || out[i] == '\n' || out[i] == '\r'))
        i++;
    if (i == o || out[i] != '{' || !memmem(out, (size_t)o, "\"alg\"", 5)) return FR_VALID_NONE;
    return FR_VALID_STRUCTURE;
}

/* Reads an SSH wire-format string (uint32 length + bytes). */
static int ssh_string(const unsigned char **p, const unsigned char *end, const unsigned char **s,
                      uint32_t *len)
{
    if (end - *p < 4) return 0;
    uint32_t l =
        (uint32_t)(*p)[0] << 24 | (uint32_t)(*p)[1] << 16 | (uint32_t)(*p)[2] << 8 | (*p)[3];
    if ((size_t)(end - *p - 4) < l) return 0;
    *s = *p + 4;
    *len = l;
    *p += 4 + (size_t)l;
    return 1;
}

/* "openssh-key-v1\0", cipher, kdf, kdf options, key count, public keys, then
 * the private section; unencrypted, that section opens with two equal check
 * integers. */
static int openssh_body(const unsigned char *d, size_t n)
{
    static const char MAGIC[] = "openssh-key-v1";
    if (n < sizeof MAGIC || memcmp(d, MAGIC, sizeof MAGIC)) return FR_VALID_NONE;
    const unsigned char *p = d + sizeof MAGIC, *end = d + n, *cipher, *x;
    uint32_t clen, len;
    if (!ssh_string(&p, end, &cipher, &clen) || !ssh_string(&p, end, &x, &len) ||
        !ssh_string(&p, end, &x, &len) || end - p < 4)
        return FR_VALID_NONE;
    uint32_t nkeys = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    p += 4;
    if (nkeys < 1 || nkeys > 64) return FR_VALID_NONE;
    for (uint32_t i = 0; i < nkeys; i++)
        if (!ssh_string(&p, end, &x, &len)) return FR_VALID_NONE;
    if (!ssh_string(&p, end, &x, &len) || len < 8) return FR_VALID_NONE;
    if (clen == 4 && !memcmp(cipher, "none", 4) && memcmp(x, x + 4, 4)) return FR_VALID_NONE;
    return FR_VALID_STRUCTURE;
}

/* Copies a PEM block out of its surroundings: "\n" escapes become line breaks,
 * "\r" escapes and CRs go, indentation and quotes are dropped, and so is the
 * glue of a key spread over source strings ("...\n" + "..." or "...\n",):
 * a '+' or ',' after a quote and before a line break or the next quote, since
 * a base64 line may itself start with '+'. */
static size_t pem_normalise(const unsigned char *s, size_t n, char *out)
{
    size_t o = 0;
    int bol = 1, quoted = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c == '\\' && i + 1 < n && s[i + 1] == 'r') {
            i++;
            continue;
        }
        if (c == '\\' && i + 1 < n && s[i + 1] == 'n') c = '\n', i++;
        if (c == '\r') continue;
        if (bol && (c == ' ' || c == '\t')) continue;
        if (bol && (c == '"' || c == '\'')) {
            quoted = 1;
            continue;
        }
        if (bol && quoted && (c == '+' || c == ',')) {
            /* Glue only when the line or the next string follows ("\n" +),
             * not the first base64 character of a string ("+CfE..."). */
            size_t j = i + 1;
            while (j < n && (s[j] == ' ' || s[j] == '\t'))
                j++;
            if (j == n || s[j] == '\n' || s[j] == '\r' || s[j] == '"' || s[j] == '\'') continue;
        }
        if (bol && quoted && c == '\n') continue; /* the line break after the glue */
        out[o++] = (char)c;
        bol = c == '\n';
        if (bol) quoted = 0;
    }
    out[o] = 0;
    return o;
}

/* ---- DER, read structurally -------------------------------------------------
 * Key bodies are checked against the ASN.1 layout their label promises, with a
 * bounded, non-recursive reader: no key is ever decrypted, derived (PBKDF2,
 * scrypt, bcrypt) or checked arithmetically, so no input controls the cost
 * beyond its own length. */

typedef struct {
    const unsigned char *p, *end;
} der;

/* Reads the next element of d: a one-byte tag and a definite length that fits
 * the rest of d. */
static int der_next(der *d, unsigned char *tag, der *content)
{
    if (d->end - d->p < 2) return 0;
    unsigned char t = d->p[0];
    if ((t & 0x1f) == 0x1f) return 0; /* high tag numbers: never in a key */
    const unsigned char *p = d->p + 2;
    size_t len = d->p[1];
    if (len & 0x80) {
        size_t nb = len & 0x7f;
        if (nb == 0 || nb > 4 || (size_t)(d->end - p) < nb) return 0; /* indefinite or huge */
        len = 0;
        for (size_t i = 0; i < nb; i++)
            len = len << 8 | *p++;
    }
    if ((size_t)(d->end - p) < len) return 0;
    *tag = t;
    content->p = p;
    content->end = p + len;
    d->p = p + len;
    return 1;
}

/* The next element must carry tag want; its content goes to content. */
static int der_expect(der *d, unsigned char want, der *content)
{
    unsigned char t;
    der c;
    if (!der_next(d, &t, &c) || t != want) return 0;
    if (content) *content = c;
    return 1;
}

enum { DER_INTEGER = 0x02, DER_OCTETS = 0x04, DER_OID = 0x06, DER_SEQUENCE = 0x30 };

/* The whole of d is one element of tag want. */
static int der_whole(der d, unsigned char want, der *content)
{
    return der_expect(&d, want, content) && d.p == d.end;
}

static int der_oid_is(der oid, const unsigned char *v, size_t n)
{
    return (size_t)(oid.end - oid.p) == n && !memcmp(oid.p, v, n);
}

/* PKCS#1 RSAPrivateKey: version, n, e, d, p, q, dp, dq, qinv (then, in
 * multi-prime keys, a sequence of other primes). */
static int der_rsa(der d)
{
    der s;
    if (!der_whole(d, DER_SEQUENCE, &s)) return 0;
    for (int i = 0; i < 9; i++)
        if (!der_expect(&s, DER_INTEGER, NULL)) return 0;
    return s.p == s.end || (der_expect(&s, DER_SEQUENCE, NULL) && s.p == s.end);
}

/* OpenSSL's traditional DSA key: version, p, q, g, pub, priv. */
static int der_dsa(der d)
{
    der s;
    if (!der_whole(d, DER_SEQUENCE, &s)) return 0;
    for (int i = 0; i < 6; i++)
        if (!der_expect(&s, DER_INTEGER, NULL)) return 0;
    return s.p == s.end;
}

/* SEC 1 ECPrivateKey: version 1, the private key, optional [0] parameters and
 * [1] public key. */
static int der_ec(der d)
{
    der s, v, k;
    if (!der_whole(d, DER_SEQUENCE, &s) || !der_expect(&s, DER_INTEGER, &v) || v.end - v.p != 1 ||
        v.p[0] != 1 || !der_expect(&s, DER_OCTETS, &k) || k.p == k.end)
        return 0;
    if (s.p < s.end && s.p[0] == 0xa0 && !der_expect(&s, 0xa0, NULL)) return 0;
    if (s.p < s.end && s.p[0] == 0xa1 && !der_expect(&s, 0xa1, NULL)) return 0;
    return s.p == s.end;
}

/* PKCS#8 PrivateKeyInfo: version, algorithm, the key in the algorithm's own
 * format, optional attributes and public key. */
static int der_pkcs8(der d)
{
    static const unsigned char RSA[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01};
    static const unsigned char RSA_PSS[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a};
    static const unsigned char EC[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
    static const unsigned char DSA[] = {0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01};
    static const unsigned char DH[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x03, 0x01};
    static const unsigned char DHX[] = {0x2a, 0x86, 0x48, 0xce, 0x3e, 0x02, 0x01};
    static const unsigned char ED_X[] = {0x2b, 0x65}; /* 1.3.101.110-113: X/Ed 25519/448 */
    der s, v, alg, oid, key;
    if (!der_whole(d, DER_SEQUENCE, &s) || !der_expect(&s, DER_INTEGER, &v) || v.end - v.p != 1 ||
        v.p[0] > 1 || !der_expect(&s, DER_SEQUENCE, &alg) || !der_expect(&alg, DER_OID, &oid) ||
        !der_expect(&s, DER_OCTETS, &key))
        return 0;
    if (s.p < s.end && s.p[0] == 0xa0 && !der_expect(&s, 0xa0, NULL)) return 0;
    if (s.p < s.end && s.p[0] == 0x81 && !der_expect(&s, 0x81, NULL)) return 0;
    if (s.p < s.end && s.p[0] == 0xa1 && !der_expect(&s, 0xa1, NULL)) return 0;
    if (s.p != s.end) return 0;
    if (der_oid_is(oid, RSA, sizeof RSA) || der_oid_is(oid, RSA_PSS, sizeof RSA_PSS))
        return der_rsa(key);
    if (der_oid_is(oid, EC, sizeof EC)) return der_ec(key);
    if (der_oid_is(oid, DSA, sizeof DSA) || der_oid_is(oid, DH, sizeof DH) ||
        der_oid_is(oid, DHX, sizeof DHX))
        return der_whole(key, DER_INTEGER, NULL);
    if (oid.end - oid.p == 3 && !memcmp(oid.p, ED_X, 2) && oid.p[2] >= 110 && oid.p[2] <= 113) {
        static const size_t KEYLEN[] = {32, 56, 32, 57}; /* X25519, X448, Ed25519, Ed448 */
        der raw;
        return der_whole(key, DER_OCTETS, &raw) &&
               (size_t)(raw.end - raw.p) == KEYLEN[oid.p[2] - 110];
    }
    return 0;
}

/* PKCS#8 EncryptedPrivateKeyInfo: an algorithm (with its KDF parameters, which
 * are never acted on) and the ciphertext. */
static int der_pkcs8_encrypted(der d)
{
    der s, alg, ct;
    return der_whole(d, DER_SEQUENCE, &s) && der_expect(&s, DER_SEQUENCE, &alg) &&
           der_expect(&alg, DER_OID, NULL) && der_expect(&s, DER_OCTETS, &ct) && ct.p < ct.end &&
           s.p == s.end;
}

/* PEM: "-----BEGIN <label>-----", optional RFC 1421 headers ending at a blank
 * line, base64, "-----END ". */
static int pem_parse(const char *pem, size_t n)
{
    static const char BEGIN[] = "-----BEGIN ";
    if (n > FR_PEM_MAX) return FR_VALID_NONE;
    /* The first whole "-----BEGIN <label>-----" line, as PEM readers find it. */
    const char *label = NULL, *label_end = NULL, *body = NULL;
    for (const char *l = pem; !label && l && *l; l = body) {
        const char *nl = strchr(l, '\n');
        if (!nl) break;
        body = nl + 1;
        if (!strncmp(l, BEGIN, sizeof BEGIN - 1) && nl - l >= 16 && !memcmp(nl - 5, "-----", 5)) {
            label = l + sizeof BEGIN - 1;
            label_end = memmem(label, (size_t)(nl - label), "-----", 5);
        }
    }
    if (!label) return FR_VALID_NONE;
    const char *endl = strstr(body, "-----END ");
    if (!endl) return FR_VALID_NONE;
    size_t ll = (size_t)(label_end - label);
#define LABEL_IS(s) (ll == sizeof(s) - 1 && !memcmp(label, s, ll))
    int encrypted_headers = 0;
    if (memchr(body, ':', (size_t)(endl - body))) { /* RFC 1421 headers */
        const char *blank = strstr(body, "\n\n");
        const char *first_nl = strchr(body, '\n');
        if (!first_nl || !memchr(body, ':', (size_t)(first_nl - body)) || !blank || blank > endl)
            return FR_VALID_NONE;
        encrypted_headers = !strncmp(body, "Proc-Type: 4,ENCRYPTED\n", 23) &&
                            (size_t)(blank - body) > 23 && !strncmp(body + 23, "DEK-Info: ", 10);
        body = blank + 2;
    }
    size_t cap = (size_t)(endl - body);
    unsigned char *bin = malloc(cap + 1);
    if (!bin) return FR_VALID_NONE;
    long m = b64decode((const unsigned char *)body, cap, 0, 1, bin, cap + 1);
    int ok = 0;
    der d = {bin, bin + (m > 0 ? m : 0)};
    if (m <= 0)
        ok = 0;
    else if (m >= 15 && !memcmp(bin, "openssh-key-v1", 15))
        /* OpenSSH's format under another label (a mislabelled copy): still a key */
        ok = openssh_body(bin, (size_t)m) == FR_VALID_STRUCTURE;
    else if (!encrypted_headers && !LABEL_IS("OPENSSH PRIVATE KEY") && m >= 2 && bin[0] != 0x30)
        /* Every DER key (PKCS#1, SEC1, DSA, PKCS#8) is a SEQUENCE, so even a cut-short one begins
         * with 0x30 ("MI", "MH", ... in base64): a body that does not is a documentation
         * example's filler (seen: a certificate's subject under an RSA key label), not a key. */
        ok = -1;
    else if (LABEL_IS("OPENSSH PRIVATE KEY"))
        ok = openssh_body(bin, (size_t)m) == FR_VALID_STRUCTURE;
    else if (encrypted_headers)
        /* A traditional encrypted key: only its ciphertext, whole blocks of it. */
        ok = (LABEL_IS("RSA PRIVATE KEY") || LABEL_IS("DSA PRIVATE KEY") ||
              LABEL_IS("EC PRIVATE KEY")) &&
             m % 8 == 0;
    else if (LABEL_IS("RSA PRIVATE KEY"))
        ok = der_rsa(d);
    else if (LABEL_IS("DSA PRIVATE KEY"))
        ok = der_dsa(d);
    else if (LABEL_IS("EC PRIVATE KEY"))
        ok = der_ec(d);
    else if (LABEL_IS("ENCRYPTED PRIVATE KEY"))
        ok = der_pkcs8_encrypted(d);
    else if (LABEL_IS("PRIVATE KEY")) /* a mislabelled encrypted key still is one */
        ok = der_pkcs8(d) || der_pkcs8_encrypted(d);
#undef LABEL_IS
    free(bin);
    return ok < 0 ? FR_VALID_REJECT : ok ? FR_VALID_STRUCTURE : FR_VALID_NONE;
}

static int pem_key(const unsigned char *s, size_t n)
{
    if (n > FR_PEM_MAX) return FR_VALID_NONE;
    char *pem = malloc(n + 1);
    if (!pem) return FR_VALID_NONE;
    size_t m = pem_normalise(s, n, pem);
    int v = pem_parse(pem, m);
    free(pem);
    return v;
}

/* A PEM key hidden in base64 (Kubernetes secrets, kubeconfig client-key-data,
 * CI variables). */
static int pem_base64(const unsigned char *s, size_t n)
{
    if (n > FR_PEM_MAX / 3 * 4 + 4) return FR_VALID_NONE;
    unsigned char *pem = malloc(n + 1);
    if (!pem) return FR_VALID_NONE;
    long m = b64decode(s, n, 0, 1, pem, n);
    int v = m > 0 ? pem_key(pem, (size_t)m) : FR_VALID_NONE;
    free(pem);
    return v;
}

/* A GCP service-account key file fragment: the match runs from its "type"
 * member to its "private_key"; wrapped in braces it must parse as JSON with
 * type service_account, a 40-hex private_key_id and a private key that parses. */
static int gcp_service_account(const unsigned char *m, size_t n)
{
    if (n > FR_PEM_MAX) return FR_VALID_NONE;
    char *doc = malloc(n + 3);
    if (!doc) return FR_VALID_NONE;
    doc[0] = '{';
    memcpy(doc + 1, m, n);
    doc[n + 1] = '}';
    doc[n + 2] = 0;
    int v = FR_VALID_NONE;
    json_t *j = json_loadb(doc, n + 2, 0, NULL);
    const char *type = json_string_value(json_object_get(j, "type"));
    const char *kid = json_string_value(json_object_get(j, "private_key_id"));
    const char *key = json_string_value(json_object_get(j, "private_key"));
    if (type && kid && key && !strcmp(type, "service_account") && strlen(kid) == 40 &&
        strspn(kid, "0123456789abcdef") == 40 && pem_parse(key, strlen(key)) == FR_VALID_STRUCTURE)
        v = FR_VALID_STRUCTURE;
    json_decref(j);
    free(doc);
    return v;
}

/* A Docker config "auth" or an HTTP Basic credential: base64 of
 * "user:password", both printable. Text holding a line break or another
 * control character inside ("user\nname:password", a test of a client's
 * parsing; a trailing line break is echo's, not the text's) is no credential (RFC 7617: neither
 * part holds control characters): rejected. Binary (bytes above 0x7e) is left unvalidated, not
 * rejected. */
static int docker_auth(const unsigned char *s, size_t n)
{
    unsigned char out[1024];
    long m = b64decode(s, n, 0, 0, out, sizeof out);
    if (m < 3) return FR_VALID_NONE;
    /* `echo user:pass | base64` encodes the newline echo adds: not the credential's */
    if (m > 0 && out[m - 1] == '\n') m--;
    if (m > 0 && out[m - 1] == '\r') m--;
    if (m < 3) return FR_VALID_NONE;
    const unsigned char *colon = memchr(out, ':', (size_t)m);
    if (!colon || colon == out || colon == out + m - 1) return FR_VALID_NONE;
    int ctl = 0;
    for (long i = 0; i < m; i++) {
        if (out[i] > 0x7e) return FR_VALID_NONE;
        if (out[i] < 0x20) ctl = 1;
    }
    return ctl ? FR_VALID_REJECT : FR_VALID_STRUCTURE;
}

/* ---- provider token structures -------------------------------------------- */

/* age identity: "AGE-SECRET-KEY-1" + bech32 data + 6 checksum characters (BIP
 * 173 as age uses it: no length limit, checksum over the lower-case string,
 * c2sp.org/age), carrying the 32-byte X25519 key. */
static int age_bech32(const unsigned char *s, size_t n)
{
    static const char HRP[] = "age-secret-key-";
    static const char CS[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    static const uint32_t GEN[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
    const size_t hl = sizeof HRP - 1, dl = 52 + 6; /* 32 bytes = 52 characters */
    if (n != hl + 1 + dl || strncasecmp((const char *)s, HRP, hl) || s[hl] != '1')
        return FR_VALID_NONE;
    uint32_t chk = 1;
    unsigned char v[sizeof HRP * 2 + 1 + 58];
    size_t k = 0;
    for (size_t i = 0; i < hl; i++)
        v[k++] = (unsigned char)(HRP[i] >> 5);
    v[k++] = 0;
    for (size_t i = 0; i < hl; i++)
        v[k++] = (unsigned char)(HRP[i] & 31);
    for (size_t i = 0; i < dl; i++) {
        const char *c = strchr(CS, tolower(s[hl + 1 + i]));
        if (!c || !*c) return FR_VALID_NONE;
        v[k++] = (unsigned char)(c - CS);
    }
    for (size_t i = 0; i < k; i++) {
        uint32_t top = chk >> 25;
        chk = (chk & 0x1ffffff) << 5 ^ v[i];
        for (int j = 0; j < 5; j++)
            if (top >> j & 1) chk ^= GEN[j];
    }
    /* 52 characters carry 260 bits: the 4 padding bits must be zero. */
    return chk == 1 && !(v[k - 7] & 15) ? FR_VALID_CHECKSUM : FR_VALID_NONE;
}

/* PyPI / TestPyPI upload token: "pypi-" + base64url of a version-2 binary
 * macaroon (location, identifier, caveats, then a 32-byte signature), as
 * pypi.org/help/#apitoken describes the tokens. Checked field by field. */
static int pypi_macaroon(const unsigned char *s, size_t n)
{
    unsigned char m[2048];
    if (n < 6 || memcmp(s, "pypi-", 5)) return FR_VALID_NONE;
    long len = b64decode(s + 5, n - 5, 1, 0, m, sizeof m);
    if (len < 40 || m[0] != 2) return FR_VALID_NONE;
    const unsigned char *p = m + 1, *end = m + len;
    int sections = 0; /* the header section, then one per caveat, then the empty one */
    for (;;) {
        if (p >= end) return FR_VALID_NONE;
        unsigned type = *p++;
        if (type == 0) { /* end of a section */
            if (++sections > 64) return FR_VALID_NONE;
            if (p < end && *p == 0) { /* the empty section ends the caveats */
                p++;
                break;
            }
            continue;
        }
        if (type > 6) return FR_VALID_NONE;
        size_t fl = 0; /* varint length */
        for (int sh = 0;; sh += 7) {
            if (p >= end || sh > 28) return FR_VALID_NONE;
            fl |= (size_t)(*p & 0x7f) << sh;
            if (!(*p++ & 0x80)) break;
        }
        if (fl > (size_t)(end - p)) return FR_VALID_NONE;
        p += fl;
    }
    return sections >= 1 && end - p == 34 && p[0] == 6 && p[1] == 32 ? FR_VALID_STRUCTURE
                                                                     : FR_VALID_NONE;
}

/* Sentry organization token: "sntrys_" + base64 JSON (iat, url, region_url,
 * org) + "_" + secret; the JSON must name the org and the url. */
static int sentry_org_token(const unsigned char *s, size_t n)
{
    unsigned char js[1024];
    if (n < 8 || memcmp(s, "sntrys_", 7)) return FR_VALID_NONE;
    const unsigned char *b = s + 7, *us = memchr(b, '_', n - 7);
    if (!us) return FR_VALID_NONE;
    long m = b64decode(b, (size_t)(us - b), 0, 0, js, sizeof js);
    if (m < 2) return FR_VALID_NONE;
    json_t *j = json_loadb((const char *)js, (size_t)m, 0, NULL);
    int ok = json_is_string(json_object_get(j, "org")) && json_is_string(json_object_get(j, "url"));
    json_decref(j);
    return ok ? FR_VALID_STRUCTURE : FR_VALID_NONE;
}

int fr_validate(const char *validator, const unsigned char *s, size_t n, const unsigned char *m,
                size_t mn)
{
    if (!strcmp(validator, "age-bech32")) return age_bech32(s, n);
    if (!strcmp(validator, "azdo-legacy-crc32")) return azdo_legacy_crc32(s, n);
    if (!strcmp(validator, "azure-cask")) return azure_cask(s, n);
    if (!strcmp(validator, "azure-identifiable")) return azure_identifiable(s, n);
    if (!strcmp(validator, "base62-crc32")) return base62_crc32(s, n);
    if (!strcmp(validator, "docker-auth")) return docker_auth(s, n);
    if (!strcmp(validator, "entra-secret")) return entra_secret(s, n);
    if (!strcmp(validator, "gcp-service-account")) return gcp_service_account(m, mn);
    if (!strcmp(validator, "jwt")) return jwt_structure(s, n);
    if (!strcmp(validator, "keystore")) return fr_container_base64(s, n, 0);
    if (!strcmp(validator, "keystore-passwordless")) return fr_container_base64(s, n, 1);
    if (!strcmp(validator, "pem-base64")) return pem_base64(s, n);
    if (!strcmp(validator, "pem-key")) return pem_key(s, n);
    if (!strcmp(validator, "pypi-macaroon")) return pypi_macaroon(s, n);
    if (!strcmp(validator, "sentry-org-token")) return sentry_org_token(s, n);
    return -1;
}
