/*
 * fuzz_tree: the walk's tree and commit parsers (fr_tree_parse,
 * fr_tree_entry_cmp, fr_commit_parse; src/sources/packscan.h) over any bytes,
 * as an object read from a pack would give them.
 * Invariants: FR_OK or FR_ECORRUPT; on FR_OK the entries cover the input
 * exactly, in order (each entry's mode digits, a space, its name, a NUL, its
 * 20-byte id, then the next entry), names are non-empty and free of NULs,
 * types follow the mode, and the order is antisymmetric (a < b exactly when
 * b > a; an entry equals itself); a parsed commit's fields all lie inside
 * the input, its message runs to the end. Nothing is read outside the input
 * (ASan).
 * Seeds (corpus/tree/): trees as git writes them (files, a directory, a
 * submodule, "t.x" before the directory "t"), and truncated or malformed ones;
 * commits (a merge with a signature, no message, odd signatures).
 */
#include "fuzz.h"
#include "sources/packscan.h"
#include "util/util.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fr_tree_entry *e = NULL;
    size_t n = 0, cap = 0;
    int rc = fr_tree_parse(data, size, &e, &n, &cap);
    FUZZ_ASSERT(rc == FR_OK || rc == FR_ECORRUPT);
    if (rc == FR_OK) {
        const uint8_t *at = data;
        for (size_t i = 0; i < n; i++) {
            FUZZ_ASSERT(e[i].nlen > 0 && e[i].nlen <= FR_TREE_NAME_MAX);
            FUZZ_ASSERT((const uint8_t *)e[i].name > at && e[i].name[-1] == ' ');
            FUZZ_ASSERT(!memchr(e[i].name, 0, e[i].nlen) && e[i].name[e[i].nlen] == 0);
            FUZZ_ASSERT(e[i].id == (const uint8_t *)e[i].name + e[i].nlen + 1);
            FUZZ_ASSERT(e[i].id + 20 <= data + size);
            int want = (e[i].mode & 0170000) == 0040000   ? FR_TREE_TREE
                       : (e[i].mode & 0170000) == 0160000 ? FR_TREE_COMMIT
                                                          : FR_TREE_BLOB;
            FUZZ_ASSERT(e[i].type == want);
            at = e[i].id + 20;
            FUZZ_ASSERT(fr_tree_entry_cmp(&e[i], &e[i]) == 0);
            if (i) {
                int a = fr_tree_entry_cmp(&e[i - 1], &e[i]),
                    b = fr_tree_entry_cmp(&e[i], &e[i - 1]);
                FUZZ_ASSERT((a < 0) == (b > 0) && (a == 0) == (b == 0));
            }
        }
        FUZZ_ASSERT(at == data + size);
    }
    free(e);
    /* the same bytes as a commit: every field inside the input */
    fr_commit c;
    rc = fr_commit_parse(data, size, &c);
    FUZZ_ASSERT(rc == FR_OK || rc == FR_ECORRUPT);
    if (rc == FR_OK) {
        const char *lo = (const char *)data, *hi = lo + size;
        FUZZ_ASSERT(c.parents >= lo && c.parents + 48 * c.nparents <= hi);
        FUZZ_ASSERT(c.author_name >= lo && c.author_name + c.author_name_len <= hi);
        FUZZ_ASSERT(c.author_email >= lo && c.author_email + c.author_email_len <= hi);
        FUZZ_ASSERT(c.message >= lo && c.message + c.message_len == hi);
        FUZZ_ASSERT(c.author_time >= 0 && c.committer_time >= 0);
        unsigned char id[20];
        for (size_t i = 0; i < c.nparents; i++)
            fr_commit_parent(&c, i, id);
    }
    return 0;
}
