/* Unit tests for src/sources/logs: each kind of CI log decoration is removed,
 * the text it wraps is kept, and the number of lines never changes. */
#include "check.h"
#include "sources/logs.h"

static void norm_is(const char *in, const char *want)
{
    fr_buf out = {0};
    fr_log_normalize((const unsigned char *)in, strlen(in), &out);
    CHECK_STR(out.p ? out.p : "", want);
    size_t lin = 0, lout = 0;
    for (const char *p = in; *p; p++)
        lin += *p == '\n';
    for (size_t i = 0; i < out.len; i++)
        lout += out.p[i] == '\n';
    CHECK(lin == lout);
    fr_buf_release(&out);
}

int main(void)
{
    /* GitHub Actions: timestamps, group markers, CRLF, colour codes inside a value */
    norm_is("2026-01-02T03:04:05.1234567Z ##[group]Run env\r\n"
            "2026-01-02T03:04:05.1234567Z TOKEN=ghp_abc\x1b[0mdef\r\n",
            "Run env\nTOKEN=ghp_abcdef\n");
    norm_is("::add-mask::s3cr3t-value\n::group::Build\n", "s3cr3t-value\nBuild\n");
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
