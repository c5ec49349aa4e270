-- Open drafts of every form (/report, /alert, /info), mirrored from the conversation state so
-- that due work can drop idle ones (24 h → dropped with a notice, once) and the handlers can
-- tell a proactively dropped draft from a live one. Replaces report_drafts (0010), whose rows
-- are copied here; report_drafts stays in place, unused.
CREATE TABLE form_drafts (
    form        TEXT NOT NULL,                  -- 'report', 'alert', 'info'
    token       TEXT NOT NULL,                  -- the draft's own random token
    person_id   INTEGER NOT NULL REFERENCES people(id),
    chat_id     INTEGER NOT NULL,
    updated_at  TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'open'
                CHECK (state IN ('open','submitted','cancelled','dropped')),
    record_id   INTEGER,                        -- what a submitted draft became (report id, …)
    closed_at   TEXT,
    PRIMARY KEY (form, token)
);
CREATE INDEX form_drafts_open ON form_drafts(state, updated_at);
INSERT INTO form_drafts (form, token, person_id, chat_id, updated_at, state, record_id, closed_at)
    SELECT 'report', token, person_id, chat_id, updated_at, state, report_id, closed_at
    FROM report_drafts;
