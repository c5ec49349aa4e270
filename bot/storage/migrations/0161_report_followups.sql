-- Findings of weekly reports reach the township: who read each report and when, and the
-- follow-up a commissioner recorded for a report that asked for one (issue 9).

CREATE TABLE report_reads (
    report_id  INTEGER NOT NULL REFERENCES weekly_reports(id),
    person_id  INTEGER NOT NULL REFERENCES people(id),
    at         TEXT NOT NULL,
    PRIMARY KEY (report_id, person_id)
);

CREATE TABLE report_followups (
    report_id  INTEGER PRIMARY KEY REFERENCES weekly_reports(id),
    person_id  INTEGER NOT NULL REFERENCES people(id),
    at         TEXT NOT NULL,
    note       TEXT NOT NULL
);

-- Facts about the bot itself, e.g. its username recorded at start-up (for invite links).
CREATE TABLE bot_facts (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
