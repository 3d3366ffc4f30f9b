/*
 * hashset: open-addressing hash tables for the history walk, where memory must
 * follow the number of unique objects: fixed-size binary keys (object ids) to
 * 32-bit values, and interned strings (paths) to dense 32-bit ids.
 */
#ifndef FERRET_HASHSET_H
#define FERRET_HASHSET_H

#include <stddef.h>
#include <stdint.h>

/* Keys of a fixed size (1..32 bytes) mapped to uint32 values. */
typedef struct {
    unsigned char *keys;
    uint32_t *vals;
    unsigned char *used;
    size_t keysize, cap, n;
} fr_keymap;

void fr_keymap_init(fr_keymap *m, size_t keysize);
void fr_keymap_release(fr_keymap *m);
/* Returns a pointer to the value of key, inserting it with value `init` when
 * absent (*added set to 1 then). The pointer is valid until the next insert. */
uint32_t *fr_keymap_put(fr_keymap *m, const void *key, uint32_t init, int *added);
/* Returns the value's address, or NULL when key is absent. */
uint32_t *fr_keymap_get(const fr_keymap *m, const void *key);

/* Interned strings: each distinct string gets a dense id 0, 1, 2, ... */
typedef struct {
    fr_keymap index; /* 16-byte digest of the string -> id */
    char **strs;
    size_t n, cap;
} fr_strtab;

void fr_strtab_init(fr_strtab *t);
void fr_strtab_release(fr_strtab *t);
uint32_t fr_strtab_intern(fr_strtab *t, const char *s, size_t len);
static inline const char *fr_strtab_get(const fr_strtab *t, uint32_t id)
{
    return t->strs[id];
}

#endif
