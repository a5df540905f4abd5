-- Version 6: Delivery kinds. A subscription says what its channel is (text, forum, announcement)
-- and how it is served (silent, max_per_hour, threads); each outbox row carries them,
-- what is owed after its send (a crosspost, a discussion thread), and when a forum
-- thread's creation went out (its answer may be lost: look it up before creating again).
ALTER TABLE subscriptions ADD COLUMN kind TEXT NOT NULL DEFAULT 'text';
ALTER TABLE subscriptions ADD COLUMN silent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN max_per_hour INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN threads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'text';
ALTER TABLE outbox ADD COLUMN silent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN max_per_hour INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN threads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN followup TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN started_at INTEGER;
CREATE INDEX outbox_followup ON outbox (next_try_at) WHERE followup <> '';
CREATE INDEX outbox_paced ON outbox (channel_id, sent_at);
