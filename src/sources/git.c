/*
 * git.c: the git history source, through libgit2.
 *
 * One call scans one repository. First, every packed blob not scanned before is
 * handed to the workers at once, in pack order (types come from the pack index
 * and entry headers; a feeder thread submits them), so scanning runs from the
 * first moment while the walk below only supplies provenance. Blobs whose
 * processing needs a path (archives: their members are named after it) or that
 * cannot be scanned as they are (too large, LFS pointers, unreadable) are
 * withdrawn by the loader and submitted again by the walk with their locations.
 * Then, on the calling thread:
 *  1. refs: every ref (HEAD, heads, tags, remotes, notes, stash, anything under refs/),
 *     annotated tags peeled (their messages kept for scanning);
 *  2. commits: an iterative post-order walk from the tips gives a parents-first
 *     (topological) order; missing parents (shallow or broken history) are
 *     recorded and the walk goes on; the ref a commit is reachable from is
 *     propagated from children to parents;
 *  3. trees: in that order, each (tree id, path) is visited once — a tree id
 *     alone would lose a renamed directory — and each new (blob, path) pair
 *     records the commit that introduced it;
 *  4. unreachable objects: the object database is enumerated; dangling commits
 *     are walked like tips (so a commit "removed" by a reset keeps its
 *     provenance), then blobs that no commit reaches are scanned bare.
 * Blobs not scanned ahead (loose, withdrawn, or found only by the walk) are
 * submitted once with all their locations; a blob scanned ahead gets location
 * items only if it had matches or was skipped (clean content keeps no
 * locations). Workers read blobs through an object database of their own
 * (libgit2 objects are not shared across threads). Memory follows the number of
 * unique objects and paths.
 */
#include "sources/sources.h"

#include "sources/archive.h"
#include "sources/logs.h"
#include "sources/packscan.h"
#include "util/hashset.h"

#include <dirent.h>
#include <git2.h>
#include <git2/sys/odb_backend.h>
#include <git2/sys/repository.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MSG_BATCH      (1u << 20) /* bytes of messages or paths per segmented item */
#define MAX_TREE_DEPTH 512
#define NONE           UINT32_MAX

static const char LFS_MAGIC[] = "version https://git-lfs.github.com/spec/v1";

/* ---------------------------------------------------------------- init ---- */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_key_t tl_key;

typedef struct {
    char *path;
    git_repository *repo;
    git_odb *odb;
} tl_repo;

static void tl_free(void *p)
{
    tl_repo *t = p;
    git_odb_free(t->odb);
    git_repository_free(t->repo);
    free(t->path);
    free(t);
}

static void global_init(void)
{
    git_libgit2_init();
    pthread_key_create(&tl_key, tl_free);
    /* Keep libgit2's caches modest: memory must follow the walk, not the packs. */
    git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE, (ssize_t)(64 << 20));
    /* Every worker maps the packs for itself (see thread_repo): 32 MB windows
     * under a 128 MB total keep the mapped pages, which count in RSS once per
     * mapping, bounded (256 MB / whole-pack windows: RSS 419 MB on the 104 MB
     * pack of the benchmark history; these: 232 MB at the same speed). */
    git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT, (size_t)(128 << 20));
    git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, (size_t)(32 << 20));
    /* Each (tree, path) is visited once: caching trees only costs time and memory. */
    git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_TREE, (size_t)0);
}

static const char *git_err(void)
{
    const git_error *e = git_error_last();
    return e && e->message ? e->message : "unknown libgit2 error";
}

/* ---------------------------------------------------------- known blobs ---- */

struct fr_known_blobs {
    fr_keymap map; /* 20-byte oid -> has_matches */
};

fr_known_blobs *fr_known_blobs_new(void)
{
    fr_known_blobs *k = fr_xcalloc(1, sizeof *k);
    fr_keymap_init(&k->map, GIT_OID_RAWSZ);
    return k;
}

void fr_known_blobs_free(fr_known_blobs *k)
{
    if (!k) return;
    fr_keymap_release(&k->map);
    free(k);
}

int fr_known_blobs_add(fr_known_blobs *k, const char *hex, int has_matches)
{
    git_oid oid;
    if (strlen(hex) != GIT_OID_HEXSZ || git_oid_fromstr(&oid, hex)) return FR_ECORRUPT;
    *fr_keymap_put(&k->map, oid.id, 0, NULL) = (uint32_t)(has_matches != 0);
    return FR_OK;
}

/* -------------------------------------------------------------- discovery -- */

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int fr_git_is_repo(const char *path)
{
    fr_buf b = {0};
    struct stat st;
    fr_buf_printf(&b, "%s/.git", path);
    int yes = lstat(b.p, &st) == 0;
    if (!yes) { /* bare: HEAD, objects/ and refs/ */
        fr_buf_reset(&b);
        fr_buf_printf(&b, "%s/HEAD", path);
        yes = stat(b.p, &st) == 0 && S_ISREG(st.st_mode);
        fr_buf_reset(&b);
        fr_buf_printf(&b, "%s/objects", path);
        yes = yes && is_dir(b.p);
        fr_buf_reset(&b);
        fr_buf_printf(&b, "%s/refs", path);
        yes = yes && is_dir(b.p);
    }
    fr_buf_release(&b);
    return yes;
}

/* ------------------------------------------------------------ fingerprint -- */

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds the sorted names (and sizes) of the entries of dir to h. */
static void hash_dir(fr_sha256_ctx *h, const char *dir, int with_size)
{
    DIR *d = opendir(dir);
    if (!d) return;
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        names = fr_xrealloc(names, (n + 1) * sizeof *names);
        names[n++] = fr_xstrdup(e->d_name);
    }
    closedir(d);
    if (n > 1) qsort(names, n, sizeof *names, cmp_cstr);
    fr_buf b = {0};
    for (size_t i = 0; i < n; i++) {
        fr_buf_reset(&b);
        fr_buf_printf(&b, "%s/%s", dir, names[i]);
        struct stat st;
        long long sz = with_size && stat(b.p, &st) == 0 ? (long long)st.st_size : -1;
        fr_buf_reset(&b);
        fr_buf_printf(&b, "%s %lld\n", names[i], sz);
        fr_sha256_update(h, b.p, b.len);
        free(names[i]);
    }
    fr_buf_release(&b);
    free(names);
}

int fr_git_fingerprint(const char *path, char out[65])
{
    pthread_once(&init_once, global_init);
    git_repository *repo = NULL;
    if (git_repository_open_ext(&repo, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL)) {
        fr_error_set("%s: not a git repository: %s", path, git_err());
        return FR_ERR;
    }
    fr_sha256_ctx h;
    fr_sha256_init(&h);
    git_reference_iterator *it = NULL;
    git_reference *ref;
    if (git_reference_iterator_new(&it, repo) == 0) {
        char **lines = NULL;
        size_t n = 0;
        while (git_reference_next(&ref, it) == 0) {
            fr_buf b = {0};
            const git_oid *t = git_reference_target(ref);
            char hex[GIT_OID_HEXSZ + 1] = "";
            if (t) git_oid_tostr(hex, sizeof hex, t);
            fr_buf_printf(&b, "%s %s %s\n", git_reference_name(ref), hex,
                          t ? "" : git_reference_symbolic_target(ref));
            lines = fr_xrealloc(lines, (n + 1) * sizeof *lines);
            lines[n++] = fr_buf_steal(&b);
            git_reference_free(ref);
        }
        git_reference_iterator_free(it);
        if (n > 1) qsort(lines, n, sizeof *lines, cmp_cstr);
        for (size_t i = 0; i < n; i++) {
            fr_sha256_update(&h, lines[i], strlen(lines[i]));
            free(lines[i]);
        }
        free(lines);
    }
    /* Object files: packs by name and size, loose objects by name, alternates. */
    const char *gitdir = git_repository_path(repo);
    fr_buf d = {0};
    fr_buf_printf(&d, "%sobjects/pack", gitdir);
    hash_dir(&h, d.p, 1);
    for (int i = 0; i < 256; i++) {
        fr_buf_reset(&d);
        fr_buf_printf(&d, "%sobjects/%02x", gitdir, i);
        fr_sha256_update(&h, d.p + d.len - 2, 2);
        hash_dir(&h, d.p, 0);
    }
    fr_buf_reset(&d);
    fr_buf_printf(&d, "%sobjects/info", gitdir);
    hash_dir(&h, d.p, 1);
    fr_buf_reset(&d);
    fr_buf_printf(&d, "%sshallow", gitdir);
    struct stat st;
    if (stat(d.p, &st) == 0) fr_sha256_update(&h, &st.st_size, sizeof st.st_size);
    fr_buf_release(&d);
    unsigned char dig[32];
    fr_sha256_final(&h, dig);
    fr_hex(out, dig, 32);
    git_repository_free(repo);
    return FR_OK;
}

/* ------------------------------------------------------------ walk state --- */

typedef struct {
    char *path;
    int partial_clone;
    /* Blobs scanned ahead of the walk: how many are still to be loaded, and
     * those the loader withdrew (their processing needs a path). */
    atomic_size_t ahead_pending;
    pthread_mutex_t mu;
    fr_keymap withdrawn;
    fr_keymap keep; /* scanned ahead with matches or a skip/error: locations matter */
    int closed;     /* the walk is over: the sets are released */
    /* Packs whose index or headers are corrupt (file names of their .idx, kept
     * by the pipeline): no object database of this scan opens them, since
     * libgit2 follows an index's offsets unchecked (and crashes on wild ones). */
    char **bad_packs;
    size_t nbad;
} repo_ctx;

typedef struct {
    git_oid oid;
    git_oid tree;
    uint32_t parents_at, nparents; /* range in W.parent_oids */
    uint32_t ref;                  /* strtab id of a ref it is reachable from, or NONE */
    uint32_t author_name, author_email;
    int64_t author_time, committer_time;
    size_t msg_at, msg_len; /* the message, in walk.messages_kept */
} commit_rec;

typedef struct {
    uint32_t path, commit; /* strtab id, commit index */
    uint32_t next;         /* next location of the same blob, or NONE */
} blob_loc;

enum { B_NEW, B_SCAN, B_KNOWN_CLEAN, B_KNOWN_MATCHES };

typedef struct {
    git_oid oid;
    uint32_t first_loc, last_loc; /* locations not yet submitted */
    uint8_t state;
    uint8_t flags; /* BF_* */
} blob_rec;

enum {
    BF_AHEAD = 1,   /* submitted for scanning ahead of the walk, without a location */
    BF_LOCATED = 2, /* the walk found it at a path (or a ref) */
};

/* Blobs scanned ahead of the walk, handed to the pipeline by a thread of their own. */
typedef struct {
    fr_pipeline *p;
    repo_ctx *rc;
    fr_pack_blob *blobs;
    size_t n;
    pthread_t thread;
    int running, refused;
} ahead_feed;

typedef struct {
    const char *path; /* as given: the repo name in provenance */
    const fr_git_opts *opts;
    fr_pipeline *p;
    fr_git_stats *stats;
    git_repository *repo;
    int partial_clone, shallow;

    fr_strtab strs;    /* paths, ref names, author names and emails */
    fr_keymap commits; /* oid -> commit index */
    commit_rec *cv;
    size_t nc, capc;
    git_oid *parent_oids;
    size_t npo, cappo;

    fr_keymap tree_paths; /* tree oid + path hash: visited */
    fr_keymap tree_oids;  /* tree oid: reachable */
    fr_keymap tag_oids;   /* annotated tag objects seen */
    fr_keymap blobs;      /* blob oid -> blob index */
    blob_rec *bv;
    size_t nb, capb;
    blob_loc *lv;
    size_t nl, capl;
    fr_keymap pairs; /* (blob id, path hash) seen */

    fr_buf messages_kept; /* commit messages, by length, kept from the walk */
    git_odb *odb;         /* the walk's, for messages read by length */
    fr_buf msgs;          /* pending segmented item of messages */
    fr_item *msg_item;
    size_t msg_lines;
    fr_buf pathbuf; /* pending segmented item of path names */
    fr_item *path_item;
    size_t path_lines;
    repo_ctx *rc;
    ahead_feed feed;
    int stopped;
} walk;

static void note_problem(walk *w, fr_content_status st, const char *what, const char *reason)
{
    fr_item *it = fr_item_new("git", what);
    free((char *)it->locs[0].repo);
    it->locs[0].repo = fr_xstrdup(w->path);
    it->status = st;
    it->reason = fr_xstrdup(reason);
    w->stats->incomplete = 1;
    if (fr_pipeline_submit(w->p, it)) w->stopped = 1;
}

/* Fills loc with the provenance of commit c (strings borrowed from bufs). */
static void commit_location(walk *w, uint32_t c, fr_location *loc, char hex[GIT_OID_HEXSZ + 1],
                            char ad[32], char cd[32])
{
    if (c == NONE) return; /* reached from a ref to a tree or blob: no commit */
    const commit_rec *r = &w->cv[c];
    git_oid_tostr(hex, GIT_OID_HEXSZ + 1, &r->oid);
    fr_time_iso(r->author_time, ad);
    fr_time_iso(r->committer_time, cd);
    loc->commit = hex;
    loc->author_name = fr_strtab_get(&w->strs, r->author_name);
    loc->author_email = fr_strtab_get(&w->strs, r->author_email);
    loc->author_date = ad;
    loc->committer_date = cd;
    loc->ref = r->ref != NONE ? fr_strtab_get(&w->strs, r->ref) : NULL;
}

/* ------------------------------------------------- segmented text items ---- */

static int load_text(const fr_item *it, fr_buf *out, uint64_t cap, fr_buf *why)
{
    (void)why;
    size_t n = strlen(it->load_arg);
    if (n > cap) return FR_ELIMIT;
    fr_buf_append(out, it->load_arg, n);
    return FR_OK;
}

static void flush_text(walk *w, fr_buf *buf, fr_item **item, size_t *lines)
{
    if (!*item) return;
    (*item)->load = load_text;
    (*item)->load_arg = fr_buf_steal(buf);
    (*item)->size = strlen((*item)->load_arg);
    if (fr_pipeline_submit(w->p, *item)) w->stopped = 1;
    *item = NULL;
    *lines = 0;
}

/* Appends text[0..n) as one segment (key, loc) of a batched item. The batch is
 * one text of many segments, so a NUL (no text, no line break) is written as a
 * space, and so is a line break in a one-line segment (a path: one per line):
 * the bytes around either are still scanned, at their own columns. */
static void add_text(walk *w, fr_buf *buf, fr_item **item, size_t *lines, const char *kind,
                     const char *key, const char *text, size_t n, int one_line, fr_location *loc)
{
    if (!*item) {
        *item = fr_item_new(kind, "<batch>");
        free((char *)(*item)->locs[0].repo);
        (*item)->locs[0].repo = fr_xstrdup(w->path);
        fr_buf_reset(buf);
    }
    fr_item_add_segment(*item, *lines + 1, key, loc);
    size_t at = buf->len;
    fr_buf_append(buf, text, n);
    for (char *q = buf->p + at; q < buf->p + buf->len; q++) {
        if (!*q || (one_line && (*q == '\n' || *q == '\r'))) *q = ' ';
        if (*q == '\n') (*lines)++;
    }
    if (!n || buf->p[buf->len - 1] != '\n') {
        fr_buf_append(buf, "\n", 1);
        (*lines)++;
    }
    if (buf->len >= MSG_BATCH) flush_text(w, buf, item, lines);
}

static void add_message(walk *w, const char *key, const char *text, size_t n, fr_location *loc)
{
    loc->kind = "git-message";
    loc->repo = w->path;
    add_text(w, &w->msgs, &w->msg_item, &w->msg_lines, "git-message", key, text, n, 0, loc);
    w->stats->messages++;
}

/* -------------------------------------------------------------- commits --- */

/* Appends the message of commit or tag oid (what follows the headers), read
 * by length: libgit2's accessors return C strings, which end at a NUL. */
static int raw_message(git_odb *odb, const git_oid *oid, fr_buf *out)
{
    git_odb_object *o = NULL;
    if (git_odb_read(&o, odb, oid)) return FR_ERR;
    const char *d = git_odb_object_data(o);
    size_t n = git_odb_object_size(o);
    const char *e = n ? memmem(d, n, "\n\n", 2) : NULL;
    if (e) fr_buf_append(out, e + 2, n - (size_t)(e + 2 - d));
    git_odb_object_free(o);
    return FR_OK;
}

static uint32_t add_commit(walk *w, const git_commit *c)
{
    if (w->nc == w->capc) {
        w->capc = w->capc ? w->capc * 2 : 1024;
        w->cv = fr_xrealloc(w->cv, w->capc * sizeof *w->cv);
    }
    commit_rec *r = &w->cv[w->nc];
    memset(r, 0, sizeof *r);
    git_oid_cpy(&r->oid, git_commit_id(c));
    git_oid_cpy(&r->tree, git_commit_tree_id(c));
    r->ref = NONE;
    const git_signature *a = git_commit_author(c), *cm = git_commit_committer(c);
    r->author_name = fr_strtab_intern(&w->strs, a->name, strlen(a->name));
    r->author_email = fr_strtab_intern(&w->strs, a->email, strlen(a->email));
    r->author_time = (int64_t)a->when.time;
    r->committer_time = (int64_t)cm->when.time;
    /* libgit2 keeps the message as a C string, cut at a NUL: when the object is
     * longer than header and message, the message is read again by length. */
    const char *msg = git_commit_message_raw(c), *hdr = git_commit_raw_header(c);
    size_t mlen = msg ? strlen(msg) : 0, size = 0;
    git_object_t type;
    r->msg_at = w->messages_kept.len;
    if (w->odb && git_odb_read_header(&size, &type, w->odb, git_commit_id(c)) == 0 &&
        size != (hdr ? strlen(hdr) : 0) + 1 + mlen &&
        raw_message(w->odb, git_commit_id(c), &w->messages_kept) == 0) {
        r->msg_len = w->messages_kept.len - r->msg_at;
    } else {
        fr_buf_append(&w->messages_kept, msg ? msg : "", mlen);
        r->msg_len = mlen;
    }
    r->nparents = git_commit_parentcount(c);
    r->parents_at = (uint32_t)w->npo;
    for (unsigned i = 0; i < r->nparents; i++) {
        if (w->npo == w->cappo) {
            w->cappo = w->cappo ? w->cappo * 2 : 1024;
            w->parent_oids = fr_xrealloc(w->parent_oids, w->cappo * sizeof *w->parent_oids);
        }
        git_oid_cpy(&w->parent_oids[w->npo++], git_commit_parent_id(c, i));
    }
    return (uint32_t)w->nc++;
}

typedef struct {
    git_oid oid;
    uint32_t idx;
    uint32_t next_parent; /* NONE: parents not pushed yet */
} frame;

static void process_commit(walk *w, uint32_t c);

/* Walks the history from tip (post-order) and processes each new commit as it is emitted. */
static void walk_commits(walk *w, const git_oid *tip, uint32_t ref)
{
    if (fr_keymap_get(&w->commits, tip->id)) return;
    frame *st = fr_xmalloc(64 * sizeof *st);
    size_t n = 0, cap = 64;
    st[n++] = (frame){*tip, NONE, NONE};
    while (n && !fr_interrupted) {
        frame *f = &st[n - 1];
        if (f->next_parent == NONE) {
            int added = 0;
            uint32_t *slot = fr_keymap_put(&w->commits, f->oid.id, NONE, &added);
            if (!added) { /* reached through another path meanwhile */
                n--;
                continue;
            }
            git_commit *c = NULL;
            if (git_commit_lookup(&c, w->repo, &f->oid)) {
                char hex[GIT_OID_HEXSZ + 1], why[512];
                git_oid_tostr(hex, sizeof hex, &f->oid);
                if (w->shallow)
                    snprintf(why, sizeof why,
                             "shallow clone: commit %s (beyond the shallow boundary) and its "
                             "history are not in the repository",
                             hex);
                else
                    snprintf(why, sizeof why, "missing or corrupt commit %s: %s", hex, git_err());
                note_problem(w, w->shallow ? FR_ST_SKIPPED : FR_ST_ERROR, hex, why);
                n--;
                continue;
            }
            /* The ref whose walk reaches a commit first is the highest-priority
             * ref it is reachable from (tips are walked in priority order). */
            f->idx = *slot = add_commit(w, c);
            w->cv[f->idx].ref = ref;
            git_commit_free(c);
            f->next_parent = 0;
        }
        const commit_rec *r = &w->cv[f->idx];
        if (f->next_parent < r->nparents) {
            git_oid parent = w->parent_oids[r->parents_at + f->next_parent++];
            if (!fr_keymap_get(&w->commits, parent.id)) {
                if (n == cap) {
                    cap *= 2;
                    st = fr_xrealloc(st, cap * sizeof *st);
                }
                st[n++] = (frame){parent, NONE, NONE};
            }
            continue;
        }
        /* Post-order: every parent is already processed, so this commit's tree
         * can be walked now — blobs reach the workers while the walk goes on. */
        w->stats->commits++;
        process_commit(w, f->idx);
        atomic_fetch_add(&fr_pipeline_progress(w->p)->commits, 1);
        n--;
    }
    free(st);
}

/* ---------------------------------------------------------------- trees --- */

static uint32_t blob_index(walk *w, const git_oid *oid)
{
    int added = 0;
    uint32_t *v = fr_keymap_put(&w->blobs, oid->id, (uint32_t)w->nb, &added);
    if (added) {
        if (w->nb == w->capb) {
            w->capb = w->capb ? w->capb * 2 : 1024;
            w->bv = fr_xrealloc(w->bv, w->capb * sizeof *w->bv);
        }
        w->bv[w->nb] = (blob_rec){*oid, NONE, NONE, B_NEW, 0};
        w->nb++;
    }
    return *v;
}

static void submit_blob(walk *w, uint32_t b);

/* Records that blob b is at path since commit (the first such commit in
 * topological order: callers visit each (blob, path) pair once), and hands the
 * blob to the pipeline the first time. */
static void add_blob_location(walk *w, uint32_t b, uint32_t path, uint32_t commit)
{
    w->bv[b].flags |= BF_LOCATED;
    if (w->bv[b].state == B_KNOWN_CLEAN) return;
    if (w->nl == w->capl) {
        w->capl = w->capl ? w->capl * 2 : 1024;
        w->lv = fr_xrealloc(w->lv, w->capl * sizeof *w->lv);
    }
    w->lv[w->nl] = (blob_loc){path, commit, NONE};
    blob_rec *br = &w->bv[b];
    if (br->last_loc == NONE)
        br->first_loc = (uint32_t)w->nl;
    else
        w->lv[br->last_loc].next = (uint32_t)w->nl;
    br->last_loc = (uint32_t)w->nl++;
    /* New blobs are scanned now, overlapping the rest of the walk; later paths of
     * a blob follow as location-only items (see flush_locations). */
    if (br->state == B_NEW || br->state == B_KNOWN_MATCHES) submit_blob(w, b);
}

static void add_path_name(walk *w, uint32_t path_id, uint32_t commit)
{
    const char *path = fr_strtab_get(&w->strs, path_id);
    char hex[GIT_OID_HEXSZ + 1], ad[32], cd[32], key[80];
    fr_location loc = {.kind = "git-path", .repo = w->path, .path = path};
    commit_location(w, commit, &loc, hex, ad, cd);
    char digest[65];
    fr_sha256_hex(path, strlen(path), digest);
    snprintf(key, sizeof key, "gitpath:%s", digest);
    add_text(w, &w->pathbuf, &w->path_item, &w->path_lines, "git-path", key, path, strlen(path), 1,
             &loc);
}

static uint64_t fnv_more(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* Walks a tree once per (tree id, path). For the entries, a (blob id, path hash)
 * set decides in one probe whether the pair is new; only new pairs pay for
 * interning the path. */
static void walk_tree(walk *w, const git_oid *tree_oid, fr_buf *path, uint32_t commit, int depth)
{
    unsigned char key[GIT_OID_RAWSZ + 8];
    uint64_t ph = fnv_more(1469598103934665603ull, path->p, path->len);
    memcpy(key, tree_oid->id, GIT_OID_RAWSZ);
    memcpy(key + GIT_OID_RAWSZ, &ph, 8);
    int added = 0;
    fr_keymap_put(&w->tree_paths, key, 0, &added);
    if (!added) return;
    fr_keymap_put(&w->tree_oids, tree_oid->id, 0, &added);
    if (added) w->stats->trees++;
    if (depth > MAX_TREE_DEPTH) {
        note_problem(w, FR_ST_SKIPPED, path->p, "tree nested deeper than 512 levels");
        return;
    }
    git_tree *t = NULL;
    if (git_tree_lookup(&t, w->repo, tree_oid)) {
        char hex[GIT_OID_HEXSZ + 1], why[512];
        git_oid_tostr(hex, sizeof hex, tree_oid);
        snprintf(why, sizeof why, "missing or corrupt tree %s: %s", hex, git_err());
        note_problem(w, w->partial_clone ? FR_ST_SKIPPED : FR_ST_ERROR,
                     path->len ? path->p : "<root tree>", why);
        return;
    }
    size_t base = path->len;
    uint64_t dir_hash = base ? fnv_more(ph, "/", 1) : ph;
    size_t n = git_tree_entrycount(t);
    for (size_t i = 0; i < n && !w->stopped; i++) {
        const git_tree_entry *e = git_tree_entry_byindex(t, i);
        git_object_t type = git_tree_entry_type(e);
        if (type != GIT_OBJECT_BLOB && type != GIT_OBJECT_TREE) continue; /* submodules */
        const char *name = git_tree_entry_name(e);
        size_t nlen = strlen(name);
        if (type == GIT_OBJECT_BLOB) {
            uint64_t eh = fnv_more(dir_hash, name, nlen);
            memcpy(key, git_tree_entry_id(e)->id, GIT_OID_RAWSZ);
            memcpy(key + GIT_OID_RAWSZ, &eh, 8);
            fr_keymap_put(&w->pairs, key, 0, &added);
            if (!added) continue;
        }
        if (base) fr_buf_append(path, "/", 1);
        fr_buf_append(path, name, nlen);
        if (type == GIT_OBJECT_TREE) {
            walk_tree(w, git_tree_entry_id(e), path, commit, depth + 1);
        } else {
            size_t before = w->strs.n;
            uint32_t pid = fr_strtab_intern(&w->strs, path->p, path->len);
            add_blob_location(w, blob_index(w, git_tree_entry_id(e)), pid, commit);
            if (w->strs.n != before) add_path_name(w, pid, commit); /* a path never seen */
        }
        path->len = base;
        path->p[base] = 0;
    }
    git_tree_free(t);
}

/* ----------------------------------------------------------------- refs --- */

static _Thread_local const char *head_branch; /* the branch HEAD points to, ranked first */

static int ref_rank(const char *name)
{
    if (!strcmp(name, "HEAD") || (head_branch && !strcmp(name, head_branch))) return 0;
    if (!strncmp(name, "refs/heads/", 11)) return 1;
    if (!strncmp(name, "refs/tags/", 10)) return 2;
    if (!strncmp(name, "refs/remotes/", 13)) return 3;
    return 4;
}

typedef struct {
    char *name;
    git_oid target;
} tip;

static int cmp_tip(const void *a, const void *b)
{
    const tip *x = a, *y = b;
    int d = ref_rank(x->name) - ref_rank(y->name);
    return d ? d : strcmp(x->name, y->name);
}

/* Where an annotated tag's message comes from: "<tag message: NAME>", the
 * tagged object, the tagger and the date. loc borrows o's strings. */
typedef struct {
    fr_buf where;
    char date[32];
    char target[GIT_OID_HEXSZ + 1];
} tag_origin;

static void tag_location(const git_tag *tag, const char *ref, tag_origin *o, fr_location *loc)
{
    const git_signature *tg = git_tag_tagger(tag);
    fr_buf_printf(&o->where, "<tag message: %s>", git_tag_name(tag));
    git_oid_tostr(o->target, sizeof o->target, git_tag_target_id(tag));
    if (tg) fr_time_iso((int64_t)tg->when.time, o->date);
    *loc = (fr_location){.kind = "git-message",
                         .path = o->where.p,
                         .commit = o->target,
                         .author_name = tg ? tg->name : NULL,
                         .author_email = tg ? tg->email : NULL,
                         .author_date = tg ? o->date : NULL,
                         .ref = ref};
}

/* Peels a ref's target, keeping annotated tag messages; walks what it reaches. */
static void walk_ref(walk *w, const tip *t)
{
    uint32_t ref = fr_strtab_intern(&w->strs, t->name, strlen(t->name));
    /* The ref's name is shown with what it reaches: scanned once, like a path. */
    char rdigest[65], rkey[80];
    fr_sha256_hex(t->name, strlen(t->name), rdigest);
    snprintf(rkey, sizeof rkey, "gitref:%s", rdigest);
    fr_location rl = {.kind = "git-ref", .repo = w->path, .path = t->name};
    add_text(w, &w->pathbuf, &w->path_item, &w->path_lines, "git-path", rkey, t->name,
             strlen(t->name), 1, &rl);
    git_oid oid = t->target;
    for (int hops = 0; hops < 32 && !w->stopped; hops++) {
        git_object *obj = NULL;
        if (git_object_lookup(&obj, w->repo, &oid, GIT_OBJECT_ANY)) {
            char hex[GIT_OID_HEXSZ + 1], why[512];
            git_oid_tostr(hex, sizeof hex, &oid);
            snprintf(why, sizeof why, "ref %s points to a missing or corrupt object %s: %s",
                     t->name, hex, git_err());
            note_problem(w, FR_ST_ERROR, t->name, why);
            return;
        }
        git_object_t type = git_object_type(obj);
        if (type == GIT_OBJECT_TAG) {
            const git_tag *tag = (const git_tag *)obj;
            int added = 0;
            fr_keymap_put(&w->tag_oids, oid.id, 0, &added);
            fr_buf msg = {0};
            if (added && w->odb && raw_message(w->odb, &oid, &msg) == 0 && msg.len) {
                char hex[GIT_OID_HEXSZ + 1], key[80];
                git_oid_tostr(hex, sizeof hex, &oid);
                snprintf(key, sizeof key, "gittag:%s", hex);
                tag_origin o = {0};
                fr_location loc;
                tag_location(tag, t->name, &o, &loc);
                add_message(w, key, msg.p, msg.len, &loc);
                fr_buf_release(&o.where);
            }
            fr_buf_release(&msg);
            git_oid_cpy(&oid, git_tag_target_id(tag));
            git_object_free(obj);
            continue;
        }
        git_object_free(obj);
        if (type == GIT_OBJECT_COMMIT) {
            walk_commits(w, &oid, ref);
        } else if (type == GIT_OBJECT_TREE) { /* a ref to a tree: paths, no commit */
            fr_buf path = {0};
            fr_buf_puts(&path, "");
            walk_tree(w, &oid, &path, NONE, 0);
            fr_buf_release(&path);
        } else if (type == GIT_OBJECT_BLOB) { /* a ref to a blob: the ref is its path */
            fr_buf where = {0};
            fr_buf_printf(&where, "<ref %s>", t->name);
            add_blob_location(w, blob_index(w, &oid),
                              fr_strtab_intern(&w->strs, where.p, where.len), NONE);
            fr_buf_release(&where);
        }
        return;
    }
}

static void collect_tips(walk *w, tip **out, size_t *nout)
{
    tip *tips = NULL;
    size_t n = 0;
    git_reference_iterator *it = NULL;
    git_reference *ref;
    if (git_reference_iterator_new(&it, w->repo)) {
        note_problem(w, FR_ST_ERROR, "<refs>", git_err());
        *out = NULL, *nout = 0;
        return;
    }
    int rc;
    while ((rc = git_reference_next(&ref, it)) == 0) {
        git_reference *resolved = NULL;
        if (git_reference_resolve(&resolved, ref) == 0 && git_reference_target(resolved)) {
            tips = fr_xrealloc(tips, (n + 1) * sizeof *tips);
            tips[n].name = fr_xstrdup(git_reference_name(ref));
            git_oid_cpy(&tips[n].target, git_reference_target(resolved));
            n++;
        } else {
            char why[512];
            snprintf(why, sizeof why, "ref %s cannot be resolved: %s", git_reference_name(ref),
                     git_err());
            note_problem(w, FR_ST_ERROR, git_reference_name(ref), why);
        }
        git_reference_free(resolved);
        git_reference_free(ref);
    }
    if (rc != GIT_ITEROVER) note_problem(w, FR_ST_ERROR, "<refs>", git_err());
    git_reference_iterator_free(it);
    /* A detached HEAD is a tip of its own. */
    git_reference *head = NULL;
    if (git_repository_head_detached(w->repo) == 1 && git_repository_head(&head, w->repo) == 0 &&
        git_reference_target(head)) {
        tips = fr_xrealloc(tips, (n + 1) * sizeof *tips);
        tips[n].name = fr_xstrdup("HEAD");
        git_oid_cpy(&tips[n].target, git_reference_target(head));
        n++;
    }
    git_reference_free(head);
    git_reference *sym = NULL;
    char *branch = NULL;
    if (git_reference_lookup(&sym, w->repo, "HEAD") == 0 &&
        git_reference_type(sym) == GIT_REFERENCE_SYMBOLIC)
        branch = fr_xstrdup(git_reference_symbolic_target(sym));
    git_reference_free(sym);
    head_branch = branch;
    if (n > 1) qsort(tips, n, sizeof *tips, cmp_tip);
    head_branch = NULL;
    free(branch);
    *out = tips;
    *nout = n;
}

/* ---------------------------------------------------------- unreachable --- */

typedef struct {
    walk *w;
    git_odb *odb;
    git_oid *commits, *blobs;
    size_t nc, nb;
} odb_scan;

static int on_object(const git_oid *oid, void *payload)
{
    odb_scan *o = payload;
    walk *w = o->w;
    if (fr_interrupted) return 1;
    if (fr_keymap_get(&w->commits, oid->id) || fr_keymap_get(&w->tree_oids, oid->id) ||
        fr_keymap_get(&w->blobs, oid->id) || fr_keymap_get(&w->tag_oids, oid->id))
        return 0;
    size_t len;
    git_object_t type;
    if (git_odb_read_header(&len, &type, o->odb, oid)) return 0; /* reported when read */
    if (type == GIT_OBJECT_COMMIT) {
        o->commits = fr_xrealloc(o->commits, (o->nc + 1) * sizeof *o->commits);
        git_oid_cpy(&o->commits[o->nc++], oid);
    } else if (type == GIT_OBJECT_BLOB) {
        o->blobs = fr_xrealloc(o->blobs, (o->nb + 1) * sizeof *o->blobs);
        git_oid_cpy(&o->blobs[o->nb++], oid);
    }
    return 0;
}

/* A new item for blob oid, keyed by its id (hex receives the id as text). */
static fr_item *blob_item(const git_oid *oid, char hex[GIT_OID_HEXSZ + 1])
{
    git_oid_tostr(hex, GIT_OID_HEXSZ + 1, oid);
    fr_item *it = fr_xcalloc(1, sizeof *it);
    fr_buf k = {0};
    fr_buf_printf(&k, "git:%s", hex);
    it->key = fr_buf_steal(&k);
    return it;
}

/* The provenance of a blob no commit reaches. */
static void add_unreachable(walk *w, fr_item *it)
{
    fr_location loc = {.kind = "git-unreachable", .repo = w->path, .path = ""};
    fr_item_add_location(it, &loc);
    w->stats->unreachable_blobs++;
}

/* ------------------------------------------------------------ ahead scan --- */

/* The blobs of a pack, found from its index and the entry headers alone (see
 * packscan.h). Every number read from either file is checked before use: a
 * corrupt index or pack rejects the whole pack, which is then left to the walk
 * (libgit2 reads it, and reports what it cannot read). */

#define IDX_FANOUT_AT     8u
#define IDX_NAMES_AT      (8u + 256u * 4u)
#define IDX_TRAILER       40u /* pack checksum, index checksum */
#define PACK_HEADER       12u
#define PACK_TRAILER      20u
#define MAX_VARINT        10u         /* a 64-bit value in 7-bit groups */
#define MAX_INFLATE_RATIO 1040u       /* deflate expands at most 1032:1 */
#define RELEASE_STRIDE    (32u << 20) /* pages released behind the pass */

typedef struct {
    const unsigned char *idx, *pack;
    size_t idx_len, pack_len;
    uint32_t n;
    size_t nlarge;
    const unsigned char *names, *offs, *large;
} pack_map;

/* One entry of a pack in offset order: its index position, the end of its
 * bytes (the next entry or the trailer), and its type once known (1 commit,
 * 2 tree, 3 blob, 4 tag; 0 unknown). */
typedef struct {
    uint64_t off, end;
    uint32_t i;
    int type;
} pack_entry;

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int pack_vfail(int rc, char *why, size_t why_len, const char *fmt, va_list ap)
{
    if (why_len) vsnprintf(why, why_len, fmt, ap);
    return rc;
}

/* Returns rc, with the reason in why. */
static int pack_fail(int rc, char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int pack_fail(int rc, char *why, size_t why_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pack_vfail(rc, why, why_len, fmt, ap);
    va_end(ap);
    return rc;
}

/* An inconsistency inside the pack's bounds: FR_ECORRUPT, with the reason. */
static int pack_corrupt(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int pack_corrupt(char *why, size_t why_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pack_vfail(FR_ECORRUPT, why, why_len, fmt, ap);
    va_end(ap);
    return FR_ECORRUPT;
}

/* The offset of index entry i, checked to lie inside the pack's entries. */
static int pack_offset(const pack_map *m, uint32_t i, uint64_t *off)
{
    uint32_t o = be32(m->offs + 4 * (size_t)i);
    uint64_t v = o;
    if (o & 0x80000000u) { /* an index into the large-offset table */
        size_t k = o & 0x7fffffffu;
        if (k >= m->nlarge) return -1;
        v = (uint64_t)be32(m->large + 8 * k) << 32 | be32(m->large + 8 * k + 4);
    }
    if (v < PACK_HEADER || v >= m->pack_len - PACK_TRAILER) return -1;
    *off = v;
    return 0;
}

/* The index position of id, or -1. */
static int64_t pack_find(const pack_map *m, const unsigned char *id)
{
    uint32_t lo = 0, hi = m->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = memcmp(m->names + (size_t)mid * GIT_OID_RAWSZ, id, GIT_OID_RAWSZ);
        if (!c) return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static const pack_entry *entry_at(const pack_entry *e, size_t n, uint64_t off)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e[mid].off == off) return &e[mid];
        if (e[mid].off < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int cmp_entry_off(const void *a, const void *b)
{
    const pack_entry *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* The entry's data must start with a zlib header (git writes every entry as
 * a zlib stream): an offset into the middle of another entry is caught here
 * rather than typed from whatever bytes it points at. */
static int zlib_start(const unsigned char *p, const unsigned char *end, uint64_t off, char *why,
                      size_t why_len)
{
    if (end - p < 2 || (p[0] & 0x0f) != 8 || ((unsigned)p[0] << 8 | p[1]) % 31)
        return pack_corrupt(why, why_len, "entry at %llu: no zlib stream after the header",
                            (unsigned long long)off);
    return FR_OK;
}

/* Types entry k from its header, given the types of every earlier entry (a
 * base always precedes its OFS_DELTA; a REF_DELTA base later in the pack stays
 * unknown). The header, with its varints, must lie inside the entry. */
static int entry_type(const pack_map *m, pack_entry *e, size_t k, char *why, size_t why_len)
{
    uint64_t off = e[k].off;
    const unsigned char *p = m->pack + off, *end = m->pack + e[k].end;
    int type = (*p >> 4) & 7;
    uint64_t size = *p & 15;
    for (unsigned len = 1, shift = 4; *p & 0x80; len++, shift += 7) {
        if (len == MAX_VARINT || ++p >= end)
            return pack_corrupt(why, why_len, "entry at %llu: size runs past the entry",
                                (unsigned long long)off);
        if (shift < 64) size |= (uint64_t)(*p & 0x7f) << shift;
    }
    p++;
    /* Deflate expands at most ~1032:1: a larger size is no entry of this
     * length, and a reader trusting it would try to allocate it. */
    if (size / MAX_INFLATE_RATIO > e[k].end - off)
        return pack_fail(FR_PACK_UNSAFE, why, why_len,
                         "entry at %llu: %llu bytes cannot inflate from %llu",
                         (unsigned long long)off, (unsigned long long)size,
                         (unsigned long long)(e[k].end - off));
    if (type == 0 || type == 5)
        return pack_corrupt(why, why_len, "entry at %llu: invalid type %d", (unsigned long long)off,
                            type);
    if (type <= 4) {
        e[k].type = type;
        return zlib_start(p, end, off, why, why_len);
    }
    uint64_t base;
    if (type == 6) { /* OFS_DELTA: the base at a negative offset */
        if (p >= end)
            return pack_corrupt(why, why_len, "entry at %llu: delta runs past the entry",
                                (unsigned long long)off);
        uint64_t d = *p & 127;
        for (unsigned len = 1; *p & 128; len++) {
            if (len == MAX_VARINT || ++p >= end || d > (UINT64_MAX >> 7) - 1)
                return pack_corrupt(why, why_len, "entry at %llu: delta runs past the entry",
                                    (unsigned long long)off);
            d = ((d + 1) << 7) | (*p & 127);
        }
        if (d == 0 || d > off - PACK_HEADER)
            return pack_corrupt(why, why_len, "entry at %llu: delta base outside the pack",
                                (unsigned long long)off);
        const pack_entry *b = entry_at(e, k, off - d);
        if (!b)
            return pack_corrupt(why, why_len, "entry at %llu: delta base is not an entry",
                                (unsigned long long)off);
        e[k].type = b->type;
        return zlib_start(p + 1, end, off, why, why_len);
    }
    /* REF_DELTA: the base by id */
    if ((size_t)(end - p) <= GIT_OID_RAWSZ)
        return pack_corrupt(why, why_len, "entry at %llu: delta runs past the entry",
                            (unsigned long long)off);
    /* A pack on disk is never thin: the base is in it (git index-pack and
     * libgit2's indexer complete thin packs). */
    int64_t bi = pack_find(m, p);
    if (bi < 0 || pack_offset(m, (uint32_t)bi, &base) || base == off)
        return pack_corrupt(why, why_len, "entry at %llu: delta base not in the pack",
                            (unsigned long long)off);
    if (base < off) { /* else later in the pack: unknown, left to the walk */
        const pack_entry *b = entry_at(e, k, base);
        e[k].type = b ? b->type : 0;
    }
    return zlib_start(p + GIT_OID_RAWSZ, end, off, why, why_len);
}

/* Checks the sizes, counts and checksums of the index against the pack, and
 * that every offset it gives lies inside the pack; fills m. Any failure here
 * makes the index unsafe to follow for any reader. */
static int pack_check(pack_map *m, pack_entry *e, char *why, size_t why_len)
{
    const unsigned char *idx = m->idx, *pack = m->pack;
    size_t il = m->idx_len, pl = m->pack_len;
    int rc = FR_PACK_UNSAFE;
    if (il < IDX_NAMES_AT + IDX_TRAILER || memcmp(idx, "\377tOc", 4) || be32(idx + 4) != 2)
        return pack_fail(rc, why, why_len, "not a version 2 pack index");
    if (pl < PACK_HEADER + PACK_TRAILER || memcmp(pack, "PACK", 4) ||
        (be32(pack + 4) != 2 && be32(pack + 4) != 3))
        return pack_fail(rc, why, why_len, "not a version 2 or 3 pack");
    m->n = be32(idx + IDX_FANOUT_AT + 255 * 4);
    size_t room = il - IDX_NAMES_AT - IDX_TRAILER;
    if (m->n > room / (GIT_OID_RAWSZ + 8) || (room - (size_t)m->n * (GIT_OID_RAWSZ + 8)) % 8)
        return pack_fail(rc, why, why_len, "index size does not fit %u objects", m->n);
    m->nlarge = (room - (size_t)m->n * (GIT_OID_RAWSZ + 8)) / 8;
    if (m->nlarge && m->nlarge >= m->n) /* as git: the first object is never that far */
        return pack_fail(rc, why, why_len, "index size does not fit %u objects", m->n);
    if (be32(pack + 8) != m->n)
        return pack_fail(rc, why, why_len, "the pack holds %u objects, its index %u",
                         be32(pack + 8), m->n);
    if (memcmp(idx + il - IDX_TRAILER, pack + pl - PACK_TRAILER, PACK_TRAILER))
        return pack_fail(rc, why, why_len, "the index names another pack (checksum)");
    m->names = idx + IDX_NAMES_AT;
    m->offs = m->names + (size_t)m->n * (GIT_OID_RAWSZ + 4);
    m->large = m->offs + (size_t)m->n * 4;
    for (uint32_t i = 0; i < m->n; i++) {
        e[i] = (pack_entry){0, 0, i, 0};
        if (pack_offset(m, i, &e[i].off))
            return pack_fail(rc, why, why_len, "index entry %u: offset outside the pack", i);
    }
    return FR_OK;
}

/* Checks the index against itself: a monotonic fanout, and sorted, distinct
 * names each in its fanout bucket (lookups by id are exact). */
static int names_check(const pack_map *m, char *why, size_t why_len)
{
    const unsigned char *fan = m->idx + IDX_FANOUT_AT;
    for (unsigned b = 1; b < 256; b++)
        if (be32(fan + 4 * b) < be32(fan + 4 * (b - 1)))
            return pack_corrupt(why, why_len, "index fanout decreases at %u", b);
    for (uint32_t i = 0; i < m->n; i++) {
        const unsigned char *id = m->names + (size_t)i * GIT_OID_RAWSZ;
        unsigned b = id[0];
        uint32_t lo = b ? be32(fan + 4 * (b - 1)) : 0;
        if (i < lo || i >= be32(fan + 4 * b) ||
            (i && memcmp(id - GIT_OID_RAWSZ, id, GIT_OID_RAWSZ) >= 0))
            return pack_corrupt(why, why_len, "index names out of order at %u", i);
    }
    return FR_OK;
}

int fr_pack_list_blobs(const unsigned char *idx, size_t idx_len, const unsigned char *pack,
                       size_t pack_len, fr_pack_blob **out, size_t *n, size_t *cap,
                       fr_pack_release_fn release, void *ctx, char *why, size_t why_len)
{
    pack_map m = {.idx = idx, .pack = pack, .idx_len = idx_len, .pack_len = pack_len};
    if (why_len) why[0] = 0;
    if (!idx || !pack) return pack_fail(FR_PACK_UNSAFE, why, why_len, "no index or pack");
    /* n is bounded by the index size before anything is allocated for it */
    size_t room = idx_len > IDX_NAMES_AT + IDX_TRAILER ? idx_len - IDX_NAMES_AT - IDX_TRAILER : 0;
    pack_entry *e = fr_xmalloc((room / (GIT_OID_RAWSZ + 8) + 1) * sizeof *e);
    int rc = pack_check(&m, e, why, why_len);
    if (rc) {
        free(e);
        return rc;
    }
    /* A corrupt entry does not end the checks: a later entry may still hold a
     * size no reader may trust (FR_PACK_UNSAFE outranks FR_ECORRUPT), so every
     * entry is checked and the first corruption's reason kept. */
    rc = names_check(&m, why, why_len);
    if (m.n) qsort(e, m.n, sizeof *e, cmp_entry_off);
    for (uint32_t k = 0; k < m.n; k++) {
        if (!rc && k + 1 < m.n && e[k].off == e[k + 1].off)
            rc = pack_corrupt(why, why_len, "two index entries at offset %llu",
                              (unsigned long long)e[k].off);
        e[k].end = k + 1 < m.n ? e[k + 1].off : pack_len - PACK_TRAILER;
    }
    /* Entry headers in pack order, so each delta's base is typed before it; the
     * pages read are released as the pass moves on, so it never holds more than
     * a window of the pack. */
    uint64_t released = 0;
    for (uint32_t k = 0; k < m.n && rc != FR_PACK_UNSAFE; k++) {
        char ewhy[256];
        /* the first of two entries at one offset is empty: the second is checked */
        int erc = e[k].end > e[k].off ? entry_type(&m, e, k, ewhy, sizeof ewhy) : FR_OK;
        if (erc == FR_PACK_UNSAFE || (erc && !rc)) {
            rc = erc;
            if (why_len) snprintf(why, why_len, "%s", ewhy);
        }
        if (release && e[k].off - released >= RELEASE_STRIDE) {
            release(ctx, (size_t)e[k].off);
            released = e[k].off;
        }
    }
    for (uint32_t k = 0; k < m.n && !rc; k++) {
        if (e[k].type != GIT_OBJECT_BLOB) continue;
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 4096;
            *out = fr_xrealloc(*out, *cap * sizeof **out);
        }
        (*out)[*n].off = e[k].off;
        memcpy((*out)[*n].oid, m.names + (size_t)e[k].i * GIT_OID_RAWSZ, GIT_OID_RAWSZ);
        (*n)++;
    }
    free(e);
    return rc;
}

static void *map_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    void *p = NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        (uint64_t)st.st_size <= SIZE_MAX) {
        p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) p = NULL;
        *len = (size_t)st.st_size;
    }
    close(fd);
    return p;
}

/* Releases the pages of a pack mapping behind the pass (never past the mapping:
 * upto is below its length, rounded down to a page). */
typedef struct {
    const unsigned char *base;
    size_t len, released, page;
} pack_pages;

static void release_pages(void *arg, size_t upto)
{
    pack_pages *r = arg;
    if (upto > r->len) upto = r->len;
    upto = upto / r->page * r->page;
    if (upto <= r->released) return;
    madvise((void *)(r->base + r->released), upto - r->released, MADV_DONTNEED);
    r->released = upto;
}

/* Appends the blobs of one pack, in pack order. Returns FR_ECORRUPT (and why)
 * for a corrupt index or pack. */
static int pack_blobs(const char *idx_path, fr_pack_blob **out, size_t *n, size_t *cap, char *why,
                      size_t why_len)
{
    size_t il = 0, pl = 0;
    char pack_path[PATH_MAX];
    size_t L = strlen(idx_path);
    if (L < 4 || L >= sizeof pack_path) return FR_OK;
    memcpy(pack_path, idx_path, L - 4);
    memcpy(pack_path + L - 4, ".pack", 6);
    const unsigned char *idx = map_file(idx_path, &il);
    const unsigned char *pack = idx ? map_file(pack_path, &pl) : NULL;
    pack_pages pp = {pack, pl, 0, (size_t)sysconf(_SC_PAGESIZE)};
    int rc = FR_OK;
    if (idx && pack)
        rc = fr_pack_list_blobs(idx, il, pack, pl, out, n, cap, release_pages, &pp, why, why_len);
    else if (!pack && idx)
        rc = pack_fail(FR_PACK_UNSAFE, why, why_len, "the pack file cannot be read");
    if (idx) munmap((void *)idx, il);
    if (pack) munmap((void *)pack, pl);
    return rc;
}

/* Alternates followed below an objects directory (libgit2's own limit). */
#define MAX_ALTERNATE_DEPTH 5
/* Object directories one repository may list, alternates included. */
#define MAX_OBJECT_DIRS 64

/* objects_dir, then its alternates (info/alternates: one directory per line,
 * relative ones from the directory listing them) and theirs, depth-first, as
 * libgit2 loads them. depth[i] is 0 for objects_dir itself. */
typedef struct {
    char *dir[MAX_OBJECT_DIRS];
    int depth[MAX_OBJECT_DIRS];
    size_t n;
} object_dirs;

static void list_object_dirs(object_dirs *l, const char *objects_dir, int depth)
{
    if (l->n == MAX_OBJECT_DIRS || depth > MAX_ALTERNATE_DEPTH || !is_dir(objects_dir)) return;
    l->dir[l->n] = fr_xstrdup(objects_dir);
    l->depth[l->n++] = depth;
    fr_buf p = {0};
    fr_buf_printf(&p, "%s/info/alternates", objects_dir);
    FILE *f = fopen(p.p, "r");
    char line[PATH_MAX];
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0] || line[0] == '#') continue;
        fr_buf_reset(&p);
        if (line[0] == '/')
            fr_buf_puts(&p, line);
        else
            fr_buf_printf(&p, "%s/%s", objects_dir, line);
        list_object_dirs(l, p.p, depth + 1);
    }
    if (f) fclose(f);
    fr_buf_release(&p);
}

static void object_dirs_free(object_dirs *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->dir[i]);
    l->n = 0;
}

static int add_backend(git_odb *odb, git_odb_backend *b, int prio, int alternate)
{
    if ((alternate ? git_odb_add_alternate : git_odb_add_backend)(odb, b, prio)) {
        b->free(b);
        return -1;
    }
    return 0;
}

/* An object database like git_odb_open(objects_dir)'s (loose objects, packs,
 * alternates) without the packs listed in rc->bad_packs, in objects_dir or in
 * any of its alternates. */
static int odb_open_checked(git_odb **out, const char *objects_dir, const repo_ctx *rc)
{
    if (!rc->nbad) return git_odb_open(out, objects_dir);
    git_odb *odb = NULL;
    if (git_odb_new(&odb)) return -1;
    object_dirs dirs = {0};
    list_object_dirs(&dirs, objects_dir, 0);
    int err = dirs.n ? 0 : -1;
    fr_buf p = {0};
    for (size_t i = 0; i < dirs.n && !err; i++) {
        int alt = dirs.depth[i] > 0;
        git_odb_backend *b = NULL;
        /* libgit2's own priorities: loose objects first, then packs */
        err = git_odb_backend_loose(&b, dirs.dir[i], -1, 0, 0, 0) || add_backend(odb, b, 1, alt);
        fr_buf_reset(&p);
        fr_buf_printf(&p, "%s/pack", dirs.dir[i]);
        DIR *d = err ? NULL : opendir(p.p);
        for (struct dirent *e; d && (e = readdir(d));) {
            size_t L = strlen(e->d_name), k = 0;
            if (L < 5 || strcmp(e->d_name + L - 4, ".idx")) continue;
            while (k < rc->nbad && strcmp(rc->bad_packs[k], e->d_name))
                k++;
            if (k < rc->nbad) continue;
            fr_buf_reset(&p);
            fr_buf_printf(&p, "%s/pack/%s", dirs.dir[i], e->d_name);
            if (git_odb_backend_one_pack(&b, p.p) == 0) add_backend(odb, b, 2, alt);
        }
        if (d) closedir(d);
    }
    fr_buf_release(&p);
    object_dirs_free(&dirs);
    if (err) {
        git_odb_free(odb);
        return -1;
    }
    *out = odb;
    return 0;
}

static int load_ahead(const fr_item *it, fr_buf *out, uint64_t cap, fr_buf *why);
static void ahead_done(const fr_item *it, int withdrawn, size_t nmatches);

/* Builds the items from the list (the walk thread only marked the blobs) and
 * hands them to the pipeline. */
static void *feed_main(void *arg)
{
    ahead_feed *f = arg;
    for (size_t i = 0; i < f->n; i++) {
        if (f->refused || fr_interrupted) { /* not submitted: never loaded */
            atomic_fetch_sub(&f->rc->ahead_pending, 1);
            continue;
        }
        char hex[GIT_OID_HEXSZ + 1];
        git_oid oid;
        git_oid_fromraw(&oid, f->blobs[i].oid);
        fr_item *it = blob_item(&oid, hex);
        it->load = load_ahead;
        it->done = ahead_done;
        it->normalize = fr_log_normalizer; /* by content: there is no path yet */
        it->load_arg = fr_xstrdup(hex);
        it->load_ctx = f->rc;
        it->affinity = 1 + i / 64;          /* runs of the pack to one worker: shared delta bases */
        if (fr_pipeline_submit(f->p, it)) { /* freed by the pipeline */
            atomic_fetch_sub(&f->rc->ahead_pending, 1);
            f->refused = 1;
        }
    }
    return NULL;
}

/* Submits every packed blob not scanned before for scanning now, in pack order
 * (delta bases before their deltas, consecutive runs to one worker), before
 * the walk starts: workers are busy from the first moment instead of waiting
 * for the post-order walk to reach its first commit. The walk then only adds
 * provenance (location-only items). */
static void scan_ahead(walk *w)
{
    const char *common = git_repository_commondir(w->repo);
    fr_buf dir = {0};
    fr_buf_printf(&dir, "%sobjects", common);
    object_dirs dirs = {0};
    list_object_dirs(&dirs, dir.p, 0);
    fr_pack_blob *v = NULL, *av = NULL;
    size_t n = 0, cap = 0, an = 0, acap = 0, nbad = 0;
    char **bad = NULL;
    /* The packs of alternates are checked too (every object database of the
     * scan reads them); only this repository's own blobs are scanned ahead. */
    for (size_t di = 0; di < dirs.n; di++) {
        fr_buf_reset(&dir);
        fr_buf_printf(&dir, "%s/pack", dirs.dir[di]);
        DIR *d = opendir(dir.p);
        for (struct dirent *e; d && (e = readdir(d));) {
            size_t L = strlen(e->d_name);
            if (L < 5 || strcmp(e->d_name + L - 4, ".idx")) continue;
            fr_buf ip = {0};
            char why[256], what[512];
            fr_buf_printf(&ip, "%s/%s", dir.p, e->d_name);
            an = 0;
            int prc = di ? pack_blobs(ip.p, &av, &an, &acap, why, sizeof why)
                         : pack_blobs(ip.p, &v, &n, &cap, why, sizeof why); /* in pack order */
            if (prc == FR_PACK_UNSAFE) {
                bad = fr_xrealloc(bad, (nbad + 1) * sizeof *bad);
                bad[nbad++] = fr_pipeline_keep_str(w->p, e->d_name);
                snprintf(what, sizeof what,
                         "corrupt pack index or pack (%s): none of its objects are read", why);
                note_problem(w, FR_ST_ERROR, ip.p, what);
            } else if (prc) { /* inside its bounds: libgit2 reads what it can, by id */
                fprintf(stderr,
                        "ferret: warning: %s: corrupt pack index (%s): its objects are left to "
                        "the history walk\n",
                        ip.p, why);
            }
            fr_buf_release(&ip);
        }
        if (d) closedir(d);
    }
    free(av);
    object_dirs_free(&dirs);
    fr_buf_release(&dir);
    if (nbad) { /* read by the workers: kept as long as the repository context */
        w->rc->bad_packs = fr_pipeline_keep(w->p, nbad * sizeof *bad);
        memcpy(w->rc->bad_packs, bad, nbad * sizeof *bad);
        w->rc->nbad = nbad;
    }
    free(bad);
    const fr_git_opts *o = w->opts;
    ahead_feed *f = &w->feed;
    f->p = w->p;
    f->rc = w->rc;
    size_t kept = 0;
    for (size_t i = 0; i < n && !fr_interrupted; i++) {
        git_oid oid;
        git_oid_fromraw(&oid, v[i].oid);
        uint32_t b = blob_index(w, &oid);
        blob_rec *br = &w->bv[b];
        if (br->state != B_NEW || (o->known && fr_keymap_get(&o->known->map, br->oid.id)))
            continue; /* in two packs, or scanned before: the walk decides */
        br->state = B_SCAN;
        br->flags |= BF_AHEAD;
        w->stats->blobs++;
        v[kept++] = v[i];
    }
    f->blobs = v; /* 28 bytes a blob until the feeder is done */
    f->n = kept;
    atomic_fetch_add(&w->rc->ahead_pending, kept);
    /* A thread of its own feeds them (it blocks whenever the workers are busy)
     * while this one walks the history. */
    f->running = f->n && pthread_create(&f->thread, NULL, feed_main, f) == 0;
    if (!f->running) feed_main(f);
}

/* Waits for the feeder; true when the pipeline refused items (it stopped). */
static int feed_join(walk *w)
{
    if (w->feed.running) pthread_join(w->feed.thread, NULL);
    w->feed.running = 0;
    free(w->feed.blobs);
    w->feed.blobs = NULL;
    return w->feed.refused;
}

/* -------------------------------------------------------------- loading --- */

static tl_repo *thread_repo(const repo_ctx *rc, fr_buf *why)
{
    const char *path = rc->path;
    tl_repo *t = pthread_getspecific(tl_key);
    if (t && !strcmp(t->path, path)) return t;
    if (t) {
        pthread_setspecific(tl_key, NULL);
        tl_free(t);
    }
    t = fr_xcalloc(1, sizeof *t);
    if (git_repository_open_ext(&t->repo, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) ||
        git_repository_odb(&t->odb, t->repo)) {
        fr_buf_printf(why, "cannot open repository: %s", git_err());
        git_repository_free(t->repo);
        free(t);
        return NULL;
    }
    /* libgit2 keeps one shared structure per pack file, keyed by its path: its
     * locks and delta-base cache would be shared by every worker and the walk,
     * which then queue on each other's pack reads. An object database opened on
     * a spelling of the objects directory private to this thread gets packs of
     * its own (same files, same page cache). */
    static _Thread_local int tidx = -1;
    static atomic_int nthreads;
    if (tidx < 0) tidx = atomic_fetch_add(&nthreads, 1);
    fr_buf od = {0};
    fr_buf_puts(&od, git_repository_commondir(t->repo));
    fr_buf_puts(&od, "objects");
    for (int i = 0; i <= tidx && i < 64; i++)
        fr_buf_puts(&od, "/.");
    git_odb *own = NULL;
    if (odb_open_checked(&own, od.p, rc) == 0) {
        git_odb_free(t->odb);
        t->odb = own;
    } else if (rc->nbad) { /* the repository's own database opens the unsafe packs */
        fr_buf_printf(why, "cannot open the object database without its corrupt packs: %s",
                      git_err());
        fr_buf_release(&od);
        git_odb_free(t->odb);
        git_repository_free(t->repo);
        free(t);
        return NULL;
    }
    fr_buf_release(&od);
    t->path = fr_xstrdup(path);
    pthread_setspecific(tl_key, t);
    return t;
}

static int load_blob(const fr_item *it, fr_buf *out, uint64_t cap, fr_buf *why)
{
    const repo_ctx *rc = it->load_ctx;
    tl_repo *t = thread_repo(rc, why);
    if (!t) return FR_ERR;
    git_oid oid;
    git_oid_fromstr(&oid, it->load_arg);
    size_t len;
    git_object_t type;
    int err = git_odb_read_header(&len, &type, t->odb, &oid);
    if (err == GIT_ENOTFOUND && rc->partial_clone) { /* unread content: the run is incomplete */
        fr_buf_puts(why, "blob not present locally (partial clone)");
        return FR_ENOTFOUND;
    }
    if (err) {
        fr_buf_printf(why, "missing or corrupt blob: %s", git_err());
        return FR_ERR;
    }
    if (type != GIT_OBJECT_BLOB) { /* a corrupt index can point an id at another object */
        fr_buf_printf(why, "corrupt object database: %s is a %s, not a blob", it->load_arg,
                      git_object_type2string(type));
        return FR_ERR;
    }
    if (len > cap) return FR_ELIMIT;
    git_odb_object *obj = NULL;
    if (git_odb_read(&obj, t->odb, &oid)) {
        fr_buf_printf(why, "cannot read blob: %s", git_err());
        return FR_ERR;
    }
    size_t n = git_odb_object_size(obj);
    fr_buf_append(out, git_odb_object_data(obj), n);
    git_odb_object_free(obj);
    if (n < 200 && n >= sizeof LFS_MAGIC - 1 && !memcmp(out->p, LFS_MAGIC, sizeof LFS_MAGIC - 1)) {
        fr_buf_puts(why, "Git LFS pointer (the content is in LFS storage, not in git)");
        return FR_SKIP;
    }
    return FR_OK;
}

/* Loads a blob scanned ahead of the walk. Whatever needs a path or a reason
 * tied to one is withdrawn and left to the walk's own submission: archives (their
 * members' provenance names the path), and anything load_blob would not scan
 * (too large, an LFS pointer, missing or corrupt). */
static int load_ahead(const fr_item *it, fr_buf *out, uint64_t cap, fr_buf *why)
{
    repo_ctx *rc = it->load_ctx;
    int r = load_blob(it, out, cap, why);
    if (r != FR_OK || fr_archive_detect((const unsigned char *)out->p, out->len)) {
        git_oid oid;
        git_oid_fromstr(&oid, it->load_arg);
        pthread_mutex_lock(&rc->mu);
        if (!rc->closed) fr_keymap_put(&rc->withdrawn, oid.id, 0, NULL);
        pthread_mutex_unlock(&rc->mu);
        r = FR_WITHDRAW;
    }
    return r;
}

/* The verdict on a blob scanned ahead: its locations are worth sending only if
 * it has matches or was not scanned in full (binary content). */
static void ahead_done(const fr_item *it, int withdrawn, size_t nmatches)
{
    repo_ctx *rc = it->load_ctx;
    if (!withdrawn && (nmatches || it->status != FR_ST_SCANNED)) {
        git_oid oid;
        git_oid_fromstr(&oid, it->load_arg);
        pthread_mutex_lock(&rc->mu);
        if (!rc->closed) fr_keymap_put(&rc->keep, oid.id, 0, NULL);
        pthread_mutex_unlock(&rc->mu);
    }
    atomic_fetch_sub(&rc->ahead_pending, 1);
}

/* Blobs scanned ahead, once the walk is over: a withdrawn one is submitted now
 * like a new blob, with every location found; one that no walk reached gets its
 * unreachable location. The others have their locations flushed as usual. */
static void settle_ahead(walk *w)
{
    repo_ctx *rc = w->rc;
    if (feed_join(w)) w->stopped = 1;
    /* Wait for the loaders' verdicts (a stopped pipeline drains items unloaded). */
    while (atomic_load(&rc->ahead_pending) && !fr_interrupted && !w->stopped &&
           !fr_pipeline_stopped(w->p)) {
        struct timespec ts = {0, 2 * 1000000L};
        nanosleep(&ts, NULL);
    }
    for (size_t b = 0; b < w->nb && !w->stopped && !fr_interrupted; b++) {
        blob_rec *br = &w->bv[b];
        if (!(br->flags & BF_AHEAD)) continue;
        pthread_mutex_lock(&rc->mu);
        int withdrawn = fr_keymap_get(&rc->withdrawn, br->oid.id) != NULL;
        int keep = fr_keymap_get(&rc->keep, br->oid.id) != NULL;
        pthread_mutex_unlock(&rc->mu);
        br->flags &= (uint8_t)~BF_AHEAD;
        if (withdrawn) {
            br->state = B_NEW;
            w->stats->blobs--; /* counted again as it is submitted */
            submit_blob(w, (uint32_t)b);
        } else if (!keep) {
            /* Clean: the store keeps no locations for it; the walk's found ones
             * are dropped here rather than sent for nothing. */
            br->first_loc = br->last_loc = NONE;
            if (!(br->flags & BF_LOCATED)) w->stats->unreachable_blobs++;
        } else if (!(br->flags & BF_LOCATED)) {
            char hex[GIT_OID_HEXSZ + 1];
            fr_item *it = blob_item(&br->oid, hex);
            add_unreachable(w, it);
            it->known = 1;
            if (fr_pipeline_submit(w->p, it)) w->stopped = 1;
        }
    }
    pthread_mutex_lock(&rc->mu);
    rc->closed = 1;
    fr_keymap_release(&rc->withdrawn);
    fr_keymap_release(&rc->keep);
    pthread_mutex_unlock(&rc->mu);
}

/* Submits blob b with the locations pending on it. The first time the blob is
 * submitted for scanning (unless it was scanned before under the same rules);
 * afterwards, and for blobs known to have matches, as location-only items. A
 * location-only item may overtake the blob's own scan in the pipeline: the writer
 * holds it back until the blob is recorded. */
static void submit_blob(walk *w, uint32_t b)
{
    blob_rec *br = &w->bv[b];
    int scan = 0;
    if (br->state == B_NEW) {
        const fr_git_opts *o = w->opts;
        const uint32_t *known = o->known ? fr_keymap_get(&o->known->map, br->oid.id) : NULL;
        br->state = !known ? B_SCAN : *known ? B_KNOWN_MATCHES : B_KNOWN_CLEAN;
        if (known) w->stats->blobs_known++;
        if (br->state == B_KNOWN_CLEAN) return;
        scan = br->state == B_SCAN;
    }
    if (!scan && br->first_loc == NONE) return;
    char hex[GIT_OID_HEXSZ + 1];
    fr_item *it = blob_item(&br->oid, hex);
    if (br->first_loc == NONE) add_unreachable(w, it);
    /* Versions of one path are delta chains of each other: one worker reads them
     * all, so its delta-base cache serves the chain. */
    if (br->first_loc != NONE) it->affinity = 1 + w->lv[br->first_loc].path;
    for (uint32_t l = br->first_loc; l != NONE; l = w->lv[l].next) {
        char chex[GIT_OID_HEXSZ + 1], ad[32], cd[32];
        fr_location loc = {
            .kind = "git", .repo = w->path, .path = fr_strtab_get(&w->strs, w->lv[l].path)};
        commit_location(w, w->lv[l].commit, &loc, chex, ad, cd);
        fr_item_add_location(it, &loc);
    }
    br->first_loc = br->last_loc = NONE;
    if (scan) {
        it->load = load_blob;
        it->expand = fr_archive_expand;
        it->normalize = fr_log_normalizer;
        it->describe = fr_log_describe;
        it->load_arg = fr_xstrdup(hex);
        it->load_ctx = w->rc;
        w->stats->blobs++;
    } else {
        it->known = 1;
    }
    if (fr_pipeline_submit(w->p, it)) w->stopped = 1;
}

/* Location-only items for the paths found after a blob was submitted: batched
 * per blob, sent once the walk is over. */
static void flush_locations(walk *w)
{
    for (size_t b = 0; b < w->nb && !w->stopped && !fr_interrupted; b++)
        if (w->bv[b].first_loc != NONE) submit_blob(w, (uint32_t)b);
}

/* ----------------------------------------------------------------- scan --- */

static int is_partial_clone(git_repository *repo)
{
    git_config *cfg = NULL;
    int yes = 0;
    if (git_repository_config_snapshot(&cfg, repo) == 0) {
        git_buf v = {0};
        if (git_config_get_string_buf(&v, cfg, "extensions.partialclone") == 0) yes = 1;
        git_buf_dispose(&v);
        git_config_iterator *it = NULL;
        git_config_entry *e;
        /* remote.<name>.promisor = true; matched by hand: libgit2 1.5's glob
         * iterator leaks its regex match data on every entry. */
        if (!yes && git_config_iterator_new(&it, cfg) == 0) {
            while (git_config_next(&e, it) == 0) {
                size_t n = strlen(e->name);
                if (!strncmp(e->name, "remote.", 7) && n > 16 &&
                    !strcmp(e->name + n - 9, ".promisor") && !strcasecmp(e->value, "true"))
                    yes = 1;
            }
            git_config_iterator_free(it);
        }
        git_config_free(cfg);
    }
    return yes;
}

static void walk_release(walk *w)
{
    fr_strtab_release(&w->strs);
    fr_keymap_release(&w->commits);
    fr_keymap_release(&w->tree_paths);
    fr_keymap_release(&w->tree_oids);
    fr_keymap_release(&w->tag_oids);
    fr_keymap_release(&w->blobs);
    fr_keymap_release(&w->pairs);
    free(w->cv), free(w->parent_oids), free(w->bv), free(w->lv);
    fr_buf_release(&w->msgs);
    fr_buf_release(&w->messages_kept);
    git_odb_free(w->odb);
    fr_buf_release(&w->pathbuf);
    fr_item_free(w->msg_item);
    fr_item_free(w->path_item);
    git_repository_free(w->repo);
}

/* Walks the tree and keeps the message of commit c (its parents are done). */
static void process_commit(walk *w, uint32_t c)
{
    if (w->stopped || fr_interrupted) return;
    fr_buf path = {0};
    fr_buf_puts(&path, "");
    walk_tree(w, &w->cv[c].tree, &path, c, 0);
    fr_buf_release(&path);
    char hex[GIT_OID_HEXSZ + 1], ad[32], cd[32], key[80];
    fr_location loc = {.path = "<commit message>"};
    commit_location(w, c, &loc, hex, ad, cd);
    snprintf(key, sizeof key, "gitmsg:%s", hex);
    add_message(w, key, w->messages_kept.p + w->cv[c].msg_at, w->cv[c].msg_len, &loc);
}

int fr_git_scan(const char *path, const fr_git_opts *opts, fr_pipeline *p, fr_git_stats *stats)
{
    pthread_once(&init_once, global_init);
    git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, opts->verify_hashes ? 1 : 0);
    walk w;
    memset(&w, 0, sizeof w);
    w.path = path;
    w.opts = opts;
    w.p = p;
    w.stats = stats;
    if (git_repository_open_ext(&w.repo, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL)) {
        fr_error_set("%s: not a git repository, or it cannot be opened: %s", path, git_err());
        return FR_ERR;
    }
    fr_strtab_init(&w.strs);
    fr_keymap_init(&w.commits, GIT_OID_RAWSZ);
    fr_keymap_init(&w.tree_paths, GIT_OID_RAWSZ + 8);
    fr_keymap_init(&w.tree_oids, GIT_OID_RAWSZ);
    fr_keymap_init(&w.tag_oids, GIT_OID_RAWSZ);
    fr_keymap_init(&w.blobs, GIT_OID_RAWSZ);
    fr_keymap_init(&w.pairs, GIT_OID_RAWSZ + 8);
    w.shallow = git_repository_is_shallow(w.repo) == 1;
    if (git_repository_odb(&w.odb, w.repo)) w.odb = NULL;
    w.partial_clone = is_partial_clone(w.repo);
    /* Repository contexts outlive this call: workers may still load its blobs. */
    repo_ctx *rc = fr_pipeline_keep(p, sizeof *rc);
    rc->path = fr_pipeline_keep_str(p, path);
    rc->partial_clone = w.partial_clone;
    pthread_mutex_init(&rc->mu, NULL);
    fr_keymap_init(&rc->withdrawn, GIT_OID_RAWSZ);
    fr_keymap_init(&rc->keep, GIT_OID_RAWSZ);
    w.rc = rc;
    scan_ahead(&w);
    if (rc->nbad) { /* from now on, every read goes around the corrupt packs */
        fr_buf od = {0};
        git_odb *odb = NULL;
        fr_buf_printf(&od, "%sobjects", git_repository_commondir(w.repo));
        if (odb_open_checked(&odb, od.p, rc) || git_repository_set_odb(w.repo, odb)) {
            fr_error_set("%s: cannot open the object database: %s", path, git_err());
            git_odb_free(odb);
            fr_buf_release(&od);
            feed_join(&w);
            walk_release(&w);
            return FR_ERR;
        }
        fr_buf_release(&od);
        git_odb_free(w.odb);
        w.odb = odb;
    }

    tip *tips = NULL;
    size_t ntips = 0;
    collect_tips(&w, &tips, &ntips);
    stats->refs += ntips;
    for (size_t i = 0; i < ntips && !w.stopped && !fr_interrupted; i++)
        walk_ref(&w, &tips[i]);
    for (size_t i = 0; i < ntips; i++)
        free(tips[i].name);
    free(tips);

    /* Unreachable objects: dangling commits first (they give provenance), then
     * blobs that nothing reaches. */
    odb_scan o = {&w, NULL, NULL, NULL, 0, 0};
    if (!w.stopped && !fr_interrupted && git_repository_odb(&o.odb, w.repo) == 0) {
        git_odb_foreach(o.odb, on_object, &o);
        uint32_t dangling = fr_strtab_intern(&w.strs, "(unreachable)", 13);
        for (size_t i = 0; i < o.nc && !fr_interrupted; i++)
            walk_commits(&w, &o.commits[i], dangling);
        git_odb_free(o.odb);
    }
    settle_ahead(&w);
    flush_text(&w, &w.msgs, &w.msg_item, &w.msg_lines);
    flush_text(&w, &w.pathbuf, &w.path_item, &w.path_lines);
    flush_locations(&w);
    for (size_t i = 0; i < o.nb && !w.stopped && !fr_interrupted; i++) {
        if (fr_keymap_get(&w.blobs, o.blobs[i].id)) continue; /* reached by a dangling commit */
        submit_blob(&w, blob_index(&w, &o.blobs[i]));
    }
    free(o.commits);
    free(o.blobs);
    int stopped = w.stopped;
    walk_release(&w);
    if (fr_interrupted) return FR_EINTR;
    if (stopped) {
        fr_error_set("the scan stopped early (the store failed)");
        return FR_ERR;
    }
    return FR_OK;
}

/* ---------------------------------------------------------------- pushes --- */

/* Largest blob read whole only to scan its first max_size bytes, where its
 * backend cannot stream them (a packed blob). */
#define MAX_PREFIX_READ ((size_t)256 << 20)

typedef struct {
    git_repository *repo;
    fr_push_fn fn;
    void *ctx;
    fr_push_stats *stats;
    uint64_t max_size;
    git_odb *odb;
    fr_keymap seen_blobs, seen_tags;
    const char *ref;
    char commit_hex[GIT_OID_HEXSZ + 1];
    const git_signature *author;
    char author_date[32];
    int stop;
} push_walk;

static int open_from_env(git_repository **repo)
{
    pthread_once(&init_once, global_init);
    if (git_repository_open_ext(repo, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL)) {
        fr_error_set("cannot open the repository receiving the push: %s", git_err());
        return FR_ERR;
    }
    return FR_OK;
}

int fr_git_hook_config(const char *const *keys, size_t n, char **values)
{
    git_repository *repo = NULL;
    git_config *cfg = NULL;
    for (size_t i = 0; i < n; i++)
        values[i] = NULL;
    if (open_from_env(&repo)) return FR_ERR;
    if (git_repository_config_snapshot(&cfg, repo) == 0) {
        for (size_t i = 0; i < n; i++) {
            const char *v = NULL;
            if (git_config_get_string(&v, cfg, keys[i]) == 0 && v) values[i] = fr_xstrdup(v);
        }
        git_config_free(cfg);
    }
    git_repository_free(repo);
    return FR_OK;
}

/* Reads the first want bytes of a blob too large to read whole: streamed
 * where the backend can (loose objects), else read whole when that stays
 * within MAX_PREFIX_READ. Returns FR_OK with the bytes in out. */
static int read_prefix(git_odb *odb, const git_oid *oid, size_t size, size_t want, fr_buf *out)
{
    git_odb_stream *st = NULL;
    size_t len = 0;
    git_object_t type;
    if (git_odb_open_rstream(&st, &len, &type, odb, oid) == 0) {
        fr_buf_reserve(out, want);
        int r = 1;
        while (out->len < want &&
               (r = git_odb_stream_read(st, out->p + out->len, want - out->len)) > 0)
            out->len += (size_t)r;
        out->p[out->len] = 0;
        git_odb_stream_free(st);
        if (r >= 0) return FR_OK;
        fr_buf_reset(out);
    }
    git_odb_object *obj = NULL;
    if (size > MAX_PREFIX_READ || git_odb_read(&obj, odb, oid)) return FR_ERR;
    size_t n = git_odb_object_size(obj);
    fr_buf_append(out, git_odb_object_data(obj), n < want ? n : want);
    git_odb_object_free(obj);
    return FR_OK;
}

static void push_blob(push_walk *pw, const git_oid *oid, const char *path)
{
    if (pw->stop) return;
    int added = 0;
    fr_keymap_put(&pw->seen_blobs, oid->id, 0, &added);
    char hex[GIT_OID_HEXSZ + 1];
    git_oid_tostr(hex, sizeof hex, oid);
    const git_signature *a = pw->author; /* NULL: a blob reached from a ref, not a commit */
    fr_push_piece pc = {"git",
                        path,
                        pw->commit_hex,
                        hex,
                        a ? a->name : NULL,
                        a ? a->email : NULL,
                        a ? pw->author_date : NULL,
                        pw->ref,
                        NULL,
                        0,
                        0,
                        !added};
    /* Content once per push; but every path it appears at is a name the server
     * shows (empty files all share one blob): the path is handed over each time. */
    if (!added) {
        if (pw->fn(pw->ctx, &pc)) pw->stop = 1;
        return;
    }
    git_odb_object *obj = NULL;
    fr_buf prefix = {0};
    size_t len = 0;
    git_object_t type;
    if (git_odb_read_header(&len, &type, pw->odb, oid) || type != GIT_OBJECT_BLOB) {
        pw->stats->incomplete = 1;
        len = 0;
    } else if (len <= pw->max_size && git_odb_read(&obj, pw->odb, oid) == 0) {
        pc.data = git_odb_object_data(obj);
        pc.len = git_odb_object_size(obj);
    } else if (len <= pw->max_size) {
        pw->stats->incomplete = 1;
    } else if (read_prefix(pw->odb, oid, len, (size_t)pw->max_size, &prefix) == FR_OK) {
        pc.data = (const unsigned char *)(prefix.p ? prefix.p : "");
        pc.len = prefix.len;
    }
    pc.size = len;
    pw->stats->bytes += pc.len;
    pw->stats->blobs++;
    if (pw->fn(pw->ctx, &pc)) pw->stop = 1;
    git_odb_object_free(obj);
    fr_buf_release(&prefix);
}

/* Blobs of tree t that no parent tree has at the same path; subtrees that a
 * parent has unchanged are skipped whole. */
static void push_tree(push_walk *pw, git_tree *t, git_tree **parents, size_t np, fr_buf *path,
                      int depth)
{
    size_t base = path->len;
    if (depth > MAX_TREE_DEPTH) { /* not scanned: the push cannot be accepted */
        pw->stats->incomplete = 1;
        return;
    }
    for (size_t i = 0; i < git_tree_entrycount(t) && !pw->stop; i++) {
        const git_tree_entry *e = git_tree_entry_byindex(t, i);
        git_object_t type = git_tree_entry_type(e);
        if (type != GIT_OBJECT_BLOB && type != GIT_OBJECT_TREE) continue;
        const char *name = git_tree_entry_name(e);
        int same = 0;
        git_tree **sub = fr_xcalloc(np ? np : 1, sizeof *sub);
        size_t nsub = 0;
        for (size_t k = 0; k < np; k++) {
            const git_tree_entry *pe = parents[k] ? git_tree_entry_byname(parents[k], name) : NULL;
            if (!pe) continue;
            if (git_oid_equal(git_tree_entry_id(pe), git_tree_entry_id(e)))
                same = 1;
            else if (type == GIT_OBJECT_TREE && git_tree_entry_type(pe) == GIT_OBJECT_TREE &&
                     git_tree_lookup(&sub[nsub], pw->repo, git_tree_entry_id(pe)) == 0)
                nsub++;
        }
        if (!same) {
            if (base) fr_buf_append(path, "/", 1);
            fr_buf_puts(path, name);
            if (type == GIT_OBJECT_BLOB) {
                push_blob(pw, git_tree_entry_id(e), path->p);
            } else {
                git_tree *child = NULL;
                if (git_tree_lookup(&child, pw->repo, git_tree_entry_id(e)) == 0) {
                    push_tree(pw, child, sub, nsub, path, depth + 1);
                    git_tree_free(child);
                } else {
                    pw->stats->incomplete = 1;
                }
            }
            path->len = base;
            path->p[base] = 0;
        }
        for (size_t k = 0; k < nsub; k++)
            git_tree_free(sub[k]);
        free(sub);
    }
}

/* A pushed tip, peeled one annotated tag at a time (each tag's message is
 * scanned, once per push): a commit joins the history walk; a tree has every
 * blob under it scanned; a blob is scanned itself. Whatever its type, nothing
 * a push makes reachable goes unscanned. Takes obj. */
static int push_tip(push_walk *pw, const fr_push_update *u, git_object *obj, git_revwalk *rw,
                    size_t *pushed)
{
    int rc = FR_OK;
    pw->ref = u->ref;
    pw->author = NULL;
    pw->commit_hex[0] = 0;
    for (int hops = 0; obj && git_object_type(obj) == GIT_OBJECT_TAG && !pw->stop; hops++) {
        const git_tag *tag = (const git_tag *)obj;
        int added = 0;
        fr_keymap_put(&pw->seen_tags, git_object_id(obj)->id, 0, &added);
        if (added) {
            tag_origin o = {0};
            fr_location loc;
            fr_buf msg = {0};
            tag_location(tag, u->ref, &o, &loc);
            if (raw_message(pw->odb, git_object_id(obj), &msg)) pw->stats->incomplete = 1;
            fr_push_piece pc = {loc.kind,
                                loc.path,
                                loc.commit,
                                NULL,
                                loc.author_name,
                                loc.author_email,
                                loc.author_date,
                                loc.ref,
                                (const unsigned char *)(msg.p ? msg.p : ""),
                                msg.len,
                                msg.len,
                                0};
            if (pw->fn(pw->ctx, &pc)) pw->stop = 1;
            fr_buf_release(&msg);
            fr_buf_release(&o.where);
        }
        git_object *target = NULL;
        if (hops == MAX_TREE_DEPTH || git_tag_target(&target, tag)) {
            fr_error_set("%s: the target of tag %s cannot be read: %s", u->ref, git_tag_name(tag),
                         hops == MAX_TREE_DEPTH ? "too many tags" : git_err());
            rc = FR_ERR;
        }
        git_object_free(obj);
        obj = target;
    }
    if (!obj || pw->stop) {
        git_object_free(obj);
        return rc;
    }
    const git_oid *id = git_object_id(obj);
    fr_buf where = {0};
    fr_buf_printf(&where, "<ref %s>", u->ref);
    switch (git_object_type(obj)) {
    case GIT_OBJECT_COMMIT:
        git_revwalk_push(rw, id);
        (*pushed)++;
        break;
    case GIT_OBJECT_TREE: /* paths inside the tree, under the ref's name */
        push_tree(pw, (git_tree *)obj, NULL, 0, &where, 0);
        break;
    case GIT_OBJECT_BLOB: /* the ref is the blob's only name */
        push_blob(pw, id, where.p);
        break;
    default:
        fr_error_set("%s: pushed object of unexpected type", u->ref);
        rc = FR_ERR;
    }
    fr_buf_release(&where);
    git_object_free(obj);
    return rc;
}

static int is_zero_oid(const char *hex)
{
    return strspn(hex, "0") == strlen(hex);
}

int fr_git_push_walk(const fr_push_update *u, size_t n, uint64_t max_size, fr_push_fn fn, void *ctx,
                     fr_push_stats *stats)
{
    push_walk pw = {0};
    pw.fn = fn, pw.ctx = ctx, pw.stats = stats, pw.max_size = max_size;
    if (open_from_env(&pw.repo)) return FR_ERR;
    fr_keymap_init(&pw.seen_blobs, GIT_OID_RAWSZ);
    fr_keymap_init(&pw.seen_tags, GIT_OID_RAWSZ);
    git_revwalk *rw = NULL;
    int rc = FR_OK;
    if (git_repository_odb(&pw.odb, pw.repo)) {
        fr_error_set("cannot open the object database: %s", git_err());
        rc = FR_ERR;
        goto done;
    }
    if (git_revwalk_new(&rw, pw.repo)) {
        fr_error_set("revwalk: %s", git_err());
        rc = FR_ERR;
        goto done;
    }
    git_revwalk_sorting(rw, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE);
    /* What the repository already has: every existing ref. */
    git_reference_iterator *it = NULL;
    git_reference *ref;
    if (git_reference_iterator_new(&it, pw.repo) == 0) {
        while (git_reference_next(&ref, it) == 0) {
            git_object *peeled = NULL;
            if (git_reference_peel(&peeled, ref, GIT_OBJECT_COMMIT) == 0)
                git_revwalk_hide(rw, git_object_id(peeled));
            git_object_free(peeled);
            git_reference_free(ref);
        }
        git_reference_iterator_free(it);
    }
    size_t pushed = 0;
    for (size_t i = 0; i < n && rc == FR_OK; i++) {
        if (is_zero_oid(u[i].new_oid)) continue; /* a deletion adds nothing */
        git_oid oid;
        git_object *obj = NULL;
        if (git_oid_fromstr(&oid, u[i].new_oid) ||
            git_object_lookup(&obj, pw.repo, &oid, GIT_OBJECT_ANY)) {
            fr_error_set("%s: pushed object %s cannot be read: %s", u[i].ref, u[i].new_oid,
                         git_err());
            rc = FR_ERR;
            break;
        }
        if (push_tip(&pw, &u[i], obj, rw, &pushed)) rc = FR_ERR;
    }
    git_oid c;
    fr_buf path = {0};
    while (rc == FR_OK && pushed && !pw.stop && git_revwalk_next(&c, rw) == 0) {
        git_commit *cm = NULL;
        git_tree *tree = NULL;
        if (git_commit_lookup(&cm, pw.repo, &c) || git_commit_tree(&tree, cm)) {
            stats->incomplete = 1;
            git_commit_free(cm);
            continue;
        }
        stats->commits++;
        git_oid_tostr(pw.commit_hex, sizeof pw.commit_hex, &c);
        pw.author = git_commit_author(cm);
        fr_time_iso((int64_t)pw.author->when.time, pw.author_date);
        pw.ref = NULL;
        for (size_t i = 0; i < n && !pw.ref; i++)
            if (!is_zero_oid(u[i].new_oid)) pw.ref = u[i].ref;
        fr_buf msg = {0};
        if (raw_message(pw.odb, &c, &msg)) stats->incomplete = 1;
        fr_push_piece mp = {"git-message",
                            "<commit message>",
                            pw.commit_hex,
                            NULL,
                            pw.author->name,
                            pw.author->email,
                            pw.author_date,
                            pw.ref,
                            (const unsigned char *)(msg.p ? msg.p : ""),
                            msg.len,
                            msg.len,
                            0};
        if (fn(ctx, &mp)) pw.stop = 1;
        fr_buf_release(&msg);
        unsigned np = git_commit_parentcount(cm);
        git_tree **pt = fr_xcalloc(np ? np : 1, sizeof *pt);
        for (unsigned k = 0; k < np; k++) {
            git_commit *parent = NULL;
            if (git_commit_parent(&parent, cm, k) == 0)
                git_commit_tree(&pt[k], parent);
            else
                stats->incomplete = 1;
            git_commit_free(parent);
        }
        fr_buf_reset(&path);
        fr_buf_puts(&path, "");
        push_tree(&pw, tree, pt, np, &path, 0);
        for (unsigned k = 0; k < np; k++)
            git_tree_free(pt[k]);
        free(pt);
        git_tree_free(tree);
        git_commit_free(cm);
    }
    fr_buf_release(&path);
done:
    git_revwalk_free(rw);
    git_odb_free(pw.odb);
    fr_keymap_release(&pw.seen_blobs);
    fr_keymap_release(&pw.seen_tags);
    git_repository_free(pw.repo);
    return rc;
}
