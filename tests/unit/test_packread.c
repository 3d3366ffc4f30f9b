/* Unit tests for ferret's pack reader (fr_pack_read, src/sources/packscan.h):
 * every blob of real packs built by git (delta chains 250 deep after `git
 * repack -adf --depth=250 --window=250`, a second pack, ref deltas) reads back
 * byte for byte what libgit2 reads for the same id, whatever the order (pack
 * order, reverse order: each chain rebuilt) and the cache (none, tiny, ample),
 * from memory and through a file descriptor. Crafted deltas (base size, result
 * size, copies outside the base, truncated copy and insert instructions, the
 * reserved opcode, streams shorter or longer than their header, blobs over the
 * cap, a base listed after its delta) are refused with FR_ECORRUPT or
 * FR_ELIMIT, never read past their bytes.
 * With a repository path as argument, checks every pack of that repository
 * the same way (pack order, ample cache): `test_packread /path/to/repo`.
 * Trees and commits (fr_pack_list_objects) read back as libgit2 reads them,
 * and fr_tree_parse gives libgit2's entries (names, modes, ids, types) in
 * libgit2's order (fr_tree_entry_cmp against git_tree_entry_cmp); malformed
 * tree bytes are refused; commits parse (fr_commit_parse) to libgit2's
 * tree, parents, author, times and message, and odd forms are refused. */
#include "check.h"
#include "sources/packscan.h"
#include "util/util.h"

#include <dirent.h>
#include <fcntl.h>
#include <git2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *p = NULL;
    size_t n = 0, cap = 0, r;
    do {
        if (n == cap) p = fr_xrealloc(p, cap = cap ? cap * 2 : 4096);
        r = fread(p + n, 1, cap - n, f);
        n += r;
    } while (r);
    fclose(f);
    *len = n;
    return p;
}

static size_t max_depth(const fr_pack_blob *v, size_t n)
{
    size_t best = 0;
    for (size_t k = 0; k < n; k++) {
        size_t d = 0;
        for (uint32_t x = (uint32_t)k; v[x].base != FR_PACK_NONE; x = v[x].base)
            d++;
        if (d > best) best = d;
    }
    return best;
}

/* Reads every blob of the pack of idx_path in the given order and compares
 * with libgit2. Returns the number of blobs; *depth gets the longest chain. */
static size_t check_pack(git_odb *odb, const char *idx_path, int reverse, size_t budget, int use_fd,
                         size_t *depth, size_t *ndelta)
{
    char pack_path[4096];
    snprintf(pack_path, sizeof pack_path, "%.*s.pack", (int)(strlen(idx_path) - 4), idx_path);
    size_t il = 0, pl = 0;
    unsigned char *idx = slurp(idx_path, &il), *pack = slurp(pack_path, &pl);
    CHECK(idx && pack);
    fr_pack_blob *v = NULL;
    size_t n = 0, cap = 0;
    char why[256];
    CHECK(fr_pack_list_blobs(idx, il, pack, pl, &v, &n, &cap, NULL, NULL, why, sizeof why) ==
          FR_OK);
    fr_pack_src s = {fr_pack_new_id(), use_fd ? NULL : pack, -1, pl, v, n};
    if (use_fd) s.fd = open(pack_path, O_RDONLY);
    fr_pack_cache *c = fr_pack_cache_new(budget);
    fr_buf out = {0};
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = reverse ? n - 1 - i : i;
        if (v[k].base != FR_PACK_NONE) (*ndelta)++;
        int rc = fr_pack_read(&s, k, c, (uint64_t)1 << 30, &out, why, sizeof why);
        git_oid oid;
        git_oid_fromraw(&oid, v[k].oid);
        git_odb_object *o = NULL;
        CHECK(git_odb_read(&o, odb, &oid) == 0);
        if (rc != FR_OK || out.len != git_odb_object_size(o) ||
            memcmp(out.p, git_odb_object_data(o), out.len)) {
            if (bad++ < 5) fprintf(stderr, "blob %zu (rc %d): %s\n", k, rc, why);
        }
        git_odb_object_free(o);
    }
    CHECK(bad == 0);
    *depth = max_depth(v, n);
    fr_buf_release(&out);
    fr_pack_cache_free(c);
    if (s.fd >= 0) close(s.fd);
    free(v), free(idx), free(pack);
    return n;
}

/* Every tree and commit of the pack of idx_path read with the pack reader
 * (fr_pack_list_objects), in pack order then in reverse with a tiny cache;
 * trees parsed (fr_tree_parse) and compared entry by entry with libgit2's
 * parse of the same id, and their order with git_tree_entry_cmp's. Returns
 * the number of trees. */
static size_t check_trees(git_repository *repo, git_odb *odb, const char *idx_path)
{
    char pack_path[4096];
    snprintf(pack_path, sizeof pack_path, "%.*s.pack", (int)(strlen(idx_path) - 4), idx_path);
    size_t il = 0, pl = 0;
    unsigned char *idx = slurp(idx_path, &il), *pack = slurp(pack_path, &pl);
    CHECK(idx && pack);
    fr_pack_blob *v = NULL;
    size_t n = 0, cap = 0, trees = 0, bad = 0;
    char why[256];
    CHECK(fr_pack_list_objects(idx, il, pack, pl, 1u << 1 | 1u << 2, &v, &n, &cap, NULL, NULL, why,
                               sizeof why) == FR_OK);
    fr_pack_src s = {fr_pack_new_id(), pack, -1, pl, v, n};
    fr_pack_cache *c = fr_pack_cache_new_slots(4096, 64);
    fr_buf out = {0};
    fr_tree_entry *e = NULL;
    size_t ne = 0, ecap = 0;
    for (size_t i = 0; i < 2 * n; i++) {
        size_t k = i < n ? i : 2 * n - 1 - i;
        CHECK(v[k].type == 1 || v[k].type == 2);
        CHECK(fr_pack_read(&s, k, c, (uint64_t)1 << 30, &out, why, sizeof why) == FR_OK);
        git_oid oid;
        git_oid_fromraw(&oid, v[k].oid);
        git_odb_object *o = NULL;
        CHECK(git_odb_read(&o, odb, &oid) == 0);
        CHECK((int)git_odb_object_type(o) == v[k].type);
        CHECK(out.len == git_odb_object_size(o) && !memcmp(out.p, git_odb_object_data(o), out.len));
        git_odb_object_free(o);
        if (v[k].type == 1) { /* a commit: what the walk takes, as libgit2 gives it */
            fr_commit pc;
            git_commit *gc = NULL;
            CHECK(fr_commit_parse((const unsigned char *)out.p, out.len, &pc) == FR_OK);
            CHECK(git_commit_lookup(&gc, repo, &oid) == 0);
            if (!gc) continue;
            const git_signature *a = git_commit_author(gc);
            const char *msg = git_commit_message_raw(gc);
            if (memcmp(pc.tree, git_commit_tree_id(gc)->id, 20) ||
                pc.nparents != git_commit_parentcount(gc) ||
                pc.author_name_len != strlen(a->name) ||
                memcmp(pc.author_name, a->name, pc.author_name_len) ||
                pc.author_email_len != strlen(a->email) ||
                memcmp(pc.author_email, a->email, pc.author_email_len) ||
                pc.author_time != (int64_t)a->when.time ||
                pc.committer_time != (int64_t)git_commit_committer(gc)->when.time ||
                pc.message_len != strlen(msg) || memcmp(pc.message, msg, pc.message_len))
                bad++;
            for (size_t j = 0; j < pc.nparents && j < git_commit_parentcount(gc); j++) {
                unsigned char id[20];
                fr_commit_parent(&pc, j, id);
                if (memcmp(id, git_commit_parent_id(gc, (unsigned)j)->id, 20)) bad++;
            }
            git_commit_free(gc);
            continue;
        }
        CHECK(fr_tree_parse((const unsigned char *)out.p, out.len, &e, &ne, &ecap) == FR_OK);
        git_tree *t = NULL;
        CHECK(git_tree_lookup(&t, repo, &oid) == 0);
        if (!t) continue;
        trees += i < n;
        if (ne != git_tree_entrycount(t)) bad++;
        for (size_t j = 0; j < ne && j < git_tree_entrycount(t); j++) {
            const git_tree_entry *g = git_tree_entry_byindex(t, j);
            if (e[j].nlen != strlen(git_tree_entry_name(g)) ||
                memcmp(e[j].name, git_tree_entry_name(g), e[j].nlen) || e[j].name[e[j].nlen] ||
                e[j].mode != (uint32_t)git_tree_entry_filemode_raw(g) ||
                memcmp(e[j].id, git_tree_entry_id(g)->id, 20) ||
                e[j].type != (int)git_tree_entry_type(g))
                bad++;
            if (j) { /* the same order as libgit2's, both ways */
                const git_tree_entry *h = git_tree_entry_byindex(t, j - 1);
                int a = fr_tree_entry_cmp(&e[j - 1], &e[j]), b = git_tree_entry_cmp(h, g);
                if ((a < 0) != (b < 0) || a >= 0 || fr_tree_entry_cmp(&e[j], &e[j - 1]) <= 0) bad++;
            }
        }
        git_tree_free(t);
    }
    CHECK(bad == 0);
    free(e);
    fr_buf_release(&out);
    fr_pack_cache_free(c);
    free(v), free(idx), free(pack);
    return trees;
}

/* Malformed tree bytes are refused at the first bad entry; a tree's order
 * puts "t.x" before the directory "t" ('.' < '/') and the file "t" before it. */
static void crafted_trees(void)
{
    fr_tree_entry *e = NULL;
    size_t n = 0, cap = 0;
    static const unsigned char id[20] = {1, 2, 3};
    unsigned char buf[256];
#define TREE(lit) (memcpy(buf, lit, sizeof(lit) - 1), sizeof(lit) - 1)
    size_t len = TREE("100644 a.txt");
    buf[len++] = 0;
    memcpy(buf + len, id, 20);
    len += 20;
    size_t one = len;
    CHECK(fr_tree_parse(buf, one, &e, &n, &cap) == FR_OK && n == 1 && e[0].nlen == 5 &&
          e[0].mode == 0100644 && e[0].type == FR_TREE_BLOB && !memcmp(e[0].id, id, 20));
    CHECK(fr_tree_parse(buf, 0, &e, &n, &cap) == FR_OK && n == 0);
    for (size_t cut = 1; cut < one; cut++) /* every truncation */
        CHECK(fr_tree_parse(buf, cut, &e, &n, &cap) == FR_ECORRUPT);
    len = TREE("40000 ");
    buf[len++] = 0; /* empty name */
    memcpy(buf + len, id, 20);
    CHECK(fr_tree_parse(buf, len + 20, &e, &n, &cap) == FR_ECORRUPT);
    len = TREE("1006448 a"); /* a digit out of octal */
    buf[len++] = 0;
    memcpy(buf + len, id, 20);
    CHECK(fr_tree_parse(buf, len + 20, &e, &n, &cap) == FR_ECORRUPT);
    len = TREE("10064400 a"); /* too many digits */
    buf[len++] = 0;
    memcpy(buf + len, id, 20);
    CHECK(fr_tree_parse(buf, len + 20, &e, &n, &cap) == FR_ECORRUPT);
    len = TREE(" a"); /* no mode */
    buf[len++] = 0;
    memcpy(buf + len, id, 20);
    CHECK(fr_tree_parse(buf, len + 20, &e, &n, &cap) == FR_ECORRUPT);
    len = TREE("160000 m"); /* a submodule */
    buf[len++] = 0;
    memcpy(buf + len, id, 20);
    CHECK(fr_tree_parse(buf, len + 20, &e, &n, &cap) == FR_OK && n == 1 &&
          e[0].type == FR_TREE_COMMIT);
#undef TREE
    fr_tree_entry dir = {"t", 1, 040000, id, FR_TREE_TREE},
                  file = {"t", 1, 0100644, id, FR_TREE_BLOB},
                  dot = {"t.x", 3, 0100644, id, FR_TREE_BLOB};
    CHECK(fr_tree_entry_cmp(&dot, &dir) < 0 && fr_tree_entry_cmp(&dir, &dot) > 0);
    CHECK(fr_tree_entry_cmp(&file, &dot) < 0 && fr_tree_entry_cmp(&file, &dir) < 0);
    CHECK(fr_tree_entry_cmp(&dir, &dir) == 0);
    free(e);
}

/* Commits in git's usual form parse to what libgit2 gives; any other form is
 * refused (the walk then asks libgit2). */
static void crafted_commits(void)
{
    static const char hex[] = "0123456789abcdef0123456789abcdef01234567";
    char buf[1024];
    fr_commit c;
    int n = snprintf(buf, sizeof buf,
                     "tree %s\nparent %s\nparent %s\nauthor  A U Thor  < a@x > 1700000000 "
                     "+0100\ncommitter C <c@x> 1700000001 -0000\ngpgsig -----BEGIN-----\n "
                     "line\n -----END-----\n\nsubject\n\nbody\n",
                     hex, hex, hex);
    CHECK(fr_commit_parse((const unsigned char *)buf, (size_t)n, &c) == FR_OK);
    CHECK(c.nparents == 2 && c.tree[0] == 0x01 && c.tree[19] == 0x67);
    CHECK(c.author_name_len == 8 && !memcmp(c.author_name, "A U Thor", 8));
    CHECK(c.author_email_len == 3 && !memcmp(c.author_email, "a@x", 3));
    CHECK(c.author_time == 1700000000 && c.committer_time == 1700000001);
    CHECK(c.message_len == 14 && !memcmp(c.message, "subject\n\nbody\n", 14));
    unsigned char id[20];
    fr_commit_parent(&c, 1, id);
    CHECK(id[0] == 0x01 && id[19] == 0x67);
    /* no message at all */
    n = snprintf(buf, sizeof buf, "tree %s\nauthor A <a> 1 +0000\ncommitter A <a> 2 +0000\n", hex);
    CHECK(fr_commit_parse((const unsigned char *)buf, (size_t)n, &c) == FR_OK &&
          c.message_len == 0);
    static const char *odd[] = {
        "author A <a> 1 +0000\ncommitter A <a> 2 +0000\n\nm",              /* no tree */
        "tree %s\ncommitter A <a> 2 +0000\n\nm",                           /* no author */
        "tree %s\nauthor A <a> 1 +0000\n\nm",                              /* no committer */
        "tree %s\nauthor A <a> <b> 1 +0000\ncommitter A <a> 2 +0000\n\nm", /* two '<' */
        "tree %s\nauthor A <a> x +0000\ncommitter A <a> 2 +0000\n\nm",     /* no time */
        "tree %s\nauthor A <a> 1\ncommitter A <a> 2 +0000\n\nm",           /* no zone */
        "tree %s\nauthor A <a>\ncommitter A <a> 2 +0000\n\nm",             /* nothing after */
    };
    for (size_t i = 0; i < sizeof odd / sizeof *odd; i++) {
        n = snprintf(buf, sizeof buf, odd[i], hex);
        CHECK(fr_commit_parse((const unsigned char *)buf, (size_t)n, &c) == FR_ECORRUPT);
    }
    n = snprintf(buf, sizeof buf, "tree %s\nauthor A", hex);
    for (int cut = 0; cut < n; cut++) /* every truncation of a partial commit */
        CHECK(fr_commit_parse((const unsigned char *)buf, (size_t)cut, &c) == FR_ECORRUPT);
}

/* Every pack of the repository at path, read in the orders and caches given. */
static void check_repo(const char *path, int quick)
{
    git_repository *repo = NULL;
    git_odb *odb = NULL;
    CHECK(git_repository_open_ext(&repo, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) == 0);
    CHECK(git_repository_odb(&odb, repo) == 0);
    char dir[4096];
    snprintf(dir, sizeof dir, "%sobjects/pack", git_repository_path(repo));
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    size_t packs = 0, blobs = 0, depth = 0, ndelta = 0, trees = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t L = strlen(e->d_name);
        if (L < 5 || strcmp(e->d_name + L - 4, ".idx")) continue;
        char ip[4096 + 256];
        snprintf(ip, sizeof ip, "%s/%s", dir, e->d_name);
        size_t dd = 0, nd = 0;
        blobs += check_pack(odb, ip, 0, (size_t)48 << 20, 1, &dd, &nd);
        trees += check_trees(repo, odb, ip);
        if (!quick) {
            check_pack(odb, ip, 1, (size_t)48 << 20, 0, &dd, &nd); /* children first */
            check_pack(odb, ip, 0, 0, 0, &dd, &nd);                /* nothing cached */
            check_pack(odb, ip, 1, 4096, 1, &dd, &nd);             /* a tiny cache */
        }
        if (dd > depth) depth = dd;
        ndelta += nd;
        packs++;
    }
    if (d) closedir(d);
    printf("%s: %zu packs, %zu blobs, %zu trees, longest delta chain %zu\n", path, packs, blobs,
           trees, depth);
    if (!quick) CHECK(trees >= 120); /* a tree per commit of the generated history */
    git_odb_free(odb);
    git_repository_free(repo);
}

/* ---- crafted packs: one whole blob and one delta on it ---- */

static size_t put_header(unsigned char *p, int type, uint64_t size)
{
    size_t n = 0;
    unsigned char b = (unsigned char)(type << 4 | (size & 15));
    size >>= 4;
    while (size) {
        p[n++] = b | 0x80;
        b = size & 0x7f;
        size >>= 7;
    }
    p[n++] = b;
    return n;
}

static size_t deflate_to(unsigned char *dst, size_t cap, const void *src, size_t n)
{
    uLongf dl = cap;
    CHECK(compress(dst, &dl, src, n) == Z_OK);
    return dl;
}

static const char BASE[] = "0123456789abcdefghijklmnopqrstuvwxyz";

/* A pack of BASE and a delta (delta_len bytes, its header claiming hdr_size)
 * on it; reads the delta. */
static int read_crafted(const unsigned char *delta, size_t delta_len, uint64_t hdr_size,
                        uint64_t cap, fr_buf *out)
{
    unsigned char pack[4096];
    memcpy(pack, "PACK\0\0\0\2\0\0\0\2", 12);
    fr_pack_blob v[2];
    memset(v, 0, sizeof v);
    size_t at = 12;
    v[0].off = at;
    size_t h = put_header(pack + at, 3, sizeof BASE - 1);
    v[0].data_at = (uint32_t)h;
    v[0].size = sizeof BASE - 1;
    v[0].base = FR_PACK_NONE;
    v[0].children = 1;
    at += h;
    at += deflate_to(pack + at, sizeof pack - at, BASE, sizeof BASE - 1);
    v[0].end = at;
    v[1].off = at;
    h = put_header(pack + at, 6, hdr_size);
    uint64_t dist = at - v[0].off; /* one byte: < 128 */
    pack[at + h] = (unsigned char)dist;
    v[1].data_at = (uint32_t)h + 1;
    v[1].size = hdr_size;
    v[1].base = 0;
    at += h + 1;
    at += deflate_to(pack + at, sizeof pack - at, delta, delta_len);
    v[1].end = at;
    memset(pack + at, 0, 20);
    at += 20;
    fr_pack_src s = {fr_pack_new_id(), pack, -1, at, v, 2};
    fr_pack_cache *c = fr_pack_cache_new(1 << 20);
    char why[256];
    int rc = fr_pack_read(&s, 1, c, cap, out, why, sizeof why);
    fr_pack_cache_free(c);
    return rc;
}

static void crafted(void)
{
    fr_buf out = {0};
    /* base 36 bytes -> 6 bytes: copy "abc" (offset 10, size 3), insert "XYZ" */
    const unsigned char good[] = {36, 6, 0x80 | 0x01 | 0x10, 10, 3, 3, 'X', 'Y', 'Z'};
    CHECK(read_crafted(good, sizeof good, sizeof good, 1 << 20, &out) == FR_OK);
    CHECK(out.len == 6 && !memcmp(out.p, "abcXYZ", 6));
    /* a copy of size 0 means 0x10000: outside this base */
    const unsigned char big_copy[] = {36, 6, 0x80 | 0x01, 0};
    CHECK(read_crafted(big_copy, sizeof big_copy, sizeof big_copy, 1 << 20, &out) == FR_ECORRUPT);
    const unsigned char base_size[] = {35, 3, 0x80 | 0x10, 3};
    CHECK(read_crafted(base_size, sizeof base_size, sizeof base_size, 1 << 20, &out) ==
          FR_ECORRUPT);
    const unsigned char short_result[] = {36, 7, 0x80 | 0x10, 3};
    CHECK(read_crafted(short_result, sizeof short_result, sizeof short_result, 1 << 20, &out) ==
          FR_ECORRUPT);
    const unsigned char long_result[] = {36, 2, 0x80 | 0x10, 3};
    CHECK(read_crafted(long_result, sizeof long_result, sizeof long_result, 1 << 20, &out) ==
          FR_ECORRUPT);
    const unsigned char outside[] = {36, 3, 0x80 | 0x01 | 0x10, 34, 3};
    CHECK(read_crafted(outside, sizeof outside, sizeof outside, 1 << 20, &out) == FR_ECORRUPT);
    const unsigned char trunc_copy[] = {36, 3, 0x80 | 0x01 | 0x02 | 0x10, 1};
    CHECK(read_crafted(trunc_copy, sizeof trunc_copy, sizeof trunc_copy, 1 << 20, &out) ==
          FR_ECORRUPT);
    const unsigned char trunc_insert[] = {36, 5, 5, 'a', 'b'};
    CHECK(read_crafted(trunc_insert, sizeof trunc_insert, sizeof trunc_insert, 1 << 20, &out) ==
          FR_ECORRUPT);
    const unsigned char reserved[] = {36, 1, 0, 1, 'a'};
    CHECK(read_crafted(reserved, sizeof reserved, sizeof reserved, 1 << 20, &out) == FR_ECORRUPT);
    const unsigned char trunc_header[] = {36, 0x80};
    CHECK(read_crafted(trunc_header, sizeof trunc_header, sizeof trunc_header, 1 << 20, &out) ==
          FR_ECORRUPT);
    /* the stream inflates to more, or fewer, bytes than the header says */
    CHECK(read_crafted(good, sizeof good, sizeof good - 1, 1 << 20, &out) == FR_ECORRUPT);
    CHECK(read_crafted(good, sizeof good, sizeof good + 1, 1 << 20, &out) == FR_ECORRUPT);
    /* a result over the cap is not built */
    CHECK(read_crafted(good, sizeof good, sizeof good, 5, &out) == FR_ELIMIT);
    fr_buf_release(&out);

    /* a listing whose base comes after its delta is refused, not followed */
    fr_pack_blob v[2];
    memset(v, 0, sizeof v);
    v[0].base = 1;
    v[1].base = FR_PACK_NONE;
    unsigned char mem[64] = {0};
    fr_pack_src s = {fr_pack_new_id(), mem, -1, sizeof mem, v, 2};
    fr_pack_cache *c = fr_pack_cache_new(1 << 20);
    char why[256];
    CHECK(fr_pack_read(&s, 0, c, 1 << 20, &out, why, sizeof why) == FR_ECORRUPT);
    /* an entry whose bytes lie past the pack */
    v[0].base = FR_PACK_NONE;
    v[0].off = 12;
    v[0].end = 1000;
    CHECK(fr_pack_read(&s, 0, c, 1 << 20, &out, why, sizeof why) == FR_ECORRUPT);
    fr_pack_cache_free(c);
    fr_buf_release(&out);
}

/* One cache (one inflater, reset per object) across a broken stream, a delta
 * chain whose middle is kept by the cache as the buffer it was built in, and
 * whole objects: every read gives the same bytes as on a fresh cache. */
static void one_cache(void)
{
    unsigned char pack[4096];
    memcpy(pack, "PACK\0\0\0\2\0\0\0\4", 12);
    fr_pack_blob v[4];
    memset(v, 0, sizeof v);
    size_t at = 12;
    /* 0: BASE; 1: a delta on it, "abcXYZ"; 2: a delta on 1, "abc!!" */
    const unsigned char d1[] = {36, 6, 0x80 | 0x01 | 0x10, 10, 3, 3, 'X', 'Y', 'Z'};
    const unsigned char d2[] = {6, 5, 0x80 | 0x10, 3, 2, '!', '!'};
    const unsigned char *data[3] = {(const unsigned char *)BASE, d1, d2};
    size_t dlen[3] = {sizeof BASE - 1, sizeof d1, sizeof d2};
    for (int i = 0; i < 3; i++) {
        v[i].off = at;
        size_t h = put_header(pack + at, i ? 6 : 3, dlen[i]);
        v[i].size = dlen[i];
        if (i) {
            pack[at + h++] = (unsigned char)(at - v[i - 1].off); /* < 128 */
            v[i].base = (uint32_t)i - 1;
        } else {
            v[i].base = FR_PACK_NONE;
        }
        v[i].data_at = (uint32_t)h;
        at += h;
        at += deflate_to(pack + at, sizeof pack - at, data[i], dlen[i]);
        v[i].end = at;
    }
    v[0].children = 1;
    v[1].children = 2; /* one more child to come: 1 stays cached after 2 is read */
    /* 3: a blob whose stream breaks after the zlib header */
    v[3].off = at;
    size_t h = put_header(pack + at, 3, 10);
    v[3].data_at = (uint32_t)h;
    v[3].size = 10;
    v[3].base = FR_PACK_NONE;
    at += h;
    const unsigned char broken[] = {0x78, 0x9c, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    memcpy(pack + at, broken, sizeof broken);
    at += sizeof broken;
    v[3].end = at;
    memset(pack + at, 0, 20);
    at += 20;
    for (int use_fd = 0; use_fd < 2; use_fd++) {
        char path[] = "/tmp/ferret-packread-XXXXXX";
        int fd = -1;
        if (use_fd) {
            fd = mkstemp(path);
            CHECK(fd >= 0 && write(fd, pack, at) == (ssize_t)at);
            unlink(path);
        }
        fr_pack_src s = {fr_pack_new_id(), use_fd ? NULL : pack, fd, at, v, 4};
        fr_pack_cache *c = fr_pack_cache_new(1 << 20);
        fr_buf out = {0};
        char why[256];
        for (int round = 0; round < 2; round++) {
            CHECK(fr_pack_read(&s, 3, c, 1 << 20, &out, why, sizeof why) == FR_ECORRUPT);
            CHECK(fr_pack_read(&s, 2, c, 1 << 20, &out, why, sizeof why) == FR_OK);
            CHECK(out.len == 5 && !memcmp(out.p, "abc!!", 6));
            CHECK(fr_pack_read(&s, 1, c, 1 << 20, &out, why, sizeof why) == FR_OK);
            CHECK(out.len == 6 && !memcmp(out.p, "abcXYZ", 7));
            CHECK(fr_pack_read(&s, 3, c, 1 << 20, &out, why, sizeof why) == FR_ECORRUPT);
            CHECK(fr_pack_read(&s, 0, c, 1 << 20, &out, why, sizeof why) == FR_OK);
            CHECK(out.len == sizeof BASE - 1 && !memcmp(out.p, BASE, sizeof BASE));
        }
        fr_buf_release(&out);
        fr_pack_cache_free(c);
        if (fd >= 0) close(fd);
    }
}

int main(int argc, char **argv)
{
    git_libgit2_init();
    crafted();
    one_cache();
    crafted_trees();
    crafted_commits();
    if (argc > 1) {
        check_repo(argv[1], 1);
        git_libgit2_shutdown();
        return check_done("packread");
    }
    char dir[] = "/tmp/ferret-packread.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char cmd[8192];
    /* 3 files x 120 versions; a.txt changes one more line each time, so each
     * version's best base is a neighbour (chains ~20 deep once repacked with
     * --depth=250); then a second pack and a loose object. */
    snprintf(
        cmd, sizeof cmd,
        "cd %s && export GIT_CONFIG_NOSYSTEM=1 HOME=%s GIT_AUTHOR_NAME=t "
        "GIT_AUTHOR_EMAIL=t@e GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@e && "
        "git init -q r && cd r && for i in $(seq 1 120); do "
        "seq 1 400 | awk -v i=$i '{ print ($1 <= i ? \"changed \" $1 * 7919 %% 1000003 : $1) }' "
        "> a.txt; "
        "seq 1 3 $((900 + 2 * i)) > b.txt; printf 'v%%s\\n' $(seq $i) > c.txt; "
        "git add . && git commit -qm $i; done && "
        "git repack -q -adf --depth=250 --window=250 && "
        "echo more > d.txt && seq 1 999 > a.txt && git add . && git commit -qm more && "
        "git repack -q -d && mkdir -p s/t && echo x > s/t/f && echo y > s/t.x && echo z > s/t0 && "
        "git add s && git commit -qm dirs && git repack -q -d && echo loose > e.txt && "
        "git add e.txt",
        dir, dir);
    CHECK(system(cmd) == 0);
    char repo[4200];
    snprintf(repo, sizeof repo, "%s/r", dir);
    check_repo(repo, 0);
    /* the longest chain of the first pack: git made it deep */
    char find[4400];
    snprintf(find, sizeof find, "ls -S %s/.git/objects/pack/*.idx | head -1", repo);
    FILE *f = popen(find, "r");
    char idx_path[4096] = "";
    CHECK(f && fgets(idx_path, sizeof idx_path, f));
    if (f) pclose(f);
    idx_path[strcspn(idx_path, "\n")] = 0;
    git_repository *r = NULL;
    git_odb *odb = NULL;
    CHECK(git_repository_open(&r, repo) == 0 && git_repository_odb(&odb, r) == 0);
    size_t depth = 0, nd = 0;
    size_t n = check_pack(odb, idx_path, 0, (size_t)48 << 20, 1, &depth, &nd);
    CHECK(n >= 300);
    CHECK(depth >= 15);
    CHECK(nd >= 300);
    git_odb_free(odb);
    git_repository_free(r);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    git_libgit2_shutdown();
    return check_done("packread");
}
