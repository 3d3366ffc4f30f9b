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
    char *severity;   /* critical | high | medium | low | info */
    char *confidence; /* high | medium | low */
    char *attack;     /* MITRE ATT&CK technique id, e.g. T1552.001 */
    char **keywords;  /* case-insensitive; when present one must be near the match */
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

typedef struct {
    fr_rule *rules;
    size_t n;
    char hash[65]; /* SHA-256 over the effective rule files: the rule-set version */
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

/* Parses one rule file held in memory (used by load and by unit tests). */
int fr_rules_load_buffers(fr_ruleset **out, const char *const *names, const char *const *datas,
                          const size_t *lens, size_t nfiles);

void fr_ruleset_free(fr_ruleset *rs);

/* Maps a severity name to a SARIF level / a numeric 0..10 security severity. */
const char *fr_severity_level(const char *severity);
const char *fr_severity_score(const char *severity);

#endif
