/*
 * hashset.c: linear-probing tables, grown at 70% load. Keys are hashed with
 * FNV-1a folded into 64 bits; object ids are already uniform, strings are
 * keyed by a 128-bit digest (two independent FNV-1a variants) to keep the table
 * compact, with the string compared on lookup so a digest collision cannot merge
 * two paths.
 */
#include "util/hashset.h"

#include "util/util.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash_bytes(const unsigned char *p, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h ^ (h >> 29);
}

void fr_keymap_init(fr_keymap *m, size_t keysize)
{
    memset(m, 0, sizeof *m);
    m->keysize = keysize;
}

void fr_keymap_release(fr_keymap *m)
{
    free(m->keys), free(m->vals), free(m->used);
    memset(m, 0, sizeof *m);
}

/* Keys of 8 bytes or more here are object ids and digests, already uniform: mix
 * their first and last 8 bytes. Shorter keys are hashed byte by byte. */
static uint64_t key_hash(const unsigned char *k, size_t n)
{
    if (n < 8) return hash_bytes(k, n, 0xcbf29ce484222325ull);
    uint64_t a, b;
    memcpy(&a, k, 8);
    memcpy(&b, k + n - 8, 8);
    uint64_t h = (a ^ (b << 31 | b >> 33)) * 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 32);
}

/* used[] holds 0 for an empty slot, else a 7-bit tag of the hash (plus one): most
 * probes of other keys are rejected without comparing the key bytes. */
static size_t slot_of(const fr_keymap *m, const void *key, unsigned char *tag_out)
{
    size_t mask = m->cap - 1;
    uint64_t h = key_hash(key, m->keysize);
    unsigned char tag = (unsigned char)(1 + (h >> 57));
    size_t i = (size_t)h & mask;
    while (m->used[i] && (m->used[i] != tag || memcmp(m->keys + i * m->keysize, key, m->keysize)))
        i = (i + 1) & mask;
    if (tag_out) *tag_out = tag;
    return i;
}

static void grow(fr_keymap *m)
{
    fr_keymap old = *m;
    m->cap = old.cap ? old.cap * 2 : 1024;
    m->keys = fr_xmalloc(m->cap * m->keysize);
    m->vals = fr_xmalloc(m->cap * sizeof *m->vals);
    m->used = fr_xcalloc(m->cap, 1);
    for (size_t i = 0; i < old.cap; i++) {
        if (!old.used[i]) continue;
        unsigned char tag;
        size_t j = slot_of(m, old.keys + i * old.keysize, &tag);
        m->used[j] = tag;
        memcpy(m->keys + j * m->keysize, old.keys + i * old.keysize, m->keysize);
        m->vals[j] = old.vals[i];
    }
    free(old.keys), free(old.vals), free(old.used);
}

uint32_t *fr_keymap_put(fr_keymap *m, const void *key, uint32_t init, int *added)
{
    if ((m->n + 1) * 10 > m->cap * 7) grow(m);
    unsigned char tag;
    size_t i = slot_of(m, key, &tag);
    if (added) *added = !m->used[i];
    if (!m->used[i]) {
        m->used[i] = tag;
        memcpy(m->keys + i * m->keysize, key, m->keysize);
        m->vals[i] = init;
        m->n++;
    }
    return &m->vals[i];
}

uint32_t *fr_keymap_get(const fr_keymap *m, const void *key)
{
    if (!m->cap) return NULL;
    size_t i = slot_of(m, key, NULL);
    return m->used[i] ? &m->vals[i] : NULL;
}

void fr_strtab_init(fr_strtab *t)
{
    memset(t, 0, sizeof *t);
    fr_keymap_init(&t->index, 16);
}

void fr_strtab_release(fr_strtab *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->strs[i]);
    free(t->strs);
    fr_keymap_release(&t->index);
}

uint32_t fr_strtab_intern(fr_strtab *t, const char *s, size_t len)
{
    uint64_t d[2];
    d[0] = hash_bytes((const unsigned char *)s, len, 0xcbf29ce484222325ull);
    d[1] = hash_bytes((const unsigned char *)s, len, 0x84222325cbf29ce4ull ^ len);
    for (;;) {
        int added = 0;
        uint32_t *v = fr_keymap_put(&t->index, d, (uint32_t)t->n, &added);
        if (added) {
            if (t->n == t->cap) {
                t->cap = t->cap ? t->cap * 2 : 256;
                t->strs = fr_xrealloc(t->strs, t->cap * sizeof *t->strs);
            }
            t->strs[t->n] = fr_xstrndup(s, len);
            return (uint32_t)t->n++;
        }
        if (strlen(t->strs[*v]) == len && !memcmp(t->strs[*v], s, len)) return *v;
        d[1] += 0x9e3779b97f4a7c15ull; /* digest collision: probe another key */
    }
}
