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
    uint8_t type;      /* 1 commit, 2 tree, 3 blob, 4 tag (a delta: its base's) */
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
/* The same for the objects whose type t has bit 1 << t set in types (blobs
 * alone: 1 << 3); a delta's base is of its type, so it is listed before it.
 * fr_pack_read reads any of them. */
int fr_pack_list_objects(const unsigned char *idx, size_t idx_len, const unsigned char *pack,
                         size_t pack_len, unsigned types, fr_pack_blob **out, size_t *n,
                         size_t *cap, fr_pack_release_fn release, void *ctx, char *why,
                         size_t why_len);

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
/* The same with slots places (rounded up to a power of two; the default is
 * FR_PACK_CACHE_SLOTS): objects held at once beyond it collide and are
 * dropped, so a reader holding many small bases wants more. */
fr_pack_cache *fr_pack_cache_new_slots(size_t budget, size_t slots);
void fr_pack_cache_free(fr_pack_cache *c);
/* A process-unique id for a new fr_pack_src. */
uint64_t fr_pack_new_id(void);

/* Reads blob k of src into out (reset first). FR_OK; FR_ELIMIT when the blob,
 * or a base on its chain, is larger than cap; FR_ECORRUPT (why says where)
 * when the pack's bytes are not what the listing says; FR_ERR on a read error. */
int fr_pack_read(const fr_pack_src *src, size_t k, fr_pack_cache *c, uint64_t cap, fr_buf *out,
                 char *why, size_t why_len);

/* ---- tree objects (packread.c) ----
 *
 * A tree's bytes as git writes them: entries "MODE NAME\0ID" (mode in octal,
 * ID 20 raw bytes), sorted by name with directories compared as NAME/. The
 * parser checks the syntax only (at most FR_TREE_MODE_DIGITS digits, a
 * non-empty name of at most FR_TREE_NAME_MAX bytes, a whole id); order and
 * duplicates are the caller's concern. */
#define FR_TREE_MODE_DIGITS 7
#define FR_TREE_NAME_MAX    65535
enum { FR_TREE_BLOB = 3, FR_TREE_TREE = 2, FR_TREE_COMMIT = 1 }; /* as git's object types */

typedef struct {
    const char *name; /* name[nlen] is the NUL that ends it in the tree */
    uint32_t nlen;
    uint32_t mode;
    const unsigned char *id; /* 20 bytes */
    int type;                /* FR_TREE_*: 040000 a tree, 0160000 a commit, else a blob */
} fr_tree_entry;

/* Parses tree bytes p[0..n) into (*ents)[0..*nents) (*cap allocated; the
 * entries point into p). FR_OK, or FR_ECORRUPT at the first malformed entry. */
int fr_tree_parse(const unsigned char *p, size_t n, fr_tree_entry **ents, size_t *nents,
                  size_t *cap);
/* The one entry at p (p < end) into *e (pointing into the bytes): where the
 * next entry starts, or NULL when it is malformed (as fr_tree_parse reads it). */
const unsigned char *fr_tree_parse_one(const unsigned char *p, const unsigned char *end,
                                       fr_tree_entry *e);
/* git's order of two entries of one tree (libgit2's git_tree_entry_cmp). */
int fr_tree_entry_cmp(const fr_tree_entry *a, const fr_tree_entry *b);

/* ---- commit objects (packread.c) ----
 *
 * What the history walk takes from a commit, parsed only when the commit has
 * git's usual form: "tree ID", "parent ID" lines, then "author" and
 * "committer" lines of the form "NAME <EMAIL> SECONDS +ZZZZ" (one '<' and
 * one '>'), other headers up to an empty line, the message. Anything else is
 * FR_ECORRUPT, and the caller asks libgit2 (whose lenient parser decides). The
 * fields are then those libgit2 gives: name and email trimmed of white space,
 * the message every byte after the empty line (NULs included). */
typedef struct {
    unsigned char tree[20];
    const char *parents; /* the first "parent" line; fr_commit_parent reads them */
    size_t nparents;
    const char *author_name, *author_email; /* not NUL-terminated */
    size_t author_name_len, author_email_len;
    int64_t author_time, committer_time;
    const char *message;
    size_t message_len;
} fr_commit;

int fr_commit_parse(const unsigned char *p, size_t n, fr_commit *c);
/* The id of parent i (< c->nparents) of a parsed commit. */
void fr_commit_parent(const fr_commit *c, size_t i, unsigned char id[20]);

#endif
