-- A document can leave a whole unit's scope (a unit-wide follow-up reassigned to another unit, a
-- sheet re-routed): an exit names the staff member or the unit that lost it.
ALTER TABLE scope_exits ALTER COLUMN staff_id DROP NOT NULL;
ALTER TABLE scope_exits ADD COLUMN unit_id BIGINT;
CREATE INDEX scope_exits_by_unit ON scope_exits (unit_id, seq);
