/* Unit tests for what the pipeline scans and how archives are read: the text
 * views of content that is not plain text (fr_text_views_of), the archive reader's
 * limits (a member cut by a limit is delivered in part; one budget for every
 * nesting level), and interrupts: an item cut short is never recorded. */
#include "check.h"
#include "detect/detect.h"
#include "pipeline/pipeline.h"
#include "rules/rules.h"
#include "sources/archive.h"
#include "store/store.h"
#include "util/limits.h"
#include "util/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

/* The views of n bytes at d: 0 when d is scanned as it is (one view, d itself),
 * else their number; the byte view is copied to v0, the UTF-16 one to v1. */
static size_t views(const void *d, size_t n, fr_buf *v0, fr_buf *v1)
{
    fr_text_views tv = {0};
    size_t k = fr_text_views_of(&tv, d, n);
    fr_buf_reset(v0);
    fr_buf_reset(v1);
    fr_buf_append(v0, tv.p[0], tv.len[0]);
    if (k > 1) fr_buf_append(v1, tv.p[1], tv.len[1]);
    int itself = k == 1 && tv.p[0] == d && tv.len[0] == n;
    fr_text_views_release(&tv);
    return itself ? 0 : k;
}
#define VIEW(lit, out) views((lit), sizeof(lit) - 1, (out), &v1)

static void test_text_view(void)
{
    fr_buf v = {0}, v1 = {0};
    /* Plain text, including invalid UTF-8, tabs, form feeds and ESC: as it is. */
    CHECK(VIEW("abc\xff\t\f\x1b[31mred\r\n", &v) == 0);
    CHECK(VIEW("", &v) == 0);
    /* A NUL anywhere: same length, NULs and control bytes as spaces, text kept. */
    CHECK(VIEW("key = tok_abcdefghij\0\x01 secret follows here\n", &v) == 1);
    CHECK(v.len == 43);
    CHECK_STR(v.p, "key = tok_abcdefghij   secret follows here\n");
    /* Short runs between non-text bytes are binary noise; newlines always stay. */
    CHECK(VIEW("\x01"
               "ab\n\x02xyz\x7f"
               "long enough run\x80\x90",
               &v) == 1);
    CHECK_STR(v.p, "   \n     long enough run  ");
    /* Valid UTF-8 is text inside a view; a NUL ends a run but not the line. */
    CHECK(VIEW("caf\xc3\xa9 au lait\0\nnext line text", &v) == 1);
    CHECK_STR(v.p, "caf\xc3\xa9 au lait \nnext line text");
    /* UTF-16LE with a BOM and BE by its NUL pattern: transcoded (lines kept) in a
     * second view; the byte view of UTF-16 text holds nothing but its lines. */
    CHECK(VIEW("\xff\xfe"
               "a\0=\0\xe9\0\n\0\x3d\xd8\x00\xde",
               &v) == 2);
    CHECK_STR(v1.p, "a=\xc3\xa9\n\xf0\x9f\x98\x80");
    CHECK(v.len == 14);
    CHECK_STR(v.p, "        \n     ");
    CHECK(VIEW("\0t\0o\0k\0e\0n\0 \0i\0s\0\n\0h\0e\0r\0e", &v) == 2);
    CHECK_STR(v1.p, "token is\nhere");
    /* A BOM before ASCII text (review item 3): the transcoding is CJK, the byte
     * view keeps the text. */
    CHECK(VIEW("\xff\xfeTOKEN=tok_abcdefghij\n\0", &v) == 2);
    CHECK_STR(v.p, "  TOKEN=tok_abcdefghij\n ");
    /* A binary that only looks half like UTF-16 is viewed byte by byte. */
    CHECK(VIEW("\0\0\0\0\0\0\0\0\0\0printable run here", &v) == 1);
    CHECK_STR(v.p, "          printable run here");
    fr_buf_release(&v);
    fr_buf_release(&v1);
}

/* The byte view, written the obvious way (ASCII input: both of byte_view's
 * paths must give exactly this). */
static void reference_view(const unsigned char *d, size_t n, unsigned char *o)
{
    for (size_t i = 0; i < n;) {
        size_t j = i;
        int text = d[i] >= 0x20 ? d[i] != 0x7f : strchr("\t\n\v\f\r\x1b", d[i]) && d[i];
        if (!text) {
            o[i++] = ' ';
            continue;
        }
        while (j < n && (d[j] >= 0x20 ? d[j] != 0x7f : strchr("\t\n\v\f\r\x1b", d[j]) && d[j]))
            j++;
        for (size_t k = i; k < j; k++)
            o[k] = j - i >= FR_TEXT_VIEW_MIN_RUN || d[k] == '\n' ? d[k] : ' ';
        i = j;
    }
}

static void test_text_view_random(void)
{
    unsigned seed = 12345;
    unsigned char d[3000], want[3000];
    fr_buf v = {0}, v1 = {0};
    int same = 0;
    for (int round = 0; round < 200; round++) {
        /* from mostly text to mostly binary */
        for (size_t i = 0; i < sizeof d; i++) {
            seed = seed * 1103515245u + 12345u;
            unsigned r = seed >> 16;
            d[i] = (unsigned char)(r % 200 < (unsigned)round ? r % 32 : ' ' + r % 95);
            if (r % 97 == 0) d[i] = '\n';
        }
        d[7] = 0; /* always one NUL */
        reference_view(d, sizeof d, want);
        /* (a byte view, and a UTF-16 one only when the NULs say so) */
        same +=
            views(d, sizeof d, &v, &v1) >= 1 && v.len == sizeof d && !memcmp(v.p, want, sizeof d);
    }
    CHECK(same == 200);
    fr_buf_release(&v);
    fr_buf_release(&v1);
}

/* A tar (gzipped when gz) in memory holding the given members. */
static void make_tar(fr_buf *out, int gz, const char *const *names, const char *const *datas,
                     const size_t *lens, size_t n)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (gz) archive_write_add_filter_gzip(a);
    size_t cap = 1 << 20, used = 0;
    fr_buf_reset(out);
    fr_buf_reserve(out, cap);
    archive_write_open_memory(a, out->p, cap, &used);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, names[i]);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)lens[i]);
        archive_write_header(a, e);
        archive_write_data(a, datas[i], lens[i]);
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    out->len = used;
}

typedef struct {
    size_t calls, interrupt_at;
    char names[8][64];
    size_t lens[8];
    int partial[8]; /* data and a reason: cut by a limit */
    char reason[8][256];
} members;

static int collect(void *ctx, const char *name, const unsigned char *data, size_t len,
                   const char *skip_reason)
{
    members *m = ctx;
    size_t i = m->calls++;
    if (i < 8) {
        snprintf(m->names[i], sizeof m->names[i], "%s", name);
        m->lens[i] = data ? len : (size_t)-1;
        m->partial[i] = data && skip_reason;
        snprintf(m->reason[i], sizeof m->reason[i], "%s", skip_reason ? skip_reason : "");
    }
    if (m->interrupt_at && m->calls == m->interrupt_at) fr_interrupted = 1;
    return 0;
}

static void test_archive_limits(void)
{
    static char big[3][60000];
    for (int i = 0; i < 3; i++)
        memset(big[i], 'a' + i, sizeof big[i]);
    const char *names[] = {"a.txt", "b.txt", "c.txt"};
    const char *datas[] = {big[0], big[1], big[2]};
    size_t lens[] = {60000, 60000, 60000};
    fr_buf tar = {0};
    make_tar(&tar, 0, names, datas, lens, 3);

    /* One budget for the whole item: 100000 bytes lets the first member
     * through and cuts the second, delivered in part. */
    fr_expand_budget b = {100000, 100};
    fr_archive_limits lim = {1 << 20, 1 << 30, 1000000, 100, &b};
    members m = {0};
    CHECK(fr_archive_read((unsigned char *)tar.p, tar.len, "t.tar", &lim, collect, &m) ==
          FR_ELIMIT);
    CHECK(m.calls == 2);
    CHECK(m.lens[0] == 60000 && !m.partial[0]);
    CHECK(m.lens[1] == 40000 && m.partial[1]);
    CHECK_STR(m.reason[1], "expansion budget of the top-level item exhausted (bytes decompressed "
                           "across all nesting levels): first 40000 bytes scanned");
    CHECK(b.bytes == 0 && b.members == 98);
    /* An archive nested in the same item finds the budget spent. */
    memset(&m, 0, sizeof m);
    CHECK(fr_archive_read((unsigned char *)tar.p, tar.len, "t.tar", &lim, collect, &m) ==
          FR_ELIMIT);
    CHECK(m.calls == 1 && m.lens[0] == (size_t)-1);
    CHECK_STR(m.reason[0], "expansion budget of the top-level item exhausted (bytes decompressed "
                           "across all nesting levels)");
    /* Members are counted across levels too. */
    b = (fr_expand_budget){1 << 30, 2};
    memset(&m, 0, sizeof m);
    CHECK(fr_archive_read((unsigned char *)tar.p, tar.len, "t.tar", &lim, collect, &m) ==
          FR_ELIMIT);
    CHECK(m.calls == 3 && m.lens[1] == 60000 && m.lens[2] == (size_t)-1);
    CHECK_STR(m.reason[2], "member budget of the top-level item exhausted (members counted "
                           "across all nesting levels)");

    /* Defect 13a: a ratio hit delivers what was read, and says it was cut. */
    size_t zlen = 8u << 20;
    char *zeros = calloc(1, zlen);
    const char *zn[] = {"zeros.txt"};
    const char *zd[] = {zeros};
    fr_buf tgz = {0};
    make_tar(&tgz, 1, zn, zd, &zlen, 1);
    fr_archive_limits rl = {16u << 20, 1 << 30, 200, 100, NULL};
    memset(&m, 0, sizeof m);
    CHECK(fr_archive_read((unsigned char *)tgz.p, tgz.len, "z.tgz", &rl, collect, &m) == FR_ELIMIT);
    CHECK(m.calls == 1 && m.partial[0]);
    CHECK(m.lens[0] > FR_ARCHIVE_RATIO_MIN_BYTES && m.lens[0] < zlen);
    char want[256];
    snprintf(want, sizeof want,
             "decompression bomb: expands more than 200 times: first %zu bytes "
             "scanned",
             m.lens[0]);
    CHECK_STR(m.reason[0], want);
    /* The total cap cuts at exactly the cap. */
    fr_archive_limits tl = {16u << 20, 100000, 1000000, 100, NULL};
    memset(&m, 0, sizeof m);
    CHECK(fr_archive_read((unsigned char *)tgz.p, tgz.len, "z.tgz", &tl, collect, &m) == FR_ELIMIT);
    CHECK(m.calls == 1 && m.partial[0] && m.lens[0] == 100000);
    free(zeros);
    fr_buf_release(&tgz);

    /* Defect 9: an interrupt (here raised by the member callback) is never a
     * complete read. */
    lim.budget = NULL;
    m = (members){.interrupt_at = 1};
    CHECK(fr_archive_read((unsigned char *)tar.p, tar.len, "t.tar", &lim, collect, &m) == FR_EINTR);
    CHECK(m.calls == 1);
    fr_buf why = {0};
    memset(&m, 0, sizeof m);
    CHECK(fr_archive_expand((unsigned char *)tar.p, tar.len, "t.tar", 1 << 20, NULL, collect, &m,
                            &why) == FR_EINTR);
    CHECK(m.calls == 0);
    fr_interrupted = 0;
    fr_buf_release(&why);
    fr_buf_release(&tar);
}

/* ---- the pipeline on interrupt: an item cut short is never recorded ---- */

static const char *RULES = "rules:\n"
                           "  - id: t.tok\n"
                           "    name: token\n"
                           "    pattern: '\\b(tok_[A-Za-z0-9]{16})\\b'\n"
                           "    max_length: 20\n"
                           "    severity: high\n"
                           "    confidence: high\n"
                           "    attack: T1552.001\n"
                           "    examples: [x]\n"
                           "    negative_examples: [y]\n";

static fr_buf TAR;
static size_t described, interrupt_at_member;
static int done_withdrawn = -1;

static int load_tar(const fr_item *it, fr_buf *out, uint64_t cap, fr_buf *why)
{
    (void)it, (void)cap, (void)why;
    fr_buf_append(out, TAR.p, TAR.len);
    return FR_OK;
}

/* Runs on the worker for every member, before it is scanned: the test's way to
 * raise an interrupt in the middle of an archive, deterministically. */
static void describe(const char *container, const char *member, fr_location *loc, fr_buf *pool)
{
    (void)container, (void)member, (void)loc, (void)pool;
    if (++described == interrupt_at_member) fr_interrupted = 1;
}

static void on_done(const fr_item *it, int withdrawn, size_t nmatches)
{
    (void)it, (void)nmatches;
    done_withdrawn = withdrawn;
}

static long long count(const char *db, const char *sql)
{
    sqlite3 *h;
    sqlite3_stmt *st;
    long long n = -1;
    if (sqlite3_open(db, &h) == SQLITE_OK &&
        sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(h);
    return n;
}

static void run_once(const char *db, fr_engine *e, const fr_ruleset *rs)
{
    fr_store *s = NULL;
    CHECK(fr_store_open(&s, db, NULL) == FR_OK);
    int64_t run;
    CHECK(fr_store_run_begin(s, "logs.tar", rs->hash, &run) == FR_OK);
    fr_pipeline *p;
    fr_pipeline_opts o = {.threads = 2, .max_size = 1 << 20, .quiet = 1, .rules_hash = rs->hash};
    CHECK(fr_pipeline_start(&p, &o, e, s, run) == FR_OK);
    fr_item *it = fr_item_new("file", "logs.tar");
    it->load = load_tar;
    it->expand = fr_archive_expand;
    it->describe = describe;
    it->done = on_done;
    it->remember_file = 1;
    CHECK(fr_pipeline_submit(p, it) == FR_OK);
    fr_pipeline_stats st;
    CHECK(fr_pipeline_finish(p, &st) == FR_OK);
    fr_run_counts c = {0};
    CHECK(fr_store_run_end(s, run, !fr_interrupted, &c, NULL) == FR_OK);
    fr_store_close(s);
}

static void test_interrupted_item(void)
{
    const char *names[] = {"rules.yml"};
    size_t lens[] = {strlen(RULES)};
    fr_ruleset *rs = NULL;
    fr_engine *e = NULL;
    CHECK(fr_rules_load_buffers(&rs, names, &RULES, lens, 1) == FR_OK);
    CHECK(fr_engine_new(&e, rs, NULL) == FR_OK);
    char m[3][64];
    const char *mn[] = {"job/1.log", "job/2.log", "job/3.log"}, *md[3];
    size_t ml[3];
    for (int i = 0; i < 3; i++) {
        ml[i] = (size_t)snprintf(m[i], sizeof m[i], "export T=tok_%016d\n", 4711 * (i + 1));
        md[i] = m[i];
    }
    make_tar(&TAR, 1, mn, md, ml, 3);
    char db[] = "/tmp/ferret-unit-pipeline-XXXXXX";
    int fd = mkstemp(db);
    CHECK(fd >= 0);
    close(fd);
    unlink(db);

    /* Interrupted after the first member was scanned: nothing is recorded -
     * not the archive, not its members, not the remembered file. */
    interrupt_at_member = 2;
    run_once(db, e, rs);
    CHECK(described == 2);
    CHECK(done_withdrawn == 1);
    CHECK(count(db, "select count(*) from content") == 0);
    CHECK(count(db, "select count(*) from files") == 0);
    CHECK(count(db, "select count(*) from findings") == 0);

    /* The next run reads it again and finds all three. */
    fr_interrupted = 0;
    described = 0;
    interrupt_at_member = 0;
    run_once(db, e, rs);
    CHECK(described == 3);
    CHECK(done_withdrawn == 0);
    CHECK(count(db, "select count(*) from findings") == 3);
    CHECK(count(db, "select count(*) from content") == 4);
    CHECK(count(db, "select count(*) from files") == 1);

    for (const char *sfx = ""; sfx; sfx = *sfx ? NULL : "-wal") {
        char f[64];
        snprintf(f, sizeof f, "%s%s", db, sfx);
        unlink(f);
    }
    char f[64];
    snprintf(f, sizeof f, "%s-shm", db);
    unlink(f);
    fr_buf_release(&TAR);
    fr_engine_free(e);
    fr_ruleset_free(rs);
}

/* Inline mode with a sink (the hooks' way in): the same per-item code as the
 * threaded pipeline - the archive and each member handed over as the store
 * would get them, each member's match at its line - on the calling thread,
 * before submit returns, with no store at all. */
typedef struct {
    size_t calls, matches, scanned;
    char paths[8][64];
} sink_seen;

static int sink(void *ctx, const fr_store_item *it)
{
    sink_seen *s = ctx;
    if (s->calls < 8) snprintf(s->paths[s->calls], sizeof s->paths[0], "%s", it->locs[0].path);
    s->calls++;
    s->matches += it->nmatches;
    s->scanned += it->status == FR_ST_SCANNED;
    for (size_t i = 0; i < it->nmatches; i++)
        CHECK(it->matches[i].line == 1 && !strcmp(it->matches[i].rule_id, "t.tok"));
    return FR_OK;
}

static void test_inline_sink(void)
{
    const char *names[] = {"rules.yml"};
    size_t lens[] = {strlen(RULES)};
    fr_ruleset *rs = NULL;
    fr_engine *e = NULL;
    CHECK(fr_rules_load_buffers(&rs, names, &RULES, lens, 1) == FR_OK);
    CHECK(fr_engine_new(&e, rs, NULL) == FR_OK);
    char m[3][64];
    const char *mn[] = {"job/1.log", "job/2.log", "job/3.log"}, *md[3];
    size_t ml[3];
    for (int i = 0; i < 3; i++) {
        ml[i] = (size_t)snprintf(m[i], sizeof m[i], "export T=tok_%016d\n", 4711 * (i + 1));
        md[i] = m[i];
    }
    make_tar(&TAR, 1, mn, md, ml, 3);
    sink_seen seen = {0};
    fr_pipeline *p;
    fr_pipeline_opts o = {.threads = 1,
                          .max_size = 1 << 20,
                          .quiet = 1,
                          .rules_hash = rs->hash,
                          .inline_scan = 1,
                          .sink = sink,
                          .sink_ctx = &seen};
    CHECK(fr_pipeline_start(&p, &o, e, NULL, 0) == FR_OK);
    fr_item *it = fr_item_new("file", "logs.tar");
    it->load = load_tar;
    it->expand = fr_archive_expand;
    CHECK(fr_pipeline_submit(p, it) == FR_OK);
    /* recorded before submit returned */
    CHECK(seen.calls == 4 && seen.matches == 3 && seen.scanned == 4);
    CHECK_STR(seen.paths[0], "logs.tar");
    CHECK_STR(seen.paths[1], "logs.tar!job/1.log");
    CHECK_STR(seen.paths[3], "logs.tar!job/3.log");
    fr_pipeline_stats st;
    CHECK(fr_pipeline_finish(p, &st) == FR_OK);
    CHECK(st.scanned == 4 && st.matches == 3 && st.failed == 0);
    fr_buf_release(&TAR);
    fr_engine_free(e);
    fr_ruleset_free(rs);
}

/* Redacting a path (paths.c): spans of matches that overlap in part are merged
 * before replacing, so the tail of the later one is not left plain (review
 * item 12); a span inside another and disjoint spans are handled too. */
static void test_redact_spans(void)
{
    const char *path = "dir/aaaaBBBBBBBBccccDDDDDDDDeeee/x-QQQQQQQQ.txt";
    size_t at = 4; /* "aaaa" starts at 4 */
    fr_match m[4] = {
        {.rule = 0, .sstart = at, .send = at + 16},      /* aaaaBBBBBBBBcccc */
        {.rule = 1, .sstart = at + 12, .send = at + 24}, /* ccccDDDDDDDD: in part */
        {.rule = 2, .sstart = at + 5, .send = at + 8},   /* inside the first */
        {.rule = 0, .sstart = 35, .send = 43},           /* QQQQQQQQ: apart */
    };
    fr_buf out = {0}, want = {0};
    CHECK(fr_redact_spans(path, m, 4, &out) == 2);
    fr_buf_puts(&want, "dir/");
    fr_redact(path + at, 24, &want);
    fr_buf_puts(&want, "eeee/x-");
    fr_redact(path + 35, 8, &want);
    fr_buf_puts(&want, ".txt");
    CHECK_STR(out.p, want.p);
    CHECK(strstr(out.p, "DDDD") == NULL && strstr(out.p, "cccc") == NULL);
    /* the matches in another order: the same */
    fr_match r[4] = {m[3], m[1], m[2], m[0]};
    CHECK(fr_redact_spans(path, r, 4, &out) == 2);
    CHECK_STR(out.p, want.p);
    /* no match: the path as it is */
    CHECK(fr_redact_spans(path, NULL, 0, &out) == 0);
    CHECK_STR(out.p, path);
    fr_buf_release(&out);
    fr_buf_release(&want);
}

int main(void)
{
    test_inline_sink();
    test_redact_spans();
    test_text_view();
    test_text_view_random();
    test_archive_limits();
    test_interrupted_item();
    return check_done("test_pipeline");
}
