-- Documents that left a staff member's scope (a follow-up reassigned away), so their phone can
-- purge its copy once nothing of theirs is pending for it.
CREATE TABLE scope_exits (
    id           INTEGER PRIMARY KEY,
    seq          INTEGER NOT NULL,
    document_id  TEXT NOT NULL,
    staff_id     INTEGER NOT NULL
);
CREATE INDEX scope_exits_by_staff ON scope_exits (staff_id, seq);
