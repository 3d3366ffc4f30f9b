/*
 * migrations.c: the schema's steps after schema.sql, in order. See store_int.h.
 */
#include "store/store_int.h"

const fr_migration fr_migrations[] = {
    /* Short, stable, keyed finding ids: the same id for the same (rule, secret)
     * in every run and in every store sharing the key; not a bare hash of the
     * secret, so an id can leave the machine. */
    {"0001-finding-ids", "ALTER TABLE findings ADD COLUMN fid TEXT;"
                         " UPDATE findings SET fid = fr_fid(rule_id, secret_sha256);"
                         " CREATE UNIQUE INDEX IF NOT EXISTS findings_by_fid ON findings (fid);"},
};

const size_t fr_nmigrations = sizeof fr_migrations / sizeof fr_migrations[0];
