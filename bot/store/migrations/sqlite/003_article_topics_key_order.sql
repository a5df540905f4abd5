-- Version 3: article_topics' columns in its primary key's order. SQLite 3.40's quick_check
-- reports a false "NULL value" for a WITHOUT ROWID table whose columns are not.
CREATE TABLE article_topics_v3 (
    topic_key     TEXT NOT NULL,
    published_at  INTEGER NOT NULL,      -- copied so "latest in topic" walks one index
    article_rowid INTEGER NOT NULL REFERENCES articles (rowid) ON DELETE CASCADE,
    PRIMARY KEY (topic_key, published_at, article_rowid)
) WITHOUT ROWID;
INSERT INTO article_topics_v3 (topic_key, published_at, article_rowid)
    SELECT topic_key, published_at, article_rowid FROM article_topics;
DROP TABLE article_topics;
ALTER TABLE article_topics_v3 RENAME TO article_topics;
CREATE INDEX article_topics_article ON article_topics (article_rowid);
