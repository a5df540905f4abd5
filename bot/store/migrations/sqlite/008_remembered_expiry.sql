-- Version 8: Remembered values expire through an index: each write deleted the expired ones
-- with a scan of the whole table (a quarter second at a million rows).
CREATE INDEX remembered_saved_at ON remembered (saved_at);
