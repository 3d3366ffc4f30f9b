/*
 * cmd_hook_client.c: the client-side hooks.
 *   ferret hook pre-commit   the staged changes: blobs the index adds or
 *                            changes against HEAD, at their paths, findings
 *                            only on the lines the change adds; new path names
 *   ferret hook pre-push     git's pre-push input on stdin ("<local ref> <local
 *                            oid> <remote ref> <remote oid>"): the commits the
 *                            remote does not have (neither the remote ref's old
 *                            value nor any ref under refs/remotes/<remote>/ reaches them)
 * Content goes through the pipeline's per-item code like a scan's (hook.h);
 * 'ferret:allow' is honoured (the developer's own gate; the server decides
 * for itself). Policy is the repository's git config: ferret.rules (a relative
 * path is taken from the work tree's top, where git runs hooks), ferret.cacheDir,
 * ferret.mode (warn: report, never block), ferret.onUnscannable.
 * Exit: 0 go on, 1 blocked (findings, or content not scanned whole), 2 error.
 */
#include "cli/cli.h"
#include "cli/hook.h"
#include "sources/sources.h"
#include "util/limits.h"
#include "util/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { C_MODE, C_RULES, C_CACHE, C_ON_UNSCANNABLE, C_COUNT };
static const char *const CLIENT_KEYS[C_COUNT] = {"ferret.mode", "ferret.rules", "ferret.cacheDir",
                                                 "ferret.onUnscannable"};

typedef struct {
    hook_scan hs;
    const char *kind; /* the locations' kind: "index" (pre-commit), "git" (pre-push) */
    char *big;        /* redacted paths of blobs over the cap, one per line */
    size_t nbig;
    char *cfg[C_COUNT];
} client;

static int client_start(client *c, const char *kind)
{
    memset(c, 0, sizeof *c);
    c->kind = kind;
    fr_git_hook_config(CLIENT_KEYS, C_COUNT, c->cfg);
    hook_opts ho = {
        .rules_dir = c->cfg[C_RULES], .cache_dir = c->cfg[C_CACHE], .max_size = FR_HOOK_BLOB_MAX};
    if (hook_scan_start(&c->hs, &ho)) {
        fr_cli_error("%s", fr_error());
        return FR_ERR;
    }
    return FR_OK;
}

static void client_free(client *c)
{
    hook_scan_free(&c->hs);
    free(c->big);
    for (int i = 0; i < C_COUNT; i++)
        free(c->cfg[i]);
}

/* A blob that was not read (unreadable, or over the cap): noted by path. */
static void note_unread(client *c, const char *path, const char *blob, int unreadable,
                        uint64_t size)
{
    fr_buf shown = {0}, why = {0};
    fr_redact_path(c->hs.sc, path, &shown);
    if (unreadable)
        fr_buf_printf(&why, "blob %.12s cannot be read", blob);
    else
        fr_buf_printf(&why, "%llu bytes, over the %llu bytes a hook scans per file",
                      (unsigned long long)size, (unsigned long long)FR_HOOK_BLOB_MAX);
    hook_scan *h = &c->hs;
    h->u = fr_xrealloc(h->u, (h->nu + 1) * sizeof *h->u);
    h->u[h->nu++] =
        (hook_unscanned){fr_buf_steal(&shown), fr_xstrdup(""), fr_buf_steal(&why), unreadable};
    fr_buf_release(&shown);
}

/* Prints the verdict; returns the exit code. */
static int client_verdict(client *c, const char *fix)
{
    int warn = c->cfg[C_MODE] && !strcmp(c->cfg[C_MODE], "warn");
    int warn_unscanned = c->cfg[C_ON_UNSCANNABLE] && !strcmp(c->cfg[C_ON_UNSCANNABLE], "warn");
    int block = 0;
    for (size_t i = 0; i < c->hs.nu; i++) {
        const hook_unscanned *u = &c->hs.u[i];
        int b = !warn && (u->error || !warn_unscanned);
        block |= b;
        fprintf(stderr, "ferret: %s: %s%s%.12s: not scanned whole: %s\n", b ? "error" : "warning",
                u->path, *u->commit ? " in commit " : "", u->commit, u->reason);
    }
    if (block)
        fprintf(stderr, "ferret: what is not scanned may hold a secret (ferret.onUnscannable = "
                        "warn lets damaged or encrypted archives through with a warning)\n");
    hook_print_findings(&c->hs, warn ? "warning:" : "SECRET");
    if (c->hs.nf) {
        fprintf(stderr, "ferret: %s. To fix: %s", warn ? "warn mode: not blocked" : "blocked", fix);
        fprintf(stderr, " Rotate the credential if it ever left this machine. A false positive: "
                        "add 'ferret:allow' to that line.\n");
        block |= !warn;
    }
    return block ? FR_EXIT_FINDINGS : FR_EXIT_CLEAN;
}

/* ------------------------------------------------------------ pre-commit --- */

static int on_staged(void *arg, const fr_staged_piece *pc)
{
    client *c = arg;
    fr_location l = {.kind = c->kind, .path = pc->path};
    if (pc->new_path) { /* a new name is shown by every clone */
        fr_location nl = {.kind = "git-path", .path = pc->path};
        hook_submit_name(&c->hs, &nl);
    }
    if (pc->content_known) return 0;
    if (!pc->data) {
        note_unread(c, pc->path, pc->blob, pc->unreadable, pc->size);
        return 0;
    }
    if (pc->all_lines)
        hook_submit_content(&c->hs, &l, pc->data, pc->len);
    else
        hook_submit_lines(&c->hs, &l, pc->data, pc->len, pc->lines, pc->nlines);
    return 0;
}

int fr_hook_pre_commit(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        fr_cli_error("usage: ferret hook pre-commit  (run by git before a commit; scans the "
                     "staged changes)");
        return FR_EXIT_ERROR;
    }
    client c;
    int ec = FR_EXIT_ERROR;
    if (client_start(&c, "index")) goto done;
    fr_push_stats ps = {0};
    if (fr_git_staged_walk(FR_HOOK_BLOB_MAX, on_staged, &c, &ps) || hook_scan_finish(&c.hs)) {
        fr_cli_error("%s", fr_error());
        goto done;
    }
    ec = client_verdict(&c, "take the secret out of the file and stage it again (git add), or "
                            "unstage the file (git restore --staged PATH); keep secrets in the "
                            "environment or a secret store, out of git.");
done:
    client_free(&c);
    return ec;
}

/* -------------------------------------------------------------- pre-push --- */

static int on_pushed(void *arg, const fr_push_piece *pc)
{
    client *c = arg;
    if (pc->path && !strcmp(pc->kind, "git")) { /* every path a pushed blob is at */
        const char *name = pc->path;
        size_t rl = pc->ref ? strlen(pc->ref) : 0; /* "<ref NAME>/...": the ref is scanned apart */
        if (rl && !strncmp(name, "<ref ", 5) && !strncmp(name + 5, pc->ref, rl) &&
            name[5 + rl] == '>')
            name += 6 + rl;
        fr_location nl = {.kind = "git-path", .path = name, .commit = pc->commit, .ref = pc->ref};
        if (*name) hook_submit_name(&c->hs, &nl);
    }
    if (pc->path_only) return 0;
    if (!strcmp(pc->kind, "git") && (!pc->data || pc->size > pc->len)) {
        note_unread(c, pc->path, pc->blob ? pc->blob : "",
                    !pc->data && pc->size <= FR_HOOK_BLOB_MAX, pc->size);
        if (!pc->data) return 0;
    }
    fr_location l = {.kind = pc->kind,
                     .path = pc->path,
                     .commit = pc->commit,
                     .author_name = pc->author_name,
                     .author_email = pc->author_email,
                     .author_date = pc->author_date,
                     .ref = pc->ref};
    hook_submit_content(&c->hs, &l, pc->data, pc->len);
    return 0;
}

static int is_oid(const char *s)
{
    size_t n = strlen(s);
    if (n != 40) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i])) return 0;
    return 1;
}

/* A remote given by name (not a URL): its remote-tracking refs are what it has. */
static int is_remote_name(const char *r)
{
    return r && *r && !strchr(r, '/') && !strchr(r, ':') && !strchr(r, '\\');
}

int fr_hook_pre_push(int argc, char **argv)
{
    /* git runs it as: pre-push REMOTE URL; the pre-commit framework passes
     * the same arguments but no input (its variables say what is pushed). */
    const char *remote = argc > 1 ? argv[1] : getenv("PRE_COMMIT_REMOTE_NAME");
    fr_push_update *u = NULL;
    size_t n = 0;
    char line[4200];
    int ec = FR_EXIT_ERROR;
    client c = {0};
    fr_buf prefix = {0};
    while (fgets(line, sizeof line, stdin)) {
        char lref[4096], loid[64], rref[4096], roid[64];
        if (strlen(line) > 4100 ||
            sscanf(line, "%4095s %63s %4095s %63s", lref, loid, rref, roid) != 4 || !is_oid(loid) ||
            !is_oid(roid)) {
            fr_cli_error("malformed pre-push input (expected '<local ref> <local oid> <remote "
                         "ref> <remote oid>')");
            goto done;
        }
        u = fr_xrealloc(u, (n + 1) * sizeof *u);
        memcpy(u[n].old_oid, roid, 41);
        memcpy(u[n].new_oid, loid, 41);
        u[n].ref = fr_xstrdup(rref);
        n++;
    }
    const char *to = getenv("PRE_COMMIT_TO_REF"), *from = getenv("PRE_COMMIT_FROM_REF");
    if (!n && to && is_oid(to)) {
        const char *rb = getenv("PRE_COMMIT_REMOTE_BRANCH");
        u = fr_xcalloc(1, sizeof *u);
        memcpy(u[0].new_oid, to, 41);
        memcpy(u[0].old_oid,
               from && is_oid(from) ? from : "0000000000000000000000000000000000000000", 41);
        u[0].ref = fr_xstrdup(rb && *rb ? rb : "HEAD");
        n = 1;
    }
    if (client_start(&c, "git")) goto done;
    /* Each pushed ref's name is shown by the remote like a path. */
    for (size_t i = 0; i < n; i++) {
        if (strspn(u[i].new_oid, "0") == 40) continue;
        fr_location rl = {
            .kind = "git-ref", .path = u[i].ref, .commit = u[i].new_oid, .ref = u[i].ref};
        hook_submit_name(&c.hs, &rl);
    }
    if (is_remote_name(remote)) fr_buf_printf(&prefix, "refs/remotes/%s/", remote);
    fr_push_walk_opts wo = {.max_size = FR_HOOK_BLOB_MAX, .have_prefix = prefix.p};
    fr_push_stats ps = {0};
    if (fr_git_push_walk(u, n, &wo, on_pushed, &c, &ps) || hook_scan_finish(&c.hs)) {
        fr_cli_error("%s", fr_error());
        goto done;
    }
    if (ps.incomplete) {
        fr_cli_error("some commits to push could not be read%s%s", ps.problem[0] ? ": " : "",
                     ps.problem);
        goto done;
    }
    ec = client_verdict(&c, "rewrite the commits that are not pushed yet: git commit --amend for "
                            "the last one, git rebase -i for an earlier one (edit the commit, take "
                            "the secret out); then push again.");
done:
    for (size_t i = 0; i < n; i++)
        free(u[i].ref);
    free(u);
    fr_buf_release(&prefix);
    client_free(&c);
    return ec;
}
