-- Version 9: Story cards. An article's own picture and each related item's; how a feed's posts
-- look (style: card | embed | link), feeds made before cards keeping `embed`; each
-- outbox row keeps the style its post was made in (an edit cannot turn a card into an
-- embed); digests likewise; and what a member saved to their DMs, once per member and story.
ALTER TABLE articles ADD COLUMN image_url TEXT;
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
CREATE INDEX saves_saved_at ON saves (saved_at);  -- they expire a few per save
