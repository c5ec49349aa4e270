-- Office outputs (issue 12): statistics and exports read one period of a whole county at a
-- time. These covering indexes let those reads skip the table rows entirely.

-- Reports by week across townships (county), and by township and week with lateness.
CREATE INDEX weekly_reports_week_village ON weekly_reports(week, village_id, late);
CREATE INDEX weekly_reports_township_week_late ON weekly_reports(township_id, week, village_id, late);

-- Alerts and submissions by when they were raised / first sent.
CREATE INDEX alerts_created ON alerts(created_at);
CREATE INDEX alerts_township_created ON alerts(township_id, created_at);
CREATE INDEX submissions_submitted ON submissions(submitted_at);

-- Every export: who took it, when, for which township (NULL: all) and which period.
-- Exports hold names and phone numbers, so each one is accounted for.
CREATE TABLE export_audit (
    id            INTEGER PRIMARY KEY,
    at            TEXT NOT NULL,
    person_id     INTEGER REFERENCES people(id),   -- NULL when taken on the command line
    via           TEXT NOT NULL CHECK (via IN ('bot', 'cli')),
    township_id   INTEGER REFERENCES townships(id),
    period_start  TEXT NOT NULL,                   -- local dates, both included
    period_end    TEXT NOT NULL,
    format        TEXT NOT NULL CHECK (format IN ('xlsx', 'csv')),
    rows          INTEGER NOT NULL
);
CREATE INDEX export_audit_person ON export_audit(person_id, at);
