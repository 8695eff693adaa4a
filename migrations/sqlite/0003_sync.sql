-- Documents that left a staff member's scope (a follow-up reassigned away), so their phone can
-- purge its copy once nothing of theirs is pending for it.
CREATE TABLE scope_exits (
    id           INTEGER PRIMARY KEY,
    seq          INTEGER NOT NULL,
    document_id  TEXT NOT NULL,
    staff_id     INTEGER NOT NULL
);
CREATE INDEX scope_exits_by_staff ON scope_exits (staff_id, seq);

-- Content-addressed blobs uploaded by devices: customers' signatures (D-SIG-1).
CREATE TABLE blobs (
    sha256       TEXT PRIMARY KEY,
    bytes        BLOB NOT NULL,
    uploaded_by  INTEGER NOT NULL,
    created_at   TEXT NOT NULL
);

-- Which blob a follow-up's signature refers to, so a blob is only served within scope.
ALTER TABLE follow_ups ADD COLUMN signature_blob TEXT;

-- The registry's version (what a device's reference rows are checked against) is read from
-- these, so a sync does not scan the registry.
CREATE INDEX units_by_updated ON units (updated_at);
CREATE INDEX staff_by_updated ON staff (updated_at);
CREATE INDEX communities_by_updated ON communities (updated_at);
CREATE INDEX buildings_by_updated ON buildings (updated_at);
CREATE INDEX households_by_updated ON households (updated_at);
CREATE INDEX customers_by_updated ON customers (updated_at);
CREATE INDEX consultant_customers_by_created ON consultant_customers (created_at);
