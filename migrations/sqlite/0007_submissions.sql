-- Monthly submissions (R-STA-2, D-STA-1): the marketing department, every property office and
-- every sales site hand their month's figures to the development department. A submission is a
-- locked snapshot: written once per unit and month, never updated.

CREATE TABLE monthly_submissions (
    id               INTEGER PRIMARY KEY,
    month            TEXT NOT NULL,
    unit_id          INTEGER NOT NULL REFERENCES units(id),
    submitted_by     INTEGER NOT NULL REFERENCES staff(id),
    submitted_at     TEXT NOT NULL,
    -- the deadline that applied (the end of the 30th, or of a shorter month's last day, in the
    -- company's time zone) and whether the submission came after it
    deadline         TEXT NOT NULL,
    late             INTEGER NOT NULL CHECK (late IN (0, 1)),
    -- the snapshot (JSON of the unit's figures) and its SHA-256
    figures          TEXT NOT NULL,
    figures_sha256   TEXT NOT NULL,
    note             TEXT NOT NULL DEFAULT '',
    UNIQUE (month, unit_id)
);
