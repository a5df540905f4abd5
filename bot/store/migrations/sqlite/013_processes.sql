-- Version 13: The live processes (store/processes.py): each bot process's heartbeat, so
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
