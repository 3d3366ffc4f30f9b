/* Unit tests for src/detect/validators.c and the decoy guards: Marvin32 against
 * published test vectors, every validator on a fake token made by the
 * independent Python generators (corpus/fakes.py) and on a one-character
 * mutation of it, key material made at test time with openssl / ssh-keygen,
 * and one-secret-one-finding overlap resolution. */
#include "check.h"
#include "detect/detect.h"
#include "rules/rules.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <time.h>

static int V(const char *validator, const char *s)
{
    return fr_validate(validator, (const unsigned char *)s, strlen(s), (const unsigned char *)s,
                       strlen(s));
}

/* The validator gives want for the token, and want_mutated with one character
 * of it changed. */
static void check_token2(const char *validator, const char *token, int want, int want_mutated)
{
    CHECK(V(validator, token) == want);
    char *m = strdup(token);
    size_t i = strlen(m) / 3; /* inside the random part of every format here */
    m[i] = m[i] == 'a' ? 'b' : 'a';
    if (V(validator, m) != want_mutated)
        fprintf(stderr, "mutated %s gives %d under %s\n", m, V(validator, m), validator);
    CHECK(V(validator, m) == want_mutated);
    free(m);
}

static void check_token(const char *validator, const char *token, int want)
{
    check_token2(validator, token, want, FR_VALID_NONE);
}

static void test_marvin(void)
{
    /* SymCrypt's / .NET's published Marvin32 vectors. */
    CHECK(fr_marvin64(0xd53cd9cecd0893b7ULL, (const unsigned char *)"abc", 3) ==
          0x22c74339492769bfULL);
    CHECK(fr_marvin64(0xddddeeeeffff000ULL, (const unsigned char *)"abcdefghijklmnopqrstuvwxyz",
                      26) == 0xa128eb7e7260aca2ULL);
    CHECK(fr_marvin64(0x004fb61a001bdbccULL, (const unsigned char *)"", 0) ==
          0x30ed35c100cd3c7dULL);
    uint64_t h = fr_marvin64(0xd53cd9cecd0893b7ULL, (const unsigned char *)"abc", 3);
    CHECK(fr_marvin32(0xd53cd9cecd0893b7ULL, (const unsigned char *)"abc", 3) ==
          ((uint32_t)h ^ (uint32_t)(h >> 32)));
}

static void test_checksums(void)
{
    check_token("base62-crc32", "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", FR_VALID_CHECKSUM);
    check_token("azdo-legacy-crc32", "gknb7lqgoghv5pmlnmm2v5xxnwjsjs3afkcr677q47ihcpdcvg4q",
                FR_VALID_CHECKSUM); /* user PAT constant */
    check_token("azdo-legacy-crc32", "akcqxphbgthw3j5tugxch24qtpyds424c4f2ix4ecor4aqgokqoq",
                FR_VALID_CHECKSUM); /* application PAT constant */
    check_token(
        "azure-cask",
        "BY7pQ5NHBsE5VxkLKvTWKyuwdztJBOHH0UtS9CgfW7Be4QW0WJMEJQQJ99BH7aOg1zfGIBWwAAAAACOGxQ7q",
        FR_VALID_CHECKSUM);
    check_token2(
        "azure-cask",
        "baAhmgnrV2Mgghf1znfmLTkiPoOEmDEr97Uqb0I3ItyDeAvLBVCsJQQJ99BJACAAAAABRrq8AAASAZDOG6Bj",
        FR_VALID_CHECKSUM, FR_VALID_STRUCTURE);
    /* An Azure DevOps PAT whose checksum does not verify keeps its fixed
     * signatures as proof; any other common annotated key does not. */
    CHECK(V("azure-cask", "baAhmgnrV2Mgghf1znfmLTkiPoOEmDEr97Uqb0I3ItyDeAvLBVCsJQQJ99BJACAAAAABRrq8"
                          "AAASAZDOG6Bk") == FR_VALID_STRUCTURE);
    CHECK(V("azure-cask", "BY7pQ5NHBsE5VxkLKvTWKyuwdztJBOHH0UtS9CgfW7Be4QW0WJMEJQQJ99BH7aOg1zfGIBWw"
                          "AAAAACOGxQ7r") == FR_VALID_NONE);
    check_token("entra-secret", "kJ~8Q~0Uc-erNPeC64-WRPUEeVRvvXrg1AKGMbSi", FR_VALID_CHECKSUM);
    CHECK(V("entra-secret", "kJ~7Q~0Uc-erNPeC64-WRPUEeVRvvXrg1AKGM") == FR_VALID_NONE);
    static const char *const ids[] = {
        "cLVLwbwXRMnQdp9oyZmwXFlQD9M0zKasc4e6Q5yRXnfiPTaUpUGCSBqEfI+UXw1Av7ax/YjJ32ND+AStCYQuDA==",
        "vkUy7LLK4BTw+UFk0UGwekYaFofO8GugC+ASbuVSiJk=",
        "5wRXsWu6nmzocpPVAdmGNBwGlclg6eQUY+AEhSu4lWc=",
        "gXpScsG5noF6GXP8E4bhgJGkaYM9iupPb/tTNeiW1JWzcI6BsBxHP7cAhNa5/OXhuoSnf+q56hhvACDbNx7vpw==",
        "E9Uhgi-690Lkhpymwm1XoQ-xYKtMFSsO2XiPRdJ-5DG_AzFuuxCDfA==",
        "uMki+74gqwLwz8TDiFTmcDvI/d7p08B3GsRLgxeI4an5YHTu4Rs8iNe8L+v9OD53u/s+EXqafRyuAPIM4EnwkA==",
        "wubDvHwcPgFKrbgM9/BVhs7dUM773JDOFdJvW1lDhm+ACRRpxzWs",
    };
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
        check_token("azure-identifiable", ids[i], FR_VALID_CHECKSUM);
    /* A right checksum under another key kind's signature is no proof. */
    CHECK(V("azure-identifiable", "vkUy7LLK4BTw+UFk0UGwekYaFofO8GugC+AEhuVSiJk=") == FR_VALID_NONE);
    CHECK(V("azure-identifiable", "short") == FR_VALID_NONE);
    CHECK(V("no-such-validator", "x") == -1);
}

static void test_structure(void)
{
    CHECK(V("jwt", "eyJhbGciOiAiUlMyNTYiLCAidHlwIjogIkpXVCJ9.eyJzdWIiOiAiaUM0WGNUTG1MSXlpIiwgIml"
                   "hdCI6IDE3NjcyMjU2MDB9.qmFRu9qbaMpsIebWVOSlqmf_yU48WFH1JHrqPEjTcim") ==
          FR_VALID_STRUCTURE);
    CHECK(V("jwt", "eyJzdWIiOiAiaUM0WGNUTG1MSXlpIn0.eyJzdWIiOiAiaUM0WGNUTG1MSXlpIn0.sig") ==
          FR_VALID_NONE); /* a header without "alg" */
    CHECK(V("docker-auth", "dXNlcjpwYXNzd29yZA==") == FR_VALID_STRUCTURE); /* user:password */
    CHECK(V("docker-auth", "dXNlcnBhc3N3b3Jk") == FR_VALID_NONE);          /* no colon */
    CHECK(V("docker-auth", "////////") == FR_VALID_NONE);                  /* binary */
    CHECK(V("docker-auth", "dXNlcgpuYW1lOnBhc3N3b3Jk") ==
          FR_VALID_REJECT); /* user\nname:password: a line break */
    CHECK(V("docker-auth", "ZGVwbG95OktxOFd2M0x4N1IK") == FR_VALID_STRUCTURE); /* echo's newline */
    CHECK(V("docker-auth", "ZGVwbG95OktxOFd2M0x4N1INCg==") == FR_VALID_STRUCTURE); /* CRLF */
}

static char *run(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    fr_buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
        fr_buf_append(&b, chunk, n);
    pclose(p);
    return fr_buf_steal(&b);
}

/* Key material made now, never stored: every PEM kind parses as the type it
 * claims; encrypted ones parse as their encrypted structure; broken or random
 * bodies do not. */
static void test_keys(void)
{
    const char *dir = "/tmp/ferret-unit-keys";
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "rm -rf %s && mkdir -p %s && cd %s && "
             "openssl ecparam -name prime256v1 -genkey -noout -out ec.pem 2>/dev/null && "
             "openssl genrsa -traditional -out rsa.pem 1024 2>/dev/null && "
             "openssl genpkey -algorithm ed25519 -out p8.pem 2>/dev/null && "
             "openssl pkcs8 -topk8 -v2 aes-256-cbc -passout pass:x -in p8.pem -out enc.pem && "
             "ssh-keygen -q -t ed25519 -N '' -C t -f ssh && "
             "ssh-keygen -q -t ed25519 -N 'pass phrase' -C t -f sshenc",
             dir, dir, dir);
    CHECK(system(cmd) == 0);
    static const char *const files[] = {"ec.pem", "rsa.pem", "p8.pem", "enc.pem", "ssh", "sshenc"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(cmd, sizeof cmd, "cat %s/%s", dir, files[i]);
        char *pem = run(cmd);
        CHECK(pem && V("pem-key", pem) == FR_VALID_STRUCTURE);
        if (pem && V("pem-key", pem) != FR_VALID_STRUCTURE) fprintf(stderr, "%s\n", files[i]);
        snprintf(cmd, sizeof cmd, "base64 -w0 %s/%s", dir, files[i]);
        char *b64 = run(cmd);
        CHECK(b64 && V("pem-base64", b64) == FR_VALID_STRUCTURE);
        /* A JSON string holding the key ("\n" escapes, as in key files). */
        snprintf(cmd, sizeof cmd, "awk '{printf \"%%s\\\\n\", $0}' %s/%s", dir, files[i]);
        char *json = run(cmd);
        CHECK(json && V("pem-key", json) == FR_VALID_STRUCTURE);
        /* Random damage never crashes the structure reader (run under ASan). */
        if (pem) {
            char *d = strdup(pem);
            size_t n = strlen(d);
            srand((unsigned)i);
            for (int k = 0; k < 300; k++) {
                size_t at = (size_t)rand() % n;
                char was = d[at];
                d[at] = "A/+=\n-:\\0zZ"[rand() % 12];
                int v = V("pem-key", d);
                CHECK(v == FR_VALID_NONE || v == FR_VALID_STRUCTURE || v == FR_VALID_REJECT);
                if (k % 3) d[at] = was; /* a third of the damage accumulates */
            }
            free(d);
        }
        /* Truncated: the body loses its middle. */
        if (pem) {
            char *end = strstr(pem, "-----END");
            char *cut = strchr(pem, '\n');
            if (end && cut && end - cut > 40) memmove(cut + 1 + 20, end, strlen(end) + 1);
            CHECK(V("pem-key", pem) == FR_VALID_NONE);
        }
        free(pem), free(b64), free(json);
    }
    /* A GCP key file fragment (from its "type" member to its private key). */
    snprintf(
        cmd, sizeof cmd,
        "printf '\"type\": \"service_account\", \"project_id\": \"p\", \"private_key_id\": "
        "\"%s\", \"private_key\": \"' ; awk '{printf \"%%s\\\\n\", $0}' %s/p8.pem; printf '\"'",
        "0123456789abcdef0123456789abcdef01234567", dir);
    char *gcp = run(cmd);
    CHECK(gcp && V("gcp-service-account", gcp) == FR_VALID_STRUCTURE);
    if (gcp) {
        char *k = strstr(gcp, "0123456789abcdef");
        if (k) k[0] = 'x'; /* private_key_id no longer hex */
        CHECK(V("gcp-service-account", gcp) == FR_VALID_NONE);
    }
    /* OpenSSH's format under an RSA label (a mislabelled copy): still a key, not filler */
    snprintf(cmd, sizeof cmd, "sed 's/OPENSSH PRIVATE KEY/RSA PRIVATE KEY/' %s/ssh", dir);
    char *mislabelled = run(cmd);
    CHECK(mislabelled && strstr(mislabelled, "BEGIN RSA PRIVATE KEY") &&
          V("pem-key", mislabelled) == FR_VALID_STRUCTURE);
    free(mislabelled);
    free(gcp);
    CHECK(V("gcp-service-account", "\"type\": \"service_account\", \"private_key\": \"") ==
          FR_VALID_NONE);
    /* A body that is no DER SEQUENCE is no key, whatever its label says (documentation
     * filler): rejected, so the rule drops it; a cut-short real key still begins with MI. */
    CHECK(V("pem-key",
            "-----BEGIN RSA PRIVATE KEY-----\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
            "-----END RSA PRIVATE KEY-----") == FR_VALID_REJECT);
    CHECK(V("pem-key", "-----BEGIN EC PRIVATE KEY-----\n"
                       "DPKJs0nDBb/3jOt0AErhvFOtax5mJqzPLAkfci7Y4znYRaBTGlcqzdbw9MQPKmKF\n"
                       "-----END EC PRIVATE KEY-----\n") == FR_VALID_REJECT);
    CHECK(V("pem-key", "-----BEGIN PRIVATE KEY-----\n"
                       "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n"
                       "-----END PRIVATE KEY-----\n") == FR_VALID_NONE);
    CHECK(V("pem-base64",
            "LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCkRQS0pzMG5EQmIvM2pPdDBBRXJodkZPdGF4"
            "NW1KcXpQTEFrZmNpN1k0em5ZUmFCVEdsY3F6ZGJ3OU1RUEttS0YKLS0tLS1FTkQgRUMgUFJJVkFU"
            "RSBLRVktLS0tLQo=") == FR_VALID_REJECT);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

/* An encrypted PKCS#8 key whose PBKDF2 iteration count is near 2^31: deriving
 * its key would take some twenty minutes. Validation must see the structure
 * and stop there, whether the label says ENCRYPTED or (mislabelled) not, as
 * PEM text or hidden in base64 as Kubernetes secrets hold it. */
static char *huge_iteration_key(const char *before, const char *label)
{
    X509_ALGOR *pbe =
        PKCS5_pbe2_set_iv(EVP_aes_256_cbc(), 2147483000, NULL, 0, NULL, NID_hmacWithSHA256);
    X509_SIG *sig = X509_SIG_new();
    X509_ALGOR *alg = NULL;
    ASN1_OCTET_STRING *ct = NULL;
    X509_SIG_getm(sig, &alg, &ct);
    unsigned char cipher[48];
    for (size_t i = 0; i < sizeof cipher; i++)
        cipher[i] = (unsigned char)(i * 37 + 11);
    CHECK(pbe && X509_ALGOR_copy(alg, pbe) == 1 && ASN1_OCTET_STRING_set(ct, cipher, 48) == 1);
    unsigned char *der = NULL;
    int n = i2d_X509_SIG(sig, &der);
    CHECK(n > 100);
    BIO *b = BIO_new(BIO_s_mem());
    BIO_puts(b, before);
    CHECK(PEM_write_bio(b, label, "", der, n) > 0);
    char *p = NULL;
    long len = BIO_get_mem_data(b, &p);
    char *pem = malloc((size_t)len + 1); /* the BIO's bytes are not NUL-terminated */
    memcpy(pem, p, (size_t)len);
    pem[len] = 0;
    BIO_free(b);
    OPENSSL_free(der);
    X509_SIG_free(sig);
    X509_ALGOR_free(pbe);
    return pem;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_no_kdf(void)
{
    /* A line before the key kept OpenSSL's PEM reader, which skips it, from
     * the structure-only branch: it tried the empty passphrase. */
    static const char *const before[] = {"", "", "-----BEGIN X\n", "-----BEGIN PRIVATE KEY\n"};
    static const char *const labels[] = {"ENCRYPTED PRIVATE KEY", "PRIVATE KEY",
                                         "ENCRYPTED PRIVATE KEY", "ENCRYPTED PRIVATE KEY"};
    for (size_t i = 0; i < 4; i++) {
        char *pem = huge_iteration_key(before[i], labels[i]);
        if (!pem) continue;
        size_t n = strlen(pem);
        char *b64 = malloc(n / 3 * 4 + 8);
        EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)pem, (int)n);
        double t0 = now();
        CHECK(V("pem-key", pem) == FR_VALID_STRUCTURE);
        CHECK(V("pem-base64", b64) == FR_VALID_STRUCTURE);
        double dt = now() - t0;
        if (dt >= 1.0) fprintf(stderr, "%s%s: validation took %.1f s\n", before[i], labels[i], dt);
        CHECK(dt < 1.0);
        free(b64);
        free(pem);
    }
    /* A traditional encrypted key: its headers and whole cipher blocks. */
    CHECK(V("pem-key", "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
                       "DEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\n"
                       "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
                       "-----END RSA PRIVATE KEY-----\n") == FR_VALID_STRUCTURE);
    CHECK(V("pem-key", "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
                       "DEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\n"
                       "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g\n"
                       "-----END RSA PRIVATE KEY-----\n") == FR_VALID_NONE); /* 33 bytes */
}

static int decoy(const char *s, unsigned guards)
{
    return fr_is_decoy((const unsigned char *)s, 0, strlen(s), guards);
}

static void test_decoys(void)
{
    CHECK(decoy("3f2504e0-4f89-11d3-9a0c-0305e82c3301", 0));
    CHECK(decoy("{3F2504E0-4F89-11D3-9A0C-0305E82C3301}", 0));
    CHECK(decoy("sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/"
                "SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==",
                0));
    const char *img =
        "icon = \"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJ\"";
    const char *at = strstr(img, "iVBOR");
    CHECK(fr_is_decoy((const unsigned char *)img, (size_t)(at - img), strlen(img) - 1, 0));
    CHECK(!decoy("9fceb02d0ae598e95dc970b74767f19372d61af8", 0));
    CHECK(decoy("9fceb02d0ae598e95dc970b74767f19372d61af8", FR_GUARD_HEX_DIGEST));
    /* doc-words: stand-ins in a token's own format; drawn tokens, also ones
     * made only of letters, stay. */
    CHECK(decoy("sk-proj-EXAMPLEkey0123T3BlbkFJexampleKEY4567", FR_GUARD_DOC));
    CHECK(decoy("AIzaSyYourApiKeyHereYourApiKeyHere12345", FR_GUARD_DOC));
    CHECK(decoy("hf_abcdefghijklmnopqrstuvwxyzABCDEFGH", FR_GUARD_DOC));
    CHECK(
        decoy("dop_v1_1234567890abcdef1234567890abcdef1234567890abcdef1234567890ab", FR_GUARD_DOC));
    CHECK(decoy("glpat-xxxxxxxxxxxxxxxxxxxx", FR_GUARD_DOC));
    CHECK(!decoy("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", FR_GUARD_DOC));
    CHECK(decoy("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", FR_GUARD_WORDS)); /* letters only */
    CHECK(!decoy("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", FR_GUARD_DOC));
    CHECK(decoy("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                FR_GUARD_HEX_DIGEST));
    CHECK(!decoy("9fceb02d0ae598e95dc970b74767f19372d61af", FR_GUARD_HEX_DIGEST)); /* 39 */
    CHECK(decoy("changeme", FR_GUARD_WORDS));
    CHECK(decoy("Password123", FR_GUARD_WORDS));
    CHECK(decoy("your-api-key-here", FR_GUARD_WORDS));
    CHECK(decoy("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", FR_GUARD_WORDS));
    CHECK(decoy("self.database_password", FR_GUARD_WORDS));
    CHECK(decoy("https://login.example.org/token", FR_GUARD_WORDS));
    CHECK(!decoy("changeme", 0));
    CHECK(!decoy("HsE6GyyEl3vuYCI#80", FR_GUARD_WORDS | FR_GUARD_HEX_DIGEST));
    CHECK(!decoy("Tq8#vLm2Rx9pWz4K", FR_GUARD_WORDS));
    /* The config guard: templates of every tool, secret-store references and
     * stand-in words go; weak real passwords stay (unlike with the words guard). */
    static const char *const config_decoys[] = {"arn:aws:iam::aws:policy/ChangeOwnPassword",
                                                "mynewpassword2",
                                                "FORCE_CHANGE_PASSWORD",
                                                "AB1C2defGHijkLMNo3PqQRstUvwxyz",
                                                "123456789",
                                                "%DB_PASSWORD%",
                                                "$DB_PASSWORD",
                                                "$env:DB_PASSWORD",
                                                "{DbPassword}",
                                                "#{SqlPassword}#",
                                                "__DB_PASSWORD__",
                                                "@@DB_PASS@@",
                                                "@Microsoft.KeyVault(SecretUri=https://kv/)",
                                                "vault:secret/data/db#password",
                                                "arn:aws:secretsmanager:eu-west-1:1:secret:db",
                                                "os.environ[\"X\"]",
                                                "process.env.DB_PASSWORD",
                                                "System.getenv(\"X\")",
                                                "changeme",
                                                "password",
                                                "secret",
                                                "xxx",
                                                "null",
                                                "none",
                                                "true",
                                                "Password123",
                                                "mypassword",
                                                "your_password",
                                                "password_here",
                                                "***",
                                                "string",
                                                NULL};
    for (int i = 0; config_decoys[i]; i++)
        CHECK(decoy(config_decoys[i], FR_GUARD_CONFIG));
    CHECK(!decoy("hunter2", FR_GUARD_CONFIG));
    CHECK(!decoy("Winter2024!", FR_GUARD_CONFIG));
    CHECK(!decoy("kUdf@MI7z", FR_GUARD_CONFIG));
    CHECK(!decoy("secretpass", FR_GUARD_CONFIG));
    /* read decoded (%-escapes, base64 user:password) and as leetspeak */
    CHECK(decoy("p4ssw0rd", FR_GUARD_CONFIG));
    CHECK(decoy("secr3t", FR_GUARD_CONFIG));
    /* leetspeak typed for a password policy is a real (weak) password */
    CHECK(!decoy("P@ssw0rd", FR_GUARD_CONFIG));
    CHECK(!decoy("Passw0rd!", FR_GUARD_CONFIG));
    CHECK(decoy("Password1!", FR_GUARD_CONFIG));
    CHECK(decoy("#{DbPassword}#", FR_GUARD_CONFIG));
    CHECK(decoy("#{ENV['DB_PASSWORD']}", FR_GUARD_CONFIG));
    CHECK(!decoy("NQuA8fT@8,N;~:OMcY#{JB6hu5xoX=-Dlc_UOK.zgy=1",
                 FR_GUARD_CONFIG)); /* a WordPress salt */
    CHECK(decoy("user%40host", FR_GUARD_CONFIG));
    CHECK(decoy("%4d^%70", FR_GUARD_CONFIG));
    CHECK(decoy("dXNlckBob3N0OnBhc3NAaG9zdA==", FR_GUARD_CONFIG)); /* user@host:pass@host */
    CHECK(decoy("$config{'WIKI_PASSW'}", FR_GUARD_CONFIG));
    CHECK(!decoy("Y2ktYm90OmVldExEUThCOHZXMlpCanlhIzY5", FR_GUARD_CONFIG));
    CHECK(!decoy("k7%40q:Zr9x", FR_GUARD_CONFIG));
    CHECK(decoy("hunter2", FR_GUARD_WORDS));
    /* Templates need their closing mark: a WordPress salt holds '<' '>' and '${' too. */
    CHECK(fr_is_placeholder("<YOUR_TOKEN>", 12));
    CHECK(fr_is_placeholder("<PyPI token>", 12));
    CHECK(fr_is_placeholder("${DB_PASSWORD}", 14));
    CHECK(fr_is_placeholder("$(NuGetPassword)", 16));
    CHECK(fr_is_placeholder("{{ .Values.x }}", 15));
    CHECK(!fr_is_placeholder("k7Q#z>T9v@Lm2]R<x9p{z4K", 23));
    CHECK(!fr_is_placeholder("k7Q<z%T9v>Lm2", 13));
    CHECK(!fr_is_placeholder("Rx9${pW4z", 9));
}

/* Two rules claiming the same secret: one finding, the better-proved one. */
static void test_overlap(void)
{
    static const char *Y = "rules:\n"
                           "  - id: t.generic\n"
                           "    name: generic\n"
                           "    pattern: 'token\\s*=\\s*\"([^\"]{8,64})\"'\n"
                           "    severity: medium\n"
                           "    confidence: low\n"
                           "    attack: T1552.001\n"
                           "    examples: [x]\n"
                           "    negative_examples: [y]\n"
                           "  - id: t.github\n"
                           "    name: github\n"
                           "    pattern: '\\b(ghp_[A-Za-z0-9]{36})\\b'\n"
                           "    validate: base62-crc32\n"
                           "    severity: critical\n"
                           "    confidence: high\n"
                           "    attack: T1552.001\n"
                           "    examples: [x]\n"
                           "    negative_examples: [y]\n";
    const char *names[] = {"o.yml"};
    size_t lens[] = {strlen(Y)};
    fr_ruleset *rs = NULL;
    fr_engine *e = NULL;
    fr_scanner *sc = NULL;
    CHECK(fr_rules_load_buffers(&rs, names, &Y, lens, 1) == FR_OK);
    CHECK(rs && fr_engine_new(&e, rs, NULL) == FR_OK && fr_scanner_new(&sc, e) == FR_OK);
    if (!sc) return;
    const char *text = "token = \"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\"\n"
                       "token = \"Xk9mQ2vL7pZt4Rw8\"\n";
    const fr_match *m;
    size_t n;
    CHECK(fr_scan(sc, (const unsigned char *)text, strlen(text), &m, &n) == FR_OK);
    CHECK(n == 2);
    if (n == 2) {
        CHECK_STR(rs->rules[m[0].rule].id, "t.github");
        CHECK(m[0].validated == FR_VALID_CHECKSUM);
        CHECK_STR(rs->rules[m[1].rule].id, "t.generic");
        CHECK(m[1].line == 2);
    }
    fr_scanner_free(sc);
    fr_engine_free(e);
    fr_ruleset_free(rs);
}

/* Provider formats: age's bech32 checksum (the age test-kit identity and a
 * generated one), PyPI macaroons and Sentry org tokens by structure
 * (corpus/gen-providers.py made the tokens), and PEM keys spread over source
 * strings with "\r\n" escapes and + / , glue. */
static void test_providers(void)
{
    check_token("age-bech32",
                "AGE-SECRET-KEY-1XMWWC06LY3EE5RYTXM9MFLAZ2U56JJJ36S0MYPDRWSVLUL66MV4QX3S7F6",
                FR_VALID_CHECKSUM);
    check_token("age-bech32",
                "AGE-SECRET-KEY-1VH3W4FR4Y3PJX0A737Y580U4DHJE2EJU8RLL7GUZ0CTUZRXURSNSX6C3Q7",
                FR_VALID_CHECKSUM);
    CHECK(V("age-bech32",
            "age-secret-key-1vh3w4fr4y3pjx0a737y580u4dhje2eju8rll7guz0ctuzrxursnsx6c3q7") ==
          FR_VALID_CHECKSUM); /* bech32 is case-insensitive as a whole */
    CHECK(V("age-bech32",
            "AGE-SECRET-KEY-1VH3W4FR4Y3PJX0A737Y580U4DHJE2EJU8RLL7GUZ0CTUZRXURSNSX6C3Q") ==
          FR_VALID_NONE); /* one character short */
    CHECK(V("age-bech32",
            "AGE-SECRET-KEY-1XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX") ==
          FR_VALID_NONE);

    const char *testpypi =
        "pypi-AgENdGVzdC5weXBpLm9yZwIreyJ2ZXJzaW9uIjogMSwgIm5vbmNlIjogIjMwODc3NDMyZDEwMjY3MDYifQAC"
        "KHsidmVyc2lvbiI6IDEsICJleHBpcmF0aW9uIjogMTc5MDc1MDgwMH0AAAYgprOLazhylkfP3gHCziiybFdHJzf1w1"
        "YaF2EYW9hYmkM";
    CHECK(V("pypi-macaroon", testpypi) == FR_VALID_STRUCTURE);
    char *cut = strdup(testpypi);
    cut[strlen(cut) - 8] = 0; /* a truncated signature */
    CHECK(V("pypi-macaroon", cut) == FR_VALID_NONE);
    free(cut);
    CHECK(V("pypi-macaroon", "pypi-AgEIcHlwaS5vcmcGTd7FguoV8FWnFbB0JxXujr4qqaaABvvLOzAxzXMcU1vsHiQM"
                             "aRiNTN9Ox98") == FR_VALID_NONE); /* random after the location */

    CHECK(
        V("sentry-org-token",
          "sntrys_eyJpYXQiOjE3MDA3Mjg5NzcsInVybCI6Imh0dHBzOi8vc2VudHJ5LmlvIiwicmVnaW9uX3VybCI6Imh0"
          "dHBzOi8vdXMuc2VudHJ5LmlvIiwib3JnIjoicGxhdGZvcm0ifQ_6PwKluYIFdlKdMwj6uUvtaiJVfU7wicpHdEo"
          "ziIbob/") == FR_VALID_STRUCTURE);
    CHECK(V("sentry-org-token", "sntrys_eyJhIjogMX0_6PwKluYIFdlKdMwj6uUvtaiJVfU7wicpHdEoziIbob/") ==
          FR_VALID_NONE); /* {"a": 1}: no org, no url */
    CHECK(V("sentry-org-token", "sntrys_eyJhIjogMX0") == FR_VALID_NONE);

    char *pem = run("openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null");
    CHECK(pem && strstr(pem, "-----BEGIN EC PRIVATE KEY-----"));
    if (!pem) return;
    fr_buf java = {0}, crlf = {0};
    fr_buf_printf(&java, "\"");
    for (const char *l = pem; *l;) {
        const char *nl = strchr(l, '\n');
        size_t n = nl ? (size_t)(nl - l) : strlen(l);
        if (n) {
            fr_buf_printf(&java, "%s%.*s\\r\\n\"", l == pem ? "" : "\n        \"", (int)n, l);
            fr_buf_printf(&java, "%s", nl && nl[1] ? " +" : ";");
            fr_buf_printf(&crlf, "%.*s\\r\\n", (int)n, l);
        }
        l = nl ? nl + 1 : l + n;
    }
    char *j = fr_buf_steal(&java), *c = fr_buf_steal(&crlf);
    CHECK(V("pem-key", j + 1) == FR_VALID_STRUCTURE); /* from BEGIN, as the rule captures */
    CHECK(V("pem-key", c) == FR_VALID_STRUCTURE);
    /* A string whose first base64 character is '+' keeps it (seen in the
     * provider corpus: the glue rule once ate it). Line breaks may fall
     * anywhere in PEM base64, so the body is split right before a '+'. */
    char body[1024], *plus = NULL;
    for (int tries = 0; tries < 20 && !plus; tries++) {
        free(pem);
        pem = run("openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null");
        size_t bn = 0;
        const char *l = pem ? strchr(pem, '\n') : NULL; /* after BEGIN */
        for (; l && l[1] && strncmp(l + 1, "-----END", 8) && bn < sizeof body - 1; l++)
            if (l[1] != '\n') body[bn++] = l[1];
        body[bn] = 0;
        plus = bn > 1 ? strchr(body + 1, '+') : NULL;
    }
    CHECK(plus != NULL);
    if (plus) {
        fr_buf b = {0};
        fr_buf_printf(&b,
                      "-----BEGIN EC PRIVATE KEY-----\\n\" +\n    \"%.*s\\n\" +\n    \"%s\\n\" +\n"
                      "    \"-----END EC PRIVATE KEY-----",
                      (int)(plus - body), body, plus);
        char *pl = fr_buf_steal(&b);
        CHECK(V("pem-key", pl) == FR_VALID_STRUCTURE);
        free(pl);
    }
    free(j);
    free(c);
    free(pem);
}

int main(void)
{
    test_marvin();
    test_checksums();
    test_structure();
    test_keys();
    test_no_kdf();
    test_decoys();
    test_overlap();
    test_providers();
    return check_done("test_validators");
}
