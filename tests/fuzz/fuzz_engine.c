/*
 * fuzz_engine: the built-in rules compiled twice, once normally (Hyperscan
 * finds candidates, PCRE2 confirms them) and once in every-offset mode (every
 * position is a candidate for every rule: the confirm step alone decides).
 * Each input (at most 4 KB) is scanned by both, and the two match lists must
 * be identical, field by field: the prefilter may make the scan fast, never
 * change what it reports. Matches must also lie inside the input, with the
 * secret inside the match, sorted by secret start, with the right line and
 * column.
 */
#include "detect/detect.h"
#include "fuzz.h"
#include "rules/rules.h"

#include <string.h>

#define MAX_INPUT 4096

static fr_ruleset *rs;
static fr_engine *fast, *every;
static fr_scanner *sfast, *severy;

static void cleanup(void)
{
    fr_scanner_free(sfast), fr_scanner_free(severy);
    fr_engine_free(fast), fr_engine_free(every);
    fr_ruleset_free(rs);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fr_engine_opts all = {.every_position = 1};
    if (fr_rules_load(&rs, NULL) || fr_engine_new(&fast, rs, NULL) ||
        fr_engine_new(&every, rs, &all) || fr_scanner_new(&sfast, fast) ||
        fr_scanner_new(&severy, every)) {
        fprintf(stderr, "fuzz_engine: set-up failed: %s\n", fr_error());
        abort();
    }
    atexit(cleanup);
    return 0;
}

static void print_matches(const char *what, const fr_match *m, size_t n)
{
    fprintf(stderr, "%s: %zu matches\n", what, n);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "  %s [%zu,%zu) secret [%zu,%zu) line %zu col %zu validated %d\n",
                rs->rules[m[i].rule].id, m[i].start, m[i].end, m[i].sstart, m[i].send, m[i].line,
                m[i].column, m[i].validated);
}

static void check_positions(const uint8_t *d, size_t size, const fr_match *m, size_t n)
{
    size_t line = 1, col = 1, pos = 0;
    for (size_t i = 0; i < n; i++) {
        FUZZ_ASSERT(m[i].rule < rs->n);
        FUZZ_ASSERT(m[i].start <= m[i].sstart && m[i].sstart < m[i].send && m[i].send <= m[i].end &&
                    m[i].end <= size);
        FUZZ_ASSERT(i == 0 || m[i - 1].sstart <= m[i].sstart);
        for (; pos < m[i].sstart; pos++)
            if (d[pos] == '\n')
                line++, col = 1;
            else
                col++;
        FUZZ_ASSERT(m[i].line == line && m[i].column == col);
    }
}

static int same(const fr_match *a, const fr_match *b)
{
    return a->rule == b->rule && a->start == b->start && a->end == b->end &&
           a->sstart == b->sstart && a->send == b->send && a->line == b->line &&
           a->column == b->column && a->validated == b->validated;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT) return 0;
    const fr_match *mf, *me;
    size_t nf = 0, ne = 0;
    FUZZ_ASSERT(fr_scan(sfast, data, size, &mf, &nf) == FR_OK);
    FUZZ_ASSERT(fr_scan(severy, data, size, &me, &ne) == FR_OK);
    int equal = nf == ne;
    for (size_t i = 0; equal && i < nf; i++)
        equal = same(&mf[i], &me[i]);
    if (!equal) {
        print_matches("prefiltered scan", mf, nf);
        print_matches("every-offset scan", me, ne);
        FUZZ_ASSERT(!"the prefiltered and every-offset scans differ");
    }
    check_positions(data, size, mf, nf);
    return 0;
}
