/*
 * fuzz_packidx: the pack index and entry header reader of the git scan ahead
 * of the walk (fr_pack_list_blobs, src/sources/packscan.h).
 * Input: 1 flag byte, a 4-byte big-endian index length L, L bytes of .idx,
 * then the .pack. Flag bit 0 makes the pack agree with the index where a
 * mutation would almost always break it (object count, trailing checksum), so
 * the fuzzer gets past those checks to the tables and entry headers.
 * Invariants: a listed blob is an object of the index, at the offset the index
 * gives it, inside the pack, in strictly increasing pack order; every page
 * release is inside the pack and moves forward; a rejection lists nothing and
 * says why, and FR_ECORRUPT (as opposed to FR_PACK_UNSAFE) only when every
 * offset the index gives lies inside the pack.
 * Seeds (corpus/packidx/): a tiny repository's pack (offset deltas, ref deltas,
 * 64-bit offsets via git index-pack --index-version=2,N) in this format, and
 * copies with bytes flipped in the fanout, offset and large-offset tables.
 */
#include "fuzz.h"
#include "sources/packscan.h"
#include "util/util.h"

#include <string.h>

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

typedef struct {
    size_t pack_len, last;
} release_check;

static void on_release(void *ctx, size_t upto)
{
    release_check *r = ctx;
    FUZZ_ASSERT(upto < r->pack_len);
    FUZZ_ASSERT(upto >= r->last);
    r->last = upto;
}

/* The offset the index gives the object named oid, or UINT64_MAX. */
static uint64_t index_offset(const uint8_t *idx, size_t il, const uint8_t *oid)
{
    uint32_t n = be32(idx + 8 + 255 * 4);
    const uint8_t *names = idx + 8 + 1024, *offs = names + (size_t)n * 24;
    for (uint32_t i = 0; i < n; i++) {
        if (memcmp(names + (size_t)i * 20, oid, 20)) continue;
        uint64_t o = be32(offs + 4 * (size_t)i);
        if (!(o & 0x80000000u)) return o;
        const uint8_t *l = offs + (size_t)n * 4 + 8 * (o & 0x7fffffffu);
        if (l + 8 > idx + il - 40) return UINT64_MAX;
        return (uint64_t)be32(l) << 32 | be32(l + 4);
    }
    return UINT64_MAX;
}

/* Every offset the index gives lies inside the pack (only called on an index
 * whose sizes were accepted: FR_ECORRUPT comes after those checks). */
static int offsets_inside(const uint8_t *idx, size_t il, size_t pl)
{
    uint32_t n = be32(idx + 8 + 255 * 4);
    const uint8_t *offs = idx + 8 + 1024 + (size_t)n * 24, *large = offs + (size_t)n * 4;
    size_t nlarge = (size_t)(idx + il - 40 - large) / 8;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t o = be32(offs + 4 * (size_t)i);
        if (o & 0x80000000u) {
            if ((o & 0x7fffffffu) >= nlarge) return 0;
            o = (uint64_t)be32(large + 8 * (o & 0x7fffffffu)) << 32 |
                be32(large + 8 * (o & 0x7fffffffu) + 4);
        }
        if (o < 12 || o >= pl - 20) return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5) return 0;
    int agree = data[0] & 1;
    size_t il = be32(data + 1);
    if (il > size - 5) return 0;
    size_t pl = size - 5 - il;
    /* Copies of their own: ASan sees any read past either buffer. */
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
    release_check rc = {pl, 0};
    int r = fr_pack_list_blobs(il ? idx : NULL, il, pl ? pack : NULL, pl, &v, &n, &cap, on_release,
                               &rc, why, sizeof why);
    if (r) {
        FUZZ_ASSERT(r == FR_ECORRUPT || r == FR_PACK_UNSAFE);
        FUZZ_ASSERT(n == 0);
        FUZZ_ASSERT(r == FR_PACK_UNSAFE || offsets_inside(idx, il, pl));
        FUZZ_ASSERT(why[0] != 0 && strlen(why) < sizeof why);
    } else {
        for (size_t k = 0; k < n; k++) {
            FUZZ_ASSERT(v[k].off >= 12 && v[k].off < pl - 20);
            FUZZ_ASSERT(k == 0 || v[k].off > v[k - 1].off);
            FUZZ_ASSERT(index_offset(idx, il, v[k].oid) == v[k].off);
        }
    }
    free(v);
    free(idx);
    free(pack);
    return 0;
}
