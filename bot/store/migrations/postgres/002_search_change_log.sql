-- Version 2: Search moves to the search index (search_index.py), as SQLite's 5: the tsvector
-- column, its GIN index and text search configuration go; a change log comes.
DROP INDEX IF EXISTS articles_search;
ALTER TABLE articles DROP COLUMN search;
DROP TEXT SEARCH CONFIGURATION IF EXISTS newsbot_search;
CREATE TABLE search_changes (
    seq           BIGSERIAL PRIMARY KEY,
    article_rowid BIGINT
);
INSERT INTO search_changes (article_rowid) VALUES (NULL);
CREATE FUNCTION log_search_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.visible = 1 THEN
            INSERT INTO search_changes (article_rowid) VALUES (OLD.rowid);
        END IF;
        RETURN OLD;
    END IF;
    IF NEW.visible = 1 OR (TG_OP = 'UPDATE' AND OLD.visible = 1) THEN
        INSERT INTO search_changes (article_rowid) VALUES (NEW.rowid);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER articles_search_log
    AFTER INSERT OR DELETE OR UPDATE OF
        title, excerpt, provider_name, topics, published, deleted_at, duplicate_of
    ON articles FOR EACH ROW EXECUTE FUNCTION log_search_change();
