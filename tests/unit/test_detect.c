/* Unit tests for src/detect: matches and positions, guards, ferret:allow, the
 * confirm step against an every-offset candidate source, invalid patterns, and
 * bounded work on adversarial input (counted, not timed). */
#include "check.h"
#include "detect/detect.h"
#include "rules/rules.h"
#include "util/util.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *RULES = "rules:\n"
                           "  - id: t.tok\n"
                           "    name: token\n"
                           "    pattern: '\\b(tok_[A-Za-z0-9]{16})\\b'\n"
                           "    min_entropy: 2.0\n"
                           "    max_length: 20\n"
                           "    severity: high\n"
                           "    confidence: high\n"
                           "    attack: T1552.001\n"
                           "    examples: [tok_ABCDEFGH12345678]\n"
                           "    negative_examples: [y]\n"
                           "  - id: t.kv\n"
                           "    name: key value, needs a keyword nearby\n"
                           "    pattern: '=\\s*\"([A-Za-z0-9+/]{20,60})\"'\n"
                           "    keywords: [password]\n"
                           "    max_length: 80\n"
                           "    severity: medium\n"
                           "    confidence: low\n"
                           "    attack: T1552.001\n"
                           "    examples: ['password = \"Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5\"']\n"
                           "    negative_examples: [y]\n"
                           "  - id: t.look\n"
                           "    name: lookahead forces prefilter mode\n"
                           "    pattern: 'key-([a-z]{10,})(?=!)'\n"
                           "    max_length: 200\n"
                           "    severity: low\n"
                           "    confidence: low\n"
                           "    attack: T1552.001\n"
                           "    examples: [key-abcdefghijk!]\n"
                           "    negative_examples: [y]\n";

static fr_ruleset *RS;
static fr_engine *FAST, *SLOW;
static fr_scanner *SF, *SS;

static size_t scan(fr_scanner *s, const char *text, const fr_match **m)
{
    size_t n = 0;
    CHECK(fr_scan(s, (const unsigned char *)text, strlen(text), m, &n) == FR_OK);
    return n;
}

static void test_basic(void)
{
    const fr_match *m;
    const char *t = "a\nb = 1\n  tok_ABCDEFGH12345678 and tok_Zyxwvutsrqponmlk\n";
    size_t n = scan(SF, t, &m);
    CHECK(n == 2);
    if (n == 2) {
        CHECK(m[0].rule == 0 && m[0].line == 3 && m[0].column == 3);
        CHECK(m[0].send - m[0].sstart == 20);
        CHECK(!strncmp(t + m[0].sstart, "tok_ABCDEFGH12345678", 20));
        CHECK(m[1].line == 3 && m[1].column == 28);
    }
    /* word boundary: a longer run is not a token */
    CHECK(scan(SF, "tok_ABCDEFGH12345678X", &m) == 0);
    /* entropy gate and one-character runs */
    CHECK(scan(SF, "tok_aaaaaaaaaaaaaaaa", &m) == 0);
    /* placeholders */
    CHECK(scan(SF, "tok_xxxxABCDEFGH1234", &m) == 0);
    /* ferret:allow on the line suppresses, on another line does not */
    CHECK(scan(SF, "tok_ABCDEFGH12345678 # ferret:allow", &m) == 0);
    CHECK(scan(SF, "# ferret:allow\ntok_ABCDEFGH12345678", &m) == 1);
}

static void test_keywords_and_prefilter(void)
{
    const fr_match *m;
    CHECK(scan(SF, "password = \"Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5\"", &m) == 1);
    CHECK(scan(SF, "greeting = \"Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5\"", &m) == 0);
    size_t n = scan(SF, "key-abcdefghijkl! key-abcdefghijkl?", &m);
    CHECK(n == 1);
    if (n == 1) CHECK(m[0].rule == 2 && m[0].sstart == 4 && m[0].send == 16);
}

static void test_placeholder_guard(void)
{
    CHECK(fr_is_placeholder("${GITHUB_TOKEN}", 15));
    CHECK(fr_is_placeholder("$(cat token)", 12));
    CHECK(fr_is_placeholder("<YOUR_TOKEN_HERE>", 17));
    CHECK(fr_is_placeholder("{{ secrets.X }}", 15));
    CHECK(fr_is_placeholder("********", 8));
    CHECK(fr_is_placeholder("ghp_XXXXXXXXXXXX", 16));
    CHECK(!fr_is_placeholder("ghp_u8jzPde0IgxLd6Gn", 20));
}

/* Random text with planted tokens: the Hyperscan path must find exactly what the
 * every-offset path finds, and both must find every whole token planted (two
 * engines that both find nothing are "equal" too). Each round has ten slots: five
 * hold a whole token, five a stub that random text may or may not complete. */
/* fr_generic_decoy on "line": the match starts at the first byte of kw (the
 * keyword a generic rule leads with), the secret starts at the first
 * occurrence of val and runs to the next quote or the end of the line. */
static int generic(const char *line, const char *kw, const char *val)
{
    const char *k = strstr(line, kw), *v = strstr(line, val);
    if (!k || !v) return -1;
    const char *e = strchr(v, '"');
    size_t se = e ? (size_t)(e - line) : strlen(line);
    return fr_generic_decoy((const unsigned char *)line, (size_t)(k - line), (size_t)(v - line),
                            se);
}

static void test_generic_guard(void)
{
    /* secret names, in every case style, with their first words before the
     * keyword the match starts at */
    CHECK(generic("client_secret = \"Kq8Wv3Lx7Rz2Tm9P\"", "secret", "Kq8W") == 0);
    CHECK(generic("STRIPE_KEY=Rz3Kq8Wv2Lx7Tm9Q", "_KEY", "Rz3K") == 0);
    CHECK(generic("<add key=\"Stripe:SecretKey\" value=\"Rz3Kq8Wv2Lx7Tm9Q\" />", "key=", "Rz3K") ==
          0);
    CHECK(generic("vault login --token=Wq4Lx8Rv2Kz7Tm3N", "--token", "Wq4L") == 0);
    /* names that merely contain a keyword's word */
    CHECK(generic("GPG_KEY=9fceb02d0ae598e95dc970b74767f19372d61af8", "_KEY", "9fce") == 1);
    CHECK(generic("publicToken = \"Pk7Wq2Lx9Rv4Tz8M\"", "Token", "Pk7W") == 1);
    CHECK(generic("csrf_token = \"Zq8Wv3Lx7Rk2Tm9P\"", "token", "Zq8W") == 1);
    CHECK(generic("next_page_token = \"Cg8KDXBhZ2UtMDAwMDAwMTI\"", "token", "Cg8K") == 1);
    CHECK(generic("x = \"Zq8Wv3Lx7Rk2Tm9P\"", "x", "Zq8W") == 1); /* no secret name at all */
    /* identifiers, phrases, paths, escaped templates, typed runs, padding */
    CHECK(generic("token = \"openai-access-token-1\"", "token", "openai") == 1);
    CHECK(generic("app_token=\"xapp-A111-222-xyz\"", "token", "xapp") == 1);
    CHECK(generic("token \"builtin:test_00000001:0\"", "token", "builtin") == 1);
    CHECK(generic("TOKEN_FILE=/var/run/secrets/token", "TOKEN", "/var") == 1);
    CHECK(generic("API_KEY=~/keys/api.key", "KEY", "~/keys") == 1);
    CHECK(generic("api_key: \"&lt;API_KEY&gt;\"", "key", "&lt;") == 1);
    CHECK(generic("secret = \"8f742231b10e8888abcd99yyyzzz85a5\"", "secret", "8f74") == 1);
    CHECK(generic("SSE_KEY = \"====CT70aTYB2JGff7AjQtwbiLkwH4np\"", "KEY", "====") == 1);
    /* made-up tokens: a JWT signed "signature", keyboard runs, a word and a number */
    CHECK(generic("KEY = \"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.signature\"", "KEY", "eyJh") == 1);
    CHECK(generic("token = \"xoxb-asdlfkyadsofii7asdf734lkasdjfllakjba7zbu\"", "token", "xoxb") ==
          1);
    CHECK(generic("token = \"xoxp-28192348123947234198234\"", "token", "xoxp") == 1);
    CHECK(generic("KEY = \"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.Qm9x8Kd2LrT5vW7zYb3N\"", "KEY",
                  "eyJh") == 0);
    /* base64 of a phrase or a stand-in; base64 of random bytes stays */
    CHECK(generic("credential=YS1naXQtdG9rZW4=", "credential", "YS1n") == 1);
    CHECK(generic("\"access_key\": \"QUNDRVNTX0tFWQ0K\"", "key", "QUND") == 1);
    CHECK(generic("encryptionKey = \"yRyCOikXi1ZDNE0xN3yiFsJjg7LGimoLrGFcLZgQoVk=\"", "Key",
                  "yRyC") == 0);
    /* a real weak-looking but drawn value, and a hex secret */
    CHECK(generic("SLACK_SIGNING_SECRET=8c2f9a4e1d7b3c6f0a5e9d2b8c4f1a7e", "SECRET", "8c2f") == 0);
}

/* The config guard's verdicts: a template is dropped everywhere, a weak real
 * password is FR_DECOY_WEAK (reported in credential files alone), a drawn one
 * passes; credential and configuration paths against docs, tests, templates. */
static int cfg(const char *v)
{
    return fr_is_decoy((const unsigned char *)v, 0, strlen(v), FR_GUARD_CONFIG);
}

static void test_weak_passwords(void)
{
    CHECK(cfg("${DB_PASSWORD}") == 1);
    CHECK(cfg("%DB_PASSWORD%") == 1);
    CHECK(cfg("<password>") == 1);
    CHECK(cfg("changeme") == 1);
    CHECK(cfg("your_password_here") == 1);
    CHECK(cfg("mypassword") == 1);
    CHECK(cfg("YOUR_WIFI_PASSWORD") == 1);
    CHECK(cfg("example") == 1);
    CHECK(cfg("admin123") == FR_DECOY_WEAK);
    CHECK(cfg("password") == FR_DECOY_WEAK);
    CHECK(cfg("p4ssw0rd") == FR_DECOY_WEAK);
    CHECK(cfg("123456") == FR_DECOY_WEAK);
    CHECK(cfg("AdminPassword7") == FR_DECOY_WEAK);
    CHECK(cfg("Kq8vLm2Rx9") == 0);
    /* base64 of user:password is judged by the password */
    CHECK(cfg("Y2k6YWRtaW4xMjM=") == FR_DECOY_WEAK); /* ci:admin123 */
    /* the generic rules never report a weak value */
    CHECK(fr_is_decoy((const unsigned char *)"admin123", 0, 8,
                      FR_GUARD_CONFIG | FR_GUARD_GENERIC) == 1);
    /* but a password of letters alone under a password's name: weak; the
     * name's own word, a Capitalised label and a token's name are not */
    {
        const unsigned G = FR_GUARD_WORDS | FR_GUARD_CONFIG | FR_GUARD_GENERIC;
        static const struct {
            const char *line, *value;
            int want;
        } L[] = {{"smtp_password = vedukarito", "vedukarito", FR_DECOY_WEAK},
                 {"  \"userPassword\" : \"vedukarito\",", "vedukarito", FR_DECOY_WEAK},
                 {"Password=Wachtwoord", "Wachtwoord", 1},
                 {"db_password: PASSWORDS", "PASSWORDS", 1},
                 {"password: password", "password", 1},
                 {"api_token = vedukarito", "vedukarito", 1},
                 {"public_password = vedukarito", "vedukarito", 1}};
        for (size_t i = 0; i < sizeof L / sizeof L[0]; i++) {
            const char *v = strstr(L[i].line, L[i].value);
            size_t ss = (size_t)(v - L[i].line), se = ss + strlen(L[i].value);
            CHECK(fr_is_decoy((const unsigned char *)L[i].line, ss, se, G) == L[i].want);
            if (L[i].want == FR_DECOY_WEAK)
                CHECK(!fr_generic_decoy((const unsigned char *)L[i].line, 0, ss, se));
        }
        const char *bare = "password = vedukarito", *quoted = "password = 'vedukarito'";
        CHECK(fr_weak_bare((const unsigned char *)bare, 11, 21));
        CHECK(!fr_weak_bare((const unsigned char *)quoted, 12, 22));
        CHECK(!fr_weak_bare((const unsigned char *)"password = veduk4rito", 11, 21));
    }
    CHECK(fr_is_credential_path(".netrc"));
    CHECK(fr_is_credential_path("home/ops/.pgpass"));
    CHECK(fr_is_credential_path("srv/app/.env.production"));
    CHECK(fr_is_credential_path("etc/voice/server.ini") == 1);
    CHECK(fr_is_credential_path("db/dbeaver-data-sources.xml"));
    CHECK(fr_is_credential_path("web/public_html/wp-config.php") == FR_CREDENTIAL_CODE);
    CHECK(fr_is_credential_path("srv/app/settings.py") == FR_CREDENTIAL_CODE);
    CHECK(fr_is_credential_path("srv/app/config/settings.yml") == 1);
    CHECK(fr_is_credential_path("home/ops/.esmtprc"));
    CHECK(fr_is_credential_path("backup.tar!home/ops/.git-credentials"));
    CHECK(!fr_is_credential_path("srv/app/.env.example"));
    CHECK(!fr_is_credential_path("docs/server.ini"));
    CHECK(!fr_is_credential_path("tests/fixtures/.env"));
    CHECK(!fr_is_credential_path("templates/server.ini"));
    CHECK(!fr_is_credential_path("src/main.c"));
    CHECK(!fr_is_credential_path("README.md"));
    CHECK(!fr_is_credential_path(NULL));
}

static void test_uuid_opt_out(void)
{
    const char *u = "heroku_api_key = 3f2504e0-4f89-11d3-9a0c-0305e82c3301";
    size_t ss = strlen("heroku_api_key = "), se = strlen(u);
    CHECK(fr_is_decoy((const unsigned char *)u, ss, se, 0) == 1);
    CHECK(fr_is_decoy((const unsigned char *)u, ss, se, FR_GUARD_UUID_OK) == 0);
    /* UUIDs of a few distinct digits are stand-ins, opt-out or not */
    const char *z = "api_key = 00000000-0000-0000-0000-000000000000";
    CHECK(fr_is_placeholder(z + 10, strlen(z) - 10) == 0);
    CHECK(fr_is_decoy((const unsigned char *)z, 10, strlen(z), FR_GUARD_UUID_OK) == 1);
    const char *q = "api_key = 12121212-1212-1212-1212-121212121212";
    CHECK(fr_is_decoy((const unsigned char *)q, 10, strlen(q), FR_GUARD_UUID_OK) == 1);
}

/* A value ending in "</" at the very end of the text: the closing-tag check
 * (config_placeholder) reads no byte after d[se), and what follows the value
 * does not change its verdict. The text ends a page whose next page is not
 * readable: a read past it faults in every build. */
static void test_value_at_text_end(void)
{
    const char *line = "DB_PASSWORD=Xq7mZ2kw</";
    size_t len = strlen(line), ss = strlen("DB_PASSWORD="), pg = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *m =
        mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    if (m == MAP_FAILED) return;
    CHECK(mprotect(m + pg, pg, PROT_NONE) == 0);
    unsigned char *d = m + pg - len;
    memcpy(d, line, len);
    const unsigned G = FR_GUARD_WORDS | FR_GUARD_CONFIG | FR_GUARD_GENERIC;
    int v = fr_is_decoy(d, ss, len, G);
    char more[64];
    snprintf(more, sizeof more, "%sb>\n", line); /* a tag's name after the value */
    CHECK(fr_is_decoy((const unsigned char *)more, ss, len, G) == v);
    CHECK(v == 0); /* reported, as the same value before a newline */
    snprintf(more, sizeof more, "%s\n", line);
    CHECK(fr_is_decoy((const unsigned char *)more, ss, len, G) == 0);
    munmap(m, 2 * pg);
}

/* The third precision review's WRONG kinds (guards.c, 2fc57c2) and the test
 * fixtures that must stay reported (62b8c2b, bc259c0). */
static int at(const char *line, const char *val, unsigned guards)
{
    const char *v = strstr(line, val);
    if (!v) return -1;
    size_t ss = (size_t)(v - line);
    return fr_is_decoy((const unsigned char *)line, ss, ss + strlen(val), guards);
}

static void test_third_review(void)
{
    /* translations of "password"; a test's made-up words are not */
    CHECK(cfg("Contrase\xc3\xb1"
              "a") == 1);
    CHECK(cfg("Has\xc5\x82o") == 1);
    CHECK(cfg("L\xc3\xb6senord") == 1);
    CHECK(cfg("Contrase\xf1"
              "a") == 1); /* Latin-1 */
    CHECK(cfg("pen\xc3\x8bt") != 1);
    CHECK(cfg("p\xc3\xa4ssw\xc3\xb6rt") != 1);
    /* rule lists, expressions, type names, stand-ins */
    CHECK(cfg("required|string|min:8|confirmed") == 1);
    CHECK(cfg("nullable|string") == 1);
    CHECK(cfg("[parameters('adminPassword')]") == 1);
    CHECK(cfg("$[dependencies.a.outputs['b.TOKEN']]") == 1);
    CHECK(cfg("System.Security.SecureString</dev:code>") == 1);
    CHECK(cfg("p`)") == 1);
    CHECK(cfg("token") == 1);
    CHECK(cfg("Enabled") == 1);
    CHECK(cfg("mysecretvalue") == 1);
    CHECK(cfg("custom_connection_value") == 1);
    CHECK(cfg("information.`}") == 1);
    CHECK(cfg("your@login") == 1);
    CHECK(cfg("evil_pass") != 1);
    CHECK(cfg("54321GFEDCBAABCDEFG12345") == FR_DECOY_WEAK);
    CHECK(cfg("Kq8vLm2Rx9") == 0);
    /* a password its name calls wrong; a token named so is still one */
    CHECK(at("INVALID_PASSWORD = '28P01'", "28P01", FR_GUARD_CONFIG) == 1);
    CHECK(at("ERROR_TOKEN = '7ae290c2a06244c4b41692eb4e9225f2'", "7ae2", FR_GUARD_CONFIG) == 0);
    /* URLs: host:port, the syntax's optional part, a word for the token */
    CHECK(at("'https://go.dev:443@evil.com'", "443", 0) == 1);
    CHECK(at("redis://[:password]@localhost:6379/0", "password]", 0) == 1);
    CHECK(at("https://build:token@pkgs.lan/simple", "token", 0) == FR_DECOY_WEAK);
    CHECK(at("https://build:Kq8vLm2Rx9@pkgs.lan/simple", "Kq8vLm2Rx9", 0) == 0);
    /* generic: Bicep, names, labels, grammar, forms */
    /* an unquoted camelCase value: a Bicep type or a variable in code, a passphrase
     * in a .env file: weak (reported at credential and configuration paths only,
     * never as a bare word in configuration written as code) */
    CHECK(generic("credentials: workspaceConnectionOAuth2Type", "credentials", "workspace") ==
          FR_DECOY_WEAK);
    CHECK(generic("API_SECRET=purpleMonkeyDishwasher7", "SECRET", "purple") == FR_DECOY_WEAK);
    CHECK(generic("API_SECRET=\"purpleMonkeyDishwasher7\"", "SECRET", "purple") == 0);
    {
        const char *l = "SECRET_KEY = purpleMonkeyDishwasher7";
        CHECK(fr_weak_bare((const unsigned char *)l, 13, strlen(l)) == 1);
        const char *q = "SECRET_KEY = 'purpleMonkeyDishwasher7'";
        CHECK(fr_weak_bare((const unsigned char *)q, 14, strlen(q) - 1) == 0);
    }
    CHECK(generic("adminSecret: hubParameters.?p2sVpn.?adminSecret", "Secret", "hubP") == 1);
    CHECK(generic("credentials: credentialsType?", "credentials", "credentialsType") == 1);
    CHECK(generic("network_credential=\"juniper1\"", "credential", "juniper1") == 1);
    CHECK(generic("token = 1*255TCHAR", "token", "1*255") == 1);
    CHECK(generic("password: \"*0cb5b86f23fdc24db19a29b8854eb860cbc47793\"", "password", "*0cb5") ==
          0);
    CHECK(generic("accountkey: base64encodedaccountkey", "accountkey", "base64") == 1);
    CHECK(generic("should be \"Credential:CustomTitle:\"", "Credential", "CustomTitle") == 1);
    CHECK(generic("'username=foo&password=bar&next=%2Fapi%2Fv2'", "password", "bar&") == 1);
    CHECK(generic("p.do?org.apache.struts.taglib.html.TOKEN=9594e1d11fbc996d52bda44e608bb744",
                  "TOKEN", "9594") == 1);
    CHECK(generic("client_secret: Kq8Wv3Lx7Rz2Tm9PqA", "secret", "Kq8W") == 0);
}

/* The fourth precision review's WRONG kinds and their neighbours that stay
 * reported. */
static void test_fourth_review(void)
{
    /* a value that starts with the salt stored beside it is ciphertext; a
     * value that does not, or a short one, is judged as before */
    const char *st = "\"salt\": \"Qm7Vx2Lr9Kd4Tz8W\",\n\"redis-password\": {\"value\": "
                     "\"Qm7Vx2Lr9Kd4Tz8Wa0bY3cX6eZ9fB2gH5jK8mN1pQ4rS7tU=\"}";
    CHECK(at(st, "Qm7Vx2Lr9Kd4Tz8Wa0bY3cX6eZ9fB2gH5jK8mN1pQ4rS7tU=", FR_GUARD_CONFIG) == 1);
    const char *st2 = "\"salt\": \"Qm7Vx2Lr9Kd4Tz8W\",\n\"redis-password\": {\"value\": "
                      "\"Wz8Tk4Dp9Rl2Xv7Ma0bY3cX6eZ9fB2gH5jK8mN1pQ4rS7tU=\"}";
    CHECK(at(st2, "Wz8Tk4Dp9Rl2Xv7Ma0bY3cX6eZ9fB2gH5jK8mN1pQ4rS7tU=", FR_GUARD_CONFIG) == 0);
    /* a colour; a password with '#' and more than hex digits */
    CHECK(cfg("#9e9") == 1);
    CHECK(cfg("#fed84f") == 1);
    CHECK(cfg("#9e9Kq8vLm") == 0);
    /* a regular expression's tail; a password ending in '+' */
    CHECK(cfg("AmazonLookoutMetrics-.+") == 1);
    CHECK(cfg("Kq8vLm2Rx9.*?") == 1);
    CHECK(cfg("Kq8vLm2Rx9+") == 0);
    /* the user name Google's registries take with a token */
    CHECK(cfg("oauth2accesstoken") == 1);
    CHECK(at("docker login -u -p oauth2accesstoken --password-stdin", "oauth2accesstoken",
             FR_GUARD_WORDS) == 1);
    /* an HTML-escaped slot, everywhere */
    CHECK(fr_is_placeholder("&lt;dbpassword&gt;", 18) == 1);
    CHECK(fr_is_placeholder("Kq8&lt;vLm2", 11) == 0);
    /* status and sequence tokens name no credential */
    CHECK(generic("--node-association-status-token \"AflJKl+/GoKLZJBdDQEx0O65CDi57blQ\"", "token",
                  "AflJ") == 1);
    CHECK(generic("--sequence-token \"49542672486831074009579604567656788214\"", "token", "4954") ==
          1);
    CHECK(generic("--session-token \"AflJKl+/GoKLZJBdDQEx0O65CDi57blQ\"", "token", "AflJ") == 0);
    CHECK(generic("NodeAssociationStatusToken: \"AflJKl+/GoKLZJBdDQEx0O65CDi57blQ\"", "Token",
                  "AflJ") == 1);
    /* ... only as the name's last two words: a status page's key is one */
    CHECK(generic("STATUS_IO_API_KEY=\"AflJKl+/GoKLZJBdDQEx0O65CDi57blQ\"", "KEY", "AflJ") == 0);
    CHECK(generic("statusIoToken = \"AflJKl+/GoKLZJBdDQEx0O65CDi57blQ\"", "Token", "AflJ") == 0);
    CHECK(generic("AWS_SEQUENCE_TOKEN_SECRET=\"AflJKl+/GoKLZJBdDQEx0O65CDi57blQ\"", "SECRET",
                  "AflJ") == 0);
    /* a camelCase name for a default: the name of a value, not one */
    CHECK(generic("password: process.env.MAIL_PASSWORD || \"generatedApiKey\"", "PASSWORD",
                  "generated") == 1);
    CHECK(generic("secret: \"defaultClientSecret\"", "secret", "default") == 1);
    CHECK(generic("password: process.env.MAIL_PASSWORD || \"Zq8rT2mWk9vB\"", "PASSWORD", "Zq8r") ==
          0);
}

static uint32_t xorshift(uint32_t *st)
{
    *st ^= *st << 13, *st ^= *st >> 17, *st ^= *st << 5;
    return *st;
}

static void test_equivalence(void)
{
    const char alpha[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _=\"\n!-";
    const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    const char *stub[] = {" tok_", " password = \"", " key-"};
    uint32_t st = 12345;
    char *buf = malloc(20001);
    size_t planted = 0, found_planted = 0, total = 0;
    for (int round = 0; round < 30; round++) {
        size_t len = 2000 + xorshift(&st) % 18000, slot = len / 10;
        for (size_t i = 0; i < len; i++)
            buf[i] = alpha[xorshift(&st) % (sizeof alpha - 1)];
        size_t want[5];
        uint32_t want_rule[5];
        int nwant = 0;
        for (int k = 0; k < 10; k++) {
            char *at = buf + (size_t)k * slot + xorshift(&st) % (slot - 64);
            int which = (int)(xorshift(&st) % 3);
            if (k % 2) { /* a stub */
                memcpy(at, stub[which], strlen(stub[which]));
                continue;
            }
            /* a whole token: its secret span starts at `secret` */
            static const char *pre[] = {" ", " password = \"", " key-"};
            static const size_t n[] = {16, 24, 12};
            char *secret = at + strlen(pre[which]);
            memcpy(at, pre[which], strlen(pre[which]));
            char *q = secret;
            if (which == 0) q += sprintf(q, "tok_");
            for (size_t i = 0; i < n[which]; i++)
                *q++ = which == 2 ? alnum[xorshift(&st) % 26] : alnum[xorshift(&st) % 62];
            *q = which == 0 ? ' ' : which == 1 ? '"' : '!';
            want[nwant] = (size_t)(secret - buf);
            want_rule[nwant++] = (uint32_t)which;
        }
        buf[len] = 0;
        const fr_match *a, *b;
        size_t na = 0, nb = 0;
        CHECK(fr_scan(SF, (const unsigned char *)buf, len, &a, &na) == FR_OK);
        fr_match *copy = malloc((na + 1) * sizeof *copy);
        if (na) memcpy(copy, a, na * sizeof *a);
        CHECK(fr_scan(SS, (const unsigned char *)buf, len, &b, &nb) == FR_OK);
        int same = na == nb;
        for (size_t i = 0; same && i < na; i++)
            same = copy[i].rule == b[i].rule && copy[i].sstart == b[i].sstart &&
                   copy[i].send == b[i].send;
        CHECK(same);
        for (int w = 0; w < nwant; w++)
            for (size_t i = 0; i < na; i++)
                if (copy[i].sstart == want[w] && copy[i].rule == want_rule[w]) {
                    found_planted++;
                    break;
                }
        planted += (size_t)nwant;
        total += na;
        free(copy);
    }
    free(buf);
    CHECK(planted == 150);
    CHECK(found_planted == 150);
    /* and one stub the random text completed (fixed by the generator and seed) */
    CHECK(total == 151);
}

/* A long run that the prefilter reports at every offset and PCRE2 rejects: the
 * number of confirm calls must stay proportional to the input, not quadratic. */
static void test_adversarial(void)
{
    size_t len = 4u << 20;
    char *buf = malloc(len + 1);
    memcpy(buf, "key-", 4);
    memset(buf + 4, 'a', len - 4);
    buf[len] = 0;
    const fr_match *m;
    size_t n = 0;
    CHECK(fr_scan(SF, (const unsigned char *)buf, len, &m, &n) == FR_OK);
    CHECK(n == 0);
    const fr_scan_stats *st = fr_scanner_stats(SF);
    CHECK(st->hits > len / 2);            /* the prefilter did fire everywhere ... */
    CHECK(st->confirms <= st->hits + 16); /* ... and each offset was confirmed once */
    /* many tokens back to back: every one found, in order */
    size_t per = 21, count = 100000;
    char *many = malloc(per * count + 1);
    for (size_t i = 0; i < count; i++) {
        snprintf(many + i * per, per + 1, "tok_%016zx ", i * 2654435761u);
        for (size_t j = 4; j < 20; j++)
            if (many[i * per + j] == '0') many[i * per + j] = 'Q' + (char)(j % 5);
    }
    n = 0;
    CHECK(fr_scan(SF, (const unsigned char *)many, per * count, &m, &n) == FR_OK);
    CHECK(n == count);
    free(many);
    free(buf);
}

static void test_invalid_pattern(void)
{
    const char *bad = "rules:\n"
                      "  - id: ok\n    name: x\n    pattern: '(a+)'\n    severity: low\n"
                      "    confidence: low\n    attack: T1\n    examples: [a]\n"
                      "    negative_examples: [b]\n"
                      "  - id: broken\n    name: x\n    pattern: '(a[+'\n    severity: low\n"
                      "    confidence: low\n    attack: T1\n    examples: [a]\n"
                      "    negative_examples: [b]\n"
                      "  - id: nocap\n    name: x\n    pattern: 'abc'\n    severity: low\n"
                      "    confidence: low\n    attack: T1\n    examples: [a]\n"
                      "    negative_examples: [b]\n";
    const char *names[] = {"bad.yml"};
    size_t lens[] = {strlen(bad)};
    fr_ruleset *rs = NULL;
    CHECK(fr_rules_load_buffers(&rs, names, &bad, lens, 1) == FR_OK);
    fr_engine *e = NULL;
    CHECK(fr_engine_new(&e, rs, NULL) == FR_ECORRUPT);
    CHECK(strstr(fr_error(), "bad.yml:10: rule broken: invalid pattern") != NULL);
    fr_buf errs = {0};
    CHECK(fr_engine_check_compile(rs, &errs) == 2);
    CHECK(errs.p && strstr(errs.p, "bad.yml:18: rule nocap: pattern needs a capture group"));
    fr_buf_release(&errs);
    fr_ruleset_free(rs);
}

/* Scans n bytes through their views: the matches, merged. */
static size_t scan_views(const void *d, size_t n, const fr_match **m, fr_text_views *tv)
{
    size_t nm = 0;
    fr_text_views_of(tv, d, n);
    CHECK(fr_scan_views(SF, tv->p, tv->len, tv->n, m, &nm) == FR_OK);
    return nm;
}

/* UTF-16 to the content: each ASCII byte of s followed by a NUL (LE). */
static void utf16le(fr_buf *b, const char *s)
{
    for (; *s; s++) {
        fr_buf_append(b, s, 1);
        fr_buf_append(b, "", 1);
    }
}

/* A UTF-16 guess is an additional view, never the only one (review item 3):
 * ASCII after a BOM or after UTF-16 text is found in the byte view, UTF-16 text
 * in the transcoding, and a secret seen in both is one match. */
static void test_views(void)
{
    const char *tok = "tok_ABCDEFGH12345678", *tok2 = "tok_Zyxwvutsrqponmlk";
    const fr_match *m;
    fr_text_views tv = {0};
    fr_buf b = {0};
    /* a BOM, an ASCII token, one NUL */
    fr_buf_printf(&b, "\xff\xfeTOKEN=%s\n", tok);
    fr_buf_append(&b, "", 1);
    size_t n = scan_views(b.p, b.len, &m, &tv);
    CHECK(tv.n == 2 && n == 1);
    if (n == 1) {
        CHECK(m[0].view == 0 && m[0].sstart == 8 && m[0].line == 1 && m[0].column == 9);
        CHECK(!memcmp(tv.p[0] + m[0].sstart, tok, 20));
    }
    fr_text_views_release(&tv);
    /* 4 KiB of UTF-16LE text, then an ASCII token */
    fr_buf_reset(&b);
    fr_buf_append(&b, "\xff\xfe", 2);
    for (int i = 0; i < 128; i++)
        utf16le(&b, "some UTF-16 text\n");
    CHECK(b.len == 2 + 128 * 34);
    fr_buf_printf(&b, "TOKEN=%s\n", tok);
    n = scan_views(b.p, b.len, &m, &tv);
    CHECK(tv.n == 2 && n == 1);
    /* (the byte view: each UTF-16 newline's NUL is a space before the token) */
    if (n == 1) CHECK(m[0].view == 0 && m[0].line == 129 && m[0].column == 8);
    fr_text_views_release(&tv);
    /* genuine UTF-16LE (no BOM) holding a token */
    fr_buf_reset(&b);
    utf16le(&b, "line one\nkey: ");
    utf16le(&b, tok);
    utf16le(&b, "\n");
    n = scan_views(b.p, b.len, &m, &tv);
    CHECK(tv.n == 2 && n == 1);
    if (n == 1) {
        CHECK(m[0].view == 1 && m[0].line == 2 && m[0].column == 6);
        CHECK(!memcmp(tv.p[1] + m[0].sstart, tok, 20));
    }
    fr_text_views_release(&tv);
    /* the same token in UTF-16 and in ASCII: one match; another token: two
     * (a BOM: without one, this much ASCII is not taken for UTF-16) */
    fr_buf_reset(&b);
    fr_buf_append(&b, "\xfe\xff", 2);
    for (const char *c = "line one\nkey: tok_ABCDEFGH12345678\n"; *c; c++) /* BE */
        fr_buf_append(&b, "", 1), fr_buf_append(&b, c, 1);
    fr_buf_append(&b, tok, 20);
    n = scan_views(b.p, b.len, &m, &tv);
    CHECK(tv.n == 2 && n == 1);
    fr_text_views_release(&tv);
    fr_buf_printf(&b, " %s", tok2);
    n = scan_views(b.p, b.len, &m, &tv);
    CHECK(tv.n == 2 && n == 2);
    /* (the byte view's come first: the UTF-16 token repeats its first) */
    if (n == 2)
        CHECK(m[0].view == 0 && m[1].view == 0 && !memcmp(tv.p[0] + m[0].sstart, tok, 20) &&
              !memcmp(tv.p[0] + m[1].sstart, tok2, 20));
    fr_text_views_release(&tv);
    /* plain text: one view, the content itself */
    n = scan_views(tok, 20, &m, &tv);
    CHECK(tv.n == 1 && tv.p[0] == (const unsigned char *)tok && n == 1 && m[0].view == 0);
    fr_text_views_release(&tv);
    fr_buf_release(&b);
}

/* The compiled-database cache: a second engine loads what the first stored and
 * finds the same matches; a directory others can write is not used. */
static void test_cache(void)
{
    char dir[] = "/tmp/ferret-cache-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    fr_engine_opts o = {.cache_dir = dir};
    fr_engine *a = NULL, *b = NULL;
    CHECK(fr_engine_new(&a, RS, &o) == FR_OK);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "test $(ls %s | wc -l) = 1", dir);
    CHECK(system(cmd) == 0);
    CHECK(fr_engine_new(&b, RS, &o) == FR_OK);
    fr_scanner *sa = NULL, *sb = NULL;
    CHECK(fr_scanner_new(&sa, a) == FR_OK && fr_scanner_new(&sb, b) == FR_OK);
    const char *t =
        "tok_ABCDEFGH12345678 password = \"Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5\" key-abcdefghijk!";
    const fr_match *m;
    size_t na = 0, nb = 0;
    fr_scan(sa, (const unsigned char *)t, strlen(t), &m, &na);
    fr_scan(sb, (const unsigned char *)t, strlen(t), &m, &nb);
    CHECK(na == 3 && nb == 3);
    fr_scanner_free(sa), fr_scanner_free(sb);
    fr_engine_free(a), fr_engine_free(b);
    /* a corrupt cached file is not trusted blindly: it is rebuilt */
    snprintf(cmd, sizeof cmd, "for f in %s/*.db; do printf junk > $f; done", dir);
    CHECK(system(cmd) == 0);
    CHECK(fr_engine_new(&a, RS, &o) == FR_OK);
    fr_engine_free(a);
    /* the file is mapped, not read: copies of a good one cut inside its
     * trailer, after it, one byte short of its end, are rebuilt and work */
    snprintf(cmd, sizeof cmd, "cp %s/*.db %s/good", dir, dir);
    CHECK(system(cmd) == 0);
    static const char *const cuts[] = {"d.find(b'size ') + 7", "d.find(b'sha256 ') + 20",
                                       "d.find(b'sha256 ') + 72", "len(d) - 1"};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        snprintf(cmd, sizeof cmd,
                 "cd %s && for f in *.db; do python3 -c \"import sys; d=open('good','rb').read(); "
                 "open(sys.argv[1],'wb').write(d[:%s])\" $f; done",
                 dir, cuts[i]);
        CHECK(system(cmd) == 0);
        CHECK(fr_engine_new(&a, RS, &o) == FR_OK);
        CHECK(fr_scanner_new(&sa, a) == FR_OK);
        na = 0;
        fr_scan(sa, (const unsigned char *)t, strlen(t), &m, &na);
        CHECK(na == 3);
        fr_scanner_free(sa);
        fr_engine_free(a);
        snprintf(cmd, sizeof cmd, "cmp -s %s/good %s/*.db", dir, dir);
        CHECK(system(cmd) == 0); /* rewritten whole */
    }
    /* a group/world-writable directory is ignored (nothing new written) */
    snprintf(cmd, sizeof cmd, "rm -f %s/*; chmod 777 %s", dir, dir);
    CHECK(system(cmd) == 0);
    CHECK(fr_engine_new(&a, RS, &o) == FR_OK);
    fr_engine_free(a);
    snprintf(cmd, sizeof cmd, "test $(ls %s | wc -l) = 0", dir);
    CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

/* One rule of another shape, and RULES with two more: caches of RULES or of the
 * larger set copied under the name of this set's cache must not be used (they
 * report ids of other rules, some past the end of this set). */
static const char *OTHER = "rules:\n"
                           "  - id: t.other\n"
                           "    name: other\n"
                           "    pattern: '\\b(oth_[a-z0-9]{12})\\b'\n"
                           "    severity: high\n"
                           "    confidence: high\n"
                           "    attack: T1552.001\n"
                           "    examples: [oth_abc123def456]\n"
                           "    negative_examples: [y]\n";
/* One rule like OTHER's under another pattern: its database under OTHER's header
 * (a right identity, a right checksum) must not be used. */
static const char *ALT = "rules:\n"
                         "  - id: t.other\n"
                         "    name: other\n"
                         "    pattern: '\\b(alt_[a-z0-9]{12})\\b'\n"
                         "    severity: high\n"
                         "    confidence: high\n"
                         "    attack: T1552.001\n"
                         "    examples: [alt_abc123def456]\n"
                         "    negative_examples: [y]\n";
#define EXTRA_RULE(n)                                                                              \
    "  - id: t.extra" n "\n"                                                                       \
    "    name: extra\n"                                                                            \
    "    pattern: '\\b(ex" n "_[a-z]{10})\\b'\n"                                                   \
    "    severity: low\n"                                                                          \
    "    confidence: low\n"                                                                        \
    "    attack: T1552.001\n"                                                                      \
    "    examples: [ex" n "_abcdefghij]\n"                                                         \
    "    negative_examples: [y]\n"

static fr_engine *cached_engine(const fr_ruleset *rs, const char *dir)
{
    fr_engine_opts o = {.cache_dir = dir};
    fr_engine *e = NULL;
    CHECK(fr_engine_new(&e, rs, &o) == FR_OK);
    return e;
}

/* Scans with OTHER's engine: exactly its one secret, wherever the others are. */
static void expect_other_only(fr_engine *e)
{
    fr_scanner *s = NULL;
    CHECK(e && fr_scanner_new(&s, e) == FR_OK);
    if (!s) return;
    char t[1024];
    int k = snprintf(t, sizeof t, "oth_abc123def456\n%400s\n", "");
    snprintf(t + k, sizeof t - (size_t)k,
             "tok_ABCDEFGH12345678 ex1_abcdefghij ex2_abcdefghij key-abcdefghijk! "
             "password = \"Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5\"\n");
    const fr_match *m;
    size_t n = 0;
    CHECK(fr_scan(s, (const unsigned char *)t, strlen(t), &m, &n) == FR_OK);
    CHECK(n == 1);
    if (n == 1) CHECK(m[0].rule == 0 && m[0].sstart == 0 && m[0].send == 16 && m[0].line == 1);
    fr_scanner_free(s);
}

static void test_cache_swap(void)
{
    const char *big = NULL;
    fr_buf b = {0};
    fr_buf_puts(&b, RULES);
    fr_buf_puts(&b, EXTRA_RULE("1") EXTRA_RULE("2"));
    big = b.p;
    const char *names[] = {"other.yml"}, *bnames[] = {"big.yml"};
    size_t olen[] = {strlen(OTHER)}, blen[] = {b.len};
    fr_ruleset *other = NULL, *large = NULL;
    CHECK(fr_rules_load_buffers(&other, names, &OTHER, olen, 1) == FR_OK);
    CHECK(fr_rules_load_buffers(&large, bnames, &big, blen, 1) == FR_OK);
    if (!other || !large) return;
    CHECK(large->n == 5);
    char da[] = "/tmp/ferret-cache-a-XXXXXX", db[] = "/tmp/ferret-cache-b-XXXXXX",
         dc[] = "/tmp/ferret-cache-c-XXXXXX";
    CHECK(mkdtemp(da) && mkdtemp(db) && mkdtemp(dc));
    fr_engine_free(cached_engine(RS, da));
    fr_engine_free(cached_engine(large, dc));
    fr_engine *e = cached_engine(other, db);
    expect_other_only(e);
    fr_engine_free(e);
    char cmd[1024];
    /* keep OTHER's own cache to compare with what is rewritten */
    snprintf(cmd, sizeof cmd, "cp -p %s/hs-*.db %s/own && test $(ls %s | wc -l) = 2", db, db, db);
    CHECK(system(cmd) == 0);
    const char *from[] = {da, dc};
    for (int i = 0; i < 2; i++) {
        snprintf(cmd, sizeof cmd, "cp %s/hs-*.db %s/hs-*.db && ! cmp -s %s/own %s/hs-*.db", from[i],
                 db, db, db);
        CHECK(system(cmd) == 0);
        e = cached_engine(other, db);
        expect_other_only(e);
        fr_engine_free(e);
        /* ignored, recompiled, and the right database stored in its place */
        snprintf(cmd, sizeof cmd,
                 "cmp -s %s/own %s/hs-*.db && test $(stat -c %%a %s/hs-*.db) = 600", db, db, db);
        CHECK(system(cmd) == 0);
    }
    /* the right header over a database with one byte changed: the checksum */
    snprintf(cmd, sizeof cmd,
             "f=$(ls %s/hs-*.db) && python3 -c \"import sys; p=sys.argv[1]; d=bytearray(open(p,"
             "'rb').read()); d[-9]^=1; open(p,'wb').write(d)\" $f && ! cmp -s %s/own $f",
             db, db);
    CHECK(system(cmd) == 0);
    e = cached_engine(other, db);
    expect_other_only(e);
    fr_engine_free(e);
    snprintf(cmd, sizeof cmd, "cmp -s %s/own %s/hs-*.db", db, db);
    CHECK(system(cmd) == 0);
    /* the right header and a right checksum around a database compiled from
     * other patterns (ALT's): the examples show it, it is rebuilt */
    fr_ruleset *alt = NULL;
    const char *anames[] = {"alt.yml"};
    size_t alen[] = {strlen(ALT)};
    CHECK(fr_rules_load_buffers(&alt, anames, &ALT, alen, 1) == FR_OK);
    char dd[] = "/tmp/ferret-cache-d-XXXXXX";
    CHECK(mkdtemp(dd) != NULL);
    if (alt) fr_engine_free(cached_engine(alt, dd));
    snprintf(cmd, sizeof cmd,
             "f=$(ls %s/hs-*.db) && python3 -c \"import sys, hashlib; o = open(sys.argv[1], 'rb')"
             ".read(); a = open(sys.argv[2], 'rb').read(); d = a[a.index(b'\\nsha256 ') + 73:]; "
             "open(sys.argv[1], 'wb').write(o[:o.index(b'size ')] + b'size %%d\\nsha256 %%s\\n' "
             "%% (len(d), hashlib.sha256(d).hexdigest().encode()) + d)\" $f %s/hs-*.db && "
             "! cmp -s %s/own $f",
             db, dd, db);
    CHECK(system(cmd) == 0);
    e = cached_engine(other, db);
    expect_other_only(e);
    fr_engine_free(e);
    snprintf(cmd, sizeof cmd, "cmp -s %s/own %s/hs-*.db", db, db);
    CHECK(system(cmd) == 0);
    /* a rule no example of which its pattern matches cannot check a database:
     * it is compiled on every run, never cached, and still finds its secrets */
    fr_ruleset *unchecked = NULL;
    const char *unames[] = {"unchecked.yml"};
    const char *utext = "rules:\n"
                        "  - id: t.other\n"
                        "    name: other\n"
                        "    pattern: '\\b(oth_[a-z0-9]{12})\\b'\n"
                        "    severity: high\n"
                        "    confidence: high\n"
                        "    attack: T1552.001\n"
                        "    examples: [x]\n"
                        "    negative_examples: [y]\n";
    size_t ulen[] = {strlen(utext)};
    CHECK(fr_rules_load_buffers(&unchecked, unames, &utext, ulen, 1) == FR_OK);
    snprintf(cmd, sizeof cmd, "rm -f %s/*", dd);
    CHECK(system(cmd) == 0);
    if (unchecked) {
        e = cached_engine(unchecked, dd);
        expect_other_only(e);
        fr_engine_free(e);
    }
    snprintf(cmd, sizeof cmd, "test $(ls %s | wc -l) = 0", dd);
    CHECK(system(cmd) == 0);
    fr_ruleset_free(unchecked);
    fr_ruleset_free(alt);
    snprintf(cmd, sizeof cmd, "rm -rf %s %s %s %s", da, db, dc, dd);
    CHECK(system(cmd) == 0);
    fr_ruleset_free(other);
    fr_ruleset_free(large);
    fr_buf_release(&b);
}

/* A rule anchored at the text's start and end (\A, \z) checks the database
 * like any other: the examples, scanned together, are scanned alone before
 * one counts as missed. Its cache is stored once and then loaded, not
 * rewritten (same inode), and the loaded engine finds what the first did. */
static void test_cache_anchored(void)
{
    const char *y = "rules:\n"
                    "  - id: t.anchored\n"
                    "    name: anchored\n"
                    "    pattern: '\\A[ \\t]*(anc_[a-z0-9]{12})[ \\t]*\\n?\\z'\n"
                    "    severity: high\n"
                    "    confidence: high\n"
                    "    attack: T1552.001\n"
                    "    examples: ['anc_abc123def456', \"  anc_abc123def457\\n\"]\n"
                    "    negative_examples: ['x anc_abc123def456']\n"
                    "  - id: t.plain\n"
                    "    name: plain\n"
                    "    pattern: '\\b(pln_[a-z0-9]{12})\\b'\n"
                    "    severity: high\n"
                    "    confidence: high\n"
                    "    attack: T1552.001\n"
                    "    examples: [pln_abc123def456]\n"
                    "    negative_examples: [y]\n";
    const char *names[] = {"anchored.yml"};
    size_t lens[] = {strlen(y)};
    fr_ruleset *rs = NULL;
    CHECK(fr_rules_load_buffers(&rs, names, &y, lens, 1) == FR_OK);
    if (!rs) return;
    char dir[] = "/tmp/ferret-cache-anc-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char cmd[512];
    fr_engine *e = cached_engine(rs, dir);
    fr_engine_free(e);
    snprintf(cmd, sizeof cmd, "test $(ls %s | wc -l) = 1 && stat -c %%i %s/hs-*.db > %s.ino", dir,
             dir, dir);
    CHECK(system(cmd) == 0);
    e = cached_engine(rs, dir);
    snprintf(cmd, sizeof cmd, "test \"$(stat -c %%i %s/hs-*.db)\" = \"$(cat %s.ino)\"", dir, dir);
    CHECK(system(cmd) == 0);
    fr_scanner *s = NULL;
    CHECK(e && fr_scanner_new(&s, e) == FR_OK);
    const char *t = "anc_abc123def456\n";
    const fr_match *m;
    size_t n = 0;
    if (s) CHECK(fr_scan(s, (const unsigned char *)t, strlen(t), &m, &n) == FR_OK && n == 1);
    t = "x anc_abc123def456 pln_abc123def456";
    if (s) CHECK(fr_scan(s, (const unsigned char *)t, strlen(t), &m, &n) == FR_OK && n == 1);
    if (s && n == 1) CHECK(m[0].rule == 1);
    fr_scanner_free(s);
    fr_engine_free(e);
    fr_ruleset_free(rs);
    snprintf(cmd, sizeof cmd, "rm -rf %s %s.ino", dir, dir);
    CHECK(system(cmd) == 0);
}

/* The stride pad (engine.c): the built-in rule set's database holds a
 * two-byte literal of control bytes with an id past every rule. Content full
 * of those bytes yields no candidate and no match, and a rule's example after
 * them yields exactly what it yields alone. */
static void test_stride_pad(void)
{
    fr_ruleset *rs = NULL;
    fr_engine *e = NULL;
    fr_scanner *sc = NULL;
    CHECK(fr_rules_load(&rs, NULL) == FR_OK);
    CHECK(rs && rs->n >= 32);
    if (!rs || fr_engine_new(&e, rs, NULL) || fr_scanner_new(&sc, e)) {
        CHECK(0);
        fr_engine_free(e), fr_ruleset_free(rs);
        return;
    }
    unsigned char pad[4096];
    for (size_t i = 0; i < sizeof pad; i++)
        pad[i] = (unsigned char)(i % 2 ? 2 : 1);
    const fr_match *m;
    size_t n = 99;
    CHECK(fr_scan(sc, pad, sizeof pad, &m, &n) == FR_OK);
    CHECK(n == 0);
    CHECK(fr_scanner_stats(sc)->hits == 0);
    const fr_rule *r = NULL;
    for (size_t i = 0; i < rs->n && !r; i++)
        if (rs->rules[i].nexamples && !rs->rules[i].npaths) r = &rs->rules[i];
    CHECK(r != NULL);
    if (r) {
        const char *ex = r->examples[0].text;
        size_t alone = 0;
        CHECK(fr_scan(sc, (const unsigned char *)ex, strlen(ex), &m, &alone) == FR_OK);
        size_t rule0 = alone ? m[0].rule : SIZE_MAX;
        fr_buf b = {0};
        fr_buf_append(&b, pad, sizeof pad);
        fr_buf_puts(&b, "\n");
        fr_buf_puts(&b, ex);
        size_t after = 0;
        CHECK(fr_scan(sc, (const unsigned char *)b.p, b.len, &m, &after) == FR_OK);
        CHECK(alone >= 1);
        CHECK(after == alone);
        CHECK(after >= 1 && m[0].rule == rule0);
        fr_buf_release(&b);
    }
    fr_scanner_free(sc);
    fr_engine_free(e);
    fr_ruleset_free(rs);
}

/* Batch 5 (recall): letters-only passwords under the entropy floor, typed
 * alphabet runs, a path under a password-named key. */
static void test_recall_batch5(void)
{
    /* fr_generic_weak_word: a word of letters under a password's name, even
     * when it repeats letters (2.95 bits a letter) */
    const char *l1 = "db_password = swordfish";
    CHECK(fr_generic_weak_word((const unsigned char *)l1, 14, strlen(l1)) == 1);
    const char *l2 = "api_token = swordfish"; /* not a password's name */
    CHECK(fr_generic_weak_word((const unsigned char *)l2, 12, strlen(l2)) == 0);
    const char *l3 = "db_password = Swordfish"; /* Capitalised: a label */
    CHECK(fr_generic_weak_word((const unsigned char *)l3, 14, strlen(l3)) == 0);
    const char *l4 = "db_password = mongo7pass"; /* not letters alone */
    CHECK(fr_generic_weak_word((const unsigned char *)l4, 14, strlen(l4)) == 0);
    const char *l5 = "db_password = changeme"; /* a template's word */
    CHECK(fr_generic_weak_word((const unsigned char *)l5, 14, strlen(l5)) == 0);
    const char *l6 = "public_pass = swordfish"; /* a name saying no secret */
    CHECK(fr_generic_weak_word((const unsigned char *)l6, 14, strlen(l6)) == 0);
    /* eight letters or digits typed in order: a stand-in for doc-words rules
     * and the generic rule; seven, or a drawn token, are not */
    const char *t1 = "sk-x-abc123xyz-klmnopqrstuvwx-Zq8Wv3Lx7Rz2Tm9PkL4";
    CHECK(fr_is_decoy((const unsigned char *)t1, 0, strlen(t1), FR_GUARD_DOC) == 1);
    const char *t2 = "sk-x-Zq8Wv3Lx7Rz2Tm9PkL4hjklmnopWq2Rt8Lz5Vx9Kc3";
    CHECK(fr_is_decoy((const unsigned char *)t2, 0, strlen(t2), FR_GUARD_DOC) == 0);
    CHECK(generic("api_secret: \"Qx9Kp2ABCDEFGHIJKLw7\"", "secret", "Qx9K") == 1);
    CHECK(generic("aws_secret_key = \"Tz4Lk8Rw2mVq1234567890\"", "secret", "Tz4L") == 1);
    CHECK(generic("api_secret: \"Qx9Kp2ABCDEFGw7Lm3\"", "secret", "Qx9K") == 0);
    /* an absolute path with '@' under a password-named key: a route */
    const char *p1 = "\"/docs/reset-your-password\":\"/en/docs@v2/account/reset\"";
    size_t ps = (size_t)(strstr(p1, ":\"/en") - p1) + 2;
    CHECK(fr_is_decoy((const unsigned char *)p1, ps, strlen(p1) - 1, FR_GUARD_CONFIG) == 1);
}

int main(void)
{
    const char *names[] = {"unit.yml"};
    size_t lens[] = {strlen(RULES)};
    fr_engine_opts every = {.every_position = 1};
    if (fr_rules_load_buffers(&RS, names, &RULES, lens, 1) || fr_engine_new(&FAST, RS, NULL) ||
        fr_engine_new(&SLOW, RS, &every) || fr_scanner_new(&SF, FAST) ||
        fr_scanner_new(&SS, SLOW)) {
        fprintf(stderr, "setup failed: %s\n", fr_error());
        return 1;
    }
    test_basic();
    test_keywords_and_prefilter();
    test_placeholder_guard();
    test_generic_guard();
    test_weak_passwords();
    test_uuid_opt_out();
    test_third_review();
    test_fourth_review();
    test_value_at_text_end();
    test_recall_batch5();
    test_equivalence();
    test_adversarial();
    test_invalid_pattern();
    test_views();
    test_cache();
    test_cache_swap();
    test_cache_anchored();
    test_stride_pad();
    fr_scanner_free(SF), fr_scanner_free(SS);
    fr_engine_free(FAST), fr_engine_free(SLOW);
    fr_ruleset_free(RS);
    return check_done("test_detect");
}
