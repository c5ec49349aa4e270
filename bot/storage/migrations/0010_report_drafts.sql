-- Open /report drafts, mirrored from the liaison's conversation state so that due work can
-- find idle ones (24 h → dropped with a notice) and a stale button can be told apart from
-- someone else's form.
CREATE TABLE report_drafts (
    token       TEXT PRIMARY KEY,
    person_id   INTEGER NOT NULL REFERENCES people(id),
    chat_id     INTEGER NOT NULL,
    updated_at  TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'open'
                CHECK (state IN ('open','submitted','cancelled','dropped')),
    report_id   INTEGER REFERENCES weekly_reports(id),
    closed_at   TEXT
);
CREATE INDEX report_drafts_open ON report_drafts(state, updated_at);
