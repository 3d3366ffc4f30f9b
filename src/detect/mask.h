/*
 * mask: masking bypass. A secret ferret knows (a finding of this store, or
 * one found earlier in the same sweep) that a CI log prints again in a form a
 * runner's masking does not catch: base64 (the secret anywhere inside a longer
 * encoded string, so at each of the three byte alignments), hex (either case),
 * reversed, percent-encoded, or split one character per line.
 *
 * Secrets stay secret: a known secret is held as a print only — its length, a
 * keyed rolling hash (Rabin-Karp, base derived from the store's key) and a
 * keyed HMAC-SHA256 tag under a key derived from the store's key — never as
 * plaintext or a bare hash. A text is searched by deriving candidate texts
 * from it (regions: runs of word characters and runs of one-character lines),
 * rolling the keyed hash over each derived text for every length the set
 * holds, and confirming a rolling-hash hit with the full keyed HMAC.
 *
 * Precision: prints are made only for secrets of at least FR_MASK_MIN_LEN
 * bytes. Shorter values (a 6-digit PIN, "admin1") recur by chance in the
 * bytes that decoding base64 or hex produces (1 KB of decoded random bytes
 * holds a given 4-byte string with probability ~2^-22, and logs decode many
 * such runs) and as ordinary reversed words; from 8 bytes on, a chance match is
 * 2^-64 per window for random bytes and needs the exact value otherwise.
 *
 * Threads: a set is shared by all workers. fr_mask_set_add takes a write
 * lock, fr_mask_match a read lock for its whole call; prints and strings an
 * added entry holds live until fr_mask_set_free, so hits may point into them.
 */
#ifndef FERRET_MASK_H
#define FERRET_MASK_H

#include <stddef.h>
#include <stdint.h>

/* Shortest secret with a print (see above). */
#define FR_MASK_MIN_LEN 8
/* A run of lowercase letters only shorter than this is a word of the log's
 * prose, not a region: the bulk of a log's long runs. Only a secret made of
 * lowercase letters alone, under this length, printed reversed, is missed
 * (its base64 or hex holds other characters; a percent-encoding holds %). */
#define FR_MASK_PROSE_LEN 20 /* mask.c's 64-byte steps test 20-byte windows */

/* Transforms, as named in the store and in reports. */
enum { FR_TX_NONE = 0, FR_TX_BASE64, FR_TX_HEX, FR_TX_REVERSED, FR_TX_URL, FR_TX_SPLIT };
/* "base64", "hex", "reversed", "url", "split-lines"; NULL for FR_TX_NONE. */
const char *fr_mask_transform_name(int tx);

/* A secret's print: what a store keeps to recognise it. */
typedef struct {
    uint32_t len;
    uint64_t rk;  /* keyed rolling hash, < 2^61 */
    char tag[65]; /* keyed HMAC-SHA256, lowercase hex */
} fr_mask_print;

typedef struct fr_mask_set fr_mask_set;

/* A new, empty set keyed by key (32 bytes derived from the store's key:
 * fr_store_mask_key). *out is the caller's to fr_mask_set_free. */
fr_mask_set *fr_mask_set_new(const unsigned char key[32]);
void fr_mask_set_free(fr_mask_set *ms);
/* The print of secret s[0..n) under the set's key (any thread). */
void fr_mask_print_of(const fr_mask_set *ms, const void *s, size_t n, fr_mask_print *out);
/* Adds a print with the finding it stands for (strings copied). Returns 1
 * when it was new, 0 when the set had it (or it is shorter than
 * FR_MASK_MIN_LEN). Each new entry gets the next generation number. */
int fr_mask_set_add(fr_mask_set *ms, const fr_mask_print *p, const char *rule_id,
                    const char *secret_sha256, const char *preview);
/* Number of entries; the generation of the newest one (0: empty). */
size_t fr_mask_set_size(fr_mask_set *ms);
uint64_t fr_mask_set_generation(fr_mask_set *ms);

/* Where a text may hold a transformed secret. off: the region's place in
 * the searched text; line, col (1-based) of its first byte; src: its bytes
 * (into the text, or a copy kept for a later pass). kinds: FR_MASK_K_*. */
enum { FR_MASK_K_WORD = 1, FR_MASK_K_SPLIT = 2 };
typedef struct {
    const unsigned char *src;
    size_t off, len;
    uint64_t line, col;
    unsigned kinds;
} fr_mask_region;

/* Appends the regions of t[0..n) to *r (n_r used, *cap allocated), in order
 * of place: maximal runs of word characters (letters, digits, + / = - _ . ~
 * %) of at least FR_MASK_MIN_LEN bytes (FR_MASK_PROSE_LEN when they are
 * lowercase letters only), and maximal runs of at least
 * FR_MASK_MIN_LEN consecutive one-byte lines; a region is cut to its first
 * FR_MASK_REGION_MAX bytes (util/limits.h). Linear in n; with SSE2, 64
 * bytes a step through bit masks, without a branch per byte. */
void fr_mask_regions(const unsigned char *t, size_t n, fr_mask_region **r, size_t *n_r,
                     size_t *cap);

/* A confirmed hit: the set entry's strings (borrowed from the set), the
 * transform, and the span of the searched text that encodes the secret. */
typedef struct {
    const char *rule_id, *secret_sha256, *preview;
    int transform;
    uint64_t off, len, line, col;
} fr_mask_hit;

/* Derives every candidate text of the regions and appends confirmed hits of
 * entries newer than generation since (0: all) to *hits. Derivations:
 * word regions -> base64 decoded from the start of each base64 run (standard
 * or URL-safe alphabet, padding optional), hex decoded (both nibble
 * alignments when odd), the region reversed, the region percent-decoded
 * (only when it holds a %XX escape); split regions -> their characters
 * joined. A window may decode to itself (a percent-decoded run whose escapes
 * lie outside it, a palindrome reversed): the caller drops hits that a
 * plaintext match of the same secret covers. Returns the generation matched
 * against. */
uint64_t fr_mask_match(fr_mask_set *ms, const fr_mask_region *r, size_t n_r, uint64_t since,
                       fr_mask_hit **hits, size_t *n_hits, size_t *cap);

#endif
