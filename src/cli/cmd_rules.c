/*
 * cmd_rules.c: 'ferret rules list' and 'ferret rules check'. The check compiles
 * every rule alone in both engines, then runs every example and negative example
 * through the real engine, and again through a test engine that makes every
 * offset a candidate: any difference means the Hyperscan prefilter loses a match.
 * Every rule needs at least 3 examples and 3 negative examples, and a rule with a
 * validator at least one example that passes it.
 */
#include "cli/cli.h"
#include "detect/detect.h"
#include "rules/rules.h"
#include "util/util.h"

#include <getopt.h>
#include <stdio.h>
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
    if (failures) {
        fprintf(stderr, "ferret: rules check failed: %zu problem%s\n", failures,
                failures == 1 ? "" : "s");
        return FR_EXIT_ERROR;
    }
    printf("rules check passed: %zu rules, %zu examples, %zu negative examples (rule set %.16s)\n",
           rs->n, nex, nneg, rs->hash);
    return FR_EXIT_CLEAN;
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
