/*
 * sarif.c: SARIF 2.1.0 for GitHub code scanning (and any SARIF viewer).
 *
 * One run per repository (plus one for files read from disk), so each run can
 * say which commit it describes (versionControlProvenance) and GitHub can keep
 * each repository's alerts apart (runAutomationDetails). A result is a finding at
 * a location that exists in what the run describes: for a repository, the blob at
 * that path in HEAD's tree; for files, the file on disk. A finding seen only in
 * history (an old commit, a commit message, a ref name, an unreachable blob) is
 * one result without a location, its history in relatedLocations and
 * properties: nothing is presented as if it were in the analysed commit, and no
 * URI is invented for what has no file.
 *
 * Regions are recomputed from the content at HEAD (or on disk): the secret is
 * found again at its line by its SHA-256, which gives the end of the region,
 * and columns are counted in UTF-16 code units as declared (columnKind). Nothing
 * in the file is a bare hash of a secret: fingerprints are keyed HMACs
 * (fr_store_hmac) and the finding is named by its keyed id.
 */
#include "report/report.h"
#include "rules/rules.h"
#include "util/util.h"

#include <git2.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* GitHub code scanning's upload limits (results beyond are rejected, not shown). */
#define MAX_RUNS          20
#define MAX_RESULTS       25000
#define MAX_RELATED       1000
#define MAX_RELATED_SHOWN 100         /* kept per result: the first ones by repository order */
#define MAX_FILE          (64u << 20) /* files read back to place a region */

static const char *const VALIDATED[4] = {"none", "structure", "checksum", "none"};

static json_t *jstr(const char *s)
{
    if (!s) return json_null();
    json_t *j = json_string(s);
    if (j) return j;
    fr_buf b = {0};
    fr_buf_put_safe(&b, s, strlen(s));
    j = json_string(b.p ? b.p : "");
    fr_buf_release(&b);
    return j;
}

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v && *v) json_object_set_new(o, k, jstr(v));
}

static json_t *text_msg(const char *s)
{
    return json_pack("{s:o}", "text", jstr(s));
}

/* A relative URI reference: everything outside the unreserved set and '/' is
 * percent-encoded (so '!', '#', '?', ' ' and non-ASCII bytes cannot change its
 * meaning). */
static char *uri_of(const char *path)
{
    fr_buf b = {0};
    fr_buf_puts(&b, "");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~/", *p))
            fr_buf_append(&b, p, 1);
        else
            fr_buf_printf(&b, "%%%02X", *p);
    }
    return fr_buf_steal(&b);
}

/* An absolute directory as a file:// URI ending in '/' (originalUriBaseIds). */
static char *dir_uri(const char *dir)
{
    char *enc = uri_of(dir);
    fr_buf b = {0};
    fr_buf_printf(&b, "file://%s%s", enc, enc[0] && enc[strlen(enc) - 1] == '/' ? "" : "/");
    free(enc);
    return fr_buf_steal(&b);
}

/* ---------------------------------------------------------------- regions --- */

typedef struct {
    int64_t start_line, start_col, end_line, end_col; /* 0: unknown */
} region;

/* UTF-16 code units in s[0..n): a 4-byte UTF-8 sequence is a surrogate pair;
 * bytes that are not UTF-8 count one each (as a decoder replaces them). */
static int64_t utf16_units(const unsigned char *s, size_t n)
{
    int64_t u = 0;
    for (size_t i = 0; i < n; i++) {
        if ((s[i] & 0xC0) == 0x80) continue; /* continuation byte */
        u += s[i] >= 0xF0 && s[i] <= 0xF4 ? 2 : 1;
    }
    return u;
}

/* Places a match at byte column col (1-based) of line in data: the secret whose
 * SHA-256 is sha_hex starts there; its end is found by hashing its prefixes.
 * When it cannot be found again (the content is another view, as UTF-16 text),
 * the region runs to the end of the line. Returns 0 when the line is absent. */
static int place(const unsigned char *d, size_t n, int64_t line, int64_t col, const char *sha_hex,
                 region *r)
{
    size_t ls = 0;
    for (int64_t l = 1; l < line; l++) {
        const unsigned char *nl = memchr(d + ls, '\n', n - ls);
        if (!nl) return 0;
        ls = (size_t)(nl - d) + 1;
    }
    const unsigned char *nl = memchr(d + ls, '\n', n - ls);
    size_t le = nl ? (size_t)(nl - d) : n;
    if (col < 1 || (size_t)(col - 1) > le - ls) return 0;
    size_t at = ls + (size_t)(col - 1);
    r->start_line = line;
    r->start_col = utf16_units(d + ls, at - ls) + 1;
    size_t end = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new(), *t = EVP_MD_CTX_new();
    if (c && t && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1) {
        for (size_t i = at; i < n && i - at < 16384; i++) {
            unsigned char h[EVP_MAX_MD_SIZE];
            unsigned hl = 0;
            char hex[65];
            if (EVP_DigestUpdate(c, d + i, 1) != 1 || EVP_MD_CTX_copy_ex(t, c) != 1 ||
                EVP_DigestFinal_ex(t, h, &hl) != 1 || hl != 32)
                break;
            fr_hex(hex, h, 32);
            if (!strcmp(hex, sha_hex)) {
                end = i + 1;
                break;
            }
        }
    }
    EVP_MD_CTX_free(c);
    EVP_MD_CTX_free(t);
    if (!end) end = le > at ? le : at + 1 <= n ? at + 1 : at;
    /* The end's line and column: a secret may span lines (a PEM block). */
    size_t els = ls;
    int64_t el = line;
    for (size_t i = at; i < end; i++)
        if (d[i] == '\n' && i + 1 < end) el++, els = i + 1;
    r->end_line = el;
    r->end_col = utf16_units(d + els, end - els) + 1;
    if (r->end_line == r->start_line && r->end_col <= r->start_col) r->end_col = r->start_col + 1;
    return 1;
}

static json_t *region_json(const region *r, int64_t line, int64_t col)
{
    if (r && r->start_line)
        return json_pack("{s:I,s:I,s:I,s:I}", "startLine", (json_int_t)r->start_line, "startColumn",
                         (json_int_t)r->start_col, "endLine", (json_int_t)r->end_line, "endColumn",
                         (json_int_t)r->end_col);
    /* Unplaced: the line only (columns were counted in bytes of another view). */
    (void)col;
    return line > 0 ? json_pack("{s:I}", "startLine", (json_int_t)line) : NULL;
}

/* ------------------------------------------------------------------- runs --- */

typedef struct {
    int rank; /* severity, for keeping the most severe under the cap */
    json_t *r;
} result;

typedef struct {
    char *key; /* the repository's path; "" for files read from disk */
    int git;
    git_repository *repo;
    git_tree *head;
    char head_oid[GIT_OID_HEXSZ + 1];
    char *branch, *remote, *root; /* root: the absolute directory SRCROOT stands for */
    result *res;
    size_t nres, cap;
    size_t history_only; /* findings with no location in what the run describes */
    /* the blob or file last read, to place regions */
    char *loaded_key;
    unsigned char *data;
    size_t len;
} srun;

typedef struct {
    fr_store *s;
    const fr_report_opts *o;
    srun *runs;
    size_t nruns;
    char *cwd;
    size_t nfindings;
} sctx;

static int sev_rank(const char *sev)
{
    if (!strcmp(sev, "critical")) return 4;
    if (!strcmp(sev, "high")) return 3;
    if (!strcmp(sev, "medium")) return 2;
    return 1;
}

/* A remote's URL without user information (it may hold a token); scp-like
 * 'user@host:path' becomes ssh://host/path. NULL when there is none. */
static char *clean_remote(const char *url)
{
    if (!url || !*url) return NULL;
    fr_buf b = {0};
    const char *sep = strstr(url, "://");
    if (sep) {
        const char *auth = sep + 3, *slash = strchr(auth, '/'), *at = strchr(auth, '@');
        fr_buf_append(&b, url, (size_t)(auth - url));
        if (at && (!slash || at < slash)) auth = at + 1;
        fr_buf_puts(&b, auth);
    } else if (strchr(url, ':') && url[0] != '/') {
        const char *at = strchr(url, '@'), *colon = strchr(url, ':');
        const char *host = at && at < colon ? at + 1 : url;
        fr_buf_puts(&b, "ssh://");
        fr_buf_append(&b, host, (size_t)(colon - host));
        fr_buf_puts(&b, "/");
        fr_buf_puts(&b, colon + 1);
    } else {
        fr_buf_release(&b);
        return NULL;
    }
    return fr_buf_steal(&b);
}

static void open_git(srun *r)
{
    if (git_repository_open(&r->repo, r->key) != 0) {
        r->repo = NULL;
        return;
    }
    const char *wd = git_repository_workdir(r->repo);
    r->root = fr_xstrdup(wd ? wd : git_repository_path(r->repo));
    git_reference *head = NULL;
    if (git_repository_head(&head, r->repo) == 0) {
        git_commit *c = NULL;
        if (git_commit_lookup(&c, r->repo, git_reference_target(head)) == 0) {
            git_oid_tostr(r->head_oid, sizeof r->head_oid, git_commit_id(c));
            if (git_commit_tree(&r->head, c) != 0) r->head = NULL;
            git_commit_free(c);
        }
        if (git_reference_is_branch(head)) r->branch = fr_xstrdup(git_reference_name(head));
        git_reference_free(head);
    }
    /* The URL from the config, not git_remote_lookup: libgit2 1.5 leaks PCRE2
     * match data in that lookup's config regex matching. */
    git_config *cfg = NULL;
    git_buf url = GIT_BUF_INIT;
    if (git_repository_config_snapshot(&cfg, r->repo) == 0 &&
        git_config_get_string_buf(&url, cfg, "remote.origin.url") == 0)
        r->remote = clean_remote(url.ptr);
    git_buf_dispose(&url);
    git_config_free(cfg);
}

static srun *run_for(sctx *c, const char *key, int git)
{
    for (size_t i = 0; i < c->nruns; i++)
        if (c->runs[i].git == git && !strcmp(c->runs[i].key, key)) return &c->runs[i];
    c->runs = fr_xrealloc(c->runs, (c->nruns + 1) * sizeof *c->runs);
    srun *r = &c->runs[c->nruns++];
    memset(r, 0, sizeof *r);
    r->key = fr_xstrdup(key);
    r->git = git;
    if (git)
        open_git(r);
    else if (c->cwd)
        r->root = fr_xstrdup(c->cwd);
    return r;
}

/* Loads the blob (git) or file (disk) named by key into r->data. */
static int load(srun *r, const char *key, const git_oid *oid, const char *file)
{
    if (r->loaded_key && !strcmp(r->loaded_key, key)) return r->data != NULL || r->len == 0;
    free(r->loaded_key);
    free(r->data);
    r->loaded_key = fr_xstrdup(key);
    r->data = NULL;
    r->len = 0;
    if (oid) {
        git_blob *b = NULL;
        if (!r->repo || git_blob_lookup(&b, r->repo, oid) != 0) return 0;
        size_t n = (size_t)git_blob_rawsize(b);
        if (n <= MAX_FILE) {
            r->data = fr_xmalloc(n + 1);
            memcpy(r->data, git_blob_rawcontent(b), n);
            r->len = n;
        }
        git_blob_free(b);
        return r->data != NULL;
    }
    FILE *f = fopen(file, "rb");
    if (!f) return 0;
    fr_buf b = {0};
    char tmp[65536];
    size_t got;
    while ((got = fread(tmp, 1, sizeof tmp, f)) > 0 && b.len <= MAX_FILE)
        fr_buf_append(&b, tmp, got);
    fclose(f);
    if (b.len > MAX_FILE) {
        fr_buf_release(&b);
        return 0;
    }
    r->len = b.len;
    r->data = (unsigned char *)fr_buf_steal(&b);
    return 1;
}

/* 'git:<oid>' content keys name a blob. */
static int blob_oid(const char *content_key, git_oid *oid)
{
    return content_key && !strncmp(content_key, "git:", 4) &&
           git_oid_fromstr(oid, content_key + 4) == 0;
}

/* Is this git location in HEAD's tree (the blob at that path, or for a name, the
 * path)? */
static int at_head(srun *r, const fr_occurrence_row *o)
{
    if (!r->head || !o->path || !*o->path) return 0;
    git_tree_entry *e = NULL;
    if (git_tree_entry_bypath(&e, r->head, o->path) != 0) return 0;
    int yes = 0;
    git_oid oid;
    if (!strcmp(o->kind, "git-path"))
        yes = 1;
    else if (blob_oid(o->content_key, &oid))
        yes = git_oid_equal(git_tree_entry_id(e), &oid);
    git_tree_entry_free(e);
    return yes;
}

/* A file location in the files run: the file itself, or for an archive member
 * ('a.zip!dir/x'), the archive on disk. *member points into path, or NULL. */
static const char *disk_file(const fr_occurrence_row *o, char **archive, const char **member)
{
    struct stat st;
    *archive = NULL;
    *member = NULL;
    if (!o->path || !*o->path || !strcmp(o->kind, "stdin")) return NULL;
    if (stat(o->path, &st) == 0 && S_ISREG(st.st_mode)) return o->path;
    for (const char *bang = strchr(o->path, '!'); bang; bang = strchr(bang + 1, '!')) {
        char *a = fr_xstrndup(o->path, (size_t)(bang - o->path));
        if (stat(a, &st) == 0 && S_ISREG(st.st_mode)) {
            *archive = a;
            *member = bang + 1;
            return a;
        }
        free(a);
    }
    return NULL;
}

/* A path for the run's SRCROOT: relative as stored in a repository; for files,
 * relative to the directory the report is written from when under it. */
static char *rel_path(const srun *r, const char *path, int *relative)
{
    *relative = 1;
    if (r->git || path[0] != '/') {
        const char *p = path;
        while (p[0] == '.' && p[1] == '/')
            p += 2;
        return fr_xstrdup(p);
    }
    size_t n = r->root ? strlen(r->root) : 0;
    if (n && !strncmp(path, r->root, n) && (path[n] == '/' || r->root[n - 1] == '/'))
        return fr_xstrdup(path + n + (path[n] == '/'));
    *relative = 0;
    return fr_xstrdup(path);
}

static json_t *phys(const srun *r, const char *path, json_t *reg)
{
    int relative;
    char *p = rel_path(r, path, &relative);
    char *u = uri_of(p);
    json_t *al = json_object();
    if (relative) {
        json_object_set_new(al, "uri", json_string(u));
        json_object_set_new(al, "uriBaseId", json_string("SRCROOT"));
    } else {
        fr_buf b = {0};
        fr_buf_printf(&b, "file://%s", u);
        json_object_set_new(al, "uri", json_string(b.p));
        fr_buf_release(&b);
    }
    free(u);
    free(p);
    json_t *pl = json_pack("{s:o}", "artifactLocation", al);
    if (reg) json_object_set_new(pl, "region", reg);
    return json_pack("{s:o}", "physicalLocation", pl);
}

/* What an occurrence is, for people: kind, commit, path and line. */
static json_t *occ_props(const fr_occurrence_row *o)
{
    json_t *j = json_object();
    set_str(j, "source", o->kind);
    set_str(j, "path", o->path);
    if (o->line > 0) json_object_set_new(j, "line", json_integer(o->line));
    set_str(j, "commit", o->commit);
    set_str(j, "date", o->author_date);
    set_str(j, "ref", o->ref);
    set_str(j, "transform", o->transform);
    return j;
}

static void push_result(srun *r, int rank, json_t *res)
{
    if (r->nres == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->res = fr_xrealloc(r->res, r->cap * sizeof *r->res);
    }
    r->res[r->nres++] = (result){rank, res};
}

/* The location key of an occurrence: the run it belongs to. */
static int is_git(const fr_occurrence_row *o)
{
    /* a work tree's uncommitted files and staged blobs belong to their
     * repository's run (listed as not in HEAD) */
    return !strncmp(o->kind, "git", 3) || !strcmp(o->kind, "worktree") || !strcmp(o->kind, "index");
}

static json_t *base_result(const fr_finding_row *f, const char *text)
{
    json_t *r = json_object();
    set_str(r, "ruleId", f->rule_id);
    /* A threat indicator is a problem to act on like a secret: kind "fail"
     * (the only kind SARIF allows beside a level other than "none"), said
     * explicitly; the rule's tags and the result's properties tell it apart. */
    if (f->kind && !strcmp(f->kind, "indicator")) set_str(r, "kind", "fail");
    set_str(r, "level", fr_severity_level(f->severity));
    json_object_set_new(r, "message", text_msg(text));
    return r;
}

static void finding_props(json_t *r, const fr_finding_row *f, size_t nhist, json_t *other)
{
    json_t *p = json_object();
    set_str(p, "findingId", f->fid);
    set_str(p, "preview", f->preview);
    set_str(p, "severity", f->severity);
    set_str(p, "validated", VALIDATED[f->validated & 3]);
    /* a weak password (validated -1, see report.c): the rule's precision is
     * not this result's */
    if (f->validated < 0) {
        json_object_set_new(p, "weak", json_true());
        set_str(p, "precision", "low");
    }
    set_str(p, "kind", f->kind ? f->kind : "secret");
    set_str(p, "firstSeen", f->first_seen);
    json_object_set_new(p, "historyLocations", json_integer((json_int_t)nhist));
    if (other && json_array_size(other)) json_object_set(p, "otherLocations", other);
    json_object_set_new(p, "security-severity", json_string(fr_severity_score(f->severity)));
    json_object_set_new(r, "properties", p);
}

/* partialFingerprints: primaryLocationLineHash in GitHub's 'hash:n' form, a
 * keyed hash of (finding, path) numbered per occurrence in that file, so the
 * alert follows the secret when lines move and every result has its own. */
static int fingerprints(sctx *c, json_t *r, const fr_finding_row *f, const char *path, int n)
{
    fr_buf b = {0};
    fr_buf_printf(&b, "sarif-line\x1f%s\x1f%s", f->fid ? f->fid : "", path ? path : "");
    char h[65];
    int rc = fr_store_hmac(c->s, b.p, b.len, h);
    fr_buf_release(&b);
    if (rc) return rc;
    char v[64];
    snprintf(v, sizeof v, "%.16s:%d", h, n);
    json_object_set_new(r, "partialFingerprints",
                        json_pack("{s:s,s:s}", "primaryLocationLineHash", v, "ferretFindingId/v1",
                                  f->fid ? f->fid : ""));
    return FR_OK;
}

/* The results of one finding in one run. idx: its occurrences in that run. */
static int finding_in_run(sctx *c, srun *r, const fr_finding_row *f, const fr_occurrence_row *occ,
                          const size_t *idx, size_t n)
{
    int rank = sev_rank(f->severity);
    unsigned char *cur = fr_xcalloc(n ? n : 1, 1);
    size_t ncur = 0;
    for (size_t k = 0; k < n; k++) {
        const fr_occurrence_row *o = &occ[idx[k]];
        char *arch;
        const char *member;
        if (r->git)
            cur[k] = (!strcmp(o->kind, "git") || !strcmp(o->kind, "git-path")) && at_head(r, o);
        else
            cur[k] = disk_file(o, &arch, &member) != NULL, free(arch);
        ncur += cur[k];
    }
    /* History (git locations not at HEAD with a path) as related locations; what
     * has no file (messages, refs, unreachable blobs, standard input) as
     * properties only. */
    json_t *related = json_array(), *other = json_array();
    size_t nhist = 0;
    for (size_t k = 0; k < n; k++) {
        const fr_occurrence_row *o = &occ[idx[k]];
        if (cur[k]) continue;
        nhist++;
        if (r->git && !strcmp(o->kind, "git") && o->path && *o->path) {
            if (json_array_size(related) >= MAX_RELATED_SHOWN) continue;
            fr_buf m = {0};
            fr_buf_printf(&m, "in history: commit %.12s%s%s", o->commit ? o->commit : "?",
                          o->author_date ? " of " : "", o->author_date ? o->author_date : "");
            json_t *loc = phys(r, o->path, region_json(NULL, o->line, 0));
            json_object_set_new(loc, "id", json_integer((json_int_t)json_array_size(related)));
            json_object_set_new(loc, "message", text_msg(m.p));
            json_object_set_new(loc, "properties", occ_props(o));
            fr_buf_release(&m);
            json_array_append_new(related, loc);
        } else if (json_array_size(other) < MAX_RELATED_SHOWN) {
            json_array_append_new(other, occ_props(o));
        }
    }
    int rc = FR_OK;
    if (ncur) {
        /* One result per distinct place at HEAD / on disk. */
        const char *last_path = NULL;
        int nth = 0;
        for (size_t k = 0; k < n && rc == FR_OK; k++) {
            if (!cur[k]) continue;
            const fr_occurrence_row *o = &occ[idx[k]];
            int dup = 0;
            for (size_t j = 0; j < k && !dup; j++)
                dup = cur[j] && !strcmp(occ[idx[j]].path, o->path) && occ[idx[j]].line == o->line &&
                      occ[idx[j]].column == o->column;
            if (dup) continue;
            nth = last_path && !strcmp(last_path, o->path) ? nth + 1 : 1;
            last_path = o->path;
            region rg = {0};
            json_t *mprops = NULL;
            const char *file = o->path;
            char *arch = NULL;
            int name_only = !strcmp(o->kind, "git-path") || !strcmp(o->kind, "file-path") ||
                            !strcmp(o->kind, "archive-path");
            if (r->git) {
                git_oid oid;
                if (!name_only && blob_oid(o->content_key, &oid) &&
                    load(r, o->content_key, &oid, NULL))
                    place(r->data, r->len, o->line, o->column, f->secret_sha256, &rg);
            } else {
                const char *member;
                file = disk_file(o, &arch, &member);
                if (arch) {
                    /* The archive is the artifact; the member is no URI of its own. */
                    mprops = json_pack("{s:o,s:I}", "member", jstr(member), "memberLine",
                                       (json_int_t)o->line);
                } else if (!name_only && load(r, o->path, NULL, o->path)) {
                    place(r->data, r->len, o->line, o->column, f->secret_sha256, &rg);
                }
            }
            fr_buf m = {0};
            fr_buf_printf(&m, "%s: %s (finding %s)%s", f->rule_name, f->preview,
                          f->fid ? f->fid : "?",
                          name_only ? " in the file's name"
                          : arch    ? " in an archive member"
                                    : "");
            if (o->transform) fr_buf_printf(&m, "; printed %s (masking bypass)", o->transform);
            if (nhist)
                fr_buf_printf(&m, "; also in %zu place%s in history", nhist, nhist == 1 ? "" : "s");
            json_t *res = base_result(f, m.p);
            fr_buf_release(&m);
            json_t *reg = arch || name_only ? NULL : region_json(&rg, o->line, o->column);
            json_object_set_new(res, "locations", json_pack("[o]", phys(r, file, reg)));
            if (json_array_size(related)) json_object_set(res, "relatedLocations", related);
            rc = fingerprints(c, res, f, o->path, nth);
            finding_props(res, f, nhist, other);
            if (mprops) {
                json_object_update(json_object_get(res, "properties"), mprops);
                json_decref(mprops);
            }
            if (o->transform)
                json_object_set_new(json_object_get(res, "properties"), "transform",
                                    jstr(o->transform));
            free(arch);
            push_result(r, rank, res);
        }
    } else {
        fr_buf m = {0};
        fr_buf_printf(&m,
                      "%s: %s (finding %s) is not in %s; seen in %zu other place%s (history, "
                      "messages, names or uncommitted files: see the related locations and "
                      "properties). Revoke it: it stays readable in the history.",
                      f->rule_name, f->preview, f->fid ? f->fid : "?",
                      r->git ? "the analysed commit" : "the files on disk", nhist,
                      nhist == 1 ? "" : "s");
        json_t *res = base_result(f, m.p);
        fr_buf_release(&m);
        if (json_array_size(related)) json_object_set(res, "relatedLocations", related);
        rc = fingerprints(c, res, f, "", 1);
        finding_props(res, f, nhist, other);
        json_object_set_new(json_object_get(res, "properties"), "historyOnly", json_true());
        r->history_only++;
        push_result(r, rank, res);
    }
    json_decref(related);
    json_decref(other);
    free(cur);
    return rc;
}

static int on_finding(const fr_finding_row *f, const fr_occurrence_row *occ, size_t n, void *ctx)
{
    sctx *c = ctx;
    size_t *idx = fr_xmalloc((n ? n : 1) * sizeof *idx);
    unsigned char *done = fr_xcalloc(n ? n : 1, 1);
    int rc = FR_OK;
    for (size_t i = 0; i < n && rc == FR_OK; i++) {
        if (done[i]) continue;
        int git = is_git(&occ[i]);
        const char *key = git ? (occ[i].repo ? occ[i].repo : "") : "";
        size_t k = 0;
        for (size_t j = i; j < n; j++) {
            int gj = is_git(&occ[j]);
            const char *kj = gj ? (occ[j].repo ? occ[j].repo : "") : "";
            if (!done[j] && gj == git && !strcmp(kj, key)) idx[k++] = j, done[j] = 1;
        }
        rc = finding_in_run(c, run_for(c, key, git), f, occ, idx, k);
    }
    free(idx);
    free(done);
    c->nfindings++;
    return rc;
}

/* ------------------------------------------------------------------ rules --- */

static int rule_to_sarif(const fr_rule_meta *m, void *vctx)
{
    json_t *ctx = vctx, *r = json_object(); /* ctx: rule id -> reportingDescriptor */
    set_str(r, "id", m->id);
    set_str(r, "name", m->name);
    json_object_set_new(r, "shortDescription", text_msg(m->name));
    json_object_set_new(r, "fullDescription", text_msg(m->description ? m->description : m->name));
    /* help: what the alert means and what to do, shown on every alert. */
    fr_buf t = {0}, md = {0};
    const char *desc = m->description && *m->description ? m->description : m->name;
    int ind = m->kind && !strcmp(m->kind, "indicator");
    if (ind) {
        fr_buf_printf(&t,
                      "%s\n\nA threat indicator: a trace of an attack (MITRE ATT&CK %s, as mapped "
                      "under ATT&CK v%s) in a CI log or pipeline definition, not a leaked "
                      "credential. Find who added it and when, and what the job could reach "
                      "(its secrets, its cloud role); rotate what it exposed. If it is expected, "
                      "mark the finding: ferret triage ID --status accepted.",
                      desc, m->attack, m->attack_version ? m->attack_version : "?");
        fr_buf_printf(&md,
                      "%s\n\nA **threat indicator** (MITRE ATT&CK %s, ATT&CK v%s), not a leaked "
                      "credential: find who added it and when, and what the job could reach "
                      "(its secrets, its cloud role); rotate what it exposed.\n\nExpected? "
                      "`ferret triage ID --status accepted`.",
                      desc, m->attack, m->attack_version ? m->attack_version : "?");
    } else {
        fr_buf_printf(
            &t,
            "%s\n\nA secret in source code or history is exposed to everyone who can read the "
            "repository and its clones. Revoke or rotate it at its issuer first (deleting the "
            "line does not remove it from history), then remove it from the code and load it "
            "from a secret store or the environment. If it is not a secret, mark the finding: "
            "ferret triage ID --status false-positive.",
            desc);
        fr_buf_printf(
            &md,
            "%s\n\n**Revoke or rotate** the secret at its issuer first: deleting the line does "
            "not remove it from history or clones. Then remove it from the code and load it "
            "from a secret store or the environment.\n\nNot a secret? `ferret triage ID "
            "--status false-positive`.",
            desc);
    }
    if (m->refs && *m->refs) {
        fr_buf_puts(&t, "\n\nReferences:");
        fr_buf_puts(&md, "\n\nReferences:\n");
        const char *p = m->refs;
        while (*p) {
            const char *nl = strchr(p, '\n');
            size_t len = nl ? (size_t)(nl - p) : strlen(p);
            if (len) {
                fr_buf_printf(&t, "\n%.*s", (int)len, p);
                fr_buf_printf(&md, "\n- <%.*s>", (int)len, p);
            }
            p += len + (nl != NULL);
        }
        const char *nl = strchr(m->refs, '\n');
        char *first = fr_xstrndup(m->refs, nl ? (size_t)(nl - m->refs) : strlen(m->refs));
        set_str(r, "helpUri", first);
        free(first);
    }
    json_object_set_new(r, "help",
                        json_pack("{s:o,s:o}", "text", jstr(t.p), "markdown", jstr(md.p)));
    fr_buf_release(&t);
    fr_buf_release(&md);
    json_object_set_new(r, "defaultConfiguration",
                        json_pack("{s:s}", "level", fr_severity_level(m->severity)));
    json_t *tags = json_pack("[s,s]", "security", ind ? "indicator" : "secret");
    if (m->attack && *m->attack) json_array_append_new(tags, jstr(m->attack));
    json_t *props = json_pack("{s:o,s:s,s:s,s:s}", "tags", tags, "precision",
                              !strcmp(m->confidence, "high")     ? "high"
                              : !strcmp(m->confidence, "medium") ? "medium"
                                                                 : "low",
                              "security-severity", fr_severity_score(m->severity), "kind",
                              ind ? "indicator" : "secret");
    if (m->attack_version) set_str(props, "attackVersion", m->attack_version);
    json_object_set_new(r, "properties", props);
    json_object_set_new(ctx, m->id, r);
    return FR_OK;
}

/* ------------------------------------------------------------------- main --- */

static int by_rank(const void *a, const void *b)
{
    const result *x = a, *y = b;
    return (y->rank > x->rank) - (y->rank < x->rank);
}

/* A category for runAutomationDetails: 'ferret/<repository name>/' (the trailing
 * '/' makes all of it the category, so re-uploads replace the same analysis). */
static char *category(const srun *r)
{
    fr_buf b = {0};
    fr_buf_puts(&b, "ferret/");
    if (!r->git) {
        fr_buf_puts(&b, "files/");
        return fr_buf_steal(&b);
    }
    const char *k = r->key;
    size_t n = strlen(k);
    while (n > 1 && k[n - 1] == '/')
        n--;
    size_t s = n;
    while (s > 0 && k[s - 1] != '/')
        s--;
    for (size_t i = s; i < n; i++)
        fr_buf_printf(&b, "%c",
                      strchr("-._", k[i]) || (k[i] >= '0' && k[i] <= '9') ||
                              (k[i] >= 'a' && k[i] <= 'z') || (k[i] >= 'A' && k[i] <= 'Z')
                          ? k[i]
                          : '_');
    /* Two repositories with one name must not share a category. */
    char h[65];
    fr_sha256_hex(k, strlen(k), h);
    fr_buf_printf(&b, "-%.8s/", h);
    return fr_buf_steal(&b);
}

static json_t *run_json(srun *r, json_t *all_rules, const fr_run_row *last, int have_last,
                        size_t runs_dropped)
{
    if (r->nres) qsort(r->res, r->nres, sizeof *r->res, by_rank); /* NULL when empty */
    size_t keep = r->nres < MAX_RESULTS ? r->nres : MAX_RESULTS;
    /* The run's rules: those its results name, each result pointing at its own. */
    json_t *results = json_array(), *rules = json_array(), *ix = json_object();
    for (size_t i = 0; i < r->nres; i++) {
        if (i >= keep) {
            json_decref(r->res[i].r);
            continue;
        }
        const char *id = json_string_value(json_object_get(r->res[i].r, "ruleId"));
        json_t *k = id ? json_object_get(ix, id) : NULL;
        if (id && !k) {
            json_t *desc = json_object_get(all_rules, id);
            if (!desc) { /* a rule the store has no metadata for */
                desc = json_pack("{s:s,s:{s:s}}", "id", id, "shortDescription", "text", id);
                json_object_set_new(all_rules, id, desc);
            }
            k = json_integer((json_int_t)json_array_size(rules));
            json_object_set_new(ix, id, k);
            json_array_append(rules, desc);
        }
        if (k) json_object_set(r->res[i].r, "ruleIndex", k);
        json_array_append_new(results, r->res[i].r);
    }
    json_decref(ix);
    json_t *driver = json_pack("{s:s,s:s,s:s,s:o}", "name", "ferret", "version", FERRET_VERSION,
                               "semanticVersion", FERRET_VERSION, "rules", rules);
    json_t *run = json_pack("{s:{s:o}}", "tool", "driver", driver);
    char *cat = category(r);
    json_object_set_new(run, "automationDetails", json_pack("{s:s}", "id", cat));
    free(cat);
    if (r->root) {
        char *u = dir_uri(r->root);
        json_object_set_new(
            run, "originalUriBaseIds",
            json_pack("{s:{s:s,s:o}}", "SRCROOT", "uri", u, "description",
                      text_msg(r->git ? "the repository's work tree"
                                      : "the directory the report was written from")));
        free(u);
    }
    if (r->git && r->head_oid[0]) {
        json_t *vcp = json_object();
        char *u = r->remote ? NULL : dir_uri(r->root ? r->root : r->key);
        json_object_set_new(vcp, "repositoryUri", json_string(r->remote ? r->remote : u));
        free(u);
        json_object_set_new(vcp, "revisionId", json_string(r->head_oid));
        if (r->branch) json_object_set_new(vcp, "branch", json_string(r->branch));
        json_object_set_new(vcp, "mappedTo", json_pack("{s:s}", "uriBaseId", "SRCROOT"));
        json_object_set_new(run, "versionControlProvenance", json_pack("[o]", vcp));
    }
    /* invocations: whether the scan that filled the store completed, and what
     * this file leaves out. */
    json_t *notes = json_array();
    int ok = !have_last || !strcmp(last->status, "complete");
    if (!ok) {
        fr_buf m = {0};
        fr_buf_printf(&m, "the latest scan (run %lld) is %s%s%s: results may be missing",
                      (long long)last->id, last->status, last->note ? ": " : "",
                      last->note ? last->note : "");
        json_array_append_new(notes,
                              json_pack("{s:s,s:o}", "level", "warning", "message", text_msg(m.p)));
        fr_buf_release(&m);
    }
    if (r->git && !r->repo)
        json_array_append_new(
            notes, json_pack("{s:s,s:o}", "level", "warning", "message",
                             text_msg("the repository could not be opened: every result is "
                                      "reported without a location, as history")));
    if (r->nres > keep) {
        fr_buf m = {0};
        fr_buf_printf(&m,
                      "%zu results left out: GitHub code scanning accepts %d per run (the most "
                      "severe are kept); see ferret report --format jsonl for all",
                      r->nres - keep, MAX_RESULTS);
        json_array_append_new(notes,
                              json_pack("{s:s,s:o}", "level", "warning", "message", text_msg(m.p)));
        fr_buf_release(&m);
    }
    if (runs_dropped) {
        fr_buf m = {0};
        fr_buf_printf(&m,
                      "%zu repositories left out: GitHub code scanning accepts %d runs per file; "
                      "write one file per repository (ferret report --repo)",
                      runs_dropped, MAX_RUNS);
        json_array_append_new(notes,
                              json_pack("{s:s,s:o}", "level", "warning", "message", text_msg(m.p)));
        fr_buf_release(&m);
    }
    json_t *inv = json_pack("{s:b}", "executionSuccessful", ok && r->nres <= keep && !runs_dropped);
    if (have_last) {
        char s1[32] = "", s2[32] = "";
        /* SARIF wants date-times; the store's are ISO-8601 UTC already. */
        snprintf(s1, sizeof s1, "%s", last->started_at ? last->started_at : "");
        snprintf(s2, sizeof s2, "%s", last->finished_at ? last->finished_at : "");
        if (*s1) json_object_set_new(inv, "startTimeUtc", json_string(s1));
        if (*s2) json_object_set_new(inv, "endTimeUtc", json_string(s2));
    }
    if (json_array_size(notes)) json_object_set(inv, "toolExecutionNotifications", notes);
    json_decref(notes);
    json_object_set_new(run, "invocations", json_pack("[o]", inv));
    json_object_set_new(run, "results", results);
    json_object_set_new(run, "columnKind", json_string("utf16CodeUnits"));
    json_object_set_new(run, "properties",
                        json_pack("{s:I,s:I,s:I}", "results", (json_int_t)r->nres,
                                  "resultsIncluded", (json_int_t)keep, "historyOnlyFindings",
                                  (json_int_t)r->history_only));
    return run;
}

static void run_free(srun *r)
{
    free(r->key);
    free(r->branch);
    free(r->remote);
    free(r->root);
    free(r->res);
    free(r->loaded_key);
    free(r->data);
    if (r->head) git_tree_free(r->head);
    if (r->repo) git_repository_free(r->repo);
}

int fr_report_sarif(fr_store *s, FILE *out, const fr_report_opts *o, size_t *nfindings)
{
    git_libgit2_init();
    sctx c = {s, o, NULL, 0, NULL, 0};
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd)) c.cwd = cwd;
    json_t *rules = json_object(); /* rule id -> reportingDescriptor */
    fr_report_filter flt = fr_report_filter_of(o);
    flt.with_secrets = 0; /* never plaintext in a file meant to be uploaded */
    flt.max_occurrences = 0;
    int rc = fr_store_each_rule(s, rule_to_sarif, rules);
    if (rc == FR_OK) rc = fr_store_each_finding(s, &flt, on_finding, &c);
    fr_run_row last;
    int have_last = rc == FR_OK && fr_store_last_run(s, &last) == FR_OK;
    if (rc == FR_OK) {
        json_t *runs = json_array();
        size_t nruns = c.nruns < MAX_RUNS ? c.nruns : MAX_RUNS;
        for (size_t i = 0; i < nruns; i++)
            json_array_append_new(
                runs, run_json(&c.runs[i], rules, &last, have_last, i == 0 ? c.nruns - nruns : 0));
        for (size_t i = nruns; i < c.nruns; i++)
            for (size_t k = 0; k < c.runs[i].nres; k++)
                json_decref(c.runs[i].res[k].r);
        if (!c.nruns) {
            srun none = {.key = (char *)"", .root = c.cwd};
            json_array_append_new(runs, run_json(&none, rules, &last, have_last, 0));
        }
        json_t *doc =
            json_pack("{s:s,s:s,s:o}", "$schema", "https://json.schemastore.org/sarif-2.1.0.json",
                      "version", "2.1.0", "runs", runs);
        if (json_dumpf(doc, out, JSON_INDENT(2) | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER)) {
            fr_error_set("cannot write the report"); /* (was exit 2 with "unknown error") */
            rc = FR_ERR;
        }
        fputc('\n', out);
        json_decref(doc);
    }
    for (size_t i = 0; i < c.nruns; i++)
        run_free(&c.runs[i]);
    free(c.runs);
    json_decref(rules);
    git_libgit2_shutdown();
    *nfindings = c.nfindings;
    if (rc == FR_OK && ferror(out)) {
        fr_error_set("cannot write the report");
        rc = FR_ERR;
    }
    return rc;
}
