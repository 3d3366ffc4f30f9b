/*
 * guards.c: cheap checks that turn a regex match into a finding or not —
 * placeholders and templates that look like secrets but are not, and the
 * binary-content sniff.
 */
#include "detect/detect.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static int contains_ci(const char *s, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++)
        if (!strncasecmp(s + i, needle, m)) return 1;
    return 0;
}

int fr_is_placeholder(const char *s, size_t n)
{
    if (n == 0) return 1;
    /* Template and variable references: ${VAR}, $(cmd), {{ secrets.X }}, <YOUR_TOKEN>. */
    if (memchr(s, '<', n) && memchr(s, '>', n)) return 1;
    if (n >= 2 && (memmem(s, n, "${", 2) || memmem(s, n, "$(", 2) || memmem(s, n, "{{", 2)))
        return 1;
    /* Masked values as CI systems print them, and elided ones. */
    if (memmem(s, n, "***", 3) || memmem(s, n, "...", 3) || memmem(s, n, "\xe2\x80\xa6", 3))
        return 1;
    if (contains_ci(s, n, "xxxx")) return 1;
    /* A run of one character is never a credential. */
    size_t same = 1;
    for (size_t i = 1; i < n; i++)
        same += s[i] == s[0];
    if (same == n && n > 1) return 1;
    return 0;
}

static int all_of(const char *s, size_t n, const char *set)
{
    for (size_t i = 0; i < n; i++)
        if (!strchr(set, s[i]) || !s[i]) return 0;
    return 1;
}

/* 8-4-4-4-12 hex digits, optionally braced. */
static int is_uuid(const char *s, size_t n)
{
    if (n == 38 && s[0] == '{' && s[37] == '}') s++, n -= 2;
    if (n != 36) return 0;
    for (size_t i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i])) return 0;
    }
    return 1;
}

/* Words people put where a secret goes: compared with the secret lowercased,
 * with everything but letters and digits dropped. */
static const char *const WORDS[] = {
    "changeme",    "changeit",  "password", "passw0rd",   "secret",    "mysecret",
    "supersecret", "token",     "apikey",   "example",    "sample",    "dummy",
    "placeholder", "redacted",  "removed",  "notasecret", "notsecret", "none",
    "null",        "undefined", "empty",    "default",    "admin",     "letmein",
    "qwerty",      "test",      "testing",  "foobar",     "hunter2",   "insertyourkeyhere",
    NULL};

static const char *const DOC_WORDS[] = {"example",  "sample",  "dummy", "placeholder", "changeme",
                                        "redacted", "notreal", "fake",  NULL};

static const char *const WORD_PREFIXES[] = {"your", "my",    "example",  "sample",  "dummy",
                                            "fake", "test",  "changeme", "replace", "insert",
                                            "put",  "enter", "todo",     "fixme",   NULL};

int fr_is_decoy(const unsigned char *d, size_t ss, size_t se, unsigned guards)
{
    const char *s = (const char *)d + ss;
    size_t n = se - ss;
    /* Everywhere: UUIDs, subresource/lockfile integrity hashes, base64 image data. */
    if (is_uuid(s, n)) return 1;
    if ((n > 7 && !strncmp(s, "sha512-", 7)) || (n > 7 && !strncmp(s, "sha384-", 7)) ||
        (n > 7 && !strncmp(s, "sha256-", 7)) || (n > 5 && !strncmp(s, "sha1-", 5)))
        return 1;
    size_t lo = ss > 64 ? ss - 64 : 0, hi = se < ss + 16 ? se : ss + 16;
    if (memmem(d + lo, hi - lo, "data:image/", 11) || memmem(d + lo, hi - lo, "data:font/", 10))
        return 1;
    if ((guards & FR_GUARD_HEX_DIGEST) && (n == 32 || n == 40 || n == 64 || n == 128) &&
        (all_of(s, n, "0123456789abcdef") || all_of(s, n, "0123456789ABCDEF")))
        return 1;
    if (guards & FR_GUARD_WORDS) {
        char w[256];
        size_t k = 0;
        for (size_t i = 0; i < n && k < sizeof w - 1; i++)
            if (isalnum((unsigned char)s[i])) w[k++] = (char)tolower((unsigned char)s[i]);
        w[k] = 0;
        for (int i = 0; WORDS[i]; i++) {
            size_t wl = strlen(WORDS[i]);
            /* the word alone, or followed by digits only (password123) */
            if (!strncmp(w, WORDS[i], wl) && all_of(w + wl, k - wl, "0123456789")) return 1;
        }
        /* A URL is where a secret is used, not the secret. */
        if ((n > 7 && !strncasecmp(s, "http://", 7)) || (n > 8 && !strncasecmp(s, "https://", 8)))
            return 1;
        /* Documentation values: AWS's ...EXAMPLEKEY, "sample-token", ... */
        for (int i = 0; DOC_WORDS[i]; i++)
            if (strstr(w, DOC_WORDS[i])) return 1;
        for (int i = 0; WORD_PREFIXES[i]; i++)
            if (!strncmp(w, WORD_PREFIXES[i], strlen(WORD_PREFIXES[i])) &&
                (n > strlen(WORD_PREFIXES[i]) &&
                 (s[strlen(WORD_PREFIXES[i])] == '-' || s[strlen(WORD_PREFIXES[i])] == '_' ||
                  isupper((unsigned char)s[strlen(WORD_PREFIXES[i])]))))
                return 1;
        /* Only letters (and separators): a phrase, not a credential. */
        size_t letters = 0;
        for (size_t i = 0; i < n; i++)
            letters += isalpha((unsigned char)s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.';
        if (letters == n) return 1;
    }
    return 0;
}

int fr_is_binary(const unsigned char *data, size_t len)
{
    size_t n = len < 8192 ? len : 8192;
    return memchr(data, 0, n) != NULL;
}
