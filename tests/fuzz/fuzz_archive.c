/*
 * fuzz_archive: fr_archive_read over arbitrary bytes held in memory, with
 * small limits, opening archives found inside members as the pipeline does (up
 * to three levels). The member callback reads every byte it is given, so a
 * member buffer shorter than its stated length is caught by ASan. Invariants:
 * a member is either delivered or skipped with a reason, never larger than the
 * member limit, the bytes delivered per archive stay within the total limit,
 * and the result is one of the documented codes.
 */
#include "fuzz.h"
#include "sources/archive.h"
#include "util/util.h"

#include <string.h>

#define MAX_DEPTH 3

static const fr_archive_limits LIMITS = {
    .max_member = 64 * 1024,
    .max_total = 256 * 1024,
    .max_ratio = 50,
    .max_members = 32,
};

typedef struct {
    int depth;
    uint64_t delivered; /* bytes handed to the callback by this archive */
    unsigned sum;       /* keeps the byte reads from being optimised away */
} walk;

static void read_archive(const unsigned char *data, size_t len, const char *name, int depth,
                         unsigned *sum);

static int on_member(void *ctx, const char *name, const unsigned char *data, size_t len,
                     const char *skip_reason)
{
    walk *w = ctx;
    FUZZ_ASSERT(name != NULL);
    w->sum += (unsigned)strlen(name);
    FUZZ_ASSERT((data == NULL) == (skip_reason != NULL));
    if (!data) {
        FUZZ_ASSERT(skip_reason[0] != 0 && len == 0);
        return 0;
    }
    FUZZ_ASSERT(len <= LIMITS.max_member);
    for (size_t i = 0; i < len; i++)
        w->sum += data[i];
    w->delivered += len;
    if (w->depth < MAX_DEPTH && fr_archive_detect(data, len))
        read_archive(data, len, name, w->depth + 1, &w->sum);
    return 0;
}

static void read_archive(const unsigned char *data, size_t len, const char *name, int depth,
                         unsigned *sum)
{
    walk w = {depth, 0, 0};
    int rc = fr_archive_read(data, len, name, &LIMITS, on_member, &w);
    FUZZ_ASSERT(rc == FR_OK || rc == FR_ELIMIT || rc == FR_ECORRUPT || rc == FR_ERR);
    FUZZ_ASSERT(w.delivered <= LIMITS.max_total);
    *sum += w.sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned sum = 0;
    /* the name only matters for a compressed single file (its member name) */
    read_archive(data, size, "fuzz.tar.gz", 1, &sum);
    /* libFuzzer: a volatile sink keeps the reads; the value itself is unused */
    volatile unsigned sink = sum;
    (void)sink;
    return 0;
}
