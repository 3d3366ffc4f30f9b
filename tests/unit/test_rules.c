/* Unit tests for src/rules: the rule format, its strictness and file:line errors,
 * built-in rules, and overriding a built-in file from a directory. */
#include "check.h"
#include "rules/rules.h"
#include "util/util.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
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
    expect_error("rules:\n" GOOD_RULE "    min_entropy: lots\n",
                 "t.yml:16: 'min_entropy' given twice");
    expect_error("rules:\n" GOOD_RULE "    colour: red\n", "t.yml:16: unknown rule field 'colour'");
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* GOOD_RULE with one line replaced (line 8 of the file is "min_entropy"). */
static void expect_value_error(const char *field_line, const char *needle)
{
    char yaml[2048];
    const char *r = "rules:\n" GOOD_RULE;
    const char *at = strstr(r, "    min_entropy: 2.5\n");
    const char *next = strchr(at, '\n') + 1;
    snprintf(yaml, sizeof yaml, "%.*s%s\n%s", (int)(at - r), r, field_line, next);
    expect_error(yaml, needle);
}

/* Numbers: strtod reads nan and inf, which compare false with every bound. */
static void test_numbers(void)
{
    expect_value_error("    min_entropy: nan", "t.yml:9: 'min_entropy' must be a finite number");
    expect_value_error("    min_entropy: -nan", "t.yml:9: 'min_entropy' must be a finite number");
    expect_value_error("    min_entropy: inf", "t.yml:9: 'min_entropy' must be a finite number");
    expect_value_error("    min_entropy: 1e999", "t.yml:9: 'min_entropy' must be a finite number");
    expect_value_error("    min_entropy: 8.5", "t.yml:9: min_entropy must be within 0..8 bits");
    expect_value_error("    min_entropy: -0.1", "t.yml:9: min_entropy must be within 0..8 bits");
    expect_value_error("    max_length: nan", "t.yml:9: 'max_length' must be a finite number");
    expect_value_error("    max_length: infinity", "t.yml:9: 'max_length' must be a finite number");
    expect_value_error("    max_length: 1e30", "t.yml:9: max_length must be an integer within");
    expect_value_error("    max_length: 64.5", "t.yml:9: max_length must be an integer within");
    expect_value_error("    max_length: 0", "t.yml:9: max_length must be an integer within");
    /* the same field twice would leak the first value, and is a typo anyway */
    expect_value_error("    id: t.other", "t.yml:9: 'id' given twice");
    expect_value_error("    keywords: [a]", "t.yml:9: 'keywords' given twice");
    expect_value_error("    examples: [a]", "t.yml:12: 'examples' given twice");
    fr_ruleset *rs = NULL;
    CHECK(load1("rules:\n" GOOD_RULE, &rs) == FR_OK);
    if (rs) CHECK(rs->rules[0].min_entropy == 2.5 && rs->rules[0].max_length == 64);
    fr_ruleset_free(rs);
}

/* Aliases, deep nesting, extra documents, size: each refused quickly with the
 * file and line, before any tree is built. */
static void test_hostile_yaml(void)
{
    expect_error("rules:\n  - &r\n    id: a\n", "t.yml:2: YAML anchors are not allowed");
    expect_error("rules:\n" GOOD_RULE "  - *r\n", "t.yml:16: YAML aliases are not allowed");
    expect_error("rules:\n" GOOD_RULE "---\nrules: []\n", "t.yml:16: a rule file holds one");
    expect_error("rules:\n" GOOD_RULE "rules: []\n", "t.yml:16: 'rules' given twice");
    /* The billion laughs: ten levels of ten aliases each, a 10^10-node tree. */
    fr_buf b = {0};
    fr_buf_puts(&b, "rules:\n" GOOD_RULE "    ignore_values: &l0 [lol, lol, lol, lol, lol]\n");
    for (int i = 1; i < 10; i++)
        fr_buf_printf(&b, "    x%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n", i, i,
                      i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
    double t0 = now();
    expect_error(b.p, "t.yml:16: YAML anchors are not allowed");
    fr_buf_release(&b);
    /* [[[[... : libyaml's work per token grows with the depth. */
    size_t deep = 200000;
    for (int form = 0; form < 2; form++) {
        fr_buf_puts(&b, "rules:\n  - id: x\n    keywords: ");
        for (size_t i = 0; i < deep; i++)
            fr_buf_puts(&b, form ? "{a: " : "[");
        expect_error(b.p, "t.yml:3: nesting deeper than 32 levels");
        fr_buf_release(&b);
    }
    /* 32 levels in all are still YAML, just not a rule */
    fr_buf_puts(&b, "rules:\n  - id: x\n    keywords: ");
    for (int i = 0; i < 29; i++)
        fr_buf_puts(&b, "[");
    for (int i = 0; i < 29; i++)
        fr_buf_puts(&b, "]");
    expect_error(b.p, "t.yml:3: items of 'keywords' must be strings");
    fr_buf_release(&b);
    /* a buffer over the 4 MiB cap is refused whole */
    size_t big = (4u << 20) + 1;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    memcpy(huge, "rules:\n", 7);
    const char *names[] = {"big.yml"};
    const char *datas[] = {huge};
    fr_ruleset *rs = NULL;
    CHECK(fr_rules_load_buffers(&rs, names, datas, &big, 1) == FR_ELIMIT);
    CHECK(rs == NULL && strstr(fr_error(), "big.yml: rule file larger than 4 MiB") != NULL);
    free(huge);
    double dt = now() - t0;
    if (dt >= 2.0) fprintf(stderr, "hostile YAML took %.1f s\n", dt);
    CHECK(dt < 2.0);
}

/* Arbitrary bytes never crash, leak or hang the loader (under ASan, in the
 * sanitizer build): mutations of a good file, and NUL bytes. */
static void test_mutations(void)
{
    const char *good = "rules:\n" GOOD_RULE;
    size_t n = strlen(good);
    char *buf = malloc(n);
    srand(4242);
    static const char pool[] = "[]{}:&*!|>-'\"#\n \t\\%@`,?\x00\xff";
    for (int round = 0; round < 3000; round++) {
        memcpy(buf, good, n);
        for (int k = 1 + rand() % 4; k > 0; k--)
            buf[rand() % (int)n] = pool[rand() % (int)(sizeof pool - 1)];
        const char *names[] = {"m.yml"};
        const char *datas[] = {buf};
        fr_ruleset *rs = NULL;
        int rc = fr_rules_load_buffers(&rs, names, datas, &n, 1);
        CHECK((rc == FR_OK) == (rs != NULL));
        fr_ruleset_free(rs);
    }
    free(buf);
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

/* A rules directory holding a FIFO, a directory or an oversized file under a
 * rule file name: an error naming it, at once (a FIFO once blocked the load
 * forever, waiting for a writer). */
static void test_special_files(void)
{
    char dir[] = "/tmp/ferret-rules-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    fr_ruleset *rs = NULL;
    snprintf(path, sizeof path, "%s/fifo.yml", dir);
    CHECK(mkfifo(path, 0600) == 0);
    CHECK(fr_rules_load(&rs, dir) == FR_ERR && rs == NULL);
    CHECK(strstr(fr_error(), "fifo.yml: not a regular file") != NULL);
    unlink(path);
    snprintf(path, sizeof path, "%s/sub.yaml", dir);
    CHECK(mkdir(path, 0700) == 0);
    CHECK(fr_rules_load(&rs, dir) == FR_ERR && rs == NULL);
    CHECK(strstr(fr_error(), "sub.yaml: not a regular file") != NULL);
    rmdir(path);
    snprintf(path, sizeof path, "%s/big.yml", dir);
    FILE *f = fopen(path, "w");
    CHECK(f && ftruncate(fileno(f), (4 << 20) + 1) == 0);
    if (f) fclose(f);
    CHECK(fr_rules_load(&rs, dir) == FR_ELIMIT && rs == NULL);
    CHECK(strstr(fr_error(), "big.yml: rule file larger than 4 MiB") != NULL);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    test_good();
    alarm(60); /* a regression to a blocking open fails here instead of hanging */
    test_errors();
    test_numbers();
    test_hostile_yaml();
    test_mutations();
    test_builtin_and_override();
    test_special_files();
    return check_done("test_rules");
}
