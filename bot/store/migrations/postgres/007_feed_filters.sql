-- Version 7: Feed filters (as SQLite's 10): each subscription's canonical filter text, '' for none.
ALTER TABLE subscriptions ADD COLUMN filter TEXT COLLATE "C" NOT NULL DEFAULT '';
