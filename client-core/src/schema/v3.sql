-- The opinion survey forms taking answers (R-SUR-1), received with the reference rows, so a
-- survey is answered on the phone offline against the version the general manager approved.
CREATE TABLE survey_forms (
    id               INTEGER PRIMARY KEY,
    approved_sha256  TEXT NOT NULL,
    -- the form's content (SurveyContent) as JSON
    content          TEXT NOT NULL
);
-- Reference rows received before forms travelled with them hold none: ask for them again.
DELETE FROM meta WHERE key = 'reference_version';
