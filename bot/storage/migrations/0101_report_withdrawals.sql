-- A weekly report its liaison withdrew (the one-tap "all normal" can be taken back until the
-- deadline): the report row, its history and attachments go; this keeps what was withdrawn.
CREATE TABLE weekly_report_withdrawals (
    id          INTEGER PRIMARY KEY,
    report_id   INTEGER NOT NULL,
    village_id  INTEGER NOT NULL REFERENCES villages(id),
    week        TEXT NOT NULL,
    person_id   INTEGER NOT NULL REFERENCES people(id),   -- who withdrew it
    at          TEXT NOT NULL,
    snapshot    TEXT NOT NULL                             -- JSON of the report row
);
