-- Version 10: The live processes (as SQLite's 13).
CREATE TABLE processes (
    holder     TEXT COLLATE "C" PRIMARY KEY,
    host       TEXT NOT NULL,
    pid        BIGINT NOT NULL,
    shards     TEXT NOT NULL,
    roles      TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL
);
