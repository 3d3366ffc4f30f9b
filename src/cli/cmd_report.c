/*
 * cmd_report.c: 'ferret report'. Reads the store (read-only) and renders it.
 */
#include "cli/cli.h"
#include "report/report.h"
#include "store/store.h"
#include "util/util.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fputs("usage: ferret report [options]\n"
          "  --db FILE          findings database (default ferret.db)\n"
          "  --key FILE         the store's secret key (default FILE.key beside the DB)\n"
          "  --format FMT       text (default), json, jsonl, sarif or html\n"
          "  --output FILE      write the report to FILE instead of stdout\n"
          "  --summary          counts by severity, rule, repository, status and kind\n"
          "  --rule GLOB        only these rules (comma-separated globs: 'aws.*,github.pat')\n"
          "  --severity LEVEL   at least this severity: low, medium, high, critical\n"
          "  --status LIST      only these statuses (comma-separated: open, accepted,\n"
          "                     false-positive, revoked, baselined)\n"
          "  --repo GLOB        only findings with a location in a matching repository\n"
          "  --path GLOB        only findings with a location at a matching path\n"
          "  --since DATE       introduced on or after DATE (YYYY[-MM[-DD]])\n"
          "  --until DATE       introduced on or before DATE\n"
          "  --validated        only findings whose structure or checksum was validated\n"
          "  --kind KIND        only secrets (leaked credentials) or only indicators\n"
          "                     (threat indicators in CI logs and pipeline definitions)\n"
          "  --sort ORDER       severity (default: critical first, then newest) or rule\n"
          "  --all-locations    text: every location of a secret (default: the first 5)\n"
          "  --color WHEN       auto (default: on a terminal, unless NO_COLOR is set),\n"
          "                     always or never\n"
          "  --new-only         only findings first seen in the latest run\n"
          "  --show-secrets     include plaintext secrets (only if scanned with --store-secrets)\n"
          "  --secret-hashes    JSON/JSONL with secret_sha256, the bare SHA-256 of each secret\n"
          "                     (local use only: it confirms a guessed weak secret; by\n"
          "                     default only the keyed id identifies a finding)\n"
          "  --no-secret-hashes the default; accepted for compatibility\n"
          "  --skipped          list content that was skipped or could not be read, and why\n"
          "exit codes: 0 no findings, 1 findings, 2 error\n",
          out);
}

/* A date bound: YYYY, YYYY-MM or YYYY-MM-DD (compared as a prefix of ISO times). */
static int valid_date(const char *d)
{
    static const char shape[] = "dddd-dd-dd";
    size_t n = strlen(d);
    if (n != 4 && n != 7 && n != 10) return 0;
    for (size_t i = 0; i < n; i++)
        if (shape[i] == 'd' ? !(d[i] >= '0' && d[i] <= '9') : d[i] != '-') return 0;
    return 1;
}

static int valid_statuses(const char *list)
{
    const char *p = list;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char one[32];
        if (n == 0 || n >= sizeof one) return 0;
        memcpy(one, p, n);
        one[n] = 0;
        if (!fr_triage_status_valid(one) && strcmp(one, "baselined")) return 0;
        if (!e) return 1;
        p = e + 1;
    }
}

int fr_cmd_report(int argc, char **argv)
{
    enum {
        O_RULE = 256,
        O_SEV,
        O_STATUS,
        O_REPO,
        O_PATH,
        O_SINCE,
        O_UNTIL,
        O_VALIDATED,
        O_SORT,
        O_ALL,
        O_COLOR,
        O_SUMMARY,
        O_KEY,
        O_NOHASH,
        O_HASH,
        O_KIND
    };
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"format", required_argument, NULL, 'f'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"new-only", no_argument, NULL, 'n'},
                                         {"show-secrets", no_argument, NULL, 's'},
                                         {"skipped", no_argument, NULL, 'k'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"rule", required_argument, NULL, O_RULE},
                                         {"severity", required_argument, NULL, O_SEV},
                                         {"status", required_argument, NULL, O_STATUS},
                                         {"repo", required_argument, NULL, O_REPO},
                                         {"path", required_argument, NULL, O_PATH},
                                         {"since", required_argument, NULL, O_SINCE},
                                         {"until", required_argument, NULL, O_UNTIL},
                                         {"validated", no_argument, NULL, O_VALIDATED},
                                         {"sort", required_argument, NULL, O_SORT},
                                         {"all-locations", no_argument, NULL, O_ALL},
                                         {"color", required_argument, NULL, O_COLOR},
                                         {"colour", required_argument, NULL, O_COLOR},
                                         {"summary", no_argument, NULL, O_SUMMARY},
                                         {"key", required_argument, NULL, O_KEY},
                                         {"no-secret-hashes", no_argument, NULL, O_NOHASH},
                                         {"secret-hashes", no_argument, NULL, O_HASH},
                                         {"kind", required_argument, NULL, O_KIND},
                                         {0}};
    const char *db_path = "ferret.db", *output = NULL, *color = "auto", *key = NULL;
    fr_report_opts ro = {.format = FR_FMT_TEXT};
    ro.filter.sort = FR_SORT_SEVERITY;
    int new_only = 0, skipped = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:f:o:nskh", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db_path = optarg;
            break;
        case 'f':
            if (fr_report_parse_format(optarg, &ro.format)) {
                fr_cli_error("%s", fr_error());
                return FR_EXIT_ERROR;
            }
            break;
        case 'o':
            output = optarg;
            break;
        case 'n':
            new_only = 1;
            break;
        case 's':
            ro.show_secrets = 1;
            break;
        case O_KIND:
            if (strcmp(optarg, "secret") && strcmp(optarg, "indicator")) {
                fr_cli_error("--kind must be secret or indicator, not '%s'", optarg);
                return FR_EXIT_ERROR;
            }
            ro.filter.kind = optarg;
            break;
        case 'k':
            skipped = 1;
            break;
        case 'h':
            usage(stdout);
            return FR_EXIT_CLEAN;
        case O_RULE:
            ro.filter.rule = optarg;
            break;
        case O_SEV:
            if (strcmp(optarg, "low") && strcmp(optarg, "medium") && strcmp(optarg, "high") &&
                strcmp(optarg, "critical")) {
                fr_cli_error("--severity: '%s' is not low, medium, high or critical", optarg);
                return FR_EXIT_ERROR;
            }
            ro.filter.min_severity = optarg;
            break;
        case O_STATUS:
            if (!valid_statuses(optarg)) {
                fr_cli_error("--status: '%s' is not a list of open, accepted, false-positive, "
                             "revoked, baselined",
                             optarg);
                return FR_EXIT_ERROR;
            }
            ro.filter.status = optarg;
            break;
        case O_REPO:
            ro.filter.repo = optarg;
            break;
        case O_PATH:
            ro.filter.path = optarg;
            break;
        case O_SINCE:
        case O_UNTIL:
            if (!valid_date(optarg)) {
                fr_cli_error("--%s: '%s' is not a date (YYYY, YYYY-MM or YYYY-MM-DD)",
                             c == O_SINCE ? "since" : "until", optarg);
                return FR_EXIT_ERROR;
            }
            *(c == O_SINCE ? &ro.filter.since : &ro.filter.until) = optarg;
            break;
        case O_VALIDATED:
            ro.filter.validated = 1;
            break;
        case O_SORT:
            if (!strcmp(optarg, "severity")) {
                ro.filter.sort = FR_SORT_SEVERITY;
            } else if (!strcmp(optarg, "rule")) {
                ro.filter.sort = FR_SORT_RULE;
            } else {
                fr_cli_error("--sort: '%s' is not severity or rule", optarg);
                return FR_EXIT_ERROR;
            }
            break;
        case O_ALL:
            ro.all_locations = 1;
            break;
        case O_COLOR:
            if (strcmp(optarg, "auto") && strcmp(optarg, "always") && strcmp(optarg, "never")) {
                fr_cli_error("--color: '%s' is not auto, always or never", optarg);
                return FR_EXIT_ERROR;
            }
            color = optarg;
            break;
        case O_SUMMARY:
            ro.summary = 1;
            break;
        case O_KEY:
            key = optarg;
            break;
        case O_NOHASH: /* the default now; kept for scripts that pass it */
            ro.secret_hashes = 0;
            break;
        case O_HASH:
            ro.secret_hashes = 1;
            break;
        default:
            usage(stderr);
            return FR_EXIT_ERROR;
        }
    }
    if (optind < argc) {
        fr_cli_error("unexpected argument '%s'", argv[optind]);
        return FR_EXIT_ERROR;
    }
    fr_store *st = NULL;
    fr_store_opts so = {.readonly = 1, .key_path = key};
    if (fr_store_open(&st, db_path, &so)) {
        fr_cli_error("%s", fr_error());
        return FR_EXIT_ERROR;
    }
    FILE *out = stdout;
    if (output && !(out = fopen(output, "w"))) {
        fr_cli_error("%s: cannot write", output);
        fr_store_close(st);
        return FR_EXIT_ERROR;
    }
    /* auto: a terminal that is not 'dumb', and no NO_COLOR (https://no-color.org) */
    const char *term = getenv("TERM"), *nc = getenv("NO_COLOR");
    ro.color =
        ro.format == FR_FMT_TEXT &&
        (!strcmp(color, "always") || (!strcmp(color, "auto") && !output && isatty(STDOUT_FILENO) &&
                                      !(nc && *nc) && !(term && !strcmp(term, "dumb"))));
    int rc = FR_OK;
    size_t n = 0;
    if (new_only) {
        fr_run_row run;
        rc = fr_store_last_run(st, &run);
        if (rc == FR_OK) ro.new_since_run = run.id;
        if (rc == FR_ENOTFOUND) ro.new_since_run = INT64_MAX, rc = FR_OK;
    }
    if (rc == FR_OK) rc = skipped ? fr_report_skipped(st, out) : fr_report_write(st, out, &ro, &n);
    if (rc) fr_cli_error("%s", fr_error());
    if (out != stdout && fclose(out) != 0 && rc == FR_OK) {
        fr_cli_error("%s: write failed", output);
        rc = FR_ERR;
    }
    fr_store_close(st);
    if (rc) return FR_EXIT_ERROR;
    return skipped || n == 0 ? FR_EXIT_CLEAN : FR_EXIT_FINDINGS;
}
