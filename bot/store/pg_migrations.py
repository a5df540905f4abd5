"""PostgreSQL's schema, version by version: the same tables as SQLite's (sqlite.py), in
PostgreSQL's dialect. `PostgresDatabase.migrate` applies the missing ones."""

from __future__ import annotations

from importlib import resources

# Schema version N is MIGRATIONS[N - 1] applied over version N - 1; never edit a shipped one.
MIGRATIONS: tuple[str, ...] = (
    resources.files("bot.store").joinpath("postgres_schema.sql").read_text("utf-8"),
    # 2: search moves to the search index (search_index.py), as SQLite's migration 5: the
    # tsvector column, its GIN index and text search configuration go; a change log comes.
    """DROP INDEX IF EXISTS articles_search;
    ALTER TABLE articles DROP COLUMN search;
    DROP TEXT SEARCH CONFIGURATION IF EXISTS newsbot_search;
    CREATE TABLE search_changes (
        seq           BIGSERIAL PRIMARY KEY,
        article_rowid BIGINT
    );
    INSERT INTO search_changes (article_rowid) VALUES (NULL);
    CREATE FUNCTION log_search_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            IF OLD.visible = 1 THEN
                INSERT INTO search_changes (article_rowid) VALUES (OLD.rowid);
            END IF;
            RETURN OLD;
        END IF;
        IF NEW.visible = 1 OR (TG_OP = 'UPDATE' AND OLD.visible = 1) THEN
            INSERT INTO search_changes (article_rowid) VALUES (NEW.rowid);
        END IF;
        RETURN NEW;
    END $$;
    CREATE TRIGGER articles_search_log
        AFTER INSERT OR DELETE OR UPDATE OF
            title, excerpt, provider_name, topics, published, deleted_at, duplicate_of
        ON articles FOR EACH ROW EXECUTE FUNCTION log_search_change();""",
    # 3: delivery kinds (as SQLite's 6): a subscription's channel kind and options (silent,
    # max_per_hour, threads), copied to each outbox row with what is owed after its send
    # (a crosspost, a discussion thread) and when a forum thread's creation went out.
    """ALTER TABLE subscriptions ADD COLUMN kind TEXT NOT NULL DEFAULT 'text';
    ALTER TABLE subscriptions ADD COLUMN silent INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE subscriptions ADD COLUMN max_per_hour INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE subscriptions ADD COLUMN threads INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'text';
    ALTER TABLE outbox ADD COLUMN silent INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN max_per_hour INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN threads INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN followup TEXT NOT NULL DEFAULT '';
    ALTER TABLE outbox ADD COLUMN started_at BIGINT;
    CREATE INDEX outbox_followup ON outbox (next_try_at) WHERE followup <> '';
    CREATE INDEX outbox_paced ON outbox (channel_id, sent_at);""",
    # 4: digests (as SQLite's 7).
    """ALTER TABLE articles ADD COLUMN visible_since BIGINT;
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
    CREATE INDEX digest_log_work ON digest_log (next_try_at) WHERE state = 'pending';""",
    # 5: remembered values expire through an index (as SQLite's 8).
    "CREATE INDEX remembered_saved_at ON remembered (saved_at);",
    # 6: story cards (as SQLite's 9): pictures, each feed's, post's and digest's style
    # (feeds made before cards keep `embed`), and what members saved to their DMs.
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
        user_id  BIGINT NOT NULL,
        url      TEXT COLLATE "C" NOT NULL,
        saved_at BIGINT NOT NULL,
        PRIMARY KEY (user_id, url)
    );
    CREATE INDEX saves_saved_at ON saves (saved_at);""",
    # 7: feed filters (as SQLite's 10): each subscription's canonical filter text, '' for none.
    """ALTER TABLE subscriptions ADD COLUMN filter TEXT COLLATE "C" NOT NULL DEFAULT '';""",
    # 8: personal news (as SQLite's 11): follows, their change counter, alerts.
    """CREATE TABLE follows (
        id            BIGSERIAL PRIMARY KEY,
        member_id     BIGINT NOT NULL,
        kind          TEXT COLLATE "C" NOT NULL,
        text          TEXT COLLATE "C" NOT NULL,
        typed         TEXT NOT NULL,
        created_at    BIGINT NOT NULL,
        paused_reason TEXT,
        UNIQUE (member_id, kind, text)
    );
    CREATE TABLE follows_version (
        id      INTEGER PRIMARY KEY CHECK (id = 1),
        version BIGINT NOT NULL
    );
    INSERT INTO follows_version (id, version) VALUES (1, 0);
    CREATE TABLE alerts (
        id          BIGSERIAL PRIMARY KEY,
        member_id   BIGINT NOT NULL,
        url         TEXT COLLATE "C" NOT NULL,
        article_id  TEXT COLLATE "C" NOT NULL,
        state       TEXT NOT NULL DEFAULT 'pending',
        generation  INTEGER NOT NULL DEFAULT 0,
        batch_id    BIGINT,
        paced       INTEGER NOT NULL DEFAULT 0,
        message_id  BIGINT,
        attempts    INTEGER NOT NULL DEFAULT 0,
        next_try_at BIGINT NOT NULL DEFAULT 0,
        last_error  TEXT,
        created_at  BIGINT NOT NULL,
        sent_at     BIGINT,
        UNIQUE (url, member_id)
    );
    CREATE INDEX alerts_work ON alerts (next_try_at)
        WHERE state IN ('pending', 'edit', 'delete');
    CREATE INDEX alerts_member ON alerts (member_id, sent_at);""",
    # 9: stories (as SQLite's 12): each article's story, the keys that find it, the
    # editors' pins, each feed's `updates` and each outbox row's story post (`lead_id`)
    # and the thread its reply is in (`thread_id`).
    """ALTER TABLE articles ADD COLUMN story TEXT COLLATE "C";
    UPDATE articles SET story = id;
    CREATE INDEX articles_story ON articles (story);
    ALTER TABLE articles ADD COLUMN story_signature BYTEA;
    CREATE TABLE story_keys (
        key           TEXT COLLATE "C" NOT NULL,
        published_at  BIGINT NOT NULL,
        article_rowid BIGINT NOT NULL REFERENCES articles (rowid) ON DELETE CASCADE,
        PRIMARY KEY (key, published_at, article_rowid)
    );
    CREATE INDEX story_keys_article ON story_keys (article_rowid);
    CREATE TABLE story_pins (
        article_id TEXT COLLATE "C" PRIMARY KEY,
        story      TEXT COLLATE "C" NOT NULL,
        pinned_by  TEXT NOT NULL,
        pinned_at  BIGINT NOT NULL
    );
    ALTER TABLE subscriptions ADD COLUMN updates TEXT COLLATE "C" NOT NULL DEFAULT '';
    ALTER TABLE outbox ADD COLUMN updates TEXT COLLATE "C" NOT NULL DEFAULT 'new';
    ALTER TABLE outbox ADD COLUMN lead_id BIGINT;
    ALTER TABLE outbox ADD COLUMN thread_id BIGINT;
    CREATE INDEX outbox_lead ON outbox (lead_id) WHERE lead_id IS NOT NULL;
    CREATE INDEX follows_story ON follows (text) WHERE kind = 'story';""",
    # 10: the live processes (as SQLite's 13).
    """CREATE TABLE processes (
        holder     TEXT COLLATE "C" PRIMARY KEY,
        host       TEXT NOT NULL,
        pid        BIGINT NOT NULL,
        shards     TEXT NOT NULL,
        roles      TEXT NOT NULL,
        started_at BIGINT NOT NULL,
        last_seen  BIGINT NOT NULL
    );""",
)
