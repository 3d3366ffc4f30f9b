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

int fr_store_key_fid(fr_store_key *k, const char *rule_id, const char *secret_sha256, char out[13])
{
    int rc = fr_store_key_load(k);
    if (rc) return rc;
    /* "fid\0" rule "\0" sha: unambiguous, and apart from other uses of the key. */
    fr_buf msg = {0};
    fr_buf_append(&msg, "fid", 4);
    fr_buf_append(&msg, rule_id, strlen(rule_id) + 1);
    fr_buf_puts(&msg, secret_sha256);
    unsigned char mac[32];
    unsigned int maclen = 0;
    int ok = HMAC(EVP_sha256(), k->bytes, sizeof k->bytes, (const unsigned char *)msg.p, msg.len,
                  mac, &maclen) != NULL;
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
