/*
 * repo.c: what every part of the git source opens through: libgit2's one-time
 * set-up (cache and window limits), the object databases (a repository's
 * objects directory, its alternates, minus the packs found unsafe), each
 * worker's own reader, and the set of blobs scanned before.
 *
 * A worker's reader, per thread:
 *
 *   none ──(first blob of repo R)──> open R + its own odb ──> reuse for R
 *     ^                                                         │
 *     └──────────────(a blob of another repository: freed)──────┘
 *
 * The odb is private to the thread (a spelling of the objects directory of
 * its own), so libgit2's per-pack locks and caches are not shared.
 */
#include "sources/git/git_int.h"

#include <dirent.h>
#include <git2/sys/odb_backend.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <limits.h>
#include <sys/stat.h>

/* ---------------------------------------------------------------- init ---- */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_key_t tl_key;

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
    git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE, (ssize_t)(16 << 20));
    /* Every worker maps the packs for itself (see gs_thread_repo): 32 MB windows
     * under a 128 MB total keep the mapped pages, which count in RSS once per
     * mapping, bounded (256 MB / whole-pack windows: RSS 419 MB on the 104 MB
     * pack of the benchmark history; these: 232 MB at the same speed). */
    git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT, (size_t)(128 << 20));
    git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, (size_t)(32 << 20));
    /* Each (tree, path) is visited once: caching trees only costs time and memory. */
    git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_TREE, (size_t)0);
}

void gs_init(void)
{
    pthread_once(&init_once, global_init);
}

const char *gs_err(void)
{
    const git_error *e = git_error_last();
    return e && e->message ? e->message : "unknown libgit2 error";
}

/* ---------------------------------------------------------- known blobs ---- */

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

/* ------------------------------------------------------------- messages --- */

/* Appends the message of commit or tag oid (what follows the headers), read
 * by length: libgit2's accessors return C strings, which end at a NUL. */
int gs_raw_message(git_odb *odb, const git_oid *oid, fr_buf *out)
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

void gs_list_object_dirs(object_dirs *l, const char *objects_dir, int depth)
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
        gs_list_object_dirs(l, p.p, depth + 1);
    }
    if (f) fclose(f);
    fr_buf_release(&p);
}

void gs_object_dirs_free(object_dirs *l)
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
int gs_odb_open_checked(git_odb **out, const char *objects_dir, const repo_ctx *rc)
{
    if (!rc->nbad) return git_odb_open(out, objects_dir);
    git_odb *odb = NULL;
    if (git_odb_new(&odb)) return -1;
    object_dirs dirs = {0};
    gs_list_object_dirs(&dirs, objects_dir, 0);
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
    gs_object_dirs_free(&dirs);
    if (err) {
        git_odb_free(odb);
        return -1;
    }
    *out = odb;
    return 0;
}

/* -------------------------------------------------------------- loading --- */

tl_repo *gs_thread_repo(const repo_ctx *rc, fr_buf *why)
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
        fr_buf_printf(why, "cannot open repository: %s", gs_err());
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
    if (gs_odb_open_checked(&own, od.p, rc) == 0) {
        git_odb_free(t->odb);
        t->odb = own;
    } else if (rc->nbad) { /* the repository's own database opens the unsafe packs */
        fr_buf_printf(why, "cannot open the object database without its corrupt packs: %s",
                      gs_err());
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

/* -------------------------------------------------------------- partial --- */

int gs_is_partial_clone(git_repository *repo)
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
    /* A .promisor pack: what it leaves out was filtered (a clone of a partial
     * clone does not carry its configuration; git's own test of a promisor
     * object is an object a promisor pack holds or refers to). */
    fr_buf d = {0};
    fr_buf_printf(&d, "%sobjects/pack", git_repository_commondir(repo));
    DIR *dir = yes ? NULL : opendir(d.p);
    for (struct dirent *e; dir && !yes && (e = readdir(dir));) {
        size_t n = strlen(e->d_name);
        if (n > 9 && !strcmp(e->d_name + n - 9, ".promisor")) yes = 1;
    }
    if (dir) closedir(dir);
    fr_buf_release(&d);
    return yes;
}
