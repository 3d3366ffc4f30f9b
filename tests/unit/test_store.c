/* Unit tests for src/store: creation mode, dedup of findings and occurrences,
 * idempotent re-recording, no plaintext by default, foreign / corrupt files left
 * untouched, a lock held by another connection, run bookkeeping. */
#include "check.h"
#include "store/store.h"
#include "util/util.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/ferret-store-XXXXXX";
static char path[300];

static int count(const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    int n = -1;
    sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return n;
}

static int file_contains(const char *p, const char *needle)
{
    FILE *f = fopen(p, "rb");
    if (!f) return 0;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *b = malloc((size_t)n + 1);
    size_t got = fread(b, 1, (size_t)n, f);
    fclose(f);
    int found = memmem(b, got, needle, strlen(needle)) != NULL;
    free(b);
    return found;
}

static void put(fr_store *s, int64_t run, const char *key, const char *file, const char *secret,
                const char *plain)
{
    fr_store_match m = {.rule_id = "t.tok",
                        .preview = "tok_****78",
                        .secret = plain,
                        .offset = 10,
                        .line = 2,
                        .column = 3};
    fr_sha256_hex(secret, strlen(secret), m.secret_sha256);
    fr_location loc = {.kind = "file", .path = file};
    fr_store_item it = {.content_key = key,
                        .size = 100,
                        .status = FR_ST_SCANNED,
                        .rules_hash = "h",
                        .locs = &loc,
                        .nlocs = 1,
                        .matches = &m,
                        .nmatches = 1};
    CHECK(fr_store_put(s, run, &it) == FR_OK);
}

static int count_cb(const fr_finding_row *f, const fr_occurrence_row *o, size_t k, void *v)
{
    (void)o;
    CHECK(f->secret == NULL); /* plaintext only when the filter asks */
    CHECK(k == 1);
    (*(size_t *)v)++;
    return 0;
}

static void test_roundtrip(void)
{
    fr_store *s = NULL;
    CHECK(fr_store_open(&s, path, NULL) == FR_OK);
    if (!s) return;
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    int64_t run = 0;
    CHECK(fr_store_run_begin(s, "target", "h", &run) == FR_OK && run == 1);
    fr_rule_meta rm = {"t.tok", "Token", NULL, "high", "high", "T1552.001", "", NULL, NULL};
    CHECK(fr_store_put_rule(s, &rm) == FR_OK);
    /* the same secret in two files, one file recorded twice */
    put(s, run, "sha256:aa", "a.txt", "tok_SECRETVALUE12345678", NULL);
    put(s, run, "sha256:bb", "b.txt", "tok_SECRETVALUE12345678", NULL);
    put(s, run, "sha256:bb", "b.txt", "tok_SECRETVALUE12345678", NULL);
    fr_location loc = {.kind = "file", .path = "big.bin"};
    fr_store_item sk = {.content_key = "unread:file::big.bin",
                        .size = 1u << 30,
                        .status = FR_ST_SKIPPED,
                        .reason = "too large",
                        .locs = &loc,
                        .nlocs = 1};
    CHECK(fr_store_put(s, run, &sk) == FR_OK);
    fr_run_counts c = {3, 1, 0, 300, 3, 0};
    CHECK(fr_store_run_end(s, run, 1, &c, NULL) == FR_OK);
    fr_run_row rr;
    CHECK(fr_store_last_run(s, &rr) == FR_OK && rr.id == run && !strcmp(rr.status, "complete"));
    CHECK(rr.counts.new_findings == 1);
    fr_store_close(s);
    CHECK(count("SELECT count(*) FROM findings") == 1);
    CHECK(count("SELECT count(*) FROM matches") == 2);
    CHECK(count("SELECT count(*) FROM occurrences") == 2);
    CHECK(count("SELECT count(*) FROM content WHERE status = 'skipped'") == 1);
    CHECK(!file_contains(path, "tok_SECRETVALUE12345678"));

    /* a second run sees the finding again: not new, last_run moves */
    CHECK(fr_store_open(&s, path, NULL) == FR_OK);
    CHECK(fr_store_run_begin(s, "target", "h", &run) == FR_OK && run == 2);
    put(s, run, "sha256:cc", "c.txt", "tok_SECRETVALUE12345678", "tok_SECRETVALUE12345678");
    put(s, run, "sha256:dd", "d.txt", "tok_OTHERSECRET87654321", NULL);
    CHECK(fr_store_run_end(s, run, 0, &c, "interrupted") == FR_OK);
    CHECK(fr_store_last_run(s, &rr) == FR_OK && rr.counts.new_findings == 1 &&
          !strcmp(rr.status, "incomplete"));
    fr_report_filter flt = {.new_since_run = 2};
    size_t nfound = 0;
    CHECK(fr_store_each_finding(s, &flt, count_cb, &nfound) == FR_OK && nfound == 1);
    fr_store_close(s);
    CHECK(count("SELECT count(*) FROM findings WHERE secret IS NOT NULL") == 1);
    CHECK(count("SELECT count(*) FROM findings WHERE last_run = 2") == 2);
}

static void test_refuses_foreign_files(void)
{
    char p2[320];
    /* garbage bytes */
    snprintf(p2, sizeof p2, "%s/garbage.db", dir);
    FILE *f = fopen(p2, "wb");
    for (int i = 0; i < 8192; i++)
        fputc((i * 7919) & 0xff, f);
    fclose(f);
    struct stat st;
    stat(p2, &st);
    fr_store *s = NULL;
    CHECK(fr_store_open(&s, p2, NULL) == FR_ECORRUPT);
    CHECK(strstr(fr_error(), "left untouched") != NULL);
    struct stat st2;
    stat(p2, &st2);
    CHECK(st.st_size == st2.st_size && st.st_mtime == st2.st_mtime);
    /* a valid SQLite DB that is not ferret's */
    snprintf(p2, sizeof p2, "%s/other.db", dir);
    sqlite3 *db;
    sqlite3_open(p2, &db);
    sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES (1)", NULL, NULL, NULL);
    sqlite3_close(db);
    CHECK(fr_store_open(&s, p2, NULL) == FR_ECORRUPT);
    CHECK(strstr(fr_error(), "not a ferret database") != NULL);
    /* read-only open of a missing file creates nothing */
    snprintf(p2, sizeof p2, "%s/missing.db", dir);
    fr_store_opts ro = {.readonly = 1};
    CHECK(fr_store_open(&s, p2, &ro) == FR_ENOTFOUND);
    CHECK(access(p2, F_OK) != 0);
}

/* Defect 13: an empty SQLite DB of another application (valid, no tables) is not
 * ferret's to fill; a zero-length file is new; stores are marked and checked. */
static void test_empty_foreign_db(void)
{
    char p2[320];
    snprintf(p2, sizeof p2, "%s/empty-other.db", dir);
    sqlite3 *db;
    sqlite3_open(p2, &db);
    sqlite3_exec(db, "PRAGMA user_version = 7", NULL, NULL, NULL);
    sqlite3_close(db);
    struct stat st, st2;
    CHECK(stat(p2, &st) == 0 && st.st_size > 0);
    fr_store *s = NULL;
    CHECK(fr_store_open(&s, p2, NULL) == FR_ECORRUPT);
    CHECK(strstr(fr_error(), "not a ferret database") != NULL);
    fr_store_opts ro = {.readonly = 1};
    CHECK(fr_store_open(&s, p2, &ro) == FR_ECORRUPT);
    CHECK(stat(p2, &st2) == 0 && st2.st_size == st.st_size && st2.st_mtime == st.st_mtime);
    sqlite3_open(p2, &db);
    sqlite3_stmt *q;
    sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_schema", -1, &q, NULL);
    CHECK(sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int(q, 0) == 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    /* another application's marked DB with a table named like ours */
    snprintf(p2, sizeof p2, "%s/marked-other.db", dir);
    sqlite3_open(p2, &db);
    sqlite3_exec(db,
                 "PRAGMA application_id = 42; CREATE TABLE meta (key, value);"
                 " INSERT INTO meta VALUES ('schema_version', '1'), ('created_by', 'ferret')",
                 NULL, NULL, NULL);
    sqlite3_close(db);
    CHECK(fr_store_open(&s, p2, NULL) == FR_ECORRUPT);
    /* a zero-length file is taken as new, and the store is marked */
    snprintf(p2, sizeof p2, "%s/zero.db", dir);
    FILE *f = fopen(p2, "wb");
    fclose(f);
    CHECK(fr_store_open(&s, p2, &ro) == FR_ENOTFOUND); /* a report creates nothing */
    CHECK(fr_store_open(&s, p2, NULL) == FR_OK);
    fr_store_close(s);
    sqlite3_open(p2, &db);
    sqlite3_prepare_v2(db, "PRAGMA application_id", -1, &q, NULL);
    CHECK(sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int(q, 0) == 0x46525254);
    sqlite3_finalize(q);
    /* a store made before the mark is still ferret's, and gets marked */
    sqlite3_exec(db, "PRAGMA application_id = 0", NULL, NULL, NULL);
    sqlite3_close(db);
    CHECK(fr_store_open(&s, p2, &ro) == FR_OK);
    fr_store_close(s);
    CHECK(fr_store_open(&s, p2, NULL) == FR_OK);
    fr_store_close(s);
    sqlite3_open(p2, &db);
    sqlite3_prepare_v2(db, "PRAGMA application_id", -1, &q, NULL);
    CHECK(sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int(q, 0) == 0x46525254);
    sqlite3_finalize(q);
    sqlite3_close(db);
}

/* Defect 11: first runs racing to create the schema of a new DB all succeed. */
typedef struct {
    const char *path;
    pthread_barrier_t *go;
    int rc;
    char err[256]; /* fr_error() is per thread: the opener's own */
} opener;

static void *open_one(void *arg)
{
    opener *o = arg;
    fr_store *s = NULL;
    fr_store_opts so = {.busy_timeout_ms = 10000};
    pthread_barrier_wait(o->go);
    o->rc = fr_store_open(&s, o->path, &so);
    int64_t run = 0;
    if (o->rc == FR_OK) o->rc = fr_store_run_begin(s, "t", "h", &run);
    snprintf(o->err, sizeof o->err, "%s", fr_error());
    fr_store_close(s);
    return NULL;
}

static void test_concurrent_create(void)
{
    enum { THREADS = 6, TRIALS = 8 };
    int failures = 0;
    for (int t = 0; t < TRIALS; t++) {
        char p2[320];
        snprintf(p2, sizeof p2, "%s/race-%d.db", dir, t);
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, THREADS);
        opener o[THREADS];
        pthread_t th[THREADS];
        for (int i = 0; i < THREADS; i++) {
            o[i] = (opener){p2, &go, -100, ""};
            pthread_create(&th[i], NULL, open_one, &o[i]);
        }
        for (int i = 0; i < THREADS; i++) {
            pthread_join(th[i], NULL);
            if (o[i].rc != FR_OK) {
                if (!failures) fprintf(stderr, "open %d/%d: rc %d: %s\n", t, i, o[i].rc, o[i].err);
                failures++;
            }
        }
        pthread_barrier_destroy(&go);
    }
    CHECK(failures == 0);
}

/* Defect 10: two runs record the same content into one DB; each counts what
 * its targets hold, whichever wrote the content first. */
static void put_known(fr_store *s, int64_t run, const char *key, const char *file)
{
    fr_location loc = {.kind = "file", .path = file};
    fr_store_item it = {.content_key = key,
                        .status = FR_ST_SCANNED,
                        .rules_hash = "h",
                        .locs = &loc,
                        .nlocs = 1,
                        .known = 1};
    CHECK(fr_store_put(s, run, &it) == FR_OK);
}

static void test_concurrent_runs_count(void)
{
    char p2[320];
    snprintf(p2, sizeof p2, "%s/two-runs.db", dir);
    fr_store *a = NULL, *b = NULL;
    CHECK(fr_store_open(&a, p2, NULL) == FR_OK);
    CHECK(fr_store_open(&b, p2, NULL) == FR_OK);
    if (!a || !b) return;
    int64_t ra = 0, rb = 0, rc3 = 0;
    CHECK(fr_store_run_begin(a, "t", "h", &ra) == FR_OK);
    CHECK(fr_store_run_begin(b, "t", "h", &rb) == FR_OK);
    uint64_t n = 99;
    /* a records the file first, b records it again (a later batch) */
    put(a, ra, "sha256:x1", "x.txt", "tok_SECRETVALUE12345678", NULL);
    put(a, ra, "sha256:x2", "y.txt", "tok_OTHERSECRET87654321", NULL);
    CHECK(fr_store_flush(a) == FR_OK);
    put(b, rb, "sha256:x1", "x.txt", "tok_SECRETVALUE12345678", NULL);
    CHECK(fr_store_flush(b) == FR_OK);
    CHECK(fr_store_findings_in_run(a, ra, &n) == FR_OK && n == 2);
    CHECK(fr_store_findings_in_run(b, rb, &n) == FR_OK && n == 1);
    /* a third run finds the file unchanged (location only) after b touched it */
    fr_store *c = NULL;
    CHECK(fr_store_open(&c, p2, NULL) == FR_OK);
    if (!c) return;
    CHECK(fr_store_run_begin(c, "t", "h", &rc3) == FR_OK);
    put_known(c, rc3, "sha256:x2", "y.txt");
    CHECK(fr_store_flush(c) == FR_OK);
    put(b, rb, "sha256:x2", "y.txt", "tok_OTHERSECRET87654321", NULL);
    CHECK(fr_store_flush(b) == FR_OK);
    CHECK(fr_store_findings_in_run(c, rc3, &n) == FR_OK && n == 1);
    CHECK(fr_store_findings_in_run(a, ra, &n) == FR_OK && n == 2);
    CHECK(fr_store_findings_in_run(b, rb, &n) == FR_OK && n == 2);
    fr_store_close(c);
    fr_store_close(b);
    fr_store_close(a);
}

static void test_locked(void)
{
    sqlite3 *holder;
    CHECK(sqlite3_open(path, &holder) == SQLITE_OK);
    CHECK(sqlite3_exec(holder, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
    fr_store *s = NULL;
    fr_store_opts o = {.busy_timeout_ms = 200};
    int rc = fr_store_open(&s, path, &o);
    int64_t run = 0;
    if (rc == FR_OK) rc = fr_store_run_begin(s, "t", "h", &run);
    CHECK(rc == FR_EBUSY);
    CHECK(strstr(fr_error(), "locked by another process") != NULL);
    fr_store_close(s);
    sqlite3_exec(holder, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(holder);
}

/* A scan's run, rules and shard in one transaction (fr_store_batch_begin):
 * another connection sees none of them until fr_store_flush, then all. */
static void test_run_atomic(void)
{
    int runs = count("SELECT count(*) FROM runs");
    int rules = count("SELECT count(*) FROM rules");
    CHECK(runs >= 1 && rules >= 1);
    fr_store *s = NULL;
    CHECK(fr_store_open(&s, path, NULL) == FR_OK);
    if (!s) return;
    int64_t run = 0;
    CHECK(fr_store_batch_begin(s) == FR_OK);
    CHECK(fr_store_batch_begin(s) == FR_OK); /* already open: nothing more */
    CHECK(fr_store_run_begin(s, "t", "h", &run) == FR_OK && run == runs + 1);
    fr_rule_meta rm = {"t.atomic", "Atomic", NULL, "low", "low", "T1552.001", "", NULL, NULL};
    CHECK(fr_store_put_rule(s, &rm) == FR_OK);
    CHECK(fr_store_run_shard(s, run, 2, 4, "set-a") == FR_OK);
    CHECK(count("SELECT count(*) FROM runs") == runs);
    CHECK(count("SELECT count(*) FROM rules") == rules);
    CHECK(fr_store_flush(s) == FR_OK);
    CHECK(count("SELECT count(*) FROM runs") == runs + 1);
    CHECK(count("SELECT count(*) FROM rules") == rules + 1);
    CHECK(count("SELECT count(*) FROM runs WHERE status = 'running' AND shard_index = 2"
                " AND shard_count = 4 AND shard_set = 'set-a'") == 1);
    fr_run_counts c = {0};
    CHECK(fr_store_run_end(s, run, 1, &c, NULL) == FR_OK);
    fr_store_close(s);
}

int main(void)
{
    if (!mkdtemp(dir)) return 1;
    snprintf(path, sizeof path, "%s/ferret.db", dir);
    umask(022);
    test_roundtrip();
    test_run_atomic();
    test_refuses_foreign_files();
    test_empty_foreign_db();
    test_concurrent_create();
    test_concurrent_runs_count();
    test_locked();
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "cleanup failed\n");
    return check_done("test_store");
}
