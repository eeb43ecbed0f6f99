-- Meetings in every calendar (issue 15): the invitations sent, the answers of each contact,
-- and the agenda (Tagesordnung).

-- One row per invited meeting: the iCalendar UID (the same one `rotation ics` writes), the
-- SEQUENCE and METHOD of the last invitation mailed (REQUEST or CANCEL). A meeting whose
-- SEQUENCE in `meetings` is higher than the one sent here gets an update (or a cancel).
CREATE TABLE meeting_invitations (
    meeting_id   INTEGER PRIMARY KEY REFERENCES meetings(id),
    uid          TEXT NOT NULL,
    sequence     INTEGER NOT NULL,
    method       TEXT NOT NULL CHECK (method IN ('REQUEST', 'CANCEL')),
    outbound_id  INTEGER,
    sent_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

-- One row per contact invited to a meeting, with the answer from their calendar (iTIP REPLY):
-- NEEDS-ACTION until they answer, then ACCEPTED, TENTATIVE or DECLINED.
CREATE TABLE meeting_attendees (
    meeting_id      INTEGER NOT NULL REFERENCES meetings(id),
    email           TEXT NOT NULL,              -- lower-cased
    name            TEXT NOT NULL DEFAULT '',
    member_name     TEXT NOT NULL DEFAULT '',
    partstat        TEXT NOT NULL DEFAULT 'NEEDS-ACTION',
    replied_at      TEXT,
    reply_sequence  INTEGER,
    reminded_at     TEXT,                       -- the one gentle reminder to answer
    PRIMARY KEY (meeting_id, email)
);

-- The agenda of a meeting: items from [TOP] posts and from `meeting agenda --add`.
CREATE TABLE agenda_items (
    id           INTEGER PRIMARY KEY,
    meeting_id   INTEGER NOT NULL REFERENCES meetings(id),
    position     INTEGER NOT NULL,
    title        TEXT NOT NULL,
    author       TEXT NOT NULL DEFAULT '',
    message_id   TEXT,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE UNIQUE INDEX agenda_items_message ON agenda_items (meeting_id, message_id) WHERE message_id IS NOT NULL;
