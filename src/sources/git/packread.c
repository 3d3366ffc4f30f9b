/*
 * packread.c: ferret's own reader of packed blobs (packscan.h, "reading
 * blobs"): zlib streams inflated straight into the caller's buffer, deltas
 * applied from bases held in a per-thread cache, the pack read with pread
 * (no mapping: nothing of the pack counts in the process's RSS and no window
 * is mapped and unmapped per object).
 *
 * Reading blob k:
 *
 *   k ──base──> k1 ──base──> ... kn   (until a cached object or a whole blob)
 *                                 │
 *   out <──apply── ... <──apply───┘   each delta inflated and applied once;
 *                                     an intermediate with children is cached
 *
 * A cached object is freed when its last listed child was read from it (the
 * children count of the listing), or evicted by the byte budget (clock hand).
 * Reading a delta tree in order (parents before children, one thread) thus
 * inflates every object once and holds at most the chain above the current
 * object; a child read elsewhere just rebuilds its chain.
 */
#include "sources/packscan.h"
#include "util/limits.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define NONE FR_PACK_NONE

typedef struct {
    uint64_t pack;
    uint32_t k, left; /* left: children not yet read from it */
    unsigned char *p;
    size_t len;
    uint64_t seq; /* when it was kept: its place in the eviction ring */
} cache_ent;

struct fr_pack_cache {
    size_t budget, bytes;
    cache_ent *slot; /* direct-mapped by (pack, k) */
    size_t nslot;
    /* Kept objects, oldest first (slot, seq): the budget evicts the oldest
     * still there (an ancestor far up the tree, or one whose children were
     * read elsewhere). Entries dropped since are skipped. */
    struct {
        uint32_t slot;
        uint64_t seq;
    } * ring;
    size_t ring_head, ring_n;
    uint64_t seq;
    unsigned char *z; /* compressed bytes read from a pack */
    size_t zcap;
    fr_buf base, delta; /* a chain's intermediates when not cached */
    /* One zlib stream per cache (per thread), reset for each object instead
     * of initialised and ended: inflateInit allocates a 7 KB state every time
     * (git/git: 1.1 million objects). inflateReset also forgets the window
     * size, so an object inflated in one Z_FINISH call still copies nothing
     * into the window. */
    z_stream z_st;
    int z_ready;
};

static atomic_uint_fast64_t next_id;

uint64_t fr_pack_new_id(void)
{
    return atomic_fetch_add(&next_id, 1) + 1;
}

fr_pack_cache *fr_pack_cache_new(size_t budget)
{
    return fr_pack_cache_new_slots(budget, FR_PACK_CACHE_SLOTS);
}

fr_pack_cache *fr_pack_cache_new_slots(size_t budget, size_t slots)
{
    fr_pack_cache *c = fr_xcalloc(1, sizeof *c);
    c->budget = budget;
    c->nslot = 64;
    while (c->nslot < slots && c->nslot < ((size_t)1 << 24))
        c->nslot *= 2;
    c->slot = fr_xcalloc(c->nslot, sizeof *c->slot);
    c->ring = fr_xcalloc(2 * c->nslot, sizeof *c->ring);
    return c;
}

static void drop(fr_pack_cache *c, cache_ent *e)
{
    if (!e->p) return;
    c->bytes -= e->len;
    free(e->p);
    memset(e, 0, sizeof *e);
}

void fr_pack_cache_free(fr_pack_cache *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->nslot; i++)
        drop(c, &c->slot[i]);
    free(c->slot);
    free(c->ring);
    free(c->z);
    if (c->z_ready) inflateEnd(&c->z_st);
    fr_buf_release(&c->base);
    fr_buf_release(&c->delta);
    free(c);
}

static cache_ent *slot_of(fr_pack_cache *c, uint64_t pack, uint32_t k)
{
    uint64_t h = (pack * 0x9e3779b97f4a7c15ull) ^ (k * 0xff51afd7ed558ccdull);
    return &c->slot[(h >> 17) & (c->nslot - 1)];
}

static cache_ent *lookup(fr_pack_cache *c, uint64_t pack, uint32_t k)
{
    cache_ent *e = slot_of(c, pack, k);
    if (!e->p || e->pack != pack || e->k != k) return NULL;
    return e;
}

/* Keeps a copy of data as object k of pack, with left children to come; or,
 * with take (whose bytes data is), take's buffer itself, shrunk to its length
 * (take is emptied then). */
static void keep_as(fr_pack_cache *c, uint64_t pack, uint32_t k, uint32_t left, const void *data,
                    size_t len, fr_buf *take)
{
    if (!left || len > c->budget / 2) return;
    cache_ent *e = slot_of(c, pack, k);
    drop(c, e);
    size_t rcap = 2 * c->nslot;
    while (c->ring_n && (c->bytes + len > c->budget || c->ring_n == rcap)) {
        cache_ent *v = &c->slot[c->ring[c->ring_head].slot];
        if (v->p && v->seq == c->ring[c->ring_head].seq) drop(c, v);
        c->ring_head = (c->ring_head + 1) % rcap;
        c->ring_n--;
    }
    if (c->bytes + len > c->budget) return;
    if (take) {
        e->p = fr_xrealloc(take->p, len + 1);
        memset(take, 0, sizeof *take);
    } else {
        e->p = fr_xmalloc(len ? len : 1);
        memcpy(e->p, data, len);
    }
    e->len = len;
    e->pack = pack;
    e->k = k;
    e->left = left;
    e->seq = ++c->seq;
    c->bytes += len;
    size_t at = (c->ring_head + c->ring_n++) % rcap;
    c->ring[at].slot = (uint32_t)(e - c->slot);
    c->ring[at].seq = e->seq;
}

static void keep(fr_pack_cache *c, uint64_t pack, uint32_t k, uint32_t left, const void *data,
                 size_t len)
{
    keep_as(c, pack, k, left, data, len, NULL);
}

/* keep() for an intermediate of a chain: its buffer itself is kept, not a
 * copy of its bytes (a memcpy and its malloc per kept tree in the walk).
 * Whether it was kept (b emptied then). */
static int keep_buf(fr_pack_cache *c, uint64_t pack, uint32_t k, uint32_t left, fr_buf *b)
{
    if (!b->p) return 0;
    keep_as(c, pack, k, left, b->p, b->len, b);
    return !b->p;
}

/* One child was read from cached e: freed after its last. */
static void consumed(fr_pack_cache *c, cache_ent *e)
{
    if (e && e->left && --e->left == 0) drop(c, e);
}

static int fail(int rc, char *why, size_t why_len, const char *what, const fr_pack_blob *b)
{
    if (why_len) snprintf(why, why_len, "pack entry at %llu: %s", (unsigned long long)b->off, what);
    return rc;
}

/* Inflates the zlib stream of entry b, which must give exactly size bytes,
 * into out (appended to out->len = 0). */
static int inflate_entry(const fr_pack_src *s, const fr_pack_blob *b, uint64_t size,
                         fr_pack_cache *c, fr_buf *out, char *why, size_t why_len)
{
    uint64_t at = b->off + b->data_at;
    if (b->end > s->len || at > b->end) return fail(FR_ECORRUPT, why, why_len, "bad bounds", b);
    out->len = 0;
    fr_buf_reserve(out, (size_t)size + 1);
    if (!c->z_ready) {
        memset(&c->z_st, 0, sizeof c->z_st);
        if (inflateInit(&c->z_st) != Z_OK) return fail(FR_ERR, why, why_len, "zlib init failed", b);
        c->z_ready = 1;
    } else if (inflateReset(&c->z_st) != Z_OK) {
        return fail(FR_ERR, why, why_len, "zlib reset failed", b);
    }
    z_stream *z = &c->z_st;
    z->next_out = (unsigned char *)out->p;
    z->avail_out = (uInt)size + 1; /* one byte more: a longer stream is caught */
    int zr = Z_OK;
    while (zr == Z_OK && at < b->end) {
        size_t chunk = b->end - at;
        if (s->mem) {
            if (chunk > UINT32_MAX / 2) chunk = UINT32_MAX / 2;
            z->next_in = (unsigned char *)(s->mem + at);
        } else {
            if (chunk > FR_PACK_READ_CHUNK) chunk = FR_PACK_READ_CHUNK;
            if (c->zcap < chunk) {
                free(c->z);
                c->zcap = chunk < 65536 ? 65536 : chunk;
                c->z = fr_xmalloc(c->zcap);
            }
            ssize_t r = pread(s->fd, c->z, chunk, (off_t)at);
            if (r <= 0) {
                return fail(FR_ERR, why, why_len, "cannot read the pack", b);
            }
            chunk = (size_t)r;
            z->next_in = c->z;
        }
        z->avail_in = (uInt)chunk;
        /* the whole rest of the stream at hand: Z_FINISH, so that zlib keeps
         * no sliding window (a 32 KB allocation and a copy of the output's
         * last 32 KB per object) when the stream ends in this call */
        zr = inflate(z, at + chunk == b->end ? Z_FINISH : Z_NO_FLUSH);
        at += chunk - z->avail_in;
        if (zr == Z_BUF_ERROR && z->avail_out) zr = Z_OK; /* wants more input */
    }
    size_t got = z->total_out;
    if (zr != Z_STREAM_END || got != size)
        return fail(FR_ECORRUPT, why, why_len, "stream does not inflate to its size", b);
    out->len = got;
    out->p[got] = 0;
    return FR_OK;
}

static int varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    *v = 0;
    for (unsigned shift = 0; *p < end && shift < 64; shift += 7) {
        unsigned char b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return 0;
    }
    return -1;
}

/* Applies delta d[0..dn) to base into out; the result is at most cap bytes. */
static int apply_delta(const unsigned char *base, size_t bn, const unsigned char *d, size_t dn,
                       uint64_t cap, fr_buf *out, const fr_pack_blob *b, char *why, size_t why_len)
{
    const unsigned char *p = d, *end = d + dn;
    uint64_t src, dst;
    if (varint(&p, end, &src) || varint(&p, end, &dst))
        return fail(FR_ECORRUPT, why, why_len, "delta header runs past the delta", b);
    if (src != bn) return fail(FR_ECORRUPT, why, why_len, "delta base size mismatch", b);
    if (dst > cap) return FR_ELIMIT;
    out->len = 0;
    fr_buf_reserve(out, (size_t)dst + 1);
    unsigned char *o = (unsigned char *)out->p;
    size_t w = 0;
    while (p < end) {
        unsigned op = *p++;
        if (op & 0x80) { /* copy from the base: offset and size bytes as flagged */
            uint64_t off = 0, n = 0;
            for (unsigned i = 0; i < 7; i++) {
                if (!(op & (1u << i))) continue;
                if (p == end) return fail(FR_ECORRUPT, why, why_len, "truncated delta copy", b);
                if (i < 4)
                    off |= (uint64_t)*p++ << (8 * i);
                else
                    n |= (uint64_t)*p++ << (8 * (i - 4));
            }
            if (!n) n = 0x10000;
            if (off > bn || n > bn - off || n > dst - w)
                return fail(FR_ECORRUPT, why, why_len, "delta copy outside the base or result", b);
            memcpy(o + w, base + off, (size_t)n);
            w += (size_t)n;
        } else if (op) { /* insert op literal bytes */
            if ((size_t)(end - p) < op || op > dst - w)
                return fail(FR_ECORRUPT, why, why_len, "truncated delta insert", b);
            memcpy(o + w, p, op);
            p += op;
            w += op;
        } else {
            return fail(FR_ECORRUPT, why, why_len, "reserved delta instruction", b);
        }
    }
    if (w != dst) return fail(FR_ECORRUPT, why, why_len, "delta result size mismatch", b);
    out->len = w;
    out->p[w] = 0;
    return FR_OK;
}

/* A delta inflates to its instructions: the result is at most cap bytes, and
 * each byte of it costs at least 1/127 instruction byte beyond the copies. */
static uint64_t delta_cap(uint64_t cap)
{
    return cap + cap / 64 + 64;
}

int fr_pack_read(const fr_pack_src *s, size_t k, fr_pack_cache *c, uint64_t cap, fr_buf *out,
                 char *why, size_t why_len)
{
    if (why_len) why[0] = 0;
    if (k >= s->n) return FR_ERR;
    /* the chain down to a cached object or a whole blob */
    uint32_t chain[FR_PACK_MAX_CHAIN];
    size_t depth = 0;
    uint32_t x = (uint32_t)k;
    cache_ent *have = NULL;
    while (!(have = lookup(c, s->id, x)) && s->blobs[x].base != NONE) {
        if (depth == FR_PACK_MAX_CHAIN)
            return fail(FR_ELIMIT, why, why_len, "delta chain too long", &s->blobs[k]);
        if (s->blobs[x].base >= x)
            return fail(FR_ECORRUPT, why, why_len, "delta base after the delta", &s->blobs[x]);
        chain[depth++] = x;
        x = s->blobs[x].base;
    }
    const fr_pack_blob *xb = &s->blobs[x];
    int rc;
    if (!depth) { /* k itself: cached, or a whole blob */
        if (have) {
            if (have->len > cap) return FR_ELIMIT;
            out->len = 0;
            fr_buf_append(out, have->p, have->len);
            return FR_OK;
        }
        if (xb->size > cap) return FR_ELIMIT;
        rc = inflate_entry(s, xb, xb->size, c, out, why, why_len);
        if (!rc) keep(c, s->id, x, xb->children, out->p, out->len);
        return rc;
    }
    /* The base of the deepest delta, then each delta applied in turn. Each
     * result goes to c->base, or to out for the last; intermediates that have
     * children left are cached. */
    const unsigned char *bp;
    size_t bn;
    if (have) {
        bp = have->p;
        bn = have->len;
    } else {
        if (xb->size > cap) return FR_ELIMIT;
        rc = inflate_entry(s, xb, xb->size, c, &c->base, why, why_len);
        if (rc) return rc;
        keep(c, s->id, x, xb->children, c->base.p, c->base.len);
        have = lookup(c, s->id, x);
        bp = (const unsigned char *)c->base.p;
        bn = c->base.len;
    }
    fr_buf tmp = {0};
    rc = FR_OK;
    while (depth && !rc) {
        uint32_t d = chain[--depth];
        const fr_pack_blob *db = &s->blobs[d];
        if (db->size > delta_cap(cap)) {
            rc = FR_ELIMIT;
            break;
        }
        rc = inflate_entry(s, db, db->size, c, &c->delta, why, why_len);
        if (rc) break;
        fr_buf *dst = depth ? &tmp : out;
        rc = apply_delta(bp, bn, (const unsigned char *)c->delta.p, c->delta.len, cap, dst, db, why,
                         why_len);
        if (rc) break;
        consumed(c, have);
        if (!depth) {
            keep(c, s->id, d, db->children, dst->p, dst->len);
        } else if (keep_buf(c, s->id, d, db->children, &tmp)) {
            /* the result is the next base: the cache holds it now */
            have = lookup(c, s->id, d);
            bp = have->p;
            bn = have->len;
        } else { /* the result is the next base: swap it into c->base */
            fr_buf t = c->base;
            c->base = tmp;
            tmp = t;
            have = NULL;
            bp = (const unsigned char *)c->base.p;
            bn = c->base.len;
        }
    }
    fr_buf_release(&tmp);
    if (c->base.cap > FR_KEEP_BUFFER_MAX) fr_buf_release(&c->base);
    if (c->delta.cap > FR_KEEP_BUFFER_MAX) fr_buf_release(&c->delta);
    return rc;
}

/* ---- tree objects ---- */

/* The entry at p (p < end) into e: where the next one starts, NULL when it
 * is malformed. */
static inline const unsigned char *parse_entry(const unsigned char *p, const unsigned char *end,
                                               fr_tree_entry *e)
{
    /* mode: octal digits up to a space (git writes 5 or 6) */
    uint32_t mode = 0;
    size_t digits = 0;
    while (p < end && *p >= '0' && *p <= '7' && digits < FR_TREE_MODE_DIGITS) {
        mode = mode << 3 | (uint32_t)(*p++ - '0');
        digits++;
    }
    if (!digits || p == end || *p++ != ' ') return NULL;
    /* name: up to a NUL, not empty, then the 20-byte id */
    const unsigned char *z = memchr(p, 0, (size_t)(end - p));
    if (!z || z == p || (size_t)(end - z) < 1 + 20 || (size_t)(z - p) > FR_TREE_NAME_MAX)
        return NULL;
    e->name = (const char *)p;
    e->nlen = (uint32_t)(z - p);
    e->mode = mode;
    e->id = z + 1;
    e->type = (mode & 0170000) == 0040000   ? FR_TREE_TREE
              : (mode & 0170000) == 0160000 ? FR_TREE_COMMIT
                                            : FR_TREE_BLOB;
    return z + 21;
}

const unsigned char *fr_tree_parse_one(const unsigned char *p, const unsigned char *end,
                                       fr_tree_entry *e)
{
    return p < end ? parse_entry(p, end, e) : NULL;
}

int fr_tree_parse(const unsigned char *p, size_t n, fr_tree_entry **ents, size_t *nents,
                  size_t *cap)
{
    const unsigned char *end = p + n;
    *nents = 0;
    while (p < end) {
        if (*nents == *cap) {
            *cap = *cap ? *cap * 2 : 64;
            *ents = fr_xrealloc(*ents, *cap * sizeof **ents);
        }
        p = parse_entry(p, end, &(*ents)[*nents]);
        if (!p) return FR_ECORRUPT;
        (*nents)++;
    }
    return FR_OK;
}

int fr_tree_entry_cmp(const fr_tree_entry *a, const fr_tree_entry *b)
{
    size_t m = a->nlen < b->nlen ? a->nlen : b->nlen;
    int c = memcmp(a->name, b->name, m);
    if (c) return c;
    /* git's order: a directory compares as if its name ended in '/' */
    unsigned ca = m < a->nlen ? (unsigned char)a->name[m] : a->type == FR_TREE_TREE ? '/' : 0;
    unsigned cb = m < b->nlen ? (unsigned char)b->name[m] : b->type == FR_TREE_TREE ? '/' : 0;
    return (ca > cb) - (ca < cb);
}

/* ---- commit objects ---- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* "NAME" ' ' 40 hex '\n' at p: the id into id (may be NULL), else -1. */
static int id_line(const unsigned char *p, const unsigned char *end, const char *name,
                   unsigned char *id)
{
    size_t L = strlen(name);
    if ((size_t)(end - p) < L + 1 + 40 + 1 || memcmp(p, name, L) || p[L] != ' ' ||
        p[L + 41] != '\n')
        return -1;
    for (size_t i = 0; i < 20; i++) {
        int hi = hexval(p[L + 1 + 2 * i]), lo = hexval(p[L + 2 + 2 * i]);
        if (hi < 0 || lo < 0) return -1;
        if (id) id[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static void trimmed(const unsigned char *a, const unsigned char *b, const char **s, size_t *n)
{
    while (a < b && is_space(*a))
        a++;
    while (b > a && is_space(b[-1]))
        b--;
    *s = (const char *)a;
    *n = (size_t)(b - a);
}

/* "HEADER NAME <EMAIL> TIME +ZZZZ\n" at *p, nothing else: fills the fields
 * and moves *p past the line. */
static int sig_line(const unsigned char **p, const unsigned char *end, const char *header,
                    const char **name, size_t *nlen, const char **email, size_t *elen, int64_t *t)
{
    size_t L = strlen(header);
    const unsigned char *s = *p;
    const unsigned char *nl = memchr(s, '\n', (size_t)(end - s));
    if (!nl || (size_t)(nl - s) <= L || memcmp(s, header, L) || s[L] != ' ' ||
        memchr(s, 0, (size_t)(nl - s))) /* libgit2 would cut a name or email at a NUL */
        return -1;
    const unsigned char *a = s + L + 1, *lt = memchr(a, '<', (size_t)(nl - a));
    const unsigned char *gt = lt ? memchr(lt, '>', (size_t)(nl - lt)) : NULL;
    if (!lt || !gt || memchr(lt + 1, '<', (size_t)(nl - lt - 1)) ||
        memchr(gt + 1, '>', (size_t)(nl - gt - 1)) || memchr(a, '>', (size_t)(lt - a)))
        return -1;
    /* "> " digits " " sign four digits */
    const unsigned char *q = gt + 1;
    if (q == nl || *q++ != ' ') return -1;
    int64_t v = 0;
    size_t digits = 0;
    while (q < nl && *q >= '0' && *q <= '9' && digits < 18) {
        v = v * 10 + (*q++ - '0');
        digits++;
    }
    if (!digits || nl - q != 6 || q[0] != ' ' || (q[1] != '+' && q[1] != '-')) return -1;
    for (int i = 2; i < 6; i++)
        if (q[i] < '0' || q[i] > '9') return -1;
    trimmed(a, lt, name, nlen);
    trimmed(lt + 1, gt, email, elen);
    *t = v;
    *p = nl + 1;
    return 0;
}

int fr_commit_parse(const unsigned char *p, size_t n, fr_commit *c)
{
    const unsigned char *end = p + n, *s = p;
    memset(c, 0, sizeof *c);
    if (id_line(s, end, "tree", c->tree)) return FR_ECORRUPT;
    s += 46;
    c->parents = (const char *)s;
    while (!id_line(s, end, "parent", NULL)) {
        c->nparents++;
        s += 48;
    }
    const char *cn, *ce;
    size_t cnl, cel;
    if (sig_line(&s, end, "author", &c->author_name, &c->author_name_len, &c->author_email,
                 &c->author_email_len, &c->author_time) ||
        sig_line(&s, end, "committer", &cn, &cnl, &ce, &cel, &c->committer_time))
        return FR_ECORRUPT;
    /* other headers (encoding, gpgsig and its continuation lines) up to the
     * first empty line; the message is every byte after it */
    const unsigned char *m = s < end && *s == '\n' ? s : NULL;
    if (!m && s < end) {
        const unsigned char *e2 = memmem(s, (size_t)(end - s), "\n\n", 2);
        m = e2 ? e2 + 1 : NULL;
    }
    c->message = (const char *)(m ? m + 1 : end);
    c->message_len = m ? (size_t)(end - m - 1) : 0;
    return FR_OK;
}

void fr_commit_parent(const fr_commit *c, size_t i, unsigned char id[20])
{
    id_line((const unsigned char *)c->parents + 48 * i,
            (const unsigned char *)c->parents + 48 * i + 48, "parent", id);
}
