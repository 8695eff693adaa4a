-- The annual Customer Opinion Survey (R-SUR-1…3, D-SUR-1/2): versioned forms with the general
-- manager's approval bound to a hash of the content, the survey follow-ups a distribution made,
-- and the answers, each with the version it answered.

CREATE TABLE survey_forms (
    id                INTEGER PRIMARY KEY,
    year              INTEGER NOT NULL,
    version           INTEGER NOT NULL,
    -- the form this version was revised from
    revised_from      INTEGER REFERENCES survey_forms(id),
    status            TEXT NOT NULL CHECK (status IN ('draft', 'submitted', 'approved', 'distributed', 'closed')),
    -- the questions (JSON of SurveyContent) and their SHA-256
    content           TEXT NOT NULL,
    content_sha256    TEXT NOT NULL,
    created_by        INTEGER NOT NULL,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    submitted_at      TEXT,
    approved_by       INTEGER,
    approved_at       TEXT,
    -- the hash the general manager approved; the form is frozen from then on
    approved_sha256   TEXT,
    distributed_at    TEXT,
    closed_at         TEXT,
    UNIQUE (year, version)
);

-- A survey follow-up made by a distribution: one per household of the chosen communities.
CREATE TABLE survey_distributions (
    follow_up_id   TEXT PRIMARY KEY,
    form_id        INTEGER NOT NULL REFERENCES survey_forms(id),
    household_id   INTEGER NOT NULL REFERENCES households(id),
    community_id   INTEGER NOT NULL REFERENCES communities(id),
    UNIQUE (form_id, household_id)
);
CREATE INDEX survey_distributions_by_form ON survey_distributions (form_id, community_id);

-- One answer sheet per survey follow-up.
CREATE TABLE survey_responses (
    follow_up_id    TEXT PRIMARY KEY REFERENCES survey_distributions(follow_up_id),
    form_id         INTEGER NOT NULL REFERENCES survey_forms(id),
    -- D-SUR-2: the version answered
    form_sha256     TEXT NOT NULL,
    community_id    INTEGER NOT NULL,
    -- paper (typed in by office staff), visit (on a staff device) or customer
    channel         TEXT NOT NULL CHECK (channel IN ('paper', 'visit', 'customer')),
    entered_by      INTEGER NOT NULL,
    entered_at      TEXT NOT NULL
);
CREATE INDEX survey_responses_by_form ON survey_responses (form_id, community_id);

-- Each answer of a sheet, for tabulating (R-SUR-3).
CREATE TABLE survey_answers (
    follow_up_id   TEXT NOT NULL REFERENCES survey_responses(follow_up_id),
    question_id    TEXT NOT NULL,
    rating         INTEGER,
    -- a chosen option (one row per option of a multiple choice)
    choice         TEXT,
    text           TEXT,
    form_id        INTEGER NOT NULL,
    community_id   INTEGER NOT NULL
);
CREATE INDEX survey_answers_by_form ON survey_answers (form_id, question_id, community_id);
