-- Foundation: members (organisations), their membership periods, their contacts,
-- the meetings of the rotation, and a small key/value table for settings kept in the data.

CREATE TABLE members (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL CHECK (kind IN ('municipality', 'county', 'advisor')),
    hosts       INTEGER NOT NULL DEFAULT 1 CHECK (hosts IN (0, 1)),
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

-- One row per period of membership: joining and leaving are possible at any time,
-- and who was a member when stays known. "left" is the last day of membership.
-- joined NULL: a founding member, a member since before the records began.
CREATE TABLE memberships (
    id          INTEGER PRIMARY KEY,
    member_id   INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    joined      TEXT,                   -- ISO date, or NULL for "since the beginning"
    left        TEXT,                   -- ISO date or NULL while a member
    CHECK (left IS NULL OR joined IS NULL OR left >= joined)
);
CREATE INDEX memberships_member ON memberships(member_id);

CREATE TABLE contacts (
    id                INTEGER PRIMARY KEY,
    member_id         INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    name              TEXT NOT NULL DEFAULT '',
    email             TEXT NOT NULL,
    delivery_enabled  INTEGER NOT NULL DEFAULT 1 CHECK (delivery_enabled IN (0, 1)),
    disabled_reason   TEXT,
    added_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE UNIQUE INDEX contacts_email ON contacts(lower(email));
CREATE INDEX contacts_member ON contacts(member_id);

-- Meetings: the regular one of a quarter (kind 'regular', quarter set) and extra ones.
-- A regular quarter gets a row when it was held (status 'held', host recorded), when a date
-- or place is planned for it, or when another part needs its id (minutes link to it).
-- The host of a 'planned' row is a snapshot; the rotation derives the real one.
CREATE TABLE meetings (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('regular', 'extra')),
    quarter         TEXT NOT NULL,               -- 'YYYY-Qn' (of the date, for extra meetings)
    date            TEXT,                        -- ISO date, when known
    host_member_id  INTEGER REFERENCES members(id),
    place           TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'held', 'cancelled')),
    counts_as_turn  INTEGER NOT NULL DEFAULT 0 CHECK (counts_as_turn IN (0, 1)), -- extra meetings only
    note            TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE UNIQUE INDEX meetings_regular_quarter ON meetings(quarter) WHERE kind = 'regular';
CREATE INDEX meetings_date ON meetings(date);

-- Decisions about the rotation. A skip passes the due member over for one quarter; a swap
-- lets two quarters trade hosts (stored once, first_quarter < second_quarter).
CREATE TABLE rotation_skips (
    id          INTEGER PRIMARY KEY,
    quarter     TEXT NOT NULL,
    member_id   INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    reason      TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (quarter, member_id)
);
CREATE TABLE rotation_swaps (
    id              INTEGER PRIMARY KEY,
    first_quarter   TEXT NOT NULL UNIQUE,
    second_quarter  TEXT NOT NULL UNIQUE,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    CHECK (first_quarter < second_quarter)
);

CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
