-- Version 9: Stories (as SQLite's 12): each article's story, the keys that find it, the
-- editors' pins, each feed's `updates` and each outbox row's story post (`lead_id`)
-- and the thread its reply is in (`thread_id`).
ALTER TABLE articles ADD COLUMN story TEXT COLLATE "C";
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
CREATE INDEX follows_story ON follows (text) WHERE kind = 'story';
