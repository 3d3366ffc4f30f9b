/*
 * shard.c: shard specs and ownership (see shard.h).
 */
#include "util/shard.h"

#include "util/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SHARDS 65536

/* A whole decimal number in [0, max]; -1 otherwise. */
static long long parse_num(const char *s, long long max)
{
    if (!s || !*s || *s < '0' || *s > '9') return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v > max) return -1;
    return v;
}

static int make(fr_shard *out, long long i, long long n, const char *what)
{
    if (n < 1 || n > MAX_SHARDS || i < 0 || i >= n) {
        fr_error_set("%s: a shard is I/N with 0 <= I < N <= %d", what, MAX_SHARDS);
        return FR_ERR;
    }
    out->index = (uint32_t)i;
    out->count = (uint32_t)n;
    return FR_OK;
}

int fr_shard_from_env(fr_shard *out)
{
    const char *i, *n;
    if ((i = getenv("FERRET_SHARD_INDEX")) && (n = getenv("FERRET_SHARD_COUNT")))
        return make(out, parse_num(i, MAX_SHARDS), parse_num(n, MAX_SHARDS),
                    "FERRET_SHARD_INDEX/FERRET_SHARD_COUNT");
    if ((i = getenv("SLURM_ARRAY_TASK_ID")) && (n = getenv("SLURM_ARRAY_TASK_COUNT"))) {
        /* An array may start anywhere (--array=1-4): the index counts from its minimum. */
        const char *min = getenv("SLURM_ARRAY_TASK_MIN");
        long long id = parse_num(i, 1 << 30), lo = min ? parse_num(min, 1 << 30) : 0;
        return make(out, id < 0 || lo < 0 ? -1 : id - lo, parse_num(n, MAX_SHARDS),
                    "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT");
    }
    if ((i = getenv("JOB_COMPLETION_INDEX"))) {
        n = getenv("JOB_COMPLETIONS");
        if (!n) n = getenv("FERRET_SHARD_COUNT");
        if (!n) {
            fr_error_set("JOB_COMPLETION_INDEX is set but not the number of completions: set "
                         "JOB_COMPLETIONS (or FERRET_SHARD_COUNT) in the Job's environment");
            return FR_ERR;
        }
        return make(out, parse_num(i, MAX_SHARDS), parse_num(n, MAX_SHARDS),
                    "JOB_COMPLETION_INDEX/JOB_COMPLETIONS");
    }
    if ((i = getenv("SYSTEM_JOBPOSITIONINPHASE")) && (n = getenv("SYSTEM_TOTALJOBSINPHASE"))) {
        long long pos = parse_num(i, MAX_SHARDS);
        return make(out, pos < 1 ? -1 : pos - 1, parse_num(n, MAX_SHARDS),
                    "SYSTEM_JOBPOSITIONINPHASE/SYSTEM_TOTALJOBSINPHASE");
    }
    fr_error_set("--shard auto: no shard in the environment (FERRET_SHARD_INDEX/COUNT, "
                 "SLURM_ARRAY_TASK_ID/COUNT, JOB_COMPLETION_INDEX/JOB_COMPLETIONS, "
                 "SYSTEM_JOBPOSITIONINPHASE/TOTALJOBSINPHASE)");
    return FR_ENOTFOUND;
}

int fr_shard_parse(const char *spec, fr_shard *out)
{
    if (!strcmp(spec, "auto")) return fr_shard_from_env(out);
    const char *slash = strchr(spec, '/');
    if (!slash) return make(out, -1, -1, spec);
    char i[16];
    size_t il = (size_t)(slash - spec);
    if (il == 0 || il >= sizeof i) return make(out, -1, -1, spec);
    memcpy(i, spec, il);
    i[il] = 0;
    return make(out, parse_num(i, MAX_SHARDS), parse_num(slash + 1, MAX_SHARDS), spec);
}

static uint64_t be64(const unsigned char *b)
{
    uint64_t v = 0;
    for (int k = 0; k < 8; k++)
        v = v << 8 | b[k];
    return v;
}

uint64_t fr_shard_hash(const void *name, size_t len)
{
    unsigned char d[32];
    fr_sha256(name, len, d);
    return be64(d);
}

/* Multiply-shift maps a uniform 64-bit hash onto [0, count) without the modulo's bias. */
static uint32_t slot(uint64_t h, uint32_t count)
{
    return (uint32_t)(((unsigned __int128)h * count) >> 64);
}

int fr_shard_owns_name(const fr_shard *s, const char *name)
{
    if (!s || s->count == 0) return 1;
    return slot(fr_shard_hash(name, strlen(name)), s->count) == s->index;
}

int fr_shard_owns_oid(const fr_shard *s, const unsigned char oid[20])
{
    if (!s || s->count == 0) return 1;
    return slot(be64(oid), s->count) == s->index;
}
