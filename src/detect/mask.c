/*
 * mask.c: masking-bypass prints, candidate regions, derivations and the keyed
 * Rabin-Karp search (see mask.h). The set owns its entries (never removed, so
 * hits may borrow their strings), an open-addressing table from (length,
 * rolling hash) to entries, and the distinct lengths with the newest
 * generation of each, so a search for entries newer than a generation skips
 * lengths that have none. Rolling hashes are polynomials modulo 2^61 - 1 in a
 * base derived from the key: without the key a stored value confirms nothing.
 */
#include "detect/mask.h"

#include "util/limits.h"
#include "util/util.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define RK_P (((uint64_t)1 << 61) - 1)

typedef struct {
    uint32_t len;
    uint64_t rk, gen;
    unsigned char tag[32];
    char *rule_id, *sha, *preview;
} entry;

typedef struct {
    uint32_t len;
    uint64_t newest; /* generation of the newest entry of this length */
    uint64_t pow;    /* base^(len-1) */
} length_info;

struct fr_mask_set {
    pthread_rwlock_t lock;
    unsigned char tag_key[32];
    uint64_t base;
    entry *e;
    size_t n, cap;
    uint32_t *table;   /* entry index + 1; 0: empty */
    size_t tsize;      /* power of two */
    length_info *lens; /* sorted by len */
    size_t nlens;
};

const char *fr_mask_transform_name(int tx)
{
    switch (tx) {
    case FR_TX_BASE64:
        return "base64";
    case FR_TX_HEX:
        return "hex";
    case FR_TX_REVERSED:
        return "reversed";
    case FR_TX_URL:
        return "url";
    case FR_TX_SPLIT:
        return "split-lines";
    }
    return NULL;
}

static uint64_t mulmod(uint64_t a, uint64_t b)
{
    __uint128_t m = (__uint128_t)a * b;
    uint64_t r = (uint64_t)(m & RK_P) + (uint64_t)(m >> 61);
    r = (r & RK_P) + (r >> 61);
    return r >= RK_P ? r - RK_P : r;
}

static uint64_t addmod(uint64_t a, uint64_t b)
{
    uint64_t r = a + b;
    return r >= RK_P ? r - RK_P : r;
}

static uint64_t rk_of(uint64_t base, const unsigned char *s, size_t n)
{
    uint64_t h = 0;
    for (size_t i = 0; i < n; i++)
        h = addmod(mulmod(h, base), (uint64_t)s[i] + 1);
    return h;
}

/* Word characters: what secrets and their encodings are made of. */
static unsigned char WORD[256], B64[256], HEXV[256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void tables_init(void)
{
    memset(B64, 0xff, sizeof B64);
    memset(HEXV, 0xff, sizeof HEXV);
    for (int c = 0; c < 256; c++)
        WORD[c] = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c && strchr("+/=-_.~%", c));
    for (int i = 0; i < 26; i++)
        B64['A' + i] = (unsigned char)i, B64['a' + i] = (unsigned char)(26 + i);
    for (int i = 0; i < 10; i++)
        B64['0' + i] = (unsigned char)(52 + i), HEXV['0' + i] = (unsigned char)i;
    B64['+'] = B64['-'] = 62; /* standard and URL-safe alphabets */
    B64['/'] = B64['_'] = 63;
    for (int i = 0; i < 6; i++)
        HEXV['a' + i] = HEXV['A' + i] = (unsigned char)(10 + i);
}

static void derive_key(const unsigned char key[32], const char *label, unsigned char out[32])
{
    unsigned int olen = 32;
    HMAC(EVP_sha256(), key, 32, (const unsigned char *)label, strlen(label), out, &olen);
}

fr_mask_set *fr_mask_set_new(const unsigned char key[32])
{
    pthread_once(&tables_once, tables_init);
    fr_mask_set *ms = fr_xcalloc(1, sizeof *ms);
    pthread_rwlock_init(&ms->lock, NULL);
    derive_key(key, "ferret mask tag v1", ms->tag_key);
    unsigned char b[32];
    derive_key(key, "ferret mask rolling base v1", b);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    ms->base = (v % (RK_P - 512)) + 256; /* never 0 or 1, and above any byte value */
    ms->tsize = 1024;
    ms->table = fr_xcalloc(ms->tsize, sizeof *ms->table);
    return ms;
}

void fr_mask_set_free(fr_mask_set *ms)
{
    if (!ms) return;
    for (size_t i = 0; i < ms->n; i++) {
        free(ms->e[i].rule_id);
        free(ms->e[i].sha);
        free(ms->e[i].preview);
    }
    free(ms->e);
    free(ms->table);
    free(ms->lens);
    pthread_rwlock_destroy(&ms->lock);
    free(ms);
}

static void tag_of(const fr_mask_set *ms, const void *s, size_t n, unsigned char out[32])
{
    unsigned int olen = 32;
    HMAC(EVP_sha256(), ms->tag_key, 32, s, n, out, &olen);
}

void fr_mask_print_of(const fr_mask_set *ms, const void *s, size_t n, fr_mask_print *out)
{
    unsigned char t[32];
    static const char hx[] = "0123456789abcdef";
    out->len = (uint32_t)n;
    out->rk = rk_of(ms->base, s, n);
    tag_of(ms, s, n, t);
    for (int i = 0; i < 32; i++)
        out->tag[2 * i] = hx[t[i] >> 4], out->tag[2 * i + 1] = hx[t[i] & 15];
    out->tag[64] = 0;
}

static size_t slot_of(uint64_t rk, uint32_t len, size_t mask)
{
    uint64_t h = (rk ^ ((uint64_t)len * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;
    return (size_t)(h >> 32) & mask;
}

static void table_insert(fr_mask_set *ms, size_t idx)
{
    size_t mask = ms->tsize - 1, s = slot_of(ms->e[idx].rk, ms->e[idx].len, mask);
    while (ms->table[s])
        s = (s + 1) & mask;
    ms->table[s] = (uint32_t)idx + 1;
}

static int parse_tag(const char *hex, unsigned char out[32])
{
    for (int i = 0; i < 32; i++) {
        unsigned char hi = HEXV[(unsigned char)hex[2 * i]], lo;
        if (hi == 0xff) return -1;
        lo = HEXV[(unsigned char)hex[2 * i + 1]];
        if (lo == 0xff) return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

static uint64_t pow_of(uint64_t base, uint32_t e)
{
    uint64_t r = 1;
    while (e) {
        if (e & 1) r = mulmod(r, base);
        base = mulmod(base, base);
        e >>= 1;
    }
    return r;
}

int fr_mask_set_add(fr_mask_set *ms, const fr_mask_print *p, const char *rule_id,
                    const char *secret_sha256, const char *preview)
{
    unsigned char tag[32];
    if (p->len < FR_MASK_MIN_LEN || p->rk >= RK_P || strlen(p->tag) != 64 || parse_tag(p->tag, tag))
        return 0;
    pthread_rwlock_wrlock(&ms->lock);
    size_t mask = ms->tsize - 1;
    for (size_t s = slot_of(p->rk, p->len, mask); ms->table[s]; s = (s + 1) & mask) {
        const entry *x = &ms->e[ms->table[s] - 1];
        if (x->len == p->len && x->rk == p->rk && !memcmp(x->tag, tag, 32)) {
            pthread_rwlock_unlock(&ms->lock);
            return 0;
        }
    }
    if (ms->n == ms->cap) {
        ms->cap = ms->cap ? 2 * ms->cap : 64;
        ms->e = fr_xrealloc(ms->e, ms->cap * sizeof *ms->e);
    }
    entry *x = &ms->e[ms->n];
    *x = (entry){.len = p->len, .rk = p->rk, .gen = ms->n + 1};
    memcpy(x->tag, tag, 32);
    x->rule_id = fr_xstrdup(rule_id ? rule_id : "");
    x->sha = fr_xstrdup(secret_sha256 ? secret_sha256 : "");
    x->preview = fr_xstrdup(preview ? preview : "");
    ms->n++;
    if (2 * ms->n > ms->tsize) { /* keep the table at most half full */
        free(ms->table);
        ms->tsize *= 2;
        ms->table = fr_xcalloc(ms->tsize, sizeof *ms->table);
        for (size_t i = 0; i < ms->n; i++)
            table_insert(ms, i);
    } else {
        table_insert(ms, ms->n - 1);
    }
    size_t k = 0;
    while (k < ms->nlens && ms->lens[k].len < p->len)
        k++;
    if (k < ms->nlens && ms->lens[k].len == p->len) {
        ms->lens[k].newest = x->gen;
    } else {
        ms->lens = fr_xrealloc(ms->lens, (ms->nlens + 1) * sizeof *ms->lens);
        memmove(ms->lens + k + 1, ms->lens + k, (ms->nlens - k) * sizeof *ms->lens);
        ms->lens[k] = (length_info){p->len, x->gen, pow_of(ms->base, p->len - 1)};
        ms->nlens++;
    }
    pthread_rwlock_unlock(&ms->lock);
    return 1;
}

size_t fr_mask_set_size(fr_mask_set *ms)
{
    pthread_rwlock_rdlock(&ms->lock);
    size_t n = ms->n;
    pthread_rwlock_unlock(&ms->lock);
    return n;
}

uint64_t fr_mask_set_generation(fr_mask_set *ms)
{
    return fr_mask_set_size(ms);
}

/* ---- regions ---- */

static void push_region(fr_mask_region **r, size_t *n_r, size_t *cap, const fr_mask_region *x)
{
    if (*n_r == *cap) {
        *cap = *cap ? 2 * *cap : 16;
        *r = fr_xrealloc(*r, *cap * sizeof **r);
    }
    (*r)[(*n_r)++] = *x;
}

/* Newlines in t[a, b): 16 bytes a step with SSE2 (a log's lines are short:
 * one memchr per line would cost more than finding the regions). */
static uint64_t count_newlines(const unsigned char *t, size_t a, size_t b)
{
    uint64_t k = 0;
#ifdef __SSE2__
    /* per byte lane, up to 255 steps at a time, then summed */
    const __m128i nl = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();
    while (a + 16 <= b) {
        __m128i acc = zero;
        for (int s = 0; s < 255 && a + 16 <= b; s++, a += 16)
            acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(t + a)), nl));
        __m128i sum = _mm_sad_epu8(acc, zero);
        k += (uint64_t)_mm_cvtsi128_si32(sum) + (uint64_t)_mm_cvtsi128_si32(_mm_srli_si128(sum, 8));
    }
#endif
    for (; a < b; a++)
        k += t[a] == '\n';
    return k;
}

/* Line and column of t[off], counting on from a cursor (regions come in
 * order): the cursor keeps where the line holding pos starts, so a column
 * costs the bytes since the previous region, not a walk back to the line's
 * start (minified JS: thousands of regions on one line of megabytes). */
typedef struct {
    size_t pos;
    uint64_t line;
    size_t start; /* offset of the first byte of pos's line */
} line_cursor;

static void line_at(const unsigned char *t, line_cursor *c, size_t off, uint64_t *line,
                    uint64_t *col)
{
    uint64_t k = count_newlines(t, c->pos, off);
    if (k) {
        const unsigned char *nl = memrchr(t + c->pos, '\n', off - c->pos);
        c->start = (size_t)(nl - t) + 1;
        c->line += k;
    }
    c->pos = off;
    *line = c->line;
    *col = off - c->start + 1;
}

/* One-byte lines: t[p] is a byte alone on its line when the bytes around it
 * are newlines (or the text's ends). */
static int alone(const unsigned char *t, size_t n, size_t p)
{
    return p < n && t[p] != '\n' && (p == 0 || t[p - 1] == '\n') &&
           (p + 1 == n || t[p + 1] == '\n');
}

/* The run of one-byte lines through s (alone): pushed when it is long enough.
 * Returns the offset after its last byte. */
static size_t split_at(const unsigned char *t, size_t n, size_t s, fr_mask_region **r, size_t *n_r,
                       size_t *cap)
{
    size_t a = s, b = s;
    while (a >= 2 && alone(t, n, a - 2))
        a -= 2;
    while (alone(t, n, b + 2))
        b += 2;
    if ((b - a) / 2 + 1 >= FR_MASK_MIN_LEN) {
        size_t len = b + 1 - a < FR_MASK_REGION_MAX ? b + 1 - a : FR_MASK_REGION_MAX;
        fr_mask_region x = {t + a, a, len, 0, 0, FR_MASK_K_SPLIT};
        push_region(r, n_r, cap, &x);
    }
    return b + 1;
}

/* The region finder's state between bytes: the word run ending here (its
 * length; whether it holds a byte other than a lowercase letter) and where
 * the last run of one-byte lines ended. */
typedef struct {
    const unsigned char *t;
    size_t n, run, split_end;
    int mixed;
    fr_mask_region **r;
    size_t *n_r, *cap;
} finder;

/* A word run ends before t[e]: a region unless it is short prose. */
static void word_ends(finder *f, size_t e, size_t len, int mixed)
{
    if (len < FR_MASK_MIN_LEN || (!mixed && len < FR_MASK_PROSE_LEN)) return;
    fr_mask_region x = {
        f->t + e - len, e - len, len < FR_MASK_REGION_MAX ? len : FR_MASK_REGION_MAX, 0, 0,
        FR_MASK_K_WORD};
    push_region(f->r, f->n_r, f->cap, &x);
}

/* One byte of a word run: 1 when t[i] extends the open run; else the run ends
 * (a region if long enough) and 0. */
static int word_step(finder *f, size_t i)
{
    unsigned char c = f->t[i];
    if (WORD[c]) {
        f->run++;
        f->mixed |= c < 'a' || c > 'z';
        return 1;
    }
    word_ends(f, i, f->run, f->mixed);
    f->run = 0, f->mixed = 0;
    return 0;
}

/* Bytes t[from, to) one at a time: word runs that end inside and one-byte
 * lines (found at the newline after one; the whole run of them from there). */
static void regions_bytes(finder *f, size_t from, size_t to)
{
    const unsigned char *t = f->t;
    for (size_t i = from; i < to; i++) {
        if (word_step(f, i)) continue;
        if (t[i] == '\n' && i >= 1 && i - 1 >= f->split_end && alone(t, f->n, i - 1))
            f->split_end = split_at(t, f->n, i - 1, f->r, f->n_r, f->cap);
    }
}

/* Bytes t[s, e) of a stretch that holds no one-byte line: word runs that end
 * inside are regions; the run reaching e stays open in f. */
static void words_in(finder *f, size_t s, size_t e)
{
    for (size_t i = s; i < e; i++)
        word_step(f, i);
}

#ifdef __SSE2__
/* Three bit masks of 64 bytes: printable ASCII other than space (every word
 * character is one), newlines, and the printable bytes other than lowercase
 * letters. */
static void masks64(const unsigned char *p, uint64_t *print, uint64_t *nl, uint64_t *other)
{
    const __m128i space = _mm_set1_epi8(' '), newline = _mm_set1_epi8('\n');
    const __m128i to_a = _mm_set1_epi8((char)(0x80 - 'a')), a26 = _mm_set1_epi8((char)(-128 + 26));
    uint64_t a = 0, b = 0, c = 0;
    for (int k = 0; k < 4; k++) {
        __m128i x = _mm_loadu_si128((const __m128i *)(p + 16 * k));
        /* signed: bytes from 0x80 on are negative, not printable ASCII; DEL
         * (0x7f) counts, and is no word character */
        a |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpgt_epi8(x, space)) << (16 * k);
        b |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, newline)) << (16 * k);
        c |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmplt_epi8(_mm_add_epi8(x, to_a), a26))
             << (16 * k);
    }
    *print = a, *nl = b, *other = a & ~c;
}

/* Whether some byte of v is zero. */
static int has_zero_byte(uint64_t v)
{
    return ((v - 0x0101010101010101ull) & ~v & 0x8080808080808080ull) != 0;
}
#endif

/*
 * With SSE2, 64 bytes a step: a word run lies inside a run of printable
 * non-space bytes, so only those runs that may hold a region — at least
 * FR_MASK_MIN_LEN bytes with a byte other than a lowercase letter, or at
 * least FR_MASK_PROSE_LEN — are read byte by byte for their word runs (rare:
 * prose's long words are lowercase); a few compares per 16 bytes find them,
 * runs crossing a step's end carried.
 * A step whose newline mask has an aligned byte alternating (0x55, 0xAA) may
 * hold one-byte lines (a run of 8 of them covers 15 bytes, so an aligned
 * 8-byte stretch of it alternates) and is read byte by byte, as are the last
 * bytes (and everything without SSE2).
 */
void fr_mask_regions(const unsigned char *t, size_t n, fr_mask_region **r, size_t *n_r, size_t *cap)
{
    pthread_once(&tables_once, tables_init);
    size_t first = *n_r, i = 0;
    finder f = {t, n, 0, 0, 0, r, n_r, cap};
#ifdef __SSE2__
    size_t carry = 0; /* printable bytes before i not read yet (f.run is 0 then) */
    int carry_other = 0;
    for (; i + 64 <= n; i += 64) {
        uint64_t pr, nl, other;
        masks64(t + i, &pr, &nl, &other);
        if (nl && (has_zero_byte(nl ^ 0x5555555555555555ull) ||
                   has_zero_byte(nl ^ 0xAAAAAAAAAAAAAAAAull))) {
            words_in(&f, i - carry, i); /* the open run, for the bytes below */
            regions_bytes(&f, i, i + 64);
            carry = f.run, f.run = 0, f.mixed = 0; /* read again from its start */
            carry_other = 1;
            continue;
        }
        if (pr == ~0ull) {
            carry += 64, carry_other |= other != 0;
            continue;
        }
        unsigned pre = (unsigned)__builtin_ctzll(~pr);
        uint64_t pre_m = pre ? ~0ull >> (64 - pre) : 0;
        if ((carry + pre >= FR_MASK_MIN_LEN) &
            (carry_other | ((other & pre_m) != 0) | (carry + pre >= FR_MASK_PROSE_LEN))) {
            /* the carried run ends in this step */
            words_in(&f, i - carry, i + pre);
            word_ends(&f, i + pre, f.run, f.mixed);
            f.run = 0, f.mixed = 0;
        }
        unsigned suf = pr >> 63 ? (unsigned)__builtin_clzll(~pr) : 0;
        uint64_t suf_m = suf ? ~(~0ull >> suf) : 0, inner = pr & ~pre_m & ~suf_m;
        uint64_t y = inner & inner >> 1;
        y &= y >> 2;
        y &= y >> 4; /* bit k: bits k..k+7 of inner are all set */
        /* Only runs with a byte other than a lowercase letter (some 8-byte
         * window of the run holds it), or long enough not to be prose
         * (FR_MASK_PROSE_LEN, 20: bits k..k+19 set), are read. */
        uint64_t o = other | other >> 1;
        o |= o >> 2;
        o |= o >> 4; /* bit k: some bit of k..k+7 of other is set */
        if (!((y & o) | (y & y >> 8 & y >> 12))) y = 0;
        while (y) { /* runs inside the step */
            unsigned s = (unsigned)__builtin_ctzll(y);
            unsigned len = (unsigned)__builtin_ctzll(~(inner >> s)); /* a 0 bit follows: suf */
            uint64_t m = (len >= 64 ? ~0ull : (1ull << len) - 1) << s;
            if ((other & m) || len >= FR_MASK_PROSE_LEN) {
                words_in(&f, i + s, i + s + len);
                word_ends(&f, i + s + len, f.run, f.mixed);
                f.run = 0, f.mixed = 0;
            }
            y &= s + len >= 64 ? 0 : ~0ull << (s + len);
        }
        carry = suf, carry_other = (other & suf_m) != 0;
    }
    words_in(&f, i - carry, i);
#endif
    regions_bytes(&f, i, n);
    word_ends(&f, n, f.run, f.mixed);
    if (n && n - 1 >= f.split_end && alone(t, n, n - 1)) split_at(t, n, n - 1, r, n_r, cap);
    /* in order of place (a run of one-byte lines is pushed when it is
     * found, a word run when it ends), then lines */
    size_t k = *n_r - first;
    for (size_t a = first + 1; a < first + k; a++) {
        fr_mask_region x = (*r)[a];
        size_t b = a;
        while (b > first && (*r)[b - 1].off > x.off) {
            (*r)[b] = (*r)[b - 1];
            b--;
        }
        (*r)[b] = x;
    }
    line_cursor lc = {0, 1, 0};
    for (size_t a = first; a < *n_r; a++)
        line_at(t, &lc, (*r)[a].off, &(*r)[a].line, &(*r)[a].col);
}

/* ---- derivations and the search ---- */

typedef struct {
    fr_mask_set *ms;
    const fr_mask_region *reg;
    uint64_t since;
    fr_mask_hit **hits;
    size_t *n_hits, *cap;
    unsigned char *d; /* derived text */
    size_t *map;      /* URL / split: source offset of each derived byte, + end */
    size_t dcap, mcap;
} search;

static void reserve(search *S, size_t n, int with_map)
{
    if (n > S->dcap) {
        S->dcap = n + n / 2 + 64;
        S->d = fr_xrealloc(S->d, S->dcap);
    }
    if (with_map && n + 1 > S->mcap) {
        S->mcap = n + n / 2 + 64;
        S->map = fr_xrealloc(S->map, S->mcap * sizeof *S->map);
    }
}

/* Derived window [w, w + L) -> the region's bytes [*a, *b) that encode it. */
typedef struct {
    int tx;
    size_t start, align, rlen; /* base64 / hex: where the run starts; reversed: region length */
} mapping;

static void span_of(const search *S, const mapping *m, size_t w, size_t L, size_t *a, size_t *b)
{
    switch (m->tx) {
    case FR_TX_BASE64:
        *a = m->start + (w / 3) * 4;
        *b = m->start + ((w + L + 2) / 3) * 4;
        break;
    case FR_TX_HEX:
        *a = m->start + m->align + 2 * w;
        *b = *a + 2 * L;
        break;
    case FR_TX_REVERSED:
        *a = m->rlen - w - L;
        *b = m->rlen - w;
        break;
    case FR_TX_URL:
        *a = S->map[w];
        *b = S->map[w + L];
        break;
    default: /* split: every other byte */
        *a = S->map[w];
        *b = S->map[w + L - 1] + 1;
        break;
    }
    if (*b > S->reg->len) *b = S->reg->len;
}

static void report(search *S, const mapping *m, const entry *x, size_t w, size_t L)
{
    const fr_mask_region *reg = S->reg;
    size_t a, b;
    span_of(S, m, w, L, &a, &b);
    uint64_t line = reg->line, col = reg->col + a;
    for (size_t k = 0; k < a; k++)
        if (reg->src[k] == '\n') line++, col = a - k;
    if (*S->n_hits == *S->cap) {
        *S->cap = *S->cap ? 2 * *S->cap : 8;
        *S->hits = fr_xrealloc(*S->hits, *S->cap * sizeof **S->hits);
    }
    (*S->hits)[(*S->n_hits)++] =
        (fr_mask_hit){x->rule_id, x->sha, x->preview, m->tx, reg->off + a, b - a, line, col};
}

/* Rolls every length over S->d[0..n) and confirms table hits by HMAC. */
static void roll(search *S, size_t n, const mapping *m)
{
    fr_mask_set *ms = S->ms;
    size_t mask = ms->tsize - 1;
    for (size_t li = 0; li < ms->nlens && ms->lens[li].len <= n; li++) {
        const length_info *L = &ms->lens[li];
        if (L->newest <= S->since) continue;
        size_t len = L->len;
        uint64_t h = rk_of(ms->base, S->d, len);
        for (size_t w = 0;; w++) {
            for (size_t s = slot_of(h, L->len, mask); ms->table[s]; s = (s + 1) & mask) {
                const entry *x = &ms->e[ms->table[s] - 1];
                if (x->rk != h || x->len != L->len || x->gen <= S->since) continue;
                unsigned char tag[32];
                tag_of(ms, S->d + w, len, tag);
                if (!memcmp(tag, x->tag, 32)) report(S, m, x, w, len);
            }
            if (w + len >= n) break;
            uint64_t out = mulmod((uint64_t)S->d[w] + 1, L->pow);
            h = addmod(mulmod(addmod(h, RK_P - out), ms->base), (uint64_t)S->d[w + len] + 1);
        }
    }
}

static void derive_base64(search *S, const unsigned char *s, size_t start, size_t n)
{
    reserve(S, n, 0);
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = acc << 6 | B64[s[i]];
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            S->d[o++] = (unsigned char)(acc >> bits);
        }
    }
    mapping m = {FR_TX_BASE64, start, 0, 0};
    if (o >= FR_MASK_MIN_LEN) roll(S, o, &m);
}

static void derive_hex(search *S, const unsigned char *s, size_t start, size_t n)
{
    reserve(S, n / 2 + 1, 0);
    for (size_t align = 0; align < 2 && align + 2 * FR_MASK_MIN_LEN <= n; align++) {
        size_t o = 0;
        for (size_t i = align; i + 1 < n; i += 2)
            S->d[o++] = (unsigned char)(HEXV[s[i]] << 4 | HEXV[s[i + 1]]);
        mapping m = {FR_TX_HEX, start, align, 0};
        roll(S, o, &m);
        if (!(n & 1)) break; /* even: an encoding starts at the run's start */
    }
}

static void derive_word(search *S)
{
    const fr_mask_region *reg = S->reg;
    const unsigned char *s = reg->src;
    size_t n = reg->len;
    /* base64 and hex runs inside the region, decoded from their starts */
    for (size_t i = 0; i < n;) {
        if (B64[s[i]] == 0xff) {
            i++;
            continue;
        }
        size_t b = i, hex = 1;
        while (i < n && B64[s[i]] != 0xff)
            hex &= HEXV[s[i]] != 0xff, i++;
        size_t len = i - b;
        if (hex && len >= 2 * FR_MASK_MIN_LEN) derive_hex(S, s + b, b, len);
        if (len >= (FR_MASK_MIN_LEN * 4 + 2) / 3) derive_base64(S, s + b, b, len);
    }
    /* reversed */
    reserve(S, n, 0);
    for (size_t i = 0; i < n; i++)
        S->d[i] = s[n - 1 - i];
    mapping rm = {FR_TX_REVERSED, 0, 0, n};
    roll(S, n, &rm);
    /* percent-decoded, when there is an escape */
    const unsigned char *pc = memchr(s, '%', n);
    int any = 0;
    for (; pc && !any; pc = memchr(pc + 1, '%', (size_t)(s + n - pc - 1)))
        any = pc + 2 < s + n && HEXV[pc[1]] != 0xff && HEXV[pc[2]] != 0xff;
    if (!any) return;
    reserve(S, n, 1);
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        S->map[o] = i;
        if (s[i] == '%' && i + 2 < n && HEXV[s[i + 1]] != 0xff && HEXV[s[i + 2]] != 0xff) {
            S->d[o++] = (unsigned char)(HEXV[s[i + 1]] << 4 | HEXV[s[i + 2]]);
            i += 3;
        } else {
            S->d[o++] = s[i++];
        }
    }
    S->map[o] = n;
    mapping um = {FR_TX_URL, 0, 0, 0};
    roll(S, o, &um);
}

static void derive_split(search *S)
{
    const fr_mask_region *reg = S->reg;
    reserve(S, reg->len, 1);
    size_t o = 0;
    for (size_t i = 0; i < reg->len; i += 2)
        S->map[o] = i, S->d[o++] = reg->src[i];
    S->map[o] = reg->len;
    mapping m = {FR_TX_SPLIT, 0, 0, 0};
    roll(S, o, &m);
}

uint64_t fr_mask_match(fr_mask_set *ms, const fr_mask_region *r, size_t n_r, uint64_t since,
                       fr_mask_hit **hits, size_t *n_hits, size_t *cap)
{
    search S = {.ms = ms, .since = since, .hits = hits, .n_hits = n_hits, .cap = cap};
    pthread_rwlock_rdlock(&ms->lock);
    uint64_t gen = ms->n;
    for (size_t i = 0; i < n_r && gen > since && ms->nlens; i++) {
        if (r[i].len < ms->lens[0].len) continue;
        S.reg = &r[i];
        if (r[i].kinds & FR_MASK_K_WORD) derive_word(&S);
        if (r[i].kinds & FR_MASK_K_SPLIT) derive_split(&S);
    }
    pthread_rwlock_unlock(&ms->lock);
    free(S.d);
    free(S.map);
    return gen;
}
