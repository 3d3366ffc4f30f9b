/* Unit tests for src/sources/logs: each kind of CI log decoration is removed,
 * the text it wraps is kept, and the number of lines never changes; hostile
 * lines are normalised in linear time; the path describer survives any path. */
#include "check.h"
#include "sources/logs.h"

#include <stdlib.h>

/* The normaliser's invariants: the output is never longer than the input, has
 * exactly its newlines, and no line grew (so line numbers are the input's). */
static int invariants_hold(const unsigned char *in, size_t n, const fr_buf *out)
{
    if (out->len > n || (out->len && !out->p)) return 0;
    size_t i = 0, o = 0;
    for (;;) {
        const unsigned char *inl = memchr(in + i, '\n', n - i);
        const char *onl = o < out->len ? memchr(out->p + o, '\n', out->len - o) : NULL;
        if ((inl == NULL) != (onl == NULL)) return 0;
        size_t ie = inl ? (size_t)(inl - in) : n, oe = onl ? (size_t)(onl - out->p) : out->len;
        if (oe - o > ie - i) return 0;
        if (!inl) return 1;
        i = ie + 1, o = oe + 1;
    }
}

static void norm_is(const char *in, const char *want)
{
    fr_buf out = {0};
    fr_log_normalize((const unsigned char *)in, strlen(in), &out);
    CHECK_STR(out.p ? out.p : "", want);
    CHECK(invariants_hold((const unsigned char *)in, strlen(in), &out));
    fr_buf_release(&out);
}

static size_t count_nl(const char *p, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += p[i] == '\n';
    return c;
}

/*
 * One opener repeated on a single line of ~256 KB, then ~2 MB, then "\nend\n":
 * each copy leaves `keep` bytes. These took minutes when each opener rescanned
 * the rest of the line for its terminator; linear, 2 MB takes milliseconds even
 * under ASan. The bound, 2.5 s per MB, only catches a quadratic normaliser, and
 * the small size first makes one fail in seconds instead of hanging.
 */
static void hostile_line(const char *unit, size_t keep)
{
    size_t ul = strlen(unit);
    for (size_t size = 256u << 10; size <= (2u << 20); size *= 8) {
        size_t reps = size / ul;
        fr_buf in = {0}, out = {0};
        for (size_t r = 0; r < reps; r++)
            fr_buf_append(&in, unit, ul);
        fr_buf_puts(&in, "\nend\n");
        double t0 = fr_monotonic();
        fr_log_normalize((const unsigned char *)in.p, in.len, &out);
        double dt = fr_monotonic() - t0, bound = 2.5 * (double)size / (1 << 20);
        if (getenv("FERRET_TEST_VERBOSE") || dt >= bound)
            fprintf(stderr, "normalising %zu KB of %zu-byte openers took %.3f s\n", size >> 10, ul,
                    dt);
        CHECK(dt < bound);
        CHECK(out.len == reps * keep + 5);
        CHECK(count_nl(out.p, out.len) == 2);
        CHECK(out.len >= 5 && !memcmp(out.p + out.len - 5, "\nend\n", 5));
        CHECK(invariants_hold((const unsigned char *)in.p, in.len, &out));
        fr_buf_release(&in);
        fr_buf_release(&out);
        if (dt >= bound) break;
    }
}

static void test_hostile_lines(void)
{
    hostile_line("\x1b]", 0);              /* unterminated OSC at the line start */
    hostile_line("\x1b]a", 1);             /* ... and after text; only ESC ] goes */
    hostile_line("\x1b]\x1bx", 0);         /* ESC without the backslash of ST */
    hostile_line("section_start:1:x[", 1); /* "[" without "]": the "[" stays */
    hostile_line("section_end:12:[", 1);
}

/* Random lines built from decoration fragments: the invariants always hold. */
static void test_random_invariants(void)
{
    static const char *const frag[] = {"\x1b]",
                                       "\x1b[",
                                       "\x1b",
                                       "\x07",
                                       "\x1b\\",
                                       "]",
                                       "[",
                                       "\r",
                                       "\n",
                                       "m",
                                       "0K",
                                       "section_start:",
                                       "section_end:",
                                       "17",
                                       ":",
                                       "name",
                                       "##[",
                                       "##vso[",
                                       "::",
                                       "add-mask",
                                       "2026-01-02T03:04:05",
                                       ".123",
                                       "Z",
                                       "+01:00",
                                       " ",
                                       "x",
                                       "s"};
    const size_t nfrag = sizeof frag / sizeof *frag;
    unsigned long long seed = 42;
    fr_buf in = {0}, out = {0};
    int bad = 0;
    for (int round = 0; round < 3000; round++) {
        fr_buf_reset(&in);
        size_t parts = round % 40;
        for (size_t k = 0; k < parts; k++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            fr_buf_puts(&in, frag[(seed >> 33) % nfrag]);
        }
        fr_log_normalize((const unsigned char *)(in.p ? in.p : ""), in.len, &out);
        if (!invariants_hold((const unsigned char *)(in.p ? in.p : ""), in.len, &out)) bad++;
    }
    CHECK(bad == 0);
    fr_buf_release(&in);
    fr_buf_release(&out);
}

/* What fr_log_describe makes of one path: "run|job|step", "-" for unset. */
static const char *describe(const char *container, const char *member)
{
    static char got[512];
    fr_location loc = {0};
    fr_buf pool = {0};
    fr_log_describe(container, member, &loc, &pool);
    snprintf(got, sizeof got, "%s|%s|%s", loc.ci_run ? loc.ci_run : "-",
             loc.ci_job ? loc.ci_job : "-", loc.ci_step ? loc.ci_step : "-");
    fr_buf_release(&pool);
    return got;
}

static void test_describe(void)
{
    /* Jenkins layout */
    CHECK_STR(describe("logs/jobs/deploy-prod/builds/17/log", NULL), "17|deploy-prod|-");
    CHECK_STR(describe("jobs/a/builds/3/log", NULL), "3|a|-");
    CHECK_STR(describe("/var/jenkins/jobs/builds/builds/7/log", NULL), "7|builds|-");
    CHECK_STR(describe("t/jobs/builds/1/log", NULL), "-|-|-"); /* defect 1: was SIGSEGV */
    CHECK_STR(describe("x/jobs/team/jobs/app/builds/9/log", NULL), "9|team/app|-");
    CHECK_STR(describe("jobs/jobs/jobs/x/builds/2/LOG", NULL), "2|jobs/x|-");
    CHECK_STR(describe("myjobs/a/builds/3/log", NULL), "-|-|-");
    CHECK_STR(describe("jobs/a/builds/3/x/log", NULL), "-|-|-");
    /* GitHub Actions / Azure Pipelines downloads */
    CHECK_STR(describe("dl/logs_4242.zip", "build/2_Run tests.txt"), "4242|build|Run tests");
    CHECK_STR(describe("logs_7.zip", "3_job.log"), "7|job|-");
    CHECK_STR(describe("logs.zip", "1_.txt"), "-||-");
    CHECK_STR(describe("ci-logs_9001.zip", "deploy/1_Set up.txt"), "9001|deploy|Set up");
    CHECK_STR(describe("1234.zip", "2_test.txt"), "1234|test|-");
    /* Defect (issue 15): any .txt in any zip got CI metadata, "bundle 1.zip"
     * was run 1. Only a download's name gives a run, only "<n>_<name>" a job. */
    CHECK_STR(describe("bundle 1.zip", "notes.txt"), "-|-|-");
    CHECK_STR(describe("bundle 1.zip", "3_notes.txt"), "-|notes|-");
    CHECK_STR(describe("release-2.zip", "docs/readme.txt"), "-|-|-");
    CHECK_STR(describe("logs_12.zip", "docs/readme.txt"), "-|-|-");
    CHECK_STR(describe("catalogs_5.zip", "1_a.txt"), "-|a|-");
    CHECK_STR(describe("logs_5.tar", "1_a.txt"), "-|a|-");

    /* hostile containers and members: nothing crashes, reads out of bounds (ASan)
     * or names more than the path holds */
    static char longs[3][70000];
    memset(longs[0], 'a', sizeof longs[0] - 1);
    memset(longs[1], '/', sizeof longs[1] - 1);
    for (size_t i = 0; i + 1 < sizeof longs[2]; i++)
        longs[2][i] = "jobs/builds/"[i % 12];
    const char *hostile[] = {"",
                             "/",
                             "//",
                             "////////",
                             "log",
                             "/log",
                             "//log",
                             "jobs/",
                             "jobs",
                             "/jobs/",
                             "/builds/",
                             "builds/log",
                             "/builds/log",
                             "/builds//log",
                             "jobs/builds/",
                             "jobs/builds/log",
                             "jobs//builds//log",
                             "jobs//builds/1/log",
                             "jobs/x/builds//log",
                             "/jobs/builds/builds/log",
                             "jobs/builds/builds/1/log",
                             "jobs/jobs/builds/builds/log",
                             "x/jobs/ /builds/ /log",
                             "/jobs/x/builds/1/log",
                             "jobs/x/jobs//jobs/y/builds/1/log",
                             "/jobs/x/jobs/y/builds/1/log",
                             ".txt",
                             "/.txt",
                             "1_.txt",
                             "_.log",
                             "123.txt",
                             "a/.txt",
                             "a/1_.log",
                             "/1_.TXT",
                             "logs_.zip",
                             "9",
                             longs[0],
                             longs[1],
                             longs[2]};
    const size_t nh = sizeof hostile / sizeof *hostile;
    int bad = 0;
    for (size_t i = 0; i < nh; i++)
        for (size_t m = 0; m <= nh; m++) {
            const char *member = m < nh ? hostile[m] : NULL;
            fr_location loc = {0};
            fr_buf pool = {0};
            fr_log_describe(hostile[i], member, &loc, &pool);
            size_t bound = strlen(hostile[i]) + (member ? strlen(member) : 0);
            const char *got[3] = {loc.ci_run, loc.ci_job, loc.ci_step};
            for (int k = 0; k < 3; k++)
                if (got[k] && (!pool.p || got[k] < pool.p || got[k] >= pool.p + pool.len ||
                               strlen(got[k]) > bound))
                    bad++;
            fr_buf_release(&pool);
        }
    CHECK(bad == 0);
    CHECK_STR(describe(NULL, NULL), "-|-|-");
    CHECK_STR(describe(NULL, "a/1_b.txt"), "-|-|-");
    /* a job named like the layout's own words, inside a long path */
    CHECK_STR(describe(longs[2], NULL), "-|-|-");
}

/* Decoration at every offset of a line: the normaliser looks for it sixteen
 * bytes at a time, so each lands on both sides of a block's edges; 's' and
 * "se" that start no section marker stay. */
static void test_block_edges(void)
{
    fr_buf in = {0}, want = {0}, out = {0};
    int ok = 0, total = 0;
    for (size_t pad = 0; pad < 40; pad++) {
        for (int kind = 0; kind < 4; kind++) {
            static const char *const deco[] = {"\x1b[0K", "\r", "section_end:17:x\r\x1b[0K",
                                               "\x1b]8;;u\x07"};
            fr_buf_reset(&in), fr_buf_reset(&want);
            for (size_t k = 0; k < pad; k++) {
                fr_buf_append(&in, k % 5 == 4 ? "s" : k % 7 == 6 ? "e" : "a", 1);
                fr_buf_append(&want, in.p + k, 1);
            }
            fr_buf_puts(&in, deco[kind]);
            fr_buf_puts(&in, "se sec section_x tail\n");
            fr_buf_puts(&want, "se sec section_x tail\n");
            fr_log_normalize((const unsigned char *)in.p, in.len, &out);
            ok += out.len == want.len && !memcmp(out.p, want.p, want.len);
            total++;
        }
    }
    CHECK(ok == total);
    fr_buf_release(&in), fr_buf_release(&want), fr_buf_release(&out);
}

int main(void)
{
    test_hostile_lines();
    test_block_edges();
    test_random_invariants();
    test_describe();
    /* GitHub Actions: timestamps, group markers, CRLF, colour codes inside a value */
    norm_is("2026-01-02T03:04:05.1234567Z ##[group]Run env\r\n"
            "2026-01-02T03:04:05.1234567Z TOKEN=ghp_abc\x1b[0mdef\r\n",
            "Run env\nTOKEN=ghp_abcdef\n");
    norm_is("::add-mask::s3cr3t-value\n::group::Build\n", "s3cr3t-value\nBuild\n");
    /* GitLab with timestamps: the stream marker after the timestamp goes too,
     * not text that only looks like one */
    norm_is("2026-01-02T03:04:05.123456Z 00O $ make\n2026-01-02T03:04:05.2Z 01E+ warn\n"
            "00O kept\n2026-01-02T03:04:05Z 0xO kept\n",
            "$ make\nwarn\n00O kept\n0xO kept\n");
    /* Azure Pipelines: ##vso commands keep their value, ##[section] markers go */
    norm_is(
        "##[section]Starting: Build\n##vso[task.setvariable variable=pat;issecret=true]abc123\n",
        "Starting: Build\nabc123\n");
    /* GitLab: section markers glued to text by \r and an erase-line sequence */
    norm_is("section_start:1700000000:build_step\r\x1b[0KBuilding\nok\n"
            "section_end:1700000001:build_step\r\x1b[0K\n",
            "Building\nok\n\n");
    /* Jenkins: bracketed timestamps, OSC hyperlinks */
    norm_is("[2026-01-02T03:04:05.123Z] curl -u user:pw \x1b]8;;http://x\x07link\x1b]8;;\x07\n",
            "curl -u user:pw link\n");
    /* not a timestamp: left alone */
    norm_is("2026-01-02 is a date\n", "2026-01-02 is a date\n");
    norm_is("no newline at end\x1b[1m", "no newline at end");
    CHECK(fr_log_detect("a/b/job.LOG", (const unsigned char *)"x", 1));
    CHECK(fr_log_detect("x.txt", (const unsigned char *)"a\x1b[0m", 5));
    CHECK(fr_log_detect("x.txt", (const unsigned char *)"2026-01-02T03:04:05Z hi", 23));
    CHECK(!fr_log_detect("main.c", (const unsigned char *)"int main;", 9));
    return check_done("test_logs");
}
