/*
 * prints.c: masking-bypass prints of findings (table mask_prints, migration
 * 0006-masking-bypass): per finding the secret's length, a keyed rolling hash
 * and a keyed HMAC tag, under a key derived from the store's key, so the
 * pipeline can recognise a known secret printed transformed in a log without
 * the store keeping the secret or a bare hash of it.
 */
#include "store/store.h"

#include "store/store_int.h"

#include "util/util.h"

#include <sqlite3.h>
#include <string.h>

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

int fr_store_mask_key(fr_store *s, unsigned char out[32])
{
    static const char label[] = "ferret masking-bypass key v1";
    char hex[65];
    int rc = fr_store_hmac(s, label, sizeof label - 1, hex);
    if (rc) return rc;
    for (int i = 0; i < 32; i++)
        out[i] = (unsigned char)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
    return FR_OK;
}

int fr_store_each_print(fr_store *s, fr_print_cb cb, void *ctx)
{
    sqlite3 *db = fr_store_db(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT f.rule_id, f.secret_sha256, f.preview, p.length, p.rk, p.tag"
                           " FROM mask_prints p JOIN findings f ON f.id = p.finding_id"
                           " ORDER BY p.finding_id",
                           -1, &st, NULL) != SQLITE_OK)
        return fr_store_sql_error(s, "reading masking-bypass prints");
    int rc = FR_OK, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if ((rc = cb(ctx, (const char *)sqlite3_column_text(st, 0),
                     (const char *)sqlite3_column_text(st, 1),
                     (const char *)sqlite3_column_text(st, 2), sqlite3_column_int64(st, 3),
                     sqlite3_column_int64(st, 4), (const char *)sqlite3_column_text(st, 5))))
            break;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE) rc = fr_store_sql_error(s, "reading prints");
    sqlite3_finalize(st);
    return rc;
}
