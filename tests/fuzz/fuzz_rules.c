/*
 * fuzz_rules: a rule file of arbitrary bytes through fr_rules_load_buffers.
 * It must never crash, hang or leak (the replay build runs under LSan), and a
 * rule set it accepts must hold only values the engine can use: every required
 * field present, a finite non-negative entropy gate (NaN once got through), a
 * bounded max_length and examples that are strings.
 */
#include "fuzz.h"
#include "rules/rules.h"
#include "util/util.h"

#include <math.h>
#include <string.h>

/* Rule files beyond this are not what the loader is asked to handle quickly. */
#define MAX_INPUT (64 * 1024)

static void check_rule(const fr_rule *r)
{
    FUZZ_ASSERT(r->id && r->name && r->pattern && r->pattern[0] && r->severity && r->confidence);
    FUZZ_ASSERT(r->attack && r->attack[0] == 'T' && r->file);
    FUZZ_ASSERT(r->nexamples > 0 && r->nnegatives > 0);
    FUZZ_ASSERT(isfinite(r->min_entropy) && r->min_entropy >= 0);
    FUZZ_ASSERT(r->max_length > 0 && r->max_length <= 64 * 1024);
    FUZZ_ASSERT(r->nkeywords == 0 || r->keywords);
    for (size_t i = 0; i < r->nkeywords; i++)
        FUZZ_ASSERT(r->keywords[i]);
    for (size_t i = 0; i < r->nexamples; i++)
        FUZZ_ASSERT(r->examples[i].text);
    for (size_t i = 0; i < r->nnegatives; i++)
        FUZZ_ASSERT(r->negatives[i].text);
    for (size_t i = 0; i < r->nignore; i++)
        FUZZ_ASSERT(r->ignore[i]);
    FUZZ_ASSERT(fr_severity_level(r->severity) && fr_severity_score(r->severity));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT) return 0;
    const char *names[] = {"fuzz.yml"};
    const char *datas[] = {(const char *)data};
    size_t lens[] = {size};
    fr_ruleset *rs = NULL;
    int rc = fr_rules_load_buffers(&rs, names, datas, lens, 1);
    if (rc == FR_OK) {
        FUZZ_ASSERT(rs && rs->n > 0 && strlen(rs->hash) == 64);
        for (size_t i = 0; i < rs->n; i++)
            check_rule(&rs->rules[i]);
    } else {
        FUZZ_ASSERT(rs == NULL);
        FUZZ_ASSERT(fr_error()[0] != 0);
    }
    fr_ruleset_free(rs);
    return 0;
}
