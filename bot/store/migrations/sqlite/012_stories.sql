-- Version 12: Stories (store/stories.py). Each article's story (`story`: the id of the article
-- that began it); the keys that find an article's story (its normalised URLs, the bands
-- of its near-duplicate signature) with its time, for the window; the editors' /story
-- split and merge, which every re-cluster keeps; how a feed shows a story's later
-- articles (`updates`: '' = the channel's default, thread, edit, new), and per outbox
-- row the row of the story's post in that channel which it grows (`lead_id`) and, for a
-- reply in the story's thread, that thread (`thread_id`).
ALTER TABLE articles ADD COLUMN story TEXT;
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
CREATE INDEX follows_story ON follows (text) WHERE kind = 'story';
