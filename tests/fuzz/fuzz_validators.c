/*
 * fuzz_validators: every offline validator of src/detect/validators.c on
 * arbitrary secrets. The first input byte selects the validator, the second
 * where the secret starts inside the match window (the rest of the input); the
 * secret runs to the window's end, so a read past either is a read past the
 * input. Each must return an FR_VALID_* value (or FR_VALID_REJECT) and never
 * crash, leak or run unbounded (a PEM validator once ran PBKDF2 with an
 * input-chosen count). The window also goes through fr_container_sniff, the
 * raw-bytes check of PKCS#12, keystores and KeePass files.
 */
#include "detect/detect.h"
#include "fuzz.h"
#include "rules/rules.h"

#include <string.h>

/* The names fr_validate knows (keep in step with its dispatch); names the
 * built-in rules use are added at start-up, so a new validator a rule refers
 * to is fuzzed even before it is listed here. */
static const char *const KNOWN[] = {
    "azdo-legacy-crc32",
    "azure-cask",
    "azure-identifiable",
    "base62-crc32",
    "docker-auth",
    "entra-secret",
    "gcp-service-account",
    "jwt",
    "pem-base64",
    "pem-key",
    /* appended, so the first byte of older corpus inputs keeps its meaning */
    "age-bech32",
    "pypi-macaroon",
    "sentry-org-token",
    "keystore",
    "keystore-passwordless",
};
#define NKNOWN    (sizeof KNOWN / sizeof KNOWN[0])
#define MAX_NAMES 64

static char *names[MAX_NAMES];
static size_t nnames;

static void add_name(const char *n)
{
    for (size_t i = 0; i < nnames; i++)
        if (!strcmp(names[i], n)) return;
    FUZZ_ASSERT(nnames < MAX_NAMES);
    names[nnames++] = fr_xstrdup(n);
}

/* The names live until exit: they are the target's static table. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    for (size_t i = 0; i < NKNOWN; i++)
        add_name(KNOWN[i]);
    fr_ruleset *rs = NULL;
    if (fr_rules_load(&rs, NULL) != FR_OK) {
        fprintf(stderr, "fuzz_validators: built-in rules: %s\n", fr_error());
        abort();
    }
    for (size_t i = 0; i < rs->n; i++)
        if (rs->rules[i].validate) add_name(rs->rules[i].validate);
    fr_ruleset_free(rs);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 64 * 1024) return 0;
    const char *name = names[data[0] % nnames];
    size_t n = size - 2;
    size_t at = data[1] % (n + 1);
    const unsigned char *window = data + 2, *secret = window + at;
    int v = fr_validate(name, secret, n - at, window, n);
    FUZZ_ASSERT(v == FR_VALID_NONE || v == FR_VALID_STRUCTURE || v == FR_VALID_CHECKSUM ||
                v == FR_VALID_REJECT);
    /* The raw-bytes check of credential containers on the same bytes. */
    fr_container ct;
    if (fr_container_sniff(window, n, &ct))
        FUZZ_ASSERT(ct.rule_id &&
                    (ct.validated == FR_VALID_STRUCTURE || ct.validated == FR_VALID_CHECKSUM));
    return 0;
}
