/*
 * cmd_rules.c: 'ferret rules list' and 'ferret rules check'. The check compiles
 * every rule alone in both engines, then runs every example and negative example
 * through the real engine, and again through a test engine that makes every
 * offset a candidate: any difference means the Hyperscan prefilter loses a match.
 * Every rule needs at least 3 examples and 3 negative examples, and a rule with a
 * validator at least one example that passes it. Then every rule's cost is
 * timed (check_costs): an outlier fails the check.
 */
#include "cli/cli.h"
#include "detect/detect.h"
#include "rules/rules.h"
#include "util/util.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int matches_rule(fr_scanner *sc, size_t rule, const char *text, size_t *count,
                        const fr_match **first)
{
    const fr_match *m;
    size_t n;
    if (fr_scan(sc, (const unsigned char *)text, strlen(text), &m, &n)) return FR_ERR;
    *count = 0;
    *first = NULL;
    for (size_t i = 0; i < n; i++)
        if (m[i].rule == rule) {
            if (!*first) *first = &m[i];
            (*count)++;
        }
    return FR_OK;
}

static size_t check_costs(const fr_ruleset *rs);

static int check(const fr_ruleset *rs)
{
    fr_buf errs = {0};
    size_t bad = fr_engine_check_compile(rs, &errs);
    if (bad) {
        fputs(errs.p, stderr);
        fr_buf_release(&errs);
        fprintf(stderr, "ferret: rules check failed: %zu rule%s do not compile\n", bad,
                bad == 1 ? "" : "s");
        return FR_EXIT_ERROR;
    }
    fr_engine *fast = NULL, *slow = NULL;
    fr_scanner *sf = NULL, *ss = NULL;
    fr_engine_opts every = {.every_position = 1};
    if (fr_engine_new(&fast, rs, NULL) || fr_engine_new(&slow, rs, &every) ||
        fr_scanner_new(&sf, fast) || fr_scanner_new(&ss, slow)) {
        fr_cli_error("%s", fr_error());
        fr_scanner_free(sf), fr_scanner_free(ss), fr_engine_free(fast), fr_engine_free(slow);
        return FR_EXIT_ERROR;
    }
    size_t failures = 0, nex = 0, nneg = 0;
    for (size_t r = 0; r < rs->n; r++) {
        const fr_rule *rule = &rs->rules[r];
        size_t validated = 0;
        for (size_t i = 0; i < rule->nexamples + rule->nnegatives; i++) {
            int positive = i < rule->nexamples;
            const fr_rule_example *ex =
                positive ? &rule->examples[i] : &rule->negatives[i - rule->nexamples];
            size_t nf = 0, ns = 0;
            const fr_match *mf, *ms;
            if (matches_rule(sf, r, ex->text, &nf, &mf) ||
                matches_rule(ss, r, ex->text, &ns, &ms)) {
                fprintf(stderr, "%s:%d: rule %s: scan failed: %s\n", rule->file, ex->line, rule->id,
                        fr_error());
                failures++;
                continue;
            }
            if (positive) {
                nex++;
                validated += nf && mf->validated != FR_VALID_NONE;
            } else
                nneg++;
            if (positive && nf == 0) {
                fprintf(stderr, "%s:%d: rule %s: example does not match%s\n", rule->file, ex->line,
                        rule->id,
                        ns ? " (the confirm step matches it: the Hyperscan prefilter misses it)"
                           : "");
                failures++;
            } else if (!positive && nf) {
                fr_buf pv = {0};
                fr_redact(ex->text + mf->sstart, mf->send - mf->sstart, &pv);
                fprintf(stderr,
                        "%s:%d: rule %s: negative example matches (secret %s at column %zu)\n",
                        rule->file, ex->line, rule->id, pv.p, mf->column);
                fr_buf_release(&pv);
                failures++;
            } else if (nf != ns) {
                fprintf(
                    stderr,
                    "%s:%d: rule %s: Hyperscan finds %zu match(es), the confirm step alone %zu\n",
                    rule->file, ex->line, rule->id, nf, ns);
                failures++;
            }
        }
        /* Every rule documents itself with at least three of each. */
        if (rule->nexamples < 3 || rule->nnegatives < 3) {
            fprintf(stderr,
                    "%s:%d: rule %s: needs at least 3 examples and 3 negative examples (has %zu "
                    "and %zu)\n",
                    rule->file, rule->line, rule->id, rule->nexamples, rule->nnegatives);
            failures++;
        }
        /* A validator no example passes is a validator that does not fit its rule. */
        if (rule->validate && validated == 0) {
            fprintf(stderr, "%s:%d: rule %s: no example passes the '%s' validator\n", rule->file,
                    rule->line, rule->id, rule->validate);
            failures++;
        }
    }
    fr_scanner_free(sf), fr_scanner_free(ss), fr_engine_free(fast), fr_engine_free(slow);
    failures += check_costs(rs);
    if (failures) {
        fprintf(stderr, "ferret: rules check failed: %zu problem%s\n", failures,
                failures == 1 ? "" : "s");
        return FR_EXIT_ERROR;
    }
    printf("rules check passed: %zu rules, %zu examples, %zu negative examples (rule set %.16s)\n",
           rs->n, nex, nneg, rs->hash);
    return FR_EXIT_CLEAN;
}

/*
 * Rule cost. Every rule is compiled alone and run alone over a fixed text
 * (cost_text: 1 MiB of generated source and config lines, dense in the words
 * rules anchor on — token, key, secret, password, Bearer, = and quotes — with
 * a drawn value one time in sixteen, so a rule that anchors badly or confirms
 * expensively shows). A rule fails the check when it costs more than
 * RULE_COST_FACTOR times the median rule and more than the floor: to scan,
 * RULE_SCAN_FLOOR_S of CPU for the text (slower than ~70 MB/s for one rule
 * alone on this keyword-dense text; the generic rules, the costliest by
 * design, take ~8 ms in a Release build, the median rule 0.1 ms); to compile,
 * RULE_COMPILE_FLOOR_S (the generic rules compile in 50-90 ms alone, 25x a
 * median that is itself only ~3 ms, so a lower floor fails them on noise; a
 * fifth of the whole set's budget for one rule is an outlier). The whole rule set should compile
 * (uncached) within RULESET_COMPILE_MAX_S of CPU (a warning beyond it, not a failure: that figure
 * is the host's too). CPU time, not wall time: the figures hold on a loaded machine.
 * FERRET_RULE_COSTS=1 prints every rule's figures.
 */
#define RULE_COST_FACTOR      25.0
#define RULE_SCAN_FLOOR_S     0.015
#define RULE_COMPILE_FLOOR_S  0.2
#define RULESET_COMPILE_MAX_S 1.0
#define COST_TEXT_SIZE        (COSTS_ENFORCED ? 1u << 20 : 1u << 16)
/* A Debug or sanitizer build reports the figures but fails no rule on them:
 * instrumented code is several times slower, and not what ships. */
#if defined(NDEBUG) && !defined(__SANITIZE_ADDRESS__)
#define COSTS_ENFORCED 1
#else
#define COSTS_ENFORCED 0
#endif

static uint32_t cost_rand(uint32_t *st)
{
    uint32_t x = *st;
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    return *st = x;
}

static void cost_text(fr_buf *b)
{
    static const char *const W[] = {
        "token",    "api_key", "secret", "password", "client", "access", "auth",   "config",
        "session",  "user",    "name",   "value",    "key",    "id",     "url",    "request",
        "response", "header",  "Bearer", "data",     "result", "buffer", "server", "default"};
    static const char ALNUM[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    uint32_t st = 0x9e3779b9u;
    size_t nw = sizeof W / sizeof *W;
    while (b->len < COST_TEXT_SIZE) {
        const char *a = W[cost_rand(&st) % nw], *c = W[cost_rand(&st) % nw];
        /* a value: an identifier mostly, a drawn string one time in sixteen */
        char v[40];
        if (cost_rand(&st) % 16) {
            snprintf(v, sizeof v, "%s.%s", c, a);
        } else {
            size_t vl = 8 + cost_rand(&st) % 24;
            for (size_t i = 0; i < vl; i++)
                v[i] = ALNUM[cost_rand(&st) % 62];
            v[vl] = 0;
        }
        switch (cost_rand(&st) % 10) {
        case 0:
            fr_buf_printf(b, "    %s_%s = get_%s(%s, \"%s\")\n", a, c, c, a, v);
            break;
        case 1:
            fr_buf_printf(b, "%s_%s: %s\n", a, c, v);
            break;
        case 2:
            fr_buf_printf(b, "  \"%s%s\": \"%s\",\n", a, c, v);
            break;
        case 3:
            fr_buf_printf(b, "curl -H \"Authorization: Bearer $%s\" https://%s.internal/%s?%s=%s\n",
                          c, a, c, a, v);
            break;
        case 4:
        case 5:
            fr_buf_printf(b, "# the %s is read from the %s %s before the %s\n", a, c, a, c);
            break;
        case 6:
            fr_buf_printf(b, "export %s_%s=$%s\n", a, c, a);
            break;
        case 7:
            fr_buf_printf(b, "if (%s.%s == null) { return %s(%s); }\n", a, c, c, v);
            break;
        case 8:
            fr_buf_printf(b, "    for (i = 0; i < n; i++) %s[i] = %s[i] ^ mask;\n", a, c);
            break;
        default:
            fr_buf_printf(b, "<%s>%s</%s> %s=%s;%s=%s\n", a, v, a, c, v, a, c);
        }
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Times every rule and the whole set; prints the costliest and returns the
 * number of outliers (a rule set compile over its budget counts as one). */
static size_t check_costs(const fr_ruleset *rs)
{
    fr_buf text = {0};
    cost_text(&text);
    fr_rule_cost *c = fr_xcalloc(rs->n ? rs->n : 1, sizeof *c);
    double *v = fr_xcalloc(rs->n ? rs->n : 1, sizeof *v);
    size_t bad = 0;
    if (fr_engine_rule_costs(rs, (const unsigned char *)text.p, text.len, c)) {
        fprintf(stderr, "ferret: rules check: timing failed: %s\n", fr_error());
        bad++;
    } else if (rs->n) {
        for (size_t i = 0; i < rs->n; i++)
            v[i] = c[i].scan_s;
        qsort(v, rs->n, sizeof *v, cmp_double);
        double scan_med = v[rs->n / 2], scan_max = v[rs->n - 1];
        for (size_t i = 0; i < rs->n; i++)
            v[i] = c[i].compile_s;
        qsort(v, rs->n, sizeof *v, cmp_double);
        double comp_med = v[rs->n / 2];
        double scan_lim = RULE_COST_FACTOR * scan_med > RULE_SCAN_FLOOR_S
                              ? RULE_COST_FACTOR * scan_med
                              : RULE_SCAN_FLOOR_S;
        double comp_lim = RULE_COST_FACTOR * comp_med > RULE_COMPILE_FLOOR_S
                              ? RULE_COST_FACTOR * comp_med
                              : RULE_COMPILE_FLOOR_S;
        size_t worst = 0;
        for (size_t i = 0; i < rs->n; i++) {
            const fr_rule *r = &rs->rules[i];
            if (getenv("FERRET_RULE_COSTS")) /* every rule's figures, for tuning */
                printf("cost %-36s scan %8.3f ms  compile %6.1f ms  candidates %6llu\n", r->id,
                       c[i].scan_s * 1e3, c[i].compile_s * 1e3, (unsigned long long)c[i].hits);
            worst = c[i].scan_s > c[worst].scan_s ? i : worst;
            if (COSTS_ENFORCED && c[i].scan_s > scan_lim) {
                fprintf(stderr,
                        "%s:%d: rule %s: costs %.2f ms to scan the rule-cost text alone (%llu "
                        "candidates, %llu confirms); the limit is %.2f ms (%.0fx the median "
                        "rule's %.3f ms, at least %.0f ms)\n",
                        r->file, r->line, r->id, c[i].scan_s * 1e3, (unsigned long long)c[i].hits,
                        (unsigned long long)c[i].confirms, scan_lim * 1e3, RULE_COST_FACTOR,
                        scan_med * 1e3, RULE_SCAN_FLOOR_S * 1e3);
                bad++;
            }
            if (COSTS_ENFORCED && c[i].compile_s > comp_lim) {
                fprintf(stderr,
                        "%s:%d: rule %s: takes %.0f ms to compile alone; the limit is %.0f ms\n",
                        r->file, r->line, r->id, c[i].compile_s * 1e3, comp_lim * 1e3);
                bad++;
            }
        }
        printf("rule cost (CPU, %zu KiB text): scan median %.3f ms, max %.3f ms (%s); compile "
               "median %.1f ms\n",
               text.len >> 10, scan_med * 1e3, scan_max * 1e3, rs->rules[worst].id, comp_med * 1e3);
    }
    /* the whole set, uncached, as a scan compiles it (the better of two: a
     * busy machine inflates CPU time too); a Debug / sanitizer build skips it */
    double t = 0;
    int rc = FR_OK;
    for (int run = 0; COSTS_ENFORCED && run < 2 && rc == FR_OK; run++) {
        fr_engine *e = NULL;
        double t0 = fr_thread_cpu_seconds();
        rc = fr_engine_new(&e, rs, NULL);
        double tr = fr_thread_cpu_seconds() - t0;
        fr_engine_free(e);
        t = run == 0 || tr < t ? tr : t;
    }
    if (!COSTS_ENFORCED) {
        printf("rule costs: Debug / sanitizer build, 64 KiB text, limits not enforced\n");
    } else if (rc == FR_OK) {
        printf("rule set compile (uncached, CPU): %.0f ms\n", t * 1e3);
        /* A warning, not a failure: the whole set's compile time is the
         * machine's as much as the rules' (on a 2-core VM at load 20 the same
         * set took 0.93 s of CPU where it takes 0.6 s idle), so a valid rule
         * set must not fail its check on a slow or busy host; an outlier rule
         * above fails on its cost relative to the others. */
        if (COSTS_ENFORCED && t > RULESET_COMPILE_MAX_S)
            fprintf(stderr,
                    "ferret: warning: the rule set takes %.0f ms to compile (CPU); the budget is "
                    "%.0f ms (a compiled set is cached: only the first scan pays it)\n",
                    t * 1e3, RULESET_COMPILE_MAX_S * 1e3);
    }
    free(c), free(v);
    fr_buf_release(&text);
    return bad;
}

static void list(const fr_ruleset *rs)
{
    printf("%-28s %-9s %-10s %-10s %s\n", "ID", "SEVERITY", "CONFIDENCE", "ATT&CK", "NAME");
    for (size_t i = 0; i < rs->n; i++) {
        const fr_rule *r = &rs->rules[i];
        printf("%-28s %-9s %-10s %-10s %s\n", r->id, r->severity, r->confidence, r->attack,
               r->name);
    }
    printf("%zu rules (rule set %.16s)\n", rs->n, rs->hash);
}

int fr_cmd_rules(int argc, char **argv)
{
    static const struct option opts[] = {
        {"rules", required_argument, NULL, 'r'}, {"help", no_argument, NULL, 'h'}, {0}};
    const char *dir = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "r:h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            dir = optarg;
            break;
        case 'h':
            puts("usage: ferret rules list|check [--rules DIR]\n"
                 "  --rules DIR  add rule files from DIR (a file named like a built-in one\n"
                 "               replaces it)");
            return FR_EXIT_CLEAN;
        default:
            return FR_EXIT_ERROR;
        }
    }
    if (optind >= argc || (strcmp(argv[optind], "list") && strcmp(argv[optind], "check"))) {
        fr_cli_error("usage: ferret rules list|check [--rules DIR]");
        return FR_EXIT_ERROR;
    }
    fr_ruleset *rs = NULL;
    if (fr_rules_load(&rs, dir)) {
        fprintf(stderr, "%s\n", fr_error());
        fr_cli_error("cannot load the rules");
        return FR_EXIT_ERROR;
    }
    int rc = FR_EXIT_CLEAN;
    if (!strcmp(argv[optind], "list"))
        list(rs);
    else
        rc = check(rs);
    fr_ruleset_free(rs);
    return rc;
}
