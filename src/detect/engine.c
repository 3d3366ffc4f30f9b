/*
 * engine.c: Hyperscan finds candidate end offsets for all rules in one pass;
 * PCRE2 confirms each candidate and extracts the secret.
 *
 * Invariants that keep the scan linear on adversarial input:
 *  - PCRE2 never searches a whole buffer: a candidate ending at E is confirmed by
 *    an unanchored search whose start offsets are limited (PCRE2 offset limit) to
 *    [max(E - max_length, next_start), E], over a subject that ends at
 *    E + max_length + FR_CONFIRM_LOOKAHEAD;
 *  - per rule, next_start only moves forward, so each start offset is tried once;
 *  - match and depth limits bound the work of any single confirm.
 * Both engines compile patterns with multi-line semantics (^ and $ at lines).
 *
 * A scan for content of known origins (fr_scan_for) confirms the candidates
 * of the rules that apply there only: the rules stay in one database, as a
 * database per place of application cost a Hyperscan pass each, and content
 * whose origin is not known yet (a git blob scanned ahead of the walk) needs
 * them all: two passes cost it 41% more than one (callgrind, source text:
 * 12.27 -> 17.29 instructions a byte), for 10% off the others (11.08).
 */
#include "detect/detect.h"
#include "util/limits.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <hs/hs.h>
#include <pcre2.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef MAP_POPULATE /* Linux: every page mapped at once */
#define MAP_POPULATE 0
#endif

struct fr_engine {
    const fr_ruleset *rs;
    /* The rules whose examples check a database (cached), and the rest (compiled
     * on every run; NULL when there is none). */
    hs_database_t *db, *db_rest;
    hs_scratch_t *proto_scratch;
    /* A rule's confirm pattern: compiled at load when the databases are
     * compiled (so that a bad pattern is reported), else (loaded from the
     * cache, which only holds what compiled whole) when first needed. */
    pcre2_code **codes;
    /* PCRE2 JIT code is made on a rule's first candidate, not at load: most
     * rules never have one in a small push, and JIT-compiling all of them was
     * ~15% of a pre-receive hook's CPU. jit_done[i] is set (release) once rule
     * i's code is final; until then confirms take jit_lock, so no thread
     * matches a code that another is compiling. */
    atomic_uchar *jit_done;
    pthread_mutex_t jit_lock;
    int every_position;
    int ignore_allow; /* fr_engine_opts.ignore_allow_comments */
};

typedef struct {
    size_t next_start; /* first start offset not yet examined for this rule */
} rule_state;

struct fr_scanner {
    const fr_engine *e;
    hs_scratch_t *scratch;
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit_stack;
    rule_state *st;
    fr_match *m;
    size_t nm, capm;
    fr_match *vm; /* fr_scan_views: the merged matches of several views */
    size_t nvm, capvm;
    const unsigned char *data;
    size_t len;
    fr_scan_stats stats;
    int failed;
    unsigned origins; /* FR_APPLIES_* of the content scanned: the rules confirmed */
    int keep_weak;    /* fr_scanner_keep_weak */
};

const fr_ruleset *fr_engine_rules(const fr_engine *e)
{
    return e->rs;
}

/* JIT-compiles c; an error other than "no JIT here" is reported in err. */
static int jit_compile(const fr_rule *r, pcre2_code *c, fr_buf *err)
{
    int jrc = pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);
    if (jrc < 0 && jrc != PCRE2_ERROR_JIT_BADOPTION) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(jrc, msg, sizeof msg);
        if (err)
            fr_buf_printf(err, "%s:%d: rule %s: JIT compile failed: %s\n", r->file, r->line, r->id,
                          (char *)msg);
        return FR_ERR;
    }
    return FR_OK;
}

/* Compiles a rule's confirm pattern; jit: JIT-compile it now (rules check),
 * else on the rule's first candidate (jit_ready). */
static pcre2_code *compile_pcre(const fr_rule *r, int jit, fr_buf *err)
{
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)r->pattern, PCRE2_ZERO_TERMINATED,
                                  PCRE2_MULTILINE | PCRE2_USE_OFFSET_LIMIT, &ec, &eo, NULL);
    if (!c) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(ec, msg, sizeof msg);
        fr_buf_printf(err, "%s:%d: rule %s: invalid pattern at offset %zu: %s\n", r->file, r->line,
                      r->id, (size_t)eo, (char *)msg);
        return NULL;
    }
    if (r->validate &&
        fr_validate(r->validate, (const unsigned char *)"", 0, (const unsigned char *)"", 0) < 0) {
        fr_buf_printf(err,
                      "%s:%d: rule %s: unknown validator '%s' (known: age-bech32, "
                      "azdo-legacy-crc32, azure-cask, azure-identifiable, base62-crc32, "
                      "docker-auth, entra-secret, gcp-service-account, jwt, keystore, "
                      "keystore-passwordless, pem-base64, pem-key, "
                      "pypi-macaroon, sentry-org-token)\n",
                      r->file, r->line, r->id, r->validate);
        pcre2_code_free(c);
        return NULL;
    }
    uint32_t caps = 0;
    pcre2_pattern_info(c, PCRE2_INFO_CAPTURECOUNT, &caps);
    if (caps < 1) {
        fr_buf_printf(err, "%s:%d: rule %s: pattern needs a capture group around the secret\n",
                      r->file, r->line, r->id);
        pcre2_code_free(c);
        return NULL;
    }
    if (jit && jit_compile(r, c, err)) {
        pcre2_code_free(c);
        return NULL;
    }
    return c;
}

/* Rule i's code, compiled now if the engine came from the cache (not
 * JIT-compiled). Only while the engine is built, on one thread. */
static pcre2_code *code_of(fr_engine *e, size_t i)
{
    if (!e->codes[i]) {
        fr_buf err = {0};
        e->codes[i] = compile_pcre(&e->rs->rules[i], 0, &err);
        fr_buf_release(&err);
    }
    return e->codes[i];
}

/* Makes rule i's code final (compiled, and JIT-compiled or interpreted where
 * the JIT fails: the interpreter gives the same matches) before its first
 * match. NULL when the pattern no longer compiles (out of memory). */
static pcre2_code *code_ready(fr_engine *e, size_t i)
{
    if (atomic_load_explicit(&e->jit_done[i], memory_order_acquire)) return e->codes[i];
    pthread_mutex_lock(&e->jit_lock);
    if (!atomic_load_explicit(&e->jit_done[i], memory_order_relaxed)) {
        if (code_of(e, i)) jit_compile(&e->rs->rules[i], e->codes[i], NULL);
        atomic_store_explicit(&e->jit_done[i], 1, memory_order_release);
    }
    pthread_mutex_unlock(&e->jit_lock);
    return e->codes[i];
}

/* The stride pad's id (no rule's) and the smallest database it goes in. */
#define FR_STRIDE_PAD_ID  0xfffffff0u
#define FR_STRIDE_PAD_MIN 32

/* Compiles the rules in one Hyperscan database. A rule Hyperscan cannot run
 * exactly (lookarounds, back-references) is compiled in prefilter mode: it may
 * report more candidates, never fewer, and PCRE2 decides. */
static int compile_hs(const fr_ruleset *rs, const size_t *idx, size_t n, hs_database_t **db,
                      fr_buf *err)
{
    const char **exprs = fr_xcalloc(n + 1, sizeof *exprs);
    unsigned *flags = fr_xcalloc(n + 1, sizeof *flags);
    unsigned *ids = fr_xcalloc(n + 1, sizeof *ids);
    int rc = FR_OK;
    for (size_t i = 0; i < n; i++) {
        exprs[i] =
            rs->rules[idx[i]].prefilter ? rs->rules[idx[i]].prefilter : rs->rules[idx[i]].pattern;
        flags[i] = HS_FLAG_MULTILINE;
        ids[i] = (unsigned)idx[i];
        /* Find the patterns Hyperscan cannot run exactly up front, one by one:
         * each failed multi-pattern compile would cost a whole compile. */
        hs_expr_info_t *info = NULL;
        hs_compile_error_t *ce = NULL;
        if (hs_expression_info(exprs[i], flags[i], &info, &ce) != HS_SUCCESS)
            flags[i] |= HS_FLAG_PREFILTER;
        free(info);
        if (ce) hs_free_compile_error(ce);
    }
    /* The stride pad. Hyperscan's shared literal matcher (FDR) picks its
     * stride and table size from its literals: with a few hundred literals
     * none shorter than three bytes it takes a two-byte stride and 64 KB
     * tables, which miss the L1 cache on every step; one two-byte literal puts
     * it on a one-byte stride with 32 KB tables, which do not. On source text
     * that ran the rule set's database in 0.72-0.75 of the time (more
     * instructions, fewer misses; README, "The stride pad"). The literal is
     * two control bytes text never holds; its matches (binary content) carry
     * an id past every rule, which the callbacks ignore. */
    size_t nx = n;
    if (n >= FR_STRIDE_PAD_MIN) {
        exprs[nx] = "\\x01\\x02";
        flags[nx] = HS_FLAG_SINGLEMATCH;
        ids[nx++] = FR_STRIDE_PAD_ID;
    }
    for (;;) {
        hs_compile_error_t *ce = NULL;
        if (hs_compile_multi(exprs, flags, ids, (unsigned)nx, HS_MODE_BLOCK, NULL, db, &ce) ==
            HS_SUCCESS)
            break;
        int bad = ce->expression;
        if (bad >= 0 && (size_t)bad >= n) { /* never: the pad is a plain literal */
            hs_free_compile_error(ce);
            nx = n;
            continue;
        }
        if (bad >= 0 && !(flags[bad] & HS_FLAG_PREFILTER)) {
            hs_free_compile_error(ce);
            flags[bad] |= HS_FLAG_PREFILTER;
            continue;
        }
        if (bad >= 0) {
            const fr_rule *r = &rs->rules[idx[bad]];
            fr_buf_printf(err, "%s:%d: rule %s: Hyperscan cannot compile the pattern: %s\n",
                          r->file, r->line, r->id, ce->message);
        } else {
            fr_buf_printf(err, "Hyperscan: %s\n", ce->message);
        }
        hs_free_compile_error(ce);
        rc = FR_ERR;
        break;
    }
    free(exprs), free(flags), free(ids);
    return rc;
}

size_t fr_engine_check_compile(const fr_ruleset *rs, fr_buf *errors)
{
    size_t bad = 0;
    for (size_t i = 0; i < rs->n; i++) {
        size_t before = errors->len;
        pcre2_code *c = compile_pcre(&rs->rules[i], 1, errors);
        pcre2_code_free(c);
        hs_database_t *db = NULL;
        if (compile_hs(rs, &i, 1, &db, errors) == FR_OK) hs_free_database(db);
        bad += errors->len != before;
    }
    return bad;
}

double fr_thread_cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int fr_engine_rule_costs(const fr_ruleset *rs, const unsigned char *text, size_t len,
                         fr_rule_cost *cost)
{
    for (size_t i = 0; i < rs->n; i++) {
        fr_buf err = {0};
        double t0 = fr_thread_cpu_seconds();
        pcre2_code *c = compile_pcre(&rs->rules[i], 1, &err);
        hs_database_t *db = NULL;
        int hrc = c ? compile_hs(rs, &i, 1, &db, &err) : FR_ERR;
        cost[i] = (fr_rule_cost){.compile_s = fr_thread_cpu_seconds() - t0};
        pcre2_code_free(c);
        hs_free_database(db);
        fr_buf_release(&err);
        if (hrc) return FR_ERR;
        /* the rule alone, as an engine: a ruleset viewing this one rule */
        fr_ruleset one = *rs;
        one.rules = &rs->rules[i];
        one.n = 1;
        fr_engine *e = NULL;
        fr_scanner *sc = NULL;
        if (fr_engine_new(&e, &one, NULL) || fr_scanner_new(&sc, e)) {
            fr_engine_free(e);
            return FR_ERR;
        }
        const fr_match *m;
        size_t nm;
        double best = 0;
        for (int run = 0; run < 4; run++) { /* run 0 warms up (and JIT-compiles) */
            t0 = fr_thread_cpu_seconds();
            int rc = fr_scan(sc, text, len, &m, &nm);
            double t = fr_thread_cpu_seconds() - t0;
            if (rc) {
                fr_scanner_free(sc), fr_engine_free(e);
                return FR_ERR;
            }
            if (run == 1 || (run > 1 && t < best)) best = t;
        }
        cost[i].scan_s = best;
        cost[i].hits = sc->stats.hits;
        cost[i].confirms = sc->stats.confirms;
        fr_scanner_free(sc);
        fr_engine_free(e);
    }
    return FR_OK;
}

/*
 * A cached database is bound to everything it was compiled from: the file opens
 * with this identity (format, ferret, Hyperscan and PCRE2 versions, the CPU it
 * was compiled for, the rule-set hash, the number of rules), then the size and
 * SHA-256 of the payload that follows: the rules the database holds (their
 * count, indexes, and for each the index of its witness, the first example its
 * pattern matches) and the serialized database. None of that proves what the
 * database holds (whoever writes the file writes the header too, and the
 * SHA-256 only catches damage), so a database is run over its rules' examples
 * (db_fits_examples) before it is stored: it must report each of them on
 * every example that rule's own pattern matches, and no other id; and when it
 * is loaded: it must report each rule on its witness, and no other id there.
 * Only rules one of whose examples their pattern matches can be checked this
 * way; the others are never cached but compiled on every run into a second,
 * small database.
 *
 * Loading from the cache compiles no confirm pattern: they are compiled on
 * their rule's first candidate. The file is only written after every pattern
 * compiled, so a rule set with a bad pattern never loads from it.
 */

static void cache_identity(fr_buf *b, const fr_ruleset *rs)
{
    hs_platform_info_t plat;
    memset(&plat, 0, sizeof plat);
    hs_populate_platform(&plat);
    char pcre[64] = "";
    pcre2_config(PCRE2_CONFIG_VERSION, pcre);
    fr_buf_printf(b,
                  "ferret-hs-cache 6\nferret %s\nhyperscan %s\npcre2 %s\nmode block\n"
                  "platform %u %llx\nrules %s\nnrules %zu\n",
                  FERRET_VERSION, hs_version(), pcre, plat.tune,
                  (unsigned long long)plat.cpu_features, rs->hash, rs->n);
}

static void cache_path(fr_buf *b, const char *dir, const char *identity, size_t n)
{
    char h[65];
    fr_sha256_hex(identity, n, h);
    fr_buf_printf(b, "%s/hs-%s.db", dir, h);
}

/* Reads "size N\nsha256 HEX\n" at p (NUL-terminated); returns its length or 0. */
static size_t cache_trailer(const char *p, size_t *size, char hex[65])
{
    const char *q = p;
    if (strncmp(q, "size ", 5)) return 0;
    q += 5;
    size_t v = 0, digits = 0;
    for (; *q >= '0' && *q <= '9' && digits < 12; q++, digits++)
        v = v * 10 + (size_t)(*q - '0');
    if (!digits || strncmp(q, "\nsha256 ", 8)) return 0;
    q += 8;
    for (int i = 0; i < 64; i++, q++) {
        if (!((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f'))) return 0;
        hex[i] = *q;
    }
    hex[64] = 0;
    if (*q++ != '\n') return 0;
    *size = v;
    return (size_t)(q - p);
}

/* Whether the rule's own pattern matches an example (the whole text searched). */
static int example_matches(const pcre2_code *code, const char *text, pcre2_match_data *md)
{
    return pcre2_match(code, (PCRE2_SPTR)text, strlen(text), 0, 0, md, NULL) >= 0;
}

/* The examples of the rules a database should hold, in one text (a scan
 * per example cost more than the check: Hyperscan's per-scan start-up of a
 * large database), each example on lines of its own. */
typedef struct {
    const unsigned char *in_db; /* in_db[id]: the database should hold rule id */
    size_t n;
    const size_t *start; /* start[k]: offset of example k; start[k + 1] - 2: its end */
    const size_t *rule;  /* rule[k]: the rule example k belongs to */
    unsigned char *hit;  /* hit[k]: the database reported rule[k] ending in example k */
    size_t nex;
    int stray;
} verify_ctx;

static int on_verify_hit(unsigned id, unsigned long long from, unsigned long long to,
                         unsigned flags, void *ctx)
{
    (void)from, (void)flags;
    verify_ctx *v = ctx;
    if (id >= v->n || !v->in_db[id]) {
        v->stray = 1;
        return 0;
    }
    /* the example whose bytes the match ends in (to is one past its end) */
    size_t lo = 0, hi = v->nex;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v->start[mid + 1] < to)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < v->nex && to > v->start[lo] && to + 2 <= v->start[lo + 1] && v->rule[lo] == id)
        v->hit[lo] = 1;
    return 0;
}

typedef struct {
    unsigned want;
    int hit;
} single_ctx;

static int on_single_hit(unsigned id, unsigned long long from, unsigned long long to,
                         unsigned flags, void *ctx)
{
    (void)from, (void)to, (void)flags;
    single_ctx *c = ctx;
    c->hit |= id == c->want;
    return 0;
}

/* Whether db reports rule `rule` on text scanned alone. */
static int reported_alone(const hs_database_t *db, hs_scratch_t *scratch, size_t rule,
                          const char *text)
{
    single_ctx c = {(unsigned)rule, 0};
    return hs_scan(db, text, (unsigned)strlen(text), 0, scratch, on_single_hit, &c) == HS_SUCCESS &&
           c.hit;
}

/* Whether db behaves as the database of rules idx[0..n) on their examples. A
 * database compiled from these patterns reports a rule wherever its pattern
 * matches (prefilter mode reports more, never less), so on at least one of
 * its examples; one compiled from other patterns misses a rule or reports ids
 * of rules it should not hold. With witness (a cached database), each rule is
 * run on one example, witness[i] of rule idx[i], which its pattern matched
 * when the database was compiled and checked on all of them: it must be
 * reported there (scanning every example was 2 ms of a hook's start-up).
 * The examples are scanned as one text, each on lines of its own; one not
 * reported there is scanned alone before it counts as missed (a pattern
 * anchored at the text's start or end, \A or \z, sees it only alone). */
static int db_fits_examples(fr_engine *e, const hs_database_t *db, const size_t *idx, size_t n,
                            const size_t *witness, pcre2_match_data *md)
{
    const fr_ruleset *rs = e->rs;
    /* the engine's own scratch (fr_engine_new keeps it for the database it
     * takes: allocating one for a large database is not free) */
    hs_scratch_t *scratch = e->proto_scratch;
    char *info = NULL;
    int ok = hs_database_info(db, &info) == HS_SUCCESS && info &&
             strstr(info, "Mode: BLOCK") != NULL && hs_alloc_scratch(db, &scratch) == HS_SUCCESS;
    free(info);
    size_t nex = 0;
    for (size_t i = 0; i < n; i++)
        nex += witness ? 1 : rs->rules[idx[i]].nexamples;
    size_t *start = fr_xcalloc(nex + 1, sizeof *start), *rule = fr_xcalloc(nex + 1, sizeof *rule);
    verify_ctx v = {.in_db = fr_xcalloc(rs->n ? rs->n : 1, 1),
                    .n = rs->n,
                    .start = start,
                    .rule = rule,
                    .hit = fr_xcalloc(nex + 1, 1),
                    .nex = nex};
    fr_buf text = {0};
    for (size_t i = 0, k = 0; i < n; i++) {
        ((unsigned char *)v.in_db)[idx[i]] = 1;
        const fr_rule *r = &rs->rules[idx[i]];
        for (size_t j = witness ? witness[i] : 0; j < (witness ? witness[i] + 1 : r->nexamples);
             j++, k++) {
            fr_buf_puts(&text, "\n\n");
            start[k] = text.len;
            rule[k] = idx[i];
            fr_buf_puts(&text, r->examples[j].text);
        }
    }
    fr_buf_puts(&text, "\n\n");
    start[nex] = text.len;
    ok = ok && text.len <= FR_SCAN_MAX &&
         hs_scan(db, text.p, (unsigned)text.len, 0, scratch, on_verify_hit, &v) == HS_SUCCESS &&
         !v.stray;
    for (size_t i = 0, k = 0; ok && i < n; i++) {
        const fr_rule *r = &rs->rules[idx[i]];
        int any = 0;
        if (witness) { /* its pattern matched it when it was cached */
            ok = v.hit[k] || reported_alone(db, scratch, idx[i], r->examples[witness[i]].text);
            k++;
            continue;
        }
        for (size_t j = 0; ok && j < r->nexamples; j++, k++) {
            if (!v.hit[k]) v.hit[k] = reported_alone(db, scratch, idx[i], r->examples[j].text);
            /* not reported: its pattern must not match it either */
            if (!v.hit[k]) {
                const pcre2_code *c = code_of(e, idx[i]);
                ok = c && !example_matches(c, r->examples[j].text, md);
            }
            any |= v.hit[k];
        }
        ok = ok && any;
    }
    fr_buf_release(&text);
    free((void *)v.in_db), free(v.hit), free(start), free(rule);
    e->proto_scratch = scratch;
    return ok;
}

/* The cached database for e's rules, and the rules it holds (*idx[0..*nidx),
 * increasing), or NULL. */
static hs_database_t *cache_load(const char *dir, fr_engine *e, size_t **idx, size_t *nidx,
                                 pcre2_match_data *md)
{
    if (!dir || !fr_private_dir_ok(dir)) return NULL;
    fr_buf id = {0}, path = {0};
    cache_identity(&id, e->rs);
    cache_path(&path, dir, id.p, id.len);
    hs_database_t *db = NULL;
    int fd = open(path.p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    struct stat st;
    /* mapped, not read into a buffer: every page of a ~1 MB copy faulted in
     * was a third of loading it */
    const char *map = NULL;
    size_t len = 0;
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
        !(st.st_mode & 077) && st.st_size > 0 && (size_t)st.st_size <= FR_HS_CACHE_MAX) {
        len = (size_t)st.st_size;
        void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        map = m == MAP_FAILED ? NULL : m;
    }
    if (fd >= 0) close(fd);
    if (!map) len = 0;
    size_t size = 0, tl = 0, n = 0, *held = NULL, *wit = NULL;
    char hex[65], have[65];
    /* the trailer is at most 90 bytes: cache_trailer, which stops at the
     * first byte out of place, stays inside the file */
    if (len > id.len + 90 && !memcmp(map, id.p, id.len) &&
        (tl = cache_trailer(map + id.len, &size, hex)) && size > sizeof(uint32_t) &&
        size == len - id.len - tl) {
        const unsigned char *p = (const unsigned char *)map + id.len + tl;
        fr_sha256_hex(p, size, have);
        uint32_t cnt = 0;
        memcpy(&cnt, p, sizeof cnt);
        int ok = !strcmp(have, hex) && cnt > 0 && cnt <= e->rs->n &&
                 (size_t)cnt * 2 * sizeof(uint32_t) < size - sizeof cnt;
        held = fr_xcalloc(cnt ? cnt : 1, sizeof *held);
        wit = fr_xcalloc(cnt ? cnt : 1, sizeof *wit);
        for (n = 0; ok && n < cnt; n++) {
            uint32_t x, w;
            memcpy(&x, p + sizeof cnt + n * sizeof x, sizeof x);
            memcpy(&w, p + sizeof cnt + (cnt + n) * sizeof w, sizeof w);
            held[n] = x, wit[n] = w;
            ok = x < e->rs->n && (n == 0 || x > held[n - 1]) && w < e->rs->rules[x].nexamples;
        }
        size_t off = sizeof cnt + (size_t)cnt * 2 * sizeof(uint32_t);
        if (ok && hs_deserialize_database((const char *)p + off, size - off, &db) == HS_SUCCESS &&
            !db_fits_examples(e, db, held, n, wit, md)) {
            hs_free_database(db);
            db = NULL;
        }
    }
    if (db) {
        *idx = held, *nidx = n;
    } else {
        free(held);
    }
    free(wit);
    if (map) munmap((void *)map, len);
    fr_buf_release(&id);
    fr_buf_release(&path);
    return db;
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

/* Best effort: a cache that cannot be written only costs the next compile. The
 * file appears whole or not at all (a temporary file renamed over it). */
static void cache_store(const char *dir, const fr_ruleset *rs, const size_t *idx,
                        const size_t *witness, size_t nidx, const hs_database_t *db)
{
    if (!dir || !fr_private_dir_ok(dir)) return;
    char *bytes = NULL;
    size_t len = 0;
    if (hs_serialize_database(db, &bytes, &len) != HS_SUCCESS) return;
    fr_buf head = {0}, path = {0}, tmp = {0}, payload = {0};
    char hex[65];
    uint32_t cnt = (uint32_t)nidx;
    fr_buf_append(&payload, &cnt, sizeof cnt);
    for (size_t i = 0; i < 2 * nidx; i++) {
        uint32_t x = (uint32_t)(i < nidx ? idx[i] : witness[i - nidx]);
        fr_buf_append(&payload, &x, sizeof x);
    }
    fr_buf_append(&payload, bytes, len);
    cache_identity(&head, rs);
    cache_path(&path, dir, head.p, head.len);
    fr_sha256_hex(payload.p, payload.len, hex);
    fr_buf_printf(&head, "size %zu\nsha256 %s\n", payload.len, hex);
    fr_buf_printf(&tmp, "%s.%ld.tmp", path.p, (long)getpid());
    int fd = open(tmp.p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) {
        int ok = fchmod(fd, 0600) == 0 && write_all(fd, head.p, head.len) &&
                 write_all(fd, payload.p, payload.len);
        ok = close(fd) == 0 && ok;
        if (!ok || rename(tmp.p, path.p) != 0) unlink(tmp.p);
    }
    free(bytes);
    fr_buf_release(&head);
    fr_buf_release(&path);
    fr_buf_release(&tmp);
    fr_buf_release(&payload);
}

/* Compiles the rules into e->db (the rules an example checks: loaded from the
 * cache when it holds a database that fits them) and e->db_rest (the others).
 * Without a usable cache every confirm pattern is compiled first, so that a
 * bad one is reported. */
static int build_dbs(fr_engine *e, const char *cache, fr_buf *err)
{
    const fr_ruleset *rs = e->rs;
    size_t *chk = NULL, *wit = NULL, *rest = fr_xcalloc(rs->n + 1, sizeof *rest);
    size_t nc = 0, nr = 0;
    pcre2_match_data *md = pcre2_match_data_create(16, NULL);
    if (!md) {
        free(rest);
        fr_buf_puts(err, "PCRE2: out of memory");
        return FR_ERR;
    }
    int rc = FR_OK;
    e->db = cache_load(cache, e, &chk, &nc, md);
    if (e->db) {
        for (size_t i = 0, k = 0; i < rs->n; i++) {
            if (k < nc && chk[k] == i)
                k++;
            else
                rest[nr++] = i;
        }
    } else {
        for (size_t i = 0; i < rs->n; i++)
            if (!e->codes[i] && !(e->codes[i] = compile_pcre(&rs->rules[i], 0, err)))
                rc = FR_ECORRUPT;
        free(chk);
        chk = fr_xcalloc(rs->n + 1, sizeof *chk);
        wit = fr_xcalloc(rs->n + 1, sizeof *wit);
        for (size_t i = 0; rc == FR_OK && i < rs->n; i++) {
            size_t k = 0;
            while (k < rs->rules[i].nexamples &&
                   !example_matches(e->codes[i], rs->rules[i].examples[k].text, md))
                k++;
            if (k < rs->rules[i].nexamples) {
                wit[nc] = k; /* the first example its pattern matches */
                chk[nc++] = i;
            } else {
                rest[nr++] = i;
            }
        }
        /* (an empty rule set still gets a database: Hyperscan says why it has none) */
        if (rc == FR_OK && (nc || !nr)) {
            if (compile_hs(rs, chk, nc, &e->db, err))
                rc = FR_ECORRUPT;
            else if (cache && nc && db_fits_examples(e, e->db, chk, nc, NULL, md))
                cache_store(cache, rs, chk, wit, nc, e->db);
        }
    }
    if (rc == FR_OK && nr && compile_hs(rs, rest, nr, &e->db_rest, err)) rc = FR_ECORRUPT;
    pcre2_match_data_free(md);
    free(chk), free(wit), free(rest);
    return rc;
}

int fr_engine_new(fr_engine **out, const fr_ruleset *rs, const fr_engine_opts *opts)
{
    fr_engine *e = fr_xcalloc(1, sizeof *e);
    fr_buf err = {0};
    int rc = FR_OK;
    e->rs = rs;
    e->every_position = opts && opts->every_position;
    e->ignore_allow = opts && opts->ignore_allow_comments;
    e->codes = fr_xcalloc(rs->n, sizeof *e->codes);
    e->jit_done = fr_xcalloc(rs->n ? rs->n : 1, sizeof *e->jit_done);
    pthread_mutex_init(&e->jit_lock, NULL);
    for (size_t i = 0; i < rs->n; i++)
        atomic_init(&e->jit_done[i], 0);
    const char *cache = opts && !e->every_position ? opts->cache_dir : NULL;
    rc = build_dbs(e, cache, &err);
    /* one scratch serves both databases */
    if (rc == FR_OK &&
        ((e->db && hs_alloc_scratch(e->db, &e->proto_scratch) != HS_SUCCESS) ||
         (e->db_rest && hs_alloc_scratch(e->db_rest, &e->proto_scratch) != HS_SUCCESS))) {
        fr_buf_puts(&err, "Hyperscan: cannot allocate scratch space");
        rc = FR_ERR;
    }
    if (rc) {
        if (err.len && err.p[err.len - 1] == '\n') err.p[--err.len] = 0;
        fr_error_set("%s", err.p ? err.p : "engine compile failed");
        fr_buf_release(&err);
        fr_engine_free(e);
        return rc;
    }
    fr_buf_release(&err);
    *out = e;
    return FR_OK;
}

void fr_engine_free(fr_engine *e)
{
    if (!e) return;
    for (size_t i = 0; i < e->rs->n; i++)
        pcre2_code_free(e->codes[i]);
    free(e->codes);
    free(e->jit_done);
    pthread_mutex_destroy(&e->jit_lock);
    hs_free_scratch(e->proto_scratch);
    hs_free_database(e->db);
    hs_free_database(e->db_rest);
    free(e);
}

int fr_scanner_new(fr_scanner **out, const fr_engine *e)
{
    fr_scanner *s = fr_xcalloc(1, sizeof *s);
    s->e = e;
    if (hs_clone_scratch(e->proto_scratch, &s->scratch) != HS_SUCCESS) {
        free(s);
        fr_error_set("Hyperscan: cannot clone scratch space");
        return FR_ERR;
    }
    s->md = pcre2_match_data_create(16, NULL);
    s->mctx = pcre2_match_context_create(NULL);
    s->jit_stack = pcre2_jit_stack_create(32 * 1024, 512 * 1024, NULL);
    if (!s->md || !s->mctx || !s->jit_stack) {
        fr_scanner_free(s);
        fr_error_set("PCRE2: out of memory");
        return FR_ERR;
    }
    pcre2_jit_stack_assign(s->mctx, NULL, s->jit_stack);
    pcre2_set_match_limit(s->mctx, FR_PCRE2_MATCH_LIMIT);
    pcre2_set_depth_limit(s->mctx, FR_PCRE2_DEPTH_LIMIT);
    s->st = fr_xcalloc(e->rs->n, sizeof *s->st);
    *out = s;
    return FR_OK;
}

void fr_scanner_keep_weak(fr_scanner *s, int keep)
{
    s->keep_weak = keep;
}

void fr_scanner_free(fr_scanner *s)
{
    if (!s) return;
    hs_free_scratch(s->scratch);
    pcre2_match_data_free(s->md);
    pcre2_match_context_free(s->mctx);
    pcre2_jit_stack_free(s->jit_stack);
    free(s->st);
    free(s->m);
    free(s->vm);
    free(s);
}

const fr_engine *fr_scanner_engine(const fr_scanner *s)
{
    return s->e;
}

const fr_scan_stats *fr_scanner_stats(const fr_scanner *s)
{
    return &s->stats;
}

static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* Whether a keyword of r (case-insensitive) is in d[from..to). Each start is
 * tried by its first byte before the whole word (a libc call per byte was a
 * confirm's worth of instructions per candidate). */
static int has_keyword(const fr_rule *r, const unsigned char *d, size_t from, size_t to)
{
    for (size_t k = 0; k < r->nkeywords; k++) {
        const unsigned char *kw = (const unsigned char *)r->keywords[k];
        size_t kl = strlen(r->keywords[k]);
        if (!kl) return 1;
        unsigned char k0 = lower(kw[0]);
        for (size_t i = from; i + kl <= to; i++)
            if (lower(d[i]) == k0 && !strncasecmp((const char *)d + i, (const char *)kw, kl))
                return 1;
    }
    return 0;
}

static int allowed_inline(const unsigned char *d, size_t len, size_t start, size_t end)
{
    size_t lo = start > FR_ALLOW_CONTEXT ? start - FR_ALLOW_CONTEXT : 0;
    size_t hi = end + FR_ALLOW_CONTEXT < len ? end + FR_ALLOW_CONTEXT : len;
    size_t a = start, b = end;
    while (a > lo && d[a - 1] != '\n')
        a--;
    while (b < hi && d[b] != '\n')
        b++;
    return memmem(d + a, b - a, "ferret:allow", 12) != NULL;
}

/* Whether d[start] lies inside a Markdown fenced code block (``` or ~~~ at a
 * line's start, after spaces): an odd number of fences in the
 * FR_FENCE_LOOKBACK bytes before it. A README printed in a log shows commands
 * as documentation, not as what the job ran. */
#define FR_FENCE_LOOKBACK 16384
static int in_code_fence(const unsigned char *d, size_t start)
{
    size_t lo = start > FR_FENCE_LOOKBACK ? start - FR_FENCE_LOOKBACK : 0;
    size_t i = start;
    while (i > lo && d[i - 1] != '\n') /* the match's own line is not a fence */
        i--;
    int fences = 0;
    while (i > lo) {
        size_t e = i - 1; /* the '\n' ending the previous line */
        size_t b = e;
        while (b > lo && d[b - 1] != '\n')
            b--;
        if (b == lo && lo > 0) break; /* a cut line: not known to be a fence */
        size_t k = b;
        while (k < e && (d[k] == ' ' || d[k] == '\t'))
            k++;
        if (e - k >= 3 && (!memcmp(d + k, "```", 3) || !memcmp(d + k, "~~~", 3))) fences++;
        i = b;
    }
    return fences & 1;
}

static void accept(fr_scanner *s, uint32_t rule, size_t start, size_t end, size_t ss, size_t se)
{
    const fr_rule *r = &s->e->rs->rules[rule];
    const unsigned char *d = s->data;
    int decoy = 0, gdecoy = 0;
    /* A word of letters under a password's name (swordfish, mongopass) is
     * under the entropy floor; kept for the credential-path check when the
     * guards below say weak (fr_generic_weak_word), dropped otherwise. */
    int lowent = 0;
    /* An indicator's text is a command or a URL, not a token: the guards that
     * judge a secret's bytes do not apply; documentation in a code block does. */
    if (r->kind == FR_KIND_INDICATOR) {
        if (se <= ss || in_code_fence(d, start) ||
            (r->nkeywords &&
             !has_keyword(r, d, start > FR_KEYWORD_CONTEXT ? start - FR_KEYWORD_CONTEXT : 0,
                          end))) {
            s->stats.guarded++;
            return;
        }
    } else if (se <= ss ||
               /* one verdict whatever the order: the cheap guards first
                * (fr_is_decoy's word lists cost ~16,000 instructions a call) */
               (r->nkeywords &&
                !has_keyword(r, d, start > FR_KEYWORD_CONTEXT ? start - FR_KEYWORD_CONTEXT : 0,
                             end)) ||
               (r->min_entropy > 0 && fr_shannon_entropy(d + ss, se - ss) < r->min_entropy &&
                !(lowent = s->keep_weak && (r->guards & FR_GUARD_GENERIC) &&
                           fr_generic_weak_word(d, ss, se))) ||
               fr_is_placeholder((const char *)d + ss, se - ss) ||
               ((decoy = fr_is_decoy(d, ss, se, r->guards)) &&
                (decoy != FR_DECOY_WEAK || !s->keep_weak)) ||
               ((r->guards & FR_GUARD_GENERIC) && (gdecoy = fr_generic_decoy(d, start, ss, se)) &&
                (gdecoy != FR_DECOY_WEAK || !s->keep_weak)) ||
               (lowent && decoy != FR_DECOY_WEAK && gdecoy != FR_DECOY_WEAK)) {
        s->stats.guarded++;
        return;
    }
    for (size_t i = 0; i < r->nignore; i++) { /* published example values */
        if (strlen(r->ignore[i]) == se - ss && !memcmp(r->ignore[i], d + ss, se - ss)) {
            s->stats.guarded++;
            return;
        }
    }
    if (!s->e->ignore_allow && allowed_inline(d, s->len, start, end)) {
        s->stats.allowed++;
        return;
    }
    if (s->nm == FR_MAX_MATCHES) return;
    int v = r->validate ? fr_validate(r->validate, d + ss, se - ss, d + start, end - start)
                        : FR_VALID_NONE;
    if (v == FR_VALID_REJECT) { /* the validator says it is another rule's */
        s->stats.guarded++;
        return;
    }
    if (s->nm == s->capm) {
        s->capm = s->capm ? s->capm * 2 : 16;
        s->m = fr_xrealloc(s->m, s->capm * sizeof *s->m);
    }
    s->m[s->nm++] = (fr_match){rule, start,
                               end,  ss,
                               se,   0,
                               0,    v < 0 ? FR_VALID_NONE : v,
                               0,    decoy == FR_DECOY_WEAK || gdecoy == FR_DECOY_WEAK};
}

/* Confirms every match of rule `rule` that ends at or before `e` and starts at
 * an offset not examined before. */
static void confirm(fr_scanner *s, uint32_t rule, size_t e)
{
    rule_state *st = &s->st[rule];
    if (e < st->next_start) return;
    const fr_rule *r = &s->e->rs->rules[rule];
    size_t W = r->max_length;
    size_t ws = e > W ? e - W : 0;
    if (ws < st->next_start) ws = st->next_start;
    size_t subj_end = e + W + FR_CONFIRM_LOOKAHEAD < s->len ? e + W + FR_CONFIRM_LOOKAHEAD : s->len;
    pcre2_set_offset_limit(s->mctx, e);
    /* the engine is shared read-only but for this */
    const pcre2_code *code = code_ready((fr_engine *)s->e, rule);
    if (!code) {
        s->failed = 1;
        return;
    }
    while (ws <= e) {
        s->stats.confirms++;
        int rc = pcre2_match(code, s->data, subj_end, ws, 0, s->md, s->mctx);
        if (rc < 0) {
            if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
                rc == PCRE2_ERROR_JIT_STACKLIMIT)
                s->stats.limit_hits++;
            break;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);
        size_t ms = ov[0], me = ov[1];
        /* The secret is the first capture group that took part in the match
         * (alternations may hold the secret in different groups). */
        size_t ss = PCRE2_UNSET, se = PCRE2_UNSET;
        for (int g = 1; g < rc && ss == PCRE2_UNSET; g++)
            ss = ov[2 * g], se = ov[2 * g + 1];
        if (ss == PCRE2_UNSET) ss = ms, se = me;
        if (me - ms > W) {
            /* Too long to report; it must not hide a match starting inside it
             * (ms is the earliest start, so the next one is tried). */
            ws = ms + 1;
            if (ws > st->next_start) st->next_start = ws;
            continue;
        }
        accept(s, rule, ms, me, ss, se);
        ws = me > ms ? me : ms + 1;
        if (me > st->next_start) st->next_start = me;
    }
    if (e + 1 > st->next_start) st->next_start = e + 1;
}

static int on_hit(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
                  void *ctx)
{
    (void)from, (void)flags;
    fr_scanner *s = ctx;
    /* Ids and offsets come from the database: whatever it reports, only the
     * rules and bytes that exist are touched. */
    if (id >= s->e->rs->n || to > s->len) return 0;
    if (!(s->e->rs->rules[id].applies_to & s->origins)) return 0;
    s->stats.hits++;
    confirm(s, id, (size_t)to);
    return 0;
}

static int cmp_match(const void *a, const void *b)
{
    const fr_match *x = a, *y = b;
    if (x->sstart != y->sstart) return x->sstart < y->sstart ? -1 : 1;
    return x->rule < y->rule ? -1 : x->rule > y->rule;
}

static int confidence_rank(const char *c)
{
    return !c ? 0 : !strcmp(c, "high") ? 2 : !strcmp(c, "medium") ? 1 : 0;
}

/* Whether match a should be reported instead of b, where both claim the same
 * bytes: the one with the stronger proof, then the more confident rule, then the
 * match carrying more context, then the rule listed first. */
static int outranks(const fr_ruleset *rs, const fr_match *a, const fr_match *b)
{
    /* A rule for some origins or paths only (ci.variable-literal: pipeline
     * definitions; rails.master-key: config/master.key) never hides one that applies everywhere:
     * the pipeline drops it where its origin does not hold, and the secret would go with it. */
    int ra = rs->rules[a->rule].applies_to != FR_APPLIES_ALL || rs->rules[a->rule].npaths;
    int rb = rs->rules[b->rule].applies_to != FR_APPLIES_ALL || rs->rules[b->rule].npaths;
    if (ra != rb) return rb;
    /* a weak match is dropped outside credential and configuration files */
    if (a->weak != b->weak) return b->weak;
    if (a->validated != b->validated) return a->validated > b->validated;
    int ca = confidence_rank(rs->rules[a->rule].confidence);
    int cb = confidence_rank(rs->rules[b->rule].confidence);
    if (ca != cb) return ca > cb;
    if (a->end - a->start != b->end - b->start) return a->end - a->start > b->end - b->start;
    return a->rule < b->rule;
}

/* One secret, one finding: when the secrets of matches from different rules
 * overlap (a storage key in a connection string, a PEM key inside a GCP key
 * file, a generic assignment holding a known token), only the best one stays.
 * Matches are sorted by secret start; the few kept matches still open at a
 * secret's start are the only ones it can overlap. */
static void resolve_overlaps(fr_scanner *s)
{
    const fr_ruleset *rs = s->e->rs;
    size_t kept = 0;
    for (size_t i = 0; i < s->nm; i++) {
        fr_match m = s->m[i];
        int drop = 0;
        for (size_t k = kept, look = 0; k-- > 0 && look < 64; look++) {
            fr_match *o = &s->m[k];
            if (o->send <= m.sstart || o->rule == m.rule) continue;
            /* a secret inside an indicator's command line is both */
            if (rs->rules[o->rule].kind != rs->rules[m.rule].kind) continue;
            if (outranks(rs, &m, o)) {
                memmove(o, o + 1, (kept - k - 1) * sizeof *o); /* m replaces o */
                kept--;
            } else {
                drop = 1;
                break;
            }
        }
        if (!drop) s->m[kept++] = m;
    }
    s->nm = kept;
}

int fr_scan_for(fr_scanner *s, unsigned origins, const unsigned char *data, size_t len,
                const fr_match **matches, size_t *nmatches)
{
    const fr_engine *e = s->e;
    s->origins = origins;
    s->data = data;
    s->len = len;
    s->nm = 0;
    s->failed = 0;
    memset(&s->stats, 0, sizeof s->stats);
    memset(s->st, 0, e->rs->n * sizeof *s->st);
    if (len > FR_SCAN_MAX) {
        fr_error_set("content of %zu bytes exceeds the engine limit of %zu", len,
                     (size_t)FR_SCAN_MAX);
        return FR_ELIMIT;
    }
    if (e->every_position) {
        for (size_t pos = 0; pos <= len; pos++)
            for (uint32_t r = 0; r < e->rs->n; r++)
                if (e->rs->rules[r].applies_to & origins) confirm(s, r, pos);
    } else {
        hs_error_t hr =
            e->db ? hs_scan(e->db, (const char *)data, (unsigned)len, 0, s->scratch, on_hit, s)
                  : HS_SUCCESS;
        if (hr == HS_SUCCESS && e->db_rest)
            hr = hs_scan(e->db_rest, (const char *)data, (unsigned)len, 0, s->scratch, on_hit, s);
        if (hr != HS_SUCCESS) {
            fr_error_set("Hyperscan scan failed (error %d)", (int)hr);
            return FR_ERR;
        }
    }
    if (s->failed) { /* a confirm pattern could not be compiled: no verdict */
        fr_error_set("PCRE2: a rule's pattern cannot be compiled (out of memory)");
        return FR_ERR;
    }
    if (s->nm > 1) {
        qsort(s->m, s->nm, sizeof *s->m, cmp_match);
        resolve_overlaps(s);
    }
    /* Line and column of each secret, counting newlines once in order. */
    size_t line = 1, pos = 0, line_start = 0;
    for (size_t i = 0; i < s->nm; i++) {
        const unsigned char *nl;
        while (pos < s->m[i].sstart &&
               (nl = memchr(data + pos, '\n', s->m[i].sstart - pos)) != NULL) {
            line++;
            pos = (size_t)(nl - data) + 1;
            line_start = pos;
        }
        pos = s->m[i].sstart;
        s->m[i].line = line;
        s->m[i].column = s->m[i].sstart - line_start + 1;
    }
    *matches = s->m;
    *nmatches = s->nm;
    return FR_OK;
}

int fr_scan(fr_scanner *s, const unsigned char *data, size_t len, const fr_match **matches,
            size_t *nmatches)
{
    return fr_scan_for(s, FR_APPLIES_ALL, data, len, matches, nmatches);
}

/* A match's rule and secret bytes, hashed (FNV-1a), for merging views. */
typedef struct {
    uint64_t h;
    size_t i; /* index in s->vm */
} match_key;

static uint64_t match_hash(const unsigned char *view, const fr_match *m)
{
    uint64_t h = 1469598103934665603ull ^ m->rule;
    for (size_t i = m->sstart; i < m->send; i++)
        h = (h ^ view[i]) * 1099511628211ull;
    return h;
}

static int cmp_key(const void *a, const void *b)
{
    const match_key *x = a, *y = b;
    return x->h < y->h ? -1 : x->h > y->h;
}

/* Whether m (in view v[k]) has the rule and secret of one of keys[0..nk), the
 * sorted keys of the earlier views' matches (a binary search: the views of
 * adversarial content may hold many matches each). */
static int seen_in_earlier_view(const fr_scanner *s, const unsigned char *const *v,
                                const match_key *keys, size_t nk, const fr_match *m, unsigned k)
{
    uint64_t h = match_hash(v[k], m);
    size_t lo = 0, hi = nk, n = m->send - m->sstart;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (keys[mid].h < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < nk && keys[lo].h == h; lo++) {
        const fr_match *o = &s->vm[keys[lo].i];
        if (o->rule == m->rule && o->send - o->sstart == n &&
            !memcmp(v[o->view] + o->sstart, v[k] + m->sstart, n))
            return 1;
    }
    return 0;
}

int fr_scan_views_for(fr_scanner *s, unsigned origins, const unsigned char *const *v,
                      const size_t *len, size_t n, const fr_match **matches, size_t *nmatches)
{
    if (n <= 1)
        return fr_scan_for(s, origins, n ? v[0] : (const unsigned char *)"", n ? len[0] : 0,
                           matches, nmatches);
    fr_scan_stats total = {0};
    match_key *keys = NULL;
    int rc = FR_OK;
    s->nvm = 0;
    for (unsigned k = 0; k < n && rc == FR_OK; k++) {
        size_t nk = s->nvm; /* the earlier views' matches */
        if (k) {
            keys = fr_xrealloc(keys, (nk ? nk : 1) * sizeof *keys);
            for (size_t i = 0; i < nk; i++)
                keys[i] = (match_key){match_hash(v[s->vm[i].view], &s->vm[i]), i};
            qsort(keys, nk, sizeof *keys, cmp_key);
        }
        const fr_match *m;
        size_t nm;
        rc = fr_scan_for(s, origins, v[k], len[k], &m, &nm);
        total.hits += s->stats.hits, total.confirms += s->stats.confirms;
        total.limit_hits += s->stats.limit_hits, total.allowed += s->stats.allowed;
        total.guarded += s->stats.guarded;
        for (size_t i = 0; rc == FR_OK && i < nm; i++) {
            if (k && seen_in_earlier_view(s, v, keys, nk, &m[i], k)) continue;
            if (s->nvm == s->capvm) {
                s->capvm = s->capvm ? s->capvm * 2 : 16;
                s->vm = fr_xrealloc(s->vm, s->capvm * sizeof *s->vm);
            }
            s->vm[s->nvm] = m[i];
            s->vm[s->nvm++].view = k;
        }
    }
    free(keys);
    s->stats = total;
    if (rc) return rc;
    *matches = s->vm;
    *nmatches = s->nvm;
    return FR_OK;
}

int fr_scan_views(fr_scanner *s, const unsigned char *const *v, const size_t *len, size_t n,
                  const fr_match **matches, size_t *nmatches)
{
    return fr_scan_views_for(s, FR_APPLIES_ALL, v, len, n, matches, nmatches);
}
