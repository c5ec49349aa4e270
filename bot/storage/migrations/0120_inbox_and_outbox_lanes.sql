-- Durable inbox: every update is stored before its getUpdates offset is acknowledged, and
-- processed from here. payload is kept only until the update is done (then NULL); the row
-- stays a week so that a redelivered update is recognised.
CREATE TABLE inbox (
    update_id    INTEGER PRIMARY KEY,
    received_at  TEXT NOT NULL,
    payload      TEXT,                  -- the update's JSON while not done
    done_at      TEXT                   -- NULL until handlers and persistence are committed
);
CREATE INDEX inbox_open ON inbox(update_id) WHERE done_at IS NULL;
CREATE INDEX inbox_done ON inbox(done_at);
INSERT INTO inbox (update_id, received_at, done_at)
    SELECT update_id, processed_at, processed_at FROM processed_updates;
DROP TABLE processed_updates;

-- Outbox lanes: 0 urgent (critical/high alerts, escalations, confirmations of a person's own
-- action), 1 normal, 2 bulk (reminders, overdue notices, quota nudges, digests).
ALTER TABLE outbox ADD COLUMN lane INTEGER NOT NULL DEFAULT 1 CHECK (lane IN (0, 1, 2));
-- The worker's questions: what is due now, and what holds a chat back (in flight or retrying).
CREATE INDEX outbox_pending ON outbox(not_before) WHERE state = 'pending';
CREATE INDEX outbox_chat_open ON outbox(chat_id, id) WHERE state IN ('pending', 'sending');
