-- Notices down the network with confirmations (issue 13), and liaisons on leave.

CREATE TABLE notices (
    id               INTEGER PRIMARY KEY,
    sender_id        INTEGER NOT NULL REFERENCES people(id),
    body             TEXT NOT NULL,
    audience         TEXT NOT NULL CHECK (audience IN ('liaisons','commissioners','both')),
    townships        TEXT NOT NULL,          -- JSON array of the township ids it went to
    deadline         TEXT,                   -- confirm by (UTC); NULL = no deadline
    replies          INTEGER NOT NULL DEFAULT 0,   -- recipients may reply
    created_at       TEXT NOT NULL,
    last_reminded_at TEXT                    -- last reminder the sender asked for (once an hour)
);
CREATE INDEX notices_sender ON notices(sender_id, created_at);

-- Who a notice went to, and when each confirmed.
CREATE TABLE notice_recipients (
    notice_id     INTEGER NOT NULL REFERENCES notices(id),
    person_id     INTEGER NOT NULL REFERENCES people(id),
    confirmed_at  TEXT,
    PRIMARY KEY (notice_id, person_id)
);
CREATE INDEX notice_recipients_person ON notice_recipients(person_id);

-- A notice's timeline: sent, confirmed, reminded (by hand or at half time), replied, deadline.
CREATE TABLE notice_events (
    id         INTEGER PRIMARY KEY,
    notice_id  INTEGER NOT NULL REFERENCES notices(id),
    at         TEXT NOT NULL,
    kind       TEXT NOT NULL,
    person_id  INTEGER REFERENCES people(id),
    detail     TEXT                       -- JSON
);
CREATE INDEX notice_events_notice ON notice_events(notice_id, at);

-- Leave of a liaison: asked for (pending) and approved or declined, or put directly by a
-- commissioner (approved at once). Dates are local calendar days, both ends included.
CREATE TABLE leaves (
    id             INTEGER PRIMARY KEY,
    person_id      INTEGER NOT NULL REFERENCES people(id),
    township_id    INTEGER NOT NULL REFERENCES townships(id),
    village_id     INTEGER REFERENCES villages(id),
    start_date     TEXT NOT NULL,            -- "2026-11-24"
    end_date       TEXT NOT NULL,
    reason         TEXT,
    substitute_id  INTEGER REFERENCES people(id),
    state          TEXT NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending','approved','declined','cancelled')),
    requested_by   INTEGER NOT NULL REFERENCES people(id),
    requested_at   TEXT NOT NULL,
    decided_by     INTEGER REFERENCES people(id),
    decided_at     TEXT,
    CHECK (start_date <= end_date)
);
CREATE INDEX leaves_person ON leaves(person_id, state, end_date);
CREATE INDEX leaves_village ON leaves(village_id, state, start_date, end_date);

-- Approved leave, one row per leave, for queries that ask "was this village excused on day D"
-- (exports: a week is excused when its due day falls within the leave and no report exists).
CREATE VIEW approved_leaves AS
    SELECT l.id, l.person_id, l.township_id, l.village_id, l.start_date, l.end_date,
           l.substitute_id
    FROM leaves l JOIN people p ON p.id = l.person_id
    WHERE l.state = 'approved' AND p.active = 1;
