-- Version 6: Story cards (as SQLite's 9): pictures, each feed's, post's and digest's style
-- (feeds made before cards keep `embed`), and what members saved to their DMs.
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
    user_id  BIGINT NOT NULL,
    url      TEXT COLLATE "C" NOT NULL,
    saved_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, url)
);
CREATE INDEX saves_saved_at ON saves (saved_at);
