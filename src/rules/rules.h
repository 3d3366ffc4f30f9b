/*
 * rules: rule files (patterns/<name>.yml, embedded at build time, plus an optional
 * directory that adds or overrides files by name) parsed into a ruleset.
 * Knows YAML; knows nothing of regex engines — the detect stage compiles.
 */
#ifndef FERRET_RULES_H
#define FERRET_RULES_H

#include <stddef.h>

typedef struct {
    char *text;
    int line; /* line in the rule file where this item is written */
} fr_rule_example;

typedef struct {
    char *id, *name, *description, *pattern;
    /* What Hyperscan runs instead of the pattern (YAML "prefilter"; NULL: the
     * pattern): an expression, often a literal, that every match of the
     * pattern holds, ending within the match's first max_length bytes; PCRE2
     * confirms the pattern around each hit. For patterns whose long bounded
     * repeats cost Hyperscan more to compile than they save. */
    char *prefilter;
    char *severity;   /* critical | high | medium | low | info */
    char *confidence; /* high | medium | low */
    char *attack;     /* MITRE ATT&CK technique id, e.g. T1552.001 */
    /* What a match is (YAML "kind"): FR_KIND_SECRET (the default), a credential
     * whose bytes are the finding, or FR_KIND_INDICATOR, a trace of an attack
     * (a command, a URL) whose matched text is the finding, reported apart and
     * never counted as a leaked credential. */
    int kind;
    /* ATT&CK version the technique was mapped under ("18"): techniques move
     * between tactics across versions. Required for indicators. */
    char *attack_version;
    /* Where the rule applies (YAML "applies_to"): FR_APPLIES_* bits. Secrets
     * apply everywhere (FR_APPLIES_ALL); indicators must name their origins, as
     * the same text in a security tool's source code is no attack. */
    unsigned applies_to;
    /* Where a secret rule applies by path (YAML "paths"): globs (fnmatch, '*'
     * stays within a name) a place's path matches, or one of its tails after a
     * '/' ("config/master.key" matches "app/config/master.key"; an archive
     * member's name is its path). None: every path. See fr_rule_path_matches. */
    char **paths;
    size_t npaths;
    char **keywords; /* case-insensitive; when present one must be near the match */
    size_t nkeywords;
    char **references;
    size_t nreferences;
    fr_rule_example *examples, *negatives;
    size_t nexamples, nnegatives;
    double min_entropy; /* bits per byte of the secret; 0 = no gate */
    size_t max_length;  /* longest match the rule can produce: bounds the confirm window */
    char *validate;     /* offline validator of the secret's own proof (NULL: none) */
    char **ignore;      /* published values (documentation, emulators) never reported */
    size_t nignore;
    unsigned guards; /* FR_GUARD_* decoy checks beyond the ones every rule gets */
    char *file;      /* rule file the rule came from */
    int line;        /* line of the rule's entry in that file */
} fr_rule;

/* Opt-in decoy guards (YAML "guards: [hex-digest, words]"), meant for rules
 * that match by context alone rather than by a token format. */
enum {
    FR_GUARD_HEX_DIGEST = 1, /* hex strings of digest length: commit ids, SHA-256 sums */
    FR_GUARD_WORDS = 2,      /* dictionary words and templates: changeme, example-key, ... */
    /* Passwords in a clear context (config keys, connection strings, dotfiles):
     * template syntaxes of every tool, secret-store references, env lookups and
     * the short list of words put where a password goes; a weak real password
     * (hunter2) is not dropped, unlike with FR_GUARD_WORDS. */
    FR_GUARD_CONFIG = 4,
    /* Stand-ins written in a token's own format (sk-proj-EXAMPLE..., AIza...
     * yourkeyhere, hf_abcdefghij...): documentation words, "your key here"
     * phrases, runs of x and keyboard sequences inside the token. Unlike
     * FR_GUARD_WORDS it never judges a token by its letters alone, so formats
     * whose alphabet may lack digits keep their recall. */
    FR_GUARD_DOC = 8,
    /* Values found by a secret-sounding name alone (the generic rules): the
     * name must be a secret's (not csrf_token, publicToken, max_tokens,
     * PUBLIC_KEY, pad_token, ...) and the value not an identifier or phrase
     * (openai-access-token-1, xoxb-users_list_page_1), a path, an HTML-escaped
     * template (&lt;TOKEN&gt;) or typed runs (8888...zzz). See fr_generic_decoy. */
    FR_GUARD_GENERIC = 16,
    /* Not a guard but an opt-out: UUID-shaped secrets are reported (context-
     * anchored rules of providers whose keys are UUIDs: Heroku, Snyk, ...);
     * every other rule drops UUIDs as identifiers. */
    FR_GUARD_UUID_OK = 32,
};

enum { FR_KIND_SECRET = 0, FR_KIND_INDICATOR = 1 };
/* "secret" / "indicator" */
const char *fr_kind_name(int kind);

/* Content origins a rule applies to. A log is content the CI log normaliser
 * recognises, or found at a place whose layout names a CI run or job; a
 * pipeline definition is a file at a CI system's definition path
 * (fr_is_pipeline_definition). */
enum {
    FR_APPLIES_LOGS = 1,
    FR_APPLIES_PIPELINE_DEFS = 2,
    FR_APPLIES_OTHER = 4, /* any other content */
    FR_APPLIES_ALL = 7,
};
/* Whether path (a repository-relative path, a file's path or an archive
 * member's "container!member") names a CI pipeline definition: GitHub Actions
 * workflows (YAML files in .github/workflows), Azure Pipelines (azure-pipelines
 * YAML files, YAML under .azure-pipelines), GitLab CI (.gitlab-ci.yml and files
 * ending in .gitlab-ci.yml), files named Jenkinsfile..., Bitbucket
 * (bitbucket-pipelines.yml), CircleCI (.circleci/config.yml), Travis
 * (.travis.yml) and Buildkite (YAML in .buildkite, buildkite.yml). */
int fr_is_pipeline_definition(const char *path);
/* Whether path (as fr_is_pipeline_definition takes it) matches one of r's
 * paths; 1 for a rule without paths. */
int fr_rule_path_matches(const fr_rule *r, const char *path);

typedef struct {
    fr_rule *rules;
    size_t n;
    size_t nindicators; /* rules of kind FR_KIND_INDICATOR */
    char hash[65];      /* SHA-256 over the effective rule files: the rule-set version */
} fr_ruleset;

/* A rule file compiled into the binary; the table ends with name == NULL. */
typedef struct {
    const char *name;
    const char *data;
    size_t len;
} fr_embedded_file;
extern const fr_embedded_file fr_embedded_rules[];

/*
 * Loads the built-in rule files, then every *.yml / *.yaml file of dir (may be
 * NULL): a file whose name matches a built-in one replaces it. On error returns
 * FR_ECORRUPT / FR_ERR and fr_error() reads "FILE:LINE: reason".
 * *out is the caller's to free with fr_ruleset_free.
 */
int fr_rules_load(fr_ruleset **out, const char *dir);
/* fr_rules_load, the parse cached in cache_dir (NULL: none), beside the
 * engine's compiled database: a cached parse is used only when its header
 * names this ferret version, the rule-set hash of the files' bytes and their
 * names and sizes, and its checksum holds (src/rules/cache.c). */
int fr_rules_load_cached(fr_ruleset **out, const char *dir, const char *cache_dir);
/* fr_rules_load_buffers through that cache (cache_dir NULL: no cache). */
int fr_rules_cache_load(fr_ruleset **out, const char *const *names, const char *const *datas,
                        const size_t *lens, size_t nfiles, const char *cache_dir);
/* When rules.c was built (part of the parse cache's identity). */
extern const char fr_rules_parser_build[];
/* The rule-set hash (fr_ruleset.hash) of rule files' bytes. */
void fr_rules_hash(const char *const *datas, const size_t *lens, size_t nfiles, char out[65]);

/* Parses one rule file held in memory (used by load and by unit tests). */
int fr_rules_load_buffers(fr_ruleset **out, const char *const *names, const char *const *datas,
                          const size_t *lens, size_t nfiles);

void fr_ruleset_free(fr_ruleset *rs);

/* Maps a severity name to a SARIF level / a numeric 0..10 security severity. */
const char *fr_severity_level(const char *severity);
const char *fr_severity_score(const char *severity);

#endif
