/*
 * strbuf.c: the growable buffer and safe display of untrusted bytes (paths,
 * archive member names, previews) so that no input can inject terminal
 * escapes or invalid UTF-8 into a report.
 */
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fr_buf_reserve(fr_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->p = fr_xrealloc(b->p, cap);
    b->cap = cap;
    /* Terminated from the moment it has memory: a caller that reserves and then
     * appends nothing (fr_buf_put_safe of "") must still read "" at p. */
    b->p[b->len] = 0;
}

void fr_buf_append(fr_buf *b, const void *data, size_t n)
{
    fr_buf_reserve(b, n);
    if (n) memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = 0;
}

void fr_buf_puts(fr_buf *b, const char *s)
{
    fr_buf_append(b, s, strlen(s));
}

void fr_buf_printf(fr_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    fr_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void fr_buf_reset(fr_buf *b)
{
    b->len = 0;
    if (b->p) b->p[0] = 0;
}

void fr_buf_release(fr_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

char *fr_buf_steal(fr_buf *b)
{
    char *p = b->p ? b->p : fr_xstrdup("");
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}

/* Length of the valid UTF-8 sequence at s (max n bytes), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80) return 1;
    if ((c & 0xE0) == 0xC0)
        len = 2, min = 0x80;
    else if ((c & 0xF0) == 0xE0)
        len = 3, min = 0x800;
    else if ((c & 0xF8) == 0xF0)
        len = 4, min = 0x10000;
    else
        return 0;
    if (len > n) return 0;
    unsigned cp = c & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

void fr_buf_put_safe(fr_buf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    fr_buf_reserve(b, n);
    while (i < n) {
        unsigned c = u[i];
        if (c >= 0x20 && c < 0x7F && c != '\\') {
            size_t j = i;
            while (j < n && u[j] >= 0x20 && u[j] < 0x7F && u[j] != '\\')
                j++;
            fr_buf_append(b, s + i, j - i);
            i = j;
            continue;
        }
        if (c == '\\') {
            fr_buf_append(b, "\\\\", 2);
            i++;
            continue;
        }
        size_t l = c >= 0x80 ? utf8_seq(u + i, n - i) : 0;
        /* U+0080..U+009F are C1 control characters: escape them too. */
        if (l == 2 && c == 0xC2 && u[i + 1] < 0xA0) l = 0;
        if (l) {
            fr_buf_append(b, s + i, l);
            i += l;
        } else {
            fr_buf_printf(b, "\\x%02X", c);
            i++;
        }
    }
}
