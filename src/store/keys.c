/*
 * keys.c: the store's secret key. Finding ids and the fingerprints written to
 * reports that leave the machine are HMACs under it, so nobody holding a report
 * can confirm a guessed (weak) secret. The file is created 0600 with O_EXCL via
 * a temporary name and link(), so two first runs agree on one key.
 */
#include "store/store_int.h"

#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int read_key(fr_store_key *k)
{
    int fd = open(k->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return errno == ENOENT ? FR_ENOTFOUND : FR_ERR;
    char buf[80];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n < 64) goto bad;
    for (int i = 0; i < 32; i++) {
        int hi = hexval(buf[2 * i]), lo = hexval(buf[2 * i + 1]);
        if (hi < 0 || lo < 0) goto bad;
        k->bytes[i] = (unsigned char)(hi << 4 | lo);
    }
    if (n > 64 && buf[64] != '\n') goto bad;
    k->loaded = 1;
    return FR_OK;
bad:
    fr_error_set("%s: not a ferret key file (64 hex digits expected)", k->path);
    return FR_ECORRUPT;
}

static int create_key(fr_store_key *k)
{
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1) {
        fr_error_set("%s: no random bytes for a new key", k->path);
        return FR_ERR;
    }
    char text[66];
    for (int i = 0; i < 32; i++)
        snprintf(text + 2 * i, 3, "%02x", raw[i]);
    text[64] = '\n';
    fr_buf tmp = {0};
    fr_buf_printf(&tmp, "%s.tmp.%ld", k->path, (long)getpid());
    int fd = open(tmp.p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int rc = FR_OK;
    if (fd < 0 || fchmod(fd, 0600) != 0 || write(fd, text, 65) != 65 || fsync(fd) != 0) {
        fr_error_set("%s: cannot create the key: %s", k->path, strerror(errno));
        rc = FR_ERR;
    }
    if (fd >= 0) close(fd);
    if (rc == FR_OK && link(tmp.p, k->path) != 0 && errno != EEXIST) {
        fr_error_set("%s: cannot create the key: %s", k->path, strerror(errno));
        rc = FR_ERR;
    }
    unlink(tmp.p);
    fr_buf_release(&tmp);
    return rc;
}

int fr_store_key_load(fr_store_key *k)
{
    if (k->loaded) return FR_OK;
    int rc = read_key(k);
    if (rc == FR_ENOTFOUND && k->create) {
        if ((rc = create_key(k))) return rc;
        rc = read_key(k); /* whoever won the link() race, everyone reads the same key */
    }
    if (rc == FR_ENOTFOUND)
        fr_error_set("%s: the database's key file is missing (it lives beside the database; "
                     "give another with --key or FERRET_KEY_FILE)",
                     k->path);
    else if (rc == FR_ERR && !fr_error()[0])
        fr_error_set("%s: %s", k->path, strerror(errno));
    return rc;
}

int fr_store_key_hmac(fr_store_key *k, const void *data, size_t len, char out[65])
{
    int rc = fr_store_key_load(k);
    if (rc) return rc;
    unsigned char mac[32];
    unsigned int maclen = 0;
    if (!HMAC(EVP_sha256(), k->bytes, sizeof k->bytes, data, len, mac, &maclen) || maclen != 32) {
        fr_error_set("HMAC-SHA256 failed");
        return FR_ERR;
    }
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
    return FR_OK;
}

static pthread_mutex_t pads_lock = PTHREAD_MUTEX_INITIALIZER;

/* The digest states after K ^ ipad and K ^ opad (RFC 2104; the key is
 * shorter than SHA-256's 64-byte block, so it is padded with zeros). */
static int make_pads(fr_store_key *k)
{
    if (__atomic_load_n(&k->pads_ready, __ATOMIC_ACQUIRE)) return 1;
    pthread_mutex_lock(&pads_lock);
    int ok = k->pads_ready;
    for (int i = 0; i < 2 && !ok; i++) {
        unsigned char pad[64];
        memset(pad, i ? 0x5c : 0x36, sizeof pad);
        for (size_t j = 0; j < sizeof k->bytes; j++)
            pad[j] ^= k->bytes[j];
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        if (!c || !EVP_DigestInit_ex(c, EVP_sha256(), NULL) || !EVP_DigestUpdate(c, pad, 64)) {
            EVP_MD_CTX_free(c);
            break;
        }
        k->pads[i] = c;
        if (i == 1) {
            ok = 1;
            __atomic_store_n(&k->pads_ready, 1, __ATOMIC_RELEASE);
        }
    }
    pthread_mutex_unlock(&pads_lock);
    return ok;
}

/* HMAC-SHA256 of msg from the key's pads: the same bytes as HMAC(). */
static int pads_hmac(fr_store_key *k, const void *msg, size_t len, unsigned char mac[32])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned char inner[32];
    unsigned int n = 0, m = 0;
    int ok = c && EVP_MD_CTX_copy_ex(c, k->pads[0]) && EVP_DigestUpdate(c, msg, len) &&
             EVP_DigestFinal_ex(c, inner, &n) && n == 32 && EVP_MD_CTX_copy_ex(c, k->pads[1]) &&
             EVP_DigestUpdate(c, inner, 32) && EVP_DigestFinal_ex(c, mac, &m) && m == 32;
    EVP_MD_CTX_free(c);
    return ok;
}

void fr_store_key_release(fr_store_key *k)
{
    for (int i = 0; i < 2; i++) {
        EVP_MD_CTX_free(k->pads[i]);
        k->pads[i] = NULL;
    }
    k->pads_ready = 0;
}

int fr_store_key_fid(fr_store_key *k, const char *rule_id, const char *secret_sha256, char out[13])
{
    int rc = fr_store_key_load(k);
    if (rc) return rc;
    /* "fid\0" rule "\0" sha: unambiguous, and apart from other uses of the key. */
    char small[256];
    size_t nr = strlen(rule_id) + 1, ns = strlen(secret_sha256);
    fr_buf msg = {0};
    const char *p = small;
    size_t len = 4 + nr + ns;
    if (len <= sizeof small) {
        memcpy(small, "fid", 4);
        memcpy(small + 4, rule_id, nr);
        memcpy(small + 4 + nr, secret_sha256, ns);
    } else {
        fr_buf_append(&msg, "fid", 4);
        fr_buf_append(&msg, rule_id, nr);
        fr_buf_puts(&msg, secret_sha256);
        p = msg.p;
    }
    unsigned char mac[32];
    unsigned int maclen = 0;
    int ok = make_pads(k) ? pads_hmac(k, p, len, mac)
                          : HMAC(EVP_sha256(), k->bytes, sizeof k->bytes, (const unsigned char *)p,
                                 len, mac, &maclen) != NULL;
    fr_buf_release(&msg);
    if (!ok) {
        fr_error_set("HMAC-SHA256 failed");
        return FR_ERR;
    }
    static const char b32[] = "0123456789abcdefghjkmnpqrstvwxyz"; /* Crockford */
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | mac[i];
    for (int i = 0; i < 12; i++)
        out[i] = b32[(v >> (59 - 5 * i)) & 31];
    out[12] = '\0';
    return FR_OK;
}

static void sql_fid(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *rule = (const char *)sqlite3_value_text(argv[0]);
    const char *sha = (const char *)sqlite3_value_text(argv[1]);
    if (!rule || !sha) {
        sqlite3_result_null(cx);
        return;
    }
    char out[13];
    if (fr_store_key_fid(sqlite3_user_data(cx), rule, sha, out)) {
        sqlite3_result_error(cx, fr_error(), -1);
        return;
    }
    sqlite3_result_text(cx, out, 12, SQLITE_TRANSIENT);
}

static void sql_hmac(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const void *p = sqlite3_value_blob(argv[0]);
    int n = sqlite3_value_bytes(argv[0]);
    if (!p && n == 0) p = "";
    char out[65];
    if (fr_store_key_hmac(sqlite3_user_data(cx), p, (size_t)n, out)) {
        sqlite3_result_error(cx, fr_error(), -1);
        return;
    }
    sqlite3_result_text(cx, out, 64, SQLITE_TRANSIENT);
}

int fr_store_key_register(sqlite3 *db, fr_store_key *k)
{
    int fl = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY;
    if (sqlite3_create_function(db, "fr_fid", 2, fl, k, sql_fid, NULL, NULL) != SQLITE_OK ||
        sqlite3_create_function(db, "fr_hmac", 1, fl, k, sql_hmac, NULL, NULL) != SQLITE_OK)
        return FR_ERR;
    return FR_OK;
}
