-- A digest group can be released by its township's commissioner (/bindgroup off):
-- digest_bindings.end_reason gains 'released'. SQLite cannot alter a CHECK, so the table
-- is rebuilt with its rows.

CREATE TABLE digest_bindings_new (
    id           INTEGER PRIMARY KEY,
    township_id  INTEGER NOT NULL REFERENCES townships(id),
    chat_id      INTEGER NOT NULL,
    chat_title   TEXT,
    bound_by     INTEGER REFERENCES people(id),
    bound_at     TEXT NOT NULL,
    ended_at     TEXT,
    end_reason   TEXT CHECK (end_reason IN ('moved', 'bot_removed', 'migrated', 'released'))
);
INSERT INTO digest_bindings_new SELECT * FROM digest_bindings;
DROP TABLE digest_bindings;
ALTER TABLE digest_bindings_new RENAME TO digest_bindings;
CREATE INDEX digest_bindings_chat ON digest_bindings(chat_id, ended_at);
