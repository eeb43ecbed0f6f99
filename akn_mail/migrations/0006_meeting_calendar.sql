-- Calendar data of a meeting (issue 12): a time of day in Europe/Berlin (start and end, or
-- none for an all-day event), an online link, the iCalendar SEQUENCE raised on every change
-- that calendars must see, and the date a planned meeting had before its host changed and
-- the plan was dropped (so that calendars that imported it get it as cancelled).
ALTER TABLE meetings ADD COLUMN start_time TEXT;           -- 'HH:MM' local time, NULL = all day
ALTER TABLE meetings ADD COLUMN end_time TEXT;             -- 'HH:MM', NULL = start + 2 hours
ALTER TABLE meetings ADD COLUMN online_url TEXT NOT NULL DEFAULT '';
ALTER TABLE meetings ADD COLUMN sequence INTEGER NOT NULL DEFAULT 0;
ALTER TABLE meetings ADD COLUMN dropped_date TEXT;         -- ISO date of a plan dropped with its host
