/*
 * cmd_merge.c: 'ferret merge --db ORG.db SHARD.db...': folds shard stores (and
 * yesterday's organisation store) into one. The checks and the copy are the
 * store's (fr_store_merge); this file parses options and reports.
 */
#include "cli/cli.h"
#include "store/store.h"
#include "util/util.h"

#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <sqlite3.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

/* Long options without a short letter. */
enum { OPT_INCOMPLETE = 0x100, OPT_MIXED, OPT_KEY };

static void on_signal(int sig)
{
    (void)sig;
    fr_interrupted = 1;
}

static void usage(FILE *out)
{
    fputs("usage: ferret merge --db ORG.db [options] STORE.db...\n"
          "Folds shard stores (ferret scan --shard) and other ferret stores into ORG.db\n"
          "(created if absent): findings deduplicated by rule and secret, their\n"
          "occurrences and locations unioned, runs recorded with their shard, the\n"
          "incremental state and triage carried. One transaction: an interrupted merge\n"
          "leaves ORG.db as it was; merging a store twice changes nothing.\n"
          "  --db FILE             the organisation database (required)\n"
          "  --key FILE            its secret key (finding ids; default FILE.key beside\n"
          "                        it, or $FERRET_KEY_FILE): give shards the same key\n"
          "  --allow-incomplete    merge although a shard of a set is missing or incomplete\n"
          "  --allow-mixed         merge stores scanned with other rules, or of an older\n"
          "                        schema (upgraded in place first)\n"
          "  --busy-timeout MS     wait this long for a DB locked by another ferret (5000)\n"
          "  --quiet               print nothing but errors\n"
          "exit codes: 0 merged, 2 nothing merged (an error, a refused input)\n",
          out);
}

int fr_cmd_merge(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"key", required_argument, NULL, OPT_KEY},
                                         {"allow-incomplete", no_argument, NULL, OPT_INCOMPLETE},
                                         {"allow-mixed", no_argument, NULL, OPT_MIXED},
                                         {"busy-timeout", required_argument, NULL, 'b'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    const char *db_path = NULL, *key = NULL;
    int busy_ms = 5000, quiet = 0, c;
    fr_merge_opts mo = {0};
    /* SQLite's allocation statistics (a global mutex taken around every
     * allocation and free: a merge makes millions) are read by no one. Only
     * possible before SQLite's first use in the process, as here; otherwise
     * SQLITE_MISUSE, and the merge runs as before. Callgrind, one input of
     * 50,000 occurrences into a store of 200,000: 2.857 -> 2.821 G
     * instructions (-1.3%), plus the atomic operations that avoids. */
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:b:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db_path = optarg;
            break;
        case OPT_KEY:
            key = optarg;
            break;
        case OPT_INCOMPLETE:
            mo.allow_incomplete = 1;
            break;
        case OPT_MIXED:
            mo.allow_mixed = 1;
            break;
        case 'b':
            busy_ms = atoi(optarg);
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            usage(stdout);
            return FR_EXIT_CLEAN;
        default:
            usage(stderr);
            return FR_EXIT_ERROR;
        }
    }
    if (!db_path || optind >= argc) {
        fr_cli_error(!db_path ? "--db ORG.db is required" : "nothing to merge: give stores");
        usage(stderr);
        return FR_EXIT_ERROR;
    }
#ifdef __GLIBC__
    /* A merge's page cache and the feed thread's sorters allocate and free
     * hundreds of MB in large blocks: kept by malloc instead of returned to
     * the system and faulted in (zeroed) again, and grown 64 MB at a time
     * (x0.95 of the merge's CPU, a third less system time) */
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    mallopt(M_TOP_PAD, 64 << 20);
#endif
    fr_store *org = NULL;
    fr_store_opts so = {.busy_timeout_ms = busy_ms, .key_path = key};
    if (fr_store_open(&org, db_path, &so)) {
        fr_cli_error("%s", fr_error());
        return FR_EXIT_ERROR;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    double t0 = fr_monotonic();
    fr_merge_stats ms;
    int rc =
        fr_store_merge(org, (const char *const *)argv + optind, (size_t)(argc - optind), &mo, &ms);
    double secs = fr_monotonic() - t0;
    fr_store_close(org);
    if (rc) {
        fr_cli_error("%s", fr_error());
        return FR_EXIT_ERROR;
    }
    if (!quiet)
        fprintf(stderr,
                "ferret: merged %d store%s into %s in %.2fs: %llu run%s added; the inputs hold "
                "%llu findings (%llu new here), %llu matches, %llu locations\n",
                argc - optind, argc - optind == 1 ? "" : "s", db_path, secs,
                (unsigned long long)ms.runs, ms.runs == 1 ? "" : "s",
                (unsigned long long)ms.findings, (unsigned long long)ms.findings_new,
                (unsigned long long)ms.matches, (unsigned long long)ms.locations);
    return FR_EXIT_CLEAN;
}
