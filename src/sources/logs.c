/*
 * logs.c: a single pass over the text, line by line. Per line: leading
 * timestamps are dropped, then runner markers at the line start, then escape
 * sequences and carriage returns anywhere. Strictly linear in the input: every
 * scan either consumes what it reads, is bounded by a small constant, or looks
 * for a terminator (']' of a GitLab section, BEL or ESC \ of an OSC) through a
 * per-line cursor that remembers where the next one is, so that a line of
 * thousands of unterminated openers is not rescanned once per opener. No
 * allocation beyond the output buffer.
 */
#include "sources/logs.h"
#include "util/limits.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

static int is_d(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Length of an ISO-8601 timestamp at s ("2026-01-02T03:04:05[.123…][Z|+01:00]")
 * followed by one space, or 0. A leading '[' ... ']' around it is accepted; a
 * GitLab runner's stream marker after it ("00O ", "01E+ ") is part of it. */
static size_t timestamp_len(const unsigned char *s, size_t n)
{
    size_t i = 0, open = 0;
    if (n && s[0] == '[') open = i = 1;
    /* "dddd-dd-ddTdd:dd:dd" (or a space for the T), checked position by
     * position: most lines fail at their first byte */
    if (n < i + 19 || !is_d(s[i])) return 0;
    const unsigned char *t = s + i;
    if (!is_d(t[1]) || !is_d(t[2]) || !is_d(t[3]) || t[4] != '-' || !is_d(t[5]) || !is_d(t[6]) ||
        t[7] != '-' || !is_d(t[8]) || !is_d(t[9]) || (t[10] != 'T' && t[10] != ' ') ||
        !is_d(t[11]) || !is_d(t[12]) || t[13] != ':' || !is_d(t[14]) || !is_d(t[15]) ||
        t[16] != ':' || !is_d(t[17]) || !is_d(t[18]))
        return 0;
    i += 19;
    if (i < n && (s[i] == '.' || s[i] == ',')) {
        i++;
        while (i < n && is_d(s[i]))
            i++;
    }
    if (i < n && s[i] == 'Z')
        i++;
    else if (i + 5 < n && (s[i] == '+' || s[i] == '-') && is_d(s[i + 1]) && is_d(s[i + 2])) {
        i += 3;
        if (i < n && s[i] == ':') i++;
        while (i < n && is_d(s[i]))
            i++;
    }
    if (open) {
        if (i >= n || s[i] != ']') return 0;
        i++;
    }
    if (i >= n || s[i] != ' ') return 0;
    i++;
    /* GitLab runners with timestamps (FF_TIMESTAMPS): the stream (two hex
     * digits), O or E (stdout, stderr), '+' on a continued line, a space */
    if (!open && i + 3 < n && isxdigit(s[i]) && isxdigit(s[i + 1]) &&
        (s[i + 2] == 'O' || s[i + 2] == 'E')) {
        size_t k = i + 3 + (s[i + 3] == '+');
        if (k < n && s[k] == ' ') return k + 1;
    }
    return i;
}

/* Length of a runner marker at the start of a line, or 0. */
static size_t marker_len(const unsigned char *s, size_t n)
{
    if (!n || (s[0] != '#' && s[0] != ':')) return 0;
    if (n >= 3 && s[0] == '#' && s[1] == '#' && (s[2] == '[')) { /* ##[group] ##[error] ... */
        const unsigned char *e = memchr(s, ']', n < FR_LOG_MARKER_MAX ? n : FR_LOG_MARKER_MAX);
        return e ? (size_t)(e - s) + 1 : 0;
    }
    if (n >= 6 && !memcmp(s, "##vso[", 6)) { /* ##vso[task.setvariable ...]value */
        const unsigned char *e = memchr(s, ']', n < FR_LOG_COMMAND_MAX ? n : FR_LOG_COMMAND_MAX);
        return e ? (size_t)(e - s) + 1 : 0;
    }
    if (n >= 3 && s[0] == ':' && s[1] == ':' && islower(s[2])) { /* ::add-mask::x, ::group::x */
        for (size_t i = 2; i + 1 < n && i < FR_LOG_COMMAND_MAX; i++)
            if (s[i] == ':' && s[i + 1] == ':') return i + 2;
    }
    return 0;
}

/*
 * One line d[start..end) of the input (positions are offsets into the whole
 * input). The two terminator searches go through cursors: close is the first
 * ']' at or after close_from (end: none), st the first OSC terminator (BEL, or
 * ESC \) at or after st_from. A query from q in [from, next] reuses the answer
 * — nothing lies between — and any other query scans on from q. Queries only
 * move forward along a line, so a rescan starts past the previous answer and no
 * byte is scanned twice.
 */
typedef struct {
    const unsigned char *d;
    size_t end;
    size_t close_from, close;
    size_t st_from, st;
} line_ctx;

static void line_init(line_ctx *l, const unsigned char *d, size_t start, size_t end)
{
    l->d = d, l->end = end;
    l->close_from = l->st_from = start + 1; /* empty ranges: the first query scans */
    l->close = l->st = start;
}

static size_t next_close(line_ctx *l, size_t q)
{
    if (q < l->close_from || q > l->close) {
        const unsigned char *e = memchr(l->d + q, ']', l->end - q);
        l->close_from = q;
        l->close = e ? (size_t)(e - l->d) : l->end;
    }
    return l->close;
}

static size_t next_st(line_ctx *l, size_t q)
{
    if (q < l->st_from || q > l->st) {
        const unsigned char *d = l->d;
        size_t i = q;
        while (i < l->end && d[i] != 0x07 && !(d[i] == 0x1b && i + 1 < l->end && d[i + 1] == '\\'))
            i++;
        l->st_from = q;
        l->st = i;
    }
    return l->st;
}

/* Length of a GitLab section marker "section_start:TS:NAME[opts]" at k, or 0. An
 * unterminated "[opts" is left in the text. */
static size_t section_len(line_ctx *l, size_t k)
{
    const unsigned char *s = l->d + k;
    size_t n = l->end - k, i;
    if (n > 14 && !memcmp(s, "section_start:", 14))
        i = 14;
    else if (n > 12 && !memcmp(s, "section_end:", 12))
        i = 12;
    else
        return 0;
    size_t d = i;
    while (i < n && is_d(s[i]))
        i++;
    if (i == d || i >= n || s[i] != ':') return 0;
    i++;
    while (i < n && (isalnum(s[i]) || s[i] == '_' || s[i] == '-' || s[i] == '.'))
        i++;
    if (i < n && s[i] == '[') {
        size_t e = next_close(l, k + i);
        if (e < l->end) i = e - k + 1;
    }
    return i;
}

/* Length of an escape sequence at k (d[k] == ESC). An unterminated OSC loses
 * only its "ESC ]"; what follows stays text. */
static size_t escape_len(line_ctx *l, size_t k)
{
    const unsigned char *s = l->d + k;
    size_t n = l->end - k;
    if (n < 2) return 1;
    if (s[1] == '[') { /* CSI: parameters, intermediates, one final byte */
        size_t i = 2;
        while (i < n && s[i] >= 0x20 && s[i] <= 0x3f)
            i++;
        return i < n && s[i] >= 0x40 && s[i] <= 0x7e ? i + 1 : i;
    }
    if (s[1] == ']') { /* OSC: up to BEL or ESC \ */
        size_t t = next_st(l, k + 2);
        if (t < l->end) return t - k + (l->d[t] == 0x07 ? 1 : 2);
    }
    return 2;
}

/* Bytes that may start something removed inside a line: ESC, CR, and the 's'
 * of a GitLab section marker. */
static int special(const unsigned char *d, size_t k, size_t end)
{
    return d[k] == 0x1b || d[k] == '\r' || (d[k] == 's' && k + 1 < end && d[k + 1] == 'e');
}

/* The first k in [k, end) where special() holds, else end. Sixteen bytes at a
 * time where SSE2 is there: text between escapes is most of a log. */
static size_t next_special(const unsigned char *d, size_t k, size_t end)
{
#ifdef __SSE2__
    const __m128i esc = _mm_set1_epi8(0x1b), cr = _mm_set1_epi8('\r');
    const __m128i ss = _mm_set1_epi8('s'), ee = _mm_set1_epi8('e');
    while (k + 17 <= end) {
        __m128i a = _mm_loadu_si128((const __m128i *)(d + k));
        __m128i b = _mm_loadu_si128((const __m128i *)(d + k + 1));
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(a, esc), _mm_cmpeq_epi8(a, cr)),
                                   _mm_and_si128(_mm_cmpeq_epi8(a, ss), _mm_cmpeq_epi8(b, ee)));
        unsigned mask = (unsigned)_mm_movemask_epi8(hit);
        if (mask) return k + (size_t)__builtin_ctz(mask);
        k += 16;
    }
#endif
    while (k < end && !special(d, k, end))
        k++;
    return k;
}

void fr_log_normalize(const unsigned char *d, size_t n, fr_buf *out)
{
    fr_buf_reset(out);
    fr_buf_reserve(out, n);
    /* The text only loses bytes (each '\n' is kept for itself), so n bytes of
     * room hold it all: runs are copied without further checks. */
    char *o = out->p;
    size_t i = 0;
    while (i < n) {
        const unsigned char *nl = memchr(d + i, '\n', n - i);
        size_t end = nl ? (size_t)(nl - d) : n;
        size_t p = i, l;
        line_ctx lc;
        line_init(&lc, d, i, end);
        /* line prefixes, in any order a runner combines them */
        for (int again = 1; again;) {
            again = 0;
            while (p < end && d[p] == 0x1b)
                p += escape_len(&lc, p), again = 1;
            if ((l = timestamp_len(d + p, end - p))) p += l, again = 1;
            if ((l = marker_len(d + p, end - p))) p += l, again = 1;
        }
        size_t run = p;
        for (size_t k = next_special(d, p, end); k < end; k = next_special(d, k, end)) {
            if (d[k] == 's' && !(l = section_len(&lc, k))) {
                k++;
                continue;
            }
            memcpy(o, d + run, k - run);
            o += k - run;
            if (d[k] == 0x1b)
                k += escape_len(&lc, k);
            else if (d[k] == '\r')
                k++;
            else
                k += l;
            run = k;
        }
        /* the run and its line break in one copy */
        size_t tail = end - run + (nl != NULL);
        memcpy(o, d + run, tail);
        o += tail;
        i = end + 1;
    }
    out->len = (size_t)(o - out->p);
    out->p[out->len] = 0;
}

int fr_log_detect(const char *path, const unsigned char *d, size_t n)
{
    size_t pl = path ? strlen(path) : 0;
    if (pl > 4 && !strcasecmp(path + pl - 4, ".log")) return 1;
    size_t head = n < FR_LOG_DETECT_HEAD ? n : FR_LOG_DETECT_HEAD;
    if (memchr(d, 0x1b, head)) return 1;
    if (timestamp_len(d, head)) return 1;
    if (head >= 3 && (!memcmp(d, "##[", 3) || !memcmp(d, "##vso[", head < 6 ? head : 6))) return 1;
    return 0;
}

int fr_log_normalizer(const char *path, const unsigned char *data, size_t len, fr_buf *out)
{
    if (!fr_log_detect(path, data, len)) return 0;
    fr_log_normalize(data, len, out);
    return 1;
}

static int has_suffix_ci(const char *s, const char *sfx)
{
    size_t n = strlen(s), m = strlen(sfx);
    return n >= m && !strcasecmp(s + n - m, sfx);
}

/* Start of the path component that ends just before s[e] (e: its '/' or the end). */
static size_t comp_start(const char *s, size_t e)
{
    while (e && s[e - 1] != '/')
        e--;
    return e;
}

static int comp_is(const char *s, size_t b, size_t e, const char *name)
{
    size_t n = strlen(name);
    return e - b == n && !memcmp(s + b, name, n);
}

/*
 * Jenkins: ".../jobs/<job>/builds/<run>/log", read from the end one component at
 * a time, so that every length is a difference of two positions already found
 * in order (a job named "builds" or "jobs" is just a name). Jobs in folders
 * (jobs/<folder>/jobs/<job>/...) are named "<folder>/<job>", as Jenkins names
 * them. Returns 0 when the path has another shape.
 */
static int describe_jenkins(const char *c, fr_buf *pool, size_t at[3])
{
    size_t n = strlen(c);
    if (n < 4 || strcasecmp(c + n - 4, "/log")) return 0;
    size_t re = n - 4, rs = comp_start(c, re); /* <run> */
    if (rs == re || rs == 0) return 0;
    size_t be = rs - 1, bs = comp_start(c, be); /* builds */
    if (!comp_is(c, bs, be, "builds") || bs == 0) return 0;
    size_t je = bs - 1, js = comp_start(c, je); /* <job> */
    if (js == je || js == 0) return 0;
    size_t oe = js - 1, os = comp_start(c, oe); /* jobs */
    if (!comp_is(c, os, oe, "jobs")) return 0;
    /* folders: while "jobs/<folder>/" comes before, the name starts earlier */
    size_t name = js;
    while (os >= 2) {
        size_t fe = os - 1, fs = comp_start(c, fe);
        if (fs == fe || fs == 0) break;
        size_t pe = fs - 1, ps = comp_start(c, pe);
        if (!comp_is(c, ps, pe, "jobs")) break;
        name = fs, os = ps;
    }
    at[1] = pool->len; /* every other component of c[name..je): the names */
    for (size_t b = name, k = 0; b < je; k++) {
        const char *sl = memchr(c + b, '/', je - b);
        size_t e = sl ? (size_t)(sl - c) : je;
        if (!(k & 1)) {
            if (k) fr_buf_append(pool, "/", 1);
            fr_buf_append(pool, c + b, e - b);
        }
        b = e + 1;
    }
    fr_buf_append(pool, "", 1);
    at[0] = pool->len;
    fr_buf_append(pool, c + rs, re - rs);
    fr_buf_append(pool, "", 1);
    return 1;
}

/* The run id a log download's name carries: "logs_<n>.zip" / "<prefix>-logs-<n>.zip"
 * (GitHub Actions, Azure Pipelines) or "<n>.zip". Any other archive holding
 * text files tells nothing ("bundle 1.zip" is not run 1). Sets *d, *de. */
static int download_run(const char *base, const char **d, const char **de)
{
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base || strcasecmp(dot, ".zip")) return 0;
    const char *e = dot, *b = dot;
    while (b > base && is_d((unsigned char)b[-1]))
        b--;
    if (b == e) return 0;
    size_t pre = (size_t)(b - base);
    /* all digits, or ending in "logs_"/"logs-"/"log_"/"log-" */
    if (pre) {
        const char *sep = b - 1;
        if (*sep != '_' && *sep != '-') return 0;
        size_t wl = (size_t)(sep - base);
        int ok = (wl >= 4 && !strncasecmp(sep - 4, "logs", 4) &&
                  (wl == 4 || sep[-5] == '-' || sep[-5] == '_' || sep[-5] == '.')) ||
                 (wl >= 3 && !strncasecmp(sep - 3, "log", 3) &&
                  (wl == 3 || sep[-4] == '-' || sep[-4] == '_' || sep[-4] == '.'));
        if (!ok) return 0;
    }
    *d = b, *de = e;
    return 1;
}

void fr_log_describe(const char *container, const char *member, fr_location *loc, fr_buf *pool)
{
    size_t at[3] = {0, 0, 0};
    int set[3] = {0, 0, 0};
    fr_buf_reset(pool);
    if (!container) return;
    if (!member) {
        if (describe_jenkins(container, pool, at)) set[0] = set[1] = 1;
    } else {
        if (!has_suffix_ci(member, ".txt") && !has_suffix_ci(member, ".log")) return;
        const char *file = strrchr(member, '/');
        file = file ? file + 1 : member;
        /* A runner's log file is "<n>_<name>": the order of the job or step.
         * Other text files in an archive are not CI logs. */
        const char *stem = file;
        while (is_d((unsigned char)*stem))
            stem++;
        if (stem == file || *stem != '_') return;
        stem++;
        const char *base = strrchr(container, '/');
        base = base ? base + 1 : container;
        const char *d = NULL, *de = NULL;
        if (download_run(base, &d, &de)) {
            set[0] = 1, at[0] = pool->len;
            fr_buf_append(pool, d, (size_t)(de - d));
            fr_buf_append(pool, "", 1);
        }
        const char *slash = strchr(member, '/');
        size_t stem_len = strlen(stem) - 4; /* minus .txt / .log */
        if (slash) {
            set[1] = 1, at[1] = pool->len;
            fr_buf_append(pool, member, (size_t)(slash - member));
            fr_buf_append(pool, "", 1);
            set[2] = 1, at[2] = pool->len;
            fr_buf_append(pool, stem, stem_len);
            fr_buf_append(pool, "", 1);
        } else { /* a whole job's log at the top of the archive */
            set[1] = 1, at[1] = pool->len;
            fr_buf_append(pool, stem, stem_len);
            fr_buf_append(pool, "", 1);
        }
    }
    if (set[0]) loc->ci_run = pool->p + at[0];
    if (set[1]) loc->ci_job = pool->p + at[1];
    if (set[2]) loc->ci_step = pool->p + at[2];
}
