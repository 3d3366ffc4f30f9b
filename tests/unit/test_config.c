/*
 * test_config.c: gitignore-style path patterns (fr_config_path_match) and the
 * verdicts of a loaded .ferret.yml (fr_config_drops, severity, baseline).
 */
#include "check.h"
#include "config/config.h"
#include "util/util.h"

#include <stdlib.h>
#include <unistd.h>

static void test_patterns(void)
{
    /* a trailing '/': directories only, and everything under them, at any depth */
    CHECK(fr_config_path_match("vendor/", "vendor/x.js"));
    CHECK(fr_config_path_match("vendor/", "a/vendor/b/x.js"));
    CHECK(!fr_config_path_match("vendor/", "vendor"));
    CHECK(!fr_config_path_match("vendor/", "vendors/x.js"));
    /* no '/': the name at any depth */
    CHECK(fr_config_path_match("*.min.js", "a/b/c.min.js"));
    CHECK(fr_config_path_match("*.min.js", "c.min.js"));
    CHECK(!fr_config_path_match("*.min.js", "c.min.jsx"));
    /* a leading or inner '/': anchored at the root */
    CHECK(fr_config_path_match("/build", "build/out.txt"));
    CHECK(!fr_config_path_match("/build", "src/build/out.txt"));
    CHECK(fr_config_path_match("src/*.c", "src/a.c"));
    CHECK(!fr_config_path_match("src/*.c", "src/x/a.c"));
    /* '**' crosses directories */
    CHECK(fr_config_path_match("docs/**", "docs/a/b.md"));
    CHECK(!fr_config_path_match("docs/**", "docs"));
    CHECK(fr_config_path_match("a/**/b", "a/b"));
    CHECK(fr_config_path_match("a/**/b", "a/x/y/b"));
    CHECK(!fr_config_path_match("a/**/b", "a/xb"));
    CHECK(fr_config_path_match("**/foo", "foo"));
    CHECK(fr_config_path_match("**/foo", "x/y/foo"));
    /* classes, '?', escapes */
    CHECK(fr_config_path_match("[a-c]?.txt", "b1.txt"));
    CHECK(!fr_config_path_match("[a-c]?.txt", "d1.txt"));
    CHECK(fr_config_path_match("[!a-c]?.txt", "d1.txt"));
    CHECK(fr_config_path_match("\\*.txt", "*.txt"));
    CHECK(!fr_config_path_match("\\*.txt", "a.txt"));
    CHECK(!fr_config_path_match("a?b", "a/b")); /* '?' never matches '/' */
    /* a pattern ending in '[' is a literal '[' (its compile read past the end
     * of a buffer filled exactly: "**" "/" + 60 bytes + NUL) */
    char open_class[61];
    memset(open_class, 'a', 59);
    open_class[59] = '[';
    open_class[60] = 0;
    CHECK(fr_config_path_match(open_class, open_class));
    CHECK(!fr_config_path_match(open_class, "x"));
    /* archive members are matched as directories of the archive */
    CHECK(fr_config_path_match("*.zip/", "logs/a.zip/member.txt"));
    /* a hostile pattern stays linear: many stars against a long path */
    char path[4001];
    memset(path, 'a', 4000);
    path[4000] = 0;
    double t0 = fr_monotonic();
    CHECK(!fr_config_path_match("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", path));
    CHECK(fr_monotonic() - t0 < 1.0);
}

static void test_load(void)
{
    char dir[] = "/tmp/ferret-test-config.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    fr_buf p = {0};
    fr_buf_printf(&p, "%s/.ferret.yml", dir);
    FILE *f = fopen(p.p, "w");
    fputs("version: 1\n"
          "exclude: [\"gen/\", \"!gen/keep.env\"]\n"
          "disable: [\"azure.*\"]\n"
          "allowlist: {values: [\"VALUE1\"], regexes: [\"^test-\"], paths: [\"docs/**\"]}\n"
          "rules:\n"
          "  github.pat: {allowlist: {values: [\"VALUE2\"]}, severity: low}\n"
          "baseline:\n"
          "  - {id: 0123456789AB, reason: known, expires: 2099-12-31}\n",
          f);
    fclose(f);
    fr_config *c = NULL;
    CHECK(fr_config_find(&c, dir) == FR_OK && c);
    if (c) {
        fr_buf src = {0};
        fr_buf_printf(&src, "%s/src/a.env", dir);
        CHECK(!fr_config_drops(c, "github.pat", "TOKEN", 5, src.p));
        CHECK(fr_config_drops(c, "azure.sas-token", "TOKEN", 5, src.p)); /* disabled */
        CHECK(fr_config_drops(c, "github.pat", "VALUE1", 6, src.p));     /* global value */
        CHECK(fr_config_drops(c, "github.pat", "VALUE2", 6, src.p));     /* the rule's value */
        CHECK(!fr_config_drops(c, "other.rule", "VALUE2", 6, src.p));    /* not another's */
        CHECK(fr_config_drops(c, "github.pat", "test-123", 8, NULL));    /* regex, no path */
        CHECK(fr_config_drops(c, "github.pat", "TOKEN", 5, "docs/x/y.md"));
        CHECK(fr_config_drops(c, "github.pat", "TOKEN", 5, "gen/a.env"));
        CHECK(!fr_config_drops(c, "github.pat", "TOKEN", 5, "gen/keep.env")); /* negated */
        CHECK(fr_config_excluded(c, "a.zip!gen/b.env"));
        CHECK_STR(fr_config_severity(c, "github.pat"), "low");
        CHECK(fr_config_severity(c, "aws.key") == NULL);
        const fr_baseline_entry *b;
        CHECK(fr_config_baseline(c, &b) == 1);
        CHECK_STR(b[0].fid, "0123456789ab"); /* ids are lowercase */
        CHECK_STR(b[0].expires, "2099-12-31");
        fr_buf_release(&src);
    }
    fr_config_free(c);
    unlink(p.p);
    rmdir(dir);
    fr_buf_release(&p);
    /* no file: no config, no error */
    c = (fr_config *)1;
    CHECK(fr_config_find(&c, "/nonexistent-dir") == FR_OK && c == NULL);
}

int main(void)
{
    test_patterns();
    test_load();
    return check_done("test_config");
}
