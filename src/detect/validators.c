/*
 * validators.c: offline checks of the proof some credential formats carry in
 * themselves. A pass raises confidence in a finding; a fail does not hide it
 * (a mistyped or truncated token may still be a leak), it just stays
 * "validated: none". No network calls, ever.
 */
#include "detect/detect.h"

#include <stdint.h>
#include <string.h>
#include <zlib.h>

static const char B62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

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

/* A JWT whose header decodes (base64url) to a JSON object naming its "alg". */
static int jwt_structure(const unsigned char *s, size_t n)
{
    const unsigned char *dot = memchr(s, '.', n);
    if (!dot) return FR_VALID_NONE;
    unsigned char out[512];
    size_t o = 0, bits = 0;
    uint32_t acc = 0;
    for (const unsigned char *p = s; p < dot && o < sizeof out; p++) {
        int v = *p >= 'A' && *p <= 'Z'   ? *p - 'A'
                : *p >= 'a' && *p <= 'z' ? *p - 'a' + 26
                : *p >= '0' && *p <= '9' ? *p - '0' + 52
                : *p == '-'              ? 62
                : *p == '_'              ? 63
                                         : -1;
        if (v < 0) return FR_VALID_NONE;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    size_t i = 0;
    while (i < o && (out[i] == ' ' || out[i] == '\t' || out[i] == '\n' || out[i] == '\r'))
        i++;
    if (i == o || out[i] != '{' || !memmem(out, o, "\"alg\"", 5)) return FR_VALID_NONE;
    return FR_VALID_STRUCTURE;
}

/* The current Azure DevOps PAT: 84 characters, "JQQJ9" at offset 52 and "AZDO"
 * at offset 76 (its Marvin32 checksum is not verified here). */
static int azdo_signature(const unsigned char *s, size_t n)
{
    return n == 84 && !memcmp(s + 52, "JQQJ9", 5) && !memcmp(s + 76, "AZDO", 4) ? FR_VALID_STRUCTURE
                                                                                : FR_VALID_NONE;
}

int fr_validate(const char *validator, const unsigned char *s, size_t n)
{
    if (!strcmp(validator, "azdo-signature")) return azdo_signature(s, n);
    if (!strcmp(validator, "base62-crc32")) return base62_crc32(s, n);
    if (!strcmp(validator, "jwt")) return jwt_structure(s, n);
    return -1;
}
