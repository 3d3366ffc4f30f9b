/*
 * logs.c: a single pass over the text, line by line. Per line: leading
 * timestamps are dropped, then runner markers at the line start, then escape
 * sequences and carriage returns anywhere. Linear in the input; no allocation
 * beyond the output buffer.
 */
#include "sources/logs.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static int is_d(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Length of an ISO-8601 timestamp at s ("2026-01-02T03:04:05[.123…][Z|+01:00]")
 * followed by one space, or 0. A leading '[' ... ']' around it is accepted. */
static size_t timestamp_len(const unsigned char *s, size_t n)
{
    size_t i = 0, open = 0;
    if (n && s[0] == '[') open = i = 1;
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    for (size_t k = 0; shape[k]; k++, i++) {
        if (i >= n) return 0;
        if (shape[k] == 'd' ? !is_d(s[i])
                            : (shape[k] == 'T' ? (s[i] != 'T' && s[i] != ' ')
                                               : s[i] != (unsigned char)shape[k]))
            return 0;
    }
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
    if (i < n && s[i] == ' ') return i + 1;
    return 0;
}

/* Length of a runner marker at the start of a line, or 0. */
static size_t marker_len(const unsigned char *s, size_t n)
{
    if (n >= 3 && s[0] == '#' && s[1] == '#' && (s[2] == '[')) { /* ##[group] ##[error] ... */
        const unsigned char *e = memchr(s, ']', n < 64 ? n : 64);
        return e ? (size_t)(e - s) + 1 : 0;
    }
    if (n >= 6 && !memcmp(s, "##vso[", 6)) { /* ##vso[task.setvariable ...]value */
        const unsigned char *e = memchr(s, ']', n < 512 ? n : 512);
        return e ? (size_t)(e - s) + 1 : 0;
    }
    if (n >= 3 && s[0] == ':' && s[1] == ':' && islower(s[2])) { /* ::add-mask::x, ::group::x */
        for (size_t i = 2; i + 1 < n && i < 512; i++)
            if (s[i] == ':' && s[i + 1] == ':') return i + 2;
    }
    return 0;
}

/* Length of a GitLab section marker "section_start:TS:NAME[opts]" at s, or 0. */
static size_t section_len(const unsigned char *s, size_t n)
{
    size_t i;
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
        const unsigned char *e = memchr(s + i, ']', n - i);
        if (e) i = (size_t)(e - s) + 1;
    }
    return i;
}

/* Length of an escape sequence at s (s[0] == ESC). */
static size_t escape_len(const unsigned char *s, size_t n)
{
    if (n < 2) return 1;
    if (s[1] == '[') { /* CSI: parameters, intermediates, one final byte */
        size_t i = 2;
        while (i < n && s[i] >= 0x20 && s[i] <= 0x3f)
            i++;
        return i < n && s[i] >= 0x40 && s[i] <= 0x7e ? i + 1 : i;
    }
    if (s[1] == ']') { /* OSC: up to BEL or ESC \ */
        for (size_t i = 2; i < n && s[i] != '\n'; i++) {
            if (s[i] == 0x07) return i + 1;
            if (s[i] == 0x1b && i + 1 < n && s[i + 1] == '\\') return i + 2;
        }
        return 2;
    }
    return 2;
}

void fr_log_normalize(const unsigned char *d, size_t n, fr_buf *out)
{
    fr_buf_reset(out);
    fr_buf_reserve(out, n);
    size_t i = 0;
    while (i < n) {
        const unsigned char *nl = memchr(d + i, '\n', n - i);
        size_t end = nl ? (size_t)(nl - d) : n;
        size_t p = i, l;
        /* line prefixes, in any order a runner combines them */
        for (int again = 1; again;) {
            again = 0;
            while (p < end && d[p] == 0x1b)
                p += escape_len(d + p, end - p), again = 1;
            if ((l = timestamp_len(d + p, end - p))) p += l, again = 1;
            if ((l = marker_len(d + p, end - p))) p += l, again = 1;
        }
        size_t run = p;
        for (size_t k = p; k < end;) {
            if (d[k] == 0x1b || d[k] == '\r' ||
                (d[k] == 's' && (l = section_len(d + k, end - k)))) {
                fr_buf_append(out, d + run, k - run);
                if (d[k] == 0x1b)
                    k += escape_len(d + k, end - k);
                else if (d[k] == '\r')
                    k++;
                else
                    k += l;
                run = k;
            } else {
                k++;
            }
        }
        fr_buf_append(out, d + run, end - run);
        if (nl) fr_buf_append(out, "\n", 1);
        i = end + 1;
    }
}

int fr_log_detect(const char *path, const unsigned char *d, size_t n)
{
    size_t pl = path ? strlen(path) : 0;
    if (pl > 4 && !strcasecmp(path + pl - 4, ".log")) return 1;
    size_t head = n < 65536 ? n : 65536;
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

void fr_log_describe(const char *container, const char *member, fr_location *loc, fr_buf *pool)
{
    size_t at[3] = {0, 0, 0};
    int set[3] = {0, 0, 0};
    fr_buf_reset(pool);
    if (!member) { /* Jenkins: .../jobs/<job>/builds/<run>/log */
        const char *j = strstr(container, "jobs/"), *b = j ? strstr(j, "/builds/") : NULL;
        if (!b || !has_suffix_ci(container, "/log")) return;
        const char *run = b + 8, *slash = strchr(run, '/');
        if (!slash) return;
        set[1] = 1, at[1] = pool->len;
        fr_buf_append(pool, j + 5, (size_t)(b - j - 5));
        fr_buf_append(pool, "", 1);
        set[0] = 1, at[0] = pool->len;
        fr_buf_append(pool, run, (size_t)(slash - run));
        fr_buf_append(pool, "", 1);
    } else {
        if (!has_suffix_ci(member, ".txt") && !has_suffix_ci(member, ".log")) return;
        const char *base = strrchr(container, '/');
        base = base ? base + 1 : container;
        const char *d = NULL, *de = NULL; /* the last run of digits in the archive name */
        for (const char *q = base; *q; q++)
            if (is_d((unsigned char)*q)) {
                const char *e = q;
                while (is_d((unsigned char)*e))
                    e++;
                d = q, de = e, q = e - 1;
            }
        if (d) {
            set[0] = 1, at[0] = pool->len;
            fr_buf_append(pool, d, (size_t)(de - d));
            fr_buf_append(pool, "", 1);
        }
        const char *slash = strchr(member, '/');
        const char *file = strrchr(member, '/');
        file = file ? file + 1 : member;
        const char *stem = file;
        while (is_d((unsigned char)*stem))
            stem++;
        if (stem != file && *stem == '_')
            stem++;
        else
            stem = file;
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
