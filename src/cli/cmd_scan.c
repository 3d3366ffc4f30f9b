/*
 * cmd_scan.c: 'ferret scan PATH...'. Loads rules, compiles the engine, opens the
 * store, records a run, feeds every target through the pipeline and closes the
 * run as complete or incomplete. SIGINT/SIGTERM stop the walk; what was scanned
 * is committed and the run is marked incomplete.
 */
#include "cli/cli.h"
#include "detect/detect.h"
#include "pipeline/pipeline.h"
#include "rules/rules.h"
#include "sources/sources.h"
#include "store/store.h"
#include "util/util.h"

#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_MAX_FILE_SIZE (64ull << 20)
#define HARD_MAX_FILE_SIZE    (1ull << 30)
/* Long options without a short letter (values past any character). */
enum { OPT_STRICT = 0x100 };

static void on_signal(int sig)
{
    (void)sig;
    fr_interrupted = 1;
}

static void usage(FILE *out)
{
    fputs("usage: ferret scan [options] PATH...\n"
          "PATH is a file, a directory, a git repository (work tree or bare), or a directory\n"
          "holding repositories at any depth: their whole history is scanned.\n"
          "  --db FILE             findings database (default ferret.db)\n"
          "  --rules DIR           add or override rule files from DIR\n"
          "  --threads N           scanning threads (default: number of cores)\n"
          "  --max-file-size SIZE  skip (and record) larger files, e.g. 64M (default 64M, max 1G)\n"
          "  --store-secrets       also store plaintext secrets in the DB (off by default)\n"
          "  --busy-timeout MS     wait this long for a DB locked by another ferret (5000)\n"
          "  --verify-hashes       re-hash every git object read (slower; off by default)\n"
          "  --exit-on-new         exit 1 only when this run found findings not seen before\n"
          "                        (for schedulers; 'ferret report --new-only' lists them)\n"
          "  --full                read every file and repository again, even unchanged ones\n"
          "  --no-cache            compile the rules even if a compiled copy is cached\n"
          "                        (cache: $FERRET_CACHE_DIR, else $XDG_CACHE_HOME/ferret,\n"
          "                        else ~/.cache/ferret)\n"
          "  --quiet               print nothing but errors\n"
          "  --strict              exit 2 when any content was skipped (a corrupt or\n"
          "                        encrypted archive, a size limit), not only on errors\n"
          "exit codes: 0 no findings, 1 findings, 2 error or incomplete scan (skipped\n"
          "content is listed by 'ferret report --skipped', and is not an error)\n",
          out);
}

typedef struct {
    char **paths;
    size_t n;
} repo_list;

static void on_repo(const char *path, void *ctx)
{
    repo_list *l = ctx;
    char *abs = realpath(path, NULL);
    l->paths = fr_xrealloc(l->paths, (l->n + 1) * sizeof *l->paths);
    l->paths[l->n++] = abs ? abs : fr_xstrdup(path);
}

typedef struct {
    fr_store *store;
    const char *rules_hash;
} file_check;

/* Prints the last error with any secret in a path it quotes redacted, and adds
 * it to the run's note (when note is not NULL). */
static void error_redacted(fr_scanner *sc, fr_buf *note)
{
    fr_buf shown = {0};
    fr_redact_path(sc, fr_error(), &shown);
    fr_cli_error("%s", shown.p);
    if (note) fr_buf_printf(note, "%s%s", note->len ? "; " : "", shown.p);
    fr_buf_release(&shown);
}

static int file_unchanged(void *ctx, const char *path, uint64_t size, int64_t mtime_ns, char *key,
                          size_t keysz)
{
    file_check *fc = ctx;
    return fr_store_file_unchanged(fc->store, path, size, mtime_ns, fc->rules_hash, key, keysz) ==
           FR_OK;
}

static int add_known(const char *hex, int has_matches, void *ctx)
{
    fr_known_blobs_add(ctx, hex, has_matches);
    return FR_OK;
}

/* The live progress line: stderr on a TTY only, redrawn four times a second. */
typedef struct {
    fr_progress *pr;
    double t0;
    _Atomic int stop;
} progress_ctx;

static void *progress_main(void *arg)
{
    progress_ctx *c = arg;
    /* The first line is drawn at once, even when the scan is already over. */
    for (int first = 1;; first = 0) {
        struct timespec ts = {0, 250 * 1000000L};
        if (!first) nanosleep(&ts, NULL);
        if (!first && atomic_load(&c->stop)) break;
        fr_progress *pr = c->pr;
        double secs = fr_monotonic() - c->t0;
        uint64_t done = atomic_load(&pr->done), sub = atomic_load(&pr->submitted);
        uint64_t rt = atomic_load(&pr->repos_total), rd = atomic_load(&pr->repos_done);
        double mb = (double)atomic_load(&pr->bytes) / 1e6;
        char eta[48] = "";
        if (rd == rt && done && sub > done) /* everything is submitted: an estimate */
            snprintf(eta, sizeof eta, ", ETA %.0fs", (double)(sub - done) * secs / (double)done);
        fprintf(stderr,
                "\r\033[Kferret: repos %llu/%llu, commits %llu, items %llu/%llu, %.1f MB, "
                "%.1f MB/s%s",
                (unsigned long long)rd, (unsigned long long)rt,
                (unsigned long long)atomic_load(&pr->commits), (unsigned long long)done,
                (unsigned long long)sub, mb, secs > 0 ? mb / secs : 0.0, eta);
    }
    fprintf(stderr, "\r\033[K");
    return NULL;
}

static int record_rules(fr_store *st, const fr_ruleset *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        const fr_rule *r = &rs->rules[i];
        fr_buf refs = {0};
        for (size_t j = 0; j < r->nreferences; j++)
            fr_buf_printf(&refs, "%s%s", j ? "\n" : "", r->references[j]);
        fr_rule_meta m = {r->id,         r->name,   r->description, r->severity,
                          r->confidence, r->attack, refs.p};
        int rc = fr_store_put_rule(st, &m);
        fr_buf_release(&refs);
        if (rc) return rc;
    }
    return FR_OK;
}

int fr_cmd_scan(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"rules", required_argument, NULL, 'r'},
                                         {"threads", required_argument, NULL, 't'},
                                         {"max-file-size", required_argument, NULL, 'm'},
                                         {"store-secrets", no_argument, NULL, 'S'},
                                         {"busy-timeout", required_argument, NULL, 'b'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"verify-hashes", no_argument, NULL, 'V'},
                                         {"no-cache", no_argument, NULL, 'C'},
                                         {"full", no_argument, NULL, 'F'},
                                         {"exit-on-new", no_argument, NULL, 'N'},
                                         {"strict", no_argument, NULL, OPT_STRICT},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    const char *db_path = "ferret.db", *rules_dir = NULL;
    int threads = fr_ncpus(), store_secrets = 0, quiet = 0, busy_ms = 5000, verify = 0,
        no_cache = 0, full = 0, exit_on_new = 0, strict = 0;
    uint64_t max_size = DEFAULT_MAX_FILE_SIZE;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:r:t:m:Sb:qVCFNh", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db_path = optarg;
            break;
        case 'r':
            rules_dir = optarg;
            break;
        case 't':
            threads = atoi(optarg);
            if (threads < 1 || threads > 256) {
                fr_cli_error("--threads takes a number from 1 to 256");
                return FR_EXIT_ERROR;
            }
            break;
        case 'm':
            if (fr_parse_size(optarg, &max_size) || max_size == 0 ||
                max_size > HARD_MAX_FILE_SIZE) {
                fr_cli_error("--max-file-size takes a size from 1 byte to 1G, like 64M");
                return FR_EXIT_ERROR;
            }
            break;
        case 'S':
            store_secrets = 1;
            break;
        case 'b':
            busy_ms = atoi(optarg);
            break;
        case 'q':
            quiet = 1;
            break;
        case 'V':
            verify = 1;
            break;
        case 'C':
            no_cache = 1;
            break;
        case 'F':
            full = 1;
            break;
        case 'N':
            exit_on_new = 1;
            break;
        case OPT_STRICT:
            strict = 1;
            break;
        case 'h':
            usage(stdout);
            return FR_EXIT_CLEAN;
        default:
            usage(stderr);
            return FR_EXIT_ERROR;
        }
    }
    if (optind >= argc) {
        fr_cli_error("nothing to scan: give one or more paths");
        usage(stderr);
        return FR_EXIT_ERROR;
    }

    fr_ruleset *rs = NULL;
    fr_engine *engine = NULL;
    fr_store *store = NULL;
    fr_scanner *path_sc = NULL;
    int exit_code = FR_EXIT_ERROR;
    if (fr_rules_load(&rs, rules_dir)) {
        fprintf(stderr, "%s\n", fr_error());
        fr_cli_error("cannot load the rules; nothing was scanned");
        goto done;
    }
    fr_buf cache = {0};
    fr_cli_cache_dir(&cache);
    fr_engine_opts eo = {.cache_dir = cache.len && !no_cache ? cache.p : NULL};
    int erc = fr_engine_new(&engine, rs, &eo);
    fr_buf_release(&cache);
    if (erc) {
        fprintf(stderr, "%s\n", fr_error());
        fr_cli_error("cannot compile the rules; nothing was scanned");
        goto done;
    }
    /* The targets and the run's note are stored, errors are printed: a secret
     * in a path they quote is redacted like any location's (paths.c). */
    if (fr_scanner_new(&path_sc, engine)) {
        fr_cli_error("%s", fr_error());
        goto done;
    }
    fr_store_opts so = {.busy_timeout_ms = busy_ms};
    if (fr_store_open(&store, db_path, &so)) {
        error_redacted(path_sc, NULL);
        goto done;
    }
    fr_buf targets = {0}, target = {0};
    for (int i = optind; i < argc; i++) {
        if (i > optind) fr_buf_puts(&targets, "\n");
        fr_redact_path(path_sc, argv[i], &target);
        fr_buf_puts(&targets, target.p);
    }
    fr_buf_release(&target);
    int64_t run_id = 0;
    int rc = fr_store_run_begin(store, targets.p, rs->hash, &run_id);
    fr_buf_release(&targets);
    if (rc == FR_OK) rc = record_rules(store, rs);
    if (rc) {
        error_redacted(path_sc, NULL);
        goto done;
    }

    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND; /* a second signal ends the process at once */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    double t0 = fr_monotonic();
    fr_pipeline *p = NULL;
    fr_pipeline_opts po = {.threads = threads,
                           .max_size = max_size,
                           .store_secrets = store_secrets,
                           .quiet = quiet,
                           .rules_hash = rs->hash};
    if (fr_pipeline_start(&p, &po, engine, store, run_id)) {
        error_redacted(path_sc, NULL);
        goto done;
    }
    int incomplete = 0;
    fr_buf note = {0};
    repo_list repos = {0};
    uint64_t files_unchanged = 0;
    progress_ctx pc = {fr_pipeline_progress(p), fr_monotonic(), 0};
    pthread_t progress_thread;
    int show_progress = !quiet && isatty(STDERR_FILENO) &&
                        pthread_create(&progress_thread, NULL, progress_main, &pc) == 0;
    for (int i = optind; i < argc && !fr_interrupted; i++) {
        file_check fc = {store, rs->hash};
        fr_fs_opts fo = {.max_size = max_size,
                         .on_repo = on_repo,
                         .ctx = &repos,
                         .unchanged = full ? NULL : file_unchanged,
                         .unchanged_ctx = &fc};
        static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
        for (int k = 0; k < 4; k++) { /* never scan our own database */
            fr_buf f = {0};
            struct stat st;
            fr_buf_printf(&f, "%s%s", db_path, suffixes[k]);
            if (stat(f.p, &st) == 0) {
                fo.skip[fo.nskip].dev = (unsigned long long)st.st_dev;
                fo.skip[fo.nskip++].ino = (unsigned long long)st.st_ino;
            }
            fr_buf_release(&f);
        }
        fr_fs_stats fs = {0};
        int src = fr_fs_scan(argv[i], &fo, p, &fs);
        files_unchanged += fs.unchanged;
        if (src && src != FR_EINTR) {
            error_redacted(path_sc, &note);
            incomplete = 1;
        }
    }
    /* Git repositories: skip those unchanged since their last complete scan under
     * these rules; scan the rest, reading only blobs not scanned before. */
    fr_known_blobs *known = NULL;
    fr_git_stats gs = {0};
    char **fingerprints = fr_xcalloc(repos.n + 1, sizeof *fingerprints);
    /* A repository is stored under its path as its locations show it: with any
     * secret in it redacted (paths.c), so the state and touch_repo agree. */
    char **repo_keys = fr_xcalloc(repos.n + 1, sizeof *repo_keys);
    for (size_t i = 0; i < repos.n; i++) {
        fr_buf k = {0};
        fr_redact_path(path_sc, repos.paths[i], &k);
        repo_keys[i] = fr_buf_steal(&k);
    }
    size_t unchanged = 0;
    atomic_store(&pc.pr->repos_total, repos.n);
    for (size_t i = 0; i < repos.n && !fr_interrupted;
         i++, atomic_fetch_add(&pc.pr->repos_done, 1)) {
        char fp[65], old_fp[65], old_rules[65];
        if (fr_git_fingerprint(repos.paths[i], fp)) {
            error_redacted(path_sc, &note);
            incomplete = 1;
            continue;
        }
        if (!full && fr_store_repo_state(store, repo_keys[i], old_fp, old_rules) == FR_OK &&
            !strcmp(fp, old_fp) && !strcmp(old_rules, rs->hash)) {
            unchanged++;
            if (fr_store_touch_repo(store, repo_keys[i], run_id)) {
                error_redacted(path_sc, NULL);
                incomplete = 1;
            }
            continue;
        }
        if (!known) {
            known = fr_known_blobs_new();
            if (fr_store_each_known(store, "git:", rs->hash, add_known, known)) {
                error_redacted(path_sc, NULL);
                incomplete = 1;
            }
        }
        fr_git_opts go = {max_size, full ? NULL : known, verify};
        fr_git_stats one = {0};
        int grc = fr_git_scan(repos.paths[i], &go, p, &one);
        if (grc && grc != FR_EINTR) {
            error_redacted(path_sc, &note);
            incomplete = 1;
        }
        if (one.incomplete) incomplete = 1;
        if (grc == FR_OK && !one.incomplete) fingerprints[i] = fr_xstrdup(fp);
        gs.refs += one.refs, gs.commits += one.commits, gs.trees += one.trees;
        gs.blobs += one.blobs, gs.blobs_known += one.blobs_known;
        gs.unreachable_blobs += one.unreachable_blobs, gs.messages += one.messages;
    }
    fr_pipeline_stats ps;
    if (show_progress) { /* the counters live in the pipeline: stop before finishing it */
        atomic_store(&pc.stop, 1);
        pthread_join(progress_thread, NULL);
    }
    int prc = fr_pipeline_finish(p, &ps);
    if (prc) {
        fr_buf what = {0};
        fr_redact_path(path_sc, fr_error(), &what);
        fr_cli_error("%s", what.p);
        fr_buf_printf(&note, "%sstore: %s", note.len ? "; " : "", what.p);
        fr_buf_release(&what);
        incomplete = 1;
    }
    if (fr_interrupted) {
        fr_buf_printf(&note, "%sinterrupted", note.len ? "; " : "");
        incomplete = 1;
    }
    if (ps.failed) incomplete = 1;
    /* A repository's state is saved only when everything of it was recorded. */
    for (size_t i = 0; i < repos.n; i++) {
        if (fingerprints[i] && !fr_interrupted && !prc &&
            fr_store_set_repo_state(store, repo_keys[i], fingerprints[i], rs->hash, run_id)) {
            error_redacted(path_sc, NULL);
            incomplete = 1;
        }
        free(fingerprints[i]);
        free(repo_keys[i]);
        free(repos.paths[i]);
    }
    free(fingerprints);
    free(repo_keys);
    free(repos.paths);
    fr_known_blobs_free(known);
    uint64_t in_targets = 0;
    if (fr_store_findings_in_run(store, run_id, &in_targets)) {
        error_redacted(path_sc, NULL);
        incomplete = 1;
    }
    fr_run_counts counts = {ps.scanned, ps.skipped, ps.failed, ps.bytes, ps.matches, 0};
    if (note.len) {
        fr_buf shown = {0};
        fr_redact_path(path_sc, note.p, &shown);
        fr_buf_release(&note);
        note = shown;
    }
    if (fr_store_run_end(store, run_id, !incomplete, &counts, note.p)) {
        error_redacted(path_sc, NULL);
        incomplete = 1;
    }
    fr_buf_release(&note);
    double secs = fr_monotonic() - t0;
    fr_run_row run = {0};
    int have_run = fr_store_last_run(store, &run) == FR_OK;
    if (!quiet) {
        fprintf(stderr,
                "ferret: %s run %lld: %llu scanned (%.1f MB in %.2fs), %llu skipped, %llu failed; "
                "%llu matches, %llu new finding%s\n",
                incomplete ? (fr_interrupted ? "INTERRUPTED" : "INCOMPLETE") : "complete",
                (long long)run_id, (unsigned long long)ps.scanned, (double)ps.bytes / 1e6, secs,
                (unsigned long long)ps.skipped, (unsigned long long)ps.failed,
                (unsigned long long)ps.matches,
                (unsigned long long)(have_run ? run.counts.new_findings : 0),
                have_run && run.counts.new_findings == 1 ? "" : "s");
        if (repos.n)
            fprintf(stderr,
                    "ferret: git: %zu repositor%s (%zu unchanged), %llu refs, %llu commits, "
                    "%llu trees, %llu blobs read, %llu already scanned, %llu unreachable\n",
                    repos.n, repos.n == 1 ? "y" : "ies", unchanged, (unsigned long long)gs.refs,
                    (unsigned long long)gs.commits, (unsigned long long)gs.trees,
                    (unsigned long long)gs.blobs, (unsigned long long)gs.blobs_known,
                    (unsigned long long)gs.unreachable_blobs);
        if (files_unchanged)
            fprintf(stderr, "ferret: %llu file%s unchanged since the last sweep (not read again)\n",
                    (unsigned long long)files_unchanged, files_unchanged == 1 ? "" : "s");
        fprintf(stderr, "ferret: the scanned targets hold %llu finding%s\n",
                (unsigned long long)in_targets, in_targets == 1 ? "" : "s");
        /* Skipped content (damaged or encrypted archives, size limits) does not
         * make the scan incomplete: one line says so, --strict makes it fatal. */
        if (ps.skipped)
            fprintf(stderr,
                    "ferret: warning: %llu item%s skipped or read in part (corrupt, encrypted or "
                    "over a limit; raw bytes scanned where there were any)%s\n",
                    (unsigned long long)ps.skipped, ps.skipped == 1 ? "" : "s",
                    strict ? ": --strict makes this exit 2" : "");
        if (ps.skipped || ps.failed)
            fprintf(stderr,
                    "ferret: 'ferret report --skipped --db %s' lists what was not scanned\n",
                    db_path);
        if (in_targets)
            fprintf(stderr, "ferret: 'ferret report --db %s' shows the findings\n", db_path);
    }
    if (incomplete || (strict && ps.skipped))
        exit_code = FR_EXIT_ERROR;
    else
        exit_code = (exit_on_new ? have_run && run.counts.new_findings : in_targets)
                        ? FR_EXIT_FINDINGS
                        : FR_EXIT_CLEAN;
done:
    fr_store_close(store);
    fr_scanner_free(path_sc);
    fr_engine_free(engine);
    fr_ruleset_free(rs);
    return exit_code;
}
