-- ferret store, schema version 1. Applied in one BEGIN IMMEDIATE transaction to a
-- new (zero-page) DB, together with PRAGMA application_id (set by store.c); every
-- statement is idempotent so a run that lost the race to create it changes nothing.
-- Secrets are identified by SHA-256; plaintext lives in findings.secret only when
-- the scan was run with --store-secrets.
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS runs (
  id            INTEGER PRIMARY KEY,
  started_at    TEXT NOT NULL,
  finished_at   TEXT,
  targets       TEXT NOT NULL,
  rules_hash    TEXT NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('running', 'complete', 'incomplete')),
  items_scanned INTEGER NOT NULL DEFAULT 0,
  items_skipped INTEGER NOT NULL DEFAULT 0,
  items_failed  INTEGER NOT NULL DEFAULT 0,
  bytes_scanned INTEGER NOT NULL DEFAULT 0,
  matches       INTEGER NOT NULL DEFAULT 0,
  new_findings  INTEGER NOT NULL DEFAULT 0,
  note          TEXT
);

CREATE TABLE IF NOT EXISTS rules (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  description TEXT,
  severity    TEXT NOT NULL,
  confidence  TEXT NOT NULL,
  attack      TEXT NOT NULL,
  refs        TEXT NOT NULL DEFAULT ''   -- newline-separated URLs
) WITHOUT ROWID;

-- One row per unique piece of content: 'sha256:<hex>' for files, 'git:<oid>' for
-- blobs, 'unread:<origin>' for content that could not be read. Schema step 0010
-- (migrations.c) rebuilds it with the status CHECK as comparisons (an IN list of
-- three constants costs SQLite an ephemeral b-tree for every row written).
CREATE TABLE IF NOT EXISTS content (
  id         INTEGER PRIMARY KEY,
  key        TEXT NOT NULL UNIQUE,
  size       INTEGER NOT NULL,
  status     TEXT NOT NULL CHECK (status IN ('scanned', 'skipped', 'error')),
  reason     TEXT,
  rules_hash TEXT,
  run_id     INTEGER NOT NULL REFERENCES runs (id)
);

CREATE TABLE IF NOT EXISTS findings (
  id            INTEGER PRIMARY KEY,
  rule_id       TEXT NOT NULL,
  secret_sha256 TEXT NOT NULL,
  preview       TEXT NOT NULL,
  secret        TEXT,
  validated     INTEGER NOT NULL DEFAULT 0,  -- 0 none, 1 structure, 2 checksum
  first_seen    TEXT NOT NULL,
  last_seen     TEXT NOT NULL,
  first_run     INTEGER NOT NULL REFERENCES runs (id),
  last_run      INTEGER NOT NULL REFERENCES runs (id),
  UNIQUE (rule_id, secret_sha256)
);

-- matches and locations are rebuilt WITHOUT ROWID on their natural keys by
-- schema step 0009 (migrations.c), which also drops locations_by_content_date.
CREATE TABLE IF NOT EXISTS matches (
  id         INTEGER PRIMARY KEY,
  content_id INTEGER NOT NULL REFERENCES content (id),
  finding_id INTEGER NOT NULL REFERENCES findings (id),
  offset     INTEGER NOT NULL,
  line       INTEGER NOT NULL,
  col        INTEGER NOT NULL,
  UNIQUE (content_id, finding_id, offset)
);
CREATE INDEX IF NOT EXISTS matches_by_finding ON matches (finding_id);

-- Where content was seen. Kept for content with matches and for content that was
-- skipped or failed (so the reason can be traced to a path). For git content the
-- commit is the first (topologically earliest) one seen with the blob at the path.
CREATE TABLE IF NOT EXISTS locations (
  id             INTEGER PRIMARY KEY,
  content_id     INTEGER NOT NULL REFERENCES content (id),
  source_kind    TEXT NOT NULL,
  repo           TEXT NOT NULL DEFAULT '',
  path           TEXT NOT NULL,
  commit_id      TEXT NOT NULL DEFAULT '',
  author_name    TEXT,
  author_email   TEXT,
  author_date    TEXT,
  committer_date TEXT,
  ref            TEXT,
  mtime          TEXT,                       -- files: modification time when seen
  ci_run         TEXT,                       -- CI logs: run, job and step from the layout
  ci_job         TEXT,
  ci_step        TEXT,
  first_run      INTEGER NOT NULL REFERENCES runs (id),
  last_run       INTEGER NOT NULL REFERENCES runs (id),
  UNIQUE (content_id, source_kind, repo, path)
);
CREATE INDEX IF NOT EXISTS locations_by_content ON locations (content_id);

-- Files on disk as last read: a file whose size and mtime are unchanged, under
-- the same rules, is not read again (incremental sweeps).
CREATE TABLE IF NOT EXISTS files (
  path        TEXT PRIMARY KEY,
  size        INTEGER NOT NULL,
  mtime_ns    INTEGER NOT NULL,
  content_key TEXT NOT NULL,
  rules_hash  TEXT NOT NULL,
  last_run    INTEGER NOT NULL REFERENCES runs (id)
) WITHOUT ROWID;

-- Git repositories scanned to completion: what they looked like then, so an
-- unchanged repository is not walked again under the same rules.
CREATE TABLE IF NOT EXISTS repos (
  path        TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  rules_hash  TEXT NOT NULL,
  last_run    INTEGER NOT NULL REFERENCES runs (id)
) WITHOUT ROWID;

CREATE VIEW IF NOT EXISTS occurrences AS
  SELECT m.finding_id, l.source_kind, l.repo, l.path, m.line, m.col, m.offset,
         c.key AS content_key, l.commit_id, l.author_name, l.author_email,
         l.author_date, l.committer_date, l.ref, l.mtime, l.ci_run, l.ci_job, l.ci_step, l.first_run
    FROM matches m
    JOIN locations l ON l.content_id = m.content_id
    JOIN content c ON c.id = m.content_id;

INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', '1'), ('created_by', 'ferret');
