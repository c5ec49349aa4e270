-- Foundation: places, people, invites, Telegram plumbing, outbox, and the core records.
-- Times are TEXT in ISO-8601 UTC ("2026-11-21T01:02:03.000000Z"), see db.to_db_time.

CREATE TABLE townships (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    digest_chat_id  INTEGER,            -- bound group (/bindgroup); NULL when none
    digest_chat_title TEXT,
    digest_bound_by INTEGER REFERENCES people(id),
    digest_bound_at TEXT
);

CREATE TABLE villages (
    id           INTEGER PRIMARY KEY,
    township_id  INTEGER NOT NULL REFERENCES townships(id),
    name         TEXT NOT NULL,
    UNIQUE (township_id, name)
);

CREATE TABLE people (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('liaison','commissioner','leader','county','admin')),
    township_id  INTEGER REFERENCES townships(id),
    village_id   INTEGER REFERENCES villages(id),
    phone        TEXT,
    telegram_id  INTEGER UNIQUE,
    language     TEXT,                  -- chosen with /lang; NULL = follow Telegram's language_code
    tg_language  TEXT,                  -- last language_code Telegram reported
    active       INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    bound_at     TEXT
);
CREATE INDEX people_township ON people(township_id, role);
CREATE INDEX people_village ON people(village_id);

CREATE TABLE invites (
    code        TEXT PRIMARY KEY,
    person_id   INTEGER NOT NULL REFERENCES people(id),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    used_by     INTEGER                 -- telegram user id that redeemed it
);
CREATE INDEX invites_person ON invites(person_id);

-- Wrong /start codes, to make a guesser wait.
CREATE TABLE start_attempts (
    telegram_id INTEGER NOT NULL,
    at          TEXT NOT NULL
);
CREATE INDEX start_attempts_user ON start_attempts(telegram_id, at);

-- Updates whose effect is done; a redelivered update is skipped.
CREATE TABLE processed_updates (
    update_id     INTEGER PRIMARY KEY,
    processed_at  TEXT NOT NULL
);

-- python-telegram-bot persistence (JSON documents).
CREATE TABLE ptb_conversations (
    name   TEXT NOT NULL,
    key    TEXT NOT NULL,               -- JSON array of the conversation key
    state  TEXT NOT NULL,               -- JSON value
    PRIMARY KEY (name, key)
);
CREATE TABLE ptb_user_data (user_id INTEGER PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE ptb_chat_data (chat_id INTEGER PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE ptb_bot_data (id INTEGER PRIMARY KEY CHECK (id = 1), data TEXT NOT NULL);

-- Messages the bot sends on its own initiative; written in the transaction of their cause.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    created_at  TEXT NOT NULL,
    not_before  TEXT NOT NULL,          -- earliest send time (quiet hours, retry backoff)
    chat_id     INTEGER NOT NULL,
    person_id   INTEGER REFERENCES people(id),
    method      TEXT NOT NULL DEFAULT 'sendMessage',
    payload     TEXT NOT NULL,          -- JSON parameters of the Bot API method (without chat_id)
    dedup_key   TEXT UNIQUE,            -- idempotency key: the same key is enqueued once, ever
    ref_kind    TEXT,                   -- what it is about ('alert', 'report', ...) for later edits
    ref_id      INTEGER,
    state       TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending','sending','sent','failed','cancelled')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    sent_at     TEXT,
    message_id  INTEGER                 -- Telegram's id of what was sent (first part if split)
);
CREATE INDEX outbox_due ON outbox(state, not_before);
CREATE INDEX outbox_ref ON outbox(ref_kind, ref_id);

-- Time-based work that ran, by idempotency key (kind, who, period, moment).
CREATE TABLE job_runs (
    key     TEXT PRIMARY KEY,
    ran_at  TEXT NOT NULL
);

-- Files from Telegram, stored by id; downloaded only when needed.
CREATE TABLE attachments (
    id             INTEGER PRIMARY KEY,
    owner_kind     TEXT NOT NULL,        -- 'report', 'alert', 'alert_update', 'submission'
    owner_id       INTEGER NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('photo','voice','location','document','video','audio')),
    file_id        TEXT,
    file_unique_id TEXT,
    meta           TEXT,                 -- JSON: latitude/longitude, file_name, mime_type, size
    created_at     TEXT NOT NULL
);
CREATE INDEX attachments_owner ON attachments(owner_kind, owner_id);
