/*
 * packscan.h: the blobs of one git pack, found from its index (version 2) and
 * the pack's entry headers alone — no inflating, no libgit2. Internal to the
 * git source (the scan ahead of the walk) and its fuzz target.
 *
 * Every number read from either file is checked before it is used: the index
 * size against the object count, a monotonic fanout that agrees with the
 * sorted names, offsets (32-bit and large) inside the pack and distinct, the
 * pack's object count and checksum against the index, entry headers inside
 * their entry with capped varints, delta bases inside the pack and before the
 * delta. Anything inconsistent rejects the whole pack: nothing is listed.
 */
#ifndef FERRET_PACKSCAN_H
#define FERRET_PACKSCAN_H

#include "util/util.h"

#include <stddef.h>
#include <stdint.h>

/* Below every FR_* code of util.h. */
enum { FR_PACK_UNSAFE = -64 };

typedef struct {
    uint64_t off;          /* the entry's offset in the pack */
    unsigned char oid[20]; /* the blob's id */
    /* What a reader needs (fr_pack_read), all checked against the pack: */
    uint64_t end;      /* where the entry's bytes end (the next entry, or the trailer) */
    uint64_t size;     /* the header's size: the blob's, or for a delta the delta's */
    uint32_t data_at;  /* bytes from off to the entry's zlib stream */
    uint32_t base;     /* a delta's base: its index in *out (listed before it); else NONE */
    uint32_t children; /* listed deltas whose base this is */
} fr_pack_blob;

/* Called as the pass moves through the pack: no byte before offset upto
 * (upto < pack_len) is read again, so the caller may release those pages. */
typedef void (*fr_pack_release_fn)(void *ctx, size_t upto);

/*
 * Appends the blobs of the pack to *out (*n entries used of *cap allocated;
 * start from NULL, 0, 0; the caller frees *out), in pack order. A delta has its
 * base's type when the base comes earlier in the pack; a REF_DELTA whose base is
 * later or elsewhere is not listed (its type is unknown). release may be NULL.
 * Returns FR_OK; FR_ECORRUPT when the files disagree but every offset the
 * index gives lies inside the pack (a reader that bounds its reads may still
 * look objects up by id); FR_PACK_UNSAFE when a size, count, checksum or
 * offset points outside the files (no reader may follow this index). On
 * failure why holds the reason (why_len bytes, may be 0) and *n is unchanged.
 */
#define FR_PACK_NONE UINT32_MAX

int fr_pack_list_blobs(const unsigned char *idx, size_t idx_len, const unsigned char *pack,
                       size_t pack_len, fr_pack_blob **out, size_t *n, size_t *cap,
                       fr_pack_release_fn release, void *ctx, char *why, size_t why_len);

/* ---- reading blobs (src/sources/git/packread.c) ----
 *
 * Inflates a listed blob and resolves its delta chain, the way git index-pack
 * does: bases come from a per-thread cache that holds a resolved object until
 * all its listed children were read from it (or a byte budget evicts it), so
 * reading a pack's blobs with each delta tree in order inflates each object
 * once. Nothing is trusted: each stream must inflate to exactly the size its
 * header gives; a delta's base size must match the base, every copy must lie
 * inside the base and the output, the result must have the delta's size; chains
 * are at most FR_PACK_MAX_CHAIN long; nothing larger than cap is built. */

/* A pack to read from: its bytes in memory (mem) or through fd (pread), and
 * its listed blobs. id tells packs apart in caches (unique per process). */
typedef struct {
    uint64_t id;
    const unsigned char *mem;
    int fd;
    uint64_t len;
    const fr_pack_blob *blobs;
    size_t n;
} fr_pack_src;

/* A reader's cache of resolved delta bases (one per thread; not shared). */
typedef struct fr_pack_cache fr_pack_cache;
fr_pack_cache *fr_pack_cache_new(size_t budget);
void fr_pack_cache_free(fr_pack_cache *c);
/* A process-unique id for a new fr_pack_src. */
uint64_t fr_pack_new_id(void);

/* Reads blob k of src into out (reset first). FR_OK; FR_ELIMIT when the blob,
 * or a base on its chain, is larger than cap; FR_ECORRUPT (why says where)
 * when the pack's bytes are not what the listing says; FR_ERR on a read error. */
int fr_pack_read(const fr_pack_src *src, size_t k, fr_pack_cache *c, uint64_t cap, fr_buf *out,
                 char *why, size_t why_len);

#endif
