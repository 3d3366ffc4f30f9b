/*
 * detect: bytes + rules -> matches. One shared, read-only engine (a Hyperscan
 * database holding every rule, and the PCRE2 JIT codes that confirm hits) and
 * one scanner per thread (Hyperscan scratch, PCRE2 match data, JIT stack).
 * Never includes libgit2 or SQLite.
 */
#ifndef FERRET_DETECT_H
#define FERRET_DETECT_H

#include "rules/rules.h"
#include "util/util.h"

#include <stddef.h>
#include <stdint.h>

typedef struct fr_engine fr_engine;
typedef struct fr_scanner fr_scanner;

typedef struct {
    /* Test mode: skip Hyperscan and treat every offset as a candidate for every
     * rule, which proves the confirm step alone decides what is reported. */
    int every_position;
    /* Directory for compiled Hyperscan databases keyed by the rule-set hash, so
     * rules are compiled once, not on every run (NULL: no cache). It must be the
     * user's own and not writable by others, or it is ignored. */
    const char *cache_dir;
    /* 'ferret:allow' on a match's line does not suppress it (a server hook:
     * pushed content must not allowlist its own secret). */
    int ignore_allow_comments;
} fr_engine_opts;

typedef struct {
    uint32_t rule;       /* index into the ruleset */
    size_t start, end;   /* whole match, byte offsets */
    size_t sstart, send; /* the secret (capture group 1), byte offsets */
    size_t line, column; /* 1-based position of the secret's first byte */
    int validated;       /* FR_VALID_NONE / _STRUCTURE / _CHECKSUM */
    unsigned view;       /* fr_scan_views: the view the offsets refer to (else 0) */
    /* A weak real password (admin123, a dictionary word, 123456) where the
     * rule's config guard judged the value: only a scanner that keeps them
     * (fr_scanner_keep_weak) returns such matches, for its caller to report
     * in credential and configuration files alone (fr_is_credential_path). */
    int weak;
} fr_match;

enum { FR_VALID_NONE = 0, FR_VALID_STRUCTURE = 1, FR_VALID_CHECKSUM = 2 };
/* What the pipeline stores as a finding's 'validated' for a weak password
 * (fr_match.weak; never validated): reports show it as 'weak' at confidence
 * low. The store keeps the greatest value seen, so a finding also seen as
 * an ordinary match loses the mark. */
#define FR_VALID_WEAK (-1)
/* A validator's verdict that the match is not its rule's (another rule of the
 * same text reports it): the match is dropped like a guarded one. */
#define FR_VALID_REJECT (-2)
/* Runs the named offline validator on a secret s[0..n) found in the match
 * m[0..mn): FR_VALID_*, or -1 for an unknown name. */
int fr_validate(const char *validator, const unsigned char *s, size_t n, const unsigned char *m,
                size_t mn);
/*
 * Credential containers by their raw bytes (containers.c): text views blank
 * binary content, so callers check the content itself before its views.
 * PKCS#12 (keystore.pkcs12, or keystore.pkcs12-passwordless when its MAC
 * verifies with the empty password, or it has no MAC and nothing encrypted),
 * Java keystores (keystore.jks, keystore.jceks) and KeePass databases
 * (keystore.kdbx, also KDB 1.x), each recognised by its magic at offset 0 and
 * walked for structure; stores holding no key (certificate bundles,
 * truststores) are not containers of secrets. Anything else costs a compare of
 * its first bytes. The secret is the whole content.
 */
typedef struct {
    const char *rule_id; /* the rule reporting it (a static string) */
    int validated;       /* FR_VALID_STRUCTURE, or _CHECKSUM: an empty password verified */
    char what[128];      /* what was checked and found, for the preview */
} fr_container;
/* 1 when d[0..n) is a credential container (out filled), else 0. */
int fr_container_sniff(const unsigned char *d, size_t n, fr_container *out);
/* The validators of the same containers written as base64 in text ("keystore",
 * "keystore-passwordless"): the decoded whole judged as fr_container_sniff
 * would, a cut-short prefix by its header; FR_VALID_REJECT when the content is
 * the other rule's (password-less or not) or no container. */
int fr_container_base64(const unsigned char *s, size_t n, int passwordless);
/* Marvin32 (Microsoft's checksum of identifiable keys): the 64-bit state and
 * the 32-bit checksum (its halves XORed). Exposed for unit tests. */
uint64_t fr_marvin64(uint64_t seed, const unsigned char *d, size_t n);
uint32_t fr_marvin32(uint64_t seed, const unsigned char *d, size_t n);

typedef struct {
    uint64_t hits;       /* candidate positions reported by the prefilter */
    uint64_t confirms;   /* PCRE2 confirm calls */
    uint64_t limit_hits; /* confirms stopped by the PCRE2 match limit */
    uint64_t allowed;    /* matches suppressed by ferret:allow */
    uint64_t guarded;    /* matches dropped by entropy / placeholder / keyword guards */
} fr_scan_stats;

/* Compiles every rule into one engine. On failure fr_error() reads
 * "FILE:LINE: rule ID: reason". The ruleset must outlive the engine. */
int fr_engine_new(fr_engine **out, const fr_ruleset *rs, const fr_engine_opts *opts);
void fr_engine_free(fr_engine *e);
const fr_ruleset *fr_engine_rules(const fr_engine *e);

/* Compiles each rule alone in both engines; appends one "FILE:LINE: ..." line per
 * failing rule to errors. Returns the number of failing rules. */
size_t fr_engine_check_compile(const fr_ruleset *rs, fr_buf *errors);

/* What one rule costs, in CPU seconds of the calling thread: compiling it alone
 * (Hyperscan and PCRE2 with JIT), and scanning text with an engine of that rule
 * alone (the best of a few runs, after a warm-up run; prefilter and confirms). */
typedef struct {
    double compile_s, scan_s;
    uint64_t hits, confirms; /* of one scan of the text */
} fr_rule_cost;
/* Fills cost[0..rs->n). Returns FR_OK, or FR_ERR when a rule does not compile. */
int fr_engine_rule_costs(const fr_ruleset *rs, const unsigned char *text, size_t len,
                         fr_rule_cost *cost);
/* CPU seconds of the calling thread. */
double fr_thread_cpu_seconds(void);

int fr_scanner_new(fr_scanner **out, const fr_engine *e);
/* Whether s returns weak matches (fr_match.weak); off by default: a weak
 * value is then dropped like a placeholder. */
void fr_scanner_keep_weak(fr_scanner *s, int keep);
void fr_scanner_free(fr_scanner *s);
/* The engine a scanner scans with. */
const fr_engine *fr_scanner_engine(const fr_scanner *s);

/* Largest buffer fr_scan accepts (Hyperscan takes a 32-bit length). */
#define FR_SCAN_MAX ((size_t)1 << 31)

/* Scans data[0..len). *matches (sorted by offset) stays valid until the next
 * call on this scanner. Returns FR_OK or FR_ERR. */
int fr_scan(fr_scanner *s, const unsigned char *data, size_t len, const fr_match **matches,
            size_t *nmatches);
/* fr_scan for content of known origins (FR_APPLIES_* bits, rules/rules.h):
 * only the candidates of rules whose applies_to holds one of them are
 * confirmed (a source file's "key:" lines cost no pipeline-variable confirm).
 * Every match of a rule that runs is the same as fr_scan's: a rule that does
 * not apply to an origin never hides one that does (resolve_overlaps).
 * FR_APPLIES_ALL runs every rule (fr_scan); content whose origin is not known
 * yet must be scanned with it. */
int fr_scan_for(fr_scanner *s, unsigned origins, const unsigned char *data, size_t len,
                const fr_match **matches, size_t *nmatches);
/* Counters of the last fr_scan call. */
const fr_scan_stats *fr_scanner_stats(const fr_scanner *s);

/* Guards applied to every candidate secret (exposed for unit tests). */
int fr_is_placeholder(const char *s, size_t n);
/* Decoys: a secret d[ss..se) shaped like a UUID, an integrity hash or base64
 * image data, plus the rule's opt-in FR_GUARD_* checks. */
/* Returns 0, 1 (a decoy) or FR_DECOY_WEAK: FR_GUARD_CONFIG judged the value a
 * weak real password and no other guard a decoy. */
int fr_is_decoy(const unsigned char *d, size_t ss, size_t se, unsigned guards);
#define FR_DECOY_WEAK 2
/* Whether path names a credential or configuration file, where a weak
 * password is a leaked one (.env, .netrc, .pgpass, *.ini, *.conf, a tool's
 * connection or site file, ...), not a template, example, test or doc: 0, 1,
 * or FR_CREDENTIAL_CODE for an application's configuration written as source
 * code (config.php, settings.py), where an unquoted word is a name, not a
 * password (fr_weak_bare). */
int fr_is_credential_path(const char *path);
#define FR_CREDENTIAL_CODE 2
/* A weak password d[ss..se) of letters alone, or a camelCase identifier, and
 * not quoted (password = swordfish, secret = purpleMonkeyDishwasher7): reported
 * in credential files that are not source code alone. */
int fr_weak_bare(const unsigned char *d, size_t ss, size_t se);
/* FR_GUARD_GENERIC, for a match starting at d[start] whose secret is d[ss..se):
 * 1 when the name the value is assigned to (the last name in d[start..ss)
 * ending in password / secret / token / key / ...) is not a secret's, or the
 * value is an identifier, phrase, path, HTML-escaped template or typed runs. */
int fr_generic_decoy(const unsigned char *d, size_t start, size_t ss, size_t se);
/* Whether d[ss..se) is a word of letters alone under a password's name (the
 * generic rule's weak-password case of fr_is_decoy), whatever its entropy:
 * swordfish and mongopass repeat letters and fall under a 3-bit floor. */
int fr_generic_weak_word(const unsigned char *d, size_t ss, size_t se);
/*
 * What is scanned for content, so that no NUL or control byte hides the text
 * around it: its views (one function decides them; fr_scan_views scans them).
 * - Content with no NUL and no control byte (other than \t \n \v \f \r and ESC)
 *   has one view, the content itself (nothing is copied).
 * - Other content always has the byte view: the same length, every NUL,
 *   control byte, DEL and byte not part of valid UTF-8 a space, and so is a
 *   run of text shorter than FR_TEXT_VIEW_MIN_RUN between them (binary noise);
 *   newlines are kept, so offsets, lines and columns are those of the content.
 * - When that content also looks like UTF-16 (a BOM, or the alternating-NUL
 *   pattern of ASCII-range text in the first FR_UTF16_SAMPLE bytes), its
 *   transcoding to UTF-8 is a second view (NULs and control characters as
 *   spaces: same lines, other offsets). The guess never replaces the byte
 *   view: ASCII after a BOM or after UTF-16 text is seen there.
 * The views stay valid while data does; release them with fr_text_views_release.
 */
typedef struct {
    size_t n; /* 1 or 2 */
    const unsigned char *p[2];
    size_t len[2];
    fr_buf buf[2]; /* what the views not the content itself are held in */
} fr_text_views;
size_t fr_text_views_of(fr_text_views *tv, const unsigned char *data, size_t len);
void fr_text_views_release(fr_text_views *tv);

/* Scans views v[0..n) (n <= 2: the views of one content) and merges their
 * matches: each match's view says which view its offsets, line and column are
 * those of; a match whose rule and secret bytes a match of an earlier view has
 * is dropped (one secret, seen through two views). Matches come view by view,
 * each view's sorted by offset; valid until the next scan on this scanner, and
 * fr_scanner_stats adds up the views. With one view this is fr_scan. */
int fr_scan_views(fr_scanner *s, const unsigned char *const *v, const size_t *len, size_t n,
                  const fr_match **matches, size_t *nmatches);
/* fr_scan_views with the rules of origins only (fr_scan_for). */
int fr_scan_views_for(fr_scanner *s, unsigned origins, const unsigned char *const *v,
                      const size_t *len, size_t n, const fr_match **matches, size_t *nmatches);

#endif
