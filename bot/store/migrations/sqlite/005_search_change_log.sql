-- Version 5: Search moves to the search index (search_index.py): FTS5 goes, and a change log
-- names each article whose searchable text or visibility changed, in the same
-- transaction; a row naming no article asks for a full rebuild.
DROP TRIGGER IF EXISTS articles_fts_insert;
DROP TRIGGER IF EXISTS articles_fts_delete;
DROP TRIGGER IF EXISTS articles_fts_update;
DROP TABLE IF EXISTS articles_fts;
DELETE FROM meta WHERE key = 'fts_triggers';
CREATE TABLE search_changes (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    article_rowid INTEGER
);
INSERT INTO search_changes (article_rowid) VALUES (NULL);
CREATE TRIGGER search_log_insert AFTER INSERT ON articles WHEN new.visible = 1 BEGIN
    INSERT INTO search_changes (article_rowid) VALUES (new.rowid);
END;
CREATE TRIGGER search_log_delete AFTER DELETE ON articles WHEN old.visible = 1 BEGIN
    INSERT INTO search_changes (article_rowid) VALUES (old.rowid);
END;
CREATE TRIGGER search_log_update AFTER UPDATE OF
    title, excerpt, provider_name, topics, published, deleted_at, duplicate_of ON articles
WHEN old.visible = 1 OR new.visible = 1 BEGIN
    INSERT INTO search_changes (article_rowid) VALUES (new.rowid);
END;
