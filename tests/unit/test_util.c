/* Unit tests for src/util: SHA-256 vectors, buffers, safe display, redaction,
 * entropy, size parsing and the bounded queue under threads. */
#include "check.h"
#include "util/hashset.h"
#include "util/util.h"

#include <pthread.h>
#include <stdlib.h>

static void test_sha256(void)
{
    char hex[65];
    fr_sha256_hex("", 0, hex);
    CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    fr_sha256_hex("abc", 3, hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    fr_sha256_hex(m, strlen(m), hex);
    CHECK_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* one million 'a', fed in uneven pieces to exercise the block buffering */
    fr_sha256_ctx c;
    fr_sha256_init(&c);
    char a[997];
    memset(a, 'a', sizeof a);
    size_t left = 1000000;
    while (left) {
        size_t n = left < 997 ? left : (left % 7) + 1;
        fr_sha256_update(&c, a, n);
        left -= n;
    }
    unsigned char d[32];
    fr_sha256_final(&c, d);
    fr_hex(hex, d, 32);
    CHECK_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_safe_display(void)
{
    fr_buf b = {0};
    fr_buf_put_safe(&b, "a\x1b[31mb\n\xff\xc3\xa9\\", 12);
    CHECK_STR(b.p, "a\\x1B[31mb\\x0A\\xFF\xc3\xa9\\\\");
    fr_buf_reset(&b);
    fr_buf_put_safe(&b, "\xc2\x85x\xed\xa0\x80", 6); /* C1 control, UTF-16 surrogate */
    CHECK_STR(b.p, "\\xC2\\x85x\\xED\\xA0\\x80");
    fr_buf_release(&b);
}

/* A block of this size, full of 'X', freed: the next allocation of that size is
 * likely to get it back, so an unterminated buffer shows 'X's instead of "". */
static void dirty_heap(size_t size)
{
    char *p = fr_xmalloc(size);
    memset(p, 'X', size);
    free(p);
}

/* Defect 3: a buffer given memory but no bytes (fr_buf_put_safe of an empty
 * path) must read "" at p, whatever the heap held before. */
static void test_buf_empty(void)
{
    fr_buf b = {0};
    dirty_heap(64);
    fr_buf_put_safe(&b, "", 0);
    CHECK_STR(b.p ? b.p : "", "");
    CHECK(b.p && b.len == 0 && b.p[0] == 0);
    fr_buf_release(&b);
    CHECK(!b.p && b.len == 0 && b.cap == 0);

    dirty_heap(64);
    fr_buf_reserve(&b, 10);
    CHECK(b.p && b.len == 0 && b.p[0] == 0);
    fr_buf_release(&b);

    dirty_heap(64);
    fr_buf_append(&b, "", 0);
    CHECK(b.p && b.len == 0 && b.p[0] == 0);
    fr_buf_release(&b);

    dirty_heap(64);
    fr_buf_puts(&b, "");
    CHECK(b.p && b.len == 0 && b.p[0] == 0);
    fr_buf_release(&b);

    dirty_heap(64);
    fr_buf_printf(&b, "%s", "");
    CHECK(b.p && b.len == 0 && b.p[0] == 0);
    fr_buf_release(&b);

    dirty_heap(64);
    char *s = fr_buf_steal(&b); /* never allocated: still a string to free */
    CHECK_STR(s, "");
    free(s);
    fr_buf_reset(&b); /* on a buffer without memory: stays empty */
    CHECK(!b.p && b.len == 0);

    /* growing keeps the content terminated; reset empties it */
    fr_buf_puts(&b, "abc");
    dirty_heap(1024);
    fr_buf_reserve(&b, 1000);
    CHECK(b.len == 3 && b.cap >= 1004);
    CHECK_STR(b.p, "abc");
    fr_buf_reset(&b);
    CHECK(b.len == 0);
    CHECK_STR(b.p, "");
    fr_buf_put_safe(&b, "", 0);
    CHECK_STR(b.p, "");
    fr_redact("", 0, &b); /* the preview of an empty secret: only the asterisks */
    CHECK_STR(b.p, "****");
    fr_buf_release(&b);
}

/* Context added to the current message keeps the message (the buffer is
 * read and written by one call). */
static void test_error_context(void)
{
    fr_error_set("no such table: findings");
    fr_error_set("%s (step %s)", fr_error(), "0007");
    CHECK_STR(fr_error(), "no such table: findings (step 0007)");
    fr_error_set("%s (the database needs a schema upgrade)", fr_error());
    CHECK_STR(fr_error(),
              "no such table: findings (step 0007) (the database needs a schema upgrade)");
}

static void test_redact(void)
{
    const char *s = "ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d";
    fr_buf b = {0};
    fr_redact(s, strlen(s), &b);
    CHECK_STR(b.p, "ghp_****8d");
    for (size_t n = 0; n < 64; n++) { /* never reveals more than a quarter */
        char sec[64];
        memset(sec, 'Q', n);
        fr_buf_reset(&b);
        fr_redact(sec, n, &b);
        size_t shown = b.len - 4;
        CHECK(shown * 4 <= n || n == 0);
    }
    fr_buf_release(&b);
}

static void test_entropy_and_size(void)
{
    CHECK(fr_shannon_entropy((const unsigned char *)"aaaa", 4) == 0.0);
    double h = fr_shannon_entropy((const unsigned char *)"abcd", 4);
    CHECK(h > 1.99 && h < 2.01);
    uint64_t v;
    CHECK(fr_parse_size("64M", &v) == FR_OK && v == 64ull << 20);
    CHECK(fr_parse_size("1G", &v) == FR_OK && v == 1ull << 30);
    CHECK(fr_parse_size("4096", &v) == FR_OK && v == 4096);
    CHECK(fr_parse_size("12Q", &v) != FR_OK);
    CHECK(fr_parse_size("", &v) != FR_OK);
}

#define NPROD 4
#define PER   20000
static fr_queue *Q;
static void *producer(void *arg)
{
    size_t base = (size_t)arg;
    for (size_t i = 1; i <= PER; i++)
        fr_queue_push(Q, (void *)(base * PER + i));
    return NULL;
}

static void test_queue(void)
{
    Q = fr_queue_new(8);
    pthread_t t[NPROD];
    for (size_t i = 0; i < NPROD; i++)
        pthread_create(&t[i], NULL, producer, (void *)i);
    unsigned long long sum = 0;
    size_t n = 0;
    while (n < NPROD * PER) {
        sum += (uintptr_t)fr_queue_pop(Q);
        n++;
    }
    for (size_t i = 0; i < NPROD; i++)
        pthread_join(t[i], NULL);
    unsigned long long total = (unsigned long long)NPROD * PER;
    CHECK(sum == total * (total + 1) / 2);
    int timed_out = 0;
    CHECK(fr_queue_pop_timed(Q, 10, &timed_out) == NULL && timed_out);
    /* with a wake threshold, a lone item still reaches a timed consumer */
    fr_queue_set_wake(Q, 4);
    CHECK(fr_queue_push(Q, (void *)7) == FR_OK);
    CHECK(fr_queue_pop_timed(Q, 20, &timed_out) == (void *)7 && !timed_out);
    /* trypush: takes items while there is room, never blocks, keeps FIFO order */
    size_t pushed = 0;
    while (fr_queue_trypush(Q, (void *)(pushed + 1)) == FR_OK)
        pushed++;
    CHECK(pushed == 8);
    for (size_t i = 1; i <= 8; i++)
        CHECK(fr_queue_trypop(Q) == (void *)i);
    CHECK(fr_queue_trypop(Q) == NULL);
    fr_queue_close(Q);
    CHECK(fr_queue_trypush(Q, (void *)1) == FR_ERR);
    CHECK(fr_queue_push(Q, (void *)1) == FR_ERR);
    CHECK(fr_queue_pop(Q) == NULL);
    fr_queue_free(Q);
}

/* The walk's tables: every key found with its own value after the table grew
 * many times, absent keys not found, a second put of a key returns its value
 * (not added), at every key size the walk uses and the odd ones; interned
 * strings get dense ids and the same id again. */
/* Key i of size ks (at most 32): i spread over its first bytes (distinct keys
 * for distinct i), then noise drawn from i. */
static void keymap_key(unsigned char key[32], size_t ks, size_t i)
{
    uint32_t st = (uint32_t)i * 2654435761u ^ (uint32_t)ks;
    memset(key, 0, 32);
    for (size_t b = 0; b < ks; b++)
        key[b] =
            (unsigned char)(b < sizeof i ? i >> (8 * b) : (st = st * 1103515245u + 12345u) >> 16);
}

static void test_keymap(void)
{
    static const size_t sizes[] = {1, 3, 8, 16, 20, 32};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t ks = sizes[si], n = ks == 1 ? 256 : 20000, bad = 0, found = 0;
        fr_keymap m;
        fr_keymap_init(&m, ks);
        unsigned char key[32];
        for (size_t i = 0; i < n; i++) {
            keymap_key(key, ks, i);
            int added = 0;
            uint32_t *v = fr_keymap_put(&m, key, (uint32_t)(i * 7 + 1), &added);
            if (!added || *v != i * 7 + 1) bad++;
        }
        CHECK(m.n == n);
        for (size_t i = 0; i < n; i++) {
            keymap_key(key, ks, i);
            uint32_t *g = fr_keymap_get(&m, key);
            if (g && *g == i * 7 + 1) found++;
            int added = 1;
            uint32_t *v = fr_keymap_put(&m, key, 0, &added);
            if (added || *v != i * 7 + 1) bad++;
            if (i % 2 == 0) *v = (uint32_t)i; /* written through the pointer */
        }
        CHECK(found == n);
        CHECK(bad == 0);
        CHECK(m.n == n);
        size_t rewritten = 0;
        for (size_t i = 0; i < n; i++) {
            keymap_key(key, ks, i);
            uint32_t *g = fr_keymap_get(&m, key);
            rewritten += g && *g == (i % 2 == 0 ? (uint32_t)i : (uint32_t)(i * 7 + 1));
        }
        CHECK(rewritten == n);
        if (ks > 1) { /* a key never put */
            memset(key, 0xee, sizeof key);
            CHECK(fr_keymap_get(&m, key) == NULL);
        }
        fr_keymap_release(&m);
        CHECK(m.n == 0 && m.cap == 0);
    }
    fr_strtab t;
    fr_strtab_init(&t);
    char s[32];
    size_t dense = 0, again = 0;
    for (int i = 0; i < 5000; i++) {
        snprintf(s, sizeof s, "dir/%d/file.c", i);
        dense += fr_strtab_intern(&t, s, strlen(s)) == (uint32_t)i;
    }
    for (int i = 0; i < 5000; i++) {
        snprintf(s, sizeof s, "dir/%d/file.c", i);
        again += fr_strtab_intern(&t, s, strlen(s)) == (uint32_t)i;
    }
    CHECK(dense == 5000);
    CHECK(again == 5000);
    CHECK(t.n == 5000);
    CHECK_STR(fr_strtab_get(&t, 4321), "dir/4321/file.c");
    fr_strtab_release(&t);
}

int main(void)
{
    test_sha256();
    test_safe_display();
    test_buf_empty();
    test_error_context();
    test_redact();
    test_entropy_and_size();
    test_queue();
    test_keymap();
    return check_done("test_util");
}
