-- Organisation, estate registry and staff sign-in (SPEC §1).
-- Times are UTC RFC 3339 text with milliseconds ("2026-11-28T09:30:00.000Z"), which sorts correctly.

CREATE TABLE communities (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    address     TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE buildings (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    name          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (community_id, name)
);

CREATE TABLE households (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    building_id   INTEGER NOT NULL REFERENCES buildings(id),
    room          TEXT NOT NULL,
    address       TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (building_id, room)
);
CREATE INDEX households_by_community ON households (community_id, building_id, room);

CREATE TABLE customers (
    id            INTEGER PRIMARY KEY,
    household_id  INTEGER NOT NULL REFERENCES households(id),
    name          TEXT NOT NULL,
    phone         TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (household_id, name)
);
CREATE INDEX customers_by_phone ON customers (phone);
CREATE INDEX customers_by_name ON customers (name);

CREATE TABLE units (
    id            INTEGER PRIMARY KEY,
    code          TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('development_department', 'marketing_department',
                      'sales_site', 'property_office', 'customer_service_center', 'office_department')),
    parent_id     INTEGER REFERENCES units(id),
    community_id  INTEGER REFERENCES communities(id),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE staff (
    id              INTEGER PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    phone           TEXT,
    role            TEXT NOT NULL CHECK (role IN ('general_manager', 'admin', 'unit_head', 'staff', 'consultant')),
    unit_id         INTEGER REFERENCES units(id),
    -- argon2id PHC string; NULL until a password is set (imported staff without one cannot sign in)
    password_hash   TEXT,
    deactivated_at  TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX staff_by_unit ON staff (unit_id);

-- Which property consultant owns which customer (R-RTN-1); a customer has at most one.
CREATE TABLE consultant_customers (
    customer_id    INTEGER PRIMARY KEY REFERENCES customers(id),
    consultant_id  INTEGER NOT NULL REFERENCES staff(id),
    created_at     TEXT NOT NULL
);
CREATE INDEX consultant_customers_by_consultant ON consultant_customers (consultant_id);

-- A signed-in device. Only the SHA-256 of the bearer token is kept.
CREATE TABLE sessions (
    id            INTEGER PRIMARY KEY,
    staff_id      INTEGER NOT NULL REFERENCES staff(id),
    token_hash    TEXT NOT NULL UNIQUE,
    device_name   TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    last_used_at  TEXT NOT NULL,
    revoked_at    TEXT
);
CREATE INDEX sessions_by_staff ON sessions (staff_id);

-- Consecutive failed sign-ins per username, shared by every server instance.
CREATE TABLE login_failures (
    username       TEXT PRIMARY KEY,
    failures       INTEGER NOT NULL,
    locked_until   TEXT,
    last_failed_at TEXT NOT NULL
);

CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
