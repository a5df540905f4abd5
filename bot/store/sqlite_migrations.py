"""SQLite's schema, version by version (`PRAGMA user_version`): `SQLiteDatabase.open`
applies the missing ones. PostgreSQL's are in pg_migrations.py."""

from __future__ import annotations

from importlib import resources

# Schema version N is MIGRATIONS[N - 1] applied over version N - 1; never edit a shipped one.
MIGRATIONS: tuple[str, ...] = (
    resources.files("bot.store").joinpath("sqlite_schema.sql").read_text("utf-8"),
    # 2: the slash-command sync digest moved to `meta` (key 'command_sync:<target>').
    "DROP TABLE command_sync;",
    # 3: article_topics' columns in its primary key's order. SQLite 3.40's quick_check
    # reports a false "NULL value" for a WITHOUT ROWID table whose columns are not.
    """CREATE TABLE article_topics_v3 (
        topic_key     TEXT NOT NULL,
        published_at  INTEGER NOT NULL,      -- copied so "latest in topic" walks one index
        article_rowid INTEGER NOT NULL REFERENCES articles (rowid) ON DELETE CASCADE,
        PRIMARY KEY (topic_key, published_at, article_rowid)
    ) WITHOUT ROWID;
    INSERT INTO article_topics_v3 (topic_key, published_at, article_rowid)
        SELECT topic_key, published_at, article_rowid FROM article_topics;
    DROP TABLE article_topics;
    ALTER TABLE article_topics_v3 RENAME TO article_topics;
    CREATE INDEX article_topics_article ON article_topics (article_rowid);""",
    # 4: values remembered for a while under a short key (e.g. a long search behind a
    # page button, whose custom_id holds at most 100 characters).
    """CREATE TABLE remembered (
        key      TEXT PRIMARY KEY,
        value    TEXT NOT NULL,
        saved_at INTEGER NOT NULL
    ) WITHOUT ROWID;""",
    # 5: search moves to the search index (search_index.py): FTS5 goes, and a change log
    # names each article whose searchable text or visibility changed, in the same
    # transaction; a row naming no article asks for a full rebuild. A bulk load drops and
    # restores the log's triggers (`bulk_load`).
    """DROP TRIGGER IF EXISTS articles_fts_insert;
    DROP TRIGGER IF EXISTS articles_fts_delete;
    DROP TRIGGER IF EXISTS articles_fts_update;
    DROP TABLE IF EXISTS articles_fts;
    DELETE FROM meta WHERE key = 'fts_triggers';
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
    END;""",
    # 6: delivery kinds. A subscription says what its channel is (text, forum, announcement)
    # and how it is served (silent, max_per_hour, threads); each outbox row carries them,
    # what is owed after its send (a crosspost, a discussion thread), and when a forum
    # thread's creation went out (its answer may be lost: look it up before creating again).
    """ALTER TABLE subscriptions ADD COLUMN kind TEXT NOT NULL DEFAULT 'text';
    ALTER TABLE subscriptions ADD COLUMN silent INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE subscriptions ADD COLUMN max_per_hour INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE subscriptions ADD COLUMN threads INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'text';
    ALTER TABLE outbox ADD COLUMN silent INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN max_per_hour INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN threads INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN followup TEXT NOT NULL DEFAULT '';
    ALTER TABLE outbox ADD COLUMN started_at INTEGER;
    CREATE INDEX outbox_followup ON outbox (next_try_at) WHERE followup <> '';
    CREATE INDEX outbox_paced ON outbox (channel_id, sent_at);""",
    # 7: digests. When a story first became visible (a digest covers the stories that
    # became published in its period; the ones already published count from their date),
    # the digest subscriptions, and their delivery log: one row per (digest, period).
    """ALTER TABLE articles ADD COLUMN visible_since INTEGER;
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
    CREATE INDEX digest_log_work ON digest_log (next_try_at) WHERE state = 'pending';""",
    # 8: remembered values expire through an index: each write deleted the expired ones
    # with a scan of the whole table (a quarter second at a million rows).
    "CREATE INDEX remembered_saved_at ON remembered (saved_at);",
    # 9: story cards. An article's own picture and each related item's; how a feed's
    # posts look (style: card | embed | link), feeds made before cards keeping `embed`;
    # each outbox row keeps the style its post was made in (an edit cannot turn a card
    # into an embed); digests likewise; and what a member saved to their DMs, once per
    # member and story.
    """ALTER TABLE articles ADD COLUMN image_url TEXT;
    ALTER TABLE articles ADD COLUMN image_width INTEGER;
    ALTER TABLE articles ADD COLUMN image_height INTEGER;
    ALTER TABLE related ADD COLUMN image_url TEXT;
    ALTER TABLE related ADD COLUMN image_width INTEGER;
    ALTER TABLE related ADD COLUMN image_height INTEGER;
    ALTER TABLE subscriptions ADD COLUMN style TEXT NOT NULL DEFAULT 'embed';
    ALTER TABLE outbox ADD COLUMN style TEXT NOT NULL DEFAULT 'embed';
    ALTER TABLE digests ADD COLUMN style TEXT NOT NULL DEFAULT 'embed';
    CREATE TABLE saves (
        user_id  INTEGER NOT NULL,
        url      TEXT NOT NULL,              -- the story (webUrl)
        saved_at INTEGER NOT NULL,
        PRIMARY KEY (user_id, url)
    ) WITHOUT ROWID;
    CREATE INDEX saves_saved_at ON saves (saved_at);  -- they expire a few per save""",
    # 10: feed filters. A subscription's filter (`/feed add filter:`), the canonical text of
    # a query in the follow language (bot/follow_query.py), '' for none; a story that does
    # not match it is not queued for that feed (store/feed_filters.py).
    "ALTER TABLE subscriptions ADD COLUMN filter TEXT NOT NULL DEFAULT '';",
    # 11: personal news. A member's follows (a topic or a saved search, unique by its
    # canonical text; paused with the reason when their DMs are closed), a change counter
    # other processes compare to reload their matcher, and the alerts: one row per (story,
    # member), sent to the member's DMs alone or with others as one "N more stories".
    """CREATE TABLE follows (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        member_id     INTEGER NOT NULL,
        kind          TEXT NOT NULL,             -- topic | query
        text          TEXT NOT NULL,             -- canonical: topic key, or FollowQuery.text
        typed         TEXT NOT NULL,             -- shown: the topic's name, what was typed
        created_at    INTEGER NOT NULL,
        paused_reason TEXT,
        UNIQUE (member_id, kind, text)
    );
    CREATE TABLE follows_version (
        id      INTEGER PRIMARY KEY CHECK (id = 1),
        version INTEGER NOT NULL
    );
    INSERT INTO follows_version (id, version) VALUES (1, 0);
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
    CREATE INDEX alerts_member ON alerts (member_id, sent_at);""",
    # 12: stories (store/stories.py). Each article's story (`story`: the id of the article
    # that began it); the keys that find an article's story (its normalised URLs, the bands
    # of its near-duplicate signature) with its time, for the window; the editors' /story
    # split and merge, which every re-cluster keeps; how a feed shows a story's later
    # articles (`updates`: '' = the channel's default, thread, edit, new), and per outbox
    # row the row of the story's post in that channel which it grows (`lead_id`) and, for a
    # reply in the story's thread, that thread (`thread_id`).
    """ALTER TABLE articles ADD COLUMN story TEXT;
    UPDATE articles SET story = id;
    CREATE INDEX articles_story ON articles (story);
    ALTER TABLE articles ADD COLUMN story_signature BLOB;
    CREATE TABLE story_keys (
        key           TEXT NOT NULL,
        published_at  INTEGER NOT NULL,
        article_rowid INTEGER NOT NULL REFERENCES articles (rowid) ON DELETE CASCADE,
        PRIMARY KEY (key, published_at, article_rowid)
    ) WITHOUT ROWID;
    CREATE INDEX story_keys_article ON story_keys (article_rowid);
    CREATE TABLE story_pins (
        article_id TEXT PRIMARY KEY,
        story      TEXT NOT NULL,
        pinned_by  TEXT NOT NULL,
        pinned_at  INTEGER NOT NULL
    ) WITHOUT ROWID;
    ALTER TABLE subscriptions ADD COLUMN updates TEXT NOT NULL DEFAULT '';
    ALTER TABLE outbox ADD COLUMN updates TEXT NOT NULL DEFAULT 'new';
    ALTER TABLE outbox ADD COLUMN lead_id INTEGER;
    ALTER TABLE outbox ADD COLUMN thread_id INTEGER;
    CREATE INDEX outbox_lead ON outbox (lead_id) WHERE lead_id IS NOT NULL;
    CREATE INDEX follows_story ON follows (text) WHERE kind = 'story';""",
    # 13: the live processes (store/processes.py): each bot process's heartbeat, so
    # `newsbot status` and /status show them from any host; rows of dead ones expire.
    """CREATE TABLE processes (
        holder     TEXT PRIMARY KEY,  -- the process's lease holder name (host:pid:nonce)
        host       TEXT NOT NULL,
        pid        INTEGER NOT NULL,
        shards     TEXT NOT NULL,
        roles      TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        last_seen  INTEGER NOT NULL
    ) WITHOUT ROWID;""",
)
