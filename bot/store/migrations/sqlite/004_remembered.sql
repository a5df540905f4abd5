-- Version 4: Values remembered for a while under a short key (e.g. a long search behind a
-- page button, whose custom_id holds at most 100 characters).
CREATE TABLE remembered (
    key      TEXT PRIMARY KEY,
    value    TEXT NOT NULL,
    saved_at INTEGER NOT NULL
) WITHOUT ROWID;
