/*
 * util.c: error state, allocation, time, redaction, entropy, safe display.
 * The error message is thread-local so worker threads never race on it.
 */
#include "util/util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

atomic_int fr_interrupted = 0;
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "fr_interrupted is set in a signal handler");

static _Thread_local char err_msg[1024];

void fr_error_set(const char *fmt, ...)
{
    /* Formatted apart first: callers add context to the current message
     * (fr_error_set("%s (step %s)", fr_error(), name)), and vsnprintf into the
     * buffer it reads from is undefined (glibc printed an empty message). */
    char tmp[sizeof err_msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    memcpy(err_msg, tmp, sizeof err_msg);
}

const char *fr_error(void)
{
    return err_msg[0] ? err_msg : "unknown error";
}

static void oom(size_t n)
{
    fprintf(stderr, "ferret: out of memory allocating %zu bytes\n", n);
    abort();
}

void *fr_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *fr_xcalloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (!p) oom(n * m);
    return p;
}

void *fr_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    return q;
}

char *fr_xstrdup(const char *s)
{
    return fr_xstrndup(s, strlen(s));
}

char *fr_xstrndup(const char *s, size_t n)
{
    char *p = fr_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

double fr_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void fr_time_iso(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void fr_now_iso(char out[32])
{
    fr_time_iso((int64_t)time(NULL), out);
}

void fr_redact(const char *secret, size_t n, fr_buf *out)
{
    size_t pre = n / 6, suf = n / 12; /* together at most n / 4 */
    if (pre > 4) pre = 4;
    if (suf > 2) suf = 2;
    fr_buf_put_safe(out, secret, pre);
    fr_buf_puts(out, "****");
    fr_buf_put_safe(out, secret + n - suf, suf);
}

double fr_shannon_entropy(const unsigned char *s, size_t n)
{
    if (n == 0) return 0.0;
    size_t counts[256] = {0};
    for (size_t i = 0; i < n; i++)
        counts[s[i]]++;
    double h = 0.0;
    for (int i = 0; i < 256; i++) {
        if (!counts[i]) continue;
        double p = (double)counts[i] / (double)n;
        h -= p * log2(p);
    }
    return h;
}

int fr_private_dir_ok(const char *dir)
{
    struct stat st;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) return 0;
    return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
           !(st.st_mode & 022);
}

int fr_ncpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int fr_parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s) return FR_ERR;
    uint64_t mul = 1;
    switch (*end) {
    case 0:
        break;
    case 'k':
    case 'K':
        mul = 1ull << 10;
        end++;
        break;
    case 'm':
    case 'M':
        mul = 1ull << 20;
        end++;
        break;
    case 'g':
    case 'G':
        mul = 1ull << 30;
        end++;
        break;
    default:
        return FR_ERR;
    }
    if (*end == 'B' || *end == 'b') end++;
    if (*end) return FR_ERR;
    if (v > UINT64_MAX / mul) return FR_ERR;
    *out = v * mul;
    return FR_OK;
}
