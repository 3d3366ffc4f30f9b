/*
 * cmd_hook.c: 'ferret hook pre-receive' (and the dispatch of 'ferret hook'). Reads git's "<old>
 * <new> <ref>" lines, scans only what the push adds (in-process: a push is small and the answer is
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
 *   ferret.onUnscannable     reject (default) | warn: content that cannot be opened
 *                            (a damaged or encrypted archive, a member over a limit)
 *   ferret.honorAllowComments true: 'ferret:allow' in pushed content suppresses
 * Content goes through the scan's own per-item code (hook_scan.c, inline
 * pipeline); pre-commit and pre-push are in cmd_hook_client.c.
 * Anything unexpected rejects the push: a hook that fails open is a bypass;
 * unreadable objects and scanner failures reject whatever the policy.
 */
#include "cli/cli.h"
#include "cli/hook.h"
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

/* A blob over the per-blob cap: only its first cap bytes were scanned. */
typedef struct {
    char *path; /* redacted */
    char blob[13];
    uint64_t size, scanned;
} hook_big;

typedef struct {
    hook_scan hs;
    const char *repo; /* GIT_DIR, the locations' repository */
    double t0, budget_s;
    uint64_t size_budget;
    int over_budget;
    uint64_t blob_cap;
    hook_big *big; /* blobs over blob_cap: not scanned whole */
    size_t nbig;
} hook_ctx;

/* Policy keys and their defaults (NULL: unset). */
enum {
    P_MODE,
    P_RULES,
    P_DB,
    P_TIME,
    P_SIZE,
    P_ON_BUDGET,
    P_BYPASS,
    P_CACHE,
    P_ON_UNSCANNABLE,
    P_HONOR_ALLOW,
    P_COUNT
};
static const char *const POLICY_KEYS[P_COUNT] = {"ferret.mode",
                                                 "ferret.rules",
                                                 "ferret.db",
                                                 "ferret.timeBudgetMs",
                                                 "ferret.sizeBudget",
                                                 "ferret.onBudgetExceeded",
                                                 "ferret.allowBypass",
                                                 "ferret.cacheDir",
                                                 "ferret.onUnscannable",
                                                 "ferret.honorAllowComments"};
static const char *const POLICY_DEFAULTS[P_COUNT] = {"block",  NULL,    NULL, "4000",   "256M",
                                                     "reject", "false", NULL, "reject", "false"};

/* The location of a piece of the push (strings borrowed). */
static fr_location piece_location(const hook_ctx *c, const fr_push_piece *pc, const char *kind,
                                  const char *path)
{
    return (fr_location){.kind = kind,
                         .repo = c->repo,
                         .path = path,
                         .commit = pc->commit,
                         .author_name = pc->author_name,
                         .author_email = pc->author_email,
                         .author_date = pc->author_date,
                         .ref = pc->ref};
}

static void scan_name(hook_ctx *c, const fr_push_piece *pc, const char *kind, const char *name)
{
    fr_location l = piece_location(c, pc, kind, name);
    hook_submit_name(&c->hs, &l);
}

static int on_piece(void *arg, const fr_push_piece *pc)
{
    hook_ctx *c = arg;
    if (fr_monotonic() - c->t0 > c->budget_s) {
        c->over_budget = 1;
        return 1;
    }
    /* A secret in a pushed path name is readable on the server as surely as one
     * in the content: it is a finding of its own (kind git-path, as in a scan).
     * The path is scanned first, whatever happens to the content, and for
     * every path a blob appears at. */
    if (pc->path && !strcmp(pc->kind, "git")) {
        const char *name = pc->path;
        /* "<ref NAME>...": the ref's name is scanned once on its own */
        size_t rl = pc->ref ? strlen(pc->ref) : 0;
        if (rl && !strncmp(name, "<ref ", 5) && !strncmp(name + 5, pc->ref, rl) &&
            name[5 + rl] == '>')
            name += 6 + rl;
        if (*name) scan_name(c, pc, "git-path", name);
    }
    /* An annotated tag's own name is shown by git too; it is scanned unless it
     * is the name of the pushed ref (refs/tags/NAME), scanned already. */
    static const char TAG_AT[] = "<tag message: ";
    if (pc->path && !strncmp(pc->path, TAG_AT, sizeof TAG_AT - 1)) {
        const char *tag = pc->path + sizeof TAG_AT - 1;
        size_t tl = strlen(tag) - (*tag ? 1 : 0); /* without the closing '>' */
        const char *short_ref = pc->ref && !strncmp(pc->ref, "refs/tags/", 10) ? pc->ref + 10 : "";
        if (tl && (strlen(short_ref) != tl || strncmp(short_ref, tag, tl)))
            scan_name(c, pc, "git-path", pc->path);
    }
    if (pc->path_only) return 0; /* its content was scanned at its first path */
    int blob = !strcmp(pc->kind, "git");
    if (blob && (pc->size > pc->len || !pc->data)) {
        fr_buf shown = {0};
        fr_redact_path(c->hs.sc, pc->path, &shown);
        if (pc->size > c->blob_cap) { /* over the cap: not scanned whole */
            c->big = fr_xrealloc(c->big, (c->nbig + 1) * sizeof *c->big);
            hook_big *b = &c->big[c->nbig++];
            b->path = fr_buf_steal(&shown);
            snprintf(b->blob, sizeof b->blob, "%.12s", pc->blob ? pc->blob : "");
            b->size = pc->size;
            b->scanned = pc->data ? pc->len : 0;
        } else { /* not readable: a hole in what the push was checked for */
            hook_scan *h = &c->hs;
            h->u = fr_xrealloc(h->u, (h->nu + 1) * sizeof *h->u);
            fr_buf why = {0};
            fr_buf_printf(&why, "blob %.12s cannot be read", pc->blob ? pc->blob : "");
            h->u[h->nu++] =
                (hook_unscanned){fr_buf_steal(&shown), fr_xstrdup(pc->commit ? pc->commit : ""),
                                 fr_buf_steal(&why), 1};
            fr_buf_release(&shown);
        }
    }
    if (!pc->data) return 0;
    if (c->hs.bytes + pc->len > c->size_budget) {
        c->over_budget = 1;
        return 1;
    }
    /* The scan's own per-content code: archives opened, logs normalised, text
     * views, guards (hook_scan.c). */
    fr_location l = piece_location(c, pc, pc->kind, pc->path);
    hook_submit_content(&c->hs, &l, pc->data, pc->len);
    return 0;
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
        for (size_t i = 0; i < c->hs.nf; i++) {
            const hook_finding *f = &c->hs.f[i];
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
        fr_run_counts counts = {0, 0, 0, c->hs.bytes, c->hs.nf, 0};
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

/* Prints what was not scanned whole and returns whether the push must be
 * rejected for it: what could not be read or scanned (errors) always, content
 * that cannot be opened (skipped: damaged, encrypted, over a limit) unless
 * ferret.onUnscannable is warn. */
static int report_unscanned(const hook_ctx *c, const char *on_unscannable)
{
    int reject = 0, warn_only = !strcmp(on_unscannable, "warn");
    for (size_t i = 0; i < c->hs.nu; i++) {
        const hook_unscanned *u = &c->hs.u[i];
        int r = u->error || !warn_only;
        reject |= r;
        fprintf(stderr, "ferret: %s: %s%s%.12s: not scanned whole: %s; %s\n",
                r ? "error" : "warning", u->path, *u->commit ? " in commit " : "", u->commit,
                u->reason,
                u->error ? "the push is rejected (what is not scanned may hold a secret)"
                : r ? "the push is rejected (ferret.onUnscannable = reject; 'warn' accepts such "
                      "content with this warning). Push it in a form that can be read, or, "
                      "where ferret.allowBypass is set, push with 'git push -o ferret.skip' "
                      "(recorded)"
                    : "accepted (ferret.onUnscannable = warn)");
    }
    return reject;
}

int fr_cmd_hook(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "pre-commit")) return fr_hook_pre_commit(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "pre-push")) return fr_hook_pre_push(argc - 1, argv + 1);
    if (argc < 2 || strcmp(argv[1], "pre-receive")) {
        fr_cli_error("usage: ferret hook pre-receive | pre-commit | pre-push\n"
                     "  pre-receive  (server) reads git's pre-receive input on stdin\n"
                     "  pre-commit   scans the staged changes\n"
                     "  pre-push     reads git's pre-push input on stdin");
        return FR_EXIT_ERROR;
    }
    fr_push_update *u = NULL;
    size_t n = 0;
    char line[MAX_LINE + 2];
    int exit_code = FR_EXIT_ERROR;
    hook_ctx c = {0};
    char *pol[P_COUNT];
    fr_git_hook_config(POLICY_KEYS, P_COUNT, pol); /* one repository open for all keys */
    for (int i = 0; i < P_COUNT; i++)
        if (!pol[i] && POLICY_DEFAULTS[i]) pol[i] = fr_xstrdup(POLICY_DEFAULTS[i]);
    char *mode = pol[P_MODE], *rules = pol[P_RULES], *db = pol[P_DB], *tb = pol[P_TIME];
    char *sb = pol[P_SIZE], *ob = pol[P_ON_BUDGET], *bypass = pol[P_BYPASS], *cache = pol[P_CACHE];
    int warn = !strcmp(mode, "warn");
    const char *gd = getenv("GIT_DIR");
    c.repo = gd && *gd ? gd : ".";
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
    if (fr_parse_size(sb, &c.size_budget)) c.size_budget = 256u << 20;
    /* No one blob may take more than the whole push's budget. */
    c.blob_cap = c.size_budget < FR_HOOK_BLOB_MAX ? c.size_budget : FR_HOOK_BLOB_MAX;
    /* Configuration comes from the receiving repository only (git config; a
     * relative ferret.rules is taken from $GIT_DIR, where push hooks run),
     * never from what is pushed; and 'ferret:allow' in pushed content is a
     * finding like any other unless the server's owner trusts it. */
    hook_opts ho = {.rules_dir = rules,
                    .cache_dir = cache,
                    .max_size = c.blob_cap,
                    .ignore_allow = !is_true(pol[P_HONOR_ALLOW])};
    if (hook_scan_start(&c.hs, &ho)) {
        fr_cli_error("rejecting the push: %s", fr_error());
        goto done;
    }
    /* The time budget covers reading and scanning the push, not compiling the
     * rules (a one-time cost: the compiled database is cached). */
    c.t0 = fr_monotonic();
    c.budget_s = atof(tb) / 1000.0;
    /* Each ref name the push creates or moves is shown by the server like a
     * path: scanned as a name of its own (a deletion shows nothing new). */
    for (size_t i = 0; i < n; i++) {
        if (strspn(u[i].new_oid, "0") == 40) continue;
        fr_push_piece rp = {.kind = "git-ref", .commit = u[i].new_oid, .ref = u[i].ref};
        scan_name(&c, &rp, "git-ref", u[i].ref);
    }
    fr_push_stats ps = {0};
    fr_push_walk_opts wo = {.max_size = c.blob_cap, .have_all_refs = 1};
    if (fr_git_push_walk(u, n, &wo, on_piece, &c, &ps)) {
        fr_cli_error("rejecting the push: %s", fr_error());
        goto done;
    }
    if (hook_scan_finish(&c.hs)) {
        fr_cli_error("rejecting the push: the scan failed: %s", fr_error());
        goto done;
    }
    /* What could not be read or scanned was not checked: fail closed. */
    int reject_unscanned = report_unscanned(&c, pol[P_ON_UNSCANNABLE]);
    if (ps.incomplete) {
        fr_cli_error("rejecting the push: some pushed objects could not be read%s%s",
                     ps.problem[0] ? ": " : "", ps.problem);
        reject_unscanned = 1;
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
    hook_print_findings(&c.hs, warn ? "warning:" : "SECRET");
    size_t nf = c.hs.nf;
    int marked = 0;
    for (size_t i = 0; i < nf; i++)
        marked |= c.hs.f[i].allow_marker;
    if (nf)
        fprintf(stderr,
                "ferret: %s. To fix: remove the secret from history (git commit --amend, or "
                "git rebase -i and edit the commit), rotate the credential — it was exposed the "
                "moment it was committed — and push again.%s\n",
                warn ? "warn mode: the push is accepted" : "push rejected",
                marked ? " 'ferret:allow' in pushed content is not honoured by this server "
                         "(a push must not allowlist its own secret); its owner may trust it "
                         "with ferret.honorAllowComments"
                       : "");
    if (db)
        record(db, &c, c.hs.rs->hash,
               nf && !warn        ? "rejected"
               : reject_unscanned ? "rejected (not scanned whole)"
               : reject_budget    ? "rejected (budget)"
                                  : "accepted");
    exit_code =
        (nf && !warn) || reject_budget || reject_unscanned ? FR_EXIT_FINDINGS : FR_EXIT_CLEAN;
done:
    for (size_t i = 0; i < n; i++)
        free(u[i].ref);
    free(u);
    hook_scan_free(&c.hs);
    for (size_t i = 0; i < c.nbig; i++)
        free(c.big[i].path);
    free(c.big);
    for (int i = 0; i < P_COUNT; i++)
        free(pol[i]);
    return exit_code;
}
