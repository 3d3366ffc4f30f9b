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

static int str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static int strs_eq(char *const *a, size_t na, char *const *b, size_t nb)
{
    if (na != nb) return 0;
    for (size_t i = 0; i < na; i++)
        if (!str_eq(a[i], b[i])) return 0;
    return 1;
}

static int examples_eq(const fr_rule_example *a, size_t na, const fr_rule_example *b, size_t nb)
{
    if (na != nb) return 0;
    for (size_t i = 0; i < na; i++)
        if (!str_eq(a[i].text, b[i].text) || a[i].line != b[i].line) return 0;
    return 1;
}

/* Every field of every rule (the cache's serializer must miss none). */
static int rulesets_eq(const fr_ruleset *a, const fr_ruleset *b)
{
    if (!a || !b || a->n != b->n || a->nindicators != b->nindicators || strcmp(a->hash, b->hash))
        return 0;
    for (size_t i = 0; i < a->n; i++) {
        const fr_rule *x = &a->rules[i], *y = &b->rules[i];
        if (!str_eq(x->id, y->id) || !str_eq(x->name, y->name) ||
            !str_eq(x->description, y->description) || !str_eq(x->pattern, y->pattern) ||
            !str_eq(x->prefilter, y->prefilter) || !str_eq(x->severity, y->severity) ||
            !str_eq(x->confidence, y->confidence) || !str_eq(x->attack, y->attack) ||
            x->kind != y->kind || !str_eq(x->attack_version, y->attack_version) ||
            x->applies_to != y->applies_to ||
            !strs_eq(x->keywords, x->nkeywords, y->keywords, y->nkeywords) ||
            !strs_eq(x->references, x->nreferences, y->references, y->nreferences) ||
            !examples_eq(x->examples, x->nexamples, y->examples, y->nexamples) ||
            !examples_eq(x->negatives, x->nnegatives, y->negatives, y->nnegatives) ||
            x->min_entropy != y->min_entropy || x->max_length != y->max_length ||
            !str_eq(x->validate, y->validate) ||
            !strs_eq(x->ignore, x->nignore, y->ignore, y->nignore) || x->guards != y->guards ||
            !str_eq(x->file, y->file) || x->line != y->line)
            return 0;
    }
    return 1;
}

static int sh(const char *fmt, const char *dir)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, fmt, dir, dir, dir, dir);
    return system(cmd);
}

/* The parsed rule set cached beside the engine's database: a second load reads
 * the cache and gives the parse, field for field; a damaged file, another rule
 * set's file under this one's name, a file others may write or a directory
 * others may write are not used; other file names are another cache. */
static void test_cache(void)
{
    fr_ruleset *parsed = NULL, *first = NULL, *cached = NULL;
    CHECK(fr_rules_load(&parsed, NULL) == FR_OK);
    char dir[] = "/tmp/ferret-rcache-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    CHECK(fr_rules_load_cached(&first, NULL, dir) == FR_OK);
    CHECK(sh("test $(ls %s | wc -l) = 1 && test $(stat -c %%a %s/rules-*.bin) = 600", dir) == 0);
    CHECK(sh("cp -p %s/rules-*.bin %s/own", dir) == 0);
    CHECK(fr_rules_load_cached(&cached, NULL, dir) == FR_OK);
    CHECK(rulesets_eq(parsed, first) && rulesets_eq(parsed, cached));
    fr_ruleset_free(first), fr_ruleset_free(cached);
    /* one byte of the payload changed: the checksum; parsed again, rewritten */
    CHECK(sh("f=$(ls %s/rules-*.bin) && python3 -c \"import sys; p=sys.argv[1]; "
             "d=bytearray(open(p,'rb').read()); d[-9]^=1; open(p,'wb').write(d)\" $f && "
             "! cmp -s %s/own $f",
             dir) == 0);
    cached = NULL;
    CHECK(fr_rules_load_cached(&cached, NULL, dir) == FR_OK && rulesets_eq(parsed, cached));
    fr_ruleset_free(cached);
    CHECK(sh("cmp -s %s/own %s/rules-*.bin", dir) == 0);
    /* the file is mapped, not read: cut inside its trailer, after it, one
     * byte short of its end - parsed again, rewritten whole */
    static const char *const cuts[] = {"d.find(b'size ') + 7", "d.find(b'sha256 ') + 20",
                                       "d.find(b'sha256 ') + 72", "len(d) - 1"};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        char cut[512];
        snprintf(
            cut, sizeof cut,
            "f=$(ls %s/rules-*.bin) && python3 -c \"import sys; d=open(sys.argv[1],'rb').read(); "
            "open(sys.argv[2],'wb').write(d[:%s])\" %s/own $f",
            dir, cuts[i], dir);
        CHECK(system(cut) == 0);
        cached = NULL;
        CHECK(fr_rules_load_cached(&cached, NULL, dir) == FR_OK && rulesets_eq(parsed, cached));
        fr_ruleset_free(cached);
        CHECK(sh("cmp -s %s/own %s/rules-*.bin", dir) == 0);
    }
    /* another rule set's cache (header and checksum right for it) copied over
     * this one's: its identity differs, it is not used */
    const char *names[] = {"t.yml"}, *datas[] = {"rules:\n" GOOD_RULE};
    size_t lens[] = {strlen(datas[0])};
    fr_ruleset *small = NULL;
    char other[] = "/tmp/ferret-rcache-o-XXXXXX";
    CHECK(mkdtemp(other) != NULL);
    CHECK(fr_rules_cache_load(&small, names, datas, lens, 1, other) == FR_OK);
    CHECK(small && small->n == 1);
    fr_ruleset_free(small);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp %s/rules-*.bin %s/rules-*.bin", other, dir);
    CHECK(system(cmd) == 0);
    cached = NULL;
    CHECK(fr_rules_load_cached(&cached, NULL, dir) == FR_OK && rulesets_eq(parsed, cached));
    fr_ruleset_free(cached);
    CHECK(sh("cmp -s %s/own %s/rules-*.bin", dir) == 0);
    /* the same bytes under another file name: another cache (rules record
     * their file) */
    const char *names2[] = {"u.yml"};
    small = NULL;
    CHECK(fr_rules_cache_load(&small, names2, datas, lens, 1, other) == FR_OK);
    CHECK(small && small->n == 1 && !strcmp(small->rules[0].file, "u.yml"));
    fr_ruleset_free(small);
    CHECK(sh("test $(ls %s | wc -l) = 2", other) == 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s", other);
    CHECK(system(cmd) == 0);
    /* a file others may read or write is ignored (and replaced) */
    CHECK(sh("chmod 644 %s/rules-*.bin", dir) == 0);
    cached = NULL;
    CHECK(fr_rules_load_cached(&cached, NULL, dir) == FR_OK && rulesets_eq(parsed, cached));
    fr_ruleset_free(cached);
    CHECK(sh("test $(stat -c %%a %s/rules-*.bin) = 600", dir) == 0);
    /* a directory others can write: not used, nothing written */
    CHECK(sh("rm -f %s/*; chmod 777 %s", dir) == 0);
    cached = NULL;
    CHECK(fr_rules_load_cached(&cached, NULL, dir) == FR_OK && rulesets_eq(parsed, cached));
    fr_ruleset_free(cached);
    CHECK(sh("test $(ls %s | wc -l) = 0", dir) == 0);
    CHECK(sh("rm -rf %s", dir) == 0);
    fr_ruleset_free(parsed);
}

#define INDICATOR_RULE                                                                             \
    "  - id: t.ind\n"                                                                              \
    "    name: Test indicator\n"                                                                   \
    "    kind: indicator\n"                                                                        \
    "    applies_to: [logs, pipeline-definitions]\n"                                               \
    "    pattern: '(evil-cmd --go)'\n"                                                             \
    "    prefilter: 'evil-cmd'\n"                                                                  \
    "    severity: high\n"                                                                         \
    "    confidence: high\n"                                                                       \
    "    attack: T1059.004\n"                                                                      \
    "    attack_version: \"18\"\n"                                                                 \
    "    examples: ['evil-cmd --go']\n"                                                            \
    "    negative_examples: ['evil-cmd --stop']\n"

/* kind, applies_to, attack_version and prefilter: indicators must say where
 * they apply and under which ATT&CK version; secrets apply everywhere. */
static void test_indicators(void)
{
    fr_ruleset *rs = NULL;
    CHECK(load1("rules:\n" GOOD_RULE INDICATOR_RULE, &rs) == FR_OK);
    if (rs) {
        CHECK(rs->n == 2 && rs->nindicators == 1);
        CHECK(rs->rules[0].kind == FR_KIND_SECRET && rs->rules[0].applies_to == FR_APPLIES_ALL);
        CHECK(rs->rules[0].prefilter == NULL && rs->rules[0].attack_version == NULL);
        const fr_rule *r = &rs->rules[1];
        CHECK(r->kind == FR_KIND_INDICATOR);
        CHECK(r->applies_to == (FR_APPLIES_LOGS | FR_APPLIES_PIPELINE_DEFS));
        CHECK(r->attack_version && !strcmp(r->attack_version, "18"));
        CHECK(r->prefilter && !strcmp(r->prefilter, "evil-cmd"));
        CHECK(!strcmp(fr_kind_name(r->kind), "indicator") && !strcmp(fr_kind_name(0), "secret"));
    }
    fr_ruleset_free(rs);
    char buf[2048];
#define WITHOUT(line, needle)                                                                      \
    do {                                                                                           \
        const char *body = INDICATOR_RULE;                                                         \
        const char *at = strstr(body, line);                                                       \
        snprintf(buf, sizeof buf, "rules:\n%.*s%s", (int)(at - body), body, at + strlen(line));    \
        expect_error(buf, needle);                                                                 \
    } while (0)
    WITHOUT("    applies_to: [logs, pipeline-definitions]\n", "needs 'applies_to'");
    WITHOUT("    attack_version: \"18\"\n", "needs 'attack_version'");
#undef WITHOUT
    expect_error("rules:\n" INDICATOR_RULE "    min_entropy: 3\n", "are for secrets");
    snprintf(buf, sizeof buf, "rules:\n%s", INDICATOR_RULE);
    char *k = strstr(buf, "kind: indicator");
    memcpy(k, "kind: indicatr ", 15);
    expect_error(buf, "kind must be secret or indicator");
    snprintf(buf, sizeof buf, "rules:\n%s", INDICATOR_RULE);
    k = strstr(buf, "[logs, pipeline-definitions]");
    memcpy(k, "[logs, pipelines-definition]", 28);
    expect_error(buf, "unknown applies_to 'pipelines-definition'");
    snprintf(buf, sizeof buf, "rules:\n%s", INDICATOR_RULE);
    k = strstr(buf, "\"18\"");
    memcpy(k, "\"v8\"", 4);
    expect_error(buf, "attack_version must be an ATT&CK version");

    /* what a pipeline definition is, by path */
    static const char *const yes[] = {".github/workflows/ci.yml",
                                      "repo/.github/workflows/release.yaml",
                                      "azure-pipelines.yml",
                                      "ci/azure-pipelines-release.yml",
                                      ".azure-pipelines/build.yml",
                                      ".gitlab-ci.yml",
                                      "ci/deploy.gitlab-ci.yml",
                                      "Jenkinsfile",
                                      "jobs/Jenkinsfile.release",
                                      "bitbucket-pipelines.yml",
                                      ".circleci/config.yml",
                                      ".travis.yml",
                                      ".buildkite/pipeline.yml",
                                      "/srv/mirror/x/.github/workflows/a.yml",
                                      "logs.zip!.github/workflows/ci.yml"};
    static const char *const no[] = {"src/tool.py",
                                     ".github/workflows/README.md",
                                     ".github/dependabot.yml",
                                     "docs/github/workflows/ci.yml",
                                     "my.github/workflows/x.yml",
                                     ".circleci/other.yml",
                                     "gitlab-ci.yml.bak",
                                     "jenkinsfile.md",
                                     "scripts/.gitlab-ci.yml.orig",
                                     "",
                                     ".github/workflows/ci.yml!notes.txt"};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        if (!fr_is_pipeline_definition(yes[i])) {
            fprintf(stderr, "  not a pipeline definition: %s\n", yes[i]);
            check_fail++;
        } else {
            check_pass++;
        }
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        if (fr_is_pipeline_definition(no[i])) {
            fprintf(stderr, "  taken for a pipeline definition: %s\n", no[i]);
            check_fail++;
        } else {
            check_pass++;
        }
    CHECK(!fr_is_pipeline_definition(NULL));
}

int main(void)
{
    test_good();
    test_indicators();
    alarm(60); /* a regression to a blocking open fails here instead of hanging */
    test_errors();
    test_numbers();
    test_hostile_yaml();
    test_mutations();
    test_builtin_and_override();
    test_special_files();
    test_cache();
    return check_done("test_rules");
}
