/*
 * test_shard.c: shard specs and ownership — stability (values fixed across
 * hosts and releases), exactly-once coverage, balance.
 */
#include "check.h"
#include "util/shard.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_parse(void)
{
    fr_shard s = {9, 9};
    CHECK(fr_shard_parse("0/1", &s) == FR_OK && s.index == 0 && s.count == 1);
    CHECK(fr_shard_parse("3/4", &s) == FR_OK && s.index == 3 && s.count == 4);
    CHECK(fr_shard_parse("4/4", &s) != FR_OK);
    CHECK(fr_shard_parse("-1/4", &s) != FR_OK);
    CHECK(fr_shard_parse("1/0", &s) != FR_OK);
    CHECK(fr_shard_parse("1", &s) != FR_OK);
    CHECK(fr_shard_parse("/4", &s) != FR_OK);
    CHECK(fr_shard_parse("1/4x", &s) != FR_OK);
    CHECK(fr_shard_parse("1/65537", &s) != FR_OK);
}

static void clear_env(void)
{
    static const char *const vars[] = {
        "FERRET_SHARD_INDEX",     "FERRET_SHARD_COUNT",        "SLURM_ARRAY_TASK_ID",
        "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN",      "JOB_COMPLETION_INDEX",
        "JOB_COMPLETIONS",        "SYSTEM_JOBPOSITIONINPHASE", "SYSTEM_TOTALJOBSINPHASE"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        unsetenv(vars[i]);
}

static void test_env(void)
{
    fr_shard s = {0, 0};
    clear_env();
    CHECK(fr_shard_parse("auto", &s) == FR_ENOTFOUND);
    setenv("SLURM_ARRAY_TASK_ID", "5", 1);
    setenv("SLURM_ARRAY_TASK_COUNT", "4", 1);
    setenv("SLURM_ARRAY_TASK_MIN", "3", 1); /* --array=3-6 */
    CHECK(fr_shard_parse("auto", &s) == FR_OK && s.index == 2 && s.count == 4);
    setenv("SLURM_ARRAY_TASK_MIN", "0", 1);
    CHECK(fr_shard_parse("auto", &s) != FR_OK); /* 5 of 4 */
    clear_env();
    setenv("JOB_COMPLETION_INDEX", "1", 1);
    CHECK(fr_shard_parse("auto", &s) == FR_ERR); /* no count */
    setenv("JOB_COMPLETIONS", "8", 1);
    CHECK(fr_shard_parse("auto", &s) == FR_OK && s.index == 1 && s.count == 8);
    clear_env();
    setenv("SYSTEM_JOBPOSITIONINPHASE", "1", 1);
    setenv("SYSTEM_TOTALJOBSINPHASE", "3", 1);
    CHECK(fr_shard_parse("auto", &s) == FR_OK && s.index == 0 && s.count == 3);
    setenv("FERRET_SHARD_INDEX", "2", 1); /* ferret's own variables come first */
    setenv("FERRET_SHARD_COUNT", "3", 1);
    CHECK(fr_shard_parse("auto", &s) == FR_OK && s.index == 2 && s.count == 3);
    clear_env();
}

/* The assignment must never change between hosts or releases: a shard's
 * incremental state and a re-run of one shard depend on it. */
static void test_stable(void)
{
    CHECK(fr_shard_hash("org/a.git", 9) == 0xf978573d2aafbb58ull);
    fr_shard s4[4];
    int owner = -1;
    for (uint32_t i = 0; i < 4; i++) {
        s4[i] = (fr_shard){i, 4};
        if (fr_shard_owns_name(&s4[i], "org/a.git")) owner = (int)i;
    }
    CHECK(owner == 3);
    unsigned char oid[20] = {0x40}; /* 0x40.. of 2^64: a quarter in, shard 1 of 4 */
    CHECK(fr_shard_owns_oid(&s4[1], oid) && !fr_shard_owns_oid(&s4[0], oid));
    fr_shard none = {0, 0};
    CHECK(fr_shard_owns_name(&none, "anything") && fr_shard_owns_oid(&none, oid));
}

/* Every name is owned by exactly one shard, for every N; the largest shard of a
 * large set holds close to the mean. */
static void test_exactly_once_and_balance(void)
{
    enum { NAMES = 20000 };
    int ok = 1;
    double worst = 0;
    for (uint32_t n = 1; n <= 9; n++) {
        unsigned counts[9] = {0};
        for (int k = 0; k < NAMES; k++) {
            char name[64];
            snprintf(name, sizeof name, "mirrors/team-%d/repo-%d.git", k % 37, k);
            unsigned char oid[32];
            fr_sha256(name, strlen(name), oid); /* a stand-in object id (its first 20 bytes) */
            int owners = 0, oid_owners = 0;
            for (uint32_t i = 0; i < n; i++) {
                fr_shard s = {i, n};
                if (fr_shard_owns_name(&s, name)) owners++, counts[i]++;
                oid_owners += fr_shard_owns_oid(&s, oid);
            }
            if (owners != 1 || oid_owners != 1) ok = 0;
        }
        for (uint32_t i = 0; i < n; i++) {
            double r = counts[i] / ((double)NAMES / n);
            if (r > worst) worst = r;
        }
    }
    CHECK(ok);
    /* 2222 names a shard at N=9: a standard deviation is 2%; 1.10 is 4.5 of them */
    CHECK(worst < 1.10);
    printf("shard balance: largest of N=1..9 over 20000 names: %.3f x mean\n", worst);
}

int main(void)
{
    test_parse();
    test_env();
    test_stable();
    test_exactly_once_and_balance();
    return check_done("test_shard");
}
