-- Version 10: Feed filters. A subscription's filter (`/feed add filter:`), the canonical text of a
-- query in the follow language (bot/follow_query.py), '' for none; a story that does
-- not match it is not queued for that feed (store/feed_filters.py).
ALTER TABLE subscriptions ADD COLUMN filter TEXT NOT NULL DEFAULT '';
