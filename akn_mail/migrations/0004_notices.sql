-- Mails the system writes: reminders already sent (so a daily timer never repeats one),
-- the moderation tokens of held posts, and tasks for the admins (unsubscribe requests).

-- One row per reminder sent: kind ('host' or 'minutes'), the meeting it is about (the
-- quarter 'YYYY-Qn' of a regular meeting, 'meeting:<id>' of an extra one) and the
-- recipient (lower-cased). The primary key is what makes `akn-mail remind` idempotent.
CREATE TABLE sent_reminders (
    kind         TEXT NOT NULL CHECK (kind IN ('host', 'minutes')),
    meeting      TEXT NOT NULL,
    recipient    TEXT NOT NULL,
    member_name  TEXT NOT NULL DEFAULT '',
    outbound_id  INTEGER,                       -- delivery queue row of the reminder
    sent_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    PRIMARY KEY (kind, meeting, recipient)
);

-- The token in a moderation notice ("confirm <token>"). Only its SHA-256 is stored, so a
-- copy of the database does not let anyone approve mail. One token per held message.
CREATE TABLE moderation_tokens (
    token_hash   TEXT PRIMARY KEY,
    held_id      INTEGER NOT NULL,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    used_at      TEXT,
    used_by      TEXT,                          -- address that replied
    action       TEXT                           -- approve | reject | discard
);
CREATE INDEX moderation_tokens_held ON moderation_tokens(held_id);

-- Work for the admins that mail brought in (an unsubscribe request: contacts are named
-- by their administration, so a person cannot leave by mail).
CREATE TABLE admin_tasks (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('unsubscribe')),
    requester    TEXT NOT NULL,                 -- address that asked
    contact_id   INTEGER,                       -- no foreign key: the task outlives the contact
    member_name  TEXT NOT NULL DEFAULT '',
    subject      TEXT NOT NULL DEFAULT '',
    message_id   TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    done_at      TEXT
);
CREATE INDEX admin_tasks_open ON admin_tasks(done_at) WHERE done_at IS NULL;
