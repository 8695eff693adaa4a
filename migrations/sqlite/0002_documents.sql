-- Information sheets and follow-ups as Automerge documents, their projections, the company's
-- change sequence, numbering, notifications, rule configuration and the audit log.

-- One row: the company's change sequence. Every document write takes the next value inside its
-- transaction, which also serialises document writers (the audit chain and numbering rely on it).
CREATE TABLE change_sequence (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    value  INTEGER NOT NULL,
    -- hash of the newest audit entry, so removing the newest entries also shows
    audit_head  TEXT NOT NULL
);
INSERT INTO change_sequence (id, value, audit_head)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE documents (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('sheet', 'follow_up')),
    -- the whole document, compacted (Automerge `save`)
    bytes       BLOB NOT NULL,
    seq         INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX documents_by_seq ON documents (seq);

-- Projection of each sheet document, rewritten in the same transaction as the document.
CREATE TABLE sheets (
    id                 TEXT PRIMARY KEY REFERENCES documents(id),
    number             TEXT UNIQUE,
    status             TEXT NOT NULL,
    level              TEXT NOT NULL,
    category           TEXT NOT NULL,
    source             TEXT NOT NULL,
    household_id       INTEGER,
    customer_id        INTEGER,
    community_id       INTEGER,
    customer_name      TEXT NOT NULL,
    contact_phone      TEXT NOT NULL,
    customer_address   TEXT NOT NULL,
    summary            TEXT NOT NULL,
    accepted_by        INTEGER NOT NULL,
    accepting_unit_id  INTEGER NOT NULL,
    handling_unit_id   INTEGER,
    accepted_at        TEXT NOT NULL,
    -- the month of acceptance in the company's time zone, 'YYYY-MM'
    accepted_month     TEXT NOT NULL,
    handled_at         TEXT,
    reopened_from      TEXT,
    updated_at         TEXT NOT NULL
);
CREATE INDEX sheets_by_month ON sheets (accepted_month, accepting_unit_id);
CREATE INDEX sheets_by_handling_unit ON sheets (handling_unit_id, status);
CREATE INDEX sheets_by_customer ON sheets (household_id);

CREATE TABLE follow_ups (
    id                    TEXT PRIMARY KEY REFERENCES documents(id),
    kind                  TEXT NOT NULL,
    sheet_id              TEXT,
    household_id          INTEGER,
    customer_id           INTEGER,
    customer_name         TEXT NOT NULL,
    assignee_unit_id      INTEGER NOT NULL,
    assignee_staff_id     INTEGER,
    rule                  TEXT NOT NULL,
    status                TEXT NOT NULL,
    due_at                TEXT NOT NULL,
    due_month             TEXT NOT NULL,
    method                TEXT,
    done_at               TEXT,
    -- 1 when done by its due time (R-INF-4), 0 when late, NULL while not done
    done_on_time          INTEGER,
    rating_handling       INTEGER,
    rating_efficiency     INTEGER,
    rating_quality        INTEGER,
    rating_attitude       INTEGER,
    rating_overall        INTEGER,
    unreachable_attempts  INTEGER NOT NULL,
    overdue_at            TEXT,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
);
CREATE INDEX follow_ups_by_assignee ON follow_ups (assignee_staff_id, status, due_at);
CREATE INDEX follow_ups_by_unit ON follow_ups (assignee_unit_id, status, due_at);
CREATE INDEX follow_ups_open_by_due ON follow_ups (status, due_at);
CREATE INDEX follow_ups_by_sheet ON follow_ups (sheet_id);

-- The last sheet number given per year (D-INF-5).
CREATE TABLE sheet_numbers (
    year  INTEGER PRIMARY KEY,
    last  INTEGER NOT NULL
);

-- What a staff member must know: a major complaint assigned to their unit, an overdue follow-up.
CREATE TABLE notifications (
    id           INTEGER PRIMARY KEY,
    staff_id     INTEGER NOT NULL REFERENCES staff(id),
    document_id  TEXT NOT NULL,
    message      TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    read_at      TEXT
);
CREATE INDEX notifications_by_staff ON notifications (staff_id, read_at);

-- Rule settings an administrator may change (R-GOV-1), one JSON value per key.
CREATE TABLE rule_settings (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_by  INTEGER
);

-- Append-only, hash-chained log of every change of state (D-GOV-1).
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    staff_id     INTEGER,
    session_id   INTEGER,
    action       TEXT NOT NULL,
    subject      TEXT NOT NULL,
    detail       TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
CREATE INDEX audit_log_by_subject ON audit_log (subject);
