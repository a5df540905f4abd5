-- Version 4: Digests (as SQLite's 7).
ALTER TABLE articles ADD COLUMN visible_since BIGINT;
UPDATE articles SET visible_since = LEAST(published_at, CAST(EXTRACT(EPOCH FROM now())
    AS BIGINT)) WHERE visible = 1;
CREATE INDEX articles_visible_since ON articles (visible_since) WHERE visible = 1;
CREATE TABLE digests (
    channel_id  BIGINT NOT NULL,
    topic_key   TEXT COLLATE "C" NOT NULL DEFAULT '',
    guild_id    BIGINT,
    topic_name  TEXT COLLATE "C" NOT NULL DEFAULT '',
    cadence     TEXT NOT NULL,
    hour_utc    INTEGER NOT NULL,
    size        INTEGER NOT NULL,
    created_at  BIGINT NOT NULL,
    created_by  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (channel_id, topic_key)
);
CREATE TABLE digest_log (
    channel_id  BIGINT NOT NULL,
    topic_key   TEXT COLLATE "C" NOT NULL,
    period_key  TEXT COLLATE "C" NOT NULL,
    starts_at   BIGINT NOT NULL,
    due_at      BIGINT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending',
    message_id  BIGINT,
    stories     INTEGER NOT NULL DEFAULT 0,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_try_at BIGINT NOT NULL DEFAULT 0,
    last_error  TEXT,
    created_at  BIGINT NOT NULL,
    settled_at  BIGINT,
    PRIMARY KEY (channel_id, topic_key, period_key)
);
CREATE INDEX digest_log_work ON digest_log (next_try_at) WHERE state = 'pending';
