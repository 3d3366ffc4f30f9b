/*
 * fuzz_packread: ferret's pack reader (fr_pack_read, src/sources/packscan.h),
 * in two modes chosen by bit 1 of the first byte.
 *  - bit 1 clear: the input of fuzz_packidx (1 flag byte, a 4-byte big-endian
 *    index length L, L bytes of .idx, then the .pack; bit 0 makes the pack
 *    agree with the index on count and checksum). Every blob the index reader
 *    lists is read, in pack order then in reverse (chains rebuilt), with a
 *    small cache.
 *  - bit 1 set: the rest of the input is a delta, deflated into a crafted pack
 *    after a fixed 300-byte base (bit 2: its header claims one byte more), so
 *    the delta interpreter sees any instruction stream.
 * Invariants: a read returns FR_OK, FR_ECORRUPT, FR_ELIMIT or FR_ERR, with a
 * reason unless FR_OK or FR_ELIMIT; a blob read is at most the cap; nothing is
 * read outside the buffers (ASan).
 * Seeds (corpus/packread/): fuzz_packidx's packs, and deltas (copies, inserts,
 * a 0x10000 copy, truncated instructions) in the second mode.
 */
#include "fuzz.h"
#include "sources/packscan.h"
#include "util/util.h"

#include <string.h>
#include <zlib.h>

#define CAP 65536

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void read_one(const fr_pack_src *s, size_t k, fr_pack_cache *c, fr_buf *out)
{
    char why[256];
    int r = fr_pack_read(s, k, c, CAP, out, why, sizeof why);
    FUZZ_ASSERT(r == FR_OK || r == FR_ECORRUPT || r == FR_ELIMIT || r == FR_ERR);
    if (r == FR_OK) FUZZ_ASSERT(out->len <= CAP);
    if (r == FR_ECORRUPT || r == FR_ERR) FUZZ_ASSERT(why[0] != 0 && strlen(why) < sizeof why);
}

static void pack_mode(const uint8_t *data, size_t size)
{
    if (size < 5) return;
    int agree = data[0] & 1;
    size_t il = be32(data + 1);
    if (il > size - 5) return;
    size_t pl = size - 5 - il;
    uint8_t *idx = fr_xmalloc(il ? il : 1), *pack = fr_xmalloc(pl ? pl : 1);
    memcpy(idx, data + 5, il);
    memcpy(pack, data + 5 + il, pl);
    if (agree && il >= 8 + 1024 + 40 && pl >= 32) {
        memcpy(pack + 8, idx + 8 + 255 * 4, 4);
        memcpy(pack + pl - 20, idx + il - 40, 20);
    }
    fr_pack_blob *v = NULL;
    size_t n = 0, cap = 0;
    char why[256];
    if (fr_pack_list_blobs(il ? idx : NULL, il, pl ? pack : NULL, pl, &v, &n, &cap, NULL, NULL, why,
                           sizeof why) == FR_OK) {
        fr_pack_src s = {fr_pack_new_id(), pack, -1, pl, v, n};
        fr_pack_cache *c = fr_pack_cache_new(1 << 16);
        fr_buf out = {0};
        for (size_t k = 0; k < n; k++)
            read_one(&s, k, c, &out);
        for (size_t k = n; k-- > 0;)
            read_one(&s, k, c, &out);
        fr_buf_release(&out);
        fr_pack_cache_free(c);
    }
    free(v);
    free(idx);
    free(pack);
}

static size_t put_header(uint8_t *p, int type, uint64_t size)
{
    size_t n = 0;
    uint8_t b = (uint8_t)(type << 4 | (size & 15));
    size >>= 4;
    while (size) {
        p[n++] = b | 0x80;
        b = size & 0x7f;
        size >>= 7;
    }
    p[n++] = b;
    return n;
}

static void delta_mode(const uint8_t *data, size_t size)
{
    int longer = (data[0] >> 2) & 1;
    const uint8_t *d = data + 1;
    size_t dn = size - 1;
    uint8_t base[300];
    for (size_t i = 0; i < sizeof base; i++)
        base[i] = (uint8_t)('a' + i % 26);
    uLong room = compressBound(sizeof base) + compressBound(dn) + 64;
    uint8_t *pack = fr_xmalloc(room);
    fr_pack_blob v[2];
    memset(v, 0, sizeof v);
    size_t at = 12;
    memcpy(pack, "PACK\0\0\0\2\0\0\0\2", 12);
    v[0].off = at;
    v[0].data_at = (uint32_t)put_header(pack + at, 3, sizeof base);
    v[0].size = sizeof base;
    v[0].base = FR_PACK_NONE;
    v[0].children = 1;
    at += v[0].data_at;
    uLongf zl = room - at;
    FUZZ_ASSERT(compress(pack + at, &zl, base, sizeof base) == Z_OK);
    at += zl;
    v[0].end = at;
    v[1].off = at;
    size_t h = put_header(pack + at, 6, dn + (size_t)longer);
    pack[at + h] = (uint8_t)(at - v[0].off); /* under 128: one byte */
    v[1].data_at = (uint32_t)h + 1;
    v[1].size = dn + (size_t)longer;
    v[1].base = 0;
    at += h + 1;
    zl = room - at;
    FUZZ_ASSERT(compress(pack + at, &zl, d, dn) == Z_OK);
    at += zl;
    v[1].end = at;
    fr_pack_src s = {fr_pack_new_id(), pack, -1, at, v, 2};
    fr_pack_cache *c = fr_pack_cache_new(1 << 16);
    fr_buf out = {0};
    read_one(&s, 1, c, &out);
    read_one(&s, 0, c, &out);
    fr_buf_release(&out);
    fr_pack_cache_free(c);
    free(pack);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    if (data[0] & 2)
        delta_mode(data, size);
    else
        pack_mode(data, size);
    return 0;
}
