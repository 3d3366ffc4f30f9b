/*
 * cache.c: the parsed rule set, cached beside the engine's compiled database.
 * Parsing the rules' YAML was a quarter of a git hook's CPU; reading this file
 * back costs a few hundred microseconds.
 *
 * The file is bound to what it was parsed from, as strictly as the engine's
 * database cache: its header is an identity (format, ferret version, the
 * parser's build time, size of a rule in memory, the rule-set hash over every
 * rule file's bytes, and a hash of the files' names and sizes, which the
 * rules record), compared byte for byte, then the size and SHA-256 of the
 * payload that follows. The rule files are still read and hashed on every
 * run (cheap); only their parse is skipped. A file that is not ours, is
 * writable by others, or fails any check is ignored and rewritten from a fresh
 * parse; a cache that cannot be written only costs the next parse. Only a rule
 * set that parsed without error is ever cached, so errors are always reported
 * by the parser.
 */
#include "rules/rules.h"

#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MAP_POPULATE /* Linux: every page mapped at once */
#define MAP_POPULATE 0
#endif

#define CACHE_FORMAT "ferret-rules-cache 2"
#define CACHE_MAX    ((size_t)64 << 20)

/* Every field of a rule is written below: a new field must be added there
 * (and CACHE_FORMAT bumped), or a cached rule set would silently lose it. */
#if UINTPTR_MAX == 0xffffffffffffffffu
_Static_assert(sizeof(fr_rule) == 232 && sizeof(fr_ruleset) == 96 && sizeof(fr_rule_example) == 16,
               "fr_rule changed: serialize the new field in src/rules/cache.c");
#endif

/* --- writing --- */

static void put_u64(fr_buf *b, uint64_t v)
{
    fr_buf_append(b, &v, sizeof v);
}

static void put_str(fr_buf *b, const char *s)
{
    if (!s) {
        put_u64(b, UINT64_MAX);
        return;
    }
    size_t n = strlen(s);
    put_u64(b, n);
    fr_buf_append(b, s, n);
}

static void put_strs(fr_buf *b, char *const *v, size_t n)
{
    put_u64(b, n);
    for (size_t i = 0; i < n; i++)
        put_str(b, v[i]);
}

static void put_examples(fr_buf *b, const fr_rule_example *v, size_t n)
{
    put_u64(b, n);
    for (size_t i = 0; i < n; i++) {
        put_str(b, v[i].text);
        put_u64(b, (uint64_t)(int64_t)v[i].line);
    }
}

static void encode(fr_buf *b, const fr_ruleset *rs)
{
    put_u64(b, rs->n);
    put_u64(b, rs->nindicators);
    for (size_t i = 0; i < rs->n; i++) {
        const fr_rule *r = &rs->rules[i];
        put_str(b, r->id), put_str(b, r->name), put_str(b, r->description);
        put_str(b, r->pattern), put_str(b, r->prefilter);
        put_str(b, r->severity), put_str(b, r->confidence);
        put_str(b, r->attack), put_u64(b, (uint64_t)(int64_t)r->kind);
        put_str(b, r->attack_version), put_u64(b, r->applies_to);
        put_strs(b, r->paths, r->npaths);
        put_strs(b, r->keywords, r->nkeywords);
        put_strs(b, r->references, r->nreferences);
        put_examples(b, r->examples, r->nexamples);
        put_examples(b, r->negatives, r->nnegatives);
        uint64_t bits;
        memcpy(&bits, &r->min_entropy, sizeof bits);
        put_u64(b, bits), put_u64(b, r->max_length);
        put_str(b, r->validate);
        put_strs(b, r->ignore, r->nignore);
        put_u64(b, r->guards);
        put_str(b, r->file), put_u64(b, (uint64_t)(int64_t)r->line);
    }
}

/* --- reading: every length is checked against what is left --- */

typedef struct {
    const unsigned char *p, *end;
    int bad;
} reader;

static uint64_t get_u64(reader *r)
{
    uint64_t v = 0;
    if (r->bad || (size_t)(r->end - r->p) < sizeof v) {
        r->bad = 1;
        return 0;
    }
    memcpy(&v, r->p, sizeof v);
    r->p += sizeof v;
    return v;
}

static char *get_str(reader *r)
{
    uint64_t n = get_u64(r);
    if (r->bad || n == UINT64_MAX) return NULL;
    if (n > (uint64_t)(r->end - r->p) || memchr(r->p, 0, (size_t)n)) {
        r->bad = 1;
        return NULL;
    }
    char *s = fr_xstrndup((const char *)r->p, (size_t)n);
    r->p += n;
    return s;
}

/* A count of items each taking at least `each` bytes of what is left. */
static size_t get_count(reader *r, size_t each)
{
    uint64_t n = get_u64(r);
    if (!r->bad && n > (uint64_t)(r->end - r->p) / each) r->bad = 1;
    return r->bad ? 0 : (size_t)n;
}

static char **get_strs(reader *r, size_t *n)
{
    *n = get_count(r, sizeof(uint64_t));
    char **v = fr_xcalloc(*n ? *n : 1, sizeof *v);
    for (size_t i = 0; i < *n; i++)
        v[i] = get_str(r);
    return v;
}

static fr_rule_example *get_examples(reader *r, size_t *n)
{
    *n = get_count(r, 2 * sizeof(uint64_t));
    fr_rule_example *v = fr_xcalloc(*n ? *n : 1, sizeof *v);
    for (size_t i = 0; i < *n; i++) {
        v[i].text = get_str(r);
        v[i].line = (int)(int64_t)get_u64(r);
    }
    return v;
}

static fr_ruleset *decode(const unsigned char *p, size_t len)
{
    reader r = {p, p + len, 0};
    fr_ruleset *rs = fr_xcalloc(1, sizeof *rs);
    size_t n = get_count(&r, 8 * sizeof(uint64_t));
    rs->nindicators = (size_t)get_u64(&r);
    rs->rules = fr_xcalloc(n ? n : 1, sizeof *rs->rules);
    for (; rs->n < n && !r.bad; rs->n++) {
        fr_rule *x = &rs->rules[rs->n];
        x->id = get_str(&r), x->name = get_str(&r), x->description = get_str(&r);
        x->pattern = get_str(&r), x->prefilter = get_str(&r);
        x->severity = get_str(&r), x->confidence = get_str(&r);
        x->attack = get_str(&r), x->kind = (int)(int64_t)get_u64(&r);
        x->attack_version = get_str(&r), x->applies_to = (unsigned)get_u64(&r);
        x->paths = get_strs(&r, &x->npaths);
        x->keywords = get_strs(&r, &x->nkeywords);
        x->references = get_strs(&r, &x->nreferences);
        x->examples = get_examples(&r, &x->nexamples);
        x->negatives = get_examples(&r, &x->nnegatives);
        uint64_t bits = get_u64(&r);
        memcpy(&x->min_entropy, &bits, sizeof bits);
        x->max_length = (size_t)get_u64(&r);
        x->validate = get_str(&r);
        x->ignore = get_strs(&r, &x->nignore);
        x->guards = (unsigned)get_u64(&r);
        x->file = get_str(&r), x->line = (int)(int64_t)get_u64(&r);
        /* the parser guarantees these; a rule without them is no rule */
        if (!x->id || !x->pattern || !x->file) r.bad = 1;
    }
    if (r.bad || r.p != r.end || !n) {
        fr_ruleset_free(rs);
        return NULL;
    }
    return rs;
}

/* --- the file --- */

static void identity(fr_buf *b, const char *hash, const char *const *names, const size_t *lens,
                     size_t n)
{
    fr_sha256_ctx h;
    fr_sha256_init(&h);
    for (size_t i = 0; i < n; i++) {
        char len[32];
        int k = snprintf(len, sizeof len, "\n%zu\n", lens[i]);
        fr_sha256_update(&h, names[i], strlen(names[i]) + 1);
        fr_sha256_update(&h, len, (size_t)k);
    }
    unsigned char d[32];
    char hex[65];
    fr_sha256_final(&h, d);
    fr_hex(hex, d, 32);
    fr_buf_printf(b, CACHE_FORMAT "\nferret %s\nparser %s\nrule-size %zu\nrules %s\nfiles %s\n",
                  FERRET_VERSION, fr_rules_parser_build, sizeof(fr_rule), hash, hex);
}

/* The cache file, mapped (not read into a buffer: its ~400 KB faulted in page
 * by page were most of loading it); *len 0 and NULL when it is not ours. */
static const char *map_cache(const char *path, size_t *len)
{
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) return NULL;
    struct stat st;
    void *m = MAP_FAILED;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
        !(st.st_mode & 077) && st.st_size > 0 && (size_t)st.st_size <= CACHE_MAX)
        m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) return NULL;
    *len = (size_t)st.st_size;
    return m;
}

/* Reads "size N\nsha256 HEX\n" at p[0..n); returns its length, or 0. */
static size_t trailer(const char *p, size_t n, size_t *size, char hex[65])
{
    size_t i = 0, v = 0, digits = 0;
    if (n < 5 || memcmp(p, "size ", 5)) return 0;
    for (i = 5; i < n && p[i] >= '0' && p[i] <= '9' && digits < 12; i++, digits++)
        v = v * 10 + (size_t)(p[i] - '0');
    if (!digits || n - i < 8 + 64 + 1 || memcmp(p + i, "\nsha256 ", 8)) return 0;
    i += 8;
    for (int k = 0; k < 64; k++, i++) {
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f'))) return 0;
        hex[k] = p[i];
    }
    hex[64] = 0;
    if (p[i++] != '\n') return 0;
    *size = v;
    return i;
}

/* The payload after a header equal to id: a trailer, then N bytes whose
 * SHA-256 is HEX. */
static fr_ruleset *load(const char *data, size_t len, const fr_buf *id)
{
    if (!data || len <= id->len || memcmp(data, id->p, id->len)) return NULL;
    const char *p = data + id->len;
    size_t left = len - id->len, size = 0, used;
    char hex[65], have[65];
    if (!(used = trailer(p, left, &size, hex)) || size != left - used) return NULL;
    p += used;
    fr_sha256_hex(p, size, have);
    return strcmp(have, hex) ? NULL : decode((const unsigned char *)p, size);
}

static int write_all(int fd, const void *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return 0;
        p = (const char *)p + w, n -= (size_t)w;
    }
    return 1;
}

/* Best effort; the file appears whole or not at all (renamed into place). */
static void store(const char *path, const fr_buf *id, const fr_ruleset *rs)
{
    fr_buf payload = {0}, head = {0}, tmp = {0};
    char hex[65];
    encode(&payload, rs);
    fr_sha256_hex(payload.p, payload.len, hex);
    fr_buf_append(&head, id->p, id->len);
    fr_buf_printf(&head, "size %zu\nsha256 %s\n", payload.len, hex);
    fr_buf_printf(&tmp, "%s.%ld.tmp", path, (long)getpid());
    int fd = open(tmp.p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) {
        int ok = fchmod(fd, 0600) == 0 && write_all(fd, head.p, head.len) &&
                 write_all(fd, payload.p, payload.len);
        ok = close(fd) == 0 && ok;
        if (!ok || rename(tmp.p, path) != 0) unlink(tmp.p);
    }
    fr_buf_release(&payload);
    fr_buf_release(&head);
    fr_buf_release(&tmp);
}

int fr_rules_cache_load(fr_ruleset **out, const char *const *names, const char *const *datas,
                        const size_t *lens, size_t nfiles, const char *cache_dir)
{
    if (!cache_dir || !*cache_dir || !fr_private_dir_ok(cache_dir))
        return fr_rules_load_buffers(out, names, datas, lens, nfiles);
    char hash[65];
    fr_rules_hash(datas, lens, nfiles, hash);
    fr_buf id = {0}, path = {0};
    char key[65];
    identity(&id, hash, names, lens, nfiles);
    fr_sha256_hex(id.p, id.len, key);
    fr_buf_printf(&path, "%s/rules-%s.bin", cache_dir, key);
    size_t len = 0;
    const char *data = map_cache(path.p, &len);
    fr_ruleset *rs = load(data, len, &id);
    if (data) munmap((void *)data, len);
    int rc = FR_OK;
    if (rs) {
        memcpy(rs->hash, hash, sizeof rs->hash);
        *out = rs;
    } else if ((rc = fr_rules_load_buffers(out, names, datas, lens, nfiles)) == FR_OK) {
        store(path.p, &id, *out);
    }
    fr_buf_release(&id);
    fr_buf_release(&path);
    return rc;
}
