-- Version 5: Remembered values expire through an index (as SQLite's 8).
CREATE INDEX remembered_saved_at ON remembered (saved_at);
