-- Ergebnissicherung: the decisions and tasks read from the minutes (or added by the host
-- or an admin), tracked until done; which minutes were read; the tokens with which a host
-- corrects the results by replying to the receipt; due-date reminders already sent.

CREATE TABLE results (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('decision', 'task')),
    text            TEXT NOT NULL,
    top             TEXT NOT NULL DEFAULT '',        -- the TOP heading it stands under
    member_id       INTEGER REFERENCES members(id) ON DELETE SET NULL,
    member_name     TEXT NOT NULL DEFAULT '',        -- the responsible member, as it was named then
    responsible     TEXT NOT NULL DEFAULT '',        -- as written in the minutes ("RKN", "alle")
    due_date        TEXT,                            -- ISO date
    due_text        TEXT NOT NULL DEFAULT '',        -- as written ("Ende Q2", "zur nächsten Sitzung")
    meeting_id      INTEGER REFERENCES meetings(id) ON DELETE SET NULL,
    archived_id     INTEGER REFERENCES archived_messages(id) ON DELETE SET NULL,  -- the minutes
    position        INTEGER NOT NULL DEFAULT 0,      -- its number in the receipt of its minutes
    origin          TEXT NOT NULL CHECK (origin IN ('minutes', 'host', 'cli')),
    status          TEXT NOT NULL CHECK (status IN ('open', 'done', 'decided', 'struck')),
    corrected       INTEGER NOT NULL DEFAULT 0 CHECK (corrected IN (0, 1)),  -- checked or changed by a person
    original_text   TEXT NOT NULL DEFAULT '',        -- as read from the minutes
    done_at         TEXT,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX results_meeting ON results(meeting_id);
CREATE INDEX results_member ON results(member_id);
CREATE INDEX results_open ON results(due_date) WHERE status = 'open';

-- Minutes whose text has been read for results (so a re-index never reads them twice).
CREATE TABLE results_read (
    archived_id     INTEGER PRIMARY KEY REFERENCES archived_messages(id) ON DELETE CASCADE,
    found           INTEGER NOT NULL DEFAULT 0,
    read_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

-- "ergebnisse <token>" in a minutes receipt: only the SHA-256 is kept (as for moderation).
CREATE TABLE results_tokens (
    token_hash      TEXT PRIMARY KEY,
    archived_id     INTEGER NOT NULL,
    meeting_id      INTEGER,
    recipient       TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

-- One row per due-date reminder sent (result, recipient), so `akn-mail remind` never repeats it.
CREATE TABLE results_reminders (
    result_id       INTEGER NOT NULL,
    recipient       TEXT NOT NULL,
    kind            TEXT NOT NULL DEFAULT 'due',
    outbound_id     INTEGER,
    sent_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    PRIMARY KEY (result_id, recipient, kind)
);

-- Informationsweitergabe: read-only recipients of a member (not contacts: they get the
-- minutes and/or a monthly summary of the results, never list mail, and cannot post).
CREATE TABLE recipients (
    id              INTEGER PRIMARY KEY,
    member_id       INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    email           TEXT NOT NULL,
    name            TEXT NOT NULL DEFAULT '',
    gets            TEXT NOT NULL DEFAULT 'all' CHECK (gets IN ('minutes', 'results', 'all')),
    added_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE UNIQUE INDEX recipients_email ON recipients(lower(email));
CREATE INDEX recipients_member ON recipients(member_id);
