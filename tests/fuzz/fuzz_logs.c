/*
 * fuzz_logs: the CI log normaliser and the log path describer.
 * Invariants (what line numbers of findings rest on): the normalised text is
 * never longer than the input, it has exactly the input's newlines, and every
 * line is no longer than the input line it came from (only bytes inside lines
 * are removed). The input also runs through fr_log_normalizer, and is split at
 * its first NUL into a container path and a member name for fr_log_describe
 * (no NUL: a file's own path, member NULL — the Jenkins layout).
 */
#include "fuzz.h"
#include "sources/logs.h"

#include <string.h>

static void check_lines(const uint8_t *in, size_t n, const fr_buf *out)
{
    FUZZ_ASSERT(out->len <= n);
    FUZZ_ASSERT(out->len == 0 || out->p);
    size_t i = 0, o = 0;
    for (;;) {
        const uint8_t *inl = memchr(in + i, '\n', n - i);
        const char *onl = o < out->len ? memchr(out->p + o, '\n', out->len - o) : NULL;
        FUZZ_ASSERT((inl == NULL) == (onl == NULL)); /* same number of newlines */
        size_t ie = inl ? (size_t)(inl - in) : n;
        size_t oe = onl ? (size_t)(onl - out->p) : out->len;
        FUZZ_ASSERT(oe - o <= ie - i); /* this line did not grow */
        if (!inl) break;
        i = ie + 1, o = oe + 1;
    }
}

static void check_string(const char *s, const fr_buf *pool, size_t bound)
{
    if (!s) return;
    FUZZ_ASSERT(pool->p && s >= pool->p && s < pool->p + pool->len);
    FUZZ_ASSERT(strlen(s) <= bound);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fr_buf out = {0};
    fr_log_normalize(data, size, &out);
    check_lines(data, size, &out);

    /* a NUL-terminated copy: the first part names the container */
    char *text = fr_xmalloc(size + 2);
    memcpy(text, data, size);
    text[size] = text[size + 1] = 0;
    const char *container = text;
    size_t clen = strlen(container);
    const char *member = clen < size ? text + clen + 1 : NULL;

    fr_buf_reset(&out);
    if (fr_log_normalizer(container, data, size, &out) == 1) check_lines(data, size, &out);

    fr_location loc = {0};
    fr_buf pool = {0};
    fr_log_describe(container, member, &loc, &pool);
    size_t bound = clen + (member ? strlen(member) : 0);
    check_string(loc.ci_run, &pool, bound);
    check_string(loc.ci_job, &pool, bound);
    check_string(loc.ci_step, &pool, bound);

    fr_buf_release(&pool);
    fr_buf_release(&out);
    free(text);
    return 0;
}
