/*
 * guards.c: cheap checks that turn a regex match into a finding or not —
 * placeholders and templates that look like secrets but are not, and the text
 * view that lets content with NUL or control bytes be scanned (nothing is
 * skipped as binary).
 */
#include "detect/detect.h"
#include "util/limits.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define FR_HAVE_AVX2_PATH 1
#endif

static int contains_ci(const char *s, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++)
        if (!strncasecmp(s + i, needle, m)) return 1;
    return 0;
}

/* s holds open (two bytes) with close somewhere after it. */
static int closed_after(const char *s, size_t n, const char *open, char close)
{
    const char *o = n >= 2 ? memmem(s, n, open, 2) : NULL;
    return o && memchr(o + 2, close, (size_t)(s + n - (o + 2))) != NULL;
}

/* <words>: a '<' closed by '>' with only letters, digits, spaces, '_', '-', '.'
 * between (<YOUR_TOKEN>, <PyPI token>, <password>). */
static int angle_template(const char *s, size_t n)
{
    for (const char *o = memchr(s, '<', n); o; o = memchr(o + 1, '<', (size_t)(s + n - o - 1))) {
        const char *c = o + 1;
        while (c < s + n && *c && (isalnum((unsigned char)*c) || strchr(" _-.", *c)))
            c++;
        if (c > o + 1 && c < s + n && *c == '>') return 1;
        if (o + 1 >= s + n) break;
    }
    return 0;
}

/* &lt;words&gt;: the same slot written in HTML (a page's
 * mongodb://&lt;dbuser&gt;:&lt;dbpassword&gt;@host). */
static int html_angle_template(const char *s, size_t n)
{
    /* memchr, not memmem: this runs on every candidate of every rule */
    for (const char *o = memchr(s, '&', n); o; o = memchr(o + 1, '&', (size_t)(s + n - o - 1))) {
        if ((size_t)(s + n - o) < 9) break;
        if (memcmp(o, "&lt;", 4)) continue;
        const char *c = o + 4;
        while (c < s + n && (isalnum((unsigned char)*c) || strchr(" _-.", *c)))
            c++;
        if (c > o + 4 && (size_t)(s + n - c) >= 4 && !memcmp(c, "&gt;", 4)) return 1;
    }
    return 0;
}

int fr_is_placeholder(const char *s, size_t n)
{
    if (n == 0) return 1;
    if (html_angle_template(s, n)) return 1;
    /* Template and variable references: ${VAR}, $(cmd), {{ secrets.X }}, <YOUR_TOKEN>,
     * each with its closing mark after it (a random salt holds '<' and '>' too). */
    if (angle_template(s, n) || closed_after(s, n, "${", '}') || closed_after(s, n, "$(", ')') ||
        closed_after(s, n, "{{", '}'))
        return 1;
    /* Masked values as CI systems print them, and elided ones. */
    if (memmem(s, n, "***", 3) || memmem(s, n, "...", 3) || memmem(s, n, "\xe2\x80\xa6", 3))
        return 1;
    /* xxxx / XXXX typed in one case; a drawn token mixing cases may hold
     * "Xxxx" by chance */
    if (memmem(s, n, "xxxx", 4) || memmem(s, n, "XXXX", 4)) return 1;
    /* {password}, {self.db_password}: a format string's field (f-strings,
     * str.format, C# interpolation), letters only: an ODBC braced value holds
     * a password's digits and signs. */
    if (n >= 4 && s[0] == '{' && s[n - 1] == '}' && isalpha((unsigned char)s[1])) {
        size_t i = 1;
        while (i < n - 1 && (isalpha((unsigned char)s[i]) || s[i] == '_' || s[i] == '.'))
            i++;
        if (i == n - 1) return 1;
    }
    /* The digests of nothing (MD5, SHA-1, SHA-256 of ""): what a document or a
     * test writes for "some hash", never a key. */
    static const char *const EMPTY_DIGESTS[] = {
        "d41d8cd98f00b204e9800998ecf8427e", "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", NULL};
    for (int i = 0; EMPTY_DIGESTS[i]; i++)
        if (n == strlen(EMPTY_DIGESTS[i]) && !strncasecmp(s, EMPTY_DIGESTS[i], n)) return 1;
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
    "changeme", "changeit", "password", "passw0rd", "secret", "mysecret", "supersecret", "token",
    "apikey", "example", "sample", "dummy", "placeholder", "redacted", "removed", "notasecret",
    "notsecret", "none", "null", "undefined", "empty", "default", "admin", "letmein", "qwerty",
    "test", "testing", "foobar", "hunter2", "insertyourkeyhere",
    /* the user name Google's registries take with an access token for the
     * password (docker login -u oauth2accesstoken) */
    "oauth2accesstoken", NULL};

static const char *const DOC_WORDS[] = {"example",  "sample",  "dummy", "placeholder", "changeme",
                                        "redacted", "notreal", "fake",  NULL};

/* FR_GUARD_DOC: found anywhere in the token, lower-cased, letters and digits
 * only. Ten-character sequences and eight x's do not occur by chance in a
 * drawn token (odds below 1e-9 per position). */
static const char *const DOC_TOKEN_WORDS[] = {
    "example",    "sample",    "dummy",      "placeholder", "changeme",   "redacted",   "notreal",
    "fake",       "yourtoken", "yourkey",    "yourapikey",  "yoursecret", "tokenhere",  "keyhere",
    "secrethere", "replaceme", "insertyour", "xxxxxxxx",    "abcdefghij", "1234567890", NULL};

static const char *const WORD_PREFIXES[] = {"your", "my",    "example",  "sample",  "dummy",
                                            "fake", "test",  "changeme", "replace", "insert",
                                            "put",  "enter", "todo",     "fixme",   NULL};

/* FR_GUARD_CONFIG data. Where a password sits in a clear context (a config
 * key, a connection string, a dotfile), the value is a template, a reference
 * or a stand-in far more often than a weak password, and entropy cannot tell
 * them apart: these lists can. */
/* IIS configuration encryption ([enc:Provider:...:enc]) and WebLogic's
 * {AES} / {AES256} / {3DES} values are encrypted, not the password. */
static const char *const CONFIG_PREFIXES[] = {/* secret stores, encrypted values */
                                              "vault:",
                                              "arn:aws:secretsmanager:",
                                              "arn:",
                                              "secretsmanager:",
                                              "ssm:/",
                                              "op://",
                                              "akv://",
                                              "keyvault:",
                                              "azurekeyvault:",
                                              "@microsoft.keyvault",
                                              "sm://",
                                              "gsm://",
                                              "ref+",
                                              "enc[",
                                              "enc(",
                                              "env:",
                                              "file:",
                                              "%(",
                                              "!vault",
                                              "{cipher}",
                                              "[enc:",
                                              "{aes}",
                                              "{aes256}",
                                              "{3des}",
                                              NULL};

static const char *const CONFIG_LOOKUPS[] = {/* env lookups and template markers */
                                             "os.environ",  "getenv(",
                                             "process.env", "environment.getenvironmentvariable",
                                             "env[",        "env(",
                                             "keyvault(",   "lookup(",
                                             "://",         NULL};

static const char *const CONFIG_WORDS[] =
    {/* the whole value, maybe with digits after: a template's stand-in */
     "changeme",  "changeit",     "xxx",         "null",
     "nil",       "none",         "true",        "false",
     "yes",       "no",           "on",          "off",
     "undefined", "empty",        "blank",       "todo",
     "tbd",       "fixme",        "redacted",    "removed",
     "hidden",    "masked",       "sensitive",   "placeholder",
     "example",   "sample",       "dummy",       "fake",
     "foo",       "foobar",       "bar",         "baz",
     "user",      "username",     "login",       "yourpassword",
     "yourpass",  "string",       "str",         "text",
     "bool",      "boolean",      "int",         "integer",
     "number",    "required",     "optional",    "value",
     "default",   "securestring", "notset",      "unset",
     "missing",   "nopassword",   "anonymous",   "mypassword",
     "mypass",    "demo",         "token",       "pat",
     "enabled",   "disabled",     "xoauthbasic", "oauth2accesstoken",
     NULL};
/* The whole value, maybe with digits after, that is a weak real password:
 * the defaults and dictionary words attackers try first (admin123, root,
 * postgres, letmein). Dropped where a template is likely (source code, tests,
 * docs); reported as weak in credential and configuration files. */
static const char *const CONFIG_WEAK_WORDS[] = {
    "password",       "passwd",   "pass",    "pwd",      "secret",   "secrets",
    "mysecret",       "test",     "testing", "testpass", "admin",    "root",
    "guest",          "postgres", "mysql",   "redis",    "rabbitmq", "sa",
    "letmein",        "qwerty",   "tiger",   "abc",      "abcd",     "supersecret",
    "secretpassword", NULL};
/* Test suites' stand-ins and filler, the whole value maybe with digits after
 * (test_value_96, dead-beef). */
static const char *const CONFIG_TEST_WORDS[] = {"testvalue", "deadbeef", "cafebabe", NULL};

static const char *const CONFIG_WORD_PREFIXES[] = {/* followed by a separator or capital */
                                                   "your",    "my",    "enter",  "insert",
                                                   "replace", "put",   "change", "example",
                                                   "sample",  "dummy", "fake",   "placeholder",
                                                   "some",    "the",   "set",    "random",
                                                   NULL};

/* s[0..n) is made only of characters in set, plus letters and digits. */
static int word_chars(const char *s, size_t n, const char *set)
{
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr(set, s[i])) return 0;
    return 1;
}

/* Letters for the digits and signs of "leetspeak" (p4ssw0rd, secr3t, P@55w0rd). */
static char unleet(char c)
{
    static const char from[] = "4@03!1$57", to[] = "aaoeiisst";
    const char *p = c ? strchr(from, c) : NULL;
    return p ? to[p - from] : c;
}

/* config_value's verdicts: not a password, or a weak one (FR_DECOY_WEAK). */
#define CONFIG_TEMPLATE 1
static int config_value(const char *s, size_t n);

/* s[0..n) has a capital letter and a digit or sign standing for a letter
 * (P@ssw0rd, Passw0rd!, P@55word): leetspeak typed to pass a password policy. */
static int policy_leet(const char *s, size_t n)
{
    int upper = 0, leet = 0;
    for (size_t i = 0; i < n; i++) {
        upper |= isupper((unsigned char)s[i]) != 0;
        leet |= s[i] && strchr("4@0$5", s[i]) != NULL;
    }
    return upper && leet;
}

/* A user and a password named after one thing (cacheuser:cachepass,
 * customUser:customPass, db_user:db_pass): a template's pair of stand-ins, or a
 * weak real pair (testuser:testpass) where a credential file holds it. The
 * password is letters and separators only, the shared stem two letters or more. */
static int stand_in_pair(const char *u, size_t un, const char *p, size_t pn)
{
    static const char *const USER_ENDS[] = {"username", "user", "usr", "login", NULL};
    static const char *const PASS_ENDS[] = {"password", "passwd", "pass", "pwd", "secret", NULL};
    char a[64], b[64];
    size_t an = 0, bn = 0;
    if (un >= sizeof a || pn >= sizeof b) return 0;
    for (size_t i = 0; i < pn; i++) {
        if (isalpha((unsigned char)p[i]))
            b[bn++] = (char)tolower((unsigned char)p[i]);
        else if (!strchr("-_.", p[i]) || !p[i])
            return 0;
    }
    for (size_t i = 0; i < un; i++)
        if (isalpha((unsigned char)u[i])) a[an++] = (char)tolower((unsigned char)u[i]);
    for (int i = 0; USER_ENDS[i]; i++) {
        size_t ul = strlen(USER_ENDS[i]);
        if (an < ul + 2 || memcmp(a + an - ul, USER_ENDS[i], ul)) continue;
        for (int j = 0; PASS_ENDS[j]; j++) {
            size_t pl = strlen(PASS_ENDS[j]);
            if (bn == an - ul + pl && !memcmp(b + bn - pl, PASS_ENDS[j], pl) &&
                !memcmp(a, b, an - ul))
                return 1;
        }
    }
    return 0;
}

/* A value that is base64 of printable text (Basic credentials, npmrc _auth and
 * _password) is judged by what it decodes to: the password after the first
 * ':' if there is one. */
static int config_base64(const char *s, size_t n)
{
    static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char out[192];
    size_t k = 0;
    unsigned acc = 0, bits = 0;
    if (n < 8 || n % 4 || n / 4 * 3 > sizeof out) return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=' && i >= n - 2) break;
        const char *p = s[i] ? strchr(B64, s[i]) : NULL;
        if (!p) return 0;
        acc = (acc << 6) | (unsigned)(p - B64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[k++] = (unsigned char)(acc >> bits);
        }
    }
    for (size_t i = 0; i < k; i++)
        if (out[i] < 0x20 || out[i] > 0x7e) return 0;
    const unsigned char *colon = memchr(out, ':', k);
    const char *pw = colon ? (const char *)colon + 1 : (const char *)out;
    size_t pn = colon ? k - (size_t)(colon + 1 - out) : k;
    if (pn == 0) return CONFIG_TEMPLATE;
    int v = config_value(pw, pn);
    if (!v && colon && stand_in_pair((const char *)out, (size_t)(colon - out), pw, pn))
        return FR_DECOY_WEAK;
    return v;
}

static int hexval(char c)
{
    return isdigit((unsigned char)c) ? c - '0' : (tolower((unsigned char)c) - 'a' + 10);
}

static int config_placeholder(const char *s, size_t n)
{
    /* a C string's escape after the value ("-u username:fakepwd\n" in help
     * text) is not part of it */
    if (n > 2 && s[n - 2] == '\\' && strchr("nrt", s[n - 1])) n -= 2;
    /* nor is a template literal's end (`Password=p`); ... `}) */
    {
        const char *q = memchr(s, '`', n);
        if (q && q > s && all_of(q, (size_t)(s + n - q), "`)]};,")) n = (size_t)(q - s);
    }
    /* nor is a closing tag after it (Password : X</dev:code> in help XML) */
    {
        const char *t = n > 3 ? memmem(s + 1, n - 1, "</", 2) : NULL;
        /* (a value ending in "</" has no tag name: s[n] is not the value's) */
        if (t && t + 2 < s + n && (isalpha((unsigned char)t[2]) || t[2] == '_'))
            n = (size_t)(t - s);
    }
    /* %-escapes are judged decoded (user%40host, %4d%65), base64 text too. */
    char dec[256];
    size_t k = 0;
    if (n < sizeof dec && memchr(s, '%', n)) {
        /* %DB_PASSWORD%: a template before it is an escape ('%DB' is one) */
        if (config_value(s, n) == CONFIG_TEMPLATE) return CONFIG_TEMPLATE;
        for (size_t i = 0; i < n; i++) {
            if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
                isxdigit((unsigned char)s[i + 2])) {
                dec[k++] = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
                i += 2;
            } else {
                dec[k++] = s[i];
            }
        }
        if (k < n) {
            if (k < 4) return 1; /* a few escaped bytes: a test vector, not a password */
            s = dec, n = k;
        }
    }
    int b = config_base64(s, n);
    return b ? b : config_value(s, n);
}

/* Whether s[0..n) holds a digit. */
static int memchr_digit(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (isdigit((unsigned char)s[i])) return 1;
    return 0;
}

/* A word or two of another language's letters (Contraseña, Hasło, Lösenord,
 * Şifre, Пароль): letters only, one at least outside ASCII (a two-byte UTF-8
 * letter: Latin with accents, Greek, Cyrillic, Hebrew, Arabic), at most three
 * words. A localised label ("Password=Jelszó" in a translation file), not a
 * password. */
static int local_word(const char *s, size_t n)
{
    size_t wide = 0, letters = 0, words = 1, accents = 0;
    int low = 0; /* a small letter before, in this word */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        /* a capital after a small letter (penËt, a test's made-up password):
         * not a word as a dictionary spells it */
        int cap = isupper(c) || (c == 0xc3 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
                                 (unsigned char)s[i + 1] <= 0x9e);
        if (cap && low) return 0;
        /* one accented Latin letter a word (Contraseña, Hasło, Lösenord; a
         * test's 'ànsïblé' has three) */
        if (c == ' ') accents = 0;
        if (((c >= 0xc3 && c <= 0xc9) ||
             (c >= 0xc0 && (i + 1 == n || ((unsigned char)s[i + 1] & 0xc0) != 0x80))) &&
            ++accents > 1)
            return 0;
        low = c == ' ' ? 0
                       : low || islower(c) ||
                             (c == 0xc3 && i + 1 < n && (unsigned char)s[i + 1] >= 0x9f);
        if (isalpha(c)) {
            letters++;
        } else if (c >= 0xc3 && c <= 0xdf && i + 1 < n &&
                   ((unsigned char)s[i + 1] & 0xc0) == 0x80) {
            wide++, letters++, i++;
        } else if (c >= 0xc0 && c != 0xd7 && c != 0xf7 &&
                   (i + 1 == n || ((unsigned char)s[i + 1] & 0xc0) != 0x80)) {
            wide++, letters++; /* a Latin-1 letter (an ISO-8859-1 .properties file) */
        } else if (c == ' ' && i && i + 1 < n && s[i - 1] != ' ') {
            words++;
        } else {
            return 0;
        }
    }
    return wide && letters >= 3 && words <= 3;
}

/* required|string|min:8|confirmed: a validation rule list (Laravel's and the
 * like), rule names of small letters joined by '|', each maybe with ':' and
 * its parameters, one a rule every such list uses. */
static int validation_rules(const char *s, size_t n)
{
    static const char *const RULES[] = {"required", "nullable", "sometimes", "string", "confirmed",
                                        "min",      "max",      "between",   "bail",   NULL};
    size_t segs = 0;
    int known = 0;
    if (!memchr(s, '|', n)) return 0;
    for (size_t i = 0; i <= n;) {
        size_t b = i;
        while (i < n && (islower((unsigned char)s[i]) || s[i] == '_'))
            i++;
        if (i == b) return 0;
        for (int k = 0; RULES[k]; k++)
            known |= i - b == strlen(RULES[k]) && !memcmp(s + b, RULES[k], i - b);
        if (i < n && s[i] == ':')
            while (i < n && s[i] != '|')
                i++;
        if (i < n && s[i] != '|') return 0;
        segs++;
        i++;
    }
    return segs >= 2 && known;
}

/* System.Security.SecureString: a dotted type name (three or more
 * Capitalised identifiers), as a PSCredential prints its Password, not a
 * password. */
static int type_name(const char *s, size_t n)
{
    size_t segs = 0;
    for (size_t i = 0; i < n;) {
        size_t b = i;
        int low = 0;
        if (!isupper((unsigned char)s[i])) return 0;
        while (i < n && isalnum((unsigned char)s[i]))
            low |= islower((unsigned char)s[i++]) != 0;
        if (!low || i - b < 2) return 0;
        segs++;
        if (i < n && (s[i] != '.' || i + 1 == n)) return 0;
        i++;
    }
    return segs >= 3;
}

/* mysecretvalue, your_api_token: small letters made only of a stand-in's
 * words, one of them a possessive or a placeholder word. */
static int stand_in_words(const char *s, size_t n)
{
    static const char *const W[] = {"my",     "your",  "some",   "the",      "example", "sample",
                                    "dummy",  "fake",  "secret", "password", "pass",    "token",
                                    "api",    "key",   "value",  "access",   "auth",    "here",
                                    "string", "super", NULL};
    size_t i = 0, words = 0;
    int lead = 0;
    if (n < 6 || !s[0] || !strchr("mysetdfpakvh", s[0])) return 0; /* no word starts so */
    while (i < n) {
        if (s[i] == '_' || s[i] == '-') {
            i++;
            continue;
        }
        size_t best = 0;
        int bi = -1;
        for (int k = 0; W[k]; k++) {
            if (W[k][0] != s[i]) continue;
            size_t l = strlen(W[k]);
            if (l > best && i + l <= n && !memcmp(s + i, W[k], l)) best = l, bi = k;
        }
        if (!best) return 0;
        lead |= bi <= 7;
        words++;
        i += best;
    }
    return words >= 3 && lead;
}

/* 0: a password; CONFIG_TEMPLATE: a template, a reference or a stand-in
 * (never one); FR_DECOY_WEAK: a weak real password (a default, a dictionary
 * word and digits, a typed sequence), which only credential and
 * configuration files report. */
static int config_value(const char *s, size_t n)
{
    int weak = 0; /* a weak password, unless a later check finds a template */
    /* one or two characters (Password=p in a parser's test): a stand-in */
    if (n <= 2) return 1;
    /* $[dependencies.x.outputs['y.TOKEN']]: an Azure Pipelines runtime expression */
    if (n >= 4 && s[0] == '$' && s[1] == '[' && s[n - 1] == ']') return 1;
    /* "information." (password information.): a sentence's last word */
    if (n >= 4 && s[n - 1] == '.' && all_of(s, n - 1, "abcdefghijklmnopqrstuvwxyz")) return 1;
    if (stand_in_words(s, n)) return 1;
    /* #9e9, #ff6600: a colour (a test report's {"pass":"#9e9","fail":"#f66"}) */
    if ((n == 4 || n == 5 || n == 7 || n == 9) && s[0] == '#' &&
        all_of(s + 1, n - 1, "0123456789abcdefABCDEF"))
        return 1;
    /* secret:AmazonLookoutMetrics-.+ : a regular expression's tail (an API
     * model's "pattern" for the ARN of a secret) */
    if (n >= 4 && (((s[n - 1] == '+' || s[n - 1] == '*') && s[n - 2] == '.') ||
                   (s[n - 1] == '?' && (s[n - 2] == '+' || s[n - 2] == '*') && s[n - 3] == '.')))
        return 1;
    /* Whole-value templates: %VAR%, $VAR, {VAR}, __TOKEN__, @@PASS@@. */
    if (n >= 3 && s[0] == '%' && s[n - 1] == '%' && word_chars(s + 1, n - 2, "_.:-")) return 1;
    if (n >= 2 && s[0] == '$' && word_chars(s + 1, n - 1, "_:.$")) return 1;
    if (n >= 3 && s[0] == '{' && s[n - 1] == '}' && word_chars(s + 1, n - 2, "_.:-")) return 1;
    /* A version or a version range (a package named *-passwd: "^1.0.0"). */
    size_t v0 = n && strchr("^~=<>v", s[0]) ? 1 : 0;
    if (n > v0 + 2 && isdigit((unsigned char)s[v0]) && memchr(s + v0, '.', n - v0) &&
        all_of(s + v0, n - v0, "0123456789.x*-"))
        return 1;
    /* An absolute path (a dumped environment's "PWD": "/home/zuul"): a
     * directory, not a password. */
    if (n >= 2 && s[0] == '/' && isalpha((unsigned char)s[1]) && word_chars(s, n, "/._-@") &&
        (memchr(s + 1, '/', n - 1) ||
         all_of(s + 1, n - 1, "abcdefghijklmnopqrstuvwxyz0123456789_.-")))
        return 1;
    /* %HTTPPORT#, %HOSTIP: a test suite's or a build's variable; "/$file_pwd": a
     * path interpolating one. */
    if (n >= 4 && s[0] == '%' && isupper((unsigned char)s[1]) && isupper((unsigned char)s[2]) &&
        isupper((unsigned char)s[3]))
        return 1;
    if (n >= 3 && s[0] == '/' && s[1] == '$' && (isalpha((unsigned char)s[2]) || s[2] == '{'))
        return 1;
    /* Integer constants (SMART_LCYL_PASS = 0x4f, SIOCGLIFTOKEN = -0x3f879678): up
     * to 64 bits; 0x and 32 hex digits is key material (an SNMPv3 localized key). */
    size_t x0 = n && s[0] == '-' ? 1 : 0;
    if (n > x0 + 2 && n <= x0 + 2 + 16 && s[x0] == '0' && (s[x0 + 1] == 'x' || s[x0 + 1] == 'X') &&
        all_of(s + x0 + 2, n - x0 - 2, "0123456789abcdefABCDEF"))
        return 1;
    /* One printf verb (%s, %[3]s, %-8v, %q): a format's slot. */
    if (n >= 2 && s[0] == '%') {
        size_t i = 1;
        if (i < n && s[i] == '[') {
            while (i < n && s[i] != ']')
                i++;
            i++;
        }
        while (i < n && strchr("-+ #0123456789.*", s[i]))
            i++;
        if (i + 1 == n && isalpha((unsigned char)s[i])) return 1;
    }
    /* field names joined by ':' (username:password:uid:gid:gecos:home:shell,
     * a description of /etc/passwd's fields) */
    {
        size_t colons = 0;
        for (size_t i = 0; i < n; i++)
            colons += s[i] == ':';
        if (colons >= 2 && word_chars(s, n, "_:") && !memchr_digit(s, n)) return 1;
    }
    /* Other scripts' letters (CJK and the like: three-byte UTF-8): a
     * localised message (request_password=PDF...), not a password. */
    for (size_t i = 0; i + 2 < n; i++)
        if ((unsigned char)s[i] >= 0xe0 && (unsigned char)s[i] <= 0xef &&
            ((unsigned char)s[i + 1] & 0xc0) == 0x80 && ((unsigned char)s[i + 2] & 0xc0) == 0x80)
            return 1;
    /* <YourStrong@Passw0rd>, <db password>: a template's slot, whatever it holds. */
    if (n >= 3 && s[0] == '<' && s[n - 1] == '>') return 1;
    /* A status or a scrubber's mark in brackets: (set), [Filtered], [REDACTED]. */
    if (n >= 3 && ((s[0] == '(' && s[n - 1] == ')') || (s[0] == '[' && s[n - 1] == ']')) &&
        word_chars(s + 1, n - 2, " _-"))
        return 1;
    /* [parameters('adminPassword')], [tryGet(x, 'secret')]: an ARM template's
     * expression (a literal '[' is written '[['), not a value. */
    if (n >= 4 && s[0] == '[' && s[1] != '[' && s[n - 1] == ']' && memchr(s, '(', n)) return 1;
    if (local_word(s, n) || validation_rules(s, n) || type_name(s, n)) return 1;
    if (n >= 5 && ((!strncmp(s, "__", 2) && !strncmp(s + n - 2, "__", 2)) ||
                   (!strncmp(s, "@@", 2) && !strncmp(s + n - 2, "@@", 2))))
        return 1;
    /* A sentence (Maven's "optional; leave empty if not used."): four or more
     * words of small letters, with a ';' or ',' between them or a full stop. */
    {
        size_t words = 0, i = 0;
        int punct = n > 1 && s[n - 1] == '.';
        while (i < n) {
            size_t b = i;
            while (i < n && islower((unsigned char)s[i]))
                i++;
            if (i == b) break;
            words++;
            if (i < n && (s[i] == ';' || s[i] == ',')) punct = 1, i++;
            if (i < n && s[i] == '.' && i + 1 == n) i++;
            if (i < n && s[i] == ' ')
                i++;
            else if (i < n)
                break;
        }
        if (i == n && words >= 4 && punct) return 1;
    }
    /* $var, $config{'X'}, ${X}, $obj->x: an interpolated variable, not a value. */
    if (n >= 2 && s[0] == '$' && (isalpha((unsigned char)s[1]) || strchr("_{(", s[1]))) return 1;
    /* #{config['password']} cut at its quote, @method_params, @@secret_key
     * (Ruby's interpolation and instance variables): code, not a value. */
    if (n >= 3 && s[0] == '#' && s[1] == '{' &&
        (isalpha((unsigned char)s[2]) || strchr("_@", s[2])))
        return 1;
    {
        size_t a = n > 1 && s[0] == '@' ? (s[1] == '@' ? 2 : 1) : 0;
        if (a && n > a + 2 && islower((unsigned char)s[a]) && memchr(s + a, '_', n - a) &&
            all_of(s + a, n - a, "abcdefghijklmnopqrstuvwxyz_"))
            return 1;
    }
    for (int i = 0; CONFIG_PREFIXES[i]; i++)
        if (n >= strlen(CONFIG_PREFIXES[i]) &&
            !strncasecmp(s, CONFIG_PREFIXES[i], strlen(CONFIG_PREFIXES[i])))
            return 1;
    for (int i = 0; CONFIG_LOOKUPS[i]; i++)
        if (contains_ci(s, n, CONFIG_LOOKUPS[i])) return 1;
    /* #{Token}, #{ENV['X']} (Octopus, Azure DevOps replace-tokens, Ruby): the
     * marker and a closing brace after it; a WordPress salt may hold '#{' by
     * chance. */
    for (const char *h = s; (h = memchr(h, '#', (size_t)(s + n - h))) != NULL; h++)
        if ((size_t)(h - s) + 2 < n && h[1] == '{' && memchr(h + 2, '}', (size_t)(s + n - h - 2)))
            return 1;
    /* w: letters and digits lowercased; l: the same read as leetspeak. */
    char w[256], l[256];
    size_t k = 0, kl = 0;
    for (size_t i = 0; i < n && k < sizeof w - 1; i++) {
        if (isalnum((unsigned char)s[i])) w[k++] = (char)tolower((unsigned char)s[i]);
        char u = unleet(s[i]);
        if (isalpha((unsigned char)u)) l[kl++] = (char)tolower((unsigned char)u);
    }
    w[k] = 0, l[kl] = 0;
    if (k == 0) return 1; /* punctuation only */
    for (int i = 0; CONFIG_TEST_WORDS[i]; i++) {
        size_t wl = strlen(CONFIG_TEST_WORDS[i]);
        if (!strncmp(w, CONFIG_TEST_WORDS[i], wl) && all_of(w + wl, k - wl, "0123456789")) return 1;
    }
    for (int i = 0; CONFIG_WORDS[i]; i++) {
        size_t wl = strlen(CONFIG_WORDS[i]);
        if (!strncmp(w, CONFIG_WORDS[i], wl) && all_of(w + wl, k - wl, "0123456789")) return 1;
        if (kl == wl && !strcmp(l, CONFIG_WORDS[i]) && wl > 3 && !policy_leet(s, n))
            return 1; /* n0ne, tru3 */
    }
    /* A stand-in named or spelled like a password that says so (example,
     * changeme, yourpassword) is a template whatever else it holds. */
    if (strstr(w, "changeme") || strstr(w, "placeholder") || strstr(w, "yourpassword") ||
        strstr(w, "redacted") || strstr(w, "blabla"))
        return 1;
    /* "example" alone or spelled out (example-password, an_example) is one;
     * run into letters and digits (Example2024) it is a weak password. */
    if (strstr(w, "example")) {
        if (k != n || !memchr_digit(w, k)) return 1;
        weak = 1;
    }
    for (int i = 0; CONFIG_WEAK_WORDS[i]; i++) {
        size_t wl = strlen(CONFIG_WEAK_WORDS[i]);
        if ((!strncmp(w, CONFIG_WEAK_WORDS[i], wl) && all_of(w + wl, k - wl, "0123456789")) ||
            (kl == wl && !strcmp(l, CONFIG_WEAK_WORDS[i]) && wl > 3 && !policy_leet(s, n)))
            weak = 1; /* admin123, secr3t, p4ss */
    }
    /* p4ssw0rd, secr3t: leetspeak. Written the way a complexity policy
     * demands (a capital, a digit or sign for a letter: P@ssw0rd, Passw0rd!),
     * it is one of the commonest real passwords, reported as any other. */
    int named = strstr(w, "password") || strstr(w, "passwd") || strstr(w, "pswd") ||
                strstr(w, "pasword") || strstr(w, "secretkey");
    if (!named && (strstr(l, "password") || strstr(l, "passwd")) && !policy_leet(s, n)) weak = 1;
    /* user@host, pass@localhost: a login written where the password goes */
    if (memchr(s, '@', n) && k > 4 && !strcmp(w + k - 4, "host")) return 1;
    /* A value naming the thing it stands for (MasterUserPassword:
     * "mynewpassword", "no-password-required") is an example or a label;
     * with digits (AdminPassword7) it is a weak password. */
    if (named && !memchr_digit(w, k) && !weak) return 1;
    if (named) weak = 1;
    /* proxypass, repopwd, somepass (Maven's and the docs' templates),
     * personal-access-token, MACHINE-PASS: a stand-in made of words naming
     * what goes there. */
    if (word_chars(s, n, "-_") && k == strlen(w) && !strpbrk(w, "0123456789") &&
        (((!strcmp(w + (k > 4 ? k - 4 : 0), "pass") || !strcmp(w + (k > 3 ? k - 3 : 0), "pwd")) &&
          (!strncmp(w, "proxy", 5) || !strncmp(w, "repo", 4) || !strncmp(w, "some", 4) ||
           !strncmp(w, "user", 4) || !strncmp(w, "fake", 4) || !strncmp(w, "good", 4) ||
           !strncmp(w, "bad", 3) || !strncmp(w, "dummy", 5) || !strncmp(w, "your", 4))) ||
         (memchr(s, '-', n) &&
          (strstr(w, "token") || strstr(w, "secret") || strstr(w, "pass") || strstr(w, "key"))) ||
         /* custom_connection_value (evil_pass in a test stays a test's password) */
         ((memchr(s, '-', n) || memchr(s, '_', n)) && strstr(w, "value"))))
        return 1;
    /* 0000-0000-0000: one character, the dashes aside */
    {
        size_t same = 0;
        for (size_t i = 0; i < k; i++)
            same += w[i] == w[0];
        if (k >= 3 && same == k) return 1; /* xxx:yyy, pppp */
    }
    /* UPPER_SNAKE constants: enum values and names, not passwords. */
    if (memchr(s, '_', n) && all_of(s, n, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")) return 1;
    /* Alphabet and digit sequences (abcdef, 123456, AB1C2defGH...) are typed, not drawn. */
    size_t steps = 0;
    for (size_t i = 0; i + 1 < k; i++)
        steps += w[i + 1] == w[i] + 1;
    if (k >= 6 && steps * 2 >= k) {
        weak = 1;
    } /* 123456 */
    /* a1B2c3D4e5F6, 1a2b3c4d: the letters and the digits each typed in sequence */
    {
        char pl = 0, pd = 0;
        size_t nl = 0, nd = 0, sl = 0, sd = 0;
        for (size_t i = 0; i < k; i++) {
            char *prev = isdigit((unsigned char)w[i]) ? &pd : &pl;
            size_t *cnt = prev == &pd ? &nd : &nl, *st = prev == &pd ? &sd : &sl;
            *st += *cnt && w[i] == *prev + 1;
            (*cnt)++, *prev = w[i];
        }
        if (nl >= 3 && nd >= 3 && sl + 1 == nl && sd + 1 == nd) {
            weak = 1;
        }
    }
    /* 987654321, zyxcba9876, 00112233445566778899aabbccddeeff: typed runs down,
     * or up with each character doubled ('9' then 'a' is a hex step). */
    {
        size_t runs = 0, up = 0, down = 0;
        for (size_t i = 0; i < k; i++) {
            if (i && w[i] == w[i - 1]) continue;
            if (runs) {
                char c = w[i - 1];
                up += w[i] == c + 1 || (c == '9' && w[i] == 'a');
                down += w[i] == c - 1 || (c == 'a' && w[i] == '9');
            }
            runs++;
        }
        /* 54321GFEDCBAABCDEFG12345: down and up again */
        if (runs >= 6 && ((up > down ? up : down) * 3 >= runs * 2 || (up + down) * 5 >= runs * 4)) {
            weak = 1;
        }
    }
    /* azAZ09, AZaz09: a character class's ranges written out (a test of a
     * token's alphabet), not a token. */
    if (strstr(w, "azaz09") || strstr(w, "az09az")) return 1;
    /* password_here, <key>_here: instructions, not values */
    if (k > 4 && !strcmp(w + k - 4, "here") && n > 5 && strchr("-_. ", s[n - 5])) return 1;
    for (int i = 0; CONFIG_WORD_PREFIXES[i]; i++) {
        size_t pl = strlen(CONFIG_WORD_PREFIXES[i]);
        if (n > pl && !strncasecmp(s, CONFIG_WORD_PREFIXES[i], pl) &&
            (strchr("-_. @", s[pl]) || isupper((unsigned char)s[pl]))) {
            /* "My" starts real passwords too (MyApp-Ans1): a stand-in names
             * what it stands for (MySecret1, my-api-key, MyDbPass). */
            if (pl == 2 && !strncasecmp(s, "my", 2) && !strstr(w, "pass") && !strstr(w, "secret") &&
                !strstr(w, "sekret") && !strstr(w, "word") && !strstr(w, "key") &&
                !strstr(w, "token") && !strstr(w, "pwd") && !strstr(w, "cred") &&
                !strstr(w, "value"))
                continue;
            return 1;
        }
    }
    return weak ? FR_DECOY_WEAK : 0;
}

/* ---- FR_GUARD_GENERIC: a value found by its name alone ---------------------- */

/* The last word of a secret's name: the name must end in one of these. */
static const char *const SECRET_TAILS[] = {
    "password", "passwd", "passwort", "passphrase", "pass",        "pwd",    "secret",
    "token",    "apikey", "key",      "credential", "credentials", "cookie", NULL};

/* Words that, anywhere in a secret-sounding name, say it holds no secret: a
 * token of a grammar or a tokenizer (pad_token, max_tokens), a page cursor
 * (next_page_token), a public value (publicToken, PUBLIC_KEY, csrf_token in a
 * form), an index key (sort_key, cache_key), a fingerprint (GPG_KEY). */
static const char *const NAME_NOT_SECRET[] = {
    "csrf", "xsrf", "public", "publishable", "pub", "page", "next", "prev", "previous",
    "continuation", "pagination", "cursor", "sync", "cancellation", "cancel", "max", "min", "num",
    "total", "count", "input", "output", "prompt", "completion", "pad", "eos", "bos", "unk", "sep",
    "cls", "mask", "special", "lexer", "sort", "cache", "primary", "foreign", "partition", "row",
    "lookup", "idempotency", "gpg", "pgp", "fingerprint", "hash", "example", "sample", "dummy",
    "fake", "placeholder", "host", "ssh", "form", "field", "header", "param", "label", "i18n",
    "css", "class", "style", "icon", "route", "path", "file", "url", "uri", "endpoint", "name",
    "id", "ids", "type", "kind", "len", "length", "size", "ttl", "expires", "expiry", "expiration",
    "policy", "prefix", "suffix", "regex", "pattern", "format", "display", "hint", "from", "change",
    /* SDP's a=ice-pwd (a session's ICE password, printed in every offer), AWS
     * creationToken (an idempotency name), Rails' authenticity_token (the
     * CSRF token of every form it renders) */
    "ice", "creation", "authenticity",
    /* a JSP tag library's transaction token (a form's, like csrf) */
    "taglib", NULL};

/* Words that say so only right before the name's last word, token: a
 * request's status token and a log stream's sequence token (AWS's
 * --node-association-status-token, --sequence-token: an operation's handle or
 * a counter, returned to the caller), where STATUS_IO_API_KEY or
 * statusIoToken are credentials. */
static const char *const BEFORE_TOKEN_NOT_SECRET[] = {"status", "sequence", NULL};

typedef struct {
    int before_token; /* the last word was one of BEFORE_TOKEN_NOT_SECRET */
    int pair_last;    /* the last two words were such a word and token */
} name_ctx;

/* Splits name[0..n) into lower-case words at '_', '-', '.', ':', '$', '/', '['
 * and at camelCase boundaries; calls back with each word. Returns 1 as soon as
 * the callback does. */
static int name_words(const char *name, size_t n, int (*fn)(const char *w, size_t wl, void *ctx),
                      void *ctx)
{
    char w[64];
    size_t wl = 0;
    for (size_t i = 0; i <= n; i++) {
        int c = i < n ? (unsigned char)name[i] : 0;
        int boundary = !isalnum(c) || (isupper(c) && i > 0 && islower((unsigned char)name[i - 1]));
        if (boundary && wl) {
            w[wl] = 0;
            if (fn(w, wl, ctx)) return 1;
            wl = 0;
        }
        if (isalnum(c) && wl < sizeof w - 1) w[wl++] = (char)tolower(c);
    }
    return 0;
}

static int word_not_secret(const char *w, size_t wl, void *ctx_)
{
    name_ctx *ctx = ctx_;
    /* csrftoken, xsrfToken: the form token, written as one word */
    if (wl > 4 && (!strncmp(w, "csrf", 4) || !strncmp(w, "xsrf", 4))) return 1;
    for (int i = 0; NAME_NOT_SECRET[i]; i++)
        if (!strcmp(w, NAME_NOT_SECRET[i])) return 1;
    int was_before = ctx->before_token;
    ctx->before_token = 0;
    for (int i = 0; BEFORE_TOKEN_NOT_SECRET[i]; i++)
        if (!strcmp(w, BEFORE_TOKEN_NOT_SECRET[i])) ctx->before_token = 1;
    /* the pair counts only as the name's end (read once every word is seen) */
    ctx->pair_last = was_before && !strcmp(w, "token");
    return 0;
}

/* Whether the name's words say it holds no secret. */
static int name_not_secret(const char *name, size_t n)
{
    name_ctx ctx = {0, 0};
    if (name_words(name, n, word_not_secret, &ctx)) return 1;
    return ctx.pair_last; /* ...-status-token, sequenceToken: its last words */
}

static int is_name_char(unsigned char c)
{
    return isalnum(c) || c == '_' || c == '-' || c == '.';
}

/* The name a value is assigned to: the last run of name characters in
 * d[from..to) whose lower-cased text ends in a SECRET_TAILS word (the key of
 * "key = value", "<key>value", key="K" value="V", --key value, setProperty("K",
 * ...)). Returns 0 when there is none. */
static int secret_name(const unsigned char *d, size_t from, size_t to, size_t *ns, size_t *ne)
{
    size_t e = to;
    while (e > from) {
        while (e > from && !is_name_char(d[e - 1]))
            e--;
        size_t b = e;
        while (b > from && is_name_char(d[b - 1]))
            b--;
        if (b == e) break;
        /* A rule's match starts at the keyword: the name's first words are
         * before it (GPG_KEY, publicToken). */
        if (b == from)
            while (b > 0 && e - b < 128 && is_name_char(d[b - 1]))
                b--;
        for (int i = 0; SECRET_TAILS[i]; i++) {
            size_t tl = strlen(SECRET_TAILS[i]);
            if (e - b >= tl && !strncasecmp((const char *)d + e - tl, SECRET_TAILS[i], tl)) {
                *ns = b, *ne = e;
                return 1;
            }
        }
        e = b;
    }
    return 0;
}

/* A segment of a value that reads as a word: letters in one case (or
 * Capitalised) with at most two digits after, or a short number. */
static int word_segment(const char *s, size_t n)
{
    size_t i = 0, digits = 0;
    if (n && isdigit((unsigned char)s[0])) { /* a short number, or a zero-padded counter */
        while (i < n && isdigit((unsigned char)s[i]))
            i++;
        return i == n;
    }
    int upper = n > 1 && isupper((unsigned char)s[0]) && isupper((unsigned char)s[1]);
    if (n && isupper((unsigned char)s[0])) i = 1;
    for (; i < n && isalpha((unsigned char)s[i]); i++)
        if (upper ? !isupper((unsigned char)s[i]) : !islower((unsigned char)s[i])) {
            /* camelCase: a capital starts the next word (newVolume, dbHost) */
            if (upper || !isupper((unsigned char)s[i]) || i + 1 >= n ||
                !islower((unsigned char)s[i + 1]))
                return 0;
        }
    if (i == 0) return 0;
    for (; i < n && isdigit((unsigned char)s[i]); i++)
        digits++;
    return i == n && digits <= 4;
}

/* An identifier, a phrase or a path: two or more segments (split at
 * punctuation), each of them a word (at most four digits after it) or a
 * number, one at least a word (openai-access-token-1,
 * xoxb-users_list_pagination_1, xapp-A111-222, /etc/secrets/db,
 * builtin:test_00000001:0, xoxp-28192348123947234198234). */
static int phrase_value(const char *s, size_t n)
{
    size_t segs = 0, words = 0, i = 0;
    while (i < n) {
        while (i < n && !isalnum((unsigned char)s[i]))
            i++;
        size_t b = i;
        while (i < n && isalnum((unsigned char)s[i]))
            i++;
        if (i == b) break;
        if (!word_segment(s + b, i - b)) return 0;
        segs++;
        words += !isdigit((unsigned char)s[b]);
    }
    return segs >= 2 && words >= 1;
}

/* A value spelled from its own name (ALICLOUD_SECRET_KEY='AlicloudSecret123',
 * api_key: apikey1): every run of letters in it is made of the name's words
 * and a few stand-in words; digits and signs may sit between. A stand-in. */
typedef struct {
    char words[8][32];
    size_t n;
} word_set;

static int collect_word(const char *w, size_t wl, void *ctx)
{
    word_set *ws = ctx;
    if (wl < 32 && ws->n < 8 && !isdigit((unsigned char)w[0]))
        memcpy(ws->words[ws->n++], w, wl + 1);
    return 0;
}

static int made_of(const char *r, size_t n, const word_set *ws, int depth)
{
    /* base64encodedaccountkey: the format named too */
    static const char *const EXTRA[] = {"secret", "key",     "token", "pass",  "password",
                                        "access", "api",     "my",    "your",  "test",
                                        "base",   "encoded", "hex",   "value", NULL};
    if (!n) return 1;
    if (depth > 6) return 0;
    for (size_t i = 0; i < ws->n + sizeof EXTRA / sizeof *EXTRA; i++) {
        const char *w = i < ws->n ? ws->words[i] : EXTRA[i - ws->n];
        if (!w) break;
        size_t wl = strlen(w);
        if (wl >= 2 && wl <= n && !strncmp(r, w, wl) && made_of(r + wl, n - wl, ws, depth + 1))
            return 1;
    }
    return 0;
}

static int value_from_name(const unsigned char *name, size_t nn, const char *s, size_t n)
{
    word_set ws = {0};
    name_words((const char *)name, nn, collect_word, &ws);
    char run[64];
    size_t rl = 0, runs = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && isalpha((unsigned char)s[i])) {
            if (rl == sizeof run) return 0;
            run[rl++] = (char)tolower((unsigned char)s[i]);
            continue;
        }
        if (rl && !made_of(run, rl, &ws, 0)) return 0;
        runs += rl > 0;
        rl = 0;
    }
    return runs > 0;
}

/* A JWT one of whose parts is a word (eyJ....payload.signature): a stand-in. */
static int jwt_stand_in(const char *s, size_t n)
{
    if (n < 8 || strncmp(s, "eyJ", 3) || !memchr(s, '.', n)) return 0;
    for (size_t i = 0; i < n;) {
        size_t b = i;
        while (i < n && s[i] != '.')
            i++;
        size_t k = b;
        while (k < i && islower((unsigned char)s[k]))
            k++;
        if (k == i && i - b >= 3) return 1;
        i++;
    }
    return 0;
}

/* Keyboard runs a person types into a made-up token (xoxb-asdlfky...asdf...). */
static const char *const KEYBOARD_RUNS[] = {"asdf", "qwer", "zxcv", "hjkl", "sdfg", NULL};

/* Runs of three or more of one character, counted (4444, zzz): typed. */
static size_t typed_runs(const char *s, size_t n)
{
    size_t runs = 0;
    for (size_t i = 0; i + 2 < n;) {
        size_t j = i + 1;
        while (j < n && s[j] == s[i])
            j++;
        runs += j - i >= 3;
        i = j;
    }
    return runs;
}

/* A run of eight or more letters or digits typed in order (klmnopqr,
 * 12345678, case aside): made up. A drawn token holds one at odds below 1e-10
 * a position (seven steps of 1 in 36). No library call a byte: the guards run
 * on every candidate. */
static int ascending_run(const char *s, size_t n)
{
    size_t run = 1;
    for (size_t i = 1; i < n; i++) {
        unsigned a = (unsigned char)s[i - 1] | 0x20, b = (unsigned char)s[i] | 0x20;
        /* b a digit 1-9 or a letter b-z (either case), a the one before it */
        run = b == a + 1 && (b - '1' <= 8u || b - 'b' <= 24u) ? run + 1 : 1;
        if (run >= 8) return 1;
    }
    return 0;
}

/* s[0..n) decoded from base64 into out (at most cap bytes) when it is base64
 * of printable text (trailing CR / LF dropped); returns the length or 0. */
static size_t base64_text(const char *s, size_t n, char *out, size_t cap)
{
    static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t k = 0;
    unsigned acc = 0, bits = 0;
    if (n < 8 || n % 4 || n / 4 * 3 > cap) return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=' && i >= n - 2) break;
        const char *p = s[i] ? strchr(B64, s[i]) : NULL;
        if (!p) return 0;
        acc = (acc << 6) | (unsigned)(p - B64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[k++] = (char)(acc >> bits);
        }
    }
    while (k && (out[k - 1] == '\n' || out[k - 1] == '\r'))
        k--;
    for (size_t i = 0; i < k; i++)
        if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] > 0x7e) return 0;
    return k;
}

/* workspaceConnectionOAuth2Type: a camelCase identifier - small letters first,
 * then words that each start with a capital (or acronyms of up to four
 * capitals), every word three letters or more with a vowel, at most two digits
 * after one; three words at least. Drawn letters almost never split so. */
static int camel_identifier(const char *s, size_t n, size_t min_words, size_t min_len)
{
    size_t i = 0, words = 0;
    if (n < 8 || !islower((unsigned char)s[0])) return 0;
    while (i < n) {
        size_t b = i, caps = 0, digits = 0;
        while (i < n && isupper((unsigned char)s[i]))
            i++, caps++;
        /* OAuth: the acronym's last capital starts the next word */
        if (caps > 1 && i < n && islower((unsigned char)s[i])) i--, caps--;
        if (caps > 4) return 0;
        if (!caps || (i < n && islower((unsigned char)s[i]))) {
            int vowel = 0;
            while (i < n && islower((unsigned char)s[i]))
                vowel |= strchr("aeiouy", s[i++]) != NULL;
            vowel |= caps && strchr("AEIOUY", s[b]) != NULL;
            if (i - b < min_len || !vowel) return 0;
            words++;
        }
        while (i < n && isdigit((unsigned char)s[i]))
            i++, digits++;
        if (digits > 2 || (i < n && !isalpha((unsigned char)s[i]))) return 0;
    }
    return words >= min_words;
}

static int random_case(const char *s, size_t n);

/* The generic rule's value of letters alone (swordfish, kettlebrass) under a
 * password's name (one ending in password / passwd / passphrase / pass / pwd,
 * with no word that says it holds none): a weak password, which only
 * credential and configuration files report (FR_DECOY_WEAK; unquoted, not in
 * ones written as source code: fr_weak_bare). The name's own word (password:
 * password) is a label, the config guard's words templates; a Capitalised or
 * capital word a label or a constant (Password=Wachtwoord in a translation's
 * properties, PASSWORD: REQUIRED). */
static int generic_letters_weak(const unsigned char *d, size_t ss, size_t se)
{
    static const char *const PW_TAILS[] = {"password", "passwd", "passwort", "passphrase",
                                           "pass",     "pwd",    NULL};
    const char *s = (const char *)d + ss;
    size_t n = se - ss, ls = ss, ns, ne;
    if (n < 4 || !all_of(s, n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")) return 0;
    if (isupper((unsigned char)s[0]) && (all_of(s + 1, n - 1, "abcdefghijklmnopqrstuvwxyz") ||
                                         all_of(s + 1, n - 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")))
        return 0;
    while (ls > 0 && ss - ls < 160 && d[ls - 1] != '\n')
        ls--;
    if (!secret_name(d, ls, ss, &ns, &ne)) return 0;
    int pw = 0;
    for (int i = 0; PW_TAILS[i]; i++) {
        size_t tl = strlen(PW_TAILS[i]);
        pw |= ne - ns >= tl && !strncasecmp((const char *)d + ne - tl, PW_TAILS[i], tl);
        if (n == tl && !strncasecmp(s, PW_TAILS[i], n)) return 0;
    }
    if (!pw || name_not_secret((const char *)d + ns, ne - ns)) return 0;
    return config_value(s, n) != CONFIG_TEMPLATE;
}

int fr_generic_weak_word(const unsigned char *d, size_t ss, size_t se)
{
    return se - ss >= 8 && !random_case((const char *)d + ss, se - ss) &&
           generic_letters_weak(d, ss, se);
}

int fr_generic_decoy(const unsigned char *d, size_t start, size_t ss, size_t se)
{
    const char *s = (const char *)d + ss;
    size_t n = se - ss, ns, ne;
    int camel = 0; /* an unquoted camelCase value: see below */
    /* The name: one of a secret's, with no word that says otherwise, and not a
     * namespaced type (AWS::IAM::AccessKey). */
    if (!secret_name(d, start, ss, &ns, &ne)) return 1;
    if (name_not_secret((const char *)d + ns, ne - ns)) return 1;
    if (ns >= 2 && d[ns - 1] == ':' && d[ns - 2] == ':') return 1;
    /* String token = Base64Utils, val key = secretOf(x): unquoted after a typed
     * declaration, the value is code (a variable, a class, a call); a literal
     * is quoted there. */
    if (!strchr("\"'`", d[ss - 1])) {
        static const char *const DECL[] = {"String", "string", "var",  "val", "let",
                                           "const",  "final",  "auto", "str", NULL};
        size_t e = ns, b;
        while (e > 0 && (d[e - 1] == ' ' || d[e - 1] == '\t'))
            e--;
        for (b = e; b > 0 && isalpha(d[b - 1]);)
            b--;
        for (int i = 0; DECL[i]; i++)
            if (e - b == strlen(DECL[i]) && !memcmp(d + b, DECL[i], e - b)) return 1;
        /* a.?b.?c, a?.b (Bicep, C#, TypeScript's null-safe access) and a
         * camelCase identifier (a Bicep type, a variable): code, unquoted */
        if ((memmem(s, n, ".?", 2) || memmem(s, n, "?.", 2)) && word_chars(s, n, "._?")) return 1;
        /* ... or a passphrase typed in camelCase (purpleMonkeyDishwasher7) in
         * a .env or .properties file, where values are unquoted: weak,
         * reported in credential and configuration files only, and not as a
         * bare word in configuration written as code (fr_weak_bare) */
        camel = camel_identifier(s, n, 3, 3);
        /* credentialsType?, aadOrApiKeyType?: a nullable type (Bicep, C#,
         * TypeScript) */
        if (n > 4 && s[n - 1] == '?' && camel_identifier(s, n - 1, 2, 2)) return 1;
    }
    /* network_credential='juniper1', credentials: prod: a credential named
     * by a word (a record's or a store's name), not the secret itself */
    if (ne - ns >= 10 &&
        (!strncasecmp((const char *)d + ne - 10, "credential", 10) ||
         (ne - ns >= 11 && !strncasecmp((const char *)d + ne - 11, "credentials", 11))) &&
        word_segment(s, n))
        return 1;
    /* "Credential:CustomTitle:": a label or a prompt ending in ':', not a value */
    if (n > 1 && s[n - 1] == ':' && word_chars(s, n - 1, "")) return 1;
    /* password=bar&next=%2Fapi: a form's field; what reaches the next field
     * ('&name=') is its value, and a short one is a stand-in */
    for (size_t i = 0; i < n; i++)
        if (s[i] == '&') {
            size_t j = i + 1;
            while (j < n && (isalnum((unsigned char)s[j]) || s[j] == '_'))
                j++;
            if (j > i + 1 && j < n && s[j] == '=') {
                if (i < 8) return 1;
                break;
            }
        }
    /* token = 1*255TCHAR: an ABNF rule's repetition, not a value */
    {
        size_t i = 0;
        while (i < n && isdigit((unsigned char)s[i]))
            i++;
        if (i < n && s[i] == '*') {
            i++;
            while (i < n && isdigit((unsigned char)s[i]))
                i++;
            /* the rule's name: letters and '-' (a MySQL hash '*0cb5...' has digits) */
            if (i < n &&
                all_of(s + i, n - i, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-"))
                return 1;
        }
    }
    /* Documentation: the placeholder account and hosts of provider docs just
     * before the value (aws ... --topic-arn arn:aws:sns:...:123456789012:...). */
    size_t lo = ns > 400 ? ns - 400 : 0;
    static const char *const DOC_MARKS[] = {"123456789012", "example.com", "example.org",
                                            "example.net",  "EXAMPLE",     NULL};
    for (int i = 0; DOC_MARKS[i]; i++)
        if (memmem(d + lo, se - lo, DOC_MARKS[i], strlen(DOC_MARKS[i]))) return 1;
    /* The value: not an identifier, phrase or path, not a file name, not
     * spelled from its own name. */
    /* generatedApiKey, defaultClientSecret: a camelCase name ending in a
     * secret's word names a value, it is not one (drawn letters do not end in
     * a capitalised "Key" after words of three letters or more) */
    if (camel_identifier(s, n, 2, 3)) {
        size_t w = n;
        while (w > 0 && !isupper((unsigned char)s[w - 1]))
            w--;
        if (w > 0) {
            char tail[16];
            size_t tl = n - w + 1;
            if (tl < sizeof tail) {
                for (size_t i = 0; i < tl; i++)
                    tail[i] = (char)tolower((unsigned char)s[w - 1 + i]);
                tail[tl] = 0;
                for (int i = 0; SECRET_TAILS[i]; i++)
                    if (!strcmp(tail, SECRET_TAILS[i])) return 1;
            }
        }
    }
    /* a weak password of letters (fr_is_decoy said so): its name judged above */
    if (generic_letters_weak(d, ss, se))
        return value_from_name(d + ns, ne - ns, s, n) ? 1 : camel ? FR_DECOY_WEAK : 0;
    if (phrase_value(s, n) || value_from_name(d + ns, ne - ns, s, n)) return 1;
    /* ThisIsASECRET123, thisISverySECRET: letters that say secret, password or
     * token, at most four digits after them: made up, never drawn */
    {
        size_t a = 0;
        while (a < n && isalpha((unsigned char)s[a]))
            a++;
        if (a >= 6 && n - a <= 4 && all_of(s + a, n - a, "0123456789") &&
            (contains_ci(s, a, "secret") || contains_ci(s, a, "password") ||
             contains_ci(s, a, "token")))
            return 1;
    }
    /* A mock holding its own name (MockAccessKey = `AccessKey`), a type alias
     * (PrivateKey = ed25519.PrivateKey). */
    if (n >= 6 && ne - ns >= n) {
        const char *name = (const char *)d + ns;
        size_t nn = ne - ns;
        for (size_t i = 0; i + n <= nn; i++)
            if (!strncasecmp(name + i, s, n)) return 1;
    }
    if (n > ne - ns + 1 && s[n - (ne - ns) - 1] == '.' &&
        !memcmp(s + n - (ne - ns), d + ns, ne - ns))
        return 1;
    size_t lead = s[0] == '/'                                                 ? 1
                  : (n > 2 && (!strncmp(s, "~/", 2) || !strncmp(s, "./", 2))) ? 2
                  : (n > 3 && !strncmp(s, "../", 3))                          ? 3
                                                                              : 0;
    if (lead && n > lead && (lead == 2 || memchr(s + lead, '/', n - lead))) return 1;
    if (contains_ci(s, n, "&lt;") || contains_ci(s, n, "&gt;") || contains_ci(s, n, "&quot;"))
        return 1;
    if (typed_runs(s, n) >= 3) return 1;
    if (ascending_run(s, n)) return 1;
    if (jwt_stand_in(s, n)) return 1;
    /* typed in one case (asdf, QWER); a drawn token mixing cases holds
     * "SdFG" by chance (1 in ~5,000 of 40 characters) */
    for (int i = 0; KEYBOARD_RUNS[i]; i++) {
        char up[8];
        size_t kl = strlen(KEYBOARD_RUNS[i]);
        for (size_t k = 0; k <= kl; k++)
            up[k] = (char)toupper((unsigned char)KEYBOARD_RUNS[i][k]);
        if (memmem(s, n, KEYBOARD_RUNS[i], kl) || memmem(s, n, up, kl)) return 1;
    }
    if (s[0] == '=') return 1; /* no base64 and no password starts with padding */
    /* Base64 of a phrase or a stand-in (a-git-token, ACCESS_KEY) is one too. */
    char dec[192];
    size_t k = base64_text(s, n, dec, sizeof dec);
    if (k && (phrase_value(dec, k) || config_value(dec, k))) return 1;
    return camel ? FR_DECOY_WEAK : 0;
}

/* Letters drawn at random in both cases, not words: split at each capital
 * run (camelCase: get|User|Name; XMLHttp: XMLH|ttp), a word's piece is one
 * capital (or an acronym) and then two or more small letters. A piece with
 * one small letter (FAr, Od) or two capitals before its small letters (JBxmj)
 * scores a point; identifiers score 0 or 1 (XMLHttpRequest, IOError,
 * HTTPSConnection, ThisIsMyAPIKey), 20 letters drawn from both cases score 3
 * or more 85% of the time (12: 46%, 32: 99%). */
static int random_case(const char *s, size_t n)
{
    if (n < 12) return 0;
    size_t score = 0, i = 0;
    int up = 0, low = 0;
    for (size_t k = 0; k < n; k++) {
        if (!isalpha((unsigned char)s[k])) return 0;
        up |= isupper((unsigned char)s[k]) != 0;
        low |= islower((unsigned char)s[k]) != 0;
    }
    if (!up || !low) return 0;
    /* two-letter words of camelCase phrases (ThisIsMyKey, UpToDate) */
    static const char SHORT[] =
        "is my of in to on at by as an or if it be do go no so up we me he us am ";
    while (i < n) {
        size_t b = i, u = 0, l = 0;
        while (i < n && isupper((unsigned char)s[i]))
            i++, u++;
        while (i < n && islower((unsigned char)s[i]))
            i++, l++;
        char w[4] = {(char)tolower((unsigned char)s[b]), s[i - 1], ' ', 0};
        if (u && l == 1 && i < n && !(u == 1 && strstr(SHORT, w))) score++;
        if (u >= 2 && l >= 1) score++;
    }
    return score >= 3;
}

/* The password of a URL's userinfo (scheme://user:password@host), for every
 * rule: 1 when it is Ruby interpolation or words naming a secret
 * (secret_access_key); FR_DECOY_WEAK when user and password are named after one
 * thing (cacheuser:cachepass) or the password is the word password / pass /
 * pwd / secret with digits or separators (password2, password-1, pass:word):
 * reported in credential and configuration files alone, like the config
 * guard's weak words. */
static int url_password_stand_in(const unsigned char *d, size_t ss, size_t se)
{
    if (ss < 4 || d[ss - 1] != ':') return 0;
    size_t b = ss - 1;
    while (b > 0 && ss - b < 64 && (isalnum(d[b - 1]) || strchr("-_.%+~", d[b - 1])) && d[b - 1])
        b--;
    /* redis://[:password]@host: the syntax's optional part, not a value */
    if (b >= 4 && d[b - 1] == '[' && !memcmp(d + b - 4, "://", 3) && se > ss && d[se - 1] == ']')
        return 1;
    if (b < 3 || memcmp(d + b - 3, "://", 3)) return 0;
    const char *p = (const char *)d + ss;
    size_t pn = se - ss;
    if (stand_in_pair((const char *)d + b, ss - 1 - b, p, pn)) return FR_DECOY_WEAK;
    /* https://go.dev:443@evil.com: a host name and its port before the '@' (a
     * URL parser's test of the userinfo trick), not a user and a password */
    if (pn <= 5 && all_of(p, pn, "0123456789") && memchr(d + b, '.', ss - 1 - b)) {
        size_t e = ss - 1, t = e;
        while (t > b && isalpha(d[t - 1]))
            t--;
        if (e - t >= 2 && e - t <= 6 && t > b && d[t - 1] == '.' &&
            word_chars((const char *)d + b, ss - 1 - b, ".-") && !isupper(d[b]))
            return 1;
    }
    /* #{cache_password} (Ruby interpolation); secret_access_key, MACHINE-PASS:
     * words naming what goes there, one of them a secret's */
    if (pn >= 4 && p[0] == '#' && p[1] == '{' && p[pn - 1] == '}') return 1;
    if (word_chars(p, pn, "_-") && !memchr_digit(p, pn) &&
        (memchr(p, '_', pn) || memchr(p, '-', pn))) {
        static const char *const NAMES[] = {"secret", "key",  "token", "password",
                                            "passwd", "pass", "pwd",   NULL};
        for (size_t i = 0; i < pn;) {
            size_t e = i;
            while (e < pn && isalpha((unsigned char)p[e]))
                e++;
            for (int j = 0; NAMES[j]; j++)
                if (e - i == strlen(NAMES[j]) && !strncasecmp(p + i, NAMES[j], e - i)) return 1;
            i = e + 1;
        }
    }
    char w[16];
    size_t k = 0;
    for (size_t i = 0; i < pn; i++) {
        if (isalpha((unsigned char)p[i])) {
            if (k == sizeof w - 1) return 0;
            w[k++] = (char)tolower((unsigned char)p[i]);
        } else if (!isdigit((unsigned char)p[i]) && (!p[i] || !strchr("-_.:", p[i]))) {
            return 0;
        }
    }
    w[k] = 0;
    static const char *const PW_WORDS[] = {"password", "passwd",     "pass",   "pwd", "secret",
                                           "token",    "mypassword", "mypass", "key", NULL};
    for (int i = 0; PW_WORDS[i]; i++)
        if (!strcmp(w, PW_WORDS[i])) return FR_DECOY_WEAK;
    return 0;
}

/* INVALID_PASSWORD = '28P01', wrong_password, bad_pwd: a name saying the value
 * is an error code or a wrong password (a test's), not the password. */
static int word_wrong(const char *w, size_t wl, void *ctx)
{
    static const char *const W[] = {"invalid", "wrong", "incorrect", "bad", "error", NULL};
    (void)ctx;
    for (int i = 0; W[i]; i++)
        if (wl == strlen(W[i]) && !memcmp(w, W[i], wl)) return 1;
    return 0;
}

static int name_says_wrong(const unsigned char *d, size_t ss)
{
    size_t ls = ss, ns, ne;
    while (ls > 0 && ss - ls < 160 && d[ls - 1] != '\n')
        ls--;
    /* a password's name only: ERROR_TOKEN in a test is still a token */
    return secret_name(d, ls, ss, &ns, &ne) &&
           (contains_ci((const char *)d + ns, ne - ns, "pass") ||
            contains_ci((const char *)d + ns, ne - ns, "pwd")) &&
           name_words((const char *)d + ns, ne - ns, word_wrong, NULL);
}

/* A value that starts with the salt its file stores beside it ("salt":
 * "jldPXUW3dYNKcrRM", then "value": "jldPXUW3dYNKcrRM7oLQ..."): a tool's
 * encrypted secret state (salt, then nonce and ciphertext), not the secret. */
static int salted_ciphertext(const unsigned char *d, size_t ss, size_t se)
{
    size_t n = se - ss, lo = ss > 4096 ? ss - 4096 : 0;
    /* base64 after a quote: the salt is looked for only then */
    if (n < 32 || !ss || (d[ss - 1] != '"' && d[ss - 1] != '\'')) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum(d[ss + i]) && d[ss + i] != '+' && d[ss + i] != '/' && d[ss + i] != '=' &&
            d[ss + i] != '\\')
            return 0;
    /* the value's first eight bytes earlier in the text (memchr: the guards
     * run on every candidate), right after "salt" and a separator */
    for (const unsigned char *p = memchr(d + lo, d[ss], ss - lo); p && p + 8 <= d + ss;
         p = memchr(p + 1, d[ss], (size_t)(d + ss - p - 1))) {
        if (memcmp(p, d + ss, 8)) continue;
        size_t j = (size_t)(p - d), k = 0, e = j;
        while (e < ss && (isalnum(d[e]) || (d[e] && strchr("+/=_-", d[e]))))
            e++;
        if (e - j < 8 || e - j + 8 > n || memcmp(d + j, d + ss, e - j)) continue;
        while (j > lo && k < 6 && d[j - 1] && strchr("\"': =\t", d[j - 1]))
            j--, k++;
        if (j >= lo + 4 && !strncasecmp((const char *)d + j - 4, "salt", 4)) return 1;
    }
    return 0;
}

int fr_is_decoy(const unsigned char *d, size_t ss, size_t se, unsigned guards)
{
    const char *s = (const char *)d + ss;
    size_t n = se - ss;
    /* Everywhere: UUIDs (unless the rule's context names a provider whose keys
     * are UUIDs), subresource/lockfile integrity hashes, base64 image data. */
    if (is_uuid(s, n)) {
        if (!(guards & FR_GUARD_UUID_OK)) return 1;
        /* 00000000-0000-..., 11111111-2222-...: a stand-in, not a drawn key */
        unsigned seen = 0;
        for (size_t i = 0; i < n; i++)
            if (isxdigit((unsigned char)s[i])) seen |= 1u << hexval(s[i]);
        if (__builtin_popcount(seen) < 6) return 1;
    }
    if ((n > 7 && !strncmp(s, "sha512-", 7)) || (n > 7 && !strncmp(s, "sha384-", 7)) ||
        (n > 7 && !strncmp(s, "sha256-", 7)) || (n > 5 && !strncmp(s, "sha1-", 5)))
        return 1;
    size_t lo = ss > 64 ? ss - 64 : 0, hi = se < ss + 16 ? se : ss + 16;
    if (memmem(d + lo, hi - lo, "data:image/", 11) || memmem(d + lo, hi - lo, "data:font/", 10))
        return 1;
    if ((guards & FR_GUARD_HEX_DIGEST) && (n == 32 || n == 40 || n == 64 || n == 128) &&
        (all_of(s, n, "0123456789abcdef") || all_of(s, n, "0123456789ABCDEF")))
        return 1;
    /* group_name:password:GID:user_list (man 5 group): the password is a field
     * of a list of field names joined by ':' */
    if (ss > 2 && d[ss - 1] == ':' && memchr(s, ':', n) && word_chars(s, n, "_:") &&
        !memchr_digit(s, n)) {
        size_t b = ss - 1;
        while (b > 0 && isalpha(d[b - 1]))
            b--;
        if (b > 0 && b < ss - 1 && d[b - 1] == ':') return 1;
    }
    /* Password::Base, SecurePassword::Digest: a scope's constant after "::" */
    if (ss && d[ss - 1] == ':' && n >= 2 && s[0] == ':' && isupper((unsigned char)s[1]) &&
        word_chars(s + 1, n - 1, "_:"))
        return 1;
    int weak = url_password_stand_in(d, ss, se);
    if (weak == 1) return 1;
    weak = weak == FR_DECOY_WEAK;
    if (guards & FR_GUARD_CONFIG) {
        if (salted_ciphertext(d, ss, se)) return 1;
        int v = config_placeholder(s, n);
        if (v != 1 && name_says_wrong(d, ss)) return 1;
        if (v == FR_DECOY_WEAK)
            weak = 1;
        else if (v)
            return 1;
    }
    if (guards & FR_GUARD_DOC) {
        char w[512];
        size_t k = 0;
        for (size_t i = 0; i < n && k < sizeof w - 1; i++)
            if (isalnum((unsigned char)s[i])) w[k++] = (char)tolower((unsigned char)s[i]);
        w[k] = 0;
        for (int i = 0; DOC_TOKEN_WORDS[i]; i++)
            if (strstr(w, DOC_TOKEN_WORDS[i])) return 1;
        if (ascending_run(w, k)) return 1; /* sk-...-klmnopqrstuvwx-... */
    }
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
                  isupper((unsigned char)s[strlen(WORD_PREFIXES[i])]) ||
                  /* "test token", "dummy value": words ("my ..." starts passphrases) */
                  (s[strlen(WORD_PREFIXES[i])] == ' ' && strcmp(WORD_PREFIXES[i], "my")))))
                return 1;
        /* Only letters (and separators): a phrase, not a credential, unless
         * the letters are drawn (random_case: AHQFfnmJBxmjFArKVvqf). */
        size_t letters = 0, m = n;
        if (m > 1 && (s[m - 1] == ',' || s[m - 1] == '.')) m--; /* prose: "respectively," */
        for (size_t i = 0; i < m; i++)
            letters += isalpha((unsigned char)s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.';
        if (letters == m && !random_case(s, m))
            return (guards & FR_GUARD_GENERIC) && generic_letters_weak(d, ss, se) ? FR_DECOY_WEAK
                                                                                  : 1;
    }
    /* A value found by a secret-sounding name alone (the generic rules) is
     * not reported weak: 1234567890 under "secret" is a stand-in. */
    return !weak ? 0 : (guards & FR_GUARD_GENERIC) ? 1 : FR_DECOY_WEAK;
}

/* Byte classes for the text view: 0 not text (NUL, control bytes, DEL, bytes
 * no valid UTF-8 sequence starts with), 1 ASCII text (printable, the whitespace
 * of text files, and ESC: terminal logs carry colour codes that the log
 * normaliser removes after the view is made), 2-4 the length of the UTF-8
 * sequence a lead byte starts. */
static const unsigned char TEXT_CLASS[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static int text_ascii(unsigned c)
{
    return TEXT_CLASS[c & 0xff] == 1;
}

/* Length of the valid UTF-8 sequence starting at d[0] (a byte >= 0x80), or 0. */
static size_t utf8_len(const unsigned char *d, size_t n)
{
    size_t k = TEXT_CLASS[d[0]];
    if (k < 2 || k > n) return 0;
    for (size_t i = 1; i < k; i++)
        if ((d[i] & 0xc0) != 0x80) return 0;
    return k;
}

/* UTF-16 by its BOM, or by the pattern of ASCII-range text in it: in the
 * sample, nearly every high byte is NUL and nearly no low byte is.
 * Returns 0 (not UTF-16), 'l' or 'b'; *bom is the BOM's length. */
static int utf16_order(const unsigned char *d, size_t len, size_t *bom)
{
    *bom = 2;
    if (len >= 2 && d[0] == 0xff && d[1] == 0xfe) return 'l';
    if (len >= 2 && d[0] == 0xfe && d[1] == 0xff) return 'b';
    *bom = 0;
    size_t pairs = (len < FR_UTF16_SAMPLE ? len : FR_UTF16_SAMPLE) / 2, z0 = 0, z1 = 0;
    if (pairs < 4) return 0;
    for (size_t i = 0; i < pairs; i++) {
        z0 += d[2 * i] == 0;
        z1 += d[2 * i + 1] == 0;
    }
    if (z1 * 10 >= pairs * 9 && z0 * 10 <= pairs) return 'l';
    if (z0 * 10 >= pairs * 9 && z1 * 10 <= pairs) return 'b';
    return 0;
}

/* UTF-16 to UTF-8; NUL and control characters become spaces (lines are kept:
 * a newline is one code unit), unpaired surrogates U+FFFD. */
static void utf16_to_utf8(const unsigned char *d, size_t len, int order, size_t bom, fr_buf *out)
{
    fr_buf_reset(out);
    fr_buf_reserve(out, len / 2 * 3 + 4); /* a unit gives at most 3 bytes, a pair 4 */
    unsigned char *o = (unsigned char *)out->p;
    size_t k = 0;
    for (size_t i = bom; i + 1 < len; i += 2) {
        unsigned u = order == 'l' ? d[i] | (unsigned)d[i + 1] << 8 : (unsigned)d[i] << 8 | d[i + 1];
        unsigned cp = u;
        if (u >= 0xd800 && u <= 0xdfff) {
            unsigned v = i + 3 < len ? (order == 'l' ? d[i + 2] | (unsigned)d[i + 3] << 8
                                                     : (unsigned)d[i + 2] << 8 | d[i + 3])
                                     : 0;
            if (u <= 0xdbff && v >= 0xdc00 && v <= 0xdfff) {
                cp = 0x10000 + ((u - 0xd800) << 10) + (v - 0xdc00);
                i += 2;
            } else {
                cp = 0xfffd;
            }
        }
        if (cp < 0x80) {
            o[k++] = text_ascii(cp) ? (unsigned char)cp : ' ';
        } else if (cp < 0x800) {
            o[k++] = (unsigned char)(0xc0 | cp >> 6);
            o[k++] = (unsigned char)(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            o[k++] = (unsigned char)(0xe0 | cp >> 12);
            o[k++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
            o[k++] = (unsigned char)(0x80 | (cp & 0x3f));
        } else {
            o[k++] = (unsigned char)(0xf0 | cp >> 18);
            o[k++] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
            o[k++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
            o[k++] = (unsigned char)(0x80 | (cp & 0x3f));
        }
    }
    out->len = k;
    out->p[k] = 0;
}

/* Blanks o[from..to) when it is a run too short to be text (newlines stay). */
static void blank_short_run(unsigned char *o, size_t from, size_t to)
{
    if (to - from >= FR_TEXT_VIEW_MIN_RUN) return;
    for (size_t j = from; j < to; j++)
        if (o[j] != '\n') o[j] = ' ';
}

/* The same-length view: NULs, control bytes and invalid UTF-8 as spaces, and
 * runs of text too short to be text between them. */
static void byte_view(const unsigned char *data, size_t len, fr_buf *out)
{
    fr_buf_reset(out);
    fr_buf_append(out, data, len);
    unsigned char *o = (unsigned char *)out->p;
    size_t run = 0; /* where the current run of text bytes started */
    for (size_t i = 0; i < len;) {
        while (i < len && TEXT_CLASS[data[i]] == 1)
            i++;
        if (i == len) break;
        size_t k = utf8_len(data + i, len - i);
        if (k) {
            i += k;
            continue;
        }
        blank_short_run(o, run, i);
        o[i++] = ' ';
        run = i;
    }
    blank_short_run(o, run, len);
}

/* Bytes from the start of d that need no view: text bytes of class 1 and every
 * byte >= 0x80 (UTF-8 is checked only once something else is found). Every
 * blob of a git scan passes here whole: 16 bytes a step with SSE2 (the byte
 * loop was 30% of a worker's time on git/git), then byte by byte. */
#ifdef FR_HAVE_AVX2_PATH
/* plain_prefix's test, 32 bytes a step (every blob of a history passes it
 * whole: 1.5-3% of a git scan with the SSE2 loop alone). */
__attribute__((target("avx2"))) static size_t plain_prefix_avx2(const unsigned char *d, size_t len)
{
    const __m256i k20 = _mm256_set1_epi8(0x20), k7f = _mm256_set1_epi8(0x7f),
                  k09 = _mm256_set1_epi8(9), k0d = _mm256_set1_epi8(13),
                  kesc = _mm256_set1_epi8(27);
    size_t i = 0;
    for (; i + 32 <= len; i += 32) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(d + i));
        __m256i ge20 = _mm256_cmpeq_epi8(_mm256_max_epu8(v, k20), v);
        __m256i ws = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_max_epu8(v, k09), v),
                                      _mm256_cmpeq_epi8(_mm256_min_epu8(v, k0d), v));
        __m256i ok = _mm256_or_si256(_mm256_andnot_si256(_mm256_cmpeq_epi8(v, k7f), ge20),
                                     _mm256_or_si256(ws, _mm256_cmpeq_epi8(v, kesc)));
        if ((unsigned)_mm256_movemask_epi8(ok) != 0xffffffffu) break;
    }
    return i;
}
#endif

static size_t plain_prefix(const unsigned char *d, size_t len)
{
    size_t i = 0;
#ifdef FR_HAVE_AVX2_PATH
    if (__builtin_cpu_supports("avx2")) i = plain_prefix_avx2(d, len);
#endif
#ifdef __SSE2__
    const __m128i k20 = _mm_set1_epi8(0x20), k7f = _mm_set1_epi8(0x7f), k09 = _mm_set1_epi8(9),
                  k0d = _mm_set1_epi8(13), kesc = _mm_set1_epi8(27);
    for (; i + 16 <= len; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(d + i));
        __m128i ge20 = _mm_cmpeq_epi8(_mm_max_epu8(v, k20), v); /* unsigned v >= 0x20 */
        __m128i ws = _mm_and_si128(_mm_cmpeq_epi8(_mm_max_epu8(v, k09), v),
                                   _mm_cmpeq_epi8(_mm_min_epu8(v, k0d), v)); /* 9..13 */
        __m128i ok = _mm_or_si128(_mm_andnot_si128(_mm_cmpeq_epi8(v, k7f), ge20),
                                  _mm_or_si128(ws, _mm_cmpeq_epi8(v, kesc)));
        if (_mm_movemask_epi8(ok) != 0xffff) break;
    }
#endif
    while (i < len && (d[i] >= 0x80 || TEXT_CLASS[d[i]]))
        i++;
    return i;
}

size_t fr_text_views_of(fr_text_views *tv, const unsigned char *data, size_t len)
{
    if (!data) data = (const unsigned char *)"", len = 0;
    size_t i = plain_prefix(data, len);
    tv->n = 1;
    if (i == len) { /* no NUL, no control byte: text as it is */
        tv->p[0] = data;
        tv->len[0] = len;
        return 1;
    }
    /* The byte view always: a UTF-16 guess must not hide bytes that are not
     * UTF-16 (ASCII after a BOM, or after a stretch of UTF-16 text). */
    byte_view(data, len, &tv->buf[0]);
    size_t bom;
    int order = utf16_order(data, len, &bom);
    if (order) {
        utf16_to_utf8(data, len, order, bom, &tv->buf[1]);
        tv->n = 2;
    }
    for (size_t k = 0; k < tv->n; k++) {
        tv->p[k] = (const unsigned char *)(tv->buf[k].p ? tv->buf[k].p : "");
        tv->len[k] = tv->buf[k].len;
    }
    return tv->n;
}

void fr_text_views_release(fr_text_views *tv)
{
    fr_buf_release(&tv->buf[0]);
    fr_buf_release(&tv->buf[1]);
}

/* ---- Credential and configuration files: where a weak password is leaked -- */

/* Directories of tests, examples and documentation: their configs hold
 * stand-ins, whatever the file's name. */
static const char *const NOT_CREDENTIAL_DIRS[] = {
    "test",      "tests",         "testing",       "testdata",
    "test-data", "__tests__",     "spec",          "specs",
    "fixture",   "fixtures",      "example",       "examples",
    "sample",    "samples",       "doc",           "docs",
    "man",       "documentation", "template",      "templates",
    "skel",      "skeleton",      "generators",    "mock",
    "mocks",     "node_modules",  "site-packages", "dist-packages",
    "vendor",    "third_party",   "thirdparty",    NULL};

/* Words in a file name that make it a template or an example of a config. */
static const char *const NOT_CREDENTIAL_NAMES[] = {"example", "sample",  "template", "tmpl", "dist",
                                                   "tpl",     "default", "skel",     "test", "spec",
                                                   "mock",    "fake",    "dummy",    "demo", NULL};

/* Whole file names (lower-cased) of credential files and dotfiles. */
static const char *const CREDENTIAL_NAMES[] = {".netrc",
                                               "_netrc",
                                               ".pgpass",
                                               "pgpass.conf",
                                               ".git-credentials",
                                               ".my.cnf",
                                               ".npmrc",
                                               ".pypirc",
                                               ".s3cfg",
                                               ".dockercfg",
                                               ".boto",
                                               "credentials",
                                               ".credentials",
                                               "config",
                                               ".htpasswd",
                                               "htpasswd",
                                               "shadow",
                                               "gshadow",
                                               ".env",
                                               ".tugboat",
                                               "hub",
                                               ".bash_profile",
                                               ".profile",
                                               ".zprofile",
                                               ".zshenv",
                                               ".bash_login",
                                               ".ftpconfig",
                                               "logins.json",
                                               "recentservers.xml",
                                               "sitemanager.xml",
                                               "filezilla.xml",
                                               "webservers.xml",
                                               NULL};

/* Words that, in the name of a json / yaml / xml / php / python / ruby /
 * JavaScript file, make it an application's or a tool's configuration. */
static const char *const CONFIG_NAME_WORDS[] = {
    "config",      "settings", "credential", "secret", "connection", "datasource",
    "data-source", "database", "sftp",       "ftp",    "mongoid",    "robomongo",
    "appsettings", "passwd",   "servers",    NULL};

static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t m = strlen(suffix);
    return n >= m && !memcmp(s + n - m, suffix, m);
}

int fr_is_credential_path(const char *path)
{
    if (!path) return 0;
    const char *bang = strrchr(path, '!'); /* archive!member: the member's path */
    if (bang) path = bang + 1;
    char p[512];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof p) return 0;
    for (size_t i = 0; i <= n; i++)
        p[i] = (char)tolower((unsigned char)path[i]);
    char *base = strrchr(p, '/');
    base = base ? base + 1 : p;
    size_t bn = strlen(base);
    /* a directory of tests, examples or documentation */
    for (char *c = p; c < base;) {
        char *e = strchr(c, '/');
        size_t cl = (size_t)(e - c);
        for (int i = 0; NOT_CREDENTIAL_DIRS[i]; i++)
            if (cl == strlen(NOT_CREDENTIAL_DIRS[i]) && !memcmp(c, NOT_CREDENTIAL_DIRS[i], cl))
                return 0;
        c = e + 1;
    }
    for (int i = 0; NOT_CREDENTIAL_NAMES[i]; i++)
        if (strstr(base, NOT_CREDENTIAL_NAMES[i])) return 0;
    for (int i = 0; CREDENTIAL_NAMES[i]; i++)
        if (!strcmp(base, CREDENTIAL_NAMES[i])) return 1;
    /* .env.production, .env.local; a home directory's .*rc files (.esmtprc,
     * .msmtprc, .fetchmailrc, .bashrc) */
    if (!strncmp(base, ".env.", 5)) return 1;
    if (base[0] == '.' && bn > 3 && !strchr(base + 1, '.') && ends_with(base, bn, "rc")) return 1;
    static const char *const CONFIG_EXTS[] = {".ini",        ".conf",   ".cfg",    ".cnf",
                                              ".properties", ".env",    ".tfvars", ".htpasswd",
                                              ".passwd",     ".pgpass", NULL};
    for (int i = 0; CONFIG_EXTS[i]; i++)
        if (ends_with(base, bn, CONFIG_EXTS[i])) return 1;
    static const char *const NAMED_EXTS[] = {".json", ".yml", ".yaml", ".xml", ".php",
                                             ".py",   ".rb",  ".js",   NULL};
    const char *dot = strrchr(base, '.');
    int named = !dot; /* proftpdpasswd, ftpd-settings */
    for (int i = 0; dot && NAMED_EXTS[i]; i++)
        named |= !strcmp(dot, NAMED_EXTS[i]);
    /* config.php, settings.py: source code, where a bare word is a name */
    int code = dot && (!strcmp(dot, ".php") || !strcmp(dot, ".py") || !strcmp(dot, ".rb") ||
                       !strcmp(dot, ".js"));
    if (named)
        for (int i = 0; CONFIG_NAME_WORDS[i]; i++)
            if (strstr(base, CONFIG_NAME_WORDS[i])) return code ? FR_CREDENTIAL_CODE : 1;
    return 0;
}

int fr_weak_bare(const unsigned char *d, size_t ss, size_t se)
{
    if (se <= ss || (ss && d[ss - 1] && strchr("\"'`", d[ss - 1]))) return 0;
    if (camel_identifier((const char *)d + ss, se - ss, 3, 3)) return 1; /* a variable */
    for (size_t i = ss; i < se; i++)
        if (!isalpha(d[i])) return 0;
    return 1;
}
