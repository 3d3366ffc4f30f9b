/*
 * store_int.h: private to src/store/. The schema's named migrations and the
 * store's secret key (finding ids and keyed fingerprints).
 */
#ifndef FERRET_STORE_INT_H
#define FERRET_STORE_INT_H

#include <sqlite3.h>
#include <stddef.h>

/* One step of the schema after schema.sql (version 1). Applied once each, in
 * order, inside the transaction that opens the store for writing, and recorded
 * by name in the migrations table. Append new steps at the end; never edit or
 * reorder a step that has shipped (stores in the field have applied it). */
typedef struct {
    const char *name, *sql;
} fr_migration;
extern const fr_migration fr_migrations[];
extern const size_t fr_nmigrations;

/* The key: 32 random bytes kept in a file beside the DB (mode 0600). Loaded on
 * first use; created then when absent and create is set. */
typedef struct {
    char *path;
    unsigned char bytes[32];
    int loaded;
    int create;
    /* SHA-256 states after the key's inner and outer HMAC pads (EVP_MD_CTX),
     * made on the first finding id: each id then costs two short digests,
     * not a keyed HMAC set up from nothing (8% of a merge's instructions) */
    void *pads[2];
    int pads_ready;
} fr_store_key;

int fr_store_key_load(fr_store_key *k);
/* Frees what the key holds besides its path. */
void fr_store_key_release(fr_store_key *k);
/* HMAC-SHA256 of data under the key, as 64 lowercase hex digits + NUL. */
int fr_store_key_hmac(fr_store_key *k, const void *data, size_t len, char out[65]);
/* The short finding id of (rule_id, secret_sha256): 12 characters of
 * Crockford base32 of the keyed HMAC. out gets 13 bytes. */
int fr_store_key_fid(fr_store_key *k, const char *rule_id, const char *secret_sha256, char out[13]);
/* Registers SQL functions fr_fid(rule_id, secret_sha256) and fr_hmac(text) on db. */
int fr_store_key_register(sqlite3 *db, fr_store_key *k);

/* A finding's effective triage status, for SQL over findings f left-joined
 * with triage t and unexpired baseline entries b (see query.c). */
#define FR_SQL_STATUS "coalesce(t.status, CASE WHEN b.fid IS NOT NULL THEN 'baselined' END, 'open')"
#define FR_SQL_STATUS_JOINS                                                                        \
    " LEFT JOIN triage t ON t.fid = f.fid LEFT JOIN baseline b ON b.fid = f.fid"                   \
    " AND (b.expires IS NULL OR b.expires = '' OR b.expires >= date('now'))"

/* For the store's other files (triage.c, query.c): the connection, and the
 * error text for its last failure (returns the FR_E* code, as store.c does). */
struct fr_store;
sqlite3 *fr_store_db(struct fr_store *s);
int fr_store_sql_error(struct fr_store *s, const char *what);

#endif
