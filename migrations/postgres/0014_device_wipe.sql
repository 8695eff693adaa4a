-- Remote wipe of a lost phone (#18). An administrator (or the phone's owner) orders it; the
-- session is revoked at once, and the device's next contact with its token is told to erase
-- its store (HTTP 410). When the device was told and when it confirmed the erasure are kept
-- for head office to see.
ALTER TABLE sessions ADD COLUMN wipe_requested_at TEXT;
ALTER TABLE sessions ADD COLUMN wipe_requested_by BIGINT REFERENCES staff(id);
ALTER TABLE sessions ADD COLUMN wipe_told_at TEXT;
ALTER TABLE sessions ADD COLUMN wipe_confirmed_at TEXT;
