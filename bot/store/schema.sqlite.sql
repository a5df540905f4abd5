-- The whole SQLite schema as it is now (version 13), applied as it stands to an empty
-- database, which is then marked at that version (`PRAGMA user_version`). A database an
-- older bot left is upgraded instead by the files in migrations/sqlite/, which must end
-- in exactly this (a test compares the two). Change both together: a new file there for
-- the databases that exist, the same change here for the ones to come.
--
-- The store folder's files are the source of truth for articles; these tables are their
-- index, the feeds and their delivery log (outbox), members' saves, follows and alerts,
-- and the moderation audit trail. A column added by a later version comes after the first
-- ones, as the upgrade leaves it.

-- ---------------------------------------------------------------- the articles

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
    topics          TEXT NOT NULL DEFAULT '',  -- display names joined by ' · ' (for search and rendering)
    published       INTEGER NOT NULL DEFAULT 0,
    deleted_at      INTEGER,                -- the file is gone: withdrawn, history kept
    duplicate_of    TEXT,                   -- another file with the same webUrl won
    secured         TEXT,                   -- confidential: stored as is, never read back for display
    extra           TEXT NOT NULL DEFAULT '{}',  -- unknown front-matter fields, JSON
    file_mtime_ns   INTEGER NOT NULL DEFAULT 0,
    render_hash     TEXT NOT NULL DEFAULT '',   -- changes when what a post shows changes
    visible         INTEGER GENERATED ALWAYS AS
                        (published = 1 AND deleted_at IS NULL AND duplicate_of IS NULL) STORED,
    -- when the story first became visible: a digest covers the stories that became
    -- published in its period
    visible_since   INTEGER,
    image_url       TEXT,                   -- the article's own picture, for its card
    image_width     INTEGER,
    image_height    INTEGER,
    story           TEXT,                   -- the id of the article that began its story
    story_signature BLOB                    -- its near-duplicate signature (store/stories.py)
);
CREATE INDEX articles_visible_date ON articles (visible, published_at DESC);
CREATE INDEX articles_url ON articles (url, visible);  -- (url, visible): preferred over the date index for "this story, if visible"
CREATE INDEX articles_drafts ON articles (published_at DESC)
    WHERE published = 0 AND deleted_at IS NULL AND duplicate_of IS NULL;
CREATE INDEX articles_visible_since ON articles (visible_since) WHERE visible = 1;
CREATE INDEX articles_story ON articles (story);

CREATE TABLE topics (
    key   TEXT PRIMARY KEY,                 -- casefolded, spaces collapsed
    name  TEXT NOT NULL                     -- as first written
) WITHOUT ROWID;

-- Columns in the primary key's order: SQLite 3.40's quick_check reports a false "NULL
-- value" for a WITHOUT ROWID table whose columns are not.
CREATE TABLE article_topics (
    topic_key     TEXT NOT NULL,
    published_at  INTEGER NOT NULL,      -- copied so "latest in topic" walks one index
    article_rowid INTEGER NOT NULL REFERENCES articles (rowid) ON DELETE CASCADE,
    PRIMARY KEY (topic_key, published_at, article_rowid)
) WITHOUT ROWID;
CREATE INDEX article_topics_article ON article_topics (article_rowid);

-- The related items shown under an article, in order.
CREATE TABLE related (
    article_rowid INTEGER NOT NULL REFERENCES articles (rowid) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    title         TEXT NOT NULL,
    url           TEXT NOT NULL,
    excerpt       TEXT NOT NULL DEFAULT '',
    provider      TEXT NOT NULL DEFAULT '',
    published_at  INTEGER,
    quality       INTEGER NOT NULL DEFAULT 0,
    image_url     TEXT,
    image_width   INTEGER,
    image_height  INTEGER,
    PRIMARY KEY (article_rowid, position)
) WITHOUT ROWID;

-- The search index (search_index.py) lives beside the database: this log names each
-- article whose searchable text or visibility changed, in the same transaction as the
-- change; a row naming no article asks for a full rebuild, as a new database needs. A bulk
-- load drops and restores the triggers (`bulk_load`).
CREATE TABLE search_changes (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    article_rowid INTEGER
);
INSERT INTO search_changes (article_rowid) VALUES (NULL);
CREATE TRIGGER search_log_insert AFTER INSERT ON articles WHEN new.visible = 1 BEGIN
    INSERT INTO search_changes (article_rowid) VALUES (new.rowid);
END;
CREATE TRIGGER search_log_delete AFTER DELETE ON articles WHEN old.visible = 1 BEGIN
    INSERT INTO search_changes (article_rowid) VALUES (old.rowid);
END;
CREATE TRIGGER search_log_update AFTER UPDATE OF
    title, excerpt, provider_name, topics, published, deleted_at, duplicate_of ON articles
WHEN old.visible = 1 OR new.visible = 1 BEGIN
    INSERT INTO search_changes (article_rowid) VALUES (new.rowid);
END;

-- Stories (store/stories.py): the keys that find an article's story (its normalised
-- URLs, the bands of its near-duplicate signature) with its time, for the window.
CREATE TABLE story_keys (
    key           TEXT NOT NULL,
    published_at  INTEGER NOT NULL,
    article_rowid INTEGER NOT NULL REFERENCES articles (rowid) ON DELETE CASCADE,
    PRIMARY KEY (key, published_at, article_rowid)
) WITHOUT ROWID;
CREATE INDEX story_keys_article ON story_keys (article_rowid);

-- The editors' /story split and merge, which every re-cluster keeps.
CREATE TABLE story_pins (
    article_id TEXT PRIMARY KEY,
    story      TEXT NOT NULL,
    pinned_by  TEXT NOT NULL,
    pinned_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- ---------------------------------------------------------------- feeds and delivery

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
    kind         TEXT NOT NULL DEFAULT 'text',   -- the channel: text | forum | announcement
    silent       INTEGER NOT NULL DEFAULT 0,
    max_per_hour INTEGER NOT NULL DEFAULT 0,
    threads      INTEGER NOT NULL DEFAULT 0,
    style        TEXT NOT NULL DEFAULT 'embed',  -- card | embed | link; feeds made before cards keep embed
    filter       TEXT NOT NULL DEFAULT '',  -- canonical follow-language query (bot/follow_query.py), '' = none
    updates      TEXT NOT NULL DEFAULT '',  -- a story's later articles: '' = the channel's default, thread, edit, new
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

-- The delivery log: one row per (story, channel), written with the state change that
-- causes it. Each row carries its feed's options as they were when it was queued.
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
    kind         TEXT NOT NULL DEFAULT 'text',
    silent       INTEGER NOT NULL DEFAULT 0,
    max_per_hour INTEGER NOT NULL DEFAULT 0,
    threads      INTEGER NOT NULL DEFAULT 0,
    followup     TEXT NOT NULL DEFAULT '',  -- owed after the send: a crosspost, a discussion thread
    started_at   INTEGER,                   -- a forum thread's creation went out: look it up before creating again
    style        TEXT NOT NULL DEFAULT 'embed',  -- the style the post was made in: an edit keeps it
    updates      TEXT NOT NULL DEFAULT 'new',
    lead_id      INTEGER,                   -- the row of the story's post in this channel that it grows
    thread_id    INTEGER,                   -- for a reply in the story's thread: that thread
    UNIQUE (url, channel_id)
);
CREATE INDEX outbox_work ON outbox (state, next_try_at) WHERE state IN ('pending', 'edit', 'delete');
CREATE INDEX outbox_article ON outbox (article_id);
CREATE INDEX outbox_followup ON outbox (next_try_at) WHERE followup <> '';
CREATE INDEX outbox_paced ON outbox (channel_id, sent_at);
CREATE INDEX outbox_lead ON outbox (lead_id) WHERE lead_id IS NOT NULL;

-- Digest subscriptions, and their delivery log: one row per (digest, period).
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
    style       TEXT NOT NULL DEFAULT 'embed',
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

-- ---------------------------------------------------------------- members

-- What a member saved to their DMs, once per member and story.
CREATE TABLE saves (
    user_id  INTEGER NOT NULL,
    url      TEXT NOT NULL,              -- the story (webUrl)
    saved_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, url)
) WITHOUT ROWID;
CREATE INDEX saves_saved_at ON saves (saved_at);  -- they expire a few per save

-- A member's follows: a topic, a saved search or a story, unique by its canonical text;
-- paused with the reason when their DMs are closed.
CREATE TABLE follows (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    member_id     INTEGER NOT NULL,
    kind          TEXT NOT NULL,             -- topic | query | story
    text          TEXT NOT NULL,             -- canonical: topic key, FollowQuery.text, article id
    typed         TEXT NOT NULL,             -- shown: the topic's name, what was typed
    created_at    INTEGER NOT NULL,
    paused_reason TEXT,
    UNIQUE (member_id, kind, text)
);
CREATE INDEX follows_story ON follows (text) WHERE kind = 'story';

-- A change counter other processes compare to reload their matcher.
CREATE TABLE follows_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO follows_version (id, version) VALUES (1, 0);

-- Alerts: one row per (story, member), sent to the member's DMs alone or with others as
-- one "N more stories".
CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    member_id   INTEGER NOT NULL,
    url         TEXT NOT NULL,               -- the story (webUrl)
    article_id  TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending',
    generation  INTEGER NOT NULL DEFAULT 0,
    batch_id    INTEGER,                     -- sent in the batch led by this alert id
    paced       INTEGER NOT NULL DEFAULT 0,  -- it waited out the member's hourly alerts
    message_id  INTEGER,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_try_at INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    created_at  INTEGER NOT NULL,
    sent_at     INTEGER,
    UNIQUE (url, member_id)
);
CREATE INDEX alerts_work ON alerts (next_try_at)
    WHERE state IN ('pending', 'edit', 'delete');
CREATE INDEX alerts_member ON alerts (member_id, sent_at);

-- ---------------------------------------------------------------- bookkeeping

-- Who published or withdrew what, and when.
CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,              -- publish | unpublish | refused
    article_id  TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT ''
);

-- Small facts: the last store sync (for /status), the slash commands last synced to each
-- target ('command_sync:<target>').
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- Values remembered for a while under a short key (e.g. a long search behind a page
-- button, whose custom_id holds at most 100 characters); they expire through the index.
CREATE TABLE remembered (
    key      TEXT PRIMARY KEY,
    value    TEXT NOT NULL,
    saved_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX remembered_saved_at ON remembered (saved_at);

-- The live processes (store/processes.py): each bot process's heartbeat, so
-- `newsbot status` and /status show them from any host; rows of dead ones expire.
CREATE TABLE processes (
    holder     TEXT PRIMARY KEY,  -- the process's lease holder name (host:pid:nonce)
    host       TEXT NOT NULL,
    pid        INTEGER NOT NULL,
    shards     TEXT NOT NULL,
    roles      TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL
) WITHOUT ROWID;
