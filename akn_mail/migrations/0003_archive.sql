-- The minutes archive: one row per archived message (the original bytes live in the
-- Maildir, the source of truth), one row per attachment, and per meeting the minutes that
-- arrived (every version is kept; the newest is the meeting's current minutes).

CREATE TABLE archived_messages (
    id              INTEGER PRIMARY KEY,
    message_id      TEXT NOT NULL,               -- without angle brackets
    maildir_key     TEXT NOT NULL UNIQUE,        -- key in <data_dir>/maildir
    date            TEXT NOT NULL,               -- ISO 8601 with offset, from the Date header (else arrival)
    from_address    TEXT NOT NULL DEFAULT '',
    from_name       TEXT NOT NULL DEFAULT '',
    member_id       INTEGER REFERENCES members(id) ON DELETE SET NULL,
    member_name     TEXT NOT NULL DEFAULT '',    -- kept as it was when filed
    subject         TEXT NOT NULL DEFAULT '',
    in_reply_to     TEXT NOT NULL DEFAULT '',
    references_ids  TEXT NOT NULL DEFAULT '',    -- space separated, without angle brackets
    thread_id       TEXT NOT NULL DEFAULT '',    -- Message-ID of the first message of the thread
    is_minutes      INTEGER NOT NULL DEFAULT 0 CHECK (is_minutes IN (0, 1)),
    meeting_id      INTEGER REFERENCES meetings(id) ON DELETE SET NULL,
    minutes_version INTEGER,                     -- 1, 2, ... per meeting
    flags           TEXT NOT NULL DEFAULT '',    -- space separated: not-host, new-version, matched-by-..., imported
    size            INTEGER NOT NULL DEFAULT 0,
    source          TEXT NOT NULL DEFAULT 'list' CHECK (source IN ('list', 'import')),
    indexed         INTEGER NOT NULL DEFAULT 0 CHECK (indexed IN (0, 1)),
    archived_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE UNIQUE INDEX archived_messages_message_id ON archived_messages(message_id);
CREATE INDEX archived_messages_date ON archived_messages(date);
CREATE INDEX archived_messages_meeting ON archived_messages(meeting_id);
CREATE INDEX archived_messages_thread ON archived_messages(thread_id);
CREATE INDEX archived_messages_pending ON archived_messages(indexed) WHERE indexed = 0;

CREATE TABLE archived_attachments (
    id              INTEGER PRIMARY KEY,
    archived_id     INTEGER NOT NULL REFERENCES archived_messages(id) ON DELETE CASCADE,
    position        INTEGER NOT NULL,            -- 1, 2, ... in MIME order
    filename        TEXT NOT NULL,               -- safe name (no path, no control characters)
    original_name   TEXT NOT NULL DEFAULT '',    -- as the sender wrote it
    content_type    TEXT NOT NULL DEFAULT 'application/octet-stream',
    size            INTEGER NOT NULL DEFAULT 0,
    extraction      TEXT NOT NULL CHECK (extraction IN ('ok', 'skipped', 'failed', 'none', 'pending')),
    extraction_note TEXT NOT NULL DEFAULT '',    -- why skipped or failed, for people ('pending': not read yet)
    text_chars      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (archived_id, position)
);

-- The minutes a meeting received: one row per meeting, pointing at the newest version.
CREATE TABLE meeting_minutes (
    meeting_id      INTEGER PRIMARY KEY REFERENCES meetings(id) ON DELETE CASCADE,
    archived_id     INTEGER NOT NULL REFERENCES archived_messages(id) ON DELETE CASCADE,
    versions        INTEGER NOT NULL DEFAULT 1,
    first_arrived   TEXT NOT NULL,
    last_arrived    TEXT NOT NULL
);
