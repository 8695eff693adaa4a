-- A document can leave a whole unit's scope (a unit-wide follow-up reassigned to another unit, a
-- sheet re-routed): an exit names the staff member or the unit that lost it. SQLite cannot drop
-- a NOT NULL, so the table is rebuilt.
CREATE TABLE scope_exits_new (
    id           INTEGER PRIMARY KEY,
    seq          INTEGER NOT NULL,
    document_id  TEXT NOT NULL,
    staff_id     INTEGER,
    unit_id      INTEGER
);
INSERT INTO scope_exits_new (id, seq, document_id, staff_id)
    SELECT id, seq, document_id, staff_id FROM scope_exits;
DROP TABLE scope_exits;
ALTER TABLE scope_exits_new RENAME TO scope_exits;
CREATE INDEX scope_exits_by_staff ON scope_exits (staff_id, seq);
CREATE INDEX scope_exits_by_unit ON scope_exits (unit_id, seq);
