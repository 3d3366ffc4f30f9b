/*
 * packs.c: the pack index reader (packscan.h): which entries of a pack are
 * blobs, from its .idx and the pack's entry headers alone.
 *
 *   idx + pack ──sizes, counts, checksums──> offsets checked ──> names sorted
 *        │ FR_PACK_UNSAFE                        │                  │ FR_ECORRUPT
 *        v                                       v                  v
 *      nothing listed          entries in offset order: headers typed, bases
 *                              before deltas ──> blobs listed in pack order
 */
#include "sources/git/git_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The blobs of a pack, found from its index and the entry headers alone (see
 * packscan.h). Every number read from either file is checked before use: a
 * corrupt index or pack rejects the whole pack, which is then left to the walk
 * (libgit2 reads it, and reports what it cannot read). */

#define IDX_FANOUT_AT     8u
#define IDX_NAMES_AT      (8u + 256u * 4u)
#define IDX_TRAILER       40u /* pack checksum, index checksum */
#define PACK_HEADER       12u
#define PACK_TRAILER      20u
#define MAX_VARINT        10u         /* a 64-bit value in 7-bit groups */
#define MAX_INFLATE_RATIO 1040u       /* deflate expands at most 1032:1 */
#define RELEASE_STRIDE    (32u << 20) /* pages released behind the pass */

typedef struct {
    const unsigned char *idx, *pack;
    size_t idx_len, pack_len;
    uint32_t n;
    size_t nlarge;
    const unsigned char *names, *offs, *large;
} pack_map;

/* One entry of a pack in offset order: its index position, the end of its
 * bytes (the next entry or the trailer), and its type once known (1 commit,
 * 2 tree, 3 blob, 4 tag; 0 unknown). */
typedef struct {
    uint64_t off, end;
    uint32_t i;
    int type;
    /* for a reader: the header's size, the bytes from off to the zlib stream,
     * and a delta's base (its position in offset order; NONE: not a delta) */
    uint64_t size;
    uint32_t data_at, base;
} pack_entry;

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int pack_vfail(int rc, char *why, size_t why_len, const char *fmt, va_list ap)
{
    if (why_len) vsnprintf(why, why_len, fmt, ap);
    return rc;
}

/* Returns rc, with the reason in why. */
static int pack_fail(int rc, char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int pack_fail(int rc, char *why, size_t why_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pack_vfail(rc, why, why_len, fmt, ap);
    va_end(ap);
    return rc;
}

/* An inconsistency inside the pack's bounds: FR_ECORRUPT, with the reason. */
static int pack_corrupt(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int pack_corrupt(char *why, size_t why_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pack_vfail(FR_ECORRUPT, why, why_len, fmt, ap);
    va_end(ap);
    return FR_ECORRUPT;
}

/* The offset of index entry i, checked to lie inside the pack's entries. */
static int pack_offset(const pack_map *m, uint32_t i, uint64_t *off)
{
    uint32_t o = be32(m->offs + 4 * (size_t)i);
    uint64_t v = o;
    if (o & 0x80000000u) { /* an index into the large-offset table */
        size_t k = o & 0x7fffffffu;
        if (k >= m->nlarge) return -1;
        v = (uint64_t)be32(m->large + 8 * k) << 32 | be32(m->large + 8 * k + 4);
    }
    if (v < PACK_HEADER || v >= m->pack_len - PACK_TRAILER) return -1;
    *off = v;
    return 0;
}

/* The index position of id, or -1. */
static int64_t pack_find(const pack_map *m, const unsigned char *id)
{
    uint32_t lo = 0, hi = m->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = memcmp(m->names + (size_t)mid * GIT_OID_RAWSZ, id, GIT_OID_RAWSZ);
        if (!c) return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static const pack_entry *entry_at(const pack_entry *e, size_t n, uint64_t off)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e[mid].off == off) return &e[mid];
        if (e[mid].off < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Puts e[0..n) in offset order (every offset below pack_len; only off and i
 * are set yet): an LSD radix sort of (offset, index position) pairs, 11 bits
 * a pass over the bits pack_len needs. qsort's merge sort of the 40-byte
 * entries cost the walk 0.25 s of CPU on git/git (two listings of 0.5
 * million objects). */
static void sort_by_offset(pack_entry *e, uint32_t n, uint64_t pack_len)
{
    typedef struct {
        uint64_t off;
        uint32_t i;
    } off_pos;
    enum { DIGIT = 11, BUCKETS = 1 << DIGIT };
    off_pos *a = fr_xmalloc((size_t)n * sizeof *a), *b = fr_xmalloc((size_t)n * sizeof *b);
    for (uint32_t k = 0; k < n; k++)
        a[k] = (off_pos){e[k].off, e[k].i};
    unsigned bits = 0;
    while (bits < 64 && pack_len >> bits)
        bits++;
    for (unsigned shift = 0; shift < bits; shift += DIGIT) {
        size_t count[BUCKETS] = {0};
        for (uint32_t k = 0; k < n; k++)
            count[(a[k].off >> shift) & (BUCKETS - 1)]++;
        size_t at = 0;
        for (size_t d = 0; d < BUCKETS; d++) {
            size_t c = count[d];
            count[d] = at;
            at += c;
        }
        for (uint32_t k = 0; k < n; k++)
            b[count[(a[k].off >> shift) & (BUCKETS - 1)]++] = a[k];
        off_pos *t = a;
        a = b;
        b = t;
    }
    for (uint32_t k = 0; k < n; k++)
        e[k] = (pack_entry){a[k].off, 0, a[k].i, 0, 0, 0, NONE};
    free(a);
    free(b);
}

/* The entry's data must start with a zlib header (git writes every entry as
 * a zlib stream): an offset into the middle of another entry is caught here
 * rather than typed from whatever bytes it points at. */
static int zlib_start(const unsigned char *p, const unsigned char *end, uint64_t off, char *why,
                      size_t why_len)
{
    if (end - p < 2 || (p[0] & 0x0f) != 8 || ((unsigned)p[0] << 8 | p[1]) % 31)
        return pack_corrupt(why, why_len, "entry at %llu: no zlib stream after the header",
                            (unsigned long long)off);
    return FR_OK;
}

/* Types entry k from its header, given the types of every earlier entry (a
 * base always precedes its OFS_DELTA; a REF_DELTA base later in the pack stays
 * unknown). The header, with its varints, must lie inside the entry. */
static int entry_type(const pack_map *m, pack_entry *e, size_t k, char *why, size_t why_len)
{
    uint64_t off = e[k].off;
    const unsigned char *p = m->pack + off, *end = m->pack + e[k].end;
    int type = (*p >> 4) & 7;
    uint64_t size = *p & 15;
    for (unsigned len = 1, shift = 4; *p & 0x80; len++, shift += 7) {
        if (len == MAX_VARINT || ++p >= end)
            return pack_corrupt(why, why_len, "entry at %llu: size runs past the entry",
                                (unsigned long long)off);
        if (shift < 64) size |= (uint64_t)(*p & 0x7f) << shift;
    }
    p++;
    e[k].size = size;
    /* Deflate expands at most ~1032:1: a larger size is no entry of this
     * length, and a reader trusting it would try to allocate it. */
    if (size / MAX_INFLATE_RATIO > e[k].end - off)
        return pack_fail(FR_PACK_UNSAFE, why, why_len,
                         "entry at %llu: %llu bytes cannot inflate from %llu",
                         (unsigned long long)off, (unsigned long long)size,
                         (unsigned long long)(e[k].end - off));
    if (type == 0 || type == 5)
        return pack_corrupt(why, why_len, "entry at %llu: invalid type %d", (unsigned long long)off,
                            type);
    if (type <= 4) {
        e[k].type = type;
        e[k].data_at = (uint32_t)(p - (m->pack + off));
        return zlib_start(p, end, off, why, why_len);
    }
    uint64_t base;
    if (type == 6) { /* OFS_DELTA: the base at a negative offset */
        if (p >= end)
            return pack_corrupt(why, why_len, "entry at %llu: delta runs past the entry",
                                (unsigned long long)off);
        uint64_t d = *p & 127;
        for (unsigned len = 1; *p & 128; len++) {
            if (len == MAX_VARINT || ++p >= end || d > (UINT64_MAX >> 7) - 1)
                return pack_corrupt(why, why_len, "entry at %llu: delta runs past the entry",
                                    (unsigned long long)off);
            d = ((d + 1) << 7) | (*p & 127);
        }
        if (d == 0 || d > off - PACK_HEADER)
            return pack_corrupt(why, why_len, "entry at %llu: delta base outside the pack",
                                (unsigned long long)off);
        const pack_entry *b = entry_at(e, k, off - d);
        if (!b)
            return pack_corrupt(why, why_len, "entry at %llu: delta base is not an entry",
                                (unsigned long long)off);
        e[k].type = b->type;
        e[k].base = (uint32_t)(b - e);
        e[k].data_at = (uint32_t)(p + 1 - (m->pack + off));
        return zlib_start(p + 1, end, off, why, why_len);
    }
    /* REF_DELTA: the base by id */
    if ((size_t)(end - p) <= GIT_OID_RAWSZ)
        return pack_corrupt(why, why_len, "entry at %llu: delta runs past the entry",
                            (unsigned long long)off);
    /* A pack on disk is never thin: the base is in it (git index-pack and
     * libgit2's indexer complete thin packs). */
    int64_t bi = pack_find(m, p);
    if (bi < 0 || pack_offset(m, (uint32_t)bi, &base) || base == off)
        return pack_corrupt(why, why_len, "entry at %llu: delta base not in the pack",
                            (unsigned long long)off);
    if (base < off) { /* else later in the pack: unknown, left to the walk */
        const pack_entry *b = entry_at(e, k, base);
        e[k].type = b ? b->type : 0;
        e[k].base = b ? (uint32_t)(b - e) : NONE;
    }
    e[k].data_at = (uint32_t)(p + GIT_OID_RAWSZ - (m->pack + off));
    return zlib_start(p + GIT_OID_RAWSZ, end, off, why, why_len);
}

/* Checks the sizes, counts and checksums of the index against the pack, and
 * that every offset it gives lies inside the pack; fills m. Any failure here
 * makes the index unsafe to follow for any reader. */
static int pack_check(pack_map *m, pack_entry *e, char *why, size_t why_len)
{
    const unsigned char *idx = m->idx, *pack = m->pack;
    size_t il = m->idx_len, pl = m->pack_len;
    int rc = FR_PACK_UNSAFE;
    if (il < IDX_NAMES_AT + IDX_TRAILER || memcmp(idx, "\377tOc", 4) || be32(idx + 4) != 2)
        return pack_fail(rc, why, why_len, "not a version 2 pack index");
    if (pl < PACK_HEADER + PACK_TRAILER || memcmp(pack, "PACK", 4) ||
        (be32(pack + 4) != 2 && be32(pack + 4) != 3))
        return pack_fail(rc, why, why_len, "not a version 2 or 3 pack");
    m->n = be32(idx + IDX_FANOUT_AT + 255 * 4);
    size_t room = il - IDX_NAMES_AT - IDX_TRAILER;
    if (m->n > room / (GIT_OID_RAWSZ + 8) || (room - (size_t)m->n * (GIT_OID_RAWSZ + 8)) % 8)
        return pack_fail(rc, why, why_len, "index size does not fit %u objects", m->n);
    m->nlarge = (room - (size_t)m->n * (GIT_OID_RAWSZ + 8)) / 8;
    if (m->nlarge && m->nlarge >= m->n) /* as git: the first object is never that far */
        return pack_fail(rc, why, why_len, "index size does not fit %u objects", m->n);
    if (be32(pack + 8) != m->n)
        return pack_fail(rc, why, why_len, "the pack holds %u objects, its index %u",
                         be32(pack + 8), m->n);
    if (memcmp(idx + il - IDX_TRAILER, pack + pl - PACK_TRAILER, PACK_TRAILER))
        return pack_fail(rc, why, why_len, "the index names another pack (checksum)");
    m->names = idx + IDX_NAMES_AT;
    m->offs = m->names + (size_t)m->n * (GIT_OID_RAWSZ + 4);
    m->large = m->offs + (size_t)m->n * 4;
    for (uint32_t i = 0; i < m->n; i++) {
        e[i] = (pack_entry){0, 0, i, 0, 0, 0, NONE};
        if (pack_offset(m, i, &e[i].off))
            return pack_fail(rc, why, why_len, "index entry %u: offset outside the pack", i);
    }
    return FR_OK;
}

/* Checks the index against itself: a monotonic fanout, and sorted, distinct
 * names each in its fanout bucket (lookups by id are exact). */
static int names_check(const pack_map *m, char *why, size_t why_len)
{
    const unsigned char *fan = m->idx + IDX_FANOUT_AT;
    for (unsigned b = 1; b < 256; b++)
        if (be32(fan + 4 * b) < be32(fan + 4 * (b - 1)))
            return pack_corrupt(why, why_len, "index fanout decreases at %u", b);
    for (uint32_t i = 0; i < m->n; i++) {
        const unsigned char *id = m->names + (size_t)i * GIT_OID_RAWSZ;
        unsigned b = id[0];
        uint32_t lo = b ? be32(fan + 4 * (b - 1)) : 0;
        if (i < lo || i >= be32(fan + 4 * b) ||
            (i && memcmp(id - GIT_OID_RAWSZ, id, GIT_OID_RAWSZ) >= 0))
            return pack_corrupt(why, why_len, "index names out of order at %u", i);
    }
    return FR_OK;
}

int fr_pack_list_blobs(const unsigned char *idx, size_t idx_len, const unsigned char *pack,
                       size_t pack_len, fr_pack_blob **out, size_t *n, size_t *cap,
                       fr_pack_release_fn release, void *ctx, char *why, size_t why_len)
{
    return fr_pack_list_objects(idx, idx_len, pack, pack_len, 1u << GIT_OBJECT_BLOB, out, n, cap,
                                release, ctx, why, why_len);
}

int fr_pack_list_objects(const unsigned char *idx, size_t idx_len, const unsigned char *pack,
                         size_t pack_len, unsigned types, fr_pack_blob **out, size_t *n,
                         size_t *cap, fr_pack_release_fn release, void *ctx, char *why,
                         size_t why_len)
{
    pack_map m = {.idx = idx, .pack = pack, .idx_len = idx_len, .pack_len = pack_len};
    if (why_len) why[0] = 0;
    if (!idx || !pack) return pack_fail(FR_PACK_UNSAFE, why, why_len, "no index or pack");
    /* n is bounded by the index size before anything is allocated for it */
    size_t room = idx_len > IDX_NAMES_AT + IDX_TRAILER ? idx_len - IDX_NAMES_AT - IDX_TRAILER : 0;
    pack_entry *e = fr_xmalloc((room / (GIT_OID_RAWSZ + 8) + 1) * sizeof *e);
    int rc = pack_check(&m, e, why, why_len);
    if (rc) {
        free(e);
        return rc;
    }
    /* A corrupt entry does not end the checks: a later entry may still hold a
     * size no reader may trust (FR_PACK_UNSAFE outranks FR_ECORRUPT), so every
     * entry is checked and the first corruption's reason kept. */
    rc = names_check(&m, why, why_len);
    if (m.n) sort_by_offset(e, m.n, pack_len);
    for (uint32_t k = 0; k < m.n; k++) {
        if (!rc && k + 1 < m.n && e[k].off == e[k + 1].off)
            rc = pack_corrupt(why, why_len, "two index entries at offset %llu",
                              (unsigned long long)e[k].off);
        e[k].end = k + 1 < m.n ? e[k + 1].off : pack_len - PACK_TRAILER;
    }
    /* Entry headers in pack order, so each delta's base is typed before it; the
     * pages read are released as the pass moves on, so it never holds more than
     * a window of the pack. */
    uint64_t released = 0;
    for (uint32_t k = 0; k < m.n && rc != FR_PACK_UNSAFE; k++) {
        char ewhy[256];
        /* the first of two entries at one offset is empty: the second is checked */
        int erc = e[k].end > e[k].off ? entry_type(&m, e, k, ewhy, sizeof ewhy) : FR_OK;
        if (erc == FR_PACK_UNSAFE || (erc && !rc)) {
            rc = erc;
            if (why_len) snprintf(why, why_len, "%s", ewhy);
        }
        if (release && e[k].off - released >= RELEASE_STRIDE) {
            release(ctx, (size_t)e[k].off);
            released = e[k].off;
        }
    }
    /* A delta's base has its type and was listed before it (its type came
     * from there): its position in *out is recorded, and the base counts its
     * children, so a reader knows how long to hold it. e[k].i is reused for
     * the position in *out. */
    for (uint32_t k = 0; k < m.n && !rc; k++) {
        if (e[k].type <= 0 || e[k].type > 4 || !(types & (1u << e[k].type))) continue;
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 4096;
            *out = fr_xrealloc(*out, *cap * sizeof **out);
        }
        fr_pack_blob *b = &(*out)[*n];
        memset(b, 0, sizeof *b);
        b->off = e[k].off;
        b->end = e[k].end;
        b->size = e[k].size;
        b->data_at = e[k].data_at;
        b->base = NONE;
        b->type = (uint8_t)e[k].type;
        memcpy(b->oid, m.names + (size_t)e[k].i * GIT_OID_RAWSZ, GIT_OID_RAWSZ);
        if (e[k].base != NONE) {
            b->base = e[e[k].base].i; /* the base was listed already */
            (*out)[b->base].children++;
        }
        e[k].i = (uint32_t)(*n)++;
    }
    free(e);
    return rc;
}

static void *map_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    void *p = NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        (uint64_t)st.st_size <= SIZE_MAX) {
        p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) p = NULL;
        *len = (size_t)st.st_size;
    }
    close(fd);
    return p;
}

/* Releases the pages of a pack mapping behind the pass (never past the mapping:
 * upto is below its length, rounded down to a page). */
typedef struct {
    const unsigned char *base;
    size_t len, released, page;
} pack_pages;

static void release_pages(void *arg, size_t upto)
{
    pack_pages *r = arg;
    if (upto > r->len) upto = r->len;
    upto = upto / r->page * r->page;
    if (upto <= r->released) return;
    madvise((void *)(r->base + r->released), upto - r->released, MADV_DONTNEED);
    r->released = upto;
}

/* Appends the blobs of one pack, in pack order. Returns FR_ECORRUPT (and why)
 * for a corrupt index or pack. */
int gs_pack_blobs(const char *idx_path, fr_pack_blob **out, size_t *n, size_t *cap, char *why,
                  size_t why_len)
{
    return gs_pack_list(idx_path, 1u << GIT_OBJECT_BLOB, out, n, cap, why, why_len);
}

int gs_pack_list(const char *idx_path, unsigned types, fr_pack_blob **out, size_t *n, size_t *cap,
                 char *why, size_t why_len)
{
    size_t il = 0, pl = 0;
    char pack_path[PATH_MAX];
    size_t L = strlen(idx_path);
    if (L < 4 || L >= sizeof pack_path) return FR_OK;
    memcpy(pack_path, idx_path, L - 4);
    memcpy(pack_path + L - 4, ".pack", 6);
    const unsigned char *idx = map_file(idx_path, &il);
    const unsigned char *pack = idx ? map_file(pack_path, &pl) : NULL;
    pack_pages pp = {pack, pl, 0, (size_t)sysconf(_SC_PAGESIZE)};
    int rc = FR_OK;
    if (idx && pack)
        rc = fr_pack_list_objects(idx, il, pack, pl, types, out, n, cap, release_pages, &pp, why,
                                  why_len);
    else if (!pack && idx)
        rc = pack_fail(FR_PACK_UNSAFE, why, why_len, "the pack file cannot be read");
    if (idx) munmap((void *)idx, il);
    if (pack) munmap((void *)pack, pl);
    return rc;
}
