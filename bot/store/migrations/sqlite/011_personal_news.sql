-- Version 11: Personal news. A member's follows (a topic or a saved search, unique by its
-- canonical text; paused with the reason when their DMs are closed), a change counter
-- other processes compare to reload their matcher, and the alerts: one row per (story,
-- member), sent to the member's DMs alone or with others as one "N more stories".
CREATE TABLE follows (
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
CREATE INDEX alerts_member ON alerts (member_id, sent_at);
