-- Sender authentication (issue 10): the verdict on each archived message's sender when it
-- arrived: 'pass' (DMARC, DKIM or SPF of the From domain), 'fail' (DMARC failed or a broken
-- signature), 'none' (nothing to check; also every message archived before this version
-- and every imported one).

ALTER TABLE archived_messages ADD COLUMN auth TEXT NOT NULL DEFAULT 'none' CHECK (auth IN ('pass', 'fail', 'none'));
