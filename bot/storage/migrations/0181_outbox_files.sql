-- Files the outbox uploads (chart images of the weekly digest): kept until their message is
-- sent, then dropped by housekeeping. A row's payload names one as {"photo": {"outbox_file": id}}.
CREATE TABLE outbox_files (
    id          INTEGER PRIMARY KEY,
    filename    TEXT NOT NULL,
    data        BLOB NOT NULL,
    created_at  TEXT NOT NULL
);
