-- Version 7: Digests. When a story first became visible (a digest covers the stories that
-- became published in its period; the ones already published count from their date),
-- the digest subscriptions, and their delivery log: one row per (digest, period).
ALTER TABLE articles ADD COLUMN visible_since INTEGER;
UPDATE articles SET visible_since = MIN(published_at,
    CAST(strftime('%s', 'now') AS INTEGER)) WHERE visible = 1;
CREATE INDEX articles_visible_since ON articles (visible_since) WHERE visible = 1;
CREATE TABLE digests (
    channel_id  INTEGER NOT NULL,
    topic_key   TEXT NOT NULL DEFAULT '',   -- '' = every topic
    guild_id    INTEGER,
    topic_name  TEXT NOT NULL DEFAULT '',
    cadence     TEXT NOT NULL,              -- daily | weekly
    hour_utc    INTEGER NOT NULL,
    size        INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (channel_id, topic_key)
) WITHOUT ROWID;
CREATE TABLE digest_log (
    channel_id  INTEGER NOT NULL,
    topic_key   TEXT NOT NULL,
    period_key  TEXT NOT NULL,              -- '2026-03-02' (daily) or '2026-W10' (weekly)
    starts_at   INTEGER NOT NULL,           -- the period covered: [starts_at, due_at)
    due_at      INTEGER NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending',  -- pending | sent | empty | failed
    message_id  INTEGER,
    stories     INTEGER NOT NULL DEFAULT 0,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_try_at INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    created_at  INTEGER NOT NULL,
    settled_at  INTEGER,
    PRIMARY KEY (channel_id, topic_key, period_key)
) WITHOUT ROWID;
CREATE INDEX digest_log_work ON digest_log (next_try_at) WHERE state = 'pending';
