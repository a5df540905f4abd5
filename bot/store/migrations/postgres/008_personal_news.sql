-- Version 8: Personal news (as SQLite's 11): follows, their change counter, alerts.
CREATE TABLE follows (
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
CREATE INDEX alerts_member ON alerts (member_id, sent_at);
