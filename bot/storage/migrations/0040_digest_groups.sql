-- Digest groups: the language a group's digest is written in, and every binding ever made
-- (who bound which group when, and when and why it ended).

ALTER TABLE townships ADD COLUMN digest_language TEXT;

CREATE TABLE digest_bindings (
    id           INTEGER PRIMARY KEY,
    township_id  INTEGER NOT NULL REFERENCES townships(id),
    chat_id      INTEGER NOT NULL,
    chat_title   TEXT,
    bound_by     INTEGER REFERENCES people(id),
    bound_at     TEXT NOT NULL,
    ended_at     TEXT,
    end_reason   TEXT CHECK (end_reason IN ('moved', 'bot_removed', 'migrated'))
);
CREATE INDEX digest_bindings_chat ON digest_bindings(chat_id, ended_at);
