/*
 * cmd_report.c: 'ferret report'. Reads the store (read-only) and renders it.
 */
#include "cli/cli.h"
#include "report/report.h"
#include "store/store.h"
#include "util/util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fputs("usage: ferret report [options]\n"
          "  --db FILE          findings database (default ferret.db)\n"
          "  --format FMT       text (default), json, jsonl or sarif\n"
          "  --output FILE      write the report to FILE instead of stdout\n"
          "  --new-only         only findings first seen in the latest run\n"
          "  --show-secrets     include plaintext secrets (only if scanned with --store-secrets)\n"
          "  --skipped          list content that was skipped or could not be read, and why\n"
          "exit codes: 0 no findings, 1 findings, 2 error\n",
          out);
}

int fr_cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},     {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'}, {"new-only", no_argument, NULL, 'n'},
        {"show-secrets", no_argument, NULL, 's'}, {"skipped", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},         {0}};
    const char *db_path = "ferret.db", *output = NULL;
    fr_report_opts ro = {FR_FMT_TEXT, 0, 0, 0};
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
        case 'k':
            skipped = 1;
            break;
        case 'h':
            usage(stdout);
            return FR_EXIT_CLEAN;
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
    fr_store_opts so = {.readonly = 1};
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
    ro.color = !output && ro.format == FR_FMT_TEXT && isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
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
