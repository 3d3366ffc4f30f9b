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

#include <stddef.h>
#include <stdint.h>

/* Below every FR_* code of util.h. */
enum { FR_PACK_UNSAFE = -64 };

typedef struct {
    uint64_t off;          /* the entry's offset in the pack */
    unsigned char oid[20]; /* the blob's id */
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
int fr_pack_list_blobs(const unsigned char *idx, size_t idx_len, const unsigned char *pack,
                       size_t pack_len, fr_pack_blob **out, size_t *n, size_t *cap,
                       fr_pack_release_fn release, void *ctx, char *why, size_t why_len);

#endif
