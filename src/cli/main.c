/*
 * main.c: command dispatch and top-level help.
 */
#include "cli/cli.h"

#include <stdarg.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdlib.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>

void fr_cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ferret: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void fr_cli_cache_dir(fr_buf *out)
{
    const char *own = getenv("FERRET_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    if (own && *own) {
        fr_buf_puts(out, own);
    } else if (xdg && *xdg) {
        fr_buf_printf(out, "%s/ferret", xdg);
    } else if (home && *home) {
        fr_buf_printf(out, "%s/.cache", home);
        mkdir(out->p, 0700);
        fr_buf_puts(out, "/ferret");
    }
}

static void usage(FILE *out)
{
    fputs("usage: ferret <command> [options]\n"
          "\n"
          "commands:\n"
          "  scan PATH...      scan files and directories, record findings in the DB\n"
          "  report            show recorded findings (text, json, jsonl, sarif, html)\n"
          "  triage ID...      mark findings open, accepted, false-positive or revoked\n"
          "  rules list        list the rules\n"
          "  rules check       compile every rule and run its examples\n"
          "  hook pre-receive  git pre-receive hook: reject pushes that add secrets\n"
          "  hook pre-commit   git pre-commit hook: block a commit of staged secrets\n"
          "  hook pre-push     git pre-push hook: block a push of commits with secrets\n"
          "  merge             fold shard databases into one organisation database\n"
          "  version           print the version\n"
          "\n"
          "'ferret <command> --help' describes a command's options.\n"
          "exit codes: 0 no findings, 1 findings, 2 error\n",
          out);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return FR_EXIT_ERROR;
    }
#ifdef __GLIBC__
    /* glibc hands the top of a heap back to the kernel once 128 KB of it is
     * free (and the worker threads' heaps too), so a scan that frees and
     * allocates one blob's buffers after another faults the same pages in,
     * zeroed, again and again: git/git's full scan, 2.9 - 3.2 s of system
     * time before, 2.5 - 2.7 s with a 1 GB threshold (peak RSS +5 MB: memory
     * kept, not more of it used). Setting it also fixes glibc's mmap
     * threshold at 128 KB (no longer raised as large blocks are freed), so
     * that is set too: a blob's buffers of up to 64 MB come from the heap, not
     * a fresh mapping each (system time 2.10 / 1.63 -> 1.92 / 1.56 s, 2
     * alternated pairs). GLIBC_TUNABLES, when set, has the say. */
    if (!getenv("GLIBC_TUNABLES")) {
        (void)mallopt(M_TRIM_THRESHOLD, 1 << 30);
        (void)mallopt(M_MMAP_THRESHOLD, 64 << 20);
    }
#endif
    const char *cmd = argv[1];
    if (!strcmp(cmd, "scan")) return fr_cmd_scan(argc - 1, argv + 1);
    if (!strcmp(cmd, "report")) return fr_cmd_report(argc - 1, argv + 1);
    if (!strcmp(cmd, "rules")) return fr_cmd_rules(argc - 1, argv + 1);
    if (!strcmp(cmd, "hook")) return fr_cmd_hook(argc - 1, argv + 1);
    if (!strcmp(cmd, "triage")) return fr_cmd_triage(argc - 1, argv + 1);
    if (!strcmp(cmd, "merge")) return fr_cmd_merge(argc - 1, argv + 1);
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("ferret %s\n", FERRET_VERSION);
        return FR_EXIT_CLEAN;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return FR_EXIT_CLEAN;
    }
    fr_cli_error("unknown command '%s'", cmd);
    usage(stderr);
    return FR_EXIT_ERROR;
}
