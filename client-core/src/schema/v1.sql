-- The signed-in staff member. One row; the token is kept as the app handed it over.
CREATE TABLE session (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    server_url    TEXT NOT NULL,
    token         TEXT NOT NULL,
    staff_id      INTEGER NOT NULL,
    username      TEXT NOT NULL,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    unit_id       INTEGER,
    work_units    TEXT NOT NULL,   -- JSON array of unit ids
    time_zone     TEXT NOT NULL,
    signed_in_at  TEXT NOT NULL
);

-- Each document: a full snapshot plus the incremental chunks saved since.
CREATE TABLE documents (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('sheet', 'follow_up')),
    snapshot     BLOB NOT NULL,
    chunk_bytes  INTEGER NOT NULL DEFAULT 0,
    updated_at   TEXT NOT NULL
);

CREATE TABLE document_chunks (
    id           INTEGER PRIMARY KEY,
    document_id  TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    bytes        BLOB NOT NULL
);
CREATE INDEX document_chunks_by_document ON document_chunks (document_id, id);

-- Local changes the server has not acknowledged yet, in the order they were made.
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    document_id  TEXT NOT NULL,
    kind         TEXT NOT NULL,
    changes      BLOB NOT NULL,
    created_at   TEXT NOT NULL
);

-- Content-addressed blobs: signatures (strokes as canonical JSON).
CREATE TABLE blobs (
    sha256      TEXT PRIMARY KEY,
    bytes       BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    uploaded    INTEGER NOT NULL DEFAULT 0
);

-- Projections for the screens, rewritten with each document change.
CREATE TABLE sheets (
    id                 TEXT PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    number             TEXT,
    status             TEXT NOT NULL,
    level              TEXT NOT NULL,
    category           TEXT NOT NULL,
    household_id       INTEGER,
    customer_name      TEXT NOT NULL,
    contact_phone      TEXT NOT NULL,
    customer_address   TEXT NOT NULL,
    summary            TEXT NOT NULL,
    accepted_by        INTEGER NOT NULL,
    accepted_at        TEXT NOT NULL
);
CREATE INDEX sheets_by_household ON sheets (household_id, accepted_at);

CREATE TABLE follow_ups (
    id                 TEXT PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    kind               TEXT NOT NULL,
    sheet_id           TEXT,
    household_id       INTEGER,
    customer_name      TEXT NOT NULL,
    contact_phone      TEXT NOT NULL,
    assignee_unit_id   INTEGER NOT NULL,
    assignee_staff_id  INTEGER,
    rule               TEXT NOT NULL,
    status             TEXT NOT NULL,
    due_at             TEXT NOT NULL,
    overdue_at         TEXT,
    done_at            TEXT,
    created_at         TEXT NOT NULL
);
CREATE INDEX follow_ups_by_assignee ON follow_ups (assignee_staff_id, status, due_at);
CREATE INDEX follow_ups_by_unit ON follow_ups (assignee_unit_id, status, due_at);
CREATE INDEX follow_ups_by_household ON follow_ups (household_id);

-- Reference rows as the server sends them; read-only on the phone.
CREATE TABLE units (
    id            INTEGER PRIMARY KEY,
    code          TEXT NOT NULL,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    parent_id     INTEGER,
    community_id  INTEGER
);

CREATE TABLE staff (
    id        INTEGER PRIMARY KEY,
    username  TEXT NOT NULL,
    name      TEXT NOT NULL,
    role      TEXT NOT NULL,
    unit_id   INTEGER
);

CREATE TABLE households (
    id              INTEGER PRIMARY KEY,
    community_id    INTEGER NOT NULL,
    community_name  TEXT NOT NULL,
    building_id     INTEGER NOT NULL,
    building_name   TEXT NOT NULL,
    room            TEXT NOT NULL,
    address         TEXT NOT NULL
);

CREATE TABLE customers (
    id             INTEGER PRIMARY KEY,
    household_id   INTEGER NOT NULL,
    name           TEXT NOT NULL,
    phone          TEXT NOT NULL,
    consultant_id  INTEGER
);
CREATE INDEX customers_by_household ON customers (household_id);

-- This phone's facts: its Automerge actor id (stable, so its changes are attributable).
CREATE TABLE meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
