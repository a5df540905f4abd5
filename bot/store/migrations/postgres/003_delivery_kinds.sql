-- Version 3: Delivery kinds (as SQLite's 6): a subscription's channel kind and options (silent,
-- max_per_hour, threads), copied to each outbox row with what is owed after its send
-- (a crosspost, a discussion thread) and when a forum thread's creation went out.
ALTER TABLE subscriptions ADD COLUMN kind TEXT NOT NULL DEFAULT 'text';
ALTER TABLE subscriptions ADD COLUMN silent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN max_per_hour INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN threads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'text';
ALTER TABLE outbox ADD COLUMN silent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN max_per_hour INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN threads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN followup TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN started_at BIGINT;
CREATE INDEX outbox_followup ON outbox (next_try_at) WHERE followup <> '';
CREATE INDEX outbox_paced ON outbox (channel_id, sent_at);
