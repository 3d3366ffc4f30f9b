/*
 * validators.c: offline checks of the proof some credential formats carry in
 * themselves. A pass raises confidence in a finding; a fail does not hide it
 * (a mistyped or truncated token may still be a leak), it just stays
 * "validated: none". No network calls, ever.
 */
#include "detect/detect.h"

#include <string.h>
#include <zlib.h>

static const char B62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

const char *fr_validated_name(int v)
{
    return v == FR_VALID_CHECKSUM ? "checksum" : v == FR_VALID_STRUCTURE ? "structure" : "none";
}

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

int fr_validate(const char *validator, const unsigned char *s, size_t n)
{
    if (!strcmp(validator, "base62-crc32")) return base62_crc32(s, n);
    return -1;
}
