/*
 * config: a repository's .ferret.yml (or the file given with --config), the
 * settings a team keeps beside its code:
 *
 *   version: 1
 *   exclude: ["vendor/", "*.min.js", "!vendor/ours.js"]   # gitignore syntax
 *   disable: [generic.password]                          # rule ids (globs)
 *   severity: {github.pat: critical}                     # overrides
 *   allowlist:                                           # every rule
 *     values: ["AKIA0000EXAMPLE0000"]                    # exact secrets
 *     regexes: ["^test-"]                                # PCRE2, on the secret
 *     paths: ["docs/", "test/fixtures/"]                   # gitignore syntax
 *   rules:                                               # one rule
 *     aws.access-key: {allowlist: {values: [...], regexes: [...], paths: [...]}}
 *   baseline:                                            # accepted finding ids
 *     - {id: 7k3m9qx2abcd, reason: "rotated in 2024", expires: 2026-12-31}
 *
 * schemas/ferret-config.schema.json describes it. Errors are "FILE:LINE: what",
 * like the rule files'; unknown keys are errors (a typo must not silently turn
 * a setting off). Paths are matched relative to the scanned root (for files on
 * disk: to the directory given to scan; for git: to the repository's root; an
 * archive member "a.zip!m" as "a.zip/m").
 *
 * Applying it (scan): excluded paths and allowlisted matches are not recorded,
 * disabled rules report nothing, severities are recorded overridden, baseline
 * ids are kept in the store (fr_store_set_baseline): those findings are
 * reported with status "baselined" until they expire and do not fail a scan.
 * The server hook uses only server-side configuration: it may call
 * fr_config_load on a file the server holds and fr_config_drops per match,
 * never read a pushed .ferret.yml.
 */
#ifndef FERRET_CONFIG_H
#define FERRET_CONFIG_H

#include "store/store.h"

#include <stddef.h>

#define FR_CONFIG_FILE "ferret.yml" /* at a scanned root, with a leading dot */
#define FR_CONFIG_MAX  (4u << 20)   /* bytes: a config file is small */

typedef struct fr_config fr_config;

/* Loads a config file. FR_ENOTFOUND when absent, FR_ECORRUPT ("FILE:LINE: ...")
 * when malformed. root: the directory its paths are relative to (NULL: the
 * file's own directory). */
int fr_config_load(fr_config **out, const char *path, const char *root);
/* Loads root/.ferret.yml when there is one (*out NULL otherwise, FR_OK). */
int fr_config_find(fr_config **out, const char *root);
void fr_config_free(fr_config *c);

/* The file it came from. */
const char *fr_config_path(const fr_config *c);
/* SHA-256 hex of what changes what a scan records (all but the baseline):
 * folded into the rules hash, so content is read again when it changes. */
const char *fr_config_digest(const fr_config *c);

/* Whether a match must not be recorded: its rule is disabled, its secret
 * (s[0..n)) is allowlisted by value or regex (globally or for the rule), or
 * path (a location's, may be NULL: not known) is excluded or allowlisted.
 * Safe from any thread. */
int fr_config_drops(const fr_config *c, const char *rule_id, const char *s, size_t n,
                    const char *path);
/* fr_config_drops with the signature of fr_pipeline_opts.drop_match (ctx: the
 * fr_config): po.drop_match = fr_config_drop_match, po.drop_ctx = cfg. */
int fr_config_drop_match(void *cfg, const char *rule_id, const char *s, size_t n, const char *path);
/* Whether path is excluded (gitignore semantics, the last matching pattern wins). */
int fr_config_excluded(const fr_config *c, const char *path);
/* The severity set for rule_id, or NULL. */
const char *fr_config_severity(const fr_config *c, const char *rule_id);
/* The baseline entries (valid while c lives). */
size_t fr_config_baseline(const fr_config *c, const fr_baseline_entry **out);

/* Gitignore-style matching of one pattern (no '!' prefix) against a relative
 * path: '*' and '?' stay within a component, '**' crosses them, a pattern
 * without '/' matches at any depth, a trailing '/' only directories (and so
 * everything under them). Exposed for tests. */
int fr_config_path_match(const char *pattern, const char *path);

#endif
