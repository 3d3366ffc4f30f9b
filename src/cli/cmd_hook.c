/*
 * cmd_hook.c: 'ferret hook pre-receive'. Reads git's "<old> <new> <ref>" lines,
 * scans only what the push adds (in-process: a push is small and the answer is
 * needed now), and gives the verdict: reject with one message per finding, or
 * accept silently. Policy comes from the receiving repository's git config
 * (system and global files included):
 *   ferret.mode              block (default) | warn
 *   ferret.rules             a rules directory (adds to / overrides the built-ins)
 *   ferret.db                record findings from pushes, with the pusher
 *   ferret.timeBudgetMs      time for one push (default 4000)
 *   ferret.sizeBudget        blob bytes for one push (default 256M)
 *   ferret.onBudgetExceeded  reject (default) | allow
 *   ferret.allowBypass       true: 'git push -o ferret.skip' is honoured (always recorded)
 *   ferret.cacheDir          where compiled rule sets are cached
 * Anything unexpected rejects the push: a hook that fails open is a bypass.
 */
#include "cli/cli.h"
#include "detect/detect.h"
#include "rules/rules.h"
#include "sources/sources.h"
#include "store/store.h"
#include "util/limits.h"
#include "util/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_LINE    4096
#define MAX_UPDATES 10000

typedef struct {
    char *rule, *rule_name, *commit, *path, *preview, *sha, *author, *ref;
    size_t line;
} hook_finding;

/* A blob over the per-blob cap: only its first cap bytes were scanned. */
typedef struct {
    char *path; /* redacted */
    char blob[13];
    uint64_t size, scanned;
} hook_big;

typedef struct {
    fr_scanner *sc;
    const fr_ruleset *rs;
    hook_finding *f;
    size_t nf;
    double t0, budget_s;
    uint64_t size_budget, bytes;
    int over_budget;
    int failed; /* the engine failed on a piece: not scanned */
    uint64_t blob_cap;
    hook_big *big; /* blobs over blob_cap: not scanned whole */
    size_t nbig;
} hook_ctx;

/* Policy keys and their defaults (NULL: unset). */
enum { P_MODE, P_RULES, P_DB, P_TIME, P_SIZE, P_ON_BUDGET, P_BYPASS, P_CACHE, P_COUNT };
static const char *const POLICY_KEYS[P_COUNT] = {"ferret.mode",        "ferret.rules",
                                                 "ferret.db",          "ferret.timeBudgetMs",
                                                 "ferret.sizeBudget",  "ferret.onBudgetExceeded",
                                                 "ferret.allowBypass", "ferret.cacheDir"};
static const char *const POLICY_DEFAULTS[P_COUNT] = {"block", NULL,     NULL,    "4000",
                                                     "256M",  "reject", "false", NULL};

/* shown and ref are the piece's path and ref with any secret in them redacted
 * (computed before the scan: redacting scans too, which would replace m). */
static void add_finding(hook_ctx *c, const fr_match *m, const unsigned char *data,
                        const fr_push_piece *pc, const fr_buf *shown, const fr_buf *ref)
{
    const fr_rule *r = &c->rs->rules[m->rule];
    fr_buf pv = {0}, path = {0};
    char sha[65];
    fr_redact((const char *)data + m->sstart, m->send - m->sstart, &pv);
    fr_sha256_hex(data + m->sstart, m->send - m->sstart, sha);
    fr_buf_put_safe(&path, shown->p ? shown->p : "", shown->len);
    c->f = fr_xrealloc(c->f, (c->nf + 1) * sizeof *c->f);
    c->f[c->nf++] = (hook_finding){fr_xstrdup(r->id),
                                   fr_xstrdup(r->name),
                                   fr_xstrdup(pc->commit ? pc->commit : ""),
                                   fr_buf_steal(&path),
                                   fr_buf_steal(&pv),
                                   fr_xstrdup(sha),
                                   fr_xstrdup(pc->author_email ? pc->author_email : ""),
                                   fr_xstrdup(ref->p ? ref->p : ""),
                                   m->line};
}

/* The ref a piece came with, any secret in its name redacted. */
static void redact_ref(hook_ctx *c, const fr_push_piece *pc, fr_buf *out)
{
    fr_redact_path(c->sc, pc->ref ? pc->ref : "", out);
}

/* Scans name, a name the push shows (a blob's path, a ref's name), with
 * newlines as spaces, as the scan's git-path items do; findings are placed at
 * pc->path. Returns 1 when the engine failed (the push is then not accepted). */
static int scan_name(hook_ctx *c, const fr_push_piece *pc, const char *name)
{
    size_t n = strlen(name);
    unsigned char *p = fr_xmalloc(n + 1);
    for (size_t i = 0; i < n; i++)
        p[i] = name[i] == '\n' ? ' ' : (unsigned char)name[i];
    const fr_match *m;
    size_t nm;
    int rc = fr_scan(c->sc, p, n, &m, &nm);
    if (rc) {
        c->failed = 1;
    } else if (nm) {
        /* Copy the matches out: redacting the path scans again. */
        fr_match *mm = fr_xmalloc(nm * sizeof *mm);
        memcpy(mm, m, nm * sizeof *mm);
        fr_buf shown = {0}, ref = {0};
        fr_redact_path(c->sc, pc->path, &shown);
        redact_ref(c, pc, &ref);
        for (size_t i = 0; i < nm; i++)
            add_finding(c, &mm[i], p, pc, &shown, &ref);
        fr_buf_release(&shown);
        fr_buf_release(&ref);
        free(mm);
    }
    free(p);
    return rc ? 1 : 0;
}

static int on_piece(void *arg, const fr_push_piece *pc)
{
    hook_ctx *c = arg;
    if (fr_monotonic() - c->t0 > c->budget_s) {
        c->over_budget = 1;
        return 1;
    }
    /* A secret in a pushed path name is readable on the server as surely as one
     * in the content: it is a finding of its own (kind git-path in a scan). The
     * path is scanned first, whatever happens to the content, and for every
     * path a blob appears at. */
    if (pc->path && !strcmp(pc->kind, "git")) {
        const char *name = pc->path;
        /* "<ref NAME>...": the ref's name is scanned once on its own */
        size_t rl = pc->ref ? strlen(pc->ref) : 0;
        if (rl && !strncmp(name, "<ref ", 5) && !strncmp(name + 5, pc->ref, rl) &&
            name[5 + rl] == '>')
            name += 6 + rl;
        if (*name && scan_name(c, pc, name)) return 1;
    }
    /* An annotated tag's own name is shown by git too; it is scanned unless it
     * is the name of the pushed ref (refs/tags/NAME), scanned already. */
    static const char TAG_AT[] = "<tag message: ";
    if (pc->path && !strncmp(pc->path, TAG_AT, sizeof TAG_AT - 1)) {
        const char *tag = pc->path + sizeof TAG_AT - 1;
        size_t tl = strlen(tag) - (*tag ? 1 : 0); /* without the closing '>' */
        const char *short_ref = pc->ref && !strncmp(pc->ref, "refs/tags/", 10) ? pc->ref + 10 : "";
        if (tl && (strlen(short_ref) != tl || strncmp(short_ref, tag, tl))) {
            char *name = fr_xmalloc(tl + 1);
            memcpy(name, tag, tl);
            name[tl] = 0;
            int rc = scan_name(c, pc, name);
            free(name);
            if (rc) return 1;
        }
    }
    if (pc->path_only) return 0; /* its content was scanned at its first path */
    if (!strcmp(pc->kind, "git") && pc->size > pc->len) { /* over the cap: not scanned whole */
        fr_buf shown = {0};
        fr_redact_path(c->sc, pc->path, &shown);
        c->big = fr_xrealloc(c->big, (c->nbig + 1) * sizeof *c->big);
        hook_big *b = &c->big[c->nbig++];
        b->path = fr_buf_steal(&shown);
        snprintf(b->blob, sizeof b->blob, "%.12s", pc->blob ? pc->blob : "");
        b->size = pc->size;
        b->scanned = pc->data ? pc->len : 0;
    }
    if (!pc->data) return 0; /* not readable: flagged incomplete by the walk */
    c->bytes += pc->len;
    if (c->bytes > c->size_budget) {
        c->over_budget = 1;
        return 1;
    }
    /* Content is scanned through its views (the pipeline's rule: the byte view
     * of content with NULs or control bytes, and a UTF-16 transcoding too): a
     * NUL byte or a UTF-16 guess is no way to get a secret past the hook. */
    fr_text_views tv = {0};
    fr_text_views_of(&tv, pc->data, pc->len);
    /* A secret in the path or ref is never printed or stored (before the scan
     * below: redacting scans too). */
    fr_buf shown = {0}, ref = {0};
    fr_redact_path(c->sc, pc->path, &shown);
    redact_ref(c, pc, &ref);
    const fr_match *m;
    size_t nm;
    int rc = fr_scan_views(c->sc, tv.p, tv.len, tv.n, &m, &nm);
    /* an engine error is not a clean scan: the push is not accepted */
    if (rc) c->failed = 1;
    for (size_t i = 0; !rc && i < nm; i++)
        add_finding(c, &m[i], tv.p[m[i].view], pc, &shown, &ref);
    fr_text_views_release(&tv);
    fr_buf_release(&shown);
    fr_buf_release(&ref);
    return rc ? 1 : 0;
}

static const char *pusher(void)
{
    static const char *const vars[] = {"GL_USERNAME", "GITHUB_USER", "REMOTE_USER",
                                       "GIT_PUSHER",  "USER",        NULL};
    for (int i = 0; vars[i]; i++)
        if (getenv(vars[i]) && *getenv(vars[i])) return getenv(vars[i]);
    return "unknown";
}

static int push_option(const char *want)
{
    const char *cnt = getenv("GIT_PUSH_OPTION_COUNT");
    int n = cnt ? atoi(cnt) : 0;
    for (int i = 0; i < n && i < 100; i++) {
        char name[40];
        snprintf(name, sizeof name, "GIT_PUSH_OPTION_%d", i);
        const char *v = getenv(name);
        if (v && !strcmp(v, want)) return 1;
    }
    return 0;
}

static int is_true(const char *v)
{
    return v && (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcmp(v, "1") ||
                 !strcasecmp(v, "on"));
}

/* Appends one line to $GIT_DIR/ferret-audit.log (bypasses are always recorded). */
static void audit(const char *what)
{
    const char *gd = getenv("GIT_DIR");
    fr_buf p = {0};
    fr_buf_printf(&p, "%s/ferret-audit.log", gd && *gd ? gd : ".");
    FILE *f = fopen(p.p, "a");
    if (f) {
        char now[32];
        fr_now_iso(now);
        fprintf(f, "%s %s pusher=%s\n", now, what, pusher());
        fclose(f);
    }
    fr_buf_release(&p);
}

/* Records the push and its findings in the configured DB (best effort: a DB
 * problem is reported but never turns a verdict around). */
static void record(const char *db, const hook_ctx *c, const char *rules_hash, const char *verdict)
{
    fr_store *st = NULL;
    fr_store_opts so = {.busy_timeout_ms = 2000};
    if (fr_store_open(&st, db, &so)) {
        fprintf(stderr, "ferret: warning: cannot record the push in %s: %s\n", db, fr_error());
        return;
    }
    fr_buf targets = {0}, note = {0};
    char now[32];
    fr_now_iso(now);
    const char *gd = getenv("GIT_DIR");
    fr_buf_printf(&targets, "pre-receive %s", gd ? gd : ".");
    fr_buf_printf(&note, "push by %s at %s: %s", pusher(), now, verdict);
    int64_t run = 0;
    if (fr_store_run_begin(st, targets.p, rules_hash, &run) == FR_OK) {
        for (size_t i = 0; i < c->nf; i++) {
            const hook_finding *f = &c->f[i];
            fr_store_match m = {.rule_id = f->rule, .preview = f->preview, .line = f->line};
            snprintf(m.secret_sha256, sizeof m.secret_sha256, "%s", f->sha);
            fr_location l = {.kind = "git-push",
                             .repo = gd ? gd : ".",
                             .path = f->path,
                             .commit = f->commit,
                             .author_email = f->author,
                             .ref = f->ref};
            fr_buf key = {0};
            fr_buf_printf(&key, "push:%s:%s:%s", f->commit, f->path, f->sha);
            fr_store_item it = {.content_key = key.p,
                                .status = FR_ST_SCANNED,
                                .rules_hash = rules_hash,
                                .locs = &l,
                                .nlocs = 1,
                                .matches = &m,
                                .nmatches = 1};
            fr_store_put(st, run, &it);
            fr_buf_release(&key);
        }
        fr_run_counts counts = {0, 0, 0, c->bytes, c->nf, 0};
        if (fr_store_run_end(st, run, 1, &counts, note.p))
            fprintf(stderr, "ferret: warning: cannot record the push: %s\n", fr_error());
    } else {
        fprintf(stderr, "ferret: warning: cannot record the push: %s\n", fr_error());
    }
    fr_buf_release(&targets);
    fr_buf_release(&note);
    fr_store_close(st);
}

static int parse_line(char *line, fr_push_update *u)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = 0;
    char *a = line, *b = strchr(a, ' ');
    if (!b) return FR_ECORRUPT;
    *b++ = 0;
    char *r = strchr(b, ' ');
    if (!r) return FR_ECORRUPT;
    *r++ = 0;
    if (strlen(a) != 40 || strlen(b) != 40 || !*r || strchr(r, ' ')) return FR_ECORRUPT;
    for (int i = 0; i < 40; i++)
        if (!isxdigit((unsigned char)a[i]) || !isxdigit((unsigned char)b[i])) return FR_ECORRUPT;
    if (strncmp(r, "refs/", 5) && strcmp(r, "HEAD")) return FR_ECORRUPT;
    memcpy(u->old_oid, a, 41);
    memcpy(u->new_oid, b, 41);
    u->ref = fr_xstrdup(r);
    return FR_OK;
}

int fr_cmd_hook(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "pre-receive")) {
        fr_cli_error("usage: ferret hook pre-receive  (reads git's pre-receive input on stdin)");
        return FR_EXIT_ERROR;
    }
    fr_push_update *u = NULL;
    size_t n = 0;
    char line[MAX_LINE + 2];
    int exit_code = FR_EXIT_ERROR;
    hook_ctx c = {0};
    fr_ruleset *rs = NULL;
    fr_engine *eng = NULL;
    char *pol[P_COUNT];
    fr_git_hook_config(POLICY_KEYS, P_COUNT, pol); /* one repository open for all keys */
    for (int i = 0; i < P_COUNT; i++)
        if (!pol[i] && POLICY_DEFAULTS[i]) pol[i] = fr_xstrdup(POLICY_DEFAULTS[i]);
    char *mode = pol[P_MODE], *rules = pol[P_RULES], *db = pol[P_DB], *tb = pol[P_TIME];
    char *sb = pol[P_SIZE], *ob = pol[P_ON_BUDGET], *bypass = pol[P_BYPASS], *cache = pol[P_CACHE];
    int warn = !strcmp(mode, "warn");
    for (size_t lineno = 1; fgets(line, sizeof line, stdin); lineno++) {
        if (strlen(line) > MAX_LINE || n == MAX_UPDATES) {
            fr_cli_error("rejecting the push: pre-receive input line %zu is too long or too many",
                         lineno);
            goto done;
        }
        u = fr_xrealloc(u, (n + 1) * sizeof *u);
        if (parse_line(line, &u[n])) {
            fr_cli_error("rejecting the push: malformed pre-receive input on line %zu "
                         "(expected '<old-oid> <new-oid> <ref>')",
                         lineno);
            goto done;
        }
        n++;
    }
    if (push_option("ferret.skip")) {
        if (is_true(bypass)) {
            fprintf(stderr,
                    "ferret: bypass requested by %s (-o ferret.skip): push accepted "
                    "without a secrets scan; this is recorded\n",
                    pusher());
            audit("bypass accepted");
            if (db) record(db, &c, "", "bypassed (-o ferret.skip)");
            exit_code = FR_EXIT_CLEAN;
            goto done;
        }
        fprintf(stderr, "ferret: -o ferret.skip is not allowed for this repository "
                        "(ferret.allowBypass); the push is scanned\n");
        audit("bypass refused");
    }
    if (fr_rules_load(&rs, rules)) {
        fr_cli_error("rejecting the push: cannot load the rules: %s", fr_error());
        goto done;
    }
    fr_buf cdir = {0};
    if (!cache) fr_cli_cache_dir(&cdir);
    fr_engine_opts eo = {.cache_dir = cache ? cache : cdir.len ? cdir.p : NULL};
    int erc = fr_engine_new(&eng, rs, &eo);
    fr_buf_release(&cdir);
    if (erc || fr_scanner_new(&c.sc, eng)) {
        fr_cli_error("rejecting the push: cannot compile the rules: %s", fr_error());
        goto done;
    }
    c.rs = rs;
    /* The time budget covers reading and scanning the push, not compiling the
     * rules (a one-time cost: the compiled database is cached). */
    c.t0 = fr_monotonic();
    c.budget_s = atof(tb) / 1000.0;
    if (fr_parse_size(sb, &c.size_budget)) c.size_budget = 256u << 20;
    /* No one blob may take more than the whole push's budget. */
    c.blob_cap = c.size_budget < FR_HOOK_BLOB_MAX ? c.size_budget : FR_HOOK_BLOB_MAX;
    /* Each ref name the push creates or moves is shown by the server like a
     * path: scanned as a name of its own (a deletion shows nothing new). */
    for (size_t i = 0; i < n && !c.failed; i++) {
        if (strspn(u[i].new_oid, "0") == 40) continue;
        fr_buf where = {0};
        fr_buf_printf(&where, "<ref %s>", u[i].ref);
        fr_push_piece rp = {
            .kind = "git-ref", .path = where.p, .commit = u[i].new_oid, .ref = u[i].ref};
        if (scan_name(&c, &rp, u[i].ref)) c.failed = 1;
        fr_buf_release(&where);
    }
    fr_push_stats ps = {0};
    if (!c.failed && fr_git_push_walk(u, n, c.blob_cap, on_piece, &c, &ps)) {
        fr_cli_error("rejecting the push: %s", fr_error());
        goto done;
    }
    /* What could not be read or scanned was not checked: fail closed. */
    if (ps.incomplete || c.failed) {
        fr_cli_error("rejecting the push: %s", c.failed ? "the rules engine failed on part of it"
                                                        : "some pushed objects could not be read");
        goto done;
    }
    /* A blob over the cap was scanned only in part: over the budget like a push
     * too large to scan, under the same policy (ferret.onBudgetExceeded). */
    int reject_budget = (c.over_budget || c.nbig) && strcmp(ob, "allow");
    for (size_t i = 0; i < c.nbig; i++)
        fprintf(stderr,
                "ferret: %s: %s (blob %s) holds %llu bytes, over the %llu bytes the hook scans "
                "per blob (64 MiB at most, and no more than ferret.sizeBudget): only its first "
                "%llu bytes were scanned; %s\n",
                reject_budget ? "error" : "warning", c.big[i].path, c.big[i].blob,
                (unsigned long long)c.big[i].size, (unsigned long long)c.blob_cap,
                (unsigned long long)c.big[i].scanned,
                reject_budget
                    ? "the push is rejected (ferret.onBudgetExceeded = reject). Keep large files "
                      "out of git (Git LFS), or, where ferret.allowBypass is set, push with "
                      "'git push -o ferret.skip' (recorded)"
                    : "accepted without a complete scan (ferret.onBudgetExceeded = allow)");
    if (c.over_budget)
        fprintf(stderr, "ferret: %s: the push exceeds the scan budget (%s ms, %s bytes): %s\n",
                reject_budget ? "error" : "warning", tb, sb,
                reject_budget ? "rejected (ferret.onBudgetExceeded = reject); push smaller pieces"
                              : "accepted without a complete scan");
    for (size_t i = 0; i < c.nf; i++) {
        const hook_finding *f = &c.f[i];
        fprintf(stderr, "ferret: %s %s: %s in commit %.12s, %s line %zu: %s (sha256 %.16s)\n",
                warn ? "warning:" : "SECRET", f->rule, f->rule_name, f->commit, f->path, f->line,
                f->preview, f->sha);
    }
    if (c.nf)
        fprintf(stderr,
                "ferret: %s. To fix: remove the secret from history (git commit --amend, or "
                "git rebase -i and edit the commit), rotate the credential — it was exposed the "
                "moment it was committed — and push again. A false positive: add 'ferret:allow' "
                "to that line.\n",
                warn ? "warn mode: the push is accepted" : "push rejected");
    if (db)
        record(db, &c, rs->hash,
               c.nf && !warn   ? "rejected"
               : reject_budget ? "rejected (budget)"
                               : "accepted");
    exit_code = (c.nf && !warn) || reject_budget ? FR_EXIT_FINDINGS : FR_EXIT_CLEAN;
done:
    for (size_t i = 0; i < n; i++)
        free(u[i].ref);
    free(u);
    for (size_t i = 0; i < c.nf; i++) {
        hook_finding *f = &c.f[i];
        free(f->rule), free(f->rule_name), free(f->commit), free(f->path);
        free(f->preview), free(f->sha), free(f->author), free(f->ref);
    }
    free(c.f);
    for (size_t i = 0; i < c.nbig; i++)
        free(c.big[i].path);
    free(c.big);
    fr_scanner_free(c.sc);
    fr_engine_free(eng);
    fr_ruleset_free(rs);
    for (int i = 0; i < P_COUNT; i++)
        free(pol[i]);
    return exit_code;
}
