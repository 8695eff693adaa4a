-- Analysis reports (R-STA-3): a unit head's periodic analysis of the unit's routine follow-ups,
-- with the figures it was based on (a snapshot) and improvement measures that have an owner and a
-- status; each later report of the unit reviews the measures still open.

CREATE TABLE analysis_reports (
    id               INTEGER PRIMARY KEY,
    unit_id          INTEGER NOT NULL REFERENCES units(id),
    author_id        INTEGER NOT NULL REFERENCES staff(id),
    -- the months analysed, 'YYYY-MM'
    period_from      TEXT NOT NULL,
    period_to        TEXT NOT NULL,
    title            TEXT NOT NULL,
    findings         TEXT NOT NULL,
    -- the figures of the period (JSON) and their SHA-256
    figures          TEXT NOT NULL,
    figures_sha256   TEXT NOT NULL,
    created_at       TEXT NOT NULL
);
CREATE INDEX analysis_reports_by_unit ON analysis_reports (unit_id, created_at);

CREATE TABLE improvement_measures (
    id            INTEGER PRIMARY KEY,
    -- the report that proposed it
    report_id     INTEGER NOT NULL REFERENCES analysis_reports(id),
    unit_id       INTEGER NOT NULL REFERENCES units(id),
    description   TEXT NOT NULL,
    owner_id      INTEGER NOT NULL REFERENCES staff(id),
    due_on        TEXT,
    status        TEXT NOT NULL CHECK (status IN ('planned', 'in_progress', 'done', 'dropped')),
    updated_at    TEXT NOT NULL
);
CREATE INDEX improvement_measures_by_unit ON improvement_measures (unit_id, status);

-- A later report's word on an earlier measure: its status then, and what was found.
CREATE TABLE measure_reviews (
    report_id    INTEGER NOT NULL REFERENCES analysis_reports(id),
    measure_id   INTEGER NOT NULL REFERENCES improvement_measures(id),
    status       TEXT NOT NULL CHECK (status IN ('planned', 'in_progress', 'done', 'dropped')),
    comment      TEXT NOT NULL,
    PRIMARY KEY (report_id, measure_id)
);
