-- Version 1: the schema as the first bot created it. Never applied by the bot (an empty
-- database gets schema.sqlite.sql whole): kept as what the later files upgrade, and to build
-- the oldest database the tests upgrade and compare with a fresh one.
-- The files are the source of truth for articles; these tables are the index,
-- the delivery log (outbox), subscriptions and the moderation audit trail.

-- One row per store file we have seen, so a rescan reads only what changed.
CREATE TABLE files (
    name        TEXT PRIMARY KEY,          -- file name inside the store folder
    mtime_ns    INTEGER NOT NULL,
    size        INTEGER NOT NULL,
    error       TEXT                       -- the last load error, NULL when the file parsed
) WITHOUT ROWID;

CREATE TABLE articles (
    rowid           INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,   -- file name without extension
    file            TEXT NOT NULL,
    title           TEXT NOT NULL,
    excerpt         TEXT NOT NULL DEFAULT '',
    url             TEXT NOT NULL,          -- webUrl: one story, one article
    original_url    TEXT,
    published_at    INTEGER NOT NULL,       -- unix seconds, UTC
    category        TEXT NOT NULL DEFAULT '',
    type            TEXT NOT NULL DEFAULT '',
    quality         INTEGER NOT NULL DEFAULT 0,
    heat            INTEGER NOT NULL DEFAULT -1,
    provider_name   TEXT NOT NULL DEFAULT '',
    provider_domain TEXT NOT NULL DEFAULT '',
    topics          TEXT NOT NULL DEFAULT '',  -- display names joined by ' · ' (for FTS and rendering)
    published       INTEGER NOT NULL DEFAULT 0,
    deleted_at      INTEGER,                -- the file is gone: withdrawn, history kept
    duplicate_of    TEXT,                   -- another file with the same webUrl won
    secured         TEXT,                   -- confidential: stored as is, never read back for display
    extra           TEXT NOT NULL DEFAULT '{}',  -- unknown front-matter fields, JSON
    file_mtime_ns   INTEGER NOT NULL DEFAULT 0,
    render_hash     TEXT NOT NULL DEFAULT '',   -- changes when what a post shows changes
    visible         INTEGER GENERATED ALWAYS AS
                        (published = 1 AND deleted_at IS NULL AND duplicate_of IS NULL) STORED
);
CREATE INDEX articles_visible_date ON articles (visible, published_at DESC);
CREATE INDEX articles_url ON articles (url, visible);  -- (url, visible): preferred over the date index for "this story, if visible"
CREATE INDEX articles_drafts ON articles (published_at DESC)
    WHERE published = 0 AND deleted_at IS NULL AND duplicate_of IS NULL;

CREATE TABLE topics (
    key   TEXT PRIMARY KEY,                 -- casefolded, spaces collapsed
    name  TEXT NOT NULL                     -- as first written
) WITHOUT ROWID;

CREATE TABLE article_topics (
    article_rowid INTEGER NOT NULL REFERENCES articles (rowid) ON DELETE CASCADE,
    topic_key     TEXT NOT NULL,
    published_at  INTEGER NOT NULL,          -- copied so "latest in topic" walks one index
    PRIMARY KEY (topic_key, published_at, article_rowid)
) WITHOUT ROWID;
CREATE INDEX article_topics_article ON article_topics (article_rowid);

CREATE TABLE related (
    article_rowid INTEGER NOT NULL REFERENCES articles (rowid) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    title         TEXT NOT NULL,
    url           TEXT NOT NULL,
    excerpt       TEXT NOT NULL DEFAULT '',
    provider      TEXT NOT NULL DEFAULT '',
    published_at  INTEGER,
    quality       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (article_rowid, position)
) WITHOUT ROWID;

-- Full-text index over what readers search: visible (published, live) articles only, so
-- a common word ranks only documents a reader can get. Kept in sync by triggers.
CREATE VIRTUAL TABLE articles_fts USING fts5 (
    title, excerpt, provider_name, topics,
    content = 'articles', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles WHEN new.visible = 1 BEGIN
    INSERT INTO articles_fts (rowid, title, excerpt, provider_name, topics)
    VALUES (new.rowid, new.title, new.excerpt, new.provider_name, new.topics);
END;
CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles WHEN old.visible = 1 BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, excerpt, provider_name, topics)
    VALUES ('delete', old.rowid, old.title, old.excerpt, old.provider_name, old.topics);
END;
CREATE TRIGGER articles_fts_update AFTER UPDATE OF
    title, excerpt, provider_name, topics, published, deleted_at, duplicate_of ON articles
BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, excerpt, provider_name, topics)
    SELECT 'delete', old.rowid, old.title, old.excerpt, old.provider_name, old.topics
    WHERE old.visible = 1;
    INSERT INTO articles_fts (rowid, title, excerpt, provider_name, topics)
    SELECT new.rowid, new.title, new.excerpt, new.provider_name, new.topics
    WHERE new.visible = 1;
END;

-- Who published or withdrew what, and when.
CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,              -- publish | unpublish | refused
    article_id  TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT ''
);

-- Channels that follow topics. topic_key '' = every topic.
CREATE TABLE subscriptions (
    channel_id   INTEGER NOT NULL,
    topic_key    TEXT NOT NULL DEFAULT '',
    guild_id     INTEGER,
    topic_name   TEXT NOT NULL DEFAULT '',
    role_id      INTEGER,
    min_quality  INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    created_by   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (channel_id, topic_key)
) WITHOUT ROWID;

-- Channel health: a channel that answered Forbidden / Not Found is paused with its reason.
CREATE TABLE channels (
    channel_id    INTEGER PRIMARY KEY,
    paused_reason TEXT,
    paused_at     INTEGER,
    last_post_at  INTEGER,
    last_article  TEXT
);

-- The delivery log: one row per (story, channel), written with the state change that causes it.
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    url          TEXT NOT NULL,             -- the story (webUrl): one story, one post per channel
    article_id   TEXT NOT NULL,             -- the article file currently behind the story
    channel_id   INTEGER NOT NULL,
    role_id      INTEGER,                   -- the only mention this post may carry
    state        TEXT NOT NULL DEFAULT 'pending',  -- pending | sent | edit | delete | deleted | failed
    message_id   INTEGER,
    attempts     INTEGER NOT NULL DEFAULT 0,
    generation   INTEGER NOT NULL DEFAULT 0,  -- bumped on a repost after withdrawal: a fresh nonce
    next_try_at  INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    sent_at      INTEGER,
    UNIQUE (url, channel_id)
);
CREATE INDEX outbox_work ON outbox (state, next_try_at) WHERE state IN ('pending', 'edit', 'delete');
CREATE INDEX outbox_article ON outbox (article_id);

-- The command definitions last synced to each target (guild id, or 0 for global).
CREATE TABLE command_sync (
    target  INTEGER PRIMARY KEY,
    digest  TEXT NOT NULL,
    at      INTEGER NOT NULL
);

-- Small facts about the last store sync, for /status.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
