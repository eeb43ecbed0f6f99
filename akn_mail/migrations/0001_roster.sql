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
CREATE TABLE memberships (
    id          INTEGER PRIMARY KEY,
    member_id   INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    joined      TEXT NOT NULL,          -- ISO date
    left        TEXT,                   -- ISO date or NULL while a member
    CHECK (left IS NULL OR left >= joined)
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
-- A regular quarter gets a row when something is decided about it: it was held
-- (status 'held', host recorded), its due host was passed over ('skip_member_id'), or it
-- trades hosts with another quarter ('swap_quarter'). Quarters without a row are derived.
CREATE TABLE meetings (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('regular', 'extra')),
    quarter         TEXT,                        -- 'YYYY-Qn' for regular meetings
    date            TEXT,                        -- ISO date, when known
    host_member_id  INTEGER REFERENCES members(id),
    place           TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'held', 'cancelled')),
    skip_member_id  INTEGER REFERENCES members(id),
    skip_reason     TEXT NOT NULL DEFAULT '',
    swap_quarter    TEXT,
    advances_rotation INTEGER NOT NULL DEFAULT 0, -- extra meetings that count as a turn
    note            TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    CHECK (kind = 'extra' OR quarter IS NOT NULL)
);
CREATE UNIQUE INDEX meetings_regular_quarter ON meetings(quarter) WHERE kind = 'regular';
CREATE INDEX meetings_date ON meetings(date);

CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
