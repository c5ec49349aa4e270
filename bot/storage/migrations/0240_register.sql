-- The register of united-front subjects (统战对象台账, issue 15). Entries are never deleted:
-- they are closed with a reason so their history stays.
CREATE TABLE register_entries (
    id            INTEGER PRIMARY KEY,
    township_id   INTEGER NOT NULL REFERENCES townships(id),
    village_id    INTEGER NOT NULL REFERENCES villages(id),
    category      TEXT NOT NULL,              -- a category code of the policy
    name          TEXT NOT NULL,
    fields        TEXT NOT NULL DEFAULT '{}', -- JSON {field code: text} besides the name
    search_text   TEXT NOT NULL DEFAULT '',   -- name, phone and fields, lower case, for search
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    closed_at     TEXT,
    close_reason  TEXT
);
CREATE UNIQUE INDEX register_entries_identity ON register_entries(village_id, category, name);
CREATE INDEX register_entries_township ON register_entries(township_id, category);
CREATE INDEX register_entries_name ON register_entries(name);

-- Every visit: from a weekly report (report_id set) or recorded by an officer (a holiday visit).
CREATE TABLE register_visits (
    id           INTEGER PRIMARY KEY,
    entry_id     INTEGER NOT NULL REFERENCES register_entries(id),
    report_id    INTEGER REFERENCES weekly_reports(id),
    person_id    INTEGER REFERENCES people(id),
    week         TEXT,                        -- the patrol's week key, for rhythm
    visited_on   TEXT NOT NULL,               -- local date
    kind         TEXT NOT NULL DEFAULT 'patrol' CHECK (kind IN ('patrol', 'holiday', 'other')),
    note         TEXT,
    created_at   TEXT NOT NULL
);
CREATE INDEX register_visits_entry ON register_visits(entry_id, visited_on);
CREATE UNIQUE INDEX register_visits_report ON register_visits(report_id, entry_id)
    WHERE report_id IS NOT NULL;

-- A change a liaison proposes; it enters the register only when confirmed.
CREATE TABLE register_changes (
    id            INTEGER PRIMARY KEY,
    entry_id      INTEGER REFERENCES register_entries(id),   -- NULL for an added entry
    township_id   INTEGER NOT NULL REFERENCES townships(id),
    village_id    INTEGER NOT NULL REFERENCES villages(id),
    kind          TEXT NOT NULL CHECK (kind IN ('add', 'correct', 'close')),
    payload       TEXT NOT NULL,              -- JSON: category/name/fields, or field+value, or reason
    proposed_by   INTEGER NOT NULL REFERENCES people(id),
    proposed_at   TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'confirmed', 'rejected')),
    decided_by    INTEGER REFERENCES people(id),
    decided_at    TEXT
);
CREATE INDEX register_changes_pending ON register_changes(township_id, state);

-- Searches and exports of the register by officers: who looked, when, for what.
CREATE TABLE register_audit (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    person_id   INTEGER REFERENCES people(id),   -- NULL on the command line
    action      TEXT NOT NULL CHECK (action IN ('search', 'export', 'open')),
    query       TEXT,
    results     INTEGER NOT NULL DEFAULT 0
);
