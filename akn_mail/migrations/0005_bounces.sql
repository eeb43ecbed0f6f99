-- Bounce handling: one row per bounce event (a report that a mail to a recipient failed,
-- or our relay refused a recipient with 5xx). A contact's score is the sum of the weights
-- of its events in the last [bounces] decay_days days after its latest 'disabled' row, so
-- that disabling (and a later `contact enable`) starts the count afresh.
CREATE TABLE bounce_events (
    id                   INTEGER PRIMARY KEY,
    received_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    email                TEXT,            -- the recipient that bounced, lower-case; NULL if unknown
    contact_id           INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
    kind                 TEXT NOT NULL CHECK (kind IN
                             ('permanent', 'temporary', 'unrecognised', 'delivery', 'ignored', 'disabled')),
    weight               REAL NOT NULL DEFAULT 0,
    status               TEXT NOT NULL DEFAULT '',   -- DSN status (5.1.1) or SMTP reply code (550)
    diagnostic           TEXT NOT NULL DEFAULT '',   -- the remote server's words
    source               TEXT NOT NULL DEFAULT '',   -- verp, detector, relay, admin
    message_id           TEXT NOT NULL DEFAULT '',   -- Message-ID of the bounce report
    original_message_id  TEXT NOT NULL DEFAULT ''    -- Message-ID of the mail that bounced, when known
);
CREATE INDEX bounce_events_email ON bounce_events(email, received_at);
