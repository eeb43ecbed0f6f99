-- List service: what the pipeline decided about every spooled message, the delivery queue
-- (one row per message and recipient), permanent failures for bounce scoring, held mail.

-- One row per spool entry the pipeline has finished with. The spool file is removed only
-- after this row is committed, so a restart after a crash knows which entries are done.
CREATE TABLE received (
    id               INTEGER PRIMARY KEY,
    spool_id         TEXT NOT NULL UNIQUE,
    route            TEXT NOT NULL,              -- post | bounces | request | owner
    message_id       TEXT NOT NULL DEFAULT '',
    envelope_sender  TEXT NOT NULL DEFAULT '',
    recipients       TEXT NOT NULL DEFAULT '',   -- comma-separated RCPT TO of this route
    from_address     TEXT NOT NULL DEFAULT '',
    subject          TEXT NOT NULL DEFAULT '',
    size             INTEGER NOT NULL DEFAULT 0,
    action           TEXT NOT NULL,              -- accept | hold | discard | reject | handled
    reason           TEXT NOT NULL DEFAULT '',
    received_at      TEXT NOT NULL,
    processed_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX received_message_id ON received(message_id);

-- A message waiting for (or done with) delivery. "body" is the exact bytes sent (CRLF).
-- "sender" NULL means the list's bounce address, with VERP per recipient.
-- "source_key" makes enqueueing idempotent: processing a spool entry again after a
-- crash finds the row it already wrote instead of queueing the mail twice.
CREATE TABLE outbound (
    id          INTEGER PRIMARY KEY,
    message_id  TEXT NOT NULL DEFAULT '',
    kind        TEXT NOT NULL DEFAULT 'post',
    sender      TEXT,
    source_key  TEXT UNIQUE,
    subject     TEXT NOT NULL DEFAULT '',
    body        BLOB NOT NULL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX outbound_message_id ON outbound(message_id);

-- Message-IDs the list has distributed (duplicate suppression within [list] duplicate_window_days).
CREATE TABLE distributed (
    message_id   TEXT NOT NULL,
    outbound_id  INTEGER NOT NULL REFERENCES outbound(id) ON DELETE CASCADE,
    source_key   TEXT NOT NULL DEFAULT '',
    at           REAL NOT NULL                  -- Unix time
);
CREATE INDEX distributed_message_id ON distributed(message_id, at);

-- One row per (message, recipient). A row is pending, deferred (4xx or connection error,
-- retried with backoff), sent (the relay answered 250), failed (5xx) or expired (still
-- temporary after [delivery] retry_for_hours).
CREATE TABLE deliveries (
    id               INTEGER PRIMARY KEY,
    outbound_id      INTEGER NOT NULL REFERENCES outbound(id) ON DELETE CASCADE,
    recipient        TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'deferred', 'sent', 'failed', 'expired')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  REAL NOT NULL,              -- Unix time
    last_code        INTEGER,
    last_error       TEXT NOT NULL DEFAULT '',
    created_at       REAL NOT NULL,              -- Unix time
    updated_at       REAL NOT NULL,
    sent_at          REAL,
    UNIQUE (outbound_id, recipient)
);
CREATE INDEX deliveries_due ON deliveries(next_attempt_at) WHERE status IN ('pending', 'deferred');
CREATE INDEX deliveries_status ON deliveries(status);

-- Hook for bounce scoring: one row per permanent delivery failure seen by our own relay
-- connection (5xx at RCPT/DATA, or expired after retrying). Bounce handling reads the rows
-- with processed = 0, scores them per recipient and sets processed = 1.
CREATE TABLE delivery_failures (
    id           INTEGER PRIMARY KEY,
    delivery_id  INTEGER NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
    recipient    TEXT NOT NULL,
    message_id   TEXT NOT NULL DEFAULT '',
    kind         TEXT NOT NULL CHECK (kind IN ('hard', 'expired')),
    code         INTEGER,
    error        TEXT NOT NULL DEFAULT '',
    failed_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    processed    INTEGER NOT NULL DEFAULT 0 CHECK (processed IN (0, 1))
);
CREATE INDEX delivery_failures_unprocessed ON delivery_failures(recipient) WHERE processed = 0;

-- Mail held for a moderator: the message is kept as a file under <data_dir>/held.
CREATE TABLE held (
    id               INTEGER PRIMARY KEY,
    source_key       TEXT UNIQUE,
    message_id       TEXT NOT NULL DEFAULT '',
    envelope_sender  TEXT NOT NULL DEFAULT '',
    from_address     TEXT NOT NULL DEFAULT '',
    subject          TEXT NOT NULL DEFAULT '',
    reason           TEXT NOT NULL,
    route            TEXT NOT NULL DEFAULT 'post',
    path             TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'held'
                     CHECK (status IN ('held', 'approved', 'rejected', 'discarded')),
    held_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    decided_at       TEXT,
    decision_note    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX held_status ON held(status);
CREATE INDEX held_message_id ON held(message_id);
