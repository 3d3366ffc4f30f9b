/* Unit tests for src/detect/mask: every derivation (base64 at each byte
 * alignment, hex in either case, reversed, percent-encoded special characters,
 * one character per line behind GitHub Actions / Azure Pipelines / GitLab
 * decoration), the exact place of each hit, near misses that must not match,
 * the minimum length, generations, and prints that depend on the key. */
#include "check.h"
#include "detect/mask.h"
#include "sources/logs.h"
#include "util/util.h"

#include <stdlib.h>

/* Not a real credential: only its bytes matter here. */
static const char SECRET[] = "Zq7/xK+w9Lm=Tr4pVb2N";
static const unsigned char KEY[32] = "0123456789abcdef0123456789abcde";

static fr_mask_set *set_with(const char *s)
{
    fr_mask_set *ms = fr_mask_set_new(KEY);
    fr_mask_print p;
    fr_mask_print_of(ms, s, strlen(s), &p);
    CHECK(fr_mask_set_add(ms, &p, "test.rule", "sha-of-it", "Zq7****2N") == 1);
    return ms;
}

/* Hits of the set in text (normalised as a CI log first when log is set). */
static size_t search(fr_mask_set *ms, const char *text, int log, fr_mask_hit **h, uint64_t since)
{
    fr_buf norm = {0};
    const unsigned char *t = (const unsigned char *)text;
    size_t n = strlen(text);
    if (log) {
        fr_log_normalize(t, n, &norm);
        t = (const unsigned char *)(norm.p ? norm.p : "");
        n = norm.len;
    }
    fr_mask_region *r = NULL;
    size_t nr = 0, rc = 0, nh = 0, hc = 0;
    *h = NULL;
    fr_mask_regions(t, n, &r, &nr, &rc);
    fr_mask_match(ms, r, nr, since, h, &nh, &hc);
    free(r);
    fr_buf_release(&norm);
    return nh;
}

static void one_hit(fr_mask_set *ms, const char *text, int log, const char *tx, uint64_t off,
                    uint64_t line, uint64_t col)
{
    fr_mask_hit *h;
    size_t n = search(ms, text, log, &h, 0);
    CHECK(n == 1);
    if (n == 1) {
        CHECK_STR(fr_mask_transform_name(h[0].transform), tx);
        CHECK_STR(h[0].rule_id, "test.rule");
        CHECK_STR(h[0].secret_sha256, "sha-of-it");
        CHECK(h[0].off == off);
        CHECK(h[0].line == line);
        CHECK(h[0].col == col);
    } else {
        fprintf(stderr, "  %zu hits for %s in: %s\n", n, tx, text);
    }
    free(h);
}

static void no_hit(fr_mask_set *ms, const char *text, int log)
{
    fr_mask_hit *h;
    size_t n = search(ms, text, log, &h, 0);
    CHECK(n == 0);
    if (n)
        fprintf(stderr, "  unexpected %zu hits (%s) in: %s\n", n,
                fr_mask_transform_name(h[0].transform), text);
    free(h);
}

static void b64(const unsigned char *in, size_t n, fr_buf *out)
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    fr_buf_reset(out);
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        char q[4] = {A[v >> 18 & 63], A[v >> 12 & 63], i + 1 < n ? A[v >> 6 & 63] : '=',
                     i + 2 < n ? A[v & 63] : '='};
        fr_buf_append(out, q, 4);
    }
}

static void test_base64(fr_mask_set *ms)
{
    /* the secret inside a longer string encoded whole: 0, 1 and 2 bytes before
     * it put it at each of base64's three byte alignments */
    static const char *const before[] = {"", "T", "TO", "export TOKEN="};
    for (int k = 0; k < 4; k++) {
        fr_buf plain = {0}, enc = {0}, text = {0};
        fr_buf_printf(&plain, "%s%s\n", before[k], SECRET);
        b64((const unsigned char *)plain.p, plain.len, &enc);
        fr_buf_printf(&text, "line one\necho %s | base64 -d\n", enc.p);
        size_t lead = strlen(before[k]);
        one_hit(ms, text.p, 0, "base64", 9 + 5 + (lead / 3) * 4, 2, 6 + (lead / 3) * 4);
        /* URL-safe alphabet, no padding */
        for (size_t i = 0; i < enc.len; i++)
            enc.p[i] = enc.p[i] == '+' ? '-' : enc.p[i] == '/' ? '_' : enc.p[i];
        while (enc.len && enc.p[enc.len - 1] == '=')
            enc.p[--enc.len] = 0;
        fr_buf_reset(&text);
        fr_buf_printf(&text, "x=%s\n", enc.p);
        one_hit(ms, text.p, 0, "base64", 2 + (lead / 3) * 4, 1, 3 + (lead / 3) * 4);
        fr_buf_release(&plain), fr_buf_release(&enc), fr_buf_release(&text);
    }
}

static void hex(const char *s, int upper, fr_buf *out)
{
    fr_buf_reset(out);
    for (const char *p = s; *p; p++)
        fr_buf_printf(out, upper ? "%02X" : "%02x", (unsigned char)*p);
}

static void test_hex(fr_mask_set *ms)
{
    fr_buf h = {0}, text = {0};
    for (int upper = 0; upper < 2; upper++) {
        hex(SECRET, upper, &h);
        fr_buf_reset(&text);
        fr_buf_printf(&text, "dump: %s\n", h.p);
        one_hit(ms, text.p, 0, "hex", 6, 1, 7);
        /* inside a longer encoded string, an odd number of bytes before it */
        fr_buf_reset(&text);
        hex("abc", upper, &h);
        fr_buf_printf(&text, "%s", h.p);
        hex(SECRET, upper, &h);
        fr_buf_printf(&text, "%s0a\n", h.p);
        one_hit(ms, text.p, 0, "hex", 6, 1, 7);
    }
    fr_buf_release(&h), fr_buf_release(&text);
}

static void test_reversed(fr_mask_set *ms)
{
    char rev[sizeof SECRET];
    size_t n = strlen(SECRET);
    for (size_t i = 0; i < n; i++)
        rev[i] = SECRET[n - 1 - i];
    rev[n] = 0;
    fr_buf text = {0};
    fr_buf_printf(&text, "a\nb\n  echo '%s'\n", rev);
    one_hit(ms, text.p, 0, "reversed", 4 + 8, 3, 9);
    fr_buf_reset(&text);
    fr_buf_printf(&text, "value=%s;\n", rev); /* inside a longer run */
    one_hit(ms, text.p, 0, "reversed", 6, 1, 7);
    fr_buf_release(&text);
}

static void test_url(fr_mask_set *ms)
{
    /* '/', '+' and '=' percent-encoded, as a query parameter */
    fr_buf text = {0};
    fr_buf_printf(&text, "GET /cb?token=Zq7%%2FxK%%2Bw9Lm%%3DTr4pVb2N&x=1 HTTP/1.1\n");
    one_hit(ms, text.p, 0, "url", 14, 1, 15);
    fr_buf_reset(&text); /* lowercase escapes */
    fr_buf_printf(&text, "Zq7%%2fxK%%2bw9Lm%%3dTr4pVb2N\n");
    one_hit(ms, text.p, 0, "url", 0, 1, 1);
    fr_buf_release(&text);
}

static void split_text(fr_buf *out, const char *prefix, const char *suffix, const char *s)
{
    fr_buf_printf(out, "%sstep starts%s\n", prefix, suffix);
    for (const char *p = s; *p; p++)
        fr_buf_printf(out, "%s%c%s\n", prefix, *p, suffix);
    fr_buf_printf(out, "%sdone%s\n", prefix, suffix);
}

static void test_split(fr_mask_set *ms)
{
    fr_buf text = {0};
    /* GitHub Actions: timestamp prefix, CRLF */
    split_text(&text, "2026-03-04T05:06:07.1234567Z ", "\r", SECRET);
    one_hit(ms, text.p, 1, "split-lines", 12, 2, 1);
    /* Azure Pipelines: timestamp prefix, LF */
    fr_buf_reset(&text);
    split_text(&text, "2026-03-04T05:06:07.1234567Z ", "", SECRET);
    one_hit(ms, text.p, 1, "split-lines", 12, 2, 1);
    /* GitLab with timestamps: stream marker after the timestamp */
    fr_buf_reset(&text);
    split_text(&text, "2026-03-04T05:06:07.123456Z 00O ", "", SECRET);
    one_hit(ms, text.p, 1, "split-lines", 12, 2, 1);
    fr_buf_reset(&text);
    split_text(&text, "2026-03-04T05:06:07.123456Z 01E+ ", "", SECRET);
    one_hit(ms, text.p, 1, "split-lines", 12, 2, 1);
    /* GitLab: colour codes around each line, no timestamp */
    fr_buf_reset(&text);
    split_text(&text, "\033[0;m", "\033[0K", SECRET);
    one_hit(ms, text.p, 1, "split-lines", 12, 2, 1);
    /* Jenkins with the timestamper plugin: [timestamp] prefix */
    fr_buf_reset(&text);
    split_text(&text, "[2026-03-04T05:06:07.123Z] ", "", SECRET);
    one_hit(ms, text.p, 1, "split-lines", 12, 2, 1);
    fr_buf_release(&text);
}

static void test_near_misses(fr_mask_set *ms)
{
    /* one byte changed, one byte short, in every form */
    static const char near[] = "Zq7/xK+w9Lm=Tr4pVb2M", shorter[] = "Zq7/xK+w9Lm=Tr4pVb2";
    const char *const bad[] = {near, shorter};
    for (int k = 0; k < 2; k++) {
        fr_buf e = {0}, t = {0}, h = {0};
        b64((const unsigned char *)bad[k], strlen(bad[k]), &e);
        hex(bad[k], 0, &h);
        fr_buf_printf(&t, "%s\n%s\n", e.p, h.p);
        for (size_t i = strlen(bad[k]); i-- > 0;)
            fr_buf_append(&t, bad[k] + i, 1);
        fr_buf_append(&t, "\n", 1);
        for (const char *p = bad[k]; *p; p++)
            fr_buf_printf(&t, "%c\n", *p);
        no_hit(ms, t.p, 0);
        fr_buf_release(&e), fr_buf_release(&t), fr_buf_release(&h);
    }
    /* the plaintext itself is the rules' business: no transform hit */
    fr_buf t = {0};
    fr_buf_printf(&t, "TOKEN=%s\n", SECRET);
    no_hit(ms, t.p, 0);
    /* split lines interrupted by a blank line: two short runs */
    fr_buf_reset(&t);
    for (const char *p = SECRET; *p; p++)
        fr_buf_printf(&t, "%c\n%s", *p, p - SECRET == 9 ? "\n" : "");
    no_hit(ms, t.p, 0);
    fr_buf_release(&t);
}

static void test_set(void)
{
    fr_mask_set *ms = fr_mask_set_new(KEY), *other;
    fr_mask_print p, q;
    /* below the minimum length: no print is kept */
    fr_mask_print_of(ms, "abc1234", 7, &p);
    CHECK(fr_mask_set_add(ms, &p, "r", "s", "v") == 0);
    CHECK(fr_mask_set_size(ms) == 0);
    fr_mask_print_of(ms, SECRET, strlen(SECRET), &p);
    CHECK(fr_mask_set_add(ms, &p, "r", "s", "v") == 1);
    CHECK(fr_mask_set_add(ms, &p, "r", "s", "v") == 0); /* known */
    CHECK(fr_mask_set_generation(ms) == 1);
    /* another key: other prints, which never match */
    unsigned char k2[32];
    memcpy(k2, KEY, 32);
    k2[0] ^= 1;
    other = fr_mask_set_new(k2);
    fr_mask_print_of(other, SECRET, strlen(SECRET), &q);
    CHECK(q.rk != p.rk);
    CHECK(strcmp(q.tag, p.tag) != 0);
    CHECK(fr_mask_set_add(other, &p, "r", "s", "v") == 1);
    fr_buf e = {0};
    b64((const unsigned char *)SECRET, strlen(SECRET), &e);
    fr_mask_hit *h;
    CHECK(search(other, e.p, 0, &h, 0) == 0);
    free(h);
    /* generations: entries up to since are not searched for */
    CHECK(search(ms, e.p, 0, &h, 0) == 1);
    free(h);
    CHECK(search(ms, e.p, 0, &h, 1) == 0);
    free(h);
    fr_mask_print_of(ms, "another-secret-value", 20, &q);
    CHECK(fr_mask_set_add(ms, &q, "r2", "s2", "v2") == 1);
    CHECK(search(ms, e.p, 0, &h, 1) == 0); /* the newer entry is not in the text */
    free(h);
    /* many lengths and entries: the table grows and still finds the first */
    for (int i = 0; i < 3000; i++) {
        char v[40];
        snprintf(v, sizeof v, "filler-%d-%.*s", i, i % 17, "abcdefghijklmnopq");
        fr_mask_print_of(ms, v, strlen(v), &q);
        fr_mask_set_add(ms, &q, "f", "f", "f");
    }
    CHECK(search(ms, e.p, 0, &h, 0) == 1);
    free(h);
    fr_buf_release(&e);
    fr_mask_set_free(ms);
    fr_mask_set_free(other);
}

/* The regions by their definition, byte by byte: maximal word runs of at
 * least FR_MASK_MIN_LEN (FR_MASK_PROSE_LEN for lowercase letters only), maximal runs of at least
 * FR_MASK_MIN_LEN one-byte lines (each line a byte between newlines or the text's ends). */
static int is_word(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("+/=-_.~%", c));
}

static int alone_ref(const unsigned char *t, size_t n, size_t p)
{
    return p < n && t[p] != '\n' && (p == 0 || t[p - 1] == '\n') &&
           (p + 1 == n || t[p + 1] == '\n');
}

static size_t regions_ref(const unsigned char *t, size_t n, fr_mask_region *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        size_t s = i;
        while (i < n && is_word(t[i]))
            i++;
        int mixed = 0;
        for (size_t j = s; j < i; j++)
            mixed |= t[j] < 'a' || t[j] > 'z';
        if (i - s >= FR_MASK_MIN_LEN && (mixed || i - s >= FR_MASK_PROSE_LEN))
            out[k++] = (fr_mask_region){t + s, s, i - s, 0, 0, 1};
        if (i == s) i++;
    }
    for (size_t p = 0; p < n; p++) {
        if (!alone_ref(t, n, p) || (p >= 2 && alone_ref(t, n, p - 2))) continue;
        size_t b = p;
        while (alone_ref(t, n, b + 2))
            b += 2;
        if ((b - p) / 2 + 1 >= FR_MASK_MIN_LEN)
            out[k++] = (fr_mask_region){t + p, p, b + 1 - p, 0, 0, 2};
    }
    /* by place */
    for (size_t a = 1; a < k; a++)
        for (size_t b = a; b > 0 && out[b - 1].off > out[b].off; b--) {
            fr_mask_region x = out[b];
            out[b] = out[b - 1], out[b - 1] = x;
        }
    /* line and column of each first byte, counted from the text's start */
    for (size_t a = 0; a < k; a++) {
        uint64_t line = 1, col = 1;
        for (size_t j = 0; j < out[a].off; j++)
            if (t[j] == '\n')
                line++, col = 1;
            else
                col++;
        out[a].line = line, out[a].col = col;
    }
    return k;
}

/* The fast region finder (64 bytes a step with SSE2) against the definition,
 * on random texts of words, spaces, newlines and one-byte lines, every length
 * and alignment around the 64-byte steps. */
static void test_regions_random(void)
{
    static const char alpha[] = "aZ9+/=%-_.~ :@\n";
    unsigned long long seed = 88172645463325252ull;
    size_t bad = 0;
    for (int round = 0; round < 4000; round++) {
        size_t n = (size_t)(round % 300);
        unsigned char *t = malloc(n + 1);
        int mode = round % 4;
        for (size_t i = 0; i < n; i++) {
            seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
            unsigned v = (unsigned)(seed >> 32);
            if (mode == 0) /* prose-like: long and short runs */
                t[i] = (unsigned char)(v % 9 ? (v % 5 ? (unsigned)'a' + v % 26
                                                      : (unsigned char)alpha[v % 3])
                                             : (unsigned char)alpha[11 + v % 4]);
            else if (mode == 1) /* one-byte lines, sometimes broken */
                t[i] = (unsigned char)(i % 2 ? (v % 23 ? '\n' : 'x') : alpha[v % 15]);
            else if (mode == 2) /* anything of the alphabet */
                t[i] = (unsigned char)alpha[v % 16];
            else /* mixed stretches */
                t[i] = (unsigned char)((i / 40) % 2 ? (i % 2 ? '\n' : alpha[v % 12])
                                                    : (v % 11 ? alpha[v % 3] : ' '));
        }
        fr_mask_region *got = NULL, want[300];
        size_t ng = 0, cap = 0, nw = regions_ref(t, n, want);
        fr_mask_regions(t, n, &got, &ng, &cap);
        int same = ng == nw;
        for (size_t k = 0; same && k < nw; k++)
            same = got[k].off == want[k].off && got[k].len == want[k].len &&
                   got[k].kinds == want[k].kinds && got[k].src == t + got[k].off &&
                   got[k].line == want[k].line && got[k].col == want[k].col;
        if (!same && bad++ < 3) fprintf(stderr, "  regions differ: round %d, n %zu\n", round, n);
        free(got);
        free(t);
    }
    CHECK(bad == 0);
}

/* Minified code: thousands of regions on one long line, then a few short
 * lines and another long one. Each region's line and column are exact, and
 * a column is counted from the previous region, not from the line's start
 * (which made a megabyte-long line quadratic: 59 s for one 3.5 MB blob). */
static void test_regions_long_lines(void)
{
    fr_buf t = {0};
    const size_t per_line = 20000; /* "x=Ab12345678;" 13 bytes each */
    for (int l = 0; l < 2; l++) {
        for (size_t i = 0; i < per_line; i++)
            fr_buf_printf(&t, "x=Ab%08zu;", i);
        fr_buf_printf(&t, "\nshort\nAbcdefgh12\n");
    }
    fr_mask_region *r = NULL;
    size_t nr = 0, cap = 0;
    fr_mask_regions((const unsigned char *)t.p, t.len, &r, &nr, &cap);
    /* each "x=Ab12345678" is one word run ('=' is a word character) */
    CHECK(nr == 2 * per_line + 2);
    size_t bad = 0;
    for (size_t l = 0; l < 2; l++) {
        const fr_mask_region *x = r + l * (per_line + 1);
        for (size_t i = 0; i < per_line; i++)
            bad += x[i].line != 1 + 3 * l || x[i].col != 1 + 13 * i || x[i].len != 12;
        bad += x[per_line].line != 3 + 3 * l || x[per_line].col != 1 || x[per_line].len != 10;
    }
    CHECK(bad == 0);
    CHECK(r[nr - 1].off == t.len - 11);
    free(r);
    fr_buf_release(&t);
}

int main(void)
{
    fr_mask_set *ms = set_with(SECRET);
    test_base64(ms);
    test_hex(ms);
    test_reversed(ms);
    test_url(ms);
    test_split(ms);
    test_near_misses(ms);
    fr_mask_set_free(ms);
    test_set();
    test_regions_random();
    test_regions_long_lines();
    return check_done("unit_mask");
}
