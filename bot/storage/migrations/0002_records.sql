-- The three things liaisons submit. Feature issues extend these with later migrations.

-- Weekly patrol report: one per village per ISO week ("2026-W48").
CREATE TABLE weekly_reports (
    id            INTEGER PRIMARY KEY,
    village_id    INTEGER NOT NULL REFERENCES villages(id),
    township_id   INTEGER NOT NULL REFERENCES townships(id),
    week          TEXT NOT NULL,            -- ISO week in local time, "2026-W48"
    person_id     INTEGER NOT NULL REFERENCES people(id),  -- who submitted
    patrol_date   TEXT NOT NULL,            -- local date "2026-11-24"
    places        TEXT NOT NULL,            -- JSON array of place codes
    visited       INTEGER NOT NULL,
    outcome       TEXT NOT NULL CHECK (outcome IN ('normal','issues')),
    findings      TEXT,
    unstable      INTEGER,
    follow_up     INTEGER,
    dispute       INTEGER NOT NULL DEFAULT 0,   -- liaison flagged a dispute in the findings
    alert_id      INTEGER,                  -- linked dispute alert, if raised from the report
    late          INTEGER NOT NULL DEFAULT 0,
    submitted_at  TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    version       INTEGER NOT NULL DEFAULT 1,
    UNIQUE (village_id, week)
);
CREATE INDEX weekly_reports_week ON weekly_reports(township_id, week);

-- Every version of a report (the first submission and each edit), with who and when.
CREATE TABLE weekly_report_history (
    id          INTEGER PRIMARY KEY,
    report_id   INTEGER NOT NULL REFERENCES weekly_reports(id),
    version     INTEGER NOT NULL,
    person_id   INTEGER NOT NULL REFERENCES people(id),
    at          TEXT NOT NULL,
    snapshot    TEXT NOT NULL,              -- JSON of the report fields
    UNIQUE (report_id, version)
);

-- Dispute alerts.
CREATE TABLE alerts (
    id               INTEGER PRIMARY KEY,
    township_id      INTEGER NOT NULL REFERENCES townships(id),
    village_id       INTEGER NOT NULL REFERENCES villages(id),
    person_id        INTEGER NOT NULL REFERENCES people(id),   -- the liaison who raised it
    category         TEXT NOT NULL,
    severity         TEXT NOT NULL CHECK (severity IN ('critical','high','medium','low')),
    people_count     INTEGER,
    place_text       TEXT,
    latitude         REAL,
    longitude        REAL,
    description      TEXT,
    voice_file_id    TEXT,
    state            TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open','acknowledged','resolved')),
    level            INTEGER NOT NULL DEFAULT 1,   -- 1 commissioners, 2 leaders, 3 county
    level_since      TEXT NOT NULL,                -- when the current level's clock started
    created_at       TEXT NOT NULL,
    acknowledged_at  TEXT,
    acknowledged_by  INTEGER REFERENCES people(id),
    ack_seconds      INTEGER,                      -- time to acknowledge, for statistics
    resolved_at      TEXT,
    resolved_by      INTEGER REFERENCES people(id),
    resolution_level TEXT CHECK (resolution_level IN ('village','township','county')),
    resolution_note  TEXT,
    report_id        INTEGER REFERENCES weekly_reports(id),
    escalated        INTEGER NOT NULL DEFAULT 0    -- ever climbed above level 1
);
CREATE INDEX alerts_state ON alerts(state, township_id);

CREATE TABLE alert_events (
    id         INTEGER PRIMARY KEY,
    alert_id   INTEGER NOT NULL REFERENCES alerts(id),
    at         TEXT NOT NULL,
    kind       TEXT NOT NULL,   -- created, delivered, acknowledged, escalated, update, resolved, reopened, reminded
    person_id  INTEGER REFERENCES people(id),
    detail     TEXT             -- JSON
);
CREATE INDEX alert_events_alert ON alert_events(alert_id, at);

-- Information submissions and their versions.
CREATE TABLE submissions (
    id             INTEGER PRIMARY KEY,
    township_id    INTEGER NOT NULL REFERENCES townships(id),
    village_id     INTEGER REFERENCES villages(id),
    person_id      INTEGER NOT NULL REFERENCES people(id),
    kind           TEXT NOT NULL CHECK (kind IN ('work_update','experience_summary','highlight','public_opinion')),
    title          TEXT NOT NULL,
    body           TEXT NOT NULL,
    state          TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','returned','adopted')),
    version        INTEGER NOT NULL DEFAULT 1,
    submitted_at   TEXT NOT NULL,          -- first submission: counts for quotas from then
    updated_at     TEXT NOT NULL,
    reviewed_at    TEXT,
    reviewed_by    INTEGER REFERENCES people(id),
    review_comment TEXT
);
CREATE INDEX submissions_township ON submissions(township_id, submitted_at);

CREATE TABLE submission_versions (
    id             INTEGER PRIMARY KEY,
    submission_id  INTEGER NOT NULL REFERENCES submissions(id),
    version        INTEGER NOT NULL,
    title          TEXT NOT NULL,
    body           TEXT NOT NULL,
    at             TEXT NOT NULL,
    UNIQUE (submission_id, version)
);
