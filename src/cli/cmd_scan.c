/*
 * cmd_scan.c: 'ferret scan PATH...'. Loads rules, compiles the engine, opens the
 * store, records a run, feeds every target through the pipeline and closes the
 * run as complete or incomplete. SIGINT/SIGTERM stop the walk; what was scanned
 * is committed and the run is marked incomplete.
 */
#include "cli/cli.h"
#include "config/config.h"
#include "detect/detect.h"
#include "pipeline/pipeline.h"
#include "rules/rules.h"
#include "sources/sources.h"
#include "store/store.h"
#include "util/limits.h"
#include "util/shard.h"
#include "util/util.h"

#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_MAX_FILE_SIZE (64ull << 20)
#define HARD_MAX_FILE_SIZE    (1ull << 30)
/* Long options without a short letter (values past any character). */
enum {
    OPT_STRICT = 0x100,
    OPT_SINCE,
    OPT_RANGE,
    OPT_SHARD,
    OPT_SHARD_SET,
    OPT_KEY,
    OPT_IGNORED,
    OPT_CONFIG,
    OPT_NO_CONFIG
};

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
          "  --shard I/N           scan only shard I of N (0 <= I < N): below a target,\n"
          "                        files and repositories by their relative path; a target\n"
          "                        repository's blobs by id (every shard walks its history)\n"
          "  --shard auto          I and N from the scheduler (SLURM_ARRAY_TASK_ID/COUNT,\n"
          "                        JOB_COMPLETION_INDEX + JOB_COMPLETIONS, FERRET_SHARD_*)\n"
          "  --shard-set NAME      the set the shard belongs to (default: $FERRET_SHARD_SET,\n"
          "                        the Slurm array job, the CI run; 'ferret merge' checks it)\n"
          "  --key FILE            the store's secret key (finding ids): shards merged into\n"
          "                        one database share it (default DB.key, $FERRET_KEY_FILE)\n"
          "  --include-ignored     in a work tree, also read files git ignores (untracked\n"
          "                        files that are not ignored are always read)\n"
          "  --config FILE         settings (exclusions, allowlists, disabled rules, severity,\n"
          "                        baseline; default: .ferret.yml at the scanned root)\n"
          "  --no-config           ignore .ferret.yml files\n"
          "  --quiet               print nothing but errors\n"
          "  --since REV           git: scan only the commits after REV (REV..HEAD)\n"
          "  --range A..B          git: scan only the commits in A..B (a pull request)\n"
          "  --strict              exit 2 when any content was skipped (a corrupt or\n"
          "                        encrypted archive, a size limit), not only on errors\n"
          "exit codes: 0 no findings, 1 findings, 2 error or incomplete scan (skipped\n"
          "content is listed by 'ferret report --skipped', and is not an error)\n",
          out);
}

typedef struct {
    char **paths;
    size_t n;
    /* --shard: the target being walked (absolute), and per repository whether
     * it is a target itself (its blobs are sharded) or found below one (it is
     * one shard's, whole) */
    char *root;
    unsigned char *by_blob;
} repo_list;

static void on_repo(const char *path, void *ctx)
{
    repo_list *l = ctx;
    char *abs = realpath(path, NULL);
    l->paths = fr_xrealloc(l->paths, (l->n + 1) * sizeof *l->paths);
    l->by_blob = fr_xrealloc(l->by_blob, l->n + 1);
    l->by_blob[l->n] = abs && l->root && !strcmp(abs, l->root);
    l->paths[l->n++] = abs ? abs : fr_xstrdup(path);
}

/* --shard: files and repositories below a target by their path relative to
 * it; a target itself ("") is every shard's. */
static int shard_owns_path(void *ctx, const char *relpath)
{
    return !*relpath || fr_shard_owns_name(ctx, relpath);
}

/* --shard of one repository: blobs by id, messages and names by content key. */
static int shard_keeps(void *ctx, const unsigned char *oid, const char *key)
{
    return oid ? fr_shard_owns_oid(ctx, oid) : fr_shard_owns_name(ctx, key);
}

/* The name of this shard's set: every shard of one job array or CI run gives
 * the same (NULL: the store names it after the targets). */
static const char *shard_set_name(const char *given, fr_buf *b)
{
    const char *v;
    if (given) return given;
    if ((v = getenv("FERRET_SHARD_SET")) && *v) return v;
    if ((v = getenv("SLURM_ARRAY_JOB_ID")) && *v) {
        fr_buf_printf(b, "slurm-%s", v);
        return b->p;
    }
    if ((v = getenv("GITHUB_RUN_ID")) && *v) { /* a re-run attempt stays in its set */
        fr_buf_printf(b, "github-%s", v);
        return b->p;
    }
    if ((v = getenv("BUILD_BUILDID")) && *v) {
        fr_buf_printf(b, "azure-%s", v);
        return b->p;
    }
    return NULL;
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

/* Work trees' stat cache (fr_worktree_opts.stat_load/save): rows read from the
 * store as a repository's work tree is looked at; rows of files hashed kept
 * here and saved once the run's results are recorded. */
typedef struct {
    char *path;
    int64_t v[6];
    char oid[41]; /* a blob id in hex */
} wt_saved;
typedef struct {
    fr_store *store;
    fr_scanner *sc; /* paths holding a secret are not kept (the files table's rule) */
    fr_buf shown;
    wt_saved *v;
    size_t n, cap;
} wt_cache;

static int wt_stat_load(void *ctx, const char *prefix,
                        void (*add)(void *actx, const char *path, const int64_t v[6],
                                    const char *oid),
                        void *actx)
{
    wt_cache *c = ctx;
    return fr_store_each_wt_stat(c->store, prefix, add, actx);
}

static void wt_stat_save(void *ctx, const char *path, const int64_t v[6], const char *oid)
{
    wt_cache *c = ctx;
    if (c->sc && fr_redact_path(c->sc, path, &c->shown)) return; /* stays plain otherwise */
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->v = fr_xrealloc(c->v, c->cap * sizeof *c->v);
    }
    wt_saved *w = &c->v[c->n++];
    w->path = fr_xstrdup(path);
    memcpy(w->v, v, sizeof w->v);
    snprintf(w->oid, sizeof w->oid, "%s", oid);
}

/* Saves the rows (save) in one transaction, and frees them. A failure costs
 * only a slower next sweep. */
static int wt_stat_flush(wt_cache *c, int save)
{
    int rc = c->n && save ? fr_store_batch_begin(c->store) : FR_OK;
    for (size_t i = 0; i < c->n; i++) {
        if (rc == FR_OK && save)
            rc = fr_store_put_wt_stat(c->store, c->v[i].path, c->v[i].v, c->v[i].oid);
        free(c->v[i].path);
    }
    if (c->n && save && fr_store_flush(c->store) && rc == FR_OK) rc = FR_ERR;
    free(c->v);
    c->v = NULL;
    c->n = c->cap = 0;
    fr_buf_release(&c->shown);
    return rc;
}

/* Blobs scanned before under the current rules, for git: the whole set loaded
 * once (on the first walk that wants it), or one blob at a time. */
typedef struct {
    fr_store *store;
    const char *rules_hash;
    fr_known_blobs *all;
    int failed;
} known_src;

static int add_known(const char *hex, int has_matches, void *ctx);

static const fr_known_blobs *known_all(void *ctx)
{
    known_src *k = ctx;
    if (!k->all) {
        k->all = fr_known_blobs_new();
        if (fr_store_each_known(k->store, "git:", k->rules_hash, add_known, k->all)) k->failed = 1;
    }
    return k->all;
}

static int known_one(void *ctx, const char *hex, int *has_matches)
{
    known_src *k = ctx;
    char key[64];
    snprintf(key, sizeof key, "git:%s", hex);
    int rc = fr_store_known_one(k->store, key, k->rules_hash, has_matches);
    if (rc && rc != FR_ENOTFOUND) k->failed = 1;
    return rc;
}

/* Rows of the store's git_walked table into a git state. */
static int add_walked(const char *kind, const char *name, const char *oid, void *ctx)
{
    fr_git_state_add(ctx, kind, name, oid);
    return FR_OK;
}

typedef struct {
    const char *kind, *name, *oid;
} walked_row;

/* A git state's rows (into rows, from *k on). */
static void state_rows(const fr_git_state *g, walked_row *rows, size_t *k)
{
    for (size_t i = 0; i < g->ntips; i++)
        rows[(*k)++] = (walked_row){"tip", g->refs[i], g->oids[i]};
    for (size_t i = 0; i < g->npacks; i++)
        rows[(*k)++] = (walked_row){"pack", g->packs[i], ""};
    for (size_t i = 0; i < g->nhides; i++)
        rows[(*k)++] = (walked_row){"hide", "", g->hides[i]};
}

static int cmp_walked(const void *x, const void *y)
{
    const walked_row *a = x, *b = y;
    int c = strcmp(a->kind, b->kind);
    if (!c) c = strcmp(a->name, b->name);
    return c ? c : strcmp(a->oid, b->oid);
}

/* Saves what the scan of one repository walked, for its next incremental scan:
 * with old (the state this scan started from, read from the store under these
 * rules), only the rows that changed are written. */
static int save_walked(fr_store *st, const char *repo, const char *rules_hash,
                       const fr_git_state *g, const fr_git_state *old)
{
    size_t n = g->ntips + g->npacks + g->nhides, no = 0, k = 0, ko = 0, m = 0;
    if (old) no = old->ntips + old->npacks + old->nhides;
    walked_row *a = fr_xcalloc(no + 1, sizeof *a), *b = fr_xcalloc(n + 1, sizeof *b);
    walked_row *rows = fr_xcalloc(no + n + 1, sizeof *rows);
    unsigned char *del = fr_xcalloc(no + n + 1, 1);
    state_rows(g, b, &k);
    if (old) {
        /* both sets sorted, then merged: a row only in the old one is deleted,
         * a row only in the new one inserted (once) */
        state_rows(old, a, &ko);
        qsort(a, no, sizeof *a, cmp_walked);
        qsort(b, n, sizeof *b, cmp_walked);
        for (size_t i = 0, j = 0; i < no || j < n;) {
            if (j && j < n && !cmp_walked(&b[j], &b[j - 1])) {
                j++;
                continue;
            }
            int c = i == no ? 1 : j == n ? -1 : cmp_walked(&a[i], &b[j]);
            if (c == 0)
                i++, j++;
            else if (c < 0)
                del[m] = 1, rows[m++] = a[i++];
            else
                rows[m++] = b[j++];
        }
    } else {
        memcpy(rows, b, n * sizeof *b);
        m = n;
    }
    const char **kinds = fr_xcalloc(m + 1, sizeof *kinds);
    const char **names = fr_xcalloc(m + 1, sizeof *names);
    const char **oids = fr_xcalloc(m + 1, sizeof *oids);
    for (size_t i = 0; i < m; i++)
        kinds[i] = rows[i].kind, names[i] = rows[i].name, oids[i] = rows[i].oid;
    int rc = old ? fr_store_edit_walked(st, repo, rules_hash, kinds, names, oids, del, m)
                 : fr_store_set_walked(st, repo, rules_hash, kinds, names, oids, m);
    free(a), free(b), free(rows), free(del), free(kinds), free(names), free(oids);
    return rc;
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

/* The terminal's width (stderr), 80 when unknown. */
static int term_width(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    const char *c = getenv("COLUMNS");
    int n = c ? atoi(c) : 0;
    return n > 0 ? n : 80;
}

/* Seconds as "42s", "7m05s", "3h12m". */
static void fmt_eta(char *out, size_t n, double s)
{
    if (s < 60)
        snprintf(out, n, "%.0fs", s);
    else if (s < 3600)
        snprintf(out, n, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else
        snprintf(out, n, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
}

/* One progress line that fits the terminal: the long form, else a short one,
 * else the short one cut (a line that wraps would scroll on every redraw). */
static void draw_progress(progress_ctx *c, int width)
{
    fr_progress *pr = c->pr;
    double secs = fr_monotonic() - c->t0;
    uint64_t done = atomic_load(&pr->done), sub = atomic_load(&pr->submitted);
    uint64_t rt = atomic_load(&pr->repos_total), rd = atomic_load(&pr->repos_done);
    uint64_t commits = atomic_load(&pr->commits);
    double mb = (double)atomic_load(&pr->bytes) / 1e6, rate = secs > 0 ? mb / secs : 0.0;
    char eta[24] = "";
    /* Git sweeps: by repositories done (each is walked whole before the next);
     * once everything is submitted: by items left. */
    if (rt > 1 && rd > 0 && rd < rt)
        fmt_eta(eta, sizeof eta, secs * (double)(rt - rd) / (double)rd);
    else if (rd == rt && done && sub > done)
        fmt_eta(eta, sizeof eta, (double)(sub - done) * secs / (double)done);
    char line[256];
    snprintf(line, sizeof line,
             "ferret: repos %llu/%llu, commits %llu, items %llu/%llu, %.1f MB, %.1f MB/s%s%s",
             (unsigned long long)rd, (unsigned long long)rt, (unsigned long long)commits,
             (unsigned long long)done, (unsigned long long)sub, mb, rate, *eta ? ", ETA " : "",
             eta);
    if ((int)strlen(line) >= width)
        snprintf(line, sizeof line, "%llu/%llu repos %llu/%llu items %.0fMB %.1fMB/s%s%s",
                 (unsigned long long)rd, (unsigned long long)rt, (unsigned long long)done,
                 (unsigned long long)sub, mb, rate, *eta ? " ETA " : "", eta);
    if ((int)strlen(line) >= width && *eta) snprintf(line, sizeof line, "ETA %s", eta);
    if (width > 1 && (int)strlen(line) >= width) line[width - 1] = 0;
    fprintf(stderr, "\r\033[K%s", line);
}

static void *progress_main(void *arg)
{
    progress_ctx *c = arg;
    /* The first line is drawn at once, even when the scan is already over. */
    for (int first = 1;; first = 0) {
        struct timespec ts = {0, 250 * 1000000L};
        if (!first) nanosleep(&ts, NULL);
        if (!first && atomic_load(&c->stop)) break;
        draw_progress(c, term_width());
    }
    fprintf(stderr, "\r\033[K");
    return NULL;
}

/* --config FILE (paths relative to the first target directory), else the
 * first target directory's .ferret.yml; several targets with their own: the
 * first applies, the others are named in a warning. */
static int load_config(fr_config **out, const char *path, int none, char **targets, int n,
                       int quiet)
{
    *out = NULL;
    const char *root = NULL;
    struct stat st;
    for (int i = 0; i < n && !root; i++)
        if (stat(targets[i], &st) == 0 && S_ISDIR(st.st_mode)) root = targets[i];
    if (path) return fr_config_load(out, path, root);
    if (none) return FR_OK;
    for (int i = 0; i < n; i++) {
        fr_config *c = NULL;
        int rc = fr_config_find(&c, targets[i]);
        if (rc) {
            fr_config_free(*out);
            *out = NULL;
            return rc;
        }
        if (c && *out) {
            if (!quiet)
                fprintf(stderr, "ferret: warning: %s not applied (only %s is; use --config)\n",
                        fr_config_path(c), fr_config_path(*out));
            fr_config_free(c);
        } else if (c) {
            *out = c;
        }
    }
    return FR_OK;
}

/* A rule's metadata as one string, each field as put_rule binds it: 'N' for
 * NULL, else 'T' and its text, each followed by a NUL. */
static void rule_key(const fr_rule_meta *m, fr_buf *b)
{
    const char *f[8] = {m->name,
                        m->description,
                        m->severity,
                        m->confidence,
                        m->attack,
                        m->refs ? m->refs : "",
                        m->kind ? m->kind : "secret",
                        m->attack_version};
    b->len = 0;
    for (int i = 0; i < 8; i++) {
        fr_buf_puts(b, f[i] ? "T" : "N");
        if (f[i]) fr_buf_puts(b, f[i]);
        fr_buf_append(b, "", 1);
    }
}

typedef struct {
    char *id, *key;
    size_t keylen;
} stored_rule;

typedef struct {
    stored_rule *v;
    size_t n, cap;
    fr_buf b;
} stored_rules;

static int add_stored_rule(const fr_rule_meta *r, void *ctx)
{
    stored_rules *sr = ctx;
    if (!r->id) return FR_OK;
    if (sr->n == sr->cap) {
        sr->cap = sr->cap ? sr->cap * 2 : 256;
        sr->v = fr_xrealloc(sr->v, sr->cap * sizeof *sr->v);
    }
    rule_key(r, &sr->b);
    stored_rule *x = &sr->v[sr->n++];
    x->id = fr_xstrdup(r->id);
    x->key = fr_xcalloc(sr->b.len + 1, 1);
    memcpy(x->key, sr->b.p, sr->b.len);
    x->keylen = sr->b.len;
    return FR_OK;
}

static int cmp_stored_rule(const void *a, const void *b)
{
    return strcmp(((const stored_rule *)a)->id, ((const stored_rule *)b)->id);
}

/* Every rule's metadata, written only where the store's row differs (what
 * put_rule's upsert does too, but a re-scan asked it 265 times: a twentieth
 * of its CPU; the rows are read once instead). */
static int record_rules(fr_store *st, const fr_ruleset *rs, const fr_config *cfg)
{
    stored_rules sr = {0};
    if (fr_store_each_rule(st, add_stored_rule, &sr)) sr.n = 0; /* then every rule is written */
    int sorted = 1;
    for (size_t i = 1; i < sr.n && sorted; i++)
        sorted = strcmp(sr.v[i - 1].id, sr.v[i].id) < 0;
    if (!sorted) qsort(sr.v, sr.n, sizeof *sr.v, cmp_stored_rule);
    int rc = FR_OK;
    for (size_t i = 0; i < rs->n && rc == FR_OK; i++) {
        const fr_rule *r = &rs->rules[i];
        fr_buf refs = {0};
        for (size_t j = 0; j < r->nreferences; j++)
            fr_buf_printf(&refs, "%s%s", j ? "\n" : "", r->references[j]);
        const char *sev = fr_config_severity(cfg, r->id); /* the team's override */
        fr_rule_meta m = {
            r->id,     r->name, r->description,        sev ? sev : r->severity, r->confidence,
            r->attack, refs.p,  fr_kind_name(r->kind), r->attack_version};
        stored_rule want = {.id = (char *)r->id};
        const stored_rule *have =
            sr.n ? bsearch(&want, sr.v, sr.n, sizeof *sr.v, cmp_stored_rule) : NULL;
        if (have) rule_key(&m, &sr.b);
        if (!have || have->keylen != sr.b.len || memcmp(have->key, sr.b.p, sr.b.len))
            rc = fr_store_put_rule(st, &m);
        fr_buf_release(&refs);
    }
    for (size_t i = 0; i < sr.n; i++)
        free(sr.v[i].id), free(sr.v[i].key);
    free(sr.v);
    fr_buf_release(&sr.b);
    return rc;
}

/* Blocks of at least this size are mapped on their own and unmapped when
 * freed. glibc's threshold is dynamic by default: the first free of a large
 * mapped block (a blob's buffer, a grown hash table) raises it to that size,
 * up to 32 MB, and from then on such blocks come from the arenas, where they
 * stay resident once freed. Fixed (which fixes the trim threshold too) unless
 * the environment sets it (MALLOC_MMAP_THRESHOLD_). git/git, 2 threads, one
 * alternated pair each: 512 KB 232 -> 220 MB peak RSS at +0.7% CPU; 1 MB
 * 226 MB, +1%; 128 KB 237 -> 213 MB but +3.5% CPU (a mapping per large buffer). */
#define SCAN_MMAP_THRESHOLD (512 << 10)

int fr_cmd_scan(int argc, char **argv)
{
#ifdef __GLIBC__
    if (!getenv("MALLOC_MMAP_THRESHOLD_")) mallopt(M_MMAP_THRESHOLD, SCAN_MMAP_THRESHOLD);
#endif
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
                                         {"since", required_argument, NULL, OPT_SINCE},
                                         {"range", required_argument, NULL, OPT_RANGE},
                                         {"shard", required_argument, NULL, OPT_SHARD},
                                         {"shard-set", required_argument, NULL, OPT_SHARD_SET},
                                         {"key", required_argument, NULL, OPT_KEY},
                                         {"include-ignored", no_argument, NULL, OPT_IGNORED},
                                         {"config", required_argument, NULL, OPT_CONFIG},
                                         {"no-config", no_argument, NULL, OPT_NO_CONFIG},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    const char *db_path = "ferret.db", *rules_dir = NULL, *range = NULL;
    const char *shard_set = NULL, *key_path = NULL, *config_path = NULL;
    int no_config = 0;
    fr_shard shard = {0, 0}; /* count 0: not sharded */
    int threads = fr_ncpus(), store_secrets = 0, quiet = 0, busy_ms = 5000, verify = 0,
        no_cache = 0, full = 0, exit_on_new = 0, strict = 0, include_ignored = 0;
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
        case OPT_SINCE:
        case OPT_RANGE:
            if (range || !*optarg || (c == OPT_RANGE && !strstr(optarg, ".."))) {
                fr_cli_error("give one --since REV or --range A..B");
                return FR_EXIT_ERROR;
            }
            range = optarg;
            break;
        case OPT_SHARD:
            if (fr_shard_parse(optarg, &shard)) {
                fr_cli_error("--shard: %s", fr_error());
                return FR_EXIT_ERROR;
            }
            break;
        case OPT_SHARD_SET:
            shard_set = optarg;
            break;
        case OPT_IGNORED:
            include_ignored = 1;
            break;
        case OPT_KEY:
            key_path = optarg;
            break;
        case OPT_CONFIG:
            config_path = optarg;
            break;
        case OPT_NO_CONFIG:
            no_config = 1;
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

    /* A work tree's system calls need nothing of the rules, the engine or the
     * store: made on a thread while they load (worktree.c's prefetch). The
     * first few paths only: each prefetch is a thread whose data is held until
     * its scan, and a sweep of hundreds of checkouts (200 given at once: 151
     * MB against 18.5 MB) gains only on the first. */
    if (!range && (!shard.count || shard.index == 0))
        for (int i = optind; i < argc && i - optind < FR_WORKTREE_PREFETCH_MAX; i++)
            fr_git_worktree_prefetch(argv[i]);
    fr_ruleset *rs = NULL;
    fr_engine *engine = NULL;
    fr_store *store = NULL;
    fr_scanner *path_sc = NULL;
    fr_config *cfg = NULL;
    int exit_code = FR_EXIT_ERROR;
    fr_buf cache = {0};
    fr_cli_cache_dir(&cache);
    if (fr_rules_load_cached(&rs, rules_dir, cache.len && !no_cache ? cache.p : NULL)) {
        fr_buf_release(&cache);
        fprintf(stderr, "%s\n", fr_error());
        fr_cli_error("cannot load the rules; nothing was scanned");
        goto done;
    }
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
    if (load_config(&cfg, config_path, no_config, argv + optind, argc - optind, quiet)) {
        fr_cli_error("%s", fr_error());
        goto done;
    }
    if (cfg) { /* content read under other settings is read again */
        fr_buf h = {0};
        fr_buf_printf(&h, "%s config %s", rs->hash, fr_config_digest(cfg));
        fr_sha256_hex(h.p, h.len, rs->hash);
        fr_buf_release(&h);
    }
    fr_store_opts so = {.busy_timeout_ms = busy_ms, .key_path = key_path};
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
    /* the run, its rules and its shard in one transaction: a scan killed
     * here leaves all of them or none (a shard the merge calls incomplete,
     * never a run of no shard) */
    int rc = fr_store_batch_begin(store);
    if (rc == FR_OK) rc = fr_store_run_begin(store, targets.p, rs->hash, &run_id);
    fr_buf_release(&targets);
    if (rc == FR_OK) rc = record_rules(store, rs, cfg);
    fr_buf set_name = {0};
    if (rc == FR_OK && shard.count)
        rc = fr_store_run_shard(store, run_id, shard.index, shard.count,
                                shard_set_name(shard_set, &set_name));
    fr_buf_release(&set_name);
    if (rc == FR_OK) rc = fr_store_flush(store);
    if (rc) {
        error_redacted(path_sc, NULL);
        goto done;
    }
    /* The state of a repository whose blobs are sharded holds for this shard
     * only: it is saved under rules qualified by the shard. */
    char shard_rules[65] = "";
    if (shard.count) {
        fr_buf q = {0};
        fr_buf_printf(&q, "%s shard %u/%u", rs->hash, shard.index, shard.count);
        fr_sha256_hex(q.p, q.len, shard_rules);
        fr_buf_release(&q);
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
                           .rules_hash = rs->hash,
                           .drop_match = cfg ? fr_config_drop_match : NULL,
                           .drop_ctx = cfg};
    if (fr_pipeline_start(&p, &po, engine, store, run_id)) {
        error_redacted(path_sc, NULL);
        goto done;
    }
    int incomplete = 0;
    fr_buf note = {0};
    repo_list repos = {0};
    uint64_t files_unchanged = 0;
    /* Work trees: what is not committed (worktree.c), ferret's database aside. */
    file_check wfc = {store, rs->hash};
    wt_cache wtc = {.store = store, .sc = path_sc};
    fr_worktree_opts wo = {.max_size = max_size,
                           .include_ignored = include_ignored,
                           .unchanged = full ? NULL : file_unchanged,
                           .unchanged_ctx = &wfc,
                           .stat_load = full ? NULL : wt_stat_load,
                           .stat_save = wt_stat_save,
                           .stat_ctx = &wtc};
    fr_worktree_stats wts = {0};
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
                         .unchanged_ctx = &fc,
                         .owns = shard.count ? shard_owns_path : NULL,
                         .owns_ctx = &shard};
        free(repos.root);
        repos.root = realpath(argv[i], NULL);
        static const char *const suffixes[] = {"", "-wal", "-shm", "-journal", ".key"};
        const char *key_file = key_path ? key_path : getenv("FERRET_KEY_FILE");
        wo.nskip = 0;
        for (int k = 0; k < 6; k++) { /* never scan our own database or its key */
            fr_buf f = {0};
            struct stat st;
            if (k < 5)
                fr_buf_printf(&f, "%s%s", db_path, suffixes[k]);
            else if (key_file && *key_file)
                fr_buf_puts(&f, key_file);
            else
                break;
            if (stat(f.p, &st) == 0) {
                fo.skip[fo.nskip].dev = (unsigned long long)st.st_dev;
                fo.skip[fo.nskip++].ino = (unsigned long long)st.st_ino;
                wo.skip[wo.nskip].dev = (unsigned long long)st.st_dev;
                wo.skip[wo.nskip++].ino = (unsigned long long)st.st_ino;
            }
            fr_buf_release(&f);
        }
        fr_fs_stats fs = {0};
        int src = fr_fs_scan(argv[i], &fo, p, &fs);
        free(repos.root);
        repos.root = NULL;
        files_unchanged += fs.unchanged;
        if (src && src != FR_EINTR) {
            error_redacted(path_sc, &note);
            incomplete = 1;
        }
    }
    /* Git repositories: skip those unchanged since their last complete scan under
     * these rules; scan the rest, reading only blobs not scanned before. */
    known_src known = {0};
    fr_git_stats gs = {0};
    char **fingerprints = fr_xcalloc(repos.n + 1, sizeof *fingerprints);
    /* What each repository's walk covered, saved for the next incremental scan. */
    fr_git_state *walked = fr_xcalloc(repos.n + 1, sizeof *walked);
    /* ... and the state each incremental walk started from: only what changed is saved */
    fr_git_state *started = fr_xcalloc(repos.n + 1, sizeof *started);
    size_t shallow = 0, nincremental = 0;
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
        const char *rh = shard.count && repos.by_blob[i] ? shard_rules : rs->hash;
        /* The work tree, whether or not history changed (a range scan reads
         * commits only; a repository sharded by blob has it read by shard 0). */
        if (!range && (!shard.count || !repos.by_blob[i] || shard.index == 0)) {
            fr_worktree_stats one = {0};
            int wrc = fr_git_worktree_scan(repos.paths[i], &wo, p, &one);
            if (wrc && wrc != FR_EINTR) {
                error_redacted(path_sc, &note);
                incomplete = 1;
            }
            wts.staged += one.staged, wts.modified += one.modified;
            wts.untracked += one.untracked, wts.ignored += one.ignored;
            wts.read += one.read, wts.unchanged += one.unchanged, wts.skipped += one.skipped;
            wts.tracked += one.tracked, wts.hashed += one.hashed;
        }
        /* A range scan reads a slice of history: no state is checked or saved. */
        if (!range && fr_git_prefetched_fingerprint(repos.paths[i], fp) &&
            fr_git_fingerprint(repos.paths[i], fp)) {
            error_redacted(path_sc, &note);
            incomplete = 1;
            continue;
        }
        if (!range && !full &&
            fr_store_repo_state(store, repo_keys[i], old_fp, old_rules) == FR_OK &&
            !strcmp(fp, old_fp) && !strcmp(old_rules, rh)) {
            unchanged++;
            if (fr_store_touch_repo(store, repo_keys[i], run_id)) {
                error_redacted(path_sc, NULL);
                incomplete = 1;
            }
            continue;
        }
        /* Changed: walk only what the last complete scan under these rules did
         * not (its findings stay counted for this run's exit code). */
        fr_git_state prev = {0};
        if (!range && !full && fr_store_each_walked(store, repo_keys[i], rh, add_walked, &prev)) {
            error_redacted(path_sc, NULL);
            incomplete = 1;
            fr_git_state_free(&prev);
        }
        int incremental = prev.ntips + prev.npacks > 0;
        if (incremental && fr_store_touch_repo(store, repo_keys[i], run_id)) {
            error_redacted(path_sc, NULL);
            incomplete = 1;
        }
        /* Blobs scanned before: loaded whole when a walk meets every blob,
         * asked one by one by an incremental walk (none for a range). */
        known.store = store, known.rules_hash = rs->hash;
        fr_git_opts go = {.max_size = max_size,
                          .known_all = full || range ? NULL : known_all,
                          .known_one = full || range ? NULL : known_one,
                          .known_ctx = &known,
                          .verify_hashes = verify,
                          .prev = incremental ? &prev : NULL,
                          .out = range ? NULL : &walked[i],
                          .range = range,
                          .keep = shard.count && repos.by_blob[i] ? shard_keeps : NULL,
                          .keep_ctx = &shard};
        fr_git_stats one = {0};
        int grc = fr_git_scan(repos.paths[i], &go, p, &one);
        if (incremental)
            started[i] = prev; /* the rows in the store now */
        else
            fr_git_state_free(&prev);
        if (one.shallow) shallow++;
        if (known.failed) {
            error_redacted(path_sc, NULL);
            incomplete = 1;
            known.failed = 0;
        }
        if (grc && grc != FR_EINTR) {
            error_redacted(path_sc, &note);
            incomplete = 1;
        }
        if (one.incomplete) incomplete = 1;
        if (grc == FR_OK && !one.incomplete && !range) fingerprints[i] = fr_xstrdup(fp);
        gs.refs += one.refs, gs.commits += one.commits, gs.trees += one.trees;
        if (one.incremental) nincremental++;
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
    if (wt_stat_flush(&wtc, !prc)) error_redacted(path_sc, NULL);
    /* A repository's state is saved only when everything of it was recorded. */
    for (size_t i = 0; i < repos.n; i++) {
        const char *rh = shard.count && repos.by_blob[i] ? shard_rules : rs->hash;
        if (fingerprints[i] && !fr_interrupted && !prc &&
            fr_store_set_repo_state(store, repo_keys[i], fingerprints[i], rh, run_id)) {
            error_redacted(path_sc, NULL);
            incomplete = 1;
        }
        /* ... and the walk's tips only when no item of the run failed either: a
         * blob that could not be read is read again by the next full walk. */
        if (fingerprints[i] && !fr_interrupted && !prc && !ps.failed &&
            save_walked(store, repo_keys[i], rh, &walked[i],
                        started[i].ntips + started[i].npacks ? &started[i] : NULL)) {
            error_redacted(path_sc, NULL);
            incomplete = 1;
        }
        fr_git_state_free(&walked[i]);
        fr_git_state_free(&started[i]);
        free(fingerprints[i]);
        free(repo_keys[i]);
        free(repos.paths[i]);
    }
    free(fingerprints);
    free(walked);
    free(started);
    free(repo_keys);
    free(repos.paths);
    free(repos.by_blob);
    fr_known_blobs_free(known.all);
    uint64_t in_targets = 0, open_in_targets = 0, reopened = 0, ind_targets = 0, ind_open = 0;
    const fr_baseline_entry *bl = NULL;
    size_t nbl = fr_config_baseline(cfg, &bl);
    /* Triage: the config's baseline as it is now; revoked secrets in new commits reopen. */
    if ((cfg && fr_store_set_baseline(store, fr_config_path(cfg), bl, nbl)) ||
        fr_store_triage_reopen(store, run_id, &reopened) ||
        fr_store_findings_in_run(store, run_id, &in_targets) ||
        fr_store_open_findings_in_run(store, run_id, &open_in_targets) ||
        fr_store_indicators_in_run(store, run_id, &ind_targets, &ind_open)) {
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
                    "ferret: git: %zu repositor%s (%zu unchanged), %zu incremental, %llu refs, "
                    "%llu commits, %llu trees, %llu blobs read, %llu already scanned, "
                    "%llu unreachable\n",
                    repos.n, repos.n == 1 ? "y" : "ies", unchanged, nincremental,
                    (unsigned long long)gs.refs, (unsigned long long)gs.commits,
                    (unsigned long long)gs.trees, (unsigned long long)gs.blobs,
                    (unsigned long long)gs.blobs_known, (unsigned long long)gs.unreachable_blobs);
        uint64_t absent = fr_git_absent_blobs();
        if (absent)
            fprintf(stderr,
                    "ferret: git: not present in this partial clone: %llu blob%s (skipped: the "
                    "promisor remote holds %s; not an error%s)\n",
                    (unsigned long long)absent, absent == 1 ? "" : "s", absent == 1 ? "it" : "them",
                    strict ? ", but --strict makes this exit 2" : "");
        if (shallow)
            fprintf(stderr,
                    "ferret: warning: %zu shallow clone%s: history scanned down to the shallow "
                    "boundary (each boundary commit recorded as skipped)\n",
                    shallow, shallow == 1 ? "" : "s");
        if (wts.tracked + wts.staged + wts.modified + wts.untracked + wts.ignored)
            fprintf(stderr,
                    "ferret: work tree: %llu tracked (%llu hashed: stat changed), %llu staged, "
                    "%llu modified, %llu untracked, %llu ignored; "
                    "%llu files read, %llu unchanged since the last sweep\n",
                    (unsigned long long)wts.tracked, (unsigned long long)wts.hashed,
                    (unsigned long long)wts.staged, (unsigned long long)wts.modified,
                    (unsigned long long)wts.untracked, (unsigned long long)wts.ignored,
                    (unsigned long long)wts.read, (unsigned long long)wts.unchanged);
        if (files_unchanged)
            fprintf(stderr, "ferret: %llu file%s unchanged since the last sweep (not read again)\n",
                    (unsigned long long)files_unchanged, files_unchanged == 1 ? "" : "s");
        /* Secrets and threat indicators are counted apart: an indicator is a
         * trace of an attack, not a leaked credential. */
        uint64_t sec_targets = in_targets - ind_targets;
        fprintf(stderr, "ferret: the scanned targets hold %llu finding%s",
                (unsigned long long)in_targets, in_targets == 1 ? "" : "s");
        if (ind_targets)
            fprintf(stderr, " (%llu secret%s, %llu threat indicator%s)",
                    (unsigned long long)sec_targets, sec_targets == 1 ? "" : "s",
                    (unsigned long long)ind_targets, ind_targets == 1 ? "" : "s");
        fputc('\n', stderr);
        if (open_in_targets != in_targets)
            fprintf(stderr,
                    "ferret: %llu of them open (%llu secret%s, %llu indicator%s; the others "
                    "accepted, false positives, revoked or baselined)\n",
                    (unsigned long long)open_in_targets,
                    (unsigned long long)(open_in_targets - ind_open),
                    open_in_targets - ind_open == 1 ? "" : "s", (unsigned long long)ind_open,
                    ind_open == 1 ? "" : "s");
        if (reopened)
            fprintf(stderr, "ferret: %llu revoked finding%s seen in new commits: reopened\n",
                    (unsigned long long)reopened, reopened == 1 ? "" : "s");
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
        exit_code = (exit_on_new ? have_run && run.counts.new_findings : open_in_targets)
                        ? FR_EXIT_FINDINGS
                        : FR_EXIT_CLEAN;
done:
    fr_git_worktree_prefetch_end();
    fr_store_close(store);
    fr_config_free(cfg);
    fr_scanner_free(path_sc);
    fr_engine_free(engine);
    fr_ruleset_free(rs);
    return exit_code;
}
