/* Unit tests for src/rules: the rule format, its strictness and file:line errors,
 * built-in rules, and overriding a built-in file from a directory. */
#include "check.h"
#include "rules/rules.h"
#include "util/util.h"

#include <stdlib.h>
#include <unistd.h>

static int load1(const char *yaml, fr_ruleset **rs)
{
    const char *names[] = {"t.yml"};
    const char *datas[] = {yaml};
    size_t lens[] = {strlen(yaml)};
    return fr_rules_load_buffers(rs, names, datas, lens, 1);
}

#define GOOD_RULE                                                                                  \
    "  - id: t.token\n"                                                                            \
    "    name: Test token\n"                                                                       \
    "    pattern: '\\b(tok_[a-z]{8})\\b'\n"                                                        \
    "    severity: high\n"                                                                         \
    "    confidence: medium\n"                                                                     \
    "    attack: T1552.001\n"                                                                      \
    "    keywords: [tok_]\n"                                                                       \
    "    min_entropy: 2.5\n"                                                                       \
    "    max_length: 64\n"                                                                         \
    "    references: [https://example.invalid/doc]\n"                                              \
    "    examples: ['x tok_abcdefgh']\n"                                                           \
    "    negative_examples:\n"                                                                     \
    "      - 'tok_abc'\n"                                                                          \
    "      - 'tok_ABCDEFGH'\n"

static void expect_error(const char *yaml, const char *needle)
{
    fr_ruleset *rs = NULL;
    int rc = load1(yaml, &rs);
    CHECK(rc != FR_OK);
    CHECK(rs == NULL);
    if (!strstr(fr_error(), needle)) {
        fprintf(stderr, "  expected '%s' in error: %s\n", needle, fr_error());
        check_fail++;
    } else {
        check_pass++;
    }
}

static void test_good(void)
{
    fr_ruleset *rs = NULL;
    CHECK(load1("rules:\n" GOOD_RULE, &rs) == FR_OK);
    if (!rs) return;
    CHECK(rs->n == 1);
    const fr_rule *r = &rs->rules[0];
    CHECK_STR(r->id, "t.token");
    CHECK_STR(r->pattern, "\\b(tok_[a-z]{8})\\b");
    CHECK(r->nkeywords == 1 && r->nexamples == 1 && r->nnegatives == 2);
    CHECK(r->min_entropy == 2.5 && r->max_length == 64);
    CHECK(r->line == 2);
    CHECK(r->negatives[1].line == 15);
    CHECK(strlen(rs->hash) == 64);
    fr_ruleset *rs2 = NULL;
    CHECK(load1("rules:\n" GOOD_RULE "\n", &rs2) == FR_OK);
    if (rs2) CHECK(strcmp(rs->hash, rs2->hash) != 0); /* the hash follows the bytes */
    fr_ruleset_free(rs2);
    fr_ruleset_free(rs);
}

static void test_errors(void)
{
    expect_error("rules:\n  - id: a\n    name: [unclosed\n", "t.yml:");
    expect_error("rules:\n" GOOD_RULE "    colour: red\n", "t.yml:16: unknown rule field 'colour'");
    expect_error("rules:\n  - id: a.b\n    name: n\n    pattern: '(x)'\n    severity: high\n"
                 "    confidence: high\n    attack: T1552\n    examples: [x]\n",
                 "t.yml:2: rule 'a.b' has no 'negative_examples'");
    expect_error("rules:\n  - id: a.b\n    name: n\n    pattern: '(x)'\n    severity: huge\n"
                 "    confidence: high\n    attack: T1552\n    examples: [x]\n"
                 "    negative_examples: [y]\n",
                 "severity must be");
    expect_error("rules:\n" GOOD_RULE GOOD_RULE, "t.yml:16: duplicate rule id 't.token'");
    expect_error("rules:\n  - id: Bad Id\n", "may hold only");
    expect_error("rulez: []\n", "t.yml:1: unknown top-level key");
    expect_error("", "empty rule file");
    expect_error("rules:\n" GOOD_RULE "    min_entropy: lots\n", "'min_entropy' must be a number");
}

static void test_builtin_and_override(void)
{
    fr_ruleset *rs = NULL;
    CHECK(fr_rules_load(&rs, NULL) == FR_OK);
    size_t builtin = rs ? rs->n : 0;
    CHECK(builtin >= 3);
    fr_ruleset_free(rs);

    char dir[] = "/tmp/ferret-rules-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    /* github.yml replaces the built-in file of that name; extra.yml adds. */
    snprintf(path, sizeof path, "%s/github.yml", dir);
    FILE *f = fopen(path, "w");
    fputs("rules:\n" GOOD_RULE, f);
    fclose(f);
    rs = NULL;
    CHECK(fr_rules_load(&rs, dir) == FR_OK);
    if (rs) {
        int has_github = 0, has_test = 0;
        for (size_t i = 0; i < rs->n; i++) {
            has_github |= !strcmp(rs->rules[i].id, "github.pat");
            has_test |= !strcmp(rs->rules[i].id, "t.token");
        }
        CHECK(!has_github && has_test);
    }
    fr_ruleset_free(rs);
    snprintf(path, sizeof path, "%s/extra.yml", dir);
    f = fopen(path, "w");
    fputs("rules:\n  - id: broken\n    name: x\n    pattern: 5\n    bogus: 1\n", f);
    fclose(f);
    rs = NULL;
    CHECK(fr_rules_load(&rs, dir) == FR_ECORRUPT);
    CHECK(strstr(fr_error(), "extra.yml:5: unknown rule field 'bogus'") != NULL);
    unlink(path);
    snprintf(path, sizeof path, "%s/github.yml", dir);
    unlink(path);
    rmdir(dir);
    CHECK(fr_rules_load(&rs, "/nonexistent/rules") == FR_ERR);
}

int main(void)
{
    test_good();
    test_errors();
    test_builtin_and_override();
    return check_done("test_rules");
}
