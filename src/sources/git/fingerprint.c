/*
 * fingerprint.c: one digest of what a repository holds: its refs (name,
 * target), pack files by name and size, loose objects by name, objects/info
 * and the shallow file. Same digest under the same rules: nothing to scan.
 *
 *   refs, sorted ──> sha256 <── objects/pack (name size), objects/xx (names),
 *                                objects/info, shallow
 */
#include "sources/git/git_int.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
    gs_init();
    git_repository *repo = NULL;
    if (git_repository_open_ext(&repo, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL)) {
        fr_error_set("%s: not a git repository: %s", path, gs_err());
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
    /* The loose objects' directories that exist (a packed repository has
     * few or none: 256 failed opendir calls were 5% of an unchanged re-scan) */
    unsigned char present[256] = {0};
    fr_buf_reset(&d);
    fr_buf_printf(&d, "%sobjects", gitdir);
    DIR *od = opendir(d.p);
    for (struct dirent *e; od && (e = readdir(od));) {
        unsigned x;
        char rest;
        if (strlen(e->d_name) == 2 && sscanf(e->d_name, "%2x%c", &x, &rest) == 1 &&
            isxdigit((unsigned char)e->d_name[0]) && isxdigit((unsigned char)e->d_name[1]) &&
            !isupper((unsigned char)e->d_name[0]) && !isupper((unsigned char)e->d_name[1]))
            present[x] = 1;
    }
    if (od) closedir(od);
    for (int i = 0; i < 256; i++) {
        fr_buf_reset(&d);
        fr_buf_printf(&d, "%sobjects/%02x", gitdir, i);
        fr_sha256_update(&h, d.p + d.len - 2, 2);
        if (present[i] || !od) hash_dir(&h, d.p, 0);
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
