-- What each phone says of itself with each sync (#18): head office and unit heads see per phone
-- when it last synced, what it holds unsynced and which app it runs.
CREATE TABLE device_reports (
    session_id         BIGINT PRIMARY KEY REFERENCES sessions(id),
    staff_id           BIGINT NOT NULL REFERENCES staff(id),
    reported_at        TEXT NOT NULL,
    app_version        TEXT NOT NULL,
    schema_version     INTEGER NOT NULL,
    last_synced_at     TEXT,
    pending_changes    INTEGER NOT NULL,
    oldest_pending_at  TEXT
);
CREATE INDEX device_reports_by_staff ON device_reports (staff_id);

-- Follow-ups a phone reported done but not yet synced; replaced with each report.
CREATE TABLE done_on_phones (
    session_id    BIGINT NOT NULL REFERENCES sessions(id),
    follow_up_id  TEXT NOT NULL,
    done_at       TEXT NOT NULL,
    PRIMARY KEY (session_id, follow_up_id)
);
CREATE INDEX done_on_phones_by_follow_up ON done_on_phones (follow_up_id);
