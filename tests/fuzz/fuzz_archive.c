/*
 * fuzz_archive: fr_archive_read over arbitrary bytes held in memory, with
 * small limits and one expansion budget shared by every nesting level, opening
 * archives found inside members as the pipeline does (up to three levels). The
 * member callback reads every byte it is given, so a member buffer shorter
 * than its stated length is caught by ASan. Invariants: a member is delivered
 * whole (no reason), cut by a limit (bytes and a reason) or skipped (a reason,
 * no bytes); never larger than the member limit; the bytes delivered per
 * archive stay within its total limit, and those of all levels together within
 * the budget of the top-level item (a 42.zip-style nest once multiplied work
 * without a bound); the result is one of the documented codes.
 */
#include "fuzz.h"
#include "sources/archive.h"
#include "util/util.h"

#include <string.h>

#define MAX_DEPTH     3
#define BUDGET_BYTES  (1024 * 1024)
#define BUDGET_MEMBER 64

typedef struct {
    fr_expand_budget budget;
    uint64_t delivered, members; /* over all levels */
    unsigned sum;                /* keeps the byte reads from being optimised away */
} top;

typedef struct {
    top *t;
    int depth;
    uint64_t delivered; /* by this archive */
} level;

static void read_archive(top *t, const unsigned char *data, size_t len, const char *name,
                         int depth);

static const fr_archive_limits *limits(top *t)
{
    static fr_archive_limits lim = {
        .max_member = 64 * 1024,
        .max_total = 256 * 1024,
        .max_ratio = 50,
        .max_members = 32,
    };
    lim.budget = &t->budget;
    return &lim;
}

static int on_member(void *ctx, const char *name, const unsigned char *data, size_t len,
                     const char *reason)
{
    level *l = ctx;
    FUZZ_ASSERT(name != NULL);
    l->t->sum += (unsigned)strlen(name);
    FUZZ_ASSERT(data != NULL || reason != NULL);
    if (reason) FUZZ_ASSERT(reason[0] != 0);
    if (!data) {
        FUZZ_ASSERT(len == 0);
        return 0;
    }
    FUZZ_ASSERT(len <= limits(l->t)->max_member);
    for (size_t i = 0; i < len; i++)
        l->t->sum += data[i];
    l->delivered += len;
    l->t->delivered += len;
    l->t->members++;
    if (!reason && l->depth < MAX_DEPTH && fr_archive_detect(data, len))
        read_archive(l->t, data, len, name, l->depth + 1);
    return 0;
}

static void read_archive(top *t, const unsigned char *data, size_t len, const char *name, int depth)
{
    level l = {t, depth, 0};
    int rc = fr_archive_read(data, len, name, limits(t), on_member, &l);
    FUZZ_ASSERT(rc == FR_OK || rc == FR_ELIMIT || rc == FR_ECORRUPT || rc == FR_ERR);
    FUZZ_ASSERT(fr_error()[0] != 0 || rc == FR_OK);
    FUZZ_ASSERT(l.delivered <= limits(t)->max_total);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    top t = {.budget = {BUDGET_BYTES, BUDGET_MEMBER}};
    /* the name only matters for a compressed single file (its member name) */
    read_archive(&t, data, size, "fuzz.tar.gz", 1);
    FUZZ_ASSERT(t.delivered <= BUDGET_BYTES);
    FUZZ_ASSERT(t.members <= BUDGET_MEMBER);
    /* every byte delivered was drawn from the budget (skipped ones too) */
    FUZZ_ASSERT(t.budget.bytes <= BUDGET_BYTES && BUDGET_BYTES - t.budget.bytes >= t.delivered);
    volatile unsigned sink = t.sum;
    (void)sink;
    return 0;
}
